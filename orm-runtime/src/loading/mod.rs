//! Loader options, typed along their path: `selectinload(User::posts).selectinload(Post::tags)`
//! is a [`LoadPath<User, Tag>`], and options for a query of `User` accept only paths that
//! start at `User`.
//!
//! These are the options a query carries; running them is the loaders' work
//! (`selectin` issues one `WHERE key IN (...)` per level, `joined` a LEFT OUTER JOIN).

use std::marker::PhantomData;

use crate::model::relationship::{LoadStrategy, RelatedTarget, Relationship};
use crate::sql::{Column, IsDeferrable};

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
    /// Column options (`defer`, `undefer`, `undefer_group`, `load_only`) for the objects
    /// this step loads.
    pub columns: Vec<ColumnOption>,
}

/// How a column option changes which columns of a model a query loads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnOption {
    /// Leave this [`Deferred`](crate::model::Deferred) column unloaded.
    Defer(&'static str),
    /// Load this [`Deferred`](crate::model::Deferred) column (one deferred by default
    /// included).
    Undefer(&'static str),
    /// Load every column of this deferred column group (`#[orm(deferred, group = "...")]`).
    UndeferGroup(&'static str),
    /// Load these columns, the primary key and every non-`Deferred` column; leave every
    /// other `Deferred` column unloaded.
    LoadOnly(Vec<&'static str>),
}

/// The columns a query of the model of `vt` leaves out under `options` (bit `i` for
/// column `i`): the columns deferred by default, then each option in order.
pub(crate) fn skip_mask(
    columns: &[crate::model::ColumnInfo],
    model: &str,
    options: &[ColumnOption],
) -> crate::error::Result<u64> {
    let mut skip = crate::model::default_skip(columns);
    let index = |name: &str| -> crate::error::Result<usize> {
        match columns.iter().position(|c| c.name == name) {
            Some(i) if i < 64 && columns[i].deferrable => Ok(i),
            Some(_) => Err(crate::error::Error::InvalidRequest {
                message: format!(
                    "column `{model}.{name}` cannot be deferred: its field is not `Deferred<T>`"
                ),
            }),
            None => Err(crate::error::Error::InvalidRequest {
                message: format!("`{model}` has no column `{name}`"),
            }),
        }
    };
    for o in options {
        match o {
            ColumnOption::Defer(c) => skip |= 1 << index(c)?,
            ColumnOption::Undefer(c) => skip &= !(1 << index(c)?),
            ColumnOption::UndeferGroup(g) => skip &= !group_mask(columns, model, g)?,
            ColumnOption::LoadOnly(listed) => {
                for name in listed {
                    if !columns.iter().any(|c| c.name == *name) {
                        return Err(crate::error::Error::InvalidRequest {
                            message: format!("`{model}` has no column `{name}`"),
                        });
                    }
                }
                for (i, c) in columns.iter().enumerate().take(64) {
                    if c.deferrable {
                        if listed.contains(&c.name) {
                            skip &= !(1 << i);
                        } else {
                            skip |= 1 << i;
                        }
                    }
                }
            }
        }
    }
    Ok(skip)
}

/// The columns of deferred column group `group` (bit `i` for column `i`); an error naming
/// the model, the group and the groups it has when no column belongs to it.
fn group_mask(
    columns: &[crate::model::ColumnInfo],
    model: &str,
    group: &str,
) -> crate::error::Result<u64> {
    let mask = columns
        .iter()
        .enumerate()
        .take(64)
        .filter(|(_, c)| c.deferrable && c.group == Some(group))
        .fold(0u64, |m, (i, _)| m | 1 << i);
    if mask != 0 {
        return Ok(mask);
    }
    let mut groups: Vec<&str> = columns.iter().filter_map(|c| c.group).collect();
    groups.sort_unstable();
    groups.dedup();
    let known = if groups.is_empty() {
        "it has none".to_owned()
    } else {
        format!("its groups: {}", groups.join(", "))
    };
    Err(crate::error::Error::InvalidRequest {
        message: format!("`{model}` has no deferred column group `{group}` ({known})"),
    })
}

/// Columns of `M` for [`load_only`]: a tuple of columns (`(User::name, User::bio)`), an
/// array (`[User::bio]`) or a `Vec`.
pub trait ColumnList<M> {
    /// The columns' names.
    fn names(self) -> Vec<&'static str>;
}

impl<M: crate::sql::HasTable, T, D, const N: usize> ColumnList<M> for [Column<M, T, D>; N] {
    fn names(self) -> Vec<&'static str> {
        self.iter().map(|c| c.name()).collect()
    }
}

impl<M: crate::sql::HasTable, T, D> ColumnList<M> for Vec<Column<M, T, D>> {
    fn names(self) -> Vec<&'static str> {
        self.iter().map(|c| c.name()).collect()
    }
}

macro_rules! column_tuples {
    ($($t:ident $d:ident $i:tt),+) => {
        impl<M: crate::sql::HasTable, $($t, $d),+> ColumnList<M> for ($(Column<M, $t, $d>,)+) {
            fn names(self) -> Vec<&'static str> {
                vec![$(self.$i.name()),+]
            }
        }

        impl<M: crate::sql::HasTable, $($t, $d),+> ColumnsToLoad<M> for ($(Column<M, $t, $d>,)+) {
            fn resolve(self) -> crate::error::Result<Vec<&'static str>> {
                Ok(ColumnList::<M>::names(self))
            }
        }
    };
}
column_tuples!(T0 D0 0);
column_tuples!(T0 D0 0, T1 D1 1);
column_tuples!(T0 D0 0, T1 D1 1, T2 D2 2);
column_tuples!(T0 D0 0, T1 D1 1, T2 D2 2, T3 D3 3);
column_tuples!(T0 D0 0, T1 D1 1, T2 D2 2, T3 D3 3, T4 D4 4);
column_tuples!(T0 D0 0, T1 D1 1, T2 D2 2, T3 D3 3, T4 D4 4, T5 D5 5);
column_tuples!(T0 D0 0, T1 D1 1, T2 D2 2, T3 D3 3, T4 D4 4, T5 D5 5, T6 D6 6);
column_tuples!(T0 D0 0, T1 D1 1, T2 D2 2, T3 D3 3, T4 D4 4, T5 D5 5, T6 D6 6, T7 D7 7);

