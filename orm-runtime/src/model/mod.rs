//! The `Model` trait, implemented by `#[derive(Model)]`: a struct mapped to a table,
//! with its key, its row decoding, its column values and its relationships
//! ([`relationship`]).

mod deferred;
pub mod relationship;

pub use deferred::Deferred;
#[doc(hidden)]
pub use deferred::deferred_value;

use std::hash::Hash;
use std::sync::{Arc, OnceLock};

use relationship::{RelatedCore, RelationshipInfo};

use crate::dialect::{Dialect, Feature, ServerInfo};
use crate::error::Result;
use crate::row::{FromRow, Row};
use crate::sql::{Compiled, HasTable};
use crate::value::Value;

/// What the derive knows about one mapped column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnInfo {
    /// The column's name in the database.
    pub name: &'static str,
    /// The Rust field's name.
    pub field: &'static str,
    /// Part of the primary key.
    pub primary_key: bool,
    /// The database generates it on INSERT (autoincrement).
    pub generated: bool,
    /// The database fills it when an INSERT leaves it out (`server_default`).
    pub server_default: bool,
    /// An optimistic-concurrency version counter.
    pub version: bool,
    /// The field is a [`Deferred<T>`]: a query may leave the column unloaded.
    pub deferrable: bool,
    /// `#[orm(deferred)]`: queries leave it unloaded unless they `undefer` it.
    pub deferred: bool,
    /// `#[orm(deferred, group = "photos")]`: the deferred column group the column
    /// belongs to, loaded as a whole by
    /// [`undefer_group`](crate::loading::undefer_group) (`Deferred<T>` fields only).
    pub group: Option<&'static str>,
}

/// Where column `i` sits in a row that leaves out the columns of `skip` (bit `j` for
/// column `j`; only the first 64 columns can be deferred).
#[doc(hidden)]
pub const fn position(i: usize, skip: u64) -> usize {
    let below = if i >= 64 {
        skip
    } else {
        skip & ((1u64 << i) - 1)
    };
    i - below.count_ones() as usize
}

/// The columns a query of a model leaves out unless told otherwise (`#[orm(deferred)]`).
pub(crate) fn default_skip(columns: &[ColumnInfo]) -> u64 {
    columns
        .iter()
        .enumerate()
        .take(64)
        .filter(|(_, c)| c.deferred)
        .fold(0, |m, (i, _)| m | 1 << i)
}

