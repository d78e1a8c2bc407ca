//! Expressions: the untyped tree and the typed wrapper users build with.

mod operators;

pub(crate) use operators::{arith_ops, expr_methods, is_integer, text_methods};
pub use operators::{
    AnyExpr, BinaryOp, Case, ColumnRef, Dynamic, Expr, ExprNode, ExprType, IntoExpr, IsBool, Name,
    Numeric, OrderItem, Origin, Qualifier, Textual, Window, and_all, case, escape_like, excluded,
    exists, false_, lit, literal_column, not_, not_exists, null, or_all, over, true_,
};
