//! Column definitions.

use std::sync::Arc;

use super::types::SqlType;
use crate::value::Value;

/// A value a column takes when an INSERT gives none, computed in Rust (SQLAlchemy's
/// Python-side `default`).
#[derive(Clone)]
pub enum ColumnDefault {
    /// A fixed value.
    Value(Value),
    /// A function called once per inserted row (timestamps, UUIDs).
    Function(Arc<dyn Fn() -> Value + Send + Sync>),
}

impl ColumnDefault {
    /// The value for one new row.
    pub fn value(&self) -> Value {
        match self {
            ColumnDefault::Value(v) => v.clone(),
            ColumnDefault::Function(f) => f(),
        }
    }
}

impl std::fmt::Debug for ColumnDefault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ColumnDefault::Value(v) => f.debug_tuple("Value").field(v).finish(),
            ColumnDefault::Function(_) => f.write_str("Function(..)"),
        }
    }
}

impl PartialEq for ColumnDefault {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (ColumnDefault::Value(a), ColumnDefault::Value(b)) => a == b,
            (ColumnDefault::Function(a), ColumnDefault::Function(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// Whether a column takes its value from the database's sequence / identity /
/// AUTO_INCREMENT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Autoincrement {
    /// SQLAlchemy's `"auto"`: yes for the single integer column of a primary key that
    /// has no foreign key and no default.
    #[default]
    Auto,
    /// Always.
    Yes,
    /// Never.
    No,
}

/// A column of a [`Table`](super::Table).
///
/// ```
/// use orm_runtime::schema::{Column, SqlType};
/// let c = Column::new("name", SqlType::varchar(50)).not_null().unique();
/// assert!(!c.nullable && c.unique);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// The column's name in the database.
    pub name: String,
    /// Its type.
    pub sql_type: SqlType,
    /// Whether NULL is allowed (default true; primary-key columns are never nullable).
    pub nullable: bool,
    /// Part of the primary key.
    pub primary_key: bool,
    /// Autoincrement behaviour.
    pub autoincrement: Autoincrement,
    /// Value computed in Rust when an INSERT gives none.
    pub default: Option<ColumnDefault>,
    /// SQL expression the database uses when an INSERT gives none (`DEFAULT ...` in DDL),
    /// as literal SQL text: `CURRENT_TIMESTAMP`, `0`, `'draft'`.
    pub server_default: Option<String>,
    /// A single-column UNIQUE constraint.
    pub unique: bool,
    /// A single-column index.
    pub index: bool,
    /// A comment stored with the column, where the dialect supports one.
    pub comment: Option<String>,
}

impl Column {
    /// A nullable column of `sql_type`.
    pub fn new(name: impl Into<String>, sql_type: SqlType) -> Column {
        Column {
            name: name.into(),
            sql_type,
            nullable: true,
            primary_key: false,
            autoincrement: Autoincrement::Auto,
            default: None,
            server_default: None,
            unique: false,
            index: false,
            comment: None,
        }
    }

    /// Makes the column part of the primary key (and NOT NULL).
    pub fn primary_key(mut self) -> Column {
        self.primary_key = true;
        self.nullable = false;
        self
    }

    /// NOT NULL.
    pub fn not_null(mut self) -> Column {
        self.nullable = false;
        self
    }

    /// Sets nullability.
    pub fn nullable(mut self, nullable: bool) -> Column {
        self.nullable = nullable;
        self
    }

    /// Sets autoincrement behaviour.
    pub fn autoincrement(mut self, a: Autoincrement) -> Column {
        self.autoincrement = a;
        self
    }

    /// A fixed Rust-side default.
    pub fn default(mut self, v: impl Into<Value>) -> Column {
        self.default = Some(ColumnDefault::Value(v.into()));
        self
    }

    /// A Rust-side default computed per row.
    pub fn default_with(mut self, f: impl Fn() -> Value + Send + Sync + 'static) -> Column {
        self.default = Some(ColumnDefault::Function(Arc::new(f)));
        self
    }

    /// A server-side default, as SQL text.
    pub fn server_default(mut self, sql: impl Into<String>) -> Column {
        self.server_default = Some(sql.into());
        self
    }

    /// A single-column UNIQUE constraint.
    pub fn unique(mut self) -> Column {
        self.unique = true;
        self
    }

    /// A single-column index.
    pub fn index(mut self) -> Column {
        self.index = true;
        self
    }

    /// A column comment.
    pub fn comment(mut self, c: impl Into<String>) -> Column {
        self.comment = Some(c.into());
        self
    }
}
