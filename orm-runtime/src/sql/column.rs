//! Typed columns of mapped tables ([`Column<M, T>`]), aliases, and dynamic columns of
//! reflected tables ([`Table::c`](crate::schema::Table::c)).

use std::marker::PhantomData;
use std::sync::Arc;

use super::expr::{
    AnyExpr, BinaryOp, ColumnRef, Dynamic, Expr, ExprNode, ExprType, IntoExpr, Name, Numeric,
    OrderItem, Qualifier, Textual, arith_ops, escape_like, expr_methods, text_methods,
};
use super::select::SelectStatement;
use crate::schema::{SqlType, Table};
use crate::value::Value;

/// A Rust type that names a table: implemented by `#[derive(Model)]`, or by hand for a
/// Core table with typed columns.
pub trait HasTable: 'static {
    /// The table's name.
    const TABLE_NAME: &'static str;
    /// The table's schema, if any.
    const SCHEMA: Option<&'static str> = None;
    /// The full table definition (columns, keys), shared.
    fn table() -> Arc<Table>;
}

/// A typed column of the table `M`, evaluating to `T`: `User::name` is a
/// `Column<User, String>`.
///
/// `D` says whether a query may leave the column unloaded: [`Eager`] (the default) for
/// an ordinary field, [`Deferrable`] for a
/// [`Deferred<T>`](crate::model::Deferred) field, the only kind that
/// [`defer`](crate::loading::defer) and [`undefer`](crate::loading::undefer) accept.
pub struct Column<M, T, D = Eager> {
    name: &'static str,
    _t: PhantomData<Marker<M, T, D>>,
}

/// The types a [`Column`] is about (owned by none: `fn() -> ...` keeps it `Send`, `Sync`
/// and covariant).
type Marker<M, T, D> = fn() -> (M, T, D);

/// The loading kind of a [`Column`] whose field is an ordinary value: always loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eager {}

/// The loading kind of a [`Column`] whose field is a
/// [`Deferred<T>`](crate::model::Deferred): a query may leave it unloaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deferrable {}

/// Implemented by [`Deferrable`] only: the bound of [`defer`](crate::loading::defer)
/// and [`undefer`](crate::loading::undefer).
#[diagnostic::on_unimplemented(
    message = "this column cannot be deferred: its field is not `Deferred<T>`",
    label = "a column whose field is a plain value is always loaded",
    note = "declare the field as `Deferred<T>` (add `#[orm(deferred)]` to leave it unloaded by default), or use `load_only(...)`, which accepts any column"
)]
pub trait IsDeferrable: sealed::Sealed {}
impl IsDeferrable for Deferrable {}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Deferrable {}
}

impl<M, T, D> Clone for Column<M, T, D> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M, T, D> Copy for Column<M, T, D> {}

impl<M, T, D> std::fmt::Debug for Column<M, T, D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Column({})", self.name)
    }
}

impl<M: HasTable, T, D> Column<M, T, D> {
    /// The column called `name` of `M`'s table (used by generated code).
    pub const fn new(name: &'static str) -> Self {
        Column {
            name,
            _t: PhantomData,
        }
    }

    /// The column's name.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// `table.column`.
    pub fn into_node(self) -> ExprNode {
        ExprNode::Column(ColumnRef {
            qualifier: Some(Qualifier::table(
                M::SCHEMA.map(Name::Borrowed),
                Name::Borrowed(M::TABLE_NAME),
            )),
            name: Name::Borrowed(self.name),
            value_type: None,
        })
    }

    /// The column as an expression.
    pub fn expr(self) -> Expr<T> {
        self.into_node().typed()
    }

    /// `column = value`, for INSERT values and UPDATE SET.
    pub fn set(self, value: impl IntoExpr<T::Base>) -> Assignment
    where
        T: ExprType,
    {
        Assignment {
            column: Name::Borrowed(self.name),
            value: value.into_node(),
        }
    }
}

impl<M: HasTable, T: ExprType, D> Column<M, T, D> {
    expr_methods!();
}

