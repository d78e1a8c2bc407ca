//! Decimals compare as numbers on every database: on SQLite, which has no decimal type,
//! a `Decimal` binds as the number it is (an INTEGER, or a REAL when a double holds it
//! exactly in the decimal sense: at most 15 significant digits), not as text, which
//! compares greater than every number. One a double would change binds as its text.

use rust_decimal::Decimal;

use orm::schema::{Column, MetaData, SqlType, Table};
use orm::sql::Assignment;
use orm::{Engine, Row, Value, func, insert, select, text};

use crate::backend_tests;
use crate::support::chinook::{self, ChinookNames};
use crate::support::{Backend, TestDb};

backend_tests!(
    having_a_sum_greater_than_a_decimal_returns_the_rows,
    decimals_round_trip_and_compare_as_numbers,
);

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// Each row's values as text, numbers to cents.
fn table_of(rows: &[Row]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| {
            r.values()
                .unwrap()
                .into_iter()
                .map(|v| match v {
                    Value::Decimal(x) => format!("{:.2}", x.round_dp(2)),
                    Value::F64(x) => format!("{x:.2}"),
                    Value::Text(s) => s,
                    other => format!("{other:?}"),
                })
                .collect()
        })
        .collect()
}

async fn having_a_sum_greater_than_a_decimal_returns_the_rows(db: &TestDb) {
    let engine = db.engine().await;
    chinook::load(db, &engine).await;
    let c = ChinookNames(db.backend);
    let n = |s: &str| c.n(s);
    let invoice = c.table(
        "Invoice",
        &[
            ("InvoiceId", SqlType::Integer),
            ("CustomerId", SqlType::Integer),
            ("Total", SqlType::numeric(10, 2)),
        ],
    );
    let mut counts = Vec::new();
    for (bound, literal) in [(d("45"), "45"), (d("45.50"), "45.5"), (d("37.5"), "37.5")] {
        let total = func::sum(invoice.c(&n("Total")));
        let stmt = select((invoice.c(&n("CustomerId")), total.clone().label("total")))
            .from(&invoice)
            .group_by(invoice.c(&n("CustomerId")))
            .having(total.gt(bound))
            .order_by(invoice.c(&n("CustomerId")).asc());
        let hand = format!(
            "SELECT {cid}, SUM({tot}) AS total FROM {inv} GROUP BY {cid} \
             HAVING SUM({tot}) > {literal} ORDER BY {cid} ASC",
            cid = c.q("Invoice.CustomerId"),
            tot = c.q("Invoice.Total"),
            inv = c.q("Invoice"),
        );
        let got = table_of(&engine.fetch_all(stmt).await.unwrap());
        let want = table_of(&engine.fetch_all(text(hand)).await.unwrap());
        assert_eq!(got, want, "HAVING sum > {bound}");
        counts.push(got.len());
        // A column compared with a decimal, and a decimal in arithmetic.
        let quarter = bound / d("4");
        let stmt = select(func::count_star())
            .from(&invoice)
            .filter(invoice.c(&n("Total")).gt(quarter));
        let hand = format!(
            "SELECT count(*) FROM {inv} WHERE {tot} > {quarter}",
            tot = c.q("Invoice.Total"),
            inv = c.q("Invoice"),
        );
        let got: i64 = engine.fetch_one(stmt).await.unwrap().get(0).unwrap();
        let want: i64 = engine.fetch_one(text(hand)).await.unwrap().get(0).unwrap();
        assert_eq!(got, want, "Total > {bound} / 4");
        assert!(got > 0);
    }
    // Some customers and not all (59) are above each bound, fewer above higher ones
    // (text would have given none on SQLite).
    assert!(
        counts.iter().all(|&n| 0 < n && n < 59) && counts[0] >= counts[1] && counts[2] > counts[0],
        "{counts:?}"
    );
}

async fn decimals_round_trip_and_compare_as_numbers(db: &TestDb) {
    let engine: Engine = db.engine().await;
    let t = Table::new("amounts")
        .column(Column::new("id", SqlType::BigInt).primary_key())
        .column(Column::new("amount", SqlType::numeric(30, 10)));
    MetaData::new()
        .with_table(t.clone())
        .create_all(&engine)
        .await
        .unwrap();
    let t = std::sync::Arc::new(t);
    let values = [
        "45",
        "-45.00",
        "12.30",
        "0.1",
        "1234567890.12345",
        "99999999999999.9",
        "0.0000000001",
        "9223372036854775807",
    ];
    for (id, v) in (1i64..).zip(values) {
        engine
            .execute(
                insert(&t).values([Assignment::new("id", id), Assignment::new("amount", d(v))]),
            )
            .await
            .unwrap();
    }
    let rows = engine
        .fetch_all(select(t.c("amount")).from(&t).order_by(t.c("id").asc()))
        .await
        .unwrap();
    let got: Vec<Decimal> = rows.iter().map(|r| r.get(0).unwrap()).collect();
    let want: Vec<Decimal> = values.iter().map(|v| d(v)).collect();
    assert_eq!(got, want, "{:?}", db.backend);
    // Compared as numbers: text would put "9.5" above "45" and every text above numbers.
    let above = |x: &str| {
        select(t.c("id"))
            .from(&t)
            .filter(t.c("amount").gt(d(x)))
            .order_by(t.c("id").asc())
    };
    let ids = |rows: Vec<Row>| -> Vec<i64> { rows.iter().map(|r| r.get(0).unwrap()).collect() };
    assert_eq!(
        ids(engine.fetch_all(above("9.5")).await.unwrap()),
        [1, 3, 5, 6, 8]
    );
    // An aggregate has no column affinity on SQLite: the bind alone decides.
    let max_above = |x: &str| {
        select(func::max(t.c("amount")))
            .from(&t)
            .having(func::max(t.c("amount")).gt(d(x)))
    };
    assert_eq!(engine.fetch_all(max_above("1000")).await.unwrap().len(), 1);
    assert_eq!(
        engine
            .fetch_all(max_above("9223372036854775807"))
            .await
            .unwrap()
            .len(),
        0
    );

    // 20 significant digits: kept exactly by PostgreSQL and MySQL. A double (SQLite's
    // REAL) would change it: it binds there as its exact text, which a TEXT column keeps
    // (see `values.rs`) and this NUMERIC one converts to a double, as SQLite does.
    let long = d("1234567890.1234567891");
    engine
        .execute(insert(&t).values([
            Assignment::new("id", 99i64),
            Assignment::new("amount", long),
        ]))
        .await
        .unwrap();
    let back: Decimal = engine
        .fetch_one(select(t.c("amount")).from(&t).filter(t.c("id").eq(99i64)))
        .await
        .unwrap()
        .get(0)
        .unwrap();
    match db.backend {
        Backend::Sqlite => {
            assert_ne!(back, long);
            assert!((back - long).abs() < d("0.000001"), "{back}");
        }
        _ => assert_eq!(back, long),
    }
}
