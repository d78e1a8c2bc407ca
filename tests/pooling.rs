//! Pool kinds and settings: queue pool overflow, null pool, static pool, checkout
//! timeout, recycle and pre-ping.

use std::time::{Duration, Instant};

use orm::{Engine, Error, PoolKind, text};

use crate::backend_tests;
use crate::support::{TestDb, wait_for_pool as wait_for};

backend_tests!(
    pool_exhaustion_fails_after_pool_timeout,
    queue_pool_closes_overflow_connections_on_return,
    null_pool_closes_every_connection_on_return,
);

async fn pool_exhaustion_fails_after_pool_timeout(db: &TestDb) {
    let timeout = Duration::from_millis(400);
    let engine = db
        .builder()
        .pool_size(1)
        .max_overflow(0)
        .pool_timeout(timeout)
        .connect()
        .await
        .unwrap();
    let held = engine.connect().await.unwrap();
    let started = Instant::now();
    let err = engine.connect().await.unwrap_err();
    let waited = started.elapsed();
    assert!(
        matches!(err, Error::PoolTimeout { timeout: t, pool_size: 1, max_overflow: 0 } if t == timeout),
        "{err:?}"
    );
    assert!(
        waited >= Duration::from_millis(350) && waited < Duration::from_secs(3),
        "waited {waited:?}"
    );
    assert!(
        err.to_string()
            .starts_with("timed out after 400ms waiting for a connection"),
        "{err}"
    );
    // Statements through the engine time out the same way; returning the connection
    // frees the pool.
    assert!(matches!(
        engine.execute(text("SELECT 1")).await,
        Err(Error::PoolTimeout { .. })
    ));
    drop(held);
    engine.execute(text("SELECT 1")).await.unwrap();
}

async fn queue_pool_closes_overflow_connections_on_return(db: &TestDb) {
    let engine = db
        .builder()
        .pool_size(1)
        .max_overflow(2)
        .pool_timeout(Duration::from_secs(5))
        .connect()
        .await
        .unwrap();
    assert_eq!(engine.pool_kind(), PoolKind::Queue);
    let a = engine.connect().await.unwrap();
    let b = engine.connect().await.unwrap();
    let c = engine.connect().await.unwrap();
    assert_eq!(engine.pool_status().size, 3);
    drop((a, b, c));
    // Only `pool_size` connections stay; the overflow is closed.
    let s = wait_for(&engine, |s| s.size == 1 && s.idle == 1).await;
    assert_eq!((s.size, s.idle), (1, 1));
}

async fn null_pool_closes_every_connection_on_return(db: &TestDb) {
    let engine = db
        .builder()
        .poolclass(PoolKind::Null)
        .connect()
        .await
        .unwrap();
    let mut conn = engine.connect().await.unwrap();
    conn.execute(text("SELECT 1")).await.unwrap();
    assert_eq!(engine.pool_status().size, 1);
    drop(conn);
    let s = wait_for(&engine, |s| s.size == 0).await;
    assert_eq!(s.size, 0);
}

/// Cases that need a server: a backend process id, a connection killed from outside.
mod server {
    use super::*;

    crate::server_tests!(
        pool_recycle_replaces_old_connections,
        pool_pre_ping_replaces_dead_connections,
        connections_killed_while_checked_out_do_not_shrink_the_pool,
    );

    async fn pid(db: &TestDb, engine: &Engine) -> i64 {
        engine
            .fetch_one(text(db.backend_pid_sql()))
            .await
            .unwrap()
            .get(0)
            .unwrap()
    }

    async fn pool_recycle_replaces_old_connections(db: &TestDb) {
        let engine = db
            .builder()
            .pool_size(1)
            .max_overflow(0)
            .pool_recycle(Duration::from_millis(300))
            .connect()
            .await
            .unwrap();
        let first = pid(db, &engine).await;
        assert_eq!(
            pid(db, &engine).await,
            first,
            "a young connection is reused"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_ne!(
            pid(db, &engine).await,
            first,
            "an old connection is replaced"
        );
    }

    async fn pool_pre_ping_replaces_dead_connections(db: &TestDb) {
        for pre_ping in [true, false] {
            let engine = db
                .builder()
                .pool_size(1)
                .max_overflow(0)
                .pool_pre_ping(pre_ping)
                .connect()
                .await
                .unwrap();
            let first = pid(db, &engine).await;
            wait_for(&engine, |s| s.idle == 1).await;
            db.kill_connection(first).await;
            tokio::time::sleep(Duration::from_millis(100)).await;
            let r = engine.fetch_one(text(db.backend_pid_sql())).await;
            if pre_ping {
                let second: i64 = r.unwrap().get(0).unwrap();
                assert_ne!(second, first);
            } else {
                // Without pre-ping the dead connection is handed out and the statement fails;
                // the broken connection is then discarded and the next checkout works.
                assert!(r.is_err(), "a killed connection cannot run a statement");
                assert_ne!(pid(db, &engine).await, first);
            }
        }
    }

    async fn connections_killed_while_checked_out_do_not_shrink_the_pool(db: &TestDb) {
        let engine = db
            .builder()
            .pool_size(2)
            .max_overflow(3)
            .connect()
            .await
            .unwrap();
        let mut a = engine.connect().await.unwrap();
        let mut b = engine.connect().await.unwrap();
        for c in [&mut a, &mut b] {
            let pid: i64 = c
                .fetch_one(text(db.backend_pid_sql()))
                .await
                .unwrap()
                .get(0)
                .unwrap();
            db.kill_connection(pid).await;
        }
        drop((a, b));
        // Returning costs no round trip (SQLAlchemy without pre-ping), so nobody knows
        // yet: the first statement on a dead connection fails with the disconnect...
        assert_eq!(engine.pool_status().size, 2);
        let err = engine
            .fetch_one(text(db.backend_pid_sql()))
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::ConnectionLost { .. } | Error::Database(_)),
            "a killed connection cannot run a statement: {err:?}"
        );
        // ...which closes it and has the other idle connection pinged before reuse, so
        // the next statement gets a fresh connection and the pool keeps connections
        // again: each statement, run after the previous connection is back, reuses it.
        let first = pid(db, &engine).await;
        for _ in 0..4 {
            let s = wait_for(&engine, |s| s.idle == 1).await;
            assert_eq!((s.size, s.idle), (1, 1), "the returned connection is kept");
            assert_eq!(pid(db, &engine).await, first, "and reused");
        }
    }
}

