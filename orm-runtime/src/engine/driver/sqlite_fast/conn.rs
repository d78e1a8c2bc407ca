//! The SQLite connection the engine's pool keeps: sqlx's own `SqliteConnection`, and,
//! on the fast path, the lock on its handle taken once and held for as long as the
//! connection lives, with the statements prepared under it.
//!
//! sqlx runs every SQLite connection on a worker thread and hands the handle out under
//! a lock (`lock_handle()`); while the lock is held the worker waits for it and makes
//! no call on the handle. Taking it costs a round trip to that thread, so the fast
//! path takes it at the connection's first statement and keeps it: every later
//! statement, transaction and savepoint is a direct call into SQLite. The lock is given
//! back (statements finalized first, under it) only to let sqlx close the connection,
//! so sqlx never finds a statement of ours open when it closes the handle (it would
//! panic its worker).
//!
//! Transactions on the fast path are the engine's own (`BEGIN`, and sqlx's savepoint
//! names, counted here): sqlx is never asked to begin, commit or roll back a fast
//! connection, so its own transaction depth stays 0 and never disagrees with a
//! transaction it was told about.

use std::ffi::{c_int, c_void};
use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_core::future::BoxFuture;
use libsqlite3_sys as ffi;
use sqlx::sqlite::{LockedSqliteHandle, SqliteConnection};
use sqlx::{Connection as _, TransactionManager as _};

use super::offload::{Done, Job, PROGRESS_EVERY, Progress, on_progress};
use super::stmt::{Statements, last_error};
use crate::error::{Error, Result};

/// A statement pointer that may cross an `.await` (and so a thread): it is only ever
/// used under the connection's lock, by whoever holds the connection.
#[derive(Clone, Copy)]
pub(crate) struct StmtPtr(pub(crate) NonNull<ffi::sqlite3_stmt>);

// SAFETY: see the type's documentation; SQLite connections are opened by sqlx in
// multi-thread mode, where a connection and its statements may move between threads
// as long as no two use them at once.
unsafe impl Send for StmtPtr {}

impl StmtPtr {
    pub(crate) fn as_ptr(self) -> *mut ffi::sqlite3_stmt {
        self.0.as_ptr()
    }
}

/// The waits SQLite's own busy handler makes (its `sqliteDefaultBusyCallback`), in ms;
/// the last repeats.
const BUSY_DELAYS_MS: [u64; 12] = [1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100];

/// sqlx's default busy timeout, assumed if `PRAGMA busy_timeout` cannot be read.
const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stepped {
    Row,
    Done,
    /// The watched step ran long and was interrupted: the statement is reset, to be run
    /// on the blocking pool (see [`offload`](super::offload)).
    Offload,
}

/// The time to wait after the `attempt`-th busy answer, at most `left`.
pub(crate) fn busy_delay(attempt: usize, left: Duration) -> Duration {
    Duration::from_millis(BUSY_DELAYS_MS[attempt.min(BUSY_DELAYS_MS.len() - 1)]).min(left)
}

/// The handle locked out of sqlx's worker, and what the fast path keeps under it.
pub(crate) struct Locked {
    db: NonNull<ffi::sqlite3>,
    pub(crate) stmts: Statements,
    /// Set by [`on_busy`] when SQLite would have waited for a lock: the statement may
    /// then be retried after an asynchronous wait.
    busy: Box<AtomicBool>,
    /// Read and written by the progress handler (see [`offload`](super::offload)).
    progress: Box<Progress>,
    /// A statement still running on the blocking pool for a call that was dropped:
    /// waited for before anything else runs on the handle.
    inflight: Option<Arc<Done>>,
    /// The connection's busy timeout, restored when the lock is given back.
    busy_timeout: Duration,
    guard: ManuallyDrop<LockedSqliteHandle<'static>>,
}

// SAFETY: the handle and statements are used only through `&mut Locked`, by one task
// at a time (see `StmtPtr`); the guard is `Send` itself.
unsafe impl Send for Locked {}
// SAFETY: `&Locked` gives access to nothing but the handle's address.
unsafe impl Sync for Locked {}

