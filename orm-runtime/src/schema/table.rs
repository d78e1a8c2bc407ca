//! Tables: columns plus keys, constraints and indexes.

use super::column::{Autoincrement, Column};
use super::constraint::{CheckConstraint, ForeignKey, Index, PrimaryKey, UniqueConstraint};
use crate::error::{Error, Result};

/// A table: what `CREATE TABLE` creates and reflection reads back.
///
/// Declared in code (the Core user's path), produced by `#[derive(Model)]`, or reflected
/// from a database.
///
/// ```
/// use orm_runtime::schema::{Column, ForeignKey, Index, ReferentialAction, SqlType, Table};
/// let posts = Table::new("posts")
///     .column(Column::new("id", SqlType::BigInt).primary_key())
///     .column(Column::new("user_id", SqlType::BigInt).not_null())
///     .column(Column::new("title", SqlType::varchar(200)).not_null())
///     .foreign_key(ForeignKey::new(["user_id"], "users", ["id"]).on_delete(ReferentialAction::Cascade))
///     .index(Index::new(["user_id", "title"]));
/// assert_eq!(posts.primary_key.columns, ["id"]);
/// assert_eq!(posts.autoincrement_column().unwrap().name, "id");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The table's name.
    pub name: String,
    /// Its schema (PostgreSQL schema / MySQL database), `None` for the default.
    pub schema: Option<String>,
    /// Columns in declaration order.
    pub columns: Vec<Column>,
    /// The primary key.
    pub primary_key: PrimaryKey,
    /// Foreign keys.
    pub foreign_keys: Vec<ForeignKey>,
    /// UNIQUE constraints over several columns (single-column ones may also be
    /// [`Column::unique`]).
    pub unique_constraints: Vec<UniqueConstraint>,
    /// CHECK constraints.
    pub check_constraints: Vec<CheckConstraint>,
    /// Indexes (single-column ones may also be [`Column::index`]).
    pub indexes: Vec<Index>,
    /// A table comment, where the dialect supports one.
    pub comment: Option<String>,
}

impl Table {
    /// An empty table named `name`.
    pub fn new(name: impl Into<String>) -> Table {
        Table {
            name: name.into(),
            schema: None,
            columns: Vec::new(),
            primary_key: PrimaryKey::default(),
            foreign_keys: Vec::new(),
            unique_constraints: Vec::new(),
            check_constraints: Vec::new(),
            indexes: Vec::new(),
            comment: None,
        }
    }

    /// Puts the table in a schema.
    pub fn schema(mut self, schema: impl Into<String>) -> Table {
        self.schema = Some(schema.into());
        self
    }

    /// Adds a column; a [`Column::primary_key`] column joins the primary key.
    pub fn column(mut self, column: Column) -> Table {
        if column.primary_key && !self.primary_key.columns.contains(&column.name) {
            self.primary_key.columns.push(column.name.clone());
        }
        self.columns.push(column);
        self
    }

    /// Sets a (composite) primary key over existing columns, marking them NOT NULL.
    pub fn primary_key<C>(mut self, columns: C) -> Table
    where
        C: IntoIterator,
        C::Item: Into<String>,
    {
        self.primary_key.columns = columns.into_iter().map(Into::into).collect();
        for c in &mut self.columns {
            if self.primary_key.columns.contains(&c.name) {
                c.primary_key = true;
                c.nullable = false;
            }
        }
        self
    }

    /// Names the primary-key constraint.
    pub fn primary_key_name(mut self, name: impl Into<String>) -> Table {
        self.primary_key.name = Some(name.into());
        self
    }

    /// Adds a foreign key.
    pub fn foreign_key(mut self, fk: ForeignKey) -> Table {
        self.foreign_keys.push(fk);
        self
    }

    /// Adds a UNIQUE constraint.
    pub fn unique(mut self, uc: UniqueConstraint) -> Table {
        self.unique_constraints.push(uc);
        self
    }

    /// Adds a CHECK constraint.
    pub fn check(mut self, ck: CheckConstraint) -> Table {
        self.check_constraints.push(ck);
        self
    }

    /// Adds an index.
    pub fn index(mut self, ix: Index) -> Table {
        self.indexes.push(ix);
        self
    }

    /// Sets the table comment.
    pub fn comment(mut self, c: impl Into<String>) -> Table {
        self.comment = Some(c.into());
        self
    }

    /// `schema.name`, or `name`.
    pub fn full_name(&self) -> String {
        match &self.schema {
            Some(s) => format!("{s}.{}", self.name),
            None => self.name.clone(),
        }
    }

    /// The column called `name`, if any.
    pub fn get_column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The column called `name`, or [`Error::UnknownColumn`] naming the table and column.
    pub fn try_column(&self, name: &str) -> Result<&Column> {
        self.get_column(name).ok_or_else(|| Error::UnknownColumn {
            table: self.full_name(),
            column: name.to_owned(),
            available: self
                .columns
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    /// The column that takes its value from the database on INSERT, by SQLAlchemy's
    /// rule: the one integer primary-key column, unless it has a foreign key, a
    /// Rust-side default or `autoincrement = No`; or any column marked `Yes`.
    pub fn autoincrement_column(&self) -> Option<&Column> {
        if let Some(c) = self
            .columns
            .iter()
            .find(|c| c.autoincrement == Autoincrement::Yes)
        {
            return Some(c);
        }
        let [pk] = self.primary_key.columns.as_slice() else {
            return None;
        };
        let col = self.get_column(pk)?;
        let has_fk = self
            .foreign_keys
            .iter()
            .any(|fk| fk.columns.iter().any(|c| c == pk));
        (col.sql_type.is_integer()
            && col.autoincrement == Autoincrement::Auto
            && col.default.is_none()
            && !has_fk)
            .then_some(col)
    }

    /// The tables this one references by foreign key, as `(schema, name)`; the schema is
    /// the table's own where the key names none.
    pub fn referred_tables(&self) -> Vec<(Option<String>, String)> {
        let mut out: Vec<(Option<String>, String)> = Vec::new();
        for fk in &self.foreign_keys {
            let key = (
                fk.referred_schema.clone().or_else(|| self.schema.clone()),
                fk.referred_table.clone(),
            );
            if !out.contains(&key) {
                out.push(key);
            }
        }
        out
    }
}
