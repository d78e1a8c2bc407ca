// Rule: an unknown relationship attribute is an error listing the valid ones.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: i64,
    #[orm(foreign_key = "users.id")]
    manager_id: Option<i64>,
    #[relationship(back_populate = "reports")]
    manager: Related<Option<User>>,
}

fn main() {}
