//! The compiler: statement trees to SQL text and binds, one dialect at a time.
//!
//! Shared rendering lives here; what differs per dialect (identifier quotes,
//! placeholders, LIMIT forms, upsert syntax, ILIKE, NULLS FIRST, casts) is asked of
//! [`Dialect`]. Every value becomes a bound parameter; every identifier is quoted.

use crate::sql::dml::{DeleteStatement, InsertStatement, OnConflict, UpdateStatement};
use crate::sql::expr::{BinaryOp, ColumnRef, ExprNode, Name, OrderItem, Origin, Qualifier, Window};
use crate::sql::select::{
    BuildError, Cte, FromClause, FromItem, JoinKind, Lock, SelectBody, SelectCore, SelectItem,
    SelectStatement, SetOp,
};
use crate::dialect::Dialect;
use crate::error::{Error, Result};
use crate::schema::{SqlType, Table};
use crate::value::Value;

/// Compilation state for one statement.
pub(crate) struct Compiler {
    pub(crate) dialect: Dialect,
    pub(crate) sql: String,
    pub(crate) binds: Vec<Value>,
    /// For each bind: the address of the tree value it came from (the statement cache's
    /// bind plan).
    pub(crate) sources: Vec<*const Value>,
    /// Names exposed by the FROM clauses of enclosing selects (auto-correlation).
    scopes: Vec<Vec<Qualifier>>,
    /// CTEs already defined by an enclosing WITH.
    cte_scope: Vec<Name>,
    /// While compiling RETURNING: the target table, whose columns render unqualified.
    unqualify: Option<String>,
    /// While compiling a compound's ORDER BY: every column renders by bare name.
    bare_columns: bool,
}

fn unsupported(dialect: Dialect, feature: impl Into<String>) -> Error {
    Error::Unsupported {
        dialect: dialect.name(),
        feature: feature.into(),
    }
}

impl Compiler {
    pub(crate) fn new(dialect: Dialect) -> Compiler {
        Compiler {
            dialect,
            sql: String::with_capacity(256),
            binds: Vec::new(),
            sources: Vec::new(),
            scopes: Vec::new(),
            cte_scope: Vec::new(),
            unqualify: None,
            bare_columns: false,
        }
    }

    fn push(&mut self, s: &str) {
        self.sql.push_str(s);
    }

    fn ident(&mut self, name: &str) {
        self.dialect.quote_identifier_into(&mut self.sql, name);
    }

    fn bind(&mut self, v: &Value) {
        self.binds.push(v.clone());
        self.sources.push(v as *const Value);
        let n = self.binds.len();
        self.dialect.write_placeholder(&mut self.sql, n);
    }

    fn qualifier(&mut self, q: &Qualifier) {
        if let Some(s) = &q.schema {
            self.ident(s);
            self.push(".");
        }
        self.ident(&q.name);
    }

    fn table_name(&mut self, t: &Table) {
        if let Some(s) = &t.schema {
            self.ident(s);
            self.push(".");
        }
        self.ident(&t.name);
    }

    // ---------------------------------------------------------------- expressions

