//! SQLite's fast path: statements stepped directly through SQLite's C API on sqlx's
//! own connection, locked once (see [`conn`]), instead of one round trip to sqlx's
//! worker thread per statement and a channel message per row.
//!
//! The path the user sees is the same as sqlx's: the same binds stored the same way,
//! the same rows (read by position from one buffer per result, see [`rows`]), the
//! same errors, the same statement events. What differs:
//!
//! - statements run on the calling task's thread. A result of many rows yields to the
//!   runtime every [`YIELD_AFTER`](crate::engine::exec::YIELD_AFTER) of stepping, so other tasks (on a current-thread
//!   runtime too) keep running; one step of one statement (a sort or an aggregate over
//!   a large table before the first row) is not interrupted: for such statements turn
//!   the fast path off (`EngineBuilder::sqlite_fast_path(false)`), which runs them on
//!   sqlx's worker thread;
//! - a statement that waits for another connection's lock waits asynchronously (see
//!   [`conn::Locked::step`]) instead of sleeping on the thread;
//! - a future dropped mid-result leaves the connection usable: the statement is reset
//!   when its guard drops.

pub(crate) mod conn;
pub(crate) mod offload;
pub(crate) mod rows;
pub(crate) mod stmt;
#[cfg(test)]
mod tests;

use std::ffi::c_int;
use std::sync::Arc;

use futures_core::stream::BoxStream;
use libsqlite3_sys as ffi;

use self::conn::{Locked, Running, SqliteConn, Stepped, StmtPtr};
use self::rows::{Batch, Columns, FastRow};
use self::stmt::{Prepared, bind_all};
use crate::engine::QueryResult;
use crate::engine::events::Events;
use crate::engine::exec::{Budget, RowidInsert, Visitor};
use crate::error::Result;
use crate::row::{Row, RowInner};
use crate::sql::Compiled;
use crate::value::Value;

/// What one call produced.
#[derive(Default)]
struct Outcome {
    /// The rows of the statement that returned columns (of the first, for text with
    /// several statements; the others' in `more`).
    batch: Option<Batch>,
    more: Vec<Batch>,
    changes: u64,
    /// The statement is an INSERT with `ON CONFLICT`: `last_insert_rowid()` was set
    /// to 0 before it.
    upsert: bool,
    /// The rows handed to a [`Visitor`] instead of collected.
    visited: u64,
}

impl Outcome {
    fn push(&mut self, batch: Batch) {
        if self.batch.is_none() {
            self.batch = Some(batch);
        } else {
            self.more.push(batch);
        }
    }

    fn rows(self) -> Vec<Row> {
        let Some(first) = self.batch else {
            return Vec::new();
        };
        let n = first.rows() + self.more.iter().map(Batch::rows).sum::<usize>();
        let mut rows = Vec::with_capacity(n);
        for b in std::iter::once(first).chain(self.more) {
            rows.extend(b.into_rows().map(|r| Row(RowInner::SqliteFast(r))));
        }
        rows
    }

    fn first_row(self) -> Option<Row> {
        let b = self.batch?;
        b.into_rows().next().map(|r| Row(RowInner::SqliteFast(r)))
    }
}

