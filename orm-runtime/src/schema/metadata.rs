//! `MetaData`: a collection of tables, found by name and created or dropped together.

use std::sync::Arc;

use super::ddl::{
    self, AddConstraint, CreateIndex, CreateTable, DropConstraint, DropTable, SetComment,
};
use super::naming::NamingConvention;
use super::sort;
use super::table::Table;
use crate::dialect::Dialect;
use crate::engine::{Engine, Exec};
use crate::error::{Error, Result};
use crate::reflect::{self, Ctx};
use crate::sql::text;

/// A collection of [`Table`]s: what `create_all` creates and `reflect` fills.
///
/// Tables are shared (`Arc<Table>`) so statements can refer to them cheaply.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use orm_runtime::create_engine;
/// use orm_runtime::schema::{Column, ForeignKey, MetaData, NamingConvention, SqlType, Table};
/// let engine = create_engine("sqlite::memory:").await?;
/// let md = MetaData::new()
///     .naming_convention(NamingConvention::default_sqlalchemy_style())
///     .with_table(Table::new("post")
///         .column(Column::new("id", SqlType::Integer).primary_key())
///         .column(Column::new("user_id", SqlType::Integer).not_null().index())
///         .foreign_key(ForeignKey::new(["user_id"], "user", ["id"])))
///     .with_table(Table::new("user")
///         .column(Column::new("id", SqlType::Integer).primary_key())
///         .column(Column::new("name", SqlType::varchar(50)).not_null().unique()));
/// let order: Vec<_> = md.sorted_tables().iter().map(|t| t.name.clone()).collect();
/// assert_eq!(order, ["user", "post"]);
/// md.create_all(&engine).await?;   // CREATE TABLE "user" ...; CREATE TABLE "post" ...; CREATE INDEX ...
/// md.create_all(&engine).await?;   // checkfirst: nothing left to do
/// let insp = engine.inspect().await?;
/// assert_eq!(insp.table_names(), ["post", "user"]);
/// assert_eq!(insp.indexes("post").await?[0].name.as_deref(), Some("ix_post_user_id"));
/// md.drop_all(&engine).await?;     // DROP TABLE "post"; DROP TABLE "user"
/// assert!(engine.inspect().await?.table_names().is_empty());
/// # Ok::<(), orm_runtime::Error>(()) }).unwrap();
/// ```
#[derive(Debug, Clone, Default)]
pub struct MetaData {
    tables: Vec<Arc<Table>>,
    naming_convention: NamingConvention,
    models: Vec<ModelEntry>,
}

/// A model registered with [`MetaData::with`]: what [`MetaData::configure`] checks.
#[derive(Debug, Clone, Copy)]
struct ModelEntry {
    name: &'static str,
    table: &'static str,
    relationships: fn() -> &'static [crate::model::relationship::RelationshipInfo],
}

/// Association tables of many-to-many relationships, by the name `secondary` gives,
/// recorded by [`MetaData::configure`] for the session's flush and loaders.
static ASSOCIATIONS: std::sync::LazyLock<
    std::sync::RwLock<std::collections::HashMap<String, Arc<Table>>>,
> = std::sync::LazyLock::new(Default::default);

fn register_association(name: &str, table: &Arc<Table>) {
    if let Ok(mut m) = ASSOCIATIONS.write() {
        m.insert(name.to_owned(), Arc::clone(table));
    }
}

/// The association table `name` of a many-to-many relationship, once a `MetaData`
/// holding it was configured.
pub(crate) fn association_table(name: &str) -> Option<Arc<Table>> {
    ASSOCIATIONS.read().ok()?.get(name).cloned()
}

impl MetaData {
    /// An empty collection.
    pub fn new() -> MetaData {
        MetaData::default()
    }

