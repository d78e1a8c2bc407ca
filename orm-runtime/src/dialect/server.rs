//! What the server behind a dialect can run: its version, read at connect time, and the
//! [`Capabilities`] that version brings.
//!
//! The compiler asks [`ServerInfo::has`] before writing a construct that not every
//! version of a dialect has (`INSERT ... RETURNING` on MariaDB 10.4, a CTE on MySQL 5.7)
//! and refuses it with an error naming the server rather than send SQL the server
//! cannot parse. A statement compiled for a bare [`Dialect`] assumes the latest server.

use std::fmt;

use super::Dialect;

/// A server version: `major.minor.patch`, as read from the server at connect time.
///
/// ```
/// use orm_runtime::ServerVersion;
/// assert_eq!(ServerVersion::parse("10.11.6-MariaDB-ubu2204"), Some(ServerVersion::new(10, 11, 6)));
/// assert_eq!(ServerVersion::parse("15.4 (Debian 15.4-1.pgdg120+1)"), Some(ServerVersion::new(15, 4, 0)));
/// assert!(ServerVersion::new(8, 0, 20) > ServerVersion::new(8, 0, 19));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServerVersion {
    /// The major version (`10` of `10.11.6`).
    pub major: u16,
    /// The minor version (`11` of `10.11.6`).
    pub minor: u16,
    /// The patch version (`6` of `10.11.6`; `0` when the server gives none).
    pub patch: u16,
}

impl ServerVersion {
    /// `major.minor.patch`.
    pub const fn new(major: u16, minor: u16, patch: u16) -> ServerVersion {
        ServerVersion {
            major,
            minor,
            patch,
        }
    }

    /// The version at the start of a server's version string: PostgreSQL's
    /// `server_version` (`15.4`, `16beta1`, `15.4 (Debian ...)`), MySQL's and MariaDB's
    /// `VERSION()` (`8.0.36-0ubuntu0.22.04.1`, `10.11.6-MariaDB-log`, also with the
    /// `5.5.5-` prefix older MariaDB servers put in the handshake), SQLite's
    /// `sqlite_version()` (`3.45.0`). `None` when it does not start with a number.
    pub fn parse(s: &str) -> Option<ServerVersion> {
        let s = s.trim();
        let s = match s.strip_prefix("5.5.5-") {
            Some(rest) if s.contains("MariaDB") => rest,
            _ => s,
        };
        let mut parts = [0u16; 3];
        let mut rest = s;
        for (i, part) in parts.iter_mut().enumerate() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                if i == 0 {
                    return None;
                }
                break;
            }
            *part = rest[..digits].parse().ok()?;
            rest = &rest[digits..];
            match rest.strip_prefix('.') {
                Some(r) => rest = r,
                None => break,
            }
        }
        Some(ServerVersion::new(parts[0], parts[1], parts[2]))
    }
}

