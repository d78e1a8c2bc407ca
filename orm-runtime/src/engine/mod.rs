//! The Engine: a pool of connections to one database, and the entry point for running
//! statements (Layer 1).
//!
//! ```text
//! Engine ──connect()──▶ Connection ──begin()──▶ Transaction ──savepoint()──▶ Savepoint
//!   │                        │                        │
//!   └── execute / fetch_* ───┴──── execute / fetch_* ─┴── Executable::compile_for(engine.server())
//! ```

mod connection;
pub(crate) mod driver;
pub mod events;
mod exec;
mod executor;
mod pool;
mod setup;
mod transaction;
mod url;

use std::sync::Arc;
use std::time::Duration;

use futures_core::stream::BoxStream;
use futures_util::FutureExt;
use sqlx::{ConnectOptions, Row as _};

pub use connection::Connection;
pub use pool::{NULL_POOL_MAX_CONNECTIONS, PoolKind};
pub use setup::{JournalMode, NewConnection, Synchronous};
pub use transaction::{Savepoint, Transaction};

pub(crate) use exec::RowidInsert;
pub(crate) use executor::Exec;

use connection::ConnInner;
use pool::{Pool, PoolConfig};
use setup::{AfterConnectFn, ConnectSettings, Setup};
use url::{ConnectTarget, DatabaseUrl};

use crate::dialect::{Dialect, ServerInfo, ServerVersion};
use crate::error::{Error, Result};
use crate::row::{FromRow, Row};
use crate::sql::Executable;

/// The result of [`execute`](Engine::execute): the rows the statement returned (a
/// `SELECT`, or DML with `RETURNING`), the number of rows it changed, and the id the
/// database generated (MySQL `LAST_INSERT_ID()`, SQLite `last_insert_rowid()`).
#[derive(Debug, Default)]
pub struct QueryResult {
    rows: Vec<Row>,
    rows_affected: u64,
    last_insert_id: Option<crate::value::Value>,
    inserted_primary_key: Option<Vec<crate::value::Value>>,
}

impl QueryResult {
    /// The returned rows.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// The returned rows, owned.
    pub fn into_rows(self) -> Vec<Row> {
        self.rows
    }

    pub(crate) fn with_rows(mut self, rows: Vec<Row>) -> QueryResult {
        self.rows = rows;
        self
    }

    /// Rows inserted, deleted, or *matched* by an UPDATE (SQLAlchemy's `rowcount`): an
    /// UPDATE that sets a row to the values it already has counts it, on every database
    /// (MySQL connections ask for found rows, `CLIENT_FOUND_ROWS`, as sqlx does), which
    /// is what a version check needs. MySQL's `INSERT ... ON DUPLICATE KEY UPDATE`
    /// counts 1 per row inserted and 2 per row updated (1 if the update left it as it
    /// was). For a statement that returns rows where the driver gives no count
    /// (MariaDB's `INSERT ... RETURNING`), the number of rows returned.
    pub fn rows_affected(&self) -> u64 {
        self.rows_affected
    }

    /// The id the database generated for an insert, where the dialect reports one
    /// (MySQL, SQLite); `None` on PostgreSQL, which uses `RETURNING` instead. Also
    /// `None` for a MySQL `BIGINT UNSIGNED` id above `i64::MAX`: read that one with
    /// [`last_insert_value`](Self::last_insert_value).
    pub fn last_insert_id(&self) -> Option<i64> {
        match self.last_insert_id {
            Some(crate::value::Value::I64(id)) => Some(id),
            _ => None,
        }
    }

    /// The generated id as a [`Value`](crate::value::Value): `I64`, or `U64` for a
    /// MySQL `BIGINT UNSIGNED` id above `i64::MAX`.
    pub fn last_insert_value(&self) -> Option<&crate::value::Value> {
        self.last_insert_id.as_ref()
    }

    /// The primary key of the row a single-row INSERT inserted, one value per key
    /// column in the key's order (SQLAlchemy's `inserted_primary_key`), on every
    /// database: the values the row gave, or those the database generated. PostgreSQL
    /// returns a generated key (the INSERT gets `RETURNING` of the key columns, whose
    /// row is not among [`rows`](Self::rows)); MySQL and SQLite report the id they
    /// generated for an autoincrement key. An upsert's key is the row inserted or
    /// updated on PostgreSQL and SQLite.
    ///
    /// `None` for other statements, an INSERT of several rows or from a SELECT, one
    /// that inserted no row (an upsert that did nothing, or on MySQL updated), a key
    /// that is neither given nor generated where the database does not return it, and
    /// an INSERT with a `RETURNING` of its own on PostgreSQL whose key is not given
    /// (read the key from its rows).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use orm_runtime::schema::{Column, MetaData, SqlType, Table};
    /// use orm_runtime::sql::{Assignment, insert};
    /// use orm_runtime::{Value, create_engine};
    /// let engine = create_engine("sqlite::memory:").await?;
    /// let users = Table::new("users")
    ///     .column(Column::new("id", SqlType::BigInt).primary_key())
    ///     .column(Column::new("name", SqlType::Text));
    /// MetaData::new().with_table(users.clone()).create_all(&engine).await?;
    /// let users = std::sync::Arc::new(users);
    /// let done = engine.execute(insert(&users).values(Assignment::new("name", "ed"))).await?;
    /// assert_eq!(done.inserted_primary_key(), Some(&[Value::I64(1)][..]));
    /// let done = engine
    ///     .execute(insert(&users).values([Assignment::new("id", 7i64), Assignment::new("name", "jo")]))
    ///     .await?;
    /// assert_eq!(done.inserted_primary_key(), Some(&[Value::I64(7)][..]));
    /// # Ok::<(), orm_runtime::Error>(()) }).unwrap();
    /// ```
    pub fn inserted_primary_key(&self) -> Option<&[crate::value::Value]> {
        self.inserted_primary_key.as_deref()
    }

