//! `joinedload`: relationships loaded by the query's own SELECT, through a LEFT OUTER
//! JOIN (or an INNER JOIN with `innerjoin`) to an aliased table per step.
//!
//! The leading joined steps of every path form a tree of joins under the queried model
//! (`joinedload(A::b).joinedload(B::c)` and `joinedload(A::b).joinedload(B::d)` share
//! `A::b`); each node is an alias `orm_j<n>`, so a model joined twice is two aliases. Rows
//! repeat their parent for every child: parents are taken once each, in row order,
//! and each one's children are collected in row order without repeats.
//!
//! With LIMIT/OFFSET and a collection joined, the limit must count parents, not rows:
//! the query (its filters, order and limit) becomes a subquery that also numbers its rows
//! (`ROW_NUMBER() OVER (ORDER BY <the query's order>)`), and the joins hang off that
//! subquery, ordered by the number. A locking query (`FOR UPDATE`) or a `DISTINCT` one
//! with a limit loads its joined collections with selectin's second SELECT instead,
//! since neither can be wrapped that way.
//!
//! The steps after the joined ones in a path (`joinedload(A::b).selectinload(B::c)`) run
//! as their own strategy over the objects the join found.

use std::collections::{HashMap, HashSet};

use crate::error::{Error, Result};
use crate::loading::LoadStep;
use crate::model::relationship::{LoadStrategy, RelationshipInfo, RelationshipKind};
use crate::session::identity::FastHash;
use crate::session::object::Handle;
use crate::session::unit_of_work::{Join as RelJoin, resolve};
use crate::session::vtable::ModelVTable;
use crate::session::{LoadMode, Session, check_unlocked};
use crate::sql::{
    BinaryOp, ColumnRef, ExprNode, FromItem, JoinKind, Name, OrderItem, Origin, Qualifier,
    SelectBody, SelectItem, SelectStatement, and_all,
};

/// One joined relationship.
struct Node {
    /// The node the relationship starts from (`None`: the queried model).
    parent: Option<usize>,
    owner: &'static ModelVTable,
    index: usize,
    info: &'static RelationshipInfo,
    target: &'static ModelVTable,
    join: std::sync::Arc<RelJoin>,
    inner: bool,
    /// `contains_eager`: the query joins the target itself, under this name.
    eager_from: Option<Name>,
    /// Where the target's columns start in a row.
    offset: usize,
    /// Column options of the steps that reach this node, and the target's columns they
    /// leave out (set by `statement`).
    columns: Vec<crate::loading::ColumnOption>,
    skip: u64,
}

impl Node {
    fn alias(&self, n: usize) -> String {
        match &self.eager_from {
            Some(name) => name.to_string(),
            None => format!("orm_j{n}"),
        }
    }

    fn qualifier(&self, n: usize) -> Qualifier {
        match &self.eager_from {
            // The target's table under its own name.
            Some(name) if self.target.schema.is_none() && name == self.target.table_name => {
                Qualifier::table(None, name.clone())
            }
            Some(name) if name == self.target.table_name => Qualifier::table(
                self.target.schema.map(Name::Borrowed),
                Name::Borrowed(self.target.table_name),
            ),
            _ => alias_qualifier(self.alias(n), self.target),
        }
    }

    fn collection(&self) -> bool {
        matches!(
            self.info.kind,
            RelationshipKind::OneToMany | RelationshipKind::ManyToMany
        )
    }
}

/// The joins of a query, and what is left of each path after its joined steps.
pub(crate) struct Plan {
    nodes: Vec<Node>,
    /// Per path: the node its joined steps end at (`None`: none were joined) and the
    /// steps left.
    rests: Vec<(Option<usize>, Vec<LoadStep>)>,
}

