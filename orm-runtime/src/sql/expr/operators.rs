//! Expressions: the untyped tree the compiler walks ([`ExprNode`]) and the typed
//! wrapper users build with ([`Expr<T>`]).
//!
//! The type parameter of `Expr<T>` is the Rust type the expression evaluates to
//! (`i64`, `String`, `Option<NaiveDate>`, ...). Operators check it at compile time:
//! comparing a text expression with an integer, or summing text, does not compile.
//! Reflected tables give [`Dynamic`] expressions, which accept any value and are
//! checked by the database instead.

use std::borrow::Cow;
use std::marker::PhantomData;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};

use crate::sql::select::SelectStatement;
use crate::schema::SqlType;
use crate::value::Value;

/// An identifier: borrowed when it comes from generated code, owned when built at run
/// time.
pub type Name = Cow<'static, str>;

/// What a column reference is qualified with: a table (possibly in a schema) or an alias.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Qualifier {
    /// The schema, for a schema-qualified table.
    pub schema: Option<Name>,
    /// The table name or alias.
    pub name: Name,
    /// What the name stands for, so a FROM derived from the columns can name it right.
    pub origin: Origin,
}

/// What a [`Qualifier`]'s name stands for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum Origin {
    /// A table of that name.
    #[default]
    Table,
    /// An alias of a table (`users AS boss`).
    AliasOf {
        /// The table's schema.
        schema: Option<Name>,
        /// The table's name.
        table: Name,
    },
    /// A subquery or CTE: it must be in FROM (or WITH) by the statement's own doing.
    Derived,
}

impl Qualifier {
    /// A bare table name.
    pub fn named(name: impl Into<Name>) -> Qualifier {
        Qualifier {
            schema: None,
            name: name.into(),
            origin: Origin::Table,
        }
    }

    /// A table, possibly in a schema.
    pub fn table(schema: Option<Name>, name: impl Into<Name>) -> Qualifier {
        Qualifier {
            schema,
            name: name.into(),
            origin: Origin::Table,
        }
    }
}

/// A column, as `qualifier.name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ColumnRef {
    /// The table or alias the column belongs to; `None` renders the bare name.
    pub qualifier: Option<Qualifier>,
    /// The column's name.
    pub name: Name,
}

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

/// Sort direction and NULL placement of an ORDER BY item.
#[derive(Debug, Clone, PartialEq, Hash)]
pub struct OrderItem {
    /// What to sort by.
    pub expr: ExprNode,
    /// Descending.
    pub desc: bool,
    /// `Some(true)`: NULLS FIRST; `Some(false)`: NULLS LAST; `None`: the database's default.
    pub nulls_first: Option<bool>,
}

impl OrderItem {
    /// NULLs sort first.
    pub fn nulls_first(mut self) -> OrderItem {
        self.nulls_first = Some(true);
        self
    }

    /// NULLs sort last.
    pub fn nulls_last(mut self) -> OrderItem {
        self.nulls_first = Some(false);
        self
    }
}

/// A window specification: `OVER (PARTITION BY ... ORDER BY ...)`.
#[derive(Debug, Clone, PartialEq, Hash, Default)]
pub struct Window {
    /// PARTITION BY expressions.
    pub partition_by: Vec<ExprNode>,
    /// ORDER BY items.
    pub order_by: Vec<OrderItem>,
}

