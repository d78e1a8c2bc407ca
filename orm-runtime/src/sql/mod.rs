//! The SQL expression language (Layer 3): statements built as typed trees, compiled per
//! dialect into SQL text and ordered binds, with a cache of compiled shapes.
//!
//! ```
//! use orm_runtime::sql::{select, func};
//! use orm_runtime::schema::{Column, SqlType, Table};
//! use orm_runtime::Dialect;
//! let t = std::sync::Arc::new(Table::new("order").column(Column::new("select", SqlType::Integer)));
//! let stmt = select(func::count_star()).from(&t).filter(t.c("select").in_([1, 2, 3]));
//! assert_eq!(stmt.compile(Dialect::MySql).unwrap().sql(),
//!     "SELECT count(*) FROM `order` WHERE `order`.`select` IN (?, ?, ?)");
//! // PostgreSQL binds the list as one array: one SQL text for any length.
//! assert_eq!(stmt.to_string(),
//!     r#"SELECT count(*) FROM "order" WHERE "order"."select" = ANY($1)"#);
//! ```

mod cache;
mod column;
mod compiler;
mod dml;
mod expr;
#[cfg(test)]
mod fixtures;
pub mod func;
mod select;
mod text;

use std::sync::Arc;

pub use column::{
    Alias, Assignment, Column, ColumnName, Deferrable, Eager, HasTable, IsDeferrable, TableAlias,
    alias, column,
};
pub use dml::{
    ConflictColumn, DeleteStatement, InsertStatement, IntoConflictTarget, IntoRow, IntoRows,
    IntoTarget, OnConflict, RowValue, UpdateStatement, ValueRows, delete, insert, update,
};
pub use expr::{
    AnyExpr, ArithOperand, ArithResult, BinaryOp, Case, ColumnRef, Dynamic, Expr, ExprNode,
    ExprType, IntoExpr, IntoTuple, IntoTupleValues, IsBool, Name, NotNull, NullFlag, Nullable,
    Nullity, Numeric, OrderItem, Origin, Promote, Qualifier, Textual, Tuple, TupleMember, Window,
    and_all, case, escape_like, excluded, exists, false_, lit, literal_column, not_, not_exists,
    null, or_all, over, true_, tuple,
};
pub use select::{
    Cte, FromClause, FromItem, IntoFromItem, IntoSelectItem, IntoSelectList, Join, JoinKind,
    Labeled, Lock, SelectBody, SelectCore, SelectItem, SelectStatement, SetOp, Subquery, select,
    star, star_of,
};
pub use text::{TextClause, text};

use cache::Stmt;

use crate::dialect::{Dialect, ServerInfo};
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

    /// The same SQL (shared, not copied) with other binds.
    pub(crate) fn with_binds(&self, binds: Vec<Value>) -> Compiled {
        Compiled {
            sql: Arc::clone(&self.sql),
            binds,
        }
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
/// expression language. Both methods take a [`Dialect`] (the latest server of it) or the
/// [`ServerInfo`] of a connected engine ([`Engine::server`](crate::Engine::server)).
pub trait Executable {
    /// Compiles the statement for `server`.
    fn compile_for(&self, server: impl Into<ServerInfo>) -> Result<Compiled>;

    /// How to run the statement on `server`: usually the one compiled statement; for
    /// constructs the server lacks, the statements that emulate it.
    fn plan_for(&self, server: impl Into<ServerInfo>) -> Result<ExecPlan> {
        self.compile_for(server).map(ExecPlan::Single)
    }

    /// [`plan_for`](Executable::plan_for), consuming the statement: what the engine
    /// calls on a statement passed by value, so that a [`Compiled`] one becomes its plan
    /// without a copy of its SQL and binds.
    fn into_plan_for(self, server: impl Into<ServerInfo>) -> Result<ExecPlan>
    where
        Self: Sized,
    {
        self.plan_for(server)
    }

    /// How `execute` runs the statement on `server`: its plan, and where the result's
    /// [`inserted_primary_key`](crate::engine::QueryResult::inserted_primary_key) comes
    /// from (for a single-row INSERT on PostgreSQL, the plan returns the key).
    fn execute_plan_for(&self, server: impl Into<ServerInfo>) -> Result<(ExecPlan, InsertedKey)> {
        Ok((self.plan_for(server)?, InsertedKey::Unknown))
    }

    /// [`execute_plan_for`](Executable::execute_plan_for), consuming the statement:
    /// what `execute` calls on a statement passed by value, so that a [`Compiled`] one
    /// runs without a copy of its SQL and binds.
    fn into_execute_plan_for(self, server: impl Into<ServerInfo>) -> Result<(ExecPlan, InsertedKey)>
    where
        Self: Sized,
    {
        self.execute_plan_for(server)
    }
}

/// Where an executed statement's inserted primary key comes from
/// ([`QueryResult::inserted_primary_key`](crate::engine::QueryResult::inserted_primary_key)).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum InsertedKey {
    /// Not an INSERT of one row, or one whose key cannot be known.
    Unknown,
    /// The key's values as the row gives them (one per key column).
    Given(Vec<Value>),
    /// The one id the database generated (MySQL `LAST_INSERT_ID()`, SQLite
    /// `last_insert_rowid()`) for the key's one column.
    Generated,
    /// The plan's INSERT returns the key columns (`RETURNING`, added for this): the
    /// row it returns is the key, not a result row.
    Returned,
}

