// Rule: `#[orm(deferred)]` needs a `Deferred<T>` field; a plain field is always loaded.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: i64,
    #[orm(deferred)]
    bio: String,
}

fn main() {}