/// A struct mapped to a table by `#[derive(Model)]`.
///
/// The derive generates everything here at compile time; the SQL a model needs for its
/// primary key (select, delete) is compiled once per dialect and kept in [`ModelSql`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a model",
    label = "expected a struct with `#[derive(Model)]`",
    note = "add `#[derive(orm::Model)]` and `#[orm(table = \"...\")]` to the struct"
)]
pub trait Model:
    HasTable + crate::session::events::ModelEvents + Sized + Send + Sync + 'static
{
    /// The primary key: one column's type, or a tuple for a composite key.
    type PrimaryKey: Clone + PartialEq + Eq + Hash + std::fmt::Debug + Send + Sync + 'static;

    /// The struct's name, for messages.
    const MODEL_NAME: &'static str;

    /// The mapped columns, in the order [`Model::from_row`] reads them and
    /// [`Model::values`] gives them.
    fn columns() -> &'static [ColumnInfo];

    /// The relationships declared with `#[relationship]`.
    fn relationships() -> &'static [RelationshipInfo];

    /// The model's operations with its type erased, for the session. Written by the
    /// derive as a function of each model's own (not one generic function), so that
    /// following relationships from model to model never nests instances of one generic
    /// function (rustc stops at 128 of them).
    #[doc(hidden)]
    fn vtable() -> &'static crate::session::vtable::ModelVTable;

    /// This object's primary key.
    fn primary_key(&self) -> Self::PrimaryKey;

    /// A primary key as bind values, in key-column order.
    fn key_values(key: &Self::PrimaryKey) -> Vec<Value>;

    /// A primary key as the identity an object loaded by a session keeps (what
    /// [`Model::key_values`] gives; the derive keeps a one-column key inline).
    #[doc(hidden)]
    fn identity_key(key: &Self::PrimaryKey) -> crate::session::object::IdKey {
        Self::key_values(key).into()
    }

    /// The order of two primary keys, when their type has one (`None` otherwise). The
    /// identity map uses it to take a run of rows in increasing key order, which cannot
    /// repeat a key, without looking each one up; the derive writes it. A key type's
    /// `Ord` must agree with its `Eq` (equal exactly when `Ordering::Equal`), as std's
    /// ordered collections require.
    #[doc(hidden)]
    fn key_cmp(_a: &Self::PrimaryKey, _b: &Self::PrimaryKey) -> Option<std::cmp::Ordering> {
        None
    }

    /// Builds an object from `row`, reading the columns by position starting at `offset`
    /// (no name lookups); relationships start unloaded.
    fn from_row(row: &Row, offset: usize) -> Result<Self>;

    /// The column values, in [`Model::columns`] order.
    fn values(&self) -> Vec<Value>;

    /// The SQL this model runs by primary key, compiled once per dialect for its latest
    /// server (see [`ServerInfo`]); [`ModelSql::build`] compiles it for an engine's
    /// server.
    fn sql(dialect: Dialect) -> &'static ModelSql;

    /// The primary key read from `row` by position, starting at `offset` (the key
    /// columns only: an identity-map hit decodes nothing else).
    fn key_from_row(row: &Row, offset: usize) -> Result<Self::PrimaryKey>;

    /// The primary key from the key columns' values, in key-column order (what
    /// [`Model::key_values`] gives); a value of the wrong type is an error.
    fn key_from_values(values: &[Value]) -> Result<Self::PrimaryKey>;

    /// Column `i`'s value ([`Model::columns`] order).
    fn column_value(&self, i: usize) -> Value;

    /// Sets column `i` from a value: generated keys, foreign keys and refreshed rows are
    /// written back this way. A value of the wrong type is [`Error::Decode`] naming the
    /// field.
    ///
    /// [`Error::Decode`]: crate::error::Error::Decode
    fn set_column_value(&mut self, i: usize, value: Value) -> Result<()>;

    /// True when column `i` is a generated key, a server-default or a version column that
    /// still holds its Rust default: an INSERT leaves it to the database.
    fn column_is_unset(&self, i: usize) -> bool;

    /// As [`from_row`](Model::from_row) for a row that leaves out the columns of `skip`
    /// (bit `i` for column `i`, deferred columns only): those are left unloaded.
    #[doc(hidden)]
    fn from_row_skip(row: &Row, offset: usize, skip: u64) -> Result<Self> {
        let _ = skip;
        Self::from_row(row, offset)
    }

    /// As [`key_from_row`](Model::key_from_row) for a row that leaves out the columns of
    /// `skip`.
    #[doc(hidden)]
    fn key_from_row_skip(row: &Row, offset: usize, skip: u64) -> Result<Self::PrimaryKey> {
        let _ = skip;
        Self::key_from_row(row, offset)
    }

    /// The [`Deferred`] columns that are not loaded (bit `i` for column `i`).
    #[doc(hidden)]
    fn unloaded_columns(&self) -> u64 {
        0
    }

    /// Leaves column `i` unloaded when it is a [`Deferred`] one (others are unchanged).
    #[doc(hidden)]
    fn unload_column(&mut self, i: usize) {
        let _ = i;
    }

    /// Relationship field `i` ([`Model::relationships`] order), untyped.
    #[doc(hidden)]
    fn relationship(&self, i: usize) -> &RelatedCore;

    /// Relationship field `i`, untyped and mutable.
    #[doc(hidden)]
    fn relationship_mut(&mut self, i: usize) -> &mut RelatedCore;
}

