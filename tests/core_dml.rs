//! INSERT / UPDATE / DELETE / upsert / RETURNING built with typed columns, run on every
//! database; the rows in the database are what is checked.

#![allow(non_upper_case_globals)] // typed columns are named like fields, as the derive names them

use std::sync::{Arc, OnceLock};

use orm::schema::{Column as Col, SqlType, Table};
use orm::sql::{Column, HasTable};
use orm::{Dialect, Engine, Error, delete, excluded, func, insert, select, text, update};

use crate::backend_tests;
use crate::support::{Backend, TestDb, ddl};

struct Account;

impl HasTable for Account {
    const TABLE_NAME: &'static str = "accounts";
    fn table() -> Arc<Table> {
        static T: OnceLock<Arc<Table>> = OnceLock::new();
        Arc::clone(T.get_or_init(|| {
            Arc::new(
                Table::new("accounts")
                    .column(Col::new("id", SqlType::BigInt).primary_key())
                    .column(Col::new("name", SqlType::varchar(40)).not_null().unique())
                    .column(Col::new("balance", SqlType::BigInt).not_null())
                    .column(Col::new("note", SqlType::Text)),
            )
        }))
    }
}

impl Account {
    const id: Column<Account, i64> = Column::new("id");
    const name: Column<Account, String> = Column::new("name");
    const balance: Column<Account, i64> = Column::new("balance");
    const note: Column<Account, Option<String>> = Column::new("note");
}

backend_tests!(
    insert_update_delete_change_the_rows,
    multi_row_insert_and_insert_from_select,
    upserts_per_dialect,
    returning_where_the_dialect_has_it,
    an_upsert_that_updated_reports_no_older_insert_id,
    rows_affected_counts_rows_matched_even_when_unchanged,
);

async fn setup(db: &TestDb) -> Engine {
    let engine = db.engine().await;
    let pk = ddl(
        db,
        "INTEGER PRIMARY KEY AUTOINCREMENT",
        "BIGSERIAL PRIMARY KEY",
        "BIGINT AUTO_INCREMENT PRIMARY KEY",
    );
    engine
        .execute(text(format!(
            "CREATE TABLE accounts (id {pk}, name VARCHAR(40) NOT NULL UNIQUE, balance BIGINT NOT NULL, note TEXT)"
        )))
        .await
        .unwrap();
    engine
}

async fn balances(engine: &Engine) -> Vec<(String, i64)> {
    engine
        .fetch_all(select((Account::name, Account::balance)).order_by(Account::name.asc()))
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
        .collect()
}

async fn insert_update_delete_change_the_rows(db: &TestDb) {
    let engine = setup(db).await;
    let done = engine
        .execute(
            insert(Account::table()).values((Account::name.set("ann"), Account::balance.set(100))),
        )
        .await
        .unwrap();
    assert_eq!(done.rows_affected(), 1);
    engine
        .execute(insert(Account::table()).values((
            Account::name.set("bob"),
            Account::balance.set(5),
            Account::note.set(Some("vip")),
        )))
        .await
        .unwrap();
    let moved = engine
        .execute(
            update(Account::table())
                .set(Account::balance.set(Account::balance - 30))
                .filter(Account::name.eq("ann")),
        )
        .await
        .unwrap();
    assert_eq!(moved.rows_affected(), 1);
    engine
        .execute(
            update(Account::table())
                .set(Account::balance.set(Account::balance + 30))
                .filter(Account::note.eq("vip")),
        )
        .await
        .unwrap();
    assert_eq!(
        balances(&engine).await,
        [("ann".to_owned(), 70), ("bob".to_owned(), 35)]
    );
    let gone = engine
        .execute(delete(Account::table()).filter(Account::balance.lt(50)))
        .await
        .unwrap();
    assert_eq!(gone.rows_affected(), 1);
    assert_eq!(balances(&engine).await, [("ann".to_owned(), 70)]);
    // A constraint violation from a built statement names the constraint's column.
    let err = engine
        .execute(
            insert(Account::table()).values((Account::name.set("ann"), Account::balance.set(1))),
        )
        .await
        .unwrap_err();
    assert!(err.is_unique_violation(), "{err:?}");
}

