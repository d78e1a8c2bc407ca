//! Runtime of the [`orm`](https://docs.rs/orm) crate. Semver-exempt: depend on `orm`,
//! which re-exports everything here that users need.
//!
//! Module map, in the order a statement travels:
//! - [`engine`] — [`Engine`], pools, [`Connection`], [`Transaction`] (Layer 1);
//! - [`sql`] — statements that compile to SQL and binds ([`text`], [`Executable`]);
//! - [`dialect`] — how PostgreSQL, MySQL/MariaDB and SQLite spell SQL, and what each server version can run;
//! - [`model`] and its [`relationship`]s — what `#[derive(Model)]` implements (Layer 4);
//! - [`schema`] — [`MetaData`](schema::MetaData), tables, columns, types, constraints (Layer 2);
//! - [`reflect`] — [`Inspector`]: tables read back from a database;
//! - [`value`] and [`row`] — dialect-neutral bind values and result rows;
//! - [`error`] — the one [`Error`] type.
//!
//! Which module `use`s which (`dialect`, `error` and `value` use none):
//! ```text
//! row     → error, value
//! sql     → dialect, error, schema, value
//! engine  → dialect, error, row, sql, value          (engine::driver: the sqlx glue)
//! model   → dialect, error, row, schema, sql, value  (model::relationship)
//! reflect → dialect, engine, error, row, schema, sql
//! schema  → dialect, engine, error, model, reflect, sql, value
//! loading → model
//! ```
//! `schema` ↔ `sql`, and `schema::metadata` → `engine`/`reflect`/`model`, still close a
//! cycle among those five; `dialect`, `row` and `value` sit outside it.
//!
//! The drivers are cargo features, all three on by default: `postgres`, `mysql`, `sqlite`.
//! A URL whose driver is compiled out is an [`Error::DriverNotCompiled`] at
//! [`create_engine`] naming the feature; SQL for every dialect compiles in any build.
#![warn(missing_docs)]

#[cfg(not(any(feature = "postgres", feature = "mysql", feature = "sqlite")))]
compile_error!(
    "orm needs at least one database driver: enable the `postgres`, `mysql` or `sqlite` feature"
);

pub mod codegen_support;
pub mod dialect;
pub mod engine;
pub mod error;
pub mod loading;
pub mod model;
pub mod reflect;
pub mod row;
pub mod schema;
pub mod session;
pub mod sql;
pub mod value;

pub use model::relationship;

pub use dialect::{Capabilities, Dialect, Feature, ServerInfo, ServerVersion};
pub use engine::{
    Connection, Engine, EngineBuilder, JournalMode, NewConnection, PoolKind, PoolStatus,
    QueryResult, Savepoint, Synchronous, Transaction, create_engine,
};
pub use error::{DatabaseError, DatabaseErrorKind, Error, Result};
pub use model::relationship::{
    Cascade, LoadStrategy, Related, Relationship, RelationshipInfo, RelationshipKind,
};
pub use model::{ColumnInfo, Deferred, Model, ModelSql, columns_of};
pub use reflect::Inspector;
pub use row::{ColumnIndex, Decode, FromRow, FromRowAt, Row};
pub use sql::{Compiled, ExecPlan, Executable, TextClause, text};
pub use value::{FromValue, Value, ValueKind};
