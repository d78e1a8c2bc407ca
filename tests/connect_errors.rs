//! Errors that say what went wrong and where: bad URLs, refused connections, constraint
//! violations with their SQLSTATE and constraint name.

use std::time::{Duration, Instant};

use orm::{DatabaseErrorKind, Error, create_engine, text};

use crate::backend_tests;
use crate::support::{Backend, TestDb};

#[tokio::test]
async fn a_bad_url_is_an_invalid_url_error() {
    for url in [
        "oracle://scott:tiger@db/orcl",
        "no scheme at all",
        "postgres://u:pw@host:port/db",
        "mysql://root@h:99999999/x",
        // Issue 8: no host was taken for localhost.
        "mysql://",
        "mariadb://root:tiger@/db",
    ] {
        let err = create_engine(url).await.unwrap_err();
        assert!(matches!(err, Error::InvalidUrl { .. }), "{url}: {err:?}");
        assert!(
            !err.to_string().contains("tiger") && !err.to_string().contains(":pw@"),
            "{err}"
        );
    }
}

#[tokio::test]
async fn a_refused_connection_fails_fast_with_a_connect_error() {
    for url in [
        "postgres://postgres@127.0.0.1:1/test",
        "mysql://root@127.0.0.1:1/test",
        "mariadb://root:secret@127.0.0.1:1/test",
    ] {
        let started = Instant::now();
        let err = orm::Engine::builder(url)
            .pool_timeout(Duration::from_secs(20))
            .connect()
            .await
            .unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{url}: took {:?}",
            started.elapsed()
        );
        match &err {
            Error::Connect { url: shown, .. } => {
                assert!(shown.contains("127.0.0.1:1") && !shown.contains("secret"))
            }
            other => panic!("{url}: expected a connect error, got {other:?}"),
        }
        assert!(err.to_string().to_lowercase().contains("refused"), "{err}");
    }
}

#[tokio::test]
async fn an_unopenable_sqlite_file_is_a_connect_error() {
    let err = create_engine("sqlite:///no/such/directory/app.db")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err:?}");
    assert!(
        err.to_string().contains("/no/such/directory/app.db"),
        "{err}"
    );
}

#[tokio::test]
async fn an_unknown_server_database_is_a_connect_error_naming_it() {
    for backend in [Backend::Postgres, Backend::MySql] {
        let Some(url) = backend.server_url() else {
            continue;
        };
        let (base, _) = url.rsplit_once('/').unwrap();
        let err = create_engine(&format!("{base}/orm_no_such_database"))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Connect { .. }), "{err:?}");
        assert!(err.to_string().contains("orm_no_such_database"), "{err}");
    }
}

/// Issue 8: an unknown URL option was ignored (`?sslmod=require` connected without
/// TLS). Every scheme refuses options its driver would not read, naming them; the
/// drivers' real options still connect.
#[tokio::test]
async fn unknown_url_options_are_refused_naming_them() {
    for (url, unknown) in [
        ("postgres://u@127.0.0.1:1/db?sslmod=require", "`sslmod`"),
        (
            "postgresql://u@127.0.0.1:1/db?connect_timeout=5",
            "`connect_timeout`",
        ),
        (
            "mysql://root@127.0.0.1:1/db?ssl_mode=REQUIRED",
            "`ssl_mode`",
        ),
        (
            "mariadb://root@127.0.0.1:1/db?sslmode=DISABLED&tls=1",
            "`tls`",
        ),
        ("sqlite://app.db?journal=wal", "`journal`"),
    ] {
        let err = create_engine(url).await.unwrap_err();
        assert!(matches!(err, Error::InvalidUrl { .. }), "{url}: {err:?}");
        assert!(err.to_string().contains(unknown), "{url}: {err}");
    }
    // The drivers' own options are accepted and used.
    for (backend, option) in [
        (
            Backend::Postgres,
            "sslmode=disable&application_name=orm_test_app",
        ),
        (Backend::MySql, "ssl-mode=DISABLED&charset=utf8mb4"),
    ] {
        let Some(url) = backend.server_url() else {
            continue;
        };
        let sep = if url.contains('?') { '&' } else { '?' };
        let engine = create_engine(&format!("{url}{sep}{option}")).await.unwrap();
        let one: i64 = engine
            .fetch_one(text("SELECT 1"))
            .await
            .unwrap()
            .get(0)
            .unwrap();
        assert_eq!(one, 1);
        if backend == Backend::Postgres {
            let app: String = engine
                .fetch_one(text("SELECT current_setting('application_name')"))
                .await
                .unwrap()
                .get(0)
                .unwrap();
            assert_eq!(app, "orm_test_app");
        }
    }
}

backend_tests!(
    constraint_violations_carry_code_kind_and_constraint,
    syntax_errors_carry_the_statement,
    errors_show_a_long_statement_cut_short_and_keep_it_whole,
);

