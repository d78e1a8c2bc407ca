//! Expressions: columns, literals, binds, operators with their precedence, LIKE,
//! function calls, CASE, CAST, window functions and the subquery forms.

use crate::dialect::Dialect;
use crate::error::{Error, Result};
use crate::schema::SqlType;
use crate::sql::expr::{BinaryOp, ColumnRef, ExprNode, Qualifier, Window};

use super::Compiler;

impl Compiler {
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

    pub(super) fn comma_exprs(&mut self, list: &[ExprNode]) -> Result<()> {
        for (i, e) in list.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.expr(e)?;
        }
        Ok(())
    }

    /// An operand that needs parentheses unless it is atomic.
    pub(super) fn nested(&mut self, e: &ExprNode) -> Result<()> {
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
