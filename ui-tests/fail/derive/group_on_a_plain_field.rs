// Rule: a deferred column group needs a `Deferred<T>` field; a plain field is always loaded.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: i64,
    #[orm(group = "photos")]
    avatar: Vec<u8>,
}

fn main() {}
