// Rule: an unknown struct attribute is an error listing the valid ones.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
#[orm(tabel = "users")]
struct User {
    #[orm(primary_key)]
    id: i64,
}

fn main() {}