/// What [`Session::load_columns`](crate::session::Session::load_columns) loads: columns
/// of `M` (a tuple `(User::bio,)`, an array `[User::bio]` or a `Vec`, as for
/// [`ColumnList`]) or a deferred column group ([`column_group`]).
pub trait ColumnsToLoad<M> {
    /// The columns' names; an error when they name nothing `M` has (an unknown group).
    fn resolve(self) -> crate::error::Result<Vec<&'static str>>;
}

impl<M: crate::sql::HasTable, T, D, const N: usize> ColumnsToLoad<M> for [Column<M, T, D>; N] {
    fn resolve(self) -> crate::error::Result<Vec<&'static str>> {
        Ok(ColumnList::<M>::names(self))
    }
}

impl<M: crate::sql::HasTable, T, D> ColumnsToLoad<M> for Vec<Column<M, T, D>> {
    fn resolve(self) -> crate::error::Result<Vec<&'static str>> {
        Ok(ColumnList::<M>::names(self))
    }
}

/// The deferred column group `name` of `M`, for
/// [`Session::load_columns`](crate::session::Session::load_columns); made by
/// [`column_group`].
pub struct ColumnGroup<M> {
    name: &'static str,
    _m: PhantomData<fn() -> M>,
}

impl<M> std::fmt::Debug for ColumnGroup<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ColumnGroup").field(&self.name).finish()
    }
}

