//! Transactions: commit, rollback, rollback on drop, on error and on panic, savepoints.

use orm::{Engine, Error, text};

use crate::backend_tests;
use crate::support::{Backend, TestDb};

backend_tests!(
    commit_makes_rows_visible_to_other_connections,
    rollback_discards_rows,
    dropping_an_uncommitted_transaction_rolls_back,
    closure_commits_on_ok_and_rolls_back_on_err,
    closure_rolls_back_on_panic_and_the_panic_goes_on,
    savepoint_rollback_keeps_the_outer_transaction,
    savepoint_release_and_drop,
    connection_level_transactions,
    a_commit_after_a_failed_statement_never_reports_rolled_back_work_as_committed,
    a_deadlock_victim_never_commits_and_runs_nothing_outside_its_transaction,
    a_lock_wait_timeout_undoes_only_its_statement_on_mysql,
    ddl_that_would_commit_a_mysql_transaction_is_refused_inside_it,
);

async fn setup(db: &TestDb) -> Engine {
    let engine = db.engine().await;
    engine
        .execute(text(
            "CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL)",
        ))
        .await
        .unwrap();
    engine
}

async fn names(engine: &Engine) -> Vec<String> {
    engine
        .fetch_all(text("SELECT name FROM items ORDER BY id"))
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String>(0).unwrap())
        .collect()
}

fn insert(id: i64, name: &str) -> orm::TextClause {
    text("INSERT INTO items (id, name) VALUES (:id, :name)")
        .bind("id", id)
        .bind("name", name)
}

async fn commit_makes_rows_visible_to_other_connections(db: &TestDb) {
    let engine = setup(db).await;
    let mut tx = engine.begin().await.unwrap();
    tx.execute(insert(1, "a")).await.unwrap();
    // Inside, the row is there.
    let inside: i64 = tx
        .fetch_one(text("SELECT COUNT(*) FROM items"))
        .await
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(inside, 1);
    tx.commit().await.unwrap();
    assert_eq!(names(&engine).await, ["a"]);
}

async fn rollback_discards_rows(db: &TestDb) {
    let engine = setup(db).await;
    let mut tx = engine.begin().await.unwrap();
    tx.execute(insert(1, "a")).await.unwrap();
    tx.rollback().await.unwrap();
    assert!(names(&engine).await.is_empty());
}

async fn dropping_an_uncommitted_transaction_rolls_back(db: &TestDb) {
    let engine = setup(db).await;
    {
        let mut tx = engine.begin().await.unwrap();
        tx.execute(insert(1, "dropped")).await.unwrap();
    }
    // The connection goes back to the pool with its rollback done; the next checkout
    // (possibly the same connection) sees no row.
    assert!(names(&engine).await.is_empty());
    engine.execute(insert(2, "after")).await.unwrap();
    assert_eq!(names(&engine).await, ["after"]);
}

