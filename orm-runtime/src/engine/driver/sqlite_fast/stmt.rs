//! Prepared statements on a locked SQLite handle: the per-connection cache, binding
//! [`Value`]s, stepping, and SQLite's errors as the crate's.
//!
//! Every function here runs only while the connection's lock is held (see
//! [`super::conn::Locked`]): that is the whole safety argument for the FFI calls, and
//! each `unsafe fn` says so.

use std::collections::HashMap;
use std::ffi::{CStr, c_int};
use std::ptr::NonNull;
use std::sync::Arc;

use libsqlite3_sys as ffi;

use super::rows::Columns;
use crate::engine::driver::{to_micros, unsigned_too_large};
use crate::error::{DatabaseError, DatabaseErrorKind, Error, Result};
use crate::value::Value;

/// Statements kept per connection, as sqlx keeps (its default capacity).
pub(crate) const STATEMENT_CACHE_CAPACITY: usize = 100;

/// A prepared statement and its result columns.
pub(crate) struct Stmt {
    raw: NonNull<ffi::sqlite3_stmt>,
    columns: Arc<Columns>,
    flags: Flags,
    /// For a one-row INSERT: whether the key the table generates is the row's rowid,
    /// as proven (by a query of the schema) while the statement was compiled as often
    /// as the count says (see [`Stmt::rowid_key`]).
    rowid_key: Option<(bool, c_int)>,
}

/// What the text of a statement says, read once when it is prepared.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Flags {
    /// The statement names `busy_timeout` (a PRAGMA that reads or sets it): see
    /// `Locked::expose_busy_timeout`.
    pub(crate) busy_pragma: bool,
    /// An INSERT that may hold `ON CONFLICT` (see `Driver::reset_insert_id`).
    pub(crate) upsert: bool,
}

// SAFETY: a statement is used only under its connection's lock, by whoever holds the
// connection (see `conn::StmtPtr`).
unsafe impl Send for Stmt {}

impl Stmt {
    pub(crate) fn raw(&self) -> *mut ffi::sqlite3_stmt {
        self.raw.as_ptr()
    }

    /// The statement's pointer, to step it while the cache keeps it.
    pub(crate) fn ptr(&self) -> super::conn::StmtPtr {
        super::conn::StmtPtr(self.raw)
    }

    pub(crate) fn columns(&self) -> &Arc<Columns> {
        &self.columns
    }

    /// The statement and its columns, for a caller that finalizes it (nothing here
    /// does: a `Stmt` is finalized only by [`Stmt::finalize`]).
    pub(crate) fn into_parts(self) -> (super::conn::StmtPtr, Arc<Columns>) {
        (super::conn::StmtPtr(self.raw), self.columns)
    }

    pub(crate) fn flags(&self) -> Flags {
        self.flags
    }

    /// How many times SQLite compiled the statement again since it was prepared: a
    /// schema change (or a rolled-back one, which SQLite tells apart) recompiles it at
    /// its next step, so an unchanged count says it ran against the schema of before.
    ///
    /// # Safety
    /// The connection is locked.
    pub(crate) unsafe fn recompiled(&self) -> c_int {
        // SAFETY: the caller's promise.
        unsafe { recompiled(self.raw()) }
    }

    /// What was proven of the key of the table this INSERT writes: `Some(true)` when
    /// it is the row's rowid (so `last_insert_rowid()` tells it), as of the statement's
    /// compilation count now; `None` when nothing was, or the statement was compiled
    /// again since.
    ///
    /// # Safety
    /// The connection is locked.
    pub(crate) unsafe fn rowid_key(&self) -> Option<bool> {
        let (rowid, at) = self.rowid_key?;
        // SAFETY: the caller's promise.
        (unsafe { self.recompiled() } == at).then_some(rowid)
    }

    /// Records what a query of the schema proved of this INSERT's table (see
    /// [`Stmt::rowid_key`]), for the statement as compiled now.
    ///
    /// # Safety
    /// The connection is locked.
    pub(crate) unsafe fn set_rowid_key(&mut self, rowid: bool) {
        // SAFETY: the caller's promise.
        self.rowid_key = Some((rowid, unsafe { self.recompiled() }));
    }

    /// Finalizes the statement.
    ///
    /// # Safety
    /// The connection is locked; the statement is not used again.
    pub(crate) unsafe fn finalize(self) {
        // SAFETY: the caller's promise.
        unsafe { ffi::sqlite3_finalize(self.raw.as_ptr()) };
    }

