//! The common SQL functions, run on every database and decoded as the types they are
//! declared with: `round` (PostgreSQL has no `round(double precision, int)`; SQLite's
//! gives a REAL), `abs`, `coalesce`, `nullif`, `lower`/`upper`, `length` (characters),
//! `substr`, `trim`, `replace`, `current_timestamp`/`current_date`/`now`, and CAST
//! (to DECIMAL with a precision and scale on MySQL).

#![allow(non_upper_case_globals)] // typed columns are named like fields, as the derive names them

use std::sync::{Arc, OnceLock};

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

use orm::schema::{Column as Col, MetaData, SqlType, Table};
use orm::sql::{Column, HasTable};
use orm::{func, insert, lit, select};

use crate::backend_tests;
use crate::support::{Backend, TestDb};

backend_tests!(common_functions_give_the_same_values_everywhere);

struct Item;

impl HasTable for Item {
    const TABLE_NAME: &'static str = "fn_items";
    fn table() -> Arc<Table> {
        static T: OnceLock<Arc<Table>> = OnceLock::new();
        Arc::clone(T.get_or_init(|| {
            Arc::new(
                Table::new("fn_items")
                    .column(Col::new("id", SqlType::BigInt).primary_key())
                    .column(Col::new("name", SqlType::varchar(20)).not_null())
                    .column(Col::new("price", SqlType::numeric(10, 2)).not_null())
                    .column(Col::new("weight", SqlType::Double).not_null())
                    .column(Col::new("qty", SqlType::Integer).not_null())
                    .column(Col::new("note", SqlType::Text)),
            )
        }))
    }
}

impl Item {
    const id: Column<Item, i64> = Column::new("id");
    const name: Column<Item, String> = Column::new("name");
    const price: Column<Item, Decimal> = Column::new("price");
    const weight: Column<Item, f64> = Column::new("weight");
    const qty: Column<Item, i32> = Column::new("qty");
    const note: Column<Item, Option<String>> = Column::new("note");
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

async fn common_functions_give_the_same_values_everywhere(db: &TestDb) {
    let engine = db.engine().await;
    MetaData::new()
        .with_table((*Item::table()).clone())
        .create_all(&engine)
        .await
        .unwrap();
    for (id, name, price, weight, qty, note) in [
        (1i64, "Héllo", d("19.96"), 4.56789, 47, None),
        (2, "world", d("2.44"), 1.23456, 12, Some("fragile")),
    ] {
        engine
            .execute(insert(Item::table()).values((
                Item::id.set(id),
                Item::name.set(name),
                Item::price.set(price),
                Item::weight.set(weight),
                Item::qty.set(qty),
                Item::note.set(note),
            )))
            .await
            .unwrap();
    }
    let by_id = |stmt: orm::sql::SelectStatement| stmt.order_by(Item::id.asc());

    // round, keeping each argument's type.
    let rows = engine
        .fetch_all(by_id(select((
            func::round(Item::weight, 2),
            func::round(Item::price, 1),
            func::round(Item::qty, 0),
        ))))
        .await
        .unwrap();
    let got: Vec<(f64, Decimal, i32)> = rows
        .iter()
        .map(|r| (r.get(0).unwrap(), r.get(1).unwrap(), r.get(2).unwrap()))
        .collect();
    assert_eq!(got, [(4.57, d("20.0"), 47), (1.23, d("2.4"), 12)]);

    // abs, coalesce, nullif.
    let rows = engine
        .fetch_all(by_id(select((
            func::abs(Item::qty - 20),
            func::coalesce(Item::note, "none"),
            func::nullif(Item::qty, 12),
        ))))
        .await
        .unwrap();
    let got: Vec<(i32, String, Option<i32>)> = rows
        .iter()
        .map(|r| (r.get(0).unwrap(), r.get(1).unwrap(), r.get(2).unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            (27, "none".to_owned(), Some(47)),
            (8, "fragile".to_owned(), None)
        ]
    );

    // Text: characters, not bytes.
    let rows = engine
        .fetch_all(by_id(select((
            func::lower(Item::name),
            func::upper(Item::name),
            func::length(Item::name),
            func::substr(Item::name, 2, 3),
            func::replace(Item::name, "l", "L"),
            func::trim(lit("  pad  ")),
        ))))
        .await
        .unwrap();
    let got: Vec<(String, String, i64, String, String, String)> = rows
        .iter()
        .map(|r| {
            (
                r.get(0).unwrap(),
                r.get(1).unwrap(),
                r.get(2).unwrap(),
                r.get(3).unwrap(),
                r.get(4).unwrap(),
                r.get(5).unwrap(),
            )
        })
        .collect();
    let row = |a: &str, b: &str, n: i64, c: &str, e: &str| {
        (
            a.to_owned(),
            b.to_owned(),
            n,
            c.to_owned(),
            e.to_owned(),
            "pad".to_owned(),
        )
    };
    // SQLite (without ICU) folds the case of ASCII letters only.
    let upper = if db.backend == Backend::Sqlite {
        "HéLLO"
    } else {
        "HÉLLO"
    };
    assert_eq!(
        got,
        [
            row("héllo", upper, 5, "éll", "HéLLo"),
            row("world", "WORLD", 5, "orl", "worLd")
        ]
    );

    // CAST, to DECIMAL with a precision and scale on MySQL (which defaults to scale 0).
    let row = engine
        .fetch_one(
            select((
                Item::weight.cast::<Decimal>(),
                Item::weight.cast_as::<Decimal>(SqlType::numeric(10, 2)),
                Item::price.cast::<f64>(),
                Item::qty.cast::<String>(),
            ))
            .filter(Item::id.eq(1)),
        )
        .await
        .unwrap();
    let (exact, two, float, text): (Decimal, Decimal, f64, String) = (
        row.get(0).unwrap(),
        row.get(1).unwrap(),
        row.get(2).unwrap(),
        row.get(3).unwrap(),
    );
    assert_eq!(exact.normalize(), d("4.56789"));
    assert_eq!(two, d("4.57"));
    assert!((float - 19.96).abs() < 1e-9, "{float}");
    assert_eq!(text, "47");

    // The clock: what the database says now, read as the declared types.
    let row = engine
        .fetch_one(select((
            func::current_timestamp(),
            func::current_date(),
            func::now(),
        )))
        .await
        .unwrap();
    let (ts, date, now): (DateTime<Utc>, NaiveDate, DateTime<Utc>) = (
        row.get(0).unwrap(),
        row.get(1).unwrap(),
        row.get(2).unwrap(),
    );
    let today = Utc::now();
    // Within a day: MySQL's are in the session's time zone.
    for t in [ts, now] {
        assert!((t - today).num_hours().abs() <= 24, "{t} vs {today}");
    }
    assert!((date - today.date_naive()).num_days().abs() <= 1, "{date}");
    engine.close().await;
}