    /// Fills [`inserted_primary_key`](Self::inserted_primary_key) as `key` says: from
    /// the row given, the id generated, or the row returned (then taken out of the
    /// result's rows). A key given or generated counts only when one row was inserted.
    pub(crate) fn with_inserted_key(mut self, key: crate::sql::InsertedKey) -> Result<QueryResult> {
        use crate::sql::InsertedKey;
        self.inserted_primary_key = match key {
            InsertedKey::Given(values) if self.rows_affected == 1 => Some(values),
            InsertedKey::Generated if self.rows_affected == 1 => {
                self.last_insert_id.clone().map(|id| vec![id])
            }
            InsertedKey::Returned => match self.rows.pop() {
                Some(row) => Some(row.values()?),
                None => None,
            },
            _ => None,
        };
        Ok(self)
    }
}

/// Generates the statement-running methods shared by [`Connection`] and
/// [`Transaction`] and [`Savepoint`]; each type provides `dialect()`, `echo()`, `raw()`
/// (the driver connection and the [`Flight`](pool::Flight) that marks it busy for one
/// call: a call cancelled mid-flight keeps it busy, and the pool closes it),
/// `conn_inner()` (the pooled connection), `conn_and_events()` (it and the engine's
/// statement events, borrowed together) and `reopens()` (whether a connection lost
/// by an earlier call is replaced: outside a transaction only).
macro_rules! executor_methods {
    () => {
        /// Runs a statement; returns its rows, if any, and the count of rows it changed.
        pub async fn execute(
            &mut self,
            stmt: impl $crate::sql::Executable,
        ) -> $crate::error::Result<$crate::engine::QueryResult> {
            let (plan, key) = stmt.into_execute_plan_for(self.server())?;
            let plan = match self.run_now(plan) {
                Ok(done) => return done?.with_inserted_key(key),
                Err(plan) => plan,
            };
            self.run_plan(plan).await?.with_inserted_key(key)
        }

        /// Runs a statement compiled already, taking its binds (no copy of them, as
        /// `execute(compiled)` makes).
        #[allow(dead_code)] // used by the session on transactions only
        pub(crate) async fn run_compiled(
            &mut self,
            compiled: $crate::sql::Compiled,
        ) -> $crate::error::Result<$crate::engine::QueryResult> {
            match self.run_now($crate::sql::ExecPlan::Single(compiled)) {
                Ok(done) => done,
                Err(plan) => self.run_plan(plan).await,
            }
        }

        /// Runs a plan at once, with no `.await`, when it needs none (on SQLite's fast
        /// path, see `ConnInner::sqlite_now`), without making `run_plan`'s future;
        /// else gives it back.
        #[allow(clippy::result_large_err)]
        fn run_now(
            &mut self,
            plan: $crate::sql::ExecPlan,
        ) -> std::result::Result<
            $crate::error::Result<$crate::engine::QueryResult>,
            $crate::sql::ExecPlan,
        > {
            #[cfg(feature = "sqlite")]
            if let $crate::sql::ExecPlan::Single(c) = &plan {
                let (conn, events) = self.conn_and_events();
                let done = conn.sqlite_now(|conn| {
                    $crate::engine::driver::sqlite_fast::execute_now(conn, c, events)
                });
                if let Some(done) = done {
                    return Ok(done);
                }
            }
            Err(plan)
        }

        /// Runs the statements of a plan on this connection.
        async fn run_plan(
            &mut self,
            plan: $crate::sql::ExecPlan,
        ) -> $crate::error::Result<$crate::engine::QueryResult> {
            let echo = self.echo();
            match plan {
                $crate::sql::ExecPlan::Single(c) => {
                    let (raw, flight) = self.raw().await?;
                    flight.land(raw.execute(&c, &echo).await)
                }
                $crate::sql::ExecPlan::InsertThenSelect {
                    insert,
                    select,
                    generated_key,
                } => {
                    // One unit: BEGIN (a SAVEPOINT inside a transaction), the INSERT, the
                    // SELECT, then COMMIT, or ROLLBACK if either failed. A call cancelled
                    // mid-flight closes the connection, and the server rolls back.
                    // Boxed: its futures (BEGIN, two statements, COMMIT or ROLLBACK)
                    // held inline made every statement's future larger.
                    Box::pin(self.insert_then_select(insert, select, generated_key, &echo))
                        .await
                }
            }
        }

        /// The INSERT then SELECT of an emulated `INSERT ... RETURNING`, as one unit
        /// (see `run_plan`).
        async fn insert_then_select(
            &mut self,
            insert: $crate::sql::Compiled,
            select: $crate::sql::Compiled,
            generated_key: bool,
            echo: &$crate::engine::events::Events,
        ) -> $crate::error::Result<$crate::engine::QueryResult> {
            let reopen = self.reopens();
            let dialect = self.dialect().name();
            self.conn_inner().begin(reopen, false).await?;
            let outcome = async {
                let (raw, flight) = self.raw().await?;
                let done = flight.land(raw.execute(&insert, echo).await)?;
                let select = if generated_key {
                    let id = done.last_insert_value().cloned().ok_or_else(|| {
                        $crate::error::Error::Unsupported {
                            dialect,
                            feature: "INSERT ... RETURNING when the INSERT generated \
                                      no id"
                                .into(),
                        }
                    })?;
                    // The key is the SELECT's last placeholder (its WHERE comes
                    // after the returned expressions, whose own binds stay).
                    let (sql, mut binds) = select.into_parts();
                    if let Some(last) = binds.last_mut() {
                        *last = id;
                    }
                    $crate::sql::Compiled::new(sql, binds)
                } else {
                    select
                };
                let (raw, flight) = self.raw().await?;
                let rows = flight.land(raw.fetch_all(&select, echo).await)?;
                if rows.len() != 1 {
                    return Err($crate::error::Error::Unsupported {
                        dialect,
                        feature: format!(
                            "INSERT ... RETURNING whose row is not found again by its \
                             primary key (the SELECT found {} rows)",
                            rows.len()
                        ),
                    });
                }
                Ok(done.with_rows(rows))
            }
            .await;
            match outcome {
                Ok(done) => {
                    self.conn_inner().commit().await?;
                    Ok(done)
                }
                Err(e) => {
                    if let Err(rb) = self.conn_inner().rollback().await {
                        tracing::warn!(target: "orm::engine", error = %rb, "ROLLBACK failed");
                    }
                    Err(e)
                }
            }
        }

        /// Runs a script of several `;`-separated statements with no bind parameters
        /// (DDL, fixtures), through the driver's simple-query path; returns the rows
        /// changed in all. Values in a script are the caller's responsibility: use
        /// [`execute`](Self::execute) with binds for anything that comes from outside.
        pub async fn execute_script(&mut self, sql: &str) -> $crate::error::Result<u64> {
            let echo = self.echo();
            let (raw, flight) = self.raw().await?;
            flight.land(raw.execute_script(sql, &echo).await)
        }

        /// Runs a query and collects every row.
        pub async fn fetch_all(
            &mut self,
            stmt: impl $crate::sql::Executable,
        ) -> $crate::error::Result<Vec<$crate::row::Row>> {
            let echo = self.echo();
            match stmt.into_plan_for(self.server())? {
                $crate::sql::ExecPlan::Single(c) => {
                    let (raw, flight) = self.raw().await?;
                    flight.land(raw.fetch_all(&c, &echo).await)
                }
                plan => Ok(self.run_plan(plan).await?.into_rows()),
            }
        }

        /// Runs a query and decodes every row as `T` (a model, or a tuple of models and
        /// values; see [`FromRow`]) as it is read, without holding the rows: what
        /// `fetch_all` followed by [`Row::decode`] returns, with less copying. The first
        /// row that does not decode ends the call with its error.
        ///
        /// [`FromRow`]: $crate::row::FromRow
        /// [`Row::decode`]: $crate::row::Row::decode
        pub async fn fetch_all_as<T: $crate::row::FromRow + Send>(
            &mut self,
            stmt: impl $crate::sql::Executable,
        ) -> $crate::error::Result<Vec<T>> {
            let mut out = Vec::new();
            self.fetch_each(stmt, &mut |row| {
                out.push(T::from_row(row)?);
                Ok(())
            })
            .await?;
            Ok(out)
        }

        /// Runs a query and hands each row to `visit` as it is read (on SQLite's fast
        /// path from a buffer of one row: nothing of the result is held); the number of
        /// rows. An error of `visit` ends the call.
        pub(crate) async fn fetch_each(
            &mut self,
            stmt: impl $crate::sql::Executable,
            visit: &mut $crate::engine::exec::Visitor<'_>,
        ) -> $crate::error::Result<u64> {
            let echo = self.echo();
            match stmt.into_plan_for(self.server())? {
                $crate::sql::ExecPlan::Single(c) => {
                    let (raw, flight) = self.raw().await?;
                    flight.land(raw.fetch_each(&c, &echo, visit).await)
                }
                plan => {
                    let rows = self.run_plan(plan).await?.into_rows();
                    for row in &rows {
                        visit(row)?;
                    }
                    Ok(rows.len() as u64)
                }
            }
        }

        /// The row of model `M` whose primary key is `key`, decoded into `M` (every
        /// column, deferred ones too), if there is one: one SELECT by key whose SQL
        /// the model compiled once per dialect ([`ModelSql::get_by_key`]), so no
        /// statement is built, compiled or looked up in the statement cache per call.
        /// A plain value: for an identity-mapped object, see the Session's `get`.
        ///
        /// [`ModelSql::get_by_key`]: $crate::model::ModelSql::get_by_key
        pub async fn get<M: $crate::model::Model>(
            &mut self,
            key: impl Into<M::PrimaryKey>,
        ) -> $crate::error::Result<Option<M>> {
            let sql = M::sql(self.server().dialect());
            let stmt = sql.get_by_key.with_binds(M::key_values(&key.into()));
            // Decoded from the row as it is read (on SQLite's fast path, in place).
            let echo = self.echo();
            let mut found = None;
            let (raw, flight) = self.raw().await?;
            let visited = raw
                .fetch_first_each(&stmt, &echo, &mut |row| {
                    found = Some(<M as $crate::row::FromRow>::from_row(row)?);
                    Ok(())
                })
                .await;
            flight.land(visited)?;
            Ok(found)
        }

        /// Runs a query and decodes its first row as `T`, or returns
        /// [`Error::RowNotFound`] when there is none.
        ///
        /// [`Error::RowNotFound`]: $crate::error::Error::RowNotFound
        pub async fn fetch_one_as<T: $crate::row::FromRow>(
            &mut self,
            stmt: impl $crate::sql::Executable,
        ) -> $crate::error::Result<T> {
            T::from_row(&self.fetch_one(stmt).await?)
        }

        /// Runs a query and decodes its first row as `T`, if there is one.
        pub async fn fetch_optional_as<T: $crate::row::FromRow>(
            &mut self,
            stmt: impl $crate::sql::Executable,
        ) -> $crate::error::Result<Option<T>> {
            self.fetch_optional(stmt)
                .await?
                .map(|row| T::from_row(&row))
                .transpose()
        }

        /// Runs a query and returns its first row, or [`Error::RowNotFound`] when there is none.
        ///
        /// [`Error::RowNotFound`]: $crate::error::Error::RowNotFound
        pub async fn fetch_one(
            &mut self,
            stmt: impl $crate::sql::Executable,
        ) -> $crate::error::Result<$crate::row::Row> {
            self.fetch_optional(stmt)
                .await?
                .ok_or($crate::error::Error::RowNotFound)
        }

        /// Runs a query and returns its first row, if any.
        pub async fn fetch_optional(
            &mut self,
            stmt: impl $crate::sql::Executable,
        ) -> $crate::error::Result<Option<$crate::row::Row>> {
            let echo = self.echo();
            match stmt.into_plan_for(self.server())? {
                $crate::sql::ExecPlan::Single(c) => {
                    let (raw, flight) = self.raw().await?;
                    flight.land(raw.fetch_optional(&c, &echo).await)
                }
                plan => Ok(self.run_plan(plan).await?.into_rows().into_iter().next()),
            }
        }

        /// Runs a query and streams its rows as the server sends them. (An emulated
        /// construct, such as MySQL's `INSERT ... RETURNING`, is not streamed: use
        /// [`fetch_all`](Self::fetch_all).) A stream dropped before its end leaves rows
        /// on the wire: its connection is then closed rather than reused (inside a
        /// transaction, the transaction is lost with it).
        pub fn fetch(
            &mut self,
            stmt: impl $crate::sql::Executable,
        ) -> futures_core::stream::BoxStream<'_, $crate::error::Result<$crate::row::Row>> {
            let echo = self.echo();
            let dialect = self.dialect();
            match stmt.into_plan_for(self.server()) {
                Ok($crate::sql::ExecPlan::Single(c)) => Box::pin(async_stream::try_stream! {
                    let (raw, flight) = self.raw().await?;
                    let mut rows = flight.track(raw.fetch(c, echo));
                    while let Some(row) = futures_util::TryStreamExt::try_next(&mut rows).await? {
                        yield row;
                    }
                }),
                Ok(_) => Box::pin(futures_util::stream::once(async move {
                    Err($crate::error::Error::Unsupported {
                        dialect: dialect.name(),
                        feature: "streaming an emulated statement (use fetch_all)".into(),
                    })
                })),
                Err(e) => Box::pin(futures_util::stream::once(async move { Err(e) })),
            }
        }
    };
}
pub(crate) use executor_methods;

