//! INSERT (VALUES, DEFAULT VALUES, from a SELECT), upserts (ON CONFLICT, ON DUPLICATE KEY
//! UPDATE), UPDATE, DELETE, and RETURNING.

use crate::dialect::Dialect;
use crate::error::{Error, Result};
use crate::schema::Table;
use crate::sql::column::Assignment;
use crate::sql::dml::{DeleteStatement, InsertStatement, OnConflict, UpdateStatement};
use crate::sql::expr::{ExprNode, Name};
use crate::sql::select::SelectItem;

use super::{Compiler, collect_qualifiers, table_qualifier, unsupported};

impl Compiler {
    fn returning(&mut self, table: &Table, items: &[SelectItem], what: &str) -> Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        let supported = match self.dialect {
            Dialect::Postgres | Dialect::Sqlite => true,
            Dialect::MariaDb => what != "UPDATE",
            Dialect::MySql => false,
        };
        if !supported {
            return Err(unsupported(self.dialect, format!("{what} ... RETURNING")));
        }
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
            for (i, row) in s.rows.iter().enumerate() {
                if i > 0 {
                    self.push(", ");
                }
                self.push("(");
                self.comma_exprs(row)?;
                self.push(")");
            }
        }
        if let Some(oc) = &s.on_conflict {
            self.on_conflict(s, oc)?;
        }
        self.returning(&s.table, &s.returning, "INSERT")
    }

    fn ident_list(&mut self, names: &[Name]) {
        for (i, n) in names.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.ident(n);
        }
    }

    fn assignments(&mut self, set: &[Assignment]) -> Result<()> {
        for (i, a) in set.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.ident(&a.column);
            self.push(" = ");
            self.expr(&a.value)?;
        }
        Ok(())
    }

    fn on_conflict(&mut self, s: &InsertStatement, oc: &OnConflict) -> Result<()> {
        if self.dialect.is_mysql() {
            self.push(" ON DUPLICATE KEY UPDATE ");
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
                    self.assignments(set)?;
                }
            }
            return Ok(());
        }
        self.push(" ON CONFLICT");
        let target = match oc {
            OnConflict::DoNothing { target } | OnConflict::DoUpdate { target, .. } => target,
        };
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
                if target.is_empty() {
                    return Err(unsupported(
                        self.dialect,
                        "ON CONFLICT DO UPDATE without a conflict target (use on_conflict_do_update with the key's columns)",
                    ));
                }
                self.push(" DO UPDATE SET ");
                self.assignments(set)?;
                if let Some(f) = filter {
                    self.push(" WHERE ");
                    self.expr(f)?;
                }
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
            self.assignments(&s.set)?;
            if let Some(f) = &s.filter {
                self.push(" WHERE ");
                self.expr(f)?;
            }
            Ok(())
        })();
        self.scopes.pop();
        r?;
        self.returning(&s.table, &s.returning, "UPDATE")
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
        self.returning(&s.table, &s.returning, "DELETE")
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
