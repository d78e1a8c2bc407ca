// Rule: an unknown field attribute is an error listing the valid ones.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primay_key)]
    id: i64,
}

fn main() {}
