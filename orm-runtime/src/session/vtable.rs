//! The type-erased face of a model, for the parts of the session that handle objects of
//! every model alike (the unit of work, relationship loading).

use std::any::TypeId;
use std::sync::Arc;

use crate::error::Result;
use crate::model::Model;
use crate::model::relationship::{RelatedCore, RelationshipInfo};
use crate::row::Row;
use crate::schema::Table;
use crate::session::identity::{AnyStore, Store};
use crate::session::object::{Handle, Meta, Obj};
use crate::session::{LoadMode, Session};
use crate::value::Value;

use crate::model::ColumnInfo;

type SetColumns = fn(&Handle, &mut [(usize, Value)]) -> Result<()>;
type WithRelationship = fn(&Handle, usize, &mut dyn FnMut(&RelatedCore));
type WithRelationshipMut = fn(&Handle, usize, &mut dyn FnMut(&mut RelatedCore));
type RunMapper = fn(
    &mut crate::session::events::Listeners,
    &Handle,
    crate::session::events::MapperEvent,
) -> Result<()>;
type DecodeRowsAt = fn(&mut Session, &[Row], usize, LoadMode) -> Result<Vec<Option<Handle>>>;
type TryWithRelationshipMut = fn(&Handle, usize, &mut dyn FnMut(&mut RelatedCore)) -> bool;

/// A model's operations with its type erased. Made once per model, by the derive
/// (`Model::vtable`, a function of the model's own, so that a chain of 200 related models
/// does not nest 200 instances of one generic function: see compile-200/README.md).
#[doc(hidden)]
pub struct ModelVTable {
    pub(crate) name: &'static str,
    pub(crate) table_name: &'static str,
    pub(crate) schema: Option<&'static str>,
    pub(crate) type_id: fn() -> TypeId,
    pub(crate) columns: fn() -> &'static [ColumnInfo],
    pub(crate) relationships: fn() -> &'static [RelationshipInfo],
    pub(crate) table: fn() -> Arc<Table>,
    pub(crate) values: fn(&Handle) -> Vec<Value>,
    /// The values of the given columns, in that order (the others are not cloned).
    pub(crate) column_values: fn(&Handle, &[usize]) -> Vec<Value>,
    /// The grouping key of the given columns' values (no list of values is made).
    pub(crate) join_key: fn(&Handle, &[usize]) -> crate::session::selectin::Key,
    pub(crate) column_is_unset: fn(&Handle, usize) -> bool,
    /// The `Deferred` columns that are not loaded (bit `i` for column `i`).
    pub(crate) unloaded: fn(&Handle) -> u64,
    /// The column values and, under the same lock, which of the first 64 columns that
    /// the database may fill (key, generated, server default, version) are unset (bit
    /// `i` for column `i`).
    pub(crate) values_unset: fn(&Handle) -> (Vec<Value>, u64),
    pub(crate) set_columns: SetColumns,
    /// Copies column values onto the object through its write guard (recorded as
    /// changes), those already equal left alone (`merge`).
    pub(crate) merge_columns: fn(&Handle, &[Value], u64) -> Result<()>,
    /// Makes relationship `i` hold these objects, through the write guard (recorded as
    /// changes; see `RelatedCore::merge_items`).
    pub(crate) merge_relationship: fn(&Handle, usize, &[Handle]) -> Result<()>,
    pub(crate) with_relationship: WithRelationship,
    pub(crate) with_relationship_mut: WithRelationshipMut,
    /// Forgets the changes of every relationship (the flush wrote them), under one lock.
    pub(crate) clear_histories: fn(&Handle),
    /// Finishes an inserted object: its relationship histories are consumed (unless the
    /// `bool` says the flush saw none) and it joins `store` (its model's map) under
    /// `key`, its identity. False when another object holds the key there.
    pub(crate) finish_insert: fn(&Handle, &[Value], bool, &mut dyn AnyStore) -> bool,
    /// As `with_relationship_mut` when the object's lock is free at once; false otherwise.
    pub(crate) try_with_relationship_mut: TryWithRelationshipMut,
    pub(crate) new_store: fn() -> Box<dyn AnyStore>,
    pub(crate) run_mapper: RunMapper,
    /// The model implements `ModelEvents` hooks (`#[orm(events)]`).
    pub(crate) hooks: bool,
    /// True when a guard holds the object and does not let go within a short wait.
    pub(crate) is_locked: fn(&Handle) -> bool,
    pub(crate) decode_rows: fn(&mut Session, &[Row], LoadMode) -> Result<Vec<Handle>>,
    /// Runs a SELECT of the model's columns on the session's transaction and loads its
    /// rows as they are read, as uncounted handles (see `Session::fetch_objects`).
    pub(crate) fetch_handles: FetchHandles,
    /// As `fetch_handles`, each object with the key of the row's columns at the given
    /// positions (what `selectinload` groups children by).
    pub(crate) fetch_keyed: FetchKeyed,
    /// A loader of the model's objects into a session's identity maps, for loads that
    /// read several models from one row (joined).
    pub(crate) row_loader: fn(
        &mut crate::session::Stores,
        &std::sync::Arc<crate::session::object::Registry>,
    ) -> Box<dyn crate::session::LoadAt>,
    /// The objects of the columns from an offset of outer-joined rows (`None`: no row
    /// joined).
    pub(crate) decode_rows_at: DecodeRowsAt,
}

