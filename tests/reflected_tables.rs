//! Reflected tables in the Core: what `Table::autoload` returns goes straight into
//! `select(...).from(&t)`, `insert(&t)`, `update(&t)` and `delete(&t)`, and a reflected
//! table aliased with `t.alias("m")` joins itself, its columns addressed through the
//! alias, on every database.

use orm::schema::Table;
use orm::sql::{Assignment, SelectStatement};
use orm::{Engine, delete, insert, select, text, update};

use crate::backend_tests;
use crate::support::{Statements, TestDb, ddl};

backend_tests!(
    autoloaded_tables_build_statements_as_they_are,
    a_reflected_table_joins_itself_through_an_alias,
);

async fn names(engine: &Engine, stmt: SelectStatement) -> Vec<String> {
    engine
        .fetch_all(stmt)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0).unwrap())
        .collect()
}

async fn autoloaded_tables_build_statements_as_they_are(db: &TestDb) {
    let engine = db.engine().await;
    let id = ddl(
        db,
        "INTEGER PRIMARY KEY",
        "SERIAL PRIMARY KEY",
        "INT AUTO_INCREMENT PRIMARY KEY",
    );
    engine
        .execute(text(format!(
            "CREATE TABLE rt_users (id {id}, name VARCHAR(40) NOT NULL, visits INTEGER)"
        )))
        .await
        .unwrap();
    let users = Table::autoload(&engine, "rt_users").await.unwrap();
    engine
        .execute(insert(&users).values_many([
            (Assignment::new("name", "ann"), Assignment::new("visits", 1)),
            (Assignment::new("name", "bob"), Assignment::new("visits", 2)),
        ]))
        .await
        .unwrap();
    engine
        .execute(
            update(&users)
                .set(Assignment::new("visits", 10))
                .filter(users.c("name").eq("bob")),
        )
        .await
        .unwrap();
    let rows = engine
        .fetch_all(
            select((users.c("name"), users.c("visits")))
                .from(&users)
                .order_by(users.c("id").asc()),
        )
        .await
        .unwrap();
    let got: Vec<(String, i32)> = rows
        .iter()
        .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
        .collect();
    assert_eq!(got, [("ann".to_owned(), 1), ("bob".to_owned(), 10)]);
    engine
        .execute(delete(&users).filter(users.c("visits").lt(5)))
        .await
        .unwrap();
    assert_eq!(
        names(&engine, select(users.c("name")).from(&users)).await,
        ["bob"]
    );
    // The same Arc serves another table's statements and a second autoload alike.
    let again = Table::autoload(&engine, "rt_users").await.unwrap();
    assert_eq!(*again, *users);
    assert_eq!(
        names(&engine, select(again.c("name")).from(again.clone())).await,
        ["bob"]
    );
}

async fn a_reflected_table_joins_itself_through_an_alias(db: &TestDb) {
    let engine = db.engine().await;
    engine
        .execute(text(
            "CREATE TABLE employees (employee_id INTEGER PRIMARY KEY, \
             name VARCHAR(40) NOT NULL, reports_to INTEGER REFERENCES employees (employee_id))",
        ))
        .await
        .unwrap();
    let e = Table::autoload(&engine, "employees").await.unwrap();
    for (id, name, boss) in [
        (1, "Andrew", None),
        (2, "Nancy", Some(1)),
        (3, "Jane", Some(2)),
    ] {
        engine
            .execute(insert(&e).values((
                Assignment::new("employee_id", id),
                Assignment::new("name", name),
                Assignment::new("reports_to", boss),
            )))
            .await
            .unwrap();
    }
    let m = e.alias("m");
    let log = Statements::record(&engine);
    let rows = engine
        .fetch_all(
            select((e.c("name"), m.c("name").label("manager")))
                .from(&e)
                .join(&m, e.c("reports_to").eq(m.c("employee_id")))
                .order_by(e.c("employee_id").asc()),
        )
        .await
        .unwrap();
    let pairs: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r.get("name").unwrap(), r.get("manager").unwrap()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("Nancy".to_owned(), "Andrew".to_owned()),
            ("Jane".to_owned(), "Nancy".to_owned())
        ]
    );
    let sql = log.take().remove(0);
    let q = |s: &str| match db.dialect() {
        orm::Dialect::MySql | orm::Dialect::MariaDb => format!("`{s}`"),
        _ => format!("\"{s}\""),
    };
    assert!(
        sql.contains(&format!("JOIN {} AS {}", q("employees"), q("m"))),
        "{sql}"
    );

    // A LEFT JOIN keeps the one without a manager; the alias filters, as any table.
    let rows = engine
        .fetch_all(
            select((e.c("name"), m.c("name")))
                .from(&e)
                .left_join(&m, e.c("reports_to").eq(m.c("employee_id")))
                .filter(m.c("name").is_null().or(m.c("name").ne("Nancy")))
                .order_by(e.c("employee_id").asc()),
        )
        .await
        .unwrap();
    let got: Vec<(String, Option<String>)> = rows
        .iter()
        .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            ("Andrew".to_owned(), None),
            ("Nancy".to_owned(), Some("Andrew".to_owned()))
        ]
    );

    // Two levels: each employee's manager's manager, through two aliases.
    let (boss, top) = (e.alias("boss"), e.alias("top"));
    let stmt = select((e.c("name"), top.c("name")))
        .from(&e)
        .join(&boss, e.c("reports_to").eq(boss.c("employee_id")))
        .join(top.clone(), boss.c("reports_to").eq(top.c("employee_id")));
    assert_eq!(
        engine
            .fetch_all(stmt)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
            .collect::<Vec<(String, String)>>(),
        [("Jane".to_owned(), "Andrew".to_owned())]
    );
}
