//! Rows read on the fast path: the values of every row of one result, copied out of
//! SQLite as it steps, in one shared buffer; a [`FastRow`] is a position in it.
//!
//! One result is three allocations (its cells, its text and blob bytes, the shared
//! header) whatever its row count; a row is a reference-counted pointer and an offset.
//! Holding one row keeps its whole result alive.
//!
//! A row handed to a visitor (decoded as it is read, nothing kept) is not copied at
//! all: it is the statement's current row, read from SQLite in place
//! ([`FastRow::live`]).

use std::ffi::CStr;
use std::sync::Arc;

use libsqlite3_sys as ffi;

use crate::error::{Error, Result};
use crate::row::{Row, decode_value_path};
use crate::value::{FromValue, Value};

/// The columns of a prepared statement's result, shared by its rows.
#[derive(Debug)]
pub(crate) struct Columns {
    names: Box<[Box<str>]>,
    /// The declared type as sqlx names it (`INTEGER`, `BOOLEAN`, `TEXT`, ...), or
    /// `NULL` for an expression or a type sqlx does not know.
    types: Box<[&'static str]>,
}

impl Columns {
    /// Reads the names and declared types of `stmt`'s result columns.
    ///
    /// # Safety
    /// `stmt` is a live prepared statement, used by no other thread meanwhile.
    pub(crate) unsafe fn read(stmt: *mut ffi::sqlite3_stmt) -> Columns {
        // SAFETY: the caller's promise; names and declared types are valid until the
        // statement is finalized or re-prepared, and are copied here at once.
        unsafe {
            let n = ffi::sqlite3_column_count(stmt).max(0);
            let mut names = Vec::with_capacity(n as usize);
            let mut types = Vec::with_capacity(n as usize);
            for i in 0..n {
                let name = ffi::sqlite3_column_name(stmt, i);
                names.push(if name.is_null() {
                    Box::from("")
                } else {
                    Box::from(CStr::from_ptr(name).to_string_lossy().as_ref())
                });
                let decl = ffi::sqlite3_column_decltype(stmt, i);
                types.push(if decl.is_null() {
                    "NULL"
                } else {
                    declared_type_name(&CStr::from_ptr(decl).to_string_lossy())
                });
            }
            Columns {
                names: names.into(),
                types: types.into(),
            }
        }
    }

    /// The number of columns.
    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }
}

/// sqlx's name for a declared column type (its `DataType::from_str`), so that rows
/// read on either path name types alike: `NULL` where sqlx knows none.
fn declared_type_name(decl: &str) -> &'static str {
    let s = decl.to_ascii_lowercase();
    match s.as_str() {
        "int4" | "int8" => "INTEGER",
        "boolean" | "bool" => "BOOLEAN",
        "date" => "DATE",
        "time" => "TIME",
        "datetime" | "timestamp" => "DATETIME",
        _ if s.contains("int") => "INTEGER",
        _ if s.contains("char") || s.contains("clob") || s.contains("text") => "TEXT",
        _ if s.contains("blob") => "BLOB",
        _ if s.contains("real") || s.contains("floa") || s.contains("doub") => "REAL",
        _ => "NULL",
    }
}

/// One value as SQLite returned it, by storage class; text and blobs point into the
/// result's byte buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text { start: u32, len: u32 },
    Blob { start: u32, len: u32 },
}

/// Every row of one result.
#[derive(Debug)]
pub(crate) struct Batch {
    columns: Arc<Columns>,
    cells: Vec<Cell>,
    bytes: Vec<u8>,
}

impl Batch {
    pub(crate) fn new(columns: Arc<Columns>) -> Batch {
        Batch::with_rows(columns, 0)
    }

    /// An empty batch with room for the cells of `rows` rows (a `fetch_optional`'s one
    /// row grows no vector).
    pub(crate) fn with_rows(columns: Arc<Columns>, rows: usize) -> Batch {
        let cells = Vec::with_capacity(columns.len() * rows);
        Batch {
            columns,
            cells,
            bytes: Vec::new(),
        }
    }

