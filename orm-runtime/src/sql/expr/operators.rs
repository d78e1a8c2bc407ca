//! Operators: comparisons, IN, BETWEEN, IS NULL, LIKE, boolean and arithmetic
//! operators, EXISTS, and the methods that build them on every typed expression and
//! column ([`expr_methods!`], [`text_methods!`], [`arith_ops!`]).

use super::literal::{false_, true_};
use super::node::{ExprNode, Name};
use super::order::OrderItem;
use super::typed::{
    Expr, ExprType, IntoExpr, IsBool, NotNull, NullFlag, Nullable, Nullity, Numeric, Promote,
    Textual,
};
use crate::schema::SqlType;
use crate::sql::select::SelectStatement;
use crate::value::Value;

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // each variant is the SQL operator it names
pub enum BinaryOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    /// String concatenation: `||`, or `CONCAT()` on MySQL.
    Concat,
    /// `IS DISTINCT FROM` (NULL-safe inequality; `NOT (a <=> b)` on MySQL).
    IsDistinctFrom,
    /// Integer division: `/` of integers (`DIV` on MySQL, whose `/` gives a decimal).
    IntDiv,
    /// `IS NOT DISTINCT FROM` (NULL-safe equality; `<=>` on MySQL, `IS` on SQLite).
    IsNotDistinctFrom,
}

impl BinaryOp {
    /// Binding strength; higher binds tighter.
    pub(crate) fn precedence(self) -> u8 {
        match self {
            BinaryOp::Or => 1,
            BinaryOp::And => 2,
            BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge
            | BinaryOp::IsDistinctFrom
            | BinaryOp::IsNotDistinctFrom => 4,
            BinaryOp::Concat => 5,
            BinaryOp::Add | BinaryOp::Sub => 6,
            BinaryOp::Mul | BinaryOp::Div | BinaryOp::IntDiv | BinaryOp::Mod => 7,
        }
    }
}

/// Conjunction of several conditions (`TRUE` when there are none).
pub fn and_all<I: IntoIterator<Item = Expr<bool>>>(conds: I) -> Expr<bool> {
    let mut it = conds.into_iter();
    match it.next() {
        None => true_(),
        Some(first) => it.fold(first, |acc, c| {
            ExprNode::binary(acc.node, BinaryOp::And, c.node).typed()
        }),
    }
}

/// Disjunction of several conditions (`FALSE` when there are none).
pub fn or_all<I: IntoIterator<Item = Expr<bool>>>(conds: I) -> Expr<bool> {
    let mut it = conds.into_iter();
    match it.next() {
        None => false_(),
        Some(first) => it.fold(first, |acc, c| {
            ExprNode::binary(acc.node, BinaryOp::Or, c.node).typed()
        }),
    }
}

/// `EXISTS (subquery)`.
pub fn exists(select: SelectStatement) -> Expr<bool> {
    ExprNode::Exists {
        select: Box::new(select),
        negated: false,
    }
    .typed()
}

/// `NOT EXISTS (subquery)`.
pub fn not_exists(select: SelectStatement) -> Expr<bool> {
    ExprNode::Exists {
        select: Box::new(select),
        negated: true,
    }
    .typed()
}

