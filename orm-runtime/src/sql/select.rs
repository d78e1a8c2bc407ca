//! `SELECT` statements: select lists, FROM and joins, WHERE, GROUP BY/HAVING, ORDER BY,
//! LIMIT/OFFSET, locking, set operations, subqueries and CTEs.

use std::marker::PhantomData;
use std::sync::Arc;

use super::column::{Alias, Column, HasTable, TableAlias, qualified};
use super::expr::{AnyExpr, Expr, ExprNode, IntoExpr, Name, OrderItem, Qualifier};
use crate::schema::Table;
use crate::value::Value;

/// An expression with a name in a select list, `expr AS name`, typed as the expression
/// (`T`): made by `.label(name)` on any expression or column.
///
/// The label stands for the expression where SQL lets an output column's name do so:
/// in ORDER BY, `.asc()` and `.desc()` order by the name (`ORDER BY "total" DESC`)
/// without repeating the expression, its name or its type.
///
/// ```
/// use orm_runtime::schema::{Column as Col, SqlType, Table};
/// use orm_runtime::sql::{func, select};
/// use orm_runtime::Dialect;
/// let invoice = std::sync::Arc::new(Table::new("invoice")
///     .column(Col::new("customer_id", SqlType::BigInt))
///     .column(Col::new("total", SqlType::Double)));
/// let total = func::sum(invoice.c("total")).label("sum_total");
/// let stmt = select((invoice.c("customer_id"), total.clone()))
///     .group_by(invoice.c("customer_id"))
///     .order_by(total.desc());
/// assert_eq!(stmt.compile(Dialect::Postgres).unwrap().sql(),
///     r#"SELECT "invoice"."customer_id", sum("invoice"."total") AS "sum_total" FROM "invoice" GROUP BY "invoice"."customer_id" ORDER BY "sum_total" DESC"#);
/// ```
pub struct Labeled<T> {
    /// The expression.
    pub expr: ExprNode,
    /// The label.
    pub name: Name,
    _t: PhantomData<fn() -> T>,
}

impl<T> Labeled<T> {
    /// `expr AS name`, typed as `T`.
    pub fn new(expr: ExprNode, name: impl Into<Name>) -> Labeled<T> {
        Labeled {
            expr,
            name: name.into(),
            _t: PhantomData,
        }
    }

    /// The label.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The label as an expression of type `T`: its bare name, `"total"`. ORDER BY takes
    /// it on every database (as [`asc`](Self::asc)/[`desc`](Self::desc) do); GROUP BY
    /// and HAVING on MySQL, MariaDB and SQLite only (PostgreSQL reads a name there as
    /// an input column's).
    pub fn reference(&self) -> Expr<T> {
        super::column::column(self.name.clone())
    }

    /// Ascending ORDER BY the label's name.
    pub fn asc(self) -> OrderItem {
        OrderItem {
            expr: self.reference().node,
            desc: false,
            nulls_first: None,
        }
    }

    /// Descending ORDER BY the label's name.
    pub fn desc(self) -> OrderItem {
        OrderItem {
            expr: self.reference().node,
            desc: true,
            nulls_first: None,
        }
    }
}

impl<T> Clone for Labeled<T> {
    fn clone(&self) -> Self {
        Labeled::new(self.expr.clone(), self.name.clone())
    }
}

impl<T> std::fmt::Debug for Labeled<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Labeled")
            .field("expr", &self.expr)
            .field("name", &self.name)
            .finish()
    }
}

impl<T> PartialEq for Labeled<T> {
    fn eq(&self, other: &Self) -> bool {
        self.expr == other.expr && self.name == other.name
    }
}

/// `ORDER BY label` (ascending).
impl<T> From<Labeled<T>> for OrderItem {
    fn from(l: Labeled<T>) -> OrderItem {
        l.asc()
    }
}

/// One item of a select list.
#[derive(Debug, Clone, PartialEq, Hash)]
pub struct SelectItem {
    /// The expression.
    pub expr: ExprNode,
    /// `AS label`.
    pub label: Option<Name>,
}

impl SelectItem {
    /// The name the item has in a result row or subquery: its label, or the column's
    /// name.
    pub fn output_name(&self) -> Option<&str> {
        match (&self.label, &self.expr) {
            (Some(l), _) => Some(l),
            (None, ExprNode::Column(c)) => Some(&c.name),
            _ => None,
        }
    }
}

/// Something that can be one item of a select list.
pub trait IntoSelectItem {
    /// The item.
    fn into_select_item(self) -> SelectItem;
}

