//! What the unit tests of the expression language share: three mapped tables and
//! assertions of the SQL each dialect gets.

#![allow(non_upper_case_globals)] // typed columns are named like the fields they map, as the derive does

use std::sync::{Arc, OnceLock};

use super::{Column, Executable, HasTable};
use crate::dialect::Dialect;
use crate::schema::{Column as Col, ForeignKey, SqlType, Table};
use crate::value::Value;

macro_rules! model {
    ($ty:ident, $table:literal, $build:expr, { $($col:ident : $t:ty),* $(,)? }) => {
        pub(crate) struct $ty;
        impl HasTable for $ty {
            const TABLE_NAME: &'static str = $table;
            fn table() -> Arc<Table> {
                static T: OnceLock<Arc<Table>> = OnceLock::new();
                Arc::clone(T.get_or_init(|| Arc::new($build)))
            }
        }
        impl $ty {
            $(pub(crate) const $col: Column<$ty, $t> = Column::new(stringify!($col));)*
        }
    };
}

model!(User, "users",
    Table::new("users")
        .column(Col::new("id", SqlType::BigInt).primary_key())
        .column(Col::new("name", SqlType::varchar(50)).not_null())
        .column(Col::new("email", SqlType::Text))
        .column(Col::new("karma", SqlType::Integer))
        .column(Col::new("manager_id", SqlType::BigInt))
        .foreign_key(ForeignKey::new(["manager_id"], "users", ["id"])),
    { id: i64, name: String, email: Option<String>, karma: i32, manager_id: Option<i64> });

model!(Post, "posts",
    Table::new("posts")
        .column(Col::new("id", SqlType::BigInt).primary_key())
        .column(Col::new("user_id", SqlType::BigInt).not_null())
        .column(Col::new("title", SqlType::Text).not_null())
        .column(Col::new("score", SqlType::Double))
        .foreign_key(ForeignKey::new(["user_id"], "users", ["id"])),
    { id: i64, user_id: i64, title: String, score: Option<f64> });

model!(Order, "order",
    Table::new("order")
        .column(Col::new("id", SqlType::BigInt).primary_key())
        .column(Col::new("select", SqlType::Integer)),
    { id: i64, select: i32 });

/// Asserts the SQL for PostgreSQL, MySQL and SQLite (MariaDB compiles as MySQL unless a
/// test says otherwise), and returns the PostgreSQL binds.
#[track_caller]
pub(crate) fn check<S: Executable>(stmt: &S, pg: &str, my: &str, lite: &str) -> Vec<Value> {
    let c = stmt.compile_for(Dialect::Postgres).unwrap();
    assert_eq!(c.sql(), pg, "postgres");
    assert_eq!(stmt.compile_for(Dialect::MySql).unwrap().sql(), my, "mysql");
    assert_eq!(
        stmt.compile_for(Dialect::MariaDb).unwrap().sql(),
        my,
        "mariadb"
    );
    assert_eq!(
        stmt.compile_for(Dialect::Sqlite).unwrap().sql(),
        lite,
        "sqlite"
    );
    c.binds().to_vec()
}

/// For statements whose MySQL and SQLite text is PostgreSQL's with `?` and backticks.
#[track_caller]
pub(crate) fn check_same(stmt: &impl Executable, pg: &str) -> Vec<Value> {
    let mut my = String::new();
    let mut lite = String::new();
    let mut chars = pg.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => {
                while chars.peek().is_some_and(char::is_ascii_digit) {
                    chars.next();
                }
                my.push('?');
                lite.push('?');
            }
            '"' => {
                my.push('`');
                lite.push('"');
            }
            c => {
                my.push(c);
                lite.push(c);
            }
        }
    }
    check(stmt, pg, &my, &lite)
}