/// The statements that carry out one [`Executable`] on a dialect.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ExecPlan {
    /// One statement.
    Single(Compiled),
    /// `INSERT ... RETURNING` where the server has no RETURNING (MySQL, MariaDB before
    /// 10.5): the INSERT, then
    /// a SELECT of the returned columns by primary key, on the same connection and in
    /// one transaction (a savepoint inside one), so that both happen or neither. A
    /// SELECT that finds no row is an error, and the INSERT is rolled back.
    InsertThenSelect {
        /// The INSERT without RETURNING.
        insert: Compiled,
        /// The SELECT by key.
        select: Compiled,
        /// Whether the key is the id the database generated (bound into the SELECT's
        /// only placeholder after the INSERT) or was given in the INSERT (already bound).
        generated_key: bool,
    },
}

impl Executable for Compiled {
    fn compile_for(&self, _server: impl Into<ServerInfo>) -> Result<Compiled> {
        Ok(self.clone())
    }

    fn into_plan_for(self, _server: impl Into<ServerInfo>) -> Result<ExecPlan> {
        Ok(ExecPlan::Single(self))
    }

    fn into_execute_plan_for(
        self,
        _server: impl Into<ServerInfo>,
    ) -> Result<(ExecPlan, InsertedKey)> {
        Ok((ExecPlan::Single(self), InsertedKey::Unknown))
    }
}

impl<T: Executable + ?Sized> Executable for &T {
    fn compile_for(&self, server: impl Into<ServerInfo>) -> Result<Compiled> {
        (**self).compile_for(server)
    }

    fn plan_for(&self, server: impl Into<ServerInfo>) -> Result<ExecPlan> {
        (**self).plan_for(server)
    }

    fn execute_plan_for(&self, server: impl Into<ServerInfo>) -> Result<(ExecPlan, InsertedKey)> {
        (**self).execute_plan_for(server)
    }
}

macro_rules! statement_compile {
    ($($ty:ident => $variant:ident),* $(,)?) => {$(
        impl $ty {
            /// Compiles for `server` (a [`Dialect`] for its latest server, or an
            /// engine's [`ServerInfo`]): SQL text and binds. Shapes compiled before come
            /// from the statement cache.
            pub fn compile(&self, server: impl Into<ServerInfo>) -> Result<Compiled> {
                cache::compile(Stmt::$variant(self), server.into())
            }

            /// Compiles for `server` without consulting or filling the cache.
            pub fn compile_uncached(&self, server: impl Into<ServerInfo>) -> Result<Compiled> {
                cache::compile_uncached(Stmt::$variant(self), server.into())
            }
        }

        impl Executable for $ty {
            fn compile_for(&self, server: impl Into<ServerInfo>) -> Result<Compiled> {
                self.compile(server)
            }

            fn plan_for(&self, server: impl Into<ServerInfo>) -> Result<ExecPlan> {
                self.plan(server.into())
            }

            fn execute_plan_for(
                &self,
                server: impl Into<ServerInfo>,
            ) -> Result<(ExecPlan, InsertedKey)> {
                self.execute_plan(server.into())
            }

            fn into_plan_for(self, server: impl Into<ServerInfo>) -> Result<ExecPlan> {
                self.into_plan(server.into())
            }

            fn into_execute_plan_for(
                self,
                server: impl Into<ServerInfo>,
            ) -> Result<(ExecPlan, InsertedKey)> {
                self.into_execute_plan(server.into())
            }
        }

        /// The SQL as PostgreSQL would run it (`$n` placeholders), for reading.
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self.compile(Dialect::Postgres) {
                    Ok(c) => f.write_str(c.sql()),
                    Err(e) => write!(f, "<statement does not compile: {e}>"),
                }
            }
        }
    )*};
}

statement_compile!(
    SelectStatement => Select,
    InsertStatement => Insert,
    UpdateStatement => Update,
    DeleteStatement => Delete,
);

impl SelectStatement {
    fn plan(&self, server: ServerInfo) -> Result<ExecPlan> {
        self.compile(server).map(ExecPlan::Single)
    }

    fn execute_plan(&self, server: ServerInfo) -> Result<(ExecPlan, InsertedKey)> {
        Ok((self.plan(server)?, InsertedKey::Unknown))
    }

    fn into_plan(self, server: ServerInfo) -> Result<ExecPlan> {
        self.plan(server)
    }

    fn into_execute_plan(self, server: ServerInfo) -> Result<(ExecPlan, InsertedKey)> {
        self.execute_plan(server)
    }
}

impl UpdateStatement {
    fn plan(&self, server: ServerInfo) -> Result<ExecPlan> {
        self.compile(server).map(ExecPlan::Single)
    }

    fn execute_plan(&self, server: ServerInfo) -> Result<(ExecPlan, InsertedKey)> {
        Ok((self.plan(server)?, InsertedKey::Unknown))
    }

    fn into_plan(self, server: ServerInfo) -> Result<ExecPlan> {
        self.plan(server)
    }

    fn into_execute_plan(self, server: ServerInfo) -> Result<(ExecPlan, InsertedKey)> {
        self.execute_plan(server)
    }
}

impl DeleteStatement {
    fn plan(&self, server: ServerInfo) -> Result<ExecPlan> {
        self.compile(server).map(ExecPlan::Single)
    }

    fn execute_plan(&self, server: ServerInfo) -> Result<(ExecPlan, InsertedKey)> {
        Ok((self.plan(server)?, InsertedKey::Unknown))
    }

    fn into_plan(self, server: ServerInfo) -> Result<ExecPlan> {
        self.plan(server)
    }

    fn into_execute_plan(self, server: ServerInfo) -> Result<(ExecPlan, InsertedKey)> {
        self.execute_plan(server)
    }
}

#[cfg(test)]
mod tests {
    use crate::sql::fixtures::User;
    use crate::sql::*;

    #[test]
    fn display_prints_postgres_sql() {
        let stmt = select(User::name).filter(User::id.eq(1));
        assert_eq!(
            stmt.to_string(),
            r#"SELECT "users"."name" FROM "users" WHERE "users"."id" = $1"#
        );
    }
}
