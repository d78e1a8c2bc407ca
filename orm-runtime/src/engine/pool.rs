//! The engine's own connection pool, with SQLAlchemy's kinds and settings.
//!
//! sqlx's `Pool` is not used: it pings every connection on release, retries a refused
//! connect until the acquire timeout, and has no overflow or reset-on-return. This pool
//! is a semaphore (the most connections checked out at once) beside a mutex-guarded
//! queue of idle connections:
//!
//! - checkout takes a permit (waiting up to `pool_timeout`, then [`Error::PoolTimeout`]),
//!   then the oldest idle connection, or opens a new one and fails at once with the real
//!   [`Error::Connect`] when that is refused;
//! - a [`Pooled`] guard owns the connection while it is checked out and returns it when
//!   dropped. Every driver call runs under a [`Flight`], which marks the connection
//!   busy before the call and clean after it: a guard dropped while busy (its future was
//!   cancelled mid-statement) or after an I/O error is closed, never reused;
//! - on return a connection inside a transaction (sqlx's own transaction depth, known
//!   without a round trip) is rolled back in a background task that still holds the
//!   permit; then it is kept if fewer than `pool_size` are idle, else closed (overflow).
//!
//! `size` counts every open connection (idle, checked out, being opened or reset), so
//! [`PoolStatus`](super::PoolStatus) is exact at every moment.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use sqlx::ConnectOptions;
#[cfg(feature = "mysql")]
use sqlx::TransactionManager as _;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::driver::Driver;
use super::setup::Setup;
use crate::error::{DatabaseErrorKind, Error, Result};

/// The kind of connection pool, as in SQLAlchemy's `poolclass`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolKind {
    /// `QueuePool`: keeps up to `pool_size` idle connections; under load opens up to
    /// `max_overflow` more, which are closed when returned. The default for every URL
    /// except in-memory SQLite.
    Queue,
    /// `NullPool`: every checkout opens a new connection and every return closes it.
    /// (At most [`NULL_POOL_MAX_CONNECTIONS`] are open at once.)
    Null,
    /// `StaticPool`: exactly one connection, kept for the engine's life and handed to
    /// every checkout in turn. The default for `sqlite::memory:`, so that every checkout
    /// sees the same in-memory database. A second concurrent checkout waits for the
    /// first to be returned (up to `pool_timeout`).
    Static,
}

/// Whether SQLite engines take the fast path unless their builder says otherwise: yes,
/// unless the environment variable `ORM_SQLITE_FAST_PATH` is `0` (how the test suite
/// runs again on sqlx's path).
fn sqlite_fast_path_default() -> bool {
    std::env::var("ORM_SQLITE_FAST_PATH").map_or(true, |v| v.trim() != "0")
}

/// The most connections a [`PoolKind::Null`] engine has open at once.
pub const NULL_POOL_MAX_CONNECTIONS: u32 = 1024;

/// How long closing a connection politely, or rolling back a returned one, may take
/// before the connection is dropped instead.
const HOUSEKEEPING_TIMEOUT: Duration = Duration::from_secs(5);

/// Pool settings, with SQLAlchemy's names and defaults.
#[derive(Debug, Clone)]
pub(crate) struct PoolConfig {
    pub(crate) kind: Option<PoolKind>,
    pub(crate) pool_size: u32,
    pub(crate) max_overflow: u32,
    pub(crate) pool_timeout: Duration,
    pub(crate) pool_recycle: Option<Duration>,
    pub(crate) pool_pre_ping: bool,
    /// SQLite: run statements on the fast path (`engine::driver::sqlite_fast`).
    pub(crate) sqlite_fast_path: bool,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            kind: None,
            pool_size: 5,
            max_overflow: 10,
            pool_timeout: Duration::from_secs(30),
            pool_recycle: None,
            pool_pre_ping: false,
            sqlite_fast_path: sqlite_fast_path_default(),
        }
    }
}

impl PoolConfig {
    /// The error for a checkout that waited `pool_timeout` in vain.
    pub(crate) fn timeout_error(&self) -> Error {
        // The sizes the pool really has: a static pool is one connection.
        let (pool_size, max_overflow) = match self.kind {
            Some(PoolKind::Static) => (1, 0),
            Some(PoolKind::Null) => (0, NULL_POOL_MAX_CONNECTIONS),
            _ => (self.pool_size, self.max_overflow),
        };
        Error::PoolTimeout {
            timeout: self.pool_timeout,
            pool_size,
            max_overflow,
        }
    }

