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
    /// new object's default) is left alone, as is one not loaded. A related object
    /// found neither in the session nor in the database joins the session itself (a
    /// transient one becomes pending; SQLAlchemy would copy it); one of another session
    /// with no counterpart here is an [`Error::InvalidRequest`], as is a detached one
    /// whose row is gone.
    pub async fn merge<M: Model>(&mut self, value: M) -> Result<Obj<M>> {
        self.merge_with(value, true).await
    }

    /// [`merge`](Session::merge); with `load = false` no SQL is sent: an object not in
    /// the identity map is taken as the database's current state (SQLAlchemy's
    /// `load=False`, for caches).
    pub async fn merge_with<M: Model>(&mut self, mut value: M, load: bool) -> Result<Obj<M>> {
        self.check_usable()?;
        // The related objects to merge, taken out of `value` (whose relationships then
        // start empty, as a new object's: the merged ones are set below, as changes).
        let mut related = Vec::new();
        for (i, info) in M::relationships().iter().enumerate() {
            if !info.cascade.merge {
                continue;
            }
            if let Some(items) = value.relationship(i).merge_sources() {
                value.relationship_mut(i).reset_empty();
                related.push((i, items));
            }
        }
        let obj = self.merge_columns_of(value, load).await?;
        let mut memo = Merged::default();
        memo.targets.insert(obj.h.addr());
        merge_related(self, &obj.h, related, load, &mut memo).await?;
        self.dispatch_state_events();
        Ok(obj)
    }

    /// `merge_with` for the columns: the object of `value`'s key, with its columns.
    async fn merge_columns_of<M: Model>(&mut self, value: M, load: bool) -> Result<Obj<M>> {
        let key_unset = M::columns()
            .iter()
            .enumerate()
            .any(|(i, c)| c.primary_key && c.generated && value.column_is_unset(i));
        if key_unset {
            return Ok(self.add(value));
        }
        let key = value.primary_key();
        let existing = match self.store::<M>().get(&key).cloned() {
            Some(o) => Some(o),
            None if load => self.get::<M>(key.clone()).await?,
            None => {
                let (obj, own) = Obj::new_in(
                    &self.registry,
                    value,
                    crate::session::vtable::persistent_meta(&self.registry, M::identity_key(&key)),
                );
                self.store::<M>().map.insert(key, own);
                return Ok(obj);
            }
        };
        let Some(obj) = existing else {
            return Ok(self.add(value));
        };
        check_unlocked(&obj.h, "merging onto it")?;
        if obj.h.core().meta().is_expired() {
            if load {
                self.refresh(&obj).await?;
            } else {
                // Taken as the database's state, as for an object not in the map.
                let mut v = obj.lock_write();
                for i in 0..M::columns().len() {
                    v.set_column_value(i, value.column_value(i))?;
                }
                drop(v);
                obj.h.core().meta().clear_expired();
                return Ok(obj);
            }
        }
        {
            let mut target = obj.write()?;
            for i in 0..M::columns().len() {
                let v = value.column_value(i);
                if !crate::session::object::same_value(&target.column_value(i), &v) {
                    target.set_column_value(i, v)?;
                }
            }
        }
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
        for h in self.store::<M>().map.values() {
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
            if meta.snapshot.is_some() {
                if let Some(snap) = meta.snapshot.as_mut() {
                    for (i, value) in &plain {
                        if let Some(value) = value {
                            snap[*i] = value.clone();
                        }
                    }
                }
                // A deferred column set here is loaded, with the database's value.
                for (i, value) in &plain {
                    if value.is_some() && *i < 64 {
                        meta.snapshot_unloaded &= !(1 << i);
                    }
                }
            }
            for (i, value) in &plain {
                if value.is_none() && !meta.expired_all {
                    if meta.expired.is_empty() {
                        meta.expired = vec![false; M::columns().len()];
                    }
                    meta.expired[*i] = true;
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
            self.store::<M>().map.remove(&key);
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

/// Sets each relationship `i` of `target` to the merge of the objects `related` lists for
/// it. A relationship of a persistent target not loaded yet is loaded first (its current
/// objects are compared; with `load = false` the merged ones are taken as the database's).
async fn merge_related(
    s: &mut Session,
    target: &Handle,
    related: Vec<(usize, Vec<Handle>)>,
    load: bool,
    memo: &mut Merged,
) -> Result<()> {
    let vt = target.vtable();
    for (i, sources) in related {
        let mut merged = Vec::with_capacity(sources.len());
        for src in sources {
            merged.push(merge_handle(s, src, load, memo).await?);
        }
        let mut loaded = false;
        (vt.with_relationship)(target, i, &mut |r| loaded = r.is_loaded());
        if !loaded {
            if !load {
                let mut items = Some(merged.iter().map(Handle::uncounted).collect());
                (vt.with_relationship_mut)(target, i, &mut |r| {
                    r.set_loaded(items.take().unwrap_or_default())
                });
                continue;
            }
            let current = s.load_relationship(target, i).await?;
            let mut current = Some(current);
            (vt.with_relationship_mut)(target, i, &mut |r| {
                r.set_loaded(current.take().unwrap_or_default())
            });
        }
        (vt.merge_relationship)(target, i, &merged)?;
    }
    Ok(())
}

/// Merges the object `src` (of any model) into `s`: the session's object of its key, its
/// columns copied on, else `src` itself joining the session; then its relationships with
/// the `merge` cascade, the same way.
fn merge_handle<'a>(
    s: &'a mut Session,
    src: Handle,
    load: bool,
    memo: &'a mut Merged,
) -> futures_core::future::BoxFuture<'a, Result<Handle>> {
    Box::pin(async move {
        if let Some(done) = memo.sources.get(&src.addr()) {
            return Ok(done.uncounted());
        }
        let (session, state) = {
            let m = src.core().meta();
            (m.session, m.state)
        };
        if session == s.registry.id {
            // Already the session's own.
            memo.sources.insert(src.addr(), src.uncounted());
            return Ok(src);
        }
        check_unlocked(&src, "merging it")?;
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
        let mut related = Vec::new();
        for (i, info) in (vt.relationships)().iter().enumerate() {
            if !info.cascade.merge {
                continue;
            }
            let mut items = None;
            (vt.with_relationship)(&src, i, &mut |r| items = r.merge_sources());
            if let Some(items) = items {
                related.push((i, items));
            }
        }
        let found = match &key {
            Some(key) => match s.find_in_store(vt, key) {
                Some(h) => Some(h),
                None if load => by_key(s, vt, key, false).await?,
                None => None,
            },
            None => None,
        };
        let target = match found {
            Some(t) if memo.targets.contains(&t.addr()) => {
                // Merged onto already in this merge: that object's values stand.
                memo.sources.insert(src.addr(), t.uncounted());
                return Ok(t);
            }
            Some(t) => {
                check_unlocked(&t, "merging onto it")?;
                if t.core().meta().is_expired() {
                    if load {
                        let key = key.as_deref().unwrap_or(&[]);
                        by_key(s, vt, key, true).await?;
                    } else {
                        let mut all: Vec<(usize, Value)> =
                            values.iter().cloned().enumerate().collect();
                        (vt.set_columns)(&t, &mut all, false)?;
                        t.core().meta().clear_expired();
                    }
                }
                (vt.merge_columns)(&t, &values)?;
                t
            }
            None => {
                if session != 0 {
                    return Err(Error::InvalidRequest {
                        message: format!(
                            "{} belongs to another session, and this one has no object of its key to merge it onto; expunge it there first",
                            src.describe()
                        ),
                    });
                }
                if state == ObjectState::Detached && load {
                    return Err(Error::InvalidRequest {
                        message: format!(
                            "{} is detached and its row is gone: nothing to merge it onto",
                            src.describe()
                        ),
                    });
                }
                s.attach(&src)?;
                src.uncounted()
            }
        };
        memo.sources.insert(src.addr(), target.uncounted());
        memo.targets.insert(target.addr());
        merge_related(s, &target, related, load, memo).await?;
        Ok(target)
    })
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
