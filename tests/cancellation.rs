//! Futures dropped mid-statement (`tokio::time::timeout`, `select!`): the connection
//! whose statement was cancelled is never reused, the pool stays whole, and a full pool
//! under load times out instead of hanging.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use orm::{Engine, Error, PoolStatus, text};

use crate::backend_tests;
use crate::support::{Backend, TestDb, ddl, sqlite_fast_path, wait_for_pool};

backend_tests!(
    a_connection_whose_statement_was_cancelled_answers_the_next_statement_correctly,
    a_cancelled_statement_inside_a_transaction_loses_the_transaction_with_a_clear_error,
    five_hundred_cancellations_at_random_points_leave_the_pool_whole,
    fifty_tasks_on_a_pool_of_five_each_finish_or_time_out,
    a_transaction_dropped_open_is_rolled_back_before_its_connection_is_reused,
    dispose_closes_idle_connections_and_those_returned_later,
);

/// A query that takes about `secs` seconds on `db`'s backend.
fn slow_sql(db: &TestDb, secs: f64) -> String {
    match db.backend {
        Backend::Postgres => format!("SELECT CAST(pg_sleep({secs}) AS TEXT) AS x"),
        Backend::MySql => format!("SELECT CAST(SLEEP({secs}) AS CHAR) AS x"),
        // About 0.1 s per million rows counted on this machine's SQLite.
        Backend::Sqlite => format!(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {}) \
             SELECT CAST(COUNT(*) AS TEXT) AS x FROM c",
            (secs * 10_000_000.0) as i64
        ),
    }
}

/// A query returning `10^digits` rows (0..10^digits), sent over the wire in many
/// packets. (Cross joins, not a recursive CTE: MariaDB stops recursing after 1000 rows.)
fn many_rows_sql(digits: u32) -> String {
    let value: Vec<String> = (0..digits)
        .map(|i| format!("{} * d{i}.x", 10i64.pow(i)))
        .collect();
    let from: Vec<String> = (0..digits).map(|i| format!("d d{i}")).collect();
    format!(
        "WITH d(x) AS (SELECT 0 UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 \
         UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 \
         UNION ALL SELECT 8 UNION ALL SELECT 9) \
         SELECT {} AS x, 'some padding to make the rows longer than a few bytes' AS pad \
         FROM {}",
        value.join(" + "),
        from.join(" CROSS JOIN ")
    )
}

/// Waits until every connection is back in the pool.
async fn settled(engine: &Engine) -> PoolStatus {
    wait_for_pool(engine, |s| s.idle as u32 == s.size).await
}

async fn server_pid(db: &TestDb, conn: &mut orm::Connection) -> Option<i64> {
    if db.backend == Backend::Sqlite {
        return None;
    }
    Some(
        conn.fetch_one(text(db.backend_pid_sql()))
            .await
            .unwrap()
            .get(0)
            .unwrap(),
    )
}

async fn a_connection_whose_statement_was_cancelled_answers_the_next_statement_correctly(
    db: &TestDb,
) {
    let engine = db.one_connection_engine().await;
    // Cancelled while waiting for the answer (a timeout around `execute`), and while
    // the rows are arriving (a row stream dropped part-way).
    let slow = slow_sql(db, 0.5);
    let many = many_rows_sql(5);
    for rows_first in [false, true] {
        let mut conn = engine.connect().await.unwrap();
        let before = server_pid(db, &mut conn).await;
        cancel(&mut conn, rows_first, &slow, &many).await;
        // The retry pattern: the same Connection, the next statement. It runs on a new
        // server connection and gets its own answer.
        let n: i64 = conn
            .fetch_one(text("SELECT 40 + 2"))
            .await
            .unwrap()
            .get(0)
            .unwrap();
        assert_eq!(n, 42);
        let after_pid = server_pid(db, &mut conn).await;
        if before.is_some() {
            assert_ne!(before, after_pid, "the cancelled connection was reused");
        }
        drop(conn);
        // The slot is not lost: the pool has its one connection and hands it out.
        let s = settled(&engine).await;
        assert_eq!((s.size, s.idle), (1, 1));
        // Cancelled again, the Connection dropped right away: the next checkout works.
        let mut conn = engine.connect().await.unwrap();
        cancel(&mut conn, rows_first, &slow, &many).await;
        drop(conn);
        assert_eq!(
            engine
                .fetch_one(text("SELECT 7"))
                .await
                .unwrap()
                .get::<i64>(0)
                .unwrap(),
            7
        );
        let s = settled(&engine).await;
        assert_eq!((s.size, s.idle), (1, 1));
    }
}