impl<T: AnyExpr> IntoSelectItem for T {
    fn into_select_item(self) -> SelectItem {
        SelectItem {
            expr: self.any_node(),
            label: None,
        }
    }
}

impl<T> IntoSelectItem for Labeled<T> {
    fn into_select_item(self) -> SelectItem {
        SelectItem {
            expr: self.expr,
            label: Some(self.name),
        }
    }
}

/// A select list: one item, or a tuple of items.
pub trait IntoSelectList {
    /// The items, in order.
    fn into_select_list(self) -> Vec<SelectItem>;
}

impl<T: IntoSelectItem> IntoSelectList for T {
    fn into_select_list(self) -> Vec<SelectItem> {
        vec![self.into_select_item()]
    }
}

impl IntoSelectList for Vec<SelectItem> {
    fn into_select_list(self) -> Vec<SelectItem> {
        self
    }
}

macro_rules! tuple_select_list {
    ($($name:ident),+) => {
        impl<$($name: IntoSelectItem),+> IntoSelectList for ($($name,)+) {
            #[allow(non_snake_case)] // the type parameters name the tuple's fields
            fn into_select_list(self) -> Vec<SelectItem> {
                let ($($name,)+) = self;
                vec![$($name.into_select_item()),+]
            }
        }
    };
}
tuple_select_list!(A);
tuple_select_list!(A, B);
tuple_select_list!(A, B, C);
tuple_select_list!(A, B, C, D);
tuple_select_list!(A, B, C, D, E);
tuple_select_list!(A, B, C, D, E, F);
tuple_select_list!(A, B, C, D, E, F, G);
tuple_select_list!(A, B, C, D, E, F, G, H);
tuple_select_list!(A, B, C, D, E, F, G, H, I);
tuple_select_list!(A, B, C, D, E, F, G, H, I, J);
tuple_select_list!(A, B, C, D, E, F, G, H, I, J, K);
tuple_select_list!(A, B, C, D, E, F, G, H, I, J, K, L);

/// `*`.
pub fn star() -> Expr<super::expr::Dynamic> {
    ExprNode::Star(None).typed()
}

/// `table.*` for a mapped table.
pub fn star_of<M: HasTable>() -> Expr<super::expr::Dynamic> {
    ExprNode::Star(Some(Qualifier::table(
        M::SCHEMA.map(Name::Borrowed),
        Name::Borrowed(M::TABLE_NAME),
    )))
    .typed()
}

/// An item of a FROM clause.
#[derive(Debug, Clone, PartialEq, Hash)]
pub enum FromItem {
    /// A table, possibly aliased.
    Table {
        /// The table (its foreign keys infer join conditions).
        table: Arc<Table>,
        /// `AS alias`.
        alias: Option<Name>,
    },
    /// A derived table: `(SELECT ...) AS alias`.
    Subquery {
        /// The query.
        select: Box<SelectStatement>,
        /// Its alias.
        alias: Name,
    },
    /// A reference to a common table expression by name.
    Cte(Box<Cte>),
    /// A table known only by name (derived from the columns a select uses).
    Named(Qualifier),
}

impl FromItem {
    /// The name columns are qualified with: the alias, else the table name.
    pub(crate) fn exposed_name(&self) -> &str {
        match self {
            FromItem::Table { alias: Some(a), .. } => a,
            FromItem::Table { table, .. } => &table.name,
            FromItem::Subquery { alias, .. } => alias,
            FromItem::Cte(c) => &c.name,
            FromItem::Named(q) => &q.name,
        }
    }

    fn table(&self) -> Option<&Arc<Table>> {
        match self {
            FromItem::Table { table, .. } => Some(table),
            _ => None,
        }
    }
}

/// Something that can appear in FROM or JOIN: tables, aliases, subqueries, CTEs.
pub trait IntoFromItem {
    /// The FROM item.
    fn into_from_item(self) -> FromItem;
}

impl IntoFromItem for FromItem {
    fn into_from_item(self) -> FromItem {
        self
    }
}

impl IntoFromItem for Arc<Table> {
    fn into_from_item(self) -> FromItem {
        FromItem::Table {
            table: self,
            alias: None,
        }
    }
}

impl IntoFromItem for &Arc<Table> {
    fn into_from_item(self) -> FromItem {
        FromItem::Table {
            table: Arc::clone(self),
            alias: None,
        }
    }
}

