//! Table and column comments after `CREATE TABLE` (`COMMENT ON`, `ALTER TABLE ... COMMENT`).

use super::column::{autoincrement_column, write_column};
use super::{Sql, string_literal};
use crate::dialect::{Dialect, ServerInfo};
use crate::error::{Error, Result};
use crate::schema::column::Column;
use crate::schema::table::Table;
use crate::sql::{Compiled, Executable};

/// Sets the comment of a table or of one of its columns, from [`Table::comment`] /
/// [`Column::comment`] (`None` removes it): `COMMENT ON ... IS` on PostgreSQL,
/// `ALTER TABLE ... COMMENT=` / `MODIFY COLUMN` on MySQL. SQLite stores no comments
/// ([`Error::Unsupported`]).
///
/// `CREATE TABLE` writes comments inline on MySQL; on PostgreSQL,
/// [`MetaData::create_all`](crate::schema::MetaData::create_all) runs these after it.
#[derive(Debug, Clone)]
#[must_use = "a statement does nothing until it is executed"]
pub struct SetComment<'a> {
    table: &'a Table,
    column: Option<&'a Column>,
}

impl<'a> SetComment<'a> {
    /// The table's comment.
    pub fn table(table: &'a Table) -> SetComment<'a> {
        SetComment {
            table,
            column: None,
        }
    }

    /// The comment of column `column` of `table`, or [`Error::UnknownColumn`].
    pub fn column(table: &'a Table, column: &str) -> Result<SetComment<'a>> {
        Ok(SetComment {
            table,
            column: Some(table.try_column(column)?),
        })
    }

    /// The statement for `dialect`.
    pub fn compile(&self, dialect: Dialect) -> Result<Compiled> {
        let t = self.table;
        let comment = match self.column {
            Some(c) => c.comment.as_deref(),
            None => t.comment.as_deref(),
        };
        let literal = comment.map_or_else(|| "NULL".to_owned(), |c| string_literal(dialect, c));
        let mut sql = Sql::new(dialect);
        match (dialect, self.column) {
            (Dialect::Postgres, None) => {
                sql.push("COMMENT ON TABLE ").table(t)?;
                sql.push(" IS ").push(&literal);
            }
            (Dialect::Postgres, Some(c)) => {
                sql.push("COMMENT ON COLUMN ")
                    .table(t)?
                    .push(".")
                    .ident(&c.name)?;
                sql.push(" IS ").push(&literal);
            }
            (Dialect::MySql | Dialect::MariaDb, None) => {
                let literal = string_literal(dialect, comment.unwrap_or_default());
                sql.push("ALTER TABLE ")
                    .table(t)?
                    .push(" COMMENT=")
                    .push(&literal);
            }
            (Dialect::MySql | Dialect::MariaDb, Some(c)) => {
                let auto = autoincrement_column(t, dialect)?.map(|a| a.name == c.name);
                sql.push("ALTER TABLE ").table(t)?.push(" MODIFY COLUMN ");
                write_column(&mut sql, t, c, auto == Some(true), None)?;
            }
            (Dialect::Sqlite, _) => {
                return Err(Error::Unsupported {
                    dialect: dialect.name(),
                    feature: format!("comments (on table `{}`)", t.full_name()),
                });
            }
        }
        Ok(sql.finish())
    }
}

impl Executable for SetComment<'_> {
    fn compile_for(&self, server: impl Into<ServerInfo>) -> Result<Compiled> {
        self.compile(server.into().dialect())
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{sql, users};
    use super::*;
    use crate::schema::ddl::CreateTable;
    use crate::schema::{Column, SqlType};
    use Dialect::{MySql, Postgres, Sqlite};

    #[test]
    fn comments() {
        let t = users().comment("people's \\ accounts");
        assert_eq!(
            sql(&SetComment::table(&t), Postgres),
            r#"COMMENT ON TABLE "users" IS 'people''s \ accounts'"#
        );
        assert_eq!(
            sql(&SetComment::table(&t), MySql),
            r"ALTER TABLE `users` COMMENT='people''s \\ accounts'"
        );
        let t = Table::new("t").column(Column::new("a", SqlType::Integer).comment("the a"));
        assert_eq!(
            sql(&SetComment::column(&t, "a").unwrap(), Postgres),
            r#"COMMENT ON COLUMN "t"."a" IS 'the a'"#
        );
        assert_eq!(
            sql(&CreateTable::new(&t), MySql),
            "CREATE TABLE `t` (`a` INT COMMENT 'the a')"
        );
        assert!(SetComment::table(&t).compile(Sqlite).is_err());
    }
}
