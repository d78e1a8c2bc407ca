//! Compares a declared schema with what reflection read back, at the dialect's
//! resolution, and explains every difference.
//!
//! What "the same" means per dialect:
//! - types compare by how the dialect spells them (`SqlType::ddl`), aliases folded
//!   (`DECIMAL` = `NUMERIC`); an enum column is its `VARCHAR(n)` plus a CHECK listing
//!   the variants; SQLite's autoincrement key is `INTEGER` whatever integer was
//!   declared; a declared generic type must not come back as `Custom`;
//! - server defaults compare after PostgreSQL's casts (`'x'::character varying`) and
//!   MariaDB's `current_timestamp()` parentheses are dropped, numbers compare as
//!   numbers (MySQL pads `1.5` to the scale: `1.500`), and MySQL's booleans are 0/1;
//! - constraint names compare where the declaration (or naming convention) gave one;
//!   MySQL names every primary key `PRIMARY`, and makes unique indexes unique
//!   constraints and an index for each foreign key that has none;
//! - CHECK conditions compare without quotes, parentheses, casts and spaces
//!   (PostgreSQL and MariaDB rewrite them); an enum's CHECK must name every variant;
//! - `ON DELETE`/`ON UPDATE`: `NO ACTION` is no rule; on MySQL `RESTRICT` is too.

use orm::Dialect;
use orm::schema::{
    Autoincrement, ForeignKey, Index, MetaData, ReferentialAction, SqlType, Table, UniqueConstraint,
};

/// Panics with a list of differences unless every declared table was reflected the
/// same, and nothing else was.
pub fn assert_same_metadata(dialect: Dialect, declared: &MetaData, reflected: &MetaData) {
    let mut diffs = Vec::new();
    let mut want: Vec<String> = declared.tables().iter().map(|t| t.name.clone()).collect();
    let mut got: Vec<String> = reflected.tables().iter().map(|t| t.name.clone()).collect();
    want.sort();
    got.sort();
    if want != got {
        diffs.push(format!("tables: declared {want:?}, reflected {got:?}"));
    }
    for t in declared.tables() {
        match reflected.get_table(&t.full_name()) {
            Some(r) => diffs.extend(table_differences(dialect, t, &r)),
            None => diffs.push(format!("table `{}` was not reflected", t.name)),
        }
    }
    assert!(
        diffs.is_empty(),
        "on {dialect}, the reflected schema differs from the declared one:\n  - {}",
        diffs.join("\n  - ")
    );
}

/// Panics with a list of differences unless `reflected` is `declared` at the
/// dialect's resolution.
pub fn assert_same_table(dialect: Dialect, declared: &Table, reflected: &Table) {
    let diffs = table_differences(dialect, declared, reflected);
    assert!(
        diffs.is_empty(),
        "on {dialect}, table `{}` reflected differently:\n  - {}",
        declared.name,
        diffs.join("\n  - ")
    );
}