/// A table built in place, moved into the statement.
impl IntoFromItem for Table {
    fn into_from_item(self) -> FromItem {
        FromItem::Table {
            table: Arc::new(self),
            alias: None,
        }
    }
}

impl IntoFromItem for &TableAlias {
    fn into_from_item(self) -> FromItem {
        self.from_item()
    }
}

impl IntoFromItem for TableAlias {
    fn into_from_item(self) -> FromItem {
        FromItem::Table {
            table: self.table,
            alias: Some(self.name),
        }
    }
}

impl<M: HasTable> IntoFromItem for &Alias<M> {
    fn into_from_item(self) -> FromItem {
        self.from_item()
    }
}

impl IntoFromItem for &Subquery {
    fn into_from_item(self) -> FromItem {
        FromItem::Subquery {
            select: self.select.clone(),
            alias: self.alias.clone(),
        }
    }
}

impl IntoFromItem for &Cte {
    fn into_from_item(self) -> FromItem {
        FromItem::Cte(Box::new(self.clone()))
    }
}

/// The kind of a join.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JoinKind {
    /// `JOIN` (inner).
    Inner,
    /// `LEFT OUTER JOIN`.
    Left,
    /// `FULL OUTER JOIN` (not on MySQL).
    Full,
}

/// One join of a FROM clause.
#[derive(Debug, Clone, PartialEq, Hash)]
pub struct Join {
    /// Inner, left or full.
    pub kind: JoinKind,
    /// The joined item.
    pub item: FromItem,
    /// The ON condition.
    pub on: ExprNode,
}

/// A FROM item with the joins chained onto it.
#[derive(Debug, Clone, PartialEq, Hash)]
pub struct FromClause {
    /// The leftmost item.
    pub item: FromItem,
    /// Its joins, in order.
    pub joins: Vec<Join>,
}

/// Row locking: `FOR UPDATE` and friends (ignored on SQLite, which locks the database).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lock {
    /// `FOR UPDATE`.
    Update,
    /// `FOR UPDATE NOWAIT`.
    UpdateNowait,
    /// `FOR UPDATE SKIP LOCKED`.
    UpdateSkipLocked,
    /// `FOR SHARE` (`LOCK IN SHARE MODE` on MariaDB).
    Share,
    /// PostgreSQL's `FOR NO KEY UPDATE`: an exclusive lock that still lets other
    /// transactions take [`KeyShare`](Lock::KeyShare) (insert rows referring to the
    /// locked one), for updates that change no key column. MySQL and MariaDB (and
    /// PostgreSQL before 9.3) have no weaker exclusive lock: `FOR UPDATE` there.
    NoKeyUpdate,
    /// PostgreSQL's `FOR KEY SHARE`: the weakest share lock, which blocks only deleting
    /// the row or changing its key. MySQL and MariaDB (and PostgreSQL before 9.3) have
    /// no weaker shared lock: [`Share`](Lock::Share)'s there (`FOR SHARE`, or
    /// `LOCK IN SHARE MODE`).
    KeyShare,
}

/// Set operations between selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SetOp {
    /// `UNION`.
    Union,
    /// `UNION ALL`.
    UnionAll,
    /// `INTERSECT`.
    Intersect,
    /// `EXCEPT`.
    Except,
}

/// The select proper: everything but ORDER BY/LIMIT/locking.
#[derive(Debug, Clone, PartialEq, Hash, Default)]
pub struct SelectCore {
    /// `SELECT DISTINCT`.
    pub distinct: bool,
    /// The select list.
    pub columns: Vec<SelectItem>,
    /// FROM items with their joins. Tables referenced by columns but absent here are
    /// added by the compiler (unless an enclosing query provides them: correlation).
    pub from: Vec<FromClause>,
    /// WHERE.
    pub filter: Option<ExprNode>,
    /// GROUP BY.
    pub group_by: Vec<ExprNode>,
    /// HAVING.
    pub having: Option<ExprNode>,
}

/// The body of a select: a plain select, or two joined by a set operation.
#[derive(Debug, Clone, PartialEq, Hash)]
pub enum SelectBody {
    /// A plain select.
    Core(Box<SelectCore>),
    /// `left op right`.
    Compound {
        /// The operation.
        op: SetOp,
        /// Left operand.
        left: Box<SelectStatement>,
        /// Right operand.
        right: Box<SelectStatement>,
    },
}

/// A problem found while building a statement, reported when it compiles.
#[derive(Debug, Clone, PartialEq, Hash)]
pub(crate) enum BuildError {
    NoJoinCondition {
        left: String,
        right: String,
        reason: &'static str,
    },
}

