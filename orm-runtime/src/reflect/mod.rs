//! Reflection: reading tables back from a database's catalog into the
//! [`schema`](crate::schema) types, and the [`Inspector`] that does it one question at a
//! time.
//!
//! ```text
//! Engine::inspect() ──▶ Inspector ──columns/pk_constraint/foreign_keys/...──▶ schema types
//!                           │                      (reflect/{postgres,mysql,sqlite}.rs)
//!                           └── table(name) ──▶ Table ──▶ MetaData::reflect, Table::autoload
//! ```
//!
//! Each dialect file reads its own catalog: `pg_catalog` on PostgreSQL,
//! `information_schema` on MySQL/MariaDB, and on SQLite the `table_info`,
//! `foreign_key_list`, `index_list` and `index_info` pragmas plus the `CREATE TABLE`
//! text in `sqlite_master` (the only place SQLite keeps constraint names and CHECKs).
//! Types come back as [`SqlType`](crate::schema::SqlType) at the dialect's resolution:
//! MySQL's `BOOL` is `TINYINT(1)` and reads back as `Boolean`, SQLite's declared type
//! text is parsed, a PostgreSQL enum type is `SqlType::NativeEnum` (whose values the
//! compiler casts to it), MySQL's `ENUM(...)` is `SqlType::Enum`, a type the mapping
//! does not know is `SqlType::Custom` with the catalog's spelling.
//!
//! Contract for a dialect file: every function takes the schema to look in (never
//! `None`: [`Inspector`] resolves the default first) and an existing table's exact
//! name; it returns constraints sorted by name, and a foreign key's `referred_schema`
//! only when it differs from the table's own schema.

pub(crate) mod mysql;
pub(crate) mod postgres;
pub(crate) mod sqlite;

use std::sync::Arc;

use crate::dialect::Dialect;
use crate::engine::{Engine, Exec};
use crate::error::{Error, Result};
use crate::schema::{
    CheckConstraint, Column, ForeignKey, Index, MetaData, PrimaryKey, Table, UniqueConstraint,
};

/// What a dialect file needs to know about the server besides the connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx {
    pub dialect: Dialect,
    /// MariaDB rather than MySQL (different `information_schema` columns and JSON type).
    pub mariadb: bool,
}

/// The tables and views of one schema.
#[derive(Debug, Clone, Default)]
pub(crate) struct Relations {
    pub tables: Vec<String>,
    pub views: Vec<String>,
}

/// Table-level facts other than columns and constraints.
#[derive(Debug, Clone, Default)]
pub(crate) struct TableOptions {
    pub comment: Option<String>,
    pub sqlite_autoincrement: bool,
}

/// Calls the same function of the dialect file for `ctx.dialect`.
macro_rules! dispatch {
    ($ctx:expr, $f:ident($($arg:expr),*)) => {
        match $ctx.dialect {
            Dialect::Postgres => postgres::$f($($arg),*).await,
            Dialect::MySql | Dialect::MariaDb => mysql::$f($($arg),*).await,
            Dialect::Sqlite => sqlite::$f($($arg),*).await,
        }
    };
}

pub(crate) async fn default_schema(ex: &mut Exec<'_>, ctx: &Ctx) -> Result<String> {
    dispatch!(ctx, default_schema(ex, ctx))
}

pub(crate) async fn schema_names(ex: &mut Exec<'_>, ctx: &Ctx) -> Result<Vec<String>> {
    dispatch!(ctx, schema_names(ex, ctx))
}

pub(crate) async fn relations(ex: &mut Exec<'_>, ctx: &Ctx, schema: &str) -> Result<Relations> {
    dispatch!(ctx, relations(ex, ctx, schema))
}

pub(crate) async fn columns(
    ex: &mut Exec<'_>,
    ctx: &Ctx,
    schema: &str,
    table: &str,
) -> Result<Vec<Column>> {
    let mut cols: Vec<Column> = dispatch!(ctx, columns(ex, ctx, schema, table))?;
    let pk = primary_key(ex, ctx, schema, table).await?;
    for c in &mut cols {
        c.primary_key = pk.columns.contains(&c.name);
    }
    Ok(cols)
}

