//! Running loader paths after a query: `selectinload` issues one SELECT per relationship
//! per level (`WHERE key IN (...)`, chunked at 500 keys as SQLAlchemy does), and every
//! object it finds goes through the identity map.
//!
//! - many-to-one: the foreign keys of the parents; targets already in the identity map
//!   cost no SQL (none at all when every target is there);
//! - one-to-many / one-to-one: children whose foreign key is among the parents' keys,
//!   in the relationship's `order_by`, then by key;
//! - many-to-many: targets joined to the association table, grouped by its column.
//!
//! A relationship already loaded is left as it is unless the query says
//! `populate_existing`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::loading::LoadStep;
use crate::model::relationship::{LoadStrategy, RelationshipKind};
use crate::session::identity::FastHash;
use crate::session::object::Handle;
use crate::session::unit_of_work::{
    Join, model_col as col, model_items_skip, order_related, resolve, table_col,
};
use crate::session::vtable::ModelVTable;
use crate::session::{LoadMode, Session, check_unlocked};
use crate::sql::{
    BinaryOp, ExprNode, FromItem, JoinKind, Name, Origin, Qualifier, SelectItem, SelectStatement,
    and_all, or_all, select,
};
use crate::value::Value;

/// Keys per IN list.
const CHUNK: usize = 500;

/// A value as a hashable key part (integers of every width compare equal).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Part {
    Null,
    Int(i128),
    Text(String),
    Bytes(Vec<u8>),
    Other(String),
}

pub(crate) fn part(v: &Value) -> Part {
    match v {
        Value::Null | Value::TypedNull(_) => Part::Null,
        Value::Bool(b) => Part::Int(i128::from(*b)),
        Value::I16(n) => Part::Int(i128::from(*n)),
        Value::I32(n) => Part::Int(i128::from(*n)),
        Value::I64(n) => Part::Int(i128::from(*n)),
        Value::Text(s) => Part::Text(s.clone()),
        Value::Bytes(b) => Part::Bytes(b.clone()),
        other => Part::Other(format!("{other:?}")),
    }
}

/// The key of the values of a relationship's join columns (one per column).
fn key_of(values: &[Value]) -> Key {
    match values {
        [one] => Key::One(part(one)),
        many => Key::Many(many.iter().map(part).collect()),
    }
}

/// The key of a row's columns at `at`.
pub(crate) fn row_key(row: &crate::row::Row, at: &[usize]) -> Result<Key> {
    Ok(match at {
        [one] => Key::One(match row.int_at(*one) {
            Some(n) => Part::Int(n.into()),
            None => part(&row.value(*one)?),
        }),
        many => Key::Many(
            many.iter()
                .map(|&i| row.value(i).map(|v| part(&v)))
                .collect::<Result<_>>()?,
        ),
    })
}

/// A group's key: the join columns' values (one column, the usual case, allocates
/// nothing for integers).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    One(Part),
    Many(Vec<Part>),
}

/// The objects a step found, by the key of the objects they belong to.
type Groups = HashMap<Key, Vec<Handle>, FastHash>;

/// How many keys one SELECT takes: all of them as one array on PostgreSQL (one
/// column), else [`CHUNK`].
pub(crate) fn chunk_size(s: &Session, columns: usize) -> usize {
    if columns == 1 && s.engine.dialect() == crate::dialect::Dialect::Postgres {
        usize::MAX
    } else {
        CHUNK
    }
}