    pub(crate) fn expr(&mut self, e: &ExprNode) -> Result<()> {
        match e {
            ExprNode::Column(c) => self.column(c),
            ExprNode::Bind(v) => self.bind(v),
            ExprNode::Null => self.push("NULL"),
            ExprNode::Bool(b) => self.bool_literal(*b),
            ExprNode::Star(None) => self.push("*"),
            ExprNode::Star(Some(q)) => {
                self.qualifier(q);
                self.push(".*");
            }
            ExprNode::Binary(l, op, r) => self.binary(l, *op, r)?,
            ExprNode::Not(inner) => {
                self.push("NOT ");
                self.nested(inner)?;
            }
            ExprNode::Neg(inner) => {
                self.push("-");
                if matches!(**inner, ExprNode::Raw(_) | ExprNode::Neg(_)) {
                    // `--1` would start a comment.
                    self.push("(");
                    self.expr(inner)?;
                    self.push(")");
                } else {
                    self.nested(inner)?;
                }
            }
            ExprNode::IsNull { expr, negated } => {
                self.nested(expr)?;
                self.push(if *negated { " IS NOT NULL" } else { " IS NULL" });
            }
            ExprNode::InList {
                expr,
                list,
                negated,
            } => {
                if list.is_empty() {
                    // Never `IN ()`, which is invalid: a constant with the same meaning.
                    self.push(if *negated { "(1 = 1)" } else { "(1 <> 1)" });
                } else {
                    self.nested(expr)?;
                    self.push(if *negated { " NOT IN (" } else { " IN (" });
                    self.comma_exprs(list)?;
                    self.push(")");
                }
            }
            ExprNode::InSelect {
                expr,
                select,
                negated,
            } => {
                self.nested(expr)?;
                self.push(if *negated { " NOT IN (" } else { " IN (" });
                self.select(select)?;
                self.push(")");
            }
            ExprNode::Between {
                expr,
                low,
                high,
                negated,
            } => {
                self.nested(expr)?;
                self.push(if *negated {
                    " NOT BETWEEN "
                } else {
                    " BETWEEN "
                });
                self.nested(low)?;
                self.push(" AND ");
                self.nested(high)?;
            }
            ExprNode::Like {
                expr,
                pattern,
                escape,
                case_insensitive,
                negated,
            } => {
                self.like(expr, pattern, *escape, *case_insensitive, *negated)?;
            }
            ExprNode::Function {
                name,
                args,
                distinct,
            } => self.function(name, args, *distinct)?,
            ExprNode::Case {
                operand,
                whens,
                otherwise,
            } => {
                self.push("CASE");
                if let Some(op) = operand {
                    self.push(" ");
                    self.expr(op)?;
                }
                for (w, t) in whens {
                    self.push(" WHEN ");
                    self.expr(w)?;
                    self.push(" THEN ");
                    self.expr(t)?;
                }
                if let Some(o) = otherwise {
                    self.push(" ELSE ");
                    self.expr(o)?;
                }
                self.push(" END");
            }
            ExprNode::Cast(inner, ty) => {
                self.push("CAST(");
                self.expr(inner)?;
                self.push(" AS ");
                let t = self.dialect.cast_type(ty);
                self.push(&t);
                self.push(")");
            }
            ExprNode::Subquery(s) => {
                self.push("(");
                self.select(s)?;
                self.push(")");
            }
            ExprNode::Exists { select, negated } => {
                self.push(if *negated { "NOT EXISTS (" } else { "EXISTS (" });
                self.select(select)?;
                self.push(")");
            }
            ExprNode::Over(func, window) => {
                self.expr(func)?;
                self.push(" OVER (");
                self.window(window)?;
                self.push(")");
            }
            ExprNode::Tuple(items) => {
                self.push("(");
                self.comma_exprs(items)?;
                self.push(")");
            }
            ExprNode::Raw(sql) => self.push(sql),
            ExprNode::Excluded(col) => {
                if self.dialect.is_mysql() {
                    self.push("VALUES(");
                    self.ident(col);
                    self.push(")");
                } else {
                    self.push("excluded.");
                    self.ident(col);
                }
            }
            ExprNode::UnknownColumn {
                table,
                column,
                available,
            } => {
                return Err(Error::UnknownColumn {
                    table: table.clone(),
                    column: column.clone(),
                    available: available.clone(),
                });
            }
        }
        Ok(())
    }

    fn column(&mut self, c: &ColumnRef) {
        if let Some(q) = &c.qualifier
            && !self.bare_columns
            && self.unqualify.as_deref() != Some(&*q.name)
        {
            self.qualifier(q);
            self.push(".");
        }
        self.ident(&c.name);
    }

