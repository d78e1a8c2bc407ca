// Rule: a field may not be named like a function the generated impls provide (`table`,
// `columns`, ...): its column constant would hide it.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
struct Furniture {
    #[orm(primary_key)]
    id: i64,
    table: String,
}

fn main() {}