    /// Adds a model's table and registers its relationships, which
    /// [`configure`](MetaData::configure) (and `create_all`) check. (An example is in the
    /// `orm` crate's documentation of `#[derive(Model)]`.)
    pub fn with<M: crate::model::Model>(mut self) -> MetaData {
        self.add_table((*M::table()).clone());
        if !self.models.iter().any(|m| m.name == M::MODEL_NAME) {
            self.models.push(ModelEntry {
                name: M::MODEL_NAME,
                table: M::TABLE_NAME,
                relationships: M::relationships,
            });
        }
        self
    }

    /// Checks that the registered models' relationships fit together, as SQLAlchemy
    /// does when mappers configure: each target's table is here; a many-to-many's
    /// association table is here with one foreign key to each side; `back_populates`
    /// pairs mirror each other. The checks the derive can do at compile time it did
    /// already; these need all the models at once.
    pub fn configure(&self) -> Result<()> {
        use crate::model::relationship::RelationshipInfo;
        let error = |owner: &str, r: &RelationshipInfo, message: String| Error::Relationship {
            relationship: format!("{owner}.{}", r.name),
            target: r.target_model.to_owned(),
            message,
        };
        for m in &self.models {
            for r in (m.relationships)() {
                let target = (r.target_table)();
                if self.get_table(&target.full_name()).is_none() {
                    return Err(error(
                        m.name,
                        r,
                        format!(
                            "the table `{}` of `{}` is not in this MetaData; add it with `.with::<{}>()`",
                            target.full_name(),
                            r.target_model,
                            r.target_model
                        ),
                    ));
                }
                if let Some(secondary) = r.secondary {
                    let Some(assoc) = self.get_table(secondary) else {
                        return Err(error(
                            m.name,
                            r,
                            format!(
                                "the association table `{secondary}` is not in this MetaData; add it with `.with::<...>()` or `.with_table(...)`"
                            ),
                        ));
                    };
                    let refers = |table: &str| {
                        assoc
                            .foreign_keys
                            .iter()
                            .filter(|fk| fk.referred_table == table)
                            .filter(|fk| {
                                r.foreign_keys.is_empty()
                                    || fk
                                        .columns
                                        .iter()
                                        .any(|c| r.foreign_keys.contains(&c.as_str()))
                            })
                            .count()
                    };
                    let (to_own, to_target) = (refers(m.table), refers(&target.name));
                    let fits = if m.table == target.name {
                        to_own == 2
                    } else {
                        to_own == 1 && to_target == 1
                    };
                    if !fits {
                        return Err(error(
                            m.name,
                            r,
                            format!(
                                "the association table `{secondary}` needs exactly one foreign key to `{}` and one to `{}`; it has {to_own} and {to_target}",
                                m.table, target.name
                            ),
                        ));
                    }
                    register_association(secondary, &assoc);
                }
                if let Some(back) = r.back_populates
                    && let Some(other) = self.models.iter().find(|o| o.name == r.target_model)
                    && let Some(mirror) = (other.relationships)().iter().find(|o| o.name == back)
                    && let Some(mirror_back) = mirror.back_populates
                    && mirror_back != r.name
                {
                    return Err(error(
                        m.name,
                        r,
                        format!(
                            "`back_populates = \"{back}\"`, but `{}.{back}` has `back_populates = \"{mirror_back}\"`, not `\"{}\"`",
                            r.target_model, r.name
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Adds a table (builder style).
    pub fn with_table(mut self, table: Table) -> MetaData {
        self.add_table(table);
        self
    }

    /// Sets the naming convention for constraints and indexes left unnamed (SQLAlchemy's
    /// `MetaData(naming_convention=...)`); it applies to the tables added afterwards.
    pub fn naming_convention(mut self, convention: NamingConvention) -> MetaData {
        self.naming_convention = convention;
        self
    }

    /// The naming convention tables added to this collection get.
    pub fn get_naming_convention(&self) -> &NamingConvention {
        &self.naming_convention
    }

    /// Adds a table, replacing one of the same schema and name; returns the shared table.
    ///
    /// The table takes the collection's naming convention (unless it was given one of
    /// its own with [`Table::naming_convention`], which wins), and the convention names
    /// every unnamed primary key, foreign key, unique constraint, index and (where the
    /// `ck` template can) check constraint.
    pub fn add_table(&mut self, mut table: Table) -> Arc<Table> {
        if table.naming_convention == NamingConvention::default() {
            table.naming_convention = self.naming_convention.clone();
        }
        let convention = table.naming_convention.clone();
        convention.apply(&mut table);
        let table = Arc::new(table);
        match self
            .tables
            .iter_mut()
            .find(|t| t.schema == table.schema && t.name == table.name)
        {
            Some(slot) => *slot = Arc::clone(&table),
            None => self.tables.push(Arc::clone(&table)),
        }
        table
    }

    /// The tables in the order they were added.
    pub fn tables(&self) -> &[Arc<Table>] {
        &self.tables
    }

    /// The table called `name` (`"schema.name"` for one in a schema), or
    /// [`Error::UnknownTable`].
    pub fn table(&self, name: &str) -> Result<Arc<Table>> {
        self.get_table(name).ok_or_else(|| Error::UnknownTable {
            table: name.to_owned(),
            available: self
                .tables
                .iter()
                .map(|t| t.full_name())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    /// The table called `name` (`"schema.name"` for one in a schema), if any.
    pub fn get_table(&self, name: &str) -> Option<Arc<Table>> {
        if let Some(t) = self.tables.iter().find(|t| t.full_name() == name) {
            return Some(Arc::clone(t));
        }
        // A bare name finds a schema-qualified table only when it is unambiguous.
        let mut bare = self.tables.iter().filter(|t| t.name == name);
        match (bare.next(), bare.next()) {
            (Some(t), None) => Some(Arc::clone(t)),
            _ => None,
        }
    }

    /// The tables in foreign-key order, referenced tables first (SQLAlchemy's
    /// `MetaData.sorted_tables`); of the tables ready to go next, the one added first goes.
    ///
    /// A foreign key marked [`use_alter`](super::ForeignKey::use_alter), and any foreign
    /// key between tables of a cycle, does not order anything (self-references never
    /// do): [`create_all`](Self::create_all) adds those with `ALTER TABLE` once the
    /// tables exist. Use [`try_sorted_tables`](Self::try_sorted_tables) to have a cycle
    /// reported instead.
    pub fn sorted_tables(&self) -> Vec<Arc<Table>> {
        sort::plan(&self.tables)
            .order
            .into_iter()
            .map(|i| Arc::clone(&self.tables[i]))
            .collect()
    }

    /// The tables in foreign-key order, or [`Error::CircularDependency`] naming the
    /// tables of the first cycle that no `use_alter` foreign key breaks: for work that
    /// must follow foreign keys strictly, such as copying rows table by table.
    pub fn try_sorted_tables(&self) -> Result<Vec<Arc<Table>>> {
        let plan = sort::plan(&self.tables);
        if let Some(cycle) = plan.cycles.first() {
            return Err(Error::CircularDependency {
                tables: cycle.iter().map(|&i| self.tables[i].full_name()).collect(),
            });
        }
        Ok(plan
            .order
            .into_iter()
            .map(|i| Arc::clone(&self.tables[i]))
            .collect())
    }

    /// Creates every table that does not exist yet, with its indexes, in foreign-key
    /// order (SQLAlchemy's `create_all`, `checkfirst=True`). See
    /// [`create_all_with`](Self::create_all_with).
    pub async fn create_all(&self, engine: &Engine) -> Result<()> {
        self.create_all_with(engine, true).await
    }

    /// Creates the tables in foreign-key order: `CREATE TABLE`, its `CREATE INDEX`es
    /// and (PostgreSQL) `COMMENT ON`s, table by table; then the foreign keys set apart
    /// by [`sorted_tables`](Self::sorted_tables) with `ALTER TABLE ... ADD CONSTRAINT`
    /// (on SQLite they are declared inline, as SQLite checks a key's target only when
    /// rows change).
    ///
    /// With `checkfirst`, tables that already exist are skipped, with their indexes and
    /// foreign keys; without it, an existing table is the database's error.
    ///
    /// On PostgreSQL and SQLite, whose DDL is transactional, everything runs in one
    /// transaction: on error nothing is left behind. MySQL commits each DDL statement
    /// by itself, so an error there leaves the tables created before it.
    pub async fn create_all_with(&self, engine: &Engine, checkfirst: bool) -> Result<()> {
        self.configure()?;
        let dialect = engine.dialect();
        let ctx = Ctx {
            dialect,
            mariadb: engine.is_mariadb(),
        };
        let plan = sort::plan(&self.tables);
        let alter = ddl::supports_alter(dialect);
        let mut run = Runner::open(engine).await?;
        let mut ex = run.exec();
        let mut created = vec![false; self.tables.len()];
        let mut existing = Existing::default();
        for &i in &plan.order {
            let t = &self.tables[i];
            if checkfirst && existing.has(&mut ex, &ctx, t).await? {
                continue;
            }
            let apart: Vec<&super::ForeignKey> = plan
                .separate
                .iter()
                .filter(|&&(ti, _)| alter && ti == i)
                .map(|&(_, k)| &t.foreign_keys[k])
                .collect();
            let create = CreateTable::new(t)
                .include_foreign_keys(|fk| !apart.iter().any(|a| std::ptr::eq(*a, fk)));
            ex.execute(create).await?;
            for ix in t.all_indexes()? {
                ex.execute(CreateIndex::new(t, &ix)).await?;
            }
            if dialect == Dialect::Postgres {
                if t.comment.is_some() {
                    ex.execute(SetComment::table(t)).await?;
                }
                for c in t.columns.iter().filter(|c| c.comment.is_some()) {
                    ex.execute(SetComment::column(t, &c.name)?).await?;
                }
            }
            created[i] = true;
        }
        if alter {
            for &(i, k) in &plan.separate {
                if created[i] {
                    let t = &self.tables[i];
                    ex.execute(AddConstraint::foreign_key(t, &t.foreign_keys[k]))
                        .await?;
                }
            }
        }
        run.finish().await
    }

    /// Drops every table that exists, in reverse foreign-key order (SQLAlchemy's
    /// `drop_all`, `checkfirst=True`). See [`drop_all_with`](Self::drop_all_with).
    pub async fn drop_all(&self, engine: &Engine) -> Result<()> {
        self.drop_all_with(engine, true).await
    }

    /// Drops the tables, children before parents. Foreign keys that
    /// [`sorted_tables`](Self::sorted_tables) sets apart (cycles, `use_alter`) are
    /// dropped first with `ALTER TABLE ... DROP CONSTRAINT`, found in the database by
    /// name, or by columns and referred table when unnamed. SQLite cannot drop a
    /// constraint; there the drops run with `PRAGMA defer_foreign_keys` on, so the
    /// order of a cycle's tables does not matter.
    ///
    /// With `checkfirst`, tables that do not exist are skipped; without it, a missing
    /// table is the database's error. Transactions as in
    /// [`create_all_with`](Self::create_all_with).
    pub async fn drop_all_with(&self, engine: &Engine, checkfirst: bool) -> Result<()> {
        let dialect = engine.dialect();
        let ctx = Ctx {
            dialect,
            mariadb: engine.is_mariadb(),
        };
        let plan = sort::plan(&self.tables);
        let mut run = Runner::open(engine).await?;
        let mut ex = run.exec();
        let mut existing = Existing::default();
        let mut present = vec![true; self.tables.len()];
        if checkfirst {
            for (i, t) in self.tables.iter().enumerate() {
                present[i] = existing.has(&mut ex, &ctx, t).await?;
            }
        }
        if ddl::supports_alter(dialect) {
            for &(i, k) in &plan.separate {
                if !present[i] {
                    continue;
                }
                let t = &self.tables[i];
                let declared = &t.foreign_keys[k];
                let schema = existing.schema_of(&mut ex, &ctx, t).await?;
                let in_db = reflect::foreign_keys(&mut ex, &ctx, &schema, &t.name).await?;
                let declared_name = ddl::foreign_key_name(t, declared)?;
                let found = in_db.into_iter().find(|fk| match &declared_name {
                    Some(n) => fk.name.as_ref() == Some(n),
                    None => {
                        fk.columns == declared.columns
                            && fk.referred_table == declared.referred_table
                    }
                });
                if let Some(fk) = found {
                    ex.execute(DropConstraint::foreign_key(t, &fk)).await?;
                }
            }
        } else {
            // Dropping a table deletes its rows first, which checks foreign keys;
            // deferred, they are checked at COMMIT, when the tables are gone.
            ex.execute(text("PRAGMA defer_foreign_keys = ON")).await?;
        }
        for &i in plan.order.iter().rev() {
            if present[i] {
                ex.execute(DropTable::new(&self.tables[i])).await?;
            }
        }
        run.finish().await
    }
}

/// Where DDL runs: one transaction where DDL is transactional (PostgreSQL, SQLite),
/// one connection in autocommit on MySQL, where every DDL statement commits itself.
enum Runner {
    Tx(crate::engine::Transaction),
    Conn(crate::engine::Connection),
}

impl Runner {
    async fn open(engine: &Engine) -> Result<Runner> {
        Ok(match engine.dialect() {
            Dialect::MySql | Dialect::MariaDb => Runner::Conn(engine.connect().await?),
            Dialect::Postgres | Dialect::Sqlite => Runner::Tx(engine.begin().await?),
        })
    }

    fn exec(&mut self) -> Exec<'_> {
        match self {
            Runner::Tx(t) => Exec::Tx(t),
            Runner::Conn(c) => Exec::Conn(c),
        }
    }

    async fn finish(self) -> Result<()> {
        match self {
            Runner::Tx(t) => t.commit().await,
            Runner::Conn(_) => Ok(()),
        }
    }
}

/// The tables that exist, per schema, read once per schema.
#[derive(Default)]
struct Existing {
    default_schema: Option<String>,
    tables: Vec<(String, Vec<String>)>,
}

impl Existing {
    /// The schema `t` lives in (its own, or the connection's default).
    async fn schema_of(&mut self, ex: &mut Exec<'_>, ctx: &Ctx, t: &Table) -> Result<String> {
        if let Some(s) = &t.schema {
            return Ok(s.clone());
        }
        if self.default_schema.is_none() {
            self.default_schema = Some(reflect::default_schema(ex, ctx).await?);
        }
        Ok(self.default_schema.clone().unwrap_or_default())
    }

    async fn has(&mut self, ex: &mut Exec<'_>, ctx: &Ctx, t: &Table) -> Result<bool> {
        let schema = self.schema_of(ex, ctx, t).await?;
        if !self.tables.iter().any(|(s, _)| *s == schema) {
            let rel = reflect::relations(ex, ctx, &schema).await?;
            self.tables.push((schema.clone(), rel.tables));
        }
        let names = self
            .tables
            .iter()
            .find(|(s, _)| *s == schema)
            .map(|(_, n)| n.as_slice())
            .unwrap_or_default();
        Ok(reflect::find_name(ctx.dialect, names, &t.name).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::column::Column;
    use crate::schema::ddl::fixtures::users;
    use crate::schema::naming::NamingConvention;
    use crate::schema::types::SqlType;

    #[test]
    fn a_table_convention_wins_over_the_metadata_default() {
        let own = NamingConvention::new().pk("key_{table_name}");
        let md = MetaData::new()
            .with_table(users().naming_convention(own.clone()))
            .with_table(
                Table::new("other").column(Column::new("id", SqlType::Integer).primary_key()),
            );
        assert_eq!(
            md.table("users").unwrap().primary_key.name.as_deref(),
            Some("key_users")
        );
        assert_eq!(md.table("other").unwrap().primary_key.name, None);
        let md = MetaData::new()
            .naming_convention(NamingConvention::default_sqlalchemy_style())
            .with_table(users().naming_convention(own));
        assert_eq!(
            md.table("users").unwrap().primary_key.name.as_deref(),
            Some("key_users")
        );
    }
}
