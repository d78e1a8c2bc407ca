//! Result rows, independent of the dialect, and the [`Decode`] trait that reads a
//! column as a Rust type.
//!
//! What differs per database — reading a column as a [`Value`], and the driver's own
//! decoders on the typed fast path — lives with each driver in `engine::driver`, which
//! implements `DriverRow` and the [`Decode`] impls of the types sqlx decodes directly.

use chrono::{DateTime, FixedOffset};
use sqlx::{Column as _, Row as _, TypeInfo as _};

use crate::error::{Error, Result};
use crate::value::{FromValue, Value};

/// One row of a result, from any of the three databases.
///
/// Read columns by name or position with [`Row::get`]; a mismatch between the column's
/// type and the Rust type is an [`Error::Decode`] naming the column and both types.
pub struct Row(pub(crate) RowInner);

pub(crate) enum RowInner {
    #[cfg(feature = "postgres")]
    Postgres(sqlx::postgres::PgRow),
    #[cfg(feature = "mysql")]
    MySql(sqlx::mysql::MySqlRow),
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::sqlite::SqliteRow),
    /// A row read on SQLite's fast path (`engine::driver::sqlite_fast`).
    #[cfg(feature = "sqlite")]
    SqliteFast(crate::engine::driver::sqlite_fast::rows::FastRow),
}

/// What [`Row`] needs from a driver's own row type; implemented for each sqlx driver in
/// `engine::driver`.
pub(crate) trait DriverRow {
    /// Reads column `i` as a [`Value`], choosing the variant from the column's type.
    fn value_at(&self, i: usize) -> Result<Value>;

    /// The SQL type a decode error names for column `i`, declared as `declared`: that,
    /// unless the driver knows better.
    fn value_sql_type(&self, _i: usize, declared: String) -> String {
        declared
    }
}

/// Applies `$body` to the sqlx row inside a [`Row`], whatever its dialect; `$fast` to
/// a row of SQLite's fast path.
macro_rules! with_row {
    ($row:expr, $r:ident => $body:expr, $f:ident => $fast:expr) => {
        match &$row.0 {
            #[cfg(feature = "postgres")]
            RowInner::Postgres($r) => $body,
            #[cfg(feature = "mysql")]
            RowInner::MySql($r) => $body,
            #[cfg(feature = "sqlite")]
            RowInner::Sqlite($r) => $body,
            #[cfg(feature = "sqlite")]
            RowInner::SqliteFast($f) => $fast,
        }
    };
}

impl Row {
    /// Reads a column, by name (`&str`) or zero-based position (`usize`).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let engine = orm_runtime::create_engine("sqlite::memory:").await?;
    /// let row = engine.fetch_one(orm_runtime::text("SELECT 42 AS answer, NULL AS missing")).await?;
    /// assert_eq!(row.get::<i64>("answer")?, 42);
    /// assert_eq!(row.get::<Option<String>>(1)?, None);
    /// assert!(row.get::<String>("answer").is_err()); // names the column and both types
    /// # Ok::<(), orm_runtime::Error>(()) }).unwrap();
    /// ```
    pub fn get<T: Decode>(&self, index: impl ColumnIndex) -> Result<T> {
        let i = index.index_in(self)?;
        T::decode(self, i)
    }

    /// Reads a column as a dialect-neutral [`Value`].
    pub fn value(&self, index: impl ColumnIndex) -> Result<Value> {
        let i = index.index_in(self)?;
        self.value_at(i)
    }

    /// Every column as a [`Value`], in order.
    pub fn values(&self) -> Result<Vec<Value>> {
        (0..self.len()).map(|i| self.value_at(i)).collect()
    }

    /// The number of columns.
    #[inline]
    pub fn len(&self) -> usize {
        with_row!(self, r => r.len(), f => f.len())
    }

    /// True when the row has no columns.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The column names, in order.
    pub fn column_names(&self) -> Vec<&str> {
        with_row!(self, r => r.columns().iter().map(|c| c.name()).collect(), f => f.names().collect())
    }

    /// The name of the column at `index`.
    pub fn column_name(&self, index: usize) -> Option<&str> {
        with_row!(self, r => r.columns().get(index).map(|c| c.name()), f => f.name(index))
    }

    /// The column's type as the database reports it (`INT8`, `VARCHAR`, `INTEGER`, ...).
    pub fn sql_type(&self, index: usize) -> Option<String> {
        with_row!(
            self,
            r => r.columns().get(index).map(|c| c.type_info().name().to_owned()),
            f => f.declared_type(index).map(str::to_owned)
        )
    }

    /// The column's type as a decode error names it: its declared type, or what the
    /// driver knows better (the storage class of an SQLite expression column).
    fn value_sql_type(&self, i: usize) -> String {
        let declared = self.sql_type(i).unwrap_or_else(|| "?".into());
        with_row!(
            self,
            r => r.value_sql_type(i, declared),
            f => if declared == "NULL" { f.storage_type(i).to_owned() } else { declared }
        )
    }