    fn bool_literal(&mut self, b: bool) {
        let s = match (self.dialect, b) {
            (Dialect::Sqlite, true) => "1",
            (Dialect::Sqlite, false) => "0",
            (_, true) => "TRUE",
            (_, false) => "FALSE",
        };
        self.push(s);
    }

    fn comma_exprs(&mut self, list: &[ExprNode]) -> Result<()> {
        for (i, e) in list.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.expr(e)?;
        }
        Ok(())
    }

    /// An operand that needs parentheses unless it is atomic.
    fn nested(&mut self, e: &ExprNode) -> Result<()> {
        let atomic = matches!(
            e,
            ExprNode::Column(_)
                | ExprNode::Bind(_)
                | ExprNode::Null
                | ExprNode::Bool(_)
                | ExprNode::Function { .. }
                | ExprNode::Cast(..)
                | ExprNode::Subquery(_)
                | ExprNode::Tuple(_)
                | ExprNode::Raw(_)
                | ExprNode::Excluded(_)
                | ExprNode::Case { .. }
                | ExprNode::Over(..)
        );
        if atomic {
            self.expr(e)
        } else {
            self.push("(");
            self.expr(e)?;
            self.push(")");
            Ok(())
        }
    }

    fn binary(&mut self, l: &ExprNode, op: BinaryOp, r: &ExprNode) -> Result<()> {
        if op == BinaryOp::Concat && self.dialect.is_mysql() {
            // MySQL's `||` is OR unless PIPES_AS_CONCAT: CONCAT() it is, flattened.
            self.push("CONCAT(");
            let mut parts = Vec::new();
            flatten_concat(l, &mut parts);
            flatten_concat(r, &mut parts);
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    self.push(", ");
                }
                self.expr(p)?;
            }
            self.push(")");
            return Ok(());
        }
        if self.dialect.is_mysql() && op == BinaryOp::IsDistinctFrom {
            self.push("NOT (");
            self.operand(l, op, false)?;
            self.push(" <=> ");
            self.operand(r, op, true)?;
            self.push(")");
            return Ok(());
        }
        self.operand(l, op, false)?;
        let sym = match (op, self.dialect) {
            (BinaryOp::Eq, _) => " = ",
            (BinaryOp::Ne, _) => " <> ",
            (BinaryOp::Lt, _) => " < ",
            (BinaryOp::Le, _) => " <= ",
            (BinaryOp::Gt, _) => " > ",
            (BinaryOp::Ge, _) => " >= ",
            (BinaryOp::And, _) => " AND ",
            (BinaryOp::Or, _) => " OR ",
            (BinaryOp::Add, _) => " + ",
            (BinaryOp::Sub, _) => " - ",
            (BinaryOp::Mul, _) => " * ",
            (BinaryOp::Div, _) => " / ",
            (BinaryOp::IntDiv, Dialect::MySql | Dialect::MariaDb) => " DIV ",
            (BinaryOp::IntDiv, _) => " / ",
            (BinaryOp::Mod, _) => " % ",
            (BinaryOp::Concat, _) => " || ",
            (BinaryOp::IsNotDistinctFrom, Dialect::Sqlite) => " IS ",
            (BinaryOp::IsNotDistinctFrom, Dialect::MySql | Dialect::MariaDb) => " <=> ",
            (BinaryOp::IsNotDistinctFrom, Dialect::Postgres) => " IS NOT DISTINCT FROM ",
            (BinaryOp::IsDistinctFrom, Dialect::Sqlite) => " IS NOT ",
            (BinaryOp::IsDistinctFrom, _) => " IS DISTINCT FROM ",
        };
        self.push(sym);
        self.operand(r, op, true)
    }

    fn operand(&mut self, e: &ExprNode, parent: BinaryOp, right: bool) -> Result<()> {
        let needs_parens = match e {
            ExprNode::Binary(_, child, _) => {
                let (c, p) = (child.precedence(), parent.precedence());
                let associative = matches!(
                    parent,
                    BinaryOp::And | BinaryOp::Or | BinaryOp::Add | BinaryOp::Mul
                ) && *child == parent;
                // `||` and arithmetic bind differently per dialect (SQLite: `||` first;
                // PostgreSQL: arithmetic first): never leave them to precedence.
                let mixed = (*child == BinaryOp::Concat) != (parent == BinaryOp::Concat)
                    && [*child, parent].iter().all(|o| o.precedence() >= 5);
                mixed || c < p || (c == p && right && !associative) || (c == p && c == 4)
            }
            ExprNode::Not(_)
            | ExprNode::IsNull { .. }
            | ExprNode::InList { .. }
            | ExprNode::InSelect { .. }
            | ExprNode::Between { .. }
            | ExprNode::Like { .. } => !matches!(parent, BinaryOp::And | BinaryOp::Or),
            ExprNode::Exists { .. } => false,
            _ => false,
        };
        if needs_parens {
            self.push("(");
            self.expr(e)?;
            self.push(")");
            Ok(())
        } else {
            self.expr(e)
        }
    }

    fn like(
        &mut self,
        expr: &ExprNode,
        pattern: &ExprNode,
        escape: Option<char>,
        ci: bool,
        negated: bool,
    ) -> Result<()> {
        let native_ilike = self.dialect == Dialect::Postgres;
        if ci && !native_ilike {
            self.push("lower(");
            self.expr(expr)?;
            self.push(")");
        } else {
            self.nested(expr)?;
        }
        self.push(match (negated, ci && native_ilike) {
            (false, false) => " LIKE ",
            (true, false) => " NOT LIKE ",
            (false, true) => " ILIKE ",
            (true, true) => " NOT ILIKE ",
        });
        if ci && !native_ilike {
            self.push("lower(");
            self.expr(pattern)?;
            self.push(")");
        } else {
            self.nested(pattern)?;
        }
        if let Some(c) = escape {
            self.push(" ESCAPE '");
            match c {
                '\'' => self.push("''"),
                // MySQL reads backslash escapes inside string literals.
                '\\' if self.dialect.is_mysql() => self.push("\\\\"),
                c => self.sql.push(c),
            }
            self.push("'");
        }
        Ok(())
    }

    fn function(&mut self, name: &str, args: &[ExprNode], distinct: bool) -> Result<()> {
        match (name, self.dialect) {
            ("now", Dialect::Sqlite) if args.is_empty() => {
                self.push("CURRENT_TIMESTAMP");
                return Ok(());
            }
            ("length", Dialect::MySql | Dialect::MariaDb) => self.push("char_length"),
            _ => self.push(name),
        }
        self.push("(");
        if distinct {
            self.push("DISTINCT ");
        }
        self.comma_exprs(args)?;
        self.push(")");
        Ok(())
    }

    fn window(&mut self, w: &Window) -> Result<()> {
        if !w.partition_by.is_empty() {
            self.push("PARTITION BY ");
            self.comma_exprs(&w.partition_by)?;
        }
        if !w.order_by.is_empty() {
            if !w.partition_by.is_empty() {
                self.push(" ");
            }
            self.push("ORDER BY ");
            self.order_items(&w.order_by)?;
        }
        Ok(())
    }

    fn order_items(&mut self, items: &[OrderItem]) -> Result<()> {
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

    fn select_items(&mut self, items: &[SelectItem]) -> Result<()> {
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

    // ---------------------------------------------------------------- SELECT

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

    // ---------------------------------------------------------------- DML

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

    fn assignments(&mut self, set: &[crate::sql::column::Assignment]) -> Result<()> {
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

fn table_qualifier(t: &Table) -> Qualifier {
    crate::sql::Qualifier::table(
        t.schema.clone().map(Name::Owned),
        Name::Owned(t.name.clone()),
    )
}

fn exposed_qualifier(item: &FromItem) -> Qualifier {
    match item {
        FromItem::Table { table, alias: None } => table_qualifier(table),
        FromItem::Named(q) => q.clone(),
        other => Qualifier::named(other.exposed_name().to_owned()),
    }
}

fn flatten_concat<'e>(e: &'e ExprNode, out: &mut Vec<&'e ExprNode>) {
    match e {
        ExprNode::Binary(l, BinaryOp::Concat, r) => {
            flatten_concat(l, out);
            flatten_concat(r, out);
        }
        other => out.push(other),
    }
}

/// The tables (qualifiers) an expression's columns name, outside subqueries.
pub(crate) fn collect_qualifiers(e: &ExprNode, out: &mut Vec<Qualifier>) {
    let mut push = |q: &Qualifier| {
        if !out.iter().any(|o| o.name == q.name && o.schema == q.schema) {
            out.push(q.clone());
        }
    };
    match e {
        ExprNode::Column(ColumnRef {
            qualifier: Some(q), ..
        }) => push(q),
        ExprNode::Star(Some(q)) => push(q),
        ExprNode::Binary(l, _, r) => {
            collect_qualifiers(l, out);
            collect_qualifiers(r, out);
        }
        ExprNode::Not(x) | ExprNode::Neg(x) | ExprNode::Cast(x, _) => collect_qualifiers(x, out),
        ExprNode::IsNull { expr, .. } | ExprNode::InSelect { expr, .. } => {
            collect_qualifiers(expr, out)
        }
        ExprNode::InList { expr, list, .. } => {
            collect_qualifiers(expr, out);
            list.iter().for_each(|x| collect_qualifiers(x, out));
        }
        ExprNode::Between {
            expr, low, high, ..
        } => {
            collect_qualifiers(expr, out);
            collect_qualifiers(low, out);
            collect_qualifiers(high, out);
        }
        ExprNode::Like { expr, pattern, .. } => {
            collect_qualifiers(expr, out);
            collect_qualifiers(pattern, out);
        }
        ExprNode::Function { args, .. } | ExprNode::Tuple(args) => {
            args.iter().for_each(|x| collect_qualifiers(x, out));
        }
        ExprNode::Case {
            operand,
            whens,
            otherwise,
        } => {
            if let Some(o) = operand {
                collect_qualifiers(o, out);
            }
            for (w, t) in whens {
                collect_qualifiers(w, out);
                collect_qualifiers(t, out);
            }
            if let Some(o) = otherwise {
                collect_qualifiers(o, out);
            }
        }
        ExprNode::Over(f, w) => {
            collect_qualifiers(f, out);
            w.partition_by
                .iter()
                .for_each(|x| collect_qualifiers(x, out));
            w.order_by
                .iter()
                .for_each(|o| collect_qualifiers(&o.expr, out));
        }
        _ => {}
    }
}

impl Dialect {
    /// The type name `CAST(x AS ...)` takes: MySQL's CAST accepts only a few.
    pub(crate) fn cast_type(self, ty: &SqlType) -> String {
        if !self.is_mysql() {
            return ty.ddl(self);
        }
        match ty {
            SqlType::SmallInt | SqlType::Integer | SqlType::BigInt | SqlType::Boolean => {
                "SIGNED".into()
            }
            SqlType::Float | SqlType::Double => "DOUBLE".into(),
            SqlType::Varchar(_) | SqlType::Text | SqlType::Enum { .. } => "CHAR".into(),
            SqlType::Date => "DATE".into(),
            SqlType::Time => "TIME(6)".into(),
            SqlType::DateTime | SqlType::TimestampTz => "DATETIME(6)".into(),
            SqlType::Blob => "BINARY".into(),
            SqlType::Uuid => "BINARY(16)".into(),
            SqlType::Json if self == Dialect::MySql => "JSON".into(),
            SqlType::Json => "CHAR".into(),
            SqlType::Numeric {
                precision: Some(p),
                scale,
            } => format!("DECIMAL({p}, {})", scale.unwrap_or(0)),
            SqlType::Numeric { .. } => "DECIMAL(65, 30)".into(),
            other => other.ddl(self),
        }
    }
}