/// The methods every typed expression and column has; `$self_to_node` turns `self` into
/// an [`ExprNode`].
macro_rules! expr_methods {
    () => {
        /// `self = rhs`.
        pub fn eq(self, rhs: impl IntoExpr<T::Base>) -> Expr<bool> {
            self.compare(BinaryOp::Eq, rhs)
        }

        /// `self = other` for another column or expression (the same as [`eq`](Self::eq)).
        pub fn eq_col(self, other: impl IntoExpr<T::Base>) -> Expr<bool> {
            self.compare(BinaryOp::Eq, other)
        }

        /// `self <> rhs`.
        pub fn ne(self, rhs: impl IntoExpr<T::Base>) -> Expr<bool> {
            self.compare(BinaryOp::Ne, rhs)
        }

        /// `self < rhs`.
        pub fn lt(self, rhs: impl IntoExpr<T::Base>) -> Expr<bool> {
            self.compare(BinaryOp::Lt, rhs)
        }

        /// `self <= rhs`.
        pub fn le(self, rhs: impl IntoExpr<T::Base>) -> Expr<bool> {
            self.compare(BinaryOp::Le, rhs)
        }

        /// `self > rhs`.
        pub fn gt(self, rhs: impl IntoExpr<T::Base>) -> Expr<bool> {
            self.compare(BinaryOp::Gt, rhs)
        }

        /// `self >= rhs`.
        pub fn ge(self, rhs: impl IntoExpr<T::Base>) -> Expr<bool> {
            self.compare(BinaryOp::Ge, rhs)
        }

        /// NULL-safe equality: `IS NOT DISTINCT FROM` (`<=>` on MySQL, `IS` on SQLite).
        pub fn is_not_distinct_from(self, rhs: impl IntoExpr<T::Base>) -> Expr<bool> {
            self.compare(BinaryOp::IsNotDistinctFrom, rhs)
        }

        /// NULL-safe inequality: `IS DISTINCT FROM`.
        pub fn is_distinct_from(self, rhs: impl IntoExpr<T::Base>) -> Expr<bool> {
            self.compare(BinaryOp::IsDistinctFrom, rhs)
        }

        fn compare(self, op: BinaryOp, rhs: impl IntoExpr<T::Base>) -> Expr<bool> {
            // As SQLAlchemy does: `== None` is `IS NULL`, `!= None` is `IS NOT NULL`
            // (`= NULL` would match nothing), whether the NULL is `None`, `null()` or a
            // dynamic column's `Value::Null`.
            let rhs = rhs.into_node();
            let null = matches!(&rhs, ExprNode::Null)
                || matches!(&rhs, ExprNode::Bind(v) if v.is_null());
            match op {
                BinaryOp::Eq | BinaryOp::Ne if null => ExprNode::IsNull {
                    expr: Box::new(self.into_node()),
                    negated: op == BinaryOp::Ne,
                }
                .typed(),
                op => ExprNode::binary(self.into_node(), op, rhs).typed(),
            }
        }

        /// `self IN (values...)`; an empty list is a constant false. On PostgreSQL a
        /// list of binds of one type (no NULLs; integers, floats, text, booleans, dates,
        /// timestamps, UUIDs) is `self = ANY($1)` with one array bind: one SQL text and
        /// one prepared statement for any length.
        pub fn in_<I>(self, values: I) -> Expr<bool>
        where
            I: IntoIterator,
            I::Item: IntoExpr<T::Base>,
        {
            ExprNode::InList {
                expr: Box::new(self.into_node()),
                list: values.into_iter().map(IntoExpr::into_node).collect(),
                negated: false,
            }
            .typed()
        }

        /// `self NOT IN (values...)`; an empty list is a constant true. On PostgreSQL a
        /// list that [`in_`](Self::in_) binds as an array is `self <> ALL($1)`.
        pub fn not_in<I>(self, values: I) -> Expr<bool>
        where
            I: IntoIterator,
            I::Item: IntoExpr<T::Base>,
        {
            ExprNode::InList {
                expr: Box::new(self.into_node()),
                list: values.into_iter().map(IntoExpr::into_node).collect(),
                negated: true,
            }
            .typed()
        }

        /// `self IN (SELECT ...)`.
        pub fn in_select(self, select: SelectStatement) -> Expr<bool> {
            ExprNode::InSelect {
                expr: Box::new(self.into_node()),
                select: Box::new(select),
                negated: false,
            }
            .typed()
        }

        /// `self NOT IN (SELECT ...)`.
        pub fn not_in_select(self, select: SelectStatement) -> Expr<bool> {
            ExprNode::InSelect {
                expr: Box::new(self.into_node()),
                select: Box::new(select),
                negated: true,
            }
            .typed()
        }

        /// `self BETWEEN low AND high`.
        pub fn between(
            self,
            low: impl IntoExpr<T::Base>,
            high: impl IntoExpr<T::Base>,
        ) -> Expr<bool> {
            ExprNode::Between {
                expr: Box::new(self.into_node()),
                low: Box::new(low.into_node()),
                high: Box::new(high.into_node()),
                negated: false,
            }
            .typed()
        }

        /// `self NOT BETWEEN low AND high`.
        pub fn not_between(
            self,
            low: impl IntoExpr<T::Base>,
            high: impl IntoExpr<T::Base>,
        ) -> Expr<bool> {
            ExprNode::Between {
                expr: Box::new(self.into_node()),
                low: Box::new(low.into_node()),
                high: Box::new(high.into_node()),
                negated: true,
            }
            .typed()
        }

        /// `self IS NULL`.
        pub fn is_null(self) -> Expr<bool> {
            ExprNode::IsNull {
                expr: Box::new(self.into_node()),
                negated: false,
            }
            .typed()
        }

        /// `self IS NOT NULL`.
        pub fn is_not_null(self) -> Expr<bool> {
            ExprNode::IsNull {
                expr: Box::new(self.into_node()),
                negated: true,
            }
            .typed()
        }

        /// Ascending ORDER BY item.
        pub fn asc(self) -> OrderItem {
            OrderItem {
                expr: self.into_node(),
                desc: false,
                nulls_first: None,
            }
        }

        /// Descending ORDER BY item.
        pub fn desc(self) -> OrderItem {
            OrderItem {
                expr: self.into_node(),
                desc: true,
                nulls_first: None,
            }
        }

        /// `CAST(self AS U's SQL type)`.
        pub fn cast<U: ExprType>(self) -> Expr<U> {
            ExprNode::Cast(Box::new(self.into_node()), U::sql_type()).typed()
        }

        /// `CAST(self AS sql_type)`, typed as `U`.
        pub fn cast_as<U>(self, sql_type: SqlType) -> Expr<U> {
            ExprNode::Cast(Box::new(self.into_node()), sql_type).typed()
        }

        /// Names the expression in a select list: `self AS name`. The label keeps the
        /// expression's type, and orders by its name: `.order_by(total.desc())`.
        pub fn label(self, name: impl Into<Name>) -> crate::sql::select::Labeled<T> {
            crate::sql::select::Labeled::new(self.into_node(), name)
        }
    };
}
pub(crate) use expr_methods;

