// Rule: a model needs a primary key.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
struct Note {
    body: String,
}

fn main() {}
