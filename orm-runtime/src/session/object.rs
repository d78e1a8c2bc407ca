//! Objects a session tracks: the handle [`Obj`] users hold, the cell behind it, and the
//! registry that frees a session's object graph when nobody can reach it any more.
//!
//! ```text
//!  Obj<User> ──Arc──▶ ObjCell<User> { core: CellCore { meta, registry }, value: RwLock<User> }
//!                         ▲                                              │
//!                         └──────── Related<Vec<Post>> holds Handles ◀───┘
//! ```
//!
//! Relationships hold handles to other cells, so a `back_populates` pair is a cycle of
//! `Arc`s. Handles are *counted* (the user's, and the session's own) or *uncounted*
//! (inside relationships and the identity map). When the last counted handle of a
//! registry goes, nobody can reach its objects any more: the registry cuts every edge of
//! every object it made, and the cycles fall apart. Memory safety never depends on the
//! count (every handle is an `Arc`); only the moment the edges are cut does.
//!
//! A handle is type-erased (`Arc<dyn AnyCell>`) and `Obj<M>` adds the type back with a
//! `PhantomData<fn() -> M>`: a model type never contains another model type, so a schema
//! of hundreds of models related both ways is no recursive type for rustc's drop check.

use std::any::{Any, TypeId};
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};

use crate::error::{Error, Result};
use crate::model::Model;
use crate::session::cell_ptr::{CellPtr, ChunkAlloc, Counted, Counts, WeakCell};
use crate::session::vtable::ModelVTable;
use crate::value::Value;

/// Where an object stands, as SQLAlchemy names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectState {
    /// In no session and not in the database.
    Transient,
    /// Added to a session; inserted at the next flush.
    Pending,
    /// In a session and in the database.
    Persistent,
    /// Deleted in a flush that is not committed yet (or marked for deletion).
    Deleted,
    /// Was in a session, is no longer (closed, expunged, or the session is gone).
    Detached,
}

/// Per-object bookkeeping, behind the cell's mutex.
pub(crate) struct Meta {
    pub(crate) state: ObjectState,
    /// The session that holds the object (0: none).
    pub(crate) session: u64,
    /// Marked for deletion at the next flush (persistent objects).
    pub(crate) delete_marked: bool,
    /// Column values as last loaded or flushed, taken at the first `write()` after that
    /// (boxed: most objects loaded are never written, and the cell stays small).
    pub(crate) snapshot: Option<Box<Snapshot>>,
    /// Columns whose value is stale (expired): reading the object is an error until it
    /// is refreshed. `None`: none.
    pub(crate) expired: Option<Box<[bool]>>,
    /// Every column is expired (`expire_all`, a commit): set without allocating
    /// `expired`, which is then `None`.
    pub(crate) expired_all: bool,
    /// In the registry's touched list since the last flush.
    pub(crate) touched: bool,
    /// The identity key, once the object is persistent.
    pub(crate) key: Option<IdKey>,
    /// The registry of the session that holds the object, whose touched list its writes
    /// join (objects move between sessions; their graph registry does not).
    pub(crate) sink: Sink,
}

/// An object's column values as last loaded or flushed.
pub(crate) struct Snapshot {
    pub(crate) values: Vec<Value>,
    /// The `Deferred` columns that were unloaded when the snapshot was taken (a column
    /// loaded since, by `set` or a query, is written if the object is flushed).
    pub(crate) unloaded: u64,
}

/// The registry whose touched list an object's writes join.
pub(crate) enum Sink {
    /// None: the object is in no session.
    None,
    /// The registry the object was made in (the usual case: no reference to keep).
    Own,
    /// Another session's.
    Other(Weak<Registry>),
}

impl Sink {
    /// The sink of an object made in `own` when it joins the session of `registry`.
    pub(crate) fn to(own: &Arc<Registry>, registry: &Arc<Registry>) -> Sink {
        if Arc::ptr_eq(own, registry) {
            Sink::Own
        } else {
            Sink::Other(Arc::downgrade(registry))
        }
    }
}

/// An object's identity key values, in key-column order: a one-column key (the usual
/// case) is kept inline, so loading an object allocates nothing for it.
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq)]
pub enum IdKey {
    /// A one-column key.
    One(Value),
    /// A composite key.
    Many(Vec<Value>),
}

