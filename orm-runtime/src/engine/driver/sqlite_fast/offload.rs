//! Long queries on the fast path: a `SELECT` whose first step runs past
//! [`INLINE_STEP_OPS`] virtual-machine instructions on the calling task's thread is
//! interrupted (a read-only statement that has returned no row can be, with no effect
//! on the transaction) and run again from its start on tokio's blocking pool, so the
//! calling thread is free meanwhile and the call's future can be dropped (a timeout):
//! the abandoned statement is then interrupted and the connection waits for it to stop
//! before its next use.
//!
//! The progress handler that does the counting is called by SQLite every
//! [`PROGRESS_EVERY`] instructions, so a statement of the common size (a lookup, a
//! page of rows) never calls it at all.

use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use libsqlite3_sys as ffi;

use super::conn::StmtPtr;
use super::rows::{Batch, Columns};
use super::stmt::last_error;
use crate::error::{Error, Result};

/// SQLite calls the progress handler every this many virtual-machine instructions.
pub(crate) const PROGRESS_EVERY: c_int = 1000;

/// Instructions a statement's first step may run on the calling thread before it is
/// moved to the blocking pool: a few milliseconds of work.
pub(crate) const INLINE_STEP_OPS: u32 = 1_000_000;

/// What the progress handler reads and writes; boxed in `Locked`, so its address is
/// stable for as long as the handler is installed.
#[derive(Default)]
pub(crate) struct Progress {
    /// The step is watched (its statement may be moved if it runs long).
    pub(crate) armed: AtomicBool,
    /// Handler calls left before the watched step is interrupted.
    pub(crate) left: AtomicU32,
    /// The handler interrupted the watched step.
    pub(crate) tripped: AtomicBool,
    /// Interrupt whatever runs: set when a call abandons a statement on the blocking
    /// pool, cleared once it has stopped.
    pub(crate) cancel: AtomicBool,
}

impl Progress {
    /// Watches the next step.
    pub(crate) fn arm(&self) {
        self.left
            .store(INLINE_STEP_OPS / PROGRESS_EVERY as u32, Ordering::Relaxed);
        self.tripped.store(false, Ordering::Relaxed);
        self.armed.store(true, Ordering::Relaxed);
    }

    pub(crate) fn disarm(&self) {
        self.armed.store(false, Ordering::Relaxed);
    }

    /// True when the handler interrupted the watched step.
    pub(crate) fn tripped(&self) -> bool {
        self.tripped.load(Ordering::Relaxed)
    }
}

/// SQLite's progress handler on the fast path (see the module).
pub(crate) extern "C" fn on_progress(p: *mut c_void) -> c_int {
    // SAFETY: `p` is the `Progress` boxed in `Locked`, which removes this handler
    // before the box is freed.
    let p = unsafe { &*p.cast::<Progress>() };
    if p.cancel.load(Ordering::Relaxed) {
        return 1;
    }
    if p.armed.load(Ordering::Relaxed) {
        let left = p.left.load(Ordering::Relaxed);
        if left == 0 {
            p.tripped.store(true, Ordering::Relaxed);
            return 1;
        }
        p.left.store(left - 1, Ordering::Relaxed);
    }
    0
}

/// Set when a statement moved to the blocking pool has stopped.
#[derive(Default)]
pub(crate) struct Done {
    finished: Mutex<bool>,
    cv: Condvar,
}

impl Done {
    fn finish(&self) {
        *self.finished.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.cv.notify_all();
    }

    /// Blocks the thread until the statement has stopped.
    pub(crate) fn wait(&self) {
        let mut done = self.finished.lock().unwrap_or_else(|p| p.into_inner());
        while !*done {
            done = self.cv.wait(done).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// Raw pointers a job on the blocking pool uses: valid until `done` is set, since the
/// connection waits for it before it runs, finalizes or closes anything.
pub(crate) struct Job {
    pub(crate) db: *mut ffi::sqlite3,
    pub(crate) stmt: StmtPtr,
    pub(crate) progress: *const Progress,
    pub(crate) busy: *const AtomicBool,
    pub(crate) busy_timeout: Duration,
    pub(crate) columns: Arc<Columns>,
    pub(crate) limit: Option<usize>,
    /// Finalize the statement at the end (an uncached one), else reset it.
    pub(crate) finalize: bool,
    pub(crate) sql: String,
    pub(crate) done: Arc<Done>,
}

// SAFETY: see the type: the pointers are used by the job alone until it sets `done`.
unsafe impl Send for Job {}

impl Job {
    /// Steps the statement to its end (or `limit` rows) on the current thread, which
    /// may block: waits for other connections' locks sleep here.
    pub(crate) fn run(self) -> Result<Batch> {
        /// Marks the job done however it ends (a panic included).
        struct Finish<'a>(&'a Job);
        impl Drop for Finish<'_> {
            fn drop(&mut self) {
                // SAFETY: the job's statement, on the connection the job holds.
                unsafe { super::conn::release(self.0.stmt, self.0.finalize) };
                self.0.done.finish();
            }
        }
        let finish = Finish(&self);
        let mut batch = Batch::new(Arc::clone(&self.columns));
        let stmt = self.stmt.as_ptr();
        let mut waited = Duration::ZERO;
        let mut attempt = 0;
        while self.limit.is_none_or(|n| batch.rows() < n) {
            // SAFETY: the connection and statement are the job's (see the type).
            unsafe { &*self.busy }.store(false, Ordering::Relaxed);
            // SAFETY: as above.
            let rc = unsafe { ffi::sqlite3_step(stmt) };
            match rc {
                ffi::SQLITE_ROW => {
                    // SAFETY: a row was just returned.
                    unsafe { batch.push_current(stmt)? };
                    continue;
                }
                ffi::SQLITE_DONE => break,
                _ => {}
            }
            // SAFETY: as above.
            let cancelled = unsafe { &*self.progress }.cancel.load(Ordering::Relaxed);
            let wanted_to_wait = (rc & 0xff == ffi::SQLITE_BUSY
                // SAFETY: as above.
                && unsafe { &*self.busy }.load(Ordering::Relaxed))
                || rc == ffi::SQLITE_LOCKED_SHAREDCACHE;
            if cancelled || !(batch.rows() == 0 && wanted_to_wait && waited < self.busy_timeout) {
                // SAFETY: as above; the message is read before the reset.
                return Err(unsafe { last_error(self.db, Some(&self.sql)) });
            }
            // SAFETY: as above.
            unsafe { ffi::sqlite3_reset(stmt) };
            let delay = super::conn::busy_delay(attempt, self.busy_timeout - waited);
            std::thread::sleep(delay);
            waited += delay;
            attempt += 1;
        }
        drop(finish);
        Ok(batch)
    }
}

/// The error for a job that panicked or was cancelled by the runtime's shutdown: the
/// connection is treated as lost (the pool closes it).
pub(crate) fn lost(e: tokio::task::JoinError) -> Error {
    tracing::warn!(target: "orm::engine", error = %e, "a SQLite statement on the blocking pool did not finish");
    Error::ConnectionLost {
        source: sqlx::Error::WorkerCrashed,
    }
}
