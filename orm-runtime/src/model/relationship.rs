//! Relationships between models: the field type [`Related`], the typed descriptor
//! [`Relationship`] (`User::posts`), and the metadata the derive records for each.

use std::marker::PhantomData;

use crate::error::{Error, Result};
use crate::model::Model;
use crate::session::cell_ptr::WeakCell;
use crate::session::object::{Backref, Handle, Obj};
use crate::session::vtable::ModelVTable;

/// A relationship field's value: handles to the related objects, loaded or not.
///
/// Relationships hold handles ([`Obj`]), never copies: the same author reached through two
/// posts is one object. Rust cannot run I/O inside a field read, so an unloaded
/// relationship is never fetched behind your back: reading it is [`Error::NotLoaded`],
/// which names it. Load it with a loader option on the query, or with `session.load`.
///
/// On an object made with `Model::new` the relationships are *new*: empty and writable.
/// Linking objects is enough — `post.write()?.author.set(&ed)`, `ed.write()?.posts.push(&p)`:
/// the session sets the foreign keys at flush, and `back_populates` keeps the other side
/// in step in memory. A collection remembers what was added and removed until the flush.
pub struct Related<T> {
    core: RelatedCore,
    _p: PhantomData<fn() -> T>,
}

/// The untyped state of a [`Related`] field, which the session reads and writes.
#[doc(hidden)]
pub struct RelatedCore {
    info: Option<&'static RelationshipInfo>,
    loaded: bool,
    /// The related objects: inline when there is at most one (every many-to-one), so
    /// that linking or loading one allocates nothing.
    items: Items,
    /// What was added and removed since the last flush; boxed, since most
    /// relationships (every loaded one) never change: a loaded object stays small.
    history: Option<Box<History>>,
    /// Set once for a single-valued relationship whose value was replaced or cleared.
    changed: bool,
    /// A query said `raiseload`: reading it unloaded names that.
    raise: bool,
    owner: Option<WeakCell>,
}

/// The objects a relationship holds.
type Items = smallvec::SmallVec<[Handle; 1]>;

/// Appends to a collection: once past the one inline handle, room for four (as a
/// `Vec` would), so that a small collection allocates once.
fn push_item(items: &mut Items, h: Handle) {
    if items.len() == items.capacity() && items.len() < 4 {
        items.reserve(4 - items.len());
    }
    items.push(h);
}

/// The objects added to and removed from a relationship since the last flush.
#[derive(Default)]
struct History {
    added: Vec<Handle>,
    removed: Vec<Handle>,
}

impl History {
    fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }
}

impl<T> Related<T> {
    /// Not loaded (an object read from the database).
    pub const fn unloaded(info: &'static RelationshipInfo) -> Self {
        Related {
            core: RelatedCore {
                info: Some(info),
                loaded: false,
                items: Items::new_const(),
                history: None,
                changed: false,
                raise: false,
                owner: None,
            },
            _p: PhantomData,
        }
    }

    /// New and empty (an object that is not in the database yet): writable, and reading
    /// it gives no objects.
    pub const fn empty(info: &'static RelationshipInfo) -> Self {
        let mut r = Self::unloaded(info);
        r.core.loaded = true;
        r
    }

    /// True when loaded.
    pub fn is_loaded(&self) -> bool {
        self.core.loaded
    }

    /// The relationship's name, `Model.field`.
    pub fn name(&self) -> &'static str {
        self.core.name()
    }

    /// Forgets the loaded objects (it is now unloaded); unflushed changes are kept.
    pub fn unload(&mut self) {
        self.core.loaded = false;
        self.core.items.clear();
    }

    #[doc(hidden)]
    pub fn core(&self) -> &RelatedCore {
        &self.core
    }

    #[doc(hidden)]
    pub fn core_mut(&mut self) -> &mut RelatedCore {
        &mut self.core
    }

    fn not_loaded(&self) -> Error {
        if self.core.raise {
            return Error::RaiseLoad {
                relationship: self.core.name(),
            };
        }
        Error::NotLoaded {
            relationship: self.core.name(),
        }
    }
}

fn view<M>(items: &[Handle]) -> &[Obj<M>] {
    // SAFETY: `Obj<M>` is `repr(transparent)` over `Handle`; a `Related` of `M` only ever
    // holds handles to `M` cells (its typed methods take `Obj<M>`, and the session fills
    // it from rows of `M`).
    unsafe { std::slice::from_raw_parts(items.as_ptr() as *const Obj<M>, items.len()) }
}

