//! `INSERT`, `UPDATE` and `DELETE` statements, with RETURNING and upserts.

use std::sync::Arc;

use super::column::{Assignment, Column, HasTable};
use super::expr::{BinaryOp, ColumnRef, ExprNode, IntoExpr, Name, Qualifier};
use super::select::{IntoSelectList, SelectItem, SelectStatement, and_opt, select};
use super::{ExecPlan, InsertedKey};
use crate::dialect::{Dialect, Feature, ServerInfo};
use crate::error::{Error, Result};
use crate::schema::Table;
use crate::value::Value;

/// The table an INSERT/UPDATE/DELETE writes to.
pub trait IntoTarget {
    /// The table.
    fn into_target(self) -> Arc<Table>;
}

impl IntoTarget for Arc<Table> {
    fn into_target(self) -> Arc<Table> {
        self
    }
}

impl IntoTarget for &Arc<Table> {
    fn into_target(self) -> Arc<Table> {
        Arc::clone(self)
    }
}

/// A table built or reflected in place (`insert(Table::new("t").column(...))`), moved
/// into the statement.
impl IntoTarget for Table {
    fn into_target(self) -> Arc<Table> {
        Arc::new(self)
    }
}

/// A column of an upsert's conflict target: a typed column (`User::email`) or a name.
pub trait ConflictColumn {
    /// The bare column name.
    fn conflict_column(self) -> Name;
}

impl<M: HasTable, T, D> ConflictColumn for Column<M, T, D> {
    fn conflict_column(self) -> Name {
        Name::Borrowed(self.name())
    }
}

impl ConflictColumn for &'static str {
    fn conflict_column(self) -> Name {
        Name::Borrowed(self)
    }
}

impl ConflictColumn for String {
    fn conflict_column(self) -> Name {
        Name::Owned(self)
    }
}

impl ConflictColumn for &String {
    fn conflict_column(self) -> Name {
        Name::Owned(self.clone())
    }
}

impl ConflictColumn for Name {
    fn conflict_column(self) -> Name {
        self
    }
}

/// An upsert's conflict target, the columns of the unique key a conflict is on: one
/// typed column (`User::email`), a tuple of them (`(Line::order_id, Line::sku)`), or
/// an array, slice or `Vec` of columns or names (`["order_id", "sku"]`).
pub trait IntoConflictTarget {
    /// The columns' bare names, in order.
    fn into_conflict_target(self) -> Vec<Name>;
}

impl<M: HasTable, T, D> IntoConflictTarget for Column<M, T, D> {
    fn into_conflict_target(self) -> Vec<Name> {
        vec![self.conflict_column()]
    }
}

impl<C: ConflictColumn, const N: usize> IntoConflictTarget for [C; N] {
    fn into_conflict_target(self) -> Vec<Name> {
        self.into_iter()
            .map(ConflictColumn::conflict_column)
            .collect()
    }
}

impl<C: ConflictColumn> IntoConflictTarget for Vec<C> {
    fn into_conflict_target(self) -> Vec<Name> {
        self.into_iter()
            .map(ConflictColumn::conflict_column)
            .collect()
    }
}

impl<C: ConflictColumn + Clone> IntoConflictTarget for &[C] {
    fn into_conflict_target(self) -> Vec<Name> {
        self.iter()
            .cloned()
            .map(ConflictColumn::conflict_column)
            .collect()
    }
}

macro_rules! conflict_target_tuple {
    ($($c:ident),+) => {
        impl<$($c: ConflictColumn),+> IntoConflictTarget for ($($c,)+) {
            #[allow(non_snake_case)] // the type parameters name the tuple's members
            fn into_conflict_target(self) -> Vec<Name> {
                let ($($c,)+) = self;
                vec![$($c.conflict_column()),+]
            }
        }
    };
}
conflict_target_tuple!(A);
conflict_target_tuple!(A, B);
conflict_target_tuple!(A, B, C);
conflict_target_tuple!(A, B, C, D);
conflict_target_tuple!(A, B, C, D, E);
conflict_target_tuple!(A, B, C, D, E, F);

/// One row of values: a single assignment, a tuple of them, or a `Vec`.
pub trait IntoRow {
    /// The assignments.
    fn into_row(self) -> Vec<Assignment>;

    /// Hands each assignment to `f`, in order, without collecting them into a `Vec`
    /// first (what a multi-row INSERT does for each of its rows).
    #[doc(hidden)]
    fn each_assignment(self, f: &mut dyn FnMut(Assignment))
    where
        Self: Sized,
    {
        self.into_row().into_iter().for_each(f);
    }
}

impl IntoRow for Assignment {
    fn into_row(self) -> Vec<Assignment> {
        vec![self]
    }
}

impl IntoRow for Vec<Assignment> {
    fn into_row(self) -> Vec<Assignment> {
        self
    }
}