/// A model reads a whole row, its columns in declaration order from the first.
impl<M: Model> FromRow for M {
    fn from_row(row: &Row) -> Result<Self> {
        <M as Model>::from_row(row, 0)
    }
}

/// Every column of `M`, qualified by its table, in declaration order: the select list
/// that [`Row::decode`](crate::Row::decode) reads back as `M` (or as one part of a
/// tuple, after the columns before it).
///
/// ```text
/// select(columns_of::<User>()).add_columns(columns_of::<Post>()).from(User::table()).join_fk(Post::table())
/// // each row: row.decode::<(User, Post)>()?
/// ```
pub fn columns_of<M: Model>() -> Vec<crate::sql::SelectItem> {
    use crate::sql::{ColumnRef, ExprNode, Name, Qualifier, SelectItem};
    let qualifier = Qualifier::table(M::SCHEMA.map(Name::Borrowed), Name::Borrowed(M::TABLE_NAME));
    M::columns()
        .iter()
        .map(|c| SelectItem {
            expr: ExprNode::Column(ColumnRef {
                qualifier: Some(qualifier.clone()),
                name: Name::Borrowed(c.name),
                value_type: None,
            }),
            label: None,
        })
        .collect()
}

/// Statements by primary key, compiled once per dialect for a model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSql {
    /// `SELECT <columns> FROM t WHERE <pk> = ?` (binds: the key); the columns leave out
    /// those deferred by default.
    pub select_by_key: Compiled,
    /// `SELECT <every column> FROM t WHERE <pk> = ?` (binds: the key): the deferred
    /// columns too, all a model decodes from a row (what [`Connection::get`] runs).
    ///
    /// [`Connection::get`]: crate::engine::Connection::get
    pub get_by_key: Compiled,
    /// `SELECT <columns> FROM t` (add WHERE/ORDER BY after it), as `select_by_key`.
    pub select_all: Compiled,
    /// `DELETE FROM t WHERE <pk> = ?` (binds: the key).
    pub delete_by_key: Compiled,
    /// `INSERT INTO t (<columns but the generated key>) VALUES (?, ...)`, with
    /// `RETURNING <generated key>` where the server has it (binds: the values of
    /// [`ModelSql::insert_columns`], in order).
    pub insert: Compiled,
    /// The columns [`ModelSql::insert`] binds, as indexes into [`Model::columns`].
    pub insert_columns: Vec<usize>,
    /// `UPDATE t SET <every non-key column> = ? WHERE <pk> = ?` (binds: the values of the
    /// non-key columns in [`Model::columns`] order, then the key).
    pub update_by_key: Compiled,
}