impl<M: Model> Related<Vec<M>> {
    /// The loaded objects, or [`Error::NotLoaded`].
    pub fn get(&self) -> Result<&[Obj<M>]> {
        if !self.core.loaded {
            return Err(self.not_loaded());
        }
        Ok(view(&self.core.items))
    }

    /// Adds `obj` to the collection (once). Works on an unloaded collection too: the
    /// flush links it all the same.
    pub fn push(&mut self, obj: &Obj<M>) {
        self.core.add(&obj.h);
    }

    /// Removes `obj`; true when it was there (or the collection is not loaded). At flush
    /// its foreign key is set to NULL, or it is deleted with `delete-orphan`.
    pub fn remove(&mut self, obj: &Obj<M>) -> bool {
        self.core.remove(&obj.h)
    }

    /// The number of loaded objects, or [`Error::NotLoaded`].
    pub fn len(&self) -> Result<usize> {
        self.get().map(<[_]>::len)
    }

    /// True when loaded and empty; [`Error::NotLoaded`] when not loaded.
    pub fn is_empty(&self) -> Result<bool> {
        self.get().map(<[_]>::is_empty)
    }

    /// Iterates the loaded objects, or [`Error::NotLoaded`].
    pub fn iter(&self) -> Result<std::slice::Iter<'_, Obj<M>>> {
        self.get().map(|s| s.iter())
    }
}

impl<M: Model> Related<Option<M>> {
    /// The loaded object, `None` when there is none, or [`Error::NotLoaded`].
    pub fn get(&self) -> Result<Option<&Obj<M>>> {
        if !self.core.loaded {
            return Err(self.not_loaded());
        }
        Ok(view(&self.core.items).first())
    }

    /// Links `obj`.
    pub fn set(&mut self, obj: &Obj<M>) {
        self.core.set_single(Some(&obj.h));
    }

    /// Unlinks: the foreign key becomes NULL at flush.
    pub fn clear(&mut self) {
        self.core.set_single(None);
    }
}

impl<M: Model> Related<M> {
    /// The loaded object, or [`Error::NotLoaded`] (also when it was never set on a new
    /// object).
    pub fn get(&self) -> Result<&Obj<M>> {
        match view(&self.core.items).first() {
            Some(o) if self.core.loaded => Ok(o),
            _ => Err(self.not_loaded()),
        }
    }

    /// Links `obj`.
    pub fn set(&mut self, obj: &Obj<M>) {
        self.core.set_single(Some(&obj.h));
    }
}