/// Runs one prepared statement to its end (or `limit` rows), binding from `offset`;
/// its rows are collected into `out`, or handed to `visit` one by one. Returns the
/// anonymous parameters it consumed.
#[allow(clippy::too_many_arguments)]
async fn run_one(
    l: &mut Locked,
    stmt: StmtPtr,
    columns: Arc<Columns>,
    owned: bool,
    binds: &[Value],
    offset: usize,
    limit: Option<usize>,
    sql: &str,
    out: &mut Outcome,
    mut visit: Option<&mut Visitor<'_>>,
) -> Result<usize> {
    let mut running = Running {
        stmt,
        owned,
        detached: false,
    };
    // SAFETY: the connection is locked; the statement is reset (new, or reset by the
    // last call's `Running`); `binds` outlive `running`, which clears the bindings.
    let used = unsafe { bind_all(l.db(), stmt.as_ptr(), binds, offset, false, sql)? };
    // SAFETY: as above.
    let (before, readonly) = unsafe {
        (
            ffi::sqlite3_total_changes64(l.db()),
            ffi::sqlite3_stmt_readonly(stmt.as_ptr()) != 0,
        )
    };
    // A query (read-only, with columns) that runs long before its first row moves to
    // the blocking pool.
    let watch = readonly && columns.len() > 0;
    // Room for a small limit's rows (`fetch_optional`: one) from the start; none when a
    // visitor reads them in place.
    let room = match (&visit, limit) {
        (Some(_), _) | (None, None) => 0,
        (None, Some(n)) => n.min(16),
    };
    let mut batch = Batch::with_rows(Arc::clone(&columns), room);
    // A visitor reads each row in place, as the statement holds it: nothing is copied.
    // SAFETY: the row is lent to `visit` only right after a step returned a row, and
    // dropped with this call, which holds the lock.
    let live = visit.is_some().then(|| {
        Row(RowInner::SqliteFast(unsafe {
            FastRow::live(stmt.as_ptr(), Arc::clone(&columns))
        }))
    });
    let mut budget = Budget::new();
    let mut rows = 0;
    while limit.is_none_or(|n| rows < n) {
        let first = rows == 0;
        let stepped = match l.step_once(stmt, watch && first) {
            Ok(stepped) => stepped,
            // Boxed (rare), as `offload` below: see `run`.
            Err(rc) => Box::pin(l.step_after(rc, stmt, first, watch && first, sql)).await?,
        };
        match stepped {
            Stepped::Row => {}
            Stepped::Done => break,
            Stepped::Offload => {
                batch =
                    Box::pin(offload(l, &mut running, columns, binds, offset, limit, sql)).await?;
                if let Some(visit) = visit.as_deref_mut() {
                    for row in std::mem::replace(&mut batch, Batch::empty()).into_rows() {
                        visit(&Row(RowInner::SqliteFast(row)))?;
                        out.visited += 1;
                    }
                }
                break;
            }
        }
        match (visit.as_deref_mut(), live.as_ref()) {
            (Some(visit), Some(row)) => {
                visit(row)?;
                out.visited += 1;
            }
            // SAFETY: the statement has just returned a row; its column count was read
            // after the last (re)prepare (see `Stmt::refresh_columns`).
            _ => unsafe { batch.push_current(stmt.as_ptr())? },
        }
        rows += 1;
        budget.tick(rows).await;
    }
    if !readonly {
        // SAFETY: as above.
        let (after, changes) = unsafe {
            (
                ffi::sqlite3_total_changes64(l.db()),
                ffi::sqlite3_changes64(l.db()),
            )
        };
        // `sqlite3_changes` is left as it was by statements other than INSERT, UPDATE
        // and DELETE: counted only when this one changed something.
        if after != before {
            out.changes += changes.max(0) as u64;
        }
    }
    if batch.width() > 0 && visit.is_none() {
        out.push(batch);
    }
    drop(running);
    Ok(used)
}

/// Runs SQL text with its binds: a cached prepared statement when it is one statement,
/// else each statement in turn (binds consumed in order, as sqlx does).
async fn run(
    l: &mut Locked,
    sql: &str,
    binds: &[Value],
    limit: Option<usize>,
    visit: Option<&mut Visitor<'_>>,
) -> Result<Outcome> {
    let mut out = Outcome::default();
    // SAFETY: the connection is locked.
    let Some((ptr, columns, flags)) = (unsafe { cached(l, sql)? }) else {
        out.upsert = is_upsert(sql);
        if out.upsert {
            // SAFETY: as above. See `Driver::reset_insert_id`.
            unsafe { ffi::sqlite3_set_last_insert_rowid(l.db(), 0) };
        }
        // Boxed: an uncached statement is rare, and its future held inline made every
        // statement's larger.
        Box::pin(run_script(l, sql, binds, &mut out, visit)).await?;
        return Ok(out);
    };
    let busy_pragma = flags.busy_pragma;
    out.upsert = flags.upsert;
    if flags.upsert {
        // SQLite's `last_insert_rowid()` repeats the connection's last insert when an
        // upsert takes its UPDATE path: 0 first, so that an unchanged 0 says no row was
        // inserted (see `Driver::reset_insert_id`).
        // SAFETY: the connection is locked.
        unsafe { ffi::sqlite3_set_last_insert_rowid(l.db(), 0) };
    }
    if busy_pragma {
        // (Exposed already if it was prepared just now: a PRAGMA reads the setting as
        // it is prepared.)
        l.expose_busy_timeout();
    }
    let ran = run_one(
        l, ptr, columns, false, binds, 0, limit, sql, &mut out, visit,
    )
    .await;
    if busy_pragma {
        l.hide_busy_timeout();
    }
    ran?;
    Ok(out)
}

