//! The typed wrapper [`Expr<T>`] and the type system around it: which Rust types an
//! expression can have ([`ExprType`], [`Numeric`], [`Textual`], [`IsBool`], [`Dynamic`]),
//! and which values stand for an expression of a type ([`IntoExpr`], [`AnyExpr`]).

use std::marker::PhantomData;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};

use super::node::ExprNode;
use crate::schema::SqlType;
use crate::value::{Value, ValueKind};

/// A typed SQL expression evaluating to `T`.
#[derive(Debug, Clone, PartialEq)]
#[must_use = "an expression does nothing until it is part of an executed statement"]
pub struct Expr<T> {
    pub(crate) node: ExprNode,
    _t: PhantomData<fn() -> T>,
}

impl ExprNode {
    /// Wraps in a typed expression.
    pub fn typed<T>(self) -> Expr<T> {
        Expr {
            node: self,
            _t: PhantomData,
        }
    }
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
    /// The kind of the values of this type, which its `None` binds as
    /// ([`Value::TypedNull`]); `None` for [`Dynamic`], whose NULL is [`Value::Null`].
    fn value_kind() -> Option<ValueKind> {
        None
    }
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
    ($($t:ty => $sql:expr, $kind:ident, $($marker:ident)?);* $(;)?) => {$(
        impl ExprType for $t {
            type Base = $t;
            fn sql_type() -> SqlType { $sql }
            fn value_kind() -> Option<ValueKind> { Some(ValueKind::$kind) }
        }
        impl Nullity for $t {
            type Flag = NotNull;
        }
        $(impl $marker for $t {})?
    )*};
}

expr_types!(
    bool => SqlType::Boolean, Bool,;
    i16 => SqlType::SmallInt, I16, Numeric;
    i32 => SqlType::Integer, I32, Numeric;
    i64 => SqlType::BigInt, I64, Numeric;
    f32 => SqlType::Float, F32, Numeric;
    f64 => SqlType::Double, F64, Numeric;
    String => SqlType::Varchar(None), Text, Textual;
    Vec<u8> => SqlType::Blob, Bytes,;
    NaiveDate => SqlType::Date, Date,;
    NaiveTime => SqlType::Time, Time,;
    NaiveDateTime => SqlType::DateTime, DateTime,;
    DateTime<Utc> => SqlType::TimestampTz, DateTimeUtc,;
);
#[cfg(feature = "uuid")]
expr_types!(uuid::Uuid => SqlType::Uuid, Uuid,;);
#[cfg(feature = "json")]
expr_types!(serde_json::Value => SqlType::Json, Json,;);
#[cfg(feature = "decimal")]
expr_types!(rust_decimal::Decimal => SqlType::Numeric { precision: None, scale: None }, Decimal, Numeric;);

/// `lit("text")`: a string literal is a text expression.
impl ExprType for &'static str {
    type Base = String;
    fn sql_type() -> SqlType {
        SqlType::Varchar(None)
    }
    fn value_kind() -> Option<ValueKind> {
        Some(ValueKind::Text)
    }
}

impl ExprType for Dynamic {
    type Base = Dynamic;
    fn sql_type() -> SqlType {
        SqlType::Text
    }
}
impl Nullity for Dynamic {
    type Flag = NotNull;
}
impl Nullity for &'static str {
    type Flag = NotNull;
}
impl<T: ExprType> Nullity for Option<T> {
    type Flag = Nullable;
}

/// Whether an expression type admits NULL: `Option<T>` does ([`Nullable`]), the
/// others do not ([`NotNull`]). Arithmetic is nullable when either operand is.
pub trait Nullity {
    /// [`NotNull`] or [`Nullable`].
    type Flag: NullFlag;
}

/// The [`Nullity`] of a type that is not an `Option`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotNull {}

/// The [`Nullity`] of `Option<T>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nullable {}

/// [`NotNull`] or [`Nullable`], combined and applied at the type level.
pub trait NullFlag {
    /// `B` for [`NotNull`], `Option<B>` for [`Nullable`].
    type Apply<B: ExprType>: ExprType;
    /// Nullable when either flag is.
    type Or<F: NullFlag>: NullFlag;
}

impl NullFlag for NotNull {
    type Apply<B: ExprType> = B;
    type Or<F: NullFlag> = F;
}

