//! MySQL and MariaDB: binds through `sqlx::mysql`, decodes its binary protocol.

use sqlx::mysql::{MySqlArguments, MySqlRow, MySqlValueRef};
use sqlx::{MySql, Row as _, TypeInfo as _, ValueRef as _};

use chrono::{Datelike as _, Timelike as _};

use super::{Driver, add_arg, check_leap_second, column_decode_error, to_micros};
use crate::error::{Error, Result};
use crate::row::{DriverRow, Row, RowInner};
use crate::value::Value;

impl Driver for MySql {
    super::sqlx_conn_glue!(sqlx::MySqlConnection, MySql);

    fn arguments(binds: &[Value]) -> Result<MySqlArguments> {
        let mut args = MySqlArguments::default();
        for (i, v) in binds.iter().enumerate() {
            let a = &mut args;
            match v {
                Value::Null | Value::TypedNull(_) => add_arg::<MySql, _>(a, i, v, None::<&str>),
                Value::Bool(x) => add_arg::<MySql, _>(a, i, v, *x),
                Value::I16(x) => add_arg::<MySql, _>(a, i, v, *x),
                Value::I32(x) => add_arg::<MySql, _>(a, i, v, *x),
                Value::I64(x) => add_arg::<MySql, _>(a, i, v, *x),
                Value::U64(x) => add_arg::<MySql, _>(a, i, v, *x),
                // MySQL and MariaDB have no NaN or infinity: refused here with that
                // reason, rather than the server's "out of range value".
                Value::F32(x) if !x.is_finite() => Err(non_finite(i, v, x.to_string())),
                Value::F64(x) if !x.is_finite() => Err(non_finite(i, v, x.to_string())),
                Value::F32(x) => add_arg::<MySql, _>(a, i, v, *x),
                Value::F64(x) => add_arg::<MySql, _>(a, i, v, *x),
                Value::Text(x) => add_arg::<MySql, _>(a, i, v, x.as_str()),
                Value::Bytes(x) => add_arg::<MySql, _>(a, i, v, x.as_slice()),
                Value::Date(x) => {
                    check_year(i, v, x.year())?;
                    add_arg::<MySql, _>(a, i, v, *x)
                }
                Value::Time(x) => {
                    check_leap_second(i, v, x.nanosecond(), "MySQL and MariaDB")?;
                    add_arg::<MySql, _>(a, i, v, to_micros(*x))
                }
                Value::DateTime(x) => {
                    check_year(i, v, x.year())?;
                    check_leap_second(i, v, x.nanosecond(), "MySQL and MariaDB")?;
                    add_arg::<MySql, _>(a, i, v, to_micros(*x))
                }
                // The connection's session time zone is UTC (`+00:00`, set by sqlx), so an
                // instant is stored as its UTC wall time. It is sent as a DATETIME, not as
                // sqlx's TIMESTAMP: the server checks a DATETIME against the column's
                // range (an error naming the column in strict mode, e.g. 2050 in a
                // TIMESTAMP column) but stores an out-of-range TIMESTAMP parameter as NULL,
                // or the current time in a NOT NULL column, without a word.
                Value::DateTimeUtc(x) => {
                    check_year(i, v, x.year())?;
                    check_leap_second(i, v, x.nanosecond(), "MySQL and MariaDB")?;
                    add_arg::<MySql, _>(a, i, v, to_micros(x.naive_utc()))
                }
                #[cfg(feature = "uuid")]
                Value::Uuid(x) => add_arg::<MySql, _>(a, i, v, *x),
                #[cfg(feature = "json")]
                Value::Json(x) => add_arg::<MySql, _>(a, i, v, sqlx::types::Json(x)),
                #[cfg(feature = "decimal")]
                Value::Decimal(x) => add_arg::<MySql, _>(a, i, v, *x),
                Value::Array(_) => Err(super::no_arrays(i, v, "MySQL and MariaDB")),
            }?;
        }
        Ok(args)
    }

    fn wrap_row(row: MySqlRow) -> Row {
        Row(RowInner::MySql(row))
    }

    fn done(result: &sqlx::mysql::MySqlQueryResult) -> (u64, Option<Value>) {
        let id = result.last_insert_id();
        (result.rows_affected(), (id != 0).then(|| Value::from(id)))
    }
}

fn non_finite(index: usize, value: &Value, shown: String) -> Error {
    Error::Bind {
        index: index + 1,
        value_type: value.type_name(),
        message: format!("MySQL and MariaDB cannot store {shown}: they have no NaN or infinity"),
    }
}

