//! The identity map: one object per primary key per model, per session.

use std::any::Any;

use hashbrown::HashMap;
use hashbrown::hash_map::Entry;

use crate::model::Model;
use crate::session::cell_ptr::SpareAlloc;
use crate::session::object::{Handle, Obj};

/// One model's part of the identity map, with its type erased.
pub(crate) trait AnyStore: Send + Sync {
    fn as_any_mut(&mut self) -> &mut dyn Any;
    /// Puts `h` in the map under its current key; false when another object already
    /// holds that key.
    fn insert(&mut self, h: &Handle) -> bool;
    /// Makes room for `n` more objects.
    fn reserve(&mut self, n: usize);
    /// Takes `h` out (by identity).
    fn remove(&mut self, h: &Handle);
    /// Takes `h` out from under `key` (its key before a change).
    fn remove_key(&mut self, h: &Handle, key: &[crate::value::Value]);
    /// The object whose key has these values (key-column order), if mapped.
    fn find(&self, key: &[crate::value::Value]) -> Option<Handle>;
    /// Every object in the map.
    fn handles(&self) -> Vec<Handle>;
    /// Calls `f` with every object in the map (no list is made).
    fn for_each(&self, f: &mut dyn FnMut(&Handle));
    fn len(&self) -> usize;
}

/// The hasher of the identity map: keys come from the database (or from the user's
/// own code), and a lookup is the whole cost of an identity-map hit.
pub(crate) type FastHash = foldhash::fast::RandomState;

/// The typed map of model `M`: an index from key to slot, and the objects in the order
/// they were mapped.
///
/// The index holds plain slot numbers, so that dropping it costs nothing per object,
/// and the objects are dropped in the order they were loaded (the order of their cells
/// in memory). Kept in the index itself, in hash order, a session's end would visit
/// 10,000 objects at random: a cache miss each, more than loading them cost. Slots of
/// objects taken out are left empty, and the list is compacted once half of it is.
///
/// Large tables and lists come from the session's spare memory (see [`SpareAlloc`]): a
/// load of 10,000 objects grows them to some 400 KB, and memory that size, freed, soon
/// goes back to the system, so that every later load would take a page fault per page.
///
/// Objects loaded into an empty map in increasing key order (a table read in key order,
/// the usual first load of a session) are not indexed one by one: a key greater than
/// the last cannot be mapped already, so each is appended with its key to `run`, which
/// is kept sorted. The run is indexed at once (every key known distinct, no lookups) the
/// first time the map changes otherwise or is asked for an object by key (`get`); until
/// then the type-erased `find` bisects it. A session that only reads what it loaded never
/// pays for the index.
pub(crate) struct Store<M: Model> {
    index: HashMap<M::PrimaryKey, usize, FastHash, SpareAlloc>,
    objs: allocator_api2::vec::Vec<Option<Handle>, SpareAlloc>,
    /// The keys of the last `run.len()` objects of `objs`, in strictly increasing order,
    /// none of them in `index` (which is empty while the run grows).
    run: allocator_api2::vec::Vec<M::PrimaryKey, SpareAlloc>,
    /// Empty slots in `objs`.
    holes: usize,
}

impl<M: Model> Default for Store<M> {
    fn default() -> Self {
        Store {
            index: HashMap::with_hasher_in(FastHash::default(), SpareAlloc),
            objs: allocator_api2::vec::Vec::new_in(SpareAlloc),
            run: allocator_api2::vec::Vec::new_in(SpareAlloc),
            holes: 0,
        }
    }
}

/// A key's place in a [`Store`], found or not: [`Store::entry`].
pub(crate) enum Slot<'a, M: Model> {
    /// The object mapped under the key.
    Mapped(&'a Handle),
    /// No object yet: [`Vacant::insert`] maps one.
    Vacant(Vacant<'a, M>),
}

/// A key no object is mapped under yet.
pub(crate) struct Vacant<'a, M: Model> {
    entry: hashbrown::hash_map::VacantEntry<'a, M::PrimaryKey, usize, FastHash, SpareAlloc>,
    objs: &'a mut allocator_api2::vec::Vec<Option<Handle>, SpareAlloc>,
}

