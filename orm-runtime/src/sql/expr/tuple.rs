//! Row values: `tuple((a, b))` is the SQL `(a, b)`, compared as a whole with another row
//! value (`=`, `<>`, `<`, ...) or tested against a list of them (`IN`).
//!
//! The row value is typed by the types of its members, `Tuple<(i64, String)>` for a
//! bigint column and a text column, and what it is compared with must be a Rust tuple
//! of values (or expressions) of those types, member by member:
//!
//! ```
//! use orm_runtime::schema::{Column as Col, SqlType, Table};
//! use orm_runtime::sql::{Column, HasTable, select, tuple};
//! use orm_runtime::Dialect;
//! use std::sync::{Arc, OnceLock};
//!
//! struct Line;
//! impl HasTable for Line {
//!     const TABLE_NAME: &'static str = "lines";
//!     fn table() -> Arc<Table> {
//!         static T: OnceLock<Arc<Table>> = OnceLock::new();
//!         Arc::clone(T.get_or_init(|| Arc::new(Table::new("lines")
//!             .column(Col::new("order_id", SqlType::BigInt))
//!             .column(Col::new("sku", SqlType::Text)))))
//!     }
//! }
//! const ORDER_ID: Column<Line, i64> = Column::new("order_id");
//! const SKU: Column<Line, String> = Column::new("sku");
//!
//! let stmt = select(SKU).filter(tuple((ORDER_ID, SKU)).in_([(1, "a"), (2, "b")]));
//! assert_eq!(stmt.compile(Dialect::Postgres).unwrap().sql(),
//!     r#"SELECT "lines"."sku" FROM "lines" WHERE ("lines"."order_id", "lines"."sku") IN (($1, $2), ($3, $4))"#);
//! // SQLite takes a row-value IN only from a subquery: a VALUES list.
//! assert_eq!(stmt.compile(Dialect::Sqlite).unwrap().sql(),
//!     r#"SELECT "lines"."sku" FROM "lines" WHERE ("lines"."order_id", "lines"."sku") IN (VALUES (?, ?), (?, ?))"#);
//! ```
//!
//! Row values need SQLite 3.15 or later
//! ([`Feature::RowValues`](crate::dialect::Feature::RowValues)).

use std::marker::PhantomData;

use super::node::ExprNode;
use super::operators::BinaryOp;
use super::typed::{Expr, ExprType, IntoExpr};
use crate::sql::column::{Column, HasTable};
use crate::sql::select::SelectStatement;

/// A row value `(a, b, ...)` whose members have the base types `T` (a Rust tuple, such
/// as `(i64, String)`). Build it with [`tuple()`].
#[derive(Debug, Clone, PartialEq)]
#[must_use = "a row value does nothing until it is part of an executed statement"]
pub struct Tuple<T> {
    node: ExprNode,
    _t: PhantomData<fn() -> T>,
}

/// One member of a row value: a typed column or expression, which knows its type.
pub trait TupleMember {
    /// The member's expression type.
    type Type: ExprType;
    /// The expression tree.
    fn member_node(self) -> ExprNode;
}

impl<M: HasTable, T: ExprType, D> TupleMember for Column<M, T, D> {
    type Type = T;
    fn member_node(self) -> ExprNode {
        self.into_node()
    }
}

impl<T: ExprType> TupleMember for Expr<T> {
    type Type = T;
    fn member_node(self) -> ExprNode {
        self.node
    }
}

impl<T: ExprType> TupleMember for &Expr<T> {
    type Type = T;
    fn member_node(self) -> ExprNode {
        self.node.clone()
    }
}

/// A Rust tuple of columns or expressions that [`tuple()`] makes a row value of.
pub trait IntoTuple {
    /// The base types of the members, as a Rust tuple.
    type Types;
    /// The members' trees, in order.
    fn into_members(self) -> Vec<ExprNode>;
}

/// A row of values (or expressions) of the base types `T`, member by member: what a
/// [`Tuple<T>`] is compared with. A Rust tuple `(1, "a")` for `Tuple<(i64, String)>`,
/// or another row value of the same types.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a row of values of the types `{T}`",
    label = "expected a tuple with one value per member of the row value, each of the member's type"
)]
pub trait IntoTupleValues<T> {
    /// The `(v1, v2, ...)` tree.
    fn into_tuple_node(self) -> ExprNode;
}

impl<T> IntoTupleValues<T> for Tuple<T> {
    fn into_tuple_node(self) -> ExprNode {
        self.node
    }
}

