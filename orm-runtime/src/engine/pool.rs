//! Connection pools with SQLAlchemy's kinds and settings, built on sqlx's pool.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::pool::PoolOptions;
use sqlx::{Database, Pool};

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
        Error::PoolTimeout {
            timeout: self.pool_timeout,
            pool_size: self.pool_size,
            max_overflow: self.max_overflow,
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

/// A handle through which `after_release` sees its own pool. Cleared when the engine is
/// dropped, so the pool and its callback do not keep each other alive.
pub(crate) type PoolSlot<DB> = Arc<Mutex<Option<Pool<DB>>>>;

/// sqlx pool options implementing `cfg` (with `kind` resolved), plus the slot the
/// queue pool's overflow check reads.
pub(crate) fn pool_options<DB: Database>(
    cfg: &PoolConfig,
    kind: PoolKind,
) -> (PoolOptions<DB>, PoolSlot<DB>) {
    let slot: PoolSlot<DB> = Arc::new(Mutex::new(None));
    let base = PoolOptions::<DB>::new()
        .acquire_timeout(cfg.pool_timeout)
        .min_connections(0)
        // SQLAlchemy never closes a connection for being idle.
        .idle_timeout(None)
        .max_lifetime(cfg.pool_recycle)
        .test_before_acquire(cfg.pool_pre_ping);
    let opts = match kind {
        PoolKind::Queue => {
            let pool_size = cfg.pool_size;
            let seen = Arc::clone(&slot);
            base.max_connections(cfg.pool_size.saturating_add(cfg.max_overflow).max(1))
                .after_release(move |_conn, _meta| {
                    // Overflow connections are closed on return: keep a returned
                    // connection only while fewer than `pool_size` sit idle.
                    let idle = seen
                        .lock()
                        .ok()
                        .and_then(|p| p.as_ref().map(|p| p.num_idle()))
                        .unwrap_or(0);
                    let keep = u32::try_from(idle).unwrap_or(u32::MAX) < pool_size;
                    Box::pin(async move { Ok(keep) })
                })
        }
        PoolKind::Null => base
            .max_connections(NULL_POOL_MAX_CONNECTIONS)
            .after_release(|_conn, _meta| Box::pin(async { Ok(false) })),
        PoolKind::Static => base.max_connections(1).max_lifetime(None).test_before_acquire(false),
    };
    (opts, slot)
}