impl ModelVTable {
    #[doc(hidden)]
    pub const fn of<M: Model>() -> ModelVTable {
        ModelVTable {
            name: M::MODEL_NAME,
            table_name: <M as crate::sql::HasTable>::TABLE_NAME,
            schema: <M as crate::sql::HasTable>::SCHEMA,
            type_id: TypeId::of::<M>,
            columns: M::columns,
            relationships: M::relationships,
            table: <M as crate::sql::HasTable>::table,
            values: values::<M>,
            column_values: column_values::<M>,
            join_key: join_key::<M>,
            column_is_unset: column_is_unset::<M>,
            unloaded: unloaded::<M>,
            values_unset: values_unset::<M>,
            set_columns: set_columns::<M>,
            merge_columns: merge_columns::<M>,
            merge_relationship: merge_relationship::<M>,
            with_relationship: with_relationship::<M>,
            with_relationship_mut: with_relationship_mut::<M>,
            clear_histories: clear_histories::<M>,
            finish_insert: finish_insert::<M>,
            try_with_relationship_mut: try_with_relationship_mut::<M>,
            new_store: new_store::<M>,
            is_locked: is_locked::<M>,
            run_mapper: crate::session::events::run_mapper::<M>,
            hooks: <M as crate::session::events::ModelEvents>::HOOKS,
            decode_rows: decode_rows::<M>,
            fetch_handles: fetch_handles::<M>,
            fetch_keyed: fetch_keyed::<M>,
            row_loader: crate::session::row_loader::<M>,
            decode_rows_at: decode_rows_at::<M>,
        }
    }

    /// The model's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Index of the relationship called `name`.
    pub(crate) fn relationship_index(&self, name: &str) -> Option<usize> {
        (self.relationships)().iter().position(|r| r.name == name)
    }

    /// Index of the column called `name` (database name).
    pub(crate) fn column_index(&self, name: &str) -> Option<usize> {
        (self.columns)().iter().position(|c| c.name == name)
    }
}

fn typed<M: Model>(h: &Handle) -> &Obj<M> {
    h.downcast::<M>()
        .unwrap_or_else(|| unreachable!("a handle's vtable is the vtable of its own model"))
}

fn values<M: Model>(h: &Handle) -> Vec<Value> {
    typed::<M>(h).lock_read().values()
}

fn column_values<M: Model>(h: &Handle, cols: &[usize]) -> Vec<Value> {
    let v = typed::<M>(h).lock_read();
    cols.iter().map(|&i| v.column_value(i)).collect()
}

