//! Text values into enum columns, with no cast written by the user: PostgreSQL's own
//! enum types (`CREATE TYPE mood AS ENUM (...)`, reflected as `SqlType::NativeEnum`, or
//! declared so in code) get their binds cast to the type in INSERT, UPDATE SET, upsert
//! SET, comparisons and IN lists; MySQL's `ENUM(...)` columns and the VARCHAR + CHECK
//! enums our DDL creates take the same statements unchanged, on every database.

use std::sync::Arc;

use orm::schema::{Column, MetaData, SqlType, Table};
use orm::sql::{Assignment, SelectStatement};
use orm::{Dialect, Engine, Value, insert, select, text, update};

use crate::backend_tests;
use crate::support::{Backend, Statements, TestDb};

backend_tests!(
    text_binds_into_a_database_enum_column_need_no_cast,
    enums_declared_in_code_take_text_binds,
    an_enum_type_of_another_schema_is_cast_to_by_its_qualified_name,
);

/// `(id, feeling)` rows of `stmt`, which selects them.
async fn rows(engine: &Engine, stmt: SelectStatement) -> Vec<(i32, Option<String>)> {
    engine
        .fetch_all(stmt)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
        .collect()
}

fn row(id: i32, feeling: Option<&str>) -> (i32, Option<String>) {
    (id, feeling.map(str::to_owned))
}

/// The statements every case runs on a table `(id, feeling)` whose `feeling` is
/// an enum of 'happy', 'sad', 'ok' (however the database spells it).
async fn exercise(engine: &Engine, t: &Arc<Table>) {
    let f = || t.c("feeling");
    let all = || {
        select((t.c("id"), t.c("feeling")))
            .from(t)
            .order_by(t.c("id").asc())
    };
    engine
        .execute(insert(t).values_many([
            (
                Assignment::new("id", 1),
                Assignment::new("feeling", "happy"),
            ),
            (Assignment::new("id", 2), Assignment::new("feeling", "sad")),
            (
                Assignment::new("id", 3),
                Assignment::new("feeling", Value::Null),
            ),
        ]))
        .await
        .unwrap();
    engine
        .execute(insert(t).values((
            Assignment::new("id", 4),
            Assignment::new("feeling", Value::Text("ok".into())),
        )))
        .await
        .unwrap();
    assert_eq!(
        rows(engine, all()).await,
        [
            row(1, Some("happy")),
            row(2, Some("sad")),
            row(3, None),
            row(4, Some("ok"))
        ]
    );
    // WHERE col = value, <> value, IN and NOT IN lists.
    assert_eq!(
        rows(engine, all().filter(f().eq("sad"))).await,
        [row(2, Some("sad"))]
    );
    assert_eq!(
        rows(engine, all().filter(f().ne("sad"))).await,
        [row(1, Some("happy")), row(4, Some("ok"))]
    );
    assert_eq!(
        rows(engine, all().filter(f().in_(["ok", "happy"]))).await,
        [row(1, Some("happy")), row(4, Some("ok"))]
    );
    assert_eq!(
        rows(engine, all().filter(f().not_in(["ok", "happy"]))).await,
        [row(2, Some("sad"))]
    );
    // UPDATE SET, filtered by the enum.
    let done = engine
        .execute(
            update(t)
                .set(Assignment::new("feeling", "ok"))
                .filter(f().eq("happy").or(f().is_null())),
        )
        .await
        .unwrap();
    assert_eq!(done.rows_affected(), 2);
    assert_eq!(
        rows(engine, all().filter(f().eq("ok"))).await,
        [row(1, Some("ok")), row(3, Some("ok")), row(4, Some("ok"))]
    );
    // An upsert's SET.
    let upsert = insert(t)
        .values((
            Assignment::new("id", 2),
            Assignment::new("feeling", "happy"),
        ))
        .on_conflict_do_update(["id"], Assignment::new("feeling", "happy"));
    engine.execute(upsert).await.unwrap();
    assert_eq!(
        rows(engine, all().filter(t.c("id").eq(2))).await,
        [row(2, Some("happy"))]
    );
}