/// SQLite's busy handler on the fast path: instead of sleeping on the thread (which on
/// a current-thread runtime would stall the task that holds the lock this statement
/// waits for), note that SQLite wanted to wait and give up at once; the caller waits
/// asynchronously and runs the statement again.
extern "C" fn on_busy(flag: *mut c_void, _count: c_int) -> c_int {
    // SAFETY: `flag` is the `AtomicBool` boxed in `Locked`, which replaces this
    // handler before the box is freed.
    unsafe { (*flag.cast::<AtomicBool>()).store(true, Ordering::Relaxed) };
    0
}

impl Locked {
    /// Takes the lock on `conn`'s handle.
    ///
    /// # Safety
    /// `conn` (borrowed here for `'static`, which it is not) stays at its address and
    /// is neither used nor dropped until the returned value is dropped.
    async unsafe fn lock(conn: &'static mut SqliteConnection) -> Result<Locked> {
        let mut guard = conn.lock_handle().await?;
        let db = guard.as_raw_handle();
        // SAFETY: the handle is locked.
        let busy_timeout =
            unsafe { read_busy_timeout(db.as_ptr()) }.unwrap_or(DEFAULT_BUSY_TIMEOUT);
        let busy = Box::new(AtomicBool::new(false));
        let progress = Box::<Progress>::default();
        // SAFETY: the handle is locked; the flag and the progress state outlive the
        // handlers (see `Drop`).
        unsafe {
            ffi::sqlite3_busy_handler(
                db.as_ptr(),
                Some(on_busy),
                std::ptr::from_ref::<AtomicBool>(&busy).cast_mut().cast(),
            );
            ffi::sqlite3_progress_handler(
                db.as_ptr(),
                PROGRESS_EVERY,
                Some(on_progress),
                std::ptr::from_ref::<Progress>(&progress).cast_mut().cast(),
            );
        }
        Ok(Locked {
            db,
            stmts: Statements::new(),
            busy,
            progress,
            inflight: None,
            busy_timeout,
            guard: ManuallyDrop::new(guard),
        })
    }

    /// Before a statement that reads or sets `PRAGMA busy_timeout`: the connection's
    /// timeout put back in SQLite (the fast path replaces it with its own busy
    /// handler), so that the PRAGMA reads and sets the real one.
    pub(crate) fn expose_busy_timeout(&mut self) {
        let ms = c_int::try_from(self.busy_timeout.as_millis()).unwrap_or(c_int::MAX);
        // SAFETY: the handle is locked.
        unsafe { ffi::sqlite3_busy_timeout(self.db(), ms) };
    }

    /// After it: the timeout read again (the PRAGMA may have set it), and the fast
    /// path's busy handler back.
    pub(crate) fn hide_busy_timeout(&mut self) {
        // SAFETY: the handle is locked; the flag outlives the handler (see `Drop`).
        unsafe {
            if let Some(t) = read_busy_timeout(self.db()) {
                self.busy_timeout = t;
            }
            ffi::sqlite3_busy_handler(
                self.db(),
                Some(on_busy),
                std::ptr::from_ref::<AtomicBool>(&self.busy)
                    .cast_mut()
                    .cast(),
            );
        }
    }