pub(crate) async fn primary_key(
    ex: &mut Exec<'_>,
    ctx: &Ctx,
    schema: &str,
    table: &str,
) -> Result<PrimaryKey> {
    dispatch!(ctx, primary_key(ex, ctx, schema, table))
}

pub(crate) async fn foreign_keys(
    ex: &mut Exec<'_>,
    ctx: &Ctx,
    schema: &str,
    table: &str,
) -> Result<Vec<ForeignKey>> {
    dispatch!(ctx, foreign_keys(ex, ctx, schema, table))
}

pub(crate) async fn indexes(
    ex: &mut Exec<'_>,
    ctx: &Ctx,
    schema: &str,
    table: &str,
) -> Result<Vec<Index>> {
    dispatch!(ctx, indexes(ex, ctx, schema, table))
}

pub(crate) async fn unique_constraints(
    ex: &mut Exec<'_>,
    ctx: &Ctx,
    schema: &str,
    table: &str,
) -> Result<Vec<UniqueConstraint>> {
    dispatch!(ctx, unique_constraints(ex, ctx, schema, table))
}

pub(crate) async fn check_constraints(
    ex: &mut Exec<'_>,
    ctx: &Ctx,
    schema: &str,
    table: &str,
) -> Result<Vec<CheckConstraint>> {
    dispatch!(ctx, check_constraints(ex, ctx, schema, table))
}

pub(crate) async fn table_options(
    ex: &mut Exec<'_>,
    ctx: &Ctx,
    schema: &str,
    table: &str,
) -> Result<TableOptions> {
    dispatch!(ctx, table_options(ex, ctx, schema, table))
}

/// Reads a whole table. `table_schema` is what the returned [`Table::schema`] says:
/// `None` for the default schema.
pub(crate) async fn table(
    ex: &mut Exec<'_>,
    ctx: &Ctx,
    schema: &str,
    name: &str,
    table_schema: Option<&str>,
) -> Result<Table> {
    let mut t = Table::new(name);
    t.schema = table_schema.map(str::to_owned);
    t.columns = columns(ex, ctx, schema, name).await?;
    t.primary_key = primary_key(ex, ctx, schema, name).await?;
    t.foreign_keys = foreign_keys(ex, ctx, schema, name).await?;
    t.unique_constraints = unique_constraints(ex, ctx, schema, name).await?;
    t.check_constraints = check_constraints(ex, ctx, schema, name).await?;
    t.indexes = indexes(ex, ctx, schema, name).await?;
    let opts = table_options(ex, ctx, schema, name).await?;
    t.comment = opts.comment;
    t.sqlite_autoincrement = opts.sqlite_autoincrement;
    Ok(t)
}

/// The stored spelling of `name` among `names`: exact, or on SQLite (whose names are
/// case-insensitive) ignoring ASCII case.
pub(crate) fn find_name<'n>(dialect: Dialect, names: &'n [String], name: &str) -> Option<&'n str> {
    names
        .iter()
        .find(|n| *n == name)
        .or_else(|| {
            (dialect == Dialect::Sqlite)
                .then(|| names.iter().find(|n| n.eq_ignore_ascii_case(name)))
                .flatten()
        })
        .map(String::as_str)
}

/// A read-only view of a database's schema: its tables and views, and for each its
/// columns, keys, constraints and indexes (SQLAlchemy's `Inspector`).
///
/// Made by [`Engine::inspect`]. The table and view names of the inspected schema are
/// read once, when the inspector is made; everything else is read from the catalog
/// when asked. Asking about a table that does not exist is [`Error::TableNotFound`],
/// naming it and listing the ones that do.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use orm_runtime::{create_engine, text};
/// use orm_runtime::schema::SqlType;
/// let engine = create_engine("sqlite::memory:").await?;
/// engine.execute(text("CREATE TABLE artist (id INTEGER PRIMARY KEY, name VARCHAR(120) NOT NULL)")).await?;
/// engine.execute(text("CREATE TABLE album (id INTEGER PRIMARY KEY, artist_id INTEGER REFERENCES artist (id))")).await?;
/// let insp = engine.inspect().await?;
/// assert_eq!(insp.table_names(), ["album", "artist"]);
/// let cols = insp.columns("artist").await?;
/// assert_eq!(cols[1].sql_type, SqlType::varchar(120));
/// assert!(!cols[1].nullable);
/// assert_eq!(insp.foreign_keys("album").await?[0].referred_table, "artist");
/// let err = insp.columns("nope").await.unwrap_err();
/// assert_eq!(err.to_string(), "table `nope` does not exist in schema `main`; it has: album, artist");
/// # Ok::<(), orm_runtime::Error>(()) }).unwrap();
/// ```
#[derive(Clone)]
pub struct Inspector {
    engine: Engine,
    ctx: Ctx,
    default_schema: String,
    schema: String,
    relations: Arc<Relations>,
}

