// Rule: secondary (many-to-many) needs Related<Vec<T>>.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: i64,
    #[relationship(secondary = "friends")]
    friend: Related<User>,
}

fn main() {}
