// Rule: only structs are models.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
enum Mood {
    Happy,
    Sad,
}

fn main() {}
