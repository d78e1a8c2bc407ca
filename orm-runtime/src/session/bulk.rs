//! `merge`, and bulk UPDATE / DELETE through the session with the identity map kept in
//! step (SQLAlchemy's `synchronize_session`).

use std::collections::HashMap;

use crate::dialect::Feature;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::session::object::{Handle, Obj, ObjectState};
use crate::session::unit_of_work::model_items;
use crate::session::{LoadMode, Session, check_unlocked};
use crate::sql::{DeleteStatement, ExprNode, SelectItem, UpdateStatement, select};
use crate::value::Value;

/// How a bulk UPDATE or DELETE through the session treats the objects it touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Synchronize {
    /// Find the rows' keys (`RETURNING`, or a SELECT first where the database has no
    /// `UPDATE ... RETURNING`), then bring the loaded objects in step: an UPDATE sets
    /// their columns to plain values (and expires a column set from an expression); a
    /// DELETE makes them deleted.
    #[default]
    Fetch,
    /// Leave loaded objects as they are (they may be stale).
    None,
}

impl Session {
    /// Copies the columns of `value` onto the session's object with the same primary
    /// key — loading it first when it is not in the identity map — and returns that
    /// object (SQLAlchemy's `merge`). A key that is not in the database (or a generated
    /// key left unset) makes a new pending object.
    ///
    /// Relationships with the `merge` cascade (on by default) follow: the objects that
    /// `value` holds in one are merged the same way (each once, however often it is
    /// reached), and the merged object's relationship is set to them — a collection
    /// loses the objects not among them (their foreign keys are nulled at the flush, or
    /// they are deleted with `delete-orphan`) and gains the others; a many-to-one points
    /// at the merged target. A relationship of `value` that is empty and unchanged (a
    /// new object's default) is left alone, as is one not loaded; one changed while not
    /// loaded is an [`Error::InvalidRequest`] naming it (what it holds is unknown). A
    /// related object that joins the session (below) has its own relationships set to
    /// the merged objects, which `back_populates` reflects on the caller's other
    /// objects it pointed at. A related object
    /// found neither in the session nor in the database joins the session itself (a
    /// transient one becomes pending; SQLAlchemy would copy it); one of another session
    /// with no counterpart here is an [`Error::InvalidRequest`], as is a detached one
    /// whose row is gone.
    pub async fn merge<M: Model>(&mut self, value: M) -> Result<Obj<M>> {
        self.merge_with(value, true).await
    }