    /// `(most checked out at once, most kept idle)` for the resolved kind.
    fn limits(&self) -> (u32, usize) {
        match self.kind {
            Some(PoolKind::Null) => (NULL_POOL_MAX_CONNECTIONS, 0),
            Some(PoolKind::Static) => (1, 1),
            // SQLAlchemy: `pool_size = 0` means no limit.
            _ if self.pool_size == 0 => (
                NULL_POOL_MAX_CONNECTIONS,
                NULL_POOL_MAX_CONNECTIONS as usize,
            ),
            _ => (
                self.pool_size.saturating_add(self.max_overflow).max(1),
                self.pool_size as usize,
            ),
        }
    }
}

/// The error for a driver call or connect that did not finish within `timeout`.
pub(crate) fn timed_out(url: &str, timeout: Duration) -> Error {
    Error::Connect {
        url: url.to_owned(),
        source: sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no answer within {timeout:?}"),
        )),
    }
}

/// What the pool knows about a checked-out connection's last driver call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Health {
    /// Every call so far finished and left the connection usable.
    Clean,
    /// A call started and has not finished: if the guard is dropped now, the call was
    /// cancelled and the connection's protocol state is unknown.
    Busy,
    /// A call failed in a way that leaves the connection unusable (a protocol error).
    Broken,
    /// A call failed because the connection is gone (I/O error, server shutdown): the
    /// pool's other idle connections may be gone too.
    Disconnected,
}

impl Health {
    /// The health a call that ended with `outcome` leaves behind.
    fn after<T>(outcome: &Result<T>) -> Health {
        let Err(e) = outcome else {
            return Health::Clean;
        };
        match e {
            Error::ConnectionLost { .. }
            | Error::Driver(
                sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::WorkerCrashed
                | sqlx::Error::PoolClosed,
            ) => Health::Disconnected,
            Error::Driver(_) => Health::Broken,
            Error::Database(db) if is_disconnect(db.code.as_deref()) => Health::Disconnected,
            // The server answered (a constraint violation, a syntax error) or the error
            // arose in our own code before or after the call: the connection is fine.
            _ => Health::Clean,
        }
    }
}

/// SQLSTATEs that mean the server has closed the session: class 08 (connection
/// exception), PostgreSQL's 57P01-57P03 (administrator shutdown, crash, cannot connect
/// now) and MySQL's 70100 (connection or query killed).
fn is_disconnect(sqlstate: Option<&str>) -> bool {
    sqlstate.is_some_and(|s| s.starts_with("08") || s.starts_with("57P0") || s == "70100")
}

/// What the server did to the transaction a connection is in, as far as the errors of
/// its statements tell (see [`Flight::land`]).
#[derive(Debug, Default)]
pub(crate) struct TxWatch {
    /// PostgreSQL: the first error of the statement that aborted the transaction, set
    /// when a statement fails and cleared when one succeeds (PostgreSQL refuses every
    /// statement of an aborted transaction but ROLLBACK) or a savepoint is rolled back.
    aborted: Option<String>,
    /// MySQL/MariaDB: the error with which the server rolled the whole transaction back
    /// (a deadlock; a lock wait timeout under `innodb_rollback_on_timeout`). The server
    /// then runs later statements outside any transaction, each committed at once, and
    /// answers COMMIT with success: so every statement until the transaction is rolled
    /// back is refused here, and COMMIT is an error.
    rolled_back: Option<String>,
    /// A lock wait timeout that rolled back the whole transaction only if
    /// `innodb_rollback_on_timeout` is on: asked before the next call.
    timeout_unverified: Option<String>,
    /// After `rolled_back`: an empty transaction with sqlx's savepoints has been opened
    /// again, so that sqlx's savepoint releases and rollbacks find what they name.
    shell: bool,
    /// Savepoint rollbacks queued by guards dropped while `rolled_back` had no shell yet.
    pending_rollbacks: usize,
}

/// Which rule a [`Flight`] applies to a transaction's failed statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Watch {
    Postgres,
    MySql,
}