async fn multi_row_insert_and_insert_from_select(db: &TestDb) {
    let engine = setup(db).await;
    let rows: Vec<_> = (1..=50)
        .map(|i| {
            (
                Account::name.set(format!("user{i:02}")),
                Account::balance.set(i64::from(i)),
            )
        })
        .collect();
    let done = engine
        .execute(insert(Account::table()).values_many(rows))
        .await
        .unwrap();
    assert_eq!(done.rows_affected(), 50);
    let total: i64 = engine
        .fetch_one(select(func::sum(Account::balance)))
        .await
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(total, 50 * 51 / 2);
    // Copy the rich ones under new names with INSERT ... SELECT.
    let copy = insert(Account::table()).from_select(
        ["name", "balance"],
        select((Account::name.concat("_copy"), Account::balance * 2))
            .filter(Account::balance.gt(45)),
    );
    let done = engine.execute(copy).await.unwrap();
    assert_eq!(done.rows_affected(), 5);
    let copied: i64 = engine
        .fetch_one(
            select(func::count_star())
                .from(Account::table())
                .filter(Account::name.like("%_copy")),
        )
        .await
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(copied, 5);
}

async fn upserts_per_dialect(db: &TestDb) {
    let engine = setup(db).await;
    engine
        .execute(
            insert(Account::table()).values((Account::name.set("ann"), Account::balance.set(10))),
        )
        .await
        .unwrap();
    // DO NOTHING: the existing row stays.
    engine
        .execute(
            insert(Account::table())
                .values((Account::name.set("ann"), Account::balance.set(999)))
                .on_conflict_do_nothing(["name"]),
        )
        .await
        .unwrap();
    assert_eq!(balances(&engine).await, [("ann".to_owned(), 10)]);
    // DO UPDATE: add the proposed amount to the existing one; a new name inserts.
    let upsert = |name: &str, amount: i64| {
        insert(Account::table())
            .values((Account::name.set(name), Account::balance.set(amount)))
            .on_conflict_do_update(
                ["name"],
                Account::balance.set(Account::balance + excluded(Account::balance)),
            )
    };
    engine.execute(upsert("ann", 5)).await.unwrap();
    engine.execute(upsert("cid", 7)).await.unwrap();
    assert_eq!(
        balances(&engine).await,
        [("ann".to_owned(), 15), ("cid".to_owned(), 7)]
    );
}

/// Issue 8: the documentation said MySQL counts rows *changed*; the engine's MySQL
/// connections count rows *matched* (sqlx sets CLIENT_FOUND_ROWS), as PostgreSQL and
/// SQLite do, which is what version checks rely on. Pinned here.
async fn rows_affected_counts_rows_matched_even_when_unchanged(db: &TestDb) {
    let engine = setup(db).await;
    engine
        .execute(insert(Account::table()).values_many([
            (Account::name.set("ann"), Account::balance.set(5)),
            (Account::name.set("bob"), Account::balance.set(5)),
            (Account::name.set("cid"), Account::balance.set(9)),
        ]))
        .await
        .unwrap();
    let set_five = |filter| {
        update(Account::table())
            .set(Account::balance.set(5))
            .filter(filter)
    };
    // Two rows already hold 5, one changes: all three matched.
    let done = engine
        .execute(set_five(Account::balance.ge(0)))
        .await
        .unwrap();
    assert_eq!(done.rows_affected(), 3);
    // Nothing changes at all: still every matched row.
    let done = engine
        .execute(set_five(Account::name.eq("ann")))
        .await
        .unwrap();
    assert_eq!(done.rows_affected(), 1);
    let done = engine
        .execute(set_five(Account::name.eq("nobody")))
        .await
        .unwrap();
    assert_eq!(done.rows_affected(), 0);
    if db.backend == Backend::MySql {
        // ON DUPLICATE KEY UPDATE: 2 for a row it changed, 1 for a row left as it was.
        let upsert = |amount: i64| {
            insert(Account::table())
                .values((Account::name.set("ann"), Account::balance.set(amount)))
                .on_duplicate_key_update(Account::balance.set(amount))
        };
        assert_eq!(engine.execute(upsert(6)).await.unwrap().rows_affected(), 2);
        assert_eq!(engine.execute(upsert(6)).await.unwrap().rows_affected(), 1);
    }
}