impl<M: HasTable, T: ExprType, D> Column<M, T, D>
where
    T::Base: Textual,
{
    text_methods!();
}

arith_ops!([M: HasTable, T: ExprType, D] Column<M, T, D>);

impl<M: HasTable, T: ExprType, D> IntoExpr<T::Base> for Column<M, T, D> {
    fn into_node(self) -> ExprNode {
        Column::into_node(self)
    }
}

impl<M: HasTable, T, D> AnyExpr for Column<M, T, D> {
    fn any_node(self) -> ExprNode {
        self.into_node()
    }
}

impl<M: HasTable, T, D> From<Column<M, T, D>> for OrderItem {
    fn from(c: Column<M, T, D>) -> OrderItem {
        OrderItem {
            expr: c.into_node(),
            desc: false,
            nulls_first: None,
        }
    }
}

/// A column named in an INSERT/UPDATE or `excluded()`: a typed column, or a name.
pub trait ColumnName<T> {
    /// The bare column name.
    fn column_name(&self) -> Name;
}

impl<M: HasTable, T, D> ColumnName<T> for Column<M, T, D> {
    fn column_name(&self) -> Name {
        Name::Borrowed(self.name)
    }
}

impl ColumnName<Dynamic> for &str {
    fn column_name(&self) -> Name {
        Name::Owned((*self).to_owned())
    }
}

/// `column = value` in an INSERT's values or an UPDATE's SET.
#[derive(Debug, Clone, PartialEq, Hash)]
pub struct Assignment {
    /// The column's bare name.
    pub column: Name,
    /// The value expression.
    pub value: ExprNode,
}

impl Assignment {
    /// An assignment to a column given by name (dynamic tables).
    pub fn new(column: impl Into<Name>, value: impl Into<Value>) -> Assignment {
        Assignment {
            column: column.into(),
            value: ExprNode::Bind(value.into()),
        }
    }

    /// An assignment of an expression to a column given by name.
    pub fn expr(column: impl Into<Name>, value: impl AnyExpr) -> Assignment {
        Assignment {
            column: column.into(),
            value: value.any_node(),
        }
    }
}

/// A table under another name in one statement (self-joins): `alias::<User>("boss")`.
pub struct Alias<M> {
    name: Name,
    _m: PhantomData<fn() -> M>,
}

impl<M> Clone for Alias<M> {
    fn clone(&self) -> Self {
        Alias {
            name: self.name.clone(),
            _m: PhantomData,
        }
    }
}

impl<M> std::fmt::Debug for Alias<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Alias({})", self.name)
    }
}

/// `M`'s table under the name `name` in a statement.
pub fn alias<M: HasTable>(name: impl Into<Name>) -> Alias<M> {
    Alias {
        name: name.into(),
        _m: PhantomData,
    }
}

impl<M: HasTable> Alias<M> {
    /// The alias name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `column` of `M`, qualified by this alias.
    pub fn col<T, D>(&self, column: Column<M, T, D>) -> Expr<T> {
        ExprNode::Column(ColumnRef {
            qualifier: Some(Qualifier {
                schema: None,
                name: self.name.clone(),
                origin: super::expr::Origin::AliasOf {
                    schema: M::SCHEMA.map(Name::Borrowed),
                    table: Name::Borrowed(M::TABLE_NAME),
                },
            }),
            name: Name::Borrowed(column.name),
            value_type: None,
        })
        .typed()
    }

    /// The FROM item `table AS alias`.
    pub fn from_item(&self) -> super::select::FromItem {
        super::select::FromItem::Table {
            table: M::table(),
            alias: Some(self.name.clone()),
        }
    }
}