/// `sqlite::memory:` with a table `t` of one row.
async fn memory_db_with_one_row() -> Engine {
    let engine = orm::create_engine("sqlite::memory:").await.unwrap();
    engine
        .execute(text("CREATE TABLE t (x INTEGER)"))
        .await
        .unwrap();
    engine
        .execute(text("INSERT INTO t VALUES (1)"))
        .await
        .unwrap();
    engine
}

/// `SELECT COUNT(*) FROM t`.
async fn rows_in_t(conn: &mut orm::Connection) -> i64 {
    conn.fetch_one(text("SELECT COUNT(*) FROM t"))
        .await
        .unwrap()
        .get(0)
        .unwrap()
}

#[tokio::test]
async fn static_pool_shares_one_in_memory_database() {
    let engine = memory_db_with_one_row().await;
    assert_eq!(engine.pool_kind(), PoolKind::Static);
    // Every checkout is the same connection, so the same in-memory database.
    for _ in 0..3 {
        let mut conn = engine.connect().await.unwrap();
        assert_eq!(rows_in_t(&mut conn).await, 1);
    }
    assert_eq!(engine.pool_status().size, 1);
    // A second concurrent checkout waits for the first, then fails after pool_timeout.
    let engine = orm::Engine::builder("sqlite::memory:")
        .pool_timeout(Duration::from_millis(200))
        .connect()
        .await
        .unwrap();
    let _held = engine.connect().await.unwrap();
    assert!(matches!(
        engine.connect().await,
        Err(Error::PoolTimeout { .. })
    ));
}

#[tokio::test]
async fn a_queue_pool_on_in_memory_sqlite_can_be_asked_for() {
    let engine = orm::Engine::builder("sqlite::memory:")
        .poolclass(PoolKind::Queue)
        .connect()
        .await
        .unwrap();
    assert_eq!(engine.pool_kind(), PoolKind::Queue);
    engine.execute(text("SELECT 1")).await.unwrap();
}

/// MariaDB counts each session's commands (`SHOW SESSION STATUS`): the proof that
/// returning a connection costs no round trip (no ping: sqlx's pool sends one per
/// release) and that reset-on-return sends ROLLBACK only after a transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn returning_a_connection_sends_nothing_unless_it_is_inside_a_transaction() {
    crate::support::run(
        crate::support::Backend::MySql,
        "integration::pooling::mysql",
        "returning_a_connection_sends_nothing",
        async |db: &TestDb| {
            let engine = db.one_connection_engine().await;
            async fn counters(engine: &Engine) -> (i64, i64) {
                let mut conn = engine.connect().await.unwrap();
                let mut get = async |name: &str| -> i64 {
                    let row = conn
                        .fetch_one(text(format!("SHOW SESSION STATUS LIKE '{name}'")))
                        .await
                        .unwrap();
                    row.get::<String>(1).unwrap().parse().unwrap()
                };
                (get("Com_admin_commands").await, get("Com_rollback").await)
            }
            for _ in 0..10 {
                engine.fetch_one(text("SELECT 1")).await.unwrap();
            }
            assert_eq!(counters(&engine).await, (0, 0), "(pings, rollbacks)");
            let mut tx = engine.begin().await.unwrap();
            tx.execute(text("SELECT 1")).await.unwrap();
            drop(tx);
            engine.fetch_one(text("SELECT 1")).await.unwrap();
            assert_eq!(counters(&engine).await, (0, 1), "(pings, rollbacks)");
        },
    )
    .await;
}

#[tokio::test]
async fn a_static_pool_keeps_its_in_memory_database_after_a_cancelled_statement() {
    let engine = memory_db_with_one_row().await;
    // SQLite runs each command to its end on the driver's own thread, so the one
    // connection stays consistent; closing it would destroy the database.
    let slow = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c \
                WHERE x < 1000000) SELECT COUNT(*) FROM c";
    let mut conn = engine.connect().await.unwrap();
    let cancelled =
        tokio::time::timeout(Duration::from_millis(20), conn.fetch_all(text(slow))).await;
    assert!(cancelled.is_err());
    assert_eq!(rows_in_t(&mut conn).await, 1);
    drop(conn);
    let _ = tokio::time::timeout(Duration::from_millis(20), engine.fetch_all(text(slow))).await;
    assert_eq!(rows_in_t(&mut engine.connect().await.unwrap()).await, 1);
    assert_eq!(engine.pool_status(), orm::PoolStatus { size: 1, idle: 1 });
}