    /// [`merge`](Session::merge); with `load = false` no SQL is sent: an object not in
    /// the identity map is taken as the database's current state (SQLAlchemy's
    /// `load=False`, for caches), and so are the relationships merged (no change is
    /// recorded for a persistent object); a transient related object is then an
    /// [`Error::InvalidRequest`], as SQLAlchemy refuses it.
    ///
    /// Every object the merge writes onto is found (or loaded) and every object it takes
    /// in is checked before anything changes: an error (an object of another session, a
    /// stale one, a row gone, the database) leaves every object as it was. A related
    /// object that is expired or locked by a guard is refused; columns a source left
    /// unloaded (`Deferred`) are not copied.
    pub async fn merge_with<M: Model>(&mut self, mut value: M, load: bool) -> Result<Obj<M>> {
        self.check_usable()?;
        if load {
            // As SQLAlchemy: pending changes first, so the lookups below see them.
            self.autoflush().await?;
        }
        // Phase 1: find what the merge writes onto; nothing changes but loads.
        let key_unset = M::columns()
            .iter()
            .enumerate()
            .any(|(i, c)| c.primary_key && c.generated && value.column_is_unset(i));
        let root = if key_unset {
            Root::New
        } else {
            let key = value.primary_key();
            match self.store::<M>().get(&key).cloned() {
                Some(o) => Root::Onto(o),
                None if load => match self.get::<M>(key.clone()).await? {
                    Some(o) => Root::Onto(o),
                    None => Root::New,
                },
                None => Root::Cached(key),
            }
        };
        let mut memo = Merged::default();
        if let Root::Onto(obj) = &root {
            check_unlocked(&obj.h, "merging onto it")?;
            if load && obj.h.core().meta().is_expired() {
                self.refresh(obj).await?;
            }
            memo.targets.insert(obj.h.addr());
        }
        let mut plan = MergePlan::default();
        let mut root_sets = Vec::new();
        for (i, info) in M::relationships().iter().enumerate() {
            if !info.cascade.merge {
                continue;
            }
            let Some(items) = value.relationship(i).merge_sources()? else {
                continue;
            };
            let mut merged = Vec::with_capacity(items.len());
            for src in items {
                merged.push(resolve(self, src, load, info, &mut memo, &mut plan).await?);
            }
            if let Root::Onto(obj) = &root
                && load
            {
                ensure_loaded(self, &obj.h, i).await?;
            }
            root_sets.push((i, merged));
        }
        // Phase 2: write.
        for (i, _) in &root_sets {
            value.relationship_mut(*i).reset_empty();
        }
        let obj = match root {
            Root::New => self.add(value),
            Root::Cached(key) => {
                let (obj, own) = Obj::new_in(
                    &self.registry,
                    value,
                    crate::session::vtable::persistent_meta(&self.registry, M::identity_key(&key)),
                );
                self.store::<M>().put(key, own);
                obj
            }
            Root::Onto(obj) => {
                // Copied first (`apply` makes the copies before it sets relationships);
                // still expired only with load = false: taken as the database's state.
                plan.copies.insert(
                    0,
                    Copy {
                        target: obj.h.uncounted(),
                        values: value.values(),
                        skip: value.unloaded_columns(),
                        overwrite: obj.h.core().meta().is_expired(),
                    },
                );
                obj
            }
        };
        plan.sets.extend(
            root_sets
                .into_iter()
                .map(|(i, merged)| (obj.h.uncounted(), i, merged)),
        );
        apply(self, plan, load)?;
        self.dispatch_state_events();
        Ok(obj)
    }

    /// Runs a bulk UPDATE of `M`'s table in the session's transaction (after an
    /// autoflush) and brings loaded objects in step as `sync` says; returns the rows
    /// matched.
    pub async fn bulk_update<M: Model>(
        &mut self,
        mut stmt: UpdateStatement,
        sync: Synchronize,
    ) -> Result<u64> {
        self.check_usable()?;
        check_table::<M>(&stmt.table.name)?;
        self.autoflush().await?;
        if sync == Synchronize::None {
            return Ok(self.tx().await?.execute(&stmt).await?.rows_affected());
        }
        // The loaded objects are written after the statement: one locked by a guard
        // is found before anything runs.
        for h in self.store::<M>().values() {
            check_unlocked(h, "a bulk UPDATE of its table")?;
        }
        if self.engine.server().has(Feature::UpdateReturning) {
            // The new rows come back whole: loaded objects take them as they are.
            refuse_returning(&stmt.returning)?;
            stmt.returning = key_items::<M>();
            let done = self.tx().await?.execute(&stmt).await?;
            for row in done.rows() {
                let key = M::key_from_row(row, 0)?;
                if self.store::<M>().get(&key).is_some() {
                    self.load_row::<M>(
                        row,
                        0,
                        LoadMode {
                            populate_existing: true,
                            ..LoadMode::default()
                        },
                    )?;
                }
            }
            return Ok(done.rows().len() as u64);
        }
        let keys = {
            let keys = self.matching_keys::<M>(stmt.filter.clone()).await?;
            self.tx().await?.execute(&stmt).await?;
            keys
        };
        let n = keys.len() as u64;
        // Plain values are set on the loaded objects; expressions expire their column.
        let plain: Vec<(usize, Option<Value>)> = stmt
            .set
            .iter()
            .filter_map(|a| {
                let i = M::columns().iter().position(|c| c.name == &*a.column)?;
                Some(match &a.value {
                    ExprNode::Bind(v) => (i, Some(v.clone())),
                    _ => (i, None),
                })
            })
            .collect();
        for key in keys {
            let Some(obj) = self.store::<M>().get(&key).cloned() else {
                continue;
            };
            {
                let mut v = obj.lock_write();
                for (i, value) in &plain {
                    if let Some(value) = value {
                        v.set_column_value(*i, value.clone())?;
                    }
                }
            }
            let mut meta = obj.h.core().meta();
            if let Some(snap) = meta.snapshot.as_mut() {
                for (i, value) in &plain {
                    if let Some(value) = value {
                        snap.values[*i] = value.clone();
                        // A deferred column set here is loaded, with the database's
                        // value.
                        if *i < 64 {
                            snap.unloaded &= !(1 << i);
                        }
                    }
                }
            }
            for (i, value) in &plain {
                if value.is_none() && !meta.expired_all {
                    meta.expired.get_or_insert_with(|| {
                        vec![false; M::columns().len()].into_boxed_slice()
                    })[*i] = true;
                }
            }
        }
        Ok(n)
    }

