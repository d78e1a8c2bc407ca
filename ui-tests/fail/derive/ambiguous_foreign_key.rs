// Rule: two foreign keys to the same table need foreign_keys to pick one.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: i64,
    #[relationship]
    posts: Related<Vec<Post>>,
}

#[derive(Model)]
struct Post {
    #[orm(primary_key)]
    id: i64,
    #[orm(foreign_key = "user.id")]
    author_id: i64,
    #[orm(foreign_key = "user.id")]
    editor_id: i64,
}

fn main() {}
