//! Transactions and savepoints.

use std::sync::Arc;

use super::exec::RawConn;
use super::{EngineShared, executor_methods};
use crate::dialect::Dialect;
use crate::error::{Error, Result};

/// An open transaction (or savepoint), a guard in the RAII sense: dropped without
/// [`commit`](Transaction::commit), it rolls back.
///
/// A transaction from [`Engine::begin`](super::Engine::begin) owns its connection
/// (`Transaction<'static>`); one from [`Connection::begin`](super::Connection::begin)
/// borrows it; a savepoint from [`Transaction::savepoint`] borrows its parent.
pub struct Transaction<'c> {
    inner: TxInner<'c>,
    shared: Arc<EngineShared>,
}

pub(crate) enum TxInner<'c> {
    Postgres(sqlx::Transaction<'c, sqlx::Postgres>),
    MySql(sqlx::Transaction<'c, sqlx::MySql>),
    Sqlite(sqlx::Transaction<'c, sqlx::Sqlite>),
}

impl<'c> Transaction<'c> {
    pub(crate) fn new(inner: TxInner<'c>, shared: Arc<EngineShared>) -> Self {
        Transaction { inner, shared }
    }

    /// The transaction's dialect.
    pub fn dialect(&self) -> Dialect {
        self.shared.dialect
    }

    fn echo(&self) -> bool {
        self.shared.echo
    }

    fn raw(&mut self) -> RawConn<'_> {
        match &mut self.inner {
            TxInner::Postgres(t) => RawConn::Postgres(t),
            TxInner::MySql(t) => RawConn::MySql(t),
            TxInner::Sqlite(t) => RawConn::Sqlite(t),
        }
    }

    executor_methods!();

    /// Opens a nested transaction: `SAVEPOINT` now, `RELEASE SAVEPOINT` on
    /// [`commit`](Transaction::commit), `ROLLBACK TO SAVEPOINT` on
    /// [`rollback`](Transaction::rollback) or drop. The outer transaction goes on either way.
    pub async fn savepoint(&mut self) -> Result<Transaction<'_>> {
        let shared = Arc::clone(&self.shared);
        let inner = match &mut self.inner {
            TxInner::Postgres(t) => TxInner::Postgres(sqlx::Acquire::begin(t).await?),
            TxInner::MySql(t) => TxInner::MySql(sqlx::Acquire::begin(t).await?),
            TxInner::Sqlite(t) => TxInner::Sqlite(sqlx::Acquire::begin(t).await?),
        };
        if shared.echo {
            tracing::info!(target: "orm::engine", "SAVEPOINT");
        }
        Ok(Transaction::new(inner, shared))
    }

    /// Commits the transaction (releases the savepoint).
    pub async fn commit(self) -> Result<()> {
        if self.shared.echo {
            tracing::info!(target: "orm::engine", "COMMIT");
        }
        let r = match self.inner {
            TxInner::Postgres(t) => t.commit().await,
            TxInner::MySql(t) => t.commit().await,
            TxInner::Sqlite(t) => t.commit().await,
        };
        r.map_err(Error::from)
    }

    /// Rolls the transaction back (to the savepoint).
    pub async fn rollback(self) -> Result<()> {
        if self.shared.echo {
            tracing::info!(target: "orm::engine", "ROLLBACK");
        }
        let r = match self.inner {
            TxInner::Postgres(t) => t.rollback().await,
            TxInner::MySql(t) => t.rollback().await,
            TxInner::Sqlite(t) => t.rollback().await,
        };
        r.map_err(Error::from)
    }
}

impl std::fmt::Debug for Transaction<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction").field("dialect", &self.shared.dialect).finish_non_exhaustive()
    }
}