impl Plan {
    /// Splits `paths` (of queries of `root`) into joins and the rest. With
    /// `collections` false, joined collections are left to the rest (run as selectin).
    pub(crate) fn new(
        root: &'static ModelVTable,
        paths: &[Vec<LoadStep>],
        collections: bool,
    ) -> Result<Plan> {
        let mut nodes: Vec<Node> = Vec::new();
        let mut rests = Vec::new();
        for path in paths {
            let mut at: Option<usize> = None;
            let mut owner = root;
            let mut taken = 0;
            for step in path {
                let eager = step.strategy == LoadStrategy::ContainsEager;
                if step.strategy != LoadStrategy::Joined && !eager {
                    break;
                }
                let index = owner.relationship_index(step.relationship).ok_or_else(|| {
                    Error::InvalidRequest {
                        message: format!(
                            "`{}` has no relationship `{}`",
                            owner.name, step.relationship
                        ),
                    }
                })?;
                let info = &(owner.relationships)()[index];
                let existing = nodes
                    .iter()
                    .position(|n| n.parent == at && std::ptr::eq(n.info, info));
                let node = match existing {
                    Some(i) => {
                        nodes[i].columns.extend(step.columns.iter().cloned());
                        i
                    }
                    None => {
                        let kind_ok = eager
                            || collections
                            || !matches!(
                                info.kind,
                                RelationshipKind::OneToMany | RelationshipKind::ManyToMany
                            );
                        if !kind_ok {
                            break;
                        }
                        nodes.push(Node {
                            parent: at,
                            owner,
                            index,
                            info,
                            target: (info.target_vtable)(),
                            join: resolve(owner, info)?,
                            inner: step.innerjoin,
                            eager_from: eager.then(|| {
                                step.alias
                                    .clone()
                                    .unwrap_or(Name::Borrowed((info.target_vtable)().table_name))
                            }),
                            offset: 0,
                            columns: step.columns.clone(),
                            skip: 0,
                        });
                        nodes.len() - 1
                    }
                };
                owner = nodes[node].target;
                at = Some(node);
                taken += 1;
            }
            // Steps not joined keep their strategy; a joined one that could not be (a
            // collection under a lock) runs as selectin.
            let mut rest: Vec<LoadStep> = path[taken..].to_vec();
            for s in &mut rest {
                if s.strategy == LoadStrategy::Joined {
                    s.strategy = LoadStrategy::Selectin;
                }
                if s.strategy == LoadStrategy::ContainsEager {
                    return Err(Error::InvalidRequest {
                        message: format!(
                            "contains_eager({}.{}) must start its path or follow joinedload / contains_eager steps",
                            s.model, s.relationship
                        ),
                    });
                }
            }
            rests.push((at, rest));
        }
        Ok(Plan { nodes, rests })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    fn has_collection(&self) -> bool {
        self.nodes
            .iter()
            .any(|n| n.collection() && n.eager_from.is_none())
    }

    /// The query with the joins and their columns added.
    pub(crate) fn statement(
        &mut self,
        root: &'static ModelVTable,
        mut stmt: SelectStatement,
        root_skip: u64,
    ) -> Result<SelectStatement> {
        let root_cols = (root.columns)().len() - root_skip.count_ones() as usize;
        let wrap = self.has_collection() && (stmt.limit.is_some() || stmt.offset.is_some());
        // The qualifier of the queried model's columns in the outer statement.
        let root_qualifier = if wrap {
            let order = std::mem::take(&mut stmt.order_by);
            let numbered = SelectItem {
                expr: crate::sql::func::row_number()
                    .over(crate::sql::Window {
                        partition_by: Vec::new(),
                        order_by: order.clone(),
                    })
                    .into_node(),
                label: Some(Name::Borrowed("orm_rn")),
            };
            stmt.order_by = order;
            if let SelectBody::Core(core) = &mut stmt.body {
                core.columns.push(numbered);
            }
            let outer_items: Vec<SelectItem> = (root.columns)()
                .iter()
                .enumerate()
                .filter(|(i, _)| *i >= 64 || root_skip & (1 << i) == 0)
                .map(|(_, c)| SelectItem {
                    expr: derived_col("orm_anon", c.name),
                    label: None,
                })
                .collect();
            let inner = stmt;
            stmt = crate::sql::select(outer_items).from(&inner.subquery("orm_anon"));
            stmt.order_by.push(OrderItem {
                expr: derived_col("orm_anon", "orm_rn"),
                desc: false,
                nulls_first: None,
            });
            Qualifier {
                schema: None,
                name: Name::Borrowed("orm_anon"),
                origin: Origin::Derived,
            }
        } else {
            Qualifier::table(
                root.schema.map(Name::Borrowed),
                Name::Borrowed(root.table_name),
            )
        };
        let mut offset = root_cols;
        let mut extra_order = Vec::new();
        for n in 0..self.nodes.len() {
            let node = &self.nodes[n];
            let alias = node.alias(n);
            let parent_q = match node.parent {
                None => root_qualifier.clone(),
                Some(p) => self.nodes[p].qualifier(p),
            };
            let target_q = node.qualifier(n);
            let parent_cols = (node.owner.columns)();
            let target_cols = (node.target.columns)();
            let skip = crate::loading::skip_mask(target_cols, node.target.name, &node.columns)?;
            let kind = if node.inner {
                JoinKind::Inner
            } else {
                JoinKind::Left
            };
            match &node.join.secondary {
                // contains_eager: the query joined it already.
                _ if node.eager_from.is_some() => {}
                None => {
                    let on = and_all(node.join.local.iter().zip(&node.join.remote).map(
                        |(&l, &r)| {
                            eq(
                                col(&parent_q, parent_cols[l].name),
                                col(&target_q, target_cols[r].name),
                            )
                        },
                    ));
                    stmt = add_join(stmt, kind, node.target, Some(alias.clone()), on);
                }
                Some(sec) => {
                    let sec_alias = format!("{alias}_s");
                    let sec_q = table_alias_qualifier(sec_alias.clone(), &sec.table);
                    let on_sec = and_all(node.join.local.iter().zip(&sec.local).map(|(&l, c)| {
                        eq(col(&parent_q, parent_cols[l].name), col_owned(&sec_q, c))
                    }));
                    stmt = stmt.add_join(
                        kind,
                        FromItem::Table {
                            table: std::sync::Arc::clone(&sec.table),
                            alias: Some(Name::Owned(sec_alias)),
                        },
                        Some(on_sec.into_node()),
                    );
                    let on = and_all(node.join.remote.iter().zip(&sec.remote).map(|(&r, c)| {
                        eq(col_owned(&sec_q, c), col(&target_q, target_cols[r].name))
                    }));
                    stmt = add_join(stmt, kind, node.target, Some(alias.clone()), on);
                }
            }
            if let SelectBody::Core(core) = &mut stmt.body {
                core.columns.extend(
                    target_cols
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| *i >= 64 || skip & (1 << i) == 0)
                        .map(|(_, c)| SelectItem {
                            expr: col(&target_q, c.name),
                            label: None,
                        }),
                );
            }
            // A collection in its relationship's order, then by key, as selectin
            // (contains_eager keeps the query's order).
            if node.collection() && node.eager_from.is_none() {
                for ob in node.info.order_by {
                    let (desc, name) = match ob.strip_prefix('-') {
                        Some(name) => (true, name),
                        None => (false, *ob),
                    };
                    if let Some(c) = target_cols.iter().find(|c| c.name == name) {
                        extra_order.push(OrderItem {
                            expr: col(&target_q, c.name),
                            desc,
                            nulls_first: None,
                        });
                    }
                }
                for c in target_cols.iter().filter(|c| c.primary_key) {
                    extra_order.push(OrderItem {
                        expr: col(&target_q, c.name),
                        desc: false,
                        nulls_first: None,
                    });
                }
            }
            self.nodes[n].offset = offset;
            self.nodes[n].skip = skip;
            offset += target_cols.len() - skip.count_ones() as usize;
        }
        stmt.order_by.extend(extra_order);
        Ok(stmt)
    }