impl std::ops::Deref for IdKey {
    type Target = [Value];

    fn deref(&self) -> &[Value] {
        match self {
            IdKey::One(v) => std::slice::from_ref(v),
            IdKey::Many(v) => v,
        }
    }
}

impl From<Vec<Value>> for IdKey {
    fn from(mut values: Vec<Value>) -> IdKey {
        match values.pop() {
            Some(one) if values.is_empty() => IdKey::One(one),
            Some(last) => {
                values.push(last);
                IdKey::Many(values)
            }
            None => IdKey::Many(values),
        }
    }
}

impl IdKey {
    /// The values as a vector of their own.
    pub(crate) fn into_vec(self) -> Vec<Value> {
        match self {
            IdKey::One(v) => vec![v],
            IdKey::Many(v) => v,
        }
    }
}

impl Meta {
    /// The meta of an object of the session `session` just loaded under `key`.
    #[inline(always)]
    pub(crate) fn persistent(session: u64, key: IdKey) -> Meta {
        Meta::fresh(ObjectState::Persistent, session, Some(key))
    }

    /// The meta of an object made in the session `session` (whose registry made its
    /// cell), in `state`, with nothing changed or expired yet.
    #[inline(always)]
    pub(crate) fn fresh(state: ObjectState, session: u64, key: Option<IdKey>) -> Meta {
        Meta {
            sink: Sink::Own,
            state,
            session,
            delete_marked: false,
            snapshot: None,
            expired: None,
            expired_all: false,
            touched: false,
            key,
        }
    }

    pub(crate) fn is_expired(&self) -> bool {
        self.expired_all || self.expired.as_ref().is_some_and(|e| e.contains(&true))
    }

    /// The first expired column, if any.
    pub(crate) fn first_expired(&self) -> Option<usize> {
        if self.expired_all {
            Some(0)
        } else {
            self.expired
                .as_ref()
                .and_then(|e| e.iter().position(|e| *e))
        }
    }

    /// Which of the `ncols` columns are expired (empty: none).
    pub(crate) fn expired_mask(&self, ncols: usize) -> Vec<bool> {
        if self.expired_all {
            vec![true; ncols]
        } else {
            self.expired.as_ref().map_or_else(Vec::new, |e| e.to_vec())
        }
    }

    /// Every column expired.
    pub(crate) fn expire_all_columns(&mut self) {
        self.expired_all = true;
        self.expired = None;
    }

    /// No column expired.
    pub(crate) fn clear_expired(&mut self) {
        self.expired_all = false;
        self.expired = None;
    }
}

/// What every cell has besides its value; its reference counts first (see
/// [`cell_ptr`](crate::session::cell_ptr)).
#[repr(C)]
pub(crate) struct CellCore {
    counts: Counts,
    pub(crate) meta: Mutex<Meta>,
    /// Relationship changes made from the other side while this object was locked,
    /// applied at its next `read()`/`write()`.
    /// Boxed: few objects ever have one, and the cell stays small (a pointer, where a
    /// vector is three words).
    #[allow(clippy::box_collection)]
    queued: Mutex<Option<Box<Vec<Backref>>>>,
    has_queued: AtomicBool,
    /// In its registry's members: it has held a handle to another object since it was
    /// made (only such an object can be in a cycle the registry must cut).
    linked: AtomicBool,
}

/// A change `back_populates` makes on the other side of a relationship.
pub(crate) struct Backref {
    /// The relationship of this object to change.
    pub(crate) relationship: usize,
    /// The object to add or remove.
    pub(crate) other: Handle,
    pub(crate) add: bool,
}

/// The type-erased operations on a cell that the unit of work needs.
pub(crate) trait AnyCell: Any + Send + Sync {
    fn core(&self) -> &CellCore;
    fn vtable(&self) -> &'static ModelVTable;
    /// Drops every relationship edge (the registry's last handle is gone).
    fn cut_edges(&self);
    /// The cell's own type (one dynamic call, where `as_any().is()` takes two).
    fn cell_type(&self) -> TypeId;
}

/// The object and its bookkeeping.
#[repr(C)]
pub(crate) struct ObjCell<M> {
    pub(crate) core: CellCore,
    pub(crate) value: RwLock<M>,
}

// SAFETY: `#[repr(C)]`, its `CellCore` first, whose `Counts` are first.
unsafe impl<M> Counted for ObjCell<M> {}

