//! Database URLs: which dialect, which driver options, and a printable form with the
//! password hidden.

use std::str::FromStr;

use log::LevelFilter;
use sqlx::ConnectOptions;
#[cfg(feature = "mysql")]
use sqlx::mysql::MySqlConnectOptions;
#[cfg(feature = "postgres")]
use sqlx::postgres::PgConnectOptions;
#[cfg(feature = "sqlite")]
use sqlx::sqlite::SqliteConnectOptions;

use crate::dialect::Dialect;
use crate::error::{Error, Result};

/// Driver options parsed from a URL.
#[derive(Debug, Clone)]
pub(crate) enum ConnectTarget {
    #[cfg(feature = "postgres")]
    Postgres(PgConnectOptions),
    #[cfg(feature = "mysql")]
    MySql(MySqlConnectOptions),
    #[cfg(feature = "sqlite")]
    Sqlite(SqliteConnectOptions),
}

/// A parsed database URL.
#[derive(Debug, Clone)]
pub(crate) struct DatabaseUrl {
    pub(crate) target: ConnectTarget,
    /// The URL with its password replaced by `***`.
    pub(crate) redacted: String,
    /// `sqlite::memory:` and other in-memory SQLite databases.
    pub(crate) in_memory: bool,
}

impl DatabaseUrl {
    pub(crate) fn dialect(&self) -> Dialect {
        match self.target {
            #[cfg(feature = "postgres")]
            ConnectTarget::Postgres(_) => Dialect::Postgres,
            #[cfg(feature = "mysql")]
            ConnectTarget::MySql(_) => Dialect::MySql,
            #[cfg(feature = "sqlite")]
            ConnectTarget::Sqlite(_) => Dialect::Sqlite,
        }
    }
}

/// Replaces the passwords of a URL with `***`: the one in `scheme://user:password@host`
/// and the value of a `password` (or `sslpassword`) query option. Works on text, so that
/// even a URL too broken to parse never leaks its password.
pub(crate) fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return redact_query(url, 0);
    };
    let authority_start = scheme_end + 3;
    // The credentials end at the last `@` (a password may hold `/`, `?`, `#` or `@`
    // unencoded); without one there are none.
    let Some(at) = url[authority_start..]
        .rfind('@')
        .map(|i| authority_start + i)
    else {
        return redact_query(url, authority_start);
    };
    let Some(colon) = url[authority_start..at]
        .find(':')
        .map(|i| authority_start + i)
    else {
        return redact_query(url, at);
    };
    let head = format!("{}***", &url[..colon + 1]);
    let tail = redact_query(&url[at..], 0);
    head + &tail
}

/// Hides the value of every password option in the query of `url`, which starts at the
/// first `?` at or after `from`.
fn redact_query(url: &str, from: usize) -> String {
    let Some(q) = url[from..].find('?').map(|i| from + i + 1) else {
        return url.to_owned();
    };
    let mut out = url[..q].to_owned();
    for (i, pair) in url[q..].split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        let key = pair.split_once('=').map_or(pair, |(k, _)| k);
        let decoded = url::form_urlencoded::parse(key.as_bytes())
            .next()
            .map(|(k, _)| k.to_ascii_lowercase())
            .unwrap_or_default();
        if matches!(decoded.as_str(), "password" | "sslpassword") {
            out.push_str(key);
            out.push_str("=***");
        } else {
            out.push_str(pair);
        }
    }
    out
}

/// The query options sqlx's PostgreSQL driver reads (`options[name]` sets one server
/// setting); it ignores any other with only a log line.
#[cfg(feature = "postgres")]
const POSTGRES_OPTIONS: &[&str] = &[
    "sslmode",
    "ssl-mode",
    "sslrootcert",
    "ssl-root-cert",
    "ssl-ca",
    "sslcert",
    "ssl-cert",
    "sslkey",
    "ssl-key",
    "statement-cache-capacity",
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "application_name",
    "options",
    "options[<setting>]",
];