impl fmt::Display for ServerVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// A construct that some versions of a dialect have and others lack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Feature {
    /// `INSERT ... RETURNING` (PostgreSQL; MariaDB 10.5+; SQLite 3.35+).
    InsertReturning,
    /// `UPDATE ... RETURNING` (PostgreSQL; SQLite 3.35+).
    UpdateReturning,
    /// `DELETE ... RETURNING` (PostgreSQL; MariaDB 10.0.5+; SQLite 3.35+).
    DeleteReturning,
    /// `WITH` common table expressions (MySQL 8.0.1+, MariaDB 10.2.1+, SQLite 3.8.3+).
    Cte,
    /// Window functions, `f() OVER (...)` (MySQL 8.0.2+, MariaDB 10.2+, SQLite 3.25+).
    WindowFunctions,
    /// `FOR SHARE` (PostgreSQL; MySQL 8.0.1+). Without it MySQL and MariaDB spell a
    /// shared lock `LOCK IN SHARE MODE`.
    ForShare,
    /// `FOR UPDATE NOWAIT` (PostgreSQL; MySQL 8.0.1+; MariaDB 10.3+).
    Nowait,
    /// `FOR UPDATE SKIP LOCKED` (PostgreSQL 9.5+; MySQL 8.0.1+; MariaDB 10.6+).
    SkipLocked,
    /// Upserts: `INSERT ... ON CONFLICT` (PostgreSQL 9.5+, SQLite 3.24+) or
    /// `ON DUPLICATE KEY UPDATE` (every MySQL and MariaDB).
    Upsert,
    /// MySQL 8.0.20+'s row alias, `INSERT ... AS new ON DUPLICATE KEY UPDATE c = new.c`,
    /// which replaces the deprecated `VALUES(c)` (MariaDB keeps `VALUES(c)`). A choice of
    /// spelling: without it the compiler writes `VALUES(c)`.
    UpsertRowAlias,
    /// PostgreSQL 9.3+'s weaker row locks, `FOR NO KEY UPDATE` and `FOR KEY SHARE`. A
    /// choice of spelling: without it the compiler takes the nearest stronger lock the
    /// server has (`FOR UPDATE`; `FOR SHARE` or `LOCK IN SHARE MODE`).
    KeyLocks,
    /// Row values, `(a, b) = (1, 2)` and `(a, b) IN (...)` (SQLite 3.15+; every
    /// PostgreSQL, MySQL and MariaDB the drivers speak to).
    RowValues,
    /// `ON CONFLICT DO UPDATE` without a conflict target, on a conflict with any unique
    /// key (SQLite 3.35+; MySQL's and MariaDB's `ON DUPLICATE KEY UPDATE` never names
    /// one). PostgreSQL requires a target.
    UpsertWithoutTarget,
}

impl Feature {
    /// Every feature, in bit order.
    pub const ALL: [Feature; 13] = [
        Feature::InsertReturning,
        Feature::UpdateReturning,
        Feature::DeleteReturning,
        Feature::Cte,
        Feature::WindowFunctions,
        Feature::ForShare,
        Feature::Nowait,
        Feature::SkipLocked,
        Feature::Upsert,
        Feature::UpsertRowAlias,
        Feature::KeyLocks,
        Feature::RowValues,
        Feature::UpsertWithoutTarget,
    ];

    /// The construct as SQL spells it, for messages: `INSERT ... RETURNING`.
    pub fn sql(self) -> &'static str {
        match self {
            Feature::InsertReturning => "INSERT ... RETURNING",
            Feature::UpdateReturning => "UPDATE ... RETURNING",
            Feature::DeleteReturning => "DELETE ... RETURNING",
            Feature::Cte => "WITH (a common table expression)",
            Feature::WindowFunctions => "a window function (OVER)",
            Feature::ForShare => "FOR SHARE",
            Feature::Nowait => "FOR UPDATE NOWAIT",
            Feature::SkipLocked => "FOR UPDATE SKIP LOCKED",
            Feature::Upsert => "an upsert (INSERT ... ON CONFLICT)",
            Feature::UpsertRowAlias => "INSERT ... AS new ON DUPLICATE KEY UPDATE",
            Feature::KeyLocks => "FOR NO KEY UPDATE / FOR KEY SHARE",
            Feature::RowValues => "a row value ((a, b))",
            Feature::UpsertWithoutTarget => "ON CONFLICT DO UPDATE without a conflict target",
        }
    }

    const fn bit(self) -> u16 {
        1 << self as u16
    }
}

