//! Dialect-neutral values: what statements bind and what rows hold.
//!
//! [`Value`] is the one currency between the SQL layer and the drivers. Every bound
//! parameter is a `Value`; a [`Row`](crate::row::Row) column can be read as one with
//! [`Row::value`](crate::row::Row::value). [`FromValue`] turns a `Value` back into a Rust type,
//! widening integers and parsing SQLite's text-stored dates as a database user expects.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Utc};

/// A value bound to a statement or read from a row, independent of the dialect.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// SQL `NULL` of no particular type. As a parameter, PostgreSQL infers its type from
    /// where it stands (so it fits any column); rows read back hold this `Null`.
    Null,
    /// SQL `NULL` bound as a parameter of the type of a [`ValueKind`]: what `None` of a
    /// typed expression binds (`User::email.set(None)`), so that a statement has one
    /// SQL text and one prepared statement whether its values are NULL or not. It is
    /// NULL in every respect ([`Value::is_null`], [`FromValue`] reads it as `None`);
    /// PostgreSQL binds it with the kind's type, where an untyped NULL would fix the
    /// parameter's type to whatever the server infers.
    TypedNull(ValueKind),
    /// `BOOLEAN` (stored as an integer 0/1 on MySQL and SQLite).
    Bool(bool),
    /// `SMALLINT`.
    I16(i16),
    /// `INTEGER`.
    I32(i32),
    /// `BIGINT`.
    I64(i64),
    /// An unsigned 64-bit integer above `i64::MAX` (MySQL's `BIGINT UNSIGNED`). Smaller
    /// unsigned values are [`Value::I64`], both when read and when converted from
    /// `u64`, so that equal numbers are equal values. Only MySQL stores it; binding one
    /// elsewhere is [`Error::Bind`](crate::Error::Bind).
    U64(u64),
    /// `REAL` / `FLOAT`. NaN and infinities are stored by PostgreSQL; SQLite stores
    /// infinities but not NaN, MySQL neither: binding one there is [`Error::Bind`].
    ///
    /// [`Error::Bind`]: crate::Error::Bind
    F32(f32),
    /// `DOUBLE PRECISION`; non-finite values as for [`Value::F32`].
    F64(f64),
    /// Character data.
    Text(String),
    /// Binary data (`BYTEA`, `BLOB`).
    Bytes(Vec<u8>),
    /// `DATE`.
    Date(NaiveDate),
    /// `TIME` without time zone. Times and timestamps are kept to the microsecond on
    /// every database: finer digits are dropped (truncated) when the value is bound.
    Time(NaiveTime),
    /// `TIMESTAMP` / `DATETIME` without time zone (to the microsecond).
    DateTime(NaiveDateTime),
    /// `TIMESTAMP WITH TIME ZONE`: an instant, normalised to UTC. MySQL and SQLite have no
    /// zone-aware type; there it is stored as UTC. To the microsecond.
    DateTimeUtc(DateTime<Utc>),
    /// `UUID` (feature `uuid`).
    #[cfg(feature = "uuid")]
    Uuid(uuid::Uuid),
    /// `JSON` / `JSONB` (feature `json`).
    #[cfg(feature = "json")]
    Json(serde_json::Value),
    /// `NUMERIC(p, s)` / `DECIMAL` (feature `decimal`). Without the feature, and for
    /// what `rust_decimal` cannot hold (PostgreSQL's `NaN` and infinities, more than 28
    /// digits), a NUMERIC/DECIMAL result is [`Value::Text`] of its exact digits, which
    /// reads as a float, or as an integer when it has no fraction.
    ///
    /// SQLite has no decimal type: there a decimal binds as the number it is, an
    /// INTEGER, or a REAL when it has at most 15 significant digits (a double holds
    /// those exactly in the decimal sense), so that it compares as a number everywhere
    /// (its scale is not kept: `12.30` reads back as `12.3`). One of more digits, which
    /// a double would change, binds as its exact text: a TEXT column keeps it.
    #[cfg(feature = "decimal")]
    Decimal(rust_decimal::Decimal),
    /// A PostgreSQL array of one element type (NULL elements allowed), bound as one
    /// parameter: `col = ANY($1)` tests a whole list with one SQL text. Elements may be
    /// `I16`, `I32`, `I64`, `Bool`, `F64`, `Text`, `Date`, `DateTime`, `DateTimeUtc` or
    /// `Uuid`. MySQL and SQLite have no arrays: binding one there is
    /// [`Error::Bind`](crate::Error::Bind).
    Array(Vec<Value>),
}