/// Marks a connection busy for one driver call; [`Flight::land`] records how the call
/// ended. Dropped without landing (the call's future was cancelled), the connection
/// stays busy and its guard closes it instead of returning it to the pool.
pub(crate) struct Flight<'a> {
    health: &'a mut Health,
    /// Inside a transaction on PostgreSQL or MySQL: what a failed statement did to it.
    tx: Option<(&'a mut TxWatch, Watch)>,
}

impl<'a> Flight<'a> {
    fn start(health: &'a mut Health, tx: Option<(&'a mut TxWatch, Watch)>) -> Self {
        if *health == Health::Clean {
            *health = Health::Busy;
        }
        Flight { health, tx }
    }

    /// Records the outcome of the call and passes it on. A connection that was already
    /// broken stays broken.
    pub(crate) fn land<T>(self, outcome: Result<T>) -> Result<T> {
        if *self.health == Health::Busy {
            *self.health = Health::after(&outcome);
        }
        match (self.tx, &outcome) {
            (Some((tx, Watch::Postgres)), Ok(_)) => tx.aborted = None,
            (Some((tx, Watch::Postgres)), Err(Error::Database(db))) => {
                tx.aborted.get_or_insert_with(|| db.message.clone());
            }
            (Some((tx, Watch::MySql)), Err(Error::Database(db))) => match db.kind {
                DatabaseErrorKind::Deadlock if tx.rolled_back.is_none() => {
                    tx.rolled_back = Some(format!(
                        "a statement in it failed ({}) and MySQL rolls the whole transaction back for that error",
                        db.message
                    ));
                    tx.shell = false;
                }
                DatabaseErrorKind::LockTimeout => {
                    tx.timeout_unverified = Some(db.message.clone());
                }
                _ => {}
            },
            // Our own errors (a bind, a decode) and lost connections say nothing
            // about the transaction's state on the server.
            _ => {}
        }
        outcome
    }

    /// Lands when `rows` ends (or fails); a stream dropped before its end leaves the
    /// connection busy (rows may still be on the wire), so it is not reused.
    pub(crate) fn track<T: Send + 'a>(
        mut self,
        mut rows: futures_core::stream::BoxStream<'a, Result<T>>,
    ) -> futures_core::stream::BoxStream<'a, Result<T>> {
        use futures_util::StreamExt as _;
        Box::pin(async_stream::stream! {
            while let Some(item) = rows.next().await {
                match item {
                    Ok(row) => yield Ok(row),
                    Err(e) => {
                        let flight = Flight {
                            health: &mut *self.health,
                            tx: self.tx.as_mut().map(|(tx, w)| (&mut **tx, *w)),
                        };
                        let e = flight.land::<()>(Err(e)).unwrap_err();
                        yield Err(e);
                        return;
                    }
                }
            }
            let _ = self.land(Ok(()));
        })
    }
}

/// A connection waiting in the pool.
struct Idle<C> {
    conn: C,
    born: Instant,
    /// The pool's disconnect epoch when the connection was last known good.
    epoch: u64,
}

struct State<C> {
    idle: VecDeque<Idle<C>>,
    /// Open connections: idle, checked out, being opened, being reset.
    size: u32,
    /// Bumped by `dispose()`: connections of an older generation are closed on return.
    generation: u64,
    /// Bumped when a connection is found disconnected: idle connections of an older
    /// epoch are pinged before reuse.
    epoch: u64,
    closed: bool,
}

/// A pool of `DB` connections. Cheap to clone; clones share the pool.
pub(crate) struct Pool<DB: Driver> {
    shared: Arc<Shared<DB>>,
}

impl<DB: Driver> Clone for Pool<DB> {
    fn clone(&self) -> Self {
        Pool {
            shared: Arc::clone(&self.shared),
        }
    }
}

struct Shared<DB: Driver> {
    options: <DB::Connection as sqlx::Connection>::Options,
    /// Run on every new connection before it is handed out.
    setup: Setup,
    /// The redacted URL, for connect errors.
    url: String,
    cfg: PoolConfig,
    kind: PoolKind,
    max_idle: usize,
    /// One permit per connection that may be checked out at once.
    permits: Arc<Semaphore>,
    state: Mutex<State<DB::Conn>>,
}