/// The untyped expression tree.
#[derive(Debug, Clone, PartialEq, Hash)]
#[non_exhaustive]
pub enum ExprNode {
    /// A column reference.
    Column(ColumnRef),
    /// A bound parameter.
    Bind(Value),
    /// `NULL`.
    Null,
    /// A boolean literal (`TRUE`/`FALSE`, `1`/`0` on SQLite).
    Bool(bool),
    /// `*` or `t.*`.
    Star(Option<Qualifier>),
    /// `left op right`.
    Binary(Box<ExprNode>, BinaryOp, Box<ExprNode>),
    /// `NOT expr`.
    Not(Box<ExprNode>),
    /// `-expr`.
    Neg(Box<ExprNode>),
    /// `expr IS [NOT] NULL`.
    IsNull {
        /// The tested expression.
        expr: Box<ExprNode>,
        /// `IS NOT NULL`.
        negated: bool,
    },
    /// `expr [NOT] IN (list)`; an empty list is a constant false (true when negated).
    InList {
        /// The tested expression.
        expr: Box<ExprNode>,
        /// The candidates.
        list: Vec<ExprNode>,
        /// `NOT IN`.
        negated: bool,
    },
    /// `expr [NOT] IN (SELECT ...)`.
    InSelect {
        /// The tested expression.
        expr: Box<ExprNode>,
        /// The subquery.
        select: Box<SelectStatement>,
        /// `NOT IN`.
        negated: bool,
    },
    /// `expr [NOT] BETWEEN low AND high`.
    Between {
        /// The tested expression.
        expr: Box<ExprNode>,
        /// Lower bound.
        low: Box<ExprNode>,
        /// Upper bound.
        high: Box<ExprNode>,
        /// `NOT BETWEEN`.
        negated: bool,
    },
    /// `expr [NOT] LIKE pattern [ESCAPE 'c']`, or ILIKE (emulated with `LOWER()` where
    /// the dialect has none).
    Like {
        /// The tested expression.
        expr: Box<ExprNode>,
        /// The pattern.
        pattern: Box<ExprNode>,
        /// The escape character.
        escape: Option<char>,
        /// ILIKE.
        case_insensitive: bool,
        /// NOT LIKE.
        negated: bool,
    },
    /// A function call: `name(args)`, `name(DISTINCT args)`, `count(*)`.
    Function {
        /// The function's name.
        name: Name,
        /// Its arguments.
        args: Vec<ExprNode>,
        /// `DISTINCT` before the arguments.
        distinct: bool,
    },
    /// `CASE [operand] WHEN ... THEN ... [ELSE ...] END`.
    Case {
        /// `CASE operand WHEN value ...` form.
        operand: Option<Box<ExprNode>>,
        /// `(when, then)` pairs.
        whens: Vec<(ExprNode, ExprNode)>,
        /// The ELSE branch.
        otherwise: Option<Box<ExprNode>>,
    },
    /// `CAST(expr AS type)`.
    Cast(Box<ExprNode>, SqlType),
    /// A scalar subquery: `(SELECT ...)`.
    Subquery(Box<SelectStatement>),
    /// `[NOT] EXISTS (SELECT ...)`.
    Exists {
        /// The subquery.
        select: Box<SelectStatement>,
        /// `NOT EXISTS`.
        negated: bool,
    },
    /// A window function: `func OVER (...)`.
    Over(Box<ExprNode>, Box<Window>),
    /// A row value: `(a, b)`.
    Tuple(Vec<ExprNode>),
    /// Literal SQL, copied as written (SQLAlchemy's `literal_column`).
    Raw(Name),
    /// In an upsert's update clause: the value the INSERT proposed for a column
    /// (`excluded.col`; `VALUES(col)` on MySQL).
    Excluded(Name),
    /// A column that a reflected table does not have: compiling it is an
    /// [`Error::UnknownColumn`](crate::Error::UnknownColumn).
    UnknownColumn {
        /// The table's name.
        table: String,
        /// The missing column.
        column: String,
        /// The table's columns.
        available: String,
    },
}

impl ExprNode {
    /// Wraps in a typed expression.
    pub fn typed<T>(self) -> Expr<T> {
        Expr {
            node: self,
            _t: PhantomData,
        }
    }

    pub(crate) fn binary(l: ExprNode, op: BinaryOp, r: ExprNode) -> ExprNode {
        ExprNode::Binary(Box::new(l), op, Box::new(r))
    }
}

/// A typed SQL expression evaluating to `T`.
#[derive(Debug, Clone, PartialEq)]
#[must_use = "an expression does nothing until it is part of an executed statement"]
pub struct Expr<T> {
    pub(crate) node: ExprNode,
    _t: PhantomData<fn() -> T>,
}

impl<T> Expr<T> {
    /// The untyped tree.
    pub fn node(&self) -> &ExprNode {
        &self.node
    }

    /// Unwraps the untyped tree.
    pub fn into_node(self) -> ExprNode {
        self.node
    }

    /// Re-types the expression (SQLAlchemy's `type_coerce`): no SQL changes.
    pub fn coerce<U>(self) -> Expr<U> {
        self.node.typed()
    }
}