impl<const N: usize> IntoRow for [Assignment; N] {
    fn into_row(self) -> Vec<Assignment> {
        self.into()
    }
}

/// The same type for every field of a tuple row.
type A = Assignment;

/// `IntoRow` for tuples of 1 to 16 assignments.
mod tuple_rows {
    use super::{A, Assignment, IntoRow};
    macro_rules! rows { ($($n:ident)+) => { tuple_row_impl!($($n),+); }; }
    macro_rules! tuple_row_impl {
        ($($name:ident),+) => {
            impl IntoRow for ($(tuple_row_impl!(@ty $name),)+) {
                fn into_row(self) -> Vec<Assignment> {
                    let ($($name,)+) = self;
                    vec![$($name),+]
                }

                fn each_assignment(self, f: &mut dyn FnMut(Assignment)) {
                    let ($($name,)+) = self;
                    $(f($name);)+
                }
            }
        };
        (@ty $name:ident) => { A };
    }
    rows!(a);
    rows!(a b);
    rows!(a b c);
    rows!(a b c d);
    rows!(a b c d e);
    rows!(a b c d e f);
    rows!(a b c d e f g);
    rows!(a b c d e f g h);
    rows!(a b c d e f g h i);
    rows!(a b c d e f g h i j);
    rows!(a b c d e f g h i j k);
    rows!(a b c d e f g h i j k l);
    rows!(a b c d e f g h i j k l m);
    rows!(a b c d e f g h i j k l m n);
    rows!(a b c d e f g h i j k l m n o);
    rows!(a b c d e f g h i j k l m n o p);
}

/// Several rows for a multi-row INSERT.
pub trait IntoRows {
    /// The rows.
    fn into_rows(self) -> Vec<Vec<Assignment>>;

    /// Adds each row to `stmt` without collecting them into `Vec`s first.
    #[doc(hidden)]
    fn push_rows_into(self, stmt: &mut InsertStatement)
    where
        Self: Sized,
    {
        for row in self.into_rows() {
            stmt.push_row(row);
        }
    }
}

impl<R: IntoRow> IntoRows for Vec<R> {
    fn into_rows(self) -> Vec<Vec<Assignment>> {
        self.into_iter().map(IntoRow::into_row).collect()
    }

    fn push_rows_into(self, stmt: &mut InsertStatement) {
        stmt.rows.reserve(self.len());
        for row in self {
            stmt.push_row(row);
        }
    }
}

impl<R: IntoRow, const N: usize> IntoRows for [R; N] {
    fn into_rows(self) -> Vec<Vec<Assignment>> {
        self.into_iter().map(IntoRow::into_row).collect()
    }

    fn push_rows_into(self, stmt: &mut InsertStatement) {
        stmt.rows.reserve(N);
        for row in self {
            stmt.push_row(row);
        }
    }
}

/// One value of an INSERT's VALUES rows: a bound value (the common case, kept as
/// small as the value itself) or any other expression.
#[derive(Debug, Clone, PartialEq, Hash)]
pub enum RowValue {
    /// A bound parameter.
    Bind(Value),
    /// Any other expression (a function call, `DEFAULT`-like SQL, a subquery...).
    Expr(Box<ExprNode>),
}

impl RowValue {
    /// The value as an expression node.
    pub fn to_node(&self) -> ExprNode {
        match self {
            RowValue::Bind(v) => ExprNode::Bind(v.clone()),
            RowValue::Expr(e) => (**e).clone(),
        }
    }
}

impl From<ExprNode> for RowValue {
    fn from(node: ExprNode) -> RowValue {
        match node {
            ExprNode::Bind(v) => RowValue::Bind(v),
            other => RowValue::Expr(Box::new(other)),
        }
    }
}

/// The VALUES rows of an INSERT: a table of values, row after row in one `Vec` (no
/// `Vec` per row, no column name per value), each row in the statement's column
/// order.
#[derive(Debug, Clone, PartialEq, Hash, Default)]
pub struct ValueRows {
    /// Values per row (the statement's column count).
    width: usize,
    /// Number of rows (kept apart from `values`: rows of zero values still count).
    len: usize,
    /// The values, row-major.
    values: Vec<RowValue>,
}

impl ValueRows {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Values per row.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Row `i` (panics past the end).
    pub fn row(&self, i: usize) -> &[RowValue] {
        assert!(i < self.len, "row {i} of {}", self.len);
        &self.values[i * self.width..(i + 1) * self.width]
    }

    /// The rows, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[RowValue]> + '_ {
        (0..self.len).map(move |i| &self.values[i * self.width..(i + 1) * self.width])
    }

    fn reserve(&mut self, rows: usize) {
        self.values.reserve(rows * self.width);
    }
}

/// Gives an untyped NULL assigned to a column of `table` (`Assignment::new("c",
/// Value::Null)`, a model's `None` in a flush) the column's type
/// ([`SqlType::null_kind`](crate::schema::SqlType)): the statement then binds the same
/// parameter type whether the value is NULL or not.
fn type_nulls(table: &Table, row: &mut [Assignment]) {
    for a in row {
        type_null(table, a);
    }
}

