//! Naming conventions: templates that name constraints and indexes the user left
//! unnamed, like SQLAlchemy's `MetaData(naming_convention=...)`.
//!
//! Named constraints can be dropped and altered by name on every database, and the
//! names come out the same on PostgreSQL, MySQL and SQLite, so migrations written
//! against one work against the others.

use super::constraint::ForeignKey;
use super::table::Table;
use crate::error::{Error, Result};

/// The index template used when none is configured: `ix_<table>_<columns>`.
pub const DEFAULT_INDEX_TEMPLATE: &str = "ix_{table_name}_{column_0_N_name}";

/// Generated names longer than this are shortened (to this length, with a hash of the
/// full name at the end), so they fit PostgreSQL's 63-byte and MySQL's 64-character
/// limits.
pub const MAX_GENERATED_NAME_LEN: usize = 63;

/// Templates that name constraints and indexes left unnamed, one per kind.
///
/// Tokens, as in SQLAlchemy (written `{token}` instead of `%(token)s`):
/// - `{table_name}`;
/// - `{column_0_name}` (the first column), `{column_0N_name}` (every column, run
///   together), `{column_0_N_name}` (every column, joined by `_`);
/// - `{column_0_label}`, `{column_0N_label}`, `{column_0_N_label}`: the same with each
///   column written `<table>_<column>`;
/// - `{referred_table_name}`, `{referred_column_0_name}`, `{referred_column_0N_name}`,
///   `{referred_column_0_N_name}` (foreign keys only);
/// - `{constraint_name}`: the constraint's own name. Explicit names are always kept as
///   given (unlike SQLAlchemy, which also feeds them through a template that names
///   `{constraint_name}`), so this token is filled by the CHECK constraint an
///   [`SqlType::Enum`](super::SqlType::Enum) column creates, which takes the enum's name.
///
/// An unnamed CHECK constraint cannot fill `{constraint_name}`, so under such a template
/// the database names it. Any other template that cannot be filled (an unknown token,
/// a column token for a constraint without columns) leaves the constraint unnamed in
/// the [`MetaData`](super::MetaData), and DDL generation reports the problem as
/// [`Error::NamingConvention`] instead of guessing.
///
/// ```
/// use orm_runtime::schema::{Column, ForeignKey, MetaData, NamingConvention, SqlType, Table, UniqueConstraint};
/// let mut md = MetaData::new().naming_convention(NamingConvention::default_sqlalchemy_style());
/// let posts = md.add_table(
///     Table::new("posts")
///         .column(Column::new("id", SqlType::Integer).primary_key())
///         .column(Column::new("user_id", SqlType::Integer))
///         .column(Column::new("slug", SqlType::varchar(50)))
///         .foreign_key(ForeignKey::new(["user_id"], "users", ["id"]))
///         .unique(UniqueConstraint::new(["user_id", "slug"])),
/// );
/// assert_eq!(posts.primary_key.name.as_deref(), Some("pk_posts"));
/// assert_eq!(posts.foreign_keys[0].name.as_deref(), Some("fk_posts_user_id_users"));
/// assert_eq!(posts.unique_constraints[0].name.as_deref(), Some("uq_posts_user_id_slug"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamingConvention {
    /// Index template; [`DEFAULT_INDEX_TEMPLATE`] unless changed (indexes always need a
    /// name).
    pub ix: Option<String>,
    /// UNIQUE constraint template.
    pub uq: Option<String>,
    /// CHECK constraint template.
    pub ck: Option<String>,
    /// FOREIGN KEY constraint template.
    pub fk: Option<String>,
    /// PRIMARY KEY constraint template.
    pub pk: Option<String>,
}

impl Default for NamingConvention {
    /// Only the index template, as SQLAlchemy's default convention: other constraints
    /// left unnamed get the database's own names.
    fn default() -> Self {
        NamingConvention {
            ix: Some(DEFAULT_INDEX_TEMPLATE.to_owned()),
            uq: None,
            ck: None,
            fk: None,
            pk: None,
        }
    }
}

/// The kinds of names a convention produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Ix,
    Uq,
    Ck,
    Fk,
    Pk,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Ix => "ix",
            Kind::Uq => "uq",
            Kind::Ck => "ck",
            Kind::Fk => "fk",
            Kind::Pk => "pk",
        }
    }
}

/// What a template can refer to for one constraint.
pub(crate) struct Subject<'a> {
    pub kind: Kind,
    pub table: &'a str,
    pub columns: &'a [String],
    pub referred_table: Option<&'a str>,
    pub referred_columns: &'a [String],
    pub constraint_name: Option<&'a str>,
}

impl NamingConvention {
    /// The default: indexes named [`DEFAULT_INDEX_TEMPLATE`], nothing else named.
    pub fn new() -> NamingConvention {
        NamingConvention::default()
    }

