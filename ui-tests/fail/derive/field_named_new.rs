// Rule: a field named new would hide the constructor.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
struct Doc {
    #[orm(primary_key)]
    id: i64,
    new: bool,
}

fn main() {}
