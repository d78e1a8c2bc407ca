//! Session and mapper events, with SQLAlchemy's names and order.
//!
//! A flush fires `before_flush` (which may add, change or delete objects: the plan is
//! made after it), then per object `before_insert` / `before_update` / `before_delete`
//! as the plan takes its values, the statements, then per object `after_insert` /
//! `after_update` / `after_delete` once every statement succeeded, then `after_flush`
//! and `after_flush_postexec`. `commit` fires `before_commit` before its flush and
//! `after_commit` after COMMIT; `rollback` fires `after_rollback` (when a database
//! transaction was rolled back) and then `after_soft_rollback`. Objects built from rows
//! fire `load`; objects overwritten by `refresh` or `populate_existing` fire `refresh`.
//! State changes (`transient_to_pending`, `pending_to_persistent`, ...) reach
//! [`Session::on_state_change`] listeners once the operation that made them returns.

use std::any::{Any, TypeId};
use std::collections::HashMap;

use crate::error::Result;
use crate::model::Model;
use crate::session::Session;
use crate::session::object::{Handle, ObjectState};
use crate::value::Value;

/// Session-level events whose listeners see the session (read-only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionEvent {
    /// After a flush's statements and its objects' new states.
    AfterFlush,
    /// After `AfterFlush`, once the session's bookkeeping is final.
    AfterFlushPostexec,
    /// At the start of `commit`, before its flush.
    BeforeCommit,
    /// After COMMIT.
    AfterCommit,
    /// After a database transaction was rolled back.
    AfterRollback,
    /// After every `rollback()` call, whether or not a transaction was open.
    AfterSoftRollback,
}

/// An object changed state (SQLAlchemy's `transient_to_pending`, `pending_to_persistent`,
/// `loaded_as_persistent` (from `Transient`), `persistent_to_deleted`, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct StateChange {
    /// The model's name.
    pub model: &'static str,
    /// The identity key, when the object has one.
    pub key: Option<Vec<Value>>,
    /// The state before.
    pub from: ObjectState,
    /// The state after.
    pub to: ObjectState,
}

type BeforeFlush = Box<dyn FnMut(&mut Session) -> Result<()> + Send>;
type SessionListener = Box<dyn FnMut(&Session) + Send>;
type StateListener = Box<dyn FnMut(&StateChange) + Send>;

/// The listeners of one session.
#[derive(Default)]
pub(crate) struct Listeners {
    pub(crate) before_flush: Vec<BeforeFlush>,
    pub(crate) session: Vec<(SessionEvent, SessionListener)>,
    pub(crate) state: Vec<StateListener>,
    mapper: HashMap<TypeId, Box<dyn Any + Send>>,
}

/// The per-object events of one model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MapperEvent {
    /// Before the INSERT of a pending object (may change it).
    BeforeInsert,
    /// After the flush inserted it (its generated key is set).
    AfterInsert,
    /// Before the UPDATE of a changed object (may change it further).
    BeforeUpdate,
    /// After the flush updated it.
    AfterUpdate,
    /// Before the DELETE of an object.
    BeforeDelete,
    /// After the flush deleted it.
    AfterDelete,
    /// An object was built from a row.
    Load,
    /// An object's columns were overwritten from a row (`refresh`, `populate_existing`).
    Refresh,
}

type MapperListener<M> = Box<dyn FnMut(&mut M) -> Result<()> + Send>;

struct MapperHooks<M> {
    hooks: Vec<(MapperEvent, MapperListener<M>)>,
}

impl Listeners {
    pub(crate) fn add_mapper<M: Model>(&mut self, event: MapperEvent, f: MapperListener<M>) {
        let entry = self
            .mapper
            .entry(TypeId::of::<M>())
            .or_insert_with(|| Box::new(MapperHooks::<M> { hooks: Vec::new() }));
        if let Some(h) = entry.downcast_mut::<MapperHooks<M>>() {
            h.hooks.push((event, f));
        }
    }

    pub(crate) fn has_mapper(&self, type_id: TypeId) -> bool {
        self.mapper.contains_key(&type_id)
    }
}

/// Runs the listeners of `event` for the object behind `h` (a no-op for models with
/// none). Called through the model's vtable.
pub(crate) fn run_mapper<M: Model>(
    listeners: &mut Listeners,
    h: &Handle,
    event: MapperEvent,
) -> Result<()> {
    let hooks = listeners
        .mapper
        .get_mut(&TypeId::of::<M>())
        .and_then(|b| b.downcast_mut::<MapperHooks<M>>());
    if hooks.is_none() && !M::HOOKS {
        return Ok(());
    }
    let Some(obj) = h.downcast::<M>() else {
        return Ok(());
    };
    let mut value = obj.lock_write();
    // The model's own hook first, then the session's closures, in registration order.
    if M::HOOKS {
        let v: &mut M = &mut value;
        match event {
            MapperEvent::BeforeInsert => v.before_insert()?,
            MapperEvent::AfterInsert => v.after_insert(),
            MapperEvent::BeforeUpdate => v.before_update()?,
            MapperEvent::AfterUpdate => v.after_update(),
            MapperEvent::BeforeDelete => v.before_delete()?,
            MapperEvent::AfterDelete => v.after_delete(),
            MapperEvent::Load => v.on_load(),
            MapperEvent::Refresh => v.on_refresh(),
        }
    }
    if let Some(hooks) = hooks {
        for (e, f) in hooks.hooks.iter_mut() {
            if *e == event {
                f(&mut value)?;
            }
        }
    }
    Ok(())
}