impl<DB: Driver> Pool<DB> {
    /// A pool that opens connections with `options`; nothing is opened until the first
    /// checkout, and `setup` prepares each new one. `cfg.kind` must be resolved.
    pub(crate) fn new(
        cfg: &PoolConfig,
        url: &str,
        options: <DB::Connection as sqlx::Connection>::Options,
        setup: Setup,
    ) -> Self {
        let (max_out, max_idle) = cfg.limits();
        Pool {
            shared: Arc::new(Shared {
                options,
                setup,
                url: url.to_owned(),
                cfg: cfg.clone(),
                kind: cfg.kind.unwrap_or(PoolKind::Queue),
                max_idle,
                permits: Arc::new(Semaphore::new(max_out as usize)),
                state: Mutex::new(State {
                    idle: VecDeque::new(),
                    size: 0,
                    generation: 0,
                    epoch: 0,
                    closed: false,
                }),
            }),
        }
    }

    /// `(open, idle)` connections.
    pub(crate) fn status(&self) -> (u32, usize) {
        let st = self.shared.lock();
        (st.size, st.idle.len())
    }

    /// Checks a connection out: waits up to `pool_timeout` for room, then takes an idle
    /// connection (recycling or pinging it as configured) or opens a new one.
    pub(crate) async fn checkout(&self) -> Result<Pooled<DB>> {
        let shared = &self.shared;
        let cfg = &shared.cfg;
        // A permit free now is taken without setting up the timeout.
        let mut permit = match Arc::clone(&shared.permits).try_acquire_owned() {
            Ok(permit) => permit,
            Err(tokio::sync::TryAcquireError::Closed) => {
                return Err(Error::Driver(sqlx::Error::PoolClosed));
            }
            Err(tokio::sync::TryAcquireError::NoPermits) => match tokio::time::timeout(
                cfg.pool_timeout,
                Arc::clone(&shared.permits).acquire_owned(),
            )
            .await
            {
                Ok(Ok(permit)) => permit,
                Ok(Err(_)) => return Err(Error::Driver(sqlx::Error::PoolClosed)),
                Err(_) => return Err(cfg.timeout_error()),
            },
        };
        loop {
            let (idle, generation, epoch) = {
                let mut st = shared.lock();
                if st.closed {
                    return Err(Error::Driver(sqlx::Error::PoolClosed));
                }
                (st.idle.pop_front(), st.generation, st.epoch)
            };
            let Some(idle) = idle else {
                return self.open(permit).await;
            };
            let stale = epoch > idle.epoch;
            let mut conn = Pooled {
                conn: Some(idle.conn),
                born: idle.born,
                generation,
                epoch: idle.epoch,
                health: Health::Clean,
                tx: TxWatch::default(),
                pool: Arc::clone(shared),
                permit: Some(permit),
            };
            if shared.too_old(conn.born) {
                conn.health = Health::Broken;
            } else if !(cfg.pool_pre_ping || stale) || conn.ping().await.is_ok() {
                conn.epoch = epoch;
                return Ok(conn);
            }
            // Too old, or dead: close it and try the next one, keeping the permit.
            permit = conn
                .permit
                .take()
                .expect("a checked-out connection holds its permit");
            drop(conn);
        }
    }

    /// Opens a new connection for a checkout; its `size` slot is counted while it opens.
    async fn open(&self, permit: OwnedSemaphorePermit) -> Result<Pooled<DB>> {
        let (conn, generation, epoch) = self.shared.open().await?;
        Ok(Pooled {
            conn: Some(conn),
            born: Instant::now(),
            generation,
            epoch,
            health: Health::Clean,
            tx: TxWatch::default(),
            pool: Arc::clone(&self.shared),
            permit: Some(permit),
        })
    }

    /// Closes every idle connection; checked-out ones are closed when returned
    /// (SQLAlchemy's `Engine.dispose()`). The pool stays usable and opens new ones.
    pub(crate) async fn dispose(&self) {
        let idle = {
            let mut st = self.shared.lock();
            st.generation += 1;
            let idle: Vec<_> = st.idle.drain(..).collect();
            st.size -= idle.len() as u32;
            idle
        };
        close_all::<DB>(idle).await;
    }

