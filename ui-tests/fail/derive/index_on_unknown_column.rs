// Rule: struct-level indexes name existing columns.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
#[orm(index(columns("nope")))]
struct Doc {
    #[orm(primary_key)]
    id: i64,
}

fn main() {}