/// The type of a non-NULL [`Value`] (all variants but [`Value::Null`],
/// [`Value::TypedNull`] and [`Value::Array`]): what a [`Value::TypedNull`] is bound as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ValueKind {
    /// [`Value::Bool`].
    Bool,
    /// [`Value::I16`].
    I16,
    /// [`Value::I32`].
    I32,
    /// [`Value::I64`].
    I64,
    /// [`Value::U64`].
    U64,
    /// [`Value::F32`].
    F32,
    /// [`Value::F64`].
    F64,
    /// [`Value::Text`].
    Text,
    /// [`Value::Bytes`].
    Bytes,
    /// [`Value::Date`].
    Date,
    /// [`Value::Time`].
    Time,
    /// [`Value::DateTime`].
    DateTime,
    /// [`Value::DateTimeUtc`].
    DateTimeUtc,
    /// [`Value::Uuid`].
    #[cfg(feature = "uuid")]
    Uuid,
    /// [`Value::Json`].
    #[cfg(feature = "json")]
    Json,
    /// [`Value::Decimal`].
    #[cfg(feature = "decimal")]
    Decimal,
}

impl Value {
    /// The kind of a non-NULL, non-array value; for a [`Value::TypedNull`], its kind.
    pub fn kind(&self) -> Option<ValueKind> {
        Some(match self {
            Value::Null | Value::Array(_) => return None,
            Value::TypedNull(k) => *k,
            Value::Bool(_) => ValueKind::Bool,
            Value::I16(_) => ValueKind::I16,
            Value::I32(_) => ValueKind::I32,
            Value::I64(_) => ValueKind::I64,
            Value::U64(_) => ValueKind::U64,
            Value::F32(_) => ValueKind::F32,
            Value::F64(_) => ValueKind::F64,
            Value::Text(_) => ValueKind::Text,
            Value::Bytes(_) => ValueKind::Bytes,
            Value::Date(_) => ValueKind::Date,
            Value::Time(_) => ValueKind::Time,
            Value::DateTime(_) => ValueKind::DateTime,
            Value::DateTimeUtc(_) => ValueKind::DateTimeUtc,
            #[cfg(feature = "uuid")]
            Value::Uuid(_) => ValueKind::Uuid,
            #[cfg(feature = "json")]
            Value::Json(_) => ValueKind::Json,
            #[cfg(feature = "decimal")]
            Value::Decimal(_) => ValueKind::Decimal,
        })
    }

    /// What a statement's shape depends on: the variant, a [`Value::TypedNull`] counting
    /// as its kind's (the statement cache keys a bind by this, so `set(None)` and
    /// `set(Some(x))` share one entry).
    pub(crate) fn shape(&self) -> u8 {
        match self {
            Value::Null => 0,
            Value::Array(_) => 1,
            other => other.kind().map_or(0, |k| 2 + k as u8),
        }
    }

    /// A NULL bound as `kind` ([`Value::TypedNull`]), or [`Value::Null`] without one.
    pub fn null_of(kind: Option<ValueKind>) -> Value {
        kind.map_or(Value::Null, Value::TypedNull)
    }

