// Rule: lazy takes a loader strategy.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: i64,
    #[orm(foreign_key = "users.id")]
    manager_id: Option<i64>,
    #[relationship(lazy = "eager")]
    manager: Related<Option<User>>,
}

fn main() {}