impl Engine {
    /// A schema [`Inspector`] for the connection's default schema (PostgreSQL's
    /// `current_schema()`, MySQL's `DATABASE()`, SQLite's `main`); see
    /// [`Inspector::in_schema`] for others.
    pub async fn inspect(&self) -> Result<Inspector> {
        let ctx = Ctx {
            dialect: self.dialect(),
            mariadb: self.is_mariadb(),
        };
        let mut conn = self.connect().await?;
        let mut ex = Exec::Conn(&mut conn);
        let default_schema = default_schema(&mut ex, &ctx).await?;
        let rel = relations(&mut ex, &ctx, &default_schema).await?;
        Ok(Inspector {
            engine: self.clone(),
            ctx,
            schema: default_schema.clone(),
            default_schema,
            relations: Arc::new(rel),
        })
    }
}

impl Inspector {
    /// The dialect of the inspected database.
    pub fn dialect(&self) -> Dialect {
        self.ctx.dialect
    }

    /// The connection's default schema.
    pub fn default_schema_name(&self) -> &str {
        &self.default_schema
    }

    /// The schema this inspector looks at.
    pub fn schema_name(&self) -> &str {
        &self.schema
    }

    /// An inspector for another schema (PostgreSQL schema, MySQL database, SQLite
    /// attached database) of the same database, or [`Error::SchemaNotFound`].
    pub async fn in_schema(&self, schema: &str) -> Result<Inspector> {
        let mut conn = self.engine.connect().await?;
        let mut ex = Exec::Conn(&mut conn);
        let schemas = schema_names(&mut ex, &self.ctx).await?;
        if !schemas.iter().any(|s| s == schema) {
            return Err(Error::SchemaNotFound {
                schema: schema.to_owned(),
                available: schemas.join(", "),
            });
        }
        let rel = relations(&mut ex, &self.ctx, schema).await?;
        Ok(Inspector {
            engine: self.engine.clone(),
            ctx: self.ctx,
            default_schema: self.default_schema.clone(),
            schema: schema.to_owned(),
            relations: Arc::new(rel),
        })
    }

    /// The schemas of the database, without the system ones.
    pub async fn schema_names(&self) -> Result<Vec<String>> {
        let mut conn = self.engine.connect().await?;
        schema_names(&mut Exec::Conn(&mut conn), &self.ctx).await
    }

    /// The tables of the schema, sorted by name.
    pub fn table_names(&self) -> &[String] {
        &self.relations.tables
    }

    /// The views of the schema, sorted by name.
    pub fn view_names(&self) -> &[String] {
        &self.relations.views
    }

    /// Whether the schema had a table called `name` when the inspector was made.
    pub fn has_table(&self, name: &str) -> bool {
        find_name(self.ctx.dialect, &self.relations.tables, name).is_some()
    }

    /// The schema name to report on reflected tables: `None` for the default schema.
    fn table_schema(&self) -> Option<&str> {
        (self.schema != self.default_schema).then_some(self.schema.as_str())
    }

