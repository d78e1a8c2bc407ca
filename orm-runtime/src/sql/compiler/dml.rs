//! INSERT (VALUES, DEFAULT VALUES, from a SELECT), upserts (ON CONFLICT, ON DUPLICATE KEY
//! UPDATE), UPDATE, DELETE, and RETURNING.

use crate::dialect::{Dialect, Feature};
use crate::error::{Error, Result};
use crate::schema::{SqlType, Table};
use crate::sql::column::Assignment;
use crate::sql::dml::{DeleteStatement, InsertStatement, OnConflict, RowValue, UpdateStatement};
use crate::sql::expr::{ExprNode, Name};
use crate::sql::select::SelectItem;

use super::{Compiler, collect_qualifiers, table_qualifier, unsupported};

impl Compiler {
    fn returning(&mut self, table: &Table, items: &[SelectItem], what: Feature) -> Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        self.require(what)?;
        self.push(" RETURNING ");
        self.unqualify = Some(table.name.clone());
        let r = self.select_items(items);
        self.unqualify = None;
        r
    }

    pub(crate) fn insert(&mut self, s: &InsertStatement) -> Result<()> {
        if let Some(e) = &s.error {
            return Err(Error::InvalidStatement {
                table: s.table.full_name(),
                message: e.clone(),
            });
        }
        self.push("INSERT INTO ");
        self.table_name(&s.table);
        if let Some(sel) = &s.select {
            self.push(" (");
            self.ident_list(&s.columns);
            self.push(") ");
            if self.dialect == Dialect::Sqlite && s.on_conflict.is_some() {
                // https://www.sqlite.org/lang_upsert.html, "parsing ambiguity": the SELECT
                // must end in a WHERE, so it is wrapped whatever clauses it has.
                self.push("SELECT * FROM (");
                self.select(sel)?;
                self.push(") WHERE true");
            } else {
                self.select(sel)?;
            }
        } else if s.columns.is_empty() {
            if self.dialect == Dialect::Sqlite && s.on_conflict.is_some() {
                return Err(unsupported(self.dialect, "DEFAULT VALUES with ON CONFLICT"));
            }
            self.push(if self.dialect.is_mysql() {
                " () VALUES ()"
            } else {
                " DEFAULT VALUES"
            });
        } else {
            self.push(" (");
            self.ident_list(&s.columns);
            self.push(") VALUES ");
            let casts = self.value_types(&s.table, &s.columns);
            for (i, row) in s.rows.iter().enumerate() {
                if i > 0 {
                    self.push(", ");
                }
                self.push("(");
                for (j, v) in row.iter().enumerate() {
                    if j > 0 {
                        self.push(", ");
                    }
                    match (v, casts.get(j).and_then(Option::as_ref)) {
                        (RowValue::Bind(v), Some(ty)) => self.cast_bind(v, ty),
                        (RowValue::Bind(v), None) => self.bind(v),
                        (RowValue::Expr(e), _) => self.expr(e)?,
                    }
                }
                self.push(")");
            }
        }
        if let Some(oc) = &s.on_conflict {
            self.on_conflict(s, oc)?;
        }
        self.returning(&s.table, &s.returning, Feature::InsertReturning)
    }

    fn ident_list(&mut self, names: &[Name]) {
        for (i, n) in names.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.ident(n);
        }
    }

    /// For each of `columns` of `table`, the type its bound values are cast to
    /// ([`Table::value_type`]: PostgreSQL enums); empty where nothing is cast.
    fn value_types<'n>(
        &self,
        table: &Table,
        columns: impl IntoIterator<Item = &'n Name>,
    ) -> Vec<Option<SqlType>> {
        if self.dialect != Dialect::Postgres
            || !table
                .columns
                .iter()
                .any(|c| matches!(c.sql_type, SqlType::NativeEnum { .. }))
        {
            return Vec::new();
        }
        columns
            .into_iter()
            .map(|c| table.get_column(c).and_then(|col| table.value_type(col)))
            .collect()
    }

    fn assignments(&mut self, table: &Table, set: &[Assignment]) -> Result<()> {
        let casts = self.value_types(table, set.iter().map(|a| &a.column));
        for (i, a) in set.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.ident(&a.column);
            self.push(" = ");
            match (&a.value, casts.get(i).and_then(Option::as_ref)) {
                (ExprNode::Bind(v), Some(ty)) => self.cast_bind(v, ty),
                (value, _) => self.expr(value)?,
            }
        }
        Ok(())
    }

    fn on_conflict(&mut self, s: &InsertStatement, oc: &OnConflict) -> Result<()> {
        self.require(Feature::Upsert)?;
        let target = match oc {
            OnConflict::DoNothing { target } | OnConflict::DoUpdate { target, .. } => target,
        };
        if let Some(col) = target.iter().find(|c| s.table.get_column(c).is_none()) {
            return Err(Error::UnknownColumn {
                table: s.table.full_name(),
                column: col.to_string(),
                available: s.table.column_list(),
            });
        }
        if self.dialect.is_mysql() {
            // MySQL 8.0.20 deprecates `VALUES(col)` for the row alias; the alias names
            // the VALUES rows, so an INSERT from a SELECT or of DEFAULT VALUES keeps
            // `VALUES(col)`.
            let alias = (matches!(oc, OnConflict::DoUpdate { .. })
                && s.select.is_none()
                && !s.columns.is_empty()
                && self.server.has(Feature::UpsertRowAlias))
            .then(|| {
                if s.table.name.eq_ignore_ascii_case("new") {
                    "excluded"
                } else {
                    "new"
                }
            });
            if let Some(a) = alias {
                self.push(" AS ");
                self.ident(a);
            }
            self.push(" ON DUPLICATE KEY UPDATE ");
            self.upsert_alias = alias;
            let r = self.mysql_upsert_actions(s, oc);
            self.upsert_alias = None;
            return r;
        }
        self.push(" ON CONFLICT");
        if !target.is_empty() {
            self.push(" (");
            self.ident_list(target);
            self.push(")");
        }
        match oc {
            OnConflict::DoNothing { .. } => self.push(" DO NOTHING"),
            OnConflict::DoUpdate {
                set,
                filter,
                target,
            } => {
                if target.is_empty() && self.dialect == Dialect::Postgres {
                    return Err(unsupported(
                        self.dialect,
                        "ON CONFLICT DO UPDATE without a conflict target (name the unique key's columns with on_conflict_do_update)",
                    ));
                }
                if target.is_empty() {
                    // SQLite 3.35+ takes a conflict on any key.
                    self.require(Feature::UpsertWithoutTarget)?;
                }
                self.push(" DO UPDATE SET ");
                self.assignments(&s.table, set)?;
                if let Some(f) = filter {
                    self.push(" WHERE ");
                    self.expr(f)?;
                }
            }
        }
        Ok(())
    }

    /// The actions of MySQL's `ON DUPLICATE KEY UPDATE`.
    fn mysql_upsert_actions(&mut self, s: &InsertStatement, oc: &OnConflict) -> Result<()> {
        match oc {
            OnConflict::DoNothing { target } => {
                // Setting a column to itself changes nothing: MySQL's DO NOTHING.
                let col = target
                    .first()
                    .or_else(|| s.columns.first())
                    .cloned()
                    .ok_or_else(|| {
                        unsupported(self.dialect, "ON CONFLICT DO NOTHING without columns")
                    })?;
                self.ident(&col);
                self.push(" = ");
                self.ident(&col);
            }
            OnConflict::DoUpdate { set, filter, .. } => {
                if filter.is_some() {
                    return Err(unsupported(
                        self.dialect,
                        "a WHERE on ON DUPLICATE KEY UPDATE",
                    ));
                }
                self.assignments(&s.table, set)?;
            }
        }
        Ok(())
    }

    pub(crate) fn update(&mut self, s: &UpdateStatement) -> Result<()> {
        if s.set.is_empty() {
            return Err(Error::InvalidStatement {
                table: s.table.full_name(),
                message: "the UPDATE sets no columns".into(),
            });
        }
        let mut exprs: Vec<&ExprNode> = s.set.iter().map(|a| &a.value).collect();
        exprs.extend(s.filter.as_ref());
        only_the_target(&s.table, &exprs, "UPDATE")?;
        self.push("UPDATE ");
        self.table_name(&s.table);
        self.push(" SET ");
        self.scopes.push(vec![table_qualifier(&s.table)]);
        let r: Result<()> = (|| {
            self.assignments(&s.table, &s.set)?;
            if let Some(f) = &s.filter {
                self.push(" WHERE ");
                self.expr(f)?;
            }
            Ok(())
        })();
        self.scopes.pop();
        r?;
        self.returning(&s.table, &s.returning, Feature::UpdateReturning)
    }

    pub(crate) fn delete(&mut self, s: &DeleteStatement) -> Result<()> {
        only_the_target(&s.table, &s.filter.iter().collect::<Vec<_>>(), "DELETE")?;
        self.push("DELETE FROM ");
        self.table_name(&s.table);
        self.scopes.push(vec![table_qualifier(&s.table)]);
        let r: Result<()> = (|| {
            if let Some(f) = &s.filter {
                self.push(" WHERE ");
                self.expr(f)?;
            }
            Ok(())
        })();
        self.scopes.pop();
        r?;
        self.returning(&s.table, &s.returning, Feature::DeleteReturning)
    }
}