    /// The element type of a PostgreSQL array this value can be an element of, as one
    /// letter; `None` for NULL and for the types arrays are not bound for. The one list
    /// both the compiler (which turns an IN list into `= ANY($1)`) and the PostgreSQL
    /// driver (which binds the array) read.
    ///
    /// A [`Value::TypedNull`] has its kind's letter: `col.in_([Some(1), None])` binds
    /// one array as `col.in_([1, 2])` does, with one SQL text for both.
    pub(crate) fn array_element_kind(&self) -> Option<char> {
        Some(match self.kind()? {
            ValueKind::Bool => 'b',
            ValueKind::I16 => 'h',
            ValueKind::I32 => 'i',
            ValueKind::I64 => 'l',
            ValueKind::F64 => 'd',
            ValueKind::Text => 't',
            ValueKind::Date => 'D',
            ValueKind::DateTime => 's',
            ValueKind::DateTimeUtc => 'z',
            #[cfg(feature = "uuid")]
            ValueKind::Uuid => 'u',
            _ => return None,
        })
    }

    /// A short name of the variant, for error messages and logs.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null | Value::TypedNull(_) => "NULL",
            Value::Bool(_) => "bool",
            Value::I16(_) => "i16",
            Value::I32(_) => "i32",
            Value::I64(_) => "i64",
            Value::U64(_) => "u64",
            Value::Array(_) => "array",
            Value::F32(_) => "f32",
            Value::F64(_) => "f64",
            Value::Text(_) => "text",
            Value::Bytes(_) => "bytes",
            Value::Date(_) => "date",
            Value::Time(_) => "time",
            Value::DateTime(_) => "datetime",
            Value::DateTimeUtc(_) => "timestamptz",
            #[cfg(feature = "uuid")]
            Value::Uuid(_) => "uuid",
            #[cfg(feature = "json")]
            Value::Json(_) => "json",
            #[cfg(feature = "decimal")]
            Value::Decimal(_) => "decimal",
        }
    }

    /// True for [`Value::Null`] and [`Value::TypedNull`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null | Value::TypedNull(_))
    }

    /// Converts into a Rust type, see [`FromValue`].
    pub fn to<T: FromValue>(self) -> Result<T, String> {
        T::from_value(self)
    }
}

/// A type that can be read back from a [`Value`].
///
/// Conversions are lenient where no information is lost: any integer fits any wider
/// integer, a 0/1 integer is a `bool`, SQLite's text-stored dates and times parse, and
/// a decimal number in text (how PostgreSQL `NUMERIC` and MySQL `DECIMAL` arrive
/// without the `decimal` feature: `SUM(bigint)`, `AVG(x)`) reads as an integer when it
/// has no fractional part (`15`, `15.00`) and as a float, the nearest one, always.
pub trait FromValue: Sized {
    /// The Rust type's name, for error messages.
    const RUST_TYPE: &'static str;
    /// Converts, or says why not.
    fn from_value(value: Value) -> Result<Self, String>;
}

fn mismatch<T>(rust: &str, v: &Value) -> Result<T, String> {
    match v {
        Value::Null | Value::TypedNull(_) => Err(format!(
            "unexpected NULL; read the column as `Option<{rust}>` if it may be NULL"
        )),
        other => Err(format!(
            "a {} value cannot be read as `{rust}`",
            other.type_name()
        )),
    }
}

macro_rules! int_from_value {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            const RUST_TYPE: &'static str = stringify!($t);
            fn from_value(value: Value) -> Result<Self, String> {
                let wide: i128 = match value {
                    Value::I16(v) => v.into(),
                    Value::I32(v) => v.into(),
                    Value::I64(v) => v.into(),
                    Value::U64(v) => v.into(),
                    Value::Bool(b) => b.into(),
                    #[cfg(feature = "decimal")]
                    Value::Decimal(d) if d.fract().is_zero() => {
                        i128::try_from(d).map_err(|e| e.to_string())?
                    }
                    Value::Text(ref s) => integral_text(s, Self::RUST_TYPE)?,
                    ref other => return mismatch(Self::RUST_TYPE, other),
                };
                <$t>::try_from(wide)
                    .map_err(|_| format!("{wide} is out of range for `{}`", Self::RUST_TYPE))
            }
        }
    )*};
}
int_from_value!(i8, i16, i32, i64, u8, u16, u32, u64);

