// Rule: a #[relationship] field has type Related<...>.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: i64,
    #[relationship]
    posts: Vec<i64>,
}

fn main() {}
