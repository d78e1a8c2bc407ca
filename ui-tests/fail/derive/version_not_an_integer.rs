// Rule: a version counter is an integer.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
struct Doc {
    #[orm(primary_key)]
    id: i64,
    #[orm(version)]
    version: String,
}

fn main() {}