/// Methods of text expressions.
macro_rules! text_methods {
    () => {
        /// `self LIKE pattern` (`%` and `_` are wildcards).
        pub fn like(self, pattern: impl IntoExpr<T::Base>) -> Expr<bool> {
            self.like_node(pattern.into_node(), None, false, false)
        }

        /// `self LIKE pattern ESCAPE 'escape'`.
        pub fn like_escape(self, pattern: impl IntoExpr<T::Base>, escape: char) -> Expr<bool> {
            self.like_node(pattern.into_node(), Some(escape), false, false)
        }

        /// `self NOT LIKE pattern`.
        pub fn not_like(self, pattern: impl IntoExpr<T::Base>) -> Expr<bool> {
            self.like_node(pattern.into_node(), None, false, true)
        }

        /// Case-insensitive LIKE: `ILIKE` on PostgreSQL, `LOWER(self) LIKE LOWER(pattern)`
        /// elsewhere.
        pub fn ilike(self, pattern: impl IntoExpr<T::Base>) -> Expr<bool> {
            self.like_node(pattern.into_node(), None, true, false)
        }

        /// Case-insensitive NOT LIKE.
        pub fn not_ilike(self, pattern: impl IntoExpr<T::Base>) -> Expr<bool> {
            self.like_node(pattern.into_node(), None, true, true)
        }

        /// Rows whose text contains `needle` literally (`%` and `_` in it are escaped).
        pub fn contains(self, needle: &str) -> Expr<bool> {
            let pattern = format!("%{}%", escape_like(needle, '/'));
            self.like_node(
                ExprNode::Bind(Value::Text(pattern)),
                Some('/'),
                false,
                false,
            )
        }

        /// Rows whose text starts with `prefix` literally.
        pub fn starts_with(self, prefix: &str) -> Expr<bool> {
            let pattern = format!("{}%", escape_like(prefix, '/'));
            self.like_node(
                ExprNode::Bind(Value::Text(pattern)),
                Some('/'),
                false,
                false,
            )
        }

        /// Rows whose text ends with `suffix` literally.
        pub fn ends_with(self, suffix: &str) -> Expr<bool> {
            let pattern = format!("%{}", escape_like(suffix, '/'));
            self.like_node(
                ExprNode::Bind(Value::Text(pattern)),
                Some('/'),
                false,
                false,
            )
        }

        fn like_node(
            self,
            pattern: ExprNode,
            escape: Option<char>,
            ci: bool,
            negated: bool,
        ) -> Expr<bool> {
            ExprNode::Like {
                expr: Box::new(self.into_node()),
                pattern: Box::new(pattern),
                escape,
                case_insensitive: ci,
                negated,
            }
            .typed()
        }

        /// String concatenation: `self || other` (`CONCAT(self, other)` on MySQL).
        pub fn concat(self, other: impl IntoExpr<T::Base>) -> Expr<T> {
            ExprNode::binary(self.into_node(), BinaryOp::Concat, other.into_node()).typed()
        }
    };
}
pub(crate) use text_methods;

