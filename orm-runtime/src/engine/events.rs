//! Core events: every statement an engine runs, reported to listeners after it ends
//! (SQLAlchemy's `after_cursor_execute`). `echo` is one listener of the same stream.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::sql::Compiled;
use crate::value::Value;

/// One statement that ended, as a listener sees it.
#[derive(Debug)]
pub struct StatementEvent<'a> {
    /// The SQL text sent.
    pub sql: &'a str,
    /// Its bound values, in placeholder order.
    pub binds: &'a [Value],
    /// How long it took, from sending to the last row.
    pub elapsed: Duration,
    /// Rows returned or changed; `None` when it failed.
    pub rows: Option<u64>,
    /// Its error, when it failed.
    pub error: Option<&'a Error>,
}

type Listener = Arc<dyn Fn(&StatementEvent<'_>) + Send + Sync>;

/// Identifies a listener for [`Engine::unlisten`](super::Engine::unlisten).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenerId(u64);

/// The listeners of one engine, and whether it echoes.
pub(crate) struct Events {
    pub(crate) echo: bool,
    listeners: RwLock<Vec<(u64, Listener)>>,
    active: AtomicBool,
    next: AtomicU64,
}

impl Events {
    pub(crate) fn new(echo: bool) -> Arc<Events> {
        Arc::new(Events {
            echo,
            listeners: RwLock::new(Vec::new()),
            active: AtomicBool::new(false),
            next: AtomicU64::new(1),
        })
    }

    pub(crate) fn listen(&self, f: Listener) -> ListenerId {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut l) = self.listeners.write() {
            l.push((id, f));
            self.active.store(true, Ordering::Release);
        }
        ListenerId(id)
    }

    pub(crate) fn unlisten(&self, id: ListenerId) {
        if let Ok(mut l) = self.listeners.write() {
            l.retain(|(i, _)| *i != id.0);
            self.active.store(!l.is_empty(), Ordering::Release);
        }
    }

    fn wanted(&self) -> bool {
        self.echo || self.active.load(Ordering::Acquire)
    }

    /// The start time, when anyone will look at it.
    pub(crate) fn start(&self) -> Option<Instant> {
        self.wanted().then(Instant::now)
    }

    /// Reports a statement that ended.
    pub(crate) fn done(
        &self,
        c: &Compiled,
        started: Option<Instant>,
        outcome: std::result::Result<u64, &Error>,
    ) {
        if !self.wanted() {
            return;
        }
        let elapsed = started.map(|s| s.elapsed()).unwrap_or_default();
        if self.echo {
            match outcome {
                Ok(rows) => tracing::info!(
                    target: "orm::engine",
                    sql = %c.sql(),
                    binds = ?c.binds(),
                    elapsed = ?elapsed,
                    rows,
                    "{}",
                    c.sql()
                ),
                Err(e) => tracing::warn!(
                    target: "orm::engine",
                    sql = %c.sql(),
                    binds = ?c.binds(),
                    elapsed = ?elapsed,
                    error = %e,
                    "{}",
                    c.sql()
                ),
            }
        }
        if !self.active.load(Ordering::Acquire) {
            return;
        }
        let listeners: Vec<Listener> = match self.listeners.read() {
            Ok(l) => l.iter().map(|(_, f)| Arc::clone(f)).collect(),
            Err(_) => return,
        };
        let event = StatementEvent {
            sql: c.sql(),
            binds: c.binds(),
            elapsed,
            rows: outcome.ok(),
            error: outcome.err(),
        };
        for f in listeners {
            f(&event);
        }
    }
}