    /// Closes every idle connection and the pool: later checkouts fail, and connections
    /// still checked out are closed when returned.
    pub(crate) async fn close(&self) {
        self.shared.permits.close();
        let idle = {
            let mut st = self.shared.lock();
            st.closed = true;
            let idle: Vec<_> = st.idle.drain(..).collect();
            st.size -= idle.len() as u32;
            idle
        };
        close_all::<DB>(idle).await;
    }
}

async fn close_all<DB: Driver>(idle: Vec<Idle<DB::Conn>>) {
    for i in idle {
        let _ = tokio::time::timeout(HOUSEKEEPING_TIMEOUT, DB::close(i.conn)).await;
    }
}

impl<DB: Driver> Shared<DB> {
    fn lock(&self) -> MutexGuard<'_, State<DB::Conn>> {
        // The state is consistent at every unlock, so a panic elsewhere leaves it usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn too_old(&self, born: Instant) -> bool {
        // A static pool's one connection may be an in-memory database: never recycled.
        self.kind != PoolKind::Static
            && self
                .cfg
                .pool_recycle
                .is_some_and(|max| born.elapsed() >= max)
    }

    /// Opens a new driver connection and runs the after-connect hook on it, counted in
    /// `size` from the start (and no more if either fails or the future is dropped);
    /// returns it with the pool's current generation and epoch. Fails at once with the
    /// driver's error, or the hook's ([`Error::AfterConnect`], the connection closed):
    /// the caller already has room. Both together are bounded by `pool_timeout`.
    async fn open(&self) -> Result<(DB::Conn, u64, u64)> {
        /// Gives the counted slot back unless the connection opened.
        struct Slot<'a, DB: Driver>(Option<&'a Shared<DB>>);
        impl<DB: Driver> Drop for Slot<'_, DB> {
            fn drop(&mut self) {
                if let Some(shared) = self.0 {
                    shared.lock().size -= 1;
                }
            }
        }
        let (generation, epoch) = {
            let mut st = self.lock();
            if st.closed {
                return Err(Error::Driver(sqlx::Error::PoolClosed));
            }
            st.size += 1;
            (st.generation, st.epoch)
        };
        let mut slot = Slot(Some(self));
        let timeout = self.cfg.pool_timeout;
        let opened = async {
            let conn = self
                .options
                .connect()
                .await
                .map_err(|source| Error::Connect {
                    url: self.url.clone(),
                    source,
                })?;
            let mut conn = DB::wrap(conn, self.cfg.sqlite_fast_path);
            if let Err(e) = self.setup.run(DB::raw(&mut conn), &self.url).await {
                let _ = tokio::time::timeout(HOUSEKEEPING_TIMEOUT, DB::close(conn)).await;
                return Err(e);
            }
            Ok(conn)
        };
        let conn = tokio::time::timeout(timeout, opened)
            .await
            .map_err(|_| timed_out(&self.url, timeout))??;
        slot.0 = None;
        Ok((conn, generation, epoch))
    }

    /// Takes back a connection whose guard was dropped.
    fn check_in(self: &Arc<Self>, returned: Returned<DB>) {
        let reusable = match returned.health {
            Health::Clean => true,
            Health::Busy => self.keeps_cancelled(),
            Health::Broken => false,
            Health::Disconnected => {
                self.lock().epoch += 1;
                false
            }
        };
        if !reusable {
            // Hard close: a socket mid-statement cannot be closed politely.
            self.forget(returned.conn);
            return;
        }
        if DB::depth(&returned.conn) == 0 {
            self.keep_or_close(returned);
            return;
        }
        // Reset on return: roll back in the background, the permit still held so the
        // connection counts as checked out until it is back.
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                /// Gives the slot back if the task is dropped unfinished (its runtime
                /// shut down).
                struct Resetting<DB: Driver>(Arc<Shared<DB>>, Option<Returned<DB>>);
                impl<DB: Driver> Drop for Resetting<DB> {
                    fn drop(&mut self) {
                        if let Some(returned) = self.1.take() {
                            self.0.forget(returned.conn);
                        }
                    }
                }
                let mut task = Resetting(Arc::clone(self), Some(returned));
                rt.spawn(async move {
                    let returned = task.1.as_mut().expect("taken only below");
                    let reset = tokio::time::timeout(HOUSEKEEPING_TIMEOUT, async {
                        while DB::depth(&returned.conn) > 0 {
                            DB::rollback(&mut returned.conn).await?;
                        }
                        Ok::<(), Error>(())
                    })
                    .await;
                    if let (Ok(Ok(())), Some(returned)) = (reset, task.1.take()) {
                        task.0.keep_or_close(returned);
                    }
                });
            }
            Err(_) => self.forget(returned.conn),
        }
    }

    /// A SQLite connection runs each command to its end on its own worker thread, so a
    /// cancelled statement leaves it consistent; a static pool's one connection may be an
    /// in-memory database that closing would destroy, so there it is kept.
    fn keeps_cancelled(&self) -> bool {
        self.kind == PoolKind::Static && DB::NAME == "SQLite"
    }

    /// Keeps a clean, reset connection idle, or closes it (overflow, recycle, dispose).
    fn keep_or_close(&self, returned: Returned<DB>) {
        let mut st = self.lock();
        let keep = !st.closed
            && returned.generation == st.generation
            && st.idle.len() < self.max_idle
            && !self.too_old(returned.born);
        if keep {
            st.idle.push_back(Idle {
                conn: returned.conn,
                born: returned.born,
                epoch: returned.epoch,
            });
            return;
        }
        st.size -= 1;
        drop(st);
        let conn = returned.conn;
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    let _ = tokio::time::timeout(HOUSEKEEPING_TIMEOUT, DB::close(conn)).await;
                });
            }
            Err(_) => drop(conn),
        }
    }

    /// Drops a connection without a goodbye and gives its slot back.
    fn forget(&self, conn: DB::Conn) {
        self.lock().size -= 1;
        drop(conn);
    }
}