impl RelatedCore {
    /// `Model.field`.
    pub(crate) fn name(&self) -> &'static str {
        self.info.map_or("<relationship>", |i| i.qualified_name)
    }

    pub(crate) fn is_loaded(&self) -> bool {
        self.loaded
    }

    pub(crate) fn items(&self) -> &[Handle] {
        &self.items
    }

    pub(crate) fn added(&self) -> &[Handle] {
        self.history.as_deref().map_or(&[], |h| &h.added)
    }

    pub(crate) fn removed(&self) -> &[Handle] {
        self.history.as_deref().map_or(&[], |h| &h.removed)
    }

    /// True when the flush has something to do for this relationship.
    pub(crate) fn has_changes(&self) -> bool {
        self.changed || self.history.as_ref().is_some_and(|h| !h.is_empty())
    }

    /// True when it holds a handle to another object.
    pub(crate) fn holds_handles(&self) -> bool {
        !self.items.is_empty() || self.history.as_ref().is_some_and(|h| !h.is_empty())
    }

    /// Its owner is about to hold a handle: the owner joins its registry's members.
    fn linking(&self) {
        if let Some(owner) = self.owner.as_ref().and_then(WeakCell::upgrade) {
            crate::session::object::note_linked(&Handle::from_cell(owner));
        }
    }

    /// Fills it from a load (no history).
    pub(crate) fn set_loaded(&mut self, items: Vec<Handle>) {
        if !items.is_empty() {
            self.linking();
        }
        self.items = Items::from_vec(items);
        self.loaded = true;
        self.raise = false;
    }

    /// The objects `merge` takes from it, when it is loaded and says what they are: it
    /// was changed (a new object's pushes, a relationship set or cleared), or it holds
    /// objects. `None`: left alone (an empty relationship nobody changed may just be a
    /// new object's default, and must not empty the merged object's; an unloaded one
    /// says nothing). Changed while unloaded, it is an error: what it holds is unknown,
    /// and dropping the change would lose it silently.
    pub(crate) fn merge_sources(&self) -> Result<Option<Vec<Handle>>> {
        if !self.loaded {
            if self.has_changes() {
                return Err(Error::InvalidRequest {
                    message: format!(
                        "`{}` was changed while not loaded, so merge cannot tell what it holds; load it (session.load) before changing it",
                        self.name()
                    ),
                });
            }
            return Ok(None);
        }
        if !self.has_changes() && self.items.is_empty() {
            return Ok(None);
        }
        Ok(Some(self.items.iter().map(Handle::uncounted).collect()))
    }

    /// Loaded and empty, with no history (a new object's state): `merge` then sets what
    /// it merged, recorded as changes.
    pub(crate) fn reset_empty(&mut self) {
        self.items.clear();
        self.history = None;
        self.changed = false;
        self.loaded = true;
    }

    /// Makes its objects `new` (`merge`): a collection, which must be loaded, loses those
    /// not among them and gains the others (its history records both, and
    /// `back_populates` follows); a single-valued one points at the first, or at none.
    pub(crate) fn merge_items(&mut self, new: &[Handle]) {
        let collection = self.info.is_some_and(|i| {
            matches!(
                i.kind,
                RelationshipKind::OneToMany | RelationshipKind::ManyToMany
            )
        });
        if !collection {
            self.set_single(new.first());
            return;
        }
        let gone: Vec<Handle> = (self.items.iter())
            .filter(|i| !new.iter().any(|n| n.ptr_eq(i)))
            .map(Handle::uncounted)
            .collect();
        for h in &gone {
            self.remove(h);
        }
        for h in new {
            if !self.items.iter().any(|i| i.ptr_eq(h)) {
                self.add(h);
            }
        }
    }

    /// Marks an unloaded relationship `raiseload`.
    pub(crate) fn set_raise(&mut self) {
        if !self.loaded {
            self.raise = true;
        }
    }

    pub(crate) fn clear_history(&mut self) {
        self.history = None;
        self.changed = false;
    }

    pub(crate) fn set_owner(&mut self, owner: WeakCell) {
        self.owner = Some(owner);
    }

    /// Drops every edge (the object graph is being freed).
    pub(crate) fn cut(&mut self) {
        self.items.clear();
        self.history = None;
        self.loaded = false;
        self.owner = None;
    }

    fn owner(&self) -> Option<Handle> {
        self.owner.as_ref()?.upgrade().map(Handle::from_cell)
    }

    fn add(&mut self, h: &Handle) {
        if self.loaded && self.items.iter().any(|i| i.ptr_eq(h)) {
            return;
        }
        self.linking();
        if self.loaded {
            push_item(&mut self.items, h.uncounted());
        }
        let history = self.history.get_or_insert_with(Box::default);
        if let Some(pos) = history.removed.iter().position(|r| r.ptr_eq(h)) {
            history.removed.swap_remove(pos);
        } else if !history.added.iter().any(|a| a.ptr_eq(h)) {
            history.added.push(h.uncounted());
        }
        self.backref(h, true);
    }

    fn remove(&mut self, h: &Handle) -> bool {
        let found = if self.loaded {
            match self.items.iter().position(|i| i.ptr_eq(h)) {
                Some(pos) => {
                    self.items.remove(pos);
                    true
                }
                None => false,
            }
        } else {
            true
        };
        if !found {
            return false;
        }
        self.linking();
        let history = self.history.get_or_insert_with(Box::default);
        if let Some(pos) = history.added.iter().position(|a| a.ptr_eq(h)) {
            history.added.swap_remove(pos);
        } else if !history.removed.iter().any(|r| r.ptr_eq(h)) {
            history.removed.push(h.uncounted());
        }
        self.backref(h, false);
        true
    }

    fn set_single(&mut self, new: Option<&Handle>) {
        let old = self.items.first().map(Handle::uncounted);
        match (&old, new) {
            (Some(o), Some(n)) if o.ptr_eq(n) && self.loaded => return,
            (None, None) if self.loaded => return,
            _ => {}
        }
        self.items.clear();
        if let Some(n) = new {
            self.linking();
            self.items.push(n.uncounted());
        }
        self.loaded = true;
        self.changed = true;
        if let Some(o) = old {
            self.backref(&o, false);
        }
        if let Some(n) = new {
            self.backref(n, true);
        }
    }

    /// Keeps the other side of a `back_populates` pair in step: adds or removes this
    /// relationship's owner there.
    fn backref(&self, other: &Handle, add: bool) {
        let (Some(info), Some(owner)) = (self.info, self.owner()) else {
            return;
        };
        let Some(back) = info.back_populates else {
            return;
        };
        let Some(index) = other.vtable().relationship_index(back) else {
            return;
        };
        send_backref(other, index, owner, add);
    }

    /// Applies a change made from the other side (no history: the side the user changed
    /// carries it).
    pub(crate) fn apply_backref(&mut self, other: Handle, add: bool) {
        let collection = self.info.is_some_and(|i| {
            matches!(
                i.kind,
                RelationshipKind::OneToMany | RelationshipKind::ManyToMany
            )
        });
        if collection {
            if !self.loaded {
                return;
            }
            let pos = self.items.iter().position(|i| i.ptr_eq(&other));
            match (add, pos) {
                (true, None) => {
                    self.linking();
                    push_item(&mut self.items, other);
                }
                (false, Some(p)) => {
                    self.items.remove(p);
                }
                _ => {}
            }
            return;
        }
        let current = self.items.first().map(Handle::uncounted);
        if add {
            if current.as_ref().is_some_and(|c| c.ptr_eq(&other)) {
                return;
            }
            self.linking();
            self.items.clear();
            self.items.push(other);
            self.loaded = true;
            // The object this one pointed at before loses it from its collection.
            if let Some(old) = current {
                self.backref(&old, false);
            }
        } else if current.is_some_and(|c| c.ptr_eq(&other)) {
            self.items.clear();
        }
    }
}

