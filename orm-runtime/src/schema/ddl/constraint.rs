//! Constraints: the clauses `CREATE TABLE` writes (foreign key, UNIQUE, CHECK) and
//! `ALTER TABLE ... ADD/DROP CONSTRAINT`.

use super::{Sql, check_columns, invalid, supports_alter};
use crate::dialect::{Dialect, ServerInfo};
use crate::error::{Error, Result};
use crate::schema::constraint::{CheckConstraint, ForeignKey, UniqueConstraint};
use crate::schema::naming::{Kind, Subject};
use crate::schema::table::Table;
use crate::sql::{Compiled, Executable};

/// The foreign-key constraint name DDL uses: the given one, or the `fk` template's.
pub(crate) fn foreign_key_name(table: &Table, fk: &ForeignKey) -> Result<Option<String>> {
    match &fk.name {
        Some(n) => Ok(Some(n.clone())),
        None => table
            .naming_convention
            .name_for(&Subject::fk(&table.name, fk)),
    }
}

pub(super) fn write_foreign_key(
    sql: &mut Sql,
    table: &Table,
    fk: &ForeignKey,
    name: Option<&str>,
) -> Result<()> {
    check_columns(table, "a foreign key", &fk.columns)?;
    if fk.columns.len() != fk.referred_columns.len() {
        return Err(invalid(
            table,
            format!(
                "foreign key ({}) names {} local and {} referred columns of `{}`",
                fk.columns.join(", "),
                fk.columns.len(),
                fk.referred_columns.len(),
                fk.referred_table
            ),
        ));
    }
    let referred_schema = match sql.dialect {
        // SQLite's REFERENCES takes a bare table name, in the same database.
        Dialect::Sqlite => {
            if fk.referred_schema.is_some() && fk.referred_schema != table.schema {
                return Err(Error::Unsupported {
                    dialect: sql.dialect.name(),
                    feature: format!(
                        "a foreign key from `{}` to a table in another schema (`{}.{}`)",
                        table.full_name(),
                        fk.referred_schema.as_deref().unwrap_or_default(),
                        fk.referred_table
                    ),
                });
            }
            None
        }
        _ => fk.referred_schema.as_deref().or(table.schema.as_deref()),
    };
    sql.constraint_name(name)?
        .push("FOREIGN KEY ")
        .ident_list(&fk.columns)?
        .push(" REFERENCES ")
        .qualified(referred_schema, &fk.referred_table)?
        .push(" ")
        .ident_list(&fk.referred_columns)?;
    if let Some(a) = fk.on_delete {
        sql.push(" ON DELETE ").push(a.sql());
    }
    if let Some(a) = fk.on_update {
        sql.push(" ON UPDATE ").push(a.sql());
    }
    Ok(())
}

pub(super) fn write_unique(sql: &mut Sql, table: &Table, uq: &UniqueConstraint) -> Result<()> {
    check_columns(table, "a unique constraint", &uq.columns)?;
    sql.constraint_name(uq.name.as_deref())?
        .push("UNIQUE ")
        .ident_list(&uq.columns)?;
    Ok(())
}

pub(super) fn write_check(sql: &mut Sql, ck: &CheckConstraint) -> Result<()> {
    sql.constraint_name(ck.name.as_deref())?
        .push("CHECK (")
        .push(&ck.sql)
        .push(")");
    Ok(())
}

