//! The flush: what changed in the session, in foreign-key order, as few statements as
//! each database allows.
//!
//! Steps (SQLAlchemy's `unitofwork.py` / `persistence.py`, reshaped):
//! 1. *gather*: pending objects (in `add` order), objects written since the last flush,
//!    objects marked deleted; cascades (`save-update` brings linked new objects,
//!    `delete` and `delete-orphan` add deletions, loading children when needed);
//! 2. *links*: relationship changes become foreign-key assignments ("this column of
//!    that row takes the key of that other row"), resolved when the row is written, so a
//!    child inserted after its new parent gets the parent's generated key;
//! 3. *order*: tables parents-first (`schema::sort`); within a table that refers to
//!    itself (or tables in a cycle), rows by levels of their links;
//! 4. *execute*: per table and level, multi-row INSERTs under the dialect's parameter
//!    limit with the generated keys returned and matched in order; UPDATEs of the changed
//!    columns only (version-checked); association rows; DELETEs children first;
//! 5. *apply*: only when every statement succeeded are keys, foreign keys, versions and
//!    states written into the objects. A failure rolls the transaction back and leaves
//!    every object as it was.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, LazyLock, RwLock};

use crate::dialect::{Dialect, Feature};
use crate::engine::RowidInsert;
use crate::error::{Error, Result};
use crate::model::relationship::{RelationshipInfo, RelationshipKind};
use crate::schema::Table;
use crate::session::events::{MapperEvent, SessionEvent};
use crate::session::identity::FastHash;
use crate::session::object::{Handle, IdKey, ObjectState, describe, same_value};
use crate::session::vtable::ModelVTable;
use crate::session::{Session, check_unlocked, run_mapper_in};
use crate::sql::{
    Assignment, BinaryOp, ColumnRef, Compiled, ExprNode, Name, Qualifier, SelectItem,
    SelectStatement, and_all, delete, insert, or_all, select, update,
};
use crate::value::Value;

/// Column positions or row numbers of a flush, inline while few: a flush of one
/// object allocates nothing for them.
type Positions = smallvec::SmallVec<[usize; 16]>;

/// How a relationship's two sides line up: `owner.local[i]` equals `target.remote[i]`
/// when linked (for many-to-many, through the association table's columns).
#[derive(Debug)]
pub(crate) struct Join {
    pub(crate) local: Vec<usize>,
    pub(crate) remote: Vec<usize>,
    pub(crate) secondary: Option<Secondary>,
    /// The relationship, or its `back_populates` partner, is `post_update`: its foreign
    /// key is written by a second UPDATE after the rows (see [`write_post_updates`]).
    pub(crate) post_update: bool,
}

/// The association table of a many-to-many: its columns referring to the owner's
/// `local` and to the target's `remote` columns.
#[derive(Debug)]
pub(crate) struct Secondary {
    pub(crate) table: Arc<Table>,
    pub(crate) local: Vec<String>,
    pub(crate) remote: Vec<String>,
}

/// Resolved joins by owner model and relationship name.
type JoinCache = HashMap<(std::any::TypeId, &'static str), Arc<Join>, FastHash>;

static JOINS: LazyLock<RwLock<JoinCache>> = LazyLock::new(Default::default);

/// The join of relationship `info` of the model `vt` (resolved from the tables' foreign
/// keys once, then cached).
pub(crate) fn resolve(
    vt: &'static ModelVTable,
    info: &'static RelationshipInfo,
) -> Result<Arc<Join>> {
    let key = ((vt.type_id)(), info.name);
    if let Some(j) = JOINS.read().ok().and_then(|m| m.get(&key).cloned()) {
        return Ok(j);
    }
    let mut join = resolve_uncached(vt, info)?;
    let target = (info.target_vtable)();
    join.post_update = info.post_update
        || info.back_populates.is_some_and(|back| {
            (target.relationships)()
                .iter()
                .any(|r| r.name == back && r.post_update)
        });
    let join = Arc::new(join);
    if let Ok(mut m) = JOINS.write() {
        m.insert(key, Arc::clone(&join));
    }
    Ok(join)
}

fn resolve_uncached(vt: &'static ModelVTable, info: &'static RelationshipInfo) -> Result<Join> {
    let target = (info.target_vtable)();
    let own_table = (vt.table)();
    let target_table = (target.table)();
    let error = |message: String| Error::Relationship {
        relationship: info.qualified_name.to_owned(),
        target: info.target_model.to_owned(),
        message,
    };
    let named = |cols: &[String]| {
        info.foreign_keys.is_empty() || cols.iter().any(|c| info.foreign_keys.contains(&c.as_str()))
    };
    let index_all = |vt: &ModelVTable, names: &[String]| -> Result<Vec<usize>> {
        names
            .iter()
            .map(|n| {
                vt.column_index(n)
                    .ok_or_else(|| error(format!("`{}` has no mapped column `{n}`", vt.name)))
            })
            .collect()
    };
    match info.kind {
        RelationshipKind::ManyToOne => {
            let fk = own_table
                .foreign_keys
                .iter()
                .find(|fk| fk.referred_table == target_table.name && named(&fk.columns))
                .ok_or_else(|| error("no foreign key to the target".into()))?;
            Ok(Join {
                local: index_all(vt, &fk.columns)?,
                remote: index_all(target, &fk.referred_columns)?,
                secondary: None,
                post_update: false,
            })
        }
        RelationshipKind::OneToMany | RelationshipKind::OneToOne => {
            let fk = target_table
                .foreign_keys
                .iter()
                .find(|fk| fk.referred_table == own_table.name && named(&fk.columns))
                .ok_or_else(|| error("no foreign key from the target".into()))?;
            Ok(Join {
                local: index_all(vt, &fk.referred_columns)?,
                remote: index_all(target, &fk.columns)?,
                secondary: None,
                post_update: false,
            })
        }
        RelationshipKind::ManyToMany => {
            let name = info.secondary.unwrap_or_default();
            let table = crate::schema::metadata::association_table(name).ok_or_else(|| {
                error(format!(
                    "the association table `{name}` is not known yet: add it to a MetaData with the models and call configure() (create_all does)"
                ))
            })?;
            let mut fks = table.foreign_keys.iter().filter(|fk| named(&fk.columns));
            let to_own = fks
                .clone()
                .find(|fk| fk.referred_table == own_table.name)
                .ok_or_else(|| {
                    error(format!(
                        "`{name}` has no foreign key to `{}`",
                        own_table.name
                    ))
                })?;
            let to_target = fks
                .find(|fk| fk.referred_table == target_table.name && !std::ptr::eq(*fk, to_own))
                .ok_or_else(|| {
                    error(format!(
                        "`{name}` has no foreign key to `{}`",
                        target_table.name
                    ))
                })?;
            Ok(Join {
                local: index_all(vt, &to_own.referred_columns)?,
                remote: index_all(target, &to_target.referred_columns)?,
                secondary: Some(Secondary {
                    table: Arc::clone(&table),
                    local: to_own.columns.clone(),
                    remote: to_target.columns.clone(),
                }),
                post_update: false,
            })
        }
    }
}

/// `table.column` of a mapped model, borrowing the model's static names.
pub(crate) fn model_col(vt: &ModelVTable, name: &'static str) -> ExprNode {
    ExprNode::Column(ColumnRef {
        qualifier: Some(Qualifier::table(
            vt.schema.map(Name::Borrowed),
            Name::Borrowed(vt.table_name),
        )),
        name: Name::Borrowed(name),
        value_type: None,
    })
}

pub(crate) fn table_col(t: &Table, name: &str) -> ExprNode {
    ExprNode::Column(ColumnRef {
        qualifier: Some(Qualifier::table(
            t.schema.clone().map(Name::Owned),
            Name::Owned(t.name.clone()),
        )),
        name: Name::Owned(name.to_owned()),
        value_type: t
            .get_column(name)
            .and_then(|c| t.value_type(c))
            .map(std::sync::Arc::new),
    })
}

fn eq(col: ExprNode, v: Value) -> crate::sql::Expr<bool> {
    ExprNode::Binary(Box::new(col), BinaryOp::Eq, Box::new(ExprNode::Bind(v))).typed::<bool>()
}

/// Every column of the model, for SELECTs that decode objects.
pub(crate) fn model_items(vt: &ModelVTable) -> Vec<SelectItem> {
    model_items_skip(vt, 0)
}

/// The model's columns but those of `skip` (bit `i` for column `i`), for rows the
/// model decodes with the same mask.
pub(crate) fn model_items_skip(vt: &ModelVTable, skip: u64) -> Vec<SelectItem> {
    (vt.columns)()
        .iter()
        .enumerate()
        .filter(|(i, _)| *i >= 64 || skip & (1 << i) == 0)
        .map(|(_, c)| SelectItem {
            expr: model_col(vt, c.name),
            label: None,
        })
        .collect()
}

/// ORDER BY a relationship's `order_by` (`-name` descending), then the target's key, so
/// the order is the same on every database.
pub(crate) fn order_related(
    mut stmt: SelectStatement,
    target: &ModelVTable,
    order_by: &[&'static str],
) -> SelectStatement {
    for ob in order_by {
        let (desc, name) = match ob.strip_prefix('-') {
            Some(n) => (true, n),
            None => (false, *ob),
        };
        if let Some(i) = target.column_index(name) {
            let c = model_col(target, (target.columns)()[i].name).typed::<crate::sql::Dynamic>();
            stmt = stmt.order_by(if desc { c.desc() } else { c.asc() });
        }
    }
    for c in (target.columns)().iter().filter(|c| c.primary_key) {
        stmt = stmt.order_by(
            model_col(target, c.name)
                .typed::<crate::sql::Dynamic>()
                .asc(),
        );
    }
    stmt
}

/// The SELECT of the objects relationship `info` of an object with column values
/// `values` points at; `None` when a key column is NULL (nothing related).
pub(crate) fn select_related(
    vt: &'static ModelVTable,
    info: &'static RelationshipInfo,
    join: &Join,
    values: &[Value],
) -> Result<Option<SelectStatement>> {
    let _ = vt;
    let target = (info.target_vtable)();
    let keys: Vec<Value> = join.local.iter().map(|&i| values[i].clone()).collect();
    if keys.iter().any(Value::is_null) {
        return Ok(None);
    }
    // The target's columns but those deferred by default (decoded with the same mask).
    let skip = crate::model::default_skip((target.columns)());
    let mut stmt = select(model_items_skip(target, skip)).from((target.table)());
    let conds: Vec<_> = match &join.secondary {
        None => join
            .remote
            .iter()
            .zip(keys)
            .map(|(&r, k)| eq(model_col(target, (target.columns)()[r].name), k))
            .collect(),
        Some(sec) => {
            let on = and_all(join.remote.iter().zip(&sec.remote).map(|(&r, s)| {
                ExprNode::Binary(
                    Box::new(table_col(&sec.table, s)),
                    BinaryOp::Eq,
                    Box::new(model_col(target, (target.columns)()[r].name)),
                )
                .typed::<bool>()
            }));
            stmt = stmt.join(Arc::clone(&sec.table), on);
            sec.local
                .iter()
                .zip(keys)
                .map(|(s, k)| eq(table_col(&sec.table, s), k))
                .collect()
        }
    };
    stmt = stmt.filter(and_all(conds));
    let stmt = order_related(stmt, target, info.order_by);
    Ok(Some(stmt))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Insert,
    Update,
    Delete,
}

impl Op {
    fn sql(self) -> &'static str {
        match self {
            Op::Insert => "INSERT",
            Op::Update => "UPDATE",
            Op::Delete => "DELETE",
        }
    }
}

/// One row the flush writes.
struct Item {
    h: Handle,
    vt: &'static ModelVTable,
    op: Op,
    /// The values the database holds (the snapshot, or the values when the flush began);
    /// empty for inserts.
    orig: Vec<Value>,
    /// The values to write: the object's, plus what the flush assigns.
    values: Vec<Value>,
    /// Columns the flush assigned (keys, foreign keys, versions, server defaults),
    /// written into the object once every statement succeeded.
    assigned: ColSet,
    /// The identity key (persistent objects).
    key: Option<Vec<Value>>,
    /// Position of its table in foreign-key order.
    unit: usize,
    /// The first and last of the links that assign this row's foreign keys, applied in
    /// order (a list through [`Link::next`]).
    links: Option<(usize, usize)>,
    /// A row switch: the UPDATE of a new object that takes over the row of this object,
    /// deleted in the same flush (no DELETE, no INSERT).
    switch: Option<Handle>,
    /// INSERTs: which of the first 64 columns the database may fill were unset when the
    /// values were taken (see [`ModelVTable::values_unset`]).
    unset: u64,
    /// Owners whose relationship histories were seen empty when planned: nothing to
    /// clear once flushed.
    no_history: bool,
    /// UPDATEs: `Deferred` columns not loaded (never written), and those loaded since
    /// the snapshot (written whatever their value).
    unloaded: u64,
    loaded_since: u64,
}

impl Item {
    /// True when column `i` (one the database may fill) is unset in the new object.
    fn is_unset(&self, i: usize) -> bool {
        if i < 64 {
            self.unset & (1 << i) != 0
        } else {
            (self.vt.column_is_unset)(&self.h, i)
        }
    }
}

/// A set of column positions: a bit each for the first 64, a list past them.
#[derive(Default)]
struct ColSet {
    bits: u64,
    more: Vec<usize>,
}

impl ColSet {
    fn insert(&mut self, c: usize) {
        if c < 64 {
            self.bits |= 1 << c;
        } else if !self.more.contains(&c) {
            self.more.push(c);
        }
    }

    fn contains(&self, c: usize) -> bool {
        if c < 64 {
            self.bits & (1 << c) != 0
        } else {
            self.more.contains(&c)
        }
    }

    fn is_empty(&self) -> bool {
        self.bits == 0 && self.more.is_empty()
    }

    /// The columns, those under 64 in order first.
    fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        let mut bits = self.bits;
        std::iter::from_fn(move || {
            (bits != 0).then(|| {
                let c = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                c
            })
        })
        .chain(self.more.iter().copied())
    }
}

/// "These columns of `child` take the values of those columns of `parent`" (or NULL):
/// the columns are one side of `join` each.
struct Link {
    child: usize,
    join: Arc<Join>,
    /// The child's columns are the join's `local` ones (a many-to-one of the child's
    /// own), else its `remote` ones (the child is in the parent's collection).
    child_local: bool,
    parent: Option<Handle>,
    /// The next link of the same child.
    next: Option<usize>,
}

