// Rule: a model cannot be generic.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
struct Wrapper<T> {
    #[orm(primary_key)]
    id: i64,
    value: T,
}

fn main() {}