/// A `SELECT` statement. Build it with [`select`].
///
/// ```
/// use orm_runtime::schema::{Column as Col, ForeignKey, SqlType, Table};
/// use orm_runtime::sql::{func, select};
/// use orm_runtime::Dialect;
/// use std::sync::Arc;
/// let users = Arc::new(Table::new("users").column(Col::new("id", SqlType::BigInt).primary_key())
///     .column(Col::new("name", SqlType::Text)));
/// let posts = Arc::new(Table::new("posts").column(Col::new("id", SqlType::BigInt).primary_key())
///     .column(Col::new("user_id", SqlType::BigInt))
///     .foreign_key(ForeignKey::new(["user_id"], "users", ["id"])));
/// let stmt = select((users.c("name"), func::count(posts.c("id")).label("n")))
///     .from(&users)
///     .left_join_fk(&posts)
///     .group_by(users.c("name"))
///     .having(func::count(posts.c("id")).gt(2))
///     .order_by(users.c("name").asc())
///     .limit(10);
/// assert_eq!(stmt.compile(Dialect::MySql).unwrap().sql(),
///     "SELECT `users`.`name`, count(`posts`.`id`) AS `n` FROM `users` \
///      LEFT OUTER JOIN `posts` ON `posts`.`user_id` = `users`.`id` \
///      GROUP BY `users`.`name` HAVING count(`posts`.`id`) > ? ORDER BY `users`.`name` ASC LIMIT ?");
/// ```
#[derive(Debug, Clone, PartialEq, Hash)]
#[must_use = "a statement does nothing until it is executed"]
pub struct SelectStatement {
    /// Common table expressions used by this select (WITH).
    pub ctes: Vec<Cte>,
    /// The body.
    pub body: SelectBody,
    /// ORDER BY.
    pub order_by: Vec<OrderItem>,
    /// LIMIT, as a bound value.
    pub limit: Option<ExprNode>,
    /// OFFSET, as a bound value.
    pub offset: Option<ExprNode>,
    /// FOR UPDATE and friends.
    pub lock: Option<Lock>,
    pub(crate) error: Option<BuildError>,
}

/// Starts a `SELECT` of `items`: one expression or column, or a tuple of them.
pub fn select(items: impl IntoSelectList) -> SelectStatement {
    SelectStatement {
        ctes: Vec::new(),
        body: SelectBody::Core(Box::new(SelectCore {
            columns: items.into_select_list(),
            ..SelectCore::default()
        })),
        order_by: Vec::new(),
        limit: None,
        offset: None,
        lock: None,
        error: None,
    }
}

impl SelectStatement {
    /// The plain select to add clauses to; a compound select is wrapped as
    /// `SELECT * FROM (compound) AS anon_1` first.
    fn core_mut(&mut self) -> &mut SelectCore {
        if let SelectBody::Compound { .. } = self.body {
            let inner = std::mem::replace(self, select(star()));
            let sub = inner.subquery("anon_1");
            *self = select(star()).from(&sub);
        }
        match &mut self.body {
            SelectBody::Core(core) => core,
            SelectBody::Compound { .. } => unreachable!("compound bodies were wrapped above"),
        }
    }

    /// Adds FROM items (tables referenced by columns are added automatically; use this
    /// for the others, and to choose the order).
    pub fn from(mut self, item: impl IntoFromItem) -> SelectStatement {
        let item = item.into_from_item();
        if let FromItem::Cte(cte) = &item {
            self.register_cte(cte);
        }
        self.core_mut().from.push(FromClause {
            item,
            joins: Vec::new(),
        });
        self
    }

    fn register_cte(&mut self, cte: &Cte) {
        match self.ctes.iter_mut().find(|c| c.name == cte.name) {
            Some(existing) => *existing = cte.clone(),
            None => self.ctes.push(cte.clone()),
        }
    }

