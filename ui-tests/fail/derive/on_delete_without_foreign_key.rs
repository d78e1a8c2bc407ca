// Rule: on_delete needs a foreign_key on the same field.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
struct Post {
    #[orm(primary_key)]
    id: i64,
    #[orm(on_delete = "cascade")]
    user_id: i64,
}

fn main() {}
