//! SQL functions: `func::count`, `func::sum`, ..., and any named function with
//! [`call`].
//!
//! Aggregates are typed: `sum` and `avg` take numeric expressions only, `lower` and
//! `upper` text only.

use super::expr::{AnyExpr, Expr, ExprNode, ExprType, IntoExpr, Name, Numeric, Textual};
use crate::value::Value;

fn function<T>(name: &'static str, args: Vec<ExprNode>) -> Expr<T> {
    ExprNode::Function {
        name: Name::Borrowed(name),
        args,
        distinct: false,
    }
    .typed()
}

/// `count(*)`.
pub fn count_star() -> Expr<i64> {
    ExprNode::Function {
        name: Name::Borrowed("count"),
        args: vec![ExprNode::Star(None)],
        distinct: false,
    }
    .typed()
}

/// `count(expr)`: the non-NULL values.
pub fn count(e: impl AnyExpr) -> Expr<i64> {
    function("count", vec![e.any_node()])
}

/// `count(DISTINCT expr)`.
pub fn count_distinct(e: impl AnyExpr) -> Expr<i64> {
    ExprNode::Function {
        name: Name::Borrowed("count"),
        args: vec![e.any_node()],
        distinct: true,
    }
    .typed()
}

/// `sum(expr)`: NULL over no rows.
pub fn sum<T: ExprType>(e: impl IntoExpr<T::Base> + Typed<T>) -> Expr<Option<T::Base>>
where
    T::Base: Numeric,
{
    function("sum", vec![e.into_node()])
}

/// `avg(expr)`, as a double.
pub fn avg<T: ExprType>(e: impl IntoExpr<T::Base> + Typed<T>) -> Expr<Option<f64>>
where
    T::Base: Numeric,
{
    function("avg", vec![e.into_node()])
}

/// `min(expr)`.
pub fn min<T: ExprType>(e: impl IntoExpr<T::Base> + Typed<T>) -> Expr<Option<T::Base>> {
    function("min", vec![e.into_node()])
}

/// `max(expr)`.
pub fn max<T: ExprType>(e: impl IntoExpr<T::Base> + Typed<T>) -> Expr<Option<T::Base>> {
    function("max", vec![e.into_node()])
}

/// `coalesce(a, b)`: `a` unless it is NULL.
pub fn coalesce<T: ExprType>(
    a: impl IntoExpr<T::Base> + Typed<T>,
    b: impl IntoExpr<T::Base>,
) -> Expr<T::Base> {
    function("coalesce", vec![a.into_node(), b.into_node()])
}

/// `lower(text)`. SQLite (built without ICU, as usual) folds ASCII letters only.
pub fn lower<T: ExprType>(e: impl IntoExpr<T::Base> + Typed<T>) -> Expr<T>
where
    T::Base: Textual,
{
    function("lower", vec![e.into_node()])
}

/// `upper(text)`. SQLite (built without ICU, as usual) folds ASCII letters only.
pub fn upper<T: ExprType>(e: impl IntoExpr<T::Base> + Typed<T>) -> Expr<T>
where
    T::Base: Textual,
{
    function("upper", vec![e.into_node()])
}

/// The length of a text in characters (`char_length` on MySQL).
pub fn length<T: ExprType>(e: impl IntoExpr<T::Base> + Typed<T>) -> Expr<i64>
where
    T::Base: Textual,
{
    function("length", vec![e.into_node()])
}

/// `abs(x)`.
pub fn abs<T: ExprType>(e: impl IntoExpr<T::Base> + Typed<T>) -> Expr<T>
where
    T::Base: Numeric,
{
    function("abs", vec![e.into_node()])
}

/// The current timestamp (`now()`; `CURRENT_TIMESTAMP` on SQLite).
pub fn now() -> Expr<chrono::DateTime<chrono::Utc>> {
    function("now", Vec::new())
}

/// SQL's `CURRENT_TIMESTAMP`: the time the transaction (PostgreSQL) or statement began.
/// SQLite's is UTC; MySQL's is in the session's time zone.
pub fn current_timestamp() -> Expr<chrono::DateTime<chrono::Utc>> {
    function("current_timestamp", Vec::new())
}

/// SQL's `CURRENT_DATE` (UTC on SQLite, the session's time zone elsewhere).
pub fn current_date() -> Expr<chrono::NaiveDate> {
    function("current_date", Vec::new())
}