impl Link {
    /// A link of `child` to `parent` through `join`, from the child's side (`child_local`)
    /// or from the parent's.
    fn new(child: usize, join: &Arc<Join>, child_local: bool, parent: Option<Handle>) -> Link {
        Link {
            child,
            join: Arc::clone(join),
            child_local,
            parent,
            next: None,
        }
    }

    fn child_cols(&self) -> &[usize] {
        if self.child_local {
            &self.join.local
        } else {
            &self.join.remote
        }
    }

    fn parent_cols(&self) -> &[usize] {
        if self.child_local {
            &self.join.remote
        } else {
            &self.join.local
        }
    }
}

/// An association row to insert or delete.
struct AssocRow {
    join: Arc<Join>,
    owner: Handle,
    target: Handle,
    insert: bool,
}

#[derive(Default)]
struct Plan {
    items: Vec<Item>,
    /// Links of `post_update` relationships: written by their own UPDATEs once every
    /// row is inserted and updated, before any is deleted.
    post_links: Vec<Link>,
    /// Item by object address.
    index: HashMap<usize, usize, FastHash>,
    links: Vec<Link>,
    assoc: Vec<AssocRow>,
    /// Association rows of deleted owners: `DELETE FROM secondary WHERE local = key`.
    assoc_owner_deletes: Vec<(Arc<Join>, Handle)>,
    /// Objects without an item whose relationship histories the flush consumed (those
    /// of items are consumed too).
    processed: Vec<Handle>,
    /// The columns links take from parents, by model: an INSERT keeps their values
    /// (and the keys, and what the flush assigns) and hands the others to the driver.
    referenced: Vec<(std::any::TypeId, usize)>,
    units: usize,
    /// How many items the session's pending objects made (INSERTs and row switches).
    from_new: usize,
}

/// Flushes `s`. See the module docs.
pub(crate) async fn flush(s: &mut Session) -> Result<()> {
    if s.has_changes() {
        s.fire_before_flush().await?;
    }
    let touched = s.take_touched();
    // A flush with nothing to do fires no flush events (SQLAlchemy returns early).
    let quiet = touched.is_empty() && s.new.is_empty() && s.deleted.is_empty();
    s.flushing = true;
    let mut wrote = false;
    let result = flush_inner(s, &touched, &mut wrote).await;
    match result {
        Ok(()) => {
            s.flushing = false;
            if !quiet {
                s.fire(SessionEvent::AfterFlush);
                s.fire(SessionEvent::AfterFlushPostexec);
            }
            Ok(())
        }
        Err(e) => {
            // Nothing was written into the objects; the database's part is rolled back.
            if let Ok(mut t) = s.registry.touched.lock() {
                t.extend(touched);
            }
            // Refused while planning: nothing was sent, the transaction goes on. Once a
            // statement of this flush ran, the innermost savepoint is rolled back to
            // (SQLAlchemy 2.0: the nested transaction is rolled back, the outer one goes
            // on once `rollback_nested` ends it); without one, or when that fails, the
            // transaction is rolled back, and the session (whose earlier flushes it
            // undid) must be rolled back too. `flushing` stays set meanwhile: a future
            // dropped here still leaves the session refusing work.
            if (wrote || !matches!(e, Error::InvalidRequest { .. } | Error::Relationship { .. }))
                && !rollback_to_savepoint(s, &e).await
            {
                s.failed_nested = None;
                s.pending_rollback = Some(format!("a flush failed ({e})"));
                if let Some(tx) = s.tx.take() {
                    let _ = tx.rollback().await;
                }
            }
            s.flushing = false;
            Err(e)
        }
    }
}

/// Rolls the database back to the innermost savepoint after a failed flush; false when
/// there is none or the rollback failed (the whole transaction is then lost: MySQL ends
/// it on a deadlock, for one).
async fn rollback_to_savepoint(s: &mut Session, e: &Error) -> bool {
    let depth = s.nested.len();
    if depth == 0 {
        return false;
    }
    let Some(tx) = s.tx.as_mut() else {
        return false;
    };
    let rolled_back = tx
        .execute_script(&format!("ROLLBACK TO SAVEPOINT orm_sp_{depth}"))
        .await
        .is_ok();
    if rolled_back {
        s.failed_nested = Some(depth);
        s.pending_rollback = Some(format!(
            "a flush failed inside savepoint {depth} ({e}) and only the savepoint's work was undone: session.rollback_nested() ends it and keeps the outer transaction"
        ));
    }
    rolled_back
}

async fn flush_inner(s: &mut Session, touched: &[Handle], wrote: &mut bool) -> Result<()> {
    // Objects written since the last flush that left the session since (expunged, or
    // deleted by a flush) take no part: their links pull nothing in, their removals
    // delete no orphan. Added back, they join the next flush (`attach`).
    // Pending objects written since are in `s.new` already: only persistent ones are
    // kept (once each), so no object is planned twice.
    let sid = session_id(s);
    let mut seen: HashSet<usize, FastHash> = HashSet::default();
    let touched: Vec<Handle> = touched
        .iter()
        .filter(|h| {
            let m = h.core().meta();
            m.session == sid && m.state == ObjectState::Persistent && seen.insert(h.addr())
        })
        .map(Handle::uncounted)
        .collect();
    let touched = &touched[..];
    // A guard held across this `.await` by the flushing task itself would deadlock the
    // flush: say so instead.
    for h in s.new.iter().chain(touched).chain(&s.deleted) {
        check_unlocked(h, "flushing")?;
    }
    cascade_saves(s, touched)?;
    cascade_deletes(s, touched).await?;
    let mut plan = build_plan(s, touched)?;
    if plan.items.is_empty()
        && plan.assoc.is_empty()
        && plan.assoc_owner_deletes.is_empty()
        && plan.post_links.is_empty()
    {
        finish(s, plan)?;
        return Ok(());
    }
    let dialect = s.engine.dialect();
    *wrote = true;
    for unit in 0..plan.units {
        write_inserts(s, &mut plan, unit, dialect).await?;
        write_updates(s, &mut plan, unit).await?;
    }
    write_post_updates(s, &mut plan).await?;
    write_associations(s, &plan).await?;
    for unit in (0..plan.units).rev() {
        write_deletes(s, &mut plan, unit).await?;
    }
    finish(s, plan)
}

fn session_id(s: &Session) -> u64 {
    s.registry.id
}

/// `save-update`: objects linked from new or written objects join the session.
///
/// Depth first, from the last of the written objects back to the first pending one:
/// the pending and written objects are read where they are listed (no handle is cloned
/// for them), the objects found through them are queued.
fn cascade_saves(s: &mut Session, touched: &[Handle]) -> Result<()> {
    /// Where the next object to walk is.
    enum Next {
        New(usize),
        Touched(usize),
        Found(Handle),
    }
    fn handle<'h>(new: &'h [Handle], touched: &'h [Handle], next: &'h Next) -> &'h Handle {
        match next {
            Next::New(i) => &new[*i],
            Next::Touched(i) => &touched[*i],
            Next::Found(h) => h,
        }
    }
    // The objects seen: the pending and written ones, listed once the first link is
    // found (a flush of objects that link to none allocates nothing for it).
    let mut seen: HashSet<usize, FastHash> = HashSet::default();
    let mut seen_listed = false;
    let (mut new_left, mut touched_left) = (s.new.len(), touched.len());
    let mut found: Vec<Handle> = Vec::new();
    let mut linked: Vec<Handle> = Vec::new();
    loop {
        let next = if let Some(h) = found.pop() {
            Next::Found(h)
        } else if touched_left > 0 {
            touched_left -= 1;
            Next::Touched(touched_left)
        } else if new_left > 0 {
            new_left -= 1;
            Next::New(new_left)
        } else {
            break;
        };
        let vt = handle(&s.new, touched, &next).vtable();
        for (i, info) in (vt.relationships)().iter().enumerate() {
            if !info.cascade.save_update {
                continue;
            }
            // Only objects not seen yet are taken (a handle each).
            let new = &s.new;
            (vt.with_relationship)(handle(new, touched, &next), i, &mut |r| {
                for t in r.items().iter().chain(r.added()) {
                    if !seen_listed {
                        seen.extend(new.iter().chain(touched).map(Handle::addr));
                        seen_listed = true;
                    }
                    if seen.insert(t.addr()) {
                        linked.push(t.uncounted());
                    }
                }
            });
            for t in linked.drain(..) {
                let (state, session) = {
                    let m = t.core().meta();
                    (m.state, m.session)
                };
                if session != 0 && session != session_id(s) {
                    return Err(Error::InvalidRequest {
                        message: format!(
                            "{} (linked from {} through `{}`) belongs to another session",
                            t.describe(),
                            handle(&s.new, touched, &next).describe(),
                            info.qualified_name
                        ),
                    });
                }
                if state == ObjectState::Deleted {
                    continue; // its row is gone: nothing is saved through it
                }
                if session == 0 {
                    s.attach(&t)?;
                }
                found.push(t);
            }
        }
    }
    Ok(())
}

/// Where `back_populates` says so, the parent `child` points at now, if that side is
/// loaded: `Some(None)` for no parent.
fn back_parent(info: &RelationshipInfo, child: &Handle) -> Option<Option<Handle>> {
    let back = info.back_populates?;
    let cvt = child.vtable();
    let index = cvt.relationship_index(back)?;
    let mut out = None;
    (cvt.with_relationship)(child, index, &mut |r| {
        if r.is_loaded() {
            out = Some(r.items().first().map(Handle::uncounted));
        }
    });
    out
}

/// True when `child`, added to `owner`'s collection, points at another parent now (its
/// own side, loaded, says so: it moved on since).
fn moved_to_another(info: &RelationshipInfo, child: &Handle, owner: &Handle) -> bool {
    back_parent(info, child).is_some_and(|p| p.is_some_and(|p| !p.ptr_eq(owner)))
}

/// True when `child`, removed from `owner`'s collection (relationship `rel`), belongs to
/// another parent now: it is no orphan, and its foreign key is not nulled.
fn has_other_parent(
    owner: &Handle,
    info: &RelationshipInfo,
    child: &Handle,
    owners: &[&[Handle]],
    rel: usize,
) -> bool {
    if let Some(parent) = back_parent(info, child) {
        return parent.is_some_and(|p| !p.ptr_eq(owner));
    }
    let owners = owners.iter().copied().flatten();
    owners.filter(|o| !o.ptr_eq(owner)).any(|o| {
        if !std::ptr::eq(o.vtable(), owner.vtable()) {
            return false;
        }
        let mut found = false;
        (o.vtable().with_relationship)(o, rel, &mut |r| {
            found = r.added().iter().any(|a| a.ptr_eq(child));
        });
        found
    })
}

/// True when an object of `vt` can orphan others or be orphaned: a relationship of its
/// deletes orphans, or its many-to-one's other side does.
fn may_orphan(vt: &ModelVTable) -> bool {
    (vt.relationships)().iter().any(|info| {
        info.cascade.delete_orphan
            || (info.kind == RelationshipKind::ManyToOne
                && info.back_populates.is_some_and(|back| {
                    let target = (info.target_vtable)();
                    target
                        .relationship_index(back)
                        .is_some_and(|b| (target.relationships)()[b].cascade.delete_orphan)
                }))
    })
}

/// True when `child`'s many-to-one relationship `index` was cleared since the last flush
/// and the parent's side (its `back_populates`) deletes orphans: the child lost its
/// parent from its own side (`post.author.clear()`), which SQLAlchemy treats as being
/// removed from the parent's collection.
fn is_orphaned_through(child: &Handle, index: usize, info: &RelationshipInfo) -> bool {
    if info.kind != RelationshipKind::ManyToOne {
        return false;
    }
    let Some(back) = info.back_populates else {
        return false;
    };
    let target = (info.target_vtable)();
    let deletes_orphans = target
        .relationship_index(back)
        .is_some_and(|b| (target.relationships)()[b].cascade.delete_orphan);
    if !deletes_orphans {
        return false;
    }
    let mut cleared = false;
    (child.vtable().with_relationship)(child, index, &mut |r| {
        cleared = r.has_changes() && r.is_loaded() && r.items().is_empty();
    });
    cleared
}