impl Table {
    /// The column `name` as a dynamic expression, for tables known only at run time
    /// (reflected). A name the table does not have is an
    /// [`Error::UnknownColumn`](crate::error::Error::UnknownColumn) when the statement compiles.
    ///
    /// ```
    /// use orm_runtime::schema::{Column, SqlType, Table};
    /// use orm_runtime::sql::select;
    /// use orm_runtime::Dialect;
    /// let t = std::sync::Arc::new(Table::new("Invoice").column(Column::new("Total", SqlType::numeric(10, 2))));
    /// let ok = select(t.c("Total")).from(&t).filter(t.c("Total").gt(10.0));
    /// assert_eq!(ok.compile(Dialect::Postgres).unwrap().sql(),
    ///     r#"SELECT "Invoice"."Total" FROM "Invoice" WHERE "Invoice"."Total" > $1"#);
    /// let err = select(t.c("Totl")).from(&t).compile(Dialect::Postgres).unwrap_err();
    /// assert_eq!(err.to_string(), "table `Invoice` has no column `Totl`; it has: Total");
    /// ```
    pub fn c(&self, name: &str) -> Expr<Dynamic> {
        self.column_under(
            Qualifier::table(
                self.schema.clone().map(Name::Owned),
                Name::Owned(self.name.clone()),
            ),
            name,
        )
    }

    /// The column `name` qualified by `qualifier` (the table itself or an alias of it),
    /// or the deferred unknown-column error.
    fn column_under(&self, qualifier: Qualifier, name: &str) -> Expr<Dynamic> {
        match self.get_column(name) {
            Some(col) => ExprNode::Column(ColumnRef {
                qualifier: Some(qualifier),
                name: Name::Owned(col.name.clone()),
                value_type: self.value_type(col).map(Arc::new),
            })
            .typed(),
            None => ExprNode::UnknownColumn {
                table: self.full_name(),
                column: name.to_owned(),
                available: self.column_list(),
            }
            .typed(),
        }
    }

    /// The type values bound against `column` (a column of this table) are cast to:
    /// its [`NativeEnum`](SqlType::NativeEnum) type, in the table's schema unless it
    /// names its own; `None` for the other types.
    pub(crate) fn value_type(&self, column: &crate::schema::Column) -> Option<SqlType> {
        match &column.sql_type {
            SqlType::NativeEnum {
                schema,
                name,
                variants,
            } => Some(SqlType::NativeEnum {
                schema: schema.clone().or_else(|| self.schema.clone()),
                name: name.clone(),
                variants: variants.clone(),
            }),
            _ => None,
        }
    }

    /// This table under the name `name` in a statement (`employees AS m`), for joining
    /// a table known only at run time to itself; [`TableAlias::c`] addresses its
    /// columns through the alias (SQLAlchemy's `table.alias("m")`).
    ///
    /// ```
    /// use orm_runtime::schema::{Column, SqlType, Table};
    /// use orm_runtime::sql::select;
    /// use orm_runtime::Dialect;
    /// let e = std::sync::Arc::new(Table::new("employees")
    ///     .column(Column::new("id", SqlType::Integer).primary_key())
    ///     .column(Column::new("name", SqlType::Text))
    ///     .column(Column::new("reports_to", SqlType::Integer)));
    /// let m = e.alias("m");
    /// let stmt = select((e.c("name"), m.c("name").label("manager")))
    ///     .from(&e)
    ///     .join(&m, e.c("reports_to").eq(m.c("id")));
    /// assert_eq!(stmt.compile(Dialect::Postgres).unwrap().sql(),
    ///     r#"SELECT "employees"."name", "m"."name" AS "manager" FROM "employees" JOIN "employees" AS "m" ON "employees"."reports_to" = "m"."id""#);
    /// ```
    pub fn alias(self: &Arc<Self>, name: impl Into<Name>) -> TableAlias {
        TableAlias {
            table: Arc::clone(self),
            name: name.into(),
        }
    }
}

/// A table known at run time (reflected, or built as a [`Table`]) under another name in
/// one statement: made by [`Table::alias`].
#[derive(Debug, Clone, PartialEq)]
pub struct TableAlias {
    pub(crate) table: Arc<Table>,
    pub(crate) name: Name,
}

impl TableAlias {
    /// The alias name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The aliased table.
    pub fn table(&self) -> &Arc<Table> {
        &self.table
    }

