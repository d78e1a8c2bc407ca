// Rule: attribute values have the documented types: table takes a string.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
#[orm(table = users)]
struct User {
    #[orm(primary_key)]
    id: i64,
}

fn main() {}
