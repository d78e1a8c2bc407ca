//! `session.query::<M>()`: a SELECT of a model's columns whose rows come back as
//! identity-mapped objects.

use std::marker::PhantomData;

use crate::error::{Error, Result};
use crate::loading::{ColumnOption, LoadPath, LoadStep};
use crate::model::Model;
use crate::model::relationship::LoadStrategy;
use crate::session::joined::Plan;
use crate::session::object::Obj;
use crate::session::unit_of_work::model_items_skip;
use crate::session::{LoadMode, Session};
use crate::sql::{IntoExpr, IntoFromItem, OrderItem, SelectBody, SelectStatement, select};

/// A query for objects of `M`, built like a Core `select` and run in the session's
/// transaction after an autoflush. Every row goes through the identity map: a row
/// whose object is already loaded gives that object, with its unflushed changes kept
/// unless [`populate_existing`](Query::populate_existing).
pub struct Query<'s, M> {
    session: &'s mut Session,
    stmt: SelectStatement,
    mode: LoadMode,
    paths: Vec<Vec<LoadStep>>,
    /// Column options for `M` itself (`defer`, `undefer`, `load_only`).
    columns: Vec<ColumnOption>,
    _p: PhantomData<fn() -> M>,
}

impl<'s, M: Model> Query<'s, M> {
    pub(crate) fn new(session: &'s mut Session) -> Self {
        // The columns deferred by default are left out.
        let skip = crate::model::default_skip(M::columns());
        let stmt = select(model_items_skip(M::vtable(), skip)).from(M::table());
        Query {
            session,
            stmt,
            mode: LoadMode::default(),
            paths: Vec::new(),
            columns: Vec::new(),
            _p: PhantomData,
        }
    }

    /// Adds a WHERE condition (ANDed with the others).
    pub fn filter(mut self, cond: impl IntoExpr<bool>) -> Self {
        self.stmt = self.stmt.filter(cond);
        self
    }

    /// Adds an ORDER BY item.
    pub fn order_by(mut self, item: impl Into<OrderItem>) -> Self {
        self.stmt = self.stmt.order_by(item);
        self
    }

    /// LIMIT.
    pub fn limit(mut self, n: u64) -> Self {
        self.stmt = self.stmt.limit(n);
        self
    }

    /// OFFSET.
    pub fn offset(mut self, n: u64) -> Self {
        self.stmt = self.stmt.offset(n);
        self
    }

    /// INNER JOIN `item` ON `on` (to filter by another table's columns).
    pub fn join(mut self, item: impl IntoFromItem, on: impl IntoExpr<bool>) -> Self {
        self.stmt = self.stmt.join(item, on);
        self
    }

    /// INNER JOIN `item` on the foreign key between it and what is already joined.
    pub fn join_fk(mut self, item: impl IntoFromItem) -> Self {
        self.stmt = self.stmt.join_fk(item);
        self
    }

    /// DISTINCT.
    pub fn distinct(mut self) -> Self {
        self.stmt = self.stmt.distinct();
        self
    }

    /// SELECT ... FOR UPDATE.
    pub fn for_update(mut self) -> Self {
        self.stmt = self.stmt.for_update();
        self
    }

    /// SELECT ... with a row lock of the given strength: `FOR SHARE`, PostgreSQL's
    /// `FOR NO KEY UPDATE` and `FOR KEY SHARE` (the nearest stronger lock on MySQL and
    /// MariaDB), `NOWAIT`, `SKIP LOCKED`; see [`Lock`](crate::sql::Lock).
    pub fn with_lock(mut self, lock: crate::sql::Lock) -> Self {
        self.stmt = self.stmt.with_lock(lock);
        self
    }

    /// Loads relationships of the objects found, along a typed path:
    /// `.options(selectinload(User::posts).selectinload(Post::tags))` (one SELECT per
    /// relationship per level). Several calls add several paths.
    ///
    /// `joinedload` steps at the start of a path join the query itself (LEFT OUTER JOIN
    /// to an aliased table per step, INNER with `.innerjoin()`); with a limit and a
    /// collection joined, the query is wrapped so the limit counts objects, not rows.
    /// A first `subqueryload` step re-runs the query as a subquery joined to the related
    /// table (one SELECT, SQLAlchemy's form); deeper ones, and joined steps after a
    /// selectin step, use selectin's SELECT; `noload`
    /// leaves a relationship unloaded; `raiseload` makes reading it (while unloaded)
    /// [`Error::RaiseLoad`](crate::error::Error::RaiseLoad).
    ///
    /// Column options choose which columns load: `defer(User::bio)`,
    /// `undefer(User::bio)`, `load_only((User::name,))` for the queried model, and
    /// `selectinload(User::posts).defer(Post::body)` for the objects a step loads. A
    /// column left out reads as [`Error::ColumnNotLoaded`] until loaded.
    pub fn options<Leaf>(mut self, path: LoadPath<M, Leaf>) -> Self {
        if !path.root_columns().is_empty() {
            self.columns.extend(path.root_columns().iter().cloned());
            // The statement shows the columns it selects (an error surfaces at `all`).
            if let Ok(skip) = crate::loading::skip_mask(M::columns(), M::MODEL_NAME, &self.columns)
            {
                self.select_columns(skip);
            }
        }
        if !path.steps().is_empty() {
            self.paths.push(path.steps().to_vec());
        }
        self
    }

    /// Selects the model's columns but those of `skip`.
    fn select_columns(&mut self, skip: u64) {
        if let SelectBody::Core(core) = &mut self.stmt.body {
            core.columns = model_items_skip(M::vtable(), skip);
        }
    }

    /// Overwrites the columns of objects already loaded with what the rows say
    /// (discarding their unflushed changes), as SQLAlchemy's `populate_existing`.
    pub fn populate_existing(mut self) -> Self {
        self.mode.populate_existing = true;
        self
    }