/// Issue 8: an error's message embedded the whole statement (70,000 placeholders). It
/// shows the first 1,000 characters and how many more there are; the error's `sql`
/// field keeps the statement whole.
async fn errors_show_a_long_statement_cut_short_and_keep_it_whole(db: &TestDb) {
    let engine = db.engine().await;
    let long = format!("SELEC {}", "1 + ".repeat(20_000));
    let err = engine.execute(text(long.clone())).await.unwrap_err();
    let shown = err.to_string();
    assert!(shown.len() < 2_000, "{} characters", shown.len());
    assert!(shown.contains("... (79006 more characters)"), "{shown}");
    assert_eq!(
        err.as_database_error().unwrap().sql.as_deref(),
        Some(&*long)
    );
    // A bind parameter error too.
    let params: Vec<String> = (0..20_000).map(|i| format!(":p{i}")).collect();
    let err = engine
        .execute(text(format!("SELECT {}", params.join(", "))))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::BindParameter { .. }), "{err:?}");
    assert!(err.to_string().len() < 2_000);
}

async fn constraint_violations_carry_code_kind_and_constraint(db: &TestDb) {
    let engine = db.engine().await;
    engine
        .execute(text(
            "CREATE TABLE parents (id INTEGER PRIMARY KEY, name VARCHAR(20) NOT NULL, CONSTRAINT uq_parents_name UNIQUE (name))",
        ))
        .await
        .unwrap();
    engine
        .execute(text(
            "CREATE TABLE children (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL, \
             CONSTRAINT fk_children_parent FOREIGN KEY (parent_id) REFERENCES parents (id))",
        ))
        .await
        .unwrap();
    engine
        .execute(text("INSERT INTO parents VALUES (1, 'ed')"))
        .await
        .unwrap();

    let err = engine
        .execute(text("INSERT INTO parents VALUES (2, :n)").bind("n", "ed"))
        .await
        .unwrap_err();
    assert!(err.is_unique_violation(), "{err:?}");
    let db_err = err.as_database_error().unwrap();
    assert_eq!(db_err.kind, DatabaseErrorKind::UniqueViolation);
    let (code, constraint) = match db.backend {
        Backend::Postgres => ("23505", "uq_parents_name"),
        Backend::MySql => ("23000", "uq_parents_name"),
        Backend::Sqlite => ("2067", "parents.name"),
    };
    assert_eq!(db_err.code.as_deref(), Some(code));
    assert_eq!(db_err.constraint.as_deref(), Some(constraint));
    assert!(err.to_string().contains(constraint), "{err}");
    assert!(
        err.to_string().contains("INSERT INTO parents"),
        "the statement is named: {err}"
    );

    let err = engine
        .execute(text("INSERT INTO children VALUES (1, 99)"))
        .await
        .unwrap_err();
    assert!(err.is_foreign_key_violation(), "{err:?}");
    if db.backend != Backend::Sqlite {
        // SQLite does not name the foreign key that failed.
        assert_eq!(
            err.as_database_error().unwrap().constraint.as_deref(),
            Some("fk_children_parent")
        );
    }

    let err = engine
        .execute(text("INSERT INTO parents (id) VALUES (3)"))
        .await
        .unwrap_err();
    // MySQL in strict mode reports a missing NOT NULL value as "no default value".
    if db.backend != Backend::MySql {
        assert!(err.is_not_null_violation(), "{err:?}");
    }
    assert!(err.as_database_error().is_some(), "{err:?}");
    // Nothing was inserted by the failures.
    let n: i64 = engine
        .fetch_one(text("SELECT COUNT(*) FROM parents"))
        .await
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(n, 1);
}

async fn syntax_errors_carry_the_statement(db: &TestDb) {
    let engine = db.engine().await;
    let err = engine.execute(text("SELEC 1")).await.unwrap_err();
    let db_err = err.as_database_error().expect("a database error");
    assert_eq!(db_err.kind, DatabaseErrorKind::Other);
    assert!(db_err.code.is_some());
    assert_eq!(db_err.sql.as_deref(), Some("SELEC 1"));
}

#[tokio::test]
async fn passwords_never_show() {
    let b = orm::Engine::builder("postgres://u:top/se?cr#et@127.0.0.1:1/db");
    assert!(!format!("{b:?}").contains("top"), "{b:?}");
    let err = b.connect().await.unwrap_err();
    assert!(!err.to_string().contains("top"), "{err}");
}

/// Issue 8: `?password=` showed in `Engine::url()` and in `Error::Connect`.
#[tokio::test]
async fn a_password_in_the_url_query_never_shows() {
    let b = orm::Engine::builder("postgres://u@127.0.0.1:1/db?password=hunter2");
    assert!(!format!("{b:?}").contains("hunter2"), "{b:?}");
    let err = b.connect().await.unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err:?}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
    assert!(err.to_string().contains("password=***"), "{err}");
    // MySQL's driver has no `password` option: refused, and hidden all the same.
    let err = create_engine("mysql://root@127.0.0.1:1/db?password=hunter2")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidUrl { .. }), "{err:?}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
    // A connected engine shows its URL without it (PostgreSQL's test server trusts
    // local connections, so the password is not asked for).
    if let Some(url) = Backend::Postgres.server_url() {
        let sep = if url.contains('?') { '&' } else { '?' };
        let engine = create_engine(&format!("{url}{sep}password=hunter2"))
            .await
            .unwrap();
        assert!(!engine.url().contains("hunter2"), "{}", engine.url());
        assert!(engine.url().ends_with("password=***"), "{}", engine.url());
        assert!(!format!("{engine:?}").contains("hunter2"));
    }
}