    /// Waits for a statement a dropped call left on the blocking pool to stop.
    async fn settle(&mut self) -> Result<()> {
        // Kept in `inflight` until it has stopped: dropped while waiting, the next call
        // waits again (the handle must not be used while the job runs).
        if let Some(done) = self.inflight.clone() {
            self.progress.cancel.store(true, Ordering::Relaxed);
            tokio::task::spawn_blocking(move || done.wait())
                .await
                .map_err(super::offload::lost)?;
            self.inflight = None;
            self.progress.cancel.store(false, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Runs a statement that ran long on the calling thread (see [`Stepped::Offload`])
    /// on the blocking pool, from its start: its rows (up to `limit`). The statement's
    /// parameters must be bound as copies (`bind_all(.., copy: true, ..)`): a dropped
    /// call no longer holds the values. `finalize` for an uncached statement.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn offload(
        &mut self,
        stmt: StmtPtr,
        columns: std::sync::Arc<super::rows::Columns>,
        limit: Option<usize>,
        finalize: bool,
        sql: &str,
    ) -> Result<super::rows::Batch> {
        let done = Arc::new(Done::default());
        let job = Job {
            db: self.db(),
            stmt,
            progress: &*self.progress,
            busy: &*self.busy,
            busy_timeout: self.busy_timeout,
            columns,
            limit,
            finalize,
            sql: sql.to_owned(),
            done: Arc::clone(&done),
        };
        // Recorded first: if this call is dropped while the job runs, the next one
        // (or the connection's drop) interrupts it and waits for it.
        self.inflight = Some(done);
        let batch = tokio::task::spawn_blocking(move || job.run())
            .await
            .map_err(super::offload::lost);
        self.inflight = None;
        batch?
    }

    pub(crate) fn db(&self) -> *mut ffi::sqlite3 {
        self.db.as_ptr()
    }

    /// Steps `stmt` once: `true` for a row, `false` when it is done. A statement that
    /// finds the database locked by another connection, where SQLite would wait, is
    /// waited for here asynchronously (SQLite's own delays, up to the connection's
    /// busy timeout) and run again from its start when `restartable` (no row has been
    /// returned yet); then the error is SQLite's `database is locked`, as on sqlx's
    /// path. On an error the statement is reset.
    ///
    /// With `watch`, a step that runs past the inline budget is interrupted and
    /// reported as [`Stepped::Offload`]: only for a read-only statement that has
    /// returned no row.
    pub(crate) async fn step(
        &mut self,
        stmt: StmtPtr,
        restartable: bool,
        watch: bool,
        sql: &str,
    ) -> Result<Stepped> {
        match self.step_once(stmt, watch) {
            Ok(stepped) => Ok(stepped),
            Err(rc) => self.step_after(rc, stmt, restartable, watch, sql).await,
        }
    }

    /// One step, no waiting: what it did, or SQLite's result code for anything but a
    /// row, the end, or a watched step that ran long (then [`Locked::step_after`]).
    #[inline]
    pub(crate) fn step_once(
        &mut self,
        stmt: StmtPtr,
        watch: bool,
    ) -> std::result::Result<Stepped, c_int> {
        self.busy.store(false, Ordering::Relaxed);
        if watch {
            self.progress.arm();
        }
        // SAFETY: the handle is locked and `stmt` is one of its statements.
        let rc = unsafe { ffi::sqlite3_step(stmt.as_ptr()) };
        if watch {
            self.progress.disarm();
        }
        match rc {
            ffi::SQLITE_ROW => Ok(Stepped::Row),
            ffi::SQLITE_DONE => Ok(Stepped::Done),
            ffi::SQLITE_INTERRUPT if watch && self.progress.tripped() => {
                // SAFETY: as above.
                unsafe { ffi::sqlite3_reset(stmt.as_ptr()) };
                Ok(Stepped::Offload)
            }
            rc => Err(rc),
        }
    }

    /// True when the step that answered `rc` found a lock taken that SQLite would have
    /// waited for (see [`on_busy`]).
    pub(crate) fn wanted_to_wait(&self, rc: c_int) -> bool {
        (rc & 0xff == ffi::SQLITE_BUSY && self.busy.load(Ordering::Relaxed))
            || rc == ffi::SQLITE_LOCKED_SHAREDCACHE
    }

    /// After a step that answered `rc` (see [`Locked::step_once`]): waits out a lock
    /// and steps again, or returns the error.
    pub(crate) async fn step_after(
        &mut self,
        mut rc: c_int,
        stmt: StmtPtr,
        restartable: bool,
        watch: bool,
        sql: &str,
    ) -> Result<Stepped> {
        let mut waited = Duration::ZERO;
        let mut attempt = 0;
        loop {
            if !(restartable && self.wanted_to_wait(rc) && waited < self.busy_timeout) {
                // SAFETY: as above; the message is read before the reset.
                let e = unsafe { last_error(self.db(), Some(sql)) };
                // SAFETY: as above.
                unsafe { ffi::sqlite3_reset(stmt.as_ptr()) };
                return Err(e);
            }
            // SAFETY: as above.
            unsafe { ffi::sqlite3_reset(stmt.as_ptr()) };
            let delay = busy_delay(attempt, self.busy_timeout - waited);
            tokio::time::sleep(delay).await;
            waited += delay;
            attempt += 1;
            match self.step_once(stmt, watch) {
                Ok(stepped) => return Ok(stepped),
                Err(again) => rc = again,
            }
        }
    }

    /// Runs SQL without parameters or rows (transaction control), waiting out a lock
    /// as [`Locked::step`] does.
    pub(crate) async fn exec(&mut self, sql: &str) -> Result<()> {
        // Kept in the statement cache: a session runs BEGIN and COMMIT per transaction.
        let stmt = match self.stmts.get(sql) {
            Some(stmt) => stmt.ptr(),
            // SAFETY: the handle is locked and no cached statement is being stepped.
            None => match unsafe { super::stmt::prepare(self.db(), sql, true, sql)? } {
                // SAFETY: as above.
                super::stmt::Prepared::Single(s) => unsafe { self.stmts.insert(sql, s) }.ptr(),
                super::stmt::Prepared::First(s, _) => {
                    // SAFETY: as above.
                    unsafe { s.finalize() };
                    return Err(Error::Unsupported {
                        dialect: "sqlite",
                        feature: "several statements in transaction control".into(),
                    });
                }
                super::stmt::Prepared::Empty => return Ok(()),
            },
        };
        let _running = Running {
            stmt,
            owned: false,
            detached: false,
        };
        while self.step(stmt, true, false, sql).await? == Stepped::Row {}
        Ok(())
    }
}

/// Resets a cached statement and clears its bindings (which may point into a caller's
/// values), or finalizes an uncached (`finalize`) one.
///
/// # Safety
/// The connection is locked (or, on the blocking pool, held by the job) and the
/// statement is not used by anyone else.
pub(crate) unsafe fn release(stmt: StmtPtr, finalize: bool) {
    // SAFETY: the caller's promise.
    unsafe {
        if finalize {
            ffi::sqlite3_finalize(stmt.as_ptr());
        } else {
            ffi::sqlite3_reset(stmt.as_ptr());
            ffi::sqlite3_clear_bindings(stmt.as_ptr());
        }
    }
}

/// Releases a statement (see [`release`]) when dropped: at the end of a call, on an
/// error, or when the call's future is dropped mid-result. A statement handed to the
/// blocking pool (`detached`) is the job's to release.
pub(crate) struct Running {
    pub(crate) stmt: StmtPtr,
    /// An uncached statement, finalized rather than reset.
    pub(crate) owned: bool,
    pub(crate) detached: bool,
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.detached {
            // SAFETY: a `Running` lives inside a call that holds `&mut Locked`, so the
            // connection is locked and the statement alive.
            unsafe { release(self.stmt, self.owned) };
        }
    }
}

/// `PRAGMA busy_timeout`, in ms.
///
/// # Safety
/// `db` is locked.
unsafe fn read_busy_timeout(db: *mut ffi::sqlite3) -> Option<Duration> {
    let sql = "PRAGMA busy_timeout";
    // SAFETY: the caller's promise; the statement is finalized before returning.
    unsafe {
        let super::stmt::Prepared::Single(stmt) = super::stmt::prepare(db, sql, false, sql).ok()?
        else {
            return None;
        };
        let ms = (ffi::sqlite3_step(stmt.raw()) == ffi::SQLITE_ROW)
            .then(|| ffi::sqlite3_column_int64(stmt.raw(), 0));
        stmt.finalize();
        ms.map(|ms| Duration::from_millis(ms.max(0) as u64))
    }
}

impl Drop for Locked {
    fn drop(&mut self) {
        // A statement left on the blocking pool by a dropped call is stopped first.
        if let Some(done) = self.inflight.take() {
            self.progress.cancel.store(true, Ordering::Relaxed);
            done.wait();
        }
        // SAFETY: the handle is still locked here: statements are finalized and the
        // busy timeout restored (replacing `on_busy`), and the progress handler removed,
        // before the guard gives the handle back to sqlx's worker.
        unsafe {
            self.stmts.clear();
            ffi::sqlite3_progress_handler(self.db(), 0, None, std::ptr::null_mut());
            let ms = c_int::try_from(self.busy_timeout.as_millis()).unwrap_or(c_int::MAX);
            ffi::sqlite3_busy_timeout(self.db(), ms);
            ManuallyDrop::drop(&mut self.guard);
        }
    }
}

/// A SQLite connection as the pool keeps it.
pub(crate) struct SqliteConn {
    /// sqlx's connection, owned (from `Box::into_raw`): a raw pointer, since the lock
    /// guard in `locked` borrows it for as long as it lives.
    conn: NonNull<SqliteConnection>,
    /// The lock, on the fast path once a statement has run. Dropped before `conn`.
    locked: Option<Box<Locked>>,
    fast: bool,
    /// Open transaction levels on the fast path (sqlx counts its own on the other).
    depth: usize,
    /// Savepoint or transaction rollbacks queued by dropped guards, sent before the
    /// next call.
    pending_rollbacks: usize,
    /// Inside a transaction, SQLite ended it (see [`SqliteConn::check_transaction`]):
    /// why. Statements are refused until it is rolled back.
    ended: Option<Box<str>>,
    /// Statements run at once since the task last yielded (see
    /// [`SqliteConn::ready_now`]).
    unyielded: u32,
}

/// Statements run at once (with no `.await`, see [`SqliteConn::ready_now`]) before the
/// next one takes the asynchronous path and yields to the runtime: a task that runs
/// many never holds its thread for long, as tokio's cooperative budget (128 units,
/// which statements run at once do not use) would otherwise ensure.
const RUN_NOW_BEFORE_YIELD: u32 = 128;

// SAFETY: `conn` is owned and used only through `&mut self` (see `Locked`).
unsafe impl Send for SqliteConn {}
// SAFETY: `&self` reads nothing but plain fields and sqlx's atomic depth.
unsafe impl Sync for SqliteConn {}

impl SqliteConn {
    /// Wraps a new connection; `fast` chooses the fast path for its whole life.
    pub(crate) fn new(conn: SqliteConnection, fast: bool) -> SqliteConn {
        SqliteConn {
            conn: NonNull::from(Box::leak(Box::new(conn))),
            locked: None,
            fast,
            depth: 0,
            pending_rollbacks: 0,
            ended: None,
            unyielded: 0,
        }
    }