/// True for an INSERT that may hold an `ON CONFLICT` clause (an upsert).
fn is_upsert(sql: &str) -> bool {
    crate::engine::exec::is_insert(sql) && super::sqlite::is_upsert(sql)
}

/// The cached statement for `sql` (prepared and cached on a miss), its columns and
/// flags; `None` when the text is not exactly one statement (several, or none: run it
/// with [`run_script`]).
///
/// # Safety
/// The connection is locked and no cached statement is being stepped.
unsafe fn cached(
    l: &mut Locked,
    sql: &str,
) -> Result<Option<(StmtPtr, Arc<Columns>, stmt::Flags)>> {
    if let Some(stmt) = l.stmts.get(sql) {
        // SAFETY: the caller's promise.
        unsafe { stmt.refresh_columns() };
        return Ok(Some((stmt.ptr(), Arc::clone(stmt.columns()), stmt.flags())));
    }
    // SAFETY: the caller's promise.
    Ok(match unsafe { prepare_exposed(l, sql)? } {
        Prepared::Single(stmt) => {
            // SAFETY: the caller's promise.
            let stmt = unsafe { l.stmts.insert(sql, stmt) };
            Some((stmt.ptr(), Arc::clone(stmt.columns()), stmt.flags()))
        }
        Prepared::First(first, _) => {
            // SAFETY: the caller's promise.
            unsafe { first.finalize() };
            None
        }
        Prepared::Empty => None,
    })
}

/// Moves a statement that ran long (see [`Stepped::Offload`]) to the blocking pool and
/// runs it from its start there: its values bound again as copies (the job may outlive
/// this call), and `running` detached (the job resets or finalizes it).
#[allow(clippy::too_many_arguments)]
async fn offload(
    l: &mut Locked,
    running: &mut Running,
    columns: Arc<Columns>,
    binds: &[Value],
    offset: usize,
    limit: Option<usize>,
    sql: &str,
) -> Result<Batch> {
    let stmt = running.stmt;
    // SAFETY: the connection is locked and the statement reset.
    unsafe {
        ffi::sqlite3_clear_bindings(stmt.as_ptr());
        bind_all(l.db(), stmt.as_ptr(), binds, offset, true, sql)?;
    }
    running.detached = true;
    l.offload(stmt, columns, limit, running.owned, sql).await
}

/// Prepares `sql` for the cache, with the connection's busy timeout exposed (and
/// hidden again) around it when the text names `busy_timeout`.
///
/// # Safety
/// The connection is locked.
unsafe fn prepare_exposed(l: &mut Locked, sql: &str) -> Result<Prepared> {
    let busy_pragma = stmt::mentions_busy_timeout(sql);
    if busy_pragma {
        l.expose_busy_timeout();
    }
    // SAFETY: the caller's promise.
    let prepared = unsafe { stmt::prepare(l.db(), sql, true, sql) };
    if busy_pragma {
        l.hide_busy_timeout();
    }
    prepared
}

/// Runs each statement of `sql` in turn, uncached.
async fn run_script(
    l: &mut Locked,
    sql: &str,
    binds: &[Value],
    out: &mut Outcome,
    visit: Option<&mut Visitor<'_>>,
) -> Result<()> {
    let busy_pragma = stmt::mentions_busy_timeout(sql);
    if busy_pragma {
        l.expose_busy_timeout();
    }
    let ran = run_statements(l, sql, binds, out, visit).await;
    if busy_pragma {
        l.hide_busy_timeout();
    }
    ran
}

