//! SQL dialects: how PostgreSQL, MySQL/MariaDB and SQLite spell identifiers, bind
//! placeholders and limits, and what each server version can run ([`ServerInfo`]).
//!
//! A leaf of the module graph: it names no other module of the crate, so that `sql`
//! and `schema` (which spell SQL) and `engine` (which talks to the drivers) can all
//! depend on it. How values cross into and out of each sqlx driver is
//! `engine::driver`'s work.

use std::fmt::Write;

mod server;

pub use server::{Capabilities, Feature, ServerInfo, ServerVersion};

/// The SQL dialects the engine speaks, chosen from the URL's scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// PostgreSQL (`postgres://`, `postgresql://`).
    Postgres,
    /// MySQL (`mysql://`).
    MySql,
    /// MariaDB (`mysql://` or `mariadb://`, recognised from the server's version at
    /// connect time): MySQL's dialect plus `DELETE ... RETURNING` (10.0.5+) and
    /// `INSERT ... RETURNING` (10.5+), with `LOCK IN SHARE MODE` for `FOR SHARE`.
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