    /// True when statements run on the fast path.
    pub(crate) fn is_fast(&self) -> bool {
        self.fast
    }

    /// sqlx's connection, for the sqlx path (the lock, if held, is given back first).
    pub(crate) fn sqlx(&mut self) -> &mut SqliteConnection {
        self.locked = None;
        // SAFETY: no guard borrows the connection any more.
        unsafe { self.conn.as_mut() }
    }

    /// The locked handle for the fast path: locked now if it is not yet, and the
    /// rollbacks queued by dropped savepoint guards sent first.
    pub(crate) async fn locked(&mut self) -> Result<&mut Locked> {
        // A statement here never waits for I/O, so a task running many would never
        // give the runtime a turn: tokio's cooperative budget makes it yield now and
        // then, as a socket read would; after a run of statements that ran at once
        // (and used none of the budget), it yields now.
        if self.unyielded >= RUN_NOW_BEFORE_YIELD {
            self.unyielded = 0;
            tokio::task::yield_now().await;
        } else {
            tokio::task::coop::consume_budget().await;
        }
        if self.locked.is_none() {
            // SAFETY: the box stays where it is, and `locked` is dropped before it
            // (`Drop`, `close`, `sqlx`) and is the only user of it meanwhile.
            let conn: &'static mut SqliteConnection = unsafe { &mut *self.conn.as_ptr() };
            // (Boxed, as the futures of other rare steps here: held inline, they made the
            // future of every statement larger.)
            // SAFETY: as above.
            self.locked = Some(Box::new(unsafe { Box::pin(Locked::lock(conn)).await? }));
        }
        self.held().settle().await?;
        while self.pending_rollbacks > 0 && self.ended.is_some() {
            // SQLite rolled the transaction back already: the levels just close.
            self.pending_rollbacks -= 1;
            self.depth -= 1;
            if self.depth == 0 {
                self.ended = None;
            }
        }
        while self.pending_rollbacks > 0 {
            let sql = rollback_sql(self.depth);
            let locked = self.locked.as_mut().expect("locked just above");
            Box::pin(locked.exec(&sql)).await?;
            self.pending_rollbacks -= 1;
            self.depth -= 1;
        }
        Ok(self.locked.as_mut().expect("locked just above"))
    }