/// What a dropped guard hands back to the pool.
struct Returned<DB: Driver> {
    conn: DB::Conn,
    born: Instant,
    generation: u64,
    epoch: u64,
    health: Health,
    /// Held until the connection is idle or closed.
    _permit: Option<OwnedSemaphorePermit>,
}

/// A checked-out connection. Dropped, it goes back to the pool: kept if it is clean,
/// rolled back first if it is inside a transaction, closed if a statement was cancelled
/// or failed with an I/O error.
pub(crate) struct Pooled<DB: Driver> {
    conn: Option<DB::Conn>,
    born: Instant,
    generation: u64,
    epoch: u64,
    health: Health,
    /// What failed statements did to the transaction (see [`TxWatch`]).
    tx: TxWatch,
    pool: Arc<Shared<DB>>,
    permit: Option<OwnedSemaphorePermit>,
}

impl<DB: Driver> Pooled<DB> {
    /// True when the connection can take another call: every call so far finished
    /// cleanly (or the pool keeps cancelled connections, see
    /// [`Shared::keeps_cancelled`]).
    fn usable(&self) -> bool {
        self.conn.is_some()
            && match self.health {
                Health::Clean => true,
                Health::Busy => self.pool.keeps_cancelled(),
                Health::Broken | Health::Disconnected => false,
            }
    }

    /// The driver connection and a [`Flight`] for one call on it. A connection that an
    /// earlier call left unusable is closed and, when `reopen`, replaced by a new one
    /// (same checkout, same permit); otherwise that is [`Error::ConnectionInvalidated`].
    pub(crate) async fn ready(&mut self, reopen: bool) -> Result<(&mut DB::Conn, Flight<'_>)> {
        if !self.usable() {
            let reason = match self.health {
                Health::Busy => "a statement was cancelled mid-flight",
                _ => "a statement failed with an I/O or protocol error",
            };
            if let Some(old) = self.conn.take() {
                if self.health == Health::Disconnected {
                    self.pool.lock().epoch += 1;
                }
                self.pool.forget(old);
            }
            if !reopen {
                return Err(Error::ConnectionInvalidated { reason });
            }
            self.health = Health::Clean;
            self.tx = TxWatch::default();
            // Boxed: rare, and a connect's future is large; held inline it made the
            // future of every statement larger (moved in memory each time).
            let (conn, generation, epoch) = Box::pin(self.pool.open()).await?;
            (self.conn, self.born) = (Some(conn), Instant::now());
            (self.generation, self.epoch) = (generation, epoch);
        }
        Ok(self.flight())
    }

