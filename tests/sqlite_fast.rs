//! SQLite's execution path (the fast path, on by default, and sqlx's worker thread,
//! `sqlite_fast_path(false)`): what a user of either observes — the same values stored
//! and read, a runtime that keeps running other tasks, locks waited for without
//! blocking the thread, timeouts that cancel, and engines that close cleanly.
//!
//! Each case runs on both paths; the rest of the suite runs on the default path, and CI
//! runs it again with `ORM_SQLITE_FAST_PATH=0`.

mod sqlite {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{Duration, Instant};

    use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeZone as _, Utc};
    use orm::{Engine, Value, text};

    use crate::support::{Backend, TestDb};

    const PATHS: [bool; 2] = [true, false];

    async fn db(test: &str) -> TestDb {
        TestDb::new(Backend::Sqlite, test).await.unwrap()
    }

    async fn engine(db: &TestDb, fast: bool) -> Engine {
        db.builder().sqlite_fast_path(fast).connect().await.unwrap()
    }

    /// A query that counts to `n` in one step (about 0.1 s per million here).
    fn slow_sql(n: u64) -> String {
        format!(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {n}) \
             SELECT COUNT(*) AS n FROM c"
        )
    }

    /// Counts the ticks of a 1 ms interval while `work` runs on the same thread.
    async fn ticks_during<T>(work: impl std::future::Future<Output = T>) -> (T, u64) {
        let ticks = Arc::new(AtomicU64::new(0));
        let counter = {
            let ticks = Arc::clone(&ticks);
            tokio::spawn(async move {
                let mut every = tokio::time::interval(Duration::from_millis(1));
                loop {
                    every.tick().await;
                    ticks.fetch_add(1, Ordering::Relaxed);
                }
            })
        };
        // Let the ticker start.
        tokio::time::sleep(Duration::from_millis(5)).await;
        let before = ticks.load(Ordering::Relaxed);
        let out = work.await;
        let n = ticks.load(Ordering::Relaxed) - before;
        counter.abort();
        (out, n)
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_long_result_lets_other_tasks_run_on_a_current_thread_runtime() {
        let db = db("sqlite_fast_long_result").await;
        for fast in PATHS {
            let engine = engine(&db, fast).await;
            let sql = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c \
                       WHERE x < 300000) SELECT x, 'padding to make rows wider' AS pad FROM c";
            let started = Instant::now();
            let (rows, ticks) = ticks_during(engine.fetch_all(text(sql))).await;
            let rows = rows.unwrap();
            let took = started.elapsed();
            assert_eq!(rows.len(), 300_000);
            assert_eq!(rows[299_999].get::<i64>(0).unwrap(), 300_000);
            // The ticker ran while the rows were read: at least a tick per 20 ms.
            let want = (took.as_millis() as u64 / 20).max(1);
            assert!(ticks >= want, "fast={fast}: {ticks} ticks in {took:?}");
            engine.close().await;
        }
        db.cleanup().await;
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_run_of_statements_lets_other_tasks_run_on_a_current_thread_runtime() {
        // On the fast path a prepared statement without rows runs at once, with no
        // `.await` that could yield: the engine still gives the runtime a turn every so
        // many statements.
        let db = db("sqlite_fast_run_of_statements").await;
        for fast in PATHS {
            let engine = engine(&db, fast).await;
            engine
                .execute_script("DROP TABLE IF EXISTS run_t; CREATE TABLE run_t (x INTEGER)")
                .await
                .unwrap();
            let n = if fast { 60_000 } else { 3_000 };
            let started = Instant::now();
            let (done, ticks) = ticks_during(async {
                let mut tx = engine.begin().await?;
                for i in 0..n {
                    tx.execute(text("INSERT INTO run_t VALUES (:x)").bind("x", i))
                        .await?;
                }
                tx.commit().await
            })
            .await;
            done.unwrap();
            let took = started.elapsed();
            let count: i64 = engine
                .fetch_one(text("SELECT COUNT(*) FROM run_t"))
                .await
                .unwrap()
                .get(0)
                .unwrap();
            assert_eq!(count, n);
            let want = (took.as_millis() as u64 / 20).max(1);
            assert!(ticks >= want, "fast={fast}: {ticks} ticks in {took:?}");
            engine.close().await;
        }
        db.cleanup().await;
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_prepared_statement_waits_for_a_lock_taken_elsewhere() {
        // The statement has run on B's connection before (prepared and cached there),
        // so it takes the path that runs at once; finding the lock taken, it must still
        // wait for it without blocking the thread, then run once.
        let db = db("sqlite_fast_prepared_busy").await;
        for fast in PATHS {
            let engine = engine(&db, fast).await;
            engine
                .execute_script("DROP TABLE IF EXISTS busy_p; CREATE TABLE busy_p (x INTEGER)")
                .await
                .unwrap();
            let insert = |x: i64| text("INSERT INTO busy_p VALUES (:x)").bind("x", x);
            let mut b = engine.connect().await.unwrap();
            assert_eq!(b.execute(insert(1)).await.unwrap().rows_affected(), 1);
            let mut a = engine.begin().await.unwrap();
            a.execute(insert(2)).await.unwrap();
            let b = tokio::spawn(async move {
                let done = b.execute(insert(3)).await.map(|d| d.rows_affected());
                (done, b)
            });
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert!(!b.is_finished(), "fast={fast}: B did not wait for the lock");
            a.commit().await.unwrap();
            let (done, mut b) = b.await.unwrap();
            assert_eq!(done.unwrap(), 1, "fast={fast}");
            // B's connection goes on, its statement still prepared.
            assert_eq!(b.execute(insert(4)).await.unwrap().rows_affected(), 1);
            drop(b);
            let xs: Vec<i64> = engine
                .fetch_all(text("SELECT x FROM busy_p ORDER BY x"))
                .await
                .unwrap()
                .iter()
                .map(|r| r.get(0).unwrap())
                .collect();
            assert_eq!(xs, [1, 2, 3, 4], "fast={fast}");
            engine.close().await;
        }
        db.cleanup().await;
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_long_query_runs_off_the_thread_and_a_timeout_cancels_it() {
        let db = db("sqlite_fast_long_query").await;
        for fast in PATHS {
            let engine = db
                .builder()
                .sqlite_fast_path(fast)
                .pool_size(1)
                .max_overflow(0)
                .connect()
                .await
                .unwrap();
            // About 0.3 s of work before the one row.
            let (row, ticks) = ticks_during(engine.fetch_one(text(slow_sql(3_000_000)))).await;
            assert_eq!(row.unwrap().get::<i64>("n").unwrap(), 3_000_000);
            assert!(
                ticks >= 20,
                "fast={fast}: only {ticks} ticks while the query ran"
            );
            // Under a timeout: cancelled at the deadline, not when the query ends.
            let started = Instant::now();
            let cancelled = tokio::time::timeout(
                Duration::from_millis(50),
                engine.fetch_one(text(slow_sql(20_000_000))),
            )
            .await;
            assert!(
                cancelled.is_err(),
                "fast={fast}: the query was not cancelled"
            );
            assert!(
                started.elapsed() < Duration::from_millis(1500),
                "fast={fast}: cancelled only after {:?}",
                started.elapsed()
            );
            // The engine goes on: the next statement gets its own answer...
            let n: i64 = engine
                .fetch_one(text("SELECT 40 + 2"))
                .await
                .unwrap()
                .get(0)
                .unwrap();
            assert_eq!(n, 42);
            // ...and closes without waiting for the abandoned query to count to the end.
            let started = Instant::now();
            engine.close().await;
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "fast={fast}: close took {:?}",
                started.elapsed()
            );
        }
        db.cleanup().await;
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_locked_database_is_waited_for_without_blocking_the_thread() {
        let db = db("sqlite_fast_busy").await;
        for fast in PATHS {
            let engine = engine(&db, fast).await;
            engine
                .execute_script("DROP TABLE IF EXISTS busy_t; CREATE TABLE busy_t (x INTEGER)")
                .await
                .unwrap();
            // A holds the write lock; B's INSERT must wait for it. On a current-thread
            // runtime a wait that slept on the thread would keep A from ever committing
            // (B would fail with `database is locked` after the 5 s busy timeout).
            let mut a = engine.begin().await.unwrap();
            a.execute(text("INSERT INTO busy_t VALUES (1)"))
                .await
                .unwrap();
            let b_engine = engine.clone();
            let started = Instant::now();
            let b = tokio::spawn(async move {
                b_engine
                    .execute(text("INSERT INTO busy_t VALUES (2)"))
                    .await
                    .map(|d| d.rows_affected())
            });
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert!(!b.is_finished(), "fast={fast}: B did not wait for the lock");
            a.commit().await.unwrap();
            assert_eq!(b.await.unwrap().unwrap(), 1);
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "fast={fast}: B waited {:?}",
                started.elapsed()
            );
            // A wait that is cancelled runs nothing (on the fast path; see below).
            let mut a = engine.begin().await.unwrap();
            a.execute(text("INSERT INTO busy_t VALUES (3)"))
                .await
                .unwrap();
            let cancelled = tokio::time::timeout(
                Duration::from_millis(50),
                engine.execute(text("INSERT INTO busy_t VALUES (4)")),
            )
            .await;
            assert!(
                cancelled.is_err(),
                "fast={fast}: the wait was not cancelled"
            );
            a.commit().await.unwrap();
            let xs: Vec<i64> = engine
                .fetch_all(text("SELECT x FROM busy_t ORDER BY x"))
                .await
                .unwrap()
                .iter()
                .map(|r| r.get(0).unwrap())
                .collect();
            if fast {
                assert_eq!(xs, [1, 2, 3]);
            } else {
                // sqlx's worker thread runs a statement it was handed to its end: the
                // cancelled INSERT may still run once A lets go of the lock (or fail on
                // the busy timeout), whatever its caller does. Either way the rest holds.
                assert!(xs == [1, 2, 3] || xs == [1, 2, 3, 4], "{xs:?}");
            }
            engine.close().await;
        }
        db.cleanup().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_busy_timeout_still_ends_the_wait_with_database_is_locked() {
        let db = db("sqlite_fast_busy_timeout").await;
        for fast in PATHS {
            let engine = db
                .builder()
                .sqlite_fast_path(fast)
                .busy_timeout(Duration::from_millis(200))
                .connect()
                .await
                .unwrap();
            engine
                .execute_script("DROP TABLE IF EXISTS busy_t; CREATE TABLE busy_t (x INTEGER)")
                .await
                .unwrap();
            let mut a = engine.begin().await.unwrap();
            a.execute(text("INSERT INTO busy_t VALUES (1)"))
                .await
                .unwrap();
            let started = Instant::now();
            let err = engine
                .execute(text("INSERT INTO busy_t VALUES (2)"))
                .await
                .unwrap_err();
            let waited = started.elapsed();
            assert!(
                err.to_string().contains("database is locked"),
                "fast={fast}: {err}"
            );
            assert!(
                waited >= Duration::from_millis(150) && waited < Duration::from_secs(2),
                "fast={fast}: gave up after {waited:?}"
            );
            a.rollback().await.unwrap();
            engine.close().await;
        }
        db.cleanup().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn values_written_on_one_path_read_the_same_on_the_other() {
        let db = db("sqlite_fast_values").await;
        let values = || {
            vec![
                Value::I64(-7),
                Value::F64(2.5),
                Value::Text("héllo 'quoted' \u{1F600}".into()),
                Value::Bytes(vec![0, 1, 2, 255]),
                Value::Bytes(vec![]),
                Value::Bool(true),
                Value::Date(NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()),
                Value::Time(NaiveTime::from_hms_micro_opt(23, 59, 58, 123_456).unwrap()),
                Value::DateTime(NaiveDateTime::new(
                    NaiveDate::from_ymd_opt(1999, 12, 31).unwrap(),
                    NaiveTime::from_hms_nano_opt(1, 2, 3, 456_789_999).unwrap(),
                )),
                Value::DateTimeUtc(Utc.with_ymd_and_hms(2020, 5, 6, 7, 8, 9).unwrap()),
                Value::Null,
            ]
        };
        let mut stored = Vec::new();
        for fast in PATHS {
            let engine = engine(&db, fast).await;
            engine
                .execute_script(
                    "DROP TABLE IF EXISTS vals; CREATE TABLE vals (i INTEGER, f REAL, t TEXT, \
                     b BLOB, e BLOB, flag BOOLEAN, d DATE, tm TIME, dt DATETIME, ts TIMESTAMP, n TEXT)",
                )
                .await
                .unwrap();
            let mut insert =
                text("INSERT INTO vals VALUES (:i, :f, :t, :b, :e, :flag, :d, :tm, :dt, :ts, :n)");
            for (name, v) in ["i", "f", "t", "b", "e", "flag", "d", "tm", "dt", "ts", "n"]
                .into_iter()
                .zip(values())
            {
                insert = insert.bind(name, v);
            }
            engine.execute(insert).await.unwrap();
            // What SQLite holds, as text and storage class, for the other path to match.
            let row = engine
                .fetch_one(text(
                    "SELECT quote(i), quote(f), quote(t), quote(b), quote(e), quote(flag), \
                     quote(d), quote(tm), quote(dt), quote(ts), quote(n) FROM vals",
                ))
                .await
                .unwrap();
            stored.push(row.values().unwrap());
            // Read back on the other path.
            let other = self::engine(&db, !fast).await;
            let row = other.fetch_one(text("SELECT * FROM vals")).await.unwrap();
            assert_eq!(row.get::<i64>("i").unwrap(), -7);
            assert_eq!(row.get::<f64>("f").unwrap(), 2.5);
            assert_eq!(row.get::<String>("t").unwrap(), "héllo 'quoted' \u{1F600}");
            assert_eq!(row.get::<Vec<u8>>("b").unwrap(), vec![0, 1, 2, 255]);
            assert_eq!(row.get::<Vec<u8>>("e").unwrap(), Vec::<u8>::new());
            assert!(row.get::<bool>("flag").unwrap());
            assert_eq!(row.value("flag").unwrap(), Value::Bool(true));
            assert_eq!(
                row.get::<NaiveDate>("d").unwrap(),
                NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()
            );
            assert_eq!(
                row.get::<NaiveTime>("tm").unwrap(),
                NaiveTime::from_hms_micro_opt(23, 59, 58, 123_456).unwrap()
            );
            assert_eq!(
                row.get::<NaiveDateTime>("dt").unwrap(),
                NaiveDateTime::new(
                    NaiveDate::from_ymd_opt(1999, 12, 31).unwrap(),
                    NaiveTime::from_hms_micro_opt(1, 2, 3, 456_789).unwrap(),
                )
            );
            assert_eq!(
                row.get::<chrono::DateTime<Utc>>("ts").unwrap(),
                Utc.with_ymd_and_hms(2020, 5, 6, 7, 8, 9).unwrap()
            );
            assert_eq!(row.get::<Option<String>>("n").unwrap(), None);
            assert_eq!(row.sql_type(0).as_deref(), Some("INTEGER"));
            assert_eq!(row.sql_type(5).as_deref(), Some("BOOLEAN"));
            // Errors name the column and both types alike.
            let err = row.get::<i64>("t").unwrap_err().to_string();
            assert!(
                err.contains("column `t` of SQL type TEXT as `i64`"),
                "fast={fast}: {err}"
            );
            other.close().await;
            engine.close().await;
        }
        assert_eq!(stored[0], stored[1], "both paths store every value alike");
        db.cleanup().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rows_outlive_their_connection_and_engine() {
        let db = db("sqlite_fast_rows_outlive").await;
        for fast in PATHS {
            let engine = engine(&db, fast).await;
            let rows = engine
                .fetch_all(text("SELECT 1 AS a, 'x' AS b UNION ALL SELECT 2, 'y'"))
                .await
                .unwrap();
            engine.close().await;
            drop(engine);
            assert_eq!(rows[1].get::<String>("b").unwrap(), "y");
            assert_eq!(rows[0].column_names(), ["a", "b"]);
        }
        db.cleanup().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_transaction_sqlite_ended_refuses_later_statements_on_the_fast_path() {
        let db = db("sqlite_fast_tx_ended").await;
        let engine = engine(&db, true).await;
        engine
            .execute_script("CREATE TABLE ended_t (x INTEGER)")
            .await
            .unwrap();
        let count = async |engine: &Engine| -> i64 {
            engine
                .fetch_one(text("SELECT COUNT(*) FROM ended_t"))
                .await
                .unwrap()
                .get(0)
                .unwrap()
        };
        // A ROLLBACK run as a statement ends the transaction under the engine: the
        // INSERT after it would commit at once, outside any transaction.
        let mut tx = engine.begin().await.unwrap();
        tx.execute(text("INSERT INTO ended_t VALUES (1)"))
            .await
            .unwrap();
        tx.execute(text("ROLLBACK")).await.unwrap();
        let refused = tx
            .execute(text("INSERT INTO ended_t VALUES (2)"))
            .await
            .unwrap_err();
        assert!(
            matches!(refused, orm::Error::TransactionRolledBack { .. }),
            "{refused:?}"
        );
        assert!(
            refused.to_string().contains("ROLLBACK or COMMIT"),
            "{refused}"
        );
        let savepoint = tx.savepoint().await.map(|_| ()).unwrap_err();
        assert!(
            matches!(savepoint, orm::Error::TransactionRolledBack { .. }),
            "{savepoint:?}"
        );
        let commit = tx.commit().await.unwrap_err();
        assert!(
            matches!(commit, orm::Error::TransactionRolledBack { .. }),
            "{commit:?}"
        );
        assert_eq!(count(&engine).await, 0, "nothing was committed");
        // Inside a savepoint, and the transaction then rolled back: the connection is
        // whole again.
        let mut tx = engine.begin().await.unwrap();
        {
            let mut sp = tx.savepoint().await.unwrap();
            sp.execute(text("INSERT INTO ended_t VALUES (3)"))
                .await
                .unwrap();
            sp.execute(text("ROLLBACK")).await.unwrap();
            assert!(matches!(
                sp.execute(text("INSERT INTO ended_t VALUES (4)")).await,
                Err(orm::Error::TransactionRolledBack { .. })
            ));
        }
        tx.rollback().await.unwrap();
        let mut tx = engine.begin().await.unwrap();
        tx.execute(text("INSERT INTO ended_t VALUES (5)"))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(count(&engine).await, 1);
        engine.close().await;
        db.cleanup().await;
    }
}
