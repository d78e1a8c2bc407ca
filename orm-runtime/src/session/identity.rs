//! The identity map: one object per primary key per model, per session.

use std::any::Any;

use hashbrown::HashMap;
pub(crate) use hashbrown::hash_map::Entry;

use crate::model::Model;
use crate::session::cell_ptr::SpareAlloc;
use crate::session::object::{Handle, Obj};

/// One model's part of the identity map, with its type erased.
pub(crate) trait AnyStore: Send + Sync {
    fn as_any_mut(&mut self) -> &mut dyn Any;
    /// Puts `h` in the map under its current key; false when another object already
    /// holds that key.
    fn insert(&mut self, h: &Handle) -> bool;
    /// Puts `h` in the map under `key` (its identity, in key-column order, which the
    /// caller just gave it); as [`AnyStore::insert`] otherwise.
    fn insert_keyed(&mut self, h: &Handle, key: &[crate::value::Value]) -> bool;
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

/// The typed map of model `M`. Its table comes from the session's spare memory once it
/// is large (see [`SpareAlloc`]): a load of 10,000 objects grows it to some 400 KB, and
/// memory that size, freed, soon goes back to the system, so that every later load
/// would take a page fault per page again.
pub(crate) struct Store<M: Model> {
    pub(crate) map: HashMap<M::PrimaryKey, Handle, FastHash, SpareAlloc>,
}

impl<M: Model> Default for Store<M> {
    fn default() -> Self {
        Store {
            map: HashMap::with_hasher_in(FastHash::default(), SpareAlloc),
        }
    }
}

impl<M: Model> Store<M> {
    /// Maps `h` under `key` unless another object holds it (false then).
    fn insert_at(&mut self, key: M::PrimaryKey, h: &Handle) -> bool {
        match self.map.entry(key) {
            Entry::Occupied(e) => e.get().ptr_eq(h),
            Entry::Vacant(e) => {
                e.insert(h.uncounted());
                true
            }
        }
    }

    pub(crate) fn get(&self, key: &M::PrimaryKey) -> Option<&Obj<M>> {
        self.map.get(key).and_then(Handle::downcast::<M>)
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

    fn insert_keyed(&mut self, h: &Handle, key: &[crate::value::Value]) -> bool {
        match M::key_from_values(key) {
            Ok(key) if h.downcast::<M>().is_some() => self.insert_at(key, h),
            _ => self.insert(h),
        }
    }

    fn reserve(&mut self, n: usize) {
        self.map.reserve(n);
    }

    fn remove(&mut self, h: &Handle) {
        let Some(obj) = h.downcast::<M>() else {
            return;
        };
        let key = current_key(obj);
        if self.map.get(&key).is_some_and(|e| e.ptr_eq(h)) {
            self.map.remove(&key);
        } else {
            // The key changed in memory since it was mapped: find it by identity.
            self.map.retain(|_, e| !e.ptr_eq(h));
        }
    }

    fn remove_key(&mut self, h: &Handle, key: &[crate::value::Value]) {
        match M::key_from_values(key) {
            Ok(k) if self.map.get(&k).is_some_and(|e| e.ptr_eq(h)) => {
                self.map.remove(&k);
            }
            _ => self.map.retain(|_, e| !e.ptr_eq(h)),
        }
    }

    fn find(&self, key: &[crate::value::Value]) -> Option<Handle> {
        let key = M::key_from_values(key).ok()?;
        self.map.get(&key).map(Handle::uncounted)
    }

    fn handles(&self) -> Vec<Handle> {
        self.map.values().map(Handle::uncounted).collect()
    }

    fn for_each(&self, f: &mut dyn FnMut(&Handle)) {
        for h in self.map.values() {
            f(h);
        }
    }

    fn len(&self) -> usize {
        self.map.len()
    }
}
