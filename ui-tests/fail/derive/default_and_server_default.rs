// Rule: a column has one kind of default.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
struct Doc {
    #[orm(primary_key)]
    id: i64,
    #[orm(default = 0, server_default = "0")]
    views: i64,
}

fn main() {}
