//! Shared test helper: an isolated database per test on every backend.
//!
//! - SQLite: a fresh database file in the temp directory;
//! - PostgreSQL (`ORM_TEST_POSTGRES_URL`): a schema of its own, made the connection's
//!   `search_path`;
//! - MariaDB/MySQL (`ORM_TEST_MYSQL_URL`): a database of its own.
//!
//! Names are derived from the test's name, so a run that died half-way is cleaned up by
//! the next one, and two tests never share a namespace.

#![allow(dead_code)] // each test module uses a different part of the helper

pub mod chinook;
pub mod compare;

use std::path::PathBuf;

use orm::{Dialect, Engine, EngineBuilder, PoolStatus, text};

/// A backend the suite runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    MySql,
}

impl Backend {
    pub fn dialect(self) -> Dialect {
        match self {
            Backend::Sqlite => Dialect::Sqlite,
            Backend::Postgres => Dialect::Postgres,
            Backend::MySql => Dialect::MySql,
        }
    }

    /// The server URL from the environment, or `None` when this backend is not configured
    /// (SQLite is always available).
    pub fn server_url(self) -> Option<String> {
        match self {
            Backend::Sqlite => Some(String::new()),
            Backend::Postgres => std::env::var("ORM_TEST_POSTGRES_URL")
                .ok()
                .filter(|s| !s.is_empty()),
            Backend::MySql => std::env::var("ORM_TEST_MYSQL_URL")
                .ok()
                .filter(|s| !s.is_empty()),
        }
    }
}

/// An isolated database for one test on one backend.
pub struct TestDb {
    pub backend: Backend,
    /// The isolated namespace: schema (PostgreSQL), database (MySQL) or file stem (SQLite).
    pub name: String,
    /// A URL that connects into the isolated namespace.
    pub url: String,
    server_url: String,
    file: Option<PathBuf>,
}

fn namespace(test: &str) -> String {
    let mut name: String = format!("orm_t_{test}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if name.len() > 60 {
        // Keep it unique while under the 63/64-character identifier limits.
        let hash = name
            .bytes()
            .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
        name.truncate(51);
        name.push_str(&format!("_{hash:08x}"));
    }
    name
}

/// Replaces the database (path) of a server URL.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{db}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

fn with_query_param(url: &str, param: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{param}")
}

impl TestDb {
    /// Creates the isolated namespace for `test` on `backend`; `None` when the backend is
    /// not configured.
    pub async fn new(backend: Backend, test: &str) -> Option<TestDb> {
        let server_url = backend.server_url()?;
        let name = namespace(test);
        let db = match backend {
            Backend::Sqlite => {
                let file = std::env::temp_dir().join(format!("{name}.db"));
                for suffix in ["", "-wal", "-shm", "-journal"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
                }
                TestDb {
                    backend,
                    url: format!("sqlite://{}", file.display()),
                    name,
                    server_url,
                    file: Some(file),
                }
            }
            Backend::Postgres => {
                let admin = admin_engine(&server_url).await;
                admin
                    .execute(text(format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE")))
                    .await
                    .unwrap();
                admin
                    .execute(text(format!("CREATE SCHEMA \"{name}\"")))
                    .await
                    .unwrap();
                admin.close().await;
                TestDb {
                    backend,
                    url: with_query_param(&server_url, &format!("options[search_path]={name}")),
                    name,
                    server_url,
                    file: None,
                }
            }
            Backend::MySql => {
                let admin = admin_engine(&server_url).await;
                admin
                    .execute(text(format!("DROP DATABASE IF EXISTS `{name}`")))
                    .await
                    .unwrap();
                admin
                    .execute(text(format!(
                        "CREATE DATABASE `{name}` CHARACTER SET utf8mb4"
                    )))
                    .await
                    .unwrap();
                admin.close().await;
                TestDb {
                    backend,
                    url: with_database(&server_url, &name),
                    name,
                    server_url,
                    file: None,
                }
            }
        };
        Some(db)
    }

    pub fn dialect(&self) -> Dialect {
        self.backend.dialect()
    }

    /// An engine connected into the isolated namespace, with default settings.
    pub async fn engine(&self) -> Engine {
        self.builder().connect().await.unwrap()
    }

    /// An engine of exactly one connection (`pool_size(1)`, no overflow, checkouts
    /// wait at most 2 s).
    pub async fn one_connection_engine(&self) -> Engine {
        self.builder()
            .pool_size(1)
            .max_overflow(0)
            .pool_timeout(std::time::Duration::from_secs(2))
            .connect()
            .await
            .unwrap()
    }

    /// A builder for an engine connected into the isolated namespace.
    pub fn builder(&self) -> EngineBuilder {
        Engine::builder(&self.url)
    }

    /// Drops the namespace (call at the end of a passing test; a failed test's namespace
    /// is dropped by the next run).
    pub async fn cleanup(self) {
        match self.backend {
            Backend::Sqlite => {
                if let Some(file) = &self.file {
                    for suffix in ["", "-wal", "-shm", "-journal"] {
                        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
                    }
                }
            }
            Backend::Postgres => {
                let admin = admin_engine(&self.server_url).await;
                admin
                    .execute(text(format!(
                        "DROP SCHEMA IF EXISTS \"{}\" CASCADE",
                        self.name
                    )))
                    .await
                    .unwrap();
                admin.close().await;
            }
            Backend::MySql => {
                let admin = admin_engine(&self.server_url).await;
                admin
                    .execute(text(format!("DROP DATABASE IF EXISTS `{}`", self.name)))
                    .await
                    .unwrap();
                admin.close().await;
            }
        }
    }
}

async fn admin_engine(url: &str) -> Engine {
    Engine::builder(url)
        .pool_size(1)
        .max_overflow(0)
        .connect()
        .await
        .unwrap_or_else(|e| panic!("test server configured but unreachable: {e}"))
}

/// Generates one `#[tokio::test]` per backend for each listed case. A case is an
/// `async fn(&TestDb)`; on a backend whose URL is not set the test passes without
/// running and says so on stderr.
///
/// ```ignore
/// backend_tests!(commit_makes_rows_visible, rollback_discards_rows);
/// ```
#[macro_export]
macro_rules! backend_tests {
    ($($case:ident),* $(,)?) => {
        pub mod sqlite {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $case() { $crate::support::run($crate::support::Backend::Sqlite, module_path!(), stringify!($case), super::$case).await } )*
        }
        pub mod postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $case() { $crate::support::run($crate::support::Backend::Postgres, module_path!(), stringify!($case), super::$case).await } )*
        }
        pub mod mysql {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $case() { $crate::support::run($crate::support::Backend::MySql, module_path!(), stringify!($case), super::$case).await } )*
        }
    };
}