/// `round(x, digits)`: `x` rounded to `digits` places after the point (before it when
/// negative), of the same type as `x` on every database. PostgreSQL has no
/// `round(double precision, int)`: a float is rounded as a NUMERIC and cast back to
/// its type (an integer too, which PostgreSQL rounds as a NUMERIC); on SQLite, whose
/// `round` gives a REAL, an integer's result is cast back to an integer. SQLite takes
/// negative `digits` as 0. How a float exactly half-way rounds is the database's (the
/// float 2.675 is a little under it: rounded as a decimal on PostgreSQL, as a double
/// elsewhere).
///
/// ```
/// use orm_runtime::sql::{func, lit, select};
/// use orm_runtime::Dialect;
/// let stmt = select(func::round(lit(2.675f64), 2));
/// assert_eq!(stmt.compile(Dialect::Postgres).unwrap().sql(),
///     "SELECT CAST(round(CAST($1 AS NUMERIC), $2) AS DOUBLE PRECISION)");
/// assert_eq!(stmt.compile(Dialect::MySql).unwrap().sql(), "SELECT round(?, ?)");
/// assert_eq!(stmt.compile(Dialect::Sqlite).unwrap().sql(), "SELECT round(?, ?)");
/// ```
pub fn round<T: ExprType>(e: impl IntoExpr<T::Base> + Typed<T>, digits: i32) -> Expr<T>
where
    T::Base: Numeric,
{
    ExprNode::Round {
        expr: Box::new(e.into_node()),
        digits: Box::new(ExprNode::Bind(Value::I32(digits))),
        ty: T::value_kind().map(|_| T::sql_type()),
    }
    .typed()
}

/// `substr(text, start, length)`: `length` characters from the 1-based position
/// `start`.
pub fn substr<T: ExprType>(
    e: impl IntoExpr<T::Base> + Typed<T>,
    start: impl IntoExpr<i32>,
    length: impl IntoExpr<i32>,
) -> Expr<T>
where
    T::Base: Textual,
{
    function(
        "substr",
        vec![e.into_node(), start.into_node(), length.into_node()],
    )
}

/// `trim(text)`: without leading and trailing spaces.
pub fn trim<T: ExprType>(e: impl IntoExpr<T::Base> + Typed<T>) -> Expr<T>
where
    T::Base: Textual,
{
    function("trim", vec![e.into_node()])
}

/// `replace(text, from, to)`: every occurrence of `from` replaced by `to`.
pub fn replace<T: ExprType>(
    e: impl IntoExpr<T::Base> + Typed<T>,
    from: impl IntoExpr<T::Base>,
    to: impl IntoExpr<T::Base>,
) -> Expr<T>
where
    T::Base: Textual,
{
    function(
        "replace",
        vec![e.into_node(), from.into_node(), to.into_node()],
    )
}

/// `nullif(a, b)`: NULL when `a = b`, else `a`.
pub fn nullif<T: ExprType>(
    a: impl IntoExpr<T::Base> + Typed<T>,
    b: impl IntoExpr<T::Base>,
) -> Expr<Option<T::Base>> {
    function("nullif", vec![a.into_node(), b.into_node()])
}

/// `row_number()` (use with `.over(..)`).
pub fn row_number() -> Expr<i64> {
    function("row_number", Vec::new())
}

/// `rank()` (use with `.over(..)`).
pub fn rank() -> Expr<i64> {
    function("rank", Vec::new())
}

/// `dense_rank()` (use with `.over(..)`).
pub fn dense_rank() -> Expr<i64> {
    function("dense_rank", Vec::new())
}

/// Any function by name, with the result type `T` chosen by the caller:
/// `call::<f64>("round", [x.node_any(), lit(2).node_any()])`.
///
/// The name is written into the SQL as given, unquoted (so the database folds its case
/// as for any function), and so it must be a function name: words of letters, digits,
/// `_` and `$` (not first), with `.` between a schema and the name (`pg_catalog.now`).
/// Anything else is [`Error::InvalidFunctionName`](crate::Error::InvalidFunctionName)
/// when the statement is compiled; the arguments are expressions, bound as usual.
/// For SQL the rule does not allow, [`literal_column`](crate::sql::literal_column)
/// copies text as written: never put outside input in it.
///
/// ```
/// use orm_runtime::sql::func::{self, NodeAny};
/// use orm_runtime::sql::{lit, select};
/// use orm_runtime::{Dialect, Error};
/// let ok = select(func::call::<f64>("round", [lit(2.5).node_any()]));
/// assert_eq!(ok.compile(Dialect::Postgres).unwrap().sql(), "SELECT round($1)");
/// let bad = select(func::call::<i64>("now(); DROP TABLE users; --", []));
/// assert!(matches!(bad.compile(Dialect::Postgres), Err(Error::InvalidFunctionName { .. })));
/// ```
pub fn call<T>(name: impl Into<Name>, args: impl IntoIterator<Item = ExprNode>) -> Expr<T> {
    ExprNode::Function {
        name: name.into(),
        args: args.into_iter().collect(),
        distinct: false,
    }
    .typed()
}

/// A function name as [`call`] accepts it: words of
/// letters, digits, `_` and `$` (not first), joined by `.` for a schema-qualified name.
/// Nothing else can reach the SQL text, which the name is spliced into unquoted (so that
/// the database folds its case as usual).
pub(crate) fn is_function_name(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').all(|part| {
            let mut chars = part.chars();
            chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
                && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '$')
        })
}

/// Ties an argument to its expression type, so that `sum(User::name)` is rejected for
/// the column's type rather than left ambiguous.
pub trait Typed<T> {}
impl<T> Typed<T> for Expr<T> {}
impl<T> Typed<T> for &Expr<T> {}
impl<M, T, D> Typed<T> for super::column::Column<M, T, D> {}