async fn run_statements(
    l: &mut Locked,
    sql: &str,
    binds: &[Value],
    out: &mut Outcome,
    mut visit: Option<&mut Visitor<'_>>,
) -> Result<()> {
    let mut rest = 0;
    let mut offset = 0;
    while rest < sql.len() {
        // SAFETY: the connection is locked.
        let (stmt, next) = match unsafe { stmt::prepare(l.db(), &sql[rest..], false, sql)? } {
            Prepared::Single(s) => (s, sql.len()),
            Prepared::First(s, tail) => (s, rest + tail),
            Prepared::Empty => break,
        };
        rest = next;
        // Finalized by `run_one`'s guard. (The columns were once cloned here and the
        // statement forgotten: every statement of a script leaked its columns.)
        let (ptr, columns) = stmt.into_parts();
        let visit = visit.as_deref_mut();
        offset += run_one(l, ptr, columns, true, binds, offset, None, sql, out, visit).await?;
    }
    Ok(())
}

/// `execute` on the fast path: rows (of `RETURNING`), the rows changed, and the id an
/// INSERT generated, by the same rules as the sqlx path (`exec::execute_on`).
pub(crate) async fn execute(
    conn: &mut SqliteConn,
    c: &Compiled,
    echo: &Events,
) -> Result<QueryResult> {
    let started = echo.start();
    let result = async {
        let l = conn.for_statement().await?;
        let insert = crate::engine::exec::is_insert(c.sql());
        let out = run(l, c.sql(), c.binds(), None, None).await?;
        Ok(executed(l, insert, out))
    }
    .await;
    ended(conn, c, echo, started, result)
}

/// What `execute` reports of a statement that ran: the rows changed, and the id an
/// INSERT generated, by the same rules as the sqlx path (`exec::execute_on`).
fn executed(l: &Locked, insert: bool, out: Outcome) -> QueryResult {
    let upsert = out.upsert;
    // SAFETY: the connection is locked (by whoever lent `l`).
    let last_id = unsafe { ffi::sqlite3_last_insert_rowid(l.db()) };
    let changes = out.changes;
    let rows = out.rows();
    // As `exec::execute_on`: only an INSERT that inserted reports an id, and a
    // statement that returns rows without a count counts its rows.
    let inserted = insert && changes > 0 && !(upsert && last_id == 0);
    QueryResult {
        rows_affected: if changes == 0 {
            rows.len() as u64
        } else {
            changes
        },
        rows,
        last_insert_id: inserted.then_some(Value::I64(last_id)),
        inserted_primary_key: None,
    }
}

/// `execute` with no `.await`, for the statement that needs none: one already prepared
/// in the cache that returns no rows (an INSERT, UPDATE or DELETE without RETURNING),
/// on a connection ready for it (see [`SqliteConn::ready_now`]). It skips the layers
/// of futures a statement otherwise goes through, each one moved and polled per call:
/// a third of the engine's own time on a one-row INSERT.
///
/// `None`: nothing ran (or a lock held elsewhere stopped the statement before it did
/// anything, which the asynchronous path then waits out); the caller takes that path.
pub(crate) fn execute_now(
    conn: &mut SqliteConn,
    c: &Compiled,
    echo: &Events,
) -> Option<Result<QueryResult>> {
    let started = echo.start();
    let result = run_now(conn.ready_now()?, c)?;
    Some(ended(conn, c, echo, started, result))
}

/// After `execute` ran a statement: SQLite's transaction checked, the statement's event
/// sent.
fn ended(
    conn: &mut SqliteConn,
    c: &Compiled,
    echo: &Events,
    started: Option<std::time::Instant>,
    result: Result<QueryResult>,
) -> Result<QueryResult> {
    conn.check_transaction(result.as_ref().err());
    echo.done(c, started, result.as_ref().map(QueryResult::rows_affected));
    result
}