    pub(crate) fn value_at(&self, i: usize) -> Result<Value> {
        with_row!(self, r => r.value_at(i), f => f.value_at(i))
    }

    /// Column `i` as an integer, when it holds one that is cheap to read as such (an
    /// `INT2`/`INT4`/`INT8` on PostgreSQL, an integer cell on SQLite's fast path); `None`
    /// for anything else (NULL, other types, other drivers: read it with `value_at`).
    /// Grouping rows by an integer key reads no [`Value`] and no type name.
    #[inline]
    pub(crate) fn int_at(&self, i: usize) -> Option<i64> {
        match &self.0 {
            #[cfg(feature = "postgres")]
            RowInner::Postgres(r) => {
                use sqlx::{Decode, ValueRef as _};
                type Pg = sqlx::Postgres;
                let raw = r.try_get_raw(i).ok()?;
                if raw.is_null() {
                    return None;
                }
                match raw.type_info().oid()?.0 {
                    20 => <i64 as Decode<Pg>>::decode(raw).ok(),
                    23 => <i32 as Decode<Pg>>::decode(raw).ok().map(i64::from),
                    21 => <i16 as Decode<Pg>>::decode(raw).ok().map(i64::from),
                    _ => None,
                }
            }
            #[cfg(feature = "sqlite")]
            RowInner::SqliteFast(f) if i < f.len() => f.int_at(i),
            // (Every row is PostgreSQL's in a build of that driver alone.)
            #[allow(unreachable_patterns)]
            _ => {
                let _ = i;
                None
            }
        }
    }

    fn column_label(&self, i: usize) -> String {
        match self.column_name(i) {
            Some(n) if !n.is_empty() => n.to_owned(),
            _ => format!("#{i}"),
        }
    }

    pub(crate) fn decode_error(&self, i: usize, rust_type: &'static str, message: String) -> Error {
        Error::Decode {
            column: self.column_label(i),
            rust_type,
            sql_type: self.value_sql_type(i),
            message,
        }
    }
}

impl std::fmt::Debug for Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut map = f.debug_map();
        for i in 0..self.len() {
            match self.value_at(i) {
                Ok(v) => map.entry(&self.column_label(i), &v),
                Err(e) => map.entry(&self.column_label(i), &e.to_string()),
            };
        }
        map.finish()
    }
}

/// Something that picks a column of a [`Row`]: its name or its zero-based position.
pub trait ColumnIndex {
    /// The zero-based position of the column in `row`.
    fn index_in(&self, row: &Row) -> Result<usize>;
}

impl ColumnIndex for usize {
    #[inline]
    fn index_in(&self, row: &Row) -> Result<usize> {
        let len = row.len();
        if *self < len {
            Ok(*self)
        } else {
            Err(Error::ColumnIndexOutOfBounds { index: *self, len })
        }
    }
}

/// A name two columns of the row share is [`Error::AmbiguousColumn`] (SQLAlchemy's
/// rule), not one of them picked silently.
impl ColumnIndex for &str {
    fn index_in(&self, row: &Row) -> Result<usize> {
        // sqlx's name map first; a scan of the columns where the driver left the map
        // empty (MySQL rows of `INSERT ... RETURNING`).
        let found = with_row!(
            row,
            r => sqlx::ColumnIndex::index(self, r)
                .ok()
                .or_else(|| r.columns().iter().position(|c| c.name() == *self)),
            f => f.names().position(|n| n == *self)
        );
        let Some(i) = found else {
            return Err(Error::ColumnNotFound {
                column: (*self).to_owned(),
                available: row.column_names().join(", "),
            });
        };
        let shared = with_row!(
            row,
            r => r
                .columns()
                .iter()
                .enumerate()
                .any(|(j, c)| j != i && c.name() == *self),
            f => f.names().enumerate().any(|(j, n)| j != i && n == *self)
        );
        if shared {
            let names = row.column_names();
            let positions = (0..names.len()).filter(|&j| names[j] == *self).collect();
            return Err(Error::AmbiguousColumn {
                column: (*self).to_owned(),
                positions,
            });
        }
        Ok(i)
    }
}

impl ColumnIndex for &String {
    fn index_in(&self, row: &Row) -> Result<usize> {
        self.as_str().index_in(row)
    }
}

impl ColumnIndex for String {
    fn index_in(&self, row: &Row) -> Result<usize> {
        self.as_str().index_in(row)
    }
}

/// A Rust type that can be read from a column of a [`Row`].
///
/// When the column's type is exactly the one the driver decodes into `Self`, the
/// driver's decoder runs directly; otherwise the column is read as a [`Value`] and
/// converted with [`FromValue`], so an `INTEGER` column reads as `i64` on PostgreSQL
/// and a 0/1 `TINYINT` reads as `bool` on MySQL.
pub trait Decode: Sized {
    /// Reads column `index` of `row`.
    fn decode(row: &Row, index: usize) -> Result<Self>;
}

