// Rule: max_length takes an integer literal.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: i64,
    #[orm(max_length = "50")]
    name: String,
}

fn main() {}
