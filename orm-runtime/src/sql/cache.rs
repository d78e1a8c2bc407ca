//! The compiled-statement cache.
//!
//! Compiling the same statement *shape* again (same tree, other bind values) reuses the
//! SQL string. A statement's cache key is its tree with every bound value left out;
//! building the key also collects the bound values in tree order. A cache entry keeps
//! the SQL and a *bind plan*: for each placeholder, which of those values fills it
//! (a value may fill several, e.g. MySQL's emulated NULLS LAST repeats its expression).
//!
//! Identifiers borrowed from generated code (`&'static str`) enter the key by address,
//! so keys of statements over mapped models are short and cheap to build.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};

use super::Compiled;
use super::column::Assignment;
use super::compiler::Compiler;
use super::dml::{DeleteStatement, InsertStatement, OnConflict, UpdateStatement};
use super::expr::{ColumnRef, ExprNode, Name, OrderItem, Qualifier};
use super::select::{Cte, FromItem, SelectBody, SelectItem, SelectStatement};
use crate::dialect::Dialect;
use crate::error::Result;
use crate::schema::Table;
use crate::value::Value;

/// Entries kept before the cache is emptied and starts again (a bound on memory for
/// programs that build unbounded numbers of shapes, e.g. IN lists of every length).
const CAPACITY: usize = 4096;

struct Entry {
    sql: Arc<str>,
    plan: Vec<u32>,
}

static CACHE: LazyLock<RwLock<HashMap<Vec<u8>, Arc<Entry>>>> =
    LazyLock::new(|| RwLock::new(HashMap::new()));

