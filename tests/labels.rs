//! A label is reusable: `let total = func::sum(..).label("total")` goes in the select
//! list and orders the rows by its name (`ORDER BY "total" DESC`), on every database.

use orm::prelude::*;

use crate::backend_tests;
use crate::support::{Statements, TestDb};

backend_tests!(order_by_a_label_sorts_by_the_labelled_expression);

#[derive(Model, Debug, Clone)]
#[orm(table = "lb_customers")]
pub struct Customer {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(max_length = 20)]
    pub name: String,
}

#[derive(Model, Debug, Clone)]
#[orm(table = "lb_invoices")]
pub struct Invoice {
    #[orm(primary_key)]
    pub id: i64,
    pub customer_id: i64,
    pub amount: i32,
}

async fn order_by_a_label_sorts_by_the_labelled_expression(db: &TestDb) {
    let engine = db.engine().await;
    MetaData::new()
        .with::<Customer>()
        .with::<Invoice>()
        .create_all(&engine)
        .await
        .unwrap();
    for (id, name) in [(1i64, "a"), (2, "b"), (3, "c")] {
        engine
            .execute(
                insert(Customer::table()).values((Customer::id.set(id), Customer::name.set(name))),
            )
            .await
            .unwrap();
    }
    for (customer, amount) in [(1i64, 4), (1, 6), (2, 30), (2, 0)] {
        engine
            .execute(insert(Invoice::table()).values((
                Invoice::customer_id.set(customer),
                Invoice::amount.set(amount),
            )))
            .await
            .unwrap();
    }
    let log = Statements::record(&engine);

    let total = func::sum(Invoice::amount)
        .cast::<Option<i64>>()
        .label("total");
    let rows = engine
        .fetch_all(
            select((Customer::name, total.clone()))
                .from(Customer::table())
                .left_join(Invoice::table(), Invoice::customer_id.eq(Customer::id))
                .group_by(Customer::name)
                .order_by(total.clone().desc().nulls_last()),
        )
        .await
        .unwrap();
    let got: Vec<(String, Option<i64>)> = rows
        .iter()
        .map(|r| (r.get(0).unwrap(), r.get("total").unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            ("b".to_owned(), Some(30)),
            ("a".to_owned(), Some(10)),
            ("c".to_owned(), None)
        ]
    );
    let sent = log.take();
    let q = |s: &str| engine.dialect().quote_identifier(s);
    assert!(
        sent[0].contains(&format!("ORDER BY {}", q("total"))) && !sent[0].contains("ORDER BY CAST"),
        "the label's name, not the expression again: {sent:?}"
    );

    // NULLs first, descending: MySQL and MariaDB test the labelled expression for NULL.
    let rows = engine
        .fetch_all(
            select((Customer::name, total.clone()))
                .from(Customer::table())
                .left_join(Invoice::table(), Invoice::customer_id.eq(Customer::id))
                .group_by(Customer::name)
                .order_by(total.clone().desc().nulls_first()),
        )
        .await
        .unwrap();
    let got: Vec<Option<i64>> = rows.iter().map(|r| r.get(1).unwrap()).collect();
    assert_eq!(got, [None, Some(30), Some(10)]);

    // Ascending, from the label as given (`order_by(total)`).
    let rows = engine
        .fetch_all(
            select((Invoice::customer_id, total.clone()))
                .group_by(Invoice::customer_id)
                .order_by(total),
        )
        .await
        .unwrap();
    let got: Vec<(i64, Option<i64>)> = rows
        .iter()
        .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
        .collect();
    assert_eq!(got, [(1, Some(10)), (2, Some(30))]);
    engine.close().await;
}
