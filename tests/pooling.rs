//! Pool kinds and settings: queue pool overflow, null pool, static pool, checkout
//! timeout, recycle and pre-ping.

use std::time::{Duration, Instant};

use orm::{Engine, Error, PoolKind, text};

use crate::backend_tests;
use crate::support::TestDb;

backend_tests!(
    pool_exhaustion_fails_after_pool_timeout,
    queue_pool_closes_overflow_connections_on_return,
    null_pool_closes_every_connection_on_return,
);

async fn wait_for(engine: &Engine, want: impl Fn(orm::PoolStatus) -> bool) -> orm::PoolStatus {
    // Returning a connection to the pool finishes in a background task.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let s = engine.pool_status();
        if want(s) || Instant::now() > deadline {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

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
        wait_for(&engine, |s| s.size == 0).await;
        // The pool keeps connections again: each statement, run after the previous
        // connection is back (returning finishes in the background), reuses it.
        let first = pid(db, &engine).await;
        for _ in 0..4 {
            let s = wait_for(&engine, |s| s.idle == 1).await;
            assert_eq!((s.size, s.idle), (1, 1), "the returned connection is kept");
            assert_eq!(pid(db, &engine).await, first, "and reused");
        }
    }
}

#[tokio::test]
async fn static_pool_shares_one_in_memory_database() {
    let engine = orm::create_engine("sqlite::memory:").await.unwrap();
    assert_eq!(engine.pool_kind(), PoolKind::Static);
    engine
        .execute(text("CREATE TABLE t (x INTEGER)"))
        .await
        .unwrap();
    engine
        .execute(text("INSERT INTO t VALUES (1)"))
        .await
        .unwrap();
    // Every checkout is the same connection, so the same in-memory database.
    for _ in 0..3 {
        let mut conn = engine.connect().await.unwrap();
        let n: i64 = conn
            .fetch_one(text("SELECT COUNT(*) FROM t"))
            .await
            .unwrap()
            .get(0)
            .unwrap();
        assert_eq!(n, 1);
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