/// Issue 8: on SQLite an upsert that took its UPDATE path reported, as its
/// `last_insert_id()`, an older insert's id from the same pooled connection. It reports
/// none now (MySQL may report the updated row's own id); one that inserted reports the
/// new row's id.
async fn an_upsert_that_updated_reports_no_older_insert_id(db: &TestDb) {
    let engine = setup(db).await;
    engine
        .execute(text("CREATE TABLE other (id INTEGER PRIMARY KEY)"))
        .await
        .unwrap();
    let mut conn = engine.connect().await.unwrap();
    let upsert = |name: &str, amount: i64| {
        insert(Account::table())
            .values((Account::name.set(name), Account::balance.set(amount)))
            .on_conflict_do_update(
                ["name"],
                Account::balance.set(Account::balance + excluded(Account::balance)),
            )
    };
    let id_of = async |conn: &mut orm::Connection, name: &str| -> i64 {
        conn.fetch_one(select(Account::id).filter(Account::name.eq(name)))
            .await
            .unwrap()
            .get(0)
            .unwrap()
    };
    let first = conn.execute(upsert("ann", 1)).await.unwrap();
    let ann = id_of(&mut conn, "ann").await;
    if db.backend != Backend::Postgres {
        assert_eq!(first.last_insert_id(), Some(ann));
    }
    // An insert elsewhere on the same connection, then an upsert that updates.
    conn.execute(text("INSERT INTO other (id) VALUES (77)"))
        .await
        .unwrap();
    let updated = conn.execute(upsert("ann", 2)).await.unwrap();
    assert!(updated.rows_affected() >= 1);
    match db.backend {
        // MySQL reports the updated row's own key.
        Backend::MySql => assert!(
            updated.last_insert_id().is_none_or(|id| id == ann),
            "{:?}",
            updated.last_insert_id()
        ),
        _ => assert_eq!(updated.last_insert_id(), None),
    }
    // An upsert that inserts reports its row's id, also after a delete.
    let cid = conn.execute(upsert("cid", 3)).await.unwrap();
    let cid_id = id_of(&mut conn, "cid").await;
    conn.execute(delete(Account::table()).filter(Account::name.eq("cid")))
        .await
        .unwrap();
    let dee = conn.execute(upsert("dee", 4)).await.unwrap();
    let dee_id = id_of(&mut conn, "dee").await;
    if db.backend != Backend::Postgres {
        assert_eq!(cid.last_insert_id(), Some(cid_id));
        assert_eq!(dee.last_insert_id(), Some(dee_id));
    } else {
        assert_eq!((cid.last_insert_id(), dee.last_insert_id()), (None, None));
    }
}

async fn returning_where_the_dialect_has_it(db: &TestDb) {
    let engine = setup(db).await;
    let stmt = insert(Account::table())
        .values_many([
            (Account::name.set("x"), Account::balance.set(1)),
            (Account::name.set("y"), Account::balance.set(2)),
        ])
        .returning((Account::id, Account::name));
    if engine.dialect() == Dialect::MySql {
        assert!(matches!(
            engine.execute(stmt).await,
            Err(Error::Unsupported { .. })
        ));
        return;
    }
    let done = engine.execute(stmt).await.unwrap();
    let ids: Vec<i64> = done.rows().iter().map(|r| r.get("id").unwrap()).collect();
    assert_eq!(ids.len(), 2);
    assert!(ids[0] < ids[1]);
    let deleted = engine
        .execute(
            delete(Account::table())
                .filter(Account::id.eq(ids[0]))
                .returning(Account::name),
        )
        .await
        .unwrap();
    assert_eq!(deleted.rows()[0].get::<String>("name").unwrap(), "x");
    let updated = engine
        .execute(
            update(Account::table())
                .set(Account::balance.set(0))
                .returning(Account::id),
        )
        .await;
    match db.backend {
        // MariaDB has INSERT/DELETE ... RETURNING but not UPDATE.
        Backend::MySql => assert!(matches!(updated, Err(Error::Unsupported { .. }))),
        _ => assert_eq!(updated.unwrap().rows().len(), 1),
    }
}

/// MySQL (forced on the MariaDB server here) has no RETURNING: a single-row INSERT with
/// RETURNING runs as the INSERT then a SELECT by primary key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_insert_returning_is_emulated() {
    crate::support::run(
        Backend::MySql,
        module_path!(),
        "mysql_insert_returning_is_emulated",
        async |db: &TestDb| {
            setup(db).await;
            let engine = db
                .builder()
                .dialect(Dialect::MySql)
                .connect()
                .await
                .unwrap();
            assert_eq!(engine.dialect(), Dialect::MySql);
            // The key is generated: LAST_INSERT_ID() finds the row.
            let done = engine
                .execute(
                    insert(Account::table())
                        .values((Account::name.set("gen"), Account::balance.set(3)))
                        .returning((Account::id, Account::name, Account::balance)),
                )
                .await
                .unwrap();
            assert_eq!(done.rows_affected(), 1);
            let row = &done.rows()[0];
            assert_eq!(
                row.get::<i64>("id").unwrap(),
                done.last_insert_id().unwrap()
            );
            assert_eq!(
                (
                    row.get::<String>("name").unwrap(),
                    row.get::<i64>("balance").unwrap()
                ),
                ("gen".to_owned(), 3)
            );
            // Returned expressions keep their own binds; a borrowed statement is emulated too.
            let stmt = insert(Account::table())
                .values((Account::name.set("gen2"), Account::balance.set(5)))
                .returning((Account::id, (Account::balance + 100).label("s")));
            let done = engine.execute(&stmt).await.unwrap();
            assert_eq!(done.rows()[0].get::<i64>("s").unwrap(), 105);
            // The key is given: the SELECT uses it; fetch_one works too, inside a transaction.
            let mut tx = engine.begin().await.unwrap();
            let row = tx
                .fetch_one(
                    insert(Account::table())
                        .values((
                            Account::id.set(500),
                            Account::name.set("given"),
                            Account::balance.set(9),
                        ))
                        .returning(Account::balance),
                )
                .await
                .unwrap();
            assert_eq!(row.get::<i64>("balance").unwrap(), 9);
            tx.commit().await.unwrap();
            // Several rows cannot be told apart: a clear error, and nothing inserted.
            let err = engine
                .execute(
                    insert(Account::table())
                        .values_many([
                            (Account::name.set("a"), Account::balance.set(1)),
                            (Account::name.set("b"), Account::balance.set(2)),
                        ])
                        .returning(Account::id),
                )
                .await
                .unwrap_err();
            assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
            assert!(
                err.to_string().contains("emulated for single-row inserts"),
                "{err}"
            );
            assert_eq!(balances(&engine).await.len(), 3);
        },
    )
    .await;
}