    /// A batch of no columns and no rows (what a moved-out batch leaves).
    pub(crate) fn empty() -> Batch {
        Batch {
            columns: Arc::new(Columns {
                names: Box::default(),
                types: Box::default(),
            }),
            cells: Vec::new(),
            bytes: Vec::new(),
        }
    }

    /// The number of columns of each row.
    pub(crate) fn width(&self) -> usize {
        self.columns.len()
    }

    /// The number of rows read so far.
    pub(crate) fn rows(&self) -> usize {
        match self.columns.len() {
            0 => 0,
            n => self.cells.len() / n,
        }
    }

    /// Copies the statement's current row in. Text and blobs of one result are kept
    /// in one buffer of at most 4 GiB (then this is an error).
    ///
    /// # Safety
    /// `stmt` has just returned `SQLITE_ROW` and has `self.columns.len()` columns.
    pub(crate) unsafe fn push_current(&mut self, stmt: *mut ffi::sqlite3_stmt) -> Result<()> {
        let n = self.columns.len();
        self.cells.reserve(n);
        for i in 0..n as i32 {
            // SAFETY: the caller's promise; each pointer is read before the next call
            // on the statement, as SQLite requires. The column is read through its
            // `sqlite3_value` (one call that takes the connection's mutex, then plain
            // reads of the value: half the calls of `sqlite3_column_type` and then
            // `sqlite3_column_text` and `_bytes`, each of which looks the column up
            // again). SQLite calls such an "unprotected" value unsafe only when another
            // thread may use the connection meanwhile; the fast path holds the
            // connection's lock, and the value is read before the statement moves on.
            let cell = unsafe {
                let v = ffi::sqlite3_column_value(stmt, i);
                match ffi::sqlite3_value_type(v) {
                    ffi::SQLITE_INTEGER => Cell::Int(ffi::sqlite3_value_int64(v)),
                    ffi::SQLITE_FLOAT => Cell::Real(ffi::sqlite3_value_double(v)),
                    ffi::SQLITE_TEXT => {
                        let p = ffi::sqlite3_value_text(v);
                        let (start, len) = self.keep(i, p, ffi::sqlite3_value_bytes(v), true)?;
                        Cell::Text { start, len }
                    }
                    ffi::SQLITE_BLOB => {
                        let p = ffi::sqlite3_value_blob(v).cast::<u8>();
                        let (start, len) = self.keep(i, p, ffi::sqlite3_value_bytes(v), false)?;
                        Cell::Blob { start, len }
                    }
                    _ => Cell::Null,
                }
            };
            self.cells.push(cell);
        }
        Ok(())
    }

    /// Copies `len` bytes at `p` into the buffer: where they start, and their length.
    ///
    /// A null `p` is SQLite failing to allocate the value (a text is never null, not
    /// even empty; a blob only when empty): an error naming column `i`, never an empty
    /// or misplaced value.
    ///
    /// # Safety
    /// `p` is null or points at `len` readable bytes.
    unsafe fn keep(&mut self, i: i32, p: *const u8, len: i32, text: bool) -> Result<(u32, u32)> {
        let len = len.max(0) as usize;
        if p.is_null() && (text || len > 0) {
            let name = self.columns.names.get(i as usize).map_or("", |n| &**n);
            return Err(super::stmt::database_error(
                ffi::SQLITE_NOMEM,
                format!("out of memory reading column {i} (`{name}`) of a row"),
                None,
            ));
        }
        let start = self.bytes.len();
        let (Ok(s), Ok(l)) = (u32::try_from(start), u32::try_from(start + len)) else {
            return Err(Error::Unsupported {
                dialect: "sqlite",
                feature:
                    "a result holding more than 4 GiB of text and blobs (stream it with `fetch`)"
                        .into(),
            });
        };
        if len > 0 {
            // SAFETY: the caller's promise; not null (checked above).
            self.bytes
                .extend_from_slice(unsafe { std::slice::from_raw_parts(p, len) });
        }
        Ok((s, l - s))
    }

    /// The rows, each sharing the batch.
    pub(crate) fn into_rows(self) -> impl Iterator<Item = FastRow> {
        let n = self.columns.len();
        let rows = self.rows();
        let batch = Arc::new(self);
        (0..rows).map(move |r| FastRow {
            src: Source::Batch(Arc::clone(&batch)),
            start: r * n,
        })
    }
}