impl<M: Model> AnyCell for ObjCell<M> {
    fn core(&self) -> &CellCore {
        &self.core
    }

    fn vtable(&self) -> &'static ModelVTable {
        M::vtable()
    }

    fn cut_edges(&self) {
        let mut v = match self.value.write() {
            Ok(v) => v,
            Err(poisoned) => poisoned.into_inner(),
        };
        for i in 0..M::relationships().len() {
            v.relationship_mut(i).cut();
        }
        self.core.queued_take();
    }

    fn cell_type(&self) -> TypeId {
        TypeId::of::<Self>()
    }
}

impl CellCore {
    /// The registry of the object's graph (held by its chunk of cells).
    pub(crate) fn registry(&self) -> &Arc<Registry> {
        self.counts.registry()
    }

    /// The object's bookkeeping, locked. An object whose session is gone is detached
    /// here, the first time anyone looks (dropping a session does not visit the objects
    /// it loaded).
    pub(crate) fn meta(&self) -> MutexGuard<'_, Meta> {
        let mut m = match self.meta.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        if m.session != 0 && self.session_closed(&m) {
            m.session = 0;
            m.sink = Sink::None;
            m.state = match m.state {
                ObjectState::Persistent => ObjectState::Detached,
                ObjectState::Pending => ObjectState::Transient,
                other => other,
            };
        }
        m
    }

    /// True when the session holding the object (`meta.sink`) was dropped.
    fn session_closed(&self, m: &Meta) -> bool {
        match &m.sink {
            // The usual case, the session that made the object: no upgrade needed.
            Sink::Own => self.registry().closed.load(Ordering::Acquire),
            Sink::Other(w) => w.upgrade().is_none_or(|r| r.closed.load(Ordering::Acquire)),
            Sink::None => true,
        }
    }

    fn queued_take(&self) -> Vec<Backref> {
        if !self.has_queued.swap(false, Ordering::AcqRel) {
            return Vec::new();
        }
        let q = match self.queued.lock() {
            Ok(mut q) => q.take(),
            Err(p) => p.into_inner().take(),
        };
        q.map_or_else(Vec::new, |q| *q)
    }

    pub(crate) fn queue(&self, b: Backref) {
        let mut q = match self.queued.lock() {
            Ok(q) => q,
            Err(p) => p.into_inner(),
        };
        q.get_or_insert_with(Box::default).push(b);
        drop(q);
        self.has_queued.store(true, Ordering::Release);
    }
}

static NEXT_REGISTRY: AtomicU64 = AtomicU64::new(1);

/// The objects one session made, and the count of handles that can still reach them.
pub(crate) struct Registry {
    pub(crate) id: u64,
    handles: AtomicUsize,
    members: Mutex<Vec<WeakCell>>,
    /// Objects written through `write()` since the last flush (uncounted handles).
    pub(crate) touched: Mutex<Vec<Handle>>,
    /// Set when the session that owns the registry is dropped: its objects are detached
    /// (lazily, see [`CellCore::meta`]).
    pub(crate) closed: AtomicBool,
    /// Member count past which dead members are swept out.
    sweep_at: AtomicUsize,
}

impl Registry {
    /// A registry with one counted handle: its owner's (the session's).
    pub(crate) fn new() -> Arc<Registry> {
        Arc::new(Registry {
            id: NEXT_REGISTRY.fetch_add(1, Ordering::Relaxed),
            handles: AtomicUsize::new(1),
            members: Mutex::new(Vec::new()),
            touched: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
            sweep_at: AtomicUsize::new(1024),
        })
    }

    /// Adds `h` to the objects written since the last flush.
    pub(crate) fn push_touched(&self, h: &Handle) {
        match self.touched.lock() {
            Ok(mut t) => t.push(h.uncounted()),
            Err(p) => p.into_inner().push(h.uncounted()),
        }
    }

    fn acquire(&self) {
        self.acquire_many(1);
    }

    /// Takes `n` counted handles at once (see [`Handle::into_prepaid_counted`]).
    pub(crate) fn acquire_many(&self, n: usize) {
        self.handles.fetch_add(n, Ordering::Relaxed);
    }

    /// Gives up one counted handle; the last one cuts every edge.
    pub(crate) fn release(&self) {
        self.release_many(1);
    }