/// The integer a decimal number in text stands for (`-15`, `15.000`), or why there is
/// none: not a decimal number at all, or one with a fractional part.
fn integral_text(s: &str, rust: &str) -> Result<i128, String> {
    let (int, fraction) = s.split_once('.').unwrap_or((s, ""));
    let digits = int.strip_prefix(['-', '+']).unwrap_or(int);
    let decimal = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit());
    if !decimal {
        return Err(format!("a text value (`{s}`) cannot be read as `{rust}`"));
    }
    if fraction.bytes().any(|b| b != b'0') {
        return Err(format!(
            "{s} has a fractional part: read it as `f64` or `String`, not `{rust}`"
        ));
    }
    int.parse::<i128>()
        .map_err(|_| format!("{s} is out of range for `{rust}`"))
}

/// A boolean, or the integer 0 or 1 (how MySQL and SQLite store booleans). Any other
/// integer is an error, on every database: `2` is not read as `true`.
impl FromValue for bool {
    const RUST_TYPE: &'static str = "bool";
    fn from_value(value: Value) -> Result<Self, String> {
        match value {
            Value::Bool(b) => Ok(b),
            Value::I16(0) | Value::I32(0) | Value::I64(0) => Ok(false),
            Value::I16(1) | Value::I32(1) | Value::I64(1) => Ok(true),
            Value::I16(n) => Err(not_a_bool(n.into())),
            Value::I32(n) => Err(not_a_bool(n.into())),
            Value::I64(n) => Err(not_a_bool(n.into())),
            Value::U64(n) => Err(not_a_bool(n.into())),
            other => mismatch("bool", &other),
        }
    }
}

fn not_a_bool(n: i128) -> String {
    format!("{n} is not a boolean: only the integers 0 and 1 read as `bool`")
}

impl FromValue for f64 {
    const RUST_TYPE: &'static str = "f64";
    fn from_value(value: Value) -> Result<Self, String> {
        float_from(value, Self::RUST_TYPE)
    }
}

/// A number as a double, for `f64` and `f32` (`rust` names the one asked for in errors).
fn float_from(value: Value, rust: &str) -> Result<f64, String> {
    match value {
        Value::F64(v) => Ok(v),
        Value::F32(v) => Ok(v.into()),
        Value::I16(v) => Ok(v.into()),
        Value::I32(v) => Ok(v.into()),
        // i64 -> f64 may round above 2^53, as every database's own cast does.
        #[allow(clippy::cast_precision_loss)] // documented above: same as SQL CAST
        Value::I64(v) => Ok(v as f64),
        #[allow(clippy::cast_precision_loss)] // as for i64 above
        Value::U64(v) => Ok(v as f64),
        #[cfg(feature = "decimal")]
        Value::Decimal(d) => {
            rust_decimal::prelude::ToPrimitive::to_f64(&d).ok_or_else(|| d.to_string())
        }
        Value::Text(s) => s.parse().map_err(|_| format!("`{s}` is not a number")),
        other => mismatch(rust, &other),
    }
}

impl FromValue for f32 {
    const RUST_TYPE: &'static str = "f32";
    fn from_value(value: Value) -> Result<Self, String> {
        match value {
            Value::F32(v) => Ok(v),
            // Narrowing a double: REAL columns come back as doubles from SQLite and MySQL.
            #[allow(clippy::cast_possible_truncation)]
            // f32 asked for: precision is the user's choice
            other => float_from(other, Self::RUST_TYPE).map(|v| v as f32),
        }
    }
}

