// Rule: an attribute given twice is an error.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key, primary_key)]
    id: i64,
}

fn main() {}