    /// True when loading an object of the queried model `root` or of a joined one
    /// must call back into the session (hooks or listeners): then the rows are
    /// collected and decoded with [`decode`](Plan::decode), not as they are read.
    pub(crate) fn listened(&self, s: &Session, root: &'static ModelVTable) -> bool {
        std::iter::once(root)
            .chain(self.nodes.iter().map(|n| n.target))
            .any(|vt| s.listens_to_loads_of(vt))
    }

    /// Runs `stmt` (made by [`statement`](Plan::statement)) and loads the objects of
    /// its rows as they are read: the queried model's object of each row (counted, its
    /// columns first, read with `root_mode`), and per node the object of each row
    /// (`None`: nothing joined there). A model met twice (a self-reference) has one
    /// loader.
    pub(crate) async fn fetch(
        &self,
        s: &mut Session,
        root: &'static ModelVTable,
        stmt: &crate::sql::SelectStatement,
        root_mode: LoadMode,
        mode: LoadMode,
    ) -> Result<(Vec<Handle>, Vec<Vec<Option<Handle>>>)> {
        let (tx, stores, registry) = s.tx_and_stores().await?;
        let mut models = vec![(root.type_id)()];
        let mut loaders = vec![(root.row_loader)(stores, registry)];
        let mut which = Vec::with_capacity(self.nodes.len());
        for node in &self.nodes {
            let id = (node.target.type_id)();
            let i = match models.iter().position(|m| *m == id) {
                Some(i) => i,
                None => {
                    models.push(id);
                    loaders.push((node.target.row_loader)(stores, registry));
                    models.len() - 1
                }
            };
            which.push(i);
        }
        let mut roots = Vec::new();
        let mut per_row: Vec<Vec<Option<Handle>>> = self.nodes.iter().map(|_| Vec::new()).collect();
        tx.fetch_each(stmt, &mut |row| {
            let root = loaders[0]
                .load_at(stores, row, 0, root_mode, true, false)?
                .unwrap_or_else(|| unreachable!("a load that is not optional gives an object"));
            roots.push(root);
            for (n, node) in self.nodes.iter().enumerate() {
                let mode = mode.with_skip(node.skip);
                let h = loaders[which[n]].load_at(stores, row, node.offset, mode, false, true)?;
                per_row[n].push(h);
            }
            Ok(())
        })
        .await?;
        Ok((roots, per_row))
    }