fn join_key<M: Model>(h: &Handle, cols: &[usize]) -> crate::session::selectin::Key {
    use crate::session::selectin::{Key, part};
    let v = typed::<M>(h).lock_read();
    match cols {
        [one] => Key::One(part(&v.column_value(*one))),
        many => Key::Many(many.iter().map(|&i| part(&v.column_value(i))).collect()),
    }
}

fn column_is_unset<M: Model>(h: &Handle, i: usize) -> bool {
    typed::<M>(h).lock_read().column_is_unset(i)
}

fn unloaded<M: Model>(h: &Handle) -> u64 {
    if M::columns().iter().any(|c| c.deferrable) {
        typed::<M>(h).lock_read().unloaded_columns()
    } else {
        0
    }
}

fn values_unset<M: Model>(h: &Handle) -> (Vec<Value>, u64) {
    let v = typed::<M>(h).lock_read();
    let mut unset = 0u64;
    for (i, c) in M::columns().iter().enumerate().take(64) {
        if (c.primary_key || c.generated || c.server_default || c.version) && v.column_is_unset(i) {
            unset |= 1 << i;
        }
    }
    (v.values(), unset)
}

/// Sets the columns `cols`, swapping: each entry then holds the value its column had
/// (what sets it back). A value the field cannot hold is an error, and leaves every
/// column as it was.
fn set_columns<M: Model>(h: &Handle, cols: &mut [(usize, Value)]) -> Result<()> {
    let mut v = typed::<M>(h).lock_write();
    for k in 0..cols.len() {
        let (i, ref mut value) = cols[k];
        let new = std::mem::replace(value, v.column_value(i));
        if let Err(e) = v.set_column_value(i, new) {
            for (j, old) in cols[..k].iter().rev() {
                // A value the field held a moment ago: it fits.
                let _ = v.set_column_value(*j, old.clone());
            }
            return Err(e);
        }
    }
    Ok(())
}

/// False for a column in `skip` (bit `i` for column `i`, the first 64 columns).
pub(crate) fn not_skipped(i: usize, skip: u64) -> bool {
    i >= 64 || skip & (1 << i) == 0
}

/// True when relationship `i` of `h` is loaded.
pub(crate) fn relationship_loaded(h: &Handle, i: usize) -> bool {
    let mut loaded = false;
    (h.vtable().with_relationship)(h, i, &mut |r| loaded = r.is_loaded());
    loaded
}

/// `skip`: columns the source left unloaded, not copied.
fn merge_columns<M: Model>(h: &Handle, values: &[Value], skip: u64) -> Result<()> {
    let obj = typed::<M>(h);
    let changed: Vec<usize> = {
        let current = obj.lock_read();
        (0..values.len())
            .filter(|&i| {
                not_skipped(i, skip)
                    && !crate::session::object::same_value(&current.column_value(i), &values[i])
            })
            .collect()
    };
    // Equal values change nothing (the object is not marked as written).
    if !changed.is_empty() {
        let mut target = obj.write()?;
        for i in changed {
            target.set_column_value(i, values[i].clone())?;
        }
    }
    Ok(())
}

fn merge_relationship<M: Model>(h: &Handle, i: usize, items: &[Handle]) -> Result<()> {
    typed::<M>(h)
        .write()?
        .relationship_mut(i)
        .merge_items(items);
    Ok(())
}

fn with_relationship<M: Model>(h: &Handle, i: usize, f: &mut dyn FnMut(&RelatedCore)) {
    f(typed::<M>(h).lock_read().relationship(i))
}

fn with_relationship_mut<M: Model>(h: &Handle, i: usize, f: &mut dyn FnMut(&mut RelatedCore)) {
    f(typed::<M>(h).lock_write().relationship_mut(i))
}