enum DbPool {
    #[cfg(feature = "postgres")]
    Postgres(Pool<sqlx::Postgres>),
    #[cfg(feature = "mysql")]
    MySql(Pool<sqlx::MySql>),
    #[cfg(feature = "sqlite")]
    Sqlite(Pool<sqlx::Sqlite>),
}

/// Runs `$body` with `$p` bound to the engine's pool, whatever its driver.
macro_rules! with_pool {
    ($pool:expr, $p:ident => $body:expr) => {
        match $pool {
            #[cfg(feature = "postgres")]
            DbPool::Postgres($p) => $body,
            #[cfg(feature = "mysql")]
            DbPool::MySql($p) => $body,
            #[cfg(feature = "sqlite")]
            DbPool::Sqlite($p) => $body,
        }
    };
}

/// What every connection and transaction of an engine shares.
pub(crate) struct EngineShared {
    pool: DbPool,
    pub(crate) dialect: Dialect,
    /// The dialect with the server's version and capabilities, read at connect.
    pub(crate) server: ServerInfo,
    pub(crate) echo: bool,
    pub(crate) events: Arc<events::Events>,
    url: String,
    kind: PoolKind,
    server_version: String,
    /// MySQL without `INSERT ... RETURNING`: the step between the keys one multi-row
    /// INSERT generates when the server promises them consecutive
    /// (`innodb_autoinc_lock_mode` 0 or 1), else `None`; read once, by the first flush
    /// that needs it.
    pub(crate) autoinc_step: std::sync::OnceLock<Option<i64>>,
}