/// Every column of the deferred column group `name` (`#[orm(deferred, group = "...")]`),
/// for [`Session::load_columns`](crate::session::Session::load_columns):
/// `session.load_columns(&user, column_group("photos"))` loads the group in one SELECT.
/// `M` is the object's model; a group it does not have is
/// [`Error::InvalidRequest`](crate::error::Error::InvalidRequest) naming the model and
/// the group, and nothing runs.
pub fn column_group<M: crate::model::Model>(name: &'static str) -> ColumnGroup<M> {
    ColumnGroup {
        name,
        _m: PhantomData,
    }
}

impl<M: crate::model::Model> ColumnsToLoad<M> for ColumnGroup<M> {
    fn resolve(self) -> crate::error::Result<Vec<&'static str>> {
        let mask = group_mask(M::columns(), M::MODEL_NAME, self.name)?;
        Ok(M::columns()
            .iter()
            .enumerate()
            .filter(|(i, _)| *i < 64 && mask & (1 << i) != 0)
            .map(|(_, c)| c.name)
            .collect())
    }
}

/// A chain of relationships from `Root` to `Leaf`, each with its loader.
pub struct LoadPath<Root, Leaf> {
    /// Column options for `Root` itself (`defer(User::bio)` before any step).
    root_columns: Vec<ColumnOption>,
    steps: Vec<LoadStep>,
    _p: PhantomData<fn() -> (Root, Leaf)>,
}

impl<Root, Leaf> Clone for LoadPath<Root, Leaf> {
    fn clone(&self) -> Self {
        LoadPath {
            root_columns: self.root_columns.clone(),
            steps: self.steps.clone(),
            _p: PhantomData,
        }
    }
}

impl<Root, Leaf> std::fmt::Debug for LoadPath<Root, Leaf> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadPath")
            .field("columns", &self.root_columns)
            .field("steps", &self.steps)
            .finish()
    }
}