impl NullFlag for Nullable {
    type Apply<B: ExprType> = Option<B>;
    type Or<F: NullFlag> = Nullable;
}

/// The type of arithmetic (`+ - * / %`) between a numeric base type and another
/// (`Self op R`), by SQL's rules: integers widen to the wider integer; an integer and
/// a decimal give a decimal; anything with a float gives a float (`f64`, but `f32` for
/// two `f32`s); [`Dynamic`] with anything stays dynamic. So `unit_price * quantity`
/// (`Decimal` times `i32`) is a `Decimal`, and `i64 * f64` an `f64`, with no
/// [`coerce`](Expr::coerce) and no CAST.
#[diagnostic::on_unimplemented(
    message = "no arithmetic between `{Self}` and `{R}`",
    label = "both operands must be numeric",
    note = "integers, floats and Decimal mix (integer op decimal is a decimal; anything op float is a float)"
)]
pub trait Promote<R> {
    /// The result's base type.
    type Output: ExprType;
}

macro_rules! promote {
    ($($l:ty, $r:ty => $o:ty;)*) => {$(
        impl Promote<$r> for $l {
            type Output = $o;
        }
    )*};
}

promote! {
    i16, i16 => i16; i16, i32 => i32; i16, i64 => i64; i16, f32 => f64; i16, f64 => f64;
    i32, i16 => i32; i32, i32 => i32; i32, i64 => i64; i32, f32 => f64; i32, f64 => f64;
    i64, i16 => i64; i64, i32 => i64; i64, i64 => i64; i64, f32 => f64; i64, f64 => f64;
    f32, i16 => f64; f32, i32 => f64; f32, i64 => f64; f32, f32 => f32; f32, f64 => f64;
    f64, i16 => f64; f64, i32 => f64; f64, i64 => f64; f64, f32 => f64; f64, f64 => f64;
    Dynamic, Dynamic => Dynamic;
    Dynamic, i16 => Dynamic; Dynamic, i32 => Dynamic; Dynamic, i64 => Dynamic;
    Dynamic, f32 => Dynamic; Dynamic, f64 => Dynamic;
    i16, Dynamic => Dynamic; i32, Dynamic => Dynamic; i64, Dynamic => Dynamic;
    f32, Dynamic => Dynamic; f64, Dynamic => Dynamic;
}

#[cfg(feature = "decimal")]
promote! {
    rust_decimal::Decimal, rust_decimal::Decimal => rust_decimal::Decimal;
    rust_decimal::Decimal, i16 => rust_decimal::Decimal;
    rust_decimal::Decimal, i32 => rust_decimal::Decimal;
    rust_decimal::Decimal, i64 => rust_decimal::Decimal;
    rust_decimal::Decimal, f32 => f64;
    rust_decimal::Decimal, f64 => f64;
    i16, rust_decimal::Decimal => rust_decimal::Decimal;
    i32, rust_decimal::Decimal => rust_decimal::Decimal;
    i64, rust_decimal::Decimal => rust_decimal::Decimal;
    f32, rust_decimal::Decimal => f64;
    f64, rust_decimal::Decimal => f64;
    Dynamic, rust_decimal::Decimal => Dynamic;
    rust_decimal::Decimal, Dynamic => Dynamic;
}
impl Numeric for Dynamic {}
impl Textual for Dynamic {}

impl<T: ExprType> ExprType for Option<T> {
    type Base = T::Base;
    fn sql_type() -> SqlType {
        T::sql_type()
    }
    fn value_kind() -> Option<ValueKind> {
        T::value_kind()
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

/// `None` is a NULL *bound* as the base type's kind ([`Value::TypedNull`]), not the
/// literal `NULL`: `col.set(None)` and `col.set(Some(x))` compile to one SQL text, and
/// on PostgreSQL one prepared statement, whose parameter has the column's type either
/// way. (Comparisons still turn `eq(None)` into `IS NULL`.)
impl<B: ExprType, V: IntoExpr<B>> IntoExpr<B> for Option<V> {
    fn into_node(self) -> ExprNode {
        match self {
            Some(v) => v.into_node(),
            None => ExprNode::Bind(Value::null_of(B::value_kind())),
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

/// Marks the boolean base type, for `and`/`or`/`not` and `&`/`|`/`!`.
pub trait IsBool {}
impl IsBool for bool {}
impl IsBool for Dynamic {}
