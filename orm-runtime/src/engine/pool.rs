//! Connection pools with SQLAlchemy's kinds and settings, built on sqlx's pool.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use sqlx::Database;
use sqlx::pool::PoolOptions;

use crate::error::Error;

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

/// The most connections a [`PoolKind::Null`] engine has open at once.
pub const NULL_POOL_MAX_CONNECTIONS: u32 = 1024;

/// Pool settings, with SQLAlchemy's names and defaults.
#[derive(Debug, Clone)]
pub(crate) struct PoolConfig {
    pub(crate) kind: Option<PoolKind>,
    pub(crate) pool_size: u32,
    pub(crate) max_overflow: u32,
    pub(crate) pool_timeout: Duration,
    pub(crate) pool_recycle: Option<Duration>,
    pub(crate) pool_pre_ping: bool,
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

    /// Maps a checkout error: sqlx's `PoolTimedOut` becomes [`Error::PoolTimeout`].
    pub(crate) fn checkout_error(&self, e: sqlx::Error) -> Error {
        match e {
            sqlx::Error::PoolTimedOut => self.timeout_error(),
            other => Error::from(other),
        }
    }
}

/// A sqlx pool implementing `cfg` with `kind` resolved, and what breaks its hooks'
/// reference to it when the engine goes.
///
/// sqlx's own `max_lifetime` and `test_before_acquire` are not used: sqlx checks the
/// lifetime only when a connection is returned and in a periodic reaper, so an idle
/// connection past `pool_recycle` could still be handed out. Instead the queue pool's
/// `before_acquire` / `after_release` hooks do recycle, pre-ping and overflow:
/// - `after_release` keeps a returned connection only if it is younger than
///   `pool_recycle` and fewer than `pool_size` are idle (else it is closed: overflow);
/// - `before_acquire` frees its idle slot, then rejects a connection that is too old or
///   fails its ping, and sqlx opens a fresh one.
///
/// The idle count is kept here, not read from the pool, because connections returned
/// at the same moment would all see the same count.
pub(crate) fn build_pool<DB: Database>(
    cfg: &PoolConfig,
    kind: PoolKind,
    connect: <DB::Connection as sqlx::Connection>::Options,
) -> (sqlx::Pool<DB>, Box<dyn Fn() + Send + Sync>) {
    let base = PoolOptions::<DB>::new()
        .acquire_timeout(cfg.pool_timeout)
        .min_connections(0)
        // SQLAlchemy never closes a connection for being idle.
        .idle_timeout(None)
        .max_lifetime(None)
        .test_before_acquire(false);
    let pre_ping = cfg.pool_pre_ping;
    match kind {
        PoolKind::Queue => {
            // SQLAlchemy: `pool_size = 0` means no limit.
            let (pool_size, max) = match cfg.pool_size {
                0 => (NULL_POOL_MAX_CONNECTIONS, NULL_POOL_MAX_CONNECTIONS),
                n => (n, n.saturating_add(cfg.max_overflow).max(1)),
            };
            let hooks = Arc::new(QueueHooks {
                idle: AtomicU32::new(0),
                pool_size,
                recycle: cfg.pool_recycle,
                pool: std::sync::Mutex::new(None),
            });
            let (on_release, on_acquire, on_connect) =
                (Arc::clone(&hooks), Arc::clone(&hooks), Arc::clone(&hooks));
            let pool = base
                .max_connections(max)
                .after_release(move |_conn, meta| {
                    let keep = !on_release.too_old(meta.age) && on_release.reserve_idle_slot();
                    Box::pin(async move { Ok(keep) })
                })
                .before_acquire(move |conn, meta| {
                    on_acquire.release_idle_slot();
                    let too_old = on_acquire.too_old(meta.age);
                    Box::pin(async move { Ok(!too_old && (!pre_ping || alive(conn).await)) })
                })
                .after_connect(move |_conn, _meta| {
                    on_connect.resync();
                    Box::pin(async { Ok(()) })
                })
                .connect_lazy_with(connect);
            *hooks.pool.lock().unwrap_or_else(|p| p.into_inner()) = Some(pool.clone());
            // The hooks hold the pool and the pool holds the hooks: the engine breaks the
            // cycle when it is dropped.
            (pool, Box::new(move || hooks.clear()))
        }
        PoolKind::Null => (
            base.max_connections(NULL_POOL_MAX_CONNECTIONS)
                .after_release(|_conn, _meta| Box::pin(async { Ok(false) }))
                .connect_lazy_with(connect),
            Box::new(|| {}),
        ),
        PoolKind::Static => (
            base.max_connections(1)
                .before_acquire(move |conn, _meta| {
                    Box::pin(async move { Ok(!pre_ping || alive(conn).await) })
                })
                .connect_lazy_with(connect),
            Box::new(|| {}),
        ),
    }
}

async fn alive<C: sqlx::Connection>(conn: &mut C) -> bool {
    conn.ping().await.is_ok()
}

struct QueueHooks<DB: Database> {
    /// Connections the pool has agreed to keep idle.
    idle: AtomicU32,
    pool_size: u32,
    recycle: Option<Duration>,
    /// The pool itself, to correct `idle` (see [`QueueHooks::resync`]).
    pool: std::sync::Mutex<Option<sqlx::Pool<DB>>>,
}

impl<DB: Database> QueueHooks<DB> {
    /// A connection the pool agreed to keep can still be closed by sqlx after
    /// `after_release` (its release-time ping failed: the server dropped it), and no hook
    /// says so. A new connection is opened only when none is idle, so at that moment the
    /// count is brought down to what the pool really holds; otherwise leaked slots would
    /// pile up until the pool kept nothing.
    fn resync(&self) {
        let actual = self
            .pool
            .lock()
            .ok()
            .and_then(|p| p.as_ref().map(|p| p.num_idle()));
        if let Some(actual) = actual {
            self.idle
                .fetch_min(u32::try_from(actual).unwrap_or(u32::MAX), Ordering::AcqRel);
        }
    }

    fn clear(&self) {
        if let Ok(mut p) = self.pool.lock() {
            *p = None;
        }
    }

    fn too_old(&self, age: Duration) -> bool {
        self.recycle.is_some_and(|max| age >= max)
    }

    fn reserve_idle_slot(&self) -> bool {
        self.idle
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.pool_size).then_some(n + 1)
            })
            .is_ok()
    }

    fn release_idle_slot(&self) {
        // Never below zero, even if sqlx handed out a connection it never released.
        let _ = self
            .idle
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
    }
}