/// `col = ANY($1)` with one array bind (PostgreSQL, one column: one SQL text for any
/// number of keys), `col IN (keys)` (one column) or `(c1 = ? AND c2 = ?) OR ...`
/// (composite).
pub(crate) fn in_keys(
    s: &Session,
    cols: Vec<ExprNode>,
    keys: &[Vec<Value>],
) -> crate::sql::Expr<bool> {
    if cols.len() == 1 && s.engine.dialect() == crate::dialect::Dialect::Postgres {
        let array = Value::Array(keys.iter().map(|k| k[0].clone()).collect());
        return ExprNode::Binary(
            Box::new(cols[0].clone()),
            BinaryOp::Eq,
            Box::new(ExprNode::Function {
                name: crate::sql::Name::Borrowed("ANY"),
                args: vec![ExprNode::Bind(array)],
                distinct: false,
            }),
        )
        .typed();
    }
    if cols.len() == 1 {
        return ExprNode::InList {
            expr: Box::new(cols[0].clone()),
            list: keys.iter().map(|k| ExprNode::Bind(k[0].clone())).collect(),
            negated: false,
        }
        .typed();
    }
    or_all(keys.iter().map(|k| {
        and_all(cols.iter().zip(k).map(|(c, v)| {
            ExprNode::Binary(
                Box::new(c.clone()),
                BinaryOp::Eq,
                Box::new(ExprNode::Bind(v.clone())),
            )
            .typed::<bool>()
        }))
    }))
}

/// Runs each path's steps over the objects a query returned.
/// `base` is the query that found `roots`, for a first `subqueryload` step.
pub(crate) async fn load_paths(
    s: &mut Session,
    roots: &[Handle],
    paths: &[Vec<LoadStep>],
    mode: LoadMode,
    base: Option<&SelectStatement>,
) -> Result<()> {
    for path in paths {
        let level = roots.iter().map(Handle::uncounted).collect();
        load_path(s, level, path, mode, base).await?;
    }
    Ok(())
}

/// Runs the steps of one path from the objects `level`; `base` is the query that found
/// them, for `subqueryload` steps.
///
/// A `subqueryload` step whose previous steps (if any) were all `subqueryload` ones joins
/// `base` as a subquery, then the tables of those steps (aliased `orm_sq_1`, ... with
/// their association tables), then the related table: one SELECT per level, without the
/// keys, SQLAlchemy's form. After a selectin or joined step, or without `base`, its
/// subquery is a SELECT of the key columns of the objects to load for, by their primary
/// keys (the previous loader's own query, as SQLAlchemy builds on it).
pub(crate) async fn load_path(
    s: &mut Session,
    mut level: Vec<Handle>,
    path: &[LoadStep],
    mode: LoadMode,
    base: Option<&SelectStatement>,
) -> Result<()> {
    // The relationships from `base` down to `level` while every step was subqueryload.
    let mut chain: Option<Vec<Hop>> = base.map(|_| Vec::new());
    // The objects the previous chained SELECT found (`None`: `level` is base's own).
    let mut reached: Option<HashSet<usize, FastHash>> = None;
    // Objects a step loaded whose model loads relationships by default, with the
    // relationship the path's next step names (its own step wins).
    let mut with_defaults: Vec<(Vec<Handle>, Vec<&'static str>)> = Vec::new();
    for (depth, step) in path.iter().enumerate() {
        if level.is_empty() {
            break;
        }
        let via = match step.strategy {
            LoadStrategy::NoLoad | LoadStrategy::Explicit => break,
            LoadStrategy::Raise => {
                mark_raise(&level, step)?;
                break;
            }
            LoadStrategy::Subquery => match (&chain, base) {
                (Some(hops), Some(base)) => Via::Chain {
                    base,
                    hops,
                    reached: reached.as_ref(),
                },
                _ => Via::Keys,
            },
            // A joined step after a selectin one loads with selectin's SELECT.
            LoadStrategy::Selectin | LoadStrategy::Joined => Via::Selectin,
            LoadStrategy::ContainsEager => {
                return Err(Error::InvalidRequest {
                    message: format!(
                        "contains_eager({}.{}) fills a relationship from the query's own join; it cannot follow a selectin step",
                        step.model, step.relationship
                    ),
                });
            }
        };
        let chained = matches!(via, Via::Chain { .. });
        let defaults = target_of(&level, step).is_some_and(has_defaults);
        let last = depth + 1 == path.len() && !defaults;
        let stepped = load_step(s, &level, step, mode, via, last).await?;
        level = stepped.next;
        if defaults && !level.is_empty() {
            let next = path.get(depth + 1).map(|n| n.relationship);
            with_defaults.push((
                level.iter().map(Handle::uncounted).collect(),
                next.into_iter().collect(),
            ));
        }
        if chained {
            if let Some(hops) = chain.as_mut() {
                hops.push(stepped.hop);
            }
            reached = Some(stepped.found);
        } else {
            chain = None;
        }
    }
    for (objs, except) in with_defaults {
        load_defaults(s, objs, except, mode).await?;
    }
    Ok(())
}

/// The model a step's relationship leads to from `level`'s model (`None`: no such
/// relationship; the step reports it).
fn target_of(level: &[Handle], step: &LoadStep) -> Option<&'static ModelVTable> {
    let vt = level.first()?.vtable();
    let index = vt.relationship_index(step.relationship)?;
    Some(((vt.relationships)()[index].target_vtable)())
}