fn type_null(table: &Table, a: &mut Assignment) {
    if let ExprNode::Bind(v @ Value::Null) = &mut a.value {
        if let Some(kind) = table
            .get_column(&a.column)
            .and_then(|c| c.sql_type.null_kind())
        {
            *v = Value::TypedNull(kind);
        }
    }
}

/// What an INSERT does when a row conflicts with a unique key.
#[derive(Debug, Clone, PartialEq, Hash)]
pub enum OnConflict {
    /// `ON CONFLICT (target) DO NOTHING` (PostgreSQL, SQLite); on MySQL
    /// `ON DUPLICATE KEY UPDATE c = c`, which changes nothing.
    DoNothing {
        /// The conflict target's columns (may be empty on PostgreSQL, SQLite).
        target: Vec<Name>,
    },
    /// `ON CONFLICT (target) DO UPDATE SET ... [WHERE ...]`; on MySQL
    /// `ON DUPLICATE KEY UPDATE ...` (any unique key triggers it there).
    DoUpdate {
        /// The conflict target's columns.
        target: Vec<Name>,
        /// What to set; use [`excluded`](super::excluded) for the proposed values.
        set: Vec<Assignment>,
        /// Only update rows matching this (not on MySQL).
        filter: Option<ExprNode>,
    },
}

/// An `INSERT` statement. Build it with [`insert`].
#[derive(Debug, Clone, PartialEq, Hash)]
#[must_use = "a statement does nothing until it is executed"]
pub struct InsertStatement {
    /// The target table.
    pub table: Arc<Table>,
    /// Column names, in VALUES order.
    pub columns: Vec<Name>,
    /// Value rows (each in `columns` order).
    pub rows: ValueRows,
    /// `INSERT ... SELECT`.
    pub select: Option<Box<SelectStatement>>,
    /// Upsert behaviour (boxed: most INSERTs have none, and the statement is moved
    /// whole from builder to builder).
    pub on_conflict: Option<Box<OnConflict>>,
    /// RETURNING items.
    pub returning: Vec<SelectItem>,
    pub(crate) error: Option<String>,
}

/// Starts an `INSERT INTO table`.
pub fn insert(table: impl IntoTarget) -> InsertStatement {
    InsertStatement {
        table: table.into_target(),
        columns: Vec::new(),
        rows: ValueRows::default(),
        select: None,
        on_conflict: None,
        returning: Vec::new(),
        error: None,
    }
}

impl InsertStatement {
    /// Adds one row of values. The first row fixes the columns; later rows must set the
    /// same columns (in any order), or compiling fails naming the difference.
    pub fn values(mut self, row: impl IntoRow) -> InsertStatement {
        self.push_row(row);
        self
    }

    /// Adds several rows: a multi-row `INSERT ... VALUES (...), (...)`.
    pub fn values_many(mut self, rows: impl IntoRows) -> InsertStatement {
        rows.push_rows_into(&mut self);
        self
    }

    /// Appends a row's values to [`ValueRows`]: straight on when the row sets the
    /// columns in the first row's order, else matched by name.
    fn push_row(&mut self, row: impl IntoRow) {
        let rows = &mut self.rows;
        let table = &self.table;
        if rows.is_empty() && self.columns.is_empty() {
            let columns = &mut self.columns;
            row.each_assignment(&mut |mut a| {
                type_null(table, &mut a);
                columns.push(a.column);
                rows.values.push(a.value.into());
            });
            rows.width = columns.len();
            rows.len = 1;
            return;
        }
        let start = rows.values.len();
        let mut out_of_order: Vec<Assignment> = Vec::new();
        let mut k = 0;
        row.each_assignment(&mut |mut a| {
            type_null(table, &mut a);
            if out_of_order.is_empty() && self.columns.get(k) == Some(&a.column) {
                rows.values.push(a.value.into());
            } else {
                out_of_order.push(a);
            }
            k += 1;
        });
        rows.len += 1;
        if out_of_order.is_empty() && k == rows.width {
            return;
        }
        let row_number = rows.len;
        let mut slots: Vec<Option<RowValue>> = rows.values.drain(start..).map(Some).collect();
        slots.resize(rows.width, None);
        for a in out_of_order {
            match self.columns.iter().position(|c| *c == a.column) {
                Some(i) => slots[i] = Some(a.value.into()),
                None => {
                    self.error.get_or_insert_with(|| {
                        format!(
                            "row {row_number} sets column `{}` that the first row does not",
                            a.column
                        )
                    });
                }
            }
        }
        for (i, v) in slots.into_iter().enumerate() {
            rows.values.push(v.unwrap_or_else(|| {
                self.error.get_or_insert_with(|| {
                    format!(
                        "row {row_number} does not set column `{}` that the first row sets",
                        self.columns[i]
                    )
                });
                RowValue::Expr(Box::new(ExprNode::Null))
            }));
        }
    }