    /// Gives up `n` counted handles; the last one cuts every edge.
    pub(crate) fn release_many(&self, n: usize) {
        if n == 0 || self.handles.fetch_sub(n, Ordering::AcqRel) != n {
            return;
        }
        let members = match self.members.lock() {
            Ok(mut m) => std::mem::take(&mut *m),
            Err(p) => std::mem::take(&mut *p.into_inner()),
        };
        let touched = match self.touched.lock() {
            Ok(mut t) => std::mem::take(&mut *t),
            Err(p) => std::mem::take(&mut *p.into_inner()),
        };
        drop(touched);
        for cell in members.iter().filter_map(WeakCell::upgrade) {
            cell.get().cut_edges();
        }
    }

    fn register(&self, cell: WeakCell) {
        self.members_for(1).push(cell);
    }

    /// The members, locked, with room for `adding` more.
    fn members_for(&self, adding: usize) -> MutexGuard<'_, Vec<WeakCell>> {
        let mut m = match self.members.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        // Forget dead members when the list has doubled since the last sweep, so a long
        // session's list stays bounded by the objects alive (amortized O(1) per object).
        if m.len() + adding > self.sweep_at.load(Ordering::Relaxed) {
            m.retain(|w| w.strong_count() > 0);
            self.sweep_at
                .store((m.len() * 2).max(1024), Ordering::Relaxed);
        }
        m
    }
}

/// Puts the object of `cell` among its registry's members, once: it holds (or is about
/// to hold) a handle to another object, so it may be in a cycle that the registry cuts
/// when nobody can reach its objects any more. Objects that never link to another (most
/// objects a query loads) are never visited by that cut.
pub(crate) fn note_linked(cell: &Handle) {
    let core = cell.core();
    if core.linked.load(Ordering::Acquire) || core.linked.swap(true, Ordering::AcqRel) {
        return;
    }
    core.registry().register(cell.downgrade());
}

/// A type-erased handle to an object: one strong reference to its cell, as a
/// [`CellPtr`] would hold, and whether it is counted, in two words (a pointer to the cell
/// and its type's vtable; the counted flag is the lowest bit of the cell's address, which
/// is aligned to at least 8). Handles fill the identity map, every load's result and
/// every relationship: a third word each was memory written and read for nothing.
pub(crate) struct Handle {
    raw: NonNull<dyn AnyCell>,
}

// SAFETY: as `CellPtr`, whose reference it holds: cells are `Send + Sync` and their
// counts atomic.
unsafe impl Send for Handle {}
// SAFETY: as above.
unsafe impl Sync for Handle {}

/// The bit of a [`Handle`]'s address that says it is counted.
const COUNTED: usize = 1;

// Two words, and an empty `Option` costs nothing: the identity map's slots are
// `Option<Handle>`.
const _: () = assert!(
    size_of::<Handle>() == 2 * size_of::<usize>()
        && size_of::<Option<Handle>>() == size_of::<Handle>()
);

impl Handle {
    /// The handle of `cell`'s reference.
    fn new(cell: CellPtr, counted: bool) -> Handle {
        let raw = cell.into_raw();
        debug_assert_eq!(raw.addr().get() & COUNTED, 0, "cells are aligned");
        Handle {
            raw: if counted {
                raw.map_addr(|a| a | COUNTED)
            } else {
                raw
            },
        }
    }

    /// The cell's pointer, without the counted bit.
    #[inline]
    fn ptr(&self) -> NonNull<dyn AnyCell> {
        self.raw.map_addr(|a| {
            std::num::NonZero::new(a.get() & !COUNTED)
                .unwrap_or_else(|| unreachable!("a cell's address is not 0 or 1"))
        })
    }

    /// The handle's reference, borrowed as a `CellPtr` (not to be dropped).
    #[inline]
    fn borrowed(&self) -> std::mem::ManuallyDrop<CellPtr> {
        // SAFETY: `ptr` came from `CellPtr::into_raw`; the `ManuallyDrop` never gives
        // the reference back, which this handle keeps.
        std::mem::ManuallyDrop::new(unsafe { CellPtr::from_raw(self.ptr()) })
    }

    /// True when the handle keeps the registry's graph alive.
    #[inline]
    pub(crate) fn is_counted(&self) -> bool {
        self.raw.addr().get() & COUNTED != 0
    }