/// UPDATE and DELETE name one table: other tables' columns (outside subqueries) would
/// need `UPDATE ... FROM` / multi-table forms the compiler does not write, so they are an
/// error that points at subqueries.
fn only_the_target(table: &Table, exprs: &[&ExprNode], what: &str) -> Result<()> {
    let mut used = Vec::new();
    for e in exprs {
        collect_qualifiers(e, &mut used);
    }
    match used.into_iter().find(|q| *q.name != *table.name) {
        None => Ok(()),
        Some(other) => Err(Error::InvalidStatement {
            table: table.full_name(),
            message: format!(
                "the {what} refers to `{}` outside a subquery; use `in_select(..)`, `exists(..)` or a scalar subquery",
                other.name
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use crate::dialect::Dialect;

    use crate::sql::fixtures::{Order, Post, User, check, check_same};
    use crate::sql::*;
    use crate::value::Value;

    #[test]
    fn insert_single_row() {
        let stmt = insert(User::table()).values((User::name.set("ed"), User::karma.set(3)));
        let b = check_same(
            &stmt,
            r#"INSERT INTO "users" ("name", "karma") VALUES ($1, $2)"#,
        );
        assert_eq!(b, [Value::Text("ed".into()), Value::I32(3)]);
    }

    #[test]
    fn insert_multiple_rows() {
        let stmt = insert(User::table()).values_many([
            (User::name.set("a"), User::karma.set(1)),
            (User::name.set("b"), User::karma.set(2)),
        ]);
        let b = check_same(
            &stmt,
            r#"INSERT INTO "users" ("name", "karma") VALUES ($1, $2), ($3, $4)"#,
        );
        assert_eq!(b.len(), 4);
    }

    #[test]
    fn insert_default_values() {
        check(
            &insert(User::table()),
            r#"INSERT INTO "users" DEFAULT VALUES"#,
            "INSERT INTO `users` () VALUES ()",
            r#"INSERT INTO "users" DEFAULT VALUES"#,
        );
    }

    #[test]
    fn insert_from_select() {
        let stmt = insert(Post::table()).from_select(
            ["user_id", "title"],
            select((User::id, User::name)).filter(User::karma.gt(0)),
        );
        check_same(
            &stmt,
            r#"INSERT INTO "posts" ("user_id", "title") SELECT "users"."id", "users"."name" FROM "users" WHERE "users"."karma" > $1"#,
        );
    }

    #[test]
    fn insert_returning() {
        let stmt = insert(User::table())
            .values(User::name.set("ed"))
            .returning((User::id, User::name));
        assert_eq!(
            stmt.compile(Dialect::Postgres).unwrap().sql(),
            r#"INSERT INTO "users" ("name") VALUES ($1) RETURNING "id", "name""#
        );
        assert_eq!(
            stmt.compile(Dialect::Sqlite).unwrap().sql(),
            r#"INSERT INTO "users" ("name") VALUES (?) RETURNING "id", "name""#
        );
        assert_eq!(
            stmt.compile(Dialect::MariaDb).unwrap().sql(),
            "INSERT INTO `users` (`name`) VALUES (?) RETURNING `id`, `name`"
        );
        let err = stmt.compile(Dialect::MySql).unwrap_err();
        assert_eq!(
            err.to_string(),
            "INSERT ... RETURNING is not supported by the mysql dialect"
        );
    }

    #[test]
    fn upsert_do_nothing() {
        let stmt = insert(User::table())
            .values((User::id.set(1), User::name.set("ed")))
            .on_conflict_do_nothing(["id"]);
        check(
            &stmt,
            r#"INSERT INTO "users" ("id", "name") VALUES ($1, $2) ON CONFLICT ("id") DO NOTHING"#,
            "INSERT INTO `users` (`id`, `name`) VALUES (?, ?) ON DUPLICATE KEY UPDATE `id` = `id`",
            r#"INSERT INTO "users" ("id", "name") VALUES (?, ?) ON CONFLICT ("id") DO NOTHING"#,
        );
    }

    #[test]
    fn upsert_do_update_with_excluded() {
        let stmt = insert(User::table())
            .values((User::id.set(1), User::name.set("ed"), User::karma.set(1)))
            .on_conflict_do_update(
                ["id"],
                (
                    User::name.set(excluded(User::name)),
                    User::karma.set(User::karma + 1),
                ),
            );
        let sql = |d: Dialect| stmt.compile(d).unwrap().sql().to_owned();
        assert_eq!(
            sql(Dialect::Postgres),
            r#"INSERT INTO "users" ("id", "name", "karma") VALUES ($1, $2, $3) ON CONFLICT ("id") DO UPDATE SET "name" = excluded."name", "karma" = "users"."karma" + $4"#
        );
        // MySQL 8.0.20+ (the latest MySQL): the row alias; MariaDB keeps VALUES().
        assert_eq!(
            sql(Dialect::MySql),
            "INSERT INTO `users` (`id`, `name`, `karma`) VALUES (?, ?, ?) AS `new` ON DUPLICATE KEY UPDATE `name` = `new`.`name`, `karma` = `users`.`karma` + ?"
        );
        assert_eq!(
            sql(Dialect::MariaDb),
            "INSERT INTO `users` (`id`, `name`, `karma`) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE `name` = VALUES(`name`), `karma` = `users`.`karma` + ?"
        );
        assert_eq!(
            sql(Dialect::Sqlite),
            r#"INSERT INTO "users" ("id", "name", "karma") VALUES (?, ?, ?) ON CONFLICT ("id") DO UPDATE SET "name" = excluded."name", "karma" = "users"."karma" + ?"#
        );
    }

    #[test]
    fn upsert_do_update_where() {
        let stmt = insert(User::table())
            .values((User::id.set(1), User::karma.set(5)))
            .on_conflict_do_update(["id"], User::karma.set(excluded(User::karma)))
            .on_conflict_where(User::karma.lt(excluded(User::karma)));
        assert_eq!(
            stmt.compile(Dialect::Postgres).unwrap().sql(),
            r#"INSERT INTO "users" ("id", "karma") VALUES ($1, $2) ON CONFLICT ("id") DO UPDATE SET "karma" = excluded."karma" WHERE "users"."karma" < excluded."karma""#
        );
        assert!(matches!(
            stmt.compile(Dialect::MySql),
            Err(crate::error::Error::Unsupported { .. })
        ));
    }

    #[test]
    fn an_upsert_without_a_target_on_mysql_and_sqlite_but_not_postgres() {
        let stmt = insert(User::table())
            .values(User::id.set(1))
            .on_duplicate_key_update(User::karma.set(0));
        assert_eq!(
            stmt.compile(Dialect::MariaDb).unwrap().sql(),
            "INSERT INTO `users` (`id`) VALUES (?) ON DUPLICATE KEY UPDATE `karma` = ?"
        );
        assert_eq!(
            stmt.compile(Dialect::Sqlite).unwrap().sql(),
            r#"INSERT INTO "users" ("id") VALUES (?) ON CONFLICT DO UPDATE SET "karma" = ?"#
        );
        let err = stmt.compile(Dialect::Postgres).unwrap_err();
        assert!(
            matches!(err, crate::error::Error::Unsupported { .. }),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "ON CONFLICT DO UPDATE without a conflict target (name the unique key's columns with on_conflict_do_update) is not supported by the postgresql dialect"
        );
    }

    #[test]
    fn conflict_targets_given_as_typed_columns() {
        let one = insert(User::table())
            .values((User::id.set(1), User::name.set("ed")))
            .on_conflict_do_nothing(User::name);
        check(
            &one,
            r#"INSERT INTO "users" ("id", "name") VALUES ($1, $2) ON CONFLICT ("name") DO NOTHING"#,
            "INSERT INTO `users` (`id`, `name`) VALUES (?, ?) ON DUPLICATE KEY UPDATE `name` = `name`",
            r#"INSERT INTO "users" ("id", "name") VALUES (?, ?) ON CONFLICT ("name") DO NOTHING"#,
        );
        let two = insert(User::table())
            .values((User::id.set(1), User::name.set("ed"), User::karma.set(2)))
            .on_conflict_do_update(
                (User::id, User::name),
                User::karma.set(User::karma + excluded(User::karma)),
            );
        assert_eq!(
            two.compile(Dialect::Postgres).unwrap().sql(),
            r#"INSERT INTO "users" ("id", "name", "karma") VALUES ($1, $2, $3) ON CONFLICT ("id", "name") DO UPDATE SET "karma" = "users"."karma" + excluded."karma""#
        );
        // The same as naming them.
        let named = insert(User::table())
            .values((User::id.set(1), User::name.set("ed"), User::karma.set(2)))
            .on_conflict_do_update(
                ["id", "name"],
                User::karma.set(User::karma + excluded(User::karma)),
            );
        assert_eq!(two, named);
        let arr = insert(User::table())
            .values(User::id.set(1))
            .on_conflict_do_nothing([User::id]);
        assert!(
            arr.compile(Dialect::Sqlite)
                .unwrap()
                .sql()
                .ends_with(r#"ON CONFLICT ("id") DO NOTHING"#)
        );
    }

    #[test]
    fn a_conflict_target_the_table_lacks_is_an_error_naming_it() {
        let stmt = insert(User::table())
            .values(User::id.set(1))
            .on_conflict_do_nothing(["nmae"]);
        for d in [Dialect::Postgres, Dialect::MySql, Dialect::Sqlite] {
            assert_eq!(
                stmt.compile(d).unwrap_err().to_string(),
                "table `users` has no column `nmae`; it has: id, name, email, karma, manager_id"
            );
        }
    }

    #[test]
    fn sqlite_insert_select_upsert_wraps_the_select() {
        let stmt = insert(Order::table())
            .from_select(
                ["id", "select"],
                select((User::id, User::karma))
                    .order_by(User::id.asc())
                    .limit(5),
            )
            .on_conflict_do_nothing(["id"]);
        assert_eq!(
            stmt.compile(Dialect::Sqlite).unwrap().sql(),
            r#"INSERT INTO "order" ("id", "select") SELECT * FROM (SELECT "users"."id", "users"."karma" FROM "users" ORDER BY "users"."id" ASC LIMIT ?) WHERE true ON CONFLICT ("id") DO NOTHING"#
        );
    }

    #[test]
    fn update_with_where() {
        let stmt = update(User::table())
            .set((User::name.set("x"), User::karma.set(User::karma * 2)))
            .filter(User::id.eq(7));
        check_same(
            &stmt,
            r#"UPDATE "users" SET "name" = $1, "karma" = "users"."karma" * $2 WHERE "users"."id" = $3"#,
        );
    }

    #[test]
    fn update_returning_per_dialect() {
        let stmt = update(User::table())
            .set(User::karma.set(0))
            .returning(User::id);
        assert_eq!(
            stmt.compile(Dialect::Postgres).unwrap().sql(),
            r#"UPDATE "users" SET "karma" = $1 RETURNING "id""#
        );
        assert_eq!(
            stmt.compile(Dialect::Sqlite).unwrap().sql(),
            r#"UPDATE "users" SET "karma" = ? RETURNING "id""#
        );
        assert!(stmt.compile(Dialect::MariaDb).is_err());
        assert!(stmt.compile(Dialect::MySql).is_err());
    }

    #[test]
    fn update_with_correlated_subquery() {
        let best = select(func::max(Post::score))
            .filter(Post::user_id.eq(User::id))
            .scalar::<Option<f64>>();
        let stmt = update(User::table()).set(User::karma.set(best.cast::<i32>()));
        check(
            &stmt,
            r#"UPDATE "users" SET "karma" = CAST((SELECT max("posts"."score") FROM "posts" WHERE "posts"."user_id" = "users"."id") AS INTEGER)"#,
            "UPDATE `users` SET `karma` = CAST((SELECT max(`posts`.`score`) FROM `posts` WHERE `posts`.`user_id` = `users`.`id`) AS SIGNED)",
            r#"UPDATE "users" SET "karma" = CAST((SELECT max("posts"."score") FROM "posts" WHERE "posts"."user_id" = "users"."id") AS INTEGER)"#,
        );
    }

    #[test]
    fn update_without_set_is_an_error() {
        let err = update(User::table())
            .filter(User::id.eq(1))
            .compile(Dialect::Sqlite)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid statement on `users`: the UPDATE sets no columns"
        );
    }

    #[test]
    fn update_naming_another_table_outside_a_subquery_is_an_error() {
        let err = update(User::table())
            .set(User::karma.set(0))
            .filter(Post::user_id.eq_col(User::id))
            .compile(Dialect::Postgres)
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("refers to `posts` outside a subquery"),
            "{err}"
        );
        // Through a subquery it is fine.
        let ok = update(User::table())
            .set(User::karma.set(0))
            .filter(User::id.in_select(select(Post::user_id)));
        assert_eq!(
            ok.compile(Dialect::Postgres).unwrap().sql(),
            r#"UPDATE "users" SET "karma" = $1 WHERE "users"."id" IN (SELECT "posts"."user_id" FROM "posts")"#
        );
    }

    #[test]
    fn delete_with_where() {
        check_same(
            &delete(Post::table()).filter(Post::score.lt(0.5)),
            r#"DELETE FROM "posts" WHERE "posts"."score" < $1"#,
        );
    }

    #[test]
    fn delete_all() {
        check_same(&delete(Post::table()), r#"DELETE FROM "posts""#);
    }

    #[test]
    fn delete_returning() {
        let stmt = delete(Post::table())
            .filter(Post::id.eq(1))
            .returning(Post::title);
        assert_eq!(
            stmt.compile(Dialect::MariaDb).unwrap().sql(),
            "DELETE FROM `posts` WHERE `posts`.`id` = ? RETURNING `title`"
        );
        assert!(stmt.compile(Dialect::MySql).is_err());
    }
}
