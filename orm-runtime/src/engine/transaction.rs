//! Transactions and savepoints.
//!
//! [`Transaction`] has no lifetime parameter on purpose: `Engine::transaction` hands
//! the closure a `&mut Transaction`, and an async closure over a type with a lifetime
//! parameter is not provably `Send` inside `tokio::spawn` with today's compiler.

use std::sync::Arc;

use super::exec::RawConn;
use super::{EngineShared, executor_methods};
use crate::dialect::Dialect;
use crate::error::{Error, Result};

/// An open transaction, a guard in the RAII sense: dropped without
/// [`commit`](Transaction::commit), it rolls back.
///
/// Made by [`Engine::begin`](super::Engine::begin) or
/// [`Connection::begin`](super::Connection::begin); it owns its connection, which goes
/// back to the pool when the transaction ends. [`Transaction::savepoint`] nests.
pub struct Transaction(Scope<'static>);

/// A nested transaction (`SAVEPOINT`) inside a [`Transaction`] or another savepoint,
/// which it borrows: the parent cannot be used or committed while the savepoint lives.
/// Dropped without [`commit`](Savepoint::commit), it rolls back to the savepoint; the
/// parent goes on either way.
pub struct Savepoint<'t>(Scope<'t>);

/// What transactions and savepoints share: the driver transaction and the engine.
pub(crate) struct Scope<'c> {
    inner: TxInner<'c>,
    shared: Arc<EngineShared>,
}

pub(crate) enum TxInner<'c> {
    Postgres(sqlx::Transaction<'c, sqlx::Postgres>),
    MySql(sqlx::Transaction<'c, sqlx::MySql>),
    Sqlite(sqlx::Transaction<'c, sqlx::Sqlite>),
}

impl<'c> Scope<'c> {
    pub(crate) fn new(inner: TxInner<'c>, shared: Arc<EngineShared>) -> Self {
        Scope { inner, shared }
    }

    fn raw(&mut self) -> RawConn<'_> {
        match &mut self.inner {
            TxInner::Postgres(t) => RawConn::Postgres(t),
            TxInner::MySql(t) => RawConn::MySql(t),
            TxInner::Sqlite(t) => RawConn::Sqlite(t),
        }
    }

    async fn savepoint(&mut self) -> Result<Savepoint<'_>> {
        let shared = Arc::clone(&self.shared);
        let inner = match &mut self.inner {
            TxInner::Postgres(t) => TxInner::Postgres(sqlx::Acquire::begin(t).await?),
            TxInner::MySql(t) => TxInner::MySql(sqlx::Acquire::begin(t).await?),
            TxInner::Sqlite(t) => TxInner::Sqlite(sqlx::Acquire::begin(t).await?),
        };
        if shared.echo {
            tracing::info!(target: "orm::engine", "SAVEPOINT");
        }
        Ok(Savepoint(Scope::new(inner, shared)))
    }

    async fn commit(self, what: &str) -> Result<()> {
        if self.shared.echo {
            tracing::info!(target: "orm::engine", "{what}");
        }
        let r = match self.inner {
            TxInner::Postgres(t) => t.commit().await,
            TxInner::MySql(t) => t.commit().await,
            TxInner::Sqlite(t) => t.commit().await,
        };
        r.map_err(Error::from)
    }

    async fn rollback(self, what: &str) -> Result<()> {
        if self.shared.echo {
            tracing::info!(target: "orm::engine", "{what}");
        }
        let r = match self.inner {
            TxInner::Postgres(t) => t.rollback().await,
            TxInner::MySql(t) => t.rollback().await,
            TxInner::Sqlite(t) => t.rollback().await,
        };
        r.map_err(Error::from)
    }
}

/// The methods [`Transaction`] and [`Savepoint`] share, delegated to their [`Scope`].
macro_rules! scope_methods {
    () => {
        /// The dialect of the underlying connection.
        pub fn dialect(&self) -> Dialect {
            self.0.shared.dialect
        }

        fn echo(&self) -> Arc<super::events::Events> {
            Arc::clone(&self.0.shared.events)
        }

        fn raw(&mut self) -> RawConn<'_> {
            self.0.raw()
        }

        executor_methods!();

        /// Opens a nested transaction: `SAVEPOINT` now, `RELEASE SAVEPOINT` on
        /// [`Savepoint::commit`], `ROLLBACK TO SAVEPOINT` on [`Savepoint::rollback`] or
        /// drop.
        pub async fn savepoint(&mut self) -> Result<Savepoint<'_>> {
            self.0.savepoint().await
        }
    };
}

impl Transaction {
    pub(crate) fn new(inner: TxInner<'static>, shared: Arc<EngineShared>) -> Self {
        Transaction(Scope::new(inner, shared))
    }

    scope_methods!();

    /// Commits the transaction.
    pub async fn commit(self) -> Result<()> {
        self.0.commit("COMMIT").await
    }

    /// Rolls the transaction back.
    pub async fn rollback(self) -> Result<()> {
        self.0.rollback("ROLLBACK").await
    }
}

impl Savepoint<'_> {
    scope_methods!();

    /// Releases the savepoint, keeping its work in the enclosing transaction.
    pub async fn commit(self) -> Result<()> {
        self.0.commit("RELEASE SAVEPOINT").await
    }

    /// Rolls back to the savepoint; the enclosing transaction goes on.
    pub async fn rollback(self) -> Result<()> {
        self.0.rollback("ROLLBACK TO SAVEPOINT").await
    }
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("dialect", &self.dialect())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Savepoint<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Savepoint")
            .field("dialect", &self.dialect())
            .finish_non_exhaustive()
    }
}
