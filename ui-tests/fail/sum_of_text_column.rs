// Rule: sum() and avg() take numeric expressions only.
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
    const name: Column<User, String> = Column::new("name");
}

fn main() {
    let _ = select(func::sum(User::name));
}