/// True when the model has relationships that load with its objects by default.
pub(crate) fn has_defaults(vt: &'static ModelVTable) -> bool {
    (vt.relationships)().iter().any(|r| {
        matches!(
            r.lazy,
            LoadStrategy::Selectin | LoadStrategy::Subquery | LoadStrategy::Joined
        )
    })
}

/// Loads the relationships of `objs` (of one model) that load by default
/// (`lazy = "selectin"`, `"subquery"`, `"joined"`), except those in `except` (a path's
/// own steps load them), as SQLAlchemy does for objects a relationship brought: below a query's
/// top level a `joined` default loads with selectin's SELECT and a `subquery` one from
/// a SELECT of the objects' keys. The objects they load get their own defaults in
/// turn; each level loads only relationships not loaded yet (`populate_existing`
/// applies to the query's own paths), so a self-referential default stops at the
/// leaves and a cycle of defaults stops where everything is loaded.
pub(crate) fn load_defaults<'a>(
    s: &'a mut Session,
    objs: Vec<Handle>,
    except: Vec<&'static str>,
    mode: LoadMode,
) -> futures_core::future::BoxFuture<'a, Result<()>> {
    Box::pin(async move {
        let Some(vt) = objs.first().map(Handle::vtable) else {
            return Ok(());
        };
        if except.contains(&crate::loading::EVERY) {
            // `raiseload_all` follows: it overrides every default.
            return Ok(());
        }
        let mode = LoadMode {
            populate_existing: false,
            ..mode
        };
        for info in (vt.relationships)() {
            let strategy = match info.lazy {
                LoadStrategy::Selectin | LoadStrategy::Joined => LoadStrategy::Selectin,
                LoadStrategy::Subquery => LoadStrategy::Subquery,
                _ => continue,
            };
            if except.contains(&info.name) {
                continue;
            }
            let step = LoadStep {
                model: vt.name,
                relationship: info.name,
                strategy,
                innerjoin: false,
                alias: None,
                columns: Vec::new(),
            };
            let level = objs.iter().map(Handle::uncounted).collect();
            load_path(s, level, std::slice::from_ref(&step), mode, None).await?;
        }
        Ok(())
    })
}

/// How a step loads.
enum Via<'a> {
    /// selectin's SELECT (`key IN (...)`).
    Selectin,
    /// `subqueryload` from the query that found the path's first objects, joined down
    /// through `hops`; objects of the level not among `reached` (`None`: all are) load
    /// as with [`Via::Keys`].
    Chain {
        base: &'a SelectStatement,
        hops: &'a [Hop],
        reached: Option<&'a HashSet<usize, FastHash>>,
    },
    /// `subqueryload` from a SELECT of the objects' keys.
    Keys,
}

/// One relationship of a chain of `subqueryload` steps.
struct Hop {
    owner: &'static ModelVTable,
    join: Arc<Join>,
    target: &'static ModelVTable,
}

/// What a step did: the objects for the next step, the relationship it followed, and
/// (for a chained `subqueryload`) every object its SELECT found.
struct Stepped {
    next: Vec<Handle>,
    hop: Hop,
    found: HashSet<usize, FastHash>,
}