impl FromValue for String {
    const RUST_TYPE: &'static str = "String";
    fn from_value(value: Value) -> Result<Self, String> {
        match value {
            Value::Text(s) => Ok(s),
            #[cfg(feature = "decimal")]
            Value::Decimal(d) => Ok(d.to_string()),
            #[cfg(feature = "uuid")]
            Value::Uuid(u) => Ok(u.to_string()),
            #[cfg(feature = "json")]
            Value::Json(serde_json::Value::String(s)) => Ok(s),
            Value::Bytes(b) => String::from_utf8(b).map_err(|e| e.to_string()),
            other => mismatch("String", &other),
        }
    }
}

impl FromValue for Vec<u8> {
    const RUST_TYPE: &'static str = "Vec<u8>";
    fn from_value(value: Value) -> Result<Self, String> {
        match value {
            Value::Bytes(b) => Ok(b),
            Value::Text(s) => Ok(s.into_bytes()),
            other => mismatch("Vec<u8>", &other),
        }
    }
}

const DATETIME_FORMATS: [&str; 3] = [
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
];

fn parse_naive_datetime(s: &str) -> Option<NaiveDateTime> {
    DATETIME_FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .or_else(|| parse_utc(s).map(|d| d.naive_utc()))
}

fn parse_utc(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%:z"))
        .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%#z"))
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

impl FromValue for NaiveDate {
    const RUST_TYPE: &'static str = "NaiveDate";
    fn from_value(value: Value) -> Result<Self, String> {
        match value {
            Value::Date(d) => Ok(d),
            Value::Text(s) => NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                .map_err(|e| format!("`{s}` is not a date: {e}")),
            other => mismatch("NaiveDate", &other),
        }
    }
}

impl FromValue for NaiveTime {
    const RUST_TYPE: &'static str = "NaiveTime";
    fn from_value(value: Value) -> Result<Self, String> {
        match value {
            Value::Time(t) => Ok(t),
            Value::Text(s) => NaiveTime::parse_from_str(&s, "%H:%M:%S%.f")
                .map_err(|e| format!("`{s}` is not a time: {e}")),
            other => mismatch("NaiveTime", &other),
        }
    }
}

impl FromValue for NaiveDateTime {
    const RUST_TYPE: &'static str = "NaiveDateTime";
    fn from_value(value: Value) -> Result<Self, String> {
        match value {
            Value::DateTime(d) => Ok(d),
            Value::DateTimeUtc(d) => Ok(d.naive_utc()),
            Value::Date(d) => Ok(d.and_time(NaiveTime::MIN)),
            Value::Text(s) => {
                parse_naive_datetime(&s).ok_or_else(|| format!("`{s}` is not a datetime"))
            }
            other => mismatch("NaiveDateTime", &other),
        }
    }
}

impl FromValue for DateTime<Utc> {
    const RUST_TYPE: &'static str = "DateTime<Utc>";
    fn from_value(value: Value) -> Result<Self, String> {
        match value {
            Value::DateTimeUtc(d) => Ok(d),
            // A zone-less timestamp read as an instant is taken to be UTC, the zone the
            // engine stores instants in on MySQL and SQLite.
            Value::DateTime(d) => Ok(d.and_utc()),
            Value::Text(s) => parse_utc(&s)
                .or_else(|| parse_naive_datetime(&s).map(|d| d.and_utc()))
                .ok_or_else(|| format!("`{s}` is not a timestamp")),
            other => mismatch("DateTime<Utc>", &other),
        }
    }
}

impl FromValue for DateTime<FixedOffset> {
    const RUST_TYPE: &'static str = "DateTime<FixedOffset>";
    fn from_value(value: Value) -> Result<Self, String> {
        DateTime::<Utc>::from_value(value).map(|d| d.fixed_offset())
    }
}

#[cfg(feature = "uuid")]
impl FromValue for uuid::Uuid {
    const RUST_TYPE: &'static str = "Uuid";
    fn from_value(value: Value) -> Result<Self, String> {
        match value {
            Value::Uuid(u) => Ok(u),
            Value::Bytes(b) => uuid::Uuid::from_slice(&b).map_err(|e| e.to_string()),
            Value::Text(s) => uuid::Uuid::parse_str(&s).map_err(|e| format!("`{s}`: {e}")),
            other => mismatch("Uuid", &other),
        }
    }
}

#[cfg(feature = "json")]
impl FromValue for serde_json::Value {
    const RUST_TYPE: &'static str = "serde_json::Value";
    fn from_value(value: Value) -> Result<Self, String> {
        match value {
            Value::Json(j) => Ok(j),
            Value::Null | Value::TypedNull(_) => Ok(serde_json::Value::Null),
            Value::Text(s) => serde_json::from_str(&s).map_err(|e| e.to_string()),
            Value::Bytes(b) => serde_json::from_slice(&b).map_err(|e| e.to_string()),
            other => mismatch("serde_json::Value", &other),
        }
    }
}

#[cfg(feature = "decimal")]
impl FromValue for rust_decimal::Decimal {
    const RUST_TYPE: &'static str = "Decimal";
    fn from_value(value: Value) -> Result<Self, String> {
        use rust_decimal::Decimal;
        match value {
            Value::Decimal(d) => Ok(d),
            Value::I16(v) => Ok(v.into()),
            Value::I32(v) => Ok(v.into()),
            Value::I64(v) => Ok(v.into()),
            Value::U64(v) => Ok(v.into()),
            Value::F64(v) => Decimal::try_from(v).map_err(|e| e.to_string()),
            Value::F32(v) => Decimal::try_from(v).map_err(|e| e.to_string()),
            Value::Text(s) => s.parse().map_err(|e| format!("`{s}`: {e}")),
            other => mismatch("Decimal", &other),
        }
    }
}

impl FromValue for Value {
    const RUST_TYPE: &'static str = "Value";
    fn from_value(value: Value) -> Result<Self, String> {
        Ok(value)
    }
}

impl<T: FromValue> FromValue for Option<T> {
    const RUST_TYPE: &'static str = "Option<_>";
    fn from_value(value: Value) -> Result<Self, String> {
        match value {
            Value::Null | Value::TypedNull(_) => Ok(None),
            other => T::from_value(other).map(Some),
        }
    }
}

macro_rules! value_from {
    ($($t:ty => $variant:ident),* $(,)?) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self {
                Value::$variant(v.into())
            }
        }
    )*};
}
value_from!(
    bool => Bool, i8 => I16, u8 => I16, i16 => I16, u16 => I32, i32 => I32, u32 => I64,
    i64 => I64, f32 => F32, f64 => F64, String => Text, &str => Text, Vec<u8> => Bytes,
    &[u8] => Bytes, NaiveDate => Date, NaiveTime => Time, NaiveDateTime => DateTime,
    DateTime<Utc> => DateTimeUtc,
);