    /// Reads the columns again after SQLite re-prepared the statement (a schema change
    /// can change them), when their count differs.
    ///
    /// # Safety
    /// The connection is locked.
    pub(crate) unsafe fn refresh_columns(&mut self) {
        // SAFETY: the caller's promise.
        unsafe {
            if ffi::sqlite3_column_count(self.raw()) as usize != self.columns.len() {
                self.columns = Arc::new(Columns::read(self.raw()));
            }
        }
    }
}

/// How many times SQLite compiled `stmt` again since it was prepared (see
/// [`Stmt::recompiled`]).
///
/// # Safety
/// `stmt` is a live statement of a connection the caller has locked.
pub(crate) unsafe fn recompiled(stmt: *mut ffi::sqlite3_stmt) -> c_int {
    // SAFETY: the caller's promise; the call reads a counter of the statement.
    unsafe { ffi::sqlite3_stmt_status(stmt, ffi::SQLITE_STMTSTATUS_REPREPARE, 0) }
}

/// What [`prepare`] found at the start of some SQL text.
pub(crate) enum Prepared {
    /// One statement, and the rest of the text is blank.
    Single(Stmt),
    /// One statement, with more statements after it (from byte `rest` on).
    First(Stmt, usize),
    /// Nothing but whitespace and comments.
    Empty,
}

/// Prepares the first statement of `sql`.
///
/// # Safety
/// The connection `db` is locked.
pub(crate) unsafe fn prepare(
    db: *mut ffi::sqlite3,
    sql: &str,
    persistent: bool,
    full_sql: &str,
) -> Result<Prepared> {
    // Checked here, where a text is prepared (and then cached), not on every run of
    // it: a NUL would end SQLite's reading of the text early.
    crate::engine::exec::check_sql_text(sql)?;
    let len = c_int::try_from(sql.len()).map_err(|_| Error::Unsupported {
        dialect: "sqlite",
        feature: "SQL text of 2 GiB or more".into(),
    })?;
    let mut raw = std::ptr::null_mut();
    let mut tail = std::ptr::null();
    let flags = if persistent {
        ffi::SQLITE_PREPARE_PERSISTENT
    } else {
        0
    };
    // SAFETY: the caller's promise; `sql` outlives the call, and SQLite reads at most
    // `len` bytes of it.
    let rc = unsafe {
        ffi::sqlite3_prepare_v3(db, sql.as_ptr().cast(), len, flags, &mut raw, &mut tail)
    };
    if rc != ffi::SQLITE_OK {
        // SAFETY: the caller's promise.
        return Err(unsafe { last_error(db, Some(full_sql)) });
    }
    let Some(raw) = NonNull::new(raw) else {
        return Ok(Prepared::Empty);
    };
    // SAFETY: SQLite sets the tail inside `sql`, or leaves it null.
    let rest = if tail.is_null() {
        sql.len()
    } else {
        (unsafe { tail.cast::<u8>().offset_from(sql.as_ptr()) }) as usize
    };
    // SAFETY: `raw` is the statement just prepared, on the locked connection.
    let columns = Arc::new(unsafe { Columns::read(raw.as_ptr()) });
    let text = &sql[..rest.min(sql.len())];
    let stmt = Stmt {
        raw,
        columns,
        flags: Flags {
            busy_pragma: mentions_busy_timeout(text),
            upsert: super::is_upsert(text),
        },
        rowid_key: None,
    };
    if is_blank(&sql[rest.min(sql.len())..]) {
        Ok(Prepared::Single(stmt))
    } else {
        Ok(Prepared::First(stmt, rest))
    }
}

/// True for SQL that may read or set `PRAGMA busy_timeout` (the word anywhere).
pub(crate) fn mentions_busy_timeout(sql: &str) -> bool {
    sql.as_bytes()
        .windows(b"busy_timeout".len())
        .any(|w| w.eq_ignore_ascii_case(b"busy_timeout"))
}

/// True for text that holds no statement: whitespace, `;` and comments only.
fn is_blank(mut s: &str) -> bool {
    loop {
        s = s.trim_start_matches(|c: char| c.is_whitespace() || c == ';');
        if let Some(r) = s.strip_prefix("--") {
            s = r.split_once('\n').map_or("", |(_, after)| after);
        } else if let Some(r) = s.strip_prefix("/*") {
            s = r.split_once("*/").map_or("", |(_, after)| after);
        } else {
            return s.is_empty();
        }
    }
}

