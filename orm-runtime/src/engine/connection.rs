//! A connection checked out of an engine's pool.

use std::sync::Arc;

use super::exec::RawConn;
use super::pool::{Flight, Pooled};
use super::transaction::Transaction;
use super::{EngineShared, executor_methods};
use crate::dialect::Dialect;
use crate::error::Result;

/// A connection checked out of an [`Engine`](super::Engine)'s pool, returned to the
/// pool when dropped (or closed, as the pool kind decides).
///
/// Outside a transaction every statement commits on its own (the driver's autocommit);
/// [`Connection::begin`] opens a transaction on this connection.
///
/// Dropping a future that runs a statement (a `tokio::time::timeout`, a `select!`) is
/// safe: the connection, whose protocol state is then unknown, is closed instead of
/// returned, and the pool opens a new one when it needs it. So is a connection whose
/// statement failed with an I/O error.
pub struct Connection {
    inner: ConnInner,
    shared: Arc<EngineShared>,
}

/// A pooled connection of any dialect.
pub(crate) enum ConnInner {
    #[cfg(feature = "postgres")]
    Postgres(Pooled<sqlx::Postgres>),
    #[cfg(feature = "mysql")]
    MySql(Pooled<sqlx::MySql>),
    #[cfg(feature = "sqlite")]
    Sqlite(Pooled<sqlx::Sqlite>),
}

/// Runs `$body` with `$p` bound to the [`Pooled`] connection, whatever its driver.
macro_rules! with_pooled {
    ($inner:expr, $p:ident => $body:expr) => {
        match $inner {
            #[cfg(feature = "postgres")]
            ConnInner::Postgres($p) => $body,
            #[cfg(feature = "mysql")]
            ConnInner::MySql($p) => $body,
            #[cfg(feature = "sqlite")]
            ConnInner::Sqlite($p) => $body,
        }
    };
}

impl ConnInner {
    /// The driver connection and a [`Flight`] to run one call on it under. A
    /// connection closed by an earlier cancelled or failed call is replaced by a new one
    /// when `reopen` (a plain connection), else that is [`Error::ConnectionInvalidated`]
    /// (inside a transaction, which died with it).
    ///
    /// [`Error::ConnectionInvalidated`]: crate::Error::ConnectionInvalidated
    pub(crate) async fn raw(&mut self, reopen: bool) -> Result<(RawConn<'_>, Flight<'_>)> {
        Ok(match self {
            #[cfg(feature = "postgres")]
            ConnInner::Postgres(p) => {
                let (c, f) = p.ready(reopen).await?;
                (RawConn::Postgres(c), f)
            }
            #[cfg(feature = "mysql")]
            ConnInner::MySql(p) => {
                p.refuse_if_rolled_back().await?;
                let (c, f) = p.ready(reopen).await?;
                (RawConn::MySql(c), f)
            }
            #[cfg(feature = "sqlite")]
            ConnInner::Sqlite(p) => {
                let (c, f) = p.ready(reopen).await?;
                (RawConn::Sqlite(c), f)
            }
        })
    }

    /// Runs a call at once, with no `.await`, when it needs none: `run` on SQLite's
    /// fast path (see `sqlite_fast::execute_now`), its outcome recorded as a call's.
    /// `None`: nothing ran; the caller runs it as usual.
    #[cfg(feature = "sqlite")]
    pub(crate) fn sqlite_now<T>(
        &mut self,
        run: impl FnOnce(&mut super::driver::sqlite_fast::conn::SqliteConn) -> Option<Result<T>>,
    ) -> Option<Result<T>> {
        #[allow(irrefutable_let_patterns)] // SQLite alone
        let ConnInner::Sqlite(p) = self else {
            return None;
        };
        let (conn, flight) = p.ready_at_once()?;
        let done = if conn.is_fast() { run(conn) } else { None };
        match done {
            Some(done) => Some(flight.land(done)),
            None => {
                // Nothing ran: the connection is as it was.
                let _ = flight.land(Ok(()));
                None
            }
        }
    }