    /// The cell.
    #[inline]
    pub(crate) fn cell(&self) -> &dyn AnyCell {
        // SAFETY: the cell lives while this handle's strong reference does.
        unsafe { self.ptr().as_ref() }
    }

    /// A weak reference to the cell.
    pub(crate) fn downgrade(&self) -> WeakCell {
        self.borrowed().downgrade()
    }

    /// An uncounted handle around a cell.
    pub(crate) fn from_cell(cell: CellPtr) -> Handle {
        Handle::new(cell, false)
    }

    /// A handle that keeps the registry's graph alive (what users hold).
    pub(crate) fn counted(&self) -> Handle {
        self.core().registry().acquire();
        Handle::new(CellPtr::clone(&self.borrowed()), true)
    }

    /// This handle as a counted one, for which the caller took a count on the registry
    /// already ([`Registry::acquire_many`]): a load pays for its handles in a few atomic
    /// operations, not one each.
    pub(crate) fn into_prepaid_counted(self) -> Handle {
        debug_assert!(!self.is_counted());
        let raw = std::mem::ManuallyDrop::new(self).raw;
        Handle {
            raw: raw.map_addr(|a| a | COUNTED),
        }
    }

    /// A handle for inside the graph (relationships, the identity map).
    pub(crate) fn uncounted(&self) -> Handle {
        Handle::new(CellPtr::clone(&self.borrowed()), false)
    }

    pub(crate) fn ptr_eq(&self, other: &Handle) -> bool {
        std::ptr::addr_eq(self.ptr().as_ptr(), other.ptr().as_ptr())
    }

    /// The address of the cell, an identity for maps.
    pub(crate) fn addr(&self) -> usize {
        self.ptr().as_ptr() as *const () as usize
    }

    pub(crate) fn core(&self) -> &CellCore {
        self.cell().core()
    }

    pub(crate) fn vtable(&self) -> &'static ModelVTable {
        self.cell().vtable()
    }

    /// The typed view, when the object is an `M`.
    pub(crate) fn downcast<M: Model>(&self) -> Option<&Obj<M>> {
        if self.cell().cell_type() == TypeId::of::<ObjCell<M>>() {
            // SAFETY: `Obj<M>` is `repr(transparent)` over `Handle` (plus a zero-sized
            // marker), and the cell was just checked to be an `ObjCell<M>`.
            Some(unsafe { &*(self as *const Handle as *const Obj<M>) })
        } else {
            None
        }
    }

    pub(crate) fn state(&self) -> ObjectState {
        self.core().meta().state
    }

    /// `Model(key)` for messages.
    pub(crate) fn describe(&self) -> String {
        let meta = self.core().meta();
        describe(self.vtable().name, meta.key.as_deref())
    }
}

pub(crate) fn describe(model: &str, key: Option<&[Value]>) -> String {
    match key {
        Some(k) => format!("{model}({})", key_text(k)),
        None => format!("{model}(<new>)"),
    }
}