macro_rules! tuples {
    ($(($($m:ident $v:ident $b:ident),+))*) => {$(
        impl<$($m: TupleMember),+> IntoTuple for ($($m,)+) {
            type Types = ($(<$m::Type as ExprType>::Base,)+);
            #[allow(non_snake_case)] // the type parameters name the tuple's members
            fn into_members(self) -> Vec<ExprNode> {
                let ($($m,)+) = self;
                vec![$($m.member_node()),+]
            }
        }

        impl<$($b,)+ $($v: IntoExpr<$b>),+> IntoTupleValues<($($b,)+)> for ($($v,)+) {
            #[allow(non_snake_case)] // the type parameters name the tuple's members
            fn into_tuple_node(self) -> ExprNode {
                let ($($v,)+) = self;
                ExprNode::Tuple(vec![$($v.into_node()),+])
            }
        }
    )*};
}

tuples! {
    (A VA BA, B VB BB)
    (A VA BA, B VB BB, C VC BC)
    (A VA BA, B VB BB, C VC BC, D VD BD)
    (A VA BA, B VB BB, C VC BC, D VD BD, E VE BE)
    (A VA BA, B VB BB, C VC BC, D VD BD, E VE BE, F VF BF)
}

/// The row value `(a, b, ...)` of two to six columns or expressions:
/// `tuple((Line::order_id, Line::sku)).in_([(1, "a"), (2, "b")])`.
pub fn tuple<I: IntoTuple>(members: I) -> Tuple<I::Types> {
    Tuple {
        node: ExprNode::Tuple(members.into_members()),
        _t: PhantomData,
    }
}

impl<T> Tuple<T> {
    /// The untyped tree.
    pub fn node(&self) -> &ExprNode {
        &self.node
    }

    /// Unwraps the untyped tree.
    pub fn into_node(self) -> ExprNode {
        self.node
    }

    fn compare(self, op: BinaryOp, rhs: impl IntoTupleValues<T>) -> Expr<bool> {
        ExprNode::binary(self.node, op, rhs.into_tuple_node()).typed()
    }

    /// `(a, b) = (x, y)`: every member equal.
    pub fn eq(self, rhs: impl IntoTupleValues<T>) -> Expr<bool> {
        self.compare(BinaryOp::Eq, rhs)
    }

    /// `(a, b) <> (x, y)`: some member different.
    pub fn ne(self, rhs: impl IntoTupleValues<T>) -> Expr<bool> {
        self.compare(BinaryOp::Ne, rhs)
    }

    /// `(a, b) < (x, y)`, in lexicographic order (keyset pagination).
    pub fn lt(self, rhs: impl IntoTupleValues<T>) -> Expr<bool> {
        self.compare(BinaryOp::Lt, rhs)
    }

    /// `(a, b) <= (x, y)`, in lexicographic order.
    pub fn le(self, rhs: impl IntoTupleValues<T>) -> Expr<bool> {
        self.compare(BinaryOp::Le, rhs)
    }

    /// `(a, b) > (x, y)`, in lexicographic order (keyset pagination).
    pub fn gt(self, rhs: impl IntoTupleValues<T>) -> Expr<bool> {
        self.compare(BinaryOp::Gt, rhs)
    }

    /// `(a, b) >= (x, y)`, in lexicographic order.
    pub fn ge(self, rhs: impl IntoTupleValues<T>) -> Expr<bool> {
        self.compare(BinaryOp::Ge, rhs)
    }

    /// `(a, b) IN ((x1, y1), (x2, y2), ...)`, every value a bound parameter (on SQLite
    /// `IN (VALUES (..), (..))`, the form it takes); an empty list is a constant false,
    /// as for [`Expr::in_`].
    pub fn in_<I>(self, rows: I) -> Expr<bool>
    where
        I: IntoIterator,
        I::Item: IntoTupleValues<T>,
    {
        self.in_list(rows, false)
    }

    /// `(a, b) NOT IN (...)`; an empty list is a constant true.
    pub fn not_in<I>(self, rows: I) -> Expr<bool>
    where
        I: IntoIterator,
        I::Item: IntoTupleValues<T>,
    {
        self.in_list(rows, true)
    }

    fn in_list<I>(self, rows: I, negated: bool) -> Expr<bool>
    where
        I: IntoIterator,
        I::Item: IntoTupleValues<T>,
    {
        ExprNode::InList {
            expr: Box::new(self.node),
            list: rows
                .into_iter()
                .map(IntoTupleValues::into_tuple_node)
                .collect(),
            negated,
        }
        .typed()
    }

    /// `(a, b) IN (SELECT x, y ...)`.
    pub fn in_select(self, select: SelectStatement) -> Expr<bool> {
        ExprNode::InSelect {
            expr: Box::new(self.node),
            select: Box::new(select),
            negated: false,
        }
        .typed()
    }

