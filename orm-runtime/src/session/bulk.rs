//! `merge`, and bulk UPDATE / DELETE through the session with the identity map kept in
//! step (SQLAlchemy's `synchronize_session`).

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
    /// key left unset) makes a new pending object. Relationships of `value` are not
    /// merged.
    pub async fn merge<M: Model>(&mut self, value: M) -> Result<Obj<M>> {
        self.merge_with(value, true).await
    }

    /// [`merge`](Session::merge); with `load = false` no SQL is sent: an object not in
    /// the identity map is taken as the database's current state (SQLAlchemy's
    /// `load=False`, for caches).
    pub async fn merge_with<M: Model>(&mut self, value: M, load: bool) -> Result<Obj<M>> {
        self.check_usable()?;
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
