// Rule: `events` is a flag (`events` or `events = true`); anything else is an error at
// the value.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
#[orm(table = "notes", events = "yes")]
struct Note {
    #[orm(primary_key)]
    id: i64,
}

impl orm::ModelEvents for Note {}

fn main() {}