    /// Runs a bulk DELETE of `M`'s table in the session's transaction (after an
    /// autoflush); with [`Synchronize::Fetch`] the loaded objects it deleted become
    /// deleted (persistent again if the transaction rolls back). Returns the rows
    /// deleted.
    pub async fn bulk_delete<M: Model>(
        &mut self,
        mut stmt: DeleteStatement,
        sync: Synchronize,
    ) -> Result<u64> {
        self.check_usable()?;
        check_table::<M>(&stmt.table.name)?;
        self.autoflush().await?;
        if sync == Synchronize::None {
            return Ok(self.tx().await?.execute(&stmt).await?.rows_affected());
        }
        let keys = if !self.engine.server().has(Feature::DeleteReturning) {
            let keys = self.matching_keys::<M>(stmt.filter.clone()).await?;
            self.tx().await?.execute(&stmt).await?;
            keys
        } else {
            refuse_returning(&stmt.returning)?;
            stmt.returning = key_items::<M>();
            let done = self.tx().await?.execute(&stmt).await?;
            read_keys::<M>(done.rows())?
        };
        let n = keys.len() as u64;
        for key in keys {
            let Some(obj) = self.store::<M>().get(&key).cloned() else {
                continue;
            };
            let h: Handle = obj.h.uncounted();
            {
                let mut meta = h.core().meta();
                meta.delete_marked = false;
                self.transition(&h, &mut meta, ObjectState::Deleted);
            }
            self.deleted.retain(|d| !d.ptr_eq(&h));
            self.store::<M>().remove(&key);
            self.tx_deleted.push(h);
        }
        self.dispatch_state_events();
        Ok(n)
    }

    /// The keys of the rows of `M` that `filter` matches, locked for the statement that
    /// follows.
    async fn matching_keys<M: Model>(
        &mut self,
        filter: Option<ExprNode>,
    ) -> Result<Vec<M::PrimaryKey>> {
        let mut q = select(key_items::<M>()).from(M::table());
        if let Some(f) = filter {
            q = q.filter(f.typed::<bool>());
        }
        let rows = self.tx().await?.fetch_all(q.for_update()).await?;
        read_keys::<M>(&rows)
    }
}

fn check_table<M: Model>(table: &str) -> Result<()> {
    if table != M::TABLE_NAME {
        return Err(Error::InvalidRequest {
            message: format!(
                "a bulk statement through the session for `{}` must target its table `{}`, not `{table}`",
                M::MODEL_NAME,
                M::TABLE_NAME
            ),
        });
    }
    Ok(())
}

fn refuse_returning(items: &[SelectItem]) -> Result<()> {
    if items.is_empty() {
        Ok(())
    } else {
        Err(Error::InvalidRequest {
            message: "a bulk statement with Synchronize::Fetch returns the keys itself; leave RETURNING off (or use Synchronize::None)".into(),
        })
    }
}

/// Every column of `M`: rows come back whole, so the model's own key decoding reads
/// them (and an UPDATE's RETURNING refreshes loaded objects exactly).
fn key_items<M: Model>() -> Vec<SelectItem> {
    model_items(M::vtable())
}