pub(crate) fn key_text(key: &[Value]) -> String {
    key.iter()
        .map(|v| match v {
            Value::Text(s) => format!("{s:?}"),
            other => format!("{other:?}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: the reference this handle held, given back once. Taken first, it is
        // given back even if releasing the registry unwinds (a model's `Drop` may
        // panic while the registry cuts its graph).
        let cell = unsafe { CellPtr::from_raw(self.ptr()) };
        if self.is_counted() {
            cell.get().core().registry().release();
        }
        drop(cell);
    }
}

/// A handle to an object tracked by a [`Session`](crate::session::Session).
///
/// Cheap to clone (`Arc`), `Send + Sync + 'static`: keep it across `.await`s, pass it to
/// other tasks. Within one session one primary key is one object, so two handles to the
/// same row are [`Obj::ptr_eq`] wherever they came from (`add`, `get`, a query, a
/// relationship).
///
/// Read and write the object through [`read`](Obj::read) and [`write`](Obj::write). Their
/// guards cannot be held across an `.await` in a spawned task (they are not `Send`), so a
/// lock is never held while a task sleeps.
#[repr(transparent)]
pub struct Obj<M> {
    pub(crate) h: Handle,
    _p: PhantomData<fn() -> M>,
}

impl<M> Clone for Obj<M> {
    fn clone(&self) -> Self {
        Obj {
            h: self.h.counted(),
            _p: PhantomData,
        }
    }
}

/// Counted handles of `M` objects as `Obj<M>`s, without touching them (a pass over ten
/// thousand handles costs more than its instructions: the memory).
pub(crate) fn objs_from_handles<M: Model>(handles: Vec<Handle>) -> Vec<Obj<M>> {
    debug_assert!(
        handles
            .iter()
            .all(|h| h.is_counted() && h.downcast::<M>().is_some())
    );
    let mut handles = std::mem::ManuallyDrop::new(handles);
    let (ptr, len, cap) = (handles.as_mut_ptr(), handles.len(), handles.capacity());
    // SAFETY: `Obj<M>` is `repr(transparent)` over `Handle` (plus a zero-sized marker):
    // same size and alignment, and every handle is of an `M`.
    unsafe { Vec::from_raw_parts(ptr.cast::<Obj<M>>(), len, cap) }
}

impl<M: Model> Obj<M> {
    /// A new cell for `value` in `registry`, as a counted handle. It joins the
    /// registry's members (whose edges the registry cuts when nobody can reach them) when
    /// it holds a handle to another object: now, if `value` came with some, or when its
    /// relationships first take one ([`note_linked`]).
    pub(crate) fn new_in(registry: &Arc<Registry>, value: M, meta: Meta) -> (Obj<M>, Handle) {
        Obj::new_chunked(value, &mut ChunkAlloc::new(1, registry), meta)
    }

    /// As [`new_in`](Obj::new_in), the cell from `cells` (of the registry they serve).
    pub(crate) fn new_chunked(
        value: M,
        cells: &mut ChunkAlloc<ObjCell<M>>,
        meta: Meta,
    ) -> (Obj<M>, Handle) {
        let (h, session) = Obj::new_from(value, meta, cells, true);
        (Obj::from_handle(h), session)
    }

    /// The typed handle around `h`, which must be a handle of an `M`.
    pub(crate) fn from_handle(h: Handle) -> Obj<M> {
        debug_assert!(h.downcast::<M>().is_some());
        Obj { h, _p: PhantomData }
    }

    /// A persistent object just loaded under `key`, its cell from `cells`: as
    /// [`new_from`](Obj::new_from) with [`Meta::persistent`], the meta made where the
    /// cell is. Made by the caller and moved in, it was copied through the stack twice,
    /// each time read back wider than it was written (a stall per object).
    pub(crate) fn new_loaded(
        value: M,
        key: IdKey,
        cells: &mut ChunkAlloc<ObjCell<M>>,
    ) -> (Handle, Handle) {
        let session = cells.registry().id;
        Obj::new_with(value, cells, false, move || Meta::persistent(session, key))
    }

    /// As [`new_in`](Obj::new_in), the cell from `cells` (a load of
    /// many objects allocates them a chunk at a time): a counted handle or not (for
    /// the session's own use: relationships), and an uncounted one for the session's
    /// lists or identity map (the cell starts with both, which saves cloning one).
    pub(crate) fn new_from(
        value: M,
        meta: Meta,
        cells: &mut ChunkAlloc<ObjCell<M>>,
        counted: bool,
    ) -> (Handle, Handle) {
        Obj::new_with(value, cells, counted, move || meta)
    }

    /// [`new_from`](Obj::new_from) with the meta made by `meta`, inside the cell.
    #[inline(always)]
    fn new_with(
        value: M,
        cells: &mut ChunkAlloc<ObjCell<M>>,
        counted: bool,
        meta: impl FnOnce() -> Meta,
    ) -> (Handle, Handle) {
        let (erased, second) = cells.alloc_pair(|counts| ObjCell {
            core: CellCore {
                counts,
                meta: Mutex::new(meta()),
                queued: Mutex::new(None),
                has_queued: AtomicBool::new(false),
                linked: AtomicBool::new(false),
            },
            value: RwLock::new(value),
        });
        if counted {
            cells.registry().acquire();
        }
        let h = Handle::new(erased, counted);
        // Relationships know their owner, for `back_populates`.
        let n = M::relationships().len();
        if n > 0 {
            let owner = h.downgrade();
            // SAFETY: `Obj<M>` is `repr(transparent)` over `Handle` (plus a zero-sized
            // marker), and the cell was just made an `ObjCell<M>`.
            let obj = unsafe { &*(&h as *const Handle as *const Obj<M>) };
            let mut v = obj.lock_write();
            let linked = (0..n).any(|i| v.relationship(i).holds_handles());
            for i in 0..n - 1 {
                v.relationship_mut(i).set_owner(owner.clone());
            }
            v.relationship_mut(n - 1).set_owner(owner);
            drop(v);
            if linked {
                note_linked(&h);
            }
        }
        let session = Handle::new(second, false);
        (h, session)
    }

    pub(crate) fn cell(&self) -> &ObjCell<M> {
        // SAFETY: an `Obj<M>` is only made around an `ObjCell<M>` (`new_in`, and
        // `from_handle`/`Handle::downcast`, which check the type).
        unsafe { &*(self.h.cell() as *const dyn AnyCell as *const ObjCell<M>) }
    }

    pub(crate) fn lock_read(&self) -> RwLockReadGuard<'_, M> {
        match self.cell().value.read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    pub(crate) fn lock_write(&self) -> RwLockWriteGuard<'_, M> {
        match self.cell().value.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    fn apply_queued(&self) {
        if !self.cell().core.has_queued.load(Ordering::Acquire) {
            return;
        }
        // Only when the object is free: this thread may hold a guard of it already (the
        // queue then waits for the next call).
        let mut v = match self.cell().value.try_write() {
            Ok(v) => v,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return,
        };
        let queued = self.cell().core.queued_take();
        for b in queued {
            v.relationship_mut(b.relationship)
                .apply_backref(b.other, b.add);
        }
    }

    fn check_readable(&self) -> Result<()> {
        let meta = self.cell().core.meta();
        if let Some(i) = meta.first_expired() {
            return Err(Error::Expired {
                object: describe(M::MODEL_NAME, meta.key.as_deref()),
                attribute: M::columns()[i].field,
            });
        }
        Ok(())
    }

    /// Reads the object.
    ///
    /// Errors with [`Error::Expired`] when the object's values are stale (after
    /// `expire`, a rollback, or a commit with `expire_on_commit`): a read never returns
    /// a stale value, and never does I/O; `session.refresh(&obj)` or any query that
    /// returns the row fills it again.
    pub fn read(&self) -> Result<Ref<'_, M>> {
        self.apply_queued();
        self.check_readable()?;
        Ok(Ref {
            g: self.lock_read(),
        })
    }

    /// Writes the object; the session's next flush sends what changed (columns, and
    /// relationships: linking objects is enough, foreign keys follow).
    ///
    /// Errors like [`read`](Obj::read) on an expired object.
    pub fn write(&self) -> Result<RefMut<'_, M>> {
        self.apply_queued();
        self.check_readable()?;
        let g = self.lock_write();
        self.touch(&g);
        Ok(RefMut { g })
    }

    /// Records the first write since the last flush: the snapshot to diff against, and
    /// a place in the registry's touched list.
    fn touch(&self, value: &M) {
        let core = &self.cell().core;
        let mut meta = core.meta();
        if meta.touched {
            return;
        }
        meta.touched = true;
        if meta.state == ObjectState::Persistent && meta.snapshot.is_none() {
            meta.snapshot = Some(Box::new(Snapshot {
                values: value.values(),
                unloaded: value.unloaded_columns(),
            }));
        }
        if meta.state == ObjectState::Pending {
            // The flush takes pending objects from the session's new list; when the
            // object moves to another session, `attach` lists it there (`touched`).
            return;
        }
        let sink = match &meta.sink {
            Sink::Own => Some(Arc::clone(core.registry())),
            Sink::Other(w) => w.upgrade(),
            Sink::None => None,
        };
        drop(meta);
        if let Some(sink) = sink {
            sink.push_touched(&self.h);
        }
    }

    /// True when both handles are the same object.
    pub fn ptr_eq(a: &Obj<M>, b: &Obj<M>) -> bool {
        a.h.ptr_eq(&b.h)
    }

    /// The object's state.
    pub fn state(&self) -> ObjectState {
        self.h.state()
    }

    /// What the session knows of the object: state, identity, changes.
    pub fn inspect(&self) -> Inspection {
        // The metadata is copied and let go before the value is locked: a writer holds
        // the value, then takes the metadata.
        let (state, identity, snapshot, touched, expired_mask) = {
            let m = self.cell().core.meta();
            (
                m.state,
                m.key.clone().map(IdKey::into_vec),
                m.snapshot.as_ref().map(|s| s.values.clone()),
                m.touched,
                m.expired_mask(M::columns().len()),
            )
        };
        let changed = match &snapshot {
            Some(snap) if touched => {
                let now = self.lock_read().values();
                M::columns()
                    .iter()
                    .zip(snap.iter().zip(&now))
                    .filter(|(_, (a, b))| !same_value(a, b))
                    .map(|(c, _)| c.field)
                    .collect()
            }
            _ => Vec::new(),
        };
        let (unloaded, deferred) = {
            let v = self.lock_read();
            let mask = v.unloaded_columns();
            (
                (0..M::relationships().len())
                    .filter(|&i| !v.relationship(i).is_loaded())
                    .map(|i| M::relationships()[i].name)
                    .collect(),
                M::columns()
                    .iter()
                    .take(64)
                    .enumerate()
                    .filter(|(i, _)| mask & (1 << i) != 0)
                    .map(|(_, c)| c.field)
                    .collect(),
            )
        };
        Inspection {
            state,
            identity,
            changed,
            expired: M::columns()
                .iter()
                .zip(&expired_mask)
                .filter(|(_, e)| **e)
                .map(|(c, _)| c.field)
                .collect(),
            unloaded,
            deferred,
        }
    }
}