    pub(crate) fn add_join(
        mut self,
        kind: JoinKind,
        item: FromItem,
        on: Option<ExprNode>,
    ) -> SelectStatement {
        if let FromItem::Cte(cte) = &item {
            self.register_cte(cte);
        }
        let on = match on {
            Some(on) => on,
            None => match self.infer_join_condition(&item) {
                Ok(on) => on,
                Err(e) => {
                    self.error.get_or_insert(e);
                    ExprNode::Bool(false)
                }
            },
        };
        let core = self.core_mut();
        let join = Join { kind, item, on };
        match core.from.last_mut() {
            Some(clause) => clause.joins.push(join),
            None => {
                // No explicit FROM yet: join onto the first table the select list names
                // (other than the joined item); with none, the join has nothing to attach
                // to, which is an error rather than a dropped ON condition.
                let joined = join.item.exposed_name().to_owned();
                let mut used = Vec::new();
                for c in &core.columns {
                    super::compiler::collect_qualifiers(&c.expr, &mut used);
                }
                match used.into_iter().find(|q| q.name != joined) {
                    Some(q) => core.from.push(FromClause {
                        item: FromItem::Named(q),
                        joins: vec![join],
                    }),
                    None => {
                        self.error.get_or_insert(BuildError::NoJoinCondition {
                            left: "an empty FROM clause".into(),
                            right: joined,
                            reason: "the select list names no other table to join onto; call .from(..) first",
                        });
                    }
                }
            }
        }
        self
    }

    /// Finds the foreign key between `target` and the tables already in FROM.
    fn infer_join_condition(&self, target: &FromItem) -> Result<ExprNode, BuildError> {
        let Some(right) = target.table() else {
            return Err(BuildError::NoJoinCondition {
                left: "the FROM clause".into(),
                right: target.exposed_name().to_owned(),
                reason: "only tables carry foreign keys; give an ON condition",
            });
        };
        let SelectBody::Core(core) = &self.body else {
            return Err(BuildError::NoJoinCondition {
                left: "a compound select".into(),
                right: right.name.clone(),
                reason: "give an ON condition",
            });
        };
        let mut lefts: Vec<&FromItem> = Vec::new();
        for clause in &core.from {
            lefts.push(&clause.item);
            lefts.extend(clause.joins.iter().map(|j| &j.item));
        }
        let mut found: Vec<ExprNode> = Vec::new();
        let mut left_names = Vec::new();
        for left in lefts {
            let Some(lt) = left.table() else { continue };
            left_names.push(left.exposed_name().to_owned());
            for (from, from_name, to, to_name) in [
                (right, target.exposed_name(), lt, left.exposed_name()),
                (lt, left.exposed_name(), right, target.exposed_name()),
            ] {
                for fk in &from.foreign_keys {
                    if fk.referred_table == to.name
                        && (fk.referred_schema.is_none() || fk.referred_schema == to.schema)
                    {
                        let conds = fk.columns.iter().zip(&fk.referred_columns).map(|(c, r)| {
                            ExprNode::binary(
                                qualified::<()>(&Name::Owned(from_name.to_owned()), c.clone()).node,
                                super::expr::BinaryOp::Eq,
                                qualified::<()>(&Name::Owned(to_name.to_owned()), r.clone()).node,
                            )
                        });
                        let cond = conds
                            .reduce(|a, b| ExprNode::binary(a, super::expr::BinaryOp::And, b))
                            .unwrap_or(ExprNode::Bool(false));
                        if !found.contains(&cond) {
                            found.push(cond);
                        }
                    }
                }
            }
        }
        match found.len() {
            1 => Ok(found.remove(0)),
            0 => Err(BuildError::NoJoinCondition {
                left: if left_names.is_empty() {
                    "the FROM clause".into()
                } else {
                    left_names.join(", ")
                },
                right: right.name.clone(),
                reason: "no foreign key links them (name the left table with .from(..)) or give an ON condition",
            }),
            _ => Err(BuildError::NoJoinCondition {
                left: left_names.join(", "),
                right: right.name.clone(),
                reason: "more than one foreign key links them; give an ON condition",
            }),
        }
    }

    /// Adds `items` to the select list, after the ones already there.
    pub fn add_columns(mut self, items: impl IntoSelectList) -> SelectStatement {
        let items = items.into_select_list();
        self.core_mut().columns.extend(items);
        self
    }

    /// `JOIN item ON on`.
    pub fn join(self, item: impl IntoFromItem, on: impl IntoExpr<bool>) -> SelectStatement {
        self.add_join(JoinKind::Inner, item.into_from_item(), Some(on.into_node()))
    }

    /// `LEFT OUTER JOIN item ON on`.
    pub fn left_join(self, item: impl IntoFromItem, on: impl IntoExpr<bool>) -> SelectStatement {
        self.add_join(JoinKind::Left, item.into_from_item(), Some(on.into_node()))
    }