    /// The convention SQLAlchemy's documentation recommends, with every column in the
    /// unique and foreign-key names so that two constraints never collide:
    ///
    /// | kind | template |
    /// |---|---|
    /// | ix | `ix_{table_name}_{column_0_N_name}` |
    /// | uq | `uq_{table_name}_{column_0_N_name}` |
    /// | ck | `ck_{table_name}_{constraint_name}` |
    /// | fk | `fk_{table_name}_{column_0_N_name}_{referred_table_name}` |
    /// | pk | `pk_{table_name}` |
    pub fn default_sqlalchemy_style() -> NamingConvention {
        NamingConvention {
            ix: Some(DEFAULT_INDEX_TEMPLATE.to_owned()),
            uq: Some("uq_{table_name}_{column_0_N_name}".to_owned()),
            ck: Some("ck_{table_name}_{constraint_name}".to_owned()),
            fk: Some("fk_{table_name}_{column_0_N_name}_{referred_table_name}".to_owned()),
            pk: Some("pk_{table_name}".to_owned()),
        }
    }

    /// Sets the index template.
    pub fn ix(mut self, template: impl Into<String>) -> NamingConvention {
        self.ix = Some(template.into());
        self
    }

    /// Sets the UNIQUE template.
    pub fn uq(mut self, template: impl Into<String>) -> NamingConvention {
        self.uq = Some(template.into());
        self
    }

    /// Sets the CHECK template.
    pub fn ck(mut self, template: impl Into<String>) -> NamingConvention {
        self.ck = Some(template.into());
        self
    }

    /// Sets the FOREIGN KEY template.
    pub fn fk(mut self, template: impl Into<String>) -> NamingConvention {
        self.fk = Some(template.into());
        self
    }

    /// Sets the PRIMARY KEY template.
    pub fn pk(mut self, template: impl Into<String>) -> NamingConvention {
        self.pk = Some(template.into());
        self
    }

    /// True when the CHECK template uses `{constraint_name}`, which unnamed CHECK
    /// constraints cannot fill.
    pub(crate) fn ck_needs_constraint_name(&self) -> bool {
        self.ck
            .as_deref()
            .is_some_and(|t| t.contains("{constraint_name}"))
    }

    fn template(&self, kind: Kind) -> Option<&str> {
        match kind {
            Kind::Ix => self.ix.as_deref(),
            Kind::Uq => self.uq.as_deref(),
            Kind::Ck => self.ck.as_deref(),
            Kind::Fk => self.fk.as_deref(),
            Kind::Pk => self.pk.as_deref(),
        }
        .or(match kind {
            // Indexes always need a name: `CREATE INDEX` requires one on MySQL and SQLite.
            Kind::Ix => Some(DEFAULT_INDEX_TEMPLATE),
            _ => None,
        })
    }

    /// The name the convention gives `subject`: `Ok(None)` when it has no template for
    /// the kind, an error when the template cannot be filled.
    pub(crate) fn name_for(&self, subject: &Subject<'_>) -> Result<Option<String>> {
        let Some(template) = self.template(subject.kind) else {
            return Ok(None);
        };
        render(template, subject).map(|n| Some(shorten(n)))
    }

    /// Names every unnamed constraint and index of `table` that a template can name;
    /// the ones it cannot are left for DDL generation to report.
    pub(crate) fn apply(&self, table: &mut Table) {
        let name = table.name.clone();
        if table.primary_key.name.is_none() && !table.primary_key.columns.is_empty() {
            table.primary_key.name = self
                .name_for(&Subject::new(Kind::Pk, &name, &table.primary_key.columns))
                .ok()
                .flatten();
        }
        for fk in &mut table.foreign_keys {
            if fk.name.is_none() {
                fk.name = self.name_for(&Subject::fk(&name, fk)).ok().flatten();
            }
        }
        for uq in &mut table.unique_constraints {
            if uq.name.is_none() {
                uq.name = self
                    .name_for(&Subject::new(Kind::Uq, &name, &uq.columns))
                    .ok()
                    .flatten();
            }
        }
        for ck in &mut table.check_constraints {
            if ck.name.is_none() {
                ck.name = self
                    .name_for(&Subject::new(Kind::Ck, &name, &[]))
                    .ok()
                    .flatten();
            }
        }
        for ix in &mut table.indexes {
            if ix.name.is_none() {
                ix.name = self
                    .name_for(&Subject::new(Kind::Ix, &name, &ix.columns))
                    .ok()
                    .flatten();
            }
        }
    }
}

impl<'a> Subject<'a> {
    pub(crate) fn new(kind: Kind, table: &'a str, columns: &'a [String]) -> Subject<'a> {
        Subject {
            kind,
            table,
            columns,
            referred_table: None,
            referred_columns: &[],
            constraint_name: None,
        }
    }

    pub(crate) fn fk(table: &'a str, fk: &'a ForeignKey) -> Subject<'a> {
        Subject {
            kind: Kind::Fk,
            table,
            columns: &fk.columns,
            referred_table: Some(&fk.referred_table),
            referred_columns: &fk.referred_columns,
            constraint_name: None,
        }
    }
}

