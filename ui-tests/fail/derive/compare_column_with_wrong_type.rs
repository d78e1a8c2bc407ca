// Rule: a derived column compares only with its own type.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: i64,
    name: String,
}

fn check() {
    let _ = select(User::id).filter(User::name.eq(5));
}

fn main() {}