/// Cancels a statement on `conn`: `slow` under a 50 ms timeout, or a stream of `many`
/// dropped after 10 rows.
async fn cancel(conn: &mut orm::Connection, rows_first: bool, slow: &str, many: &str) {
    if rows_first {
        let mut rows = conn.fetch(text(many));
        for _ in 0..10 {
            rows.next().await.unwrap().unwrap();
        }
    } else {
        let cancelled =
            tokio::time::timeout(Duration::from_millis(50), conn.execute(text(slow))).await;
        assert!(cancelled.is_err(), "the statement finished within 50 ms");
    }
}

async fn a_cancelled_statement_inside_a_transaction_loses_the_transaction_with_a_clear_error(
    db: &TestDb,
) {
    let engine = db.one_connection_engine().await;
    engine
        .execute(text("CREATE TABLE cancel_tx (x INTEGER)"))
        .await
        .unwrap();
    let mut tx = engine.begin().await.unwrap();
    tx.execute(text("INSERT INTO cancel_tx VALUES (1)"))
        .await
        .unwrap();
    let cancelled = tokio::time::timeout(
        Duration::from_millis(50),
        tx.fetch_all(text(slow_sql(db, 0.5))),
    )
    .await;
    assert!(cancelled.is_err());
    let err = tx.execute(text("SELECT 1")).await.unwrap_err();
    assert!(
        matches!(err, Error::ConnectionInvalidated { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("cancelled") && err.to_string().contains("transaction is lost"),
        "{err}"
    );
    assert!(matches!(
        tx.commit().await,
        Err(Error::ConnectionInvalidated { .. })
    ));
    // The insert went with the connection.
    let n: i64 = engine
        .fetch_one(text("SELECT COUNT(*) FROM cancel_tx"))
        .await
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(n, 0);
    // Rolling back a lost transaction is a no-op that succeeds.
    let mut tx = engine.begin().await.unwrap();
    let _ = tokio::time::timeout(
        Duration::from_millis(50),
        tx.fetch_all(text(slow_sql(db, 0.5))),
    )
    .await;
    tx.rollback().await.unwrap();
    // Its connection was closed, and its slot is free again.
    let s = settled(&engine).await;
    assert_eq!((s.size, s.idle), (0, 0));
    engine.execute(text("SELECT 1")).await.unwrap();
    let s = settled(&engine).await;
    assert_eq!((s.size, s.idle), (1, 1));
}

/// A small deterministic generator, so a failure can be replayed.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// One of the operations the cancellation test interrupts (`op` in `0..6`); the last one
/// abandons a query after `pause` and reuses its connection.
async fn run_op(
    engine: &Engine,
    op: u64,
    i: u64,
    many: &str,
    pause: Duration,
) -> Result<(), Error> {
    match op {
        // Checkout (and open) only.
        0 => drop(engine.connect().await?),
        // Prepare + execute.
        1 => {
            engine
                .execute(text("INSERT INTO cancel_many (x) VALUES (:x)").bind("x", i as i64))
                .await?;
        }
        // Fetch many rows.
        2 => {
            engine.fetch_all(text(many)).await?;
        }
        // A stream dropped part-way, inside the deadline or not.
        3 => {
            let mut rows = engine.fetch(text(many));
            for _ in 0..(i % 50) {
                rows.next().await.transpose()?;
            }
        }
        // A transaction, cancelled anywhere from BEGIN to COMMIT.
        4 => {
            let mut tx = engine.begin().await?;
            tx.execute(text("INSERT INTO cancel_many (x) VALUES (:x)").bind("x", i as i64))
                .await?;
            let mut sp = tx.savepoint().await?;
            sp.execute(text("UPDATE cancel_many SET x = x + 1 WHERE id = 1"))
                .await?;
            drop(sp);
            tx.commit().await?;
        }
        // The same Connection reused after a cancel inside `select!`.
        _ => {
            let mut conn = engine.connect().await?;
            tokio::select! {
                r = conn.fetch_all(text(many)) => { r?; }
                _ = tokio::time::sleep(pause) => {}
            }
            let n: i64 = conn
                .fetch_one(text("SELECT :n").bind("n", i as i64))
                .await?
                .get(0)?;
            assert_eq!(n, i as i64, "a reused connection answered another query");
        }
    }
    Ok(())
}

async fn five_hundred_cancellations_at_random_points_leave_the_pool_whole(db: &TestDb) {
    let (pool_size, max_overflow) = (3, 2);
    let engine = db
        .builder()
        .pool_size(pool_size)
        .max_overflow(max_overflow)
        .pool_timeout(Duration::from_secs(10))
        .connect()
        .await
        .unwrap();
    engine
        .execute(text(format!(
            "CREATE TABLE cancel_many (id {}, x INTEGER)",
            ddl(
                db,
                "INTEGER PRIMARY KEY",
                "SERIAL PRIMARY KEY",
                "INTEGER AUTO_INCREMENT PRIMARY KEY"
            )
        )))
        .await
        .unwrap();
    let many = many_rows_sql(3);
    // How long each operation takes here when nothing cancels it: the deadlines below
    // fall between "before anything happened" and twice that, so about half the
    // operations are cancelled on a fast machine and a slow one alike.
    let mut full = [Duration::ZERO; 6];
    for (op, full) in full.iter_mut().enumerate() {
        let mut times = Vec::new();
        for i in 0..5 {
            let t = Instant::now();
            run_op(&engine, op as u64, i, &many, Duration::from_micros(500))
                .await
                .unwrap();
            times.push(t.elapsed());
        }
        // The median: one slow run on a busy machine does not widen the window.
        times.sort();
        *full = times[2];
    }
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut cancelled = 0;
    for i in 0..500u64 {
        let op = rng.below(6);
        let window = full[op as usize].as_micros() as u64 * 2 + 1;
        let after = Duration::from_micros(rng.below(window));
        let started = Instant::now();
        match tokio::time::timeout(after, run_op(&engine, op, i, &many, after / 2)).await {
            Err(_) => cancelled += 1,
            Ok(r) => {
                r.unwrap();
                // The window follows what the operation takes now (the machine may have
                // been busier, or idler, while it was first measured).
                full[op as usize] = (full[op as usize] * 3 + started.elapsed()) / 4;
            }
        }
        let s = engine.pool_status();
        assert!(
            s.size <= pool_size + max_overflow && s.idle as u32 <= pool_size,
            "after {i}: {s:?}"
        );
    }
    // On SQLite's fast path a statement is a direct call that finishes without giving
    // the runtime a turn, so a deadline can only cancel an operation where it waits
    // (opening a connection, a busy wait, a long result's yields, tokio's cooperative
    // budget): few or none land there, and what this case checks is that the pool is
    // whole afterwards. `sqlite_fast` cancels the fast path at each of its waits.
    let floor = if db.backend == Backend::Sqlite && sqlite_fast_path() {
        0
    } else {
        50
    };
    assert!(cancelled >= floor, "only {cancelled} of 500 were cancelled");
    // Whole: every connection is back, no more than the pool keeps...
    let s = settled(&engine).await;
    assert_eq!(s.idle as u32, s.size, "{s:?}");
    assert!(s.size <= pool_size, "{s:?}");
    // ...and each one answers its own question, outside any transaction.
    let mut held = Vec::new();
    for _ in 0..pool_size {
        held.push(engine.connect().await.unwrap());
    }
    for (k, mut conn) in held.into_iter().enumerate() {
        let n: i64 = conn
            .fetch_one(text("SELECT :n").bind("n", 1000 + k as i64))
            .await
            .unwrap()
            .get(0)
            .unwrap();
        assert_eq!(n, 1000 + k as i64);
        let rows = conn.fetch_all(text(&many)).await.unwrap();
        assert_eq!(rows.len(), 1_000);
        // A transaction on it begins afresh (none was left open).
        let mut tx = conn.begin().await.unwrap();
        tx.execute(text("INSERT INTO cancel_many (x) VALUES (-1)"))
            .await
            .unwrap();
        tx.rollback().await.unwrap();
    }
    let s = settled(&engine).await;
    assert_eq!((s.size, s.idle), (pool_size, pool_size as usize));
    let n: i64 = engine
        .fetch_one(text("SELECT COUNT(*) FROM cancel_many WHERE x = -1"))
        .await
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(n, 0);
}

async fn fifty_tasks_on_a_pool_of_five_each_finish_or_time_out(db: &TestDb) {
    let engine = db
        .builder()
        .pool_size(5)
        .max_overflow(0)
        .pool_timeout(Duration::from_millis(300))
        .connect()
        .await
        .unwrap();
    let started = Instant::now();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let engine = engine.clone();
            tokio::spawn(async move {
                tokio::time::timeout(Duration::from_secs(10), async {
                    let mut conn = engine.connect().await?;
                    conn.fetch_all(text("SELECT 1")).await?;
                    // Hold the connection as a slow statement would.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    conn.fetch_all(text("SELECT 2")).await?;
                    Ok::<(), Error>(())
                })
                .await
            })
        })
        .collect();
    let (mut finished, mut timed_out) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Err(_) => panic!("a task hung for 10 s"),
            Ok(Ok(())) => finished += 1,
            Ok(Err(Error::PoolTimeout { pool_size: 5, .. })) => timed_out += 1,
            Ok(Err(other)) => panic!("unexpected error: {other:?}"),
        }
    }
    assert_eq!(finished + timed_out, 50);
    assert!(finished >= 5, "{finished} finished, {timed_out} timed out");
    assert!(
        timed_out > 0,
        "50 tasks of 100 ms on 5 connections within 300 ms"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let s = settled(&engine).await;
    assert_eq!((s.size, s.idle), (5, 5));
}

