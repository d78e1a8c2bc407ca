//! The flush's INSERTs: many rows of every value type round-trip (on PostgreSQL as one
//! array per column, unnested, when the types can be arrays), and a flush of users with
//! posts sends one INSERT per table and batch, nothing else.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use orm::prelude::*;
use orm::{Dialect, text};

use crate::backend_tests;
use crate::session::{Post, User};
use crate::support::{Backend, Statements, TestDb};

backend_tests!(
    many_rows_of_every_value_type_round_trip_through_a_flush,
    many_rows_of_array_types_go_as_arrays_on_postgres,
    a_flush_sends_one_insert_per_table_and_batch_and_nothing_else,
);

/// A column of every value type, and one that is always NULL.
#[derive(Model, Debug, Clone)]
#[orm(table = "fl_every")]
pub struct Every {
    #[orm(primary_key)]
    pub id: i64,
    pub flag: bool,
    pub small: i16,
    pub medium: i32,
    pub big: i64,
    pub single: f32,
    pub double: f64,
    #[orm(max_length = 40)]
    pub name: String,
    pub note: Option<String>,
    pub bytes: Vec<u8>,
    pub day: NaiveDate,
    pub at: NaiveTime,
    pub local: NaiveDateTime,
    pub instant: DateTime<Utc>,
    pub uid: uuid::Uuid,
    pub doc: serde_json::Value,
    #[orm(sql_type = "numeric(12, 4)")]
    pub amount: rust_decimal::Decimal,
    pub never: Option<i64>,
}

/// The types PostgreSQL array parameters are bound for, some NULL, one always NULL.
#[derive(Model, Debug, Clone)]
#[orm(table = "fl_arrayable")]
pub struct Arrayable {
    #[orm(primary_key)]
    pub id: i64,
    pub flag: bool,
    pub small: i16,
    pub medium: i32,
    pub big: Option<i64>,
    pub double: f64,
    #[orm(max_length = 60)]
    pub name: String,
    pub note: Option<String>,
    pub day: NaiveDate,
    pub local: NaiveDateTime,
    pub instant: DateTime<Utc>,
    pub uid: uuid::Uuid,
    pub never: Option<String>,
}

fn arrayable(i: i64) -> Arrayable {
    let e = every(i);
    let mut a = Arrayable::new(
        e.flag, e.small, e.medium, e.double, e.name, e.day, e.local, e.instant, e.uid,
    );
    a.big = (i % 4 != 0).then_some(e.big);
    a.note = e.note;
    a
}

/// Row `i`'s values (microseconds at most: what every database keeps).
fn every(i: i64) -> Every {
    let day = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + chrono::Days::new(i as u64);
    let at = NaiveTime::from_hms_micro_opt((i % 24) as u32, 7, 9, (i * 1001) as u32).unwrap();
    let mut e = Every::new(
        i % 2 == 0,
        (i * 3) as i16,
        (i * 1_000) as i32,
        i * 10_000_000_000,
        i as f32 * 0.25,
        i as f64 / 3.0,
        format!("row {i} \"quoted\", {{braced}} \\ back"),
        vec![0, 255, i as u8, b'"', b'\\', b',', b'{'],
        day,
        at,
        day.and_time(at),
        day.and_time(at).and_utc(),
        uuid::Uuid::from_u128(0x1234_5678_9abc_def0 + i as u128),
        serde_json::json!({"i": i, "list": [1, "two", null], "s": "a,\"b\"{}"}),
        rust_decimal::Decimal::new(i * 12_345 - 50_000, 4),
    );
    e.note = (i % 3 != 0).then(|| format!("note, {i}"));
    e
}