/// Runs one case on one backend in its own namespace, and cleans up after it passes.
pub async fn run(backend: Backend, module: &str, case: &str, f: impl AsyncFnOnce(&TestDb)) {
    // `module` is `integration::<file>::<backend>`: keep the file's name.
    let file = module.split("::").nth(1).unwrap_or("t");
    let Some(db) = TestDb::new(backend, &format!("{file}_{case}_{backend:?}")).await else {
        // On CI every backend must be proven: a missing URL is a failure, not a skip.
        assert!(
            std::env::var_os("CI").is_none(),
            "{backend:?} is not configured on CI: set ORM_TEST_POSTGRES_URL and ORM_TEST_MYSQL_URL"
        );
        eprintln!("skipped: {backend:?} is not configured (set its ORM_TEST_*_URL)");
        return;
    };
    f(&db).await;
    db.cleanup().await;
}

/// True when SQLite engines run on the fast path (the default; `ORM_SQLITE_FAST_PATH=0`
/// runs the suite on sqlx's path).
pub fn sqlite_fast_path() -> bool {
    std::env::var("ORM_SQLITE_FAST_PATH").map_or(true, |v| v.trim() != "0")
}

/// A SQL type name per dialect, for hand-written DDL in tests.
pub fn ddl(db: &TestDb, sqlite: &str, postgres: &str, mysql: &str) -> String {
    match db.backend {
        Backend::Sqlite => sqlite.to_owned(),
        Backend::Postgres => postgres.to_owned(),
        Backend::MySql => mysql.to_owned(),
    }
}

/// Like [`backend_tests!`], for cases that need a server (PostgreSQL and MySQL only):
/// killing a connection, reading a backend process id.
#[macro_export]
macro_rules! server_tests {
    ($($case:ident),* $(,)?) => {
        pub mod postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $case() { $crate::support::run($crate::support::Backend::Postgres, module_path!(), stringify!($case), super::$case).await } )*
        }
        pub mod mysql {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $case() { $crate::support::run($crate::support::Backend::MySql, module_path!(), stringify!($case), super::$case).await } )*
        }
    };
}

impl TestDb {
    /// The server-side id of the connection a statement runs on.
    pub fn backend_pid_sql(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => "SELECT CAST(pg_backend_pid() AS BIGINT)",
            Backend::MySql => "SELECT CAST(CONNECTION_ID() AS SIGNED)",
            Backend::Sqlite => panic!("SQLite has no server-side connection id"),
        }
    }

    /// Kills connection `pid` from another connection.
    pub async fn kill_connection(&self, pid: i64) {
        let admin = admin_engine(&self.server_url).await;
        let sql = match self.backend {
            Backend::Postgres => format!("SELECT pg_terminate_backend({pid})"),
            Backend::MySql => format!("KILL {pid}"),
            Backend::Sqlite => unreachable!("SQLite has no server"),
        };
        admin.execute(text(sql)).await.unwrap();
        admin.close().await;
    }
}

/// The statements an engine runs, recorded through its events.
#[derive(Clone, Default)]
pub struct Statements(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl Statements {
    /// Starts recording every statement `engine` runs.
    pub fn record(engine: &Engine) -> Statements {
        let s = Statements::default();
        let log = s.clone();
        engine.listen(move |e| log.0.lock().unwrap().push(e.sql.to_owned()));
        s
    }

    /// The statements recorded since the last `take`, and forgets them.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }

    /// How many statements were recorded since the last `take` that start with `prefix`
    /// (case-insensitive), and forgets all of them.
    pub fn count(&self, prefix: &str) -> usize {
        self.take()
            .iter()
            .filter(|s| s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix))
            .count()
    }
}

/// Polls the engine's pool until `want` holds (returning a connection can finish in the
/// background: a rollback, a close), for at most 10 s; returns the last status seen.
pub async fn wait_for_pool(engine: &Engine, want: impl Fn(PoolStatus) -> bool) -> PoolStatus {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let s = engine.pool_status();
        if want(s) || std::time::Instant::now() > deadline {
            return s;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}