    /// Per node, the object of each of `rows` (`None`: nothing joined there), loaded as
    /// [`Session::load_row`] does (hooks and listeners run).
    pub(crate) fn decode(
        &self,
        s: &mut Session,
        rows: &[crate::row::Row],
        mode: LoadMode,
    ) -> Result<Vec<Vec<Option<Handle>>>> {
        self.nodes
            .iter()
            .map(|node| {
                (node.target.decode_rows_at)(s, rows, node.offset, mode.with_skip(node.skip))
            })
            .collect()
    }

    /// Fills the joined relationships from the objects of each row (`per_row`, per
    /// node; `roots`, the queried model's), then runs the rest of every path.
    pub(crate) async fn load(
        &self,
        s: &mut Session,
        per_row: Vec<Vec<Option<Handle>>>,
        roots: &[Handle],
        mode: LoadMode,
        base: Option<&crate::sql::SelectStatement>,
    ) -> Result<()> {
        let mut reached: Vec<Vec<Handle>> = Vec::with_capacity(self.nodes.len());
        for (n, node) in self.nodes.iter().enumerate() {
            // Parents in row order, each with its children in row order, once each.
            let rows_here = per_row[n].len();
            let mut order: Vec<Handle> = Vec::new();
            let mut children: HashMap<usize, Vec<Handle>, FastHash> = HashMap::default();
            // (parent, child) pairs seen: a child once per parent however many rows
            // repeat it.
            let mut pairs: HashSet<(usize, usize), FastHash> =
                HashSet::with_capacity_and_hasher(rows_here, FastHash::default());
            let mut found = Vec::with_capacity(rows_here);
            let mut found_seen: HashSet<usize, FastHash> =
                HashSet::with_capacity_and_hasher(rows_here, FastHash::default());
            for (r, child) in per_row[n].iter().enumerate() {
                let parent = match node.parent {
                    None => Some(&roots[r]),
                    Some(p) => per_row[p][r].as_ref(),
                };
                let Some(parent) = parent else { continue };
                let entry = children.entry(parent.addr()).or_insert_with(|| {
                    order.push(parent.uncounted());
                    Vec::new()
                });
                if let Some(c) = child {
                    if pairs.insert((parent.addr(), c.addr())) {
                        entry.push(c.uncounted());
                    }
                    if found_seen.insert(c.addr()) {
                        found.push(c.uncounted());
                    }
                }
            }
            for parent in &order {
                check_unlocked(parent, "loading its relationships")?;
                let mut loaded = false;
                (node.owner.with_relationship)(parent, node.index, &mut |r| {
                    loaded = r.is_loaded();
                });
                if loaded && !mode.populate_existing {
                    continue;
                }
                let mut items = children.remove(&parent.addr());
                (node.owner.with_relationship_mut)(parent, node.index, &mut |r| {
                    r.set_loaded(items.take().unwrap_or_default());
                });
            }
            reached.push(found);
        }
        for (at, rest) in &self.rests {
            if rest.is_empty() {
                continue;
            }
            let (level, base): (Vec<Handle>, _) = match at {
                None => (roots.iter().map(Handle::uncounted).collect(), base),
                Some(n) => (reached[*n].iter().map(Handle::uncounted).collect(), None),
            };
            crate::session::selectin::load_path(s, level, rest, mode, base).await?;
        }
        // The objects joined in get their models' default loads, but for the
        // relationships the plan itself goes on with.
        for (n, node) in self.nodes.iter().enumerate() {
            if reached[n].is_empty() || !crate::session::selectin::has_defaults(node.target) {
                continue;
            }
            let except: Vec<&'static str> = self
                .nodes
                .iter()
                .filter(|c| c.parent == Some(n))
                .map(|c| c.info.name)
                .chain(
                    self.rests
                        .iter()
                        .filter(|(at, _)| *at == Some(n))
                        .filter_map(|(_, rest)| rest.first().map(|r| r.relationship)),
                )
                .collect();
            let objs = std::mem::take(&mut reached[n]);
            crate::session::selectin::load_defaults(s, objs, except, mode).await?;
        }
        Ok(())
    }
}