async fn a_transaction_dropped_open_is_rolled_back_before_its_connection_is_reused(db: &TestDb) {
    let engine = db.one_connection_engine().await;
    engine
        .execute(text("CREATE TABLE dropped_tx (x INTEGER)"))
        .await
        .unwrap();
    let mut conn = engine.connect().await.unwrap();
    let pid = server_pid(db, &mut conn).await;
    let mut tx = conn.begin().await.unwrap();
    tx.execute(text("INSERT INTO dropped_tx VALUES (1)"))
        .await
        .unwrap();
    {
        let mut sp = tx.savepoint().await.unwrap();
        sp.execute(text("INSERT INTO dropped_tx VALUES (2)"))
            .await
            .unwrap();
        // Dropped open: rolled back to the savepoint when the parent goes on.
    }
    let n: i64 = tx
        .fetch_one(text("SELECT COUNT(*) FROM dropped_tx"))
        .await
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(n, 1);
    drop(tx);
    // The next checkout gets the same connection, rolled back, outside a transaction.
    let mut conn = engine.connect().await.unwrap();
    assert_eq!(
        server_pid(db, &mut conn).await,
        pid,
        "the connection was kept"
    );
    let n: i64 = conn
        .fetch_one(text("SELECT COUNT(*) FROM dropped_tx"))
        .await
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(n, 0);
    // Outside a transaction: a new one begins (no "already in a transaction").
    let mut tx = conn.begin().await.unwrap();
    tx.execute(text("INSERT INTO dropped_tx VALUES (3)"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let s = settled(&engine).await;
    assert_eq!((s.size, s.idle), (1, 1));
}

async fn dispose_closes_idle_connections_and_those_returned_later(db: &TestDb) {
    let engine = db.builder().pool_size(3).connect().await.unwrap();
    let mut a = engine.connect().await.unwrap();
    let b = engine.connect().await.unwrap();
    let pid = server_pid(db, &mut a).await;
    drop(b);
    let s = wait_for_pool(&engine, |s| s.idle as u32 + 1 == s.size).await;
    assert_eq!((s.size, s.idle), (2, 1));
    engine.dispose().await;
    // The idle one is closed at once; the checked-out one still counts.
    assert_eq!(engine.pool_status(), PoolStatus { size: 1, idle: 0 });
    a.execute(text("SELECT 1")).await.unwrap();
    drop(a);
    let s = settled(&engine).await;
    assert_eq!((s.size, s.idle), (0, 0), "returned after dispose: closed");
    let mut c = engine.connect().await.unwrap();
    if pid.is_some() {
        assert_ne!(server_pid(db, &mut c).await, pid);
    }
    drop(c);
    let s = settled(&engine).await;
    assert_eq!((s.size, s.idle), (1, 1));
}