/// Escapes LIKE wildcards (`%`, `_`) and the escape character itself in `s`.
pub fn escape_like(s: &str, escape: char) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if ch == '%' || ch == '_' || ch == escape {
            out.push(escape);
        }
        out.push(ch);
    }
    out
}

impl<T: ExprType> Expr<T> {
    expr_methods!();
}

impl<T: ExprType> Expr<T>
where
    T::Base: Textual,
{
    text_methods!();
}

impl<T: ExprType> Expr<T>
where
    T::Base: IsBool,
{
    /// `self AND other`.
    pub fn and(self, other: impl IntoExpr<bool>) -> Expr<bool> {
        ExprNode::binary(self.node, BinaryOp::And, other.into_node()).typed()
    }

    /// `self OR other`.
    pub fn or(self, other: impl IntoExpr<bool>) -> Expr<bool> {
        ExprNode::binary(self.node, BinaryOp::Or, other.into_node()).typed()
    }
}

/// `NOT cond` (also written `!cond`).
pub fn not_<T: ExprType>(cond: Expr<T>) -> Expr<bool>
where
    T::Base: IsBool,
{
    ExprNode::Not(Box::new(cond.node)).typed()
}

/// True for the integer base types, whose division must stay integer division.
pub(crate) fn is_integer<B: 'static>() -> bool {
    use std::any::TypeId;
    [
        TypeId::of::<i16>(),
        TypeId::of::<i32>(),
        TypeId::of::<i64>(),
    ]
    .contains(&TypeId::of::<B>())
}

impl<T: ExprType, R: IntoExpr<bool>> std::ops::BitAnd<R> for Expr<T>
where
    T::Base: IsBool,
{
    type Output = Expr<bool>;
    fn bitand(self, rhs: R) -> Expr<bool> {
        self.and(rhs)
    }
}

impl<T: ExprType, R: IntoExpr<bool>> std::ops::BitOr<R> for Expr<T>
where
    T::Base: IsBool,
{
    type Output = Expr<bool>;
    fn bitor(self, rhs: R) -> Expr<bool> {
        self.or(rhs)
    }
}

impl<T: ExprType> std::ops::Not for Expr<T>
where
    T::Base: IsBool,
{
    type Output = Expr<bool>;
    fn not(self) -> Expr<bool> {
        ExprNode::Not(Box::new(self.node)).typed()
    }
}

/// The right operand of arithmetic on a left operand of base type `L`: a value (bound
/// as `L`, as a comparison binds it), or a typed column or expression of any numeric
/// type, which [`Promote`]s the result.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be added to, subtracted from, multiplied with or divide a `{L}` expression",
    label = "expected a number, or a numeric column or expression",
    note = "integers, floats and Decimal mix (integer op decimal is a decimal; anything op float is a float)"
)]
pub trait ArithOperand<L> {
    /// The result's base type.
    type Base: ExprType;
    /// Whether this operand may be NULL.
    type Flag: NullFlag;
    /// The operand's tree.
    fn into_operand(self) -> ExprNode;
}

impl<L: Promote<U::Base>, U: ExprType + Nullity> ArithOperand<L> for Expr<U> {
    type Base = L::Output;
    type Flag = U::Flag;
    fn into_operand(self) -> ExprNode {
        self.node
    }
}