fn render(template: &str, s: &Subject<'_>) -> Result<String> {
    let fail = |problem: String| Error::NamingConvention {
        template: template.to_owned(),
        kind: s.kind.label(),
        table: s.table.to_owned(),
        problem,
    };
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| fail("has a `{` without a closing `}`".to_owned()))?;
        let token = &after[..close];
        out.push_str(&token_value(token, s).map_err(fail)?);
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn token_value(token: &str, s: &Subject<'_>) -> std::result::Result<String, String> {
    let need = |cols: &[String], what: &str| -> std::result::Result<(), String> {
        if cols.is_empty() {
            Err(format!(
                "token `{{{token}}}` needs {what}, and this {} has none",
                s.kind.label()
            ))
        } else {
            Ok(())
        }
    };
    let label = |c: &String| format!("{}_{c}", s.table);
    Ok(match token {
        "table_name" => s.table.to_owned(),
        "column_0_name" => {
            need(s.columns, "columns")?;
            s.columns[0].clone()
        }
        "column_0N_name" => {
            need(s.columns, "columns")?;
            s.columns.concat()
        }
        "column_0_N_name" => {
            need(s.columns, "columns")?;
            s.columns.join("_")
        }
        "column_0_label" => {
            need(s.columns, "columns")?;
            label(&s.columns[0])
        }
        "column_0N_label" => {
            need(s.columns, "columns")?;
            s.columns.iter().map(label).collect::<String>()
        }
        "column_0_N_label" => {
            need(s.columns, "columns")?;
            s.columns.iter().map(label).collect::<Vec<_>>().join("_")
        }
        "referred_table_name" => s
            .referred_table
            .map(str::to_owned)
            .ok_or_else(|| "token `{referred_table_name}` is for foreign keys".to_owned())?,
        "referred_column_0_name" => {
            need(s.referred_columns, "referred columns")?;
            s.referred_columns[0].clone()
        }
        "referred_column_0N_name" => {
            need(s.referred_columns, "referred columns")?;
            s.referred_columns.concat()
        }
        "referred_column_0_N_name" => {
            need(s.referred_columns, "referred columns")?;
            s.referred_columns.join("_")
        }
        "constraint_name" => s.constraint_name.map(str::to_owned).ok_or_else(|| {
            "token `{constraint_name}` needs a named constraint; name it, or use a \
             template without this token"
                .to_owned()
        })?,
        other => {
            return Err(format!(
                "unknown token `{{{other}}}`; known tokens: table_name, column_0_name, \
                 column_0N_name, column_0_N_name, column_0_label, column_0N_label, \
                 column_0_N_label, referred_table_name, referred_column_0_name, \
                 referred_column_0N_name, referred_column_0_N_name, constraint_name"
            ));
        }
    })
}

/// Shortens a generated name over [`MAX_GENERATED_NAME_LEN`] bytes to that length,
/// ending in `_` and four hex digits of a hash of the full name (SQLAlchemy does the
/// same), so that long names stay distinct and deterministic.
pub(crate) fn shorten(name: String) -> String {
    if name.len() <= MAX_GENERATED_NAME_LEN {
        return name;
    }
    // FNV-1a: small, stable across runs and platforms.
    let hash = name.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    let mut cut = MAX_GENERATED_NAME_LEN - 5;
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}_{:04x}", &name[..cut], hash & 0xffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(c: &[&str]) -> Vec<String> {
        c.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn tokens_fill_in() {
        let nc = NamingConvention::new()
            .uq("uq_{table_name}_{column_0N_name}")
            .ix("ix_{column_0_label}");
        let c = cols(&["a", "b"]);
        assert_eq!(
            nc.name_for(&Subject::new(Kind::Uq, "t", &c)).unwrap(),
            Some("uq_t_ab".to_owned())
        );
        assert_eq!(
            nc.name_for(&Subject::new(Kind::Ix, "t", &c)).unwrap(),
            Some("ix_t_a".to_owned())
        );
        assert_eq!(nc.name_for(&Subject::new(Kind::Pk, "t", &c)).unwrap(), None);
        let fk = ForeignKey::new(["a", "b"], "p", ["x", "y"]);
        let nc = NamingConvention::new().fk(
            "fk_{table_name}_{column_0_N_name}_{referred_table_name}_{referred_column_0N_name}",
        );
        assert_eq!(
            nc.name_for(&Subject::fk("t", &fk)).unwrap().as_deref(),
            Some("fk_t_a_b_p_xy")
        );
    }

    #[test]
    fn bad_templates_are_errors_naming_the_template() {
        let nc = NamingConvention::new().uq("uq_{nope}");
        let c = cols(&["a"]);
        let err = nc
            .name_for(&Subject::new(Kind::Uq, "t", &c))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("uq_{nope}") && err.contains("unknown token `{nope}`"),
            "{err}"
        );
        let nc = NamingConvention::new().ck("ck_{table_name}_{constraint_name}");
        let err = nc
            .name_for(&Subject::new(Kind::Ck, "t", &[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("needs a named constraint"), "{err}");
    }

    #[test]
    fn long_names_are_shortened_with_a_stable_hash() {
        let long = "x".repeat(100);
        let a = shorten(long.clone());
        assert_eq!(a.len(), MAX_GENERATED_NAME_LEN);
        assert_eq!(a, shorten(long));
        assert_ne!(a, shorten("x".repeat(99)));
        assert_eq!(shorten("short".into()), "short");
    }
}