/// One row of a fast-path result: a row of a [`Batch`], or the current row of a
/// statement read in place.
#[derive(Debug)]
pub(crate) struct FastRow {
    src: Source,
    start: usize,
}

#[derive(Debug)]
enum Source {
    Batch(Arc<Batch>),
    /// The statement's current row, its columns read from SQLite as they are asked for
    /// (see [`FastRow::live`]).
    Live(Live),
}

/// A statement stepped to a row, and its columns.
#[derive(Debug)]
struct Live {
    stmt: std::ptr::NonNull<ffi::sqlite3_stmt>,
    columns: Arc<Columns>,
}

// SAFETY: a live row is read only by the call that stepped its statement, which holds
// the connection's lock (and so the statement) for as long as the row exists; SQLite's
// connections may be used from any thread, one at a time.
unsafe impl Send for Live {}
// SAFETY: as above: `&FastRow` reads go to SQLite under the same lock, one at a time.
unsafe impl Sync for Live {}

impl Live {
    /// Column `i` of the statement's current row (see [`FastRow::cell`]).
    #[inline(never)]
    fn cell(&self, i: usize) -> CellRef<'_> {
        // SAFETY: `live`'s promise: the statement is on a row, under the lock;
        // `i` is below its column count (the columns were read from it). A text or
        // blob pointer stays valid until the statement moves on (a UTF-8 text is
        // never converted), which it cannot while this row is borrowed.
        unsafe {
            let stmt = self.stmt.as_ptr();
            let v = ffi::sqlite3_column_value(stmt, i as i32);
            match ffi::sqlite3_value_type(v) {
                ffi::SQLITE_INTEGER => CellRef::Int(ffi::sqlite3_value_int64(v)),
                ffi::SQLITE_FLOAT => CellRef::Real(ffi::sqlite3_value_double(v)),
                ffi::SQLITE_TEXT => {
                    let p = ffi::sqlite3_value_text(v);
                    let len = ffi::sqlite3_value_bytes(v).max(0) as usize;
                    if p.is_null() {
                        CellRef::OutOfMemory
                    } else {
                        CellRef::Text(std::slice::from_raw_parts(p, len))
                    }
                }
                ffi::SQLITE_BLOB => {
                    let p = ffi::sqlite3_value_blob(v).cast::<u8>();
                    let len = ffi::sqlite3_value_bytes(v).max(0) as usize;
                    match (p.is_null(), len) {
                        (true, 0) => CellRef::Blob(&[]),
                        (true, _) => CellRef::OutOfMemory,
                        (false, _) => CellRef::Blob(std::slice::from_raw_parts(p, len)),
                    }
                }
                _ => CellRef::Null,
            }
        }
    }
}

/// One value of a row, by storage class; text and blobs borrowed from the row.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CellRef<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a [u8]),
    Blob(&'a [u8]),
    /// SQLite failed to allocate the value (a live row's text): an error when read.
    OutOfMemory,
}

impl FastRow {
    /// The current row of `stmt`, read in place: no copy of it is made, and each
    /// column is read from SQLite when it is asked for.
    ///
    /// # Safety
    /// Until it is dropped, the row is read only while `stmt` has just returned a row
    /// (not stepped, reset or finalized since) on a connection locked by the caller;
    /// `columns` are the statement's (read since its last compilation). The row is
    /// lent out only by reference, for the length of one call.
    pub(crate) unsafe fn live(stmt: *mut ffi::sqlite3_stmt, columns: Arc<Columns>) -> FastRow {
        FastRow {
            src: Source::Live(Live {
                stmt: std::ptr::NonNull::new(stmt).expect("a prepared statement"),
                columns,
            }),
            start: 0,
        }
    }

