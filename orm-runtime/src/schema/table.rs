//! Tables: columns plus keys, constraints and indexes.

use super::column::{Autoincrement, Column};
use super::constraint::{CheckConstraint, ForeignKey, Index, PrimaryKey, UniqueConstraint};
use super::naming::{Kind, NamingConvention, Subject};
use super::types::SqlType;
use crate::dialect::Dialect;
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
    /// Names the constraints and indexes left unnamed; set from the
    /// [`MetaData`](super::MetaData) the table is added to.
    pub naming_convention: NamingConvention,
    /// On SQLite, declare the autoincrement column `PRIMARY KEY AUTOINCREMENT`, so ids
    /// of deleted rows are never reused (SQLAlchemy's `sqlite_autoincrement=True`).
    /// Without it the column is a plain rowid alias, which SQLite's documentation
    /// recommends. Ignored by the other dialects.
    pub sqlite_autoincrement: bool,
}

/// A table hashes as its qualified name (schema and name), what identifies it in the
/// database. Tables equal as values have equal names, so this agrees with `PartialEq`.
///
/// The statement cache keys a statement by its derived `Hash`, so it relies on this: a
/// statement renders a table by its qualified name only; its columns, keys and options
/// are DDL's business ([`ddl`](super::ddl)).
///
/// With one exception: the values of a PostgreSQL enum column
/// ([`SqlType::NativeEnum`]) are cast to its type in an INSERT or UPDATE, so those
/// columns and their types take part too.
impl std::hash::Hash for Table {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.schema.hash(state);
        self.name.hash(state);
        for c in &self.columns {
            if matches!(c.sql_type, SqlType::NativeEnum { .. }) {
                c.name.hash(state);
                c.sql_type.hash(state);
            }
        }
    }
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
            naming_convention: NamingConvention::default(),
            sqlite_autoincrement: false,
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

    /// Sets the naming convention for constraints and indexes left unnamed. A table
    /// added to a [`MetaData`](super::MetaData) with the default convention takes the
    /// collection's instead.
    pub fn naming_convention(mut self, convention: NamingConvention) -> Table {
        self.naming_convention = convention;
        self
    }

    /// On SQLite, declare the autoincrement column `PRIMARY KEY AUTOINCREMENT`; see
    /// [`Table::sqlite_autoincrement`](Table#structfield.sqlite_autoincrement).
    pub fn sqlite_autoincrement(mut self, on: bool) -> Table {
        self.sqlite_autoincrement = on;
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
            available: self.column_list(),
        })
    }

    /// The column names, comma separated (for error messages).
    pub(crate) fn column_list(&self) -> String {
        self.columns
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The column that takes its value from the database on INSERT, by SQLAlchemy's
    /// rule: the one integer primary-key column, unless it has a foreign key, a
    /// Rust-side or server default, or `autoincrement = No`; or any column marked `Yes`.
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
            && col.server_default.is_none()
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

/// The constraints DDL emits: the table-level ones plus those that column flags and
/// enum types imply, with every name the naming convention can give resolved.
impl Table {
    /// The UNIQUE constraints `CREATE TABLE` emits: one per [`Column::unique`] column
    /// (unless it is also [`Column::index`]ed, which makes a unique index instead, as
    /// in SQLAlchemy), then [`Table::unique_constraints`]; unnamed ones are named by
    /// the `uq` template, if any.
    pub fn all_unique_constraints(&self) -> Result<Vec<UniqueConstraint>> {
        let flagged = self
            .columns
            .iter()
            .filter(|c| c.unique && !c.index)
            .map(|c| UniqueConstraint::new([c.name.clone()]));
        flagged
            .chain(self.unique_constraints.iter().cloned())
            .map(|uq| {
                let name = match uq.name {
                    Some(n) => Some(n),
                    None => self.naming_convention.name_for(&Subject::new(
                        Kind::Uq,
                        &self.name,
                        &uq.columns,
                    ))?,
                };
                Ok(UniqueConstraint { name, ..uq })
            })
            .collect()
    }

    /// The CHECK constraints `CREATE TABLE` emits for `dialect`: one per
    /// [`SqlType::Enum`] column, and per [`SqlType::NativeEnum`] column on the dialects
    /// without enum types (`"col" IN ('a', 'b')`, named by the `ck` template with
    /// `{constraint_name}` = the enum's name, or else the enum's name), then
    /// [`Table::check_constraints`], unnamed ones named by the `ck` template where it
    /// can.
    pub fn all_check_constraints(&self, dialect: Dialect) -> Result<Vec<CheckConstraint>> {
        let mut out = Vec::new();
        for c in &self.columns {
            let Some((name, variants)) = c.sql_type.checked_enum(dialect) else {
                continue;
            };
            if variants.is_empty() {
                return Err(Error::InvalidTable {
                    table: self.full_name(),
                    problem: format!("enum column `{}` has no variants", c.name),
                });
            }
            let columns = [c.name.clone()];
            let enum_name = (!name.is_empty()).then_some(name);
            let subject = Subject {
                constraint_name: enum_name,
                ..Subject::new(Kind::Ck, &self.name, &columns)
            };
            let ck_name = match self.naming_convention.name_for(&subject)? {
                Some(n) => Some(n),
                None => enum_name.map(str::to_owned),
            };
            let list = variants
                .iter()
                .map(|v| super::ddl::string_literal(dialect, v))
                .collect::<Vec<_>>()
                .join(", ");
            out.push(CheckConstraint {
                name: ck_name,
                sql: format!("{} IN ({list})", dialect.quote_identifier(&c.name)),
            });
        }
        for ck in &self.check_constraints {
            let name = match &ck.name {
                Some(n) => Some(n.clone()),
                None => {
                    match self
                        .naming_convention
                        .name_for(&Subject::new(Kind::Ck, &self.name, &[]))
                    {
                        Ok(n) => n,
                        // A template that needs `{constraint_name}` cannot name an unnamed
                        // CHECK: the database names it (SQLAlchemy refuses instead).
                        Err(_) if self.naming_convention.ck_needs_constraint_name() => None,
                        Err(e) => return Err(e),
                    }
                }
            };
            out.push(CheckConstraint {
                name,
                sql: ck.sql.clone(),
            });
        }
        Ok(out)
    }

    /// The indexes `CREATE INDEX` emits: one per [`Column::index`] column (UNIQUE when
    /// the column is also [`Column::unique`]), then [`Table::indexes`]; every one named,
    /// by the `ix` template when it has no name
    /// ([`DEFAULT_INDEX_TEMPLATE`](super::naming::DEFAULT_INDEX_TEMPLATE) by default).
    pub fn all_indexes(&self) -> Result<Vec<Index>> {
        let flagged = self.columns.iter().filter(|c| c.index).map(|c| Index {
            name: None,
            columns: vec![c.name.clone()],
            unique: c.unique,
        });
        flagged
            .chain(self.indexes.iter().cloned())
            .map(|ix| {
                let name = match ix.name {
                    Some(n) => n,
                    None => self
                        .naming_convention
                        .name_for(&Subject::new(Kind::Ix, &self.name, &ix.columns))?
                        .unwrap_or_default(),
                };
                Ok(Index {
                    name: Some(name),
                    ..ix
                })
            })
            .collect()
    }
}
