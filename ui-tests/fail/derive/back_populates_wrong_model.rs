// Rule: back_populates names a relationship that points back at this model.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: i64,
    #[relationship(back_populates = "blog")]
    posts: Related<Vec<Post>>,
}

#[derive(Model)]
struct Blog {
    #[orm(primary_key)]
    id: i64,
}

#[derive(Model)]
struct Post {
    #[orm(primary_key)]
    id: i64,
    #[orm(foreign_key = "user.id")]
    user_id: i64,
    #[orm(foreign_key = "blog.id")]
    blog_id: i64,
    #[relationship]
    blog: Related<Blog>,
}

fn main() {}