/// Two column values are the same for change detection (floats by bits, so a NaN does
/// not look changed forever).
pub(crate) fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::F64(x), Value::F64(y)) => x.to_bits() == y.to_bits(),
        (Value::F32(x), Value::F32(y)) => x.to_bits() == y.to_bits(),
        _ => a == b,
    }
}

impl<M: Model> std::fmt::Debug for Obj<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let meta = self.cell().core.meta();
        write!(
            f,
            "Obj<{}>({:?}",
            describe(M::MODEL_NAME, meta.key.as_deref()),
            meta.state
        )?;
        f.write_str(")")
    }
}

/// What [`Obj::inspect`] reports, SQLAlchemy's `inspect(obj)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Inspection {
    /// Transient, pending, persistent, deleted or detached.
    pub state: ObjectState,
    /// The primary key's values once the object is persistent.
    pub identity: Option<Vec<Value>>,
    /// Fields written since the last flush whose value differs from the database's.
    pub changed: Vec<&'static str>,
    /// Fields whose value is expired (stale until refreshed).
    pub expired: Vec<&'static str>,
    /// Relationships that are not loaded.
    pub unloaded: Vec<&'static str>,
    /// [`Deferred`](crate::model::Deferred) columns (their fields) that are not loaded.
    pub deferred: Vec<&'static str>,
}