/// The type of a column or expression whose type is only known at run time (reflected
/// tables): it compares with anything, and the database checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dynamic {}

/// A Rust type that a SQL expression can evaluate to.
///
/// `Base` strips `Option`: `Option<String>` and `String` compare with the same values.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a SQL expression type",
    note = "expression types are bool, integers, floats, String, Vec<u8>, chrono dates and times, Uuid, serde_json::Value, Decimal, Option of those, and Dynamic"
)]
pub trait ExprType: 'static {
    /// The non-null type.
    type Base: 'static;
    /// The SQL type a value of this type has (used by `cast`).
    fn sql_type() -> SqlType;
}

/// Types with arithmetic (`+ - * /`, `sum`, `avg`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a numeric SQL type",
    label = "arithmetic and sum/avg need a numeric expression"
)]
pub trait Numeric {}

/// Types with text operators (`like`, `concat`, `lower`, `upper`, `length`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a text SQL type",
    label = "LIKE, concat, lower, upper and length need a text expression"
)]
pub trait Textual {}

macro_rules! expr_types {
    ($($t:ty => $sql:expr, $($marker:ident)?);* $(;)?) => {$(
        impl ExprType for $t {
            type Base = $t;
            fn sql_type() -> SqlType { $sql }
        }
        $(impl $marker for $t {})?
    )*};
}

expr_types!(
    bool => SqlType::Boolean,;
    i16 => SqlType::SmallInt, Numeric;
    i32 => SqlType::Integer, Numeric;
    i64 => SqlType::BigInt, Numeric;
    f32 => SqlType::Float, Numeric;
    f64 => SqlType::Double, Numeric;
    String => SqlType::Varchar(None), Textual;
    Vec<u8> => SqlType::Blob,;
    NaiveDate => SqlType::Date,;
    NaiveTime => SqlType::Time,;
    NaiveDateTime => SqlType::DateTime,;
    DateTime<Utc> => SqlType::TimestampTz,;
);
#[cfg(feature = "uuid")]
expr_types!(uuid::Uuid => SqlType::Uuid,;);
#[cfg(feature = "json")]
expr_types!(serde_json::Value => SqlType::Json,;);
#[cfg(feature = "decimal")]
expr_types!(rust_decimal::Decimal => SqlType::Numeric { precision: None, scale: None }, Numeric;);

/// `lit("text")`: a string literal is a text expression.
impl ExprType for &'static str {
    type Base = String;
    fn sql_type() -> SqlType {
        SqlType::Varchar(None)
    }
}

impl ExprType for Dynamic {
    type Base = Dynamic;
    fn sql_type() -> SqlType {
        SqlType::Text
    }
}
impl Numeric for Dynamic {}
impl Textual for Dynamic {}

impl<T: ExprType> ExprType for Option<T> {
    type Base = T::Base;
    fn sql_type() -> SqlType {
        T::sql_type()
    }
}

/// A value or expression usable where an expression of base type `B` is expected.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used as a SQL expression of type `{B}`",
    label = "expected a value or expression of type `{B}`",
    note = "compare text with text, numbers with numbers; use `.cast::<T>()` to convert in SQL"
)]
pub trait IntoExpr<B> {
    /// The expression tree.
    fn into_node(self) -> ExprNode;
}

impl<T: ExprType> IntoExpr<T::Base> for Expr<T> {
    fn into_node(self) -> ExprNode {
        self.node
    }
}

impl<T: ExprType> IntoExpr<T::Base> for &Expr<T> {
    fn into_node(self) -> ExprNode {
        self.node.clone()
    }
}

impl<B, V: IntoExpr<B>> IntoExpr<B> for Option<V> {
    fn into_node(self) -> ExprNode {
        match self {
            Some(v) => v.into_node(),
            None => ExprNode::Null,
        }
    }
}

/// Values of Rust type `$v` bind as expressions of base type `$base`, converted to
/// `$base` first: a statement binds the same type at the same place whatever literal
/// the caller wrote (PostgreSQL prepares a statement with its parameters' types).
macro_rules! into_expr {
    ($base:ty => $($v:ty),* $(,)?) => {$(
        impl IntoExpr<$base> for $v {
            fn into_node(self) -> ExprNode {
                ExprNode::Bind(Value::from(<$base as From<$v>>::from(self)))
            }
        }
    )*};
}