    /// `BEGIN` (on a new connection if an earlier call left this one unusable), or
    /// `SAVEPOINT` inside a transaction (where `reopen` is false).
    pub(crate) async fn begin(&mut self, reopen: bool, immediate: bool) -> Result<()> {
        #[cfg(feature = "mysql")]
        if let Some(p) = self.mysql() {
            p.refuse_if_rolled_back().await?;
        }
        with_pooled!(self, p => p.begin(reopen, immediate).await)
    }

    /// SQLite: true while the transaction has taken no lock yet (nothing has read or
    /// written since `BEGIN`). False on the other databases.
    pub(crate) async fn sqlite_unlocked(&mut self) -> Result<bool> {
        match self {
            #[cfg(feature = "sqlite")]
            ConnInner::Sqlite(p) => {
                let (conn, flight) = p.ready(false).await?;
                flight.land(conn.unlocked_transaction().await)
            }
            #[allow(unreachable_patterns)]
            _ => Ok(false),
        }
    }

    /// `COMMIT`, or `RELEASE SAVEPOINT` inside a nested transaction.
    pub(crate) async fn commit(&mut self) -> Result<()> {
        #[cfg(feature = "mysql")]
        if let Some(p) = self.mysql() {
            p.settle().await?;
        }
        with_pooled!(self, p => p.commit().await)
    }

    /// `ROLLBACK`, or `ROLLBACK TO SAVEPOINT` inside a nested transaction.
    pub(crate) async fn rollback(&mut self) -> Result<()> {
        #[cfg(feature = "mysql")]
        if let Some(p) = self.mysql() {
            p.settle().await?;
        }
        with_pooled!(self, p => p.rollback().await)
    }

    /// The MySQL connection, if this is one.
    #[cfg(feature = "mysql")]
    fn mysql(&mut self) -> Option<&mut Pooled<sqlx::MySql>> {
        match self {
            ConnInner::MySql(p) => Some(p),
            #[allow(unreachable_patterns)] // in a build with the MySQL driver alone
            _ => None,
        }
    }

    /// Queues a rollback of the innermost level, sent with the next call.
    pub(crate) fn start_rollback(&mut self) {
        with_pooled!(self, p => p.start_rollback())
    }

    async fn ping(&mut self) -> Result<()> {
        with_pooled!(self, p => p.ping().await)
    }
}

impl Connection {
    pub(crate) fn new(inner: ConnInner, shared: Arc<EngineShared>) -> Self {
        Connection { inner, shared }
    }

    /// The connection's dialect.
    pub fn dialect(&self) -> Dialect {
        self.shared.dialect
    }

    /// The server's dialect, version and capabilities; see [`Engine::server`](super::Engine::server).
    pub fn server(&self) -> crate::dialect::ServerInfo {
        self.shared.server
    }

    fn echo(&self) -> Arc<super::events::Events> {
        Arc::clone(&self.shared.events)
    }

    async fn raw(&mut self) -> Result<(RawConn<'_>, Flight<'_>)> {
        self.inner.raw(true).await
    }

    fn conn_inner(&mut self) -> &mut ConnInner {
        &mut self.inner
    }

    #[allow(dead_code)] // without SQLite
    fn conn_and_events(&mut self) -> (&mut ConnInner, &super::events::Events) {
        (&mut self.inner, &self.shared.events)
    }

    fn reopens(&self) -> bool {
        true
    }

    executor_methods!();

    /// Begins a transaction on this connection. The transaction takes the connection
    /// over, and returns it to the pool when it ends; dropped without
    /// [`Transaction::commit`], it rolls back.
    pub async fn begin(self) -> Result<Transaction> {
        Transaction::begin(self.inner, self.shared, false).await
    }

    /// SQLite: begins a transaction that holds the write lock from the start (`BEGIN
    /// IMMEDIATE`), for work that reads before it writes (a transaction that has read
    /// cannot write once another connection has). Elsewhere, [`begin`](Self::begin).
    pub(crate) async fn begin_immediate(self) -> Result<Transaction> {
        Transaction::begin(self.inner, self.shared, true).await
    }

    /// Checks whether the connection is still alive (a round trip to the server).
    pub async fn ping(&mut self) -> Result<()> {
        self.inner.ping().await
    }

    /// Returns the connection to the pool now (dropping it does the same).
    pub fn close(self) {}
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("dialect", &self.shared.dialect)
            .finish_non_exhaustive()
    }
}