fn clear_histories<M: Model>(h: &Handle) {
    if M::relationships().is_empty() {
        return;
    }
    let mut v = typed::<M>(h).lock_write();
    for i in 0..M::relationships().len() {
        v.relationship_mut(i).clear_history();
    }
}

fn finish_insert<M: Model>(
    h: &Handle,
    key: &[Value],
    no_history: bool,
    store: &mut dyn AnyStore,
) -> bool {
    let obj = typed::<M>(h);
    if !no_history && !M::relationships().is_empty() {
        let mut v = obj.lock_write();
        for i in 0..M::relationships().len() {
            v.relationship_mut(i).clear_history();
        }
    }
    let Some(store) = store.as_any_mut().downcast_mut::<Store<M>>() else {
        return false;
    };
    match M::key_from_values(key) {
        Ok(key) => store.insert_new(key, h),
        Err(_) => AnyStore::insert(store, h),
    }
}

fn try_with_relationship_mut<M: Model>(
    h: &Handle,
    i: usize,
    f: &mut dyn FnMut(&mut RelatedCore),
) -> bool {
    match typed::<M>(h).cell().value.try_write() {
        Ok(mut v) => {
            f(v.relationship_mut(i));
            true
        }
        Err(std::sync::TryLockError::Poisoned(p)) => {
            f(p.into_inner().relationship_mut(i));
            true
        }
        Err(std::sync::TryLockError::WouldBlock) => false,
    }
}

fn is_locked<M: Model>(h: &Handle) -> bool {
    let cell = typed::<M>(h).cell();
    for _ in 0..50 {
        match cell.value.try_write() {
            Ok(_) | Err(std::sync::TryLockError::Poisoned(_)) => return false,
            Err(std::sync::TryLockError::WouldBlock) => {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        }
    }
    true
}

fn new_store<M: Model>() -> Box<dyn AnyStore> {
    Box::new(Store::<M>::default())
}

fn decode_rows<M: Model>(s: &mut Session, rows: &[Row], mode: LoadMode) -> Result<Vec<Handle>> {
    s.load_handles::<M>(rows, mode)
}

/// The type of [`ModelVTable::fetch_handles`].
pub(crate) type FetchHandles =
    for<'s> fn(
        &'s mut Session,
        crate::sql::SelectStatement,
        LoadMode,
    ) -> futures_core::future::BoxFuture<'s, Result<Vec<Handle>>>;

fn fetch_handles<M: Model>(
    s: &mut Session,
    stmt: crate::sql::SelectStatement,
    mode: LoadMode,
) -> futures_core::future::BoxFuture<'_, Result<Vec<Handle>>> {
    Box::pin(async move { s.fetch_objects::<M>(stmt, 0, mode, false).await })
}

/// The type of [`ModelVTable::fetch_keyed`].
pub(crate) type FetchKeyed = for<'s> fn(
    &'s mut Session,
    crate::sql::SelectStatement,
    LoadMode,
    &'s [usize],
) -> futures_core::future::BoxFuture<
    's,
    Result<Vec<(Handle, crate::session::selectin::Key)>>,
>;

fn fetch_keyed<'s, M: Model>(
    s: &'s mut Session,
    stmt: crate::sql::SelectStatement,
    mode: LoadMode,
    key_at: &'s [usize],
) -> futures_core::future::BoxFuture<'s, Result<Vec<(Handle, crate::session::selectin::Key)>>> {
    Box::pin(async move { s.fetch_objects_keyed::<M>(stmt, mode, key_at).await })
}

fn decode_rows_at<M: Model>(
    s: &mut Session,
    rows: &[Row],
    offset: usize,
    mode: LoadMode,
) -> Result<Vec<Option<Handle>>> {
    s.load_rows_opt::<M>(rows, offset, mode, false)
}

/// Fresh bookkeeping for an object loaded from the database.
pub(crate) fn persistent_meta(
    registry: &std::sync::Arc<crate::session::object::Registry>,
    key: crate::session::object::IdKey,
) -> Meta {
    Meta::persistent(registry.id, key)
}
