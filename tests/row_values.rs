//! Row values: `tuple((a, b)).in_([...])` and `tuple((a, b)).eq(...)` / `.gt(...)`, run on
//! every database with every value bound; an empty list matches nothing (NOT IN: all).

#![allow(non_upper_case_globals)] // typed columns are named like fields, as the derive names them

use std::sync::{Arc, OnceLock};

use orm::schema::{Column as Col, MetaData, SqlType, Table};
use orm::sql::{Column, HasTable, SelectStatement, tuple};
use orm::{Engine, insert, select};

use crate::backend_tests;
use crate::support::{Statements, TestDb};

backend_tests!(tuple_in_and_comparisons_select_the_right_rows);

struct Line;

impl HasTable for Line {
    const TABLE_NAME: &'static str = "rv_lines";
    fn table() -> Arc<Table> {
        static T: OnceLock<Arc<Table>> = OnceLock::new();
        Arc::clone(T.get_or_init(|| {
            Arc::new(
                Table::new("rv_lines")
                    .column(Col::new("order_id", SqlType::BigInt).primary_key())
                    .column(Col::new("sku", SqlType::varchar(20)).primary_key())
                    .column(Col::new("qty", SqlType::Integer).not_null()),
            )
        }))
    }
}

impl Line {
    const order_id: Column<Line, i64> = Column::new("order_id");
    const sku: Column<Line, String> = Column::new("sku");
    const qty: Column<Line, i32> = Column::new("qty");
}

async fn keys(engine: &Engine, stmt: SelectStatement) -> Vec<(i64, String)> {
    engine
        .fetch_all(
            stmt.order_by(Line::order_id.asc())
                .order_by(Line::sku.asc()),
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
        .collect()
}

fn k(rows: &[(i64, &str)]) -> Vec<(i64, String)> {
    rows.iter().map(|(o, s)| (*o, (*s).to_owned())).collect()
}

async fn tuple_in_and_comparisons_select_the_right_rows(db: &TestDb) {
    let engine = db.engine().await;
    MetaData::new()
        .with_table((*Line::table()).clone())
        .create_all(&engine)
        .await
        .unwrap();
    engine
        .execute(insert(Line::table()).values_many([
            (Line::order_id.set(1), Line::sku.set("a"), Line::qty.set(1)),
            (Line::order_id.set(1), Line::sku.set("b"), Line::qty.set(2)),
            (Line::order_id.set(2), Line::sku.set("a"), Line::qty.set(3)),
            (Line::order_id.set(2), Line::sku.set("c"), Line::qty.set(4)),
            (Line::order_id.set(3), Line::sku.set("b"), Line::qty.set(5)),
        ]))
        .await
        .unwrap();
    let log = Statements::record(&engine);
    let all = || select((Line::order_id, Line::sku));

    let wanted = [(1, "b"), (2, "a"), (3, "a")];
    assert_eq!(
        keys(
            &engine,
            all().filter(tuple((Line::order_id, Line::sku)).in_(wanted))
        )
        .await,
        k(&[(1, "b"), (2, "a")])
    );
    let sent = log.take();
    assert!(
        !sent[0].contains("'a'") && !sent[0].contains("'b'"),
        "values are binds: {sent:?}"
    );
    assert_eq!(
        keys(
            &engine,
            all().filter(tuple((Line::order_id, Line::sku)).not_in(wanted))
        )
        .await,
        k(&[(1, "a"), (2, "c"), (3, "b")])
    );
    // An empty list: nothing is IN it, everything is NOT IN it.
    let none: Vec<(i64, String)> = Vec::new();
    assert!(
        keys(
            &engine,
            all().filter(tuple((Line::order_id, Line::sku)).in_(none.clone()))
        )
        .await
        .is_empty()
    );
    assert_eq!(
        keys(
            &engine,
            all().filter(tuple((Line::order_id, Line::sku)).not_in(none))
        )
        .await
        .len(),
        5
    );
    // Equality with a row of values, and with a row of expressions.
    assert_eq!(
        keys(
            &engine,
            all().filter(tuple((Line::order_id, Line::sku)).eq((2, "c")))
        )
        .await,
        k(&[(2, "c")])
    );
    assert_eq!(
        keys(
            &engine,
            all().filter(
                tuple((Line::order_id, Line::sku)).eq((Line::qty.cast::<i64>(), Line::sku))
            )
        )
        .await,
        k(&[(1, "a")])
    );
    // Lexicographic order: keyset pagination after (1, 'b').
    assert_eq!(
        keys(
            &engine,
            all().filter(tuple((Line::order_id, Line::sku)).gt((1, "b")))
        )
        .await,
        k(&[(2, "a"), (2, "c"), (3, "b")])
    );
    // A subquery of pairs.
    assert_eq!(
        keys(
            &engine,
            all().filter(
                tuple((Line::order_id, Line::sku))
                    .in_select(select((Line::order_id, Line::sku)).filter(Line::qty.ge(4)))
            )
        )
        .await,
        k(&[(2, "c"), (3, "b")])
    );
    engine.close().await;
}