fn start<M: crate::model::Model, T: RelatedTarget>(
    rel: Relationship<M, T>,
    strategy: LoadStrategy,
) -> LoadPath<M, T::Target> {
    LoadPath {
        root_columns: Vec::new(),
        steps: vec![LoadStep {
            model: M::MODEL_NAME,
            relationship: rel.name(),
            strategy,
            innerjoin: false,
            alias: None,
            columns: Vec::new(),
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

/// The relationship name of a wildcard step: every relationship of its model that no
/// other option of the query names (SQLAlchemy's `"*"`).
pub(crate) const EVERY: &str = "*";

/// The end of a path that names every relationship of a model
/// ([`raiseload_all`], [`LoadPath::raiseload_all`]): nothing follows it.
#[derive(Debug, Clone, Copy)]
pub enum EveryRelationship {}

fn every<M: crate::model::Model>(strategy: LoadStrategy) -> LoadStep {
    LoadStep {
        model: M::MODEL_NAME,
        relationship: EVERY,
        strategy,
        innerjoin: false,
        alias: None,
        columns: Vec::new(),
    }
}

/// Makes reading any relationship of `M` that the query does not load an error
/// ([`Error::RaiseLoad`](crate::error::Error::RaiseLoad)), as SQLAlchemy's
/// `raiseload("*")`: every relationship but those another option of the query names
/// (loaded by it, or left to `noload`), the model's `lazy = "selectin"` / `"joined"` /
/// `"subquery"` defaults included (the wildcard overrides them, so they load nothing).
/// For code that must never find an unloaded relationship by surprise.
pub fn raiseload_all<M: crate::model::Model>() -> LoadPath<M, EveryRelationship> {
    LoadPath {
        root_columns: Vec::new(),
        steps: vec![every::<M>(LoadStrategy::Raise)],
        _p: PhantomData,
    }
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
            columns: Vec::new(),
        });
        LoadPath {
            root_columns: self.root_columns,
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

    /// Ends the path making every relationship of the objects it reaches that is not
    /// loaded by then an error to read, their models' `lazy` defaults included
    /// ([`raiseload_all`] for the objects of the path's last step):
    /// `selectinload(User::posts).raiseload_all()`.
    pub fn raiseload_all(mut self) -> LoadPath<Root, EveryRelationship> {
        self.steps.push(every::<Leaf>(LoadStrategy::Raise));
        LoadPath {
            root_columns: self.root_columns,
            steps: self.steps,
            _p: PhantomData,
        }
    }
}

impl<Root, Leaf> LoadPath<Root, Leaf> {
    /// The steps, from the root.
    pub fn steps(&self) -> &[LoadStep] {
        &self.steps
    }

    /// Column options for the queried model itself (given before any step).
    pub fn root_columns(&self) -> &[ColumnOption] {
        &self.root_columns
    }

    fn column_option(mut self, o: ColumnOption) -> Self {
        match self.steps.last_mut() {
            Some(last) => last.columns.push(o),
            None => self.root_columns.push(o),
        }
        self
    }
}

impl<Root, Leaf: crate::sql::HasTable> LoadPath<Root, Leaf> {
    /// Leaves `column` of the objects the path reaches unloaded (see [`defer`]).
    pub fn defer<T, D: IsDeferrable>(self, column: Column<Leaf, T, D>) -> Self {
        self.column_option(ColumnOption::Defer(column.name()))
    }

    /// Loads `column` of the objects the path reaches (see [`undefer`]).
    pub fn undefer<T, D: IsDeferrable>(self, column: Column<Leaf, T, D>) -> Self {
        self.column_option(ColumnOption::Undefer(column.name()))
    }

    /// Loads every column of the deferred column group `group` of the objects the path
    /// reaches (see [`undefer_group`]): `selectinload(User::posts).undefer_group("media")`.
    pub fn undefer_group(self, group: &'static str) -> Self {
        self.column_option(ColumnOption::UndeferGroup(group))
    }

    /// Loads only `columns` (with the key and every non-`Deferred` column) of the
    /// objects the path reaches (see [`load_only`]).
    pub fn load_only(self, columns: impl ColumnList<Leaf>) -> Self {
        self.column_option(ColumnOption::LoadOnly(columns.names()))
    }
}

fn columns_of_root<M>(o: ColumnOption) -> LoadPath<M, M> {
    LoadPath {
        root_columns: vec![o],
        steps: Vec::new(),
        _p: PhantomData,
    }
}

/// Leaves the [`Deferred`](crate::model::Deferred) column `column` out of the query's
/// SELECT: reading it is [`Error::ColumnNotLoaded`](crate::error::Error::ColumnNotLoaded)
/// until something loads it (SQLAlchemy's `defer`). Only columns whose field is
/// `Deferred<T>` are accepted. `selectinload(User::posts).defer(Post::body)` defers a
/// column of the related objects.
pub fn defer<M: crate::sql::HasTable, T, D: IsDeferrable>(
    column: Column<M, T, D>,
) -> LoadPath<M, M> {
    columns_of_root(ColumnOption::Defer(column.name()))
}

/// Loads the [`Deferred`](crate::model::Deferred) column `column`, one deferred by
/// default (`#[orm(deferred)]`) included (SQLAlchemy's `undefer`).
pub fn undefer<M: crate::sql::HasTable, T, D: IsDeferrable>(
    column: Column<M, T, D>,
) -> LoadPath<M, M> {
    columns_of_root(ColumnOption::Undefer(column.name()))
}

/// Loads every column of the deferred column group `group` of `M`: the `Deferred<T>`
/// fields marked `#[orm(deferred, group = "...")]` with that name (SQLAlchemy's
/// `undefer_group`). The model is the query's (or, on a step,
/// `selectinload(User::posts).undefer_group("media")`, the step's), so only the name is
/// a string; it is checked when the query runs: a group the model does not have makes
/// [`Query::all`](crate::session::Query::all) (and its siblings) fail with
/// [`Error::InvalidRequest`](crate::error::Error::InvalidRequest) naming the model and
/// the group. Column options apply in order: `undefer_group("photos")` then
/// `defer(User::banner)` loads the group but `banner`. The `orm` crate's session guide
/// ("Loading columns") has a complete example.
pub fn undefer_group<M: crate::sql::HasTable>(group: &'static str) -> LoadPath<M, M> {
    columns_of_root(ColumnOption::UndeferGroup(group))
}

/// Loads `columns`, the primary key and every column whose field is not `Deferred<T>`;
/// every other [`Deferred`](crate::model::Deferred) column is left unloaded
/// (SQLAlchemy's `load_only`, where a plain field is always loaded).
pub fn load_only<M: crate::sql::HasTable>(columns: impl ColumnList<M>) -> LoadPath<M, M> {
    columns_of_root(ColumnOption::LoadOnly(columns.names()))
}

/// The loader options of a query for `M`: only paths starting at `M` are accepted.
#[derive(Debug, Clone)]
pub struct LoadOptions<M> {
    paths: Vec<Vec<LoadStep>>,
    columns: Vec<ColumnOption>,
    _m: PhantomData<fn() -> M>,
}

impl<M> Default for LoadOptions<M> {
    fn default() -> Self {
        LoadOptions {
            paths: Vec::new(),
            columns: Vec::new(),
            _m: PhantomData,
        }
    }
}

impl<M> LoadOptions<M> {
    /// No options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a path; it must start at `M`. Column options for `M` itself (`defer(..)`)
    /// go to [`columns`](LoadOptions::columns), a path without steps adds no path.
    pub fn with<Leaf>(mut self, path: LoadPath<M, Leaf>) -> Self {
        self.columns.extend(path.root_columns);
        if !path.steps.is_empty() {
            self.paths.push(path.steps);
        }
        self
    }

    /// The column options for `M` itself.
    pub fn columns(&self) -> &[ColumnOption] {
        &self.columns
    }

    /// The paths, as steps.
    pub fn paths(&self) -> &[Vec<LoadStep>] {
        &self.paths
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ColumnInfo;

    fn col(name: &'static str, deferrable: bool, group: Option<&'static str>) -> ColumnInfo {
        ColumnInfo {
            name,
            field: name,
            primary_key: name == "id",
            generated: false,
            server_default: false,
            version: false,
            deferrable,
            deferred: deferrable,
            group,
        }
    }

    #[test]
    fn undefer_group_clears_the_group_bits_in_order() {
        let cols = [
            col("id", false, None),
            col("avatar", true, Some("photos")),
            col("notes", true, None),
            col("cover", true, Some("media")),
            col("banner", true, Some("photos")),
        ];
        assert_eq!(skip_mask(&cols, "User", &[]).unwrap(), 0b11110);
        let group = ColumnOption::UndeferGroup("photos");
        assert_eq!(
            skip_mask(&cols, "User", std::slice::from_ref(&group)).unwrap(),
            0b01100
        );
        let then_defer = [group, ColumnOption::Defer("banner")];
        assert_eq!(skip_mask(&cols, "User", &then_defer).unwrap(), 0b11100);
    }

    #[test]
    fn an_unknown_group_names_the_model_the_group_and_the_groups_it_has() {
        let cols = [
            col("id", false, None),
            col("b1", true, Some("b")),
            col("a1", true, Some("a")),
            col("b2", true, Some("b")),
        ];
        let err = skip_mask(&cols, "User", &[ColumnOption::UndeferGroup("c")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            crate::error::Error::InvalidRequest {
                message: "`User` has no deferred column group `c` (its groups: a, b)".into()
            }
            .to_string()
        );
        let err = skip_mask(&cols[..1], "Tag", &[ColumnOption::UndeferGroup("c")]).unwrap_err();
        assert!(
            err.to_string()
                .contains("`Tag` has no deferred column group `c` (it has none)"),
            "{err}"
        );
    }
}