/// Issue 8: MySQL's emulated `INSERT ... RETURNING` took a key given as NULL or 0 as
/// final, so its SELECT found nothing and said `Ok`; the INSERT and its SELECT were not
/// one unit. Now NULL and 0 mean "generate" (as MySQL reads them), the two statements
/// commit or roll back together, and a SELECT that finds no row is an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_emulated_returning_is_atomic_and_takes_a_null_or_zero_key_as_generated() {
    use orm::Value;
    use orm::sql::Assignment;
    crate::support::run(
        Backend::MySql,
        module_path!(),
        "mysql_emulated_returning_is_atomic",
        async |db: &TestDb| {
            setup(db).await;
            let engine = db
                .builder()
                .dialect(Dialect::MySql)
                .connect()
                .await
                .unwrap();
            for (name, key) in [("null key", Value::Null), ("zero key", Value::I64(0))] {
                let done = engine
                    .execute(
                        insert(Account::table())
                            .values(vec![
                                Assignment::new("id", key),
                                Assignment::new("name", name),
                                Assignment::new("balance", 1),
                            ])
                            .returning((Account::id, Account::name)),
                    )
                    .await
                    .unwrap();
                assert_eq!(done.rows().len(), 1, "{name}");
                let id: i64 = done.rows()[0].get("id").unwrap();
                assert!(id > 0, "{name}: {id}");
                assert_eq!(Some(id), done.last_insert_id());
                assert_eq!(done.rows()[0].get::<String>("name").unwrap(), name);
            }
            // The INSERT succeeds and the SELECT fails (the table as declared has a
            // column the database does not): the row is rolled back with it.
            let declared = Arc::new(
                (*Account::table())
                    .clone()
                    .column(Col::new("ghost", SqlType::Integer)),
            );
            let failing = || {
                insert(&declared)
                    .values(vec![
                        Assignment::new("name", "ghost row"),
                        Assignment::new("balance", 1),
                    ])
                    .returning(declared.c("ghost"))
            };
            let err = engine.execute(failing()).await.unwrap_err();
            assert!(err.as_database_error().is_some(), "{err:?}");
            // Inside a transaction it is a savepoint: the transaction's own work stays.
            let mut tx = engine.begin().await.unwrap();
            tx.execute(
                insert(Account::table())
                    .values((Account::name.set("kept"), Account::balance.set(2))),
            )
            .await
            .unwrap();
            tx.execute(failing()).await.unwrap_err();
            tx.commit().await.unwrap();
            let names: Vec<String> = balances(&engine)
                .await
                .into_iter()
                .map(|(n, _)| n)
                .collect();
            assert_eq!(names, ["kept", "null key", "zero key"]);
            // A key given as an expression would be evaluated twice: refused.
            let err = engine
                .execute(
                    insert(Account::table())
                        .values((
                            Account::id.set(Account::balance + 1),
                            Account::name.set("expr"),
                            Account::balance.set(1),
                        ))
                        .returning(Account::id),
                )
                .await
                .unwrap_err();
            assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
        },
    )
    .await;
}

#[tokio::test]
async fn a_dialect_from_another_family_is_refused() {
    let err = orm::Engine::builder("sqlite::memory:")
        .dialect(Dialect::Postgres)
        .connect()
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid database URL `sqlite::memory:`: the postgresql dialect cannot speak to a sqlite database"
    );
}