/// A source of connections to one database: a pool plus the dialect that speaks to it.
///
/// Cheap to clone; clones share the pool.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use orm_runtime::{create_engine, text};
/// let engine = create_engine("sqlite::memory:").await?;
/// engine.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")).await?;
/// let done = engine.execute(text("INSERT INTO t (name) VALUES (:n)").bind("n", "ed")).await?;
/// assert_eq!(done.rows_affected(), 1);
/// let row = engine.fetch_one(text("SELECT name FROM t WHERE id = :id").bind("id", 1)).await?;
/// assert_eq!(row.get::<String>("name")?, "ed");
/// # Ok::<(), orm_runtime::Error>(()) }).unwrap();
/// ```
#[derive(Clone)]
pub struct Engine {
    pub(crate) shared: Arc<EngineShared>,
}

/// Creates an engine with default settings; see [`Engine::builder`] for the options.
pub async fn create_engine(url: &str) -> Result<Engine> {
    Engine::builder(url).connect().await
}

/// Settings for a new [`Engine`], with SQLAlchemy's names, meanings and defaults.
#[derive(Clone)]
#[must_use = "the builder does nothing until `.connect()` is awaited"]
pub struct EngineBuilder {
    url: String,
    config: PoolConfig,
    echo: bool,
    dialect: Option<Dialect>,
    server_version: Option<ServerVersion>,
    settings: ConnectSettings,
    after_connect: Option<Arc<AfterConnectFn>>,
}

/// Shows the URL with its password hidden.
impl std::fmt::Debug for EngineBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineBuilder")
            .field("url", &url::redact(&self.url))
            .field("config", &self.config)
            .field("echo", &self.echo)
            .field("dialect", &self.dialect)
            .field("server_version", &self.server_version)
            .field("settings", &self.settings)
            .field("after_connect", &self.after_connect.is_some())
            .finish()
    }
}

impl EngineBuilder {
    /// Connections the queue pool keeps open when idle (default 5).
    pub fn pool_size(mut self, n: u32) -> Self {
        self.config.pool_size = n;
        self
    }

    /// Connections the queue pool may open beyond `pool_size` under load; they are
    /// closed when returned (default 10). At most `pool_size + max_overflow` are open.
    pub fn max_overflow(mut self, n: u32) -> Self {
        self.config.max_overflow = n;
        self
    }

    /// How long a checkout waits for a connection before failing with
    /// [`Error::PoolTimeout`] (default 30 s). Also bounds opening a new connection.
    pub fn pool_timeout(mut self, timeout: Duration) -> Self {
        self.config.pool_timeout = timeout;
        self
    }

    /// Connections older than this are closed and replaced at checkout (default: never).
    pub fn pool_recycle(mut self, age: Duration) -> Self {
        self.config.pool_recycle = Some(age);
        self
    }

    /// Test each connection with a ping at checkout, replacing dead ones (default off:
    /// it costs a round trip per checkout).
    pub fn pool_pre_ping(mut self, on: bool) -> Self {
        self.config.pool_pre_ping = on;
        self
    }