    /// `INSERT INTO table (columns) SELECT ...`.
    pub fn from_select<I, S>(mut self, columns: I, select: SelectStatement) -> InsertStatement
    where
        I: IntoIterator<Item = S>,
        S: Into<Name>,
    {
        self.columns = columns.into_iter().map(Into::into).collect();
        self.select = Some(Box::new(select));
        self
    }

    /// Ignore rows that conflict on `target`, a unique key's columns: typed
    /// (`User::email`, `(Line::order_id, Line::sku)`) or named (`["email"]`); an empty
    /// target (`[] as [&str; 0]`) ignores a conflict on any key (PostgreSQL, SQLite).
    pub fn on_conflict_do_nothing(mut self, target: impl IntoConflictTarget) -> InsertStatement {
        self.on_conflict = Some(Box::new(OnConflict::DoNothing {
            target: target.into_conflict_target(),
        }));
        self
    }

    /// Update the existing row when a row conflicts on `target`, a unique key's
    /// columns (typed or named, as for
    /// [`on_conflict_do_nothing`](Self::on_conflict_do_nothing)); use
    /// [`excluded`](super::excluded) for the values the INSERT proposed. MySQL and MariaDB
    /// take any unique key (`ON DUPLICATE KEY UPDATE`) whatever the target.
    ///
    /// ```
    /// use orm_runtime::schema::{Column as Col, SqlType, Table};
    /// use orm_runtime::sql::{Column, HasTable, excluded, insert};
    /// use orm_runtime::Dialect;
    /// use std::sync::{Arc, OnceLock};
    /// struct Stock;
    /// impl HasTable for Stock {
    ///     const TABLE_NAME: &'static str = "stock";
    ///     fn table() -> Arc<Table> {
    ///         static T: OnceLock<Arc<Table>> = OnceLock::new();
    ///         Arc::clone(T.get_or_init(|| Arc::new(Table::new("stock")
    ///             .column(Col::new("shop", SqlType::BigInt).primary_key())
    ///             .column(Col::new("sku", SqlType::Text).primary_key())
    ///             .column(Col::new("qty", SqlType::Integer)))))
    ///     }
    /// }
    /// const SHOP: Column<Stock, i64> = Column::new("shop");
    /// const SKU: Column<Stock, String> = Column::new("sku");
    /// const QTY: Column<Stock, i32> = Column::new("qty");
    /// let stmt = insert(Stock::table())
    ///     .values((SHOP.set(1), SKU.set("a"), QTY.set(5)))
    ///     .on_conflict_do_update((SHOP, SKU), QTY.set(QTY + excluded(QTY)));
    /// assert_eq!(stmt.compile(Dialect::Sqlite).unwrap().sql(),
    ///     r#"INSERT INTO "stock" ("shop", "sku", "qty") VALUES (?, ?, ?) ON CONFLICT ("shop", "sku") DO UPDATE SET "qty" = "stock"."qty" + excluded."qty""#);
    /// ```
    pub fn on_conflict_do_update(
        mut self,
        target: impl IntoConflictTarget,
        set: impl IntoRow,
    ) -> InsertStatement {
        self.on_conflict = Some(Box::new(OnConflict::DoUpdate {
            target: target.into_conflict_target(),
            set: set.into_row(),
            filter: None,
        }));
        self
    }

    /// Restricts an `on_conflict_do_update` to rows matching `cond` (PostgreSQL, SQLite).
    pub fn on_conflict_where(mut self, cond: impl IntoExpr<bool>) -> InsertStatement {
        if let Some(OnConflict::DoUpdate { filter, .. }) = self.on_conflict.as_deref_mut() {
            *filter = Some(cond.into_node());
        }
        self
    }

    /// Update the existing row when a row conflicts on any unique key: MySQL's and
    /// MariaDB's `ON DUPLICATE KEY UPDATE ...`, SQLite's `ON CONFLICT DO UPDATE` without
    /// a conflict target (SQLite 3.35+,
    /// [`Feature::UpsertWithoutTarget`](crate::dialect::Feature::UpsertWithoutTarget)).
    /// PostgreSQL requires a target: there it is an error, and
    /// [`on_conflict_do_update`](Self::on_conflict_do_update) names the key.
    pub fn on_duplicate_key_update(mut self, set: impl IntoRow) -> InsertStatement {
        self.on_conflict = Some(Box::new(OnConflict::DoUpdate {
            target: Vec::new(),
            set: set.into_row(),
            filter: None,
        }));
        self
    }

    /// `RETURNING items` (PostgreSQL, SQLite, MariaDB; an error on MySQL).
    pub fn returning(mut self, items: impl IntoSelectList) -> InsertStatement {
        self.returning.extend(items.into_select_list());
        self
    }
}