impl<M: Model> Vacant<'_, M> {
    /// The key looked for.
    pub(crate) fn key(&self) -> &M::PrimaryKey {
        self.entry.key()
    }

    /// Maps `h` under the key.
    pub(crate) fn insert(self, h: Handle) {
        self.entry.insert(self.objs.len());
        self.objs.push(Some(h));
    }
}

impl<M: Model> Store<M> {
    /// True when `key` can join the run of keys in increasing order: nothing is indexed
    /// and it is greater than the run's last (so mapped nowhere yet).
    #[inline]
    pub(crate) fn extends_run(&self, key: &M::PrimaryKey) -> bool {
        self.index.is_empty()
            && match self.run.last() {
                Some(last) => M::key_cmp(last, key) == Some(std::cmp::Ordering::Less),
                None => M::key_cmp(key, key).is_some(),
            }
    }

    /// Maps `h` under `key`, which [`extends_run`](Store::extends_run).
    #[inline]
    pub(crate) fn push_run(&mut self, key: M::PrimaryKey, h: Handle) {
        debug_assert!(self.extends_run(&key) && self.run.last() != Some(&key));
        self.run.push(key);
        self.objs.push(Some(h));
    }

    /// Indexes the run of keys (before any other change to the map).
    fn index_run(&mut self) {
        if self.run.is_empty() {
            return;
        }
        let first = self.objs.len() - self.run.len();
        self.index.reserve(self.run.len());
        for (i, key) in self.run.drain(..).enumerate() {
            // SAFETY: the index is empty while the run grows, and the run's keys are in
            // strictly increasing order: each is unique.
            unsafe { self.index.insert_unique_unchecked(key, first + i) };
        }
        // The run's memory goes now: a large one back to the spare memory.
        self.run = allocator_api2::vec::Vec::new_in(SpareAlloc);
    }

    /// The slot of `key`.
    pub(crate) fn entry(&mut self, key: M::PrimaryKey) -> Slot<'_, M> {
        self.index_run();
        match self.index.entry(key) {
            Entry::Occupied(e) => Slot::Mapped(
                self.objs[*e.get()]
                    .as_ref()
                    .unwrap_or_else(|| unreachable!("an indexed slot holds its object")),
            ),
            Entry::Vacant(entry) => Slot::Vacant(Vacant {
                entry,
                objs: &mut self.objs,
            }),
        }
    }

    /// Maps `h` under `key`, in place of the object mapped there if any (dropped once
    /// the map is whole again: an object's drop runs the model's own code).
    pub(crate) fn put(&mut self, key: M::PrimaryKey, h: Handle) {
        self.index_run();
        match self.index.entry(key) {
            Entry::Occupied(e) => drop(self.objs[*e.get()].replace(h)),
            Entry::Vacant(e) => {
                e.insert(self.objs.len());
                self.objs.push(Some(h));
            }
        }
    }

    /// Maps `h` under `key` unless another object holds it (false then).
    fn insert_at(&mut self, key: M::PrimaryKey, h: &Handle) -> bool {
        match self.entry(key) {
            Slot::Mapped(e) => e.ptr_eq(h),
            Slot::Vacant(e) => {
                e.insert(h.uncounted());
                true
            }
        }
    }

    /// Maps `h`, just inserted, under `key`: on the run of keys when they rise (a flush
    /// of new objects whose keys the database generated in order), else in the index.
    /// False when another object holds `key`.
    pub(crate) fn insert_new(&mut self, key: M::PrimaryKey, h: &Handle) -> bool {
        if self.extends_run(&key) {
            self.push_run(key, h.uncounted());
            return true;
        }
        self.insert_at(key, h)
    }

    /// The object mapped under `key`. A lookup by key indexes the run first: the
    /// session's `get`s come in numbers, and a hash lookup beats bisecting a large run
    /// (a cache miss per step).
    pub(crate) fn get(&mut self, key: &M::PrimaryKey) -> Option<&Obj<M>> {
        self.index_run();
        self.handle(key).and_then(Handle::downcast::<M>)
    }

    fn handle(&self, key: &M::PrimaryKey) -> Option<&Handle> {
        let i = match self.index.get(key) {
            Some(&i) => i,
            None if self.run.is_empty() => return None,
            None => {
                let at = self
                    .run
                    .binary_search_by(|k| M::key_cmp(k, key).unwrap_or(std::cmp::Ordering::Less))
                    .ok()?;
                self.objs.len() - self.run.len() + at
            }
        };
        self.objs[i].as_ref()
    }

    /// Takes the object mapped under `key` out.
    pub(crate) fn remove(&mut self, key: &M::PrimaryKey) -> Option<Handle> {
        self.index_run();
        let i = self.index.remove(key)?;
        let h = self.objs[i].take();
        self.holes += 1;
        self.compact_if_sparse();
        h
    }

    /// Takes out every object `leaves` says to. They are dropped once the map is whole
    /// again: an object's drop runs the model's own code, which may panic.
    fn remove_where(&mut self, mut leaves: impl FnMut(&Handle) -> bool) {
        self.index_run();
        let objs = &mut self.objs;
        let mut removed = Vec::new();
        self.index.retain(|_, i| {
            let gone = objs[*i].as_ref().is_some_and(&mut leaves);
            if gone {
                removed.extend(objs[*i].take());
            }
            !gone
        });
        self.holes += removed.len();
        self.compact_if_sparse();
        drop(removed);
    }

    /// Every object mapped, in the order they were mapped.
    pub(crate) fn values(&self) -> impl Iterator<Item = &Handle> {
        self.objs.iter().flatten()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.index.is_empty() && self.run.is_empty()
    }

    /// Drops the empty slots once they are half the list, renumbering the index.
    fn compact_if_sparse(&mut self) {
        if self.holes < 64 || self.holes * 2 < self.objs.len() {
            return;
        }
        let mut renumber = vec![usize::MAX; self.objs.len()];
        let mut next = 0;
        for (i, o) in self.objs.iter().enumerate() {
            if o.is_some() {
                renumber[i] = next;
                next += 1;
            }
        }
        self.objs.retain(Option::is_some);
        for i in self.index.values_mut() {
            *i = renumber[*i];
        }
        self.holes = 0;
    }
}