/// `delete-orphan`, `delete` and the children of deleted parents.
async fn cascade_deletes(s: &mut Session, touched: &[Handle]) -> Result<()> {
    // Orphans: objects removed from a collection whose cascade deletes orphans (none
    // when no model written has such a relationship, on either side).
    let mut memo: smallvec::SmallVec<[(&'static ModelVTable, bool); 4]> = smallvec::SmallVec::new();
    let any_orphans = s.new.iter().chain(touched).any(|h| {
        let vt = h.vtable();
        match memo.iter().find(|(m, _)| std::ptr::eq(*m, vt)) {
            Some(&(_, may)) => may,
            None => {
                let may = may_orphan(vt);
                memo.push((vt, may));
                may
            }
        }
    });
    let owners: Vec<Handle> = if any_orphans {
        s.new.iter().chain(touched).map(Handle::uncounted).collect()
    } else {
        Vec::new()
    };
    for h in &owners {
        let vt = h.vtable();
        for (i, info) in (vt.relationships)().iter().enumerate() {
            if is_orphaned_through(h, i, info) {
                match h.state() {
                    ObjectState::Persistent => s.delete_handle(h)?,
                    ObjectState::Pending => s.expunge_handle(h),
                    _ => {}
                }
                continue;
            }
            if !info.cascade.delete_orphan {
                continue;
            }
            let mut removed = Vec::new();
            (vt.with_relationship)(h, i, &mut |r| {
                removed.extend(r.removed().iter().map(Handle::uncounted));
            });
            for r in removed {
                if has_other_parent(h, info, &r, &[&owners], i) {
                    continue;
                }
                let state = r.state();
                match state {
                    ObjectState::Persistent => s.delete_handle(&r)?,
                    ObjectState::Pending => s.expunge_handle(&r),
                    _ => {}
                }
            }
        }
    }
    // Deletions and what they take with them.
    let mut i = 0;
    while i < s.deleted.len() {
        let d = s.deleted[i].uncounted();
        i += 1;
        let vt = d.vtable();
        for (ri, info) in (vt.relationships)().iter().enumerate() {
            let owns_children = matches!(
                info.kind,
                RelationshipKind::OneToMany | RelationshipKind::OneToOne
            );
            if info.kind == RelationshipKind::ManyToMany {
                continue; // association rows go by owner key at write time
            }
            if !info.cascade.delete && !owns_children {
                continue;
            }
            let mut loaded = None;
            let mut added = Vec::new();
            (vt.with_relationship)(&d, ri, &mut |r| {
                if r.is_loaded() {
                    loaded = Some(r.items().iter().map(Handle::uncounted).collect::<Vec<_>>());
                }
                added.extend(r.added().iter().map(Handle::uncounted));
            });
            if info.cascade.delete {
                // New children go with their parent: never inserted (SQLAlchemy: a
                // pending object in a deleted parent's collection is left out).
                for a in added {
                    if !moved_to_another(info, &a, &d) && a.state() == ObjectState::Pending {
                        s.expunge_handle(&a);
                    }
                }
            }
            let targets = match loaded {
                Some(t) => t,
                None if info.passive_deletes => continue,
                None => {
                    // Loaded into the relationship, so the plan sees the children (to
                    // null their keys, or to delete them before their parent).
                    let t = s.load_relationship(&d, ri).await?;
                    (vt.with_relationship_mut)(&d, ri, &mut |r| {
                        r.set_loaded(t.iter().map(Handle::uncounted).collect())
                    });
                    t
                }
            };
            if info.cascade.delete {
                for t in targets {
                    if t.state() == ObjectState::Persistent {
                        s.delete_handle(&t)?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// The joins one flush resolved, by relationship (a few: found by address, without
/// the global cache's lock).
#[derive(Default)]
struct JoinMemo(Vec<(&'static RelationshipInfo, Arc<Join>)>);

impl JoinMemo {
    fn get(
        &mut self,
        vt: &'static ModelVTable,
        info: &'static RelationshipInfo,
    ) -> Result<Arc<Join>> {
        if let Some((_, j)) = self.0.iter().find(|(i, _)| std::ptr::eq(*i, info)) {
            return Ok(Arc::clone(j));
        }
        let j = resolve(vt, info)?;
        self.0.push((info, Arc::clone(&j)));
        Ok(j)
    }
}

/// A few handles, kept inline (a relationship's changes, read while planning).
type Handles = smallvec::SmallVec<[Handle; 4]>;

fn build_plan(s: &mut Session, touched: &[Handle]) -> Result<Plan> {
    let mut plan = Plan::default();
    let mut joins = JoinMemo::default();
    let sid = session_id(s);
    // Listeners may still change the objects: they run before the values are taken.
    // (The pending list is read in place: a listener has no session to add to it.)
    for h in &s.new {
        run_mapper_in(&mut s.listeners, h, MapperEvent::BeforeInsert)?;
    }
    let new = &s.new;
    let switches = row_switches(s, new);
    let deleted: Vec<Handle> = s
        .deleted
        .iter()
        .filter(|d| !switches.iter().flatten().any(|o| o.ptr_eq(d)))
        .map(Handle::uncounted)
        .collect();
    for h in &deleted {
        run_mapper_in(&mut s.listeners, h, MapperEvent::BeforeDelete)?;
    }
    for h in touched {
        let dirty = {
            let m = h.core().meta();
            m.session == sid && m.state == ObjectState::Persistent && !m.delete_marked
        };
        if dirty {
            run_mapper_in(&mut s.listeners, h, MapperEvent::BeforeUpdate)?;
        }
    }
    plan.items
        .reserve(new.len() + deleted.len() + touched.len());
    plan.index
        .reserve(new.len() + deleted.len() + touched.len());
    for (h, old) in new.iter().zip(switches) {
        let vt = h.vtable();
        let unloaded = (vt.unloaded)(h);
        if unloaded != 0 {
            let i = unloaded.trailing_zeros() as usize;
            return Err(Error::InvalidRequest {
                message: format!(
                    "new {} has the deferred column `{}.{}` unloaded; set it before adding the object (an INSERT writes every column)",
                    describe(vt.name, None),
                    vt.name,
                    (vt.columns)()[i].field
                ),
            });
        }
        let (values, unset) = (vt.values_unset)(h);
        if let Some(old) = old {
            add_switch_item(&mut plan, h, old, values);
            continue;
        }
        // One object per key: a new object whose own key another object of the session
        // holds is refused (SQLAlchemy's FlushError), not inserted beside it.
        let unset_now = |i: usize| {
            if i < 64 {
                unset & (1 << i) != 0
            } else {
                (vt.column_is_unset)(h, i)
            }
        };
        if let Some(key) = own_key_from(vt, &values, unset_now)
            && let Some(other) = s.find_in_store(vt, &key)
            && !other.ptr_eq(h)
        {
            return Err(Error::InvalidRequest {
                message: format!(
                    "new {} has the key of {}, which this session already holds; change the key, or merge() the new values onto it",
                    describe(vt.name, None),
                    other.describe(),
                ),
            });
        }
        let idx = add_item(&mut plan, h, Op::Insert, Vec::new(), values, None);
        plan.items[idx].unset = unset;
    }
    plan.from_new = new.len();
    for h in &deleted {
        let key = h.core().meta().key.clone().map(IdKey::into_vec);
        let values = (h.vtable().values)(h);
        add_item(&mut plan, h, Op::Delete, values.clone(), values, key);
    }
    for h in touched {
        if plan.index.contains_key(&h.addr()) {
            continue;
        }
        let meta_ok = {
            let m = h.core().meta();
            m.session == sid && m.state == ObjectState::Persistent && !m.delete_marked
        };
        if meta_ok {
            add_update_item(&mut plan, h);
        }
    }
    // Relationship changes become links (removals first, then additions, then the
    // many-to-one side, which the user set most directly).
    let owners: [&[Handle]; 2] = [new, touched];
    let mut additions: Vec<Link> = Vec::new();
    let mut singles: Vec<Link> = Vec::new();
    let mut assoc_seen = HashSet::new();
    for h in owners.iter().copied().flatten() {
        {
            let m = h.core().meta();
            if m.delete_marked || m.session != sid {
                continue;
            }
        }
        let own_item = plan.index.get(&h.addr()).copied();
        if own_item.is_none() {
            plan.processed.push(h.uncounted());
        }
        let vt = h.vtable();
        let mut any_history = false;
        for (i, info) in (vt.relationships)().iter().enumerate() {
            // What changed; the current objects only where the links need them.
            let wants_current = matches!(
                info.kind,
                RelationshipKind::ManyToOne | RelationshipKind::ManyToMany
            );
            let mut history: Option<(Handles, Handles, Handles)> = None;
            (vt.with_relationship)(h, i, &mut |r| {
                if r.has_changes() {
                    let current = if wants_current {
                        r.items().iter().map(Handle::uncounted).collect()
                    } else {
                        Handles::new()
                    };
                    history = Some((
                        r.added().iter().map(Handle::uncounted).collect(),
                        r.removed().iter().map(Handle::uncounted).collect(),
                        current,
                    ));
                }
            });
            let Some((added, removed, current)) = history else {
                continue;
            };
            any_history = true;
            let join = joins.get(vt, info)?;
            match info.kind {
                RelationshipKind::ManyToOne => {
                    if let Some(child) = item_for(&mut plan, h) {
                        let parent = current.first().map(Handle::uncounted);
                        singles.push(Link::new(child, &join, true, parent));
                    }
                }
                RelationshipKind::OneToMany | RelationshipKind::OneToOne => {
                    for r in &removed {
                        if r.core().meta().delete_marked
                            || added.iter().any(|a| a.ptr_eq(r))
                            || has_other_parent(h, info, r, &owners, i)
                        {
                            continue;
                        }
                        if let Some(child) = item_for(&mut plan, r) {
                            push_link(&mut plan, Link::new(child, &join, false, None));
                        }
                    }
                    for a in &added {
                        // The child's own side, when loaded, says where it ended up
                        // (it may have moved on to another parent since).
                        if back_parent(info, a).is_some_and(|p| !p.is_some_and(|p| p.ptr_eq(h))) {
                            continue;
                        }
                        if let Some(child) = item_for(&mut plan, a) {
                            additions.push(Link::new(child, &join, false, Some(h.uncounted())));
                        }
                    }
                }
                RelationshipKind::ManyToMany => {
                    let Some(sec) = join.secondary.as_ref() else {
                        continue;
                    };
                    let table = sec.table.full_name();
                    let loaded = crate::session::vtable::relationship_loaded(h, i);
                    for (list, insert) in [(&removed, false), (&added, true)] {
                        for t in list {
                            // The net effect: linked then unlinked (from either side) is
                            // nothing.
                            let now = current.iter().any(|c| c.ptr_eq(t));
                            if loaded && now != insert {
                                continue;
                            }
                            // Both sides of a back_populates pair may carry the change:
                            // one row per (local-side object, remote-side object).
                            let mut ends = [
                                (sec.local.clone(), h.addr()),
                                (sec.remote.clone(), t.addr()),
                            ];
                            ends.sort();
                            if !assoc_seen.insert((table.clone(), ends, insert)) {
                                continue;
                            }
                            plan.assoc.push(AssocRow {
                                join: Arc::clone(&join),
                                owner: h.uncounted(),
                                target: t.uncounted(),
                                insert,
                            });
                        }
                    }
                }
            }
        }
        if let Some(idx) = own_item {
            plan.items[idx].no_history = !any_history;
        }
    }
    for link in additions.into_iter().chain(singles) {
        push_link(&mut plan, link);
    }
    // Deleted parents: their children's foreign keys become NULL (unless deleted too or
    // left to the database), and their association rows go.
    for h in &deleted {
        let vt = h.vtable();
        for (i, info) in (vt.relationships)().iter().enumerate() {
            if info.passive_deletes {
                continue;
            }
            let join = joins.get(vt, info)?;
            if info.kind == RelationshipKind::ManyToMany {
                plan.assoc_owner_deletes.push((join, h.uncounted()));
                continue;
            }
            if !matches!(
                info.kind,
                RelationshipKind::OneToMany | RelationshipKind::OneToOne
            ) {
                continue;
            }
            // New children too (an unloaded collection holds them only as added).
            let mut children = Vec::new();
            (vt.with_relationship)(h, i, &mut |r| {
                children.extend(r.items().iter().chain(r.added()).map(Handle::uncounted));
            });
            for c in children {
                if c.core().meta().delete_marked || moved_to_another(info, &c, h) {
                    continue;
                }
                if let Some(child) = item_for(&mut plan, &c) {
                    push_link(&mut plan, Link::new(child, &join, false, None));
                }
            }
        }
    }
    order_units(&mut plan);
    Ok(plan)
}

/// The key a new object brings (`None` while its generated key is unset).
fn own_key(h: &Handle, values: &[Value]) -> Option<Vec<Value>> {
    let vt = h.vtable();
    own_key_from(vt, values, |i| (vt.column_is_unset)(h, i))
}

/// As [`own_key`], with whether a column is unset told by `unset`.
fn own_key_from(
    vt: &ModelVTable,
    values: &[Value],
    unset: impl Fn(usize) -> bool,
) -> Option<Vec<Value>> {
    let columns = (vt.columns)();
    let explicit = columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.primary_key)
        .all(|(i, c)| !(c.generated && unset(i)));
    explicit.then(|| {
        columns
            .iter()
            .zip(values)
            .filter(|(c, _)| c.primary_key)
            .map(|(_, v)| v.clone())
            .collect()
    })
}

/// For each new object, the object marked deleted whose key it brings, if any: a "row
/// switch" (SQLAlchemy's name), where the new object takes over the row with one
/// UPDATE instead of a DELETE and an INSERT of the same key.
fn row_switches(s: &Session, new: &[Handle]) -> smallvec::SmallVec<[Option<Handle>; 4]> {
    let mut out: smallvec::SmallVec<[Option<Handle>; 4]> =
        smallvec::SmallVec::with_capacity(new.len());
    if s.deleted.is_empty() {
        out.resize_with(new.len(), || None);
        return out;
    }
    for h in new {
        let key = own_key(h, &(h.vtable().values)(h));
        let old = key.and_then(|key| {
            s.deleted.iter().find(|d| {
                (d.vtable().type_id)() == (h.vtable().type_id)()
                    && !out.iter().flatten().any(|o| o.ptr_eq(d))
                    && d.core().meta().key.as_ref().is_some_and(|k| {
                        k.len() == key.len() && k.iter().zip(&key).all(|(a, b)| same_value(a, b))
                    })
            })
        });
        out.push(old.map(Handle::uncounted));
    }
    out
}

/// The UPDATE of a row switch: the deleted object's row (its values as the database
/// holds them) takes the new object's values; columns the new object leaves to the
/// database (server defaults, version) keep the row's, and are written into it.
fn add_switch_item(plan: &mut Plan, h: &Handle, old: Handle, mut values: Vec<Value>) {
    let (snapshot, key) = {
        let m = old.core().meta();
        (
            m.snapshot.as_ref().map(|s| s.values.clone()),
            m.key.clone().map(IdKey::into_vec),
        )
    };
    let orig = snapshot.unwrap_or_else(|| (old.vtable().values)(&old));
    let vt = h.vtable();
    let unset: Vec<usize> = (0..values.len())
        .filter(|&i| !(vt.columns)()[i].primary_key && (vt.column_is_unset)(h, i))
        .collect();
    for &i in &unset {
        values[i] = orig[i].clone();
    }
    let idx = add_item(plan, h, Op::Update, orig, values, key);
    let item = &mut plan.items[idx];
    for i in unset {
        item.assigned.insert(i);
    }
    item.switch = Some(old);
}

fn add_item(
    plan: &mut Plan,
    h: &Handle,
    op: Op,
    orig: Vec<Value>,
    values: Vec<Value>,
    key: Option<Vec<Value>>,
) -> usize {
    let idx = plan.items.len();
    plan.items.push(Item {
        h: h.uncounted(),
        vt: h.vtable(),
        op,
        orig,
        values,
        assigned: ColSet::default(),
        key,
        unit: 0,
        links: None,
        switch: None,
        unset: 0,
        no_history: false,
        unloaded: 0,
        loaded_since: 0,
    });
    plan.index.insert(h.addr(), idx);
    idx
}

fn add_update_item(plan: &mut Plan, h: &Handle) -> usize {
    let (snapshot, key, was_unloaded) = {
        let m = h.core().meta();
        (
            m.snapshot.as_ref().map(|s| s.values.clone()),
            m.key.clone().map(IdKey::into_vec),
            m.snapshot.as_ref().map_or(0, |s| s.unloaded),
        )
    };
    let values = (h.vtable().values)(h);
    let unloaded = (h.vtable().unloaded)(h);
    let loaded_since = if snapshot.is_some() {
        was_unloaded & !unloaded
    } else {
        0
    };
    let orig = snapshot.unwrap_or_else(|| values.clone());
    let idx = add_item(plan, h, Op::Update, orig, values, key);
    plan.items[idx].unloaded = unloaded;
    plan.items[idx].loaded_since = loaded_since;
    idx
}

/// The item of `h`, made as an UPDATE for a persistent object the flush must change;
/// `None` for objects that are not written (deleted, or not in the session).
fn item_for(plan: &mut Plan, h: &Handle) -> Option<usize> {
    if let Some(&i) = plan.index.get(&h.addr()) {
        return (plan.items[i].op != Op::Delete).then_some(i);
    }
    let persistent = {
        let m = h.core().meta();
        m.state == ObjectState::Persistent && !m.delete_marked
    };
    persistent.then(|| add_update_item(plan, h))
}

fn push_link(plan: &mut Plan, link: Link) {
    if let Some(p) = &link.parent {
        let vt = (p.vtable().type_id)();
        for &c in link.parent_cols() {
            if !plan.referenced.contains(&(vt, c)) {
                plan.referenced.push((vt, c));
            }
        }
    }
    if link.join.post_update {
        plan.post_links.push(link);
        return;
    }
    let idx = plan.links.len();
    let child = link.child;
    plan.links.push(link);
    let item = &mut plan.items[child];
    item.links = match item.links {
        None => Some((idx, idx)),
        Some((first, last)) => {
            plan.links[last].next = Some(idx);
            Some((first, idx))
        }
    };
}

/// The links of item `idx`, in order.
fn links_of(plan: &Plan, idx: usize) -> impl Iterator<Item = usize> + '_ {
    let mut next = plan.items[idx].links.map(|(first, _)| first);
    std::iter::from_fn(move || {
        let li = next?;
        next = plan.links[li].next;
        Some(li)
    })
}

/// Assigns each item the position of its table in foreign-key order (tables in one
/// cycle share a position; their rows are ordered by their links).
fn order_units(plan: &mut Plan) {
    let mut tables: smallvec::SmallVec<[Arc<Table>; 4]> = smallvec::SmallVec::new();
    let mut table_of: Positions = Positions::with_capacity(plan.items.len());
    let mut by_name: HashMap<&'static str, usize, FastHash> = HashMap::default();
    // Items come in runs of one model: the last one's table is looked up only once.
    let mut last: Option<(&'static ModelVTable, usize)> = None;
    for item in &plan.items {
        let t = match last {
            Some((vt, t)) if std::ptr::eq(vt, item.vt) => t,
            _ => *by_name.entry(item.vt.table_name).or_insert_with(|| {
                tables.push((item.vt.table)());
                tables.len() - 1
            }),
        };
        last = Some((item.vt, t));
        table_of.push(t);
    }
    let position = unit_positions(&tables);
    for (item, t) in plan.items.iter_mut().zip(table_of) {
        item.unit = position[t];
    }
    plan.units = tables.len();
}

/// The tables a flush wrote, by address (in the order it met them), with their units.
type UnitCache = HashMap<Vec<usize>, (Vec<Arc<Table>>, Arc<[usize]>), FastHash>;

/// Units sorted once per set of tables: a flush of the same models again (a flush per
/// object, say) does not sort them again.
static UNITS: LazyLock<RwLock<UnitCache>> = LazyLock::new(Default::default);

/// The unit of each of `tables`: its position in foreign-key order, the tables of a
/// cycle sharing the first one's.
fn unit_positions(tables: &[Arc<Table>]) -> Arc<[usize]> {
    let key: Positions = tables.iter().map(|t| Arc::as_ptr(t) as usize).collect();
    if let Some((_, p)) = UNITS.read().ok().as_ref().and_then(|m| m.get(&key[..])) {
        return Arc::clone(p);
    }
    let sorted = crate::schema::sort::plan(tables);
    let mut position = vec![0usize; tables.len()];
    for (pos, &t) in sorted.order.iter().enumerate() {
        position[t] = pos;
    }
    for cycle in &sorted.cycles {
        let first = cycle.iter().map(|&t| position[t]).min().unwrap_or(0);
        for &t in cycle {
            position[t] = first;
        }
    }
    let position: Arc<[usize]> = position.into();
    if let Ok(mut m) = UNITS.write() {
        // Sets of tables come from the models a program has: few. Bounded all the same.
        if m.len() >= 4096 {
            m.clear();
        }
        // The tables are kept with their addresses, so that no other table can take one.
        m.insert(key.to_vec(), (tables.to_vec(), Arc::clone(&position)));
    }
    position
}

/// The value of column `col` of `h` as the flush will have written it.
fn current_value(plan: &Plan, h: &Handle, col: usize) -> Value {
    match plan.index.get(&h.addr()) {
        Some(&i) => plan.items[i].values[col].clone(),
        None => (h.vtable().values)(h).swap_remove(col),
    }
}

/// Applies the links of item `idx`: its foreign keys take their parents' keys.
fn apply_links(plan: &mut Plan, idx: usize) -> Result<()> {
    let mut next = plan.items[idx].links.map(|(first, _)| first);
    let mut assigned: smallvec::SmallVec<[(usize, Value); 2]> = smallvec::SmallVec::new();
    while let Some(li) = next {
        let link = &plan.links[li];
        next = link.next;
        assigned.clear();
        match &link.parent {
            None => {
                for &c in link.child_cols() {
                    assigned.push((c, Value::Null));
                }
            }
            Some(p) => {
                check_parent_in_session(plan, idx, p)?;
                for (&c, &pc) in link.child_cols().iter().zip(link.parent_cols()) {
                    assigned.push((c, current_value(plan, p, pc)));
                }
            }
        }
        let item = &mut plan.items[idx];
        for (c, v) in assigned.drain(..) {
            item.values[c] = v;
            item.assigned.insert(c);
        }
    }
    Ok(())
}

/// A parent that is neither written by this flush nor persistent cannot give its key.
fn check_parent_in_session(plan: &Plan, child: usize, p: &Handle) -> Result<()> {
    let pending_elsewhere =
        !plan.index.contains_key(&p.addr()) && p.core().meta().state != ObjectState::Persistent;
    if pending_elsewhere {
        return Err(Error::InvalidRequest {
            message: format!(
                "{} is linked to {}, which is not in the session; add it",
                plan.items[child].h.describe(),
                p.describe()
            ),
        });
    }
    Ok(())
}

/// Rows of `rows` in levels: a row comes after the rows (of the same list) its links
/// point at. A cycle is an error naming the rows. `None`: one level of them all (no
/// row points at another, the usual case).
fn levels(plan: &Plan, rows: &[usize]) -> Result<Option<Vec<Vec<usize>>>> {
    // The usual case first: no row points at another row of the list (`rows` are the
    // INSERTs of one unit), so all go in one level.
    let among_rows = |r: usize, pi: usize| {
        let (row, parent) = (&plan.items[r], &plan.items[pi]);
        pi != r && parent.unit == row.unit && parent.op == row.op
    };
    let linked = rows.iter().any(|&r| {
        links_of(plan, r).any(|li| {
            plan.links[li]
                .parent
                .as_ref()
                .and_then(|p| plan.index.get(&p.addr()))
                .is_some_and(|&pi| among_rows(r, pi))
        })
    });
    if !linked {
        return Ok(None);
    }
    let pos: HashMap<usize, usize, FastHash> =
        rows.iter().enumerate().map(|(p, &r)| (r, p)).collect();
    let mut deps: Vec<Vec<usize>> = vec![Vec::new(); rows.len()];
    let mut any = false;
    for (p, &r) in rows.iter().enumerate() {
        for li in links_of(plan, r) {
            if let Some(parent) = &plan.links[li].parent
                && let Some(&pi) = plan.index.get(&parent.addr())
                && let Some(&pp) = pos.get(&pi)
                && pp != p
            {
                deps[p].push(pp);
                any = true;
            }
        }
    }
    if !any {
        return Ok(None);
    }
    let mut level = vec![usize::MAX; rows.len()];
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut done = 0;
    while done < rows.len() {
        let ready: Vec<usize> = (0..rows.len())
            .filter(|&p| level[p] == usize::MAX && deps[p].iter().all(|&d| level[d] != usize::MAX))
            .collect();
        if ready.is_empty() {
            let stuck: Vec<String> = (0..rows.len())
                .filter(|&p| level[p] == usize::MAX)
                .map(|p| plan.items[rows[p]].h.describe())
                .collect();
            return Err(Error::InvalidRequest {
                message: format!(
                    "the rows {} depend on each other in a cycle; break it by linking one of them after a flush",
                    stuck.join(", ")
                ),
            });
        }
        for &p in &ready {
            level[p] = out.len();
        }
        done += ready.len();
        out.push(ready.into_iter().map(|p| rows[p]).collect());
    }
    Ok(Some(out))
}

/// The identity an inserted or updated row's values give it.
fn id_key_of(item: &Item) -> IdKey {
    with_key_of(item, |key| match key {
        [one] => IdKey::One(one.clone()),
        many => IdKey::Many(many.to_vec()),
    })
}

/// Calls `f` with the key columns' values of `item` (no copy for a one-column key).
fn with_key_of<R>(item: &Item, f: impl FnOnce(&[Value]) -> R) -> R {
    let columns = (item.vt.columns)();
    let mut keys = columns.iter().enumerate().filter(|(_, c)| c.primary_key);
    match (keys.next(), keys.next()) {
        (Some((i, _)), None) => f(std::slice::from_ref(&item.values[i])),
        _ => f(&key_values_of(item)),
    }
}

fn key_values_of(item: &Item) -> Vec<Value> {
    (item.vt.columns)()
        .iter()
        .zip(&item.values)
        .filter(|(c, _)| c.primary_key)
        .map(|(_, v)| v.clone())
        .collect()
}

pub(crate) fn key_cond(vt: &ModelVTable, key: &[Value]) -> crate::sql::Expr<bool> {
    and_all(
        (vt.columns)()
            .iter()
            .filter(|c| c.primary_key)
            .zip(key)
            .map(|(c, k)| eq(model_col(vt, c.name), k.clone())),
    )
}

fn flush_error(op: Op, object: String, e: Error) -> Error {
    Error::Flush {
        operation: op.sql(),
        object,
        source: Box::new(e),
    }
}

fn version_column(vt: &ModelVTable) -> Option<usize> {
    (vt.columns)().iter().position(|c| c.version)
}

fn bump(v: &Value) -> Value {
    match v {
        Value::I16(n) => Value::I16(n.wrapping_add(1)),
        Value::I32(n) => Value::I32(n.wrapping_add(1)),
        Value::I64(n) => Value::I64(n.wrapping_add(1)),
        other => other.clone(),
    }
}

fn one(v: &Value) -> Value {
    match v {
        Value::I16(_) => Value::I16(1),
        Value::I32(_) => Value::I32(1),
        _ => Value::I64(1),
    }
}

fn as_i128(v: &Value) -> Option<i128> {
    match v {
        Value::I16(n) => Some(i128::from(*n)),
        Value::I32(n) => Some(i128::from(*n)),
        Value::I64(n) => Some(i128::from(*n)),
        _ => None,
    }
}

async fn write_inserts(
    s: &mut Session,
    plan: &mut Plan,
    unit: usize,
    dialect: Dialect,
) -> Result<()> {
    let rows: Positions = (0..plan.items.len())
        .filter(|&i| plan.items[i].unit == unit && plan.items[i].op == Op::Insert)
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    let split = levels(plan, &rows)?;
    let levels: smallvec::SmallVec<[&[usize]; 1]> = match &split {
        Some(levels) => levels.iter().map(Vec::as_slice).collect(),
        None => smallvec::smallvec![&rows[..]],
    };
    for &level in &levels {
        // Columns each row sends: not the generated key or server defaults it leaves to
        // the database; a version counter starts at 1.
        let mut groups: smallvec::SmallVec<[(&'static str, Positions, Positions); 1]> =
            smallvec::SmallVec::new();
        let mut cols = Positions::new();
        for &r in level {
            apply_links(plan, r)?;
            let item = &mut plan.items[r];
            let vt = item.vt;
            cols.clear();
            for (i, c) in (vt.columns)().iter().enumerate() {
                if c.version && item.is_unset(i) && as_i128(&item.values[i]) == Some(0) {
                    item.values[i] = one(&item.values[i]);
                    item.assigned.insert(i);
                }
                let leave = (c.generated || c.server_default)
                    && !c.version
                    && !item.assigned.contains(i)
                    && item.is_unset(i);
                if !leave {
                    cols.push(i);
                }
            }
            match groups
                .iter_mut()
                .find(|(t, c, _)| *t == vt.table_name && *c == cols)
            {
                Some(g) => g.2.push(r),
                None => groups.push((vt.table_name, cols.clone(), smallvec::smallvec![r])),
            }
        }
        for (_, cols, members) in groups {
            insert_group(s, plan, &cols, &members, dialect).await?;
        }
    }
    Ok(())
}

/// What the SQL of a multi-row INSERT of the flush depends on (not the values: they
/// are bound, row by row in `cols` order).
#[derive(Clone, PartialEq, Eq, Hash)]
struct InsertShape {
    model: std::any::TypeId,
    dialect: Dialect,
    cols: Positions,
    /// The columns of the RETURNING clause (none: no RETURNING).
    returning: Positions,
    /// Rows of VALUES (none for the UNNEST form).
    rows: usize,
    form: InsertForm,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum InsertForm {
    /// `INSERT ... VALUES (..), (..)`, the Core's text.
    Values,
    /// PostgreSQL's `INSERT ... SELECT ... FROM (VALUES ..) ORDER BY` ([`pg_ordered_insert`]).
    Ordered,
    /// PostgreSQL's `INSERT ... SELECT ... FROM UNNEST(arrays) ... ORDER BY`
    /// ([`pg_unnest_insert`]); the bits of the columns (positions in `cols`) that are
    /// NULL in every row, written as NULL and not sent.
    Unnest(u64),
}

/// Rows one `INSERT ... FROM UNNEST` sends at most.
const UNNEST_ROWS: usize = 10_000;

/// The SQL of the flush's INSERTs by shape: a flush of a thousand rows builds its text
/// once per process, not once per flush.
struct InsertSqlCache {
    map: HashMap<InsertShape, Arc<str>, FastHash>,
    bytes: usize,
}

/// Bytes of SQL text the cache keeps before it is emptied and starts again.
const INSERT_SQL_BYTES: usize = 8 << 20;

static INSERT_SQL: LazyLock<RwLock<InsertSqlCache>> = LazyLock::new(|| {
    RwLock::new(InsertSqlCache {
        map: HashMap::default(),
        bytes: 0,
    })
});

/// The SQL of an INSERT of `shape`'s rows of model `vt`, from the cache or made now;
/// `None` when the statement is one the flush does not bind row by row (then it is
/// compiled with its values, as any statement).
fn insert_sql(vt: &ModelVTable, shape: &InsertShape) -> Result<Option<Arc<str>>> {
    if let Some(sql) = INSERT_SQL
        .read()
        .ok()
        .and_then(|c| c.map.get(shape).cloned())
    {
        return Ok(Some(sql));
    }
    let sql = if let InsertForm::Unnest(null_cols) = shape.form {
        let Some(types) = pg_cast_types(vt, &shape.cols) else {
            return Ok(None);
        };
        pg_unnest_insert(vt, &shape.cols, &types, null_cols, &shape.returning)
    } else if shape.form == InsertForm::Ordered {
        pg_ordered_insert(vt, &shape.cols, &shape.returning, shape.rows)
    } else {
        // The Core's own text, from a statement whose values are the placeholders'
        // numbers: kept only if the compiler binds them in that order.
        let columns = (vt.columns)();
        let mut n = 0i64;
        let rows: Vec<Vec<Assignment>> = (0..shape.rows)
            .map(|_| {
                shape
                    .cols
                    .iter()
                    .map(|&c| {
                        n += 1;
                        Assignment::new(Name::Borrowed(columns[c].name), Value::I64(n - 1))
                    })
                    .collect()
            })
            .collect();
        let mut stmt = insert((vt.table)()).values_many(rows);
        if !shape.returning.is_empty() {
            stmt = stmt.returning(returning_items(vt, &shape.returning));
        }
        let compiled = stmt.compile_uncached(shape.dialect)?;
        let in_order = compiled.binds().len() == n as usize
            && (compiled.binds().iter())
                .zip(0..)
                .all(|(v, k)| *v == Value::I64(k));
        if !in_order {
            return Ok(None);
        }
        compiled.into_parts().0
    };
    if let Ok(mut c) = INSERT_SQL.write() {
        if c.bytes + sql.len() > INSERT_SQL_BYTES {
            c.map.clear();
            c.bytes = 0;
        }
        c.bytes += sql.len();
        c.map.insert(shape.clone(), Arc::clone(&sql));
    }
    Ok(Some(sql))
}

/// An INSERT of `shape`'s rows (VALUES or PostgreSQL's ordered form) with `binds`, the
/// rows' values in order: the cached text, else compiled as any statement.
fn values_insert(vt: &ModelVTable, shape: &InsertShape, binds: Vec<Value>) -> Result<Compiled> {
    if let Some(sql) = insert_sql(vt, shape)? {
        return Ok(Compiled::new(sql, binds));
    }
    let columns = (vt.columns)();
    let mut binds = binds.into_iter();
    let rows: Vec<Vec<Assignment>> = (0..shape.rows)
        .map(|_| {
            (shape.cols.iter())
                .zip(binds.by_ref())
                .map(|(&c, v)| Assignment::new(Name::Borrowed(columns[c].name), v))
                .collect()
        })
        .collect();
    let mut stmt = insert((vt.table)()).values_many(rows);
    if !shape.returning.is_empty() {
        stmt = stmt.returning(returning_items(vt, &shape.returning));
    }
    stmt.compile(shape.dialect)
}

/// An INSERT of the flush: to run, or run already (see [`single_rowid_insert`]).
enum SingleRowid {
    /// To run.
    Run(Compiled),
    /// Run, with RETURNING.
    Ran(crate::engine::QueryResult),
    /// Run: the row is in, with this key.
    Key(i64),
}

/// SQLite: one row of `vt` whose only value to learn is its generated integer key
/// (column `key`). `plain` is its INSERT without RETURNING, `returning` the shape of
/// the one with.
///
/// SQLite makes RETURNING's rows in a temporary table, which costs more than a one-row
/// INSERT itself; when the key column is the table's rowid (see [`rowid_key_proof`]),
/// `last_insert_rowid()` tells the key with no RETURNING. The proof is a query of the
/// schema, made once per connection and statement: the fast path keeps it with the
/// prepared INSERT and runs that only while SQLite has not compiled it again, which it
/// does when the schema changed (or a change was rolled back). Until then the INSERT
/// runs with RETURNING, and after its first few runs on the connection (a statement
/// run once is not worth a query) the proof is made after it; when the INSERT ran on
/// a schema changed since the proof, the proof is made again, and a key that is no
/// longer the rowid is read back by rowid.
async fn single_rowid_insert(
    s: &mut Session,
    vt: &ModelVTable,
    key: usize,
    plain: Compiled,
    returning: &InsertShape,
) -> Result<SingleRowid> {
    let tx = s.tx().await?;
    let (result, still) = match tx.insert_by_rowid(&plain).await? {
        RowidInsert::Ran { result, still } => (result, still),
        RowidInsert::NotRowid => {
            let (_, binds) = plain.into_parts();
            return values_insert(vt, returning, binds).map(SingleRowid::Run);
        }
        RowidInsert::Unknown { prove } => {
            let (sql, binds) = plain.into_parts();
            let done = tx
                .run_compiled(values_insert(vt, returning, binds)?)
                .await?;
            if !prove {
                return Ok(SingleRowid::Ran(done));
            }
            let proven = rowid_key_proof(s, vt, key).await?;
            s.tx().await?.remember_rowid_key(&sql, proven).await?;
            return Ok(SingleRowid::Ran(done));
        }
    };
    let id = match (result.rows_affected(), result.last_insert_id()) {
        (1, Some(id)) => id,
        (n, id) => {
            return Err(Error::InvalidRequest {
                message: format!("the database reported {n} rows and key {id:?} for one inserted"),
            });
        }
    };
    if still {
        return Ok(SingleRowid::Key(id));
    }
    // The schema changed since the proof: made again, for the table as it is now.
    let proven = rowid_key_proof(s, vt, key).await?;
    let tx = s.tx().await?;
    tx.remember_rowid_key(plain.sql(), proven).await?;
    if proven {
        return Ok(SingleRowid::Key(id));
    }
    let table = (vt.table)();
    let q = |ident: &str| Dialect::Sqlite.quote_identifier(ident);
    let row = tx
        .fetch_one(
            crate::sql::text(format!(
                "SELECT {} FROM {} WHERE rowid = :id",
                q((vt.columns)()[key].name),
                q(&table.name)
            ))
            .bind("id", id),
        )
        .await?;
    match row.value(0)? {
        Value::I64(k) => Ok(SingleRowid::Key(k)),
        other => Err(Error::InvalidRequest {
            message: format!("the inserted row's key is {other:?}, not an integer"),
        }),
    }
}

fn returning_items(vt: &ModelVTable, returned: &[usize]) -> Vec<SelectItem> {
    let columns = (vt.columns)();
    returned
        .iter()
        .map(|&i| SelectItem {
            expr: model_col(vt, columns[i].name),
            label: None,
        })
        .collect()
}

async fn insert_group(
    s: &mut Session,
    plan: &mut Plan,
    cols: &[usize],
    members: &[usize],
    dialect: Dialect,
) -> Result<()> {
    let vt = plan.items[members[0]].vt;
    let columns = (vt.columns)();
    // What the database fills in and we read back: the key (always first, to match rows
    // to objects) and the server defaults left out.
    let left_out: Positions = (0..columns.len()).filter(|i| !cols.contains(i)).collect();
    let generated_left_out = left_out.iter().any(|&i| columns[i].primary_key);
    let mut returned: Positions = (0..columns.len())
        .filter(|&i| columns[i].primary_key)
        .collect();
    returned.extend(
        left_out
            .iter()
            .copied()
            .filter(|&i| !columns[i].primary_key),
    );
    let needs_return = !left_out.is_empty();
    let has_returning = s.engine.server().has(Feature::InsertReturning);
    // No INSERT ... RETURNING (MySQL, MariaDB before 10.5, SQLite before 3.35): a
    // generated key is LAST_INSERT_ID() (last_insert_rowid()), one row per INSERT;
    // server defaults are read back by key once the rows are in.
    // MySQL numbers the rows of one multi-row INSERT consecutively (from the id it
    // reports, by `auto_increment_increment`) when `innodb_autoinc_lock_mode` is 0 or
    // 1: then a batch needs no round trip per row.
    let generated_keys = left_out.iter().filter(|&&i| columns[i].primary_key).count();
    let step = if generated_left_out && !has_returning && dialect.is_mysql() && generated_keys == 1
    {
        autoinc_step(s).await?
    } else {
        None
    };
    // SQLite: how a multi-row INSERT's generated keys are learnt (see `sqlite_keys`).
    let generated_key = left_out.iter().copied().find(|&i| columns[i].primary_key);
    let sqlite = match generated_key {
        Some(key)
            if dialect == Dialect::Sqlite
                && has_returning
                && generated_keys == 1
                && members.len() > 1
                && !cols.is_empty() =>
        {
            // `pragma_table_list` is SQLite 3.37's.
            let pragmas = s
                .engine
                .server()
                .version()
                .is_some_and(|v| v >= crate::dialect::ServerVersion::new(3, 37, 0));
            let proof = pragmas && returned.len() == 1 && members.len() >= ROWID_KEYS_FROM;
            sqlite_keys(s, vt, key, proof, members.len())
                .await
                .map_err(|e| flush_error(Op::Insert, describe_batch(vt, members), e))?
        }
        _ => SqliteKeys::Returning,
    };
    let mut rowid_before = match sqlite {
        SqliteKeys::Rowid(largest) => Some(largest),
        _ => None,
    };
    // SQLite, one row whose only value to learn is its generated integer key: on the
    // fast path, once the connection has proven the key the table's rowid, the INSERT
    // goes without RETURNING and `last_insert_rowid()` tells the key (see
    // `single_rowid_insert`).
    let table = (vt.table)();
    let rowid_single = generated_key.filter(|&key| {
        dialect == Dialect::Sqlite
            && has_returning
            && members.len() == 1
            && generated_keys == 1
            && returned[..] == [key]
            && !cols.is_empty()
            && table.schema.is_none()
            && table
                .get_column(columns[key].name)
                .is_some_and(|c| c.sql_type.is_integer())
    });
    let per_row = generated_left_out && !has_returning && step.is_none();
    let read_back =
        needs_return && !has_returning && returned.len() > left_out_keys(&returned, columns);
    let max_rows = if per_row || cols.is_empty() || sqlite == SqliteKeys::OneByOne {
        1
    } else {
        (dialect.max_bind_parameters() / cols.len().max(1)).clamp(1, 1000)
    };
    // Values nothing reads once the row is written are moved to the driver; the keys,
    // the columns children take, and what the flush assigns are copied.
    let model = (vt.type_id)();
    let keep: smallvec::SmallVec<[bool; 16]> = cols
        .iter()
        .map(|&c| columns[c].primary_key || plan.referenced.contains(&(model, c)))
        .collect();
    let take = |item: &mut Item, c: usize, keep: bool| {
        if keep || item.assigned.contains(c) {
            item.values[c].clone()
        } else {
            std::mem::replace(&mut item.values[c], Value::Null)
        }
    };
    // A `None` binds as a NULL of the column's type, so that an INSERT has one
    // parameter-type signature (one prepared statement) whichever values are NULL.
    let nulls: smallvec::SmallVec<[Option<crate::value::ValueKind>; 16]> = cols
        .iter()
        .map(|&c| {
            table
                .get_column(columns[c].name)
                .and_then(|col| col.sql_type.null_kind())
        })
        .collect();
    // PostgreSQL: rows go as one array per column, unnested (one statement for up to
    // UNNEST_ROWS rows, its text the same whatever their number), when the columns'
    // types can be cast to and each column's values can be one array parameter.
    let unnest = dialect == Dialect::Postgres
        && members.len() > 1
        && !cols.is_empty()
        && pg_cast_types(vt, cols).is_some();
    let mut start = 0;
    while start < members.len() {
        let rest = &members[start..];
        let null_cols = if unnest && rest.len() > 1 {
            let rows = &rest[..rest.len().min(UNNEST_ROWS)];
            array_columns(plan, rows, cols)
        } else {
            None
        };
        let arrays = null_cols.is_some();
        let chunk = &rest[..rest.len().min(if arrays { UNNEST_ROWS } else { max_rows })];
        start += chunk.len();
        let describe_batch = || describe_batch(vt, chunk);
        let returning = if needs_return && has_returning && rowid_before.is_none() {
            returned.clone()
        } else {
            Positions::new()
        };
        if let Some(null_cols) = null_cols {
            let shape = InsertShape {
                model,
                dialect,
                cols: Positions::from_slice(cols),
                returning,
                rows: 0,
                form: InsertForm::Unnest(null_cols),
            };
            let sql = insert_sql(vt, &shape)
                .map_err(|e| flush_error(Op::Insert, describe_batch(), e))?
                .ok_or_else(|| {
                    let message = "the columns' types have no array form".to_owned();
                    flush_error(
                        Op::Insert,
                        describe_batch(),
                        Error::InvalidRequest { message },
                    )
                })?;
            // One array per column but those of nothing but NULLs (the SQL says NULL).
            let sent: Vec<(usize, usize)> = cols
                .iter()
                .copied()
                .enumerate()
                .filter(|&(k, _)| null_cols & (1 << k) == 0)
                .collect();
            let mut arrays: Vec<Vec<Value>> = sent
                .iter()
                .map(|_| Vec::with_capacity(chunk.len()))
                .collect();
            for &r in chunk {
                let item = &mut plan.items[r];
                for (&(k, c), array) in sent.iter().zip(&mut arrays) {
                    array.push(take(item, c, keep[k]));
                }
            }
            let binds = arrays.into_iter().map(Value::Array).collect();
            let result = s.tx().await?.run_compiled(Compiled::new(sql, binds)).await;
            let done = result.map_err(|e| flush_error(Op::Insert, describe_batch(), e))?;
            if needs_return {
                finish_insert_chunk(plan, vt, chunk, cols, &returned, generated_left_out, &done)?;
            }
            continue;
        }
        let next = if cols.is_empty() {
            // Nothing but defaults: no VALUES list to write.
            SingleRowid::Run(default_values_insert(
                vt,
                &returned,
                dialect,
                needs_return && has_returning,
            ))
        } else {
            // PostgreSQL promises the order of neither VALUES rows nor RETURNING rows; an
            // INSERT ... SELECT ... ORDER BY inserts (and so numbers) the rows in order.
            let mut shape = InsertShape {
                model,
                dialect,
                cols: Positions::from_slice(cols),
                returning,
                rows: chunk.len(),
                form: if dialect == Dialect::Postgres && generated_left_out && chunk.len() > 1 {
                    InsertForm::Ordered
                } else {
                    InsertForm::Values
                },
            };
            let mut binds = Vec::with_capacity(chunk.len() * cols.len());
            for &r in chunk {
                let item = &mut plan.items[r];
                for ((&c, &keep), &null) in cols.iter().zip(&keep).zip(&nulls) {
                    binds.push(match take(item, c, keep) {
                        Value::Null => Value::null_of(null),
                        v => v,
                    });
                }
            }
            match rowid_single {
                Some(key) => {
                    shape.returning = Positions::new();
                    let plain = values_insert(vt, &shape, binds)
                        .map_err(|e| flush_error(Op::Insert, describe_batch(), e))?;
                    shape.returning = returned.clone();
                    single_rowid_insert(s, vt, key, plain, &shape)
                        .await
                        .map_err(|e| flush_error(Op::Insert, describe_batch(), e))?
                }
                None => SingleRowid::Run(
                    values_insert(vt, &shape, binds)
                        .map_err(|e| flush_error(Op::Insert, describe_batch(), e))?,
                ),
            }
        };
        let done = match next {
            SingleRowid::Run(compiled) => match s.tx().await?.run_compiled(compiled).await {
                Ok(d) => d,
                Err(e) => return Err(flush_error(Op::Insert, describe_batch(), e)),
            },
            SingleRowid::Ran(done) => done,
            SingleRowid::Key(id) => {
                let key = rowid_single.expect("a key only for one row by rowid");
                let item = &mut plan.items[chunk[0]];
                item.values[key] = Value::I64(id);
                item.assigned.insert(key);
                continue;
            }
        };
        if !needs_return {
            continue;
        }
        // Consecutive keys told by one id: MySQL reports the first row's, SQLite the last
        // row's (all of them past the largest key before).
        let run = match (step, rowid_before) {
            (Some(step), _) => Some((step, None)),
            (None, Some(before)) => Some((1, Some(before))),
            (None, None) => None,
        };
        if let Some((step, before)) = run {
            let rows = chunk.len() as i64;
            let counted = done.rows_affected() == chunk.len() as u64;
            let first = match (done.last_insert_id(), before) {
                (Some(first), None) if counted => Some(first),
                // Exactly the next keys: a row numbered in between by anything else
                // (which the proof rules out) fails the flush rather than shift keys.
                (Some(last), Some(before))
                    if counted && i128::from(last) - i128::from(before) == i128::from(rows) =>
                {
                    Some(before + 1)
                }
                _ => None,
            };
            let Some(first) = first else {
                return Err(flush_error(
                    Op::Insert,
                    describe_batch(),
                    Error::InvalidRequest {
                        message: format!(
                            "the database reported {} rows and key {:?} for {} inserted",
                            done.rows_affected(),
                            done.last_insert_id(),
                            chunk.len()
                        ),
                    },
                ));
            };
            if before.is_some() {
                rowid_before = Some(first + rows - 1);
            }
            let key = left_out
                .iter()
                .copied()
                .find(|&i| columns[i].primary_key)
                .expect("one generated key");
            for (n, &r) in chunk.iter().enumerate() {
                let item = &mut plan.items[r];
                item.values[key] = Value::I64(first + n as i64 * step);
                item.assigned.insert(key);
            }
            continue;
        }
        if !has_returning {
            // MySQL: the generated key is LAST_INSERT_ID().
            let r = chunk[0];
            for &i in left_out
                .iter()
                .filter(|&&i| per_row && columns[i].primary_key)
            {
                let id = done.last_insert_id().ok_or_else(|| {
                    flush_error(
                        Op::Insert,
                        describe_batch(),
                        Error::InvalidRequest {
                            message: "the database reported no generated key".into(),
                        },
                    )
                })?;
                let item = &mut plan.items[r];
                item.values[i] = Value::I64(id);
                item.assigned.insert(i);
            }
            continue;
        }
        finish_insert_chunk(plan, vt, chunk, cols, &returned, generated_left_out, &done)?;
    }
    if read_back {
        read_back_defaults(s, plan, members, &returned, cols).await?;
    }
    Ok(())
}

/// The fewest rows for which SQLite's flush proves its keys consecutive instead of
/// reading them back: the proof is a statement of its own (about 15 µs), RETURNING costs
/// about 0.4 µs a row.
const ROWID_KEYS_FROM: usize = 50;

/// How SQLite's flush learns the generated keys of a multi-row INSERT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SqliteKeys {
    /// Consecutive after this largest key: the last row's is `last_insert_rowid()`.
    Rowid(i64),
    /// Read back with RETURNING and matched to the rows in ascending order.
    Returning,
    /// One row per INSERT: keys past the largest rowid are picked at random, in no order.
    OneByOne,
}

/// SQLite: how the generated keys (column `key`) of `rows` new rows of `vt` are learnt.
///
/// A new rowid is one more than the largest in the table (SQLite's documented rule; with
/// AUTOINCREMENT, one more than the largest ever), so keys ascend in the order rows are
/// inserted, and RETURNING's rows (in no promised order) are matched by sorting them;
/// past the largest possible rowid SQLite picks free ones at random, so a table whose
/// largest key is over half of it inserts one row per statement.
///
/// With `proof`, no RETURNING either: when `key` is the only primary-key column of a
/// plain table (not virtual, not `WITHOUT ROWID`, no AUTOINCREMENT) and an alias of its
/// rowid (an `INTEGER PRIMARY KEY`: SQLite makes an index for every other primary key)
/// and no trigger is on it (one could insert rows of its own in between), the rows of a
/// multi-row INSERT take the keys right after the largest, the last one's being
/// `last_insert_rowid()` (checked after each INSERT).
///
/// The largest key must still be the largest when the INSERT runs: the transaction
/// takes the write lock before reading it (begun `IMMEDIATE` here, or with a no-op
/// write when it has taken no lock yet). A transaction that read first could not write
/// once another connection has (`SQLITE_BUSY_SNAPSHOT`, which no busy timeout waits
/// out), where the INSERT alone would have waited for the lock.
async fn sqlite_keys(
    s: &mut Session,
    vt: &ModelVTable,
    key: usize,
    proof: bool,
    rows: usize,
) -> Result<SqliteKeys> {
    let table = (vt.table)();
    let column = (vt.columns)()[key].name;
    if !table
        .get_column(column)
        .is_some_and(|c| c.sql_type.is_integer())
    {
        // Not an integer key: RETURNING's rows stay in the order they came.
        return Ok(SqliteKeys::Returning);
    }
    let q = |ident: &str| Dialect::Sqlite.quote_identifier(ident);
    let (qualified, master) = match &table.schema {
        Some(schema) => (
            format!("{}.{}", q(schema), q(&table.name)),
            format!("{}.sqlite_master", q(schema)),
        ),
        None => (q(&table.name), "main.sqlite_master".to_owned()),
    };
    let tx = s.tx_with(true).await?;
    if tx.sqlite_unlocked().await? {
        tx.execute_script(&format!("DELETE FROM {qualified} WHERE 0"))
            .await?;
    }
    let largest = format!("SELECT max({}) FROM {qualified}", q(column));
    let stmt = if proof {
        crate::sql::text(format!(
            "SELECT ({largest}), {}",
            rowid_key_conditions(&master, true)
        ))
        .bind("t", table.name.clone())
        .bind("s", table.schema.clone())
        .bind("k", column)
    } else {
        crate::sql::text(largest)
    };
    let row = tx.fetch_one(stmt).await?;
    let largest = match row.value(0)? {
        Value::I64(n) => n,
        Value::Null => 0,
        _ => return Ok(SqliteKeys::Returning),
    };
    let rowid_key = proof && row.get::<bool>(1)?;
    let room = i128::from(i64::MAX) - i128::from(largest);
    Ok(if rowid_key && room >= rows as i128 {
        SqliteKeys::Rowid(largest)
    } else if largest <= i64::MAX / 2 {
        SqliteKeys::Returning
    } else {
        SqliteKeys::OneByOne
    })
}

/// SQL true when column `:k` of table `:t` (in schema `:s`, or unqualified when NULL)
/// is the table's rowid: its only primary-key column, an `INTEGER PRIMARY KEY` (SQLite
/// makes an index for every other primary key), of a plain table (not virtual, not
/// `WITHOUT ROWID`) that is the only one of its name the pragmas can find (unqualified:
/// a temporary one of that name, else the main database's). With `consecutive`, what
/// keeps a multi-row INSERT's keys consecutive too: no AUTOINCREMENT, and no trigger
/// (one could insert rows of its own in between). `master` is the schema's
/// `sqlite_master`.
fn rowid_key_conditions(master: &str, consecutive: bool) -> String {
    let mut sql = "(SELECT count(*) = 1 AND max(name = :k COLLATE NOCASE) \
         FROM pragma_table_info(:t, :s) WHERE pk > 0) \
         AND NOT EXISTS (SELECT 1 FROM pragma_index_list(:t, :s) WHERE origin = 'pk') \
         AND (SELECT count(*) = 1 AND max(type = 'table' AND wr = 0) FROM pragma_table_list(:t) \
              WHERE :s IS NULL OR schema = :s COLLATE NOCASE)"
        .to_owned();
    if consecutive {
        sql.push_str(&format!(
            " AND NOT EXISTS (SELECT 1 FROM {master} WHERE type = 'table' AND name = :t COLLATE NOCASE \
                             AND sql LIKE '%AUTOINCREMENT%') \
             AND NOT EXISTS (SELECT 1 FROM temp.sqlite_master WHERE type = 'table' AND name = :t COLLATE NOCASE \
                             AND sql LIKE '%AUTOINCREMENT%') \
             AND NOT EXISTS (SELECT 1 FROM {master} WHERE type = 'trigger' AND tbl_name = :t COLLATE NOCASE) \
             AND NOT EXISTS (SELECT 1 FROM temp.sqlite_master WHERE type = 'trigger' AND tbl_name = :t COLLATE NOCASE)"
        ));
    }
    sql
}

/// SQLite: true when the generated key of `vt` (column `key`, of a table named without
/// a schema) is its table's rowid, so that `last_insert_rowid()` tells a one-row
/// INSERT's key (a trigger's own inserts do not change it once the trigger is done).
/// Needs SQLite 3.37 (`pragma_table_list`): false before.
async fn rowid_key_proof(s: &mut Session, vt: &ModelVTable, key: usize) -> Result<bool> {
    let pragmas = s
        .engine
        .server()
        .version()
        .is_some_and(|v| v >= crate::dialect::ServerVersion::new(3, 37, 0));
    if !pragmas {
        return Ok(false);
    }
    let table = (vt.table)();
    let stmt = crate::sql::text(format!(
        "SELECT {}",
        rowid_key_conditions("main.sqlite_master", false)
    ))
    .bind("t", table.name.clone())
    .bind("s", table.schema.clone())
    .bind("k", (vt.columns)()[key].name);
    let row = s.tx().await?.fetch_one(stmt).await?;
    Ok(row.get::<Option<bool>>(0)?.unwrap_or(false))
}

/// MySQL: the step between consecutive generated keys of one multi-row INSERT, or
/// `None` when the server does not promise them consecutive (`innodb_autoinc_lock_mode`
/// 2, "interleaved", MySQL 8's default). Read once per engine.
async fn autoinc_step(s: &mut Session) -> Result<Option<i64>> {
    if let Some(step) = s.engine.shared.autoinc_step.get() {
        return Ok(*step);
    }
    let row = s
        .tx()
        .await?
        .fetch_one(crate::sql::text(
            "SELECT @@innodb_autoinc_lock_mode + 0, @@auto_increment_increment + 0",
        ))
        .await?;
    let (mode, step): (i64, i64) = (row.get(0)?, row.get(1)?);
    let step = (mode <= 1 && step >= 1).then_some(step);
    Ok(*s.engine.shared.autoinc_step.get_or_init(|| step))
}

/// The rows an INSERT of `chunk` returned: generated keys (matched to the rows in order)
/// and server defaults go into the rows' values, to be written into the objects.
fn finish_insert_chunk(
    plan: &mut Plan,
    vt: &ModelVTable,
    chunk: &[usize],
    cols: &[usize],
    returned: &[usize],
    generated_left_out: bool,
    done: &crate::engine::QueryResult,
) -> Result<()> {
    let columns = (vt.columns)();
    let got = done.rows();
    if got.len() != chunk.len() {
        return Err(flush_error(
            Op::Insert,
            describe_batch(vt, chunk),
            Error::InvalidRequest {
                message: format!(
                    "RETURNING gave {} rows for {} inserted",
                    got.len(),
                    chunk.len()
                ),
            },
        ));
    }
    // Generated keys come in ascending order of insertion; RETURNING's own order is
    // not promised on every database, so sort by the key (each row's read once, kept
    // for the object). Rows with their own key are matched by it.
    let mut keys: Vec<Option<Value>> = Vec::new();
    let order: Vec<usize> = if generated_left_out {
        let mut keyed: Vec<(i128, usize)> = Vec::with_capacity(got.len());
        keys.reserve(got.len());
        for (k, row) in got.iter().enumerate() {
            let key = row.value(0)?;
            keyed.push((as_i128(&key).unwrap_or(i128::MAX), k));
            keys.push(Some(key));
        }
        // Stable, as the sort of the positions by key was.
        keyed.sort_by_key(|&(key, _)| key);
        keyed.into_iter().map(|(_, k)| k).collect()
    } else {
        // A row no object's key matches (the database stored another key: a trigger,
        // a column type that converted it) fails the flush: its values belong to no
        // object we can name.
        let npk = returned.iter().filter(|&&i| columns[i].primary_key).count();
        let got_keys: Vec<Vec<Value>> = got
            .iter()
            .map(|row| (0..npk).map(|p| row.value(p)).collect())
            .collect::<Result<_>>()?;
        chunk
            .iter()
            .map(|&r| {
                let key = key_values_of(&plan.items[r]);
                got_keys
                    .iter()
                    .position(|g| g.iter().zip(&key).all(|(a, b)| same_value(a, b)))
                    .ok_or_else(|| {
                        flush_error(
                            Op::Insert,
                            describe(vt.name, Some(&key)),
                            Error::InvalidRequest {
                                message: "no row of the INSERT's RETURNING matches the key sent: the database stored another key (a trigger or the column's type changed it)".into(),
                            },
                        )
                    })
            })
            .collect::<Result<_>>()?
    };
    for (&r, &k) in chunk.iter().zip(&order) {
        let item = &mut plan.items[r];
        for (pos, &i) in returned.iter().enumerate() {
            if cols.contains(&i) {
                continue;
            }
            let read = if pos == 0 {
                keys.get_mut(k).and_then(Option::take)
            } else {
                None
            };
            item.values[i] = match read {
                Some(v) => v,
                None => got[k].value(pos)?,
            };
            item.assigned.insert(i);
        }
    }
    Ok(())
}

/// Whether `rows` can go as one array parameter per column of `cols` (PostgreSQL): each
/// column's values are of one type arrays are bound for ([`Value::array_element_kind`])
/// or all NULL, and not every column is all NULL. `Some` of the bits of the all-NULL
/// columns (positions in `cols`, the first 64), `None` when they cannot.
fn array_columns(plan: &Plan, rows: &[usize], cols: &[usize]) -> Option<u64> {
    let mut nulls = 0u64;
    for (k, &c) in cols.iter().enumerate() {
        let mut kind = None;
        for &r in rows {
            let v = &plan.items[r].values[c];
            if v.is_null() {
                continue;
            }
            // A leap second is refused by the scalar bind: it keeps that path.
            let leap = match v {
                Value::DateTime(t) => chrono::Timelike::nanosecond(t) >= 1_000_000_000,
                Value::DateTimeUtc(t) => chrono::Timelike::nanosecond(t) >= 1_000_000_000,
                _ => false,
            };
            let k = v.array_element_kind().filter(|_| !leap)?;
            if kind.replace(k).is_some_and(|prev| prev != k) {
                return None;
            }
        }
        if kind.is_none() {
            if k >= 64 {
                return None;
            }
            nulls |= 1 << k;
        }
    }
    ((nulls.count_ones() as usize) < cols.len()).then_some(nulls)
}

/// `Model (n rows)`, or the model alone for one row (the row's own values are not in
/// messages).
fn describe_batch(vt: &ModelVTable, chunk: &[usize]) -> String {
    if chunk.len() == 1 {
        describe(vt.name, None)
    } else {
        format!("{} ({} rows)", vt.name, chunk.len())
    }
}

/// How many of `returned` (keys first) are key columns.
fn left_out_keys(returned: &[usize], columns: &[crate::model::ColumnInfo]) -> usize {
    returned.iter().filter(|&&i| columns[i].primary_key).count()
}

/// MySQL has no RETURNING: the server defaults the rows of `members` were given are
/// read back by key (`SELECT key, defaults FROM t WHERE key = ? OR ...`, batched) in
/// the same flush, so the objects hold them as on the other databases.
async fn read_back_defaults(
    s: &mut Session,
    plan: &mut Plan,
    members: &[usize],
    returned: &[usize],
    cols: &[usize],
) -> Result<()> {
    let vt = plan.items[members[0]].vt;
    let columns = (vt.columns)();
    let npk = left_out_keys(returned, columns);
    let items: Vec<SelectItem> = returned
        .iter()
        .map(|&i| SelectItem {
            expr: model_col(vt, columns[i].name),
            label: None,
        })
        .collect();
    let max_rows = (s.engine.dialect().max_bind_parameters() / npk.max(1)).clamp(1, 1000);
    for chunk in members.chunks(max_rows) {
        let keys: Vec<Vec<Value>> = chunk
            .iter()
            .map(|&r| key_values_of(&plan.items[r]))
            .collect();
        let stmt = select(items.clone())
            .from((vt.table)())
            .filter(or_all(keys.iter().map(|k| key_cond(vt, k))));
        let rows = s
            .tx()
            .await?
            .fetch_all(stmt)
            .await
            .map_err(|e| flush_error(Op::Insert, describe(vt.name, None), e))?;
        let got: Vec<Vec<Value>> = rows.iter().map(|r| r.values()).collect::<Result<_>>()?;
        for (&r, key) in chunk.iter().zip(&keys) {
            let row = got
                .iter()
                .find(|g| g[..npk].iter().zip(key).all(|(a, b)| same_value(a, b)))
                .ok_or_else(|| {
                    flush_error(
                        Op::Insert,
                        describe(vt.name, Some(key)),
                        Error::InvalidRequest {
                            message: "the row just inserted is not found by the key sent: the database stored another key (a trigger or the column's type changed it)".into(),
                        },
                    )
                })?;
            let item = &mut plan.items[r];
            for (pos, &i) in returned.iter().enumerate().skip(npk) {
                if cols.contains(&i) {
                    continue;
                }
                item.values[i] = row[pos].clone();
                item.assigned.insert(i);
            }
        }
    }
    Ok(())
}

/// `INSERT INTO t DEFAULT VALUES` (`() VALUES ()` on MySQL), with `RETURNING` the
/// columns the database filled when `returning`.
fn default_values_insert(
    vt: &ModelVTable,
    returned: &[usize],
    dialect: Dialect,
    returning: bool,
) -> Compiled {
    let mut sql = String::from("INSERT INTO ");
    if let Some(schema) = vt.schema {
        dialect.quote_identifier_into(&mut sql, schema);
        sql.push('.');
    }
    dialect.quote_identifier_into(&mut sql, vt.table_name);
    sql.push_str(if dialect.is_mysql() {
        " () VALUES ()"
    } else {
        " DEFAULT VALUES"
    });
    if returning {
        sql.push_str(" RETURNING ");
        for (k, &c) in returned.iter().enumerate() {
            if k > 0 {
                sql.push_str(", ");
            }
            dialect.quote_identifier_into(&mut sql, (vt.columns)()[c].name);
        }
    }
    Compiled::new(sql, Vec::new())
}

/// The PostgreSQL types `cols` of model `vt` are cast to from their parameters: the
/// table's column types without their modifiers (an explicit CAST to VARCHAR(n) would
/// cut a longer string silently, where the INSERT's own assignment refuses it). `None`
/// when a column is not the table's or has a type of the user's own (it may be an
/// array, a domain, ...): such rows are not sent as arrays.
fn pg_cast_types(vt: &ModelVTable, cols: &[usize]) -> Option<Vec<String>> {
    let table = (vt.table)();
    let columns = (vt.columns)();
    cols.iter()
        .map(|&c| {
            let col = table.get_column(columns[c].name)?;
            if matches!(col.sql_type, crate::schema::SqlType::Custom(_)) {
                return None;
            }
            Some(base_type(col.sql_type.ddl(Dialect::Postgres)))
        })
        .collect()
}

/// A type's DDL without its modifiers (`VARCHAR(50)`: `VARCHAR`).
fn base_type(ddl: String) -> String {
    match ddl.find('(') {
        Some(i) => ddl[..i].trim_end().to_owned(),
        None => ddl,
    }
}

/// `INSERT INTO t (cols) SELECT p0, .. FROM UNNEST(CAST($1 AS type[]), ..) WITH
/// ORDINALITY AS orm_v (p0, .., orm_sen) ORDER BY orm_sen RETURNING ..`: each column's
/// values bound as one array ([`Value::Array`]), inserted in the order given (so
/// generated keys ascend in that order); the text is the same for any number of rows.
/// A column of `null_cols` (bits of positions in `cols`) is NULL in every row: it is
/// written `NULL` (the INSERT gives it the column's type) and not sent.
fn pg_unnest_insert(
    vt: &ModelVTable,
    cols: &[usize],
    types: &[String],
    null_cols: u64,
    returned: &[usize],
) -> Arc<str> {
    use std::fmt::Write;
    let d = Dialect::Postgres;
    let columns = (vt.columns)();
    let mut sql = String::with_capacity(128 + cols.len() * 48);
    sql.push_str("INSERT INTO ");
    if let Some(schema) = vt.schema {
        d.quote_identifier_into(&mut sql, schema);
        sql.push('.');
    }
    d.quote_identifier_into(&mut sql, vt.table_name);
    sql.push_str(" (");
    for (k, &c) in cols.iter().enumerate() {
        if k > 0 {
            sql.push_str(", ");
        }
        d.quote_identifier_into(&mut sql, columns[c].name);
    }
    sql.push_str(") SELECT ");
    let sent = (0..cols.len()).filter(|&k| null_cols & (1 << k) == 0);
    let mut p = 0;
    for k in 0..cols.len() {
        if k > 0 {
            sql.push_str(", ");
        }
        if null_cols & (1 << k) != 0 {
            sql.push_str("NULL");
        } else {
            let _ = write!(sql, "\"p{p}\"");
            p += 1;
        }
    }
    sql.push_str(" FROM UNNEST(");
    for (n, k) in sent.enumerate() {
        if n > 0 {
            sql.push_str(", ");
        }
        let _ = write!(sql, "CAST(${} AS {}[])", n + 1, types[k]);
    }
    sql.push_str(") WITH ORDINALITY AS \"orm_v\" (");
    for n in 0..p {
        let _ = write!(sql, "\"p{n}\", ");
    }
    sql.push_str("\"orm_sen\") ORDER BY \"orm_sen\"");
    for (k, &c) in returned.iter().enumerate() {
        sql.push_str(if k == 0 { " RETURNING " } else { ", " });
        d.quote_identifier_into(&mut sql, columns[c].name);
    }
    sql.into()
}

/// `INSERT INTO t (cols) SELECT p0, .. FROM (VALUES (CAST($1 AS type), .., 0), ..) AS
/// orm_v (p0, .., orm_sen) ORDER BY orm_sen RETURNING ..` for `rows` rows, bound row by
/// row: the rows are inserted in the order given, so the generated keys ascend in that
/// order (SQLAlchemy's "insertmanyvalues" form for PostgreSQL). The casts give the
/// VALUES columns the table's types.
fn pg_ordered_insert(
    vt: &ModelVTable,
    cols: &[usize],
    returned: &[usize],
    rows: usize,
) -> Arc<str> {
    use std::fmt::Write;
    let d = Dialect::Postgres;
    let table = (vt.table)();
    let columns = (vt.columns)();
    // The casts name the base type only: an explicit CAST to VARCHAR(n) would cut a
    // longer string silently, where the INSERT's own assignment refuses it.
    let types: Vec<String> = cols
        .iter()
        .map(|&c| {
            base_type(
                table
                    .get_column(columns[c].name)
                    .map_or_else(|| "TEXT".to_owned(), |col| col.sql_type.ddl(d)),
            )
        })
        .collect();
    let mut sql = String::with_capacity(64 + rows * cols.len() * 24);
    sql.push_str("INSERT INTO ");
    if let Some(schema) = vt.schema {
        d.quote_identifier_into(&mut sql, schema);
        sql.push('.');
    }
    d.quote_identifier_into(&mut sql, vt.table_name);
    sql.push_str(" (");
    for (k, &c) in cols.iter().enumerate() {
        if k > 0 {
            sql.push_str(", ");
        }
        d.quote_identifier_into(&mut sql, columns[c].name);
    }
    sql.push_str(") SELECT ");
    for k in 0..cols.len() {
        if k > 0 {
            sql.push_str(", ");
        }
        let _ = write!(sql, "\"p{k}\"");
    }
    sql.push_str(" FROM (VALUES ");
    let mut placeholder = 0;
    for n in 0..rows {
        if n > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for ty in &types {
            placeholder += 1;
            let _ = write!(sql, "CAST(${placeholder} AS {ty}), ");
        }
        let _ = write!(sql, "{n})");
    }
    sql.push_str(") AS \"orm_v\" (");
    for k in 0..cols.len() {
        let _ = write!(sql, "\"p{k}\", ");
    }
    sql.push_str("\"orm_sen\") ORDER BY \"orm_sen\" RETURNING ");
    for (k, &c) in returned.iter().enumerate() {
        if k > 0 {
            sql.push_str(", ");
        }
        d.quote_identifier_into(&mut sql, columns[c].name);
    }
    sql.into()
}

async fn write_updates(s: &mut Session, plan: &mut Plan, unit: usize) -> Result<()> {
    let rows: Vec<usize> = (0..plan.items.len())
        .filter(|&i| plan.items[i].unit == unit && plan.items[i].op == Op::Update)
        .collect();
    for r in rows {
        apply_links(plan, r)?;
        let item = &mut plan.items[r];
        let vt = item.vt;
        let columns = (vt.columns)();
        // An unloaded deferred column is never written; one set since the snapshot
        // (it was unloaded then) is, whatever its value.
        let bit = |m: u64, i: usize| i < 64 && m & (1 << i) != 0;
        let mut changed: Vec<usize> = (0..columns.len())
            .filter(|&i| {
                !bit(item.unloaded, i)
                    && (bit(item.loaded_since, i) || !same_value(&item.values[i], &item.orig[i]))
            })
            .collect();
        if changed.is_empty() {
            continue;
        }
        let version = version_column(vt);
        if let Some(v) = version {
            item.values[v] = bump(&item.orig[v]);
            item.assigned.insert(v);
            if !changed.contains(&v) {
                changed.push(v);
            }
        }
        let key = item.key.clone().unwrap_or_else(|| key_values_of(item));
        let set: Vec<Assignment> = changed
            .iter()
            .map(|&i| Assignment::new(Name::Borrowed(columns[i].name), item.values[i].clone()))
            .collect();
        let mut cond = key_cond(vt, &key);
        if let Some(v) = version {
            cond = cond.and(eq(model_col(vt, columns[v].name), item.orig[v].clone()));
        }
        let stmt = update((vt.table)()).set(set).filter(cond);
        update_one_row(s, &stmt, describe(vt.name, Some(&key))).await?;
    }
    Ok(())
}

/// The `post_update` links: one UPDATE of the child's foreign key each, once every row
/// of the flush is inserted and updated (so both ends exist and carry their keys), and
/// before any row is deleted (so a cleared key no longer holds a deleted row). Rows
/// about to be deleted that hold a `post_update` key to another row have it cleared
/// first too, so that rows referring to each other can be deleted in any order.
async fn write_post_updates(s: &mut Session, plan: &mut Plan) -> Result<()> {
    let mut writes: Vec<(usize, Vec<(usize, Value)>)> = Vec::new();
    for link in &plan.post_links {
        let cols: Vec<(usize, Value)> = match &link.parent {
            None => link
                .child_cols()
                .iter()
                .map(|&c| (c, Value::Null))
                .collect(),
            Some(p) => {
                check_parent_in_session(plan, link.child, p)?;
                link.child_cols()
                    .iter()
                    .zip(link.parent_cols())
                    .map(|(&c, &pc)| (c, current_value(plan, p, pc)))
                    .collect()
            }
        };
        writes.push((link.child, cols));
    }
    for (idx, item) in plan.items.iter().enumerate() {
        if item.op != Op::Delete {
            continue;
        }
        let vt = item.vt;
        for info in (vt.relationships)() {
            if info.kind != RelationshipKind::ManyToOne {
                continue;
            }
            let join = resolve(vt, info)?;
            if join.post_update && join.local.iter().any(|&c| item.orig[c] != Value::Null) {
                writes.push((idx, join.local.iter().map(|&c| (c, Value::Null)).collect()));
            }
        }
    }
    for (idx, cols) in writes {
        let item = &mut plan.items[idx];
        let vt = item.vt;
        let columns = (vt.columns)();
        let key = item.key.clone().unwrap_or_else(|| key_values_of(item));
        let mut set: Vec<Assignment> = cols
            .iter()
            .map(|(c, v)| Assignment::new(Name::Borrowed(columns[*c].name), v.clone()))
            .collect();
        let mut cond = key_cond(vt, &key);
        // A versioned row: checked against, and bumped from, the version it has now
        // (this flush may have bumped it already).
        let version = version_column(vt);
        let current = |item: &Item, v: usize| match item.op {
            Op::Insert => item.values[v].clone(),
            _ if item.assigned.contains(v) => item.values[v].clone(),
            _ => item.orig[v].clone(),
        };
        let bumped = version.map(|v| (v, current(item, v)));
        if let Some((v, now)) = &bumped {
            cond = cond.and(eq(model_col(vt, columns[*v].name), now.clone()));
            set.push(Assignment::new(Name::Borrowed(columns[*v].name), bump(now)));
        }
        let bumped = bumped.map(|(v, now)| (v, bump(&now)));
        let stmt = update((vt.table)()).set(set).filter(cond);
        update_one_row(s, &stmt, describe(vt.name, Some(&key))).await?;
        if item.op == Op::Delete {
            // The DELETE checks the version this UPDATE left.
            if let Some((v, new)) = bumped {
                item.orig[v] = new;
            }
        } else {
            for (c, v) in cols.into_iter().chain(bumped) {
                item.values[c] = v;
                item.assigned.insert(c);
            }
        }
    }
    Ok(())
}

/// Runs an UPDATE of one row by key; matching no row is [`Error::StaleData`].
async fn update_one_row(
    s: &mut Session,
    stmt: &crate::sql::UpdateStatement,
    object: String,
) -> Result<()> {
    let done = s
        .tx()
        .await?
        .execute(stmt)
        .await
        .map_err(|e| flush_error(Op::Update, object.clone(), e))?;
    if done.rows_affected() != 1 {
        return Err(Error::StaleData {
            operation: "UPDATE",
            object,
            expected: 1,
            matched: done.rows_affected(),
        });
    }
    Ok(())
}

async fn write_associations(s: &mut Session, plan: &Plan) -> Result<()> {
    for (join, owner) in &plan.assoc_owner_deletes {
        let Some(sec) = &join.secondary else { continue };
        let cond = and_all(
            sec.local
                .iter()
                .zip(&join.local)
                .map(|(c, &l)| eq(table_col(&sec.table, c), current_value(plan, owner, l))),
        );
        let stmt = delete(Arc::clone(&sec.table)).filter(cond);
        s.tx().await?.execute(&stmt).await.map_err(|e| {
            flush_error(
                Op::Delete,
                format!("{} ({})", sec.table.name, owner.describe()),
                e,
            )
        })?;
    }
    for row in plan.assoc.iter().filter(|r| !r.insert) {
        let Some(sec) = &row.join.secondary else {
            continue;
        };
        let cond = and_all(
            sec.local
                .iter()
                .zip(&row.join.local)
                .map(|(c, &l)| eq(table_col(&sec.table, c), current_value(plan, &row.owner, l)))
                .chain(sec.remote.iter().zip(&row.join.remote).map(|(c, &r)| {
                    eq(
                        table_col(&sec.table, c),
                        current_value(plan, &row.target, r),
                    )
                })),
        );
        let stmt = delete(Arc::clone(&sec.table)).filter(cond);
        s.tx().await?.execute(&stmt).await.map_err(|e| {
            flush_error(
                Op::Delete,
                format!("{} row of {}", sec.table.name, row.owner.describe()),
                e,
            )
        })?;
    }
    let inserts: Vec<&AssocRow> = plan.assoc.iter().filter(|r| r.insert).collect();
    for row in inserts {
        let Some(sec) = &row.join.secondary else {
            continue;
        };
        let values: Vec<Assignment> =
            sec.local
                .iter()
                .zip(&row.join.local)
                .map(|(c, &l)| Assignment::new(c.clone(), current_value(plan, &row.owner, l)))
                .chain(
                    sec.remote.iter().zip(&row.join.remote).map(|(c, &r)| {
                        Assignment::new(c.clone(), current_value(plan, &row.target, r))
                    }),
                )
                .collect();
        let stmt = insert(Arc::clone(&sec.table)).values(values);
        s.tx().await?.execute(&stmt).await.map_err(|e| {
            flush_error(
                Op::Insert,
                format!("{} row of {}", sec.table.name, row.owner.describe()),
                e,
            )
        })?;
    }
    Ok(())
}

async fn write_deletes(s: &mut Session, plan: &mut Plan, unit: usize) -> Result<()> {
    let rows: Vec<usize> = (0..plan.items.len())
        .filter(|&i| plan.items[i].unit == unit && plan.items[i].op == Op::Delete)
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    // Children before parents: reverse the order in which parents come first.
    let order = delete_order(plan, &rows)?;
    for r in order {
        let item = &plan.items[r];
        let vt = item.vt;
        let key = item.key.clone().unwrap_or_else(|| key_values_of(item));
        let mut cond = key_cond(vt, &key);
        if let Some(v) = version_column(vt) {
            cond = cond.and(eq(
                model_col(vt, (vt.columns)()[v].name),
                item.orig[v].clone(),
            ));
        }
        let stmt = delete((vt.table)()).filter(cond);
        let object = describe(vt.name, Some(&key));
        let done = s
            .tx()
            .await?
            .execute(&stmt)
            .await
            .map_err(|e| flush_error(Op::Delete, object.clone(), e))?;
        if version_column(vt).is_some() && done.rows_affected() != 1 {
            return Err(Error::StaleData {
                operation: "DELETE",
                object,
                expected: 1,
                matched: done.rows_affected(),
            });
        }
    }
    Ok(())
}

/// Deleted rows of one unit, children first: a row that points at another deleted row
/// (through a loaded many-to-one, or by being in its loaded collection) goes before it.
fn delete_order(plan: &Plan, rows: &[usize]) -> Result<Vec<usize>> {
    let pos: HashMap<usize, usize, FastHash> = rows
        .iter()
        .enumerate()
        .map(|(p, &r)| (plan.items[r].h.addr(), p))
        .collect();
    // before[p]: rows that must be deleted before row p (its children).
    let mut before: Vec<Vec<usize>> = vec![Vec::new(); rows.len()];
    for (p, &r) in rows.iter().enumerate() {
        let h = &plan.items[r].h;
        let vt = h.vtable();
        for (i, info) in (vt.relationships)().iter().enumerate() {
            // A post_update foreign key is cleared before the deletes.
            if resolve(vt, info)?.post_update {
                continue;
            }
            let mut targets = Vec::new();
            (vt.with_relationship)(h, i, &mut |rel| {
                targets.extend(rel.items().iter().map(Handle::addr));
            });
            for t in targets {
                let Some(&tp) = pos.get(&t) else { continue };
                if tp == p {
                    continue;
                }
                match info.kind {
                    RelationshipKind::ManyToOne => before[tp].push(p),
                    RelationshipKind::OneToMany | RelationshipKind::OneToOne => before[p].push(tp),
                    RelationshipKind::ManyToMany => {}
                }
            }
        }
    }
    let mut done = vec![false; rows.len()];
    let mut out = Vec::with_capacity(rows.len());
    while out.len() < rows.len() {
        let ready: Vec<usize> = (0..rows.len())
            .filter(|&p| !done[p] && before[p].iter().all(|&b| done[b]))
            .collect();
        if ready.is_empty() {
            // A cycle: the database's own constraints decide; keep the given order.
            out.extend((0..rows.len()).filter(|&p| !done[p]).map(|p| rows[p]));
            break;
        }
        for p in ready {
            done[p] = true;
            out.push(rows[p]);
        }
    }
    Ok(out)
}

/// Column values written into flushed objects (item, column, old value): inline while
/// few (a flush of one object sets its key).
type Undo = smallvec::SmallVec<[(usize, usize, Value); 2]>;

/// Gives the objects the column values `undo` holds (item, column, value), in reverse.
fn set_back(plan: &Plan, undo: Undo) {
    let mut cols: Vec<(usize, Value)> = Vec::new();
    let mut rest = &undo[..];
    while let Some(&(idx, ..)) = rest.last() {
        let n = rest.iter().rev().take_while(|(i, ..)| *i == idx).count();
        let (head, tail) = rest.split_at(rest.len() - n);
        cols.extend(tail.iter().map(|(_, c, v)| (*c, v.clone())));
        let item = &plan.items[idx];
        // The values the fields held before: they fit.
        let _ = (item.vt.set_columns)(&item.h, &mut cols);
        cols.clear();
        rest = head;
    }
}

/// Every statement succeeded: write keys, foreign keys and versions into the objects,
/// and move them to their new states.
fn finish(s: &mut Session, plan: Plan) -> Result<()> {
    let sid = session_id(s);
    // Written objects take what the flush assigned (relationship histories are cleared
    // below, once nothing here can fail: a failed flush keeps them for the retry).
    // A value a field cannot hold (a generated key past an `i32` field's range) fails
    // the flush: the objects set before it get their old values back.
    let mut cols: smallvec::SmallVec<[(usize, Value); 2]> = smallvec::SmallVec::new();
    let mut undo: Undo = Undo::new();
    for (idx, item) in plan.items.iter().enumerate() {
        if item.op != Op::Delete && !item.assigned.is_empty() {
            cols.extend(item.assigned.iter().map(|c| (c, item.values[c].clone())));
            if let Err(e) = (item.vt.set_columns)(&item.h, &mut cols) {
                set_back(&plan, undo);
                return Err(e);
            }
            undo.extend(cols.drain(..).map(|(c, old)| (idx, c, old)));
        }
    }
    drop(undo);
    // Every pending object was planned (an INSERT or a row switch) and is persistent
    // below: the session's list of them becomes the transaction's list of inserts
    // whole, rather than a handle cloned and another dropped per object.
    let all_new = s.new.len() == plan.from_new;
    if !all_new {
        s.tx_inserted.reserve(plan.from_new);
    }
    let watch_states = !s.listeners.state.is_empty();
    for item in &plan.items {
        if let Some(old) = &item.switch {
            // A row switch: the deleted object leaves the identity map, the new one takes
            // its key (a rollback undoes both, as an insert and a delete).
            {
                let mut m = old.core().meta();
                s.transition(old, &mut m, ObjectState::Deleted);
                m.delete_marked = false;
            }
            s.store_for(old).remove(old);
            s.tx_deleted.push(old.uncounted());
            {
                let mut m = item.h.core().meta();
                m.session = sid;
                m.key = Some(key_values_of(item).into());
                s.transition(&item.h, &mut m, ObjectState::Persistent);
                m.snapshot = None;
                m.touched = false;
            }
            s.store_for(&item.h).insert(&item.h);
            (item.vt.clear_histories)(&item.h);
            if !all_new {
                s.tx_inserted.push(item.h.uncounted());
            }
            continue;
        }
        match item.op {
            Op::Insert => {
                // One visit of the object: its state, its key, its histories, its
                // place in the identity map.
                let key = id_key_of(item);
                {
                    let mut m = item.h.core().meta();
                    m.session = sid;
                    m.key = Some(key);
                    if watch_states {
                        s.transition(&item.h, &mut m, ObjectState::Persistent);
                    } else {
                        m.state = ObjectState::Persistent;
                    }
                    m.snapshot = None;
                    m.touched = false;
                }
                // Not under the meta lock: a write guard's first change takes that
                // lock while it holds the value's.
                let store = s
                    .stores
                    .entry((item.vt.type_id)())
                    .or_insert_with(|| (item.vt.new_store)());
                with_key_of(item, |key| {
                    (item.vt.finish_insert)(&item.h, key, item.no_history, store.as_mut())
                });
                if !all_new {
                    s.tx_inserted.push(item.h.uncounted());
                }
            }
            Op::Update => {
                // A changed primary key moves the object in the identity map.
                let new_key = key_values_of(item);
                let moved = item
                    .key
                    .as_ref()
                    .is_some_and(|k| k.iter().zip(&new_key).any(|(a, b)| !same_value(a, b)));
                if moved {
                    s.store_for(&item.h)
                        .remove_key(&item.h, item.key.as_deref().unwrap_or(&[]));
                }
                {
                    let mut m = item.h.core().meta();
                    m.snapshot = None;
                    m.touched = false;
                    if moved {
                        m.key = Some(new_key.into());
                    }
                }
                if moved {
                    s.store_for(&item.h).insert(&item.h);
                }
                if !s.nested.is_empty() {
                    s.tx_updated.push(item.h.uncounted());
                }
                if !item.no_history {
                    (item.vt.clear_histories)(&item.h);
                }
            }
            Op::Delete => {
                {
                    let mut m = item.h.core().meta();
                    s.transition(&item.h, &mut m, ObjectState::Deleted);
                    m.delete_marked = false;
                    m.touched = false;
                }
                s.store_for(&item.h).remove(&item.h);
                s.tx_deleted.push(item.h.uncounted());
                if !item.no_history {
                    (item.vt.clear_histories)(&item.h);
                }
            }
        }
    }
    for h in &plan.processed {
        (h.vtable().clear_histories)(h);
        h.core().meta().touched = false;
    }
    if all_new {
        s.tx_inserted.append(&mut s.new);
    } else {
        s.new.retain(|h| {
            let m = h.core().meta();
            m.state == ObjectState::Pending && m.session == sid
        });
    }
    s.deleted.clear();
    for item in &plan.items {
        let event = match item.op {
            _ if item.switch.is_some() => MapperEvent::AfterInsert,
            Op::Insert => MapperEvent::AfterInsert,
            Op::Update => MapperEvent::AfterUpdate,
            Op::Delete => MapperEvent::AfterDelete,
        };
        // After-listeners cannot fail (their signature returns nothing).
        let _ = s.run_mapper(&item.h, event);
    }
    Ok(())
}