    /// The qualifier of the alias's columns: the alias name, standing for the table.
    fn qualifier(&self) -> Qualifier {
        Qualifier {
            schema: None,
            name: self.name.clone(),
            origin: super::expr::Origin::AliasOf {
                schema: self.table.schema.clone().map(Name::Owned),
                table: Name::Owned(self.table.name.clone()),
            },
        }
    }

    /// The column `name` of the table, qualified by the alias (`"m"."name"`). A name
    /// the table does not have is an
    /// [`Error::UnknownColumn`](crate::error::Error::UnknownColumn) when the statement
    /// compiles, as for [`Table::c`].
    pub fn c(&self, name: &str) -> Expr<Dynamic> {
        self.table.column_under(self.qualifier(), name)
    }

    /// `alias.*`.
    pub fn star(&self) -> Expr<Dynamic> {
        ExprNode::Star(Some(self.qualifier())).typed()
    }

    /// The FROM item `table AS alias`.
    pub fn from_item(&self) -> super::select::FromItem {
        super::select::FromItem::Table {
            table: Arc::clone(&self.table),
            alias: Some(self.name.clone()),
        }
    }
}

/// A dynamic column of a subquery, CTE or other named FROM item: `qualifier.name`.
pub(crate) fn qualified<T>(qualifier: &Name, name: impl Into<Name>) -> Expr<T> {
    ExprNode::Column(ColumnRef {
        qualifier: Some(Qualifier {
            schema: None,
            name: qualifier.clone(),
            origin: super::expr::Origin::Derived,
        }),
        name: name.into(),
        value_type: None,
    })
    .typed()
}

