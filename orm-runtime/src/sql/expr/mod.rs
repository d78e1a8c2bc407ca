//! Expressions: the untyped tree the compiler walks ([`ExprNode`]) and the typed
//! wrapper users build with ([`Expr<T>`]).
//!
//! The type parameter of `Expr<T>` is the Rust type the expression evaluates to
//! (`i64`, `String`, `Option<NaiveDate>`, ...). Operators check it at compile time:
//! comparing a text expression with an integer, or summing text, does not compile.
//! Reflected tables give [`Dynamic`] expressions, which accept any value and are
//! checked by the database instead. Numeric types mix in arithmetic with SQL's result
//! types ([`Promote`]): integer op decimal is a decimal, anything op float a float, two
//! integers the wider one; the result is nullable when either operand is.
//!
//! The tree is in `node`; the typed layer in `typed`; the builders by family in
//! `literal`, `operators`, `case`, `order` (ORDER BY items and windows) and `tuple`
//! (row values).

mod case;
mod literal;
mod node;
mod operators;
mod order;
mod tuple;
mod typed;

pub use case::{Case, case};
pub use literal::{excluded, false_, lit, literal_column, null, true_};
pub use node::{ColumnRef, ExprNode, Name, Origin, Qualifier};
pub use operators::{
    ArithOperand, ArithResult, BinaryOp, and_all, escape_like, exists, not_, not_exists, or_all,
};
pub(crate) use operators::{arith_ops, expr_methods, is_integer, text_methods};
pub use order::{OrderItem, Window, over};
pub use tuple::{IntoTuple, IntoTupleValues, Tuple, TupleMember, tuple};
pub use typed::{
    AnyExpr, Dynamic, Expr, ExprType, IntoExpr, IsBool, NotNull, NullFlag, Nullable, Nullity,
    Numeric, Promote, Textual,
};
