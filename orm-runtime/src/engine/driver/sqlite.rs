//! SQLite: binds through `sqlx::sqlite`, reads values by their storage class.

use sqlx::sqlite::{SqliteArguments, SqliteConnection, SqliteRow, SqliteValueRef};
use sqlx::{Column as _, Row as _, Sqlite, TypeInfo as _, ValueRef as _};

use futures_core::future::BoxFuture;

use super::sqlite_fast::conn::SqliteConn;
use super::{Driver, add_arg, column_decode_error, to_micros, unsigned_too_large};
use crate::error::{Error, Result};
use crate::row::{DriverRow, Row, RowInner};
use crate::value::Value;

impl Driver for Sqlite {
    type Conn = SqliteConn;

    fn wrap(conn: SqliteConnection, fast: bool) -> SqliteConn {
        SqliteConn::new(conn, fast)
    }

    fn raw(conn: &mut SqliteConn) -> crate::engine::exec::RawConn<'_> {
        crate::engine::exec::RawConn::Sqlite(conn)
    }

    fn depth(conn: &SqliteConn) -> usize {
        conn.depth()
    }

    fn begin(conn: &mut SqliteConn, immediate: bool) -> BoxFuture<'_, Result<()>> {
        Box::pin(conn.begin(immediate))
    }

    fn commit(conn: &mut SqliteConn) -> BoxFuture<'_, Result<()>> {
        Box::pin(conn.commit())
    }

    fn rollback(conn: &mut SqliteConn) -> BoxFuture<'_, Result<()>> {
        Box::pin(conn.rollback())
    }

    fn start_rollback(conn: &mut SqliteConn) {
        conn.start_rollback();
    }

    fn ping(conn: &mut SqliteConn) -> BoxFuture<'_, Result<()>> {
        Box::pin(conn.ping())
    }

    fn close(conn: SqliteConn) -> BoxFuture<'static, std::result::Result<(), sqlx::Error>> {
        conn.close()
    }

    fn arguments(binds: &[Value]) -> Result<SqliteArguments<'_>> {
        let mut args = SqliteArguments::default();
        for (i, v) in binds.iter().enumerate() {
            let a = &mut args;
            match v {
                Value::Null | Value::TypedNull(_) => add_arg::<Sqlite, _>(a, i, v, None::<i64>),
                Value::Bool(x) => add_arg::<Sqlite, _>(a, i, v, *x),
                Value::I16(x) => add_arg::<Sqlite, _>(a, i, v, *x),
                Value::I32(x) => add_arg::<Sqlite, _>(a, i, v, *x),
                Value::I64(x) => add_arg::<Sqlite, _>(a, i, v, *x),
                Value::U64(x) => Err(unsigned_too_large(i, v, *x, "SQLite")),
                // SQLite stores a NaN as NULL, without a word: refused. Infinities are
                // stored as such.
                Value::F32(x) if x.is_nan() => Err(nan(i, v)),
                Value::F64(x) if x.is_nan() => Err(nan(i, v)),
                Value::F32(x) => add_arg::<Sqlite, _>(a, i, v, *x),
                Value::F64(x) => add_arg::<Sqlite, _>(a, i, v, *x),
                Value::Text(x) => add_arg::<Sqlite, _>(a, i, v, x.as_str()),
                Value::Bytes(x) => add_arg::<Sqlite, _>(a, i, v, x.as_slice()),
                // Dates and times are stored as ISO-8601 text, which sorts and compares
                // correctly and is what SQLite's date functions read.
                Value::Date(x) => add_arg::<Sqlite, _>(a, i, v, *x),
                Value::Time(x) => add_arg::<Sqlite, _>(a, i, v, to_micros(*x)),
                Value::DateTime(x) => add_arg::<Sqlite, _>(a, i, v, to_micros(*x)),
                // An instant is stored as its UTC wall time in the format of
                // `CURRENT_TIMESTAMP` (`YYYY-MM-DD HH:MM:SS[.f]`), so that stored,
                // defaulted and bound timestamps compare as text correctly.
                Value::DateTimeUtc(x) => add_arg::<Sqlite, _>(a, i, v, to_micros(x.naive_utc())),
                #[cfg(feature = "uuid")]
                Value::Uuid(x) => add_arg::<Sqlite, _>(a, i, v, *x),
                #[cfg(feature = "json")]
                Value::Json(x) => add_arg::<Sqlite, _>(a, i, v, sqlx::types::Json(x)),
                // SQLite has no decimal type: a decimal is bound as a number, so that it
                // compares as one everywhere (see `sqlite_number`).
                #[cfg(feature = "decimal")]
                Value::Decimal(x) => match sqlite_number(*x) {
                    Number::Integer(n) => add_arg::<Sqlite, _>(a, i, v, n),
                    Number::Real(f) => add_arg::<Sqlite, _>(a, i, v, f),
                    Number::Text(t) => add_arg::<Sqlite, _>(a, i, v, t),
                },
                Value::Array(_) => Err(super::no_arrays(i, v, "SQLite")),
            }?;
        }
        Ok(args)
    }

    fn reset_insert_id<'c>(
        conn: &'c mut SqliteConnection,
        sql: &str,
    ) -> futures_core::future::BoxFuture<'c, Result<bool>> {
        if !is_upsert(sql) {
            return Box::pin(std::future::ready(Ok(false)));
        }
        Box::pin(async move {
            let mut handle = conn.lock_handle().await?;
            let db = handle.as_raw_handle();
            // SAFETY: `db` is the connection's open `sqlite3` handle, valid while
            // `handle` holds the connection's lock (so no statement runs on it meanwhile);
            // the call only sets an integer on it.
            unsafe { libsqlite3_sys::sqlite3_set_last_insert_rowid(db.as_ptr(), 0) };
            Ok(true)
        })
    }

    fn wrap_row(row: SqliteRow) -> Row {
        Row(RowInner::Sqlite(row))
    }

    fn done(result: &sqlx::sqlite::SqliteQueryResult) -> (u64, Option<Value>) {
        (
            result.rows_affected(),
            Some(Value::I64(result.last_insert_rowid())),
        )
    }
}