/// An `UPDATE` statement. Build it with [`update`].
#[derive(Debug, Clone, PartialEq, Hash)]
#[must_use = "a statement does nothing until it is executed"]
pub struct UpdateStatement {
    /// The target table.
    pub table: Arc<Table>,
    /// SET assignments.
    pub set: Vec<Assignment>,
    /// WHERE.
    pub filter: Option<ExprNode>,
    /// RETURNING items (PostgreSQL, SQLite).
    pub returning: Vec<SelectItem>,
}

/// Starts an `UPDATE table`.
pub fn update(table: impl IntoTarget) -> UpdateStatement {
    UpdateStatement {
        table: table.into_target(),
        set: Vec::new(),
        filter: None,
        returning: Vec::new(),
    }
}

impl UpdateStatement {
    /// Adds SET assignments: one, or a tuple.
    pub fn set(mut self, row: impl IntoRow) -> UpdateStatement {
        let mut row = row.into_row();
        type_nulls(&self.table, &mut row);
        self.set.extend(row);
        self
    }

    /// Adds a WHERE condition, ANDed with any before it.
    pub fn filter(mut self, cond: impl IntoExpr<bool>) -> UpdateStatement {
        self.filter = Some(and_opt(self.filter.take(), cond.into_node()));
        self
    }

    /// `RETURNING items` (PostgreSQL, SQLite; an error on MySQL and MariaDB).
    pub fn returning(mut self, items: impl IntoSelectList) -> UpdateStatement {
        self.returning.extend(items.into_select_list());
        self
    }
}

/// A `DELETE` statement. Build it with [`delete`].
#[derive(Debug, Clone, PartialEq, Hash)]
#[must_use = "a statement does nothing until it is executed"]
pub struct DeleteStatement {
    /// The target table.
    pub table: Arc<Table>,
    /// WHERE.
    pub filter: Option<ExprNode>,
    /// RETURNING items (PostgreSQL, SQLite, MariaDB).
    pub returning: Vec<SelectItem>,
}

/// Starts a `DELETE FROM table`.
pub fn delete(table: impl IntoTarget) -> DeleteStatement {
    DeleteStatement {
        table: table.into_target(),
        filter: None,
        returning: Vec::new(),
    }
}

impl DeleteStatement {
    /// Adds a WHERE condition, ANDed with any before it.
    pub fn filter(mut self, cond: impl IntoExpr<bool>) -> DeleteStatement {
        self.filter = Some(and_opt(self.filter.take(), cond.into_node()));
        self
    }

    /// `RETURNING items` (PostgreSQL, SQLite, MariaDB; an error on MySQL).
    pub fn returning(mut self, items: impl IntoSelectList) -> DeleteStatement {
        self.returning.extend(items.into_select_list());
        self
    }
}

impl InsertStatement {
    /// True when the statement's RETURNING runs as a second statement (see
    /// [`plan`](Self::plan)): the server has no INSERT ... RETURNING.
    fn emulates_returning(&self, server: ServerInfo) -> bool {
        server.dialect().is_mysql()
            && !self.returning.is_empty()
            && !server.has(Feature::InsertReturning)
    }