/// Shorthand to pass anything expression-like to [`call`].
pub trait NodeAny {
    /// The untyped node.
    fn node_any(self) -> ExprNode;
}

impl<A: AnyExpr> NodeAny for A {
    fn node_any(self) -> ExprNode {
        self.any_node()
    }
}

#[cfg(test)]
mod tests {
    use crate::dialect::Dialect;
    use crate::error::Error;
    use crate::sql::fixtures::{Post, User, check, check_same};
    use crate::sql::*;
    use crate::value::Value;

    #[test]
    fn count_star_and_count_column() {
        check_same(
            &select(func::count_star()).from(User::table()),
            r#"SELECT count(*) FROM "users""#,
        );
        check_same(
            &select(func::count(Post::id)),
            r#"SELECT count("posts"."id") FROM "posts""#,
        );
    }

    #[test]
    fn count_distinct() {
        check_same(
            &select(func::count_distinct(Post::user_id)),
            r#"SELECT count(DISTINCT "posts"."user_id") FROM "posts""#,
        );
    }

    #[test]
    fn aggregates() {
        check_same(
            &select((
                func::sum(Post::score),
                func::avg(Post::score),
                func::min(Post::id),
                func::max(Post::title),
            )),
            r#"SELECT sum("posts"."score"), avg("posts"."score"), min("posts"."id"), max("posts"."title") FROM "posts""#,
        );
    }

    #[test]
    fn coalesce_lower_upper() {
        check_same(
            &select((
                func::coalesce(User::email, "none"),
                func::lower(User::name),
                func::upper(User::name),
            )),
            r#"SELECT coalesce("users"."email", $1), lower("users"."name"), upper("users"."name") FROM "users""#,
        );
    }

    #[test]
    fn function_names_are_words_or_schema_qualified_words() {
        use crate::sql::func::is_function_name;
        for ok in ["round", "pg_catalog.now", "my_schema.f$2", "_x", "größe"] {
            assert!(is_function_name(ok), "{ok}");
        }
        for bad in [
            "",
            "1abc",
            "$1",
            "a.",
            ".a",
            "a b",
            "now()",
            "x); DROP TABLE users; --",
            "\"quoted\"",
            "a\0",
        ] {
            assert!(!is_function_name(bad), "{bad}");
        }
        let err = select(func::call::<i64>("x) --", [])).compile(Dialect::Sqlite);
        assert!(matches!(err, Err(Error::InvalidFunctionName { name }) if name == "x) --"));
    }

    #[test]
    fn round_keeps_the_type_of_its_argument_per_dialect() {
        // A float: PostgreSQL has no round(double precision, int).
        let b = check(
            &select(func::round(Post::score, 1)),
            r#"SELECT CAST(round(CAST("posts"."score" AS NUMERIC), $1) AS DOUBLE PRECISION) FROM "posts""#,
            "SELECT round(`posts`.`score`, ?) FROM `posts`",
            r#"SELECT round("posts"."score", ?) FROM "posts""#,
        );
        assert_eq!(b, [Value::I32(1)]);
        // An integer: PostgreSQL rounds it as a NUMERIC, SQLite gives a REAL.
        check(
            &select(func::round(User::karma, -2)),
            r#"SELECT CAST(round("users"."karma", $1) AS INTEGER) FROM "users""#,
            "SELECT round(`users`.`karma`, ?) FROM `users`",
            r#"SELECT CAST(round("users"."karma", ?) AS INTEGER) FROM "users""#,
        );
        // A dynamic column: the type is the database's.
        let t = std::sync::Arc::new(crate::schema::Table::new("t").column(
            crate::schema::Column::new("x", crate::schema::SqlType::Double),
        ));
        check_same(
            &select(func::round(t.c("x"), 2)).from(&t),
            r#"SELECT round("t"."x", $1) FROM "t""#,
        );
    }

    #[cfg(feature = "decimal")]
    #[test]
    fn round_of_a_decimal_is_round_everywhere() {
        let price = lit(rust_decimal::Decimal::new(2675, 3));
        check_same(&select(func::round(price, 2)), "SELECT round($1, $2)");
    }

    #[test]
    fn text_functions_and_nullif() {
        let b = check_same(
            &select((
                func::substr(User::name, 2, 3),
                func::trim(User::name),
                func::replace(User::name, "a", "b"),
                func::nullif(User::karma, 0),
            )),
            r#"SELECT substr("users"."name", $1, $2), trim("users"."name"), replace("users"."name", $3, $4), nullif("users"."karma", $5) FROM "users""#,
        );
        assert_eq!(b[..2], [Value::I32(2), Value::I32(3)]);
    }

    #[test]
    fn current_timestamp_and_date_are_keywords() {
        check_same(
            &select((func::current_timestamp(), func::current_date())),
            "SELECT CURRENT_TIMESTAMP, CURRENT_DATE",
        );
    }

    #[test]
    fn any_named_function() {
        check_same(
            &select(func::call::<f64>(
                "round",
                [Post::score.into_node(), lit(2i32).into_node()],
            )),
            r#"SELECT round("posts"."score", $1) FROM "posts""#,
        );
    }
}
