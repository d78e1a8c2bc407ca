//! PostgreSQL: binds through `sqlx::postgres`, decodes its binary result formats.

use sqlx::postgres::{PgArgumentBuffer, PgArguments, PgRow, PgTypeInfo, PgValueRef};
use sqlx::{Postgres, Row as _, TypeInfo as _, ValueRef as _};

use chrono::Timelike as _;

use super::{
    Driver, add_arg, check_leap_second, column_decode_error, to_micros, unsigned_too_large,
};
use crate::error::Result;
use crate::row::{DriverRow, Row, RowInner};
use crate::value::{Value, ValueKind};

/// A NULL whose type the server infers from the statement (parameter type OID 0,
/// "unspecified"), so `NULL` binds into a column of any type.
struct UntypedNull;

impl sqlx::Type<Postgres> for UntypedNull {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_oid(sqlx::postgres::types::Oid(0))
    }
}

impl sqlx::Encode<'_, Postgres> for UntypedNull {
    fn encode_by_ref(
        &self,
        _buf: &mut PgArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        Ok(sqlx::encode::IsNull::Yes)
    }
}

impl Driver for Postgres {
    super::sqlx_conn_glue!(sqlx::PgConnection, Postgres);

    fn arguments(binds: &[Value]) -> Result<PgArguments> {
        let mut args = PgArguments::default();
        for (i, v) in binds.iter().enumerate() {
            let a = &mut args;
            match v {
                Value::Null => add_arg::<Postgres, _>(a, i, v, UntypedNull),
                Value::TypedNull(k) => bind_typed_null(a, i, v, *k),
                Value::Bool(x) => add_arg::<Postgres, _>(a, i, v, *x),
                Value::I16(x) => add_arg::<Postgres, _>(a, i, v, *x),
                Value::I32(x) => add_arg::<Postgres, _>(a, i, v, *x),
                Value::I64(x) => add_arg::<Postgres, _>(a, i, v, *x),
                Value::U64(x) => Err(unsigned_too_large(i, v, *x, "PostgreSQL")),
                Value::F32(x) => add_arg::<Postgres, _>(a, i, v, *x),
                Value::F64(x) => add_arg::<Postgres, _>(a, i, v, *x),
                Value::Text(x) => add_arg::<Postgres, _>(a, i, v, x.as_str()),
                Value::Bytes(x) => add_arg::<Postgres, _>(a, i, v, x.as_slice()),
                Value::Date(x) => add_arg::<Postgres, _>(a, i, v, *x),
                Value::Time(x) => add_arg::<Postgres, _>(a, i, v, to_micros(*x)),
                Value::DateTime(x) => {
                    check_leap_second(i, v, x.nanosecond(), "PostgreSQL")?;
                    add_arg::<Postgres, _>(a, i, v, to_micros(*x))
                }
                Value::DateTimeUtc(x) => {
                    check_leap_second(i, v, x.nanosecond(), "PostgreSQL")?;
                    add_arg::<Postgres, _>(a, i, v, to_micros(*x))
                }
                #[cfg(feature = "uuid")]
                Value::Uuid(x) => add_arg::<Postgres, _>(a, i, v, *x),
                #[cfg(feature = "json")]
                Value::Json(x) => add_arg::<Postgres, _>(a, i, v, sqlx::types::Json(x)),
                #[cfg(feature = "decimal")]
                Value::Decimal(x) => add_arg::<Postgres, _>(a, i, v, *x),
                Value::Array(items) => bind_array(a, i, v, items),
            }?;
        }
        Ok(args)
    }

    fn wrap_row(row: PgRow) -> Row {
        Row(RowInner::Postgres(row))
    }

    fn done(result: &sqlx::postgres::PgQueryResult) -> (u64, Option<Value>) {
        (result.rows_affected(), None)
    }