/// The statement of [`execute_now`], run to its end on `l`; `None` when it cannot be
/// without an `.await`.
fn run_now(l: &mut Locked, c: &Compiled) -> Option<Result<QueryResult>> {
    let (sql, binds) = (c.sql(), c.binds());
    let stmt = l.stmts.get(sql)?;
    let (ptr, flags) = (stmt.ptr(), stmt.flags());
    // SAFETY (every block here): the connection is locked (`ready_now`), `ptr` is one
    // of its cached statements and no other is being stepped (nothing is in flight).
    if flags.busy_pragma || unsafe { ffi::sqlite3_column_count(ptr.as_ptr()) } != 0 {
        return None;
    }
    if flags.upsert {
        // As `run`: see `Driver::reset_insert_id`.
        unsafe { ffi::sqlite3_set_last_insert_rowid(l.db(), 0) };
    }
    // Reset and its bindings cleared when dropped, whatever happens below.
    let running = Running {
        stmt: ptr,
        owned: false,
        detached: false,
    };
    if let Err(e) = unsafe { bind_all(l.db(), ptr.as_ptr(), binds, 0, false, sql) } {
        return Some(Err(e));
    }
    let before = unsafe { ffi::sqlite3_total_changes64(l.db()) };
    loop {
        match l.step_once(ptr, false) {
            // (A statement without columns has no rows; stepped on all the same.)
            Ok(Stepped::Row) => {}
            Ok(Stepped::Done | Stepped::Offload) => break,
            // Nothing ran: the asynchronous path waits for the lock and runs it.
            Err(rc) if l.wanted_to_wait(rc) => return None,
            Err(_) => {
                // The message is read before `running` resets the statement.
                let e = unsafe { stmt::last_error(l.db(), Some(sql)) };
                drop(running);
                return Some(Err(e));
            }
        }
    }
    let (after, changes) = unsafe {
        (
            ffi::sqlite3_total_changes64(l.db()),
            ffi::sqlite3_changes64(l.db()),
        )
    };
    drop(running);
    let out = Outcome {
        // As `run_one`: counted only when this statement changed something.
        changes: if after != before {
            changes.max(0) as u64
        } else {
            0
        },
        upsert: flags.upsert,
        ..Outcome::default()
    };
    Some(Ok(executed(l, crate::engine::exec::is_insert(sql), out)))
}

/// Runs `c`, a one-row INSERT without RETURNING, when this connection has proven (see
/// [`remember_rowid_key`]) that the key its table generates is the row's rowid, so
/// that `last_insert_rowid()` tells the key: RETURNING's temporary table costs SQLite
/// more than the INSERT itself.
pub(crate) async fn insert_by_rowid(
    conn: &mut SqliteConn,
    c: &Compiled,
    echo: &Events,
) -> Result<RowidInsert> {
    let (stmt, compiled) = match rowid_known(conn.for_statement().await?, c.sql()) {
        Ok(known) => known,
        Err(not) => return Ok(not),
    };
    let result = execute(conn, c, echo).await?;
    // SAFETY: the connection is locked, and the statement still cached (a hit evicts
    // nothing).
    let still = unsafe { stmt::recompiled(stmt.as_ptr()) } == compiled;
    Ok(RowidInsert::Ran { result, still })
}

/// [`insert_by_rowid`] with no `.await`, as [`execute_now`]; `None`: nothing ran.
pub(crate) fn insert_by_rowid_now(
    conn: &mut SqliteConn,
    c: &Compiled,
    echo: &Events,
) -> Option<Result<RowidInsert>> {
    let l = conn.ready_now()?;
    let (stmt, compiled) = match rowid_known(l, c.sql()) {
        Ok(known) => known,
        Err(not) => return Some(Ok(not)),
    };
    let started = echo.start();
    let result = run_now(l, c)?;
    let result = match ended(conn, c, echo, started, result) {
        Ok(result) => result,
        Err(e) => return Some(Err(e)),
    };
    // SAFETY: as in `insert_by_rowid`.
    let still = unsafe { stmt::recompiled(stmt.as_ptr()) } == compiled;
    Some(Ok(RowidInsert::Ran { result, still }))
}