mod killed {
    use super::*;

    crate::server_tests!(a_killed_connection_says_the_connection_was_lost);

    /// Issue 8: after a `KILL`, the next statement's error said only `expected to read
    /// 4 bytes, got 0 bytes at EOF`. It says the connection was lost now (PostgreSQL
    /// sends its own reason first, an administrator command, which is kept).
    async fn a_killed_connection_says_the_connection_was_lost(db: &TestDb) {
        let engine = db.one_connection_engine().await;
        let mut tx = engine.begin().await.unwrap();
        let pid: i64 = tx
            .fetch_one(text(db.backend_pid_sql()))
            .await
            .unwrap()
            .get(0)
            .unwrap();
        db.kill_connection(pid).await;
        let err = tx.fetch_one(text("SELECT 1")).await.unwrap_err();
        match (&err, db.backend) {
            (Error::ConnectionLost { .. }, _) => {
                assert!(
                    err.to_string()
                        .starts_with("the connection to the database was lost"),
                    "{err}"
                );
            }
            (Error::Database(e), Backend::Postgres) => {
                assert_eq!(e.code.as_deref(), Some("57P01"), "{err}");
            }
            (other, backend) => panic!("{backend:?}: {other:?}"),
        }
        // The transaction is gone; the engine goes on with a new connection.
        let err = tx.fetch_one(text("SELECT 1")).await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::ConnectionInvalidated { .. } | Error::ConnectionLost { .. }
            ),
            "{err:?}"
        );
        drop(tx);
        let one: i64 = engine
            .fetch_one(text("SELECT 1"))
            .await
            .unwrap()
            .get(0)
            .unwrap();
        assert_eq!(one, 1);
    }
}

/// A server that goes away after the engine connected (stopped, restarted, its port
/// closed): a TCP proxy in front of the real server, shut down mid-test.
mod server_gone {
    use std::sync::{Arc, Mutex};

    use tokio::net::{TcpListener, TcpStream};
    use tokio::task::JoinHandle;

    use super::*;

    crate::server_tests!(a_server_gone_after_connect_gives_the_connect_error_at_once);

    /// Forwards a local port to `target` until [`Proxy::stop`].
    struct Proxy {
        port: u16,
        tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
        accept: JoinHandle<()>,
    }

    impl Proxy {
        async fn start(target: String) -> Proxy {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let tasks = Arc::new(Mutex::new(Vec::new()));
            let spawned = Arc::clone(&tasks);
            let accept = tokio::spawn(async move {
                while let Ok((mut inbound, _)) = listener.accept().await {
                    let target = target.clone();
                    let pipe = tokio::spawn(async move {
                        if let Ok(mut outbound) = TcpStream::connect(target).await {
                            let _ =
                                tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    });
                    spawned.lock().unwrap().push(pipe);
                }
            });
            Proxy {
                port,
                tasks,
                accept,
            }
        }

        /// Closes the port and every forwarded connection.
        async fn stop(self) {
            self.accept.abort();
            let _ = self.accept.await;
            for t in self.tasks.lock().unwrap().drain(..) {
                t.abort();
            }
        }
    }

    async fn a_server_gone_after_connect_gives_the_connect_error_at_once(db: &TestDb) {
        // `scheme://user@host:port/db?query`: point host:port at the proxy.
        let authority = db.url.split("://").nth(1).unwrap();
        let authority = &authority[authority.find('@').map_or(0, |i| i + 1)..];
        let host_port = &authority[..authority.find('/').unwrap()];
        let proxy = Proxy::start(host_port.to_owned()).await;
        let url = db
            .url
            .replacen(host_port, &format!("127.0.0.1:{}", proxy.port), 1);
        let engine = orm::Engine::builder(&url)
            .pool_size(2)
            .pool_timeout(Duration::from_secs(10))
            .connect()
            .await
            .unwrap();
        engine.execute(text("SELECT 1")).await.unwrap();
        assert_eq!(engine.pool_status().size, 1);
        proxy.stop().await;
        // The idle connection is gone with the server: its statement fails with the
        // driver's I/O error, and the connection is closed...
        let started = Instant::now();
        let err = engine.execute(text("SELECT 1")).await.unwrap_err();
        assert!(matches!(err, Error::ConnectionLost { .. }), "{err:?}");
        // ...and every later statement, which must open a connection, says why it
        // cannot, at once instead of after pool_timeout.
        for _ in 0..3 {
            let err = engine.execute(text("SELECT 1")).await.unwrap_err();
            match &err {
                Error::Connect { url: shown, .. } => assert!(shown.contains("127.0.0.1")),
                other => panic!("expected a connect error, got {other:?}"),
            }
            assert!(err.to_string().to_lowercase().contains("refused"), "{err}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "took {:?}",
            started.elapsed()
        );
        assert_eq!(engine.pool_status(), orm::PoolStatus { size: 0, idle: 0 });
    }
}
