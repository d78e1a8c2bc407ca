// Rule: on_delete takes a referential action.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
struct Post {
    #[orm(primary_key)]
    id: i64,
    #[orm(foreign_key = "users.id", on_delete = "explode")]
    user_id: i64,
}

fn main() {}
