//! The ORM session: a unit of work with an identity map (SQLAlchemy's `Session`).
//!
//! ```text
//!  add / get / query ──▶ identity map (one Obj per key) ──write()──▶ touched objects
//!                                                                        │
//!  commit ──▶ flush: new, changed, deleted, ordered by foreign keys ◀────┘
//!                    │ INSERT (batched, keys fetched back) / UPDATE (changed columns)
//!                    ▼ / DELETE (children first), on the session's one connection
//!              COMMIT, objects persistent
//! ```
//!
//! Modules: `object` ([`Obj`] handles, their guards and states), `identity` (the
//! identity map), `unit_of_work` (the flush), `query` (`session.query::<M>()`), `vtable`
//! (a model's operations with its type erased).

pub mod bulk;
pub(crate) mod cell_ptr;
pub mod events;
pub(crate) mod identity;
mod joined;
pub mod object;
pub mod query;
pub(crate) mod selectin;
mod unit_of_work;
pub mod vtable;

use std::any::TypeId;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::engine::{Engine, QueryResult, Transaction};
use crate::error::{Error, Result};
use crate::model::Model;
use crate::model::relationship::{RelatedTarget, Relationship};
use crate::row::Row;
use crate::sql::Executable;

use crate::model::relationship::Cascade;
pub use bulk::Synchronize;
pub use events::ModelEvents;
use events::{Listeners, MapperEvent, MapperEvents, SessionEvent, StateChange};
use identity::{AnyStore, Store};
use object::{Handle, IdKey, Meta, Registry, describe};
pub use object::{Inspection, Obj, ObjectState, Ref, RefMut};
pub use query::{Query, QueryStream};

/// An open savepoint of a session, from [`Session::begin_nested`]: end it with
/// [`Session::commit_nested`] or [`Session::rollback_nested`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a savepoint stays open until commit_nested or rollback_nested"]
pub struct Nested {
    depth: usize,
    registry: u64,
}

/// Where the transaction's bookkeeping stood when a savepoint began.
struct NestedMark {
    inserted: usize,
    deleted: usize,
    updated: usize,
}

/// How rows meet objects already in the identity map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct LoadMode {
    /// Overwrite the columns of objects already loaded (`populate_existing`).
    pub(crate) populate_existing: bool,
    /// The columns of the model being decoded that the rows leave out (bit `i` for
    /// column `i`: deferred ones, left unloaded). Set for one model's rows; loads of
    /// related models start again from their own.
    pub(crate) skip: u64,
}

impl LoadMode {
    /// The same mode for rows that leave out `skip`.
    pub(crate) fn with_skip(self, skip: u64) -> LoadMode {
        LoadMode { skip, ..self }
    }
}

/// A unit of work: the objects you add, load and change, written to the database in
/// one transaction at [`flush`](Session::flush) / [`commit`](Session::commit).
///
/// The guide `orm::guide::session` walks through states, the unit of work and
/// transactions with runnable examples (they need `#[derive(Model)]`, which lives in the
/// `orm` facade).
///
/// A session is used by one task at a time (`&mut self`); the objects it hands out are
/// `Send + Sync` handles. It pins one connection for its transaction (taken at the
/// first statement, given back at commit or rollback). Dropped with a transaction open,
/// it rolls back.
///
/// Memory: objects are allocated a chunk at a time. The chunks that objects leave when
/// they are gone, and the identity map's large tables and lists that sessions leave,
/// are kept for the next loads (up to 16 MiB for the whole process) rather than given
/// back to the system, so that loads of thousands of objects do not fault every page
/// in again.
pub struct Session {
    engine: Engine,
    registry: Arc<Registry>,
    tx: Option<Transaction>,
    stores: Stores,
    /// Where `add` takes new objects' cells from, by model: chunks, as loads do (a
    /// `ChunkAlloc<ObjCell<M>>` each).
    add_cells: HashMap<std::any::TypeId, Box<dyn std::any::Any + Send>, identity::FastHash>,
    /// Pending objects, in the order they were added.
    new: Vec<Handle>,
    /// Persistent objects marked for deletion, in order.
    deleted: Vec<Handle>,
    /// What the transaction did, undone in memory by a rollback.
    tx_inserted: Vec<Handle>,
    tx_deleted: Vec<Handle>,
    /// Objects updated by flushes inside savepoints (expired if a savepoint rolls back).
    tx_updated: Vec<Handle>,
    /// Open savepoints, innermost last.
    nested: Vec<NestedMark>,
    autoflush: bool,
    expire_on_commit: bool,
    /// Why the session must be rolled back before further work.
    pending_rollback: Option<String>,
    /// The savepoint (its depth) a failed flush rolled the database back to: its
    /// `rollback_nested` is what the session still accepts.
    failed_nested: Option<usize>,
    /// Set while a flush runs: still set at the next call means the flush's future was
    /// dropped half-way.
    flushing: bool,
    /// Set while a query stream holds the session's transaction (the model it streams):
    /// still set at the next call means the stream was dropped before its end, and the
    /// transaction went with it.
    streaming: Option<&'static str>,
    listeners: Listeners,
    /// State changes not yet reported to `on_state_change` listeners.
    state_events: Vec<StateChange>,
    /// Set while `before_flush` listeners run (no autoflush from inside them).
    in_before_flush: bool,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field(
                "objects",
                &self.stores.values().map(|s| s.len()).sum::<usize>(),
            )
            .field("new", &self.new.len())
            .field("deleted", &self.deleted.len())
            .field("in_transaction", &self.tx.is_some())
            .finish()
    }
}

impl Session {
    /// A session on `engine`: autoflush on, `expire_on_commit` off.
    ///
    /// `expire_on_commit` is off by default, as SQLAlchemy recommends for asynchronous
    /// sessions: a read never does I/O here, so expiring every object at commit would
    /// make every read after a commit an error until the object is refreshed.
    pub fn new(engine: &Engine) -> Session {
        Session {
            engine: engine.clone(),
            registry: Registry::new(),
            tx: None,
            stores: HashMap::default(),
            add_cells: HashMap::default(),
            new: Vec::new(),
            deleted: Vec::new(),
            tx_inserted: Vec::new(),
            tx_deleted: Vec::new(),
            tx_updated: Vec::new(),
            nested: Vec::new(),
            autoflush: true,
            expire_on_commit: false,
            pending_rollback: None,
            failed_nested: None,
            flushing: false,
            streaming: None,
            listeners: Listeners::default(),
            state_events: Vec::new(),
            in_before_flush: false,
        }
    }

    /// Adds a `before_flush` listener: it runs when a flush starts (and there is
    /// something to flush) and may add, change or delete objects: the flush plans after
    /// it. An error it returns fails the flush.
    pub fn on_before_flush(&mut self, f: impl FnMut(&mut Session) -> Result<()> + Send + 'static) {
        self.listeners.before_flush.push(Box::new(f));
    }

    /// Adds a listener for a session event (see [`SessionEvent`]).
    pub fn on(&mut self, event: SessionEvent, f: impl FnMut(&Session) + Send + 'static) {
        self.listeners.session.push((event, Box::new(f)));
    }

    /// Adds a listener for object state changes (transient to pending, pending to
    /// persistent, ...).
    pub fn on_state_change(&mut self, f: impl FnMut(&StateChange) + Send + 'static) {
        self.listeners.state.push(Box::new(f));
    }