/// `raiseload`: reading the relationship of these objects (while unloaded) is
/// [`Error::RaiseLoad`].
pub(crate) fn mark_raise(objs: &[Handle], step: &LoadStep) -> Result<()> {
    let vt = objs[0].vtable();
    if step.relationship == crate::loading::EVERY {
        // Every relationship not loaded by now (`raiseload_all` at the end of a path).
        for h in objs {
            for index in 0..(vt.relationships)().len() {
                (vt.with_relationship_mut)(h, index, &mut |r| r.set_raise());
            }
        }
        return Ok(());
    }
    let Some(index) = vt.relationship_index(step.relationship) else {
        return Err(Error::InvalidRequest {
            message: format!("`{}` has no relationship `{}`", vt.name, step.relationship),
        });
    };
    for h in objs {
        (vt.with_relationship_mut)(h, index, &mut |r| r.set_raise());
    }
    Ok(())
}

/// Loads relationship `step` of every object of `objs` (all of one model); returns the
/// objects found, once each, for the next step (nothing when `last`: no step follows).
async fn load_step(
    s: &mut Session,
    objs: &[Handle],
    step: &LoadStep,
    mode: LoadMode,
    via: Via<'_>,
    last: bool,
) -> Result<Stepped> {
    let vt = objs[0].vtable();
    let Some(index) = vt.relationship_index(step.relationship) else {
        return Err(Error::InvalidRequest {
            message: format!("`{}` has no relationship `{}`", vt.name, step.relationship),
        });
    };
    let info = &(vt.relationships)()[index];
    let join = resolve(vt, info)?;
    let target = (info.target_vtable)();
    // The target's columns this step leaves out; never those the objects are grouped by.
    let mut skip = crate::loading::skip_mask((target.columns)(), target.name, &step.columns)?;
    for &r in &join.remote {
        if r < 64 {
            skip &= !(1 << r);
        }
    }
    // Objects whose relationship is to be filled (not clobbering loaded ones), with the
    // values of the columns they join by (`join.local` order).
    let mut todo: Vec<(Handle, Vec<Value>)> = Vec::with_capacity(objs.len());
    let mut seen: HashSet<usize, FastHash> =
        HashSet::with_capacity_and_hasher(objs.len(), FastHash::default());
    for h in objs {
        if !seen.insert(h.addr()) {
            continue;
        }
        check_unlocked(h, "loading its relationships")?;
        let mut loaded = false;
        (vt.with_relationship)(h, index, &mut |r| loaded = r.is_loaded());
        if loaded && !mode.populate_existing {
            continue;
        }
        check_join_loaded(h, vt, &join.local)?;
        todo.push((h.uncounted(), (vt.column_values)(h, &join.local)));
    }
    let mut found = HashSet::default();
    let rel = Rel {
        owner: vt,
        join: &join,
        target,
        skip,
        order_by: info.order_by,
    };
    let mut groups: Groups = match (info.kind, via) {
        _ if todo.is_empty() => Groups::default(),
        (
            _,
            Via::Chain {
                base,
                hops,
                reached,
            },
        ) => {
            // Objects the chain does not reach (a collection loaded before and changed
            // since) load by their keys.
            let rest: Vec<&Handle> = match reached {
                None => Vec::new(),
                Some(reached) => todo
                    .iter()
                    .filter(|(h, _)| !reached.contains(&h.addr()))
                    .map(|(h, _)| h)
                    .collect(),
            };
            // The chain's SELECT, unless it reaches none of them.
            let mut groups = if rest.len() < todo.len() {
                subquery(s, &rel, base, hops).await?
            } else {
                Groups::default()
            };
            for h in groups.values().flatten() {
                found.insert(h.addr());
            }
            if !rest.is_empty() {
                for (key, items) in by_keys(s, &rel, &rest).await? {
                    groups.entry(key).or_insert(items);
                }
            }
            groups
        }
        (_, Via::Keys) => {
            let todo: Vec<&Handle> = todo.iter().map(|(h, _)| h).collect();
            by_keys(s, &rel, &todo).await?
        }
        (RelationshipKind::ManyToOne, Via::Selectin) => {
            many_to_one(s, &join, (target, skip), &todo).await?
        }
        (RelationshipKind::OneToMany | RelationshipKind::OneToOne, Via::Selectin) => {
            one_to_many(s, &join, (target, skip), info.order_by, &todo).await?
        }
        (RelationshipKind::ManyToMany, Via::Selectin) => {
            many_to_many(s, &join, (target, skip), info.order_by, &todo).await?
        }
    };
    // A group that one object asks for is moved to it; one that several ask for (a key
    // shared by several objects) is copied.
    let keys: Vec<Key> = todo.iter().map(|(_, values)| key_of(values)).collect();
    let mut askers: HashMap<&Key, usize, FastHash> =
        HashMap::with_capacity_and_hasher(keys.len(), FastHash::default());
    for key in &keys {
        *askers.entry(key).or_default() += 1;
    }
    let mut next = Vec::new();
    let mut next_seen: HashSet<usize, FastHash> = HashSet::default();
    for ((h, _), key) in todo.iter().zip(&keys) {
        let left = askers.get_mut(key).map_or(0, |n| {
            *n -= 1;
            *n
        });
        let items: Vec<Handle> = if left == 0 {
            groups.remove(key).unwrap_or_default()
        } else {
            groups
                .get(key)
                .map(|g| g.iter().map(Handle::uncounted).collect())
                .unwrap_or_default()
        };
        if !last {
            for i in &items {
                if next_seen.insert(i.addr()) {
                    next.push(i.uncounted());
                }
            }
        }
        let mut items = Some(items);
        (vt.with_relationship_mut)(h, index, &mut |r| {
            r.set_loaded(items.take().unwrap_or_default())
        });
    }
    // Objects whose relationship was loaded already still lead to the next level.
    for h in objs.iter().filter(|_| !last) {
        (vt.with_relationship)(h, index, &mut |r| {
            for i in r.items() {
                if next_seen.insert(i.addr()) {
                    next.push(i.uncounted());
                }
            }
        });
    }
    Ok(Stepped {
        next,
        hop: Hop {
            owner: vt,
            join,
            target,
        },
        found,
    })
}