/// Delivers a back-reference change to `target`'s relationship `index`: at once when the
/// object can be locked, else queued for its next `read()`/`write()` (so holding a guard
/// of the other object never deadlocks).
fn send_backref(target: &Handle, index: usize, owner: Handle, add: bool) {
    let mut owner = Some(owner);
    let done = (target.vtable().try_with_relationship_mut)(target, index, &mut |r| {
        if let Some(o) = owner.take() {
            r.apply_backref(o, add);
        }
    });
    if !done {
        if let Some(o) = owner {
            target.core().queue(Backref {
                relationship: index,
                other: o,
                add,
            });
        }
    }
}

impl<T> Clone for Related<T> {
    /// The same objects (a clone of a model is a plain value outside any session: its
    /// relationships keep their objects but no longer update the other side).
    fn clone(&self) -> Self {
        Related {
            core: RelatedCore {
                info: self.core.info,
                loaded: self.core.loaded,
                items: self.core.items.iter().map(Handle::uncounted).collect(),
                history: self.core.history.as_ref().map(|h| {
                    Box::new(History {
                        added: h.added.iter().map(Handle::uncounted).collect(),
                        removed: h.removed.iter().map(Handle::uncounted).collect(),
                    })
                }),
                changed: self.core.changed,
                raise: self.core.raise,
                owner: None,
            },
            _p: PhantomData,
        }
    }
}

impl<T> PartialEq for Related<T> {
    /// The same objects, by identity.
    fn eq(&self, other: &Self) -> bool {
        self.core.loaded == other.core.loaded
            && self.core.items.len() == other.core.items.len()
            && self
                .core
                .items
                .iter()
                .zip(&other.core.items)
                .all(|(a, b)| a.ptr_eq(b))
    }
}

impl<T> Default for Related<T> {
    fn default() -> Self {
        Related {
            core: RelatedCore {
                info: None,
                loaded: false,
                items: Items::new(),
                history: None,
                changed: false,
                raise: false,
                owner: None,
            },
            _p: PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for Related<T> {
    /// The related objects by model and key (never their fields: a `back_populates` pair
    /// would print forever).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.core.loaded {
            return write!(f, "<{} not loaded>", self.core.name());
        }
        f.debug_list()
            .entries(self.core.items.iter().map(DescribeHandle))
            .finish()
    }
}

struct DescribeHandle<'a>(&'a Handle);