    /// The statement as built so far (for `Display` or the Core).
    pub fn statement(&self) -> &SelectStatement {
        &self.stmt
    }

    /// Every object the query finds, in row order.
    pub async fn all(self) -> Result<Vec<Obj<M>>> {
        let Query {
            session,
            stmt,
            mode,
            paths,
            columns,
            ..
        } = self;
        session.check_usable()?;
        // The columns this query leaves out (deferred ones only).
        let skip = crate::loading::skip_mask(M::columns(), M::MODEL_NAME, &columns)?;
        let mut stmt = stmt;
        if let SelectBody::Core(core) = &mut stmt.body {
            core.columns = model_items_skip(M::vtable(), skip);
        }
        // Relationship defaults (`#[relationship(lazy = "selectin")]`, `"joined"`) apply
        // unless a path names the relationship.
        let mut paths = paths;
        for info in M::relationships() {
            let strategy = match info.lazy {
                LoadStrategy::Selectin | LoadStrategy::Subquery => LoadStrategy::Selectin,
                LoadStrategy::Joined => LoadStrategy::Joined,
                _ => continue,
            };
            if !paths
                .iter()
                .any(|p| p.first().is_some_and(|s| s.relationship == info.name))
            {
                paths.push(vec![LoadStep {
                    model: M::MODEL_NAME,
                    relationship: info.name,
                    strategy,
                    innerjoin: false,
                    alias: None,
                    columns: Vec::new(),
                }]);
            }
        }
        // Leading joined steps join the query itself; a locking query, or a DISTINCT
        // one with a limit, cannot be wrapped, so its joined collections use selectin.
        let limited = stmt.limit.is_some() || stmt.offset.is_some();
        let distinct = matches!(&stmt.body, SelectBody::Core(c) if c.distinct);
        let eager = paths
            .iter()
            .any(|p| p.iter().any(|s| s.strategy == LoadStrategy::ContainsEager));
        let collections = stmt.lock.is_none() && !(limited && (distinct || eager));
        if stmt.lock.is_some() {
            // A locking read cannot lock the nullable side of an outer join
            // (PostgreSQL refuses it): joined steps load with selectin's SELECT.
            for step in paths.iter_mut().flatten() {
                if step.strategy == LoadStrategy::Joined {
                    step.strategy = LoadStrategy::Selectin;
                }
            }
        }
        let mut plan = Plan::new(M::vtable(), &paths, collections)?;
        // The query as the user wrote it, for a first subqueryload step to re-run.
        let base = paths
            .iter()
            .any(|p| p.iter().any(|s| s.strategy == LoadStrategy::Subquery))
            .then(|| stmt.clone());
        let stmt = if plan.is_empty() {
            stmt
        } else {
            plan.statement(M::vtable(), stmt, skip)?
        };
        session.autoflush().await?;
        let rows = session.tx().await?.fetch_all(&stmt).await?;
        let all = session.load_rows::<M>(&rows, 0, mode.with_skip(skip))?;
        let out = if plan.is_empty() {
            if !paths.is_empty() && !all.is_empty() {
                let roots: Vec<_> = all.iter().map(|o| o.h.uncounted()).collect();
                crate::session::selectin::load_paths(session, &roots, &paths, mode, base.as_ref())
                    .await?;
            }
            all
        } else {
            let roots: Vec<_> = all.iter().map(|o| o.h.uncounted()).collect();
            plan.load(session, &rows, &roots, mode, base.as_ref())
                .await?;
            // Rows repeat their object for every joined child: each object once, in
            // the order of its first row.
            let mut seen = std::collections::HashSet::new();
            all.into_iter()
                .filter(|o| seen.insert(o.h.addr()))
                .collect()
        };
        session.dispatch_state_events();
        Ok(out)
    }

    /// How many objects the query finds (`SELECT COUNT(*) FROM (<query>) AS orm_count`,
    /// after an autoflush, so pending objects that match are counted). Loader options
    /// play no part.
    pub async fn count(self) -> Result<i64> {
        let Query { session, stmt, .. } = self;
        session.check_usable()?;
        session.autoflush().await?;
        let counted = select(crate::sql::func::count_star()).from(&stmt.subquery("orm_count"));
        session.tx().await?.fetch_one(&counted).await?.get(0)
    }

    /// True when the query finds at least one object (`SELECT 1 ... LIMIT 1`, after an
    /// autoflush); nothing is loaded.
    pub async fn exists(self) -> Result<bool> {
        let Query { session, stmt, .. } = self;
        session.check_usable()?;
        session.autoflush().await?;
        let probe =
            select(crate::sql::func::count_star()).from(&stmt.limit(1).subquery("orm_exists"));
        let n: i64 = session.tx().await?.fetch_one(&probe).await?.get(0)?;
        Ok(n > 0)
    }

    /// The first object, if any (adds LIMIT 1).
    pub async fn first(self) -> Result<Option<Obj<M>>> {
        Ok(self.limit(1).all().await?.into_iter().next())
    }

    /// Exactly one object: none is [`Error::RowNotFound`], several
    /// [`Error::InvalidRequest`].
    pub async fn one(self) -> Result<Obj<M>> {
        self.one_or_none().await?.ok_or(Error::RowNotFound)
    }

    /// One object or none; several is [`Error::InvalidRequest`].
    pub async fn one_or_none(self) -> Result<Option<Obj<M>>> {
        let mut all = self.limit(2).all().await?;
        if all.len() > 1 {
            return Err(Error::InvalidRequest {
                message: format!(
                    "the query for `{}` found several rows; one was expected",
                    M::MODEL_NAME
                ),
            });
        }
        Ok(all.pop())
    }
}
