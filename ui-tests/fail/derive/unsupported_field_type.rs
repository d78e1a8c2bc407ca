// Rule: a column's type must be a SQL expression type.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
struct Job {
    #[orm(primary_key)]
    id: i64,
    timeout: std::time::Duration,
}

fn main() {}