    /// SQLite: run statements directly through SQLite's C API on sqlx's connection
    /// (default on; off when the environment variable `ORM_SQLITE_FAST_PATH` is `0`).
    /// Other databases ignore it.
    ///
    /// On the fast path a connection's handle is locked out of sqlx's worker thread
    /// once, when its first statement runs, and kept for the connection's life: a
    /// statement is a direct call into SQLite, with no round trip to the worker thread
    /// and no channel message per row, which makes lookups and row loading several
    /// times faster. Statements then run on the calling task's thread: a long result
    /// yields to the runtime every few milliseconds, and waiting for another
    /// connection's lock is an asynchronous wait, but a single step (a sort or an
    /// aggregate over a large table, before its first row) runs to its end without a
    /// pause. Off, each statement runs on sqlx's worker thread and the calling thread
    /// never blocks, at the cost of the round trips.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use orm_runtime::{Engine, text};
    /// let engine = Engine::builder("sqlite::memory:").sqlite_fast_path(false).connect().await?;
    /// let row = engine.fetch_one(text("SELECT 1 + 1 AS two")).await?;
    /// assert_eq!(row.get::<i64>("two")?, 2);
    /// # Ok::<(), orm_runtime::Error>(()) }).unwrap();
    /// ```
    pub fn sqlite_fast_path(mut self, on: bool) -> Self {
        self.config.sqlite_fast_path = on;
        self
    }

    /// Log every statement, its binds, its duration and its row count through
    /// `tracing` (target `orm::engine`, level INFO; failures at WARN).
    pub fn echo(mut self, on: bool) -> Self {
        self.echo = on;
        self
    }

    /// The pool kind (default [`PoolKind::Queue`], or [`PoolKind::Static`] for an
    /// in-memory SQLite database).
    pub fn poolclass(mut self, kind: PoolKind) -> Self {
        self.config.kind = Some(kind);
        self
    }

    /// Speaks `dialect` instead of the one the URL and server choose. Only MySQL and
    /// MariaDB can stand in for each other (e.g. `Dialect::MySql` against a MariaDB
    /// server, to emit only SQL that MySQL also runs); anything else is
    /// [`Error::InvalidUrl`] at connect.
    pub fn dialect(mut self, dialect: Dialect) -> Self {
        self.dialect = Some(dialect);
        self
    }

    /// Compiles for `version` of the server instead of the version it reports: to emit
    /// only SQL that an older server also runs (servers of several versions behind one
    /// URL), or to take the paths taken on an older one. [`Engine::server`] reports
    /// this version and its capabilities; [`Engine::server_version`] keeps the string
    /// the server reported. A version newer than the server's lets through SQL the
    /// server refuses.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use orm_runtime::{Engine, Feature, ServerVersion};
    /// let engine = Engine::builder("sqlite::memory:")
    ///     .server_version(ServerVersion::new(3, 34, 0))
    ///     .connect()
    ///     .await?;
    /// assert!(!engine.server().has(Feature::InsertReturning));
    /// # Ok::<(), orm_runtime::Error>(()) }).unwrap();
    /// ```
    pub fn server_version(mut self, version: ServerVersion) -> Self {
        self.server_version = Some(version);
        self
    }

    /// Runs `hook` on every new connection the pool opens, before its first checkout
    /// (SQLAlchemy's `connect` event): the statements every connection needs that no
    /// typed option covers. An error from the hook closes the connection and fails the
    /// checkout that opened it with [`Error::AfterConnect`], wrapping the hook's error.
    /// The connection [`connect`](Self::connect) opens to read the server version is
    /// not pooled and does not run it. The hook and the connect together are bounded
    /// by `pool_timeout`.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use orm_runtime::{Engine, text};
    /// let engine = Engine::builder("sqlite::memory:")
    ///     .after_connect(|conn| {
    ///         Box::pin(async move {
    ///             conn.execute(text("PRAGMA cache_size = -4000")).await?;
    ///             Ok(())
    ///         })
    ///     })
    ///     .connect()
    ///     .await?;
    /// let size: i64 = engine.fetch_one(text("PRAGMA cache_size")).await?.get(0)?;
    /// assert_eq!(size, -4000);
    /// # Ok::<(), orm_runtime::Error>(()) }).unwrap();
    /// ```
    pub fn after_connect<F>(mut self, hook: F) -> Self
    where
        F: for<'c, 'r> Fn(
                &'c mut NewConnection<'r>,
            ) -> futures_core::future::BoxFuture<'c, Result<()>>
            + Send
            + Sync
            + 'static,
    {
        self.after_connect = Some(Arc::new(hook));
        self
    }

    /// SQLite: the `journal_mode` PRAGMA, set on every connection as it opens (default:
    /// the database's own, `DELETE` for a new file). Refused at connect for another
    /// database, as are the other SQLite options.
    pub fn journal_mode(mut self, mode: JournalMode) -> Self {
        self.settings.journal_mode = Some(mode);
        self
    }

    /// SQLite: the `synchronous` PRAGMA, set on every connection as it opens (default
    /// `FULL`); `NORMAL` is the usual choice with [`JournalMode::Wal`].
    pub fn synchronous(mut self, mode: Synchronous) -> Self {
        self.settings.synchronous = Some(mode);
        self
    }

    /// SQLite: the `foreign_keys` PRAGMA, whether FOREIGN KEY constraints are enforced
    /// (default on, as sqlx sets it; SQLite's own default is off).
    pub fn foreign_keys(mut self, on: bool) -> Self {
        self.settings.foreign_keys = Some(on);
        self
    }