/// `I64` when it fits, else `U64` (see [`Value::U64`]).
impl From<u64> for Value {
    fn from(v: u64) -> Self {
        i64::try_from(v).map_or(Value::U64(v), Value::I64)
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}

impl From<DateTime<FixedOffset>> for Value {
    fn from(v: DateTime<FixedOffset>) -> Self {
        Value::DateTimeUtc(v.with_timezone(&Utc))
    }
}

#[cfg(feature = "uuid")]
impl From<uuid::Uuid> for Value {
    fn from(v: uuid::Uuid) -> Self {
        Value::Uuid(v)
    }
}

#[cfg(feature = "json")]
impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Self {
        Value::Json(v)
    }
}

#[cfg(feature = "decimal")]
impl From<rust_decimal::Decimal> for Value {
    fn from(v: rust_decimal::Decimal) -> Self {
        Value::Decimal(v)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_widen_and_narrow_with_range_checks() {
        assert_eq!(i64::from_value(Value::I32(-7)), Ok(-7));
        assert_eq!(i16::from_value(Value::I64(300)), Ok(300));
        assert!(
            i8::from_value(Value::I64(300))
                .unwrap_err()
                .contains("out of range")
        );
        assert!(u64::from_value(Value::I64(-1)).is_err());
        assert_eq!(u64::from_value(Value::U64(u64::MAX)), Ok(u64::MAX));
        assert!(i64::from_value(Value::U64(u64::MAX)).is_err());
    }

    #[test]
    fn u64_converts_to_i64_when_it_fits() {
        assert_eq!(Value::from(5u64), Value::I64(5));
        assert_eq!(Value::from(i64::MAX as u64), Value::I64(i64::MAX));
        assert_eq!(Value::from(i64::MAX as u64 + 1), Value::U64(1 << 63));
    }

    #[test]
    fn null_needs_an_option() {
        assert_eq!(Option::<i64>::from_value(Value::Null), Ok(None));
        let err = i64::from_value(Value::Null).unwrap_err();
        assert!(err.contains("Option<i64>"), "{err}");
    }

    #[test]
    fn sqlite_text_dates_parse() {
        let d = NaiveDateTime::from_value(Value::Text("2024-02-29 13:14:15.123".into())).unwrap();
        assert_eq!(d.to_string(), "2024-02-29 13:14:15.123");
        let utc =
            DateTime::<Utc>::from_value(Value::Text("2024-02-29 13:14:15+02:00".into())).unwrap();
        assert_eq!(utc.to_rfc3339(), "2024-02-29T11:14:15+00:00");
    }

    #[test]
    fn only_0_and_1_are_booleans() {
        assert_eq!(bool::from_value(Value::I64(1)), Ok(true));
        assert_eq!(bool::from_value(Value::I16(0)), Ok(false));
        let err = bool::from_value(Value::I32(2)).unwrap_err();
        assert_eq!(
            err,
            "2 is not a boolean: only the integers 0 and 1 read as `bool`"
        );
    }

    #[test]
    fn float_errors_name_the_type_asked_for() {
        let err = f32::from_value(Value::Null).unwrap_err();
        assert!(err.contains("`Option<f32>`"), "{err}");
        let err = f32::from_value(Value::Bool(true)).unwrap_err();
        assert_eq!(err, "a bool value cannot be read as `f32`");
        let err = f64::from_value(Value::Null).unwrap_err();
        assert!(err.contains("`Option<f64>`"), "{err}");
    }

    #[test]
    fn decimal_text_reads_as_an_integer_only_without_a_fraction() {
        assert_eq!(i64::from_value(Value::Text("15".into())), Ok(15));
        assert_eq!(i64::from_value(Value::Text("-15.000".into())), Ok(-15));
        assert_eq!(u8::from_value(Value::Text("+7".into())), Ok(7));
        let err = i64::from_value(Value::Text("15.5".into())).unwrap_err();
        assert_eq!(
            err,
            "15.5 has a fractional part: read it as `f64` or `String`, not `i64`"
        );
        let err = i16::from_value(Value::Text("40000".into())).unwrap_err();
        assert_eq!(err, "40000 is out of range for `i16`");
        let err = i64::from_value(Value::Text(
            "99999999999999999999999999999999999999999".into(),
        ))
        .unwrap_err();
        assert!(err.contains("out of range for `i64`"), "{err}");
        for not_a_number in ["", "-", "1e3", "ten", "1.2.3", " 1", "NaN", ".5"] {
            let err = i64::from_value(Value::Text(not_a_number.into())).unwrap_err();
            assert_eq!(
                err,
                format!("a text value (`{not_a_number}`) cannot be read as `i64`")
            );
        }
        assert_eq!(f64::from_value(Value::Text("2.5000".into())), Ok(2.5));
    }

    #[test]
    fn mismatches_say_both_types() {
        let err = bool::from_value(Value::Text("x".into())).unwrap_err();
        assert_eq!(err, "a text value cannot be read as `bool`");
    }
}
