//! Expressions: columns, literals, binds, operators with their precedence, LIKE,
//! function calls, CASE, CAST, window functions and the subquery forms.

use std::sync::Arc;

use crate::dialect::{Dialect, Feature};
use crate::error::{Error, Result};
use crate::schema::SqlType;
use crate::sql::expr::{BinaryOp, ColumnRef, ExprNode, Qualifier, Window};
use crate::value::Value;

use super::Compiler;

impl Compiler {
    /// On PostgreSQL, the values of an IN list made only of binds of one type that
    /// binds as an array ([`Value::array_element_kind`]), NULL-free; `None` elsewhere
    /// (the list stays `IN (...)`).
    fn array_list<'a>(&self, list: &'a [ExprNode]) -> Option<Vec<&'a Value>> {
        if self.dialect != Dialect::Postgres {
            return None;
        }
        let mut kind = None;
        list.iter()
            .map(|e| match e {
                ExprNode::Bind(v) => {
                    let k = v.array_element_kind()?;
                    (*kind.get_or_insert(k) == k).then_some(v)
                }
                _ => None,
            })
            .collect()
    }
}

impl Compiler {
    /// The type a value compared with `e` is cast to: on PostgreSQL, the
    /// [`value_type`](ColumnRef::value_type) of a column (its enum type).
    fn value_type_of(&self, e: &ExprNode) -> Option<Arc<SqlType>> {
        match e {
            ExprNode::Column(c) if self.dialect == Dialect::Postgres => c.value_type.clone(),
            _ => None,
        }
    }

    /// `CAST($n AS type)`: a value bound into (or compared with) a column of a type
    /// PostgreSQL casts no parameter to by itself (an enum).
    pub(super) fn cast_bind(&mut self, v: &Value, ty: &SqlType) {
        self.push("CAST(");
        self.bind(v);
        self.push(" AS ");
        let name = self.dialect.cast_type(ty);
        self.push(&name);
        self.push(")");
    }

