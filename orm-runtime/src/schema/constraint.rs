//! Table constraints and indexes: primary key, foreign keys, unique, check, index.

/// What a foreign key does when the referenced row is deleted or its key updated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReferentialAction {
    /// `CASCADE`.
    Cascade,
    /// `SET NULL`.
    SetNull,
    /// `SET DEFAULT`.
    SetDefault,
    /// `RESTRICT`.
    Restrict,
    /// `NO ACTION` (the SQL default).
    NoAction,
}

impl ReferentialAction {
    /// The SQL keywords.
    pub fn sql(self) -> &'static str {
        match self {
            ReferentialAction::Cascade => "CASCADE",
            ReferentialAction::SetNull => "SET NULL",
            ReferentialAction::SetDefault => "SET DEFAULT",
            ReferentialAction::Restrict => "RESTRICT",
            ReferentialAction::NoAction => "NO ACTION",
        }
    }

    /// Parses `cascade`, `set null`, `SET_NULL`, `restrict`, `no action`, ... (any case).
    pub fn parse(s: &str) -> Option<ReferentialAction> {
        let norm: String = s.trim().to_ascii_lowercase().replace(['_', '-'], " ");
        Some(match norm.as_str() {
            "cascade" => ReferentialAction::Cascade,
            "set null" => ReferentialAction::SetNull,
            "set default" => ReferentialAction::SetDefault,
            "restrict" => ReferentialAction::Restrict,
            "no action" => ReferentialAction::NoAction,
            _ => return None,
        })
    }
}

/// The primary key of a table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PrimaryKey {
    /// Constraint name, if given (or set by a naming convention).
    pub name: Option<String>,
    /// Column names in key order.
    pub columns: Vec<String>,
}

/// A (possibly composite) foreign key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    /// Constraint name, if given (or set by a naming convention).
    pub name: Option<String>,
    /// Local column names.
    pub columns: Vec<String>,
    /// Schema of the referenced table (`None`: the same as the table's).
    pub referred_schema: Option<String>,
    /// The referenced table.
    pub referred_table: String,
    /// Referenced column names, pairwise with `columns`.
    pub referred_columns: Vec<String>,
    /// `ON DELETE` action.
    pub on_delete: Option<ReferentialAction>,
    /// `ON UPDATE` action.
    pub on_update: Option<ReferentialAction>,
    /// Create with a separate `ALTER TABLE ... ADD CONSTRAINT` after the tables
    /// (SQLAlchemy's `use_alter`), to break a cycle.
    pub use_alter: bool,
}

impl ForeignKey {
    /// A foreign key from `columns` to `referred_table(referred_columns)`.
    pub fn new<C, R>(
        columns: C,
        referred_table: impl Into<String>,
        referred_columns: R,
    ) -> ForeignKey
    where
        C: IntoIterator,
        C::Item: Into<String>,
        R: IntoIterator,
        R::Item: Into<String>,
    {
        ForeignKey {
            name: None,
            columns: columns.into_iter().map(Into::into).collect(),
            referred_schema: None,
            referred_table: referred_table.into(),
            referred_columns: referred_columns.into_iter().map(Into::into).collect(),
            on_delete: None,
            on_update: None,
            use_alter: false,
        }
    }

    /// Parses `"table.column"` or `"schema.table.column"` into a one-column key from
    /// `column`.
    pub fn to_target(column: impl Into<String>, target: &str) -> Option<ForeignKey> {
        let mut parts: Vec<&str> = target.split('.').collect();
        let referred_column = parts.pop()?;
        let referred_table = parts.pop()?;
        let schema = parts.pop();
        if !parts.is_empty() || referred_column.is_empty() || referred_table.is_empty() {
            return None;
        }
        let mut fk = ForeignKey::new([column.into()], referred_table, [referred_column]);
        fk.referred_schema = schema.map(str::to_owned);
        Some(fk)
    }

