//! SQL NULL and JSON `null` stay distinct on every database: `None` (or `Value::Null`)
//! stores SQL NULL, `Some(serde_json::Value::Null)` (or `Value::Json(Null)`) stores the
//! JSON document `null`; each reads back as what it was, and only the first `IS NULL`.

use orm::prelude::*;
use orm::sql::Assignment;
use orm::{Value, insert, select};
use serde_json::json;

use crate::backend_tests;
use crate::support::TestDb;

backend_tests!(sql_null_and_json_null_stay_distinct);

#[derive(Model, Debug, Clone, PartialEq)]
#[orm(table = "jn_docs")]
pub struct Doc {
    #[orm(primary_key, autoincrement = false)]
    pub id: i64,
    pub body: Option<serde_json::Value>,
}

async fn sql_null_and_json_null_stay_distinct(db: &TestDb) {
    let engine = db.engine().await;
    MetaData::new()
        .with::<Doc>()
        .create_all(&engine)
        .await
        .unwrap();
    // Through the session (typed values) ...
    let mut s = Session::new(&engine);
    s.add(Doc { id: 1, body: None });
    s.add(Doc {
        id: 2,
        body: Some(serde_json::Value::Null),
    });
    s.add(Doc {
        id: 3,
        body: Some(json!({"a": null})),
    });
    s.commit().await.unwrap();
    // ... through typed columns, and through dynamic values.
    for (id, body) in [(4i64, None), (5, Some(serde_json::Value::Null))] {
        engine
            .execute(insert(Doc::table()).values((Doc::id.set(id), Doc::body.set(body))))
            .await
            .unwrap();
    }
    for (id, body) in [
        (6i64, Value::Null),
        (7, Value::Json(serde_json::Value::Null)),
    ] {
        engine
            .execute(
                insert(Doc::table())
                    .values([Assignment::new("id", id), Assignment::new("body", body)]),
            )
            .await
            .unwrap();
    }
    let mut s = Session::new(&engine);
    let got: Vec<(i64, Option<serde_json::Value>)> = s
        .query::<Doc>()
        .order_by(Doc::id.asc())
        .all()
        .await
        .unwrap()
        .iter()
        .map(|d| {
            let d = d.read().unwrap();
            (d.id, d.body.clone())
        })
        .collect();
    s.commit().await.unwrap();
    let json_null = Some(serde_json::Value::Null);
    assert_eq!(
        got,
        [
            (1, None),
            (2, json_null.clone()),
            (3, Some(json!({"a": null}))),
            (4, None),
            (5, json_null.clone()),
            (6, None),
            (7, json_null),
        ]
    );
    let sql_nulls: Vec<i64> = engine
        .fetch_all(
            select(Doc::id)
                .filter(Doc::body.is_null())
                .order_by(Doc::id.asc()),
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0).unwrap())
        .collect();
    assert_eq!(sql_nulls, [1, 4, 6]);
    // A row read as values: SQL NULL is `Value::Null`, JSON null is not.
    let row = engine
        .fetch_one(select(Doc::body).filter(Doc::id.eq(2)))
        .await
        .unwrap();
    assert!(!row.values().unwrap()[0].is_null());
    assert_eq!(
        row.get::<serde_json::Value>(0).unwrap(),
        serde_json::Value::Null
    );
}
