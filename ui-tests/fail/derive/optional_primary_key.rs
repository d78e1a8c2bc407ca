// Rule: a primary key cannot be nullable.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: Option<i64>,
}

fn main() {}