/// The query options sqlx's MySQL driver reads; it ignores any other in silence.
#[cfg(feature = "mysql")]
const MYSQL_OPTIONS: &[&str] = &[
    "sslmode",
    "ssl-mode",
    "sslca",
    "ssl-ca",
    "sslcert",
    "ssl-cert",
    "sslkey",
    "ssl-key",
    "charset",
    "collation",
    "statement-cache-capacity",
    "socket",
    "timezone",
    "time-zone",
];

/// Refuses a query option the driver would ignore: a misspelt `sslmode` must not
/// connect without TLS. (The SQLite driver refuses unknown options itself.)
#[cfg(any(feature = "postgres", feature = "mysql"))]
fn check_options(url: &str, accepted: &[&str]) -> std::result::Result<(), String> {
    // A URL the `url` crate cannot read is the driver's to refuse, with its own reason.
    let Ok(parsed) = url::Url::parse(url) else {
        return Ok(());
    };
    let unknown: Vec<String> = parsed
        .query_pairs()
        .map(|(k, _)| k.into_owned())
        .filter(|k| {
            let indexed = k.starts_with("options[") && k.ends_with(']');
            !(accepted.contains(&k.as_str()) || indexed && accepted.contains(&"options[<setting>]"))
        })
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    let list = |names: &[&str]| {
        names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let unknown: Vec<&str> = unknown.iter().map(String::as_str).collect();
    Err(format!(
        "unknown option{} {}; the driver reads {}",
        if unknown.len() == 1 { "" } else { "s" },
        list(&unknown),
        list(accepted)
    ))
}

/// Refuses a MySQL URL without a host (`mysql://`, `mysql:///db`), which sqlx would
/// quietly point at `localhost`; a Unix socket (`?socket=/path`) needs none.
#[cfg(feature = "mysql")]
fn check_mysql_host(url: &str) -> std::result::Result<(), String> {
    let Ok(parsed) = url::Url::parse(url) else {
        return Ok(());
    };
    let has_host = parsed.host_str().is_some_and(|h| !h.is_empty());
    if has_host || parsed.query_pairs().any(|(k, _)| k == "socket") {
        return Ok(());
    }
    Err(
        "no host; write mysql://user@host/database, or give a Unix socket with ?socket=/path"
            .to_owned(),
    )
}

/// Parses `url`, choosing the dialect from its scheme.
pub(crate) fn parse(url: &str) -> Result<DatabaseUrl> {
    let redacted = redact(url);
    let invalid = |reason: String| Error::InvalidUrl {
        url: redacted.clone(),
        reason,
    };
    let Some((scheme, _)) = url.split_once(':') else {
        return Err(invalid(
            "no scheme; expected postgres://, mysql://, mariadb:// or sqlite:".to_owned(),
        ));
    };
    let scheme = scheme.to_ascii_lowercase();
    #[cfg(any(feature = "postgres", feature = "mysql", feature = "sqlite"))]
    let driver_error = |e: sqlx::Error| invalid(e.to_string());
    #[cfg(not(all(feature = "postgres", feature = "mysql", feature = "sqlite")))]
    let not_compiled = |database, feature| Error::DriverNotCompiled {
        url: redacted.clone(),
        database,
        feature,
    };
    let (target, in_memory) = match scheme.as_str() {
        #[cfg(not(feature = "postgres"))]
        "postgres" | "postgresql" => return Err(not_compiled("PostgreSQL", "postgres")),
        #[cfg(not(feature = "mysql"))]
        "mysql" | "mariadb" => return Err(not_compiled("MySQL/MariaDB", "mysql")),
        #[cfg(not(feature = "sqlite"))]
        "sqlite" => return Err(not_compiled("SQLite", "sqlite")),
        #[cfg(feature = "postgres")]
        "postgres" | "postgresql" => {
            check_options(url, POSTGRES_OPTIONS).map_err(invalid)?;
            let opts = PgConnectOptions::from_str(url).map_err(driver_error)?;
            (
                ConnectTarget::Postgres(opts.log_statements(LevelFilter::Off)),
                false,
            )
        }
        #[cfg(feature = "mysql")]
        "mysql" | "mariadb" => {
            let normalized = format!("mysql{}", &url[scheme.len()..]);
            check_options(&normalized, MYSQL_OPTIONS).map_err(invalid)?;
            check_mysql_host(&normalized).map_err(invalid)?;
            let opts = MySqlConnectOptions::from_str(&normalized).map_err(driver_error)?;
            (
                ConnectTarget::MySql(opts.log_statements(LevelFilter::Off)),
                false,
            )
        }
        #[cfg(feature = "sqlite")]
        "sqlite" => {
            let mut opts = SqliteConnectOptions::from_str(url).map_err(driver_error)?;
            // Like Python's sqlite3 (and so SQLAlchemy), a missing database file is
            // created unless the URL chooses a `mode` itself.
            if !url.contains("mode=") {
                opts = opts.create_if_missing(true);
            }
            // The driver's worker thread sends rows one by one through a channel of this
            // many: with sqlx's 50, a statement returning thousands of rows (RETURNING of
            // a flush, a load) wakes the worker once per row.
            opts = opts.row_buffer_size(1024);
            let in_memory = url.contains(":memory:") || url.contains("mode=memory");
            (
                ConnectTarget::Sqlite(opts.log_statements(LevelFilter::Off)),
                in_memory,
            )
        }
        other => {
            return Err(invalid(format!(
                "unknown scheme `{other}`; expected postgres://, mysql://, mariadb:// or sqlite:"
            )));
        }
    };
    Ok(DatabaseUrl {
        target,
        redacted,
        in_memory,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_picks_the_dialect() {
        #[cfg(feature = "postgres")]
        {
            assert_eq!(
                parse("postgres://u@h/db").unwrap().dialect(),
                Dialect::Postgres
            );
            assert_eq!(
                parse("postgresql://u@h/db").unwrap().dialect(),
                Dialect::Postgres
            );
        }
        #[cfg(feature = "mysql")]
        {
            assert_eq!(
                parse("mysql://root@h/db").unwrap().dialect(),
                Dialect::MySql
            );
            assert_eq!(
                parse("mariadb://root@h/db").unwrap().dialect(),
                Dialect::MySql
            );
        }
        #[cfg(feature = "sqlite")]
        {
            let mem = parse("sqlite::memory:").unwrap();
            assert_eq!(mem.dialect(), Dialect::Sqlite);
            assert!(mem.in_memory);
            assert!(!parse("sqlite://app.db?mode=rwc").unwrap().in_memory);
        }
    }

    /// A URL of a database whose driver this build leaves out is refused by name, with
    /// the cargo feature to enable, at `create_engine` (before any connection).
    #[cfg(not(all(feature = "postgres", feature = "mysql", feature = "sqlite")))]
    #[tokio::test]
    async fn a_url_whose_driver_is_compiled_out_names_the_feature() {
        let cases = [
            (
                cfg!(feature = "postgres"),
                "postgres://u:secret@127.0.0.1/db",
                "this build of orm has no PostgreSQL driver (URL `postgres://u:***@127.0.0.1/db`): \
                 enable the `postgres` cargo feature of orm",
            ),
            (
                cfg!(feature = "mysql"),
                "mariadb://root@127.0.0.1/db",
                "this build of orm has no MySQL/MariaDB driver (URL `mariadb://root@127.0.0.1/db`): \
                 enable the `mysql` cargo feature of orm",
            ),
            (
                cfg!(feature = "sqlite"),
                "sqlite::memory:",
                "this build of orm has no SQLite driver (URL `sqlite::memory:`): enable the \
                 `sqlite` cargo feature of orm",
            ),
        ];
        let refused: Vec<_> = cases
            .into_iter()
            .filter(|(compiled, ..)| !compiled)
            .map(|(_, url, message)| (url, message))
            .collect();
        assert!(!refused.is_empty());
        for (url, message) in refused {
            let err = crate::engine::create_engine(url).await.unwrap_err();
            assert!(
                matches!(err, Error::DriverNotCompiled { .. }),
                "{url}: {err:?}"
            );
            assert_eq!(err.to_string(), message);
        }
    }

    #[test]
    fn bad_urls_say_why_and_hide_the_password() {
        let err = parse("oracle://scott:tiger@h/db").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid database URL `oracle://scott:***@h/db`: unknown scheme `oracle`; expected postgres://, mysql://, mariadb:// or sqlite:"
        );
        let err = parse("just-a-name").unwrap_err();
        assert!(err.to_string().contains("no scheme"), "{err}");
        #[cfg(feature = "postgres")]
        {
            let err = parse("postgres://u:secret@h:notaport/db").unwrap_err();
            assert!(matches!(err, Error::InvalidUrl { .. }), "{err:?}");
            assert!(!err.to_string().contains("secret"), "{err}");
        }
        assert_eq!(
            redact("mysql://root:p%40ss@h:3306/db?x=1"),
            "mysql://root:***@h:3306/db?x=1"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(
            redact("postgres://u:se/cr?et#x@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(
            redact("postgres://u:p@ss@h/db?x=1"),
            "postgres://u:***@h/db?x=1"
        );
        assert_eq!(
            redact("postgres://u@h/db?sslmode=disable&password=hunter2&x=1"),
            "postgres://u@h/db?sslmode=disable&password=***&x=1"
        );
        assert_eq!(
            redact("postgres://u:a@h/db?PASSWORD=b&pass%77ord=c"),
            "postgres://u:***@h/db?PASSWORD=***&pass%77ord=***"
        );
        assert_eq!(
            redact("postgres:///db?host=/tmp&password=s"),
            "postgres:///db?host=/tmp&password=***"
        );
    }

    #[cfg(feature = "mysql")]
    #[test]
    fn a_mysql_url_needs_a_host_or_a_socket() {
        for url in [
            "mysql://",
            "mysql:///db",
            "mariadb://root@/db",
            "mysql://root:pw@/db",
        ] {
            let err = parse(url).unwrap_err();
            assert!(err.to_string().contains("host"), "{url}: {err}");
            assert!(!err.to_string().contains(":pw@"), "{err}");
        }
        parse("mysql://root@localhost/db").unwrap();
        parse("mysql://root@localhost/db?socket=/run/mysqld/mysqld.sock").unwrap();
    }

    #[test]
    fn unknown_options_are_refused_naming_them() {
        let mut ok: Vec<&str> = Vec::new();
        #[cfg(feature = "postgres")]
        {
            let err = parse("postgres://u@h/db?sslmod=require").unwrap_err();
            assert!(
                err.to_string()
                    .contains("unknown option `sslmod`; the driver reads `sslmode`"),
                "{err}"
            );
            ok.extend([
                "postgres://u@h/db?sslmode=disable&application_name=app&options[search_path]=s",
                "postgres://u@h/db?options=-c%20statement_timeout%3D5s&statement-cache-capacity=10",
            ]);
        }
        #[cfg(feature = "mysql")]
        {
            let err = parse("mariadb://u@h/db?ssl-mode=REQUIRED&timeout=5&x=1").unwrap_err();
            assert!(
                err.to_string().contains("unknown options `timeout`, `x`;"),
                "{err}"
            );
            ok.extend([
                "mysql://u@h/db?ssl-mode=DISABLED&charset=utf8mb4&collation=utf8mb4_bin",
                "mysql://u@h/db?timezone=%2B00:00&statement-cache-capacity=0",
            ]);
        }
        #[cfg(feature = "sqlite")]
        {
            let err = parse("sqlite://a.db?mod=ro").unwrap_err();
            assert!(err.to_string().contains("`mod`"), "{err}");
            ok.push("sqlite://a.db?mode=rwc&cache=shared");
        }
        for ok in ok {
            parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
    }
}
