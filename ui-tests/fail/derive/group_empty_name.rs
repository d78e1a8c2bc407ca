// Rule: a deferred column group has a name.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: i64,
    #[orm(deferred, group = "")]
    avatar: Deferred<Vec<u8>>,
}

fn main() {}