async fn text_binds_into_a_database_enum_column_need_no_cast(db: &TestDb) {
    let engine = db.engine().await;
    match db.backend {
        Backend::Postgres => {
            engine
                .execute_script(
                    "CREATE TYPE mood AS ENUM ('happy', 'sad', 'ok'); \
                     CREATE TABLE people (id INTEGER PRIMARY KEY, feeling mood)",
                )
                .await
                .unwrap();
        }
        Backend::MySql => {
            engine
                .execute(text(
                    "CREATE TABLE people (id INTEGER PRIMARY KEY, feeling ENUM('happy', 'sad', 'ok'))",
                ))
                .await
                .unwrap();
        }
        Backend::Sqlite => {
            engine
                .execute(text(
                    "CREATE TABLE people (id INTEGER PRIMARY KEY, feeling VARCHAR(5) \
                     CHECK (feeling IN ('happy', 'sad', 'ok')))",
                ))
                .await
                .unwrap();
        }
    }
    let t = Table::autoload(&engine, "people").await.unwrap();
    let variants = ["happy", "sad", "ok"].map(str::to_owned).to_vec();
    let want = match db.backend {
        Backend::Postgres => SqlType::NativeEnum {
            schema: None,
            name: "mood".into(),
            variants,
        },
        Backend::MySql => SqlType::Enum {
            name: "feeling".into(),
            variants,
        },
        Backend::Sqlite => SqlType::varchar(5),
    };
    assert_eq!(t.columns[1].sql_type, want);
    let log = Statements::record(&engine);
    exercise(&engine, &t).await;
    let sent = log.take();
    let casts = sent.iter().filter(|s| s.contains(r#"AS "mood""#)).count();
    if db.dialect() == Dialect::Postgres {
        // Every statement but two (the SELECT of all rows, the one by id) binds a
        // value into the enum, or compares one with it.
        assert!(
            sent.iter()
                .any(|s| s.contains(r#"= ANY(CAST($1 AS "mood"[]))"#)),
            "{sent:#?}"
        );
        assert_eq!(casts, sent.len() - 2, "{sent:#?}");
    } else {
        assert_eq!(casts, 0, "{sent:#?}");
    }
    // A value outside the enum is the database's error, not a silent store.
    let err = engine
        .execute(insert(&t).values((
            Assignment::new("id", 9),
            Assignment::new("feeling", "angry"),
        )))
        .await;
    if db.backend != Backend::MySql {
        // (MySQL in non-strict mode stores '' instead; the test server's mode decides.)
        assert!(err.is_err(), "{err:?}");
    }
}

async fn enums_declared_in_code_take_text_binds(db: &TestDb) {
    let engine = db.engine().await;
    // Our DDL's enum: VARCHAR + CHECK on every database, text binds as they are.
    let declared = Table::new("people")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new(
            "feeling",
            SqlType::enumeration("mood", ["happy", "sad", "ok"]),
        ));
    let md = MetaData::new().with_table(declared);
    md.create_all(&engine).await.unwrap();
    let t = md.table("people").unwrap();
    exercise(&engine, &t).await;
    md.drop_all(&engine).await.unwrap();

    // A table declared in code over a database enum type: on PostgreSQL the type must
    // exist (CREATE TABLE names it); elsewhere it is VARCHAR + CHECK.
    if db.dialect() == Dialect::Postgres {
        engine
            .execute(text("CREATE TYPE feelings AS ENUM ('happy', 'sad', 'ok')"))
            .await
            .unwrap();
    }
    // (Another table name: PostgreSQL refuses a statement prepared over the dropped
    // table's VARCHAR column once the same name has an enum column.)
    let native = Table::new("people_native")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new(
            "feeling",
            SqlType::native_enum("feelings", ["happy", "sad", "ok"]),
        ));
    let md = MetaData::new().with_table(native);
    md.create_all(&engine).await.unwrap();
    let t = md.table("people_native").unwrap();
    exercise(&engine, &t).await;
    let reflected = Table::autoload(&engine, "people_native").await.unwrap();
    let want = match db.backend {
        Backend::Postgres => SqlType::native_enum("feelings", ["happy", "sad", "ok"]),
        _ => SqlType::varchar(5),
    };
    assert_eq!(reflected.columns[1].sql_type, want);
    md.drop_all(&engine).await.unwrap();
}

async fn an_enum_type_of_another_schema_is_cast_to_by_its_qualified_name(db: &TestDb) {
    if db.dialect() != Dialect::Postgres {
        return; // Only PostgreSQL has enum types of their own.
    }
    let engine = db.engine().await;
    let (types, other) = (format!("{}_t", db.name), format!("{}_x", db.name));
    for ns in [&types, &other] {
        engine
            .execute(text(format!("DROP SCHEMA IF EXISTS \"{ns}\" CASCADE")))
            .await
            .unwrap();
        engine
            .execute(text(format!("CREATE SCHEMA \"{ns}\"")))
            .await
            .unwrap();
    }
    // A table in a schema off the search path, its enum type in a third schema; and a
    // table there whose enum type lives next to it.
    engine
        .execute_script(&format!(
            "CREATE TYPE \"{types}\".mood AS ENUM ('happy', 'sad', 'ok'); \
             CREATE TYPE \"{other}\".mood AS ENUM ('happy', 'sad', 'ok'); \
             CREATE TABLE \"{other}\".people (id INTEGER PRIMARY KEY, feeling \"{types}\".mood); \
             CREATE TABLE \"{other}\".local_people (id INTEGER PRIMARY KEY, feeling \"{other}\".mood)"
        ))
        .await
        .unwrap();
    let t = Table::autoload_in_schema(&engine, &other, "people")
        .await
        .unwrap();
    assert_eq!(
        t.columns[1].sql_type,
        SqlType::NativeEnum {
            schema: Some(types.clone()),
            name: "mood".into(),
            variants: ["happy", "sad", "ok"].map(str::to_owned).to_vec(),
        }
    );
    let log = Statements::record(&engine);
    exercise(&engine, &t).await;
    assert!(
        log.take()
            .iter()
            .any(|s| s.contains(&format!(r#"CAST($2 AS "{types}"."mood")"#))),
    );
    let local = Table::autoload_in_schema(&engine, &other, "local_people")
        .await
        .unwrap();
    assert_eq!(
        local.columns[1].sql_type,
        SqlType::native_enum("mood", ["happy", "sad", "ok"])
    );
    exercise(&engine, &local).await;
    assert!(
        log.take()
            .iter()
            .any(|s| s.contains(&format!(r#"CAST($2 AS "{other}"."mood")"#))),
    );
    for ns in [&other, &types] {
        engine
            .execute(text(format!("DROP SCHEMA \"{ns}\" CASCADE")))
            .await
            .unwrap();
    }
}