fn read_keys<M: Model>(rows: &[crate::row::Row]) -> Result<Vec<M::PrimaryKey>> {
    rows.iter().map(|r| M::key_from_row(r, 0)).collect()
}

/// What one `merge` has done so far, so that each object is merged once however often
/// the graph reaches it (SQLAlchemy's `_recursive`).
#[derive(Default)]
struct Merged {
    /// The session's object each source object was merged onto, by source address.
    sources: HashMap<usize, Handle>,
    /// The session's objects merged onto (the first value merged wins: a related object
    /// pointing back at the merged value's key, say, does not overwrite its columns).
    targets: std::collections::HashSet<usize>,
}

/// Where the value given to `merge` goes.
enum Root<M: Model> {
    /// Onto the session's object of its key.
    Onto(Obj<M>),
    /// A new pending object (no key, or none in the database).
    New,
    /// `load = false`, not in the identity map: a persistent object of this key.
    Cached(M::PrimaryKey),
}

/// The writes a merge makes once everything is found (phase 2).
#[derive(Default)]
struct MergePlan {
    /// Related objects with no counterpart, which join the session themselves.
    attach: Vec<Handle>,
    /// Column values copied onto the session's objects.
    copies: Vec<Copy>,
    /// Relationships set to merged objects: (object, relationship, objects).
    sets: Vec<(Handle, usize, Vec<Handle>)>,
}

/// A source's column values, copied onto `target`.
struct Copy {
    target: Handle,
    values: Vec<Value>,
    /// Columns the source left unloaded: not copied.
    skip: u64,
    /// The target is expired and `load = false`: the values are taken as its state.
    overwrite: bool,
}

/// Loads relationship `i` of the persistent `target` if it is not loaded (its current
/// objects are what a merge compares with).
async fn ensure_loaded(s: &mut Session, target: &Handle, i: usize) -> Result<()> {
    if crate::session::vtable::relationship_loaded(target, i)
        || target.core().meta().state != ObjectState::Persistent
    {
        return Ok(());
    }
    s.reload_relationship(target, i).await
}