/// The statements a connection keeps prepared, by SQL text, least recently used out
/// first. Dropping the cache does not finalize: [`Statements::clear`] must run while
/// the connection is locked (the owner, `Locked`, does it in its drop).
pub(crate) struct Statements {
    map: HashMap<Box<str>, Cached, foldhash::fast::RandomState>,
    tick: u64,
    /// One-row INSERTs whose table's key nothing is proven of yet, and how often each
    /// has run (with RETURNING) since: see [`Statements::unproven_run`].
    unproven: HashMap<Box<str>, u32, foldhash::fast::RandomState>,
}

/// Runs with RETURNING of a one-row INSERT before the key of its table is proven to be
/// the rowid or not: the proof is a query of the schema that costs about as much as
/// RETURNING does in ten runs, so a statement run once or twice on a connection is
/// never worth it.
const PROVE_AFTER: u32 = 10;

struct Cached {
    stmt: Stmt,
    used: u64,
}

impl Statements {
    pub(crate) fn new() -> Statements {
        Statements {
            map: HashMap::default(),
            tick: 0,
            unproven: HashMap::default(),
        }
    }

    /// Counts a run of the one-row INSERT `sql` (with RETURNING) whose table's key is
    /// not proven either way; true when the key is worth proving now.
    pub(crate) fn unproven_run(&mut self, sql: &str) -> bool {
        if let Some(n) = self.unproven.get_mut(sql) {
            *n += 1;
            return *n >= PROVE_AFTER;
        }
        if self.unproven.len() >= STATEMENT_CACHE_CAPACITY {
            self.unproven.clear();
        }
        self.unproven.insert(sql.into(), 1);
        PROVE_AFTER <= 1
    }

    /// The key of the one-row INSERT `sql`'s table is proven (either way): no more
    /// counting.
    pub(crate) fn proven(&mut self, sql: &str) {
        self.unproven.remove(sql);
    }

    /// How many statements are cached.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// The cached statement for `sql`, if it is one.
    pub(crate) fn get(&mut self, sql: &str) -> Option<&mut Stmt> {
        self.tick += 1;
        let tick = self.tick;
        self.map.get_mut(sql).map(|c| {
            c.used = tick;
            &mut c.stmt
        })
    }

    /// Caches `stmt` for `sql`, finalizing the least recently used statement when full.
    ///
    /// # Safety
    /// The connection is locked and no cached statement is being stepped.
    pub(crate) unsafe fn insert(&mut self, sql: &str, stmt: Stmt) -> &mut Stmt {
        if self.map.len() >= STATEMENT_CACHE_CAPACITY {
            let oldest = self
                .map
                .iter()
                .min_by_key(|(_, c)| c.used)
                .map(|(k, _)| k.clone());
            if let Some(c) = oldest.and_then(|k| self.map.remove(&k)) {
                // SAFETY: the caller's promise.
                unsafe { c.stmt.finalize() };
            }
        }
        self.tick += 1;
        let used = self.tick;
        &mut self
            .map
            .entry(Box::from(sql))
            .insert_entry(Cached { stmt, used })
            .into_mut()
            .stmt
    }

    /// Finalizes every cached statement.
    ///
    /// # Safety
    /// The connection is locked.
    pub(crate) unsafe fn clear(&mut self) {
        self.unproven.clear();
        for (_, c) in self.map.drain() {
            // SAFETY: the caller's promise.
            unsafe { c.stmt.finalize() };
        }
    }
}

/// The crate's error for SQLite's last error on `db`, as the sqlx path reports it
/// (the extended result code as the code, its message, the constraint read from it).
///
/// # Safety
/// The connection `db` is locked and a call on it has just failed.
pub(crate) unsafe fn last_error(db: *mut ffi::sqlite3, sql: Option<&str>) -> Error {
    // SAFETY: the caller's promise; the message is copied before any other call.
    let (code, message) = unsafe {
        let code = ffi::sqlite3_extended_errcode(db);
        let msg = ffi::sqlite3_errmsg(db);
        let message = if msg.is_null() {
            "<error message unavailable>".to_owned()
        } else {
            CStr::from_ptr(msg).to_string_lossy().into_owned()
        };
        (code, message)
    };
    database_error(code, message, sql)
}