impl<L: Promote<U::Base>, U: ExprType + Nullity> ArithOperand<L> for &Expr<U> {
    type Base = L::Output;
    type Flag = U::Flag;
    fn into_operand(self) -> ExprNode {
        self.node.clone()
    }
}

impl<L: Promote<U::Base>, M: crate::sql::column::HasTable, U: ExprType + Nullity, D> ArithOperand<L>
    for crate::sql::column::Column<M, U, D>
{
    type Base = L::Output;
    type Flag = U::Flag;
    fn into_operand(self) -> ExprNode {
        self.into_node()
    }
}

impl<L: ExprType, V> ArithOperand<L> for Option<V>
where
    Option<V>: IntoExpr<L>,
{
    type Base = L;
    type Flag = Nullable;
    fn into_operand(self) -> ExprNode {
        self.into_node()
    }
}

/// Values: bound as the left operand's base type, which is the result's.
macro_rules! value_operands {
    ($($v:ty),* $(,)?) => {$(
        impl<L: ExprType> ArithOperand<L> for $v
        where
            $v: IntoExpr<L>,
        {
            type Base = L;
            type Flag = NotNull;
            fn into_operand(self) -> ExprNode {
                self.into_node()
            }
        }
    )*};
}
value_operands!(i8, u8, i16, u16, i32, u32, i64, f32, f64, Value);
#[cfg(feature = "decimal")]
value_operands!(rust_decimal::Decimal);

/// The expression `T op R` gives: the [`Promote`]d base, nullable when either side is.
pub type ArithResult<T, R> = Expr<
    <<<T as Nullity>::Flag as NullFlag>::Or<
        <R as ArithOperand<<T as ExprType>::Base>>::Flag,
    > as NullFlag>::Apply<<R as ArithOperand<<T as ExprType>::Base>>::Base>,
>;

/// Arithmetic operators for a type `$ty<..., T>` with numeric base. The right operand
/// is a value of the left's type or a numeric expression of any type
/// ([`ArithOperand`]); the result's type follows SQL's rules ([`Promote`]).
macro_rules! arith_ops {
    ([$($gen:tt)*] $ty:ty) => {
        impl<$($gen)*, R: $crate::sql::expr::ArithOperand<T::Base>> std::ops::Add<R> for $ty
        where T::Base: Numeric, T: $crate::sql::expr::Nullity {
            type Output = $crate::sql::expr::ArithResult<T, R>;
            fn add(self, rhs: R) -> Self::Output {
                ExprNode::binary(self.into_node(), BinaryOp::Add, rhs.into_operand()).typed()
            }
        }
        impl<$($gen)*, R: $crate::sql::expr::ArithOperand<T::Base>> std::ops::Sub<R> for $ty
        where T::Base: Numeric, T: $crate::sql::expr::Nullity {
            type Output = $crate::sql::expr::ArithResult<T, R>;
            fn sub(self, rhs: R) -> Self::Output {
                ExprNode::binary(self.into_node(), BinaryOp::Sub, rhs.into_operand()).typed()
            }
        }
        impl<$($gen)*, R: $crate::sql::expr::ArithOperand<T::Base>> std::ops::Mul<R> for $ty
        where T::Base: Numeric, T: $crate::sql::expr::Nullity {
            type Output = $crate::sql::expr::ArithResult<T, R>;
            fn mul(self, rhs: R) -> Self::Output {
                ExprNode::binary(self.into_node(), BinaryOp::Mul, rhs.into_operand()).typed()
            }
        }
        impl<$($gen)*, R: $crate::sql::expr::ArithOperand<T::Base>> std::ops::Div<R> for $ty
        where T::Base: Numeric, T: $crate::sql::expr::Nullity {
            type Output = $crate::sql::expr::ArithResult<T, R>;
            fn div(self, rhs: R) -> Self::Output {
                // Integers divide as integers (`DIV` on MySQL), whatever else divides.
                let op = if $crate::sql::expr::is_integer::<R::Base>() { BinaryOp::IntDiv } else { BinaryOp::Div };
                ExprNode::binary(self.into_node(), op, rhs.into_operand()).typed()
            }
        }
        impl<$($gen)*, R: $crate::sql::expr::ArithOperand<T::Base>> std::ops::Rem<R> for $ty
        where T::Base: Numeric, T: $crate::sql::expr::Nullity {
            type Output = $crate::sql::expr::ArithResult<T, R>;
            fn rem(self, rhs: R) -> Self::Output {
                ExprNode::binary(self.into_node(), BinaryOp::Mod, rhs.into_operand()).typed()
            }
        }
        impl<$($gen)*> std::ops::Neg for $ty where T::Base: Numeric {
            type Output = Expr<T>;
            fn neg(self) -> Expr<T> {
                ExprNode::Neg(Box::new(self.into_node())).typed()
            }
        }
    };
}
pub(crate) use arith_ops;

