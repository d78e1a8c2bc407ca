// Rule: cascade takes SQLAlchemy cascade names.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: i64,
    #[orm(foreign_key = "users.id")]
    manager_id: Option<i64>,
    #[relationship(cascade = "all, explode")]
    manager: Related<Option<User>>,
}

fn main() {}