    /// Checks out a connection and resolves `name` to an existing table or view (also
    /// one created after the inspector was made), or [`Error::TableNotFound`].
    async fn resolve(&self, name: &str) -> Result<(crate::engine::Connection, String)> {
        let mut conn = self.engine.connect().await?;
        let known = |rel: &Relations| {
            find_name(self.ctx.dialect, &rel.tables, name)
                .or_else(|| find_name(self.ctx.dialect, &rel.views, name))
                .map(str::to_owned)
        };
        if let Some(found) = known(&self.relations) {
            return Ok((conn, found));
        }
        let fresh = relations(&mut Exec::Conn(&mut conn), &self.ctx, &self.schema).await?;
        match known(&fresh) {
            Some(found) => Ok((conn, found)),
            None => Err(Error::TableNotFound {
                table: name.to_owned(),
                schema: self.schema.clone(),
                available: fresh
                    .tables
                    .iter()
                    .chain(&fresh.views)
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    /// The columns of table (or view) `table`, in order: name, type, nullability,
    /// server default, autoincrement (`Yes` where the database generates values: an
    /// identity or `serial` column, `AUTO_INCREMENT`, SQLite's `INTEGER PRIMARY KEY`;
    /// `No` otherwise), primary-key membership and comment.
    pub async fn columns(&self, table: &str) -> Result<Vec<Column>> {
        let (mut conn, name) = self.resolve(table).await?;
        columns(&mut Exec::Conn(&mut conn), &self.ctx, &self.schema, &name).await
    }

    /// The primary key of `table` (no columns when it has none). MySQL names every
    /// primary key `PRIMARY`; that name is reported as `None`.
    pub async fn pk_constraint(&self, table: &str) -> Result<PrimaryKey> {
        let (mut conn, name) = self.resolve(table).await?;
        primary_key(&mut Exec::Conn(&mut conn), &self.ctx, &self.schema, &name).await
    }

    /// The foreign keys of `table`, sorted by name. `NO ACTION` (and on MySQL, where it
    /// is the same thing, `RESTRICT`) is the default and reads back as `None`.
    pub async fn foreign_keys(&self, table: &str) -> Result<Vec<ForeignKey>> {
        let (mut conn, name) = self.resolve(table).await?;
        foreign_keys(&mut Exec::Conn(&mut conn), &self.ctx, &self.schema, &name).await
    }

    /// The indexes of `table` that are not its primary key or one of its unique
    /// constraints, sorted by name. On MySQL, where a unique index *is* the unique
    /// constraint, unique indexes are reported by
    /// [`unique_constraints`](Self::unique_constraints) instead. Expression and partial
    /// indexes, which [`Index`] cannot describe, are left out.
    pub async fn indexes(&self, table: &str) -> Result<Vec<Index>> {
        let (mut conn, name) = self.resolve(table).await?;
        indexes(&mut Exec::Conn(&mut conn), &self.ctx, &self.schema, &name).await
    }

    /// The UNIQUE constraints of `table`, sorted by name.
    pub async fn unique_constraints(&self, table: &str) -> Result<Vec<UniqueConstraint>> {
        let (mut conn, name) = self.resolve(table).await?;
        unique_constraints(&mut Exec::Conn(&mut conn), &self.ctx, &self.schema, &name).await
    }

    /// The CHECK constraints of `table`, sorted by name, with the condition as the
    /// database prints it (PostgreSQL and MariaDB rewrite it; SQLite keeps the text as
    /// written). MariaDB's implicit `json_valid` check of a JSON column is left out.
    pub async fn check_constraints(&self, table: &str) -> Result<Vec<CheckConstraint>> {
        let (mut conn, name) = self.resolve(table).await?;
        check_constraints(&mut Exec::Conn(&mut conn), &self.ctx, &self.schema, &name).await
    }

    /// The comment of `table`, if it has one (always `None` on SQLite).
    pub async fn table_comment(&self, table: &str) -> Result<Option<String>> {
        let (mut conn, name) = self.resolve(table).await?;
        Ok(
            table_options(&mut Exec::Conn(&mut conn), &self.ctx, &self.schema, &name)
                .await?
                .comment,
        )
    }

    /// Everything about `table` at once, as a [`Table`] (its `schema` is `None` in the
    /// default schema).
    pub async fn table(&self, table: &str) -> Result<Table> {
        let (mut conn, name) = self.resolve(table).await?;
        self::table(
            &mut Exec::Conn(&mut conn),
            &self.ctx,
            &self.schema,
            &name,
            self.table_schema(),
        )
        .await
    }
}

impl std::fmt::Debug for Inspector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inspector")
            .field("dialect", &self.ctx.dialect)
            .field("schema", &self.schema)
            .field("tables", &self.relations.tables)
            .field("views", &self.relations.views)
            .finish_non_exhaustive()
    }
}

impl MetaData {
    /// Every table of the engine's default schema, reflected (SQLAlchemy's
    /// `MetaData().reflect(engine)`); views are not included.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use orm_runtime::{create_engine, text};
    /// use orm_runtime::schema::MetaData;
    /// let engine = create_engine("sqlite::memory:").await?;
    /// engine.execute_script("CREATE TABLE a (id INTEGER PRIMARY KEY); \
    ///     CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES a (id))").await?;
    /// let md = MetaData::reflect(&engine).await?;
    /// assert_eq!(md.table("b")?.foreign_keys[0].referred_table, "a");
    /// md.drop_all(&engine).await?;
    /// assert!(engine.inspect().await?.table_names().is_empty());
    /// # Ok::<(), orm_runtime::Error>(()) }).unwrap();
    /// ```
    pub async fn reflect(engine: &Engine) -> Result<MetaData> {
        Self::reflect_from(&engine.inspect().await?, None).await
    }

    /// The named tables of the default schema, reflected, plus the tables of the same
    /// schema they refer to by foreign key (recursively, as SQLAlchemy's
    /// `resolve_fks`), so the result can be created and dropped on its own. A name that does not exist is
    /// [`Error::TableNotFound`].
    pub async fn reflect_only(engine: &Engine, tables: &[&str]) -> Result<MetaData> {
        Self::reflect_from(&engine.inspect().await?, Some(tables)).await
    }

    /// Every table of `schema` (or only those named, plus the tables they refer to),
    /// reflected; the tables carry `schema` as their [`Table::schema`] unless it is the
    /// default schema.
    pub async fn reflect_schema(
        engine: &Engine,
        schema: &str,
        only: Option<&[&str]>,
    ) -> Result<MetaData> {
        let insp = engine.inspect().await?.in_schema(schema).await?;
        Self::reflect_from(&insp, only).await
    }

    /// Reflects through `insp`: every table of its schema, or the named ones and what
    /// they refer to.
    pub async fn reflect_from(insp: &Inspector, only: Option<&[&str]>) -> Result<MetaData> {
        let mut queue: Vec<String> = match only {
            None => insp.table_names().to_vec(),
            Some(names) => names.iter().map(|n| (*n).to_owned()).collect(),
        };
        let mut md = MetaData::new();
        let mut done: Vec<String> = Vec::new();
        let mut conn = insp.engine.connect().await?;
        let mut ex = Exec::Conn(&mut conn);
        while let Some(requested) = (!queue.is_empty()).then(|| queue.remove(0)) {
            let Some(name) =
                find_name(insp.ctx.dialect, insp.table_names(), &requested).map(str::to_owned)
            else {
                return Err(Error::TableNotFound {
                    table: requested,
                    schema: insp.schema.clone(),
                    available: insp.table_names().join(", "),
                });
            };
            if done.contains(&name) {
                continue;
            }
            let t = table(&mut ex, &insp.ctx, &insp.schema, &name, insp.table_schema()).await?;
            if only.is_some() {
                for fk in &t.foreign_keys {
                    if fk.referred_schema.is_none() && !done.contains(&fk.referred_table) {
                        queue.push(fk.referred_table.clone());
                    }
                }
            }
            done.push(name);
            md.add_table(t);
        }
        Ok(md)
    }
}

impl Table {
    /// Reflects table `name` of the engine's default schema (SQLAlchemy's
    /// `Table(name, metadata, autoload_with=engine)`), or [`Error::TableNotFound`].
    ///
    /// The table comes back shared, as [`MetaData::add_table`] gives its tables: it is
    /// what the statement builders take, so `select(...).from(&t)`, `insert(&t)`,
    /// `update(&t)` and `delete(&t)` use it as it is, and [`Table::alias`] names it
    /// twice in one statement.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use orm_runtime::{create_engine, text};
    /// use orm_runtime::sql::{insert, select, Assignment};
    /// use orm_runtime::schema::Table;
    /// let engine = create_engine("sqlite::memory:").await?;
    /// engine.execute(text("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")).await?;
    /// let users = Table::autoload(&engine, "users").await?;
    /// engine.execute(insert(&users).values(Assignment::new("name", "ann"))).await?;
    /// let row = engine.fetch_one(select(users.c("name")).from(&users)).await?;
    /// assert_eq!(row.get::<String>(0)?, "ann");
    /// # Ok::<(), orm_runtime::Error>(()) }).unwrap();
    /// ```
    pub async fn autoload(engine: &Engine, name: &str) -> Result<Arc<Table>> {
        engine.inspect().await?.table(name).await.map(Arc::new)
    }

    /// Reflects table `name` of `schema`, shared as [`Table::autoload`]'s.
    pub async fn autoload_in_schema(
        engine: &Engine,
        schema: &str,
        name: &str,
    ) -> Result<Arc<Table>> {
        engine
            .inspect()
            .await?
            .in_schema(schema)
            .await?
            .table(name)
            .await
            .map(Arc::new)
    }
}

/// A reflected `ON DELETE` / `ON UPDATE` rule: `NO ACTION` (the default) is `None`.
/// Foreign keys from catalog rows with columns `name`, `col`, `ref_col`, `ref_schema`,
/// `ref_table`, `upd`, `del`, one row per column pair, ordered by name then position;
/// `action` reads the dialect's spelling of ON UPDATE/ON DELETE.
pub(crate) fn group_foreign_keys(
    rows: &[crate::row::Row],
    schema: &str,
    action: fn(&str) -> Option<crate::schema::ReferentialAction>,
) -> Result<Vec<crate::schema::ForeignKey>> {
    let mut out: Vec<crate::schema::ForeignKey> = Vec::new();
    for r in rows {
        let name: String = r.get("name")?;
        let (col, ref_col): (String, String) = (r.get("col")?, r.get("ref_col")?);
        match out.last_mut() {
            Some(fk) if fk.name.as_deref() == Some(name.as_str()) => {
                fk.columns.push(col);
                fk.referred_columns.push(ref_col);
            }
            _ => {
                let ref_schema: String = r.get("ref_schema")?;
                let mut fk =
                    crate::schema::ForeignKey::new([col], r.get::<String>("ref_table")?, [ref_col]);
                fk.name = Some(name);
                fk.referred_schema = (ref_schema != schema).then_some(ref_schema);
                fk.on_update = action(&r.get::<String>("upd")?);
                fk.on_delete = action(&r.get::<String>("del")?);
                out.push(fk);
            }
        }
    }
    Ok(out)
}

pub(crate) fn referential_action(rule: &str) -> Option<crate::schema::ReferentialAction> {
    match crate::schema::ReferentialAction::parse(rule) {
        Some(crate::schema::ReferentialAction::NoAction) | None => None,
        other => other,
    }
}

/// Groups `(constraint name, column)` rows (sorted by name, then position) into
/// `(name, columns)`.
pub(crate) fn group_columns(rows: Vec<(String, String)>) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for (name, col) in rows {
        match out.last_mut() {
            Some((n, cols)) if *n == name => cols.push(col),
            _ => out.push((name, vec![col])),
        }
    }
    out
}

/// Splits `NAME(args)` into the upper-cased name (inner whitespace collapsed) and the
/// comma-separated arguments.
pub(crate) fn split_type(decl: &str) -> (String, Vec<String>, String) {
    let decl = decl.trim();
    let (head, args, tail) = match (decl.find('('), decl.rfind(')')) {
        (Some(open), Some(close)) if close > open => (
            &decl[..open],
            decl[open + 1..close]
                .split(',')
                .map(|a| a.trim().to_owned())
                .collect(),
            &decl[close + 1..],
        ),
        _ => (decl, Vec::new(), ""),
    };
    let norm = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_ascii_uppercase()
    };
    (norm(head), args, norm(tail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_declarations_split() {
        assert_eq!(
            split_type(" numeric(10, 2) "),
            ("NUMERIC".into(), vec!["10".into(), "2".into()], "".into())
        );
        assert_eq!(
            split_type("time(6) without  time zone"),
            ("TIME".into(), vec!["6".into()], "WITHOUT TIME ZONE".into())
        );
        assert_eq!(
            split_type("double precision"),
            ("DOUBLE PRECISION".into(), vec![], "".into())
        );
    }

    #[test]
    fn sqlite_names_match_without_case() {
        let names = vec!["Group".to_owned(), "user".to_owned()];
        assert_eq!(find_name(Dialect::Sqlite, &names, "group"), Some("Group"));
        assert_eq!(find_name(Dialect::Postgres, &names, "group"), None);
        assert_eq!(find_name(Dialect::Postgres, &names, "Group"), Some("Group"));
    }
}
