//! Lock strengths: PostgreSQL's `FOR NO KEY UPDATE` and `FOR KEY SHARE`, and the
//! nearest stronger lock on MySQL and MariaDB (`FOR UPDATE`, their share lock). SQLite
//! writes no row lock. Each lock runs in a transaction on every database; on PostgreSQL
//! a second transaction shows the weaker locks let through what they should.

use orm::prelude::*;
use orm::sql::Lock;
use orm::{Dialect, Feature, text};

use crate::backend_tests;
use crate::support::{Statements, TestDb};

backend_tests!(key_locks_lock_the_rows_they_read);

#[derive(Model, Debug, Clone)]
#[orm(table = "rl_items")]
pub struct Item {
    #[orm(primary_key)]
    pub id: i64,
    pub qty: i32,
}

async fn key_locks_lock_the_rows_they_read(db: &TestDb) {
    let engine = db.engine().await;
    MetaData::new()
        .with::<Item>()
        .create_all(&engine)
        .await
        .unwrap();
    for (id, qty) in [(1i64, 10), (2, 20), (3, 30)] {
        engine
            .execute(insert(Item::table()).values((Item::id.set(id), Item::qty.set(qty))))
            .await
            .unwrap();
    }
    let dialect = engine.dialect();
    let share = if engine.server().has(Feature::ForShare) {
        " FOR SHARE"
    } else {
        " LOCK IN SHARE MODE"
    };
    let log = Statements::record(&engine);
    for (lock, pg, mysql) in [
        (Lock::NoKeyUpdate, " FOR NO KEY UPDATE", " FOR UPDATE"),
        (Lock::KeyShare, " FOR KEY SHARE", share),
    ] {
        let mut tx = engine.begin().await.unwrap();
        let rows = tx
            .fetch_all(
                select((Item::id, Item::qty))
                    .filter(Item::qty.ge(20))
                    .order_by(Item::id.asc())
                    .with_lock(lock),
            )
            .await
            .unwrap();
        let got: Vec<(i64, i32)> = rows
            .iter()
            .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
            .collect();
        assert_eq!(got, [(2, 20), (3, 30)]);
        tx.commit().await.unwrap();
        let sent = log.take();
        let select = sent.iter().find(|s| s.starts_with("SELECT")).unwrap();
        match dialect {
            Dialect::Sqlite => assert!(select.ends_with("ASC"), "{select}"),
            Dialect::Postgres => assert!(select.ends_with(pg), "{select}"),
            _ => assert!(select.ends_with(mysql), "{select}"),
        }
    }

    if dialect == Dialect::Postgres {
        // While one transaction holds FOR KEY SHARE, another may still update a column
        // that is not a key (FOR SHARE would block it); while one holds FOR NO KEY
        // UPDATE, another may still take FOR KEY SHARE (FOR UPDATE would block it).
        for (held, then) in [
            (
                Lock::KeyShare,
                "UPDATE rl_items SET qty = qty + 1 WHERE id = 2",
            ),
            (
                Lock::NoKeyUpdate,
                "SELECT id FROM rl_items WHERE id = 2 FOR KEY SHARE",
            ),
        ] {
            let mut a = engine.begin().await.unwrap();
            a.fetch_all(select(Item::id).filter(Item::id.eq(2)).with_lock(held))
                .await
                .unwrap();
            let mut b = engine.begin().await.unwrap();
            b.execute(text("SET LOCAL lock_timeout = '5s'"))
                .await
                .unwrap();
            b.execute(text(then)).await.unwrap();
            b.commit().await.unwrap();
            a.commit().await.unwrap();
        }
        let qty: i32 = engine
            .fetch_one(select(Item::qty).filter(Item::id.eq(2)))
            .await
            .unwrap()
            .get(0)
            .unwrap();
        assert_eq!(qty, 21);
    }

    // The Session's query takes the same locks.
    let mut session = Session::new(&engine);
    let query = session
        .query::<Item>()
        .filter(Item::id.eq(3))
        .with_lock(Lock::NoKeyUpdate);
    let sql = query.statement().compile(engine.server()).unwrap();
    match dialect {
        Dialect::Sqlite => assert!(!sql.sql().contains(" FOR "), "{}", sql.sql()),
        Dialect::Postgres => assert!(sql.sql().ends_with(" FOR NO KEY UPDATE"), "{}", sql.sql()),
        _ => assert!(sql.sql().ends_with(" FOR UPDATE"), "{}", sql.sql()),
    }
    let items = query.all().await.unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].read().unwrap().qty, 30);
    session.commit().await.unwrap();
    engine.close().await;
}