    /// `e`, its value cast to `ty` when it is a bind.
    fn expr_as(&mut self, e: &ExprNode, ty: Option<&SqlType>) -> Result<()> {
        match (e, ty) {
            (ExprNode::Bind(v), Some(ty)) => {
                self.cast_bind(v, ty);
                Ok(())
            }
            _ => self.nested(e),
        }
    }

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
                } else if let Some(items) = self.array_list(list) {
                    // PostgreSQL: one array bind, so one SQL text (and one prepared
                    // statement) for any length. Same meaning, NULLs included:
                    // `x NOT IN (1, 2)` is `x <> ALL('{1,2}')`.
                    self.nested(expr)?;
                    self.push(if *negated { " <> ALL(" } else { " = ANY(" });
                    match self.value_type_of(expr) {
                        // An enum column: the text array cast to an array of the enum.
                        Some(ty) => {
                            self.push("CAST(");
                            self.bind_array(&items);
                            self.push(" AS ");
                            let name = self.dialect.cast_type(&ty);
                            self.push(&name);
                            self.push("[])");
                        }
                        None => self.bind_array(&items),
                    }
                    self.push(")");
                } else {
                    self.nested(expr)?;
                    self.push(if *negated { " NOT IN (" } else { " IN (" });
                    if self.dialect == Dialect::Sqlite && matches!(**expr, ExprNode::Tuple(_)) {
                        // SQLite takes a row value's IN list only as a subquery:
                        // https://www.sqlite.org/rowvalue.html#row_value_in_operator
                        self.push("VALUES ");
                    }
                    match self.value_type_of(expr) {
                        Some(ty) => {
                            for (i, e) in list.iter().enumerate() {
                                if i > 0 {
                                    self.push(", ");
                                }
                                self.expr_as(e, Some(&ty))?;
                            }
                        }
                        None => self.comma_exprs(list)?,
                    }
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
                let ty = self.value_type_of(expr);
                self.nested(expr)?;
                self.push(if *negated {
                    " NOT BETWEEN "
                } else {
                    " BETWEEN "
                });
                self.expr_as(low, ty.as_deref())?;
                self.push(" AND ");
                self.expr_as(high, ty.as_deref())?;
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
                // SQLite ignores a NUMERIC's precision and scale: round to the scale,
                // as the other databases' CAST does.
                let round_to = match (self.dialect, ty) {
                    (
                        Dialect::Sqlite,
                        SqlType::Numeric {
                            scale: Some(scale), ..
                        },
                    ) => Some(*scale),
                    _ => None,
                };
                if round_to.is_some() {
                    self.push("round(");
                }
                self.push("CAST(");
                self.expr(inner)?;
                self.push(" AS ");
                let t = self.dialect.cast_type(ty);
                self.push(&t);
                self.push(")");
                if let Some(scale) = round_to {
                    self.push(&format!(", {scale})"));
                }
            }
            ExprNode::Round { expr, digits, ty } => self.round(expr, digits, ty.as_ref())?,
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
                self.require(Feature::WindowFunctions)?;
                self.expr(func)?;
                self.push(" OVER (");
                self.window(window)?;
                self.push(")");
            }
            ExprNode::Tuple(items) => {
                self.require(Feature::RowValues)?;
                self.push("(");
                self.comma_exprs(items)?;
                self.push(")");
            }
            ExprNode::Raw(sql) => self.push(sql),
            ExprNode::Excluded(col) => {
                if let Some(alias) = self.upsert_alias {
                    self.ident(alias);
                    self.push(".");
                    self.ident(col);
                } else if self.dialect.is_mysql() {
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
                | ExprNode::Round { .. }
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
        // A value compared with an enum column is cast to the enum (PostgreSQL).
        let comparison = matches!(
            op,
            BinaryOp::Eq
                | BinaryOp::Ne
                | BinaryOp::Lt
                | BinaryOp::Le
                | BinaryOp::Gt
                | BinaryOp::Ge
                | BinaryOp::IsDistinctFrom
                | BinaryOp::IsNotDistinctFrom
        );
        let ty = comparison
            .then(|| self.value_type_of(l).or_else(|| self.value_type_of(r)))
            .flatten();
        match (l, &ty) {
            (ExprNode::Bind(v), Some(ty)) => self.cast_bind(v, ty),
            _ => self.operand(l, op, false)?,
        }
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
        match (r, &ty) {
            (ExprNode::Bind(v), Some(ty)) => {
                self.cast_bind(v, ty);
                Ok(())
            }
            _ => self.operand(r, op, true),
        }
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
        if !crate::sql::func::is_function_name(name) {
            return Err(Error::InvalidFunctionName {
                name: name.to_owned(),
            });
        }
        match (name, self.dialect) {
            ("now", Dialect::Sqlite) if args.is_empty() => {
                self.push("CURRENT_TIMESTAMP");
                return Ok(());
            }
            ("length", Dialect::MySql | Dialect::MariaDb) => self.push("char_length"),
            ("current_timestamp" | "current_date", _) if args.is_empty() => {
                // SQL's keywords, without parentheses on every dialect.
                self.push(&name.to_ascii_uppercase());
                return Ok(());
            }
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

    /// `round(expr, digits)`, keeping the type of `expr` on every dialect.
    fn round(&mut self, expr: &ExprNode, digits: &ExprNode, ty: Option<&SqlType>) -> Result<()> {
        let float = matches!(ty, Some(SqlType::Float | SqlType::Double));
        let integer = ty.is_some_and(SqlType::is_integer);
        // PostgreSQL: round(numeric, int) only (a float is cast to NUMERIC first), and
        // its NUMERIC result cast back to the float or integer type. SQLite: round()
        // gives a REAL, cast back to an integer for an integer.
        let cast_back = match self.dialect {
            Dialect::Postgres => (float || integer).then_some(ty).flatten(),
            Dialect::Sqlite => integer.then_some(ty).flatten(),
            Dialect::MySql | Dialect::MariaDb => None,
        };
        if cast_back.is_some() {
            self.push("CAST(");
        }
        self.push("round(");
        if float && self.dialect == Dialect::Postgres {
            self.push("CAST(");
            self.expr(expr)?;
            self.push(" AS NUMERIC)");
        } else {
            self.expr(expr)?;
        }
        self.push(", ");
        self.expr(digits)?;
        self.push(")");
        if let Some(t) = cast_back {
            self.push(" AS ");
            let t = self.dialect.cast_type(t);
            self.push(&t);
            self.push(")");
        }
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
            self.order_items(&w.order_by, &[])?;
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
        ExprNode::Round { expr, digits, .. } => {
            collect_qualifiers(expr, out);
            collect_qualifiers(digits, out);
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
            SqlType::Varchar(_)
            | SqlType::Text
            | SqlType::Enum { .. }
            | SqlType::NativeEnum { .. } => "CHAR".into(),
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::dialect::Dialect;
    use crate::schema::{Column as Col, SqlType, Table};
    use crate::sql::fixtures::{Order, Post, User, check, check_same};
    use crate::sql::*;
    use crate::value::Value;

    #[test]
    fn where_eq_binds_value() {
        let b = check_same(
            &select(User::name).filter(User::id.eq(5)),
            r#"SELECT "users"."name" FROM "users" WHERE "users"."id" = $1"#,
        );
        assert_eq!(b, [Value::I64(5)]);
    }

    #[test]
    fn comparison_operators() {
        let stmt = select(User::id).filter(
            User::karma.ne(1)
                & User::karma.lt(2)
                & User::karma.le(3)
                & User::karma.gt(4)
                & User::karma.ge(5),
        );
        check_same(
            &stmt,
            r#"SELECT "users"."id" FROM "users" WHERE "users"."karma" <> $1 AND "users"."karma" < $2 AND "users"."karma" <= $3 AND "users"."karma" > $4 AND "users"."karma" >= $5"#,
        );
    }

    #[test]
    fn and_or_not_with_parentheses() {
        let stmt =
            select(User::id).filter((User::karma.gt(1) | User::karma.lt(-1)) & !User::name.eq("x"));
        check_same(
            &stmt,
            r#"SELECT "users"."id" FROM "users" WHERE ("users"."karma" > $1 OR "users"."karma" < $2) AND NOT ("users"."name" = $3)"#,
        );
    }

    #[test]
    fn or_of_ands_needs_no_parentheses() {
        let stmt =
            select(User::id).filter(User::karma.gt(1).and(User::karma.lt(9)).or(User::id.eq(1)));
        check_same(
            &stmt,
            r#"SELECT "users"."id" FROM "users" WHERE "users"."karma" > $1 AND "users"."karma" < $2 OR "users"."id" = $3"#,
        );
    }

    #[test]
    fn in_list() {
        // PostgreSQL: one array bind; elsewhere one placeholder per value.
        let stmt = select(User::id).filter(User::name.in_(["ed", "jack"]));
        let b = check(
            &stmt,
            r#"SELECT "users"."id" FROM "users" WHERE "users"."name" = ANY($1)"#,
            "SELECT `users`.`id` FROM `users` WHERE `users`.`name` IN (?, ?)",
            r#"SELECT "users"."id" FROM "users" WHERE "users"."name" IN (?, ?)"#,
        );
        assert_eq!(
            b,
            [Value::Array(vec![
                Value::Text("ed".into()),
                Value::Text("jack".into())
            ])]
        );
        let b = stmt.compile_for(Dialect::Sqlite).unwrap().binds().to_vec();
        assert_eq!(b, [Value::Text("ed".into()), Value::Text("jack".into())]);
    }

    #[test]
    fn postgres_in_list_is_one_sql_text_for_any_length() {
        let sql = |n: i64| {
            let c = select(User::id)
                .filter(User::id.in_(1..=n))
                .compile_for(Dialect::Postgres)
                .unwrap();
            assert_eq!(c.binds(), [Value::Array((1..=n).map(Value::I64).collect())]);
            c.sql().to_owned()
        };
        let one = sql(1);
        assert_eq!(
            one,
            r#"SELECT "users"."id" FROM "users" WHERE "users"."id" = ANY($1)"#
        );
        assert_eq!(sql(2), one);
        assert_eq!(sql(1000), one);
        // Other binds around it keep their numbers.
        check(
            &select(User::id).filter(User::karma.gt(1) & User::id.in_([7, 8]) & User::name.eq("x")),
            r#"SELECT "users"."id" FROM "users" WHERE "users"."karma" > $1 AND "users"."id" = ANY($2) AND "users"."name" = $3"#,
            "SELECT `users`.`id` FROM `users` WHERE `users`.`karma` > ? AND `users`.`id` IN (?, ?) AND `users`.`name` = ?",
            r#"SELECT "users"."id" FROM "users" WHERE "users"."karma" > ? AND "users"."id" IN (?, ?) AND "users"."name" = ?"#,
        );
    }

    #[test]
    fn postgres_keeps_in_for_lists_that_are_not_binds_of_one_arrayable_type() {
        let t = Arc::new(Table::new("t").column(Col::new("c", SqlType::Integer)));
        let keeps_in = |list: Vec<Expr<Dynamic>>, want: &str| {
            let c = select(t.c("c"))
                .from(&t)
                .filter(t.c("c").in_(list))
                .compile_for(Dialect::Postgres)
                .unwrap();
            assert_eq!(
                c.sql(),
                format!(r#"SELECT "t"."c" FROM "t" WHERE "t"."c" IN ({want})"#)
            );
        };
        let v = |v: Value| -> Expr<Dynamic> { crate::sql::expr::ExprNode::Bind(v).typed() };
        // Mixed types, a NULL, a type arrays are not bound for, a column.
        keeps_in(vec![v(Value::I64(1)), v(Value::I32(2))], "$1, $2");
        keeps_in(vec![v(Value::I64(1)), v(Value::Null)], "$1, $2");
        keeps_in(vec![v(Value::F32(1.0)), v(Value::F32(2.0))], "$1, $2");
        keeps_in(vec![v(Value::I64(1)), t.c("c")], r#"$1, "t"."c""#);
    }

    #[test]
    fn empty_in_is_false_and_empty_not_in_is_true() {
        let none: [i64; 0] = [];
        check_same(
            &select(User::id).filter(User::id.in_(none)),
            r#"SELECT "users"."id" FROM "users" WHERE (1 <> 1)"#,
        );
        check_same(
            &select(User::id).filter(User::id.not_in(none)),
            r#"SELECT "users"."id" FROM "users" WHERE (1 = 1)"#,
        );
    }

    #[test]
    fn not_in_list() {
        check(
            &select(User::id).filter(User::karma.not_in([1, 2])),
            r#"SELECT "users"."id" FROM "users" WHERE "users"."karma" <> ALL($1)"#,
            "SELECT `users`.`id` FROM `users` WHERE `users`.`karma` NOT IN (?, ?)",
            r#"SELECT "users"."id" FROM "users" WHERE "users"."karma" NOT IN (?, ?)"#,
        );
    }

    #[test]
    fn in_subquery() {
        let sub = select(Post::user_id).filter(Post::score.gt(1.5));
        check_same(
            &select(User::name).filter(User::id.in_select(sub)),
            r#"SELECT "users"."name" FROM "users" WHERE "users"."id" IN (SELECT "posts"."user_id" FROM "posts" WHERE "posts"."score" > $1)"#,
        );
    }

    #[test]
    fn between_and_not_between() {
        check_same(
            &select(User::id).filter(User::karma.between(1, 10).and(User::id.not_between(5, 6))),
            r#"SELECT "users"."id" FROM "users" WHERE "users"."karma" BETWEEN $1 AND $2 AND "users"."id" NOT BETWEEN $3 AND $4"#,
        );
    }

    #[test]
    fn like_and_not_like() {
        check_same(
            &select(User::id).filter(User::name.like("e%").and(User::name.not_like("%x"))),
            r#"SELECT "users"."id" FROM "users" WHERE "users"."name" LIKE $1 AND "users"."name" NOT LIKE $2"#,
        );
    }

    #[test]
    fn ilike_is_native_on_postgres_and_lower_elsewhere() {
        check(
            &select(User::id).filter(User::name.ilike("E%")),
            r#"SELECT "users"."id" FROM "users" WHERE "users"."name" ILIKE $1"#,
            "SELECT `users`.`id` FROM `users` WHERE lower(`users`.`name`) LIKE lower(?)",
            r#"SELECT "users"."id" FROM "users" WHERE lower("users"."name") LIKE lower(?)"#,
        );
    }

    #[test]
    fn like_with_escape() {
        check(
            &select(User::id).filter(User::name.like_escape("100!%", '!')),
            r#"SELECT "users"."id" FROM "users" WHERE "users"."name" LIKE $1 ESCAPE '!'"#,
            "SELECT `users`.`id` FROM `users` WHERE `users`.`name` LIKE ? ESCAPE '!'",
            r#"SELECT "users"."id" FROM "users" WHERE "users"."name" LIKE ? ESCAPE '!'"#,
        );
    }

    #[test]
    fn backslash_escape_is_doubled_for_mysql() {
        check(
            &select(User::id).filter(User::name.like_escape("a\\%", '\\')),
            r#"SELECT "users"."id" FROM "users" WHERE "users"."name" LIKE $1 ESCAPE '\'"#,
            r"SELECT `users`.`id` FROM `users` WHERE `users`.`name` LIKE ? ESCAPE '\\'",
            r#"SELECT "users"."id" FROM "users" WHERE "users"."name" LIKE ? ESCAPE '\'"#,
        );
    }

    #[test]
    fn is_null_and_is_not_null() {
        check_same(
            &select(User::id).filter(User::email.is_null().or(User::manager_id.is_not_null())),
            r#"SELECT "users"."id" FROM "users" WHERE "users"."email" IS NULL OR "users"."manager_id" IS NOT NULL"#,
        );
    }

    #[test]
    fn a_dynamic_column_compared_with_value_null_is_is_null() {
        let t = Arc::new(Table::new("t").column(Col::new("c", SqlType::Integer)));
        let b = check_same(
            &select(t.c("c"))
                .from(&t)
                .filter(t.c("c").eq(Value::Null).or(t.c("c").ne(Value::Null))),
            r#"SELECT "t"."c" FROM "t" WHERE "t"."c" IS NULL OR "t"."c" IS NOT NULL"#,
        );
        assert!(b.is_empty());
        let b = check_same(
            &select(t.c("c")).from(&t).filter(t.c("c").eq(Value::I32(1))),
            r#"SELECT "t"."c" FROM "t" WHERE "t"."c" = $1"#,
        );
        assert_eq!(b, [Value::I32(1)]);
    }

    #[test]
    fn null_safe_equality_per_dialect() {
        check(
            &select(User::id).filter(User::email.is_not_distinct_from("a")),
            r#"SELECT "users"."id" FROM "users" WHERE "users"."email" IS NOT DISTINCT FROM $1"#,
            "SELECT `users`.`id` FROM `users` WHERE `users`.`email` <=> ?",
            r#"SELECT "users"."id" FROM "users" WHERE "users"."email" IS ?"#,
        );
        check(
            &select(User::id).filter(User::email.is_distinct_from("a")),
            r#"SELECT "users"."id" FROM "users" WHERE "users"."email" IS DISTINCT FROM $1"#,
            "SELECT `users`.`id` FROM `users` WHERE NOT (`users`.`email` <=> ?)",
            r#"SELECT "users"."id" FROM "users" WHERE "users"."email" IS NOT ?"#,
        );
    }

    #[test]
    fn arithmetic_and_precedence() {
        let e = (User::karma + 1) * 2 - User::karma / 3 % 4;
        check(
            &select(e.label("x")),
            r#"SELECT ("users"."karma" + $1) * $2 - "users"."karma" / $3 % $4 AS "x" FROM "users""#,
            // MySQL's `/` gives a decimal: integer division is DIV there.
            "SELECT (`users`.`karma` + ?) * ? - `users`.`karma` DIV ? % ? AS `x` FROM `users`",
            r#"SELECT ("users"."karma" + ?) * ? - "users"."karma" / ? % ? AS "x" FROM "users""#,
        );
        // Floats keep `/`.
        check_same(
            &select(Post::score / 2.0),
            r#"SELECT "posts"."score" / $1 FROM "posts""#,
        );
    }

    #[test]
    fn subtraction_on_the_right_keeps_parentheses() {
        let e = User::karma - (User::karma - 1);
        check_same(
            &select(e),
            r#"SELECT "users"."karma" - ("users"."karma" - $1) FROM "users""#,
        );
    }

    #[test]
    fn negation() {
        check_same(
            &select(-User::karma),
            r#"SELECT -"users"."karma" FROM "users""#,
        );
    }

    #[test]
    fn string_concat_per_dialect() {
        check(
            &select(User::name.concat(" <").concat(User::email).label("who")),
            r#"SELECT "users"."name" || $1 || "users"."email" AS "who" FROM "users""#,
            "SELECT CONCAT(`users`.`name`, ?, `users`.`email`) AS `who` FROM `users`",
            r#"SELECT "users"."name" || ? || "users"."email" AS "who" FROM "users""#,
        );
    }

    #[test]
    fn concatenated_arithmetic_is_parenthesized() {
        let e = (User::karma + 2).cast::<String>().concat("x");
        check(
            &select(e),
            r#"SELECT CAST("users"."karma" + $1 AS VARCHAR) || $2 FROM "users""#,
            "SELECT CONCAT(CAST(`users`.`karma` + ? AS CHAR), ?) FROM `users`",
            r#"SELECT CAST("users"."karma" + ? AS VARCHAR) || ? FROM "users""#,
        );
        let e = (lit(1i64) + 2i64).coerce::<String>().concat("x");
        assert_eq!(
            select(e).compile(Dialect::Sqlite).unwrap().sql(),
            "SELECT (? + ?) || ?"
        );
    }

    #[test]
    fn string_literals_are_text_expressions() {
        check(
            &select(lit("hi").concat(User::name)),
            r#"SELECT $1 || "users"."name" FROM "users""#,
            "SELECT CONCAT(?, `users`.`name`) FROM `users`",
            r#"SELECT ? || "users"."name" FROM "users""#,
        );
    }

    #[test]
    fn negated_raw_sql_cannot_become_a_comment() {
        check_same(&select(-literal_column::<i64>("-1")), "SELECT -(-1)");
    }

    #[test]
    fn length_is_char_length_on_mysql() {
        check(
            &select(func::length(User::name)),
            r#"SELECT length("users"."name") FROM "users""#,
            "SELECT char_length(`users`.`name`) FROM `users`",
            r#"SELECT length("users"."name") FROM "users""#,
        );
    }

    #[test]
    fn now_per_dialect() {
        check(
            &select(func::now()),
            "SELECT now()",
            "SELECT now()",
            "SELECT CURRENT_TIMESTAMP",
        );
    }

    #[test]
    fn cast_per_dialect() {
        check(
            &select((User::karma.cast::<String>(), User::name.cast::<i64>())),
            r#"SELECT CAST("users"."karma" AS VARCHAR), CAST("users"."name" AS BIGINT) FROM "users""#,
            "SELECT CAST(`users`.`karma` AS CHAR), CAST(`users`.`name` AS SIGNED) FROM `users`",
            r#"SELECT CAST("users"."karma" AS VARCHAR), CAST("users"."name" AS BIGINT) FROM "users""#,
        );
    }

    #[test]
    fn cast_to_a_decimal_with_a_scale_per_dialect() {
        // MySQL's DECIMAL defaults to scale 0: a precision and scale are always given;
        // SQLite ignores them, so it rounds to the scale.
        check(
            &select((
                Post::score.cast_as::<f64>(SqlType::numeric(10, 2)),
                Post::score.cast_as::<f64>(SqlType::numeric(10, 0)),
                Post::score.cast_as::<f64>(SqlType::Numeric {
                    precision: None,
                    scale: None,
                }),
            )),
            r#"SELECT CAST("posts"."score" AS NUMERIC(10, 2)), CAST("posts"."score" AS NUMERIC(10, 0)), CAST("posts"."score" AS NUMERIC) FROM "posts""#,
            "SELECT CAST(`posts`.`score` AS DECIMAL(10, 2)), CAST(`posts`.`score` AS DECIMAL(10, 0)), CAST(`posts`.`score` AS DECIMAL(65, 30)) FROM `posts`",
            r#"SELECT round(CAST("posts"."score" AS NUMERIC(10, 2)), 2), round(CAST("posts"."score" AS NUMERIC(10, 0)), 0), CAST("posts"."score" AS NUMERIC) FROM "posts""#,
        );
    }

    #[test]
    fn window_function() {
        let rank = func::rank().over(
            over()
                .partition_by(Post::user_id)
                .order_by(Post::score.desc()),
        );
        check_same(
            &select((Post::title, rank.label("r"))),
            r#"SELECT "posts"."title", rank() OVER (PARTITION BY "posts"."user_id" ORDER BY "posts"."score" DESC) AS "r" FROM "posts""#,
        );
    }

    #[test]
    fn window_with_order_only() {
        check_same(
            &select(func::row_number().over(over().order_by(User::id.asc()))),
            r#"SELECT row_number() OVER (ORDER BY "users"."id" ASC) FROM "users""#,
        );
    }

    #[test]
    fn boolean_literals_per_dialect() {
        check(
            &select(User::id).filter(true_().and(false_().or(User::id.eq(1)))),
            r#"SELECT "users"."id" FROM "users" WHERE TRUE AND (FALSE OR "users"."id" = $1)"#,
            "SELECT `users`.`id` FROM `users` WHERE TRUE AND (FALSE OR `users`.`id` = ?)",
            r#"SELECT "users"."id" FROM "users" WHERE 1 AND (0 OR "users"."id" = ?)"#,
        );
    }

    #[test]
    fn reserved_words_and_mixed_case_are_quoted() {
        check(
            &select((Order::id, Order::select)).filter(Order::select.eq(1)),
            r#"SELECT "order"."id", "order"."select" FROM "order" WHERE "order"."select" = $1"#,
            "SELECT `order`.`id`, `order`.`select` FROM `order` WHERE `order`.`select` = ?",
            r#"SELECT "order"."id", "order"."select" FROM "order" WHERE "order"."select" = ?"#,
        );
    }

    #[test]
    fn identifiers_with_quotes_are_escaped() {
        let t = Arc::new(Table::new("we\"ird`name").column(Col::new("c", SqlType::Integer)));
        check(
            &select(t.c("c")).from(&t),
            r#"SELECT "we""ird`name"."c" FROM "we""ird`name""#,
            r#"SELECT `we"ird``name`.`c` FROM `we"ird``name`"#,
            r#"SELECT "we""ird`name"."c" FROM "we""ird`name""#,
        );
    }

    #[test]
    fn star_and_table_star() {
        check_same(
            &select(star()).from(User::table()),
            r#"SELECT * FROM "users""#,
        );
        check_same(
            &select(star_of::<Post>()),
            r#"SELECT "posts".* FROM "posts""#,
        );
    }

    #[test]
    fn hostile_strings_are_binds_not_sql() {
        let evil = "'; DROP TABLE users; --";
        let c = select(User::id)
            .filter(User::name.eq(evil))
            .compile(Dialect::MySql)
            .unwrap();
        assert_eq!(
            c.sql(),
            "SELECT `users`.`id` FROM `users` WHERE `users`.`name` = ?"
        );
        assert_eq!(c.binds(), &[Value::Text(evil.into())]);
    }
}