async fn closure_commits_on_ok_and_rolls_back_on_err(db: &TestDb) {
    let engine = setup(db).await;
    let n = engine
        .transaction(async |tx| {
            tx.execute(insert(1, "kept")).await?;
            Ok::<_, Error>(41 + 1)
        })
        .await
        .unwrap();
    assert_eq!(n, 42);

    // A statement error inside: the Err propagates and the earlier insert is undone.
    let err = engine
        .transaction(async |tx| {
            tx.execute(insert(2, "undone")).await?;
            tx.execute(insert(1, "duplicate key")).await?;
            Ok::<_, Error>(())
        })
        .await
        .unwrap_err();
    assert!(err.is_unique_violation(), "{err:?}");

    // A user error type works too, as long as it converts from orm::Error.
    #[derive(Debug)]
    enum AppError {
        Orm(#[allow(dead_code)] Error), // kept for Debug output only
        Refused,
    }
    impl From<Error> for AppError {
        fn from(e: Error) -> Self {
            AppError::Orm(e)
        }
    }
    let r = engine
        .transaction(async |tx| {
            tx.execute(insert(3, "refused")).await?;
            Err::<(), _>(AppError::Refused)
        })
        .await;
    assert!(matches!(r, Err(AppError::Refused)));
    assert_eq!(names(&engine).await, ["kept"]);
}

async fn closure_rolls_back_on_panic_and_the_panic_goes_on(db: &TestDb) {
    let engine = setup(db).await;
    let e2 = engine.clone();
    let joined = tokio::spawn(async move {
        e2.transaction(async |tx| {
            tx.execute(insert(1, "doomed")).await?;
            if tx.dialect().name() != "" {
                panic!("boom inside the transaction");
            }
            Ok::<_, Error>(())
        })
        .await
    })
    .await;
    let err = joined.unwrap_err();
    assert!(err.is_panic());
    let msg = err.into_panic();
    assert_eq!(
        msg.downcast_ref::<&str>(),
        Some(&"boom inside the transaction")
    );
    assert!(names(&engine).await.is_empty());
    // The engine is still usable.
    engine.execute(insert(2, "fine")).await.unwrap();
    assert_eq!(names(&engine).await, ["fine"]);
}

async fn savepoint_rollback_keeps_the_outer_transaction(db: &TestDb) {
    let engine = setup(db).await;
    let mut tx = engine.begin().await.unwrap();
    tx.execute(insert(1, "outer")).await.unwrap();
    let mut sp = tx.savepoint().await.unwrap();
    sp.execute(insert(2, "inner")).await.unwrap();
    let seen: i64 = sp
        .fetch_one(text("SELECT COUNT(*) FROM items"))
        .await
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(seen, 2);
    sp.rollback().await.unwrap();
    // After the savepoint rollback, the outer transaction still has its row and goes on.
    tx.execute(insert(3, "outer again")).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(names(&engine).await, ["outer", "outer again"]);
}

async fn savepoint_release_and_drop(db: &TestDb) {
    let engine = setup(db).await;
    let mut tx = engine.begin().await.unwrap();
    {
        let mut sp = tx.savepoint().await.unwrap();
        sp.execute(insert(1, "released")).await.unwrap();
        // Nested twice, then dropped: only the innermost is undone.
        {
            let mut sp2 = sp.savepoint().await.unwrap();
            sp2.execute(insert(2, "dropped")).await.unwrap();
        }
        sp.commit().await.unwrap();
    }
    // A failed statement inside a savepoint, rolled back, leaves the outer transaction
    // usable (PostgreSQL would otherwise refuse every later statement).
    {
        let mut sp = tx.savepoint().await.unwrap();
        let err = sp.execute(insert(1, "duplicate")).await.unwrap_err();
        assert!(err.is_unique_violation(), "{err:?}");
        sp.rollback().await.unwrap();
    }
    tx.execute(insert(3, "last")).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(names(&engine).await, ["released", "last"]);
}

async fn connection_level_transactions(db: &TestDb) {
    let engine = setup(db).await;
    let mut conn = engine.connect().await.unwrap();
    // Outside a transaction the connection autocommits.
    conn.execute(insert(1, "autocommitted")).await.unwrap();
    conn.ping().await.unwrap();
    let mut tx = conn.begin().await.unwrap();
    tx.execute(insert(2, "rolled back")).await.unwrap();
    tx.rollback().await.unwrap();
    let mut tx = engine.connect().await.unwrap().begin().await.unwrap();
    tx.execute(insert(3, "committed")).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(names(&engine).await, ["autocommitted", "committed"]);
}

/// Issue 8: PostgreSQL aborts a transaction at its first failed statement and answers a
/// later COMMIT with a silent ROLLBACK; `commit()` said `Ok`. Now it is an error saying
/// the transaction was rolled back, also through `engine.transaction` when the closure
/// swallowed the statement's error. MySQL and SQLite undo only the failed statement:
/// there the rest commits, as the database does.
async fn a_commit_after_a_failed_statement_never_reports_rolled_back_work_as_committed(
    db: &TestDb,
) {
    let engine = setup(db).await;
    let aborts = db.backend == Backend::Postgres;

    let mut tx = engine.begin().await.unwrap();
    tx.execute(insert(1, "before the failure")).await.unwrap();
    let failed = tx.execute(insert(1, "duplicate key")).await.unwrap_err();
    assert!(failed.is_unique_violation(), "{failed:?}");
    let committed = tx.commit().await;
    if aborts {
        let err = committed.unwrap_err();
        assert!(matches!(err, Error::TransactionAborted { .. }), "{err:?}");
        assert!(
            err.to_string().contains("rolled back, not committed"),
            "{err}"
        );
        assert!(names(&engine).await.is_empty());
    } else {
        committed.unwrap();
        assert_eq!(names(&engine).await, ["before the failure"]);
        engine.execute(text("DELETE FROM items")).await.unwrap();
    }

    // The closure swallowed the error: `transaction` still does not report a commit.
    let outcome = engine
        .transaction(async |tx| {
            tx.execute(insert(2, "in closure")).await?;
            let _ignored = tx.execute(text("SELEC oops")).await;
            Ok::<_, Error>("done")
        })
        .await;
    if aborts {
        let err = outcome.unwrap_err();
        assert!(matches!(err, Error::TransactionAborted { .. }), "{err:?}");
        assert!(names(&engine).await.is_empty());
    } else {
        assert_eq!(outcome.unwrap(), "done");
        assert_eq!(names(&engine).await, ["in closure"]);
        engine.execute(text("DELETE FROM items")).await.unwrap();
    }

    // A savepoint around the statement that may fail keeps the transaction alive on
    // every database, whether it is rolled back explicitly or dropped.
    let mut tx = engine.begin().await.unwrap();
    tx.execute(insert(3, "kept")).await.unwrap();
    {
        let mut sp = tx.savepoint().await.unwrap();
        sp.execute(insert(3, "duplicate key")).await.unwrap_err();
        sp.rollback().await.unwrap();
    }
    {
        let mut sp = tx.savepoint().await.unwrap();
        sp.execute(text("SELEC oops")).await.unwrap_err();
    }
    tx.execute(insert(4, "after")).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(names(&engine).await, ["kept", "after"]);

    // The connection of an aborted transaction is whole again.
    let mut tx = engine.begin().await.unwrap();
    tx.execute(text("SELEC oops")).await.unwrap_err();
    let _ = tx.commit().await;
    let n: i64 = engine
        .fetch_one(text("SELECT COUNT(*) FROM items"))
        .await
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(n, 2);
}

/// One row by primary key (a statement over several ids may scan, and so lock, all
/// the rows of a small table on MySQL).
fn set_name(id: i64, name: &str) -> orm::TextClause {
    text("UPDATE items SET name = :n WHERE id = :id")
        .bind("n", name.to_owned())
        .bind("id", id)
}

/// Two transactions (or savepoints) that lock rows 2-4 and 1 and then want each
/// other's: the server fails one of them, the victim, with a deadlock. Gives the
/// victim's error and whether `a` was the victim.
macro_rules! deadlock {
    ($a:expr, $b:expr) => {{
        for id in [2, 3, 4] {
            $b.execute(set_name(id, "b")).await.unwrap();
        }
        $a.execute(set_name(1, "a")).await.unwrap();
        let (ra, rb) = tokio::join!($a.execute(set_name(2, "a")), async {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            $b.execute(set_name(1, "b")).await
        });
        match (ra, rb) {
            (Err(e), Ok(_)) => (e, true),
            (Ok(_), Err(e)) => (e, false),
            other => panic!("expected one deadlock victim, got {other:?}"),
        }
    }};
}

/// Issue 8: MySQL/MariaDB roll the whole transaction back on a deadlock and then run
/// every later statement of the "transaction" on its own, committed at once, and answer
/// COMMIT with success: a caught deadlock error followed by more work and `commit()`
/// reported `Ok` while the first half was gone and the second half was committed
/// outside any transaction. Now every statement after the deadlock is refused and
/// `commit()` is an error, on MySQL and PostgreSQL alike (where the server refuses them
/// itself), also when the victim was inside a savepoint.
async fn a_deadlock_victim_never_commits_and_runs_nothing_outside_its_transaction(db: &TestDb) {
    if db.backend == Backend::Sqlite {
        return; // no row locks: one writer at a time, no deadlock to break
    }
    let engine = setup(db).await;
    for id in 1..=4 {
        engine.execute(insert(id, "start")).await.unwrap();
    }
    for in_savepoint in [false, true] {
        let mut a = engine.begin().await.unwrap();
        let mut b = engine.begin().await.unwrap();
        let (err, a_lost) = if in_savepoint {
            // The victim's statement fails inside a savepoint, which is rolled back:
            // the outer transaction is gone all the same.
            let mut sa = a.savepoint().await.unwrap();
            let mut sb = b.savepoint().await.unwrap();
            let (err, a_lost) = deadlock!(sa, sb);
            let (lost, won) = if a_lost { (sa, sb) } else { (sb, sa) };
            won.commit().await.unwrap();
            lost.rollback().await.unwrap();
            (err, a_lost)
        } else {
            deadlock!(a, b)
        };
        assert!(err.is_deadlock(), "{err:?}");
        let (mut victim, survivor) = if a_lost { (a, b) } else { (b, a) };
        survivor.commit().await.unwrap();
        if in_savepoint && db.backend == Backend::Postgres {
            // PostgreSQL aborts only the savepoint: its rollback recovers the rest.
            victim.execute(insert(10, "after")).await.unwrap();
            victim.commit().await.unwrap();
            assert!(names(&engine).await.contains(&"after".to_owned()));
            continue;
        }
        let refused = victim
            .execute(insert(10, "after the deadlock"))
            .await
            .unwrap_err();
        if db.backend == Backend::Postgres {
            assert!(refused.to_string().contains("aborted"), "{refused}");
        } else {
            assert!(
                matches!(refused, Error::TransactionRolledBack { .. }),
                "{refused:?}"
            );
        }
        let err = victim.commit().await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::TransactionAborted { .. } | Error::TransactionRolledBack { .. }
            ),
            "{err:?}"
        );
        // Only the survivor's work is there; nothing of the victim's, before or after.
        let rows: Vec<(i64, String)> = engine
            .fetch_all(text("SELECT id, name FROM items ORDER BY id"))
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
            .collect();
        let survivor_name = if a_lost { "b" } else { "a" };
        assert!(rows.iter().all(|(id, _)| *id <= 4), "{rows:?}");
        assert!(rows.iter().any(|(_, n)| n == survivor_name), "{rows:?}");
        assert!(
            rows.iter().all(|(_, n)| n == survivor_name || n == "start"),
            "{rows:?}"
        );
        engine
            .execute(text("UPDATE items SET name = 'start'"))
            .await
            .unwrap();
        // The victim's connection is whole again.
        let mut tx = engine.begin().await.unwrap();
        tx.execute(insert(11, "later")).await.unwrap();
        tx.rollback().await.unwrap();
    }
    // Every connection is back in the pool.
    crate::support::wait_for_pool(&engine, |s| s.size as usize == s.idle).await;
}

