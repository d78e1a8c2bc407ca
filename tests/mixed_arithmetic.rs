//! Arithmetic between numeric types without `coerce`: `unit_price * quantity` (a
//! `Decimal` times an `i32`) is a `Decimal`, `i64 * f64` an `f64`, `i32 + i64` an
//! `i64`, by SQL's rules; run on every database and decoded as those types.

#![allow(non_upper_case_globals)] // typed columns are named like fields, as the derive names them

use std::sync::{Arc, OnceLock};

use rust_decimal::Decimal;

use orm::schema::{Column as Col, MetaData, SqlType, Table};
use orm::sql::{Column, HasTable};
use orm::{Expr, func, insert, select};

use crate::backend_tests;
use crate::support::TestDb;

backend_tests!(mixed_numeric_arithmetic_decodes_as_its_result_type);

struct Line;

impl HasTable for Line {
    const TABLE_NAME: &'static str = "ma_lines";
    fn table() -> Arc<Table> {
        static T: OnceLock<Arc<Table>> = OnceLock::new();
        Arc::clone(T.get_or_init(|| {
            Arc::new(
                Table::new("ma_lines")
                    .column(Col::new("id", SqlType::BigInt).primary_key())
                    .column(Col::new("unit_price", SqlType::numeric(10, 2)).not_null())
                    .column(Col::new("quantity", SqlType::Integer).not_null())
                    .column(Col::new("weight", SqlType::Double).not_null())
                    .column(Col::new("discount", SqlType::numeric(10, 2))),
            )
        }))
    }
}

impl Line {
    const id: Column<Line, i64> = Column::new("id");
    const unit_price: Column<Line, Decimal> = Column::new("unit_price");
    const quantity: Column<Line, i32> = Column::new("quantity");
    const weight: Column<Line, f64> = Column::new("weight");
    const discount: Column<Line, Option<Decimal>> = Column::new("discount");
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

async fn mixed_numeric_arithmetic_decodes_as_its_result_type(db: &TestDb) {
    let engine = db.engine().await;
    MetaData::new()
        .with_table((*Line::table()).clone())
        .create_all(&engine)
        .await
        .unwrap();
    for (id, price, qty, weight, discount) in [
        (1i64, d("2.50"), 3, 0.5, Some(d("1.00"))),
        (2, d("0.99"), 10, 1.25, None),
        (3, d("19.95"), 2, 2.0, Some(d("0.95"))),
    ] {
        engine
            .execute(insert(Line::table()).values((
                Line::id.set(id),
                Line::unit_price.set(price),
                Line::quantity.set(qty),
                Line::weight.set(weight),
                Line::discount.set(discount),
            )))
            .await
            .unwrap();
    }

    // The types are the compiler's: each `let` would not compile with another.
    let amount: Expr<Decimal> = Line::unit_price * Line::quantity;
    let per_kg: Expr<f64> = Line::id * Line::weight;
    let widened: Expr<i64> = Line::quantity + Line::id;
    let net: Expr<Option<Decimal>> = Line::unit_price * Line::quantity - Line::discount;
    let rows = engine
        .fetch_all(
            select((
                amount.label("amount"),
                per_kg.label("per_kg"),
                widened.label("widened"),
                net.label("net"),
            ))
            .order_by(Line::id.asc()),
        )
        .await
        .unwrap();
    let got: Vec<(Decimal, f64, i64, Option<Decimal>)> = rows
        .iter()
        .map(|r| {
            (
                r.get("amount").unwrap(),
                r.get("per_kg").unwrap(),
                r.get("widened").unwrap(),
                r.get("net").unwrap(),
            )
        })
        .collect();
    let got: Vec<_> = got
        .into_iter()
        .map(|(a, w, i, n)| (a.normalize(), w, i, n.map(|n| n.normalize())))
        .collect();
    assert_eq!(
        got,
        [
            (d("7.5"), 0.5, 4, Some(d("6.5"))),
            (d("9.9"), 2.5, 12, None),
            (d("39.9"), 6.0, 5, Some(d("38.95"))),
        ]
    );

    // In an aggregate, and compared with a decimal bind.
    let total: Decimal = engine
        .fetch_one(
            select(func::sum(Line::unit_price * Line::quantity).label("total"))
                .filter((Line::unit_price * Line::quantity).gt(d("8"))),
        )
        .await
        .unwrap()
        .get::<Option<Decimal>>("total")
        .unwrap()
        .unwrap();
    assert_eq!(total.normalize(), d("49.8"));
    engine.close().await;
}
