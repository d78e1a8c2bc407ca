//! Transactions and savepoints.
//!
//! [`Transaction`] has no lifetime parameter on purpose: `Engine::transaction` hands
//! the closure a `&mut Transaction`, and an async closure over a type with a lifetime
//! parameter is not provably `Send` inside `tokio::spawn` with today's compiler.

use std::sync::Arc;

use super::connection::ConnInner;
use super::exec::{RawConn, RowidInsert};
use super::pool::Flight;
use super::{EngineShared, executor_methods};
use crate::dialect::Dialect;
use crate::error::Result;
use crate::sql::Compiled;

/// An open transaction, a guard in the RAII sense: dropped without
/// [`commit`](Transaction::commit), it rolls back.
///
/// Made by [`Engine::begin`](super::Engine::begin) or
/// [`Connection::begin`](super::Connection::begin); it owns its connection, which goes
/// back to the pool when the transaction ends. [`Transaction::savepoint`] nests.
///
/// Dropped while open, it hands the connection back still inside the transaction and
/// the pool rolls it back before anyone else can check it out (the pool knows from the
/// driver's own transaction depth, without a round trip). A transaction whose statement
/// was cancelled mid-flight closes its connection instead: the server rolls back.
pub struct Transaction(Scope<'static>);

/// A nested transaction (`SAVEPOINT`) inside a [`Transaction`] or another savepoint,
/// which it borrows: the parent cannot be used or committed while the savepoint lives.
/// Dropped without [`commit`](Savepoint::commit), it rolls back to the savepoint; the
/// parent goes on either way.
pub struct Savepoint<'t>(Scope<'t>);

/// What transactions and savepoints share: the connection (owned by a transaction,
/// borrowed by a savepoint), whether this level is still open, and the engine.
pub(crate) struct Scope<'c> {
    conn: ScopeConn<'c>,
    open: bool,
    shared: Arc<EngineShared>,
}

enum ScopeConn<'c> {
    Owned(ConnInner),
    Borrowed(&'c mut ConnInner),
}

impl Drop for Scope<'_> {
    fn drop(&mut self) {
        if !self.open {
            return;
        }
        match &mut self.conn {
            // The pool's reset-on-return rolls the whole transaction back.
            ScopeConn::Owned(_) => {}
            // Queued; the parent's next statement (or its own rollback) sends it first.
            ScopeConn::Borrowed(c) => c.start_rollback(),
        }
    }
}

impl<'c> Scope<'c> {
    fn conn(&mut self) -> &mut ConnInner {
        match &mut self.conn {
            ScopeConn::Owned(c) => c,
            ScopeConn::Borrowed(c) => c,
        }
    }

    fn conn_and_events(&mut self) -> (&mut ConnInner, &super::events::Events) {
        let conn = match &mut self.conn {
            ScopeConn::Owned(c) => c,
            ScopeConn::Borrowed(c) => c,
        };
        (conn, &self.shared.events)
    }

    async fn raw(&mut self) -> Result<(RawConn<'_>, Flight<'_>)> {
        self.conn().raw(false).await
    }

    async fn savepoint(&mut self) -> Result<Savepoint<'_>> {
        let shared = Arc::clone(&self.shared);
        let conn = self.conn();
        conn.begin(false, false).await?;
        if shared.echo {
            tracing::info!(target: "orm::engine", "SAVEPOINT");
        }
        Ok(Savepoint(Scope {
            conn: ScopeConn::Borrowed(conn),
            open: true,
            shared,
        }))
    }

    async fn commit(mut self, what: &str) -> Result<()> {
        if self.shared.echo {
            tracing::info!(target: "orm::engine", "{what}");
        }
        // On failure the level stays open and the drop rolls it back.
        self.conn().commit().await?;
        self.open = false;
        Ok(())
    }

    async fn rollback(mut self, what: &str) -> Result<()> {
        if self.shared.echo {
            tracing::info!(target: "orm::engine", "{what}");
        }
        self.conn().rollback().await?;
        self.open = false;
        Ok(())
    }
}

/// The methods [`Transaction`] and [`Savepoint`] share, delegated to their [`Scope`].
macro_rules! scope_methods {
    () => {
        /// The dialect of the underlying connection.
        pub fn dialect(&self) -> Dialect {
            self.0.shared.dialect
        }

        /// The server's dialect, version and capabilities; see
        /// [`Engine::server`](super::Engine::server).
        pub fn server(&self) -> crate::dialect::ServerInfo {
            self.0.shared.server
        }

        fn echo(&self) -> Arc<super::events::Events> {
            Arc::clone(&self.0.shared.events)
        }

        async fn raw(&mut self) -> Result<(RawConn<'_>, Flight<'_>)> {
            self.0.raw().await
        }

        fn conn_inner(&mut self) -> &mut ConnInner {
            self.0.conn()
        }

        #[allow(dead_code)] // without SQLite
        fn conn_and_events(&mut self) -> (&mut ConnInner, &super::events::Events) {
            self.0.conn_and_events()
        }

        fn reopens(&self) -> bool {
            false
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
    /// Sends `BEGIN` (`BEGIN IMMEDIATE` on SQLite with `immediate`) on `conn` and wraps
    /// it.
    pub(crate) async fn begin(
        mut conn: ConnInner,
        shared: Arc<EngineShared>,
        immediate: bool,
    ) -> Result<Self> {
        conn.begin(true, immediate).await?;
        if shared.echo {
            tracing::info!(target: "orm::engine", "BEGIN");
        }
        Ok(Transaction(Scope {
            conn: ScopeConn::Owned(conn),
            open: true,
            shared,
        }))
    }

    scope_methods!();

    /// SQLite: true while the transaction has taken no lock yet (nothing has read or
    /// written since `BEGIN`; a `SAVEPOINT` takes none). False elsewhere.
    pub(crate) async fn sqlite_unlocked(&mut self) -> Result<bool> {
        self.0.conn().sqlite_unlocked().await
    }

    /// SQLite's fast path: runs `c`, a one-row INSERT without RETURNING, when the
    /// connection has proven that its table's generated key is the rowid (see
    /// [`RawConn::insert_by_rowid`]); elsewhere nothing runs.
    pub(crate) async fn insert_by_rowid(&mut self, c: &Compiled) -> Result<RowidInsert> {
        #[cfg(feature = "sqlite")]
        {
            let (conn, events) = self.0.conn_and_events();
            let done = conn.sqlite_now(|conn| {
                super::driver::sqlite_fast::insert_by_rowid_now(conn, c, events)
            });
            if let Some(done) = done {
                return done;
            }
        }
        let echo = Arc::clone(&self.0.shared.events);
        let (raw, flight) = self.0.raw().await?;
        flight.land(raw.insert_by_rowid(c, &echo).await)
    }

    /// SQLite's fast path: records what a query of the schema proved of the key of the
    /// table `sql` (a one-row INSERT without RETURNING) writes; elsewhere nothing.
    pub(crate) async fn remember_rowid_key(&mut self, sql: &str, rowid: bool) -> Result<()> {
        let (raw, flight) = self.0.raw().await?;
        flight.land(raw.remember_rowid_key(sql, rowid).await)
    }

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