    /// SQLite: how long a statement waits for another connection's lock before failing
    /// with `database is locked` (the `busy_timeout` PRAGMA; default 5 s).
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.settings.busy_timeout = Some(timeout);
        self
    }

    /// PostgreSQL: the `application_name` every connection reports (seen in
    /// `pg_stat_activity` and the server log); sent at startup, no extra round trip.
    /// Overrides a `?application_name=` in the URL. Refused at connect for another
    /// database.
    pub fn application_name(mut self, name: &str) -> Self {
        self.settings.application_name = Some(name.to_owned());
        self
    }

    /// PostgreSQL: the server cancels any statement that runs longer than this
    /// (`statement_timeout`, in whole milliseconds; zero turns it off), sent at startup.
    /// A cancelled statement fails with SQLSTATE 57014. Refused at connect for another
    /// database.
    pub fn statement_timeout(mut self, timeout: Duration) -> Self {
        self.settings.statement_timeout = Some(timeout);
        self
    }

    /// Parses the URL, opens one connection to check that the database is reachable
    /// and to read its version, and builds the pool.
    ///
    /// Errors: [`Error::InvalidUrl`] for a URL that cannot be parsed,
    /// [`Error::Connect`] when the server refuses or rejects the connection.
    pub async fn connect(self) -> Result<Engine> {
        let mut url = url::parse(&self.url)?;
        url.target = match url.target {
            #[cfg(feature = "postgres")]
            ConnectTarget::Postgres(o) => {
                self.settings.apply_postgres(o).map(ConnectTarget::Postgres)
            }
            #[cfg(feature = "mysql")]
            ConnectTarget::MySql(o) => self.settings.apply_mysql(o).map(ConnectTarget::MySql),
            #[cfg(feature = "sqlite")]
            ConnectTarget::Sqlite(o) => self.settings.apply_sqlite(o).map(ConnectTarget::Sqlite),
        }
        .map_err(|reason| Error::InvalidUrl {
            url: url.redacted.clone(),
            reason,
        })?;
        let kind = self.config.kind.unwrap_or(if url.in_memory {
            PoolKind::Static
        } else {
            PoolKind::Queue
        });
        let mut config = self.config;
        config.kind = Some(kind);
        let server_version = probe(&url, config.pool_timeout).await?;
        let detected = match url.dialect() {
            Dialect::MySql if server_version.contains("MariaDB") => Dialect::MariaDb,
            d => d,
        };
        let dialect = match self.dialect {
            None => detected,
            Some(d) if d == detected || (d.is_mysql() && detected.is_mysql()) => d,
            Some(d) => {
                return Err(Error::InvalidUrl {
                    url: url.redacted,
                    reason: format!("the {d} dialect cannot speak to a {detected} database"),
                });
            }
        };
        let detected_server = match self.server_version {
            Some(v) => ServerInfo::new(detected, v),
            None => ServerInfo::from_version_string(detected, &server_version),
        };
        let server = if dialect == detected {
            detected_server
        } else {
            detected_server.with_dialect(dialect)
        };
        let events = events::Events::new(self.echo);
        let setup = Setup {
            hook: self.after_connect,
            server,
            events: Arc::clone(&events),
        };
        let pool = match url.target {
            #[cfg(feature = "postgres")]
            ConnectTarget::Postgres(opts) => {
                DbPool::Postgres(Pool::new(&config, &url.redacted, opts, setup))
            }
            #[cfg(feature = "mysql")]
            ConnectTarget::MySql(opts) => {
                DbPool::MySql(Pool::new(&config, &url.redacted, opts, setup))
            }
            #[cfg(feature = "sqlite")]
            ConnectTarget::Sqlite(opts) => {
                DbPool::Sqlite(Pool::new(&config, &url.redacted, opts, setup))
            }
        };
        Ok(Engine {
            shared: Arc::new(EngineShared {
                pool,
                dialect,
                server,
                echo: self.echo,
                events,
                url: url.redacted,
                kind,
                server_version,
                autoinc_step: std::sync::OnceLock::new(),
            }),
        })
    }
}

/// Opens one connection outside the pool, fails fast with [`Error::Connect`] (sqlx's
/// pool would retry a refused connection until `pool_timeout`), and reads the server
/// version.
async fn probe(url: &DatabaseUrl, timeout: Duration) -> Result<String> {
    let connect_error = |source: sqlx::Error| Error::Connect {
        url: url.redacted.clone(),
        source,
    };
    macro_rules! probe_with {
        ($opts:expr, $sql:expr) => {{
            let mut conn = tokio::time::timeout(timeout, $opts.connect())
                .await
                .map_err(|_| pool::timed_out(&url.redacted, timeout))?
                .map_err(connect_error)?;
            let row = sqlx::query($sql)
                .fetch_one(&mut conn)
                .await
                .map_err(Error::from)?;
            let version: String = row.try_get(0).map_err(Error::from)?;
            // Best effort: the probe's work is done whether or not it closes cleanly.
            let _ = sqlx::Connection::close(conn).await;
            version
        }};
    }
    Ok(match &url.target {
        #[cfg(feature = "postgres")]
        ConnectTarget::Postgres(o) => probe_with!(o, "SHOW server_version"),
        #[cfg(feature = "mysql")]
        ConnectTarget::MySql(o) => probe_with!(o, "SELECT VERSION()"),
        #[cfg(feature = "sqlite")]
        ConnectTarget::Sqlite(o) => probe_with!(o, "SELECT sqlite_version()"),
    })
}

/// A snapshot of an engine's pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    /// Open connections, checked out or idle.
    pub size: u32,
    /// Idle connections waiting in the pool.
    pub idle: usize,
}

impl Engine {
    /// Starts configuring an engine for `url`:
    /// `postgres://user:pass@host:5432/db`, `mysql://root@host/db` (or `mariadb://`),
    /// `sqlite://path/to/file.db`, `sqlite::memory:`.
    pub fn builder(url: &str) -> EngineBuilder {
        EngineBuilder {
            url: url.to_owned(),
            config: PoolConfig::default(),
            echo: false,
            dialect: None,
            server_version: None,
            settings: ConnectSettings::default(),
            after_connect: None,
        }
    }

    /// The engine's dialect, chosen from the URL (and, for MySQL URLs, the server).
    pub fn dialect(&self) -> Dialect {
        self.shared.dialect
    }