/// The key `obj` is mapped under: its identity (known without touching the object, so
/// a `write()` guard the caller holds cannot block this), else its primary key fields.
fn current_key<M: Model>(obj: &Obj<M>) -> M::PrimaryKey {
    let identity = {
        let meta = obj.h.core().meta();
        meta.key.as_deref().and_then(|k| M::key_from_values(k).ok())
    };
    if let Some(key) = identity {
        return key;
    }
    obj.lock_read().primary_key()
}

impl<M: Model> AnyStore for Store<M> {
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn insert(&mut self, h: &Handle) -> bool {
        let Some(obj) = h.downcast::<M>() else {
            return false;
        };
        let key = current_key(obj);
        self.insert_at(key, h)
    }

    fn reserve(&mut self, n: usize) {
        self.index_run();
        // An empty map may take the rows as a run, which needs no index.
        if !self.index.is_empty() {
            self.index.reserve(n);
        }
        self.objs.reserve(n);
    }

    fn remove(&mut self, h: &Handle) {
        let Some(obj) = h.downcast::<M>() else {
            return;
        };
        let key = current_key(obj);
        if self.handle(&key).is_some_and(|e| e.ptr_eq(h)) {
            self.remove(&key);
        } else {
            // The key changed in memory since it was mapped: find it by identity.
            self.remove_where(|e| e.ptr_eq(h));
        }
    }

    fn remove_key(&mut self, h: &Handle, key: &[crate::value::Value]) {
        match M::key_from_values(key) {
            Ok(k) if self.handle(&k).is_some_and(|e| e.ptr_eq(h)) => {
                self.remove(&k);
            }
            _ => self.remove_where(|e| e.ptr_eq(h)),
        }
    }

    fn find(&self, key: &[crate::value::Value]) -> Option<Handle> {
        let key = M::key_from_values(key).ok()?;
        self.handle(&key).map(Handle::uncounted)
    }

    fn handles(&self) -> Vec<Handle> {
        self.values().map(Handle::uncounted).collect()
    }

    fn for_each(&self, f: &mut dyn FnMut(&Handle)) {
        for h in self.values() {
            f(h);
        }
    }

    fn len(&self) -> usize {
        self.index.len() + self.run.len()
    }
}
