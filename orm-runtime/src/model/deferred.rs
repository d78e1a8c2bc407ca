//! [`Deferred<T>`]: the field type of a column a query may leave unloaded.

use crate::error::{Error, Result};
use crate::value::Value;

/// A column value that may be left unloaded: the field type of a column that
/// `defer(...)`, `undefer(...)` and `load_only(...)` can leave out of a SELECT
/// (SQLAlchemy's deferred column loading).
///
/// A field read never does I/O, so an unloaded value reads as
/// [`Error::ColumnNotLoaded`] naming the model and the column, until a query that
/// selects it, [`Session::load_columns`](crate::session::Session::load_columns) or
/// [`set`](Deferred::set) fills it. `#[orm(deferred)]` on the field leaves it unloaded by
/// default; without it the column loads unless a query defers it.
///
/// The unit of work never writes an unloaded value: it is not part of an UPDATE, and a new
/// object must have every column loaded to be inserted. Setting it marks it loaded and
/// changed. Models and guards keep their plain field syntax:
///
/// ```
/// use orm_runtime::Deferred;
///
/// let mut bio: Deferred<String> = Deferred::new("hello".to_owned());
/// assert_eq!(bio.get().unwrap(), "hello");
/// bio.set("bye".to_owned());
/// assert!(bio.is_loaded());
/// assert_eq!(bio, Deferred::from("bye".to_owned()));
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Deferred<T> {
    state: State<T>,
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum State<T> {
    Loaded(T),
    /// Not loaded; `Model.field` for the error.
    Unloaded(&'static str),
}

impl<T> Deferred<T> {
    /// A loaded value.
    pub const fn new(value: T) -> Self {
        Deferred {
            state: State::Loaded(value),
        }
    }

    /// An unloaded value of the column `Model.field` (made by the generated row decoding).
    #[doc(hidden)]
    pub const fn unloaded(column: &'static str) -> Self {
        Deferred {
            state: State::Unloaded(column),
        }
    }

    /// The value, or [`Error::ColumnNotLoaded`] naming the column when it is not loaded.
    pub fn get(&self) -> Result<&T> {
        match &self.state {
            State::Loaded(v) => Ok(v),
            State::Unloaded(column) => Err(Error::ColumnNotLoaded { column }),
        }
    }

    /// The value, mutably, or [`Error::ColumnNotLoaded`]; changes made through it are
    /// flushed as any other.
    pub fn get_mut(&mut self) -> Result<&mut T> {
        match &mut self.state {
            State::Loaded(v) => Ok(v),
            State::Unloaded(column) => Err(Error::ColumnNotLoaded { column }),
        }
    }

    /// The value when loaded.
    pub fn as_option(&self) -> Option<&T> {
        match &self.state {
            State::Loaded(v) => Some(v),
            State::Unloaded(_) => None,
        }
    }

    /// Sets the value: it is loaded now, and (on a persistent object) written by the
    /// next flush.
    pub fn set(&mut self, value: T) {
        self.state = State::Loaded(value);
    }

    /// True when the value is loaded.
    pub fn is_loaded(&self) -> bool {
        matches!(self.state, State::Loaded(_))
    }

    /// The value, or [`Error::ColumnNotLoaded`].
    pub fn into_inner(self) -> Result<T> {
        match self.state {
            State::Loaded(v) => Ok(v),
            State::Unloaded(column) => Err(Error::ColumnNotLoaded { column }),
        }
    }
}

impl<T> From<T> for Deferred<T> {
    fn from(value: T) -> Self {
        Deferred::new(value)
    }
}

/// A loaded default value (what `Model::new` gives a column it has no argument for).
impl<T: Default> Default for Deferred<T> {
    fn default() -> Self {
        Deferred::new(T::default())
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Deferred<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.state {
            State::Loaded(v) => v.fmt(f),
            State::Unloaded(_) => f.write_str("<not loaded>"),
        }
    }
}

/// The column's value for the unit of work; an unloaded value is `NULL`, and the
/// session never writes it (see [`Model::unloaded_columns`](crate::model::Model)).
#[doc(hidden)]
pub fn deferred_value<T: Clone + Into<Value>>(d: &Deferred<T>) -> Value {
    match &d.state {
        State::Loaded(v) => v.clone().into(),
        State::Unloaded(_) => Value::Null,
    }
}

/// A loaded value serializes as the value, an unloaded one as `null` (as an expired
/// object does).
#[cfg(feature = "serde")]
impl<T: serde::Serialize> serde::Serialize for Deferred<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match &self.state {
            State::Loaded(v) => v.serialize(s),
            State::Unloaded(_) => s.serialize_none(),
        }
    }
}

/// Deserializes a loaded value.
#[cfg(feature = "serde")]
impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Deferred<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        T::deserialize(d).map(Deferred::new)
    }
}