/// The cached statement of `sql` and its compilation count, when the key of the table
/// it writes is proven to be the rowid; else what [`insert_by_rowid`] answers.
fn rowid_known(l: &mut Locked, sql: &str) -> std::result::Result<(StmtPtr, c_int), RowidInsert> {
    // SAFETY: the connection is locked (by whoever lent `l`).
    let known = l
        .stmts
        .get(sql)
        .and_then(|s| unsafe { s.rowid_key().map(|rowid| (rowid, s.ptr(), s.recompiled())) });
    match known {
        None => Err(RowidInsert::Unknown {
            prove: l.stmts.unproven_run(sql),
        }),
        Some((false, ..)) => Err(RowidInsert::NotRowid),
        Some((true, stmt, compiled)) => Ok((stmt, compiled)),
    }
}

/// Records for `sql` (a one-row INSERT without RETURNING, prepared now if it is not
/// cached) whether the key its table generates is the row's rowid, as a query of the
/// schema just proved: [`insert_by_rowid`] runs it while SQLite has not compiled it
/// again (which a change of the schema, or a rolled-back one, makes it do).
pub(crate) async fn remember_rowid_key(
    conn: &mut SqliteConn,
    sql: &str,
    rowid: bool,
) -> Result<()> {
    let l = conn.for_statement().await?;
    l.stmts.proven(sql);
    // SAFETY: the connection is locked and no cached statement is being stepped.
    if unsafe { cached(l, sql)? }.is_some() {
        if let Some(stmt) = l.stmts.get(sql) {
            // SAFETY: as above.
            unsafe { stmt.set_rowid_key(rowid) };
        }
    }
    Ok(())
}

/// `fetch_all` on the fast path.
pub(crate) async fn fetch_all(
    conn: &mut SqliteConn,
    c: &Compiled,
    echo: &Events,
) -> Result<Vec<Row>> {
    let started = echo.start();
    let result = async {
        let l = conn.for_statement().await?;
        Ok(run(l, c.sql(), c.binds(), None, None).await?.rows())
    }
    .await;
    conn.check_transaction(result.as_ref().err());
    echo.done(c, started, result.as_ref().map(|r| r.len() as u64));
    result
}

/// `fetch_each` on the fast path: each row handed to `visit` as it is stepped, read in
/// place (no result held whole); the number of rows.
pub(crate) async fn fetch_each(
    conn: &mut SqliteConn,
    c: &Compiled,
    echo: &Events,
    visit: &mut Visitor<'_>,
) -> Result<u64> {
    visit_rows(conn, c, echo, None, visit).await
}

/// `fetch_first_each` on the fast path: the first row handed to `visit` in place, the
/// statement reset after it.
pub(crate) async fn fetch_first_each(
    conn: &mut SqliteConn,
    c: &Compiled,
    echo: &Events,
    visit: &mut Visitor<'_>,
) -> Result<u64> {
    visit_rows(conn, c, echo, Some(1), visit).await
}

/// Runs `c` and hands its rows (the first `limit`, or all) to `visit` as they are
/// stepped; the number of rows.
async fn visit_rows(
    conn: &mut SqliteConn,
    c: &Compiled,
    echo: &Events,
    limit: Option<usize>,
    visit: &mut Visitor<'_>,
) -> Result<u64> {
    let started = echo.start();
    let result = async {
        let l = conn.for_statement().await?;
        Ok(run(l, c.sql(), c.binds(), limit, Some(visit))
            .await?
            .visited)
    }
    .await;
    conn.check_transaction(result.as_ref().err());
    echo.done(c, started, result.as_ref().map(|n| *n));
    result
}

/// `fetch_optional` on the fast path: the first row, the statement reset after it.
pub(crate) async fn fetch_optional(
    conn: &mut SqliteConn,
    c: &Compiled,
    echo: &Events,
) -> Result<Option<Row>> {
    let started = echo.start();
    let result = async {
        let l = conn.for_statement().await?;
        Ok(run(l, c.sql(), c.binds(), Some(1), None).await?.first_row())
    }
    .await;
    conn.check_transaction(result.as_ref().err());
    echo.done(c, started, result.as_ref().map(|r| u64::from(r.is_some())));
    result
}

