//! `CREATE INDEX` and `DROP INDEX`.

use super::{Sql, invalid};
use crate::dialect::{Dialect, ServerInfo};
use crate::error::Result;
use crate::schema::constraint::Index;
use crate::schema::naming::{Kind, Subject};
use crate::schema::table::Table;
use crate::sql::{Compiled, Executable};

/// The index's name: its own, or the one the table's naming convention gives it.
fn index_name(table: &Table, index: &Index) -> Result<String> {
    match &index.name {
        Some(n) => Ok(n.clone()),
        None => Ok(table
            .naming_convention
            .name_for(&Subject::new(Kind::Ix, &table.name, &index.columns))?
            // A convention without an index template still names the index.
            .unwrap_or_else(|| format!("ix_{}_{}", table.name, index.columns.join("_")))),
    }
}

/// `CREATE [UNIQUE] INDEX`; an unnamed index is named by the table's naming convention.
///
/// ```
/// use orm_runtime::schema::{CreateIndex, Index, Table};
/// use orm_runtime::Dialect;
/// let t = Table::new("track");
/// let ix = Index::new(["album_id", "name"]);
/// assert_eq!(CreateIndex::new(&t, &ix).compile(Dialect::Sqlite).unwrap().sql(),
///            "CREATE INDEX \"ix_track_album_id_name\" ON \"track\" (\"album_id\", \"name\")");
/// ```
#[derive(Debug, Clone)]
#[must_use = "a statement does nothing until it is executed"]
pub struct CreateIndex<'a> {
    table: &'a Table,
    index: &'a Index,
}

impl<'a> CreateIndex<'a> {
    /// `CREATE INDEX` for `index` on `table`.
    pub fn new(table: &'a Table, index: &'a Index) -> CreateIndex<'a> {
        CreateIndex { table, index }
    }

    /// The statement for `dialect`.
    pub fn compile(&self, dialect: Dialect) -> Result<Compiled> {
        let (t, ix) = (self.table, self.index);
        if ix.columns.is_empty() {
            return Err(invalid(t, "an index has no columns"));
        }
        let name = index_name(t, ix)?;
        let mut sql = Sql::new(dialect);
        sql.push(if ix.unique {
            "CREATE UNIQUE INDEX "
        } else {
            "CREATE INDEX "
        });
        match dialect {
            // SQLite puts the schema on the index, which lives next to its table.
            Dialect::Sqlite => {
                sql.qualified(t.schema.as_deref(), &name)?
                    .push(" ON ")
                    .ident(&t.name)?;
            }
            Dialect::Postgres | Dialect::MySql | Dialect::MariaDb => {
                sql.ident(&name)?.push(" ON ").table(t)?;
            }
        }
        sql.push(" ").ident_list(&ix.columns)?;
        Ok(sql.finish())
    }
}

impl Executable for CreateIndex<'_> {
    fn compile_for(&self, server: impl Into<ServerInfo>) -> Result<Compiled> {
        self.compile(server.into().dialect())
    }
}

/// `DROP INDEX`: `DROP INDEX "schema"."ix"` on PostgreSQL and SQLite,
/// ``DROP INDEX `ix` ON `table` `` on MySQL.
#[derive(Debug, Clone)]
#[must_use = "a statement does nothing until it is executed"]
pub struct DropIndex<'a> {
    table: &'a Table,
    index: &'a Index,
}

impl<'a> DropIndex<'a> {
    /// `DROP INDEX` for `index` of `table`.
    pub fn new(table: &'a Table, index: &'a Index) -> DropIndex<'a> {
        DropIndex { table, index }
    }

    /// The statement for `dialect`.
    pub fn compile(&self, dialect: Dialect) -> Result<Compiled> {
        let t = self.table;
        let name = index_name(t, self.index)?;
        let mut sql = Sql::new(dialect);
        sql.push("DROP INDEX ");
        match dialect {
            Dialect::MySql | Dialect::MariaDb => {
                sql.ident(&name)?.push(" ON ").table(t)?;
            }
            Dialect::Postgres | Dialect::Sqlite => {
                sql.qualified(t.schema.as_deref(), &name)?;
            }
        }
        Ok(sql.finish())
    }
}

impl Executable for DropIndex<'_> {
    fn compile_for(&self, server: impl Into<ServerInfo>) -> Result<Compiled> {
        self.compile(server.into().dialect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Column, SqlType};

    #[test]
    fn a_convention_without_an_index_template_still_names_indexes() {
        let t = Table::new("t")
            .naming_convention(crate::schema::NamingConvention::new())
            .column(Column::new("a", SqlType::Integer))
            .index(crate::schema::Index::new(["a"]));
        let sql = CreateIndex::new(&t, &t.indexes[0])
            .compile(Dialect::Postgres)
            .unwrap();
        assert_eq!(sql.sql(), r#"CREATE INDEX "ix_t_a" ON "t" ("a")"#);
    }
}