    /// The server behind the engine, read when it connected: its dialect, version and
    /// [`Capabilities`](crate::Capabilities). Statements run on the engine are compiled
    /// for it, so a construct the server lacks (`INSERT ... RETURNING` before MariaDB
    /// 10.5) is refused, or emulated, rather than sent.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use orm_runtime::{create_engine, Dialect, Feature};
    /// let engine = create_engine("sqlite::memory:").await?;
    /// let server = engine.server();
    /// assert_eq!(server.dialect(), Dialect::Sqlite);
    /// assert!(server.version().is_some());
    /// // The bundled SQLite is recent enough for RETURNING (3.35) and upserts (3.24).
    /// assert!(server.has(Feature::InsertReturning) && server.has(Feature::Upsert));
    /// # Ok::<(), orm_runtime::Error>(()) }).unwrap();
    /// ```
    pub fn server(&self) -> ServerInfo {
        self.shared.server
    }

    /// Calls `f` after every statement any connection of this engine runs (SQL, binds,
    /// time, rows or error), as SQLAlchemy's `after_cursor_execute`: to count and read
    /// the statements a piece of code emits, or to log them elsewhere. Listeners run on
    /// the task that ran the statement; keep them short.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::sync::{Arc, Mutex};
    /// let engine = orm_runtime::create_engine("sqlite::memory:").await?;
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let log = Arc::clone(&seen);
    /// let id = engine.listen(move |e| log.lock().unwrap().push(e.sql.to_owned()));
    /// engine.execute(orm_runtime::text("SELECT 1")).await?;
    /// engine.unlisten(id);
    /// engine.execute(orm_runtime::text("SELECT 2")).await?;
    /// assert_eq!(*seen.lock().unwrap(), ["SELECT 1"]);
    /// # Ok::<(), orm_runtime::Error>(()) }).unwrap();
    /// ```
    pub fn listen(
        &self,
        f: impl Fn(&events::StatementEvent<'_>) + Send + Sync + 'static,
    ) -> events::ListenerId {
        self.shared.events.listen(Arc::new(f))
    }

    /// Removes a listener added by [`listen`](Engine::listen).
    pub fn unlisten(&self, id: events::ListenerId) {
        self.shared.events.unlisten(id);
    }

    /// The URL, with its password replaced by `***`.
    pub fn url(&self) -> &str {
        &self.shared.url
    }

    /// The server's version string, read at connect time (`15.4`, `10.11.6-MariaDB`,
    /// `3.45.0`).
    pub fn server_version(&self) -> &str {
        &self.shared.server_version
    }

    /// True when the engine talks to a MariaDB server.
    pub fn is_mariadb(&self) -> bool {
        self.shared.dialect.is_mysql() && self.shared.server_version.contains("MariaDB")
    }

    /// The pool kind in use.
    pub fn pool_kind(&self) -> PoolKind {
        self.shared.kind
    }

    /// How many connections are open (idle, checked out, being opened or reset) and how
    /// many of them are idle. Exact at every moment: a connection is counted from the
    /// moment it starts to open until it is closed.
    pub fn pool_status(&self) -> PoolStatus {
        let (size, idle) = with_pool!(&self.shared.pool, p => p.status());
        PoolStatus { size, idle }
    }

    /// Checks a connection out of the pool: waits up to `pool_timeout` for room
    /// ([`Error::PoolTimeout`]), then takes an idle connection or opens a new one; a
    /// new connection that cannot be opened is [`Error::Connect`] at once.
    pub async fn connect(&self) -> Result<Connection> {
        let inner = match &self.shared.pool {
            #[cfg(feature = "postgres")]
            DbPool::Postgres(p) => ConnInner::Postgres(p.checkout().await?),
            #[cfg(feature = "mysql")]
            DbPool::MySql(p) => ConnInner::MySql(p.checkout().await?),
            #[cfg(feature = "sqlite")]
            DbPool::Sqlite(p) => ConnInner::Sqlite(p.checkout().await?),
        };
        Ok(Connection::new(inner, Arc::clone(&self.shared)))
    }

    /// Checks out a connection and begins a transaction on it. The guard owns the
    /// connection: dropped without [`Transaction::commit`], it rolls back and returns the
    /// connection to the pool.
    pub async fn begin(&self) -> Result<Transaction> {
        self.connect().await?.begin().await
    }

    /// As [`begin`](Self::begin), with SQLite's `BEGIN IMMEDIATE` (see
    /// [`Connection::begin_immediate`]).
    pub(crate) async fn begin_immediate(&self) -> Result<Transaction> {
        self.connect().await?.begin_immediate().await
    }

    /// Runs `f` in a transaction: COMMIT when it returns `Ok`, ROLLBACK when it returns
    /// `Err` or panics (the panic then continues).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use orm_runtime::{create_engine, text, Error};
    /// let engine = create_engine("sqlite::memory:").await?;
    /// engine.execute(text("CREATE TABLE t (x INTEGER)")).await?;
    /// let failed: Result<(), Error> = engine
    ///     .transaction(async |tx| {
    ///         tx.execute(text("INSERT INTO t VALUES (1)")).await?;
    ///         Err(Error::RowNotFound)
    ///     })
    ///     .await;
    /// assert!(failed.is_err());
    /// let n: i64 = engine.fetch_one(text("SELECT COUNT(*) FROM t")).await?.get(0)?;
    /// assert_eq!(n, 0);
    /// # Ok::<(), Error>(()) }).unwrap();
    /// ```
    pub async fn transaction<T, E, F>(&self, f: F) -> std::result::Result<T, E>
    where
        F: AsyncFnOnce(&mut Transaction) -> std::result::Result<T, E>,
        E: From<Error>,
    {
        let mut tx = self.begin().await?;
        let outcome = std::panic::AssertUnwindSafe(f(&mut tx))
            .catch_unwind()
            .await;
        match outcome {
            Ok(Ok(value)) => {
                tx.commit().await?;
                Ok(value)
            }
            Ok(Err(e)) => {
                if let Err(rb) = tx.rollback().await {
                    tracing::warn!(target: "orm::engine", error = %rb, "ROLLBACK failed");
                }
                Err(e)
            }
            Err(panic) => {
                // The connection is still usable: roll back explicitly rather than leave
                // it to the pool's release-time cleanup, then let the panic go on.
                let _ = tx.rollback().await;
                std::panic::resume_unwind(panic)
            }
        }
    }

    /// Runs a statement on a pooled connection (autocommit); see [`Connection::execute`].
    ///
    /// A construct the dialect lacks but can emulate (MySQL's `INSERT ... RETURNING`)
    /// runs as several statements on that one connection.
    pub async fn execute(&self, stmt: impl Executable) -> Result<QueryResult> {
        self.connect().await?.execute(stmt).await
    }

    /// Runs a script of `;`-separated statements without binds on a pooled connection;
    /// see [`Connection::execute_script`].
    pub async fn execute_script(&self, sql: &str) -> Result<u64> {
        self.connect().await?.execute_script(sql).await
    }

    /// Runs a query on a pooled connection and collects every row.
    pub async fn fetch_all(&self, stmt: impl Executable) -> Result<Vec<Row>> {
        self.connect().await?.fetch_all(stmt).await
    }

    /// Runs a query on a pooled connection and decodes every row as `T` as it is read;
    /// see [`Connection::fetch_all_as`].
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let engine = orm_runtime::create_engine("sqlite::memory:").await?;
    /// let pairs: Vec<(i64, String)> = engine
    ///     .fetch_all_as(orm_runtime::text("SELECT 1, 'ed' UNION ALL SELECT 2, 'wendy'"))
    ///     .await?;
    /// assert_eq!(pairs, [(1, "ed".to_owned()), (2, "wendy".to_owned())]);
    /// # Ok::<(), orm_runtime::Error>(()) }).unwrap();
    /// ```
    pub async fn fetch_all_as<T: FromRow + Send>(&self, stmt: impl Executable) -> Result<Vec<T>> {
        self.connect().await?.fetch_all_as(stmt).await
    }

    /// The row of model `M` whose primary key is `key`, on a pooled connection; see
    /// [`Connection::get`].
    pub async fn get<M: crate::model::Model>(
        &self,
        key: impl Into<M::PrimaryKey>,
    ) -> Result<Option<M>> {
        self.connect().await?.get(key).await
    }

    /// Runs a query on a pooled connection and decodes its first row as `T`, or returns
    /// [`Error::RowNotFound`].
    pub async fn fetch_one_as<T: FromRow>(&self, stmt: impl Executable) -> Result<T> {
        self.connect().await?.fetch_one_as(stmt).await
    }

    /// Runs a query on a pooled connection and decodes its first row as `T`, if any.
    pub async fn fetch_optional_as<T: FromRow>(&self, stmt: impl Executable) -> Result<Option<T>> {
        self.connect().await?.fetch_optional_as(stmt).await
    }

    /// Runs a query on a pooled connection and returns its first row, or
    /// [`Error::RowNotFound`].
    pub async fn fetch_one(&self, stmt: impl Executable) -> Result<Row> {
        self.connect().await?.fetch_one(stmt).await
    }

    /// Runs a query on a pooled connection and returns its first row, if any.
    pub async fn fetch_optional(&self, stmt: impl Executable) -> Result<Option<Row>> {
        self.connect().await?.fetch_optional(stmt).await
    }

    /// Streams a query's rows; the stream holds a pooled connection until it ends or is
    /// dropped.
    pub fn fetch(&self, stmt: impl Executable) -> BoxStream<'static, Result<Row>> {
        let c = match stmt.into_plan_for(self.server()) {
            Ok(crate::sql::ExecPlan::Single(c)) => c,
            Ok(_) => {
                let dialect = self.dialect().name();
                return Box::pin(futures_util::stream::once(async move {
                    Err(Error::Unsupported {
                        dialect,
                        feature: "streaming an emulated statement (use fetch_all)".into(),
                    })
                }));
            }
            Err(e) => return Box::pin(futures_util::stream::once(async move { Err(e) })),
        };
        let engine = self.clone();
        Box::pin(async_stream::try_stream! {
            let mut conn = engine.connect().await?;
            let mut rows = conn.fetch(c);
            while let Some(row) = futures_util::TryStreamExt::try_next(&mut rows).await? {
                yield row;
            }
        })
    }

