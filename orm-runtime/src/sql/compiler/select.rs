//! SELECT: the select list, FROM with joins (and the FROM derived from the columns a
//! select uses, with correlation to enclosing selects), WHERE, GROUP BY/HAVING, ORDER BY,
//! LIMIT/OFFSET, row locks, WITH, and set operations.

use crate::dialect::{Dialect, Feature};
use crate::error::{Error, Result};
use crate::sql::expr::{ExprNode, OrderItem, Origin, Qualifier};
use crate::sql::select::{
    BuildError, Cte, FromClause, FromItem, JoinKind, Lock, SelectBody, SelectCore, SelectItem,
    SelectStatement, SetOp,
};

use super::{Compiler, collect_qualifiers, table_qualifier, unsupported};

impl Compiler {
    /// ORDER BY items; `labels` is the select list whose labels the items may name.
    pub(super) fn order_items(&mut self, items: &[OrderItem], labels: &[SelectItem]) -> Result<()> {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            // MySQL has no NULLS FIRST/LAST: sort on the NULL test first, unless the
            // placement asked for is its own (NULLs sort as the lowest values).
            if let (Some(first), true) = (item.nulls_first, self.dialect.is_mysql())
                && first == item.desc
            {
                // A label's name cannot stand in an expression over an aggregate
                // ("reference to group function"): test the labelled expression.
                let tested = match &item.expr {
                    ExprNode::Column(c) if c.qualifier.is_none() => labels
                        .iter()
                        .find(|l| l.label.as_deref() == Some(&*c.name))
                        .map_or(&item.expr, |l| &l.expr),
                    e => e,
                };
                self.nested(tested)?;
                self.push(if first {
                    " IS NOT NULL, "
                } else {
                    " IS NULL, "
                });
            }
            self.expr(&item.expr)?;
            self.push(if item.desc { " DESC" } else { " ASC" });
            if let (Some(first), false) = (item.nulls_first, self.dialect.is_mysql()) {
                self.push(if first { " NULLS FIRST" } else { " NULLS LAST" });
            }
        }
        Ok(())
    }

    pub(super) fn select_items(&mut self, items: &[SelectItem]) -> Result<()> {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.expr(&item.expr)?;
            if let Some(label) = &item.label {
                self.push(" AS ");
                self.ident(label);
            }
        }
        Ok(())
    }

    pub(crate) fn select(&mut self, s: &SelectStatement) -> Result<()> {
        if let Some(BuildError::NoJoinCondition {
            left,
            right,
            reason,
        }) = &s.error
        {
            return Err(Error::JoinCondition {
                left: left.clone(),
                right: right.clone(),
                reason,
            });
        }
        // The CTEs of a compound's members go in the one WITH at its top: SQL has no
        // WITH in the middle of a UNION.
        let defined = if matches!(s.body, SelectBody::Compound { .. }) {
            let mut all: Vec<Cte> = Vec::new();
            collect_compound_ctes(s, &mut all);
            self.with_clause(&all)?
        } else {
            self.with_clause(&s.ctes)?
        };
        match &s.body {
            SelectBody::Core(core) => self.core(core)?,
            SelectBody::Compound { op, left, right } => {
                self.member(left, *op, false)?;
                self.push(match op {
                    SetOp::Union => " UNION ",
                    SetOp::UnionAll => " UNION ALL ",
                    SetOp::Intersect => " INTERSECT ",
                    SetOp::Except => " EXCEPT ",
                });
                self.member(right, *op, true)?;
            }
        }
        if !s.order_by.is_empty() {
            self.push(" ORDER BY ");
            if matches!(s.body, SelectBody::Compound { .. }) {
                // A compound's ORDER BY sees only its output columns, by bare name.
                let was = std::mem::replace(&mut self.bare_columns, true);
                let r = self.order_items(&s.order_by, &[]);
                self.bare_columns = was;
                r?;
            } else {
                let labels = match &s.body {
                    SelectBody::Core(core) => &core.columns[..],
                    SelectBody::Compound { .. } => &[],
                };
                self.order_items(&s.order_by, labels)?;
            }
        }
        self.limit_offset(s.limit.as_ref(), s.offset.as_ref());
        if let Some(lock) = s.lock {
            if matches!(s.body, SelectBody::Compound { .. }) && self.dialect != Dialect::Sqlite {
                return Err(Error::InvalidStatement {
                    table: "a compound select".into(),
                    message: "row locks (FOR UPDATE/SHARE) apply to a plain SELECT, not to a UNION/INTERSECT/EXCEPT; lock each member".into(),
                });
            }
            self.lock(lock)?;
        }
        self.cte_scope.truncate(self.cte_scope.len() - defined);
        Ok(())
    }

    /// Renders `WITH [RECURSIVE] ...` for the CTEs not defined by an enclosing statement;
    /// returns how many names it put in scope.
    fn with_clause(&mut self, ctes: &[Cte]) -> Result<usize> {
        let new: Vec<&Cte> = ctes
            .iter()
            .filter(|c| c.query.is_some() && !self.cte_scope.contains(&c.name))
            .collect();
        if new.is_empty() {
            return Ok(0);
        }
        self.require(Feature::Cte)?;
        self.push("WITH ");
        if new.iter().any(|c| c.recursive) {
            self.push("RECURSIVE ");
        }
        // All names are in scope inside every definition: a recursive CTE refers to itself.
        for c in &new {
            self.cte_scope.push(c.name.clone());
        }
        for (i, c) in new.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.ident(&c.name);
            if c.recursive && !c.columns.is_empty() {
                self.push("(");
                for (j, col) in c.columns.iter().enumerate() {
                    if j > 0 {
                        self.push(", ");
                    }
                    self.ident(col);
                }
                self.push(")");
            }
            self.push(" AS (");
            if let Some(q) = &c.query {
                let outer = std::mem::take(&mut self.scopes);
                let r = self.select(q);
                self.scopes = outer;
                r?;
            }
            self.push(")");
        }
        self.push(" ");
        Ok(new.len())
    }

    fn member(&mut self, m: &SelectStatement, parent: SetOp, right: bool) -> Result<()> {
        let own_clauses = !m.order_by.is_empty() || m.limit.is_some() || m.offset.is_some();
        let nested_compound = match &m.body {
            SelectBody::Compound { op, .. } => right || *op != parent,
            SelectBody::Core(_) => false,
        };
        if !own_clauses && !nested_compound {
            return self.select(m);
        }
        if self.dialect == Dialect::Sqlite {
            // SQLite allows no parentheses around compound members: a derived table.
            self.push("SELECT * FROM (");
            self.select(m)?;
            self.push(")");
        } else {
            self.push("(");
            self.select(m)?;
            self.push(")");
        }
        Ok(())
    }

    fn limit_offset(&mut self, limit: Option<&ExprNode>, offset: Option<&ExprNode>) {
        match (limit, offset) {
            (None, None) => {}
            (Some(l), o) => {
                self.push(" LIMIT ");
                self.limit_value(l);
                if let Some(o) = o {
                    self.push(" OFFSET ");
                    self.limit_value(o);
                }
            }
            (None, Some(o)) => {
                match self.dialect {
                    // MySQL needs a LIMIT before OFFSET: the largest row count it takes.
                    Dialect::MySql | Dialect::MariaDb => self.push(" LIMIT 18446744073709551615"),
                    // https://www.sqlite.org/lang_select.html#limitoffset: a negative
                    // LIMIT means no limit.
                    Dialect::Sqlite => self.push(" LIMIT -1"),
                    Dialect::Postgres => {}
                }
                self.push(" OFFSET ");
                self.limit_value(o);
            }
        }
    }

    fn limit_value(&mut self, e: &ExprNode) {
        match e {
            ExprNode::Bind(v) => self.bind(v),
            // `SelectStatement::limit` only stores binds.
            _ => self.push("NULL"),
        }
    }

    fn lock(&mut self, lock: Lock) -> Result<()> {
        // SQLite locks the whole database; SQLAlchemy renders nothing either.
        if self.dialect == Dialect::Sqlite {
            return Ok(());
        }
        let s = match lock {
            Lock::Update => " FOR UPDATE",
            Lock::UpdateNowait => {
                self.require(Feature::Nowait)?;
                " FOR UPDATE NOWAIT"
            }
            Lock::UpdateSkipLocked => {
                self.require(Feature::SkipLocked)?;
                " FOR UPDATE SKIP LOCKED"
            }
            // Where the server has no key locks (MySQL, MariaDB, PostgreSQL before
            // 9.3), the nearest stronger lock: FOR UPDATE, and the share lock below.
            Lock::NoKeyUpdate if self.server.has(Feature::KeyLocks) => " FOR NO KEY UPDATE",
            Lock::NoKeyUpdate => " FOR UPDATE",
            Lock::KeyShare if self.server.has(Feature::KeyLocks) => " FOR KEY SHARE",
            Lock::Share | Lock::KeyShare if self.server.has(Feature::ForShare) => " FOR SHARE",
            // MariaDB, and MySQL before 8.0.1: the older spelling of the same lock.
            Lock::Share | Lock::KeyShare if self.dialect.is_mysql() => " LOCK IN SHARE MODE",
            Lock::Share | Lock::KeyShare => {
                self.require(Feature::ForShare)?;
                " FOR SHARE"
            }
        };
        self.push(s);
        Ok(())
    }

    fn core(&mut self, c: &SelectCore) -> Result<()> {
        // FROM first (not rendered yet): the names it exposes decide correlation of
        // subqueries in the select list and WHERE.
        let derived = self.derived_froms(c);
        let mut exposed: Vec<Qualifier> = Vec::new();
        for clause in &c.from {
            exposed.push(exposed_qualifier(&clause.item));
            exposed.extend(clause.joins.iter().map(|j| exposed_qualifier(&j.item)));
        }
        exposed.extend(derived.iter().cloned());
        self.scopes.push(exposed);

        let result: Result<()> = (|| {
            self.push("SELECT ");
            if c.distinct {
                self.push("DISTINCT ");
            }
            self.select_items(&c.columns)?;
            if !c.from.is_empty() || !derived.is_empty() {
                self.push(" FROM ");
                let mut first = true;
                for clause in &c.from {
                    if !first {
                        self.push(", ");
                    }
                    first = false;
                    self.compile_from_clause(clause)?;
                }
                for q in &derived {
                    if !first {
                        self.push(", ");
                    }
                    first = false;
                    self.derived_from_item(q)?;
                }
            }
            if let Some(f) = &c.filter {
                self.push(" WHERE ");
                self.expr(f)?;
            }
            if !c.group_by.is_empty() {
                self.push(" GROUP BY ");
                self.comma_exprs(&c.group_by)?;
            }
            if let Some(h) = &c.having {
                self.push(" HAVING ");
                self.expr(h)?;
            }
            Ok(())
        })();
        self.scopes.pop();
        result
    }

    /// Tables the select's columns and conditions use but its FROM does not name, less
    /// those an enclosing query provides (correlation), unless that would leave none.
    fn derived_froms(&self, c: &SelectCore) -> Vec<Qualifier> {
        let mut used: Vec<Qualifier> = Vec::new();
        for item in &c.columns {
            collect_qualifiers(&item.expr, &mut used);
        }
        if let Some(f) = &c.filter {
            collect_qualifiers(f, &mut used);
        }
        for g in &c.group_by {
            collect_qualifiers(g, &mut used);
        }
        if let Some(h) = &c.having {
            collect_qualifiers(h, &mut used);
        }
        let named_here = |q: &Qualifier| {
            c.from.iter().any(|clause| {
                exposed_qualifier(&clause.item).name == q.name
                    || clause
                        .joins
                        .iter()
                        .any(|j| exposed_qualifier(&j.item).name == q.name)
            })
        };
        let uncovered: Vec<Qualifier> = used.into_iter().filter(|q| !named_here(q)).collect();
        let outer = |q: &Qualifier| {
            self.scopes
                .iter()
                .any(|s| s.iter().any(|o| o.name == q.name))
        };
        let remaining: Vec<Qualifier> = uncovered.iter().filter(|q| !outer(q)).cloned().collect();
        if remaining.is_empty() && c.from.is_empty() {
            uncovered
        } else {
            remaining
        }
    }

    /// A FROM item for a qualifier the columns use: the table; `table AS alias` for an
    /// alias; the name of a CTE in scope. A subquery (or a CTE no WITH defines) cannot be
    /// named back from its columns: the statement must put it in FROM itself.
    fn derived_from_item(&mut self, q: &Qualifier) -> Result<()> {
        match &q.origin {
            Origin::Table => self.qualifier(q),
            Origin::AliasOf { schema, table } => {
                if let Some(s) = schema {
                    self.ident(s);
                    self.push(".");
                }
                self.ident(table);
                self.push(" AS ");
                self.ident(&q.name);
            }
            Origin::Derived if self.cte_scope.contains(&q.name) => self.ident(&q.name),
            Origin::Derived => {
                return Err(Error::InvalidStatement {
                    table: q.name.to_string(),
                    message: format!(
                        "columns of the subquery or CTE `{}` are used but it is not in FROM; add it with `.from(&{})` or a join",
                        q.name, q.name
                    ),
                });
            }
        }
        Ok(())
    }

    fn compile_from_clause(&mut self, clause: &FromClause) -> Result<()> {
        self.compile_from_item(&clause.item)?;
        for j in &clause.joins {
            self.push(match j.kind {
                JoinKind::Inner => " JOIN ",
                JoinKind::Left => " LEFT OUTER JOIN ",
                JoinKind::Full if self.dialect.is_mysql() => {
                    return Err(unsupported(self.dialect, "FULL OUTER JOIN"));
                }
                JoinKind::Full => " FULL OUTER JOIN ",
            });
            self.compile_from_item(&j.item)?;
            self.push(" ON ");
            self.expr(&j.on)?;
        }
        Ok(())
    }

    fn compile_from_item(&mut self, item: &FromItem) -> Result<()> {
        match item {
            FromItem::Table { table, alias } => {
                self.table_name(table);
                if let Some(a) = alias {
                    self.push(" AS ");
                    self.ident(a);
                }
            }
            FromItem::Subquery { select, alias } => {
                self.push("(");
                // A derived table is not correlated to the FROM it stands in.
                let outer = std::mem::take(&mut self.scopes);
                let r = self.select(select);
                self.scopes = outer;
                r?;
                self.push(") AS ");
                self.ident(alias);
            }
            FromItem::Cte(c) => self.ident(&c.name),
            FromItem::Named(q) => self.qualifier(q),
        }
        Ok(())
    }
}

