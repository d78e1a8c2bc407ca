//! NULL is a typed bind, not a literal: `set(None)` and `set(Some(x))` are one statement
//! (one SQL text, and on PostgreSQL one prepared statement whose parameters keep the
//! columns' types), whichever comes first; the same for the session's flush.

use chrono::{DateTime, TimeZone, Utc};
use orm::prelude::*;
use orm::{Engine, text, update};

use crate::backend_tests;
use crate::support::{Backend, Statements, TestDb};

backend_tests!(
    set_none_and_some_alternate_in_one_statement,
    a_flush_writes_none_and_some_with_one_statement,
);

#[derive(Model, Debug, Clone, PartialEq)]
#[orm(table = "tn_values")]
pub struct Nullable {
    #[orm(primary_key, autoincrement = false)]
    pub id: i64,
    pub medium: Option<i32>,
    pub big: Option<i64>,
    pub note: Option<String>,
    pub at: Option<DateTime<Utc>>,
    pub flag: Option<bool>,
}

fn row(id: i64, some: bool) -> Nullable {
    let at = Utc.with_ymd_and_hms(2024, 2, 29, 13, 14, 15).unwrap();
    Nullable {
        id,
        medium: some.then_some(id as i32 * 10),
        big: some.then_some(id * 1_000_000_000_000),
        note: some.then(|| format!("note {id}")),
        at: some.then_some(at + chrono::Duration::seconds(id)),
        flag: some.then_some(id % 2 == 0),
    }
}

/// How many prepared statements the (only) connection of `engine` holds that start
/// with `prefix` (PostgreSQL).
async fn prepared(engine: &Engine, prefix: &str) -> i64 {
    engine
        .fetch_one(
            text(
                "SELECT count(*) FROM pg_prepared_statements \
                 WHERE statement LIKE :p AND NOT from_sql",
            )
            .bind("p", format!("{prefix}%")),
        )
        .await
        .unwrap()
        .get::<i64>(0)
        .unwrap()
}

async fn read_all(engine: &Engine) -> Vec<Nullable> {
    let mut s = Session::new(engine);
    let rows = s
        .query::<Nullable>()
        .order_by(Nullable::id.asc())
        .all()
        .await
        .unwrap();
    let out = rows.iter().map(|r| r.read().unwrap().clone()).collect();
    s.commit().await.unwrap();
    out
}

async fn set_none_and_some_alternate_in_one_statement(db: &TestDb) {
    let engine = db.engine().await;
    MetaData::new()
        .with::<Nullable>()
        .create_all(&engine)
        .await
        .unwrap();
    let mut s = Session::new(&engine);
    for id in 1..=8 {
        s.add(row(id, false));
    }
    s.commit().await.unwrap();
    // Both orders, each on a connection of its own (PostgreSQL prepares the UPDATE with
    // the types of its first execution): NULL first on rows 1..=4, a value first on 5..=8.
    for (ids, first_some) in [(1..=4, false), (5..=8, true)] {
        let engine = db.one_connection_engine().await;
        let log = Statements::record(&engine);
        for id in ids {
            let some = (id % 2 == 1) == first_some;
            let r = row(id, some);
            engine
                .execute(
                    update(Nullable::table())
                        .set((
                            Nullable::medium.set(r.medium),
                            Nullable::big.set(r.big),
                            Nullable::note.set(r.note.clone()),
                            Nullable::at.set(r.at),
                            Nullable::flag.set(r.flag),
                        ))
                        .filter(Nullable::id.eq(id)),
                )
                .await
                .unwrap();
        }
        let mut sql = log.take();
        assert_eq!(sql.len(), 4, "{sql:?}");
        sql.dedup();
        assert_eq!(sql.len(), 1, "one SQL text for NULLs and values: {sql:?}");
        assert!(!sql[0].contains("NULL"), "{}", sql[0]);
        if db.backend == Backend::Postgres {
            assert_eq!(prepared(&engine, "UPDATE").await, 1);
        }
    }
    let got = read_all(&engine).await;
    let want: Vec<Nullable> = (1..=8)
        .map(|id| row(id, (id % 2 == 1) == (id >= 5)))
        .collect();
    assert_eq!(got, want);
    // Back to NULL after a value, and a value after NULL, on one statement.
    assert!(got.iter().any(|r| r.big.is_none()) && got.iter().any(|r| r.big.is_some()));
}

async fn a_flush_writes_none_and_some_with_one_statement(db: &TestDb) {
    let setup = db.engine().await;
    MetaData::new()
        .with::<Nullable>()
        .create_all(&setup)
        .await
        .unwrap();
    for (base, first_some) in [(0, false), (10, true)] {
        let engine = db.one_connection_engine().await;
        let log = Statements::record(&engine);
        // One object per flush: an INSERT each, alternately NULLs and values.
        for k in 1..=4 {
            let mut s = Session::new(&engine);
            s.add(row(base + k, (k % 2 == 1) == first_some));
            s.commit().await.unwrap();
        }
        // Then each row flips: an UPDATE of every column, values to NULL and back.
        let mut s = Session::new(&engine);
        let objs = s
            .query::<Nullable>()
            .filter(Nullable::id.gt(base))
            .filter(Nullable::id.le(base + 4))
            .order_by(Nullable::id.asc())
            .all()
            .await
            .unwrap();
        for o in &objs {
            let id = o.read().unwrap().id;
            let some = o.read().unwrap().big.is_none();
            *o.write().unwrap() = row(id, some);
            s.flush().await.unwrap();
        }
        s.commit().await.unwrap();
        let sql = log.take();
        let mut inserts: Vec<&String> = sql.iter().filter(|s| s.starts_with("INSERT")).collect();
        let mut updates: Vec<&String> = sql.iter().filter(|s| s.starts_with("UPDATE")).collect();
        assert_eq!((inserts.len(), updates.len()), (4, 4), "{sql:?}");
        inserts.dedup();
        updates.dedup();
        assert_eq!((inserts.len(), updates.len()), (1, 1), "{sql:?}");
        if db.backend == Backend::Postgres {
            assert_eq!(prepared(&engine, "INSERT").await, 1);
            assert_eq!(prepared(&engine, "UPDATE").await, 1);
        }
    }
    let got = read_all(&setup).await;
    let want: Vec<Nullable> = [(0, false), (10, true)]
        .into_iter()
        .flat_map(|(base, first_some)| {
            (1..=4).map(move |k| row(base + k, (k % 2 == 1) != first_some))
        })
        .collect();
    assert_eq!(got, want);
}