    /// Closes every idle connection and the pool: later checkouts fail, and connections
    /// still checked out are closed when they are returned.
    pub async fn close(&self) {
        with_pool!(&self.shared.pool, p => p.close().await)
    }

    /// Closes every idle connection and starts afresh (SQLAlchemy's `Engine.dispose()`):
    /// connections checked out now are closed when returned instead of kept, and later
    /// checkouts open new connections. Use it after a fork, or after the server
    /// restarted, to drop every connection at once.
    pub async fn dispose(&self) {
        with_pool!(&self.shared.pool, p => p.dispose().await)
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("url", &self.shared.url)
            .field("server", &self.shared.server)
            .field("pool", &self.shared.kind)
            .finish_non_exhaustive()
    }
}

/// Futures users spawn must be `Send + 'static`: checked at compile time.
#[cfg(test)]
mod send_checks {
    use super::Engine;

    fn spawnable<T: std::future::Future + Send + 'static>(_: T) {}

    #[allow(dead_code)]
    fn engine_and_transaction_futures_can_be_spawned(engine: Engine) {
        spawnable(async move {
            let mut tx = engine.begin().await?;
            tx.execute_script("SELECT 1").await?;
            {
                let mut sp = tx.savepoint().await?;
                sp.execute_script("SELECT 1").await?;
                sp.commit().await?;
            }
            tx.fetch_all(crate::text("SELECT 1")).await?;
            tx.commit().await?;
            let mut conn = engine.connect().await?;
            conn.execute_script("SELECT 1").await?;
            engine.execute_script("SELECT 1").await?;
            Ok::<(), crate::Error>(())
        });
    }
}
