//! Runtime of the [`orm`](https://docs.rs/orm) crate. Semver-exempt: depend on `orm`,
//! which re-exports everything here that users need.
//!
//! Module map, in the order a statement travels:
//! - [`engine`] — [`Engine`], pools, [`Connection`], [`Transaction`] (Layer 1);
//! - [`sql`] — statements that compile to SQL and binds ([`text`], [`Executable`]);
//! - [`dialect`] — how PostgreSQL, MySQL/MariaDB and SQLite spell SQL;
//! - [`model`] and its [`relationship`]s — what `#[derive(Model)]` implements (Layer 4);
//! - [`schema`] — [`MetaData`](schema::MetaData), tables, columns, types, constraints (Layer 2);
//! - [`reflect`] — [`Inspector`]: tables read back from a database;
//! - [`value`] and [`row`] — dialect-neutral bind values and result rows;
//! - [`error`] — the one [`Error`] type.
#![warn(missing_docs)]

pub mod codegen_support;
pub mod dialect;
pub mod engine;
pub mod error;
pub mod loading;
pub mod model;
pub mod reflect;
pub mod row;
pub mod schema;
pub mod sql;
pub mod value;

pub use model::relationship;

pub use dialect::Dialect;
pub use engine::{
    Connection, Engine, EngineBuilder, PoolKind, PoolStatus, QueryResult, Savepoint, Transaction,
    create_engine,
};
pub use error::{DatabaseError, DatabaseErrorKind, Error, Result};
pub use model::relationship::{
    Cascade, LoadStrategy, Related, Relationship, RelationshipInfo, RelationshipKind,
};
pub use model::{ColumnInfo, Model, ModelSql};
pub use reflect::Inspector;
pub use row::{ColumnIndex, Decode, FromRow, Row};
pub use sql::{Compiled, ExecPlan, Executable, TextClause, text};
pub use value::{FromValue, Value};
