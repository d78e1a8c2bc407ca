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
//! ## Cargo features
//! - `postgres`, `mysql` (MySQL and MariaDB), `sqlite`: the drivers, all three by
//!   default. SQL for every [`Dialect`] compiles in any build; a URL whose driver is left
//!   out is an [`Error::DriverNotCompiled`] at [`create_engine`] naming the feature.
//! - `uuid`, `json`, `decimal`: those value types; `serde`: serde's traits for
//!   relationship fields.
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
    Inspection, ModelEvents, Nested, Obj, ObjectState, Query, QueryStream, Session, Synchronize,
};
pub use orm_runtime::text;
pub use orm_runtime::{FromRow, FromRowAt, columns_of};

pub use orm_runtime::sql::func;
pub use orm_runtime::sql::{
    DeleteStatement, Expr, InsertStatement, SelectStatement, UpdateStatement, alias, and_all, case,
    delete, excluded, exists, insert, lit, not_, not_exists, or_all, over, select, tuple, update,
};

/// The names most programs need: `use orm::prelude::*;`.
///
/// The statement builders and the types they return (to name in a helper's
/// signature), SQL functions, row values, locks, models, the Session, and the engine:
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use orm::prelude::*;
///
/// #[derive(Model, Debug, Clone)]
/// #[orm(table = "lines")]
/// pub struct Line {
///     #[orm(primary_key)]
///     pub id: i64,
///     pub order_id: i64,
///     #[orm(max_length = 20)]
///     pub sku: String,
///     pub qty: i32,
/// }
///
/// fn add(order_id: i64, sku: &str, qty: i32) -> InsertStatement {
///     insert(Line::table()).values((Line::order_id.set(order_id), Line::sku.set(sku), Line::qty.set(qty)))
/// }
/// fn restock(sku: &str) -> UpdateStatement {
///     update(Line::table()).set(Line::qty.set(Line::qty + 1)).filter(Line::sku.eq(sku))
/// }
/// fn drop_empty() -> DeleteStatement {
///     delete(Line::table()).filter(Line::qty.eq(0))
/// }
/// fn lines_of(keys: &[(i64, &str)]) -> SelectStatement {
///     select((Line::order_id, Line::sku, Line::qty))
///         .filter(tuple((Line::order_id, Line::sku)).in_(keys.iter().copied()))
///         .order_by(Line::id.asc())
/// }
///
/// let engine = create_engine("sqlite::memory:").await?;
/// MetaData::new().with::<Line>().create_all(&engine).await?;
/// for (order, sku, qty) in [(1, "a", 2), (1, "b", 0), (2, "a", 5), (2, "c", 1)] {
///     engine.execute(add(order, sku, qty)).await?;
/// }
/// engine.execute(restock("a")).await?;
/// engine.execute(drop_empty()).await?;
/// let rows = engine.fetch_all(lines_of(&[(1, "a"), (1, "b"), (2, "a")]).with_lock(Lock::Update)).await?;
/// let got: Vec<(i64, String, i32)> =
///     rows.iter().map(|r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).collect::<Result<_, Error>>()?;
/// assert_eq!(got, [(1, "a".to_owned(), 3), (2, "a".to_owned(), 6)]);
/// let total = engine.fetch_one(select(func::sum(Line::qty).label("total"))).await?;
/// assert_eq!(total.get::<i64>("total")?, 10);
/// let n = engine.fetch_one(text("SELECT count(*) AS n FROM lines WHERE qty > :q").bind("q", 1)).await?;
/// assert_eq!(n.get::<i64>("n")?, 2);
/// # Ok::<(), orm::Error>(()) }).unwrap();
/// ```
pub mod prelude {
    pub use orm_derive::Model;
    pub use orm_runtime::loading::{
        LoadOptions, contains_eager, defer, joinedload, load_only, noload, raiseload,
        raiseload_all, selectinload, subqueryload, undefer, undefer_group,
    };
    pub use orm_runtime::schema::{MetaData, SqlType, Table};
    pub use orm_runtime::session::{Obj, ObjectState, Query, Session};
    pub use orm_runtime::sql::{
        AnyExpr, Column, DeleteStatement, Dynamic, Expr, HasTable, InsertStatement, IntoExpr, Lock,
        OrderItem, SelectStatement, Tuple, UpdateStatement, alias, and_all, case, delete, excluded,
        exists, false_, func, insert, lit, not_, not_exists, null, or_all, over, select, true_,
        tuple, update,
    };
    pub use orm_runtime::{
        Compiled, Connection, Dialect, Engine, Error, Executable, QueryResult, Row, Savepoint,
        TextClause, Transaction, Value, create_engine, text,
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