/// `execute_script` on the fast path: each statement in turn, the rows changed in all.
pub(crate) async fn execute_script(conn: &mut SqliteConn, sql: &str, echo: &Events) -> Result<u64> {
    crate::engine::exec::check_sql_text(sql)?;
    let started = echo.start();
    let result = async {
        let l = conn.for_statement().await?;
        let mut out = Outcome::default();
        run_script(l, sql, &[], &mut out, None).await?;
        Ok(out.changes)
    }
    .await;
    conn.check_transaction(result.as_ref().err());
    if started.is_some() {
        let shown = Compiled::new(sql, Vec::new());
        echo.done(&shown, started, result.as_ref().map(|n| *n));
    }
    result
}

/// `fetch` on the fast path: rows as they are stepped. Dropped early, the stream resets
/// its statement and leaves the connection usable.
pub(crate) fn fetch<'a>(
    conn: &'a mut SqliteConn,
    c: Compiled,
    echo: Arc<Events>,
) -> BoxStream<'a, Result<Row>> {
    Box::pin(async_stream::try_stream! {
            let started = echo.start();
        let l = conn
            .for_statement()
            .await
            .inspect_err(|e| echo.done(&c, started, Err(e)))?;
        let mut n = 0u64;
        let mut failed = None;
        {
            let streamed = stream_rows(l, &c);
            futures_util::pin_mut!(streamed);
            while let Some(item) = futures_util::StreamExt::next(&mut streamed).await {
                match item {
                    Ok(row) => {
                        n += 1;
                        yield row;
                    }
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
        }
        conn.check_transaction(failed.as_ref());
        if let Some(e) = failed {
            echo.done(&c, started, Err(&e));
            Err(e)?;
        }
        echo.done(&c, started, Ok(n));
    })
}

/// The rows of `c`, one batch each, as its statement steps; text with several
/// statements runs whole first.
fn stream_rows<'a>(
    l: &'a mut Locked,
    c: &'a Compiled,
) -> impl futures_core::Stream<Item = Result<Row>> + Send + 'a {
    async_stream::try_stream! {
        let sql = c.sql();
        // SAFETY: the connection is locked.
        let found = unsafe { cached(l, sql)? };
        let (ptr, columns) = match found {
            Some((ptr, columns, flags)) if !flags.busy_pragma => (ptr, columns),
            // Several statements, or a PRAGMA that needs the busy timeout exposed: run
            // whole, then yield the rows.
            _ => {
                for row in run(l, sql, c.binds(), None, None).await?.rows() {
                    yield row;
                }
                return;
            }
        };
        let mut running = Running { stmt: ptr, owned: false, detached: false };
        // SAFETY: the connection is locked and the statement reset; `c` outlives
        // `running`, which clears the bindings.
        unsafe { bind_all(l.db(), ptr.as_ptr(), c.binds(), 0, false, sql)? };
        // SAFETY: as above.
        let watch = unsafe { ffi::sqlite3_stmt_readonly(ptr.as_ptr()) } != 0 && columns.len() > 0;
        let mut budget = Budget::new();
        let mut n = 0usize;
        loop {
            match l.step(ptr, n == 0, watch && n == 0, sql).await? {
                Stepped::Row => {}
                Stepped::Done => break,
                Stepped::Offload => {
                    let batch = offload(l, &mut running, Arc::clone(&columns), c.binds(), 0, None, sql).await?;
                    for row in batch.into_rows() {
                        yield Row(RowInner::SqliteFast(row));
                    }
                    return;
                }
            }
            let mut batch = Batch::new(Arc::clone(&columns));
            // SAFETY: the statement has just returned a row.
            unsafe { batch.push_current(ptr.as_ptr())? };
            n += 1;
            for row in batch.into_rows() {
                yield Row(RowInner::SqliteFast(row));
            }
            budget.tick(n).await;
        }
        drop(running);
    }
}