arith_ops!([T: ExprType] Expr<T>);

#[cfg(test)]
mod tests {
    use crate::sql::fixtures::{User, check_same};
    use crate::sql::*;
    use crate::value::Value;

    #[test]
    fn comparing_with_none_is_is_null() {
        let b = check_same(
            &select(User::id).filter(
                User::email
                    .eq(None::<&str>)
                    .or(User::manager_id.ne(None::<i64>)),
            ),
            r#"SELECT "users"."id" FROM "users" WHERE "users"."email" IS NULL OR "users"."manager_id" IS NOT NULL"#,
        );
        assert!(b.is_empty());
    }

    #[test]
    fn mixed_numeric_arithmetic_takes_sql_result_types() {
        use crate::sql::fixtures::{Post, check};
        // Each `let` states the type the operands give: checked at compile time.
        let widened: Expr<i64> = User::karma + User::id;
        let to_float: Expr<Option<f64>> = User::id * Post::score;
        let nullable: Expr<Option<i64>> = User::id - User::manager_id;
        let int_div: Expr<i64> = User::karma / User::id;
        let float_div: Expr<Option<f64>> = User::karma / Post::score;
        let with_value: Expr<i32> = User::karma * 2;
        check(
            &select((widened, to_float, nullable, int_div, float_div, with_value)),
            r#"SELECT "users"."karma" + "users"."id", "users"."id" * "posts"."score", "users"."id" - "users"."manager_id", "users"."karma" / "users"."id", "users"."karma" / "posts"."score", "users"."karma" * $1 FROM "users", "posts""#,
            "SELECT `users`.`karma` + `users`.`id`, `users`.`id` * `posts`.`score`, `users`.`id` - `users`.`manager_id`, `users`.`karma` DIV `users`.`id`, `users`.`karma` / `posts`.`score`, `users`.`karma` * ? FROM `users`, `posts`",
            r#"SELECT "users"."karma" + "users"."id", "users"."id" * "posts"."score", "users"."id" - "users"."manager_id", "users"."karma" / "users"."id", "users"."karma" / "posts"."score", "users"."karma" * ? FROM "users", "posts""#,
        );
    }

    #[cfg(feature = "decimal")]
    #[test]
    fn decimal_times_integer_is_a_decimal_and_times_float_a_float() {
        use rust_decimal::Decimal;
        let price = lit(Decimal::new(250, 2));
        let total: Expr<Decimal> = price.clone() * User::karma;
        let total_rev: Expr<Decimal> = User::karma * price.clone();
        let per_id: Expr<Decimal> = price.clone() / User::id;
        let float: Expr<f64> = price.clone() * lit(1.5f64);
        let scaled: Expr<Decimal> = price * 3;
        let b = check_same(
            &select((total, total_rev, per_id, float, scaled)),
            r#"SELECT $1 * "users"."karma", "users"."karma" * $2, $3 / "users"."id", $4 * $5, $6 * $7 FROM "users""#,
        );
        // A value beside a decimal binds as a decimal.
        assert_eq!(b[6], Value::Decimal(Decimal::from(3)));
    }

    #[test]
    fn contains_escapes_wildcards_in_the_needle() {
        let b = check_same(
            &select(User::id).filter(User::name.contains("50%_off")),
            r#"SELECT "users"."id" FROM "users" WHERE "users"."name" LIKE $1 ESCAPE '/'"#,
        );
        assert_eq!(b, [Value::Text("%50/%/_off%".into())]);
    }
}
