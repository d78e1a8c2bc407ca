//! Loader options, typed along their path: `selectinload(User::posts).selectinload(Post::tags)`
//! is a [`LoadPath<User, Tag>`], and options for a query of `User` accept only paths that
//! start at `User`.
//!
//! These are the options a query carries; running them is the loaders' work
//! (`selectin` issues one `WHERE key IN (...)` per level, `joined` a LEFT OUTER JOIN).

use std::marker::PhantomData;

use crate::model::relationship::{LoadStrategy, RelatedTarget, Relationship};

/// One step of a loader path: a relationship and how to load it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadStep {
    /// The model the relationship is declared on.
    pub model: &'static str,
    /// The relationship's field name.
    pub relationship: &'static str,
    /// How to load it.
    pub strategy: LoadStrategy,
    /// A joined step that uses an INNER JOIN (`.innerjoin()`).
    pub innerjoin: bool,
    /// A `contains_eager` step whose rows come from an alias of the target's table
    /// (`.from_alias(&a)`); `None`: the table under its own name.
    pub alias: Option<crate::sql::Name>,
}

/// A chain of relationships from `Root` to `Leaf`, each with its loader.
pub struct LoadPath<Root, Leaf> {
    steps: Vec<LoadStep>,
    _p: PhantomData<fn() -> (Root, Leaf)>,
}

impl<Root, Leaf> Clone for LoadPath<Root, Leaf> {
    fn clone(&self) -> Self {
        LoadPath {
            steps: self.steps.clone(),
            _p: PhantomData,
        }
    }
}

impl<Root, Leaf> std::fmt::Debug for LoadPath<Root, Leaf> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(&self.steps).finish()
    }
}

fn start<M: crate::model::Model, T: RelatedTarget>(
    rel: Relationship<M, T>,
    strategy: LoadStrategy,
) -> LoadPath<M, T::Target> {
    LoadPath {
        steps: vec![LoadStep {
            model: M::MODEL_NAME,
            relationship: rel.name(),
            strategy,
            innerjoin: false,
            alias: None,
        }],
        _p: PhantomData,
    }
}

/// Loads `rel` with one extra `SELECT ... WHERE key IN (...)`.
pub fn selectinload<M: crate::model::Model, T: RelatedTarget>(
    rel: Relationship<M, T>,
) -> LoadPath<M, T::Target> {
    start(rel, LoadStrategy::Selectin)
}

/// Loads `rel` with a LEFT OUTER JOIN in the same SELECT.
pub fn joinedload<M: crate::model::Model, T: RelatedTarget>(
    rel: Relationship<M, T>,
) -> LoadPath<M, T::Target> {
    start(rel, LoadStrategy::Joined)
}

/// Loads `rel` with a second SELECT over a subquery of the first.
pub fn subqueryload<M: crate::model::Model, T: RelatedTarget>(
    rel: Relationship<M, T>,
) -> LoadPath<M, T::Target> {
    start(rel, LoadStrategy::Subquery)
}

/// Leaves `rel` unloaded.
pub fn noload<M: crate::model::Model, T: RelatedTarget>(
    rel: Relationship<M, T>,
) -> LoadPath<M, T::Target> {
    start(rel, LoadStrategy::NoLoad)
}

/// Fills `rel` from a join the query itself makes (`.join(..)` / `.join_fk(..)`), so a
/// filtered join loads only the matching related objects. The target's columns are read
/// from its table under its own name, or from an alias with
/// [`from_alias`](LoadPath::from_alias). The query's rows decide what is loaded: the
/// relationship holds exactly the related rows the query returned.
pub fn contains_eager<M: crate::model::Model, T: RelatedTarget>(
    rel: Relationship<M, T>,
) -> LoadPath<M, T::Target> {
    start(rel, LoadStrategy::ContainsEager)
}

/// Makes loading `rel` an error.
pub fn raiseload<M: crate::model::Model, T: RelatedTarget>(
    rel: Relationship<M, T>,
) -> LoadPath<M, T::Target> {
    start(rel, LoadStrategy::Raise)
}