impl Dialect {
    /// The first server version of this dialect that has `feature`; `None` when no
    /// version has it (MySQL's RETURNING, MariaDB's `FOR SHARE`), or it does not apply
    /// (SQLite's row locks, which it renders as nothing).
    pub fn feature_since(self, feature: Feature) -> Option<ServerVersion> {
        use Feature::*;
        let v = ServerVersion::new;
        match (self, feature) {
            (Dialect::Postgres, InsertReturning | UpdateReturning | DeleteReturning) => {
                Some(v(8, 2, 0))
            }
            (Dialect::Postgres, Cte | WindowFunctions) => Some(v(8, 4, 0)),
            (Dialect::Postgres, ForShare | Nowait) => Some(v(8, 1, 0)),
            (Dialect::Postgres, SkipLocked | Upsert) => Some(v(9, 5, 0)),
            (Dialect::Postgres, UpsertRowAlias | UpsertWithoutTarget) => None,
            (Dialect::Postgres, KeyLocks) => Some(v(9, 3, 0)),
            (Dialect::Postgres, RowValues) => Some(v(8, 2, 0)),

            (Dialect::MySql, InsertReturning | UpdateReturning | DeleteReturning | KeyLocks) => {
                None
            }
            (Dialect::MySql, Cte | ForShare | Nowait | SkipLocked) => Some(v(8, 0, 1)),
            (Dialect::MySql, WindowFunctions) => Some(v(8, 0, 2)),
            (Dialect::MySql, Upsert | UpsertWithoutTarget) => Some(v(4, 1, 0)),
            (Dialect::MySql, UpsertRowAlias) => Some(v(8, 0, 20)),
            (Dialect::MySql, RowValues) => Some(v(4, 1, 0)),

            (Dialect::MariaDb, InsertReturning) => Some(v(10, 5, 0)),
            (Dialect::MariaDb, DeleteReturning) => Some(v(10, 0, 5)),
            (Dialect::MariaDb, UpdateReturning | ForShare | UpsertRowAlias | KeyLocks) => None,
            (Dialect::MariaDb, Cte) => Some(v(10, 2, 1)),
            (Dialect::MariaDb, WindowFunctions) => Some(v(10, 2, 0)),
            (Dialect::MariaDb, Nowait) => Some(v(10, 3, 0)),
            (Dialect::MariaDb, SkipLocked) => Some(v(10, 6, 0)),
            (Dialect::MariaDb, Upsert | RowValues | UpsertWithoutTarget) => Some(v(5, 1, 0)),

            (
                Dialect::Sqlite,
                InsertReturning | UpdateReturning | DeleteReturning | UpsertWithoutTarget,
            ) => Some(v(3, 35, 0)),
            (Dialect::Sqlite, Cte) => Some(v(3, 8, 3)),
            (Dialect::Sqlite, WindowFunctions) => Some(v(3, 25, 0)),
            (Dialect::Sqlite, Upsert) => Some(v(3, 24, 0)),
            (Dialect::Sqlite, RowValues) => Some(v(3, 15, 0)),
            (Dialect::Sqlite, ForShare | Nowait | SkipLocked | UpsertRowAlias | KeyLocks) => None,
        }
    }
}

/// A set of [`Feature`]s: what one server can run. Small and `Copy`; the compiler reads it
/// for every construct that depends on it, and the statement cache keys on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Capabilities(u16);

impl Capabilities {
    /// No features.
    pub const NONE: Capabilities = Capabilities(0);

    /// The features `dialect` has at `version`; at its latest version for `None`.
    pub fn of(dialect: Dialect, version: Option<ServerVersion>) -> Capabilities {
        let mut bits = 0;
        for f in Feature::ALL {
            if let Some(since) = dialect.feature_since(f) {
                if version.is_none_or(|v| v >= since) {
                    bits |= f.bit();
                }
            }
        }
        Capabilities(bits)
    }

    /// True when `feature` is in the set.
    pub const fn has(self, feature: Feature) -> bool {
        self.0 & feature.bit() != 0
    }

    /// The set with `feature` added.
    #[must_use]
    pub const fn with(self, feature: Feature) -> Capabilities {
        Capabilities(self.0 | feature.bit())
    }