    /// sqlx caches a prepared statement by its SQL text alone, and PostgreSQL fixes a
    /// prepared statement's parameter types: the same SQL run with an `i32`, then an `i64`
    /// at one place would send 8 bytes where 4 are expected ("incorrect binary data
    /// format"), or worse, decode silently wrong. A comment naming the parameter types
    /// makes each type signature a statement of its own. (An untyped NULL has its type
    /// inferred by the server, and a signature of its own too.)
    fn statement_text<'a>(sql: &'a str, binds: &[Value]) -> std::borrow::Cow<'a, str> {
        if binds.is_empty() {
            return std::borrow::Cow::Borrowed(sql);
        }
        let mut text = String::with_capacity(sql.len() + binds.len() + 8);
        text.push_str(sql);
        text.push_str(" /*");
        for v in binds {
            text.push(match v {
                Value::Null => 'n',
                Value::Array(items) => match array_kind(items) {
                    Some(k) => k.to_ascii_uppercase(),
                    None => 'A',
                },
                // A typed NULL has its kind's letter: it binds that type.
                v => v.kind().map_or('n', |k| match k {
                    ValueKind::Bool => 'b',
                    ValueKind::I16 => 'h',
                    ValueKind::I32 => 'i',
                    ValueKind::I64 => 'l',
                    ValueKind::U64 => 'U',
                    ValueKind::F32 => 'f',
                    ValueKind::F64 => 'd',
                    ValueKind::Text => 't',
                    ValueKind::Bytes => 'y',
                    ValueKind::Date => 'D',
                    ValueKind::Time => 'T',
                    ValueKind::DateTime => 'S',
                    ValueKind::DateTimeUtc => 'Z',
                    #[cfg(feature = "uuid")]
                    ValueKind::Uuid => 'u',
                    #[cfg(feature = "json")]
                    ValueKind::Json => 'j',
                    #[cfg(feature = "decimal")]
                    ValueKind::Decimal => 'N',
                }),
            });
        }
        text.push_str("*/");
        std::borrow::Cow::Owned(text)
    }
}

/// A NULL of the type `kind` binds as (the same sqlx type as its non-NULL values), so
/// that the prepared statement's parameter type is the same either way.
fn bind_typed_null(a: &mut PgArguments, i: usize, v: &Value, kind: ValueKind) -> Result<()> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
    match kind {
        ValueKind::Bool => add_arg::<Postgres, _>(a, i, v, None::<bool>),
        ValueKind::I16 => add_arg::<Postgres, _>(a, i, v, None::<i16>),
        ValueKind::I32 => add_arg::<Postgres, _>(a, i, v, None::<i32>),
        ValueKind::I64 => add_arg::<Postgres, _>(a, i, v, None::<i64>),
        // PostgreSQL has no unsigned type: as a non-NULL U64, whose bind is an error,
        // the server infers it.
        ValueKind::U64 => add_arg::<Postgres, _>(a, i, v, UntypedNull),
        ValueKind::F32 => add_arg::<Postgres, _>(a, i, v, None::<f32>),
        ValueKind::F64 => add_arg::<Postgres, _>(a, i, v, None::<f64>),
        ValueKind::Text => add_arg::<Postgres, _>(a, i, v, None::<&str>),
        ValueKind::Bytes => add_arg::<Postgres, _>(a, i, v, None::<&[u8]>),
        ValueKind::Date => add_arg::<Postgres, _>(a, i, v, None::<NaiveDate>),
        ValueKind::Time => add_arg::<Postgres, _>(a, i, v, None::<NaiveTime>),
        ValueKind::DateTime => add_arg::<Postgres, _>(a, i, v, None::<NaiveDateTime>),
        ValueKind::DateTimeUtc => add_arg::<Postgres, _>(a, i, v, None::<DateTime<Utc>>),
        #[cfg(feature = "uuid")]
        ValueKind::Uuid => add_arg::<Postgres, _>(a, i, v, None::<uuid::Uuid>),
        #[cfg(feature = "json")]
        ValueKind::Json => {
            add_arg::<Postgres, _>(a, i, v, None::<sqlx::types::Json<&serde_json::Value>>)
        }
        #[cfg(feature = "decimal")]
        ValueKind::Decimal => add_arg::<Postgres, _>(a, i, v, None::<rust_decimal::Decimal>),
    }
}

/// The element kind of an array (its first non-NULL element's `statement_text` letter),
/// or `None` for an empty or all-NULL array.
fn array_kind(items: &[Value]) -> Option<char> {
    items
        .iter()
        .find(|v| !matches!(v, Value::Null))
        .map(|v| v.array_element_kind().unwrap_or('?'))
}