/// A table constraint that `ALTER TABLE` can add or drop.
#[derive(Debug, Clone, Copy)]
pub enum ConstraintRef<'a> {
    /// A foreign key.
    ForeignKey(&'a ForeignKey),
    /// A UNIQUE constraint.
    Unique(&'a UniqueConstraint),
    /// A CHECK constraint.
    Check(&'a CheckConstraint),
}

/// `ALTER TABLE ... ADD CONSTRAINT`: how a foreign key marked
/// [`ForeignKey::use_alter`] (or caught in a cycle) is created once both tables exist.
/// SQLite cannot alter constraints: compiling for it is [`Error::Unsupported`].
///
/// ```
/// use orm_runtime::schema::{AddConstraint, ForeignKey, Table};
/// use orm_runtime::Dialect;
/// let t = Table::new("a").column(orm_runtime::schema::Column::new("b_id", orm_runtime::schema::SqlType::Integer));
/// let fk = ForeignKey::new(["b_id"], "b", ["id"]).name("fk_a_b");
/// assert_eq!(AddConstraint::foreign_key(&t, &fk).compile(Dialect::MySql).unwrap().sql(),
///            "ALTER TABLE `a` ADD CONSTRAINT `fk_a_b` FOREIGN KEY (`b_id`) REFERENCES `b` (`id`)");
/// assert!(AddConstraint::foreign_key(&t, &fk).compile(Dialect::Sqlite).is_err());
/// ```
#[derive(Debug, Clone)]
#[must_use = "a statement does nothing until it is executed"]
pub struct AddConstraint<'a> {
    table: &'a Table,
    constraint: ConstraintRef<'a>,
}

impl<'a> AddConstraint<'a> {
    /// Adds `constraint` to `table`.
    pub fn new(table: &'a Table, constraint: ConstraintRef<'a>) -> AddConstraint<'a> {
        AddConstraint { table, constraint }
    }

    /// Adds a foreign key.
    pub fn foreign_key(table: &'a Table, fk: &'a ForeignKey) -> AddConstraint<'a> {
        AddConstraint::new(table, ConstraintRef::ForeignKey(fk))
    }

    /// The statement for `dialect`.
    pub fn compile(&self, dialect: Dialect) -> Result<Compiled> {
        let t = self.table;
        if !supports_alter(dialect) {
            return Err(Error::Unsupported {
                dialect: dialect.name(),
                feature: format!(
                    "ALTER TABLE ... ADD CONSTRAINT (on table `{}`)",
                    t.full_name()
                ),
            });
        }
        let mut sql = Sql::new(dialect);
        sql.push("ALTER TABLE ").table(t)?.push(" ADD ");
        match self.constraint {
            ConstraintRef::ForeignKey(fk) => {
                let name = foreign_key_name(t, fk)?;
                write_foreign_key(&mut sql, t, fk, name.as_deref())?;
            }
            ConstraintRef::Unique(uq) => {
                let named = UniqueConstraint {
                    name: match &uq.name {
                        Some(n) => Some(n.clone()),
                        None => t.naming_convention.name_for(&Subject::new(
                            Kind::Uq,
                            &t.name,
                            &uq.columns,
                        ))?,
                    },
                    columns: uq.columns.clone(),
                };
                write_unique(&mut sql, t, &named)?;
            }
            ConstraintRef::Check(ck) => write_check(&mut sql, ck)?,
        }
        Ok(sql.finish())
    }
}

impl Executable for AddConstraint<'_> {
    fn compile_for(&self, server: impl Into<ServerInfo>) -> Result<Compiled> {
        self.compile(server.into().dialect())
    }
}

/// `ALTER TABLE ... DROP CONSTRAINT` (``DROP FOREIGN KEY`` / ``DROP INDEX`` for foreign
/// and unique keys on MySQL). The constraint needs a name (its own or the naming
/// convention's); SQLite cannot drop constraints ([`Error::Unsupported`]).
///
/// ```
/// use orm_runtime::schema::{DropConstraint, ForeignKey, Table};
/// use orm_runtime::Dialect;
/// let t = Table::new("a");
/// let fk = ForeignKey::new(["b_id"], "b", ["id"]).name("fk_a_b");
/// assert_eq!(DropConstraint::foreign_key(&t, &fk).compile(Dialect::MySql).unwrap().sql(),
///            "ALTER TABLE `a` DROP FOREIGN KEY `fk_a_b`");
/// assert_eq!(DropConstraint::foreign_key(&t, &fk).compile(Dialect::Postgres).unwrap().sql(),
///            "ALTER TABLE \"a\" DROP CONSTRAINT \"fk_a_b\"");
/// ```
#[derive(Debug, Clone)]
#[must_use = "a statement does nothing until it is executed"]
pub struct DropConstraint<'a> {
    table: &'a Table,
    constraint: ConstraintRef<'a>,
}