impl std::fmt::Debug for DescribeHandle<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.describe())
    }
}

/// A loaded relationship serializes as its objects (a list, one object, or null), an
/// unloaded one as `null`. An object met again while it is being serialized (the other
/// side of a `back_populates` pair) is `null`, so cycles end.
#[cfg(feature = "serde")]
mod serde_impls {
    use super::*;

    impl<M: Model + serde::Serialize> serde::Serialize for Related<Vec<M>> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
            match self.get() {
                Ok(items) => s.collect_seq(items),
                Err(_) => s.serialize_none(),
            }
        }
    }

    impl<M: Model + serde::Serialize> serde::Serialize for Related<Option<M>> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
            match self.get() {
                Ok(Some(obj)) => obj.serialize(s),
                _ => s.serialize_none(),
            }
        }
    }

    impl<M: Model + serde::Serialize> serde::Serialize for Related<M> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
            match self.get() {
                Ok(obj) => obj.serialize(s),
                Err(_) => s.serialize_none(),
            }
        }
    }

    /// Deserializes as unloaded, whatever the input: objects come from a session.
    impl<'de, T> serde::Deserialize<'de> for Related<T> {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
            serde::de::IgnoredAny::deserialize(d)?;
            Ok(Related::default())
        }
    }
}

/// How a relationship joins its two sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RelationshipKind {
    /// `Related<Vec<T>>` whose foreign key is on `T`.
    OneToMany,
    /// `Related<T>` / `Related<Option<T>>` whose foreign key is on this model.
    ManyToOne,
    /// `Related<T>` / `Related<Option<T>>` whose foreign key is on `T` (unique).
    OneToOne,
    /// `Related<Vec<T>>` through an association table (`secondary`).
    ManyToMany,
}

/// How a relationship is loaded when a query does not say (SQLAlchemy's `lazy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LoadStrategy {
    /// Not loaded until asked for explicitly (reading it is `NotLoaded`). The default:
    /// Rust cannot load on attribute access.
    #[default]
    Explicit,
    /// One extra SELECT ... WHERE key IN (...) per level.
    Selectin,
    /// LEFT OUTER JOIN in the same SELECT.
    Joined,
    /// A subquery-based second SELECT.
    Subquery,
    /// Never loaded; reads stay `NotLoaded`.
    NoLoad,
    /// Reading it is an error even if someone tries to load it lazily.
    Raise,
    /// Filled from a join the query makes itself (a query option only, never a
    /// relationship's default).
    ContainsEager,
}

impl LoadStrategy {
    /// Parses SQLAlchemy's names: `select`, `selectin`, `joined`, `subquery`, `noload`,
    /// `raise`.
    pub fn parse(s: &str) -> Option<LoadStrategy> {
        Some(match s {
            "select" | "explicit" => LoadStrategy::Explicit,
            "selectin" => LoadStrategy::Selectin,
            "joined" => LoadStrategy::Joined,
            "subquery" => LoadStrategy::Subquery,
            "noload" => LoadStrategy::NoLoad,
            "raise" => LoadStrategy::Raise,
            _ => return None,
        })
    }
}

/// SQLAlchemy's cascade options of a relationship.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cascade {
    /// `save-update`: adding the parent adds the children.
    pub save_update: bool,
    /// `merge`.
    pub merge: bool,
    /// `delete`: deleting the parent deletes the children.
    pub delete: bool,
    /// `delete-orphan`: a child removed from the collection is deleted.
    pub delete_orphan: bool,
    /// `expunge`.
    pub expunge: bool,
    /// `refresh-expire`.
    pub refresh_expire: bool,
}

impl Default for Cascade {
    /// SQLAlchemy's default: `save-update, merge`.
    fn default() -> Self {
        Cascade {
            save_update: true,
            merge: true,
            delete: false,
            delete_orphan: false,
            expunge: false,
            refresh_expire: false,
        }
    }
}

impl Cascade {
    /// No cascades.
    pub const NONE: Cascade = Cascade {
        save_update: false,
        merge: false,
        delete: false,
        delete_orphan: false,
        expunge: false,
        refresh_expire: false,
    };