    /// `FULL OUTER JOIN item ON on` (an error on MySQL, which has none).
    pub fn full_join(self, item: impl IntoFromItem, on: impl IntoExpr<bool>) -> SelectStatement {
        self.add_join(JoinKind::Full, item.into_from_item(), Some(on.into_node()))
    }

    /// `JOIN table ON` the foreign key between it and a table already in FROM. No such
    /// key, or more than one, is an error when the statement compiles, naming both tables.
    pub fn join_fk(self, item: impl IntoFromItem) -> SelectStatement {
        self.add_join(JoinKind::Inner, item.into_from_item(), None)
    }

    /// `LEFT OUTER JOIN table ON` the foreign key, as [`join_fk`](Self::join_fk).
    pub fn left_join_fk(self, item: impl IntoFromItem) -> SelectStatement {
        self.add_join(JoinKind::Left, item.into_from_item(), None)
    }

    /// `FULL OUTER JOIN table ON` the foreign key, as [`join_fk`](Self::join_fk).
    pub fn full_join_fk(self, item: impl IntoFromItem) -> SelectStatement {
        self.add_join(JoinKind::Full, item.into_from_item(), None)
    }

    /// Adds a WHERE condition, ANDed with any before it.
    pub fn filter(mut self, cond: impl IntoExpr<bool>) -> SelectStatement {
        let core = self.core_mut();
        core.filter = Some(and_opt(core.filter.take(), cond.into_node()));
        self
    }

    /// `SELECT DISTINCT`.
    pub fn distinct(mut self) -> SelectStatement {
        self.core_mut().distinct = true;
        self
    }

    /// Adds GROUP BY expressions.
    pub fn group_by(mut self, e: impl AnyExpr) -> SelectStatement {
        self.core_mut().group_by.push(e.any_node());
        self
    }

    /// Adds a HAVING condition, ANDed with any before it.
    pub fn having(mut self, cond: impl IntoExpr<bool>) -> SelectStatement {
        let core = self.core_mut();
        core.having = Some(and_opt(core.having.take(), cond.into_node()));
        self
    }

    /// Adds an ORDER BY item (`col.asc()`, `col.desc().nulls_last()`, or an expression).
    pub fn order_by(mut self, item: impl Into<OrderItem>) -> SelectStatement {
        self.order_by.push(item.into());
        self
    }

    /// LIMIT (a bound parameter, so every limit shares one compiled statement).
    pub fn limit(mut self, n: u64) -> SelectStatement {
        self.limit = Some(ExprNode::Bind(Value::I64(
            i64::try_from(n).unwrap_or(i64::MAX),
        )));
        self
    }

    /// OFFSET (a bound parameter).
    pub fn offset(mut self, n: u64) -> SelectStatement {
        self.offset = Some(ExprNode::Bind(Value::I64(
            i64::try_from(n).unwrap_or(i64::MAX),
        )));
        self
    }

    /// `FOR UPDATE` (no-op on SQLite).
    pub fn for_update(mut self) -> SelectStatement {
        self.lock = Some(Lock::Update);
        self
    }

    /// Sets a locking mode.
    pub fn with_lock(mut self, lock: Lock) -> SelectStatement {
        self.lock = Some(lock);
        self
    }

    /// Adds a CTE to the WITH clause explicitly (CTEs used in FROM/JOIN are added
    /// automatically).
    pub fn with(mut self, cte: &Cte) -> SelectStatement {
        self.register_cte(cte);
        self
    }

    fn compound(self, op: SetOp, other: SelectStatement) -> SelectStatement {
        SelectStatement {
            ctes: Vec::new(),
            body: SelectBody::Compound {
                op,
                left: Box::new(self),
                right: Box::new(other),
            },
            order_by: Vec::new(),
            limit: None,
            offset: None,
            lock: None,
            error: None,
        }
    }

    /// `self UNION other`.
    pub fn union(self, other: SelectStatement) -> SelectStatement {
        self.compound(SetOp::Union, other)
    }

    /// `self UNION ALL other`.
    pub fn union_all(self, other: SelectStatement) -> SelectStatement {
        self.compound(SetOp::UnionAll, other)
    }

    /// `self INTERSECT other`.
    pub fn intersect(self, other: SelectStatement) -> SelectStatement {
        self.compound(SetOp::Intersect, other)
    }

    /// `self EXCEPT other`.
    pub fn except(self, other: SelectStatement) -> SelectStatement {
        self.compound(SetOp::Except, other)
    }

    /// This select as a derived table `(SELECT ...) AS alias`.
    pub fn subquery(self, alias: impl Into<Name>) -> Subquery {
        Subquery {
            select: Box::new(self),
            alias: alias.into(),
        }
    }

