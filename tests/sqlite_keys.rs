//! SQLite's flush of many new rows reads no keys back: in a rowid table without triggers a
//! multi-row INSERT numbers its rows consecutively, the last one's key being
//! `last_insert_rowid()`. These cases show the keys right when that holds, and the flush
//! reading them back (RETURNING) wherever it is not proven: a trigger that inserts rows of
//! its own in between, keys near the largest rowid, AUTOINCREMENT past deleted rows. Each
//! runs on both SQLite paths. A flush of one row on the fast path takes its key from
//! `last_insert_rowid()` once the connection has proven the key the rowid, and proves it
//! again when the table changed under the statement it keeps.

mod sqlite {
    use std::collections::HashMap;

    use orm::prelude::*;
    use orm::text;

    use crate::support::{Backend, Statements, TestDb};

    #[derive(Model, Debug, Clone)]
    #[orm(table = "sk_items")]
    pub struct SkItem {
        #[orm(primary_key)]
        pub id: i64,
        pub name: String,
    }

    const PATHS: [bool; 2] = [true, false];

    /// A plain rowid table, its key an alias of the rowid.
    const PLAIN: &str =
        "CREATE TABLE sk_items (id INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL)";

    /// An engine on a fresh database whose `sk_items` table is made by `ddl`.
    async fn setup(test: &str, fast: bool, ddl: &[&str]) -> (TestDb, Engine, Statements) {
        let db = TestDb::new(Backend::Sqlite, &format!("{test}_{fast}"))
            .await
            .unwrap();
        let engine = db.builder().sqlite_fast_path(fast).connect().await.unwrap();
        for sql in ddl {
            engine.execute(text(*sql)).await.unwrap();
        }
        let log = Statements::record(&engine);
        (db, engine, log)
    }

    /// Adds `n` items named `{prefix}{i}` and commits; the objects.
    async fn flush(engine: &Engine, prefix: &str, n: usize) -> Vec<Obj<SkItem>> {
        let mut session = Session::new(engine);
        let objs: Vec<_> = (0..n)
            .map(|i| session.add(SkItem::new(format!("{prefix}{i}"))))
            .collect();
        session.commit().await.unwrap();
        objs
    }