/// Errors when a column of `h` that a relationship joins by (`cols`) is a deferred one
/// left unloaded: its key would read as NULL, and the relationship as empty.
pub(crate) fn check_join_loaded(h: &Handle, vt: &ModelVTable, cols: &[usize]) -> Result<()> {
    let unloaded = (vt.unloaded)(h);
    if let Some(&c) = cols.iter().find(|&&c| c < 64 && unloaded & (1 << c) != 0) {
        return Err(Error::InvalidRequest {
            message: format!(
                "column `{}.{}` of {} is deferred and not loaded, and a relationship joins by it; load it (undefer, or session.load_columns) before loading the relationship",
                vt.name,
                (vt.columns)()[c].field,
                h.describe()
            ),
        });
    }
    Ok(())
}

/// Distinct non-NULL keys among `todo` (whose values are the join columns').
fn distinct_keys(todo: &[(Handle, Vec<Value>)]) -> Vec<Vec<Value>> {
    let mut seen: HashSet<Key, FastHash> =
        HashSet::with_capacity_and_hasher(todo.len(), FastHash::default());
    let mut out = Vec::with_capacity(todo.len());
    for (_, values) in todo {
        if values.iter().any(Value::is_null) {
            continue;
        }
        if seen.insert(key_of(values)) {
            out.push(values.clone());
        }
    }
    out
}

