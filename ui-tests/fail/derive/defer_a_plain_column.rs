// Rule: `defer` and `undefer` accept only columns whose field is `Deferred<T>`.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: i64,
    name: String,
    bio: Deferred<String>,
}

fn main() {
    let _ok = defer(User::bio);
    let _ = defer(User::name);
    let _ = undefer(User::name);
}
