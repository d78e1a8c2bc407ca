//! A connection checked out of an engine's pool.

use std::sync::Arc;

use sqlx::pool::PoolConnection;

use super::exec::RawConn;
use super::transaction::{Transaction, TxInner};
use super::{EngineShared, executor_methods};
use crate::dialect::Dialect;
use crate::error::{Error, Result};

/// A connection checked out of an [`Engine`](super::Engine)'s pool, returned to the
/// pool when dropped (or closed, as the pool kind decides).
///
/// Outside a transaction every statement commits on its own (the driver's autocommit);
/// [`Connection::begin`] opens a transaction on this connection.
pub struct Connection {
    inner: ConnInner,
    shared: Arc<EngineShared>,
}

pub(crate) enum ConnInner {
    Postgres(PoolConnection<sqlx::Postgres>),
    MySql(PoolConnection<sqlx::MySql>),
    Sqlite(PoolConnection<sqlx::Sqlite>),
}

impl Connection {
    pub(crate) fn new(inner: ConnInner, shared: Arc<EngineShared>) -> Self {
        Connection { inner, shared }
    }

    /// The connection's dialect.
    pub fn dialect(&self) -> Dialect {
        self.shared.dialect
    }

    fn echo(&self) -> Arc<super::events::Events> {
        Arc::clone(&self.shared.events)
    }

    fn raw(&mut self) -> RawConn<'_> {
        match &mut self.inner {
            ConnInner::Postgres(c) => RawConn::Postgres(c),
            ConnInner::MySql(c) => RawConn::MySql(c),
            ConnInner::Sqlite(c) => RawConn::Sqlite(c),
        }
    }

    executor_methods!();

    /// Begins a transaction on this connection. The transaction takes the connection
    /// over, and returns it to the pool when it ends; dropped without
    /// [`Transaction::commit`], it rolls back.
    pub async fn begin(self) -> Result<Transaction> {
        // `sqlx::Transaction::begin` is the driver's own constructor for a transaction
        // that owns a pooled connection (what `Pool::begin` uses).
        let inner = match self.inner {
            ConnInner::Postgres(c) => TxInner::Postgres(sqlx::Transaction::begin(c, None).await?),
            ConnInner::MySql(c) => TxInner::MySql(sqlx::Transaction::begin(c, None).await?),
            ConnInner::Sqlite(c) => TxInner::Sqlite(sqlx::Transaction::begin(c, None).await?),
        };
        if self.shared.echo {
            tracing::info!(target: "orm::engine", "BEGIN");
        }
        Ok(Transaction::new(inner, self.shared))
    }

    /// Checks whether the connection is still alive (a round trip to the server).
    pub async fn ping(&mut self) -> Result<()> {
        let r = match &mut self.inner {
            ConnInner::Postgres(c) => sqlx::Connection::ping(&mut **c).await,
            ConnInner::MySql(c) => sqlx::Connection::ping(&mut **c).await,
            ConnInner::Sqlite(c) => sqlx::Connection::ping(&mut **c).await,
        };
        r.map_err(Error::from)
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
