// Rule: LIKE is for text columns.
#![allow(non_upper_case_globals)]
use orm::prelude::*;
use std::sync::Arc;

struct User;
impl HasTable for User {
    const TABLE_NAME: &'static str = "users";
    fn table() -> Arc<Table> {
        Arc::new(Table::new("users"))
    }
}
impl User {
    const id: Column<User, i64> = Column::new("id");
}

fn main() {
    let _ = select(User::id).filter(User::id.like("1%"));
}