/// Values bind as [`Dynamic`] expressions as they are.
macro_rules! into_dynamic {
    ($($v:ty),* $(,)?) => {$(
        impl IntoExpr<Dynamic> for $v {
            fn into_node(self) -> ExprNode {
                ExprNode::Bind(Value::from(self))
            }
        }
    )*};
}
into_expr!(bool => bool);
into_expr!(i16 => i8, u8, i16);
into_expr!(i32 => i8, u8, i16, u16, i32);
into_expr!(i64 => i8, u8, i16, u16, i32, u32, i64);
into_expr!(f32 => f32);
into_expr!(f64 => f32, f64);
into_expr!(String => String, &str, &String);
into_expr!(Vec<u8> => Vec<u8>, &[u8]);
into_expr!(NaiveDate => NaiveDate);
into_expr!(NaiveTime => NaiveTime);
into_expr!(NaiveDateTime => NaiveDateTime);
into_expr!(DateTime<Utc> => DateTime<Utc>, DateTime<chrono::FixedOffset>);
into_dynamic!(
    bool,
    i8,
    u8,
    i16,
    u16,
    i32,
    u32,
    i64,
    f32,
    f64,
    String,
    &str,
    &String,
    Vec<u8>,
    &[u8],
    NaiveDate,
    NaiveTime,
    NaiveDateTime,
    DateTime<Utc>,
    DateTime<chrono::FixedOffset>,
    Value
);
#[cfg(feature = "uuid")]
into_expr!(uuid::Uuid => uuid::Uuid);
#[cfg(feature = "uuid")]
into_dynamic!(uuid::Uuid);
#[cfg(feature = "json")]
into_expr!(serde_json::Value => serde_json::Value);
#[cfg(feature = "json")]
into_dynamic!(serde_json::Value);
#[cfg(feature = "decimal")]
into_expr!(rust_decimal::Decimal => rust_decimal::Decimal, i32, i64);
#[cfg(feature = "decimal")]
into_dynamic!(rust_decimal::Decimal);

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

/// Something that can stand in a select list, ORDER BY or function arguments whatever
/// its type: typed expressions, columns and labelled expressions.
pub trait AnyExpr {
    /// The expression tree.
    fn any_node(self) -> ExprNode;
}

impl<T> AnyExpr for Expr<T> {
    fn any_node(self) -> ExprNode {
        self.node
    }
}

impl<T> AnyExpr for &Expr<T> {
    fn any_node(self) -> ExprNode {
        self.node.clone()
    }
}

