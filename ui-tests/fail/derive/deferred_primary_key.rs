// Rule: the primary key is always loaded: it cannot be `Deferred<T>`.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: Deferred<i64>,
    name: String,
}

fn main() {}
