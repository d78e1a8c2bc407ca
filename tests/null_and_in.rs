//! Comparisons that must mean what they say: a dynamic column compared with
//! `Value::Null` is `IS NULL` (not `= $1`, which matches nothing), and `in_(list)` on
//! PostgreSQL is `= ANY($1)` with one array bind (one SQL text for any list length).

use std::sync::Arc;

use orm::schema::{Column, MetaData, SqlType, Table};
use orm::sql::Assignment;
use orm::{Engine, Value, delete, insert, select, update};

use crate::backend_tests;
use crate::support::{Statements, TestDb};

backend_tests!(dynamic_eq_null_is_is_null, in_lists_per_dialect);

/// `items (id BIGINT PRIMARY KEY, note TEXT NULL)` with rows 1 'a', 2 NULL, 3 NULL, 4 'b'.
async fn items(db: &TestDb) -> (Engine, Arc<Table>) {
    let engine = db.engine().await;
    let t = Table::new("items")
        .column(Column::new("id", SqlType::BigInt).primary_key())
        .column(Column::new("note", SqlType::Text).nullable(true));
    MetaData::new()
        .with_table(t.clone())
        .create_all(&engine)
        .await
        .unwrap();
    let t = Arc::new(t);
    for (id, note) in [
        (1i64, Value::Text("a".into())),
        (2, Value::Null),
        (3, Value::Null),
        (4, Value::Text("b".into())),
    ] {
        engine
            .execute(insert(&t).values([Assignment::new("id", id), Assignment::new("note", note)]))
            .await
            .unwrap();
    }
    (engine, t)
}

async fn ids(engine: &Engine, stmt: orm::sql::SelectStatement) -> Vec<i64> {
    engine
        .fetch_all(stmt)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<i64>(0).unwrap())
        .collect()
}

async fn dynamic_eq_null_is_is_null(db: &TestDb) {
    let (engine, t) = items(db).await;
    let statements = Statements::record(&engine);
    let by_id = || select(t.c("id")).from(&t).order_by(t.c("id").asc());

    assert_eq!(
        ids(&engine, by_id().filter(t.c("note").eq(Value::Null))).await,
        [2, 3]
    );
    let sql = statements.take();
    let note = match db.backend {
        crate::support::Backend::MySql => "`items`.`note`",
        _ => r#""items"."note""#,
    };
    assert!(
        sql[0].contains(&format!(" WHERE {note} IS NULL ORDER BY")),
        "{sql:?}"
    );
    assert_eq!(
        ids(&engine, by_id().filter(t.c("note").ne(Value::Null))).await,
        [1, 4]
    );
    let sql = statements.take();
    assert!(sql[0].contains(" IS NOT NULL ORDER BY"), "{sql:?}");
    // A non-NULL value is still a bind.
    assert_eq!(
        ids(
            &engine,
            by_id().filter(t.c("note").eq(Value::Text("b".into())))
        )
        .await,
        [4]
    );
    let sql = statements.take();
    assert!(
        !sql[0].contains("IS NULL") && !sql[0].contains("'b'"),
        "{sql:?}"
    );
    // `Option` of a value: `None` is NULL too, `Some` a bind.
    assert_eq!(
        ids(&engine, by_id().filter(t.c("note").eq(None::<Value>))).await,
        [2, 3]
    );
    assert_eq!(
        ids(
            &engine,
            by_id().filter(t.c("note").eq(Some(Value::Text("a".into()))))
        )
        .await,
        [1]
    );
    // The same in UPDATE and DELETE.
    let done = engine
        .execute(
            update(&t)
                .set(Assignment::new("note", "filled"))
                .filter(t.c("note").eq(Value::Null)),
        )
        .await
        .unwrap();
    assert_eq!(done.rows_affected(), 2);
    let done = engine
        .execute(delete(&t).filter(t.c("note").ne(Value::Null)))
        .await
        .unwrap();
    assert_eq!(done.rows_affected(), 4);
    engine.close().await;
}

async fn in_lists_per_dialect(db: &TestDb) {
    let (engine, t) = items(db).await;
    let statements = Statements::record(&engine);
    let by_id = || select(t.c("id")).from(&t).order_by(t.c("id").asc());
    let (id, note) = match db.backend {
        crate::support::Backend::MySql => ("`items`.`id`", "`items`.`note`"),
        _ => (r#""items"."id""#, r#""items"."note""#),
    };
    let postgres = db.backend == crate::support::Backend::Postgres;
    for list in [vec![3i64], vec![4, 1, 99], (1..=1000).collect()] {
        let n = list.len();
        let want: Vec<i64> = [1, 2, 3, 4]
            .into_iter()
            .filter(|x| list.contains(x))
            .collect();
        assert_eq!(
            ids(&engine, by_id().filter(t.c("id").in_(list.clone()))).await,
            want
        );
        let not_want: Vec<i64> = [1, 2, 3, 4]
            .into_iter()
            .filter(|x| !list.contains(x))
            .collect();
        assert_eq!(
            ids(&engine, by_id().filter(t.c("id").not_in(list))).await,
            not_want
        );
        let sql = statements.take();
        let (in_sql, not_in_sql) = if postgres {
            (format!("{id} = ANY($1)"), format!("{id} <> ALL($1)"))
        } else {
            let marks = vec!["?"; n].join(", ");
            (
                format!("{id} IN ({marks})"),
                format!("{id} NOT IN ({marks})"),
            )
        };
        assert!(
            sql[0].contains(&format!(" WHERE {in_sql} ORDER BY")),
            "{}",
            &sql[0][..200.min(sql[0].len())]
        );
        assert!(
            sql[1].contains(&format!(" WHERE {not_in_sql} ORDER BY")),
            "{}",
            &sql[1][..200.min(sql[1].len())]
        );
    }
    // Text values, dynamic `Value`s; NOT IN over a NULL column is unknown for NULL rows,
    // alike on every database and in both forms.
    assert_eq!(
        ids(
            &engine,
            by_id().filter(
                t.c("note")
                    .in_([Value::Text("b".into()), Value::Text("a".into())])
            )
        )
        .await,
        [1, 4]
    );
    assert_eq!(
        ids(
            &engine,
            by_id().filter(t.c("note").not_in([Value::Text("a".into())]))
        )
        .await,
        [4]
    );
    let sql = statements.take();
    if postgres {
        assert!(sql[0].contains(&format!("{note} = ANY($1)")), "{sql:?}");
    } else {
        assert!(sql[0].contains(&format!("{note} IN (?, ?)")), "{sql:?}");
    }
    // A list with a NULL keeps IN everywhere (and matches nothing more).
    assert_eq!(
        ids(
            &engine,
            by_id().filter(t.c("id").in_([Value::I64(2), Value::Null]))
        )
        .await,
        [2]
    );
    let sql = statements.take();
    let marks = if postgres { "($1, $2)" } else { "(?, ?)" };
    assert!(sql[0].contains(&format!("{id} IN {marks}")), "{sql:?}");
    // In DELETE too.
    let done = engine
        .execute(delete(&t).filter(t.c("id").in_([1i64, 4])))
        .await
        .unwrap();
    assert_eq!(done.rows_affected(), 2);
    engine.close().await;
}
