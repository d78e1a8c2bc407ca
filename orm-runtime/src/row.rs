//! Result rows, independent of the dialect, and the [`Decode`] trait that reads a
//! column as a Rust type.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use sqlx::{Column as _, Row as _, TypeInfo as _, ValueRef as _};

use crate::dialect::{mysql, postgres, sqlite};
use crate::error::{Error, Result};
use crate::value::{FromValue, Value};

/// One row of a result, from any of the three databases.
///
/// Read columns by name or position with [`Row::get`]; a mismatch between the column's
/// type and the Rust type is an [`Error::Decode`] naming the column and both types.
pub struct Row(pub(crate) RowInner);

pub(crate) enum RowInner {
    Postgres(sqlx::postgres::PgRow),
    MySql(sqlx::mysql::MySqlRow),
    Sqlite(sqlx::sqlite::SqliteRow),
}

/// Applies `$body` to the driver row inside a [`Row`], whatever its dialect.
macro_rules! with_row {
    ($row:expr, $r:ident => $body:expr) => {
        match &$row.0 {
            RowInner::Postgres($r) => $body,
            RowInner::MySql($r) => $body,
            RowInner::Sqlite($r) => $body,
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
    pub fn len(&self) -> usize {
        with_row!(self, r => r.len())
    }

    /// True when the row has no columns.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The column names, in order.
    pub fn column_names(&self) -> Vec<&str> {
        with_row!(self, r => r.columns().iter().map(|c| c.name()).collect())
    }

    /// The name of the column at `index`.
    pub fn column_name(&self, index: usize) -> Option<&str> {
        with_row!(self, r => r.columns().get(index).map(|c| c.name()))
    }

    /// The column's type as the database reports it (`INT8`, `VARCHAR`, `INTEGER`, ...).
    pub fn sql_type(&self, index: usize) -> Option<String> {
        with_row!(self, r => r.columns().get(index).map(|c| c.type_info().name().to_owned()))
    }

    /// The column's declared type; for an SQLite expression column, which has none, the
    /// storage class of its value.
    fn value_sql_type(&self, i: usize) -> String {
        let declared = self.sql_type(i).unwrap_or_else(|| "?".into());
        match &self.0 {
            RowInner::Sqlite(r) if declared == "NULL" => r
                .try_get_raw(i)
                .map(|v| v.type_info().name().to_owned())
                .unwrap_or(declared),
            _ => declared,
        }
    }

    fn value_at(&self, i: usize) -> Result<Value> {
        match &self.0 {
            RowInner::Postgres(r) => postgres::value_at(r, i),
            RowInner::MySql(r) => mysql::value_at(r, i),
            RowInner::Sqlite(r) => sqlite::value_at(r, i),
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
    fn index_in(&self, row: &Row) -> Result<usize> {
        let len = row.len();
        if *self < len {
            Ok(*self)
        } else {
            Err(Error::ColumnIndexOutOfBounds { index: *self, len })
        }
    }
}

impl ColumnIndex for &str {
    fn index_in(&self, row: &Row) -> Result<usize> {
        // sqlx's name map first; a scan of the columns where the driver left the map
        // empty (MySQL rows of `INSERT ... RETURNING`).
        let found = with_row!(row, r => sqlx::ColumnIndex::index(self, r)
            .ok()
            .or_else(|| r.columns().iter().position(|c| c.name() == *self)));
        found.ok_or_else(|| Error::ColumnNotFound {
            column: (*self).to_owned(),
            available: row.column_names().join(", "),
        })
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

/// The typed fast path, generic over the driver: the driver's own decoder when the
/// column's type is compatible, the [`Value`] path otherwise.
fn decode_driver<'r, DB, T>(
    row: &Row,
    r: &'r DB::Row,
    index: usize,
    value_at: fn(&DB::Row, usize) -> Result<Value>,
) -> Result<T>
where
    DB: sqlx::Database,
    T: sqlx::Decode<'r, DB> + sqlx::Type<DB> + FromValue,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    let raw = r.try_get_raw(index).map_err(Error::from)?;
    if !raw.is_null() && T::compatible(&raw.type_info()) {
        return T::decode(raw).map_err(|e| row.decode_error(index, T::RUST_TYPE, e.to_string()));
    }
    decode_value_path(row, index, value_at(r, index)?)
}

fn decode_value_path<T: FromValue>(row: &Row, index: usize, v: Value) -> Result<T> {
    T::from_value(v).map_err(|m| row.decode_error(index, T::RUST_TYPE, m))
}

macro_rules! decode_fast {
    ($($t:ty),* $(,)?) => {$(
        impl Decode for $t {
            #[inline]
            fn decode(row: &Row, index: usize) -> Result<Self> {
                match &row.0 {
                    RowInner::Postgres(r) => decode_driver::<sqlx::Postgres, _>(row, r, index, postgres::value_at),
                    RowInner::MySql(r) => decode_driver::<sqlx::MySql, _>(row, r, index, mysql::value_at),
                    RowInner::Sqlite(r) => decode_driver::<sqlx::Sqlite, _>(row, r, index, sqlite::value_at),
                }
            }
        }
        impl Decode for Option<$t> {
            #[inline]
            fn decode(row: &Row, index: usize) -> Result<Self> {
                match &row.0 {
                    RowInner::Postgres(r) => decode_driver::<sqlx::Postgres, _>(row, r, index, postgres::value_at),
                    RowInner::MySql(r) => decode_driver::<sqlx::MySql, _>(row, r, index, mysql::value_at),
                    RowInner::Sqlite(r) => decode_driver::<sqlx::Sqlite, _>(row, r, index, sqlite::value_at),
                }
            }
        }
    )*};
}

decode_fast!(
    bool,
    i16,
    i32,
    i64,
    f32,
    f64,
    String,
    Vec<u8>,
    NaiveDate,
    NaiveDateTime,
    DateTime<Utc>,
);
#[cfg(feature = "uuid")]
decode_fast!(uuid::Uuid);
#[cfg(feature = "json")]
decode_fast!(serde_json::Value);

/// `NaiveTime`: MySQL's TIME is a signed duration, which sqlx would read as a time of day
/// without its sign; there it goes through the checked [`Value`] path.
macro_rules! decode_time {
    ($($t:ty),*) => {$(
        impl Decode for $t {
            #[inline]
            fn decode(row: &Row, index: usize) -> Result<Self> {
                match &row.0 {
                    RowInner::Postgres(r) => decode_driver::<sqlx::Postgres, _>(row, r, index, postgres::value_at),
                    RowInner::MySql(_) => decode_value_path(row, index, row.value_at(index)?),
                    RowInner::Sqlite(r) => decode_driver::<sqlx::Sqlite, _>(row, r, index, sqlite::value_at),
                }
            }
        }
    )*};
}
decode_time!(NaiveTime, Option<NaiveTime>);

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

/// A Rust value built from a whole row: tuples of [`Decode`] types (columns by position)
/// and models (`#[derive(Model)]`, their columns in declaration order).
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

impl<M: crate::model::Model> FromRow for M {
    fn from_row(row: &Row) -> Result<Self> {
        M::from_row(row, 0)
    }
}

macro_rules! tuple_from_row {
    ($($name:ident : $i:tt),+) => {
        impl<$($name: Decode),+> FromRow for ($($name,)+) {
            fn from_row(row: &Row) -> Result<Self> {
                Ok(($(row.get::<$name>($i)?,)+))
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