/// Every difference between `declared` and `reflected`, explained.
pub fn table_differences(dialect: Dialect, declared: &Table, reflected: &Table) -> Vec<String> {
    let t = &declared.name;
    let mut d = Vec::new();
    let auto = declared.autoincrement_column().map(|c| c.name.clone());

    // Columns.
    let names = |tb: &Table| {
        tb.columns
            .iter()
            .map(|c| c.name.clone())
            .collect::<Vec<_>>()
    };
    if names(declared) != names(reflected) {
        d.push(format!(
            "{t}: columns {:?} came back as {:?}",
            names(declared),
            names(reflected)
        ));
    }
    for c in &declared.columns {
        let Some(r) = reflected.get_column(&c.name) else {
            continue;
        };
        let is_auto = auto.as_deref() == Some(c.name.as_str());
        let (want, got) = (
            type_at_resolution(dialect, &c.sql_type, is_auto),
            type_at_resolution(dialect, &r.sql_type, is_auto),
        );
        if want != got {
            d.push(format!(
                "{t}.{}: type {:?} is `{want}` on {dialect}, reflected {:?} is `{got}`",
                c.name, c.sql_type, r.sql_type
            ));
        }
        if !matches!(c.sql_type, SqlType::Custom(_)) && matches!(r.sql_type, SqlType::Custom(_)) {
            d.push(format!(
                "{t}.{}: declared {:?} reflected as {:?}: the catalog type was not mapped",
                c.name, c.sql_type, r.sql_type
            ));
        }
        if c.nullable != r.nullable {
            d.push(format!(
                "{t}.{}: nullable {} reflected as {}",
                c.name, c.nullable, r.nullable
            ));
        }
        if c.primary_key != r.primary_key {
            d.push(format!(
                "{t}.{}: primary_key {} reflected as {}",
                c.name, c.primary_key, r.primary_key
            ));
        }
        let r_auto = r.autoincrement == Autoincrement::Yes;
        if is_auto != r_auto {
            d.push(format!(
                "{t}.{}: autoincrement {is_auto} (by SQLAlchemy's rule) reflected as {:?}",
                c.name, r.autoincrement
            ));
        }
        let (want, got) = (
            c.server_default
                .as_deref()
                .map(|s| default_at_resolution(dialect, s)),
            r.server_default
                .as_deref()
                .map(|s| default_at_resolution(dialect, s)),
        );
        if want != got {
            d.push(format!(
                "{t}.{}: server default {:?} (normalized {want:?}) reflected as {:?} (normalized {got:?})",
                c.name, c.server_default, r.server_default
            ));
        }
        let want_comment = if dialect == Dialect::Sqlite {
            None
        } else {
            c.comment.clone()
        };
        if want_comment != r.comment {
            d.push(format!(
                "{t}.{}: comment {want_comment:?} reflected as {:?}",
                c.name, r.comment
            ));
        }
    }
    let want_comment = if dialect == Dialect::Sqlite {
        None
    } else {
        declared.comment.clone()
    };
    if want_comment != reflected.comment {
        d.push(format!(
            "{t}: table comment {want_comment:?} reflected as {:?}",
            reflected.comment
        ));
    }
    if dialect == Dialect::Sqlite && declared.sqlite_autoincrement != reflected.sqlite_autoincrement
    {
        d.push(format!(
            "{t}: sqlite_autoincrement {} reflected as {}",
            declared.sqlite_autoincrement, reflected.sqlite_autoincrement
        ));
    }

    // Primary key.
    if declared.primary_key.columns != reflected.primary_key.columns {
        d.push(format!(
            "{t}: primary key {:?} reflected as {:?}",
            declared.primary_key.columns, reflected.primary_key.columns
        ));
    }
    if !dialect.is_mysql()
        && declared.primary_key.name.is_some()
        && declared.primary_key.name != reflected.primary_key.name
    {
        d.push(format!(
            "{t}: primary key name {:?} reflected as {:?}",
            declared.primary_key.name, reflected.primary_key.name
        ));
    }

    // Foreign keys, matched by columns and target.
    let mut fks: Vec<&ForeignKey> = reflected.foreign_keys.iter().collect();
    for fk in &declared.foreign_keys {
        let pos = fks.iter().position(|r| {
            r.columns == fk.columns
                && r.referred_table == fk.referred_table
                && r.referred_columns == fk.referred_columns
        });
        let Some(pos) = pos else {
            d.push(format!(
                "{t}: foreign key ({}) -> {}({}) was not reflected",
                fk.columns.join(", "),
                fk.referred_table,
                fk.referred_columns.join(", ")
            ));
            continue;
        };
        let r = fks.remove(pos);
        let what = format!("{t}: foreign key ({})", fk.columns.join(", "));
        if fk.name.is_some() && fk.name != r.name {
            d.push(format!(
                "{what}: name {:?} reflected as {:?}",
                fk.name, r.name
            ));
        }
        let same_schema =
            |s: &Option<String>| s.clone().filter(|s| Some(s) != declared.schema.as_ref());
        if same_schema(&fk.referred_schema) != r.referred_schema {
            d.push(format!(
                "{what}: referred schema {:?} reflected as {:?}",
                fk.referred_schema, r.referred_schema
            ));
        }
        for (rule, a, b) in [
            ("ON DELETE", fk.on_delete, r.on_delete),
            ("ON UPDATE", fk.on_update, r.on_update),
        ] {
            if action_at_resolution(dialect, a) != action_at_resolution(dialect, b) {
                d.push(format!("{what}: {rule} {a:?} reflected as {b:?}"));
            }
        }
    }
    for r in fks {
        d.push(format!(
            "{t}: reflected an undeclared foreign key {:?} ({}) -> {}",
            r.name,
            r.columns.join(", "),
            r.referred_table
        ));
    }

    // Unique constraints (on MySQL, unique indexes are unique constraints).
    let declared_indexes = declared.all_indexes().expect("declared indexes");
    let mut want_uq: Vec<UniqueConstraint> = declared
        .all_unique_constraints()
        .expect("declared unique constraints");
    let mut want_ix: Vec<Index> = Vec::new();
    for ix in declared_indexes {
        if dialect.is_mysql() && ix.unique {
            want_uq.push(UniqueConstraint {
                name: ix.name.clone(),
                columns: ix.columns.clone(),
            });
        } else {
            want_ix.push(ix);
        }
    }
    let mut uqs: Vec<&UniqueConstraint> = reflected.unique_constraints.iter().collect();
    for uq in &want_uq {
        match uqs.iter().position(|r| r.columns == uq.columns) {
            Some(pos) => {
                let r = uqs.remove(pos);
                if uq.name.is_some() && uq.name != r.name {
                    d.push(format!(
                        "{t}: unique ({}) name {:?} reflected as {:?}",
                        uq.columns.join(", "),
                        uq.name,
                        r.name
                    ));
                }
            }
            None => d.push(format!(
                "{t}: unique constraint {:?} ({}) was not reflected",
                uq.name,
                uq.columns.join(", ")
            )),
        }
    }
    for r in uqs {
        d.push(format!(
            "{t}: reflected an undeclared unique constraint {:?} ({})",
            r.name,
            r.columns.join(", ")
        ));
    }

    // Indexes, matched by name (they always have one).
    let mut ixs: Vec<&Index> = reflected.indexes.iter().collect();
    for ix in &want_ix {
        match ixs.iter().position(|r| r.name == ix.name) {
            Some(pos) => {
                let r = ixs.remove(pos);
                if (r.columns.clone(), r.unique) != (ix.columns.clone(), ix.unique) {
                    d.push(format!(
                        "{t}: index {:?} on ({}) unique={} reflected on ({}) unique={}",
                        ix.name,
                        ix.columns.join(", "),
                        ix.unique,
                        r.columns.join(", "),
                        r.unique
                    ));
                }
            }
            None => d.push(format!("{t}: index {:?} was not reflected", ix.name)),
        }
    }
    for r in ixs {
        // MySQL indexes every foreign key that no index covers, under the key's name.
        let implicit_fk_index = dialect.is_mysql()
            && reflected
                .foreign_keys
                .iter()
                .any(|fk| fk.name == r.name && fk.columns == r.columns);
        if !implicit_fk_index {
            d.push(format!(
                "{t}: reflected an undeclared index {:?} ({})",
                r.name,
                r.columns.join(", ")
            ));
        }
    }

    // CHECK constraints.
    let enum_columns: Vec<(String, Vec<String>)> = declared
        .columns
        .iter()
        .filter_map(|c| match &c.sql_type {
            SqlType::Enum { variants, .. } => Some((c.name.clone(), variants.clone())),
            _ => None,
        })
        .collect();
    let mut cks: Vec<_> = reflected.check_constraints.iter().collect();
    for (i, ck) in declared
        .all_check_constraints(dialect)
        .expect("declared checks")
        .into_iter()
        .enumerate()
    {
        let enum_check = enum_columns.get(i);
        let matches = |r: &&orm::schema::CheckConstraint| match enum_check {
            Some((col, variants)) => {
                let text = check_text(&r.sql);
                text.contains(&check_text(col))
                    && variants.iter().all(|v| text.contains(&check_text(v)))
            }
            None => check_text(&r.sql) == check_text(&ck.sql),
        };
        let pos = match &ck.name {
            Some(n) => cks.iter().position(|r| r.name.as_ref() == Some(n)),
            None => cks.iter().position(matches),
        };
        match pos {
            Some(pos) => {
                let r = cks.remove(pos);
                if !matches(&r) {
                    d.push(format!(
                        "{t}: check {:?} `{}` reflected as `{}`",
                        ck.name, ck.sql, r.sql
                    ));
                }
            }
            None => d.push(format!(
                "{t}: check {:?} `{}` was not reflected",
                ck.name, ck.sql
            )),
        }
    }
    for r in cks {
        d.push(format!(
            "{t}: reflected an undeclared check {:?} `{}`",
            r.name, r.sql
        ));
    }
    d
}

