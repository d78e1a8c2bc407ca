//! `orm`: a declarative ORM for Rust, in the spirit of SQLAlchemy.
//!
//! Two layers, usable on their own:
//! - **Core**: an [`Engine`] over sqlx pools for PostgreSQL, MySQL/MariaDB and SQLite,
//!   transactions and savepoints, and SQL built as typed expression trees;
//! - **ORM**: models declared with `#[derive(Model)]` and a unit-of-work Session.
//!
//! ## Where to find things
//! - [`create_engine`], [`Engine`], [`Connection`], [`Transaction`] — connections and
//!   transactions;
//! - [`text`] — literal SQL with `:name` binds;
//! - [`select`], [`insert`], [`update`], [`delete`], [`func`] — SQL as typed expression
//!   trees ([`sql`]), compiled per [`Dialect`];
//! - [`schema`] — tables, columns, types and constraints;
//! - [`Row`], [`Value`] — results and bind values, the same on every database;
//! - [`MetaData`], [`Table`], [`schema`] — tables, keys, constraints, `create_all` /
//!   `drop_all`, DDL statements;
//! - [`Engine::inspect`], [`Inspector`], [`MetaData::reflect`] — tables read back from
//!   a database;
//! - [`Error`] — every failure, with the column, constraint or URL involved.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use orm::prelude::*;
//! let engine = create_engine("sqlite::memory:").await?;
//! let row = engine.fetch_one(text("SELECT :a + :b AS total").bind("a", 2).bind("b", 3)).await?;
//! assert_eq!(row.get::<i64>("total")?, 5);
//! # Ok::<(), orm::Error>(()) }).unwrap();
//! ```
#![warn(missing_docs)]

pub use orm_runtime::dialect;
pub use orm_runtime::engine;
pub use orm_runtime::error;
pub use orm_runtime::loading;
pub use orm_runtime::model;
pub use orm_runtime::reflect;
pub use orm_runtime::relationship;
pub use orm_runtime::row;
pub use orm_runtime::schema;
pub use orm_runtime::session;
pub use orm_runtime::sql;
pub use orm_runtime::value;

pub use orm_derive::Model;
pub use orm_runtime::Capabilities;
pub use orm_runtime::Compiled;
pub use orm_runtime::Connection;
pub use orm_runtime::DatabaseError;
pub use orm_runtime::DatabaseErrorKind;
pub use orm_runtime::Deferred;
pub use orm_runtime::Dialect;
pub use orm_runtime::Engine;
pub use orm_runtime::EngineBuilder;
pub use orm_runtime::Error;
pub use orm_runtime::Executable;
pub use orm_runtime::Feature;
pub use orm_runtime::FromValue;
pub use orm_runtime::Inspector;
pub use orm_runtime::JournalMode;
pub use orm_runtime::Model;
pub use orm_runtime::NewConnection;
pub use orm_runtime::PoolKind;
pub use orm_runtime::PoolStatus;
pub use orm_runtime::QueryResult;
pub use orm_runtime::Related;
pub use orm_runtime::Relationship;
pub use orm_runtime::Result;
pub use orm_runtime::Row;
pub use orm_runtime::Savepoint;
pub use orm_runtime::ServerInfo;
pub use orm_runtime::ServerVersion;
pub use orm_runtime::Synchronous;
pub use orm_runtime::TextClause;
pub use orm_runtime::Transaction;
pub use orm_runtime::Value;
pub use orm_runtime::create_engine;
pub use orm_runtime::schema::MetaData;
pub use orm_runtime::schema::NamingConvention;
pub use orm_runtime::schema::SqlType;
pub use orm_runtime::schema::Table;
pub use orm_runtime::session::{
    Inspection, ModelEvents, Nested, Obj, ObjectState, Query, Session, Synchronize,
};
pub use orm_runtime::text;
pub use orm_runtime::{FromRow, FromRowAt, columns_of};

pub use orm_runtime::sql::func;
pub use orm_runtime::sql::{
    Expr, alias, and_all, case, delete, excluded, exists, insert, lit, not_, not_exists, or_all,
    over, select, update,
};

/// The names most programs need: `use orm::prelude::*;`.
pub mod prelude {
    pub use orm_derive::Model;
    pub use orm_runtime::loading::{
        LoadOptions, contains_eager, defer, joinedload, load_only, noload, raiseload, selectinload,
        subqueryload, undefer,
    };
    pub use orm_runtime::schema::{MetaData, SqlType, Table};
    pub use orm_runtime::session::{Obj, ObjectState, Session};
    pub use orm_runtime::sql::{
        Column, Dynamic, Expr, HasTable, alias, and_all, case, delete, excluded, exists, func,
        insert, lit, not_, not_exists, or_all, over, select, update,
    };
    pub use orm_runtime::{
        Connection, Dialect, Engine, Error, Executable, Row, Savepoint, Transaction, Value,
        create_engine, text,
    };
    pub use orm_runtime::{Deferred, Model, Related, Relationship, columns_of};
}

#[doc(hidden)]
pub use orm_runtime::codegen_support;

/// Guides with runnable examples.
pub mod guide {
    #[doc = include_str!("derive_model.md")]
    pub mod derive_model {}

    #[doc = include_str!("session.md")]
    pub mod session {}
}