impl<Root, Leaf: crate::sql::HasTable> LoadPath<Root, Leaf> {
    /// For a `contains_eager` last step: the joined rows are those of `alias` (the
    /// query joined `Leaf`'s table under that name).
    pub fn from_alias(mut self, alias: &crate::sql::Alias<Leaf>) -> Self {
        if let Some(last) = self.steps.last_mut() {
            last.alias = Some(crate::sql::Name::Owned(alias.name().to_owned()));
        }
        self
    }
}

impl<Root, Leaf> LoadPath<Root, Leaf> {
    /// Makes the last step, a `joinedload`, an INNER JOIN: only objects that have the
    /// related row are found (SQLAlchemy's `innerjoin=True`). No effect on other steps.
    pub fn innerjoin(mut self) -> Self {
        if let Some(last) = self.steps.last_mut() {
            last.innerjoin = last.strategy == LoadStrategy::Joined;
        }
        self
    }
}

impl<Root, Leaf: crate::model::Model> LoadPath<Root, Leaf> {
    fn then<T: RelatedTarget>(
        mut self,
        rel: Relationship<Leaf, T>,
        strategy: LoadStrategy,
    ) -> LoadPath<Root, T::Target> {
        self.steps.push(LoadStep {
            model: Leaf::MODEL_NAME,
            relationship: rel.name(),
            strategy,
            innerjoin: false,
            alias: None,
        });
        LoadPath {
            steps: self.steps,
            _p: PhantomData,
        }
    }

    /// Continues the path with `rel` of the model reached so far, loaded by `selectin`.
    pub fn selectinload<T: RelatedTarget>(
        self,
        rel: Relationship<Leaf, T>,
    ) -> LoadPath<Root, T::Target> {
        self.then(rel, LoadStrategy::Selectin)
    }

    /// Then fills `rel` from a join the query makes, as [`contains_eager`].
    pub fn contains_eager<T: RelatedTarget>(
        self,
        rel: Relationship<Leaf, T>,
    ) -> LoadPath<Root, T::Target> {
        self.then(rel, LoadStrategy::ContainsEager)
    }

    /// Continues the path with `rel`, loaded by a join.
    pub fn joinedload<T: RelatedTarget>(
        self,
        rel: Relationship<Leaf, T>,
    ) -> LoadPath<Root, T::Target> {
        self.then(rel, LoadStrategy::Joined)
    }

    /// Continues the path with `rel`, loaded by a subquery.
    pub fn subqueryload<T: RelatedTarget>(
        self,
        rel: Relationship<Leaf, T>,
    ) -> LoadPath<Root, T::Target> {
        self.then(rel, LoadStrategy::Subquery)
    }

    /// Continues the path with `rel`, left unloaded.
    pub fn noload<T: RelatedTarget>(self, rel: Relationship<Leaf, T>) -> LoadPath<Root, T::Target> {
        self.then(rel, LoadStrategy::NoLoad)
    }

    /// Continues the path with `rel`, whose loading is an error.
    pub fn raiseload<T: RelatedTarget>(
        self,
        rel: Relationship<Leaf, T>,
    ) -> LoadPath<Root, T::Target> {
        self.then(rel, LoadStrategy::Raise)
    }
}

impl<Root, Leaf> LoadPath<Root, Leaf> {
    /// The steps, from the root.
    pub fn steps(&self) -> &[LoadStep] {
        &self.steps
    }
}

/// The loader options of a query for `M`: only paths starting at `M` are accepted.
#[derive(Debug, Clone)]
pub struct LoadOptions<M> {
    paths: Vec<Vec<LoadStep>>,
    _m: PhantomData<fn() -> M>,
}

impl<M> Default for LoadOptions<M> {
    fn default() -> Self {
        LoadOptions {
            paths: Vec::new(),
            _m: PhantomData,
        }
    }
}

impl<M> LoadOptions<M> {
    /// No options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a path; it must start at `M`.
    pub fn with<Leaf>(mut self, path: LoadPath<M, Leaf>) -> Self {
        self.paths.push(path.steps);
        self
    }

    /// The paths, as steps.
    pub fn paths(&self) -> &[Vec<LoadStep>] {
        &self.paths
    }
}