/// How `dialect` spells the type, with aliases folded.
pub fn type_at_resolution(dialect: Dialect, ty: &SqlType, autoincrement: bool) -> String {
    if autoincrement && dialect == Dialect::Sqlite && ty.is_integer() {
        return "INTEGER".to_owned();
    }
    ty.ddl(dialect)
        .to_ascii_uppercase()
        .replace("DECIMAL", "NUMERIC")
        .replace(", ", ",")
}

/// A server default with the dialect's rewriting undone.
pub fn default_at_resolution(dialect: Dialect, sql: &str) -> String {
    let mut s = strip_casts(&sql.trim().to_ascii_lowercase());
    while s.starts_with('(') && s.ends_with(')') {
        s = s[1..s.len() - 1].trim().to_owned();
    }
    if let Some(inner) = s.strip_prefix('\'').and_then(|x| x.strip_suffix('\''))
        && inner.parse::<f64>().is_ok()
    {
        s = inner.to_owned();
    }
    // MySQL pads a decimal default to the column's scale: `1.500`.
    if let Ok(v) = s.parse::<f64>() {
        s = v.to_string();
    }
    for f in ["current_timestamp", "current_date", "current_time", "now"] {
        if s.starts_with(f) && s[f.len()..].starts_with('(') && s.ends_with(')') {
            s = f.to_owned();
        }
    }
    if dialect.is_mysql() {
        s = match s.as_str() {
            "true" => "1".to_owned(),
            "false" => "0".to_owned(),
            _ => s,
        };
    }
    s
}