/// A lock wait timeout (MySQL's default `innodb_rollback_on_timeout = OFF`) undoes only
/// the statement that waited: the transaction goes on and commits the rest, as the
/// server does, and nothing is refused.
async fn a_lock_wait_timeout_undoes_only_its_statement_on_mysql(db: &TestDb) {
    if db.backend != Backend::MySql {
        return;
    }
    let engine = setup(db).await;
    engine.execute(insert(1, "start")).await.unwrap();
    let mut holder = engine.begin().await.unwrap();
    holder
        .execute(text("UPDATE items SET name = 'held' WHERE id = 1"))
        .await
        .unwrap();
    let mut tx = engine.begin().await.unwrap();
    let on: i64 = tx
        .fetch_one(text("SELECT @@innodb_rollback_on_timeout + 0"))
        .await
        .unwrap()
        .get(0)
        .unwrap();
    tx.execute(text("SET SESSION innodb_lock_wait_timeout = 1"))
        .await
        .unwrap();
    tx.execute(insert(2, "before")).await.unwrap();
    let err = tx
        .execute(text("UPDATE items SET name = 'waited' WHERE id = 1"))
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        Some(orm::DatabaseErrorKind::LockTimeout),
        "{err:?}"
    );
    holder.rollback().await.unwrap();
    if on == 1 {
        let refused = tx.execute(insert(3, "after")).await.unwrap_err();
        assert!(
            matches!(refused, Error::TransactionRolledBack { .. }),
            "{refused:?}"
        );
        tx.commit().await.unwrap_err();
        assert_eq!(names(&engine).await, ["start"]);
    } else {
        tx.execute(insert(3, "after")).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(names(&engine).await, ["start", "before", "after"]);
    }
}