    /// The driver connection, present, and a [`Flight`] for one call on it.
    fn flight(&mut self) -> (&mut DB::Conn, Flight<'_>) {
        let conn = self.conn.as_mut().expect("checked by the caller");
        let watch = if DB::depth(conn) == 0 {
            None
        } else if DB::NAME == "PostgreSQL" {
            Some(Watch::Postgres)
        } else if DB::NAME == "MySQL" {
            Some(Watch::MySql)
        } else {
            None
        };
        let tx = watch.map(|w| (&mut self.tx, w));
        (conn, Flight::start(&mut self.health, tx))
    }

    /// The driver connection, for a call that runs to its end with no `.await` (so
    /// none can be cancelled mid-flight), and a [`Flight`] to record its outcome;
    /// `None` when an earlier call left the connection in need of [`ready`]'s care.
    ///
    /// [`ready`]: Pooled::ready
    #[cfg(feature = "sqlite")]
    pub(crate) fn ready_at_once(&mut self) -> Option<(&mut DB::Conn, Flight<'_>)> {
        if self.health != Health::Clean || self.conn.is_none() {
            return None;
        }
        Some(self.flight())
    }

    /// `BEGIN` (`BEGIN IMMEDIATE` on SQLite with `immediate`), or `SAVEPOINT` inside a
    /// transaction (where `reopen` is false).
    pub(crate) async fn begin(&mut self, reopen: bool, immediate: bool) -> Result<()> {
        let (conn, flight) = self.ready(reopen).await?;
        flight.land(DB::begin(conn, immediate).await)
    }

    /// `COMMIT`, or `RELEASE SAVEPOINT` inside a nested transaction.
    ///
    /// A PostgreSQL transaction that a failed statement aborted cannot commit: the
    /// server would answer `COMMIT` with `ROLLBACK` and no error. It is rolled back and
    /// that is [`Error::TransactionAborted`]. (A savepoint's `RELEASE` is refused by the
    /// server itself.)
    pub(crate) async fn commit(&mut self) -> Result<()> {
        let (conn, flight) = self.ready(false).await?;
        if let Some((tx, _)) = &flight.tx {
            let top = DB::depth(conn) == 1;
            let refused = match (&tx.aborted, &tx.rolled_back) {
                (Some(cause), _) if top => Some(Error::TransactionAborted {
                    cause: cause.clone(),
                }),
                (_, Some(cause)) => Some(Error::TransactionRolledBack {
                    cause: cause.clone(),
                }),
                _ => None,
            };
            if let Some(refused) = refused {
                // The whole transaction is gone: end it (a savepoint level stays open,
                // and its guard rolls it back).
                if top {
                    flight.land(DB::rollback(conn).await)?;
                }
                return Err(refused);
            }
        }
        flight.land(DB::commit(conn).await)
    }

    /// `ROLLBACK`, or `ROLLBACK TO SAVEPOINT` inside a nested transaction. On a
    /// connection an earlier call left unusable there is nothing to send: it is closed,
    /// and the server rolls the whole transaction back.
    pub(crate) async fn rollback(&mut self) -> Result<()> {
        if !self.usable() {
            return Ok(());
        }
        let (conn, flight) = self.ready(false).await?;
        let outcome = DB::rollback(conn).await;
        flight.land(outcome)
    }

    /// Queues a rollback of the innermost transaction level without waiting for it (a
    /// savepoint guard's drop); the connection's next call sends it.
    pub(crate) fn start_rollback(&mut self) {
        if !self.usable() {
            return;
        }
        if self.tx.rolled_back.is_some() && !self.tx.shell {
            // The server has no savepoint to roll back to until the shell is open.
            self.tx.pending_rollbacks += 1;
            return;
        }
        if let Some(conn) = self.conn.as_mut() {
            DB::start_rollback(conn);
            // Rolling back to a savepoint, made before the failure, ends the abort.
            self.tx.aborted = None;
        }
    }

    /// A round trip to the server (on a new connection if the last call left this one
    /// unusable).
    pub(crate) async fn ping(&mut self) -> Result<()> {
        let (conn, flight) = self.ready(true).await?;
        flight.land(DB::ping(conn).await)
    }
}