    #[inline]
    fn columns(&self) -> &Columns {
        match &self.src {
            Source::Batch(b) => &b.columns,
            Source::Live(l) => &l.columns,
        }
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.columns().len()
    }

    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.columns().names.iter().map(|n| &**n)
    }

    pub(crate) fn name(&self, i: usize) -> Option<&str> {
        self.columns().names.get(i).map(|n| &**n)
    }

    /// Column `i` (below [`FastRow::len`]) when it holds an integer not declared
    /// `BOOLEAN` (one [`FastRow::value_at`] would read as `Value::I64`).
    pub(crate) fn int_at(&self, i: usize) -> Option<i64> {
        match self.cell(i) {
            CellRef::Int(x) if self.declared_type(i) != Some("BOOLEAN") => Some(x),
            _ => None,
        }
    }

    /// The declared type, as sqlx names it.
    pub(crate) fn declared_type(&self, i: usize) -> Option<&'static str> {
        self.columns().types.get(i).copied()
    }

    /// Column `i` (below [`FastRow::len`]).
    #[inline]
    fn cell(&self, i: usize) -> CellRef<'_> {
        match &self.src {
            Source::Batch(b) => {
                let bytes = |start: u32, len: u32| {
                    let start = start as usize;
                    &b.bytes[start..start + len as usize]
                };
                match b.cells[self.start + i] {
                    Cell::Null => CellRef::Null,
                    Cell::Int(x) => CellRef::Int(x),
                    Cell::Real(x) => CellRef::Real(x),
                    Cell::Text { start, len } => CellRef::Text(bytes(start, len)),
                    Cell::Blob { start, len } => CellRef::Blob(bytes(start, len)),
                }
            }
            Source::Live(l) => l.cell(i),
        }
    }

    /// The storage class of the value in column `i`, as sqlx names it.
    pub(crate) fn storage_type(&self, i: usize) -> &'static str {
        match self.cell(i) {
            CellRef::Null => "NULL",
            CellRef::Int(_) => "INTEGER",
            CellRef::Real(_) => "REAL",
            CellRef::Text(_) | CellRef::OutOfMemory => "TEXT",
            CellRef::Blob(_) => "BLOB",
        }
    }

    /// Column `i` as a [`Value`], from its storage class: as the sqlx path reads it
    /// (`driver::sqlite::value_at`), a 0 or 1 in a column declared BOOLEAN is a
    /// [`Value::Bool`].
    pub(crate) fn value_at(&self, i: usize) -> Result<Value> {
        Ok(match self.cell(i) {
            CellRef::Null => Value::Null,
            CellRef::Int(x @ (0 | 1)) if self.declared_type(i) == Some("BOOLEAN") => {
                Value::Bool(x == 1)
            }
            CellRef::Int(x) => Value::I64(x),
            CellRef::Real(x) => Value::F64(x),
            CellRef::Text(bytes) => match std::str::from_utf8(bytes) {
                Ok(s) => Value::Text(s.to_owned()),
                Err(e) => {
                    return Err(Error::Decode {
                        column: self.label(i),
                        rust_type: "Value",
                        sql_type: self.declared_type(i).unwrap_or("TEXT").to_owned(),
                        message: e.to_string(),
                    });
                }
            },
            CellRef::Blob(bytes) => Value::Bytes(bytes.to_vec()),
            CellRef::OutOfMemory => {
                return Err(super::stmt::database_error(
                    ffi::SQLITE_NOMEM,
                    format!(
                        "out of memory reading column {i} (`{}`) of a row",
                        self.label(i)
                    ),
                    None,
                ));
            }
        })
    }

    fn label(&self, i: usize) -> String {
        match self.name(i) {
            Some(n) if !n.is_empty() => n.to_owned(),
            _ => format!("#{i}"),
        }
    }
}

/// A type read from a fast row's cell directly where the cell holds exactly it (an
/// `INTEGER` as `i64`, `TEXT` as `String`, ...); any other cell goes through the
/// [`Value`] path, so the result and the errors are the value path's.
pub(crate) trait FromCell: Sized {
    fn from_cell(row: &Row, r: &FastRow, i: usize) -> Result<Self>;
}

fn via_value<T: FromValue>(row: &Row, r: &FastRow, i: usize) -> Result<T> {
    decode_value_path(row, i, r.value_at(i)?)
}

