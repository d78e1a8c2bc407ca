//! Upserts whose conflict target is given as typed columns (one, or a tuple of them),
//! and SQLite's `ON CONFLICT DO UPDATE` without a target (3.35+), which is MySQL's and
//! MariaDB's `ON DUPLICATE KEY UPDATE`; PostgreSQL needs a target and says so before
//! anything is sent.

#![allow(non_upper_case_globals)] // typed columns are named like fields, as the derive names them

use std::sync::{Arc, OnceLock};

use orm::schema::{Column as Col, MetaData, SqlType, Table};
use orm::sql::{Column, HasTable};
use orm::{Dialect, Engine, Error, excluded, insert, select};

use crate::backend_tests;
use crate::support::{Statements, TestDb};

backend_tests!(
    typed_conflict_targets_pick_the_key,
    an_upsert_without_a_target_updates_on_any_key
);

struct Stock;

impl HasTable for Stock {
    const TABLE_NAME: &'static str = "ut_stock";
    fn table() -> Arc<Table> {
        static T: OnceLock<Arc<Table>> = OnceLock::new();
        Arc::clone(T.get_or_init(|| {
            Arc::new(
                Table::new("ut_stock")
                    .column(Col::new("shop", SqlType::BigInt).primary_key())
                    .column(Col::new("sku", SqlType::varchar(20)).primary_key())
                    .column(Col::new("label", SqlType::varchar(20)).not_null().unique())
                    .column(Col::new("qty", SqlType::Integer).not_null()),
            )
        }))
    }
}

impl Stock {
    const shop: Column<Stock, i64> = Column::new("shop");
    const sku: Column<Stock, String> = Column::new("sku");
    const label: Column<Stock, String> = Column::new("label");
    const qty: Column<Stock, i32> = Column::new("qty");
}

async fn setup(db: &TestDb) -> Engine {
    let engine = db.engine().await;
    MetaData::new()
        .with_table((*Stock::table()).clone())
        .create_all(&engine)
        .await
        .unwrap();
    engine
        .execute(insert(Stock::table()).values_many([
            (
                Stock::shop.set(1),
                Stock::sku.set("a"),
                Stock::label.set("1a"),
                Stock::qty.set(5),
            ),
            (
                Stock::shop.set(1),
                Stock::sku.set("b"),
                Stock::label.set("1b"),
                Stock::qty.set(7),
            ),
        ]))
        .await
        .unwrap();
    engine
}

async fn rows(engine: &Engine) -> Vec<(i64, String, String, i32)> {
    engine
        .fetch_all(
            select((Stock::shop, Stock::sku, Stock::label, Stock::qty))
                .order_by(Stock::shop.asc())
                .order_by(Stock::sku.asc()),
        )
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.get(0).unwrap(),
                r.get(1).unwrap(),
                r.get(2).unwrap(),
                r.get(3).unwrap(),
            )
        })
        .collect()
}

fn row(shop: i64, sku: &str, label: &str, qty: i32) -> (i64, String, String, i32) {
    (shop, sku.to_owned(), label.to_owned(), qty)
}

async fn typed_conflict_targets_pick_the_key(db: &TestDb) {
    let engine = setup(db).await;
    // The composite key, as a tuple of typed columns: adds to the quantity.
    engine
        .execute(
            insert(Stock::table())
                .values((
                    Stock::shop.set(1),
                    Stock::sku.set("a"),
                    Stock::label.set("1a"),
                    Stock::qty.set(3),
                ))
                .on_conflict_do_update(
                    (Stock::shop, Stock::sku),
                    Stock::qty.set(Stock::qty + excluded(Stock::qty)),
                ),
        )
        .await
        .unwrap();
    // One typed column: a row whose label is taken is left out.
    engine
        .execute(
            insert(Stock::table())
                .values((
                    Stock::shop.set(2),
                    Stock::sku.set("z"),
                    Stock::label.set("1b"),
                    Stock::qty.set(1),
                ))
                .on_conflict_do_nothing(Stock::label),
        )
        .await
        .unwrap();
    // A new key is inserted.
    engine
        .execute(
            insert(Stock::table())
                .values((
                    Stock::shop.set(2),
                    Stock::sku.set("a"),
                    Stock::label.set("2a"),
                    Stock::qty.set(9),
                ))
                .on_conflict_do_update(
                    (Stock::shop, Stock::sku),
                    Stock::qty.set(Stock::qty + excluded(Stock::qty)),
                ),
        )
        .await
        .unwrap();
    assert_eq!(
        rows(&engine).await,
        [
            row(1, "a", "1a", 8),
            row(1, "b", "1b", 7),
            row(2, "a", "2a", 9)
        ]
    );
    engine.close().await;
}

async fn an_upsert_without_a_target_updates_on_any_key(db: &TestDb) {
    let engine = setup(db).await;
    let log = Statements::record(&engine);
    // Conflicts on the label (a unique key that is not the primary key).
    let stmt = insert(Stock::table())
        .values((
            Stock::shop.set(3),
            Stock::sku.set("q"),
            Stock::label.set("1b"),
            Stock::qty.set(4),
        ))
        .on_duplicate_key_update(Stock::qty.set(excluded(Stock::qty)));
    let result = engine.execute(stmt).await;
    if engine.dialect() == Dialect::Postgres {
        let err = result.unwrap_err();
        assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
        assert!(
            err.to_string()
                .contains("ON CONFLICT DO UPDATE without a conflict target"),
            "{err}"
        );
        assert!(log.take().is_empty(), "nothing is sent");
        assert_eq!(
            rows(&engine).await,
            [row(1, "a", "1a", 5), row(1, "b", "1b", 7)]
        );
    } else {
        result.unwrap();
        let sent = log.take();
        if engine.dialect() == Dialect::Sqlite {
            assert!(
                sent[0].contains(r#" ON CONFLICT DO UPDATE SET "qty" = excluded."qty""#),
                "{sent:?}"
            );
        }
        assert_eq!(
            rows(&engine).await,
            [row(1, "a", "1a", 5), row(1, "b", "1b", 4)]
        );
    }
    engine.close().await;
}