impl ModelSql {
    /// Compiles the statements of `M` for `server`: a [`Dialect`] (its latest server,
    /// as [`Model::sql`] does) or an engine's [`ServerInfo`], whose capabilities decide
    /// whether [`ModelSql::insert`] has its RETURNING.
    pub fn build<M: Model>(server: impl Into<ServerInfo>) -> Result<ModelSql> {
        let server = server.into();
        use crate::sql::{
            ColumnRef, ExprNode, Name, Qualifier, SelectItem, and_all, delete, select,
        };
        let table = M::table();
        let qualifier =
            Qualifier::table(M::SCHEMA.map(Name::Borrowed), Name::Borrowed(M::TABLE_NAME));
        let col = |name: &'static str| {
            ExprNode::Column(ColumnRef {
                qualifier: Some(qualifier.clone()),
                name: Name::Borrowed(name),
                value_type: None,
            })
        };
        // Columns deferred by default (`#[orm(deferred)]`) are left out, as by a query.
        let items: Vec<SelectItem> = M::columns()
            .iter()
            .filter(|c| !c.deferred)
            .map(|c| SelectItem {
                expr: col(c.name),
                label: None,
            })
            .collect();
        let key_cond = || {
            and_all(M::columns().iter().filter(|c| c.primary_key).map(|c| {
                ExprNode::Binary(
                    Box::new(col(c.name)),
                    crate::sql::BinaryOp::Eq,
                    Box::new(ExprNode::Bind(Value::Null)),
                )
                .typed::<bool>()
            }))
        };
        let select_all = select(items.clone()).from(Arc::clone(&table));
        let every: Vec<SelectItem> = M::columns()
            .iter()
            .map(|c| SelectItem {
                expr: col(c.name),
                label: None,
            })
            .collect();
        let insert_columns: Vec<usize> = M::columns()
            .iter()
            .enumerate()
            .filter(|(_, c)| !c.generated)
            .map(|(i, _)| i)
            .collect();
        let row: Vec<crate::sql::Assignment> = insert_columns
            .iter()
            .map(|&i| crate::sql::Assignment::new(M::columns()[i].name, Value::Null))
            .collect();
        let mut insert = crate::sql::insert(Arc::clone(&table)).values(row);
        let generated: Vec<SelectItem> = M::columns()
            .iter()
            .filter(|c| c.generated)
            .map(|c| SelectItem {
                expr: col(c.name),
                label: None,
            })
            .collect();
        // Without RETURNING (MySQL, MariaDB before 10.5, SQLite before 3.35) the driver
        // reports the generated key as LAST_INSERT_ID() / last_insert_rowid() instead.
        if !generated.is_empty() && server.has(Feature::InsertReturning) {
            insert = insert.returning(generated);
        }
        let set: Vec<crate::sql::Assignment> = M::columns()
            .iter()
            .filter(|c| !c.primary_key)
            .map(|c| crate::sql::Assignment::new(c.name, Value::Null))
            .collect();
        let update = if set.is_empty() {
            // Nothing but the key: setting the key to itself keeps the statement valid, so
            // a unit of work can treat every model alike.
            let keep: Vec<crate::sql::Assignment> = M::columns()
                .iter()
                .filter(|c| c.primary_key)
                .map(|c| crate::sql::Assignment::expr(c.name, col(c.name)))
                .collect();
            crate::sql::update(Arc::clone(&table)).set(keep)
        } else {
            crate::sql::update(Arc::clone(&table)).set(set)
        };
        Ok(ModelSql {
            select_by_key: select_all
                .clone()
                .filter(key_cond())
                .compile_uncached(server)?,
            get_by_key: select(every)
                .from(Arc::clone(&table))
                .filter(key_cond())
                .compile_uncached(server)?,
            select_all: select_all.compile_uncached(server)?,
            delete_by_key: delete(Arc::clone(&table))
                .filter(key_cond())
                .compile_uncached(server)?,
            insert: insert.compile_uncached(server)?,
            insert_columns,
            update_by_key: update.filter(key_cond()).compile_uncached(server)?,
        })
    }
}

/// Per-dialect storage for a model's [`ModelSql`], a `static` in generated code.
pub struct ModelSqlCache([OnceLock<ModelSql>; 4]);

impl ModelSqlCache {
    /// Empty.
    pub const fn new() -> Self {
        ModelSqlCache([
            OnceLock::new(),
            OnceLock::new(),
            OnceLock::new(),
            OnceLock::new(),
        ])
    }

    /// The statements of `M` for `dialect`, compiled on first use.
    pub fn get<M: Model>(&'static self, dialect: Dialect) -> &'static ModelSql {
        let slot = &self.0[dialect as usize];
        slot.get_or_init(|| match ModelSql::build::<M>(dialect) {
            Ok(sql) => sql,
            // The statements are built from the model's own columns: a failure is a bug in
            // the derive, not in user input.
            Err(e) => panic!(
                "orm: cannot compile the primary-key SQL of `{}`: {e}",
                M::MODEL_NAME
            ),
        })
    }
}

impl Default for ModelSqlCache {
    fn default() -> Self {
        Self::new()
    }
}
