// Rule: a relationship targets a model.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: i64,
    #[relationship]
    names: Related<Vec<String>>,
}

fn main() {}
