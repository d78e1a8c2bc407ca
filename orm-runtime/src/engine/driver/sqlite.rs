//! SQLite: binds through `sqlx::sqlite`, reads values by their storage class.

use sqlx::sqlite::{SqliteArguments, SqliteConnection, SqliteRow, SqliteValueRef};
use sqlx::{Column as _, Row as _, Sqlite, TypeInfo as _, ValueRef as _};

use super::{Driver, add_arg, column_decode_error, to_micros, unsigned_too_large};
use crate::error::{Error, Result};
use crate::row::{DriverRow, Row, RowInner};
use crate::value::Value;

impl Driver for Sqlite {
    fn raw(conn: &mut sqlx::SqliteConnection) -> crate::engine::exec::RawConn<'_> {
        crate::engine::exec::RawConn::Sqlite(conn)
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
                // SQLite has no decimal type: bound as text. A column with NUMERIC affinity
                // (what `NUMERIC(p, s)` declares) converts it to an integer or a double,
                // as SQLAlchemy's SQLite dialect does; declare the column TEXT to keep
                // every digit.
                #[cfg(feature = "decimal")]
                Value::Decimal(x) => add_arg::<Sqlite, _>(a, i, v, x.to_string()),
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
fn is_upsert(sql: &str) -> bool {
    sql.as_bytes()
        .windows(b"CONFLICT".len())
        .any(|w| w.eq_ignore_ascii_case(b"CONFLICT"))
}

fn nan(index: usize, value: &Value) -> Error {
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