/// `alias` standing for the table of model `vt`.
pub(crate) fn alias_qualifier(alias: String, vt: &'static ModelVTable) -> Qualifier {
    Qualifier {
        schema: None,
        name: Name::Owned(alias),
        origin: Origin::AliasOf {
            schema: vt.schema.map(Name::Borrowed),
            table: Name::Borrowed(vt.table_name),
        },
    }
}

/// `alias` standing for `table` (an association table).
pub(crate) fn table_alias_qualifier(alias: String, table: &crate::schema::Table) -> Qualifier {
    Qualifier {
        schema: None,
        name: Name::Owned(alias),
        origin: Origin::AliasOf {
            schema: table.schema.clone().map(Name::Owned),
            table: Name::Owned(table.name.clone()),
        },
    }
}

fn col(q: &Qualifier, name: &'static str) -> ExprNode {
    ExprNode::Column(ColumnRef {
        qualifier: Some(q.clone()),
        name: Name::Borrowed(name),
        value_type: None,
    })
}

fn col_owned(q: &Qualifier, name: &str) -> ExprNode {
    ExprNode::Column(ColumnRef {
        qualifier: Some(q.clone()),
        name: Name::Owned(name.to_owned()),
        value_type: None,
    })
}

fn derived_col(alias: &'static str, name: &'static str) -> ExprNode {
    col(
        &Qualifier {
            schema: None,
            name: Name::Borrowed(alias),
            origin: Origin::Derived,
        },
        name,
    )
}

fn eq(a: ExprNode, b: ExprNode) -> crate::sql::Expr<bool> {
    ExprNode::Binary(Box::new(a), BinaryOp::Eq, Box::new(b)).typed::<bool>()
}

fn add_join(
    stmt: SelectStatement,
    kind: JoinKind,
    target: &'static ModelVTable,
    alias: Option<String>,
    on: crate::sql::Expr<bool>,
) -> SelectStatement {
    stmt.add_join(
        kind,
        FromItem::Table {
            table: (target.table)(),
            alias: alias.map(Name::Owned),
        },
        Some(on.into_node()),
    )
}
