// Rule: foreign_key names table.column.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
struct Post {
    #[orm(primary_key)]
    id: i64,
    #[orm(foreign_key = "users")]
    user_id: i64,
}

fn main() {}