/// The elements of `items` as `T` (NULL as `None`); an element of another type is an
/// error naming it.
fn elements<'a, T>(
    i: usize,
    v: &Value,
    items: &'a [Value],
    pick: impl Fn(&'a Value) -> Option<T>,
) -> Result<Vec<Option<T>>> {
    items
        .iter()
        .map(|e| match e {
            e if e.is_null() => Ok(None),
            other => pick(other)
                .map(Some)
                .ok_or_else(|| crate::error::Error::Bind {
                    index: i + 1,
                    value_type: v.type_name(),
                    message: format!(
                        "an array's elements must be of one type; found {} among {}",
                        other.type_name(),
                        items
                            .iter()
                            .find(|x| !matches!(x, Value::Null))
                            .map_or("NULL", Value::type_name)
                    ),
                }),
        })
        .collect()
}

fn bind_array(a: &mut PgArguments, i: usize, v: &Value, items: &[Value]) -> Result<()> {
    // As for a single timestamp: PostgreSQL would store a leap second one second on.
    for e in items {
        match e {
            Value::DateTime(x) => check_leap_second(i, v, x.nanosecond(), "PostgreSQL")?,
            Value::DateTimeUtc(x) => check_leap_second(i, v, x.nanosecond(), "PostgreSQL")?,
            _ => {}
        }
    }
    match array_kind(items) {
        // An empty (or all-NULL) array is bound as bigint[] (an IN list never binds one).
        None | Some('l') => {
            let xs = elements(i, v, items, |e| match e {
                Value::I64(x) => Some(*x),
                _ => None,
            })?;
            add_arg::<Postgres, _>(a, i, v, xs)
        }
        Some('h') => add_arg::<Postgres, _>(
            a,
            i,
            v,
            elements(i, v, items, |e| match e {
                Value::I16(x) => Some(*x),
                _ => None,
            })?,
        ),
        Some('i') => add_arg::<Postgres, _>(
            a,
            i,
            v,
            elements(i, v, items, |e| match e {
                Value::I32(x) => Some(*x),
                _ => None,
            })?,
        ),
        Some('b') => add_arg::<Postgres, _>(
            a,
            i,
            v,
            elements(i, v, items, |e| match e {
                Value::Bool(x) => Some(*x),
                _ => None,
            })?,
        ),
        Some('d') => add_arg::<Postgres, _>(
            a,
            i,
            v,
            elements(i, v, items, |e| match e {
                Value::F64(x) => Some(*x),
                _ => None,
            })?,
        ),
        Some('t') => add_arg::<Postgres, _>(
            a,
            i,
            v,
            elements(i, v, items, |e| match e {
                Value::Text(x) => Some(x.as_str()),
                _ => None,
            })?,
        ),
        Some('D') => add_arg::<Postgres, _>(
            a,
            i,
            v,
            elements(i, v, items, |e| match e {
                Value::Date(x) => Some(*x),
                _ => None,
            })?,
        ),
        Some('s') => add_arg::<Postgres, _>(
            a,
            i,
            v,
            elements(i, v, items, |e| match e {
                Value::DateTime(x) => Some(to_micros(*x)),
                _ => None,
            })?,
        ),
        Some('z') => add_arg::<Postgres, _>(
            a,
            i,
            v,
            elements(i, v, items, |e| match e {
                Value::DateTimeUtc(x) => Some(to_micros(*x)),
                _ => None,
            })?,
        ),
        #[cfg(feature = "uuid")]
        Some('u') => add_arg::<Postgres, _>(
            a,
            i,
            v,
            elements(i, v, items, |e| match e {
                Value::Uuid(x) => Some(*x),
                _ => None,
            })?,
        ),
        Some(_) => Err(crate::error::Error::Bind {
            index: i + 1,
            value_type: v.type_name(),
            message: format!(
                "arrays of {} are not supported as parameters",
                items
                    .iter()
                    .find(|x| !matches!(x, Value::Null))
                    .map_or("NULL", Value::type_name)
            ),
        }),
    }
}