/// The crate's error for SQLite result `code` with `message`.
pub(crate) fn database_error(code: c_int, message: String, sql: Option<&str>) -> Error {
    let kind = match code {
        ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
            DatabaseErrorKind::UniqueViolation
        }
        ffi::SQLITE_CONSTRAINT_FOREIGNKEY => DatabaseErrorKind::ForeignKeyViolation,
        ffi::SQLITE_CONSTRAINT_NOTNULL => DatabaseErrorKind::NotNullViolation,
        ffi::SQLITE_CONSTRAINT_CHECK => DatabaseErrorKind::CheckViolation,
        _ => DatabaseErrorKind::Other,
    };
    Error::Database(Box::new(DatabaseError {
        code: Some(code.to_string()),
        constraint: crate::error::constraint_from_message(&message),
        message,
        table: None,
        kind,
        sql: sql.map(str::to_owned),
    }))
}

/// Binds `binds` to `stmt`'s parameters as sqlx does: `?NNN` and `$NNN` by number,
/// anonymous `?` in turn from `offset` on; a parameter past the last value stays NULL.
/// Returns how many anonymous parameters it consumed. Text and blobs are bound without
/// a copy unless `copy`: the caller then keeps `binds` alive, unchanged, until the
/// statement's bindings are cleared.
///
/// # Safety
/// The connection is locked; `stmt` is reset.
pub(crate) unsafe fn bind_all(
    db: *mut ffi::sqlite3,
    stmt: *mut ffi::sqlite3_stmt,
    binds: &[Value],
    offset: usize,
    copy: bool,
    sql: &str,
) -> Result<usize> {
    // SAFETY: the caller's promise.
    let count = unsafe { ffi::sqlite3_bind_parameter_count(stmt) };
    let mut arg = offset;
    for param in 1..=count {
        // SAFETY: as above; the name is read before the next call.
        let name = unsafe {
            let p = ffi::sqlite3_bind_parameter_name(stmt, param);
            (!p.is_null()).then(|| CStr::from_ptr(p).to_string_lossy().into_owned())
        };
        let n = match name {
            None => {
                arg += 1;
                arg
            }
            Some(name) => match name
                .strip_prefix('?')
                .or_else(|| name.strip_prefix('$'))
                .and_then(|d| d.parse::<usize>().ok())
            {
                Some(n) => n,
                None => {
                    return Err(Error::Unsupported {
                        dialect: "sqlite",
                        feature: format!("the SQL parameter `{name}` (use `?`, `?NNN` or `$NNN`)"),
                    });
                }
            },
        };
        if n == 0 || n > binds.len() {
            // SQLite reads a parameter never bound as NULL; sqlx keeps that.
            break;
        }
        // SAFETY: the caller's promise.
        unsafe { bind_one(db, stmt, param, n - 1, &binds[n - 1], copy, sql)? };
    }
    Ok(arg - offset)
}