/// Drops PostgreSQL's `::type` casts (`'x'::character varying`, `(0)::numeric`,
/// `ARRAY[...]::text[]`).
fn strip_casts(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("::") {
        out.push_str(&rest[..i]);
        let mut after = &rest[i + 2..];
        let word = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        after = &after[word..];
        for more in [
            " varying",
            " precision",
            " without time zone",
            " with time zone",
        ] {
            if let Some(x) = after.strip_prefix(more) {
                after = x;
            }
        }
        after = after.strip_prefix("[]").unwrap_or(after);
        rest = after;
    }
    out.push_str(rest);
    out
}

/// A CHECK condition with quotes, parentheses, casts, escapes and spaces removed.
pub fn check_text(sql: &str) -> String {
    strip_casts(&sql.to_ascii_lowercase())
        .chars()
        .filter(|c| {
            !matches!(c, '"' | '`' | '\'' | '\\' | '(' | ')' | '[' | ']') && !c.is_whitespace()
        })
        .collect()
}

fn action_at_resolution(
    dialect: Dialect,
    a: Option<ReferentialAction>,
) -> Option<ReferentialAction> {
    match a {
        Some(ReferentialAction::NoAction) => None,
        Some(ReferentialAction::Restrict) if dialect.is_mysql() => None,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizers() {
        assert_eq!(
            default_at_resolution(Dialect::Postgres, "'draft'::character varying"),
            "'draft'"
        );
        assert_eq!(
            default_at_resolution(Dialect::Postgres, "'-1'::integer"),
            "-1"
        );
        assert_eq!(
            default_at_resolution(Dialect::MySql, "current_timestamp(6)"),
            "current_timestamp"
        );
        assert_eq!(default_at_resolution(Dialect::MySql, "FALSE"), "0");
        assert_eq!(
            check_text("price >= (0)::numeric"),
            check_text("price >= 0")
        );
        assert_eq!(check_text("`quantity` > 0"), check_text("\"quantity\" > 0"));
    }
}
