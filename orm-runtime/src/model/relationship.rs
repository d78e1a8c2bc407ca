//! Relationships between models: the field type [`Related`], the typed descriptor
//! [`Relationship`] (`User::posts`), and the metadata the derive records for each.

use std::marker::PhantomData;

use crate::error::{Error, Result};

/// A relationship field's value: loaded, or not loaded yet.
///
/// Rust cannot run I/O inside a field read, so an unloaded relationship is never fetched
/// behind your back: reading it is [`Error::NotLoaded`], which names it. Load it with a
/// loader option on the query, or explicitly.
///
/// The value lives behind a `Box`, so a model can relate to itself
/// (`manager: Related<Option<Employee>>` inside `Employee`).
#[derive(Clone, PartialEq)]
pub struct Related<T> {
    value: Option<Box<T>>,
    name: &'static str,
}

impl<T> Related<T> {
    /// Not loaded; `name` (`"User.posts"`) appears in the error a read gives.
    pub const fn unloaded(name: &'static str) -> Self {
        Related { value: None, name }
    }

    /// Loaded with `value`.
    pub fn loaded(name: &'static str, value: T) -> Self {
        Related {
            value: Some(Box::new(value)),
            name,
        }
    }

    /// The loaded value, or [`Error::NotLoaded`].
    pub fn get(&self) -> Result<&T> {
        self.value.as_deref().ok_or(Error::NotLoaded {
            relationship: self.name,
        })
    }

    /// The loaded value, mutably, or [`Error::NotLoaded`].
    pub fn get_mut(&mut self) -> Result<&mut T> {
        self.value.as_deref_mut().ok_or(Error::NotLoaded {
            relationship: self.name,
        })
    }

    /// Sets the value (it is now loaded).
    pub fn set(&mut self, value: T) {
        self.value = Some(Box::new(value));
    }

    /// Forgets the value (it is now unloaded).
    pub fn unload(&mut self) -> Option<T> {
        self.value.take().map(|b| *b)
    }

    /// True when loaded.
    pub fn is_loaded(&self) -> bool {
        self.value.is_some()
    }

    /// The relationship's name, `Model.field`.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

impl<T> Default for Related<T> {
    fn default() -> Self {
        Related {
            value: None,
            name: "<relationship>",
        }
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Related<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.value {
            Some(v) => v.fmt(f),
            None => write!(f, "<{} not loaded>", self.name),
        }
    }
}

// `Related<T>` is `Send`/`Sync` when its target is a model: `Model` requires `Send + Sync`
// of every model, checked once where each model implements it. The auto-trait impls would
// instead recurse through every relationship of every related model, and a graph of a few
// dozen related models exceeds rustc's recursion limit (E0275).
//
// SAFETY: `Related<T>` owns an `Option<Box<T>>` and a `&'static str`. `T` is a model, a
// `Vec` of models or an `Option` of a model (the only `RelatedTarget` impls whose target
// is a `Model`), and every `Model` is `Send + Sync`, so `T` is too.
unsafe impl<T> Send for Related<T>
where
    T: RelatedTarget,
    T::Target: crate::model::Model,
{
}

// SAFETY: as for `Send` above.
unsafe impl<T> Sync for Related<T>
where
    T: RelatedTarget,
    T::Target: crate::model::Model,
{
}

/// A loaded relationship serializes as its value, an unloaded one as `null`.
#[cfg(feature = "serde")]
impl<T: serde::Serialize> serde::Serialize for Related<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.value.as_deref().serialize(s)
    }
}

/// `null` deserializes as unloaded, anything else as loaded.
#[cfg(feature = "serde")]
impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Related<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let value = Option::<T>::deserialize(d)?;
        Ok(Related {
            value: value.map(Box::new),
            name: "<deserialized>",
        })
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
    /// `remote_side` of a self-referential relationship.
    pub remote_side: &'static [&'static str],
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
    fn unloaded_reads_name_the_relationship() {
        let r: Related<Vec<i32>> = Related::unloaded("User.posts");
        let err = r.get().unwrap_err();
        assert_eq!(
            err.to_string(),
            "relationship `User.posts` is not loaded; load it with a loader option or session.load()"
        );
        let mut r = r;
        r.set(vec![1]);
        assert_eq!(r.get().unwrap(), &[1]);
        assert_eq!(
            format!("{:?}", Related::<i32>::unloaded("Post.author")),
            "<Post.author not loaded>"
        );
    }

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