/// Hooks a model runs on itself at the session's mapper events, SQLAlchemy's
/// `before_insert` & co. written as methods of the model. Declare the model with
/// `#[orm(events)]` and implement the ones you need (the others do nothing); without
/// the attribute the derive implements none and the session skips the calls.
///
/// A `before_*` hook may change the object (what it sets is written by the same flush)
/// or fail the flush with an error: the flush rolls back and leaves the session as it
/// was. Each hook runs before the closures registered with
/// [`Session::on_model`](crate::session::Session::on_model).
///
/// The session guide (`orm::guide::session`, *Events*) has a runnable example.
pub trait ModelEvents {
    /// False when the model implements no hook (written by the derive without
    /// `#[orm(events)]`).
    #[doc(hidden)]
    const HOOKS: bool = true;

    /// Before the object's INSERT; may change it, or fail the flush.
    fn before_insert(&mut self) -> Result<()> {
        Ok(())
    }
    /// After the INSERT (generated keys and defaults are in the object).
    fn after_insert(&self) {}
    /// Before the object's UPDATE; may change it, or fail the flush.
    fn before_update(&mut self) -> Result<()> {
        Ok(())
    }
    /// After the UPDATE.
    fn after_update(&self) {}
    /// Before the object's DELETE; may fail the flush.
    fn before_delete(&mut self) -> Result<()> {
        Ok(())
    }
    /// After the DELETE.
    fn after_delete(&self) {}
    /// When a row becomes this object (a query, `get`, a loader).
    fn on_load(&self) {}
    /// When a query or `refresh` fills the object again from its row.
    fn on_refresh(&self) {}
}

/// Registers per-object listeners of one model: `session.on_model::<User>().before_insert(..)`.
pub struct MapperEvents<'s, M> {
    pub(crate) listeners: &'s mut Listeners,
    pub(crate) _p: std::marker::PhantomData<fn() -> M>,
}

impl<M: Model> MapperEvents<'_, M> {
    fn before(
        self,
        event: MapperEvent,
        f: impl FnMut(&mut M) -> Result<()> + Send + 'static,
    ) -> Self {
        self.listeners.add_mapper::<M>(event, Box::new(f));
        self
    }

    fn after(self, event: MapperEvent, mut f: impl FnMut(&M) + Send + 'static) -> Self {
        self.listeners.add_mapper::<M>(
            event,
            Box::new(move |m: &mut M| {
                f(m);
                Ok(())
            }),
        );
        self
    }

    /// Before the INSERT of a pending object; it may change the object, and an error
    /// it returns fails the flush (rolled back, nothing changed).
    pub fn before_insert(self, f: impl FnMut(&mut M) -> Result<()> + Send + 'static) -> Self {
        self.before(MapperEvent::BeforeInsert, f)
    }

    /// After the flush inserted the object (its generated key is set).
    pub fn after_insert(self, f: impl FnMut(&M) + Send + 'static) -> Self {
        self.after(MapperEvent::AfterInsert, f)
    }

    /// Before the UPDATE of a changed object; as `before_insert`.
    pub fn before_update(self, f: impl FnMut(&mut M) -> Result<()> + Send + 'static) -> Self {
        self.before(MapperEvent::BeforeUpdate, f)
    }

    /// After the flush updated the object.
    pub fn after_update(self, f: impl FnMut(&M) + Send + 'static) -> Self {
        self.after(MapperEvent::AfterUpdate, f)
    }

    /// Before the DELETE of an object; an error fails the flush.
    pub fn before_delete(self, f: impl FnMut(&mut M) -> Result<()> + Send + 'static) -> Self {
        self.before(MapperEvent::BeforeDelete, f)
    }

    /// After the flush deleted the object.
    pub fn after_delete(self, f: impl FnMut(&M) + Send + 'static) -> Self {
        self.after(MapperEvent::AfterDelete, f)
    }

    /// An object was built from a row.
    pub fn load(self, f: impl FnMut(&M) + Send + 'static) -> Self {
        self.after(MapperEvent::Load, f)
    }

    /// An object's columns were overwritten from a row.
    pub fn refresh(self, f: impl FnMut(&M) + Send + 'static) -> Self {
        self.after(MapperEvent::Refresh, f)
    }
}