async fn many_to_one(
    s: &mut Session,
    join: &Join,
    (target, skip): (&'static ModelVTable, u64),
    todo: &[(Handle, Vec<Value>)],
) -> Result<Groups> {
    let keys = distinct_keys(todo);
    let mut groups = Groups::default();
    let remote_is_key = {
        let pk: Vec<usize> = (target.columns)()
            .iter()
            .enumerate()
            .filter(|(_, c)| c.primary_key)
            .map(|(i, _)| i)
            .collect();
        pk == join.remote
    };
    // Targets already in the identity map cost nothing.
    let mut missing = Vec::new();
    for key in keys {
        let found = if remote_is_key {
            s.find_in_store(target, &key)
        } else {
            None
        };
        match found {
            Some(h) => {
                groups.insert(key_of(&key), vec![h]);
            }
            None => missing.push(key),
        }
    }
    for chunk in missing.chunks(chunk_size(s, join.remote.len())) {
        let cols = join
            .remote
            .iter()
            .map(|&r| col(target, (target.columns)()[r].name))
            .collect();
        let stmt = select(model_items_skip(target, skip))
            .from((target.table)())
            .filter(in_keys(s, cols, chunk));
        let handles = (target.fetch_handles)(s, stmt, LoadMode::default().with_skip(skip)).await?;
        for h in handles {
            groups.insert((target.join_key)(&h, &join.remote), vec![h]);
        }
    }
    Ok(groups)
}

async fn one_to_many(
    s: &mut Session,
    join: &Join,
    (target, skip): (&'static ModelVTable, u64),
    order_by: &[&'static str],
    todo: &[(Handle, Vec<Value>)],
) -> Result<Groups> {
    let keys = distinct_keys(todo);
    let mut groups = Groups::default();
    // The children are grouped by their rows' foreign keys (the join's remote columns,
    // never skipped), found among the columns selected.
    let key_at: Vec<usize> = join
        .remote
        .iter()
        .map(|&r| r - (0..r.min(64)).filter(|&i| skip & (1 << i) != 0).count())
        .collect();
    for chunk in keys.chunks(chunk_size(s, join.remote.len())) {
        let cols = join
            .remote
            .iter()
            .map(|&r| col(target, (target.columns)()[r].name))
            .collect();
        let stmt = select(model_items_skip(target, skip))
            .from((target.table)())
            .filter(in_keys(s, cols, chunk));
        let stmt = order_related(stmt, target, order_by);
        let mode = LoadMode::default().with_skip(skip);
        let handles = (target.fetch_keyed)(s, stmt, mode, &key_at).await?;
        groups.reserve(chunk.len());
        for (h, key) in handles {
            groups.entry(key).or_default().push(h);
        }
    }
    Ok(groups)
}

async fn many_to_many(
    s: &mut Session,
    join: &Join,
    (target, skip): (&'static ModelVTable, u64),
    order_by: &[&'static str],
    todo: &[(Handle, Vec<Value>)],
) -> Result<Groups> {
    let Some(sec) = &join.secondary else {
        return Ok(Groups::default());
    };
    let keys = distinct_keys(todo);
    let ncols = (target.columns)().len() - skip.count_ones() as usize;
    let mut groups = Groups::default();
    for chunk in keys.chunks(chunk_size(s, sec.local.len())) {
        let mut items = model_items_skip(target, skip);
        items.extend(sec.local.iter().map(|c| SelectItem {
            expr: table_col(&sec.table, c),
            label: None,
        }));
        let on = and_all(join.remote.iter().zip(&sec.remote).map(|(&r, c)| {
            ExprNode::Binary(
                Box::new(table_col(&sec.table, c)),
                BinaryOp::Eq,
                Box::new(col(target, (target.columns)()[r].name)),
            )
            .typed::<bool>()
        }));
        let cols = sec.local.iter().map(|c| table_col(&sec.table, c)).collect();
        let stmt = select(items)
            .from((target.table)())
            .join(Arc::clone(&sec.table), on)
            .filter(in_keys(s, cols, chunk));
        let stmt = order_related(stmt, target, order_by);
        let rows = s.tx().await?.fetch_all(&stmt).await?;
        let handles = (target.decode_rows)(s, &rows, LoadMode::default().with_skip(skip))?;
        for (row, h) in rows.iter().zip(handles) {
            let owner: Vec<Value> = (0..sec.local.len())
                .map(|k| row.value(ncols + k))
                .collect::<Result<_>>()?;
            groups.entry(key_of(&owner)).or_default().push(h);
        }
    }
    Ok(groups)
}

/// The relationship a `subqueryload` step loads.
struct Rel<'a> {
    owner: &'static ModelVTable,
    join: &'a Join,
    target: &'static ModelVTable,
    /// The target's columns left out.
    skip: u64,
    order_by: &'a [&'static str],
}

/// `subqueryload` for the objects `objs` (of `rel.owner`): its SELECT over a subquery of
/// their key columns, found by their primary keys (`SELECT <keys> FROM owner WHERE pk
/// IN (...)`, chunked as selectin's lists).
async fn by_keys(s: &mut Session, rel: &Rel<'_>, objs: &[&Handle]) -> Result<Groups> {
    let owner = rel.owner;
    let owner_cols = (owner.columns)();
    let pk: Vec<usize> = owner_cols
        .iter()
        .enumerate()
        .filter(|(_, c)| c.primary_key)
        .map(|(i, _)| i)
        .collect();
    let mut seen: HashSet<Key, FastHash> = HashSet::default();
    let mut keys = Vec::with_capacity(objs.len());
    for h in objs {
        let values = (owner.column_values)(h, &pk);
        if seen.insert(key_of(&values)) {
            keys.push(values);
        }
    }
    // The owner's columns the relationship joins by, each once.
    let mut local: Vec<usize> = Vec::new();
    for &l in &rel.join.local {
        if !local.contains(&l) {
            local.push(l);
        }
    }
    let mut groups = Groups::default();
    for chunk in keys.chunks(chunk_size(s, pk.len())) {
        let items = local
            .iter()
            .map(|&l| SelectItem {
                expr: col(owner, owner_cols[l].name),
                label: None,
            })
            .collect::<Vec<_>>();
        let cols = pk.iter().map(|&k| col(owner, owner_cols[k].name)).collect();
        let base = select(items)
            .from((owner.table)())
            .filter(in_keys(s, cols, chunk));
        for (key, items) in subquery(s, rel, &base, &[]).await? {
            groups.entry(key).or_insert(items);
        }
    }
    Ok(groups)
}

/// `subqueryload`: the related rows of every object reached from the rows of the query
/// `base` through `hops`, in one SELECT: the related table joined to the tables of the
/// hops (from the last, aliased `orm_sq_<n>`, with their association tables as
/// `orm_sq_<n>_s`), then to `base` as the subquery `orm_sq`; the owner's key columns
/// are read back from the last hop (or from the subquery) to group the rows.
async fn subquery(
    s: &mut Session,
    rel: &Rel<'_>,
    base: &SelectStatement,
    hops: &[Hop],
) -> Result<Groups> {
    let (owner, join, target, skip) = (rel.owner, rel.join, rel.target, rel.skip);
    let owner_cols = (owner.columns)();
    let target_cols = (target.columns)();
    let ncols = target_cols.len() - skip.count_ones() as usize;
    // Hop `i` goes from qualifier `i` (0: the subquery) to qualifier `i + 1`; the step's
    // owner is the last.
    let qualifier = |i: usize| -> Qualifier {
        if i == 0 {
            return Qualifier {
                schema: None,
                name: Name::Borrowed("orm_sq"),
                origin: Origin::Derived,
            };
        }
        crate::session::joined::alias_qualifier(format!("orm_sq_{i}"), hops[i - 1].target)
    };
    let owner_q = qualifier(hops.len());
    let mut items = model_items_skip(target, skip);
    items.extend(join.local.iter().map(|&l| SelectItem {
        expr: qualified(&owner_q, owner_cols[l].name),
        label: Some(Name::Owned(format!("orm_sq_{l}"))),
    }));
    let mut stmt = select(items).from((target.table)());
    // The step's own relationship: the related table to its owner.
    stmt =
        match &join.secondary {
            Some(sec) => {
                let on_target =
                    and_all(join.remote.iter().zip(&sec.remote).map(|(&r, c)| {
                        eq(table_col(&sec.table, c), col(target, target_cols[r].name))
                    }));
                let on_owner = and_all(join.local.iter().zip(&sec.local).map(|(&l, c)| {
                    eq(
                        table_col(&sec.table, c),
                        qualified(&owner_q, owner_cols[l].name),
                    )
                }));
                let stmt = stmt.join(Arc::clone(&sec.table), on_target);
                join_owner(stmt, hops, hops.len(), base, on_owner)
            }
            None => {
                let on = and_all(join.local.iter().zip(&join.remote).map(|(&l, &r)| {
                    eq(
                        col(target, target_cols[r].name),
                        qualified(&owner_q, owner_cols[l].name),
                    )
                }));
                join_owner(stmt, hops, hops.len(), base, on)
            }
        };
    // Then each hop, from the last: its target (joined already) to its owner.
    for i in (0..hops.len()).rev() {
        let hop = &hops[i];
        let (from_q, to_q) = (qualifier(i), qualifier(i + 1));
        let from_cols = (hop.owner.columns)();
        let to_cols = (hop.target.columns)();
        stmt = match &hop.join.secondary {
            Some(sec) => {
                let sec_alias = format!("orm_sq_{}_s", i + 1);
                let sec_q =
                    crate::session::joined::table_alias_qualifier(sec_alias.clone(), &sec.table);
                let on_target =
                    and_all(hop.join.remote.iter().zip(&sec.remote).map(|(&r, c)| {
                        eq(qualified(&sec_q, c), qualified(&to_q, to_cols[r].name))
                    }));
                let on_owner = and_all(hop.join.local.iter().zip(&sec.local).map(|(&l, c)| {
                    eq(qualified(&sec_q, c), qualified(&from_q, from_cols[l].name))
                }));
                let stmt = stmt.add_join(
                    JoinKind::Inner,
                    FromItem::Table {
                        table: Arc::clone(&sec.table),
                        alias: Some(Name::Owned(sec_alias)),
                    },
                    Some(on_target.into_node()),
                );
                join_owner(stmt, hops, i, base, on_owner)
            }
            None => {
                let on = and_all(hop.join.local.iter().zip(&hop.join.remote).map(|(&l, &r)| {
                    eq(
                        qualified(&to_q, to_cols[r].name),
                        qualified(&from_q, from_cols[l].name),
                    )
                }));
                join_owner(stmt, hops, i, base, on)
            }
        };
    }
    let stmt = order_related(stmt, target, rel.order_by);
    let rows = s.tx().await?.fetch_all(&stmt).await?;
    let handles = (target.decode_rows)(s, &rows, LoadMode::default().with_skip(skip))?;
    let mut groups = Groups::default();
    let mut seen: HashSet<(Key, usize), FastHash> = HashSet::default();
    for (row, h) in rows.iter().zip(handles) {
        let owner: Vec<Value> = (0..join.local.len())
            .map(|k| row.value(ncols + k))
            .collect::<Result<_>>()?;
        let owner_key = key_of(&owner);
        // A target reached by several owners (many-to-one), or by one owner through
        // several rows of the chain, is kept once per owner.
        if seen.insert((owner_key.clone(), h.addr())) {
            groups.entry(owner_key).or_default().push(h);
        }
    }
    Ok(groups)
}

/// Joins the owner of hop `i` (`i == hops.len()`: of the step itself) on `on`: `base` as
/// the subquery `orm_sq` for the first, else the owner's table as `orm_sq_<i>`.
fn join_owner(
    stmt: SelectStatement,
    hops: &[Hop],
    i: usize,
    base: &SelectStatement,
    on: crate::sql::Expr<bool>,
) -> SelectStatement {
    if i == 0 {
        let mut base = base.clone();
        base.lock = None;
        return stmt.join(&base.subquery("orm_sq"), on);
    }
    stmt.add_join(
        JoinKind::Inner,
        FromItem::Table {
            table: (hops[i - 1].target.table)(),
            alias: Some(Name::Owned(format!("orm_sq_{i}"))),
        },
        Some(on.into_node()),
    )
}

fn qualified(q: &Qualifier, name: &str) -> ExprNode {
    ExprNode::Column(crate::sql::ColumnRef {
        qualifier: Some(q.clone()),
        name: Name::Owned(name.to_owned()),
        value_type: None,
    })
}

fn eq(a: ExprNode, b: ExprNode) -> crate::sql::Expr<bool> {
    ExprNode::Binary(Box::new(a), BinaryOp::Eq, Box::new(b)).typed::<bool>()
}
