// Rule: a loader path for a query of `User` starts at `User`, and each step continues
// from the model the previous one reached.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: i64,
    #[relationship(back_populates = "author")]
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

fn main() {
    let _ = LoadOptions::<User>::new().with(selectinload(Post::author));
    let _ = LoadOptions::<User>::new().with(selectinload(User::posts).selectinload(User::posts));
}