/// Refuses a date past year 9999 before it is sent: the server turns such a parameter
/// into `0000-00-00` (a warning, even in strict mode) instead of failing. (sqlx refuses
/// negative years itself.)
fn check_year(index: usize, value: &Value, year: i32) -> Result<()> {
    if year <= 9999 {
        return Ok(());
    }
    Err(Error::Bind {
        index: index + 1,
        value_type: value.type_name(),
        message: format!(
            "year {year} is out of range for MySQL and MariaDB: DATE and DATETIME hold \
             years 1000 to 9999, TIMESTAMP 1970 to 2038"
        ),
    })
}

fn dec<'r, T: sqlx::Decode<'r, MySql>>(raw: MySqlValueRef<'r>) -> Result<T, String> {
    T::decode(raw).map_err(|e| e.to_string())
}

impl DriverRow for MySqlRow {
    fn value_at(&self, i: usize) -> Result<Value> {
        value_at(self, i)
    }
}

/// Reads column `i` as a [`Value`], choosing the variant from the column's type.
fn value_at(row: &MySqlRow, i: usize) -> Result<Value> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let ty = raw.type_info().into_owned();
    let v = match ty.name() {
        // `BOOL` is `TINYINT(1)`, which holds -128 to 127: only 0 and 1 are booleans.
        "BOOLEAN" => dec::<i8>(raw).map(|x| match x {
            0 | 1 => Value::Bool(x == 1),
            other => Value::I16(other.into()),
        }),
        "TINYINT" => dec::<i8>(raw).map(|x| Value::I16(x.into())),
        "TINYINT UNSIGNED" => dec::<u8>(raw).map(|x| Value::I16(x.into())),
        "SMALLINT" | "YEAR" => dec(raw).map(Value::I16),
        "SMALLINT UNSIGNED" => dec::<u16>(raw).map(|x| Value::I32(x.into())),
        "INT" | "MEDIUMINT" => dec(raw).map(Value::I32),
        "INT UNSIGNED" | "MEDIUMINT UNSIGNED" => dec::<u32>(raw).map(|x| Value::I64(x.into())),
        "BIGINT" => dec(raw).map(Value::I64),
        "BIGINT UNSIGNED" => dec::<u64>(raw).map(Value::from),
        "FLOAT" => dec(raw).map(Value::F32),
        "DOUBLE" => dec(raw).map(Value::F64),
        #[cfg(feature = "decimal")]
        "DECIMAL" => dec(raw).map(Value::Decimal),
        "DATE" => dec(raw).map(Value::Date),
        // MySQL's TIME is a duration (-838:59:59 to 838:59:59); only a time of day fits
        // `Value::Time`, and a negative or longer one is an error rather than a wrong
        // value.
        "TIME" => dec::<sqlx::mysql::types::MySqlTime>(raw).and_then(|t| {
            if t.is_valid_time_of_day() {
                chrono::NaiveTime::from_hms_micro_opt(
                    t.hours(),
                    u32::from(t.minutes()),
                    u32::from(t.seconds()),
                    t.microseconds(),
                )
                .map(Value::Time)
                .ok_or_else(|| format!("{t} is not a time of day"))
            } else {
                Err(format!(
                    "{t} is a duration, not a time of day; read it with CAST(x AS CHAR)"
                ))
            }
        }),
        "DATETIME" => dec(raw).map(Value::DateTime),
        "TIMESTAMP" => dec(raw).map(Value::DateTimeUtc),
        #[cfg(feature = "json")]
        "JSON" => dec(raw).map(Value::Json),
        // The protocol flags a text column with a binary collation (`utf8mb4_bin`) exactly as
        // a BLOB, so such text reads as bytes here; `Value::to::<String>()` and typed
        // reads (`row.get::<String>`) turn it back into text.
        "BINARY" | "VARBINARY" | "TINYBLOB" | "BLOB" | "MEDIUMBLOB" | "LONGBLOB" | "BIT"
        | "GEOMETRY" => dec(raw).map(Value::Bytes),
        "NULL" => Ok(Value::Null),
        // CHAR, VARCHAR, *TEXT, ENUM, SET, and DECIMAL/JSON without their features: the
        // server sends these as text.
        _ => dec::<&str>(raw).map(|s| Value::Text(s.to_owned())),
    };
    v.map_err(|m| column_decode_error(row, i, m))
}