/// True for SQL that may hold an `ON CONFLICT` clause (an upsert); a false positive
/// (the word in a string or a name) only costs a step on the connection's worker.
pub(crate) fn is_upsert(sql: &str) -> bool {
    sql.as_bytes()
        .windows(b"CONFLICT".len())
        .any(|w| w.eq_ignore_ascii_case(b"CONFLICT"))
}

/// How a decimal is bound on SQLite.
#[cfg(feature = "decimal")]
#[derive(Debug, PartialEq)]
pub(crate) enum Number {
    Integer(i64),
    Real(f64),
    Text(String),
}

/// The most significant digits a decimal bound to SQLite as a REAL may have: a double
/// holds every decimal of 15 digits exactly in the decimal sense (the nearest double
/// reads back, and SQLite writes it as text, as the same digits).
#[cfg(feature = "decimal")]
const SQLITE_DECIMAL_DIGITS: u32 = 15;

/// How a decimal is bound on SQLite, which has no decimal type. As the number it is
/// whenever that changes nothing, so that it compares as a number everywhere (bound as
/// text, `HAVING sum(total) > ?` compares text with a number, and text is greater than
/// every number: no row), and is stored as a column of NUMERIC affinity (what
/// `NUMERIC(p, s)` declares) stores any decimal, as an INTEGER or a REAL:
///
/// - an integer that fits 64 bits (`45`, `45.00`): an INTEGER;
/// - any other decimal of at most 15 significant digits: a REAL, the double nearest to
///   it, which reads back as the same decimal (`12.30` reads back as `12.3`: the scale
///   is not stored);
/// - a decimal of more digits, which a double would change: its exact text. A TEXT
///   column keeps every digit; a NUMERIC column converts it to a double, as SQLite
///   does with any such text; and where nothing gives it a numeric affinity (an
///   aggregate compared with it) it compares as text. Round it to 15 digits to compare
///   it as a number there.
#[cfg(feature = "decimal")]
pub(crate) fn sqlite_number(d: rust_decimal::Decimal) -> Number {
    use rust_decimal::prelude::ToPrimitive as _;
    let n = d.normalize();
    if n.scale() == 0 {
        if let Some(i) = n.to_i64() {
            return Number::Integer(i);
        }
    }
    let digits = n
        .mantissa()
        .unsigned_abs()
        .checked_ilog10()
        .map_or(1, |l| l + 1);
    match n.to_f64() {
        Some(f) if digits <= SQLITE_DECIMAL_DIGITS => Number::Real(f),
        _ => Number::Text(d.to_string()),
    }
}