    /// This select as a scalar subquery `(SELECT ...)` of type `T`.
    pub fn scalar<T>(self) -> Expr<T> {
        ExprNode::Subquery(Box::new(self)).typed()
    }

    /// This select as a common table expression named `name`.
    pub fn cte(self, name: impl Into<Name>) -> Cte {
        Cte::new(name.into(), self, false)
    }

    /// This select as the anchor of a recursive CTE; add the recursive part with
    /// [`Cte::union_all`].
    pub fn cte_recursive(self, name: impl Into<Name>) -> Cte {
        Cte::new(name.into(), self, true)
    }

    /// The output names of the select list (labels or column names).
    pub fn output_names(&self) -> Vec<Option<String>> {
        match &self.body {
            SelectBody::Core(core) => core
                .columns
                .iter()
                .map(|c| c.output_name().map(str::to_owned))
                .collect(),
            SelectBody::Compound { left, .. } => left.output_names(),
        }
    }
}

pub(crate) fn and_opt(prev: Option<ExprNode>, next: ExprNode) -> ExprNode {
    match prev {
        Some(p) => ExprNode::binary(p, super::expr::BinaryOp::And, next),
        None => next,
    }
}

/// A derived table: a select with an alias, usable in FROM/JOIN; its columns are
/// reached with [`Subquery::c`].
#[derive(Debug, Clone, PartialEq, Hash)]
pub struct Subquery {
    select: Box<SelectStatement>,
    alias: Name,
}

impl Subquery {
    /// The column `name` of the subquery, typed as `T`.
    pub fn c<T>(&self, name: impl Into<Name>) -> Expr<T> {
        qualified(&self.alias, name)
    }

    /// The column of the subquery that a mapped column of the inner select produced.
    pub fn col<M: HasTable, T, D>(&self, column: Column<M, T, D>) -> Expr<T> {
        qualified(&self.alias, column.name())
    }

    /// The alias.
    pub fn alias(&self) -> &str {
        &self.alias
    }
}

/// A common table expression (`WITH name AS (...)`), recursive or not.
#[derive(Debug, Clone, PartialEq, Hash)]
pub struct Cte {
    /// Its name.
    pub name: Name,
    /// Column names, from the anchor's select list.
    pub columns: Vec<Name>,
    /// The query; `None` for a bare reference by name.
    pub query: Option<Arc<SelectStatement>>,
    /// `WITH RECURSIVE`.
    pub recursive: bool,
}

impl Cte {
    fn new(name: Name, query: SelectStatement, recursive: bool) -> Cte {
        // A column list only when every output has a name (a partial list is invalid).
        let columns = query
            .output_names()
            .into_iter()
            .map(|n| n.map(Name::Owned))
            .collect::<Option<Vec<_>>>()
            .unwrap_or_default();
        Cte {
            name,
            columns,
            query: Some(Arc::new(query)),
            recursive,
        }
    }

    /// The column `name` of the CTE, typed as `T`.
    pub fn c<T>(&self, name: impl Into<Name>) -> Expr<T> {
        qualified(&self.name, name)
    }

    /// Adds the recursive part: the CTE becomes `anchor UNION ALL recursive`.
    pub fn union_all(self, recursive: SelectStatement) -> Cte {
        self.combine(SetOp::UnionAll, recursive)
    }

    /// Adds the recursive part with `UNION` (duplicates removed).
    pub fn union(self, recursive: SelectStatement) -> Cte {
        self.combine(SetOp::Union, recursive)
    }

