//! Engine options beyond the URL: typed connect options (SQLite PRAGMAs, PostgreSQL
//! startup settings) and the after-connect hook, read back on every pooled connection.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use orm::{Connection, Engine, Error, JournalMode, Synchronous, text};

use crate::backend_tests;
use crate::support::{Backend, Statements, TestDb, wait_for_pool};

backend_tests!(
    after_connect_runs_once_on_every_new_pooled_connection,
    a_failing_after_connect_hook_fails_the_checkout_and_closes_the_connection,
    options_of_another_database_are_refused_at_connect,
);

/// PostgreSQL only: the options are PostgreSQL's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_options_are_sent_at_startup() {
    crate::support::run(
        Backend::Postgres,
        module_path!(),
        "postgres_options_are_sent_at_startup",
        postgres_options,
    )
    .await
}

/// A pool of two connections, both checked out at once.
async fn two_connections(engine: &Engine) -> [Connection; 2] {
    let a = engine.connect().await.unwrap();
    let b = engine.connect().await.unwrap();
    assert_eq!(engine.pool_status().size, 2);
    [a, b]
}

async fn after_connect_runs_once_on_every_new_pooled_connection(db: &TestDb) {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    let engine = db
        .builder()
        .pool_size(2)
        .max_overflow(0)
        .after_connect(move |conn| {
            let n = seen.fetch_add(1, Ordering::SeqCst) as i64 + 1;
            Box::pin(async move {
                conn.execute(text("CREATE TEMPORARY TABLE hooked (n INTEGER)"))
                    .await?;
                conn.execute(text("INSERT INTO hooked (n) VALUES (:n)").bind("n", n))
                    .await?;
                Ok(())
            })
        })
        .connect()
        .await
        .unwrap();
    // The probe that reads the server version is not pooled: no call yet.
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    let statements = Statements::record(&engine);
    let mut conns = two_connections(&engine).await;
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    // The hook's statements are reported like any other.
    assert_eq!(statements.count("CREATE TEMPORARY TABLE hooked"), 2);
    let mut ns = Vec::new();
    for conn in &mut conns {
        let row = conn.fetch_one(text("SELECT n FROM hooked")).await.unwrap();
        ns.push(row.get::<i64>(0).unwrap());
    }
    ns.sort();
    assert_eq!(ns, [1, 2], "each connection ran the hook once, on itself");
    drop(conns);
    wait_for_pool(&engine, |s| s.idle == 2).await;
    // Reused connections do not run it again.
    for _ in 0..4 {
        let n: i64 = engine
            .fetch_one(text("SELECT COUNT(*) FROM hooked"))
            .await
            .unwrap()
            .get(0)
            .unwrap();
        assert_eq!(n, 1);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    // A connection opened after dispose() does.
    engine.dispose().await;
    engine.execute(text("SELECT 1")).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    engine.close().await;
}

async fn a_failing_after_connect_hook_fails_the_checkout_and_closes_the_connection(db: &TestDb) {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    let engine = db
        .builder()
        .pool_size(2)
        .max_overflow(0)
        .after_connect(move |conn| {
            let first = seen.fetch_add(1, Ordering::SeqCst) == 0;
            Box::pin(async move {
                if first {
                    conn.execute(text("SELECT * FROM no_such_table_here"))
                        .await?;
                }
                Ok(())
            })
        })
        .connect()
        .await
        .unwrap();
    let err = engine.connect().await.unwrap_err();
    let Error::AfterConnect { url, source } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(url, engine.url());
    assert!(matches!(**source, Error::Database(_)), "{source:?}");
    let shown = err.to_string();
    assert!(
        shown.starts_with("the after-connect hook failed on a new connection to `"),
        "{shown}"
    );
    assert!(shown.contains("no_such_table_here"), "{shown}");
    // The connection was closed and its slot given back.
    assert_eq!(engine.pool_status(), orm::PoolStatus { size: 0, idle: 0 });
    // The next checkout opens a new connection, whose hook succeeds.
    engine.execute(text("SELECT 1")).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(engine.pool_status().size, 1);
    engine.close().await;
}

async fn options_of_another_database_are_refused_at_connect(db: &TestDb) {
    let (builder, expected) = match db.backend {
        Backend::Sqlite => (
            db.builder().application_name("app"),
            "`application_name` is a PostgreSQL connect option; this is a SQLite URL",
        ),
        Backend::Postgres => (
            db.builder()
                .journal_mode(JournalMode::Wal)
                .busy_timeout(Duration::from_secs(1)),
            "`journal_mode`, `busy_timeout` are SQLite connect options; this is a PostgreSQL URL",
        ),
        Backend::MySql => (
            db.builder().statement_timeout(Duration::from_secs(1)),
            "`statement_timeout` is a PostgreSQL connect option; this is a MySQL URL",
        ),
    };
    let err = builder.connect().await.unwrap_err();
    assert!(matches!(err, Error::InvalidUrl { .. }), "{err:?}");
    assert!(err.to_string().ends_with(expected), "{err}");
}

mod sqlite_pragmas {
    use super::*;

    async fn pragma(conn: &mut Connection, name: &str) -> String {
        let row = conn
            .fetch_one(text(format!("PRAGMA {name}")))
            .await
            .unwrap();
        match row.get::<orm::Value>(0).unwrap() {
            orm::Value::Text(s) => s,
            orm::Value::I64(n) => n.to_string(),
            other => panic!("PRAGMA {name}: {other:?}"),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_options_are_set_on_every_pooled_connection() {
        let db = TestDb::new(Backend::Sqlite, "engine_options_sqlite_pragmas")
            .await
            .unwrap();
        let engine = db
            .builder()
            .pool_size(2)
            .max_overflow(0)
            .journal_mode(JournalMode::Wal)
            .synchronous(Synchronous::Normal)
            .foreign_keys(false)
            .busy_timeout(Duration::from_millis(1234))
            .connect()
            .await
            .unwrap();
        for conn in &mut two_connections(&engine).await {
            assert_eq!(pragma(conn, "journal_mode").await, "wal");
            assert_eq!(pragma(conn, "synchronous").await, "1");
            assert_eq!(pragma(conn, "foreign_keys").await, "0");
            assert_eq!(pragma(conn, "busy_timeout").await, "1234");
        }
        engine.close().await;
        // Without options: sqlx's defaults (FULL, foreign keys on, 5 s).
        let engine = db.builder().connect().await.unwrap();
        let mut conn = engine.connect().await.unwrap();
        assert_eq!(pragma(&mut conn, "synchronous").await, "2");
        assert_eq!(pragma(&mut conn, "foreign_keys").await, "1");
        assert_eq!(pragma(&mut conn, "busy_timeout").await, "5000");
        drop(conn);
        engine.close().await;
        db.cleanup().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_synchronous_off_and_extra_and_journal_memory() {
        let db = TestDb::new(Backend::Sqlite, "engine_options_sqlite_more")
            .await
            .unwrap();
        for (sync, want) in [(Synchronous::Off, "0"), (Synchronous::Extra, "3")] {
            let engine = db
                .builder()
                .synchronous(sync)
                .journal_mode(JournalMode::Memory)
                .connect()
                .await
                .unwrap();
            let mut conn = engine.connect().await.unwrap();
            assert_eq!(pragma(&mut conn, "synchronous").await, want);
            assert_eq!(pragma(&mut conn, "journal_mode").await, "memory");
            drop(conn);
            engine.close().await;
        }
        db.cleanup().await;
    }
}

async fn postgres_options(db: &TestDb) {
    let engine = db
        .builder()
        .pool_size(2)
        .max_overflow(0)
        .application_name("orm tests: engine_options")
        .statement_timeout(Duration::from_millis(300))
        .connect()
        .await
        .unwrap();
    for conn in &mut two_connections(&engine).await {
        let show = async |conn: &mut Connection, name: &str| -> String {
            conn.fetch_one(text(format!("SHOW {name}")))
                .await
                .unwrap()
                .get(0)
                .unwrap()
        };
        assert_eq!(
            show(conn, "application_name").await,
            "orm tests: engine_options"
        );
        assert_eq!(show(conn, "statement_timeout").await, "300ms");
        // The URL's own startup options are kept beside the new ones.
        assert_eq!(show(conn, "search_path").await, db.name);
        let err = conn.execute(text("SELECT pg_sleep(5)")).await.unwrap_err();
        let Error::Database(e) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(e.code.as_deref(), Some("57014"), "{err}");
    }
    engine.close().await;
}