    /// Names the constraint.
    pub fn name(mut self, name: impl Into<String>) -> ForeignKey {
        self.name = Some(name.into());
        self
    }

    /// Sets `ON DELETE`.
    pub fn on_delete(mut self, action: ReferentialAction) -> ForeignKey {
        self.on_delete = Some(action);
        self
    }

    /// Sets `ON UPDATE`.
    pub fn on_update(mut self, action: ReferentialAction) -> ForeignKey {
        self.on_update = Some(action);
        self
    }

    /// Sets the referenced schema.
    pub fn referred_schema(mut self, schema: impl Into<String>) -> ForeignKey {
        self.referred_schema = Some(schema.into());
        self
    }

    /// Creates the constraint with `ALTER TABLE` after all tables exist.
    pub fn use_alter(mut self) -> ForeignKey {
        self.use_alter = true;
        self
    }
}

/// A UNIQUE constraint over one or more columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniqueConstraint {
    /// Constraint name, if given (or set by a naming convention).
    pub name: Option<String>,
    /// Column names.
    pub columns: Vec<String>,
}

impl UniqueConstraint {
    /// UNIQUE over `columns`.
    pub fn new<C>(columns: C) -> UniqueConstraint
    where
        C: IntoIterator,
        C::Item: Into<String>,
    {
        UniqueConstraint {
            name: None,
            columns: columns.into_iter().map(Into::into).collect(),
        }
    }

    /// Names the constraint.
    pub fn name(mut self, name: impl Into<String>) -> UniqueConstraint {
        self.name = Some(name.into());
        self
    }
}

/// A CHECK constraint, as SQL text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckConstraint {
    /// Constraint name, if given (or set by a naming convention).
    pub name: Option<String>,
    /// The condition, as SQL: `price >= 0`.
    pub sql: String,
}

impl CheckConstraint {
    /// CHECK (`sql`).
    pub fn new(sql: impl Into<String>) -> CheckConstraint {
        CheckConstraint {
            name: None,
            sql: sql.into(),
        }
    }

    /// Names the constraint.
    pub fn name(mut self, name: impl Into<String>) -> CheckConstraint {
        self.name = Some(name.into());
        self
    }
}

/// An index over one or more columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    /// Index name (set by a naming convention when `None`).
    pub name: Option<String>,
    /// Column names in index order.
    pub columns: Vec<String>,
    /// A UNIQUE index.
    pub unique: bool,
}

impl Index {
    /// An index over `columns`.
    pub fn new<C>(columns: C) -> Index
    where
        C: IntoIterator,
        C::Item: Into<String>,
    {
        Index {
            name: None,
            columns: columns.into_iter().map(Into::into).collect(),
            unique: false,
        }
    }

    /// Names the index.
    pub fn name(mut self, name: impl Into<String>) -> Index {
        self.name = Some(name.into());
        self
    }

    /// Makes it a UNIQUE index.
    pub fn unique(mut self) -> Index {
        self.unique = true;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreign_key_targets_parse() {
        let fk = ForeignKey::to_target("user_id", "users.id").unwrap();
        assert_eq!(
            (fk.referred_table.as_str(), fk.referred_columns[0].as_str()),
            ("users", "id")
        );
        let fk = ForeignKey::to_target("user_id", "auth.users.id").unwrap();
        assert_eq!(fk.referred_schema.as_deref(), Some("auth"));
        assert!(ForeignKey::to_target("x", "users").is_none());
        assert!(ForeignKey::to_target("x", "a.b.c.d").is_none());
    }

    #[test]
    fn actions_parse_loosely() {
        assert_eq!(
            ReferentialAction::parse("SET_NULL"),
            Some(ReferentialAction::SetNull)
        );
        assert_eq!(
            ReferentialAction::parse(" cascade "),
            Some(ReferentialAction::Cascade)
        );
        assert_eq!(ReferentialAction::parse("explode"), None);
    }
}
