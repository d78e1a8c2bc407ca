//! The column type system: one [`SqlType`] per SQLAlchemy generic type, mapped to each
//! dialect's DDL.

use crate::dialect::Dialect;
use crate::value::ValueKind;

/// A column's SQL type, independent of the dialect; [`SqlType::ddl`] spells it for one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SqlType {
    /// 16-bit integer: `SMALLINT`.
    SmallInt,
    /// 32-bit integer: `INTEGER` (`INT` on MySQL).
    Integer,
    /// 64-bit integer: `BIGINT`.
    BigInt,
    /// Single-precision float: `REAL` (`FLOAT` on MySQL).
    Float,
    /// Double-precision float: `DOUBLE PRECISION` (`DOUBLE` on MySQL).
    Double,
    /// Exact decimal: `NUMERIC(precision, scale)`; `NUMERIC` alone when `precision` is `None`.
    Numeric {
        /// Total digits.
        precision: Option<u32>,
        /// Digits after the point.
        scale: Option<u32>,
    },
    /// Bounded text: `VARCHAR(n)`. MySQL needs a length; `None` there becomes `VARCHAR(255)`.
    Varchar(Option<u32>),
    /// Unbounded text: `TEXT` (`LONGTEXT` on MySQL).
    Text,
    /// `BOOLEAN` (`BOOL` = `TINYINT(1)` on MySQL).
    Boolean,
    /// `DATE`.
    Date,
    /// `TIME` (microsecond precision on MySQL: `TIME(6)`).
    Time,
    /// Timestamp without zone: `TIMESTAMP` on PostgreSQL, `DATETIME(6)` on MySQL,
    /// `DATETIME` on SQLite.
    DateTime,
    /// Timestamp with zone (an instant): `TIMESTAMP WITH TIME ZONE` on PostgreSQL;
    /// MySQL and SQLite have none, so it is stored as UTC in `DATETIME(6)` / `TIMESTAMP`.
    TimestampTz,
    /// Binary data: `BYTEA` on PostgreSQL, `LONGBLOB` on MySQL, `BLOB` on SQLite.
    Blob,
    /// UUID: native on PostgreSQL, `BINARY(16)` on MySQL, `BLOB` on SQLite (16 bytes, as
    /// the driver stores it).
    Uuid,
    /// JSON: `JSONB` on PostgreSQL, `JSON` on MySQL, `TEXT` on SQLite.
    Json,
    /// An enumeration stored as text (`VARCHAR(n)` with `n` the longest variant), with a
    /// CHECK constraint listing the variants added by the DDL.
    Enum {
        /// The enum's name (used to name its CHECK constraint).
        name: String,
        /// The allowed values.
        variants: Vec<String>,
    },
    /// An enumeration type of the database itself: PostgreSQL's `CREATE TYPE mood AS
    /// ENUM (...)`, which is what reflection reads such a column back as.
    ///
    /// On PostgreSQL the column is declared with the type's name, which must exist
    /// (`CREATE TABLE` does not create it), and a value bound into the column or
    /// compared with it is cast to the type (`CAST($1 AS "mood")`): PostgreSQL casts
    /// no text to an enum by itself. The other dialects have no such types: there it
    /// is an [`Enum`](SqlType::Enum), `VARCHAR(n)` with a CHECK listing the variants.
    NativeEnum {
        /// The schema the type lives in; `None` for the schema of the column's table (or
        /// the search path, for a table in none).
        schema: Option<String>,
        /// The type's name.
        name: String,
        /// Its labels, in order.
        variants: Vec<String>,
    },
    /// A type spelled literally, for anything the generic types do not cover.
    Custom(String),
}

impl SqlType {
    /// `VARCHAR(n)`.
    pub fn varchar(n: u32) -> SqlType {
        SqlType::Varchar(Some(n))
    }

    /// `NUMERIC(p, s)`.
    pub fn numeric(precision: u32, scale: u32) -> SqlType {
        SqlType::Numeric {
            precision: Some(precision),
            scale: Some(scale),
        }
    }