    fn combine(self, op: SetOp, recursive: SelectStatement) -> Cte {
        let anchor = match self.query {
            Some(q) => Arc::try_unwrap(q).unwrap_or_else(|q| (*q).clone()),
            None => return self,
        };
        Cte {
            query: Some(Arc::new(anchor.compound(op, recursive))),
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::dialect::Dialect;

    use crate::sql::fixtures::{Order, Post, User, check, check_same};
    use crate::sql::*;

    #[test]
    fn a_label_orders_by_its_name() {
        let total = func::sum(Post::score).label("total");
        let stmt = select((Post::user_id, total.clone()))
            .group_by(Post::user_id)
            .order_by(total.clone().desc())
            .order_by(total.clone());
        check(
            &stmt,
            r#"SELECT "posts"."user_id", sum("posts"."score") AS "total" FROM "posts" GROUP BY "posts"."user_id" ORDER BY "total" DESC, "total" ASC"#,
            "SELECT `posts`.`user_id`, sum(`posts`.`score`) AS `total` FROM `posts` GROUP BY `posts`.`user_id` ORDER BY `total` DESC, `total` ASC",
            r#"SELECT "posts"."user_id", sum("posts"."score") AS "total" FROM "posts" GROUP BY "posts"."user_id" ORDER BY "total" DESC, "total" ASC"#,
        );
        // The reference is typed as the expression: it compares with its values (in
        // HAVING on MySQL and SQLite; PostgreSQL reads the name as an input column).
        let having = select((Post::user_id, total.clone()))
            .group_by(Post::user_id)
            .having(total.reference().gt(2.5));
        assert_eq!(
            having.compile(Dialect::MySql).unwrap().sql(),
            "SELECT `posts`.`user_id`, sum(`posts`.`score`) AS `total` FROM `posts` GROUP BY `posts`.`user_id` HAVING `total` > ?"
        );
        assert_eq!(
            having.compile(Dialect::Sqlite).unwrap().binds(),
            [crate::value::Value::F64(2.5)]
        );
    }

    #[test]
    fn a_label_orders_a_compound_select() {
        let n = lit(1i64).label("n");
        let stmt = select((User::id, n.clone()))
            .union_all(select((Post::id, lit(2i64))))
            .order_by(n.desc());
        check_same(
            &stmt,
            r#"SELECT "users"."id", $1 AS "n" FROM "users" UNION ALL SELECT "posts"."id", $2 FROM "posts" ORDER BY "n" DESC"#,
        );
    }

    #[test]
    fn repeated_filter_calls_are_anded() {
        let stmt = select(User::id)
            .filter(User::karma.gt(1))
            .filter(User::name.ne("x"));
        check_same(
            &stmt,
            r#"SELECT "users"."id" FROM "users" WHERE "users"."karma" > $1 AND "users"."name" <> $2"#,
        );
    }

    #[test]
    fn join_inferred_from_foreign_key() {
        let stmt = select((User::name, Post::title))
            .from(User::table())
            .join_fk(Post::table());
        check_same(
            &stmt,
            r#"SELECT "users"."name", "posts"."title" FROM "users" JOIN "posts" ON "posts"."user_id" = "users"."id""#,
        );
    }

    #[test]
    fn join_before_from_uses_the_first_columns_table() {
        let stmt =
            select((User::name, Post::title)).join(Post::table(), Post::user_id.eq(User::id));
        check_same(
            &stmt,
            r#"SELECT "users"."name", "posts"."title" FROM "users" JOIN "posts" ON "posts"."user_id" = "users"."id""#,
        );
    }

    #[test]
    fn join_without_a_foreign_key_is_an_error_naming_both_tables() {
        let stmt = select(User::name)
            .from(User::table())
            .join_fk(Order::table());
        let err = stmt.compile(Dialect::Sqlite).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot join `order` to users: no foreign key links them"),
            "{err}"
        );
    }

    #[test]
    fn join_without_a_table_to_attach_to_is_an_error() {
        let stmt = select(func::count_star()).join(Post::table(), Post::user_id.eq(User::id));
        let err = stmt.compile(Dialect::Postgres).unwrap_err();
        assert!(err.to_string().contains("call .from(..) first"), "{err}");
        // A table named anywhere in the select list is what the join attaches to.
        check_same(
            &select(func::count(User::id)).join(Post::table(), Post::user_id.eq_col(User::id)),
            r#"SELECT count("users"."id") FROM "users" JOIN "posts" ON "posts"."user_id" = "users"."id""#,
        );
    }

    #[test]
    fn filtering_a_compound_wraps_it() {
        let stmt = select(User::id)
            .union(select(Post::user_id))
            .filter(column::<i64>("id").gt(3));
        check_same(
            &stmt,
            r#"SELECT * FROM (SELECT "users"."id" FROM "users" UNION SELECT "posts"."user_id" FROM "posts") AS "anon_1" WHERE "id" > $1"#,
        );
    }

    #[test]
    fn recursive_cte_without_every_name_has_no_column_list() {
        let t = select((User::id, lit(0i64))).cte_recursive("t2");
        let stmt = select(t.c::<i64>("id")).from(&t);
        check_same(
            &stmt,
            r#"WITH RECURSIVE "t2" AS (SELECT "users"."id", $1 FROM "users") SELECT "t2"."id" FROM "t2""#,
        );
    }
}
