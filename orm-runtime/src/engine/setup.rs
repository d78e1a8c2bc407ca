//! What happens to a new connection before the pool hands it out: typed connect
//! options (SQLite PRAGMAs, PostgreSQL startup settings), applied by the driver as it
//! opens the connection, then the engine's after-connect hook.

use std::sync::Arc;
use std::time::Duration;

use futures_core::future::BoxFuture;
#[cfg(feature = "mysql")]
use sqlx::mysql::MySqlConnectOptions;
#[cfg(feature = "postgres")]
use sqlx::postgres::PgConnectOptions;
#[cfg(feature = "sqlite")]
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};

use super::QueryResult;
use super::events::Events;
use super::exec::RawConn;
use crate::dialect::{Dialect, ServerInfo};
use crate::error::{Error, Result};
use crate::row::Row;
use crate::sql::{ExecPlan, Executable};

/// SQLite's [`journal_mode`](https://www.sqlite.org/pragma.html#pragma_journal_mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JournalMode {
    /// `DELETE`: the rollback journal is deleted at the end of each transaction
    /// (SQLite's default).
    Delete,
    /// `TRUNCATE`: the rollback journal is truncated instead of deleted.
    Truncate,
    /// `PERSIST`: the rollback journal's header is zeroed instead.
    Persist,
    /// `MEMORY`: the rollback journal is kept in memory.
    Memory,
    /// `WAL`: a write-ahead log; readers do not block the writer. Persistent: stays
    /// set in the database file.
    Wal,
    /// `OFF`: no journal, no atomic rollback.
    Off,
}

#[cfg(feature = "sqlite")]
impl JournalMode {
    fn sqlx(self) -> SqliteJournalMode {
        match self {
            JournalMode::Delete => SqliteJournalMode::Delete,
            JournalMode::Truncate => SqliteJournalMode::Truncate,
            JournalMode::Persist => SqliteJournalMode::Persist,
            JournalMode::Memory => SqliteJournalMode::Memory,
            JournalMode::Wal => SqliteJournalMode::Wal,
            JournalMode::Off => SqliteJournalMode::Off,
        }
    }
}

/// SQLite's [`synchronous`](https://www.sqlite.org/pragma.html#pragma_synchronous)
/// setting: how often SQLite waits for data to reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synchronous {
    /// `OFF` (0): never; a power loss may corrupt the database.
    Off,
    /// `NORMAL` (1): at the most critical moments; safe with WAL.
    Normal,
    /// `FULL` (2): at every commit (SQLite's default).
    Full,
    /// `EXTRA` (3): as `FULL`, and also after a rollback journal is unlinked.
    Extra,
}

#[cfg(feature = "sqlite")]
impl Synchronous {
    fn sqlx(self) -> SqliteSynchronous {
        match self {
            Synchronous::Off => SqliteSynchronous::Off,
            Synchronous::Normal => SqliteSynchronous::Normal,
            Synchronous::Full => SqliteSynchronous::Full,
            Synchronous::Extra => SqliteSynchronous::Extra,
        }
    }
}

/// The typed connect options an [`EngineBuilder`](super::EngineBuilder) collects; each
/// applies to one database and is refused at connect for another.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConnectSettings {
    pub(crate) journal_mode: Option<JournalMode>,
    pub(crate) synchronous: Option<Synchronous>,
    pub(crate) foreign_keys: Option<bool>,
    pub(crate) busy_timeout: Option<Duration>,
    pub(crate) application_name: Option<String>,
    pub(crate) statement_timeout: Option<Duration>,
}

