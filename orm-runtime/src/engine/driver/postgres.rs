//! PostgreSQL: binds through `sqlx::postgres`, decodes its binary result formats.

use sqlx::postgres::{PgArgumentBuffer, PgArguments, PgRow, PgTypeInfo, PgValueRef};
use sqlx::{Postgres, Row as _, TypeInfo as _, ValueRef as _};

use chrono::Timelike as _;

use super::{
    Driver, add_arg, check_leap_second, column_decode_error, to_micros, unsigned_too_large,
};
use crate::error::Result;
use crate::row::{DriverRow, Row, RowInner};
use crate::value::Value;

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
    fn raw(conn: &mut sqlx::PgConnection) -> crate::engine::exec::RawConn<'_> {
        crate::engine::exec::RawConn::Postgres(conn)
    }

    fn arguments(binds: &[Value]) -> Result<PgArguments> {
        let mut args = PgArguments::default();
        for (i, v) in binds.iter().enumerate() {
            let a = &mut args;
            match v {
                Value::Null => add_arg::<Postgres, _>(a, i, v, UntypedNull),
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
                Value::Bool(_) => 'b',
                Value::I16(_) => 'h',
                Value::I32(_) => 'i',
                Value::I64(_) => 'l',
                Value::U64(_) => 'U',
                Value::F32(_) => 'f',
                Value::F64(_) => 'd',
                Value::Text(_) => 't',
                Value::Bytes(_) => 'y',
                Value::Date(_) => 'D',
                Value::Time(_) => 'T',
                Value::DateTime(_) => 'S',
                Value::DateTimeUtc(_) => 'Z',
                #[cfg(feature = "uuid")]
                Value::Uuid(_) => 'u',
                #[cfg(feature = "json")]
                Value::Json(_) => 'j',
                #[cfg(feature = "decimal")]
                Value::Decimal(_) => 'N',
                Value::Array(items) => match array_kind(items) {
                    Some(k) => k.to_ascii_uppercase(),
                    None => 'A',
                },
            });
        }
        text.push_str("*/");
        std::borrow::Cow::Owned(text)
    }
}

/// The element kind of an array (its first non-NULL element's `statement_text` letter),
/// or `None` for an empty or all-NULL array.
fn array_kind(items: &[Value]) -> Option<char> {
    items
        .iter()
        .find(|v| !matches!(v, Value::Null))
        .map(|v| match v {
            Value::Bool(_) => 'b',
            Value::I16(_) => 'h',
            Value::I32(_) => 'i',
            Value::I64(_) => 'l',
            Value::F64(_) => 'd',
            Value::Text(_) => 't',
            Value::Date(_) => 'D',
            Value::DateTime(_) => 's',
            Value::DateTimeUtc(_) => 'z',
            #[cfg(feature = "uuid")]
            Value::Uuid(_) => 'u',
            _ => '?',
        })
}

/// The elements of `items` as `T` (NULL as `None`); an element of another type is an
/// error naming it.
fn elements<T>(
    i: usize,
    v: &Value,
    items: &[Value],
    pick: impl Fn(&Value) -> Option<T>,
) -> Result<Vec<Option<T>>> {
    items
        .iter()
        .map(|e| match e {
            Value::Null => Ok(None),
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
    match array_kind(items) {
        // An empty (or all-NULL) array: its type is the server's to infer.
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
                Value::Text(x) => Some(x.clone()),
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
        #[cfg(feature = "decimal")]
        "NUMERIC" => dec(raw).map(Value::Decimal),
        #[cfg(not(feature = "uuid"))]
        "UUID" => Err("enable the `uuid` feature to read UUID columns".to_owned()),
        #[cfg(not(feature = "json"))]
        "JSON" | "JSONB" => Err("enable the `json` feature to read JSON columns".to_owned()),
        #[cfg(not(feature = "decimal"))]
        "NUMERIC" => Err("enable the `decimal` feature to read NUMERIC columns".to_owned()),
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