fn assert_same(got: &Every, want: &Every, i: i64) {
    assert_eq!(
        (got.flag, got.small, got.medium, got.big),
        (want.flag, want.small, want.medium, want.big),
        "row {i}"
    );
    assert_eq!(
        (got.single.to_bits(), got.double.to_bits()),
        (want.single.to_bits(), want.double.to_bits()),
        "row {i}"
    );
    assert_eq!((&got.name, &got.note), (&want.name, &want.note), "row {i}");
    assert_eq!(got.bytes, want.bytes, "row {i}");
    assert_eq!(
        (got.day, got.at, got.local, got.instant),
        (want.day, want.at, want.local, want.instant),
        "row {i}"
    );
    assert_eq!((got.uid, &got.doc), (want.uid, &want.doc), "row {i}");
    assert_eq!(got.amount, want.amount, "row {i}");
    assert_eq!(got.never, None, "row {i}");
}

async fn many_rows_of_every_value_type_round_trip_through_a_flush(db: &TestDb) {
    let engine = db.engine().await;
    MetaData::new()
        .with::<Every>()
        .create_all(&engine)
        .await
        .unwrap();
    let log = Statements::record(&engine);
    let mut session = Session::new(&engine);
    let objs: Vec<_> = (1..=40).map(|i| session.add(every(i))).collect();
    session.commit().await.unwrap();
    let inserts: Vec<String> = log
        .take()
        .into_iter()
        .filter(|s| s.starts_with("INSERT"))
        .collect();
    if db.backend == Backend::Postgres {
        // Bytes, f32, times, JSON and decimals are no array parameters: the rows go as
        // VALUES, inserted in order.
        assert_eq!(inserts.len(), 1, "{inserts:?}");
        assert!(
            inserts[0].contains("FROM (VALUES") && inserts[0].contains("ORDER BY \"orm_sen\""),
            "{}",
            &inserts[0][..200]
        );
    }
    // Keys in the order of `add`, every value as it was.
    let ids: Vec<i64> = objs.iter().map(|o| o.read().unwrap().id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let mut fresh = Session::new(&engine);
    let rows = fresh
        .query::<Every>()
        .order_by(Every::id.asc())
        .all()
        .await
        .unwrap();
    assert_eq!(rows.len(), 40);
    for (k, (row, obj)) in rows.iter().zip(&objs).enumerate() {
        let i = k as i64 + 1;
        let row = row.read().unwrap();
        assert_eq!(row.id, obj.read().unwrap().id);
        assert_same(&row, &every(i), i);
    }
    fresh.commit().await.unwrap();
}

async fn a_flush_sends_one_insert_per_table_and_batch_and_nothing_else(db: &TestDb) {
    let (engine, log) = crate::session::setup(db).await;
    log.take();
    let mut session = Session::new(&engine);
    let mut users = Vec::new();
    for i in 0..1500 {
        let u = session.add(User::new(format!("user{i}")));
        for j in 0..2 {
            let p = session.add(Post::new(format!("post {i}.{j}")));
            u.write().unwrap().posts.push(&p);
        }
        users.push(u);
    }
    session.commit().await.unwrap();
    let statements = log.take();
    let (users_inserts, posts_inserts) = match engine.dialect() {
        // One statement per table, whatever the row count.
        Dialect::Postgres => (1, 1),
        // 1000 rows a statement (SQLAlchemy's page), under the parameter limit.
        Dialect::Sqlite | Dialect::MariaDb => (2, 3),
        // No RETURNING: a generated key is LAST_INSERT_ID(), one row per INSERT.
        _ => (1500, 3000),
    };
    let quoted = |t: &str| match engine.dialect() {
        Dialect::MySql | Dialect::MariaDb => format!("`{t}`"),
        _ => format!("\"{t}\""),
    };
    let inserts_into = |table: &str| {
        statements
            .iter()
            .filter(|s| s.starts_with("INSERT") && s.contains(&quoted(table)))
            .count()
    };
    assert_eq!(
        (inserts_into("users"), inserts_into("posts")),
        (users_inserts, posts_inserts),
        "{:?}",
        statements
            .iter()
            .map(|s| &s[..s.len().min(80)])
            .collect::<Vec<_>>()
    );
    // SQLite: one SELECT per table proves its keys consecutive (a rowid table without
    // triggers), and the INSERTs read nothing back.
    let proofs = if engine.dialect() == Dialect::Sqlite {
        assert!(
            statements
                .iter()
                .filter(|s| s.starts_with("INSERT"))
                .all(|s| !s.contains("RETURNING")),
            "{statements:?}"
        );
        let proofs = statements
            .iter()
            .filter(|s| s.starts_with("SELECT") && s.contains("pragma_table_info"))
            .count();
        assert_eq!(proofs, 2, "{statements:?}");
        proofs
    } else {
        0
    };
    // Nothing else: no other SELECT, no SAVEPOINT, no UPDATE of the posts' keys.
    assert_eq!(
        statements.len(),
        users_inserts + posts_inserts + proofs,
        "{:?}",
        statements
            .iter()
            .filter(|s| !s.starts_with("INSERT"))
            .collect::<Vec<_>>()
    );
    // Each user object holds the key of the row with its values.
    let names: std::collections::HashMap<i64, String> = engine
        .fetch_all(text("SELECT id, name FROM users"))
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
        .collect();
    for u in &users {
        let user = u.read().unwrap();
        assert_eq!(names.get(&user.id), Some(&user.name), "user {}", user.id);
    }
    // Every post in the database points at its own user.
    let rows = engine
        .fetch_all(text(
            "SELECT u.name, p.title FROM posts p JOIN users u ON u.id = p.user_id",
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), 3000);
    for r in &rows {
        let (name, title): (String, String) = (r.get(0).unwrap(), r.get(1).unwrap());
        let i = name.strip_prefix("user").unwrap();
        assert!(title.starts_with(&format!("post {i}.")), "{name}: {title}");
    }
    for u in &users {
        let user = u.read().unwrap();
        for p in user.posts.get().unwrap() {
            assert_eq!(p.read().unwrap().user_id, Some(user.id));
        }
    }
}

async fn many_rows_of_array_types_go_as_arrays_on_postgres(db: &TestDb) {
    let engine = db.engine().await;
    MetaData::new()
        .with::<Arrayable>()
        .create_all(&engine)
        .await
        .unwrap();
    let log = Statements::record(&engine);
    let mut session = Session::new(&engine);
    let objs: Vec<_> = (1..=40).map(|i| session.add(arrayable(i))).collect();
    session.commit().await.unwrap();
    let inserts: Vec<String> = log
        .take()
        .into_iter()
        .filter(|s| s.starts_with("INSERT"))
        .collect();
    if db.backend == Backend::Postgres {
        // One statement, each column's values as one array; the column of nothing but
        // NULLs is written NULL.
        assert_eq!(inserts.len(), 1, "{inserts:?}");
        assert!(
            inserts[0].contains("FROM UNNEST(CAST($1 AS BOOLEAN[])")
                && inserts[0].contains(", NULL FROM UNNEST")
                && inserts[0].contains("ORDER BY \"orm_sen\" RETURNING \"id\""),
            "{}",
            inserts[0]
        );
    }
    let ids: Vec<i64> = objs.iter().map(|o| o.read().unwrap().id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let mut fresh = Session::new(&engine);
    let rows = fresh
        .query::<Arrayable>()
        .order_by(Arrayable::id.asc())
        .all()
        .await
        .unwrap();
    assert_eq!(rows.len(), 40);
    for (k, (row, obj)) in rows.iter().zip(&objs).enumerate() {
        let i = k as i64 + 1;
        let (got, want) = (row.read().unwrap(), arrayable(i));
        assert_eq!(got.id, obj.read().unwrap().id);
        assert_eq!(
            (got.flag, got.small, got.medium, got.big),
            (want.flag, want.small, want.medium, want.big),
            "row {i}"
        );
        assert_eq!(got.double.to_bits(), want.double.to_bits(), "row {i}");
        assert_eq!((&got.name, &got.note), (&want.name, &want.note), "row {i}");
        assert_eq!(
            (got.day, got.local, got.instant, got.uid),
            (want.day, want.local, want.instant, want.uid),
            "row {i}"
        );
        assert_eq!(got.never, None, "row {i}");
    }
    fresh.commit().await.unwrap();
}
