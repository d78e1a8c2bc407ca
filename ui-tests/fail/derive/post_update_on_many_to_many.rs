// Rule: post_update writes a foreign key; a many-to-many has none of its own.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: i64,
    #[relationship(secondary = "friends", post_update)]
    friends: Related<Vec<User>>,
}

fn main() {}
