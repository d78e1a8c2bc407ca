// Rule: back_populates names a relationship that exists on the target.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: i64,
    #[relationship(back_populates = "autor")]
    posts: Related<Vec<Post>>,
}

#[derive(Model)]
struct Post {
    #[orm(primary_key)]
    id: i64,
    #[orm(foreign_key = "user.id")]
    user_id: i64,
    #[relationship(back_populates = "posts")]
    author: Related<User>,
}

fn main() {}