    /// Every object holds the key of the row with its name, and the keys are distinct.
    async fn assert_keys_match_rows(engine: &Engine, objs: &[Obj<SkItem>]) {
        let rows: HashMap<i64, String> = engine
            .fetch_all(text("SELECT id, name FROM sk_items"))
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
            .collect();
        for o in objs {
            let item = o.read().unwrap();
            assert_eq!(rows.get(&item.id), Some(&item.name), "key {}", item.id);
        }
        let mut keys: Vec<i64> = objs.iter().map(|o| o.read().unwrap().id).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), objs.len());
    }

    /// The INSERTs the flush sent, and whether they read keys back.
    fn inserts(log: &Statements) -> (usize, bool) {
        let all = log.take();
        let inserts: Vec<_> = all.iter().filter(|s| s.starts_with("INSERT")).collect();
        let returning = inserts.iter().any(|s| s.contains("RETURNING"));
        assert!(
            inserts.iter().all(|s| s.contains("RETURNING") == returning),
            "{all:?}"
        );
        (inserts.len(), returning)
    }

    #[tokio::test]
    async fn a_flush_of_many_rows_takes_consecutive_keys_without_reading_them_back() {
        for fast in PATHS {
            let (_db, engine, log) = setup("sk_plain", fast, &[PLAIN]).await;
            // Rows already there: the keys continue after the largest.
            engine
                .execute(text("INSERT INTO sk_items (id, name) VALUES (40, 'old')"))
                .await
                .unwrap();
            log.take();
            let objs = flush(&engine, "item", 2_500).await;
            assert_eq!(inserts(&log), (3, false), "fast path: {fast}");
            assert_keys_match_rows(&engine, &objs).await;
            assert_eq!(objs[0].read().unwrap().id, 41);
            // A handful of rows reads its keys back (the proof would cost more).
            let few = flush(&engine, "few", 3).await;
            assert_eq!(inserts(&log), (1, true), "fast path: {fast}");
            assert_keys_match_rows(&engine, &few).await;
        }
    }

    #[tokio::test]
    async fn a_trigger_that_inserts_into_the_table_makes_the_flush_read_keys_back() {
        for fast in PATHS {
            let (db, engine, log) = setup(
                "sk_trigger",
                fast,
                &[
                    PLAIN,
                    // Each row brings a shadow row, numbered between ours.
                    "CREATE TRIGGER sk_shadow AFTER INSERT ON sk_items \
                     WHEN NEW.name NOT LIKE 'shadow%' \
                     BEGIN INSERT INTO sk_items (name) VALUES ('shadow ' || NEW.name); END",
                ],
            )
            .await;
            let objs = flush(&engine, "item", 120).await;
            assert_eq!(inserts(&log), (1, true), "fast path: {fast}");
            assert_keys_match_rows(&engine, &objs).await;
            let count: i64 = engine
                .fetch_one(text("SELECT count(*) FROM sk_items"))
                .await
                .unwrap()
                .get(0)
                .unwrap();
            assert_eq!(count, 240);
            // A temporary trigger (every connection of this engine makes one) counts too.
            engine
                .execute(text("DROP TRIGGER sk_shadow"))
                .await
                .unwrap();
            let engine = db
                .builder()
                .sqlite_fast_path(fast)
                .after_connect(|conn| {
                    Box::pin(async move {
                        conn.execute(text(
                            "CREATE TEMP TRIGGER sk_temp_shadow AFTER INSERT ON sk_items \
                             WHEN NEW.name NOT LIKE 'shadow%' \
                             BEGIN INSERT INTO sk_items (name) VALUES ('shadow ' || NEW.name); END",
                        ))
                        .await?;
                        Ok(())
                    })
                })
                .connect()
                .await
                .unwrap();
            let log = Statements::record(&engine);
            let objs = flush(&engine, "temp", 100).await;
            assert_eq!(inserts(&log), (1, true), "fast path: {fast}");
            assert_keys_match_rows(&engine, &objs).await;
        }
    }

    #[tokio::test]
    async fn keys_after_negative_ones_are_consecutive() {
        for fast in PATHS {
            let (_db, engine, log) = setup("sk_negative", fast, &[PLAIN]).await;
            engine
                .execute(text(
                    "INSERT INTO sk_items (id, name) VALUES (-5, 'unknown')",
                ))
                .await
                .unwrap();
            log.take();
            let objs = flush(&engine, "item", 60).await;
            assert_eq!(inserts(&log), (1, false), "fast path: {fast}");
            assert_keys_match_rows(&engine, &objs).await;
            assert_eq!(objs[0].read().unwrap().id, -4);
        }
    }

    #[tokio::test]
    async fn keys_near_the_largest_rowid_are_read_back() {
        for fast in PATHS {
            let (_db, engine, log) = setup("sk_max", fast, &[PLAIN]).await;
            // Past the largest rowid SQLite picks free ones at random.
            engine
                .execute(text(format!(
                    "INSERT INTO sk_items (id, name) VALUES ({}, 'last')",
                    i64::MAX - 10
                )))
                .await
                .unwrap();
            log.take();
            // One row per INSERT, a few rows or many.
            let objs = flush(&engine, "item", 100).await;
            assert_eq!(inserts(&log), (100, true), "fast path: {fast}");
            assert_keys_match_rows(&engine, &objs).await;
            let few = flush(&engine, "few", 3).await;
            assert_eq!(inserts(&log), (3, true), "fast path: {fast}");
            assert_keys_match_rows(&engine, &few).await;
        }
    }

    #[tokio::test]
    async fn autoincrement_keys_after_deleted_rows_are_right() {
        for fast in PATHS {
            let (_db, engine, log) = setup(
                "sk_autoinc",
                fast,
                &["CREATE TABLE sk_items (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL)"],
            )
            .await;
            let first = flush(&engine, "first", 100).await;
            assert_keys_match_rows(&engine, &first).await;
            // AUTOINCREMENT never reuses the deleted keys: new ones start past 100.
            engine
                .execute(text("DELETE FROM sk_items WHERE id > 60"))
                .await
                .unwrap();
            log.take();
            // The rows start past the largest key: read back, not computed from it.
            let objs = flush(&engine, "second", 100).await;
            assert_eq!(inserts(&log), (1, true), "fast path: {fast}");
            assert_keys_match_rows(&engine, &objs).await;
            assert_eq!(objs[0].read().unwrap().id, 101);
        }
    }

    /// Commits `n` sessions of one new item each (`{prefix}{i}`); the objects.
    async fn flush_one_by_one(engine: &Engine, prefix: &str, n: usize) -> Vec<Obj<SkItem>> {
        let mut objs = Vec::with_capacity(n);
        for i in 0..n {
            objs.extend(flush(engine, &format!("{prefix}{i}_"), 1).await);
        }
        objs
    }

    /// The SQL the flushes sent, but BEGIN and COMMIT.
    fn sent(log: &Statements) -> Vec<String> {
        log.take()
            .into_iter()
            .filter(|s| s != "BEGIN" && s != "COMMIT")
            .collect()
    }

    /// As [`setup`] with the plain table, on a pool of one connection: what it proved is
    /// what the next flush finds.
    async fn one_connection(test: &str, fast: bool) -> (TestDb, Engine, Statements) {
        let (db, _, _) = setup(test, fast, &[PLAIN]).await;
        let engine = db
            .builder()
            .sqlite_fast_path(fast)
            .pool_size(1)
            .connect()
            .await
            .unwrap();
        let log = Statements::record(&engine);
        (db, engine, log)
    }

    const ONE_ROW: &str = "INSERT INTO \"sk_items\" (\"name\") VALUES (?)";
    const PROOF: &str = "SELECT (SELECT count(*) = 1 AND max(name = ? COLLATE NOCASE)";

    #[tokio::test]
    async fn one_row_flushes_read_the_key_from_the_rowid_once_it_is_proven() {
        for fast in PATHS {
            let (_db, engine, log) = one_connection("sk_one_row", fast).await;
            let objs = flush_one_by_one(&engine, "item", 12).await;
            let sql = sent(&log);
            assert_keys_match_rows(&engine, &objs).await;
            let returning = format!("{ONE_ROW} RETURNING \"id\"");
            if fast {
                // Ten INSERTs read their key back; after the tenth the schema is read once,
                // and the next ones take `last_insert_rowid()`.
                let mut expected = vec![returning; 10];
                expected.push(sql[10].clone());
                expected.extend([ONE_ROW.to_owned(), ONE_ROW.to_owned()]);
                assert_eq!(sql, expected);
                assert!(sql[10].starts_with(PROOF), "{}", sql[10]);
            } else {
                // sqlx's path keeps no proof: every INSERT reads its key back.
                assert_eq!(sql, vec![returning; 12]);
            }
            // Keys as the rows have them, in order.
            let keys: Vec<i64> = objs.iter().map(|o| o.read().unwrap().id).collect();
            assert_eq!(keys, (1..=12).collect::<Vec<i64>>());
        }
    }

    #[tokio::test]
    async fn a_table_made_again_with_another_key_is_proven_again_and_its_key_read_back() {
        // The fast path's proof (sqlx's path keeps none: see the test above).
        let (_db, engine, log) = one_connection("sk_remade", true).await;
        flush_one_by_one(&engine, "before", 12).await;
        assert_eq!(sent(&log).last().map(String::as_str), Some(ONE_ROW));
        // The same name, now with a key that is not the rowid: SQLite makes it up from a
        // default (no rowid alias would ever take such a value).
        for ddl in [
            "DROP TABLE sk_items",
            "CREATE TABLE sk_items (id BIGINT NOT NULL PRIMARY KEY \
             DEFAULT (1000000 + abs(random() % 1000000)), name TEXT NOT NULL)",
        ] {
            engine.execute(text(ddl)).await.unwrap();
        }
        log.take();
        // The INSERT the connection kept runs (nothing told it of the new table), SQLite
        // compiles it again as it runs, and the flush sees that: it proves the key again,
        // finds it is not the rowid, and reads it by rowid.
        let objs = flush(&engine, "after", 1).await;
        let sql = sent(&log);
        assert_eq!(sql.len(), 3, "{sql:?}");
        assert_eq!(sql[0], ONE_ROW);
        assert!(sql[1].starts_with(PROOF), "{}", sql[1]);
        assert_eq!(sql[2], "SELECT \"id\" FROM \"sk_items\" WHERE rowid = ?");
        assert_keys_match_rows(&engine, &objs).await;
        assert!(objs[0].read().unwrap().id >= 1_000_000);
        log.take();
        // From then on, RETURNING, without proving again.
        let more = flush_one_by_one(&engine, "later", 3).await;
        assert_eq!(sent(&log), vec![format!("{ONE_ROW} RETURNING \"id\""); 3]);
        assert_keys_match_rows(&engine, &more).await;
        assert!(more.iter().all(|o| o.read().unwrap().id >= 1_000_000));
    }

    /// A WAL database with the plain table, and another connection's transaction that has
    /// written to it and holds the write lock.
    async fn with_other_writer(test: &str, fast: bool) -> (TestDb, Engine, orm::Transaction) {
        let db = TestDb::new(Backend::Sqlite, &format!("{test}_{fast}"))
            .await
            .unwrap();
        let engine = db
            .builder()
            .sqlite_fast_path(fast)
            .journal_mode(orm::JournalMode::Wal)
            .connect()
            .await
            .unwrap();
        engine.execute(text(PLAIN)).await.unwrap();
        let mut other = engine.begin().await.unwrap();
        other
            .execute(text("INSERT INTO sk_items (name) VALUES ('other')"))
            .await
            .unwrap();
        (db, engine, other)
    }

    /// Commits `other` once the flush beside it has waited for its lock a while.
    async fn commit_later(other: orm::Transaction) {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        other.commit().await.unwrap();
    }

    /// 100 new items in `session`.
    fn add_items(session: &mut Session) -> Vec<Obj<SkItem>> {
        (0..100)
            .map(|i| session.add(SkItem::new(format!("item{i}"))))
            .collect()
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_flush_that_begins_its_transaction_waits_for_another_writer_and_succeeds() {
        for fast in PATHS {
            let (_db, engine, other) = with_other_writer("sk_wait", fast).await;
            let mut session = Session::new(&engine);
            let objs = add_items(&mut session);
            // The flush reads the largest key before its INSERT: begun deferred, its
            // transaction would have read before the other commit and could not write
            // after it (SQLITE_BUSY_SNAPSHOT).
            let (flushed, ()) = tokio::join!(session.commit(), commit_later(other));
            flushed.unwrap_or_else(|e| panic!("fast path {fast}: {e}"));
            assert_keys_match_rows(&engine, &objs).await;
            assert_eq!(objs[0].read().unwrap().id, 2);
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_flush_in_a_savepoint_begun_first_waits_for_another_writer_and_succeeds() {
        for fast in PATHS {
            let (_db, engine, other) = with_other_writer("sk_nested", fast).await;
            // The session's transaction starts with a savepoint: BEGIN, no lock taken.
            let mut session = Session::new(&engine);
            let sp = session.begin_nested().await.unwrap();
            let objs = add_items(&mut session);
            let (flushed, ()) = tokio::join!(session.flush(), commit_later(other));
            flushed.unwrap_or_else(|e| panic!("fast path {fast}: {e}"));
            session.commit_nested(sp).await.unwrap();
            session.commit().await.unwrap();
            assert_keys_match_rows(&engine, &objs).await;
            assert_eq!(objs[0].read().unwrap().id, 2);
        }
    }

    #[tokio::test]
    async fn a_missing_table_fails_the_flush_naming_the_model() {
        for fast in PATHS {
            let (_db, engine, _log) = setup("sk_missing", fast, &[]).await;
            let mut session = Session::new(&engine);
            for i in 0..60 {
                session.add(SkItem::new(format!("item{i}")));
            }
            let e = session.commit().await.unwrap_err();
            let text = e.to_string();
            assert!(matches!(e, orm::Error::Flush { .. }), "{e:?}");
            assert!(
                text.contains("SkItem") && text.contains("sk_items"),
                "{text}"
            );
        }
    }
}
