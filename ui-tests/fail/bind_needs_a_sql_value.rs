// Rule: only types with a SQL representation can be bound as parameters.
use orm::prelude::*;

struct Point {
    x: i32,
    y: i32,
}

fn main() {
    let _ = text("SELECT :p").bind("p", Point { x: 1, y: 2 });
}
