// Rule: a model has named fields.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
struct Pair(i64, i64);

fn main() {}