    /// The locked handle for a statement: as [`SqliteConn::locked`], but inside a
    /// transaction SQLite has ended, the statement is refused (it would run outside
    /// any transaction and commit at once).
    pub(crate) async fn for_statement(&mut self) -> Result<&mut Locked> {
        if let Some(cause) = &self.ended {
            if self.depth > self.pending_rollbacks {
                return Err(Error::TransactionRolledBack {
                    cause: cause.to_string(),
                });
            }
        }
        self.locked().await
    }

    /// After a statement inside a transaction: whether SQLite still has the transaction
    /// open. SQLite rolls a transaction back on its own for some errors (a full disk,
    /// an I/O error), and a `ROLLBACK` or `COMMIT` run as a statement ends it; the
    /// engine would then run every later statement of the transaction outside any,
    /// committing each at once. Noted here, so that they are refused and COMMIT fails.
    pub(crate) fn check_transaction(&mut self, failed: Option<&Error>) {
        if self.depth == 0 || self.ended.is_some() {
            return;
        }
        let Some(locked) = self.locked.as_ref() else {
            return;
        };
        // SAFETY: the handle is locked (held by `locked`).
        if unsafe { ffi::sqlite3_get_autocommit(locked.db()) } == 0 {
            return;
        }
        let why = match failed {
            Some(e) => {
                format!("a statement in it failed ({e}) and SQLite rolled the transaction back")
            }
            None => "a statement run inside it (ROLLBACK or COMMIT) ended it".to_owned(),
        };
        self.ended = Some(why.into());
    }

