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
use crate::sql::{BinaryOp, ExprNode, SelectItem, SelectStatement, and_all, or_all, select};
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
/// them (a first `subqueryload` step joins it as a subquery, SQLAlchemy's form).
pub(crate) async fn load_path(
    s: &mut Session,
    mut level: Vec<Handle>,
    path: &[LoadStep],
    mode: LoadMode,
    base: Option<&SelectStatement>,
) -> Result<()> {
    for (depth, step) in path.iter().enumerate() {
        if level.is_empty() {
            break;
        }
        level = match step.strategy {
            LoadStrategy::NoLoad | LoadStrategy::Explicit => break,
            LoadStrategy::Raise => {
                mark_raise(&level, step)?;
                break;
            }
            // subqueryload at the first level re-runs the query as a subquery; deeper
            // (where the query that found the objects is selectin's own), a joined step
            // after a selectin one, and selectin load with selectin's SELECT.
            LoadStrategy::Subquery if depth == 0 && base.is_some() => {
                load_step(s, &level, step, mode, base, depth + 1 == path.len()).await?
            }
            LoadStrategy::Selectin | LoadStrategy::Joined | LoadStrategy::Subquery => {
                load_step(s, &level, step, mode, None, depth + 1 == path.len()).await?
            }
            LoadStrategy::ContainsEager => {
                return Err(Error::InvalidRequest {
                    message: format!(
                        "contains_eager({}.{}) fills a relationship from the query's own join; it cannot follow a selectin step",
                        step.model, step.relationship
                    ),
                });
            }
        };
    }
    Ok(())
}

/// `raiseload`: reading the relationship of these objects (while unloaded) is
/// [`Error::RaiseLoad`].
pub(crate) fn mark_raise(objs: &[Handle], step: &LoadStep) -> Result<()> {
    let vt = objs[0].vtable();
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
    subquery_of: Option<&SelectStatement>,
    last: bool,
) -> Result<Vec<Handle>> {
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
    let mut groups: Groups = match (info.kind, subquery_of) {
        _ if todo.is_empty() => Groups::default(),
        (kind, Some(base)) => {
            subquery(s, vt, &join, (target, skip), kind, info.order_by, base).await?
        }
        (RelationshipKind::ManyToOne, None) => many_to_one(s, &join, (target, skip), &todo).await?,
        (RelationshipKind::OneToMany | RelationshipKind::OneToOne, None) => {
            one_to_many(s, &join, (target, skip), info.order_by, &todo).await?
        }
        (RelationshipKind::ManyToMany, None) => {
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
    if last {
        return Ok(next);
    }
    // Objects whose relationship was loaded already still lead to the next level.
    for h in objs {
        (vt.with_relationship)(h, index, &mut |r| {
            for i in r.items() {
                if next_seen.insert(i.addr()) {
                    next.push(i.uncounted());
                }
            }
        });
    }
    Ok(next)
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
        let rows = s.tx().await?.fetch_all(&stmt).await?;
        let handles = (target.decode_rows)(s, &rows, LoadMode::default().with_skip(skip))?;
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
        let rows = s.tx().await?.fetch_all(&stmt).await?;
        let handles = (target.decode_rows)(s, &rows, LoadMode::default().with_skip(skip))?;
        groups.reserve(chunk.len());
        for h in handles {
            groups
                .entry((target.join_key)(&h, &join.remote))
                .or_default()
                .push(h);
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

/// `subqueryload`: the related rows of every object the query `base` finds, in one
/// SELECT that joins `base` as a subquery (`... JOIN (<base>) AS orm_sq ON ...`), grouped
/// by the owner's key columns read back from the subquery.
async fn subquery(
    s: &mut Session,
    owner: &'static ModelVTable,
    join: &Join,
    (target, skip): (&'static ModelVTable, u64),
    kind: RelationshipKind,
    order_by: &[&'static str],
    base: &SelectStatement,
) -> Result<Groups> {
    let sq = crate::sql::Qualifier {
        schema: None,
        name: crate::sql::Name::Borrowed("orm_sq"),
        origin: crate::sql::Origin::Derived,
    };
    let sq_col = |name: &'static str| {
        ExprNode::Column(crate::sql::ColumnRef {
            qualifier: Some(sq.clone()),
            name: crate::sql::Name::Borrowed(name),
            value_type: None,
        })
    };
    let owner_cols = (owner.columns)();
    let target_cols = (target.columns)();
    let ncols = target_cols.len() - skip.count_ones() as usize;
    let mut items = model_items_skip(target, skip);
    items.extend(join.local.iter().map(|&l| SelectItem {
        expr: sq_col(owner_cols[l].name),
        label: Some(crate::sql::Name::Owned(format!("orm_sq_{l}"))),
    }));
    let mut base = base.clone();
    base.lock = None;
    let subquery = base.subquery("orm_sq");
    let mut stmt = select(items).from((target.table)());
    match (&join.secondary, kind) {
        (Some(sec), _) => {
            let on_target = and_all(join.remote.iter().zip(&sec.remote).map(|(&r, c)| {
                ExprNode::Binary(
                    Box::new(table_col(&sec.table, c)),
                    BinaryOp::Eq,
                    Box::new(col(target, target_cols[r].name)),
                )
                .typed::<bool>()
            }));
            let on_owner = and_all(join.local.iter().zip(&sec.local).map(|(&l, c)| {
                ExprNode::Binary(
                    Box::new(table_col(&sec.table, c)),
                    BinaryOp::Eq,
                    Box::new(sq_col(owner_cols[l].name)),
                )
                .typed::<bool>()
            }));
            stmt = stmt
                .join(Arc::clone(&sec.table), on_target)
                .join(&subquery, on_owner);
        }
        (None, _) => {
            let on = and_all(join.local.iter().zip(&join.remote).map(|(&l, &r)| {
                ExprNode::Binary(
                    Box::new(col(target, target_cols[r].name)),
                    BinaryOp::Eq,
                    Box::new(sq_col(owner_cols[l].name)),
                )
                .typed::<bool>()
            }));
            stmt = stmt.join(&subquery, on);
        }
    }
    let stmt = order_related(stmt, target, order_by);
    let rows = s.tx().await?.fetch_all(&stmt).await?;
    let handles = (target.decode_rows)(s, &rows, LoadMode::default().with_skip(skip))?;
    let mut groups = Groups::default();
    let mut seen: HashSet<(Key, usize), FastHash> = HashSet::default();
    for (row, h) in rows.iter().zip(handles) {
        let owner: Vec<Value> = (0..join.local.len())
            .map(|k| row.value(ncols + k))
            .collect::<Result<_>>()?;
        let owner_key = key_of(&owner);
        // A target reached by several owners (many-to-one) or rows is kept once per
        // owner.
        if seen.insert((owner_key.clone(), h.addr())) {
            groups.entry(owner_key).or_default().push(h);
        }
    }
    Ok(groups)
}
