// Rule: max_length applies to String columns only.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: i64,
    #[orm(max_length = 50)]
    age: i32,
}

fn main() {}