/// MySQL/MariaDB commit the open transaction before DDL: `CREATE TABLE` inside a
/// transaction silently committed the rows inserted before it, and the rollback that
/// followed undid nothing. Inside a transaction on MySQL such statements are refused
/// before anything is sent (the transaction goes on); temporary tables, which do not
/// commit, still work. PostgreSQL and SQLite run DDL inside the transaction.
async fn ddl_that_would_commit_a_mysql_transaction_is_refused_inside_it(db: &TestDb) {
    let engine = setup(db).await;
    let mut tx = engine.begin().await.unwrap();
    tx.execute(insert(1, "before the DDL")).await.unwrap();
    let ddl = tx
        .execute(text("CREATE TABLE other (id INTEGER PRIMARY KEY)"))
        .await;
    let script = tx
        .execute_script("INSERT INTO items (id, name) VALUES (2, 'x'); DROP TABLE items")
        .await;
    if db.backend == Backend::MySql {
        let err = ddl.unwrap_err();
        assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
        assert!(
            err.to_string()
                .contains("CREATE TABLE inside a transaction"),
            "{err}"
        );
        let err = script.unwrap_err();
        assert!(err.to_string().contains("DROP TABLE"), "{err}");
        tx.execute(text("CREATE TEMPORARY TABLE scratch (id INTEGER)"))
            .await
            .unwrap();
    } else {
        // Transactional DDL: the rollback below undoes the drop as well.
        ddl.unwrap();
        script.unwrap();
    }
    tx.rollback().await.unwrap();
    // Nothing was committed by the DDL: the rollback undid the insert.
    assert!(names(&engine).await.is_empty());
    // Outside a transaction DDL runs as usual.
    engine
        .execute(text("CREATE TABLE other (id INTEGER PRIMARY KEY)"))
        .await
        .unwrap();
}
