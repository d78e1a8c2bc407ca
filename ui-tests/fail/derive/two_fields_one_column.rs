// Rule: two fields cannot map to one column.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
struct Doc {
    #[orm(primary_key)]
    id: i64,
    #[orm(column = "id")]
    other: i64,
}

fn main() {}
