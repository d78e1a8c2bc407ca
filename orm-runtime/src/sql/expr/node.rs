//! The expression tree: [`ExprNode`] and the identifiers in it ([`Name`], [`Qualifier`],
//! [`ColumnRef`]).

use std::borrow::Cow;

use super::operators::BinaryOp;
use super::order::Window;
use crate::schema::SqlType;
use crate::sql::select::SelectStatement;
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
    /// The type a value compared with or assigned to the column is cast to, where the
    /// database needs the cast: a PostgreSQL enum column's
    /// [`NativeEnum`](SqlType::NativeEnum) type (`"t"."mood" = CAST($1 AS "mood")`),
    /// set by [`Table::c`](crate::schema::Table::c). `None` for every other column.
    pub value_type: Option<std::sync::Arc<SqlType>>,
}

impl ColumnRef {
    /// `qualifier.name`, with no [`value_type`](ColumnRef::value_type).
    pub fn new(qualifier: Option<Qualifier>, name: impl Into<Name>) -> ColumnRef {
        ColumnRef {
            qualifier,
            name: name.into(),
            value_type: None,
        }
    }
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
    /// `round(expr, digits)`, written per dialect by the SQL type of `expr` (`None`
    /// when unknown): PostgreSQL has no `round(double precision, int)`, so a float is
    /// rounded as a NUMERIC and cast back, as is an integer (which it rounds as a
    /// NUMERIC); SQLite's `round` gives a REAL, cast back to an integer for one.
    Round {
        /// The rounded expression.
        expr: Box<ExprNode>,
        /// Digits after the point (negative: before it).
        digits: Box<ExprNode>,
        /// The SQL type of `expr` and of the result.
        ty: Option<SqlType>,
    },
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
    /// [`Error::UnknownColumn`](crate::error::Error::UnknownColumn).
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
    pub(crate) fn binary(l: ExprNode, op: BinaryOp, r: ExprNode) -> ExprNode {
        ExprNode::Binary(Box::new(l), op, Box::new(r))
    }
}