/// Finds what the object `src` (of any model) merges onto — the session's object of its
/// key, or `src` itself joining the session — and, recursively, the objects of its
/// relationships with the `merge` cascade (but the other side of `via`, the
/// relationship it was reached through, which that side's setting keeps in step);
/// records the writes in `plan`. Changes nothing but loads.
fn resolve<'a>(
    s: &'a mut Session,
    src: Handle,
    load: bool,
    via: &'static crate::model::relationship::RelationshipInfo,
    memo: &'a mut Merged,
    plan: &'a mut MergePlan,
) -> futures_core::future::BoxFuture<'a, Result<Handle>> {
    Box::pin(async move {
        if let Some(done) = memo.sources.get(&src.addr()) {
            return Ok(done.uncounted());
        }
        let (session, state, expired) = {
            let m = src.core().meta();
            (m.session, m.state, m.is_expired())
        };
        if session == s.registry.id {
            // Already the session's own.
            memo.sources.insert(src.addr(), src.uncounted());
            return Ok(src);
        }
        check_unlocked(&src, "merging it")?;
        if expired {
            return Err(Error::InvalidRequest {
                message: format!(
                    "{} (reached through `{}`) is expired: its values may be stale; refresh it before merging it",
                    src.describe(),
                    via.qualified_name
                ),
            });
        }
        let vt = src.vtable();
        let columns = (vt.columns)();
        let values = (vt.values)(&src);
        let key: Option<Vec<Value>> = columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.primary_key)
            .map(|(i, c)| {
                let unset = c.generated && (vt.column_is_unset)(&src, i);
                (!unset).then(|| values[i].clone())
            })
            .collect();
        let found = match &key {
            Some(key) => match s.find_in_store(vt, key) {
                Some(h) => Some(h),
                None if load => by_key(s, vt, key, false).await?,
                None => None,
            },
            None => None,
        };
        let (target, attached) = match found {
            Some(t) if memo.targets.contains(&t.addr()) => {
                // Merged onto already in this merge: that object's values stand.
                memo.sources.insert(src.addr(), t.uncounted());
                return Ok(t);
            }
            Some(t) => {
                check_unlocked(&t, "merging onto it")?;
                let t_expired = t.core().meta().is_expired();
                if t_expired && load {
                    by_key(s, vt, key.as_deref().unwrap_or(&[]), true).await?;
                }
                plan.copies.push(Copy {
                    target: t.uncounted(),
                    values,
                    skip: (vt.unloaded)(&src),
                    overwrite: t_expired && !load,
                });
                (t, false)
            }
            None => {
                let refused = if session != 0 {
                    Some(
                        "belongs to another session, and this one has no object of its key to merge it onto; expunge it there first",
                    )
                } else if state == ObjectState::Detached && load {
                    Some("is detached and its row is gone: nothing to merge it onto")
                } else if state == ObjectState::Transient && !load {
                    Some(
                        "is transient: a merge with load = false takes only objects already in the database",
                    )
                } else {
                    None
                };
                if let Some(why) = refused {
                    return Err(Error::InvalidRequest {
                        message: format!(
                            "{} (reached through `{}`) {why}",
                            src.describe(),
                            via.qualified_name
                        ),
                    });
                }
                plan.attach.push(src.uncounted());
                (src.uncounted(), true)
            }
        };
        memo.sources.insert(src.addr(), target.uncounted());
        memo.targets.insert(target.addr());
        for (i, info) in (vt.relationships)().iter().enumerate() {
            if !info.cascade.merge || via.back_populates == Some(info.name) {
                continue;
            }
            let mut items = Ok(None);
            (vt.with_relationship)(&src, i, &mut |r| items = r.merge_sources());
            let Some(items) = items? else { continue };
            let mut merged = Vec::with_capacity(items.len());
            for item in items {
                merged.push(resolve(s, item, load, info, memo, plan).await?);
            }
            if load && !attached {
                ensure_loaded(s, &target, i).await?;
            }
            plan.sets.push((target.uncounted(), i, merged));
        }
        Ok(target)
    })
}

/// Makes the writes of a merge (phase 2).
fn apply(s: &mut Session, plan: MergePlan, load: bool) -> Result<()> {
    for h in &plan.attach {
        s.attach(h)?;
    }
    for c in plan.copies {
        let vt = c.target.vtable();
        if c.overwrite {
            let mut all: Vec<(usize, Value)> = (c.values.into_iter().enumerate())
                .filter(|&(i, _)| crate::session::vtable::not_skipped(i, c.skip))
                .collect();
            (vt.set_columns)(&c.target, &mut all)?;
            c.target.core().meta().clear_expired();
        } else {
            (vt.merge_columns)(&c.target, &c.values, c.skip)?;
        }
    }
    for (target, i, merged) in plan.sets {
        let vt = target.vtable();
        let persistent = target.core().meta().state == ObjectState::Persistent;
        if !load && persistent {
            // Taken as the database's state: loaded, no change recorded.
            let mut items = Some(merged);
            (vt.with_relationship_mut)(&target, i, &mut |r| {
                r.set_loaded(items.take().unwrap_or_default())
            });
        } else {
            (vt.merge_relationship)(&target, i, &merged)?;
        }
    }
    Ok(())
}

/// The object of model `vt` with primary key `key`, selected (its columns refilled
/// with `refill`); `None` without a row.
async fn by_key(
    s: &mut Session,
    vt: &'static crate::session::vtable::ModelVTable,
    key: &[Value],
    refill: bool,
) -> Result<Option<Handle>> {
    let skip = crate::model::default_skip((vt.columns)());
    let stmt = select(crate::session::unit_of_work::model_items_skip(vt, skip))
        .from((vt.table)())
        .filter(crate::session::unit_of_work::key_cond(vt, key));
    let mode = LoadMode {
        populate_existing: refill,
        skip,
    };
    Ok((vt.fetch_handles)(s, stmt, mode).await?.into_iter().next())
}