/// A bare column name, unqualified (for ORDER BY a label, or a CTE's own columns).
pub fn column<T>(name: impl Into<Name>) -> Expr<T> {
    ExprNode::Column(ColumnRef {
        qualifier: None,
        name: name.into(),
        value_type: None,
    })
    .typed()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::dialect::Dialect;
    use crate::schema::{Column as Col, SqlType, Table};
    use crate::sql::expr::{Dynamic, Expr, ExprNode};
    use crate::sql::fixtures::{User, check, check_same};
    use crate::sql::*;
    use crate::value::Value;

    #[test]
    fn self_join_through_an_alias() {
        let boss = alias::<User>("boss");
        let stmt = select((User::name, boss.col(User::name).label("boss_name")))
            .from(User::table())
            .join(&boss, boss.col(User::id).eq(User::manager_id));
        check_same(
            &stmt,
            r#"SELECT "users"."name", "boss"."name" AS "boss_name" FROM "users" JOIN "users" AS "boss" ON "boss"."id" = "users"."manager_id""#,
        );
    }

    #[test]
    fn dynamic_columns_of_a_reflected_table() {
        let t = Arc::new(
            Table::new("Group")
                .column(Col::new("Name", SqlType::Text))
                .column(Col::new("Size", SqlType::Integer)),
        );
        check_same(
            &select(t.c("Name"))
                .from(&t)
                .filter(t.c("Size").ge(10).and(t.c("Name").like("A%"))),
            r#"SELECT "Group"."Name" FROM "Group" WHERE "Group"."Size" >= $1 AND "Group"."Name" LIKE $2"#,
        );
    }

    fn employees() -> Arc<Table> {
        Arc::new(
            Table::new("employees")
                .schema("hr")
                .column(Col::new("employee_id", SqlType::Integer).primary_key())
                .column(Col::new("name", SqlType::Text))
                .column(Col::new("reports_to", SqlType::Integer)),
        )
    }

    #[test]
    fn a_dynamic_table_joins_itself_through_an_alias() {
        let e = employees();
        let m = e.alias("m");
        let stmt = select((e.c("name"), m.c("name").label("manager")))
            .from(&e)
            .join(&m, e.c("reports_to").eq(m.c("employee_id")))
            .filter(m.c("name").ne("Ann"))
            .order_by(e.c("employee_id").asc());
        check_same(
            &stmt,
            r#"SELECT "hr"."employees"."name", "m"."name" AS "manager" FROM "hr"."employees" JOIN "hr"."employees" AS "m" ON "hr"."employees"."reports_to" = "m"."employee_id" WHERE "m"."name" <> $1 ORDER BY "hr"."employees"."employee_id" ASC"#,
        );
        // Two aliases, and an alias the statement does not put in FROM itself.
        let (a, b) = (e.alias("a"), e.alias("b"));
        check_same(
            &select((a.c("name"), b.c("name"))).filter(a.c("reports_to").eq(b.c("employee_id"))),
            r#"SELECT "a"."name", "b"."name" FROM "hr"."employees" AS "a", "hr"."employees" AS "b" WHERE "a"."reports_to" = "b"."employee_id""#,
        );
        check_same(
            &select(m.star()).from(m.clone()),
            r#"SELECT "m".* FROM "hr"."employees" AS "m""#,
        );
        assert_eq!((m.name(), m.table().name.as_str()), ("m", "employees"));
    }

    #[test]
    fn an_aliased_dynamic_column_the_table_lacks_names_the_table() {
        let e = employees();
        let err = select(e.alias("m").c("nme"))
            .compile(Dialect::MySql)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "table `hr.employees` has no column `nme`; it has: employee_id, name, reports_to"
        );
    }

    #[test]
    fn statements_take_a_table_by_value() {
        let t = || Table::new("t").column(Col::new("x", SqlType::Integer));
        check_same(&select(star()).from(t()), r#"SELECT * FROM "t""#);
        check_same(
            &insert(t()).values(Assignment::new("x", 1)),
            r#"INSERT INTO "t" ("x") VALUES ($1)"#,
        );
        check_same(
            &update(t()).set(Assignment::new("x", 2)),
            r#"UPDATE "t" SET "x" = $1"#,
        );
        check_same(&delete(t()), r#"DELETE FROM "t""#);
    }

    fn moods(native: bool) -> Arc<Table> {
        let ty = if native {
            SqlType::native_enum("mood", ["happy", "sad"])
        } else {
            SqlType::enumeration("mood", ["happy", "sad"])
        };
        Arc::new(
            Table::new("people")
                .column(Col::new("id", SqlType::Integer).primary_key())
                .column(Col::new("feeling", ty)),
        )
    }

    #[test]
    fn values_for_a_postgres_enum_column_are_cast_to_its_type() {
        let t = moods(true);
        let f = || t.c("feeling");
        check(
            &insert(&t).values_many([
                (
                    Assignment::new("id", 1),
                    Assignment::new("feeling", "happy"),
                ),
                (Assignment::new("id", 2), Assignment::new("feeling", "sad")),
            ]),
            r#"INSERT INTO "people" ("id", "feeling") VALUES ($1, CAST($2 AS "mood")), ($3, CAST($4 AS "mood"))"#,
            "INSERT INTO `people` (`id`, `feeling`) VALUES (?, ?), (?, ?)",
            r#"INSERT INTO "people" ("id", "feeling") VALUES (?, ?), (?, ?)"#,
        );
        check(
            &update(&t)
                .set(Assignment::new("feeling", "sad"))
                .filter(f().eq("happy").and(t.c("id").gt(0))),
            r#"UPDATE "people" SET "feeling" = CAST($1 AS "mood") WHERE "people"."feeling" = CAST($2 AS "mood") AND "people"."id" > $3"#,
            "UPDATE `people` SET `feeling` = ? WHERE `people`.`feeling` = ? AND `people`.`id` > ?",
            r#"UPDATE "people" SET "feeling" = ? WHERE "people"."feeling" = ? AND "people"."id" > ?"#,
        );
        // IN: one array bind, cast to an array of the enum; a value on the left too.
        let binds = check(
            &select(t.c("id")).filter(f().in_(["happy", "sad"]).or(f().not_in(["sad"]))),
            r#"SELECT "people"."id" FROM "people" WHERE "people"."feeling" = ANY(CAST($1 AS "mood"[])) OR "people"."feeling" <> ALL(CAST($2 AS "mood"[]))"#,
            "SELECT `people`.`id` FROM `people` WHERE `people`.`feeling` IN (?, ?) OR `people`.`feeling` NOT IN (?)",
            r#"SELECT "people"."id" FROM "people" WHERE "people"."feeling" IN (?, ?) OR "people"."feeling" NOT IN (?)"#,
        );
        assert_eq!(
            binds[0],
            Value::Array(vec![Value::from("happy"), Value::from("sad")])
        );
        // A value on the left; BETWEEN; an IN list PostgreSQL cannot bind as one array
        // (it holds a NULL) casts each value.
        let v = |v: Value| -> Expr<Dynamic> { ExprNode::Bind(v).typed() };
        check(
            &select(t.c("id")).filter(
                v("sad".into())
                    .ne(f())
                    .and(f().between("happy", "sad"))
                    .and(f().in_([v("happy".into()), v(Value::Null)])),
            ),
            r#"SELECT "people"."id" FROM "people" WHERE CAST($1 AS "mood") <> "people"."feeling" AND "people"."feeling" BETWEEN CAST($2 AS "mood") AND CAST($3 AS "mood") AND "people"."feeling" IN (CAST($4 AS "mood"), CAST($5 AS "mood"))"#,
            "SELECT `people`.`id` FROM `people` WHERE ? <> `people`.`feeling` AND `people`.`feeling` BETWEEN ? AND ? AND `people`.`feeling` IN (?, ?)",
            r#"SELECT "people"."id" FROM "people" WHERE ? <> "people"."feeling" AND "people"."feeling" BETWEEN ? AND ? AND "people"."feeling" IN (?, ?)"#,
        );
    }

    #[test]
    fn the_cast_follows_the_tables_schema_and_aliases() {
        let t = Arc::new(
            Table::new("people")
                .schema("app")
                .column(Col::new("feeling", SqlType::native_enum("mood", ["ok"]))),
        );
        let m = t.alias("m");
        let stmt = select(m.c("feeling")).filter(m.c("feeling").eq("ok"));
        assert_eq!(
            stmt.compile(Dialect::Postgres).unwrap().sql(),
            r#"SELECT "m"."feeling" FROM "app"."people" AS "m" WHERE "m"."feeling" = CAST($1 AS "app"."mood")"#
        );
        assert_eq!(
            delete(Arc::clone(&t))
                .filter(t.c("feeling").ne("ok"))
                .compile(Dialect::Postgres)
                .unwrap()
                .sql(),
            r#"DELETE FROM "app"."people" WHERE "app"."people"."feeling" <> CAST($1 AS "app"."mood")"#
        );
    }

    #[test]
    fn a_varchar_enum_is_not_cast_and_the_cache_tells_the_two_apart() {
        // The same statement over a same-named table whose enum is VARCHAR + CHECK (our
        // DDL's), then over one whose enum is PostgreSQL's own type: each its own SQL,
        // through the statement cache.
        for native in [false, true, false] {
            let t = moods(native);
            let ins = insert(&t).values(Assignment::new("feeling", "sad"));
            let sel = select(t.c("id")).filter(t.c("feeling").eq("sad"));
            let (ins_sql, sel_sql) = if native {
                (
                    r#"INSERT INTO "people" ("feeling") VALUES (CAST($1 AS "mood"))"#,
                    r#"SELECT "people"."id" FROM "people" WHERE "people"."feeling" = CAST($1 AS "mood")"#,
                )
            } else {
                (
                    r#"INSERT INTO "people" ("feeling") VALUES ($1)"#,
                    r#"SELECT "people"."id" FROM "people" WHERE "people"."feeling" = $1"#,
                )
            };
            assert_eq!(ins.compile(Dialect::Postgres).unwrap().sql(), ins_sql);
            assert_eq!(sel.compile(Dialect::Postgres).unwrap().sql(), sel_sql);
        }
    }

    #[test]
    fn unknown_dynamic_column_names_table_and_column() {
        let t = Arc::new(Table::new("Invoice").column(Col::new("Total", SqlType::Double)));
        let err = delete(Arc::clone(&t))
            .filter(t.c("Totl").gt(1.0))
            .compile(Dialect::Postgres)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "table `Invoice` has no column `Totl`; it has: Total"
        );
    }
}