// The types sqlx decodes directly (`bool`, integers, text, dates, ...) implement
// `Decode` in `engine::driver`, whose fast path takes the driver's own decoder.

/// Reads `v`, column `index` of `row`, as `T` through [`FromValue`].
pub(crate) fn decode_value_path<T: FromValue>(row: &Row, index: usize, v: Value) -> Result<T> {
    T::from_value(v).map_err(|m| row.decode_error(index, T::RUST_TYPE, m))
}

/// Types no driver decodes directly on every dialect: always through [`Value`].
macro_rules! decode_via_value {
    ($($t:ty),* $(,)?) => {$(
        impl Decode for $t {
            fn decode(row: &Row, index: usize) -> Result<Self> {
                decode_value_path(row, index, row.value_at(index)?)
            }
        }
        impl Decode for Option<$t> {
            fn decode(row: &Row, index: usize) -> Result<Self> {
                decode_value_path(row, index, row.value_at(index)?)
            }
        }
    )*};
}
decode_via_value!(i8, u8, u16, u32, u64, DateTime<FixedOffset>, Value);
// sqlx's SQLite driver has no DECIMAL; the value path covers it there.
#[cfg(feature = "decimal")]
decode_via_value!(rust_decimal::Decimal);

/// A Rust value built from a whole row: tuples of [`FromRowAt`] parts (single values
/// and whole models, by position) and models (`#[derive(Model)]`, their columns in declaration order; implemented in
/// [`model`](crate::model)).
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let engine = orm_runtime::create_engine("sqlite::memory:").await?;
/// let row = engine.fetch_one(orm_runtime::text("SELECT 1 AS id, 'ed' AS name, NULL AS email")).await?;
/// let (id, name, email): (i64, String, Option<String>) = row.decode()?;
/// assert_eq!((id, name.as_str(), email), (1, "ed", None));
/// # Ok::<(), orm_runtime::Error>(()) }).unwrap();
/// ```
pub trait FromRow: Sized {
    /// Builds the value from `row`.
    fn from_row(row: &Row) -> Result<Self>;
}

impl Row {
    /// The whole row as `T`: a tuple (columns by position) or a model.
    pub fn decode<T: FromRow>(&self) -> Result<T> {
        T::from_row(self)
    }
}

/// One part of a row read from a column offset: a single value ([`Decode`] types, one
/// column) or a whole model (`#[derive(Model)]`, its columns in declaration order). A
/// tuple of parts reads a row part after part: `row.decode::<(User, Post)>()` for
/// `select(columns_of::<User>()).add_columns(columns_of::<Post>())`.
pub trait FromRowAt: Sized {
    /// How many columns the part takes.
    fn width() -> usize;
    /// Reads the part from the columns starting at `offset`.
    fn from_row_at(row: &Row, offset: usize) -> Result<Self>;
}

impl<T: Decode> FromRowAt for T {
    fn width() -> usize {
        1
    }
    fn from_row_at(row: &Row, offset: usize) -> Result<Self> {
        row.get::<T>(offset)
    }
}

macro_rules! tuple_from_row {
    ($($name:ident : $i:tt),+) => {
        impl<$($name: FromRowAt),+> FromRow for ($($name,)+) {
            #[allow(unused_assignments)] // the last part's offset
            fn from_row(row: &Row) -> Result<Self> {
                let mut offset = 0;
                Ok(($({
                    let part = $name::from_row_at(row, offset)?;
                    offset += $name::width();
                    part
                },)+))
            }
        }
    };
}
tuple_from_row!(A: 0);
tuple_from_row!(A: 0, B: 1);
tuple_from_row!(A: 0, B: 1, C: 2);
tuple_from_row!(A: 0, B: 1, C: 2, D: 3);
tuple_from_row!(A: 0, B: 1, C: 2, D: 3, E: 4);
tuple_from_row!(A: 0, B: 1, C: 2, D: 3, E: 4, F: 5);
tuple_from_row!(A: 0, B: 1, C: 2, D: 3, E: 4, F: 5, G: 6);
tuple_from_row!(A: 0, B: 1, C: 2, D: 3, E: 4, F: 5, G: 6, H: 7);
tuple_from_row!(A: 0, B: 1, C: 2, D: 3, E: 4, F: 5, G: 6, H: 7, I: 8);
tuple_from_row!(A: 0, B: 1, C: 2, D: 3, E: 4, F: 5, G: 6, H: 7, I: 8, J: 9);
tuple_from_row!(A: 0, B: 1, C: 2, D: 3, E: 4, F: 5, G: 6, H: 7, I: 8, J: 9, K: 10);
tuple_from_row!(A: 0, B: 1, C: 2, D: 3, E: 4, F: 5, G: 6, H: 7, I: 8, J: 9, K: 10, L: 11);