    /// The set with `feature` taken out.
    #[must_use]
    pub const fn without(self, feature: Feature) -> Capabilities {
        Capabilities(self.0 & !feature.bit())
    }

    /// The features in both sets.
    #[must_use]
    pub const fn intersection(self, other: Capabilities) -> Capabilities {
        Capabilities(self.0 & other.0)
    }

    /// The features in the set, in [`Feature::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Feature> {
        Feature::ALL.into_iter().filter(move |f| self.has(*f))
    }

    /// The set as bits (one per [`Feature`], in [`Feature::ALL`] order).
    pub const fn bits(self) -> u16 {
        self.0
    }
}

/// The server a statement is compiled for: its [`Dialect`], its version when known,
/// and the [`Capabilities`] that version has.
///
/// The engine reads the version when it connects ([`Engine::server`]); compiling for a
/// bare [`Dialect`] (it converts into a `ServerInfo`) assumes the latest server of that
/// dialect.
///
/// ```
/// use orm_runtime::{Dialect, Feature, ServerInfo, ServerVersion};
/// let old = ServerInfo::new(Dialect::MariaDb, ServerVersion::new(10, 4, 32));
/// assert!(!old.has(Feature::InsertReturning));
/// assert!(old.has(Feature::DeleteReturning));
/// assert_eq!(old.to_string(), "MariaDB 10.4.32");
/// assert!(ServerInfo::from(Dialect::MariaDb).has(Feature::InsertReturning));
/// ```
///
/// [`Engine::server`]: crate::Engine::server
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ServerInfo {
    dialect: Dialect,
    version: Option<ServerVersion>,
    capabilities: Capabilities,
}

impl ServerInfo {
    /// A server of `dialect` at `version`, with the capabilities that version has.
    pub fn new(dialect: Dialect, version: ServerVersion) -> ServerInfo {
        ServerInfo {
            dialect,
            version: Some(version),
            capabilities: Capabilities::of(dialect, Some(version)),
        }
    }

    /// The latest server of `dialect`: every feature the dialect has.
    pub fn latest(dialect: Dialect) -> ServerInfo {
        ServerInfo {
            dialect,
            version: None,
            capabilities: Capabilities::of(dialect, None),
        }
    }

    /// A server of `dialect` whose version string (as the server reports it) is `s`;
    /// the latest server when no version can be read from it.
    pub fn from_version_string(dialect: Dialect, s: &str) -> ServerInfo {
        match ServerVersion::parse(s) {
            Some(v) => ServerInfo::new(dialect, v),
            None => ServerInfo::latest(dialect),
        }
    }

    /// The same server with other capabilities: to switch a feature off (or on) by hand,
    /// e.g. to test the path taken on servers without it.
    #[must_use]
    pub fn with_capabilities(self, capabilities: Capabilities) -> ServerInfo {
        ServerInfo {
            capabilities,
            ..self
        }
    }

    /// The same server spoken to in another dialect of its family (MySQL's on a MariaDB
    /// server, as [`EngineBuilder::dialect`] allows): the capabilities that both the
    /// server and the dialect have.
    ///
    /// [`EngineBuilder::dialect`]: crate::EngineBuilder::dialect
    #[must_use]
    pub fn with_dialect(self, dialect: Dialect) -> ServerInfo {
        ServerInfo {
            dialect,
            version: self.version,
            capabilities: self
                .capabilities
                .intersection(Capabilities::of(dialect, None)),
        }
    }

    /// The dialect.
    pub fn dialect(self) -> Dialect {
        self.dialect
    }

    /// The server's version; `None` for "the latest" (a statement compiled for a bare
    /// [`Dialect`]).
    pub fn version(self) -> Option<ServerVersion> {
        self.version
    }

    /// What the server can run.
    pub fn capabilities(self) -> Capabilities {
        self.capabilities
    }

    /// True when the server can run `feature`.
    pub fn has(self, feature: Feature) -> bool {
        self.capabilities.has(feature)
    }

