//! SQL dialects: how each database spells identifiers, parameters and types, and how
//! values cross into and out of its sqlx driver.
//!
//! ```text
//!  statement tree ──compile(Dialect)──▶ SQL text + Vec<Value>
//!                                            │
//!                     Driver::arguments ◀────┘   (dialect/{postgres,mysql,sqlite}.rs)
//!                                            │
//!                              sqlx driver ──▶ rows ──Driver::wrap_row──▶ Row
//! ```
//!
//! Contract for a dialect file:
//! - it MUST bind every [`Value`] variant (or return [`Error::Bind`] naming it);
//! - it MUST decode every column type its database can return into a [`Value`]
//!   (falling back to text), so that dynamic rows never fail on an unknown type;
//! - it SHOULD take the driver's own decoder when the Rust type asks for exactly the
//!   column's type, so that typed reads cost what hand-written sqlx costs.

pub(crate) mod mysql;
pub(crate) mod postgres;
pub(crate) mod sqlite;

use std::fmt::Write;

use crate::error::{Error, Result};
use crate::row::Row;
use crate::value::Value;

/// The SQL dialects the engine speaks, chosen from the URL's scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// PostgreSQL (`postgres://`, `postgresql://`).
    Postgres,
    /// MySQL (`mysql://`).
    MySql,
    /// MariaDB (`mysql://` or `mariadb://`, recognised from the server's version at
    /// connect time): MySQL's dialect plus `INSERT/DELETE ... RETURNING` (10.5+).
    MariaDb,
    /// SQLite (`sqlite:`).
    Sqlite,
}

impl Dialect {
    /// The dialect's name: `postgresql`, `mysql` or `sqlite`.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Postgres => "postgresql",
            Dialect::MySql => "mysql",
            Dialect::MariaDb => "mariadb",
            Dialect::Sqlite => "sqlite",
        }
    }

    /// True for MySQL and MariaDB, which share most of their SQL.
    pub fn is_mysql(self) -> bool {
        matches!(self, Dialect::MySql | Dialect::MariaDb)
    }

    /// Writes the `n`th (one-based) bind placeholder: `$n` on PostgreSQL, `?` elsewhere.
    pub fn write_placeholder(self, out: &mut String, n: usize) {
        match self {
            Dialect::Postgres => {
                out.push('$');
                // Writing into a String cannot fail.
                let _ = write!(out, "{n}");
            }
            Dialect::MySql | Dialect::MariaDb | Dialect::Sqlite => out.push('?'),
        }
    }

    /// True when a placeholder can be referenced again by number (`$1` twice), so a
    /// repeated named parameter binds one value.
    pub fn has_numbered_placeholders(self) -> bool {
        matches!(self, Dialect::Postgres)
    }

    /// The character that quotes identifiers: `"` (PostgreSQL, SQLite) or `` ` `` (MySQL).
    pub fn identifier_quote(self) -> char {
        match self {
            Dialect::MySql | Dialect::MariaDb => '`',
            Dialect::Postgres | Dialect::Sqlite => '"',
        }
    }

    /// Writes `ident` quoted, doubling any quote character inside it. Identifiers are
    /// always quoted so that reserved words and mixed case survive on every dialect.
    pub fn quote_identifier_into(self, out: &mut String, ident: &str) {
        let q = self.identifier_quote();
        out.reserve(ident.len() + 2);
        out.push(q);
        for ch in ident.chars() {
            if ch == q {
                out.push(q);
            }
            out.push(ch);
        }
        out.push(q);
    }

    /// `ident` quoted for this dialect.
    pub fn quote_identifier(self, ident: &str) -> String {
        let mut s = String::new();
        self.quote_identifier_into(&mut s, ident);
        s
    }

    /// The most bind parameters one statement may carry.
    pub fn max_bind_parameters(self) -> usize {
        match self {
            // The wire protocol counts parameters in an Int16.
            Dialect::Postgres | Dialect::MySql | Dialect::MariaDb => 65_535,
            // SQLITE_MAX_VARIABLE_NUMBER of the bundled libsqlite3 (3.32+).
            Dialect::Sqlite => 32_766,
        }
    }
}

impl std::fmt::Display for Dialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The glue between [`Value`]/[`Row`] and one sqlx driver.
pub(crate) trait Driver: sqlx::Database + sqlx::database::HasStatementCache {
    /// Binds `binds` in order.
    fn arguments(binds: &[Value]) -> Result<<Self as sqlx::Database>::Arguments<'_>>;
    /// Wraps a driver row into the dialect-neutral [`Row`].
    fn wrap_row(row: <Self as sqlx::Database>::Row) -> Row;
    /// `(rows_affected, last_insert_id)` of a finished statement.
    fn done(result: &<Self as sqlx::Database>::QueryResult) -> (u64, Option<i64>);
    /// The text sent to the driver for `sql` with `binds`. The driver caches prepared
    /// statements by text; a dialect whose prepared statements fix their parameter types
    /// (PostgreSQL) makes the text differ per parameter-type signature.
    fn statement_text<'a>(sql: &'a str, _binds: &[Value]) -> std::borrow::Cow<'a, str> {
        std::borrow::Cow::Borrowed(sql)
    }
}

/// Adds one value to a driver's argument buffer, turning the driver's error into
/// [`Error::Bind`].
pub(crate) fn add_arg<'q, DB, T>(
    args: &mut <DB as sqlx::Database>::Arguments<'q>,
    index: usize,
    value: &Value,
    v: T,
) -> Result<()>
where
    DB: sqlx::Database,
    T: sqlx::Encode<'q, DB> + sqlx::Type<DB> + 'q,
{
    sqlx::Arguments::add(args, v).map_err(|e| Error::Bind {
        index: index + 1,
        value_type: value.type_name(),
        message: e.to_string(),
    })
}

/// A decode error for column `i` of a driver row, naming the column and its SQL type.
pub(crate) fn column_decode_error<R: sqlx::Row>(row: &R, i: usize, message: String) -> Error
where
    usize: sqlx::ColumnIndex<R>,
{
    use sqlx::{Column as _, TypeInfo as _};
    let (column, sql_type) = row
        .columns()
        .get(i)
        .map(|c| (c.name().to_owned(), c.type_info().name().to_owned()))
        .unwrap_or_else(|| (format!("#{i}"), "?".to_owned()));
    Error::Decode {
        column,
        rust_type: "Value",
        sql_type,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_with_embedded_quotes_doubled() {
        assert_eq!(Dialect::Postgres.quote_identifier("order"), r#""order""#);
        assert_eq!(Dialect::MySql.quote_identifier("user"), "`user`");
        assert_eq!(
            Dialect::Sqlite.quote_identifier(r#"we"ird"#),
            r#""we""ird""#
        );
        assert_eq!(Dialect::MySql.quote_identifier("a`b"), "`a``b`");
    }

    #[test]
    fn placeholders_follow_the_dialect() {
        let mut s = String::new();
        Dialect::Postgres.write_placeholder(&mut s, 12);
        Dialect::MySql.write_placeholder(&mut s, 3);
        Dialect::Sqlite.write_placeholder(&mut s, 4);
        assert_eq!(s, "$12??");
    }
}