    /// Parses `"all, delete-orphan"`, `"save-update, merge"`, `"none"`...; an unknown
    /// option is returned as the error.
    pub fn parse(s: &str) -> std::result::Result<Cascade, String> {
        let mut c = Cascade::NONE;
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "all" => {
                    c.save_update = true;
                    c.merge = true;
                    c.delete = true;
                    c.expunge = true;
                    c.refresh_expire = true;
                }
                "save-update" => c.save_update = true,
                "merge" => c.merge = true,
                "delete" => c.delete = true,
                "delete-orphan" => c.delete_orphan = true,
                "expunge" => c.expunge = true,
                "refresh-expire" => c.refresh_expire = true,
                "none" => {}
                other => return Err(other.to_owned()),
            }
        }
        Ok(c)
    }
}

/// Everything the derive records about one relationship.
#[derive(Debug, Clone, Copy)]
pub struct RelationshipInfo {
    /// The field's name.
    pub name: &'static str,
    /// `Model.field`.
    pub qualified_name: &'static str,
    /// How the two sides join.
    pub kind: RelationshipKind,
    /// The target model's name.
    pub target_model: &'static str,
    /// The target's table.
    pub target_table: fn() -> std::sync::Arc<crate::schema::Table>,
    /// The association table of a many-to-many.
    pub secondary: Option<&'static str>,
    /// Foreign-key columns named to disambiguate (`foreign_keys = "..."`).
    pub foreign_keys: &'static [&'static str],
    /// The relationship on the target that mirrors this one.
    pub back_populates: Option<&'static str>,
    /// `order_by`: columns of the target, `-` before a name for descending.
    pub order_by: &'static [&'static str],
    /// The default loader.
    pub lazy: LoadStrategy,
    /// Cascades.
    pub cascade: Cascade,
    /// Leave deleting children to the database's ON DELETE.
    pub passive_deletes: bool,
    /// Set the foreign key with a second UPDATE after both rows are written (and clear
    /// it with one before either is deleted), to break a cycle of rows that refer to
    /// each other (SQLAlchemy's `post_update`).
    pub post_update: bool,
    /// `remote_side` of a self-referential relationship.
    pub remote_side: &'static [&'static str],
    /// The target model's erased operations (for loading and flushing).
    #[doc(hidden)]
    pub target_vtable: fn() -> &'static ModelVTable,
}

/// The typed descriptor of a relationship: `User::posts` is a
/// `Relationship<User, Vec<Post>>`. Loader options are typed along it.
pub struct Relationship<M, T> {
    name: &'static str,
    _p: PhantomData<fn() -> (M, T)>,
}

impl<M, T> Clone for Relationship<M, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M, T> Copy for Relationship<M, T> {}

impl<M, T> std::fmt::Debug for Relationship<M, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Relationship({})", self.name)
    }
}

impl<M, T> Relationship<M, T> {
    /// The descriptor of the relationship field `name` (used by generated code).
    pub const fn new(name: &'static str) -> Self {
        Relationship {
            name,
            _p: PhantomData,
        }
    }

    /// The field's name.
    pub const fn name(&self) -> &'static str {
        self.name
    }
}

impl<M: crate::model::Model, T> Relationship<M, T> {
    /// The relationship's metadata.
    pub fn info(&self) -> &'static RelationshipInfo {
        M::relationships()
            .iter()
            .find(|r| r.name == self.name)
            .unwrap_or_else(|| {
                unreachable!("the derive records every relationship it makes a descriptor for")
            })
    }
}

/// The model at the far end of a relationship's value type: `Post` for `Vec<Post>`,
/// `User` for `User` and `Option<User>`.
pub trait RelatedTarget {
    /// The target model.
    type Target;
    /// True for collections.
    const COLLECTION: bool;
}

impl<T> RelatedTarget for Vec<T> {
    type Target = T;
    const COLLECTION: bool = true;
}

impl<T> RelatedTarget for Option<T> {
    type Target = T;
    const COLLECTION: bool = false;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cascades_parse() {
        let c = Cascade::parse("all, delete-orphan").unwrap();
        assert!(c.delete && c.delete_orphan && c.save_update);
        assert_eq!(
            Cascade::parse("save-update, explode"),
            Err("explode".to_owned())
        );
        assert_eq!(Cascade::parse("none").unwrap(), Cascade::NONE);
    }
}
