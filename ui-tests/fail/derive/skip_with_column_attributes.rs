// Rule: a skip field takes no column attributes.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: i64,
    #[orm(skip, unique)]
    cache: String,
}

fn main() {}