impl<'a> DropConstraint<'a> {
    /// Drops `constraint` from `table`.
    pub fn new(table: &'a Table, constraint: ConstraintRef<'a>) -> DropConstraint<'a> {
        DropConstraint { table, constraint }
    }

    /// Drops a foreign key.
    pub fn foreign_key(table: &'a Table, fk: &'a ForeignKey) -> DropConstraint<'a> {
        DropConstraint::new(table, ConstraintRef::ForeignKey(fk))
    }

    /// The statement for `dialect`.
    pub fn compile(&self, dialect: Dialect) -> Result<Compiled> {
        let t = self.table;
        if !supports_alter(dialect) {
            return Err(Error::Unsupported {
                dialect: dialect.name(),
                feature: format!(
                    "ALTER TABLE ... DROP CONSTRAINT (on table `{}`)",
                    t.full_name()
                ),
            });
        }
        let (name, what) = match self.constraint {
            ConstraintRef::ForeignKey(fk) => (foreign_key_name(t, fk)?, "foreign key"),
            ConstraintRef::Unique(uq) => (
                match &uq.name {
                    Some(n) => Some(n.clone()),
                    None => t.naming_convention.name_for(&Subject::new(
                        Kind::Uq,
                        &t.name,
                        &uq.columns,
                    ))?,
                },
                "unique constraint",
            ),
            ConstraintRef::Check(ck) => (ck.name.clone(), "check constraint"),
        };
        let Some(name) = name else {
            return Err(invalid(
                t,
                format!(
                    "a {what} without a name cannot be dropped; name it, or set a naming convention"
                ),
            ));
        };
        let mut sql = Sql::new(dialect);
        sql.push("ALTER TABLE ").table(t)?;
        sql.push(match (dialect, self.constraint) {
            (Dialect::MySql | Dialect::MariaDb, ConstraintRef::ForeignKey(_)) => {
                " DROP FOREIGN KEY "
            }
            (Dialect::MySql | Dialect::MariaDb, ConstraintRef::Unique(_)) => " DROP INDEX ",
            _ => " DROP CONSTRAINT ",
        });
        sql.ident(&name)?;
        Ok(sql.finish())
    }
}

impl Executable for DropConstraint<'_> {
    fn compile_for(&self, server: impl Into<ServerInfo>) -> Result<Compiled> {
        self.compile(server.into().dialect())
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::sql;
    use super::*;
    use crate::schema::ddl::CreateTable;
    use crate::schema::{Column, SqlType};
    use Dialect::{Postgres, Sqlite};

    #[test]
    fn use_alter_keys_are_left_out_except_on_sqlite() {
        let t = Table::new("a")
            .column(Column::new("id", SqlType::Integer).primary_key())
            .column(Column::new("b_id", SqlType::Integer))
            .foreign_key(ForeignKey::new(["b_id"], "b", ["id"]).use_alter());
        assert_eq!(
            sql(&CreateTable::new(&t), Postgres),
            r#"CREATE TABLE "a" ("id" INTEGER GENERATED BY DEFAULT AS IDENTITY NOT NULL, "b_id" INTEGER, PRIMARY KEY ("id"))"#
        );
        assert_eq!(
            sql(&CreateTable::new(&t), Sqlite),
            r#"CREATE TABLE "a" ("id" INTEGER NOT NULL, "b_id" INTEGER, PRIMARY KEY ("id"), FOREIGN KEY ("b_id") REFERENCES "b" ("id"))"#
        );
        assert_eq!(
            sql(
                &CreateTable::new(&t).include_foreign_keys(|_| true),
                Postgres
            ),
            r#"CREATE TABLE "a" ("id" INTEGER GENERATED BY DEFAULT AS IDENTITY NOT NULL, "b_id" INTEGER, PRIMARY KEY ("id"), FOREIGN KEY ("b_id") REFERENCES "b" ("id"))"#
        );
        let fk = &t.foreign_keys[0];
        assert_eq!(
            sql(&AddConstraint::foreign_key(&t, fk), Postgres),
            r#"ALTER TABLE "a" ADD FOREIGN KEY ("b_id") REFERENCES "b" ("id")"#
        );
        let err = DropConstraint::foreign_key(&t, fk)
            .compile(Postgres)
            .unwrap_err()
            .to_string();
        assert!(err.contains("without a name cannot be dropped"), "{err}");
        let err = AddConstraint::foreign_key(&t, fk)
            .compile(Sqlite)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "ALTER TABLE ... ADD CONSTRAINT (on table `a`) is not supported by the sqlite dialect"
        );
    }
}