macro_rules! from_cell {
    ($t:ty, $cell:pat => $v:expr) => {
        impl FromCell for $t {
            #[inline]
            fn from_cell(row: &Row, r: &FastRow, i: usize) -> Result<Self> {
                #[allow(irrefutable_let_patterns)]
                if let $cell = r.cell(i) {
                    if let Some(v) = $v {
                        return Ok(v);
                    }
                }
                via_value(row, r, i)
            }
        }
        impl FromCell for Option<$t> {
            #[inline]
            fn from_cell(row: &Row, r: &FastRow, i: usize) -> Result<Self> {
                // The cell read once (a live row's is a call into SQLite).
                let cell = r.cell(i);
                if let CellRef::Null = cell {
                    return Ok(None);
                }
                #[allow(irrefutable_let_patterns)]
                if let $cell = cell {
                    if let Some(v) = $v {
                        return Ok(Some(v));
                    }
                }
                via_value(row, r, i).map(Some)
            }
        }
    };
    ($($t:ty),* $(,)?) => {$(
        impl FromCell for $t {
            #[inline]
            fn from_cell(row: &Row, r: &FastRow, i: usize) -> Result<Self> {
                via_value(row, r, i)
            }
        }
        impl FromCell for Option<$t> {
            #[inline]
            fn from_cell(row: &Row, r: &FastRow, i: usize) -> Result<Self> {
                via_value(row, r, i)
            }
        }
    )*};
}

from_cell!(i64, CellRef::Int(x) => Some(x));
from_cell!(i32, CellRef::Int(x) => i32::try_from(x).ok());
from_cell!(i16, CellRef::Int(x) => i16::try_from(x).ok());
from_cell!(f64, CellRef::Real(x) => Some(x));
from_cell!(String, CellRef::Text(bytes) => std::str::from_utf8(bytes).ok().map(str::to_owned));
from_cell!(Vec<u8>, CellRef::Blob(bytes) => Some(bytes.to_vec()));
from_cell!(
    f32,
    chrono::NaiveDate,
    chrono::NaiveDateTime,
    chrono::NaiveTime,
    chrono::DateTime<chrono::Utc>,
    bool,
);
#[cfg(feature = "uuid")]
from_cell!(uuid::Uuid);
#[cfg(feature = "json")]
from_cell!(serde_json::Value);

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{Batch, Columns, declared_type_name};

    #[test]
    fn a_value_sqlite_failed_to_allocate_is_an_error_naming_its_column() {
        let mut batch = Batch::new(Arc::new(Columns {
            names: vec![Box::from("id"), Box::from("name")].into(),
            types: vec!["INTEGER", "TEXT"].into(),
        }));
        // SAFETY: a null pointer, which `keep` checks before reading anything.
        let text = unsafe { batch.keep(1, std::ptr::null(), 0, true) };
        let message = text.expect_err("a null text is an error").to_string();
        assert!(message.contains("column 1 (`name`)"), "{message}");
        // SAFETY: as above.
        let blob = unsafe { batch.keep(1, std::ptr::null(), 3, false) };
        assert!(blob.is_err(), "a null blob of 3 bytes is an error");
        // SAFETY: as above; an empty blob is null in SQLite.
        let empty = unsafe { batch.keep(1, std::ptr::null(), 0, false) }.unwrap();
        assert_eq!(empty, (0, 0));
        let bytes = b"ed";
        // SAFETY: two readable bytes.
        let kept = unsafe { batch.keep(1, bytes.as_ptr(), 2, true) }.unwrap();
        assert_eq!((kept, &batch.bytes[..]), ((0, 2), &b"ed"[..]));
    }

    #[test]
    fn declared_types_are_named_as_sqlx_names_them() {
        for (decl, name) in [
            ("BIGINT", "INTEGER"),
            ("INT4", "INTEGER"),
            ("boolean", "BOOLEAN"),
            ("VARCHAR(20)", "TEXT"),
            ("TEXT", "TEXT"),
            ("BLOB", "BLOB"),
            ("DOUBLE PRECISION", "REAL"),
            ("TIMESTAMP", "DATETIME"),
            ("DATE", "DATE"),
            ("NUMERIC(10, 2)", "NULL"),
        ] {
            assert_eq!(declared_type_name(decl), name, "{decl}");
        }
    }
}