impl AnyExpr for ExprNode {
    fn any_node(self) -> ExprNode {
        self
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

/// In an upsert's update clause, the value the INSERT proposed for `column`.
pub fn excluded<T>(column: impl crate::sql::column::ColumnName<T>) -> Expr<T> {
    ExprNode::Excluded(column.column_name()).typed()
}

/// Starts a searched `CASE WHEN cond THEN value ... END`.
pub fn case<T: ExprType>(cond: Expr<bool>, then: impl IntoExpr<T::Base>) -> Case<T> {
    Case {
        whens: vec![(cond.node, then.into_node())],
        _t: PhantomData,
    }
}

/// A `CASE` expression under construction; finish with [`Case::otherwise`] or
/// [`Case::end`].
#[derive(Debug, Clone)]
#[must_use = "finish the CASE with .otherwise(..) or .end()"]
pub struct Case<T> {
    whens: Vec<(ExprNode, ExprNode)>,
    _t: PhantomData<fn() -> T>,
}

impl<T: ExprType> Case<T> {
    /// Adds `WHEN cond THEN value`.
    pub fn when(mut self, cond: Expr<bool>, then: impl IntoExpr<T::Base>) -> Case<T> {
        self.whens.push((cond.node, then.into_node()));
        self
    }

    /// `ELSE value END`.
    pub fn otherwise(self, value: impl IntoExpr<T::Base>) -> Expr<T> {
        ExprNode::Case {
            operand: None,
            whens: self.whens,
            otherwise: Some(Box::new(value.into_node())),
        }
        .typed()
    }

    /// `END` without ELSE: NULL when nothing matches.
    pub fn end(self) -> Expr<Option<T>> {
        ExprNode::Case {
            operand: None,
            whens: self.whens,
            otherwise: None,
        }
        .typed()
    }
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
            // (`= NULL` would match nothing).
            match (op, rhs.into_node()) {
                (BinaryOp::Eq, ExprNode::Null) => ExprNode::IsNull {
                    expr: Box::new(self.into_node()),
                    negated: false,
                }
                .typed(),
                (BinaryOp::Ne, ExprNode::Null) => ExprNode::IsNull {
                    expr: Box::new(self.into_node()),
                    negated: true,
                }
                .typed(),
                (op, rhs) => ExprNode::binary(self.into_node(), op, rhs).typed(),
            }
        }

        /// `self IN (values...)`; an empty list is a constant false.
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

        /// `self NOT IN (values...)`; an empty list is a constant true.
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

        /// Names the expression in a select list: `self AS name`.
        pub fn label(self, name: impl Into<Name>) -> crate::sql::select::Labeled {
            crate::sql::select::Labeled {
                expr: self.into_node(),
                name: name.into(),
            }
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

/// Marks the boolean base type, for `and`/`or`/`not` and `&`/`|`/`!`.
pub trait IsBool {}
impl IsBool for bool {}
impl IsBool for Dynamic {}

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

/// Arithmetic operators for a type `$ty<..., T>` with numeric base.
macro_rules! arith_ops {
    ([$($gen:tt)*] $ty:ty) => {
        impl<$($gen)*, R: IntoExpr<T::Base>> std::ops::Add<R> for $ty where T::Base: Numeric {
            type Output = Expr<T>;
            fn add(self, rhs: R) -> Expr<T> {
                ExprNode::binary(self.into_node(), BinaryOp::Add, rhs.into_node()).typed()
            }
        }
        impl<$($gen)*, R: IntoExpr<T::Base>> std::ops::Sub<R> for $ty where T::Base: Numeric {
            type Output = Expr<T>;
            fn sub(self, rhs: R) -> Expr<T> {
                ExprNode::binary(self.into_node(), BinaryOp::Sub, rhs.into_node()).typed()
            }
        }
        impl<$($gen)*, R: IntoExpr<T::Base>> std::ops::Mul<R> for $ty where T::Base: Numeric {
            type Output = Expr<T>;
            fn mul(self, rhs: R) -> Expr<T> {
                ExprNode::binary(self.into_node(), BinaryOp::Mul, rhs.into_node()).typed()
            }
        }
        impl<$($gen)*, R: IntoExpr<T::Base>> std::ops::Div<R> for $ty where T::Base: Numeric {
            type Output = Expr<T>;
            fn div(self, rhs: R) -> Expr<T> {
                let op = if $crate::sql::expr::is_integer::<T::Base>() { BinaryOp::IntDiv } else { BinaryOp::Div };
                ExprNode::binary(self.into_node(), op, rhs.into_node()).typed()
            }
        }
        impl<$($gen)*, R: IntoExpr<T::Base>> std::ops::Rem<R> for $ty where T::Base: Numeric {
            type Output = Expr<T>;
            fn rem(self, rhs: R) -> Expr<T> {
                ExprNode::binary(self.into_node(), BinaryOp::Mod, rhs.into_node()).typed()
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

/// Attaches a window to a function expression: `func OVER (PARTITION BY ... ORDER BY ...)`.
impl<T> Expr<T> {
    /// `self OVER (window)`; build the window with [`over`].
    pub fn over(self, window: Window) -> Expr<T> {
        ExprNode::Over(Box::new(self.node), Box::new(window)).typed()
    }
}

/// A window: `over().partition_by(..).order_by(..)`.
pub fn over() -> Window {
    Window::default()
}

impl Window {
    /// Adds a PARTITION BY expression.
    pub fn partition_by(mut self, e: impl AnyExpr) -> Window {
        self.partition_by.push(e.any_node());
        self
    }

    /// Adds an ORDER BY item.
    pub fn order_by(mut self, item: impl Into<OrderItem>) -> Window {
        self.order_by.push(item.into());
        self
    }
}

impl<T> From<Expr<T>> for OrderItem {
    fn from(e: Expr<T>) -> OrderItem {
        OrderItem {
            expr: e.node,
            desc: false,
            nulls_first: None,
        }
    }
}
