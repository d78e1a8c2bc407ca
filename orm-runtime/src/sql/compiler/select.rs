//! SELECT: the select list, FROM with joins (and the FROM derived from the columns a
//! select uses, with correlation to enclosing selects), WHERE, GROUP BY/HAVING, ORDER BY,
//! LIMIT/OFFSET, row locks, WITH, and set operations.

use crate::dialect::Dialect;
use crate::error::{Error, Result};
use crate::sql::expr::{ExprNode, OrderItem, Origin, Qualifier};
use crate::sql::select::{
    BuildError, Cte, FromClause, FromItem, JoinKind, Lock, SelectBody, SelectCore, SelectItem,
    SelectStatement, SetOp,
};

use super::{Compiler, collect_qualifiers, table_qualifier, unsupported};

impl Compiler {
    pub(super) fn order_items(&mut self, items: &[OrderItem]) -> Result<()> {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            if let (Some(first), true) = (item.nulls_first, self.dialect.is_mysql()) {
                // MySQL has no NULLS FIRST/LAST: sort on the NULL test first.
                self.nested(&item.expr)?;
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
                let r = self.order_items(&s.order_by);
                self.bare_columns = was;
                r?;
            } else {
                self.order_items(&s.order_by)?;
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
        let s = match (self.dialect, lock) {
            // SQLite locks the whole database; SQLAlchemy renders nothing either.
            (Dialect::Sqlite, _) => return Ok(()),
            (_, Lock::Update) => " FOR UPDATE",
            (_, Lock::UpdateNowait) => " FOR UPDATE NOWAIT",
            (_, Lock::UpdateSkipLocked) => " FOR UPDATE SKIP LOCKED",
            (Dialect::MariaDb, Lock::Share) => " LOCK IN SHARE MODE",
            (_, Lock::Share) => " FOR SHARE",
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