    /// On MySQL, which has no RETURNING (and MariaDB before 10.5, which has none for
    /// INSERT), a single-row INSERT with RETURNING runs as the INSERT then a SELECT of
    /// the returned columns by primary key: the key given in the row, or the
    /// AUTO_INCREMENT id the INSERT generated. Anything else is [`Error::Unsupported`].
    pub(crate) fn plan(&self, server: ServerInfo) -> Result<ExecPlan> {
        let dialect = server.dialect();
        if !self.emulates_returning(server) {
            return self.compile(server).map(ExecPlan::Single);
        }
        let unsupported = |why: &str| Error::Unsupported {
            dialect: dialect.name(),
            feature: format!(
                "INSERT ... RETURNING {why} ({} has no INSERT ... RETURNING; it is emulated for single-row inserts keyed by their primary key)",
                match server.version() {
                    Some(_) => server.to_string(),
                    None => server.product().to_owned(),
                }
            ),
        };
        if self.rows.len() != 1 || self.select.is_some() || self.on_conflict.is_some() {
            return Err(unsupported(
                "of several rows, from a SELECT or with an upsert",
            ));
        }
        let pk = &self.table.primary_key.columns;
        if pk.is_empty() {
            return Err(unsupported("on a table without a primary key"));
        }
        let qualifier = Qualifier::table(
            self.table.schema.clone().map(Name::Owned),
            Name::Owned(self.table.name.clone()),
        );
        let key_col = |c: &str| {
            ExprNode::Column(ColumnRef {
                qualifier: Some(qualifier.clone()),
                name: Name::Owned(c.to_owned()),
                value_type: None,
            })
        };
        let given: Option<Vec<ExprNode>> = pk
            .iter()
            .map(|k| {
                self.columns
                    .iter()
                    .position(|c| c == k)
                    .map(|i| self.rows.row(0)[i].to_node())
            })
            .collect();
        // MySQL generates the key for an autoincrement column given NULL or 0 (unless
        // its sql_mode has NO_AUTO_VALUE_ON_ZERO, when 0 is kept and no id is reported:
        // then the statement fails and is rolled back).
        let auto = self
            .table
            .autoincrement_column()
            .filter(|auto| pk.len() == 1 && pk[0] == auto.name);
        let generated_given = |values: &[ExprNode]| {
            auto.is_some()
                && matches!(
                    &values[0],
                    ExprNode::Bind(
                        Value::Null
                            | Value::TypedNull(_)
                            | Value::I16(0)
                            | Value::I32(0)
                            | Value::I64(0)
                    )
                )
        };
        let given = given.filter(|values| !generated_given(values));
        if let Some(values) = &given {
            // The SELECT would evaluate the key's expression a second time.
            if !values.iter().all(|v| matches!(v, ExprNode::Bind(_))) {
                return Err(unsupported("when a primary key is given as an expression"));
            }
        }
        let (cond, generated_key) = match given {
            Some(values) => {
                let conds = pk
                    .iter()
                    .zip(values)
                    .map(|(k, v)| ExprNode::binary(key_col(k), BinaryOp::Eq, v));
                let cond = conds.reduce(|a, b| ExprNode::binary(a, BinaryOp::And, b));
                (cond.unwrap_or(ExprNode::Bool(false)), false)
            }
            None => match auto {
                Some(auto) => (
                    ExprNode::binary(
                        key_col(&auto.name),
                        BinaryOp::Eq,
                        ExprNode::Bind(Value::I64(0)),
                    ),
                    true,
                ),
                _ => {
                    return Err(unsupported(
                        "when the row gives no primary key and none is generated",
                    ));
                }
            },
        };
        let mut select = select(self.returning.clone()).from(Arc::clone(&self.table));
        select = select.filter(cond.typed::<bool>());
        let mut insert = self.clone();
        insert.returning.clear();
        Ok(ExecPlan::InsertThenSelect {
            insert: insert.compile(server)?,
            select: select.compile(server)?,
            generated_key,
        })
    }
}

impl InsertStatement {
    /// The plan `execute` runs, and where the key of the row a single-row INSERT
    /// inserts comes from ([`InsertedKey`]), as SQLAlchemy's `inserted_primary_key`:
    ///
    /// - PostgreSQL (and SQLite for an upsert whose conflict target is not the key:
    ///   its row may be another than the one given): the key columns are returned
    ///   (`RETURNING`, added unless the statement has its own), unless the row gives
    ///   every key column as a value and is no such upsert;
    /// - MySQL, MariaDB and SQLite: the values the row gives, or else the id the
    ///   database generated for a single autoincrement key column (a MySQL NULL or 0
    ///   given for it is generated too, as a SQLite NULL is).
    pub(crate) fn execute_plan(&self, server: ServerInfo) -> Result<(ExecPlan, InsertedKey)> {
        let (key, with_key) = self.inserted_key(server);
        let plan = match with_key {
            Some(returning) => {
                let mut with_key = self.clone();
                with_key.returning = returning;
                with_key.plan(server)?
            }
            None => self.plan(server)?,
        };
        Ok((plan, key))
    }

    /// [`execute_plan`](Self::execute_plan) of a statement the caller gives up: no copy
    /// of it to add RETURNING, and its bound values moved into the binds (see
    /// [`into_plan`](Self::into_plan)).
    pub(crate) fn into_execute_plan(
        mut self,
        server: ServerInfo,
    ) -> Result<(ExecPlan, InsertedKey)> {
        let (key, with_key) = self.inserted_key(server);
        if let Some(returning) = with_key {
            self.returning = returning;
        }
        Ok((self.into_plan(server)?, key))
    }

    /// [`plan`](Self::plan) of a statement the caller gives up: on a statement-cache hit
    /// whose binds are the VALUES cells' values in order (the usual INSERT), they are
    /// moved into the binds rather than copied.
    pub(crate) fn into_plan(mut self, server: ServerInfo) -> Result<ExecPlan> {
        if self.emulates_returning(server) {
            return self.plan(server);
        }
        let cells = self.rows.values.iter().filter_map(|v| match v {
            RowValue::Bind(v) => Some(v as *const Value),
            RowValue::Expr(_) => None,
        });
        let sql = super::cache::cached_in_order(super::cache::Stmt::Insert(&self), server, cells);
        match sql {
            Some(sql) => {
                let binds = (self.rows.values.iter_mut())
                    .filter_map(|v| match v {
                        RowValue::Bind(v) => Some(std::mem::replace(v, Value::Null)),
                        RowValue::Expr(_) => None,
                    })
                    .collect();
                Ok(ExecPlan::Single(super::Compiled::new(sql, binds)))
            }
            None => self.compile(server).map(ExecPlan::Single),
        }
    }

