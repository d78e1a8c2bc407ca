// Rule: a single-valued relationship needs a foreign key on one side.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: i64,
}

#[derive(Model)]
struct Post {
    #[orm(primary_key)]
    id: i64,
    #[relationship]
    author: Related<User>,
}

fn main() {}
