//! The SQL layer: statements that compile, per dialect, into SQL text and ordered binds.

mod text;

use std::sync::Arc;

pub use text::{TextClause, text};

use crate::dialect::Dialect;
use crate::error::Result;
use crate::value::Value;

/// A statement compiled for one dialect: its SQL text and its bind values in
/// placeholder order.
#[derive(Debug, Clone, PartialEq)]
pub struct Compiled {
    sql: Arc<str>,
    binds: Vec<Value>,
}

impl Compiled {
    /// Pairs SQL text with its binds.
    pub fn new(sql: impl Into<Arc<str>>, binds: Vec<Value>) -> Self {
        Compiled {
            sql: sql.into(),
            binds,
        }
    }

    /// The SQL text, with the dialect's placeholders.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The bind values, in placeholder order.
    pub fn binds(&self) -> &[Value] {
        &self.binds
    }

    /// Splits into SQL and binds.
    pub fn into_parts(self) -> (Arc<str>, Vec<Value>) {
        (self.sql, self.binds)
    }
}

impl std::fmt::Display for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.sql)
    }
}

/// Anything the engine can run: it compiles to SQL text and binds for a dialect.
///
/// Implemented by [`TextClause`] and [`Compiled`], and by the statement builders of the
/// expression language.
pub trait Executable {
    /// Compiles the statement for `dialect`.
    fn compile_for(&self, dialect: Dialect) -> Result<Compiled>;
}

impl Executable for Compiled {
    fn compile_for(&self, _dialect: Dialect) -> Result<Compiled> {
        Ok(self.clone())
    }
}

impl<T: Executable + ?Sized> Executable for &T {
    fn compile_for(&self, dialect: Dialect) -> Result<Compiled> {
        (**self).compile_for(dialect)
    }
}
