// Rule: `#[orm(events)]` says the model implements `ModelEvents` itself; forgetting the
// impl is an error at the struct, naming the trait.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
#[orm(table = "notes", events)]
struct Note {
    #[orm(primary_key)]
    id: i64,
}

fn main() {}