/// The CTEs of a compound select and of its members, first definition of a name kept.
fn collect_compound_ctes(s: &SelectStatement, out: &mut Vec<Cte>) {
    for c in &s.ctes {
        if !out.iter().any(|o| o.name == c.name) {
            out.push(c.clone());
        }
    }
    if let SelectBody::Compound { left, right, .. } = &s.body {
        collect_compound_ctes(left, out);
        collect_compound_ctes(right, out);
    }
}

fn exposed_qualifier(item: &FromItem) -> Qualifier {
    match item {
        FromItem::Table { table, alias: None } => table_qualifier(table),
        FromItem::Named(q) => q.clone(),
        other => Qualifier::named(other.exposed_name().to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::dialect::Dialect;
    use crate::schema::{Column as Col, SqlType, Table};
    use crate::sql::fixtures::{Post, User, check, check_same};
    use crate::sql::*;
    use crate::value::Value;

    #[test]
    fn select_columns_derives_from() {
        let b = check_same(
            &select((User::id, User::name)),
            r#"SELECT "users"."id", "users"."name" FROM "users""#,
        );
        assert!(b.is_empty());
    }

    #[test]
    fn select_without_from() {
        check_same(&select(lit(1i64).label("one")), r#"SELECT $1 AS "one""#);
    }

    #[test]
    fn labels_are_quoted() {
        check_same(
            &select(User::name.label("user name")),
            r#"SELECT "users"."name" AS "user name" FROM "users""#,
        );
    }

    #[test]
    fn inner_join_explicit_on() {
        let stmt = select((User::name, Post::title))
            .from(User::table())
            .join(Post::table(), Post::user_id.eq_col(User::id));
        check_same(
            &stmt,
            r#"SELECT "users"."name", "posts"."title" FROM "users" JOIN "posts" ON "posts"."user_id" = "users"."id""#,
        );
    }

    #[test]
    fn left_outer_join() {
        let stmt = select((User::name, func::count(Post::id)))
            .from(User::table())
            .left_join_fk(Post::table())
            .group_by(User::name);
        check_same(
            &stmt,
            r#"SELECT "users"."name", count("posts"."id") FROM "users" LEFT OUTER JOIN "posts" ON "posts"."user_id" = "users"."id" GROUP BY "users"."name""#,
        );
    }

    #[test]
    fn full_outer_join_is_unsupported_on_mysql() {
        let stmt = select((User::name, Post::title))
            .from(User::table())
            .full_join(Post::table(), Post::user_id.eq(User::id));
        assert_eq!(
            stmt.compile(Dialect::Postgres).unwrap().sql(),
            r#"SELECT "users"."name", "posts"."title" FROM "users" FULL OUTER JOIN "posts" ON "posts"."user_id" = "users"."id""#
        );
        let err = stmt.compile(Dialect::MySql).unwrap_err();
        assert_eq!(
            err.to_string(),
            "FULL OUTER JOIN is not supported by the mysql dialect"
        );
    }

    #[test]
    fn distinct() {
        check_same(
            &select(Post::user_id).distinct(),
            r#"SELECT DISTINCT "posts"."user_id" FROM "posts""#,
        );
    }

    #[test]
    fn group_by_having() {
        let stmt = select((Post::user_id, func::count_star()))
            .group_by(Post::user_id)
            .having(func::count_star().gt(2));
        check_same(
            &stmt,
            r#"SELECT "posts"."user_id", count(*) FROM "posts" GROUP BY "posts"."user_id" HAVING count(*) > $1"#,
        );
    }

    #[test]
    fn order_by_asc_desc() {
        check_same(
            &select(User::id)
                .order_by(User::name.asc())
                .order_by(User::id.desc()),
            r#"SELECT "users"."id" FROM "users" ORDER BY "users"."name" ASC, "users"."id" DESC"#,
        );
    }

    #[test]
    fn order_by_nulls_first_last_is_emulated_on_mysql() {
        check(
            &select(User::id)
                .order_by(User::email.asc().nulls_last())
                .order_by(User::karma.desc().nulls_first()),
            r#"SELECT "users"."id" FROM "users" ORDER BY "users"."email" ASC NULLS LAST, "users"."karma" DESC NULLS FIRST"#,
            "SELECT `users`.`id` FROM `users` ORDER BY `users`.`email` IS NULL, `users`.`email` ASC, `users`.`karma` IS NOT NULL, `users`.`karma` DESC",
            r#"SELECT "users"."id" FROM "users" ORDER BY "users"."email" ASC NULLS LAST, "users"."karma" DESC NULLS FIRST"#,
        );
    }

    #[test]
    fn nulls_where_mysql_puts_them_anyway_need_no_null_test() {
        // MySQL sorts NULLs as the lowest values: first ascending, last descending.
        check(
            &select(User::id)
                .order_by(User::email.asc().nulls_first())
                .order_by(User::karma.desc().nulls_last()),
            r#"SELECT "users"."id" FROM "users" ORDER BY "users"."email" ASC NULLS FIRST, "users"."karma" DESC NULLS LAST"#,
            "SELECT `users`.`id` FROM `users` ORDER BY `users`.`email` ASC, `users`.`karma` DESC",
            r#"SELECT "users"."id" FROM "users" ORDER BY "users"."email" ASC NULLS FIRST, "users"."karma" DESC NULLS LAST"#,
        );
    }

    #[test]
    fn mysql_tests_a_labelled_expression_for_null_not_its_label() {
        // MySQL refuses a label of an aggregate inside an expression ("reference to
        // group function"): the NULL test repeats the expression, the sort uses the name.
        let total = func::sum(Post::score).label("total");
        check(
            &select((Post::user_id, total.clone()))
                .group_by(Post::user_id)
                .order_by(total.desc().nulls_first()),
            r#"SELECT "posts"."user_id", sum("posts"."score") AS "total" FROM "posts" GROUP BY "posts"."user_id" ORDER BY "total" DESC NULLS FIRST"#,
            "SELECT `posts`.`user_id`, sum(`posts`.`score`) AS `total` FROM `posts` GROUP BY `posts`.`user_id` ORDER BY sum(`posts`.`score`) IS NOT NULL, `total` DESC",
            r#"SELECT "posts"."user_id", sum("posts"."score") AS "total" FROM "posts" GROUP BY "posts"."user_id" ORDER BY "total" DESC NULLS FIRST"#,
        );
    }

    #[test]
    fn limit_and_offset_are_binds() {
        let b = check_same(
            &select(User::id)
                .order_by(User::id.asc())
                .limit(10)
                .offset(20),
            r#"SELECT "users"."id" FROM "users" ORDER BY "users"."id" ASC LIMIT $1 OFFSET $2"#,
        );
        assert_eq!(b, [Value::I64(10), Value::I64(20)]);
    }

    #[test]
    fn offset_without_limit_per_dialect() {
        check(
            &select(User::id).offset(5),
            r#"SELECT "users"."id" FROM "users" OFFSET $1"#,
            "SELECT `users`.`id` FROM `users` LIMIT 18446744073709551615 OFFSET ?",
            r#"SELECT "users"."id" FROM "users" LIMIT -1 OFFSET ?"#,
        );
    }

    #[test]
    fn for_update_is_dropped_on_sqlite() {
        check(
            &select(User::id).filter(User::id.eq(1)).for_update(),
            r#"SELECT "users"."id" FROM "users" WHERE "users"."id" = $1 FOR UPDATE"#,
            "SELECT `users`.`id` FROM `users` WHERE `users`.`id` = ? FOR UPDATE",
            r#"SELECT "users"."id" FROM "users" WHERE "users"."id" = ?"#,
        );
    }

    #[test]
    fn for_share_on_mariadb_is_lock_in_share_mode() {
        let stmt = select(User::id).with_lock(Lock::Share);
        assert_eq!(
            stmt.compile(Dialect::MySql).unwrap().sql(),
            "SELECT `users`.`id` FROM `users` FOR SHARE"
        );
        assert_eq!(
            stmt.compile(Dialect::MariaDb).unwrap().sql(),
            "SELECT `users`.`id` FROM `users` LOCK IN SHARE MODE"
        );
    }

    #[test]
    fn skip_locked() {
        check(
            &select(User::id).with_lock(Lock::UpdateSkipLocked),
            r#"SELECT "users"."id" FROM "users" FOR UPDATE SKIP LOCKED"#,
            "SELECT `users`.`id` FROM `users` FOR UPDATE SKIP LOCKED",
            r#"SELECT "users"."id" FROM "users""#,
        );
    }

    #[test]
    fn a_locked_compound_select_is_an_error() {
        let stmt = select(User::id).union(select(Post::user_id)).for_update();
        assert!(
            stmt.compile(Dialect::Postgres)
                .unwrap_err()
                .to_string()
                .contains("row locks")
        );
    }

    #[test]
    fn scalar_subquery_is_correlated() {
        let n = select(func::count(Post::id))
            .filter(Post::user_id.eq(User::id))
            .scalar::<i64>();
        check_same(
            &select((User::name, n.label("posts"))),
            r#"SELECT "users"."name", (SELECT count("posts"."id") FROM "posts" WHERE "posts"."user_id" = "users"."id") AS "posts" FROM "users""#,
        );
    }

    #[test]
    fn exists_subquery_is_correlated() {
        let stmt =
            select(User::name).filter(exists(select(Post::id).filter(Post::user_id.eq(User::id))));
        check_same(
            &stmt,
            r#"SELECT "users"."name" FROM "users" WHERE EXISTS (SELECT "posts"."id" FROM "posts" WHERE "posts"."user_id" = "users"."id")"#,
        );
    }

    #[test]
    fn not_exists() {
        let stmt = select(User::name).filter(crate::sql::not_exists(
            select(Post::id).filter(Post::user_id.eq(User::id)),
        ));
        check_same(
            &stmt,
            r#"SELECT "users"."name" FROM "users" WHERE NOT EXISTS (SELECT "posts"."id" FROM "posts" WHERE "posts"."user_id" = "users"."id")"#,
        );
    }

    #[test]
    fn subquery_on_the_same_table_is_not_correlated_away() {
        let sub = select(User::manager_id).filter(User::karma.gt(5));
        check_same(
            &select(User::name).filter(User::id.in_select(sub)),
            r#"SELECT "users"."name" FROM "users" WHERE "users"."id" IN (SELECT "users"."manager_id" FROM "users" WHERE "users"."karma" > $1)"#,
        );
    }

    #[test]
    fn a_subquery_in_from_is_not_correlated() {
        let sub = select((Post::user_id, func::count(Post::id).label("n")))
            .filter(Post::user_id.eq_col(User::id))
            .group_by(Post::user_id)
            .subquery("pc");
        check_same(
            &select((User::name, sub.c::<i64>("n")))
                .from(User::table())
                .join(&sub, sub.c::<i64>("user_id").eq_col(User::id)),
            r#"SELECT "users"."name", "pc"."n" FROM "users" JOIN (SELECT "posts"."user_id", count("posts"."id") AS "n" FROM "posts", "users" WHERE "posts"."user_id" = "users"."id" GROUP BY "posts"."user_id") AS "pc" ON "pc"."user_id" = "users"."id""#,
        );
    }

    #[test]
    fn derived_table_subquery() {
        let counts = select((Post::user_id, func::count_star().label("n")))
            .group_by(Post::user_id)
            .subquery("counts");
        let stmt = select((User::name, counts.c::<i64>("n")))
            .from(User::table())
            .join(&counts, counts.col(Post::user_id).eq(User::id))
            .filter(counts.c::<i64>("n").gt(3));
        check_same(
            &stmt,
            r#"SELECT "users"."name", "counts"."n" FROM "users" JOIN (SELECT "posts"."user_id", count(*) AS "n" FROM "posts" GROUP BY "posts"."user_id") AS "counts" ON "counts"."user_id" = "users"."id" WHERE "counts"."n" > $1"#,
        );
    }

    #[test]
    fn cte() {
        let top = select(Post::user_id).filter(Post::score.gt(9.0)).cte("top");
        let stmt = select(User::name)
            .from(User::table())
            .join(&top, top.c::<i64>("user_id").eq(User::id));
        check_same(
            &stmt,
            r#"WITH "top" AS (SELECT "posts"."user_id" FROM "posts" WHERE "posts"."score" > $1) SELECT "users"."name" FROM "users" JOIN "top" ON "top"."user_id" = "users"."id""#,
        );
    }

    #[test]
    fn recursive_cte() {
        let anchor = select((User::id, User::manager_id, lit(0i64).label("depth")))
            .filter(User::manager_id.is_null());
        let tree = anchor.cte_recursive("tree");
        let step = select((
            User::id,
            User::manager_id,
            (tree.c::<i64>("depth") + 1i64).label("depth"),
        ))
        .from(User::table())
        .join(&tree, User::manager_id.eq(tree.c::<i64>("id")));
        let tree = tree.union_all(step);
        let stmt = select((tree.c::<i64>("id"), tree.c::<i64>("depth")))
            .from(&tree)
            .order_by(tree.c::<i64>("depth").asc());
        check_same(
            &stmt,
            r#"WITH RECURSIVE "tree"("id", "manager_id", "depth") AS (SELECT "users"."id", "users"."manager_id", $1 AS "depth" FROM "users" WHERE "users"."manager_id" IS NULL UNION ALL SELECT "users"."id", "users"."manager_id", "tree"."depth" + $2 AS "depth" FROM "users" JOIN "tree" ON "users"."manager_id" = "tree"."id") SELECT "tree"."id", "tree"."depth" FROM "tree" ORDER BY "tree"."depth" ASC"#,
        );
    }

    #[test]
    fn ctes_of_union_members_are_hoisted() {
        let c = select((User::id, User::name)).cte("cc");
        let stmt = select(c.c::<i64>("id"))
            .from(&c)
            .union(select(User::id).filter(User::id.in_select(select(c.c::<i64>("id")).from(&c))));
        check_same(
            &stmt,
            r#"WITH "cc" AS (SELECT "users"."id", "users"."name" FROM "users") SELECT "cc"."id" FROM "cc" UNION SELECT "users"."id" FROM "users" WHERE "users"."id" IN (SELECT "cc"."id" FROM "cc")"#,
        );
    }

    #[test]
    fn union_and_union_all() {
        let a = select(User::name).filter(User::karma.gt(5));
        let b = select(User::name).filter(User::karma.lt(-5));
        check_same(
            &a.clone().union(b.clone()),
            r#"SELECT "users"."name" FROM "users" WHERE "users"."karma" > $1 UNION SELECT "users"."name" FROM "users" WHERE "users"."karma" < $2"#,
        );
        check_same(
            &a.union_all(b)
                .order_by(column::<String>("name").asc())
                .limit(3),
            r#"SELECT "users"."name" FROM "users" WHERE "users"."karma" > $1 UNION ALL SELECT "users"."name" FROM "users" WHERE "users"."karma" < $2 ORDER BY "name" ASC LIMIT $3"#,
        );
    }

    #[test]
    fn intersect_and_except() {
        let a = select(User::id);
        let b = select(Post::user_id);
        check_same(
            &a.clone().intersect(b.clone()),
            r#"SELECT "users"."id" FROM "users" INTERSECT SELECT "posts"."user_id" FROM "posts""#,
        );
        check_same(
            &a.except(b),
            r#"SELECT "users"."id" FROM "users" EXCEPT SELECT "posts"."user_id" FROM "posts""#,
        );
    }

    #[test]
    fn compound_members_with_limits_are_wrapped() {
        let a = select(User::id).order_by(User::id.desc()).limit(1);
        let b = select(User::id).order_by(User::id.asc()).limit(1);
        check(
            &a.union_all(b),
            r#"(SELECT "users"."id" FROM "users" ORDER BY "users"."id" DESC LIMIT $1) UNION ALL (SELECT "users"."id" FROM "users" ORDER BY "users"."id" ASC LIMIT $2)"#,
            "(SELECT `users`.`id` FROM `users` ORDER BY `users`.`id` DESC LIMIT ?) UNION ALL (SELECT `users`.`id` FROM `users` ORDER BY `users`.`id` ASC LIMIT ?)",
            r#"SELECT * FROM (SELECT "users"."id" FROM "users" ORDER BY "users"."id" DESC LIMIT ?) UNION ALL SELECT * FROM (SELECT "users"."id" FROM "users" ORDER BY "users"."id" ASC LIMIT ?)"#,
        );
    }

    #[test]
    fn compound_order_by_uses_output_names() {
        let stmt = select((User::id, User::name))
            .filter(User::karma.gt(1))
            .union(select((User::id, User::name)).filter(User::karma.lt(0)))
            .order_by(User::name.desc());
        check_same(
            &stmt,
            r#"SELECT "users"."id", "users"."name" FROM "users" WHERE "users"."karma" > $1 UNION SELECT "users"."id", "users"."name" FROM "users" WHERE "users"."karma" < $2 ORDER BY "name" DESC"#,
        );
    }

    #[test]
    fn schema_qualified_tables() {
        let t = Arc::new(
            Table::new("events")
                .schema("audit")
                .column(Col::new("id", SqlType::BigInt)),
        );
        check_same(
            &select(t.c("id")).from(&t).filter(t.c("id").gt(1)),
            r#"SELECT "audit"."events"."id" FROM "audit"."events" WHERE "audit"."events"."id" > $1"#,
        );
    }

    #[test]
    fn columns_of_an_alias_bring_the_aliased_table_into_from() {
        let boss = alias::<User>("boss");
        check_same(
            &select(boss.col(User::name)).filter(boss.col(User::karma).gt(1)),
            r#"SELECT "boss"."name" FROM "users" AS "boss" WHERE "boss"."karma" > $1"#,
        );
    }

    #[test]
    fn columns_of_a_cte_in_with_need_no_explicit_from() {
        let c = select((User::id, User::name)).cte("cc");
        check_same(
            &select(c.c::<i64>("id")).with(&c),
            r#"WITH "cc" AS (SELECT "users"."id", "users"."name" FROM "users") SELECT "cc"."id" FROM "cc""#,
        );
    }

    #[test]
    fn columns_of_a_subquery_not_in_from_are_an_error() {
        let sq = select(User::id).subquery("sq");
        let err = select(sq.c::<i64>("id"))
            .compile(Dialect::Postgres)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid statement on `sq`: columns of the subquery or CTE `sq` are used but it is not in FROM; add it with `.from(&sq)` or a join"
        );
        let c = select(User::id).cte("cte1");
        assert!(
            select(c.c::<i64>("id")).compile(Dialect::Sqlite).is_err(),
            "a CTE no WITH defines"
        );
    }
}
