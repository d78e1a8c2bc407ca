// Rule: a Related<...> field needs #[relationship].
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: i64,
    posts: Related<Vec<User>>,
}

fn main() {}