impl ConnectSettings {
    /// The names of the SQLite options set.
    #[cfg(any(feature = "postgres", feature = "mysql"))]
    fn sqlite_names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self.journal_mode.is_some() {
            names.push("journal_mode");
        }
        if self.synchronous.is_some() {
            names.push("synchronous");
        }
        if self.foreign_keys.is_some() {
            names.push("foreign_keys");
        }
        if self.busy_timeout.is_some() {
            names.push("busy_timeout");
        }
        names
    }

    /// The names of the PostgreSQL options set.
    #[cfg(any(feature = "mysql", feature = "sqlite"))]
    fn postgres_names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self.application_name.is_some() {
            names.push("application_name");
        }
        if self.statement_timeout.is_some() {
            names.push("statement_timeout");
        }
        names
    }

    /// The error for options of `owner` set on an engine for `database`.
    fn refuse(names: &[&str], owner: &str, database: &str) -> std::result::Result<(), String> {
        if names.is_empty() {
            return Ok(());
        }
        let list = names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let what = if names.len() == 1 {
            format!("is a {owner} connect option")
        } else {
            format!("are {owner} connect options")
        };
        Err(format!("{list} {what}; this is a {database} URL"))
    }

    #[cfg(feature = "postgres")]
    pub(crate) fn apply_postgres(
        &self,
        mut opts: PgConnectOptions,
    ) -> std::result::Result<PgConnectOptions, String> {
        Self::refuse(&self.sqlite_names(), "SQLite", "PostgreSQL")?;
        if let Some(name) = &self.application_name {
            opts = opts.application_name(name);
        }
        if let Some(timeout) = self.statement_timeout {
            // Whole milliseconds, PostgreSQL's unit; a nonzero timeout under 1 ms is 1 ms
            // (0 would turn the timeout off).
            let ms = timeout.as_millis().max(u128::from(!timeout.is_zero()));
            opts = opts.options([("statement_timeout", ms)]);
        }
        Ok(opts)
    }

    #[cfg(feature = "mysql")]
    pub(crate) fn apply_mysql(
        &self,
        opts: MySqlConnectOptions,
    ) -> std::result::Result<MySqlConnectOptions, String> {
        Self::refuse(&self.sqlite_names(), "SQLite", "MySQL")?;
        Self::refuse(&self.postgres_names(), "PostgreSQL", "MySQL")?;
        Ok(opts)
    }

    #[cfg(feature = "sqlite")]
    pub(crate) fn apply_sqlite(
        &self,
        mut opts: SqliteConnectOptions,
    ) -> std::result::Result<SqliteConnectOptions, String> {
        Self::refuse(&self.postgres_names(), "PostgreSQL", "SQLite")?;
        if let Some(mode) = self.journal_mode {
            opts = opts.journal_mode(mode.sqlx());
        }
        if let Some(sync) = self.synchronous {
            opts = opts.synchronous(sync.sqlx());
        }
        if let Some(on) = self.foreign_keys {
            opts = opts.foreign_keys(on);
        }
        if let Some(timeout) = self.busy_timeout {
            opts = opts.busy_timeout(timeout);
        }
        Ok(opts)
    }
}

/// The after-connect hook, as stored.
pub(crate) type AfterConnectFn =
    dyn for<'c, 'r> Fn(&'c mut NewConnection<'r>) -> BoxFuture<'c, Result<()>> + Send + Sync;

/// What a pool needs to prepare each new connection.
#[derive(Clone)]
pub(crate) struct Setup {
    pub(crate) hook: Option<Arc<AfterConnectFn>>,
    pub(crate) server: ServerInfo,
    pub(crate) events: Arc<Events>,
}

impl Setup {
    /// Runs the hook on a connection that just opened; its error becomes
    /// [`Error::AfterConnect`].
    pub(crate) async fn run(&self, raw: RawConn<'_>, url: &str) -> Result<()> {
        let Some(hook) = &self.hook else {
            return Ok(());
        };
        let mut conn = NewConnection {
            raw,
            server: self.server,
            events: &self.events,
        };
        hook(&mut conn).await.map_err(|source| Error::AfterConnect {
            url: url.to_owned(),
            source: Box::new(source),
        })
    }
}

/// A connection that has just opened, handed to the
/// [`after_connect`](super::EngineBuilder::after_connect) hook before the pool gives it
/// out: run the statements every connection needs (PRAGMAs, `SET` commands, temporary
/// tables). Its statements are reported to the engine's listeners like any other.
pub struct NewConnection<'a> {
    raw: RawConn<'a>,
    server: ServerInfo,
    events: &'a Events,
}

impl NewConnection<'_> {
    /// The engine's dialect.
    pub fn dialect(&self) -> Dialect {
        self.server.dialect()
    }

    /// The server's dialect, version and capabilities; see
    /// [`Engine::server`](super::Engine::server).
    pub fn server(&self) -> ServerInfo {
        self.server
    }

    fn single(&self, stmt: impl Executable) -> Result<crate::sql::Compiled> {
        match stmt.plan_for(self.server)? {
            ExecPlan::Single(c) => Ok(c),
            _ => Err(Error::Unsupported {
                dialect: self.server.dialect().name(),
                feature: "an emulated statement in an after-connect hook".into(),
            }),
        }
    }

    /// Runs a statement; returns its rows, if any, and the count of rows it changed.
    pub async fn execute(&mut self, stmt: impl Executable) -> Result<QueryResult> {
        let c = self.single(stmt)?;
        self.raw.reborrow().execute(&c, self.events).await
    }

    /// Runs a script of `;`-separated statements without binds.
    pub async fn execute_script(&mut self, sql: &str) -> Result<u64> {
        self.raw.reborrow().execute_script(sql, self.events).await
    }

    /// Runs a query and collects every row.
    pub async fn fetch_all(&mut self, stmt: impl Executable) -> Result<Vec<Row>> {
        let c = self.single(stmt)?;
        self.raw.reborrow().fetch_all(&c, self.events).await
    }

    /// Runs a query and returns its first row, or [`Error::RowNotFound`].
    pub async fn fetch_one(&mut self, stmt: impl Executable) -> Result<Row> {
        let c = self.single(stmt)?;
        self.raw
            .reborrow()
            .fetch_optional(&c, self.events)
            .await?
            .ok_or(Error::RowNotFound)
    }
}

impl std::fmt::Debug for NewConnection<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewConnection")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}