    /// The locked handle, when a statement can run on it at once, with no `.await`:
    /// the lock is held, nothing is left to wait for or roll back first, SQLite has not
    /// ended the transaction, and the task is not due to yield (a call that finds it
    /// due takes the asynchronous path, which yields). `None` otherwise.
    pub(crate) fn ready_now(&mut self) -> Option<&mut Locked> {
        if self.pending_rollbacks > 0
            || self.ended.is_some()
            || self.unyielded >= RUN_NOW_BEFORE_YIELD
        {
            return None;
        }
        let locked = self.locked.as_mut()?;
        if locked.inflight.is_some() {
            return None;
        }
        self.unyielded += 1;
        Some(locked)
    }

    /// The lock, taken already by [`SqliteConn::locked`].
    fn held(&mut self) -> &mut Locked {
        self.locked.as_mut().expect("locked by the caller")
    }

    /// How many statements the fast path keeps prepared.
    #[cfg(test)]
    pub(crate) fn cached_statements(&self) -> usize {
        self.locked.as_ref().map_or(0, |l| l.stmts.len())
    }

    /// Open transaction levels (rollbacks still queued not counted).
    pub(crate) fn depth(&self) -> usize {
        if self.fast {
            self.depth - self.pending_rollbacks
        } else {
            // SAFETY: never locked off the fast path; a shared read of sqlx's atomic.
            sqlx::sqlite::SqliteTransactionManager::get_transaction_depth(unsafe {
                self.conn.as_ref()
            })
        }
    }

    /// `BEGIN`, or a savepoint inside a transaction.
    pub(crate) async fn begin(&mut self, immediate: bool) -> Result<()> {
        // A savepoint has no such mode (its transaction's lock is what it is).
        let immediate = immediate && self.depth() == 0;
        if !self.fast {
            let statement = immediate.then_some(std::borrow::Cow::Borrowed("BEGIN IMMEDIATE"));
            return Ok(
                sqlx::sqlite::SqliteTransactionManager::begin(self.sqlx(), statement).await?,
            );
        }
        self.for_statement().await?;
        let sql = match self.depth {
            0 if immediate => "BEGIN IMMEDIATE".to_owned(),
            0 => "BEGIN".to_owned(),
            d => format!("SAVEPOINT _sqlx_savepoint_{d}"),
        };
        self.held().exec(&sql).await?;
        self.depth += 1;
        Ok(())
    }

    /// True while the connection's transaction has taken no lock yet: `BEGIN` (or a
    /// `SAVEPOINT` outside one) was sent and nothing has read or written since.
    pub(crate) async fn unlocked_transaction(&mut self) -> Result<bool> {
        let state = if self.fast {
            let l = self.locked().await?;
            // SAFETY: the connection is locked; the call only reads its state.
            unsafe { ffi::sqlite3_txn_state(l.db(), std::ptr::null()) }
        } else {
            let mut handle = self.sqlx().lock_handle().await?;
            // SAFETY: `handle` holds the connection's lock (no statement runs on it
            // meanwhile); the call only reads its state.
            unsafe { ffi::sqlite3_txn_state(handle.as_raw_handle().as_ptr(), std::ptr::null()) }
        };
        Ok(state == ffi::SQLITE_TXN_NONE)
    }