    /// Registers per-object listeners of model `M` (`before_insert`, `after_update`,
    /// `load`, ...).
    pub fn on_model<M: Model>(&mut self) -> MapperEvents<'_, M> {
        MapperEvents {
            listeners: &mut self.listeners,
            _p: std::marker::PhantomData,
        }
    }

    pub(crate) fn fire(&mut self, event: SessionEvent) {
        if self.listeners.session.is_empty() {
            return;
        }
        let mut taken = std::mem::take(&mut self.listeners.session);
        for (e, f) in taken.iter_mut() {
            if *e == event {
                f(self);
            }
        }
        taken.append(&mut self.listeners.session);
        self.listeners.session = taken;
    }

    pub(crate) async fn fire_before_flush(&mut self) -> Result<()> {
        if self.listeners.before_flush.is_empty() || self.in_before_flush {
            return Ok(());
        }
        let mut taken = std::mem::take(&mut self.listeners.before_flush);
        self.in_before_flush = true;
        let mut result = Ok(());
        for f in taken.iter_mut() {
            result = f(self);
            if result.is_err() {
                break;
            }
        }
        self.in_before_flush = false;
        taken.append(&mut self.listeners.before_flush);
        self.listeners.before_flush = taken;
        result
    }

    pub(crate) fn run_mapper(&mut self, h: &Handle, event: MapperEvent) -> Result<()> {
        run_mapper_in(&mut self.listeners, h, event)
    }

    /// Moves `h` to state `to` (its meta is locked by the caller), noting the change for
    /// the state listeners.
    pub(crate) fn transition(&mut self, h: &Handle, meta: &mut Meta, to: ObjectState) {
        let from = std::mem::replace(&mut meta.state, to);
        if from != to && !self.listeners.state.is_empty() {
            self.state_events.push(StateChange {
                model: h.vtable().name,
                key: meta.key.clone().map(IdKey::into_vec),
                from,
                to,
            });
        }
    }

    /// Reports the noted state changes to the state listeners.
    pub(crate) fn dispatch_state_events(&mut self) {
        if self.state_events.is_empty() {
            return;
        }
        let events = std::mem::take(&mut self.state_events);
        for e in &events {
            for f in self.listeners.state.iter_mut() {
                f(e);
            }
        }
    }

    /// Whether queries flush pending changes first (on by default).
    pub fn set_autoflush(&mut self, on: bool) {
        self.autoflush = on;
    }

    /// Whether commit expires every object, so that the next read of it is an error
    /// until it is refreshed (off by default; see [`Session::new`]).
    pub fn set_expire_on_commit(&mut self, on: bool) {
        self.expire_on_commit = on;
    }

    /// The engine the session runs on.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// True while a transaction is open (between the first statement and commit or
    /// rollback).
    pub fn in_transaction(&self) -> bool {
        self.tx.is_some()
    }

    /// Adds a new object: it is pending, and inserted at the next flush. Objects linked
    /// to it through relationships with the `save-update` cascade (the default) follow.
    pub fn add<M: Model>(&mut self, value: M) -> Obj<M> {
        // Objects it already holds get it on their side of `back_populates` pairs.
        let backrefs = M::relationships().iter().enumerate().any(|(i, info)| {
            info.back_populates.is_some() && !value.relationship(i).items().is_empty()
        });
        let cells = self
            .add_cells
            .entry(std::any::TypeId::of::<M>())
            .or_insert_with(|| {
                Box::new(cell_ptr::ChunkAlloc::<object::ObjCell<M>>::growing(
                    &self.registry,
                ))
            })
            .downcast_mut::<cell_ptr::ChunkAlloc<object::ObjCell<M>>>()
            .expect("the allocator of the model's cells");
        let (obj, own) = Obj::new_chunked(
            value,
            cells,
            Meta::fresh(ObjectState::Pending, self.registry.id, None),
        );
        self.new.push(own);
        if backrefs {
            self.sync_new_backrefs(&obj.h);
        }
        if !self.listeners.state.is_empty() {
            self.state_events.push(StateChange {
                model: M::MODEL_NAME,
                key: None,
                from: ObjectState::Transient,
                to: ObjectState::Pending,
            });
            self.dispatch_state_events();
        }
        obj
    }

    /// Adds several new objects.
    pub fn add_all<M: Model>(&mut self, values: impl IntoIterator<Item = M>) -> Vec<Obj<M>> {
        values.into_iter().map(|m| self.add(m)).collect()
    }

    /// Puts a transient or detached object (back) into the session: a transient one is
    /// pending again, a detached one persistent. An object of another session, or a
    /// detached one whose key another object of this session holds, is an
    /// [`Error::InvalidRequest`].
    pub fn add_obj<M: Model>(&mut self, obj: &Obj<M>) -> Result<()> {
        let r = self.attach(&obj.h);
        self.dispatch_state_events();
        r
    }

    fn attach(&mut self, h: &Handle) -> Result<()> {
        let mut meta = h.core().meta();
        if meta.session != 0 && meta.session != self.registry.id {
            return Err(Error::InvalidRequest {
                message: format!(
                    "{} is already attached to another session; expunge it there first",
                    describe(h.vtable().name, meta.key.as_deref())
                ),
            });
        }
        if meta.session != self.registry.id {
            // Writes made while it was elsewhere (or detached) are flushed here.
            meta.sink = object::Sink::to(h.core().registry(), &self.registry);
            if meta.touched {
                self.registry.push_touched(h);
            }
        }
        match meta.state {
            ObjectState::Pending | ObjectState::Persistent => return Ok(()),
            ObjectState::Transient => {
                self.transition(h, &mut meta, ObjectState::Pending);
                meta.session = self.registry.id;
                drop(meta);
                self.new.push(h.uncounted());
            }
            ObjectState::Deleted => {
                return Err(Error::InvalidRequest {
                    message: format!(
                        "{} was deleted in this transaction; commit or roll back before adding it again",
                        describe(h.vtable().name, meta.key.as_deref())
                    ),
                });
            }
            ObjectState::Detached => {
                if meta.key.is_none() {
                    self.transition(h, &mut meta, ObjectState::Pending);
                    meta.session = self.registry.id;
                    drop(meta);
                    self.new.push(h.uncounted());
                    return Ok(());
                }
                self.transition(h, &mut meta, ObjectState::Persistent);
                meta.session = self.registry.id;
                meta.delete_marked = false;
                drop(meta);
                if !self.store_for(h).insert(h) {
                    let mut meta = h.core().meta();
                    self.transition(h, &mut meta, ObjectState::Detached);
                    meta.session = 0;
                    return Err(Error::InvalidRequest {
                        message: format!(
                            "another object with the key of {} is already in this session; use merge",
                            h.describe()
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// A new object's relationships may already hold objects (`User::new` then
    /// `posts.push`): tell the other sides, as linking after `add` would.
    fn sync_new_backrefs(&mut self, h: &Handle) {
        let vt = h.vtable();
        for (i, info) in (vt.relationships)().iter().enumerate() {
            if info.back_populates.is_none() {
                continue;
            }
            let mut items = Vec::new();
            (vt.with_relationship)(h, i, &mut |r| {
                items = r.items().iter().map(Handle::uncounted).collect();
            });
            for item in items {
                relationship_backref(h, info.back_populates, &item);
            }
        }
    }

    fn store_for(&mut self, h: &Handle) -> &mut dyn AnyStore {
        let vt = h.vtable();
        self.stores
            .entry((vt.type_id)())
            .or_insert_with(|| (vt.new_store)())
            .as_mut()
    }

    /// The object of the model `vt` whose key has these values, if it is mapped.
    pub(crate) fn find_in_store(
        &self,
        vt: &vtable::ModelVTable,
        key: &[crate::value::Value],
    ) -> Option<Handle> {
        self.stores.get(&(vt.type_id)())?.find(key)
    }

    pub(crate) fn store<M: Model>(&mut self) -> &mut Store<M> {
        store_in::<M>(&mut self.stores)
    }

    /// Marks a persistent object for deletion at the next flush (a pending one is simply
    /// taken out of the session). Relationships with the `delete` cascade delete their
    /// objects too; children of a parent deleted without it get NULL foreign keys.
    pub fn delete<M: Model>(&mut self, obj: &Obj<M>) -> Result<()> {
        let r = self.delete_handle(&obj.h);
        self.dispatch_state_events();
        r
    }

    pub(crate) fn delete_handle(&mut self, h: &Handle) -> Result<()> {
        let mut meta = h.core().meta();
        if meta.session != self.registry.id {
            return Err(Error::InvalidRequest {
                message: format!(
                    "{} is not in this session; add it before deleting it",
                    describe(h.vtable().name, meta.key.as_deref())
                ),
            });
        }
        match meta.state {
            ObjectState::Pending => {
                self.transition(h, &mut meta, ObjectState::Transient);
                meta.session = 0;
                drop(meta);
                self.new.retain(|n| !n.ptr_eq(h));
            }
            ObjectState::Persistent if !meta.delete_marked => {
                meta.delete_marked = true;
                drop(meta);
                self.deleted.push(h.uncounted());
            }
            _ => {}
        }
        Ok(())
    }

    /// Takes an object out of the session (it becomes detached; a pending one
    /// transient). Unflushed changes to it are forgotten by the session.
    ///
    /// Relationships with the `expunge` cascade (part of `all`) take their loaded objects
    /// out too.
    ///
    /// Following a cascade reads the related objects' relationships: an object of the
    /// cascade locked by a `read()`/`write()` guard that does not let go is
    /// [`Error::InvalidRequest`], and nothing is expunged.
    pub fn expunge<M: Model>(&mut self, obj: &Obj<M>) -> Result<()> {
        for h in cascade_graph(&obj.h, |c| c.expunge, "expunging it")? {
            self.expunge_handle(&h);
        }
        self.dispatch_state_events();
        Ok(())
    }

    fn expunge_handle(&mut self, h: &Handle) {
        {
            let mut meta = h.core().meta();
            if meta.session != self.registry.id {
                return;
            }
            meta.session = 0;
            meta.delete_marked = false;
            meta.sink = object::Sink::None;
            let to = match meta.state {
                ObjectState::Pending | ObjectState::Transient => ObjectState::Transient,
                _ => ObjectState::Detached,
            };
            self.transition(h, &mut meta, to);
        }
        self.new.retain(|n| !n.ptr_eq(h));
        self.deleted.retain(|n| !n.ptr_eq(h));
        self.store_for(h).remove(h);
    }

    /// Takes every object out of the session.
    pub fn expunge_all(&mut self) {
        let mut all: Vec<Handle> = self.stores.values().flat_map(|s| s.handles()).collect();
        all.extend(self.new.iter().map(Handle::uncounted));
        for h in &all {
            self.expunge_handle(h);
        }
        self.stores.clear();
        self.new.clear();
        self.deleted.clear();
    }

    /// Marks every column of `obj` stale: reading it is an error until
    /// [`refresh`](Session::refresh) or a query that returns its row fills it again.
    /// Unflushed changes to it are discarded.
    ///
    /// Relationships with the `refresh-expire` cascade (part of `all`) expire their
    /// loaded objects too.
    /// A guard holding an object of the cascade is an error, as for
    /// [`expunge`](Session::expunge).
    pub fn expire<M: Model>(&mut self, obj: &Obj<M>) -> Result<()> {
        for h in cascade_graph(&obj.h, |c| c.refresh_expire, "expiring it")? {
            expire_handle(&h);
        }
        Ok(())
    }

    /// Expires every persistent object of the session.
    pub fn expire_all(&mut self) {
        for store in self.stores.values() {
            store.for_each(&mut |h| expire_handle(h));
        }
    }

    /// Reloads `obj`'s columns from the database (unflushed changes to it are
    /// discarded). Errors with [`Error::ObjectDeleted`] when its row is gone.
    ///
    /// Every column the object has loaded is reloaded, [`Deferred`](crate::model::Deferred)
    /// ones included; a deferred column it has not loaded stays unloaded (load it with
    /// [`load_columns`](Session::load_columns)): a refresh brings what the object holds
    /// up to date, it does not widen it.
    pub async fn refresh<M: Model>(&mut self, obj: &Obj<M>) -> Result<()> {
        self.check_usable()?;
        {
            let meta = obj.h.core().meta();
            match (&meta.state, &meta.key) {
                (ObjectState::Persistent, Some(_)) if meta.session == self.registry.id => {}
                _ => {
                    return Err(Error::InvalidRequest {
                        message: format!(
                            "{} is not persistent in this session; only persistent objects can be refreshed",
                            describe(M::MODEL_NAME, meta.key.as_deref())
                        ),
                    });
                }
            }
        };
        check_unlocked(&obj.h, "refreshing it")?;
        self.refresh_handle(&obj.h).await?;
        // The `refresh-expire` cascade: the loaded objects of those relationships are
        // refreshed as well, one SELECT each.
        for h in cascade_graph(&obj.h, |c| c.refresh_expire, "refreshing it")?
            .iter()
            .skip(1)
        {
            self.refresh_handle(h).await?;
        }
        Ok(())
    }

    /// Reloads `h`'s columns by its key (a persistent object of this session; others are
    /// left alone).
    async fn refresh_handle(&mut self, h: &Handle) -> Result<()> {
        let vt = h.vtable();
        let key = {
            let meta = h.core().meta();
            match (&meta.state, &meta.key) {
                (ObjectState::Persistent, Some(k)) if meta.session == self.registry.id => {
                    k.to_vec()
                }
                _ => return Ok(()),
            }
        };
        // Every column but the deferred ones the object has not loaded.
        let skip = (vt.unloaded)(h);
        let stmt = crate::sql::select(unit_of_work::model_items_skip(vt, skip))
            .from((vt.table)())
            .filter(unit_of_work::key_cond(vt, &key));
        let rows = self.tx().await?.fetch_all(&stmt).await?;
        if rows.is_empty() {
            return Err(Error::ObjectDeleted {
                object: describe(vt.name, Some(&key)),
            });
        }
        (vt.decode_rows)(
            self,
            &rows,
            LoadMode {
                populate_existing: true,
                skip,
            },
        )?;
        Ok(())
    }

    /// The object of model `M` with primary key `key`: from the identity map without SQL
    /// when it is there (and not expired), else one SELECT; an object loaded so gets the
    /// relationships its model loads by default (`#[relationship(lazy = "selectin")]`,
    /// `"joined"`, `"subquery"`: one more SELECT each, as for a query's objects below its
    /// top level). For loader options, see [`Query::get`](crate::session::query::Query::get).
    pub async fn get<M: Model>(&mut self, key: impl Into<M::PrimaryKey>) -> Result<Option<Obj<M>>> {
        let key = key.into();
        if let Some(obj) = self.identity_hit::<M>(&key) {
            return Ok(Some(obj));
        }
        self.check_usable()?;
        self.autoflush().await?;
        let sql = M::sql(self.engine.dialect());
        let stmt = sql.select_by_key.with_binds(M::key_values(&key));
        let row = self.tx().await?.fetch_optional(stmt).await?;
        match row {
            Some(row) => {
                let mode = LoadMode::default().with_skip(crate::model::default_skip(M::columns()));
                let obj = self.load_row::<M>(&row, 0, mode)?;
                if selectin::has_defaults(M::vtable()) {
                    selectin::load_defaults(self, vec![obj.h.uncounted()], Vec::new(), mode)
                        .await?;
                }
                self.dispatch_state_events();
                Ok(Some(obj))
            }
            None => Ok(None),
        }
    }

    /// The object of `key` in the identity map, unless it is not there or expired.
    pub(crate) fn identity_hit<M: Model>(&mut self, key: &M::PrimaryKey) -> Option<Obj<M>> {
        let obj = self.store::<M>().get(key)?;
        let usable = !obj.h.core().meta().is_expired();
        usable.then(|| obj.clone())
    }

    /// A query for objects of `M`: add filters, order and limits, then run it with
    /// `all`, `first`, `one` or `one_or_none`, or [`stream`](Query::stream) its objects
    /// as their rows arrive.
    pub fn query<M: Model>(&mut self) -> Query<'_, M> {
        Query::new(self)
    }

    /// Loads the [`Deferred`](crate::model::Deferred) columns `columns` of `obj` (one
    /// SELECT of those columns by its key), as loaded values, not changes: a column
    /// already loaded is loaded again, discarding an unflushed change to it. `columns` is
    /// a tuple (`(User::bio,)`), an array or a `Vec` of `M`'s columns, or a deferred
    /// column group: [`column_group("photos")`](crate::loading::column_group) (a group
    /// `M` does not have is [`Error::InvalidRequest`], and nothing runs).
    pub async fn load_columns<M: Model>(
        &mut self,
        obj: &Obj<M>,
        columns: impl crate::loading::ColumnsToLoad<M>,
    ) -> Result<()> {
        self.load_columns_all(std::slice::from_ref(obj), columns)
            .await
    }

    /// As [`load_columns`](Session::load_columns) for every object of `objs` (of one
    /// model), in one SELECT per chunk of keys under the dialect's parameter limit.
    pub async fn load_columns_all<M: Model>(
        &mut self,
        objs: &[Obj<M>],
        columns: impl crate::loading::ColumnsToLoad<M>,
    ) -> Result<()> {
        self.check_usable()?;
        let vt = M::vtable();
        let names = columns.resolve()?;
        let mut wanted = Vec::with_capacity(names.len());
        for name in &names {
            match M::columns().iter().position(|c| c.name == *name) {
                Some(i) if !wanted.contains(&i) => wanted.push(i),
                Some(_) => {}
                None => unreachable!("a typed column names a column of its model"),
            }
        }
        let mut keys = Vec::with_capacity(objs.len());
        for obj in objs {
            let meta = obj.h.core().meta();
            match (&meta.state, &meta.key) {
                (ObjectState::Persistent, Some(k)) if meta.session == self.registry.id => {
                    keys.push(k.to_vec());
                }
                _ => {
                    return Err(Error::InvalidRequest {
                        message: format!(
                            "{} is not persistent in this session; only persistent objects' columns can be loaded",
                            describe(M::MODEL_NAME, meta.key.as_deref())
                        ),
                    });
                }
            }
        }
        if wanted.is_empty() || objs.is_empty() {
            return Ok(());
        }
        self.autoflush().await?;
        for obj in objs {
            check_unlocked(&obj.h, "loading its columns")?;
        }
        let key_cols: Vec<usize> = M::columns()
            .iter()
            .enumerate()
            .filter(|(_, c)| c.primary_key)
            .map(|(i, _)| i)
            .collect();
        let mut items: Vec<crate::sql::SelectItem> = Vec::new();
        for &i in key_cols.iter().chain(&wanted) {
            items.push(crate::sql::SelectItem {
                expr: unit_of_work::model_col(vt, M::columns()[i].name),
                label: None,
            });
        }
        let mut found: HashMap<Vec<selectin::Part>, Row> = HashMap::new();
        let chunk = selectin::chunk_size(self, key_cols.len());
        for part in keys.chunks(chunk) {
            let cols = key_cols
                .iter()
                .map(|&c| unit_of_work::model_col(vt, M::columns()[c].name))
                .collect();
            let stmt = crate::sql::select(items.clone())
                .from(M::table())
                .filter(selectin::in_keys(self, cols, part));
            for row in self.tx().await?.fetch_all(&stmt).await? {
                let key: Vec<selectin::Part> = (0..key_cols.len())
                    .map(|k| row.value(k).map(|v| selectin::part(&v)))
                    .collect::<Result<_>>()?;
                found.insert(key, row);
            }
        }
        for (obj, key) in objs.iter().zip(&keys) {
            let Some(row) = found.get(&key.iter().map(selectin::part).collect::<Vec<_>>()) else {
                return Err(Error::ObjectDeleted {
                    object: describe(M::MODEL_NAME, Some(key)),
                });
            };
            let mut v = obj.lock_write();
            let mut meta = obj.h.core().meta();
            for (k, &i) in wanted.iter().enumerate() {
                let value = row.value(key_cols.len() + k)?;
                v.set_column_value(i, value.clone())?;
                if let Some(snap) = meta.snapshot.as_mut() {
                    snap.values[i] = value;
                    if i < 64 {
                        snap.unloaded &= !(1 << i);
                    }
                }
            }
        }
        Ok(())
    }

    /// Loads relationship `rel` of `obj` (one SELECT), replacing what was loaded.
    pub async fn load<M: Model, T: RelatedTarget>(
        &mut self,
        obj: &Obj<M>,
        rel: Relationship<M, T>,
    ) -> Result<()> {
        self.check_usable()?;
        check_unlocked(&obj.h, "loading its relationships")?;
        self.autoflush().await?;
        self.check_persistent(&obj.h, rel.name())?;
        let index = M::relationships()
            .iter()
            .position(|r| r.name == rel.name())
            .unwrap_or_else(|| unreachable!("a relationship descriptor names a relationship"));
        self.reload_relationship(&obj.h, index).await
    }

    /// Loads relationship `index` of `h` from the database (one SELECT), replacing what
    /// was loaded.
    pub(crate) async fn reload_relationship(&mut self, h: &Handle, index: usize) -> Result<()> {
        let mut items = Some(self.load_relationship(h, index).await?);
        (h.vtable().with_relationship_mut)(h, index, &mut |r| {
            r.set_loaded(items.take().unwrap_or_default());
        });
        Ok(())
    }

    /// Loads relationship `rel` of every object of `objs` with one SELECT, replacing what
    /// was loaded, as [`load`](Session::load) does for one object: selectin's SELECT
    /// (`WHERE key IN (...)`, chunked under the database's parameter limit as
    /// `selectinload` chunks it; on PostgreSQL one `= ANY($1)` array bind for any number
    /// of objects); for a many-to-one, targets already in the identity map cost no SQL.
    /// The objects it loads get their models' `lazy` defaults, as a query's would.
    pub async fn load_all<M: Model, T: RelatedTarget>(
        &mut self,
        objs: &[Obj<M>],
        rel: Relationship<M, T>,
    ) -> Result<()> {
        if objs.is_empty() {
            return Ok(());
        }
        self.check_usable()?;
        for obj in objs {
            check_unlocked(&obj.h, "loading its relationships")?;
        }
        self.autoflush().await?;
        for obj in objs {
            self.check_persistent(&obj.h, rel.name())?;
        }
        let step = crate::loading::LoadStep {
            model: M::MODEL_NAME,
            relationship: rel.name(),
            strategy: crate::model::relationship::LoadStrategy::Selectin,
            innerjoin: false,
            alias: None,
            columns: Vec::new(),
        };
        let level = objs.iter().map(|o| o.h.uncounted()).collect();
        // `populate_existing`: what was loaded is replaced (the related objects' own
        // columns are not overwritten: their loads start from the default mode).
        let mode = LoadMode {
            populate_existing: true,
            skip: 0,
        };
        selectin::load_path(self, level, std::slice::from_ref(&step), mode, None).await?;
        self.dispatch_state_events();
        Ok(())
    }

    /// Errs unless `h` is persistent in this session (after the autoflush a pending
    /// object is): only a row's relationships can be loaded.
    fn check_persistent(&self, h: &Handle, relationship: &str) -> Result<()> {
        let meta = h.core().meta();
        if meta.state == ObjectState::Persistent && meta.session == self.registry.id {
            return Ok(());
        }
        Err(Error::InvalidRequest {
            message: format!(
                "{} is not persistent in this session, so it has no row to load `{}.{}` of; add it (and flush) first",
                describe(h.vtable().name, meta.key.as_deref()),
                h.vtable().name,
                relationship
            ),
        })
    }

    /// The objects relationship `index` of `h` points at, read from the database.
    pub(crate) async fn load_relationship(
        &mut self,
        h: &Handle,
        index: usize,
    ) -> Result<Vec<Handle>> {
        let vt = h.vtable();
        let info = &(vt.relationships)()[index];
        let target = (info.target_vtable)();
        let join = unit_of_work::resolve(vt, info)?;
        selectin::check_join_loaded(h, vt, &join.local)?;
        let values = (vt.values)(h);
        let stmt = unit_of_work::select_related(vt, info, &join, &values)?;
        let Some(stmt) = stmt else {
            return Ok(Vec::new());
        };
        let rows = self.tx().await?.fetch_all(stmt).await?;
        let skip = crate::model::default_skip((target.columns)());
        (target.decode_rows)(self, &rows, LoadMode::default().with_skip(skip))
    }

    /// Runs a Core statement in the session's transaction (after an autoflush).
    pub async fn execute(&mut self, stmt: impl Executable) -> Result<QueryResult> {
        self.check_usable()?;
        self.autoflush().await?;
        self.tx().await?.execute(stmt).await
    }

    /// Runs a Core query in the session's transaction (after an autoflush) and returns
    /// its rows.
    pub async fn fetch_all(&mut self, stmt: impl Executable) -> Result<Vec<Row>> {
        self.check_usable()?;
        self.autoflush().await?;
        self.tx().await?.fetch_all(stmt).await
    }

    /// The first column of the first row of a Core statement run in the session's
    /// transaction (after an autoflush), decoded as `T`; `None` when there is no row
    /// (SQLAlchemy's `session.scalar(stmt)`). Rows after the first are not read. A NULL
    /// reads into an `Option<T>` (`Some(None)`); into a plain `T` it is an error.
    ///
    /// ```text
    /// let n: Option<i64> = session.scalar(select(func::count_star()).from(User::table())).await?;
    /// ```
    pub async fn scalar<T: crate::row::Decode>(
        &mut self,
        stmt: impl Executable,
    ) -> Result<Option<T>> {
        self.check_usable()?;
        self.autoflush().await?;
        match self.tx().await?.fetch_optional(stmt).await? {
            Some(row) => row.get(0).map(Some),
            None => Ok(None),
        }
    }

    /// Writes pending changes to the database (in the session's transaction, which stays
    /// open). On error the transaction is rolled back, no object changes, and the
    /// session must be [rolled back](Session::rollback) before further work. Inside a
    /// savepoint ([`begin_nested`](Session::begin_nested)) only the savepoint is rolled
    /// back: [`rollback_nested`](Session::rollback_nested) ends it, and the enclosing
    /// transaction goes on.
    pub async fn flush(&mut self) -> Result<()> {
        self.check_usable()?;
        let r = unit_of_work::flush(self).await;
        self.dispatch_state_events();
        r
    }

    /// Flushes, then commits; objects stay loaded (unless `expire_on_commit`).
    pub async fn commit(&mut self) -> Result<()> {
        self.fire(SessionEvent::BeforeCommit);
        self.flush().await?;
        if let Some(tx) = self.tx.take() {
            // A COMMIT that fails (a deferred constraint) or whose future is dropped may
            // have kept nothing: the session must be rolled back, which undoes the
            // transaction's inserts and deletes in the objects.
            self.flushing = true;
            let r = tx.commit().await;
            self.flushing = false;
            if let Err(e) = r {
                self.pending_rollback = Some(format!("COMMIT failed ({e})"));
                return Err(e);
            }
        }
        self.nested.clear();
        self.tx_updated.clear();
        self.tx_inserted.clear();
        for h in std::mem::take(&mut self.tx_deleted) {
            let mut meta = h.core().meta();
            if meta.state == ObjectState::Deleted {
                self.transition(&h, &mut meta, ObjectState::Detached);
                meta.session = 0;
            }
        }
        if self.expire_on_commit {
            self.expire_all();
        }
        self.dispatch_state_events();
        self.fire(SessionEvent::AfterCommit);
        Ok(())
    }

    /// Flushes, then opens a savepoint (SQLAlchemy's `begin_nested`): rolling it back
    /// undoes only the work done after this call, in the database and in the objects.
    pub async fn begin_nested(&mut self) -> Result<Nested> {
        self.check_usable()?;
        self.flush().await?;
        let depth = self.nested.len() + 1;
        self.tx()
            .await?
            .execute_script(&format!("SAVEPOINT orm_sp_{depth}"))
            .await?;
        self.nested.push(NestedMark {
            inserted: self.tx_inserted.len(),
            deleted: self.tx_deleted.len(),
            updated: self.tx_updated.len(),
        });
        Ok(Nested {
            depth,
            registry: self.registry.id,
        })
    }

    fn check_innermost(&self, sp: Nested) -> Result<()> {
        if sp.registry != self.registry.id || sp.depth != self.nested.len() || self.tx.is_none() {
            return Err(Error::InvalidRequest {
                message: format!(
                    "savepoint {} is not the innermost open savepoint of this session ({} open); end the inner ones first",
                    sp.depth,
                    self.nested.len()
                ),
            });
        }
        Ok(())
    }

    /// Flushes and releases the savepoint: its work joins the enclosing transaction.
    pub async fn commit_nested(&mut self, sp: Nested) -> Result<()> {
        self.check_usable()?;
        self.check_innermost(sp)?;
        self.flush().await?;
        self.tx()
            .await?
            .execute_script(&format!("RELEASE SAVEPOINT orm_sp_{}", sp.depth))
            .await?;
        self.nested.pop();
        if self.nested.is_empty() {
            self.tx_updated.clear();
        }
        Ok(())
    }

    /// Rolls back to the savepoint: objects inserted since become transient, objects
    /// deleted since persistent again, objects changed since are expired, and pending
    /// objects added since are expunged. The enclosing transaction goes on.
    pub async fn rollback_nested(&mut self, sp: Nested) -> Result<()> {
        // A session that must be rolled back (a failed flush or COMMIT, an interrupted
        // flush whose connection is gone) has no savepoint left to go back to, unless a
        // flush failed inside this one and rolled the database back to it already.
        let failed_here = self.failed_nested == Some(sp.depth) && sp.registry == self.registry.id;
        if !failed_here || self.flushing || self.streaming.is_some() {
            self.check_usable()?;
        }
        self.check_innermost(sp)?;
        let tx = self.tx().await?;
        tx.execute_script(&format!("ROLLBACK TO SAVEPOINT orm_sp_{}", sp.depth))
            .await?;
        tx.execute_script(&format!("RELEASE SAVEPOINT orm_sp_{}", sp.depth))
            .await?;
        let Some(mark) = self.nested.pop() else {
            return Ok(());
        };
        if failed_here {
            self.failed_nested = None;
            self.pending_rollback = None;
        }
        let inserted = self.tx_inserted.split_off(mark.inserted);
        let deleted = self.tx_deleted.split_off(mark.deleted);
        let updated = self.tx_updated.split_off(mark.updated);
        self.undo(inserted, deleted);
        for h in updated.iter().chain(&self.take_touched()) {
            expire_handle(h);
        }
        Ok(())
    }

    /// Rolls back the transaction: objects inserted in it become transient again,
    /// objects deleted in it persistent again, pending objects are expunged, and every
    /// persistent object is expired (its values may be stale).
    pub async fn rollback(&mut self) -> Result<()> {
        // A stream dropped before its end lost the transaction: that is a rollback too.
        let had_tx = self.tx.is_some() || self.streaming.is_some();
        let result = match self.tx.take() {
            Some(tx) => tx.rollback().await,
            None => Ok(()),
        };
        self.reset_after_rollback();
        self.dispatch_state_events();
        if had_tx {
            self.fire(SessionEvent::AfterRollback);
        }
        self.fire(SessionEvent::AfterSoftRollback);
        result
    }

    fn reset_after_rollback(&mut self) {
        self.flushing = false;
        self.streaming = None;
        self.pending_rollback = None;
        self.failed_nested = None;
        self.nested.clear();
        self.tx_updated.clear();
        let inserted = std::mem::take(&mut self.tx_inserted);
        let deleted = std::mem::take(&mut self.tx_deleted);
        self.undo(inserted, deleted);
        self.take_touched();
        self.expire_all();
    }

    /// Undoes in memory what rolled-back statements did: inserted objects become
    /// transient, deleted ones persistent, pending ones are expunged.
    fn undo(&mut self, inserted: Vec<Handle>, deleted: Vec<Handle>) {
        for h in inserted {
            self.store_for(&h).remove(&h);
            let mut meta = h.core().meta();
            self.transition(&h, &mut meta, ObjectState::Transient);
            meta.session = 0;
            meta.key = None;
            meta.snapshot = None;
            meta.touched = false;
        }
        for h in deleted {
            {
                let mut meta = h.core().meta();
                self.transition(&h, &mut meta, ObjectState::Persistent);
                meta.session = self.registry.id;
                meta.delete_marked = false;
            }
            self.store_for(&h).insert(&h);
        }
        for h in std::mem::take(&mut self.new) {
            let mut meta = h.core().meta();
            self.transition(&h, &mut meta, ObjectState::Transient);
            meta.session = 0;
        }
        for h in std::mem::take(&mut self.deleted) {
            h.core().meta().delete_marked = false;
        }
    }

    /// Rolls back, expunges everything and gives the connection back.
    pub async fn close(&mut self) -> Result<()> {
        let r = self.rollback().await;
        self.expunge_all();
        r
    }

    /// Runs `f` with autoflush off (SQLAlchemy's `no_autoflush`).
    pub fn no_autoflush(&mut self) -> NoAutoflush<'_> {
        let was = self.autoflush;
        self.autoflush = false;
        NoAutoflush { session: self, was }
    }

    pub(crate) async fn autoflush(&mut self) -> Result<()> {
        if self.autoflush && !self.in_before_flush && self.has_changes() {
            unit_of_work::flush(self).await?;
        }
        Ok(())
    }

    pub(crate) fn has_changes(&self) -> bool {
        !self.new.is_empty()
            || !self.deleted.is_empty()
            || self.registry.touched.lock().map_or(true, |t| !t.is_empty())
    }

    pub(crate) fn take_touched(&self) -> Vec<Handle> {
        match self.registry.touched.lock() {
            Ok(mut t) => std::mem::take(&mut *t),
            Err(p) => std::mem::take(&mut *p.into_inner()),
        }
    }

    /// Errors when the session must be rolled back first.
    pub(crate) fn check_usable(&mut self) -> Result<()> {
        if self.flushing {
            self.flushing = false;
            self.failed_nested = None;
            self.pending_rollback
                .get_or_insert_with(|| "a flush was interrupted (its future was dropped)".into());
            // The interrupted statement may still be on the wire: the connection goes.
            self.tx = None;
        }
        if let Some(model) = self.streaming.take() {
            self.failed_nested = None;
            self.pending_rollback.get_or_insert_with(|| {
                format!(
                    "a stream of `{model}` objects (query().stream()) was dropped before its end, and the transaction was lost with its connection"
                )
            });
            // The stream owned the transaction: it is gone (closed with rows still on the
            // wire, or rolled back), never to be continued outside a transaction.
            self.tx = None;
        }
        match &self.pending_rollback {
            Some(reason) => Err(Error::PendingRollback {
                reason: reason.clone(),
            }),
            None => Ok(()),
        }
    }

    /// The session's transaction, begun on first use.
    pub(crate) async fn tx(&mut self) -> Result<&mut Transaction> {
        self.tx_with(false).await
    }

    /// As [`tx`](Session::tx); begun here with `immediate`, on SQLite it takes the write
    /// lock at once (`BEGIN IMMEDIATE`).
    pub(crate) async fn tx_with(&mut self, immediate: bool) -> Result<&mut Transaction> {
        if self.streaming.is_some() {
            // A dropped stream took the transaction: no new one is begun silently.
            self.check_usable()?;
        }
        if self.tx.is_none() {
            // Boxed: begun once per transaction, while this future is made for every
            // statement, and holding the engine's begin it was some 1.5 KB to move.
            let engine = &self.engine;
            let begun = Box::pin(async move {
                if immediate {
                    engine.begin_immediate().await
                } else {
                    engine.begin().await
                }
            })
            .await?;
            self.tx = Some(begun);
        }
        Ok(self
            .tx
            .as_mut()
            .unwrap_or_else(|| unreachable!("just begun")))
    }

    /// The objects of `rows` (columns of `M` from `offset`), through the identity map, as
    /// [`load_row`](Session::load_row) for each row. Without load or state listeners it
    /// takes the map once and registers the new objects in one go.
    pub(crate) fn load_rows<M: Model>(
        &mut self,
        rows: &[Row],
        offset: usize,
        mode: LoadMode,
    ) -> Result<Vec<Obj<M>>> {
        let handles = self.load_rows_of::<M>(rows.iter(), rows.len(), offset, mode, true)?;
        Ok(object::objs_from_handles(handles))
    }

    /// As [`load_rows`](Session::load_rows), as uncounted handles (for relationships and
    /// the session's own lists: no count to take and give back per object).
    pub(crate) fn load_handles<M: Model>(
        &mut self,
        rows: &[Row],
        mode: LoadMode,
    ) -> Result<Vec<Handle>> {
        self.load_rows_of::<M>(rows.iter(), rows.len(), 0, mode, false)
    }

    /// As [`load_rows`](Session::load_rows) for rows of an outer join: a row whose key
    /// columns (from `offset`) are all NULL has no object.
    pub(crate) fn load_rows_opt<M: Model>(
        &mut self,
        rows: &[Row],
        offset: usize,
        mode: LoadMode,
        counted: bool,
    ) -> Result<Vec<Option<Handle>>> {
        let key_cols: Vec<usize> = M::columns()
            .iter()
            .enumerate()
            .filter(|(_, c)| c.primary_key)
            .map(|(i, _)| offset + crate::model::position(i, mode.skip))
            .collect();
        let mut present = Vec::with_capacity(rows.len());
        for row in rows {
            let mut any = false;
            for &c in &key_cols {
                any |= !row.value(c)?.is_null();
            }
            present.push(any);
        }
        let n = present.iter().filter(|p| **p).count();
        let found = self.load_rows_of::<M>(
            rows.iter()
                .zip(&present)
                .filter(|(_, p)| **p)
                .map(|(r, _)| r),
            n,
            offset,
            mode,
            counted,
        )?;
        let mut found = found.into_iter();
        Ok(present
            .into_iter()
            .map(|p| if p { found.next() } else { None })
            .collect())
    }

    /// The objects of `rows` as handles, counted (for users) or not.
    fn load_rows_of<'r, M: Model>(
        &mut self,
        rows: impl Iterator<Item = &'r Row>,
        count: usize,
        offset: usize,
        mode: LoadMode,
        counted: bool,
    ) -> Result<Vec<Handle>> {
        if self.listens_to_loads::<M>() {
            return rows
                .map(|row| {
                    let obj = self.load_row::<M>(row, offset, mode)?;
                    Ok(if counted { obj.h } else { obj.h.uncounted() })
                })
                .collect();
        }
        let registry = Arc::clone(&self.registry);
        let store = self.store::<M>();
        store.reserve(count);
        let mut loader = RowLoader::new(store, &registry, Some(count));
        let mut out = Vec::with_capacity(count);
        for row in rows {
            out.push(loader.push(store, row, offset, mode, counted)?);
        }
        Ok(out)
    }

    /// Runs `stmt` on the session's transaction and turns its rows into the
    /// identity-mapped objects of `M` (columns from `offset`) as they are read, without
    /// holding the result: what `fetch_all` then [`load_rows`](Session::load_rows) does.
    /// With load or state listeners (which need the whole session per object) the rows
    /// are collected first.
    pub(crate) async fn fetch_objects<M: Model>(
        &mut self,
        stmt: impl crate::sql::Executable,
        offset: usize,
        mode: LoadMode,
        counted: bool,
    ) -> Result<Vec<Handle>> {
        self.fetch_objects_with::<M, _>(stmt, offset, mode, counted, |h, _| Ok(h))
            .await
    }

    /// As [`fetch_objects`](Session::fetch_objects) (uncounted handles, columns from the
    /// first), each object with the key of its row's columns at `key_at`, read while the
    /// row is at hand (`selectinload` groups children by the row's foreign key, as
    /// SQLAlchemy does).
    pub(crate) async fn fetch_objects_keyed<M: Model>(
        &mut self,
        stmt: impl crate::sql::Executable,
        mode: LoadMode,
        key_at: &[usize],
    ) -> Result<Vec<(Handle, selectin::Key)>> {
        self.fetch_objects_with::<M, _>(stmt, 0, mode, false, |h, row| {
            Ok((h, selectin::row_key(row, key_at)?))
        })
        .await
    }

    /// The loads of [`fetch_objects`](Session::fetch_objects): each row's object and the
    /// row itself made into what `each` returns.
    async fn fetch_objects_with<M: Model, T: Send>(
        &mut self,
        stmt: impl crate::sql::Executable,
        offset: usize,
        mode: LoadMode,
        counted: bool,
        mut each: impl FnMut(Handle, &Row) -> Result<T> + Send,
    ) -> Result<Vec<T>> {
        if self.listens_to_loads::<M>() {
            let rows = self.tx().await?.fetch_all(stmt).await?;
            let handles = self.load_rows_of::<M>(rows.iter(), rows.len(), offset, mode, counted)?;
            return rows
                .iter()
                .zip(handles)
                .map(|(row, h)| each(h, row))
                .collect();
        }
        let (tx, stores, registry) = self.tx_and_stores().await?;
        let store = store_in::<M>(stores);
        let mut loader = RowLoader::new(store, registry, None);
        let mut out = Vec::new();
        tx.fetch_each(stmt, &mut |row| {
            out.push(each(loader.push(store, row, offset, mode, counted)?, row)?);
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// True when loading an object of `M` must call back into the session: a model hook,
    /// a mapper listener for `M` or a state listener.
    fn listens_to_loads<M: Model>(&self) -> bool {
        self.listens_to_loads_of(M::vtable())
    }

    /// [`listens_to_loads`](Session::listens_to_loads) of a model known by its vtable.
    pub(crate) fn listens_to_loads_of(&self, vt: &vtable::ModelVTable) -> bool {
        vt.hooks || self.listeners.has_mapper((vt.type_id)()) || !self.listeners.state.is_empty()
    }

    /// The session's transaction (begun if need be), its identity maps and registry,
    /// borrowed apart: for loads that fill the maps while the transaction reads rows.
    pub(crate) async fn tx_and_stores(
        &mut self,
    ) -> Result<(&mut Transaction, &mut Stores, &Arc<Registry>)> {
        self.tx().await?;
        let tx = self
            .tx
            .as_mut()
            .unwrap_or_else(|| unreachable!("just begun"));
        Ok((tx, &mut self.stores, &self.registry))
    }

    /// Turns a row into the identity-mapped object of `M` (reading its columns from
    /// `offset`): the object already there keeps its values (and unflushed changes)
    /// unless `populate_existing` or it is expired.
    pub(crate) fn load_row<M: Model>(
        &mut self,
        row: &Row,
        offset: usize,
        mode: LoadMode,
    ) -> Result<Obj<M>> {
        let key = M::key_from_row_skip(row, offset, mode.skip)?;
        if let Some(existing) = self.store::<M>().get(&key) {
            let existing = existing.clone();
            let deferrable = M::columns().iter().any(|c| c.deferrable);
            if refill_if_stale(&existing, row, offset, mode, deferrable)? {
                self.run_mapper(&existing.h, MapperEvent::Refresh)?;
            }
            return Ok(existing);
        }
        let value = M::from_row_skip(row, offset, mode.skip)?;
        let key_values = M::identity_key(&key);
        let (obj, own) = Obj::new_in(
            &self.registry,
            value,
            vtable::persistent_meta(&self.registry, key_values),
        );
        self.store::<M>().put(key, own);
        if !self.listeners.state.is_empty() {
            self.state_events.push(StateChange {
                model: M::MODEL_NAME,
                key: obj.h.core().meta().key.clone().map(IdKey::into_vec),
                from: ObjectState::Transient,
                to: ObjectState::Persistent,
            });
        }
        self.run_mapper(&obj.h, MapperEvent::Load)?;
        Ok(obj)
    }
}

/// The identity maps of a session, by model.
pub(crate) type Stores = HashMap<TypeId, Box<dyn AnyStore>, identity::FastHash>;

/// [`Session::run_mapper`] with the session's listeners borrowed apart (the flush runs
/// them over its lists in place).
pub(crate) fn run_mapper_in(
    listeners: &mut Listeners,
    h: &Handle,
    event: MapperEvent,
) -> Result<()> {
    let vt = h.vtable();
    if !vt.hooks && !listeners.has_mapper((vt.type_id)()) {
        return Ok(());
    }
    (vt.run_mapper)(listeners, h, event)
}

/// The identity map of `M` among `stores` (made empty on first use).
fn store_in<M: Model>(stores: &mut Stores) -> &mut Store<M> {
    stores
        .entry(TypeId::of::<M>())
        .or_insert_with(|| Box::new(Store::<M>::default()))
        .as_any_mut()
        .downcast_mut::<Store<M>>()
        .unwrap_or_else(|| unreachable!("the store of a type id is that type's store"))
}

/// Turns rows into the identity-mapped objects of `M`, one at a time, for a load that
/// no listener watches: the object already mapped for a row's key, refilled if stale,
/// or a new persistent one (its cell from a chunk shared with the load's other objects).
/// A loaded object links to no other yet: the registry learns of it when it does.
///
/// The identity map is passed to each call (not held), so that a joined load can keep
/// one loader per model while the rows of several models are read.
pub(crate) struct RowLoader<M: Model> {
    cells: cell_ptr::ChunkAlloc<object::ObjCell<M>>,
    /// Counted handles paid for on the registry and not handed out yet: one atomic
    /// operation per [`PREPAID`] objects loaded rather than one each (an atomic write
    /// waits for every store before it, and a load stores a whole cell per row). Given
    /// back when the loader is dropped.
    prepaid: usize,
    /// How many the next payment takes: the rows expected, else doubling from one up
    /// to [`PREPAID`] (a load of one object pays once and gives nothing back).
    next_payment: usize,
    deferrable: bool,
    /// While every row is a new object (a fresh session, a first load), each row is
    /// decoded once and its key taken from the object; after the first row whose
    /// object is already mapped, the key is read first, and a hit decodes nothing else.
    decode_first: bool,
}

/// The most counted handles a [`RowLoader`] pays for at a time.
const PREPAID: usize = 256;

impl<M: Model> Drop for RowLoader<M> {
    fn drop(&mut self) {
        self.cells.registry().release_many(self.prepaid);
    }
}

impl<M: Model> RowLoader<M> {
    /// A loader into `store` for `count` rows, or for as many as come (`None`).
    fn new(store: &Store<M>, registry: &Arc<Registry>, count: Option<usize>) -> Self {
        RowLoader {
            prepaid: 0,
            next_payment: count.unwrap_or(1).clamp(1, PREPAID),
            cells: match count {
                Some(n) => cell_ptr::ChunkAlloc::new(n, registry),
                None => cell_ptr::ChunkAlloc::growing(registry),
            },
            deferrable: M::columns().iter().any(|c| c.deferrable),
            decode_first: store.is_empty(),
        }
    }

    /// The object of `row`'s columns of `M` from `offset`, counted or not.
    fn push(
        &mut self,
        store: &mut Store<M>,
        row: &Row,
        offset: usize,
        mode: LoadMode,
        counted: bool,
    ) -> Result<Handle> {
        if self.decode_first {
            // Decoded once, moved once (into its cell): kept in an `Option` across the
            // lookup, the value was copied twice more, a stall per row.
            let value = M::from_row_skip(row, offset, mode.skip)?;
            let key = value.primary_key();
            if store.extends_run(&key) {
                return Ok(self.new_in_run(store, key, value, counted));
            }
            return match store.entry(key) {
                identity::Slot::Vacant(e) => Ok(self.new_object(e, value, counted)),
                identity::Slot::Mapped(e) => {
                    self.decode_first = false;
                    drop(value);
                    self.existing(e, row, offset, mode, counted)
                }
            };
        }
        let key = M::key_from_row_skip(row, offset, mode.skip)?;
        match store.entry(key) {
            identity::Slot::Mapped(e) => self.existing(e, row, offset, mode, counted),
            identity::Slot::Vacant(e) => {
                let value = M::from_row_skip(row, offset, mode.skip)?;
                Ok(self.new_object(e, value, counted))
            }
        }
    }

    /// A new persistent object of `value`, mapped at `slot`.
    fn new_object(&mut self, slot: identity::Vacant<'_, M>, value: M, counted: bool) -> Handle {
        let key = M::identity_key(slot.key());
        let (h, own) = Obj::new_loaded(value, key, &mut self.cells);
        slot.insert(own);
        if counted { self.prepaid(h) } else { h }
    }

    /// A new persistent object of `value`, mapped under `key`, which extends the map's
    /// run of keys in increasing order (no lookup: see [`Store`]).
    fn new_in_run(
        &mut self,
        store: &mut Store<M>,
        key: M::PrimaryKey,
        value: M,
        counted: bool,
    ) -> Handle {
        let id = M::identity_key(&key);
        let (h, own) = Obj::new_loaded(value, id, &mut self.cells);
        store.push_run(key, own);
        if counted { self.prepaid(h) } else { h }
    }

    /// The object already mapped for a row (refilled if stale), counted or not.
    fn existing(
        &mut self,
        existing: &Handle,
        row: &Row,
        offset: usize,
        mode: LoadMode,
        counted: bool,
    ) -> Result<Handle> {
        let existing = existing
            .downcast::<M>()
            .unwrap_or_else(|| unreachable!("the store of a model holds that model's objects"));
        refill_if_stale(existing, row, offset, mode, self.deferrable)?;
        // An object made in another session counts on that session's registry.
        let own = Arc::ptr_eq(existing.h.core().registry(), self.cells.registry());
        Ok(match (counted, own) {
            (true, true) => self.prepaid(existing.h.uncounted()),
            (true, false) => existing.h.counted(),
            (false, _) => existing.h.uncounted(),
        })
    }

    /// `h` (uncounted) as a counted handle, paid for from the loader's prepaid ones.
    fn prepaid(&mut self, h: Handle) -> Handle {
        if self.prepaid == 0 {
            self.cells.registry().acquire_many(self.next_payment);
            self.prepaid = self.next_payment;
            self.next_payment = (self.next_payment * 2).min(PREPAID);
        }
        self.prepaid -= 1;
        h.into_prepaid_counted()
    }
}

/// A [`RowLoader`] of some model, for loads that read several models from one row.
pub(crate) trait LoadAt: Send {
    /// The object of the model's columns of `row` from `offset`, through its identity
    /// map in `stores`; `None` when `optional` and its key columns are all NULL (an
    /// outer join that found nothing).
    fn load_at(
        &mut self,
        stores: &mut Stores,
        row: &Row,
        offset: usize,
        mode: LoadMode,
        counted: bool,
        optional: bool,
    ) -> Result<Option<Handle>>;
}

impl<M: Model> LoadAt for RowLoader<M> {
    fn load_at(
        &mut self,
        stores: &mut Stores,
        row: &Row,
        offset: usize,
        mode: LoadMode,
        counted: bool,
        optional: bool,
    ) -> Result<Option<Handle>> {
        if optional && !key_present::<M>(row, offset, mode)? {
            return Ok(None);
        }
        self.push(store_in::<M>(stores), row, offset, mode, counted)
            .map(Some)
    }
}

/// A type-erased [`RowLoader`] of `M` into `stores` (see [`vtable::ModelVTable`]).
pub(crate) fn row_loader<M: Model>(
    stores: &mut Stores,
    registry: &Arc<Registry>,
) -> Box<dyn LoadAt> {
    Box::new(RowLoader::<M>::new(store_in::<M>(stores), registry, None))
}

/// True when some key column of `M` (its columns from `offset`) is not NULL in `row`.
fn key_present<M: Model>(row: &Row, offset: usize, mode: LoadMode) -> Result<bool> {
    for (i, c) in M::columns().iter().enumerate() {
        if c.primary_key
            && !row
                .value(offset + crate::model::position(i, mode.skip))?
                .is_null()
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Overwrites `existing`'s columns with `row`'s when it is expired or the load says
/// `populate_existing`; true when it did. Deferred columns the row leaves out are then
/// unloaded (their old values may be stale). Otherwise the object keeps its values, and
/// only its unloaded deferred columns that the row holds are filled (`deferrable`: the
/// model has such columns).
fn refill_if_stale<M: Model>(
    existing: &Obj<M>,
    row: &Row,
    offset: usize,
    mode: LoadMode,
    deferrable: bool,
) -> Result<bool> {
    if !mode.populate_existing && !existing.h.core().meta().is_expired() {
        if deferrable {
            fill_unloaded(existing, row, offset, mode.skip)?;
        }
        return Ok(false);
    }
    check_unlocked(&existing.h, "loading its row again")?;
    let fresh = M::from_row_skip(row, offset, mode.skip)?;
    {
        let mut v = existing.lock_write();
        for i in 0..M::columns().len() {
            if i < 64 && mode.skip & (1 << i) != 0 {
                v.unload_column(i);
            } else {
                v.set_column_value(i, fresh.column_value(i))?;
            }
        }
    }
    let mut meta = existing.h.core().meta();
    meta.clear_expired();
    meta.snapshot = None;
    meta.touched = false;
    Ok(true)
}

/// Fills the deferred columns of `existing` that are unloaded and that `row` holds (it
/// leaves out `skip`), as loaded values, not changes. An object a guard holds keeps them
/// unloaded (no waiting inside a load).
fn fill_unloaded<M: Model>(existing: &Obj<M>, row: &Row, offset: usize, skip: u64) -> Result<()> {
    let mut v = match existing.cell().value.try_write() {
        Ok(v) => v,
        Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
        Err(std::sync::TryLockError::WouldBlock) => return Ok(()),
    };
    let fill = v.unloaded_columns() & !skip;
    if fill == 0 {
        return Ok(());
    }
    let fresh = M::from_row_skip(row, offset, skip)?;
    let mut meta = existing.h.core().meta();
    for i in (0..M::columns().len().min(64)).filter(|i| fill & (1 << i) != 0) {
        let value = fresh.column_value(i);
        if let Some(snap) = meta.snapshot.as_mut() {
            snap.values[i] = value.clone();
        }
        v.set_column_value(i, value)?;
    }
    if let Some(snap) = meta.snapshot.as_mut() {
        snap.unloaded &= !fill;
    }
    Ok(())
}

impl Drop for Session {
    fn drop(&mut self) {
        // The transaction, if any, rolls back as it drops. Objects become detached (and
        // pending ones transient) the next time their bookkeeping is looked at: the
        // registry's `closed` flag says so, without visiting every object here.
        self.registry
            .closed
            .store(true, std::sync::atomic::Ordering::Release);
        self.stores.clear();
        self.new.clear();
        self.deleted.clear();
        self.tx_inserted.clear();
        self.tx_deleted.clear();
        self.tx_updated.clear();
        self.registry.release();
    }
}

/// A session with autoflush off; restores it when dropped. Derefs to the session.
pub struct NoAutoflush<'s> {
    session: &'s mut Session,
    was: bool,
}

impl std::ops::Deref for NoAutoflush<'_> {
    type Target = Session;
    fn deref(&self) -> &Session {
        self.session
    }
}

impl std::ops::DerefMut for NoAutoflush<'_> {
    fn deref_mut(&mut self) -> &mut Session {
        self.session
    }
}

impl Drop for NoAutoflush<'_> {
    fn drop(&mut self) {
        self.session.autoflush = self.was;
    }
}

/// Errors when a `read()`/`write()` guard holds `h` and does not let go within a short
/// wait: held by the caller across this call (an `.await`), it would never let go, and
/// waiting for it would hang the task. `doing` ends the message ("before flushing").
pub(crate) fn check_unlocked(h: &Handle, doing: &str) -> Result<()> {
    if (h.vtable().is_locked)(h) {
        return Err(Error::InvalidRequest {
            message: format!(
                "{} is locked by a read()/write() guard that is still alive (held across an .await?); drop the guard before {doing}",
                h.describe()
            ),
        });
    }
    Ok(())
}

fn expire_handle(h: &Handle) {
    let mut meta = h.core().meta();
    if meta.state != ObjectState::Persistent {
        return;
    }
    meta.expire_all_columns();
    meta.snapshot = None;
    meta.touched = false;
}

/// `root`, then every object reachable from it through loaded relationships whose
/// cascade `follow` says yes, once each.
/// Reading a relationship locks its object: one held by a guard is an error (`doing`
/// ends its message).
fn cascade_graph(root: &Handle, follow: fn(&Cascade) -> bool, doing: &str) -> Result<Vec<Handle>> {
    let mut out = vec![root.uncounted()];
    let mut seen: HashSet<usize> = HashSet::from([root.addr()]);
    let mut i = 0;
    while i < out.len() {
        let h = out[i].uncounted();
        i += 1;
        let vt = h.vtable();
        if !(vt.relationships)().iter().any(|r| follow(&r.cascade)) {
            continue;
        }
        check_unlocked(&h, doing)?;
        for (index, info) in (vt.relationships)().iter().enumerate() {
            if !follow(&info.cascade) {
                continue;
            }
            (vt.with_relationship)(&h, index, &mut |r| {
                for item in r.items() {
                    if seen.insert(item.addr()) {
                        out.push(item.uncounted());
                    }
                }
            });
        }
    }
    Ok(out)
}

/// Tells `item`'s side of a `back_populates` pair that `owner` now points at it.
fn relationship_backref(owner: &Handle, back: Option<&'static str>, item: &Handle) {
    let Some(back) = back else { return };
    let Some(index) = item.vtable().relationship_index(back) else {
        return;
    };
    (item.vtable().with_relationship_mut)(item, index, &mut |r| {
        r.apply_backref(owner.uncounted(), true);
    });
}
