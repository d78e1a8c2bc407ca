//! Literals: bound values, NULL, booleans, literal SQL, and the upsert's proposed value.

use super::node::{ExprNode, Name};
use super::typed::{Expr, ExprType};
use crate::sql::column::ColumnName;
use crate::value::Value;

/// A bound value as an expression (SQLAlchemy's `literal()`): `lit(0).label("depth")`.
pub fn lit<V: Into<Value> + ExprType>(v: V) -> Expr<V> {
    ExprNode::Bind(v.into()).typed()
}

/// Literal SQL as an expression of type `T`, copied into the statement as written
/// (SQLAlchemy's `literal_column`). Never put outside input in it.
pub fn literal_column<T>(sql: impl Into<Name>) -> Expr<T> {
    ExprNode::Raw(sql.into()).typed()
}

/// `NULL` of type `T`.
pub fn null<T>() -> Expr<Option<T>> {
    ExprNode::Null.typed()
}

/// A boolean literal: `TRUE`/`FALSE` (`1`/`0` on SQLite).
pub fn true_() -> Expr<bool> {
    ExprNode::Bool(true).typed()
}

/// The boolean literal `FALSE`.
pub fn false_() -> Expr<bool> {
    ExprNode::Bool(false).typed()
}

/// In an upsert's update clause, the value the INSERT proposed for `column`.
pub fn excluded<T>(column: impl ColumnName<T>) -> Expr<T> {
    ExprNode::Excluded(column.column_name()).typed()
}