    /// `COMMIT`, or the innermost savepoint released.
    pub(crate) async fn commit(&mut self) -> Result<()> {
        if !self.fast {
            return Ok(sqlx::sqlite::SqliteTransactionManager::commit(self.sqlx()).await?);
        }
        self.locked().await?;
        if let Some(cause) = self.ended.take() {
            // Nothing to commit: the transaction is gone, and every level with it.
            self.depth = 0;
            return Err(Error::TransactionRolledBack {
                cause: cause.into(),
            });
        }
        match self.depth {
            0 => Ok(()),
            1 => {
                self.held().exec("COMMIT").await?;
                self.depth = 0;
                Ok(())
            }
            d => {
                self.held()
                    .exec(&format!("RELEASE SAVEPOINT _sqlx_savepoint_{}", d - 1))
                    .await?;
                self.depth -= 1;
                Ok(())
            }
        }
    }

    /// `ROLLBACK`, or back to the innermost savepoint (which is then gone).
    pub(crate) async fn rollback(&mut self) -> Result<()> {
        if !self.fast {
            return Ok(sqlx::sqlite::SqliteTransactionManager::rollback(self.sqlx()).await?);
        }
        self.locked().await?;
        if self.ended.is_some() {
            // SQLite rolled it back already: only the levels are left to close. Each
            // rollback closes one; the last one clears the mark.
            self.depth = self.depth.saturating_sub(1);
            if self.depth == 0 {
                self.ended = None;
            }
            return Ok(());
        }
        if self.depth == 0 {
            return Ok(());
        }
        let sql = rollback_sql(self.depth);
        let locked = self.locked.as_mut().expect("locked just above");
        // A failed ROLLBACK still ends the level: SQLite has rolled back what it could
        // (and a COMMIT that failed left the transaction open, which this closes).
        let outcome = locked.exec(&sql).await;
        self.depth -= 1;
        if self.depth == 0 {
            // SAFETY: the handle is locked.
            let in_tx = unsafe { ffi::sqlite3_get_autocommit(locked.db()) } == 0;
            if in_tx {
                let _ = locked.exec("ROLLBACK").await;
            }
        }
        outcome
    }

    /// Queues a rollback of the innermost level, sent before the next call.
    pub(crate) fn start_rollback(&mut self) {
        if !self.fast {
            sqlx::sqlite::SqliteTransactionManager::start_rollback(self.sqlx());
            return;
        }
        if self.depth > self.pending_rollbacks {
            self.pending_rollbacks += 1;
        }
    }

    /// A call that shows the connection works: on the fast path, taking the lock
    /// (a round trip to sqlx's worker) or holding it.
    pub(crate) async fn ping(&mut self) -> Result<()> {
        if self.fast {
            self.locked().await?;
            return Ok(());
        }
        Ok(self.sqlx().ping().await?)
    }

    /// Closes the connection: the lock given back (statements finalized), then sqlx
    /// closes it.
    pub(crate) fn close(self) -> BoxFuture<'static, std::result::Result<(), sqlx::Error>> {
        let mut me = ManuallyDrop::new(self);
        me.locked = None;
        // SAFETY: the guard is gone, and `me` is never dropped: the box is taken once.
        let conn = unsafe { Box::from_raw(me.conn.as_ptr()) };
        (*conn).close()
    }
}

/// The rollback of transaction level `depth` (1 = the transaction).
fn rollback_sql(depth: usize) -> String {
    match depth {
        0 | 1 => "ROLLBACK".to_owned(),
        d => format!("ROLLBACK TO SAVEPOINT _sqlx_savepoint_{}", d - 1),
    }
}

impl Drop for SqliteConn {
    fn drop(&mut self) {
        // The lock first (statements finalized under it), then sqlx's connection,
        // whose worker closes the handle.
        self.locked = None;
        // SAFETY: owned since `new`, the guard gone, and taken nowhere else (`close`
        // skips this drop).
        drop(unsafe { Box::from_raw(self.conn.as_ptr()) });
    }
}