pub(crate) fn nan(index: usize, value: &Value) -> Error {
    Error::Bind {
        index: index + 1,
        value_type: value.type_name(),
        message: "SQLite cannot store NaN (it would store NULL); infinities it can".into(),
    }
}

fn dec<'r, T: sqlx::Decode<'r, Sqlite>>(raw: SqliteValueRef<'r>) -> Result<T, String> {
    T::decode(raw).map_err(|e| e.to_string())
}

impl DriverRow for SqliteRow {
    fn value_at(&self, i: usize) -> Result<Value> {
        value_at(self, i)
    }

    /// An expression column has no declared type (`NULL`): a decode error names the
    /// storage class of its value instead.
    fn value_sql_type(&self, i: usize, declared: String) -> String {
        if declared != "NULL" {
            return declared;
        }
        self.try_get_raw(i)
            .map(|v| v.type_info().name().to_owned())
            .unwrap_or(declared)
    }
}

/// Reads column `i` as a [`Value`] from its storage class; a 0 or 1 in a column
/// declared BOOLEAN is a [`Value::Bool`] (any other integer stays an integer).
fn value_at(row: &SqliteRow, i: usize) -> Result<Value> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let storage = raw.type_info().name().to_owned();
    let v = match storage.as_str() {
        "INTEGER" | "BOOLEAN" => {
            let declared_bool = row.columns()[i].type_info().name() == "BOOLEAN";
            dec::<i64>(raw).map(|x| match x {
                0 | 1 if declared_bool => Value::Bool(x == 1),
                _ => Value::I64(x),
            })
        }
        "REAL" => dec(raw).map(Value::F64),
        "BLOB" => dec(raw).map(Value::Bytes),
        _ => dec::<&str>(raw).map(|s| Value::Text(s.to_owned())),
    };
    v.map_err(|m| column_decode_error(row, i, m))
}

#[cfg(all(test, feature = "decimal"))]
mod tests {
    use super::{Number, sqlite_number};
    use rust_decimal::Decimal;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn decimals_bind_as_the_numbers_they_are() {
        assert_eq!(sqlite_number(d("45")), Number::Integer(45));
        assert_eq!(sqlite_number(d("-45.000")), Number::Integer(-45));
        assert_eq!(
            sqlite_number(d("9223372036854775807")),
            Number::Integer(i64::MAX)
        );
        assert_eq!(sqlite_number(d("12.30")), Number::Real(12.3));
        assert_eq!(sqlite_number(d("0.1")), Number::Real(0.1));
        assert_eq!(
            sqlite_number(d("1234567890.12345")),
            Number::Real(1_234_567_890.123_45)
        );
        assert_eq!(sqlite_number(d("0")), Number::Integer(0));
    }

    #[test]
    fn a_decimal_a_double_would_change_binds_as_its_exact_text() {
        assert_eq!(
            sqlite_number(d("0.12345678901234567890")),
            Number::Text("0.12345678901234567890".into())
        );
        assert_eq!(
            sqlite_number(d("1234567890.123456")),
            Number::Text("1234567890.123456".into())
        );
        // An integer beyond 64 bits is no INTEGER, and too long for a double.
        assert_eq!(
            sqlite_number(d("92233720368547758070")),
            Number::Text("92233720368547758070".into())
        );
    }

    #[test]
    fn every_decimal_of_15_digits_reads_back_from_its_double() {
        for s in [
            "0.1",
            "0.3",
            "123456789.123456",
            "99999999999999.9",
            "0.00000000000000000001",
        ] {
            let x = d(s);
            let Number::Real(f) = sqlite_number(x) else {
                panic!("{s}")
            };
            assert_eq!(Decimal::try_from(f).unwrap(), x, "{s}");
        }
    }
}