    /// An enum stored as text.
    pub fn enumeration<I, S>(name: &str, variants: I) -> SqlType
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        SqlType::Enum {
            name: name.to_owned(),
            variants: variants.into_iter().map(Into::into).collect(),
        }
    }

    /// A database enum type ([`SqlType::NativeEnum`]) named `name`, in the schema of the
    /// column's table.
    ///
    /// ```
    /// use orm_runtime::schema::SqlType;
    /// use orm_runtime::Dialect;
    /// let mood = SqlType::native_enum("mood", ["happy", "sad"]);
    /// assert_eq!(mood.ddl(Dialect::Postgres), r#""mood""#);
    /// assert_eq!(mood.ddl(Dialect::MySql), "VARCHAR(5)");
    /// ```
    pub fn native_enum<I, S>(name: &str, variants: I) -> SqlType
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        SqlType::NativeEnum {
            schema: None,
            name: name.to_owned(),
            variants: variants.into_iter().map(Into::into).collect(),
        }
    }

    /// The enum's name and variants, for [`Enum`](SqlType::Enum) and, on the dialects
    /// without enum types (all but PostgreSQL), [`NativeEnum`](SqlType::NativeEnum): the
    /// columns `CREATE TABLE` gives a CHECK listing the variants.
    pub(crate) fn checked_enum(&self, dialect: Dialect) -> Option<(&str, &[String])> {
        match self {
            SqlType::Enum { name, variants } => Some((name, variants)),
            SqlType::NativeEnum { name, variants, .. } if dialect != Dialect::Postgres => {
                Some((name, variants))
            }
            _ => None,
        }
    }

    /// The kind of NULL bound into a column of this type ([`Value::TypedNull`]): the
    /// column's own type, which it is always assignable to. `None` (an untyped NULL,
    /// whose type the server infers) for enums (a PostgreSQL enum,
    /// [`NativeEnum`](SqlType::NativeEnum), is a type of its own, which a text NULL
    /// would not fit), custom types, and the types whose feature is off.
    ///
    /// [`Value::TypedNull`]: crate::value::Value::TypedNull
    pub(crate) fn null_kind(&self) -> Option<ValueKind> {
        Some(match self {
            SqlType::SmallInt => ValueKind::I16,
            SqlType::Integer => ValueKind::I32,
            SqlType::BigInt => ValueKind::I64,
            SqlType::Float => ValueKind::F32,
            SqlType::Double => ValueKind::F64,
            SqlType::Varchar(_) | SqlType::Text => ValueKind::Text,
            SqlType::Boolean => ValueKind::Bool,
            SqlType::Date => ValueKind::Date,
            SqlType::Time => ValueKind::Time,
            SqlType::DateTime => ValueKind::DateTime,
            SqlType::TimestampTz => ValueKind::DateTimeUtc,
            SqlType::Blob => ValueKind::Bytes,
            #[cfg(feature = "uuid")]
            SqlType::Uuid => ValueKind::Uuid,
            #[cfg(feature = "json")]
            SqlType::Json => ValueKind::Json,
            #[cfg(feature = "decimal")]
            SqlType::Numeric { .. } => ValueKind::Decimal,
            _ => return None,
        })
    }

    /// True for the integer types (the ones a single-column primary key autoincrements).
    pub fn is_integer(&self) -> bool {
        matches!(self, SqlType::SmallInt | SqlType::Integer | SqlType::BigInt)
    }

    /// The type as `dialect` spells it in `CREATE TABLE`.
    pub fn ddl(&self, dialect: Dialect) -> String {
        use Dialect::{MariaDb, MySql, Postgres, Sqlite};
        match (self, dialect) {
            (SqlType::SmallInt, _) => "SMALLINT".into(),
            (SqlType::Integer, MySql | MariaDb) => "INT".into(),
            (SqlType::Integer, _) => "INTEGER".into(),
            (SqlType::BigInt, _) => "BIGINT".into(),
            (SqlType::Float, MySql | MariaDb) => "FLOAT".into(),
            (SqlType::Float, _) => "REAL".into(),
            (SqlType::Double, MySql | MariaDb) => "DOUBLE".into(),
            (SqlType::Double, _) => "DOUBLE PRECISION".into(),
            (
                SqlType::Numeric {
                    precision: Some(p),
                    scale: Some(s),
                },
                _,
            ) => format!("NUMERIC({p}, {s})"),
            (
                SqlType::Numeric {
                    precision: Some(p),
                    scale: None,
                },
                _,
            ) => format!("NUMERIC({p})"),
            (SqlType::Numeric { .. }, MySql | MariaDb) => "DECIMAL(65, 30)".into(),
            (SqlType::Numeric { .. }, _) => "NUMERIC".into(),
            (SqlType::Varchar(Some(n)), _) => format!("VARCHAR({n})"),
            (SqlType::Varchar(None), MySql | MariaDb) => "VARCHAR(255)".into(),
            (SqlType::Varchar(None), _) => "VARCHAR".into(),
            (SqlType::Text, MySql | MariaDb) => "LONGTEXT".into(),
            (SqlType::Text, _) => "TEXT".into(),
            (SqlType::Boolean, MySql | MariaDb) => "BOOL".into(),
            (SqlType::Boolean, _) => "BOOLEAN".into(),
            (SqlType::Date, _) => "DATE".into(),
            (SqlType::Time, MySql | MariaDb) => "TIME(6)".into(),
            (SqlType::Time, _) => "TIME".into(),
            (SqlType::DateTime, Postgres) => "TIMESTAMP".into(),
            (SqlType::DateTime, MySql | MariaDb) => "DATETIME(6)".into(),
            (SqlType::DateTime, Sqlite) => "DATETIME".into(),
            (SqlType::TimestampTz, Postgres) => "TIMESTAMP WITH TIME ZONE".into(),
            (SqlType::TimestampTz, MySql | MariaDb) => "DATETIME(6)".into(),
            (SqlType::TimestampTz, Sqlite) => "TIMESTAMP".into(),
            (SqlType::Blob, Postgres) => "BYTEA".into(),
            (SqlType::Blob, MySql | MariaDb) => "LONGBLOB".into(),
            (SqlType::Blob, Sqlite) => "BLOB".into(),
            (SqlType::Uuid, Postgres) => "UUID".into(),
            (SqlType::Uuid, MySql | MariaDb) => "BINARY(16)".into(),
            (SqlType::Uuid, Sqlite) => "BLOB".into(),
            (SqlType::Json, Postgres) => "JSONB".into(),
            (SqlType::Json, MySql | MariaDb) => "JSON".into(),
            (SqlType::Json, Sqlite) => "TEXT".into(),
            (SqlType::NativeEnum { schema, name, .. }, Postgres) => {
                let mut out = String::new();
                if let Some(s) = schema {
                    dialect.quote_identifier_into(&mut out, s);
                    out.push('.');
                }
                dialect.quote_identifier_into(&mut out, name);
                out
            }
            (SqlType::Enum { variants, .. } | SqlType::NativeEnum { variants, .. }, _) => {
                let longest = variants
                    .iter()
                    .map(|v| v.chars().count())
                    .max()
                    .unwrap_or(1);
                format!("VARCHAR({})", longest.max(1))
            }
            (SqlType::Custom(s), _) => s.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_spell_per_dialect() {
        assert_eq!(SqlType::Integer.ddl(Dialect::MySql), "INT");
        assert_eq!(
            SqlType::numeric(10, 2).ddl(Dialect::Postgres),
            "NUMERIC(10, 2)"
        );
        assert_eq!(SqlType::Varchar(None).ddl(Dialect::MySql), "VARCHAR(255)");
        assert_eq!(
            SqlType::TimestampTz.ddl(Dialect::Postgres),
            "TIMESTAMP WITH TIME ZONE"
        );
        assert_eq!(SqlType::Json.ddl(Dialect::Sqlite), "TEXT");
        assert_eq!(
            SqlType::enumeration("mood", ["happy", "sad"]).ddl(Dialect::Sqlite),
            "VARCHAR(5)"
        );
        let mut mood = SqlType::native_enum("Mood", ["happy", "sad"]);
        assert_eq!(mood.ddl(Dialect::Postgres), r#""Mood""#);
        assert_eq!(mood.ddl(Dialect::Sqlite), "VARCHAR(5)");
        if let SqlType::NativeEnum { schema, .. } = &mut mood {
            *schema = Some("app".into());
        }
        assert_eq!(mood.ddl(Dialect::Postgres), r#""app"."Mood""#);
    }
}