/// The exact text of a NUMERIC value, as PostgreSQL's own `numeric_out` writes it:
/// every digit of its scale (`2.50` stays `2.50`), `NaN`, `Infinity`, `-Infinity`.
/// Values in the text format (a simple query) arrive already written.
pub(crate) fn numeric_text(raw: &PgValueRef<'_>) -> Result<String, String> {
    if raw.format() == sqlx::postgres::PgValueFormat::Text {
        return raw.as_str().map(str::to_owned).map_err(|e| e.to_string());
    }
    numeric_from_binary(raw.as_bytes().map_err(|e| e.to_string())?)
}

/// Writes a NUMERIC from its binary form: digit count, weight (of the first base-10000
/// digit), sign, display scale, then the base-10000 digits.
pub(crate) fn numeric_from_binary(buf: &[u8]) -> Result<String, String> {
    let bad = || format!("a NUMERIC of {} bytes is malformed", buf.len());
    let word = |i: usize| -> Result<u16, String> {
        buf.get(2 * i..2 * i + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(bad)
    };
    let ndigits = usize::from(word(0)?);
    let weight = i64::from(word(1)? as i16);
    let sign = word(2)?;
    let dscale = usize::from(word(3)?);
    match sign {
        0xC000 => return Ok("NaN".to_owned()),
        0xD000 => return Ok("Infinity".to_owned()),
        0xF000 => return Ok("-Infinity".to_owned()),
        0x0000 | 0x4000 => {}
        other => return Err(format!("a NUMERIC with the unknown sign {other:#06X}")),
    }
    let digits = (0..ndigits)
        .map(|d| word(4 + d).and_then(|x| if x < 10_000 { Ok(x) } else { Err(bad()) }))
        .collect::<Result<Vec<u16>, String>>()?;
    // The base-10000 digit at position `p` (0 = the first stored), 0 outside them.
    let at = |p: i64| {
        usize::try_from(p)
            .ok()
            .and_then(|p| digits.get(p))
            .copied()
            .unwrap_or(0)
    };
    let mut out = String::new();
    if sign == 0x4000 {
        out.push('-');
    }
    if weight < 0 {
        out.push('0');
    } else {
        out.push_str(&at(0).to_string());
        for p in 1..=weight {
            out.push_str(&format!("{:04}", at(p)));
        }
    }
    if dscale > 0 {
        out.push('.');
        let mut fraction = String::with_capacity(dscale + 4);
        let mut p = weight + 1;
        while fraction.len() < dscale {
            fraction.push_str(&format!("{:04}", at(p)));
            p += 1;
        }
        fraction.truncate(dscale);
        out.push_str(&fraction);
    }
    Ok(out)
}

fn dec<'r, T: sqlx::Decode<'r, Postgres>>(raw: PgValueRef<'r>) -> Result<T, String> {
    T::decode(raw).map_err(|e| e.to_string())
}

impl DriverRow for PgRow {
    fn value_at(&self, i: usize) -> Result<Value> {
        value_at(self, i)
    }
}

/// Reads column `i` as a [`Value`], choosing the variant from the column's type.
fn value_at(row: &PgRow, i: usize) -> Result<Value> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let ty = raw.type_info().into_owned();
    let v = match ty.name() {
        "BOOL" => dec(raw).map(Value::Bool),
        "INT2" => dec(raw).map(Value::I16),
        "INT4" => dec(raw).map(Value::I32),
        "INT8" => dec(raw).map(Value::I64),
        "OID" => dec::<sqlx::postgres::types::Oid>(raw).map(|o| Value::I64(o.0.into())),
        "\"CHAR\"" => dec::<i8>(raw).map(|c| Value::I16(c.into())),
        "FLOAT4" => dec(raw).map(Value::F32),
        "FLOAT8" => dec(raw).map(Value::F64),
        "BYTEA" => dec(raw).map(Value::Bytes),
        "DATE" => dec(raw).map(Value::Date),
        "TIME" => dec(raw).map(Value::Time),
        "TIMESTAMP" => dec(raw).map(Value::DateTime),
        "TIMESTAMPTZ" => dec(raw).map(Value::DateTimeUtc),
        #[cfg(feature = "uuid")]
        "UUID" => dec(raw).map(Value::Uuid),
        #[cfg(feature = "json")]
        "JSON" | "JSONB" => dec(raw).map(Value::Json),
        // What `rust_decimal` cannot hold (NaN, infinities, more than 28 digits) is read
        // as text, below.
        #[cfg(feature = "decimal")]
        "NUMERIC" => dec(raw.clone())
            .map(Value::Decimal)
            .or_else(|_| numeric_text(&raw).map(Value::Text)),
        #[cfg(not(feature = "uuid"))]
        "UUID" => Err("enable the `uuid` feature to read UUID columns".to_owned()),
        #[cfg(not(feature = "json"))]
        "JSON" | "JSONB" => Err("enable the `json` feature to read JSON columns".to_owned()),
        // Without `rust_decimal`: the exact decimal text, as PostgreSQL prints it (and as
        // MySQL sends DECIMAL), readable as `String`, as a float (the nearest double, as
        // `CAST(x AS DOUBLE PRECISION)`), or as an integer when it has no fraction.
        #[cfg(not(feature = "decimal"))]
        "NUMERIC" => numeric_text(&raw).map(Value::Text),
        // Text types and enums, whose binary form is their text. Anything else arrives in
        // a binary format of its own (inet, arrays, intervals, ...): read it as text by
        // casting in the query, rather than get bytes as text.
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CITEXT" | "UNKNOWN" | "XML" => {
            dec::<&str>(raw).map(|s| Value::Text(s.to_owned()))
        }
        _ if matches!(ty.kind(), sqlx::postgres::PgTypeKind::Enum(_)) => {
            dec::<&str>(raw).map(|s| Value::Text(s.to_owned()))
        }
        other => Err(format!(
            "no reader for the SQL type {other}; cast it in the query (`CAST(x AS TEXT)`)"
        )),
    };
    v.map_err(|m| column_decode_error(row, i, m))
}