    /// `(a, b) NOT IN (SELECT x, y ...)`.
    pub fn not_in_select(self, select: SelectStatement) -> Expr<bool> {
        ExprNode::InSelect {
            expr: Box::new(self.node),
            select: Box::new(select),
            negated: true,
        }
        .typed()
    }
}

#[cfg(test)]
mod tests {
    use crate::dialect::{Dialect, ServerInfo, ServerVersion};
    use crate::error::Error;
    use crate::sql::fixtures::{Post, User, check, check_same};
    use crate::sql::*;
    use crate::value::Value;

    #[test]
    fn tuple_in_a_list_of_typed_rows() {
        let b = check(
            &select(User::id).filter(tuple((User::id, User::name)).in_([(1, "ed"), (2, "jo")])),
            r#"SELECT "users"."id" FROM "users" WHERE ("users"."id", "users"."name") IN (($1, $2), ($3, $4))"#,
            "SELECT `users`.`id` FROM `users` WHERE (`users`.`id`, `users`.`name`) IN ((?, ?), (?, ?))",
            r#"SELECT "users"."id" FROM "users" WHERE ("users"."id", "users"."name") IN (VALUES (?, ?), (?, ?))"#,
        );
        // Each value is bound as its member's type (the integer literal as the BIGINT id).
        assert_eq!(
            b,
            [
                Value::I64(1),
                Value::Text("ed".into()),
                Value::I64(2),
                Value::Text("jo".into())
            ]
        );
        check(
            &select(User::id).filter(tuple((User::id, User::karma)).not_in([(1, 2)])),
            r#"SELECT "users"."id" FROM "users" WHERE ("users"."id", "users"."karma") NOT IN (($1, $2))"#,
            "SELECT `users`.`id` FROM `users` WHERE (`users`.`id`, `users`.`karma`) NOT IN ((?, ?))",
            r#"SELECT "users"."id" FROM "users" WHERE ("users"."id", "users"."karma") NOT IN (VALUES (?, ?))"#,
        );
    }

    #[test]
    fn empty_tuple_in_is_false_and_not_in_true() {
        let none: Vec<(i64, &str)> = Vec::new();
        check_same(
            &select(User::id).filter(tuple((User::id, User::name)).in_(none.clone())),
            r#"SELECT "users"."id" FROM "users" WHERE (1 <> 1)"#,
        );
        check_same(
            &select(User::id).filter(tuple((User::id, User::name)).not_in(none)),
            r#"SELECT "users"."id" FROM "users" WHERE (1 = 1)"#,
        );
    }

    #[test]
    fn tuple_comparisons() {
        let b = check_same(
            &select(Post::id).filter(
                tuple((Post::user_id, Post::id))
                    .gt((3, 10))
                    .and(tuple((Post::user_id, Post::title)).eq((Post::id, "x"))),
            ),
            r#"SELECT "posts"."id" FROM "posts" WHERE ("posts"."user_id", "posts"."id") > ($1, $2) AND ("posts"."user_id", "posts"."title") = ("posts"."id", $3)"#,
        );
        assert_eq!(b, [Value::I64(3), Value::I64(10), Value::Text("x".into())]);
        check_same(
            &select(Post::id)
                .filter(tuple((Post::user_id, Post::id)).ne(tuple((Post::id, Post::user_id)))),
            r#"SELECT "posts"."id" FROM "posts" WHERE ("posts"."user_id", "posts"."id") <> ("posts"."id", "posts"."user_id")"#,
        );
    }

    #[test]
    fn tuple_in_a_subquery() {
        check_same(
            &select(User::id).filter(
                tuple((User::id, User::name))
                    .in_select(select((Post::user_id, Post::title)).filter(Post::score.gt(1.0))),
            ),
            r#"SELECT "users"."id" FROM "users" WHERE ("users"."id", "users"."name") IN (SELECT "posts"."user_id", "posts"."title" FROM "posts" WHERE "posts"."score" > $1)"#,
        );
    }

    #[test]
    fn row_values_need_sqlite_3_15() {
        let stmt = select(User::id).filter(tuple((User::id, User::karma)).eq((1, 2)));
        let old = ServerInfo::new(Dialect::Sqlite, ServerVersion::new(3, 14, 2));
        match stmt.compile(old) {
            Err(e @ Error::UnsupportedByServer { .. }) => assert_eq!(
                e.to_string(),
                "a row value ((a, b)) is not supported by the server, SQLite 3.14.2: it needs SQLite 3.15.0 or later"
            ),
            other => panic!("{other:?}"),
        }
        let new = ServerInfo::new(Dialect::Sqlite, ServerVersion::new(3, 15, 0));
        assert_eq!(
            stmt.compile(new).unwrap().sql(),
            r#"SELECT "users"."id" FROM "users" WHERE ("users"."id", "users"."karma") = (?, ?)"#
        );
    }
}