/// Binds one value at `param` (1-based); `index` (0-based) names it in errors.
///
/// # Safety
/// As [`bind_all`].
unsafe fn bind_one(
    db: *mut ffi::sqlite3,
    stmt: *mut ffi::sqlite3_stmt,
    param: c_int,
    index: usize,
    v: &Value,
    copy: bool,
    sql: &str,
) -> Result<()> {
    let keep = if copy {
        ffi::SQLITE_TRANSIENT()
    } else {
        ffi::SQLITE_STATIC()
    };
    // SAFETY (every call below): the caller's promise; text and blob pointers point
    // into `v` (kept by the caller unless `copy`) or are copied (`SQLITE_TRANSIENT`).
    let rc = unsafe {
        match v {
            Value::Null | Value::TypedNull(_) => ffi::sqlite3_bind_null(stmt, param),
            Value::Bool(x) => ffi::sqlite3_bind_int64(stmt, param, i64::from(*x)),
            Value::I16(x) => ffi::sqlite3_bind_int64(stmt, param, i64::from(*x)),
            Value::I32(x) => ffi::sqlite3_bind_int64(stmt, param, i64::from(*x)),
            Value::I64(x) => ffi::sqlite3_bind_int64(stmt, param, *x),
            Value::U64(x) => return Err(unsigned_too_large(index, v, *x, "SQLite")),
            // SQLite stores a NaN as NULL, without a word: refused. Infinities are
            // stored as such.
            Value::F32(x) if x.is_nan() => return Err(super::super::sqlite::nan(index, v)),
            Value::F64(x) if x.is_nan() => return Err(super::super::sqlite::nan(index, v)),
            Value::F32(x) => ffi::sqlite3_bind_double(stmt, param, f64::from(*x)),
            Value::F64(x) => ffi::sqlite3_bind_double(stmt, param, *x),
            Value::Text(s) => bind_text(stmt, param, s, keep),
            Value::Bytes(b) => bind_blob(stmt, param, b, keep),
            // The text sqlx's encoders write, so that both paths store alike.
            Value::Date(d) => bind_owned_text(stmt, param, d.format("%F").to_string()),
            Value::Time(t) => {
                bind_owned_text(stmt, param, to_micros(*t).format("%T%.f").to_string())
            }
            Value::DateTime(t) => {
                bind_owned_text(stmt, param, to_micros(*t).format("%F %T%.f").to_string())
            }
            Value::DateTimeUtc(t) => bind_owned_text(
                stmt,
                param,
                to_micros(t.naive_utc()).format("%F %T%.f").to_string(),
            ),
            #[cfg(feature = "uuid")]
            Value::Uuid(u) => bind_blob(stmt, param, u.as_bytes(), ffi::SQLITE_TRANSIENT()),
            #[cfg(feature = "json")]
            Value::Json(j) => bind_owned_text(stmt, param, j.to_string()),
            #[cfg(feature = "decimal")]
            Value::Decimal(d) => match super::super::sqlite::sqlite_number(*d) {
                super::super::sqlite::Number::Integer(n) => ffi::sqlite3_bind_int64(stmt, param, n),
                super::super::sqlite::Number::Real(f) => ffi::sqlite3_bind_double(stmt, param, f),
                super::super::sqlite::Number::Text(t) => bind_owned_text(stmt, param, t),
            },
            Value::Array(_) => return Err(crate::engine::driver::no_arrays(index, v, "SQLite")),
        }
    };
    if rc == ffi::SQLITE_OK {
        return Ok(());
    }
    // SAFETY: the caller's promise.
    let e = unsafe { last_error(db, Some(sql)) };
    Err(Error::Bind {
        index: index + 1,
        value_type: v.type_name(),
        message: e.to_string(),
    })
}

/// # Safety
/// As [`bind_one`]; with `SQLITE_STATIC`, `s` outlives the binding.
unsafe fn bind_text(
    stmt: *mut ffi::sqlite3_stmt,
    param: c_int,
    s: &str,
    keep: ffi::sqlite3_destructor_type,
) -> c_int {
    // SAFETY: the caller's promise.
    unsafe {
        ffi::sqlite3_bind_text64(
            stmt,
            param,
            s.as_ptr().cast(),
            s.len() as u64,
            keep,
            ffi::SQLITE_UTF8 as u8,
        )
    }
}

/// # Safety
/// As [`bind_text`].
unsafe fn bind_blob(
    stmt: *mut ffi::sqlite3_stmt,
    param: c_int,
    b: &[u8],
    keep: ffi::sqlite3_destructor_type,
) -> c_int {
    // SAFETY: the caller's promise. SQLite binds a null pointer as NULL: an empty
    // blob gets a dangling but non-null pointer and length 0.
    unsafe {
        ffi::sqlite3_bind_blob64(
            stmt,
            param,
            if b.is_empty() {
                NonNull::<u8>::dangling().as_ptr().cast()
            } else {
                b.as_ptr().cast()
            },
            b.len() as u64,
            keep,
        )
    }
}

/// Binds text made for this binding, copied by SQLite.
///
/// # Safety
/// As [`bind_one`].
unsafe fn bind_owned_text(stmt: *mut ffi::sqlite3_stmt, param: c_int, s: String) -> c_int {
    // SAFETY: the caller's promise; SQLite copies the text before the call returns.
    unsafe { bind_text(stmt, param, &s, ffi::SQLITE_TRANSIENT()) }
}

#[cfg(test)]
mod tests {
    use super::is_blank;

    #[test]
    fn blank_sql_is_whitespace_semicolons_and_comments() {
        assert!(is_blank(""));
        assert!(is_blank(" ;\n -- done\n /* and */ ;"));
        assert!(!is_blank("; SELECT 1"));
        assert!(!is_blank("/* x */ SELECT 1"));
    }
}