#[cfg(test)]
mod tests {
    use super::numeric_from_binary;

    /// The binary form of a NUMERIC: `(weight, sign, dscale, base-10000 digits)`.
    fn numeric(weight: i16, sign: u16, dscale: u16, digits: &[u16]) -> Vec<u8> {
        let mut buf = Vec::new();
        for word in [digits.len() as u16, weight as u16, sign, dscale]
            .into_iter()
            .chain(digits.iter().copied())
        {
            buf.extend_from_slice(&word.to_be_bytes());
        }
        buf
    }

    #[test]
    fn numeric_text_is_exact_and_keeps_its_scale() {
        let cases: &[(Vec<u8>, &str)] = &[
            (numeric(0, 0, 0, &[]), "0"),
            (numeric(0, 0, 2, &[]), "0.00"),
            (numeric(0, 0, 0, &[5]), "5"),
            (numeric(0, 0, 4, &[2, 5000]), "2.5000"),
            (numeric(0, 0x4000, 2, &[12, 3400]), "-12.34"),
            (numeric(1, 0, 0, &[1, 0]), "10000"),
            (numeric(1, 0, 0, &[1]), "10000"),
            (numeric(2, 0, 1, &[92, 2337, 2036]), "9223372036.0"),
            (numeric(4, 0, 1, &[92, 2337, 2036]), "922337203600000000.0"),
            (numeric(-2, 0, 8, &[123]), "0.00000123"),
            (numeric(-1, 0x4000, 3, &[500]), "-0.050"),
            (
                numeric(0, 0, 16, &[1, 6666, 6666, 6666, 6667]),
                "1.6666666666666667",
            ),
            (numeric(0, 0xC000, 0, &[]), "NaN"),
            (numeric(0, 0xD000, 0, &[]), "Infinity"),
            (numeric(0, 0xF000, 0, &[]), "-Infinity"),
        ];
        for (buf, want) in cases {
            assert_eq!(numeric_from_binary(buf).as_deref(), Ok(*want));
        }
        assert!(numeric_from_binary(&[0, 1]).is_err());
        assert!(numeric_from_binary(&numeric(0, 0, 0, &[10_000])).is_err());
        assert!(numeric_from_binary(&numeric(0, 0x1234, 0, &[1])).is_err());
    }
}