/// A statement the cache knows how to key and compile.
#[derive(Clone, Copy)]
pub(crate) enum Stmt<'a> {
    Select(&'a SelectStatement),
    Insert(&'a InsertStatement),
    Update(&'a UpdateStatement),
    Delete(&'a DeleteStatement),
}

impl Stmt<'_> {
    fn compile_into(self, c: &mut Compiler) -> Result<()> {
        match self {
            Stmt::Select(s) => c.select(s),
            Stmt::Insert(s) => c.insert(s),
            Stmt::Update(s) => c.update(s),
            Stmt::Delete(s) => c.delete(s),
        }
    }
}

/// Compiles without the cache.
pub(crate) fn compile_uncached(stmt: Stmt<'_>, dialect: Dialect) -> Result<Compiled> {
    let mut c = Compiler::new(dialect);
    stmt.compile_into(&mut c)?;
    Ok(Compiled::new(c.sql, c.binds))
}

/// Compiles through the cache.
pub(crate) fn compile(stmt: Stmt<'_>, dialect: Dialect) -> Result<Compiled> {
    let mut k = KeyWriter {
        key: Vec::with_capacity(128),
        values: Vec::new(),
    };
    k.byte(dialect as u8);
    match stmt {
        Stmt::Select(s) => k.select(s),
        Stmt::Insert(s) => k.insert(s),
        Stmt::Update(s) => k.update(s),
        Stmt::Delete(s) => k.delete(s),
    }
    if let Some(entry) = CACHE.read().ok().and_then(|m| m.get(&k.key).cloned()) {
        let binds = entry
            .plan
            .iter()
            .map(|&i| Value::clone(k.values[i as usize]))
            .collect();
        return Ok(Compiled::new(Arc::clone(&entry.sql), binds));
    }
    let mut c = Compiler::new(dialect);
    stmt.compile_into(&mut c)?;
    let sql: Arc<str> = Arc::from(c.sql);
    if let Some(plan) = bind_plan(&c.sources, &k.values) {
        if let Ok(mut map) = CACHE.write() {
            if map.len() >= CAPACITY {
                map.clear();
            }
            map.insert(
                k.key,
                Arc::new(Entry {
                    sql: Arc::clone(&sql),
                    plan,
                }),
            );
        }
    }
    Ok(Compiled::new(sql, c.binds))
}

/// For each placeholder, the index of its value among the tree's values; `None` if a
/// placeholder's value is not in the tree (then the shape is not cached).
fn bind_plan(sources: &[*const Value], values: &[&Value]) -> Option<Vec<u32>> {
    // The first occurrence in tree order: where a value is reachable twice (one CTE
    // object used in two places), the compiler renders the first.
    let mut index: HashMap<*const Value, u32> = HashMap::with_capacity(values.len());
    for (i, v) in values.iter().enumerate() {
        index.entry(*v as *const Value).or_insert(i as u32);
    }
    sources.iter().map(|s| index.get(s).copied()).collect()
}

/// Writes a statement's shape as bytes and collects its bound values.
struct KeyWriter<'a> {
    key: Vec<u8>,
    values: Vec<&'a Value>,
}

impl<'a> KeyWriter<'a> {
    fn byte(&mut self, b: u8) {
        self.key.push(b);
    }

    fn usize(&mut self, n: usize) {
        self.key.extend_from_slice(&n.to_le_bytes());
    }

    fn str(&mut self, s: &str) {
        self.usize(s.len());
        self.key.extend_from_slice(s.as_bytes());
    }

    fn name(&mut self, n: &Name) {
        match n {
            Name::Borrowed(s) => {
                // A `&'static str` never changes: its address stands for its text.
                self.byte(1);
                self.usize(s.as_ptr() as usize);
                self.usize(s.len());
            }
            Name::Owned(s) => {
                self.byte(2);
                self.str(s);
            }
        }
    }

    fn opt_name(&mut self, n: Option<&Name>) {
        match n {
            Some(n) => self.name(n),
            None => self.byte(0),
        }
    }

    fn qualifier(&mut self, q: &Qualifier) {
        self.opt_name(q.schema.as_ref());
        self.name(&q.name);
        match &q.origin {
            super::expr::Origin::Table => self.byte(0),
            super::expr::Origin::AliasOf { schema, table } => {
                self.byte(1);
                self.opt_name(schema.as_ref());
                self.name(table);
            }
            super::expr::Origin::Derived => self.byte(2),
        }
    }

    fn table(&mut self, t: &Table) {
        match &t.schema {
            Some(s) => {
                self.byte(1);
                self.str(s);
            }
            None => self.byte(0),
        }
        self.str(&t.name);
    }

    fn exprs(&mut self, list: &'a [ExprNode]) {
        self.usize(list.len());
        for e in list {
            self.expr(e);
        }
    }

    fn expr(&mut self, e: &'a ExprNode) {
        match e {
            ExprNode::Column(ColumnRef { qualifier, name }) => {
                self.byte(10);
                match qualifier {
                    Some(q) => {
                        self.byte(1);
                        self.qualifier(q);
                    }
                    None => self.byte(0),
                }
                self.name(name);
            }
            ExprNode::Bind(v) => {
                self.byte(11);
                self.values.push(v);
            }
            ExprNode::Null => self.byte(12),
            ExprNode::Bool(b) => {
                self.byte(13);
                self.byte(u8::from(*b));
            }
            ExprNode::Star(q) => {
                self.byte(14);
                match q {
                    Some(q) => {
                        self.byte(1);
                        self.qualifier(q);
                    }
                    None => self.byte(0),
                }
            }
            ExprNode::Binary(l, op, r) => {
                self.byte(15);
                self.byte(*op as u8);
                self.expr(l);
                self.expr(r);
            }
            ExprNode::Not(x) => {
                self.byte(16);
                self.expr(x);
            }
            ExprNode::Neg(x) => {
                self.byte(17);
                self.expr(x);
            }
            ExprNode::IsNull { expr, negated } => {
                self.byte(18);
                self.byte(u8::from(*negated));
                self.expr(expr);
            }
            ExprNode::InList {
                expr,
                list,
                negated,
            } => {
                self.byte(19);
                self.byte(u8::from(*negated));
                self.expr(expr);
                self.exprs(list);
            }
            ExprNode::InSelect {
                expr,
                select,
                negated,
            } => {
                self.byte(20);
                self.byte(u8::from(*negated));
                self.expr(expr);
                self.select(select);
            }
            ExprNode::Between {
                expr,
                low,
                high,
                negated,
            } => {
                self.byte(21);
                self.byte(u8::from(*negated));
                self.expr(expr);
                self.expr(low);
                self.expr(high);
            }
            ExprNode::Like {
                expr,
                pattern,
                escape,
                case_insensitive,
                negated,
            } => {
                self.byte(22);
                self.byte(u8::from(*case_insensitive) | (u8::from(*negated) << 1));
                self.usize(escape.map_or(0, |c| c as usize + 1));
                self.expr(expr);
                self.expr(pattern);
            }
            ExprNode::Function {
                name,
                args,
                distinct,
            } => {
                self.byte(23);
                self.byte(u8::from(*distinct));
                self.name(name);
                self.exprs(args);
            }
            ExprNode::Case {
                operand,
                whens,
                otherwise,
            } => {
                self.byte(24);
                self.opt_expr(operand.as_deref());
                self.usize(whens.len());
                for (w, t) in whens {
                    self.expr(w);
                    self.expr(t);
                }
                self.opt_expr(otherwise.as_deref());
            }
            ExprNode::Cast(x, ty) => {
                self.byte(25);
                self.str(&format!("{ty:?}"));
                self.expr(x);
            }
            ExprNode::Subquery(s) => {
                self.byte(26);
                self.select(s);
            }
            ExprNode::Exists { select, negated } => {
                self.byte(27);
                self.byte(u8::from(*negated));
                self.select(select);
            }
            ExprNode::Over(f, w) => {
                self.byte(28);
                self.expr(f);
                self.exprs(&w.partition_by);
                self.order(&w.order_by);
            }
            ExprNode::Tuple(items) => {
                self.byte(29);
                self.exprs(items);
            }
            ExprNode::Raw(sql) => {
                self.byte(30);
                self.name(sql);
            }
            ExprNode::Excluded(c) => {
                self.byte(31);
                self.name(c);
            }
            ExprNode::UnknownColumn { table, column, .. } => {
                self.byte(32);
                self.str(table);
                self.str(column);
            }
        }
    }

    fn opt_expr(&mut self, e: Option<&'a ExprNode>) {
        match e {
            Some(e) => {
                self.byte(1);
                self.expr(e);
            }
            None => self.byte(0),
        }
    }

    fn order(&mut self, items: &'a [OrderItem]) {
        self.usize(items.len());
        for o in items {
            self.byte(u8::from(o.desc) | (o.nulls_first.map_or(0, |f| if f { 2 } else { 4 })));
            self.expr(&o.expr);
        }
    }

    fn items(&mut self, items: &'a [SelectItem]) {
        self.usize(items.len());
        for i in items {
            self.expr(&i.expr);
            self.opt_name(i.label.as_ref());
        }
    }

    fn key_from_item(&mut self, f: &'a FromItem) {
        match f {
            FromItem::Table { table, alias } => {
                self.byte(1);
                self.table(table);
                self.opt_name(alias.as_ref());
            }
            FromItem::Subquery { select, alias } => {
                self.byte(2);
                self.select(select);
                self.name(alias);
            }
            FromItem::Cte(c) => {
                self.byte(3);
                self.name(&c.name);
            }
            FromItem::Named(q) => {
                self.byte(4);
                self.qualifier(q);
            }
        }
    }

    fn cte(&mut self, c: &'a Cte) {
        self.name(&c.name);
        self.byte(u8::from(c.recursive));
        self.usize(c.columns.len());
        for col in &c.columns {
            self.name(col);
        }
        match &c.query {
            Some(q) => {
                self.byte(1);
                self.select(q);
            }
            None => self.byte(0),
        }
    }

    fn select(&mut self, s: &'a SelectStatement) {
        self.byte(40);
        self.byte(u8::from(s.error.is_some()));
        self.usize(s.ctes.len());
        for c in &s.ctes {
            self.cte(c);
        }
        match &s.body {
            SelectBody::Core(core) => {
                self.byte(1);
                self.byte(u8::from(core.distinct));
                self.items(&core.columns);
                self.usize(core.from.len());
                for clause in &core.from {
                    self.key_from_item(&clause.item);
                    self.usize(clause.joins.len());
                    for j in &clause.joins {
                        self.byte(j.kind as u8);
                        self.key_from_item(&j.item);
                        self.expr(&j.on);
                    }
                }
                self.opt_expr(core.filter.as_ref());
                self.exprs(&core.group_by);
                self.opt_expr(core.having.as_ref());
            }
            SelectBody::Compound { op, left, right } => {
                self.byte(2);
                self.byte(*op as u8);
                self.select(left);
                self.select(right);
            }
        }
        self.order(&s.order_by);
        self.opt_expr(s.limit.as_ref());
        self.opt_expr(s.offset.as_ref());
        self.byte(s.lock.map_or(0, |l| l as u8 + 1));
    }

    fn assignments(&mut self, set: &'a [Assignment]) {
        self.usize(set.len());
        for a in set {
            self.name(&a.column);
            self.expr(&a.value);
        }
    }

    fn insert(&mut self, s: &'a InsertStatement) {
        self.byte(50);
        self.byte(u8::from(s.error.is_some()));
        self.table(&s.table);
        self.usize(s.columns.len());
        for c in &s.columns {
            self.name(c);
        }
        self.usize(s.rows.len());
        for row in &s.rows {
            self.exprs(row);
        }
        match &s.select {
            Some(sel) => {
                self.byte(1);
                self.select(sel);
            }
            None => self.byte(0),
        }
        match &s.on_conflict {
            None => self.byte(0),
            Some(OnConflict::DoNothing { target }) => {
                self.byte(1);
                self.usize(target.len());
                target.iter().for_each(|t| self.name(t));
            }
            Some(OnConflict::DoUpdate {
                target,
                set,
                filter,
            }) => {
                self.byte(2);
                self.usize(target.len());
                target.iter().for_each(|t| self.name(t));
                self.assignments(set);
                self.opt_expr(filter.as_ref());
            }
        }
        self.items(&s.returning);
    }

    fn update(&mut self, s: &'a UpdateStatement) {
        self.byte(51);
        self.table(&s.table);
        self.assignments(&s.set);
        self.opt_expr(s.filter.as_ref());
        self.items(&s.returning);
    }

    fn delete(&mut self, s: &'a DeleteStatement) {
        self.byte(52);
        self.table(&s.table);
        self.opt_expr(s.filter.as_ref());
        self.items(&s.returning);
    }
}
