//! `QueryResult::inserted_primary_key()` on every database: the key a single-row INSERT
//! gave or the database generated (PostgreSQL returns it: the INSERT gets `RETURNING`
//! of the key, whose row is not a result row; MySQL and SQLite report their id).

use orm::prelude::*;
use orm::{Value, insert, select};

use crate::backend_tests;
use crate::support::{Backend, Statements, TestDb};

backend_tests!(
    a_generated_key_is_reported_on_every_database,
    a_given_or_composite_key_is_the_row_s_own_and_nothing_else_is_a_key,
);

#[derive(Model, Debug, Clone)]
#[orm(table = "ik_accounts")]
pub struct Account {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(max_length = 40, unique)]
    pub name: String,
}

#[derive(Model, Debug, Clone)]
#[orm(table = "ik_memberships")]
pub struct Membership {
    #[orm(primary_key)]
    pub account_id: i64,
    #[orm(primary_key, max_length = 20)]
    pub role: String,
    pub note: Option<String>,
}

async fn setup(db: &TestDb) -> orm::Engine {
    let engine = db.engine().await;
    MetaData::new()
        .with::<Account>()
        .with::<Membership>()
        .create_all(&engine)
        .await
        .unwrap();
    engine
}

async fn name_of(engine: &orm::Engine, id: &Value) -> String {
    engine
        .fetch_one(select(Account::name).filter(Account::id.eq(id.clone().to::<i64>().unwrap())))
        .await
        .unwrap()
        .get(0)
        .unwrap()
}

async fn a_generated_key_is_reported_on_every_database(db: &TestDb) {
    let engine = setup(db).await;
    let log = Statements::record(&engine);
    let mut keys = Vec::new();
    for name in ["ed", "wendy"] {
        let done = engine
            .execute(insert(Account::table()).values(Account::name.set(name)))
            .await
            .unwrap();
        assert_eq!(done.rows_affected(), 1);
        assert!(done.rows().is_empty(), "the key's row is no result row");
        let key = done.inserted_primary_key().expect("a key").to_vec();
        assert_eq!(key.len(), 1);
        assert_eq!(name_of(&engine, &key[0]).await, name);
        keys.push(key[0].clone().to::<i64>().unwrap());
    }
    assert!(keys[0] < keys[1], "{keys:?}");
    let sql = log.take();
    assert_eq!(sql.len(), 4, "{sql:?}");
    let returning = r#" RETURNING "id""#;
    match db.backend {
        Backend::Postgres => assert!(sql[0].ends_with(returning), "{}", sql[0]),
        _ => assert!(!sql[0].contains("RETURNING"), "{}", sql[0]),
    }
    // An INSERT with a RETURNING of its own keeps its rows.
    if db.backend != Backend::MySql {
        let done = engine
            .execute(
                insert(Account::table())
                    .values(Account::name.set("jack"))
                    .returning(Account::name),
            )
            .await
            .unwrap();
        assert_eq!(done.rows().len(), 1);
        assert_eq!(done.rows()[0].get::<String>(0).unwrap(), "jack");
    }
}

async fn a_given_or_composite_key_is_the_row_s_own_and_nothing_else_is_a_key(db: &TestDb) {
    let engine = setup(db).await;
    let log = Statements::record(&engine);
    let done = engine
        .execute(
            insert(Account::table()).values((Account::id.set(40i64), Account::name.set("given"))),
        )
        .await
        .unwrap();
    assert_eq!(done.inserted_primary_key(), Some(&[Value::I64(40)][..]));
    let sql = log.take();
    assert!(
        !sql[0].contains("RETURNING"),
        "a given key is not asked back: {}",
        sql[0]
    );
    let done = engine
        .execute(insert(Membership::table()).values((
            Membership::account_id.set(40i64),
            Membership::role.set("admin"),
        )))
        .await
        .unwrap();
    assert_eq!(
        done.inserted_primary_key(),
        Some(&[Value::I64(40), Value::Text("admin".into())][..])
    );
    // Several rows: no one key.
    let done = engine
        .execute(
            insert(Account::table()).values_many([Account::name.set("a"), Account::name.set("b")]),
        )
        .await
        .unwrap();
    assert_eq!(done.rows_affected(), 2);
    assert_eq!(done.inserted_primary_key(), None);
    // An upsert that inserted nothing has no key; one that inserted has its row's.
    let upsert = |name: &str| {
        insert(Account::table())
            .values(Account::name.set(name.to_owned()))
            .on_conflict_do_nothing(["name"])
    };
    let done = engine.execute(upsert("given")).await.unwrap();
    assert_eq!(done.inserted_primary_key(), None, "{:?}", db.backend);
    let done = engine.execute(upsert("new")).await.unwrap();
    let key = done.inserted_primary_key().expect("inserted").to_vec();
    assert_eq!(name_of(&engine, &key[0]).await, "new");
    // Not an INSERT: no key.
    let done = engine
        .execute(orm::delete(Account::table()).filter(Account::name.eq("a")))
        .await
        .unwrap();
    assert_eq!(done.inserted_primary_key(), None);
}
