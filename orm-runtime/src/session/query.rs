//! `session.query::<M>()`: a SELECT of a model's columns whose rows come back as
//! identity-mapped objects.

use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_core::stream::BoxStream;

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
    /// `subqueryload` follows SQLAlchemy's form at any depth: one SELECT per level that
    /// joins the related table to the query itself as a subquery (`JOIN (<query>) AS
    /// orm_sq`, with its filters, order, limit and offset, and its binds as bound
    /// parameters), through the tables of the `subqueryload` steps before it, aliased
    /// `orm_sq_1`, `orm_sq_2`, ... (with their association tables, `orm_sq_<n>_s`), and
    /// reads the owner's key columns back to group the rows: `subqueryload(User::posts)
    /// .subqueryload(Post::tags)` loads the tags with `... FROM tags JOIN s_post_tags ON
    /// ... JOIN posts AS orm_sq_1 ON ... JOIN (SELECT ... FROM users ...) AS orm_sq ON
    /// ...`, no key list. After a `selectinload` or `joinedload` step the query no longer
    /// describes the objects loaded, so the subquery is a SELECT of those objects' key
    /// columns by their primary keys (`JOIN (SELECT posts.id FROM posts WHERE posts.id IN
    /// (...)) AS orm_sq`, chunked as selectin's lists; SQLAlchemy likewise builds on the
    /// previous loader's query); objects of a level that the chain of joins does not
    /// reach (a collection loaded earlier and changed in the database since) load that way
    /// too. Joined steps after a selectin step use selectin's SELECT; `noload`
    /// leaves a relationship unloaded; `raiseload` makes reading it (while unloaded)
    /// [`crate::error::Error::RaiseLoad`].
    ///
    /// Column options choose which columns load: `defer(User::bio)`,
    /// `undefer(User::bio)`, `undefer_group("photos")`, `load_only((User::name,))` for
    /// the queried model, and `selectinload(User::posts).defer(Post::body)` for the
    /// objects a step loads. A column left out reads as [`Error::ColumnNotLoaded`] until
    /// loaded. An option naming a column or group the model cannot defer is an error
    /// when the query runs.
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
        select_model_columns::<M>(&mut self.stmt, skip);
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
        select_model_columns::<M>(&mut stmt, skip);
        // Relationship defaults (`#[relationship(lazy = "selectin")]`, `"joined"`,
        // `"subquery"`) apply unless a path names the relationship, or `raiseload_all`
        // names them all.
        let mut paths = paths;
        let every = expand_every::<M>(&mut paths);
        for info in M::relationships().iter().filter(|_| !every) {
            let strategy = match info.lazy {
                LoadStrategy::Selectin => LoadStrategy::Selectin,
                LoadStrategy::Subquery => LoadStrategy::Subquery,
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
        // The query as the user wrote it, for subqueryload steps to join as a subquery.
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
        let out = if plan.is_empty() {
            let handles = session
                .fetch_objects::<M>(&stmt, 0, mode.with_skip(skip), true)
                .await?;
            let all = crate::session::object::objs_from_handles(handles);
            if !paths.is_empty() && !all.is_empty() {
                let roots: Vec<_> = all.iter().map(|o| o.h.uncounted()).collect();
                crate::session::selectin::load_paths(session, &roots, &paths, mode, base.as_ref())
                    .await?;
            }
            all
        } else {
            let root_mode = mode.with_skip(skip);
            let (all, per_row) = if plan.listened(session, M::vtable()) {
                let rows = session.tx().await?.fetch_all(&stmt).await?;
                let all = session.load_rows::<M>(&rows, 0, root_mode)?;
                (all, plan.decode(session, &rows, mode)?)
            } else {
                let (roots, per_row) = plan
                    .fetch(session, M::vtable(), &stmt, root_mode, mode)
                    .await?;
                (crate::session::object::objs_from_handles(roots), per_row)
            };
            let roots: Vec<_> = all.iter().map(|o| o.h.uncounted()).collect();
            plan.load(session, per_row, &roots, mode, base.as_ref())
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

    /// Streams the objects the query finds, yielding each as its row arrives, instead of
    /// collecting them as [`all`](Query::all) does; for results too large to hold at once.
    ///
    /// Everything else is as in `all`: an autoflush first (here, before the stream is
    /// returned), the query on the session's transaction (begun if need be), every row
    /// through the identity map (an object already loaded is that same handle, its
    /// unflushed changes kept unless [`populate_existing`](Query::populate_existing)),
    /// `load` events fired as each object is made, and the column options (`defer`,
    /// `undefer`, `load_only`) applied. The SELECT is sent when the stream is first
    /// polled. Consume it with [`QueryStream::try_next`], or as a
    /// [`futures_core::Stream`] of `Result<Obj<M>>`.
    ///
    /// The stream borrows the session mutably: no other session call can run until it
    /// is dropped.
    ///
    /// **Relationship loading.** While the stream holds the connection no second query
    /// can run on it, so options that need one — `selectinload`, `subqueryload`,
    /// `joinedload`, `contains_eager`, and the model's own `lazy = "selectin"` /
    /// `"joined"` / `"subquery"` defaults — are an [`Error::InvalidRequest`] naming the
    /// relationship, returned here before anything is sent. Load such relationships
    /// afterwards with [`Session::load`](crate::session::Session::load), turn a default
    /// off with `noload(...)`, or use `all`. `noload` and `raiseload` work.
    ///
    /// **Dropping the stream before its end** (a `break`, a `take(n)`, a timeout that
    /// cancels the task) loses the session's transaction, on every database: on
    /// PostgreSQL and MySQL rows may still be on the wire, so the engine closes the
    /// connection (the server rolls back); on SQLite the engine closes a database file's
    /// connection as well (a call cancelled mid-way), and keeps an in-memory database's
    /// one connection but rolls it back, so the session gives the transaction up there
    /// too, and code behaves alike everywhere. The session's next call that would reach the
    /// database is then [`Error::PendingRollback`] saying a stream was dropped;
    /// [`Session::rollback`](crate::session::Session::rollback) (which expires the
    /// loaded objects and undoes what the lost transaction flushed, as for any rollback)
    /// makes it usable again. Objects already yielded stay valid handles. A stream read
    /// to its end (`try_next` gave `None`), or ended by an error, leaves the transaction
    /// open and the session usable. An error decoding a row is yielded after the rest of
    /// the result has been read off, so the transaction is kept.
    ///
    /// The guide `orm::guide::session` ("Streaming query results") has a runnable
    /// example (it needs `#[derive(Model)]`, which lives in the `orm` facade):
    ///
    /// ```text
    /// let mut stream = session.query::<User>().order_by(User::id.asc()).stream().await?;
    /// while let Some(user) = stream.try_next().await? {
    ///     println!("{}", user.read()?.name);
    /// }
    /// ```
    pub async fn stream(self) -> Result<QueryStream<'s, M>> {
        let Query {
            session,
            stmt,
            mode,
            paths,
            columns,
            ..
        } = self;
        session.check_usable()?;
        let skip = crate::loading::skip_mask(M::columns(), M::MODEL_NAME, &columns)?;
        let mut stmt = stmt;
        select_model_columns::<M>(&mut stmt, skip);
        // Only loader options that need no query of their own can go with a stream.
        let mut paths = paths;
        let every = expand_every::<M>(&mut paths);
        let mut raise = Vec::new();
        for path in &paths {
            let Some(step) = path.first() else { continue };
            match step.strategy {
                LoadStrategy::NoLoad | LoadStrategy::Explicit => {}
                LoadStrategy::Raise => raise.push(step.clone()),
                other => {
                    let option = match other {
                        LoadStrategy::Selectin => "selectinload",
                        LoadStrategy::Joined => "joinedload",
                        LoadStrategy::Subquery => "subqueryload",
                        _ => "contains_eager",
                    };
                    return Err(Error::InvalidRequest {
                        message: format!(
                            "{option}({}::{}) cannot be used with stream(): it needs its own query while the stream holds the connection; load it afterwards with session.load, or use all()",
                            step.model, step.relationship
                        ),
                    });
                }
            }
        }
        for info in M::relationships().iter().filter(|_| !every) {
            let lazy = match info.lazy {
                LoadStrategy::Selectin => "selectin",
                LoadStrategy::Joined => "joined",
                LoadStrategy::Subquery => "subquery",
                _ => continue,
            };
            if !paths
                .iter()
                .any(|p| p.first().is_some_and(|s| s.relationship == info.name))
            {
                return Err(Error::InvalidRequest {
                    message: format!(
                        "`{}::{}` loads with lazy = \"{lazy}\" by default, which needs its own query and cannot be used with stream(); add .options(noload({}::{})) and load it afterwards with session.load, or use all()",
                        M::MODEL_NAME,
                        info.name,
                        M::MODEL_NAME,
                        info.name
                    ),
                });
            }
        }
        session.autoflush().await?;
        session.tx().await?;
        let mode = mode.with_skip(skip);
        let rows = async_stream::stream! {
            let Some(mut tx) = session.tx.take() else {
                yield Err(Error::InvalidRequest {
                    message: "the session's transaction ended before the stream started".into(),
                });
                return;
            };
            // Set until the transaction is back in the session: a stream dropped
            // before then took it with it, and the session's next call says so.
            session.streaming = Some(M::MODEL_NAME);
            let mut failed: Option<Error> = None;
            let mut ended: Option<Error> = None;
            {
                let mut rows = tx.fetch(&stmt);
                loop {
                    match futures_util::StreamExt::next(&mut rows).await {
                        None => break,
                        Some(Err(e)) => {
                            // The engine's stream ended with it: the connection is
                            // clean again, and the transaction stays.
                            ended = Some(e);
                            break;
                        }
                        // After a decoding error the rest is read off (and dropped),
                        // so the connection ends clean and the transaction stays.
                        Some(Ok(_)) if failed.is_some() => {}
                        Some(Ok(row)) => {
                            match load_one::<M>(session, &row, mode, &raise) {
                                Ok(obj) => yield Ok(obj),
                                Err(e) => failed = Some(e),
                            }
                        }
                    }
                }
            }
            session.tx = Some(tx);
            session.streaming = None;
            if let Some(e) = ended.or(failed) {
                yield Err(e);
            }
        };
        Ok(QueryStream {
            rows: Box::pin(rows),
        })
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

    /// The object of primary key `key` with this query's loader options: what
    /// [`Session::get`] does, with options (SQLAlchemy's `session.get(User, 5,
    /// options=[...])`):
    ///
    /// ```text
    /// let ed = session.query::<User>().options(selectinload(User::posts)).get(5).await?;
    /// ```
    ///
    /// An object already in the identity map (and not expired) is returned without a
    /// SELECT of its row, and the relationships the options name that it has not loaded
    /// yet are loaded (one SELECT per step; one already loaded is kept, as for a query's
    /// objects); its column options and the model's `lazy` defaults do not apply to it.
    /// Otherwise the query runs with a condition on the key, options and defaults
    /// applied as in [`all`](Query::all). With
    /// [`populate_existing`](Query::populate_existing) or a lock
    /// ([`for_update`](Query::for_update)) the query always runs.
    ///
    /// The query must have nothing but options, `populate_existing` and a lock: filters,
    /// joins, order, limit, offset or DISTINCT are [`Error::InvalidRequest`] (use
    /// `filter(...).one_or_none()`), as is `contains_eager` (it reads a join the query
    /// would have to write).
    pub async fn get(self, key: impl Into<M::PrimaryKey>) -> Result<Option<Obj<M>>> {
        if let Some(what) = self.besides_options() {
            return Err(Error::InvalidRequest {
                message: format!(
                    "Query::get finds a `{}` by its primary key alone, but the query has {what}; use filter(...).one_or_none()",
                    M::MODEL_NAME
                ),
            });
        }
        let key = key.into();
        if !self.mode.populate_existing
            && self.stmt.lock.is_none()
            && let Some(obj) = self.session.identity_hit::<M>(&key)
        {
            let mut paths = self.paths;
            expand_every::<M>(&mut paths);
            // Nothing to load when every path is raiseload / noload, or names one
            // relationship the object has loaded already.
            let loads = paths.iter().any(|p| match p.first() {
                Some(step)
                    if matches!(step.strategy, LoadStrategy::Raise | LoadStrategy::NoLoad) =>
                {
                    false
                }
                Some(step) if p.len() == 1 => !relationship_loaded(&obj.h, step.relationship),
                Some(_) => true,
                None => false,
            });
            if !paths.is_empty() {
                let session = self.session;
                session.check_usable()?;
                crate::session::check_unlocked(&obj.h, "loading its relationships")?;
                if loads {
                    session.autoflush().await?;
                }
                crate::session::selectin::load_paths(
                    session,
                    &[obj.h.uncounted()],
                    &paths,
                    self.mode,
                    None,
                )
                .await?;
                session.dispatch_state_events();
            }
            return Ok(Some(obj));
        }
        let cond = crate::session::unit_of_work::key_cond(M::vtable(), &M::key_values(&key));
        Ok(self.filter(cond).all().await?.into_iter().next())
    }

    /// What the query has besides loader options, for [`get`](Query::get), if anything.
    fn besides_options(&self) -> Option<String> {
        let stmt = &self.stmt;
        let what = match &stmt.body {
            SelectBody::Compound { .. } => "a compound SELECT",
            SelectBody::Core(c) if c.filter.is_some() => "a filter",
            SelectBody::Core(c)
                if c.from.len() > 1 || c.from.iter().any(|f| !f.joins.is_empty()) =>
            {
                "a join"
            }
            SelectBody::Core(c) if c.distinct => "DISTINCT",
            SelectBody::Core(c) if !c.group_by.is_empty() || c.having.is_some() => "a GROUP BY",
            _ if !stmt.order_by.is_empty() => "an ORDER BY",
            _ if stmt.limit.is_some() => "a limit",
            _ if stmt.offset.is_some() => "an offset",
            _ if !stmt.ctes.is_empty() => "a WITH clause",
            _ => {
                let step = self
                    .paths
                    .iter()
                    .flatten()
                    .find(|s| s.strategy == LoadStrategy::ContainsEager)?;
                return Some(format!(
                    "contains_eager({}.{}), which reads a join the query would have to write",
                    step.model, step.relationship
                ));
            }
        };
        Some(what.to_owned())
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

/// Makes `stmt` select the columns of `M` but those of `skip`.
fn select_model_columns<M: Model>(stmt: &mut SelectStatement, skip: u64) {
    if let SelectBody::Core(core) = &mut stmt.body {
        core.columns = model_items_skip(M::vtable(), skip);
    }
}

/// True when relationship `name` of `h` is loaded.
fn relationship_loaded(h: &crate::session::object::Handle, name: &str) -> bool {
    (h.vtable().relationship_index(name))
        .is_some_and(|i| crate::session::vtable::relationship_loaded(h, i))
}

/// Replaces a `raiseload_all::<M>()` path by a `raiseload` of each relationship of `M`
/// that no other path starts with; true if there was one (the model's `lazy` defaults
/// then load nothing).
fn expand_every<M: Model>(paths: &mut Vec<Vec<LoadStep>>) -> bool {
    let is_every = |p: &Vec<LoadStep>| p.len() == 1 && p[0].relationship == crate::loading::EVERY;
    let Some(at) = paths.iter().position(is_every) else {
        return false;
    };
    let wildcard = paths.remove(at);
    paths.retain(|p| !is_every(p));
    let named: Vec<&'static str> = paths
        .iter()
        .filter_map(|p| p.first().map(|s| s.relationship))
        .collect();
    for info in M::relationships() {
        if !named.contains(&info.name) {
            paths.push(vec![LoadStep {
                relationship: info.name,
                ..wildcard[0].clone()
            }]);
        }
    }
    true
}

/// The object of one streamed row, through the identity map, with `raiseload` marks,
/// state events dispatched.
fn load_one<M: Model>(
    session: &mut Session,
    row: &crate::row::Row,
    mode: LoadMode,
    raise: &[LoadStep],
) -> Result<Obj<M>> {
    let obj = session
        .load_rows::<M>(std::slice::from_ref(row), 0, mode)?
        .pop()
        .unwrap_or_else(|| unreachable!("one row gives one object"));
    for step in raise {
        crate::session::selectin::mark_raise(std::slice::from_ref(&obj.h), step)?;
    }
    session.dispatch_state_events();
    Ok(obj)
}

/// The objects of a [`Query::stream`], yielded as their rows arrive. It borrows the
/// session mutably; dropped before its end, it takes the session's transaction with it
/// (see [`Query::stream`]).
#[must_use = "a stream does nothing until polled"]
pub struct QueryStream<'s, M> {
    rows: BoxStream<'s, Result<Obj<M>>>,
}

impl<M: Model> QueryStream<'_, M> {
    /// The next object, `None` at the end of the result. An error ends the stream.
    pub async fn try_next(&mut self) -> Result<Option<Obj<M>>> {
        std::future::poll_fn(|cx| self.rows.as_mut().poll_next(cx))
            .await
            .transpose()
    }
}

impl<M: Model> Stream for QueryStream<'_, M> {
    type Item = Result<Obj<M>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rows.as_mut().poll_next(cx)
    }
}

impl<M> std::fmt::Debug for QueryStream<'_, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryStream").finish_non_exhaustive()
    }
}