#[cfg(feature = "mysql")]
/// MySQL's `innodb_rollback_on_timeout`: 1 when a lock wait timeout rolls back the
/// whole transaction. (Boxed here, with the connection's lifetime named, so that the
/// futures awaiting it are provably `Send`.)
fn rollback_on_timeout(
    conn: &mut sqlx::MySqlConnection,
) -> futures_core::future::BoxFuture<'_, Result<i64>> {
    Box::pin(async move {
        let row =
            sqlx::Executor::fetch_one(conn, "SELECT @@innodb_rollback_on_timeout + 0").await?;
        <sqlx::MySql as Driver>::wrap_row(row).get::<i64>(0)
    })
}

#[cfg(feature = "mysql")]
/// Runs `sql` (several statements) as it is.
fn run_script(
    conn: &mut sqlx::MySqlConnection,
    sql: String,
) -> futures_core::future::BoxFuture<'_, Result<()>> {
    Box::pin(async move {
        sqlx::Executor::execute(conn, sql.as_str()).await?;
        Ok(())
    })
}

#[cfg(feature = "mysql")]
impl Pooled<sqlx::MySql> {
    /// The connection and a flight for one call, on a connection known to be usable.
    fn ready_now(&mut self) -> (&mut sqlx::MySqlConnection, Flight<'_>) {
        let conn = self
            .conn
            .as_mut()
            .expect("settle checks the connection is usable");
        (conn, Flight::start(&mut self.health, None))
    }

    /// Before a statement or a savepoint: a transaction the server rolled back refuses
    /// it (see [`TxWatch::rolled_back`]).
    pub(crate) async fn refuse_if_rolled_back(&mut self) -> Result<()> {
        self.settle().await?;
        match &self.tx.rolled_back {
            Some(cause) => Err(Error::TransactionRolledBack {
                cause: cause.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Finds out whether a lock wait timeout rolled the whole transaction back, and
    /// after a server rollback opens the empty shell (see [`TxWatch::shell`]) and sends
    /// the savepoint rollbacks queued meanwhile.
    pub(crate) async fn settle(&mut self) -> Result<()> {
        let depth = match self.conn.as_ref() {
            Some(c) if self.usable() => {
                sqlx::mysql::MySqlTransactionManager::get_transaction_depth(c)
            }
            _ => return Ok(()),
        };
        if depth == 0 {
            self.tx = TxWatch::default();
            return Ok(());
        }
        if let Some(cause) = self.tx.timeout_unverified.take() {
            let (conn, flight) = self.ready_now();
            let on = flight.land(rollback_on_timeout(conn).await)?;
            if on == 1 && self.tx.rolled_back.is_none() {
                self.tx.rolled_back = Some(format!(
                    "a statement in it failed ({cause}) and MySQL rolls the whole transaction back for that error (innodb_rollback_on_timeout is on)"
                ));
                self.tx.shell = false;
            }
        }
        if self.tx.rolled_back.is_some() && !self.tx.shell {
            let mut sql = String::from("BEGIN");
            for level in 1..depth {
                sql.push_str(&format!("; SAVEPOINT _sqlx_savepoint_{level}"));
            }
            let (conn, flight) = self.ready_now();
            flight.land(run_script(conn, sql).await)?;
            self.tx.shell = true;
            while self.tx.pending_rollbacks > 0 {
                let (conn, flight) = self.ready_now();
                flight.land(
                    sqlx::mysql::MySqlTransactionManager::rollback(conn)
                        .await
                        .map_err(Error::from),
                )?;
                self.tx.pending_rollbacks -= 1;
            }
        }
        Ok(())
    }
}

impl<DB: Driver> Drop for Pooled<DB> {
    fn drop(&mut self) {
        if self.tx.rolled_back.is_some() && !self.tx.shell && self.health == Health::Clean {
            // sqlx's savepoints are gone on the server: resetting it would fail.
            self.health = Health::Broken;
        }
        if let Some(conn) = self.conn.take() {
            self.pool.check_in(Returned {
                conn,
                born: self.born,
                generation: self.generation,
                epoch: self.epoch,
                health: self.health,
                _permit: self.permit.take(),
            });
        }
    }
}