    /// The product's name as its makers write it: `PostgreSQL`, `MySQL`, `MariaDB`,
    /// `SQLite`.
    pub fn product(self) -> &'static str {
        match self.dialect {
            Dialect::Postgres => "PostgreSQL",
            Dialect::MySql => "MySQL",
            Dialect::MariaDb => "MariaDB",
            Dialect::Sqlite => "SQLite",
        }
    }
}

impl From<Dialect> for ServerInfo {
    /// The latest server of the dialect.
    fn from(dialect: Dialect) -> ServerInfo {
        ServerInfo::latest(dialect)
    }
}

impl fmt::Display for ServerInfo {
    /// `MariaDB 10.11.6`; `MariaDB (latest)` without a version.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.version {
            Some(v) => write!(f, "{} {v}", self.product()),
            None => write!(f, "{} (latest)", self.product()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Option<(u16, u16, u16)> {
        ServerVersion::parse(s).map(|v| (v.major, v.minor, v.patch))
    }

    #[test]
    fn version_strings_of_each_server_parse() {
        assert_eq!(v("15.4"), Some((15, 4, 0)));
        assert_eq!(v("15.4 (Debian 15.4-1.pgdg120+1)"), Some((15, 4, 0)));
        assert_eq!(v("16beta1"), Some((16, 0, 0)));
        assert_eq!(v("9.6.24"), Some((9, 6, 24)));
        assert_eq!(v("8.0.36-0ubuntu0.22.04.1"), Some((8, 0, 36)));
        assert_eq!(v("5.7.44-log"), Some((5, 7, 44)));
        assert_eq!(v("10.11.19-MariaDB-ubu2204"), Some((10, 11, 19)));
        assert_eq!(v("5.5.5-10.4.32-MariaDB"), Some((10, 4, 32)));
        assert_eq!(v("3.45.0"), Some((3, 45, 0)));
        assert_eq!(v("unknown"), None);
        assert_eq!(v(""), None);
    }

    #[test]
    fn capabilities_follow_the_version() {
        let at = |d, a, b, c| ServerInfo::new(d, ServerVersion::new(a, b, c));
        let maria104 = at(Dialect::MariaDb, 10, 4, 32);
        assert!(!maria104.has(Feature::InsertReturning));
        assert!(maria104.has(Feature::DeleteReturning));
        assert!(maria104.has(Feature::Nowait));
        assert!(!maria104.has(Feature::SkipLocked));
        let maria106 = at(Dialect::MariaDb, 10, 6, 0);
        assert!(maria106.has(Feature::InsertReturning) && maria106.has(Feature::SkipLocked));
        assert!(!maria106.has(Feature::ForShare) && !maria106.has(Feature::UpdateReturning));
        let mysql57 = at(Dialect::MySql, 5, 7, 44);
        assert!(!mysql57.has(Feature::Cte) && !mysql57.has(Feature::WindowFunctions));
        assert!(!at(Dialect::MySql, 8, 0, 19).has(Feature::UpsertRowAlias));
        assert!(at(Dialect::MySql, 8, 0, 20).has(Feature::UpsertRowAlias));
        assert!(!at(Dialect::Sqlite, 3, 34, 1).has(Feature::InsertReturning));
        assert!(at(Dialect::Sqlite, 3, 35, 0).has(Feature::InsertReturning));
        assert!(!at(Dialect::Sqlite, 3, 23, 0).has(Feature::Upsert));
        // The latest server has everything its dialect ever had.
        let latest = ServerInfo::from(Dialect::MySql);
        assert_eq!(latest.version(), None);
        assert!(latest.has(Feature::UpsertRowAlias) && !latest.has(Feature::InsertReturning));
        assert_eq!(
            latest.capabilities().iter().count(),
            Feature::ALL.len() - 4,
            "MySQL lacks only the three RETURNINGs and PostgreSQL's key locks"
        );
    }
}