    /// Where `execute`'s inserted key comes from, and the RETURNING the statement needs
    /// for it (the key columns, added for this), if any.
    fn inserted_key(&self, server: ServerInfo) -> (InsertedKey, Option<Vec<SelectItem>>) {
        let dialect = server.dialect();
        let pk = &self.table.primary_key.columns;
        if self.rows.len() != 1 || self.select.is_some() || pk.is_empty() {
            return (InsertedKey::Unknown, None);
        }
        let auto = self
            .table
            .autoincrement_column()
            .filter(|auto| pk.len() == 1 && pk[0] == auto.name);
        let given: Option<Vec<Value>> = pk
            .iter()
            .map(|k| {
                let i = self.columns.iter().position(|c| c == k)?;
                match &self.rows.row(0)[i] {
                    RowValue::Bind(v) if v.is_null() => None,
                    RowValue::Bind(Value::I16(0) | Value::I32(0) | Value::I64(0))
                        if auto.is_some() && dialect.is_mysql() =>
                    {
                        None
                    }
                    RowValue::Bind(v) => Some(v.clone()),
                    _ => None,
                }
            })
            .collect();
        // An upsert's row may be another than the one given, unless it conflicts on
        // the key itself (MySQL's upsert takes any unique key: its key counts only
        // when a row was inserted).
        let upsert = match self.on_conflict.as_deref() {
            None => false,
            Some(OnConflict::DoNothing { target } | OnConflict::DoUpdate { target, .. }) => {
                target.len() != pk.len() || !pk.iter().all(|k| target.iter().any(|t| t == k))
            }
        };
        let returns = dialect == Dialect::Postgres
            || (dialect == Dialect::Sqlite && upsert && server.has(Feature::InsertReturning));
        match given {
            Some(values) if !upsert || dialect.is_mysql() => (InsertedKey::Given(values), None),
            _ if returns => {
                if !self.returning.is_empty() {
                    return (InsertedKey::Unknown, None);
                }
                let qualifier = Qualifier::table(
                    self.table.schema.clone().map(Name::Owned),
                    Name::Owned(self.table.name.clone()),
                );
                let returning = pk
                    .iter()
                    .map(|k| SelectItem {
                        expr: ExprNode::Column(ColumnRef {
                            qualifier: Some(qualifier.clone()),
                            name: Name::Owned(k.clone()),
                            value_type: None,
                        }),
                        label: None,
                    })
                    .collect();
                (InsertedKey::Returned, Some(returning))
            }
            Some(_) => (InsertedKey::Unknown, None),
            None if auto.is_some() => (InsertedKey::Generated, None),
            None => (InsertedKey::Unknown, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::dialect::Dialect;

    use crate::sql::fixtures::{User, check_same};
    use crate::sql::*;
    use crate::value::Value;

    #[test]
    fn insert_rows_are_matched_by_column_name() {
        let stmt = insert(User::table())
            .values((User::name.set("a"), User::karma.set(1)))
            .values((User::karma.set(2), User::name.set("b")));
        let b = check_same(
            &stmt,
            r#"INSERT INTO "users" ("name", "karma") VALUES ($1, $2), ($3, $4)"#,
        );
        assert_eq!(b[2], Value::Text("b".into()));
    }

    #[test]
    fn none_and_some_are_one_statement_shape() {
        use crate::value::ValueKind;
        let with = |email: Option<&str>, manager: Option<i64>| {
            update(User::table())
                .set((User::email.set(email), User::manager_id.set(manager)))
                .filter(User::id.eq(1))
        };
        let sql = r#"UPDATE "users" SET "email" = $1, "manager_id" = $2 WHERE "users"."id" = $3"#;
        let b = check_same(&with(None, None), sql);
        assert_eq!(
            b[..2],
            [
                Value::TypedNull(ValueKind::Text),
                Value::TypedNull(ValueKind::I64)
            ]
        );
        let b = check_same(&with(Some("a@b"), Some(7)), sql);
        assert_eq!(b[..2], [Value::Text("a@b".into()), Value::I64(7)]);
        // The compiled text comes from one cache entry for all four combinations.
        for (email, manager) in [(Some("x"), None), (None, Some(3))] {
            let c = with(email, manager).compile(Dialect::Postgres).unwrap();
            assert_eq!(c.sql(), sql);
        }
        let c = insert(User::table())
            .values((User::name.set("a"), User::email.set(None::<String>)))
            .compile(Dialect::Postgres)
            .unwrap();
        assert_eq!(
            c.sql(),
            r#"INSERT INTO "users" ("name", "email") VALUES ($1, $2)"#
        );
        assert_eq!(c.binds()[1], Value::TypedNull(ValueKind::Text));
    }

    #[test]
    fn an_untyped_null_assigned_to_a_column_takes_its_type() {
        use crate::value::ValueKind;
        let stmt = update(User::table())
            .set((
                Assignment::new("manager_id", Value::Null),
                Assignment::new("nope", Value::Null),
            ))
            .filter(User::id.eq(1));
        assert_eq!(
            stmt.set.iter().map(|a| a.value.clone()).collect::<Vec<_>>(),
            [
                ExprNode::Bind(Value::TypedNull(ValueKind::I64)),
                ExprNode::Bind(Value::Null)
            ]
        );
        let stmt = insert(User::table()).values(Assignment::new("email", Value::Null));
        assert_eq!(
            stmt.rows.row(0),
            [RowValue::Bind(Value::TypedNull(ValueKind::Text))]
        );
    }

    #[test]
    fn insert_rows_in_order_out_of_order_and_short_fill_the_value_table() {
        let stmt = insert(User::table()).values_many(vec![
            vec![User::name.set("a"), User::karma.set(1), User::id.set(10)],
            // In order, then out of order from the second value.
            vec![User::name.set("b"), User::id.set(20), User::karma.set(2)],
            vec![User::id.set(30), User::karma.set(3), User::name.set("c")],
        ]);
        assert_eq!((stmt.rows.len(), stmt.rows.width()), (3, 3));
        let b = check_same(
            &stmt,
            r#"INSERT INTO "users" ("name", "karma", "id") VALUES ($1, $2, $3), ($4, $5, $6), ($7, $8, $9)"#,
        );
        let row = |n: &str, k: i32, id: i64| [Value::Text(n.into()), Value::I32(k), Value::I64(id)];
        assert_eq!(
            b,
            [row("a", 1, 10), row("b", 2, 20), row("c", 3, 30)].concat()
        );
        let short = insert(User::table())
            .values((User::name.set("a"), User::karma.set(1)))
            .values(User::name.set("b"));
        assert_eq!(
            short.compile(Dialect::Postgres).unwrap_err().to_string(),
            "invalid statement on `users`: row 2 does not set column `karma` that the first row sets"
        );
    }

    #[test]
    fn a_single_row_insert_knows_where_its_key_comes_from() {
        use crate::sql::{ExecPlan, InsertedKey};
        let sql = |dialect: Dialect, stmt: &InsertStatement| match stmt
            .execute_plan(dialect.into())
            .unwrap()
        {
            (ExecPlan::Single(c), key) => (c.sql().to_owned(), key),
            other => panic!("{other:?}"),
        };
        let generated = insert(User::table()).values(User::name.set("a"));
        assert_eq!(
            sql(Dialect::Postgres, &generated),
            (
                r#"INSERT INTO "users" ("name") VALUES ($1) RETURNING "id""#.to_owned(),
                InsertedKey::Returned
            )
        );
        for dialect in [Dialect::Sqlite, Dialect::MySql, Dialect::MariaDb] {
            let (text, key) = sql(dialect, &generated);
            assert!(!text.contains("RETURNING"), "{text}");
            assert_eq!(key, InsertedKey::Generated, "{dialect:?}");
        }
        let given = insert(User::table()).values((User::id.set(7), User::name.set("a")));
        for dialect in [Dialect::Postgres, Dialect::Sqlite, Dialect::MySql] {
            let (text, key) = sql(dialect, &given);
            assert!(!text.contains("RETURNING"), "{text}");
            assert_eq!(key, InsertedKey::Given(vec![Value::I64(7)]), "{dialect:?}");
        }
        // MySQL generates a key given as 0.
        let zero = insert(User::table()).values((User::id.set(0), User::name.set("a")));
        assert_eq!(sql(Dialect::MySql, &zero).1, InsertedKey::Generated);
        // An upsert's row may be another: PostgreSQL and SQLite return its key, unless
        // it conflicts on the key given.
        let upsert = given.clone().on_conflict_do_nothing(["name"]);
        assert_eq!(sql(Dialect::Sqlite, &upsert).1, InsertedKey::Returned);
        let upsert = given.clone().on_conflict_do_nothing(["id"]);
        assert_eq!(
            sql(Dialect::Postgres, &upsert),
            (
                r#"INSERT INTO "users" ("id", "name") VALUES ($1, $2) ON CONFLICT ("id") DO NOTHING"#
                    .to_owned(),
                InsertedKey::Given(vec![Value::I64(7)])
            )
        );
        let many = insert(User::table()).values_many([User::name.set("a"), User::name.set("b")]);
        assert_eq!(sql(Dialect::Postgres, &many).1, InsertedKey::Unknown);
    }

    #[test]
    fn insert_rows_with_other_columns_is_an_error() {
        let stmt = insert(User::table())
            .values(User::name.set("a"))
            .values(User::karma.set(1));
        let err = stmt.compile(Dialect::Postgres).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid statement on `users`: row 2 sets column `karma` that the first row does not"
        );
    }
}
