// Rule: a one-to-many needs a foreign key on the target.
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
    user_id: i64,
}

fn main() {}