/// A read guard: the object, shared. Not `Send`: it cannot live across an `.await` in a
/// spawned task.
pub struct Ref<'a, M> {
    g: RwLockReadGuard<'a, M>,
}

impl<M> std::ops::Deref for Ref<'_, M> {
    type Target = M;
    fn deref(&self) -> &M {
        &self.g
    }
}

/// A write guard: the object, exclusively. Not `Send`.
pub struct RefMut<'a, M> {
    g: RwLockWriteGuard<'a, M>,
}

impl<M> std::ops::Deref for RefMut<'_, M> {
    type Target = M;
    fn deref(&self) -> &M {
        &self.g
    }
}

impl<M> std::ops::DerefMut for RefMut<'_, M> {
    fn deref_mut(&mut self) -> &mut M {
        &mut self.g
    }
}

#[cfg(feature = "serde")]
thread_local! {
    /// Objects being serialized on this thread, to end `back_populates` cycles.
    static SERIALIZING: std::cell::RefCell<Vec<usize>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// An object serializes as its fields (`null` when met again inside itself, or when it
/// is expired).
#[cfg(feature = "serde")]
impl<M: Model + serde::Serialize> serde::Serialize for Obj<M> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let addr = self.h.addr();
        if SERIALIZING.with(|v| v.borrow().contains(&addr)) {
            return s.serialize_none();
        }
        let Ok(guard) = self.read() else {
            return s.serialize_none();
        };
        SERIALIZING.with(|v| v.borrow_mut().push(addr));
        let out = (*guard).serialize(s);
        SERIALIZING.with(|v| v.borrow_mut().pop());
        out
    }
}
