// Rule: a column belongs to one deferred column group: `group` given twice is an error,
// in one attribute or in two.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: i64,
    #[orm(deferred, group = "photos", group = "media")]
    avatar: Deferred<Vec<u8>>,
    #[orm(deferred, group = "photos")]
    #[orm(group = "photos")]
    banner: Deferred<Vec<u8>>,
}

fn main() {}
