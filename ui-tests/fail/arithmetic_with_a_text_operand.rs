// Rule: numeric types mix in arithmetic (i32 * Decimal, i64 * f64), text does not.
#![allow(non_upper_case_globals)]
use orm::prelude::*;
use std::sync::Arc;

struct Line;
impl HasTable for Line {
    const TABLE_NAME: &'static str = "lines";
    fn table() -> Arc<Table> {
        Arc::new(Table::new("lines"))
    }
}
impl Line {
    const quantity: Column<Line, i32> = Column::new("quantity");
    const weight: Column<Line, f64> = Column::new("weight");
    const sku: Column<Line, String> = Column::new("sku");
}

fn main() {
    let ok: Expr<f64> = Line::quantity * Line::weight;
    let _ = select(ok);
    let _ = select(Line::quantity * Line::sku);
}
