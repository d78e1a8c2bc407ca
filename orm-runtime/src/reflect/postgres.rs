//! PostgreSQL reflection, from `pg_catalog`: `pg_class`, `pg_attribute`, `pg_attrdef`,
//! `pg_constraint`, `pg_index`, `pg_enum`, with `format_type`, `pg_get_expr` and
//! `pg_get_constraintdef` to print types, defaults and conditions the way PostgreSQL
//! itself does. Every name is cast to `text` (the driver reads `name` as text only
//! that way).

use super::{Ctx, Relations, TableOptions, group_columns, referential_action, split_type};
use crate::engine::Exec;
use crate::error::Result;
use crate::schema::{
    Autoincrement, CheckConstraint, Column, ForeignKey, Index, PrimaryKey, SqlType,
    UniqueConstraint,
};
use crate::sql::{TextClause, text};

/// Joins a table's `pg_class` row as `c`, found by `:schema` and `:table`.
const TABLE_JOIN: &str = "JOIN pg_catalog.pg_class c ON c.oid = con.conrelid \
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace";

fn bound(sql: impl AsRef<str>, schema: &str, table: &str) -> TextClause {
    text(sql).bind("schema", schema).bind("table", table)
}

pub(crate) async fn default_schema(ex: &mut Exec<'_>, _ctx: &Ctx) -> Result<String> {
    let rows = ex
        .fetch_all(text("SELECT CAST(current_schema() AS text)"))
        .await?;
    match rows.first() {
        Some(r) => r.get(0),
        None => Ok("public".to_owned()),
    }
}

pub(crate) async fn schema_names(ex: &mut Exec<'_>, _ctx: &Ctx) -> Result<Vec<String>> {
    ex.fetch_all(text(
        "SELECT CAST(nspname AS text) FROM pg_catalog.pg_namespace \
         WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' ORDER BY 1",
    ))
    .await?
    .iter()
    .map(|r| r.get::<String>(0))
    .collect()
}

pub(crate) async fn relations(ex: &mut Exec<'_>, _ctx: &Ctx, schema: &str) -> Result<Relations> {
    let rows = ex
        .fetch_all(
            text(
                "SELECT CAST(c.relname AS text) AS name, CAST(c.relkind AS text) AS kind \
                 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = :schema AND c.relkind IN ('r', 'p', 'f', 'v', 'm') \
                 AND NOT c.relispartition ORDER BY c.relname",
            )
            .bind("schema", schema),
        )
        .await?;
    let mut rel = Relations::default();
    for r in rows {
        let name: String = r.get("name")?;
        match r.get::<String>("kind")?.as_str() {
            "v" | "m" => rel.views.push(name),
            _ => rel.tables.push(name),
        }
    }
    Ok(rel)
}

pub(crate) async fn columns(
    ex: &mut Exec<'_>,
    _ctx: &Ctx,
    schema: &str,
    table: &str,
) -> Result<Vec<Column>> {
    let rows = ex
        .fetch_all(bound(
            "SELECT CAST(a.attname AS text) AS name, \
                    format_type(a.atttypid, a.atttypmod) AS type, \
                    a.attnotnull AS notnull, \
                    pg_get_expr(d.adbin, d.adrelid) AS dflt, \
                    CAST(a.attidentity AS text) AS identity, \
                    CAST(t.typtype AS text) AS typtype, \
                    CAST(t.typname AS text) AS typname, \
                    CAST(tn.nspname AS text) AS typschema, \
                    CAST(a.atttypid AS bigint) AS typid, \
                    col_description(c.oid, a.attnum) AS comment \
             FROM pg_catalog.pg_attribute a \
             JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_catalog.pg_type t ON t.oid = a.atttypid \
             JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace \
             LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
             WHERE n.nspname = :schema AND c.relname = :table \
               AND a.attnum > 0 AND NOT a.attisdropped \
             ORDER BY a.attnum",
            schema,
            table,
        ))
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let name: String = r.get("name")?;
        let formatted: String = r.get("type")?;
        let sql_type = if r.get::<String>("typtype")? == "e" {
            let labels = ex
                .fetch_all(
                    text(
                        "SELECT CAST(enumlabel AS text) FROM pg_catalog.pg_enum \
                         WHERE enumtypid = CAST(:oid AS oid) ORDER BY enumsortorder",
                    )
                    .bind("oid", r.get::<i64>("typid")?),
                )
                .await?
                .iter()
                .map(|l| l.get::<String>(0))
                .collect::<Result<Vec<_>>>()?;
            // The type's schema when it is not the table's own.
            let type_schema: String = r.get("typschema")?;
            SqlType::NativeEnum {
                schema: (type_schema != schema).then_some(type_schema),
                name: r.get("typname")?,
                variants: labels,
            }
        } else {
            parse_type(&formatted)
        };
        let mut c = Column::new(name, sql_type);
        c.nullable = !r.get::<bool>("notnull")?;
        let default: Option<String> = r.get("dflt")?;
        let identity = !r.get::<String>("identity")?.is_empty();
        // A `serial` column is an integer whose default is its sequence's nextval.
        let serial = default
            .as_deref()
            .is_some_and(|d| d.starts_with("nextval(") && d.ends_with("::regclass)"));
        c.autoincrement = if identity || serial {
            Autoincrement::Yes
        } else {
            Autoincrement::No
        };
        c.server_default = if serial { None } else { default };
        c.comment = r.get("comment")?;
        out.push(c);
    }
    Ok(out)
}

/// `(constraint name, column)` rows of the constraints of type `contype`, in key order.
async fn constraint_columns(
    ex: &mut Exec<'_>,
    schema: &str,
    table: &str,
    contype: &str,
) -> Result<Vec<(String, Vec<String>)>> {
    let rows = ex
        .fetch_all(
            bound(
                format!(
                    "SELECT CAST(con.conname AS text) AS name, CAST(a.attname AS text) AS col \
                     FROM pg_catalog.pg_constraint con {TABLE_JOIN} \
                     CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord) \
                     JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum \
                     WHERE n.nspname = :schema AND c.relname = :table AND con.contype = :contype \
                     ORDER BY con.conname, k.ord"
                ),
                schema,
                table,
            )
            .bind("contype", contype),
        )
        .await?;
    let pairs = rows
        .iter()
        .map(|r| Ok((r.get::<String>("name")?, r.get::<String>("col")?)))
        .collect::<Result<Vec<_>>>()?;
    Ok(group_columns(pairs))
}

pub(crate) async fn primary_key(
    ex: &mut Exec<'_>,
    _ctx: &Ctx,
    schema: &str,
    table: &str,
) -> Result<PrimaryKey> {
    Ok(constraint_columns(ex, schema, table, "p")
        .await?
        .into_iter()
        .next()
        .map(|(name, columns)| PrimaryKey {
            name: Some(name),
            columns,
        })
        .unwrap_or_default())
}

pub(crate) async fn unique_constraints(
    ex: &mut Exec<'_>,
    _ctx: &Ctx,
    schema: &str,
    table: &str,
) -> Result<Vec<UniqueConstraint>> {
    Ok(constraint_columns(ex, schema, table, "u")
        .await?
        .into_iter()
        .map(|(name, columns)| UniqueConstraint {
            name: Some(name),
            columns,
        })
        .collect())
}

/// `a` no action, `r` restrict, `c` cascade, `n` set null, `d` set default.
fn action(code: &str) -> Option<crate::schema::ReferentialAction> {
    referential_action(match code {
        "r" => "restrict",
        "c" => "cascade",
        "n" => "set null",
        "d" => "set default",
        _ => "no action",
    })
}

pub(crate) async fn foreign_keys(
    ex: &mut Exec<'_>,
    _ctx: &Ctx,
    schema: &str,
    table: &str,
) -> Result<Vec<ForeignKey>> {
    let rows = ex
        .fetch_all(bound(
            format!(
                "SELECT CAST(con.conname AS text) AS name, CAST(a.attname AS text) AS col, \
                        CAST(rn.nspname AS text) AS ref_schema, CAST(rc.relname AS text) AS ref_table, \
                        CAST(ra.attname AS text) AS ref_col, \
                        CAST(con.confupdtype AS text) AS upd, CAST(con.confdeltype AS text) AS del \
                 FROM pg_catalog.pg_constraint con {TABLE_JOIN} \
                 JOIN pg_catalog.pg_class rc ON rc.oid = con.confrelid \
                 JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace \
                 CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(attnum, ref_attnum, ord) \
                 JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum \
                 JOIN pg_catalog.pg_attribute ra ON ra.attrelid = con.confrelid AND ra.attnum = k.ref_attnum \
                 WHERE n.nspname = :schema AND c.relname = :table AND con.contype = 'f' \
                 ORDER BY con.conname, k.ord"
            ),
            schema,
            table,
        ))
        .await?;
    super::group_foreign_keys(&rows, schema, action)
}

pub(crate) async fn indexes(
    ex: &mut Exec<'_>,
    _ctx: &Ctx,
    schema: &str,
    table: &str,
) -> Result<Vec<Index>> {
    // Indexes that back a primary key, unique or exclusion constraint belong to it.
    let rows = ex
        .fetch_all(bound(
            "SELECT CAST(i.relname AS text) AS name, ix.indisunique AS is_unique, \
                    CAST(a.attname AS text) AS col, (ix.indpred IS NOT NULL) AS partial, \
                    (ix.indexprs IS NOT NULL) AS expr \
             FROM pg_catalog.pg_index ix \
             JOIN pg_catalog.pg_class c ON c.oid = ix.indrelid \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_catalog.pg_class i ON i.oid = ix.indexrelid \
             CROSS JOIN LATERAL unnest(CAST(ix.indkey AS int2[])) WITH ORDINALITY AS k(attnum, ord) \
             LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum \
             WHERE n.nspname = :schema AND c.relname = :table AND NOT ix.indisprimary \
               AND k.ord <= ix.indnkeyatts \
               AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint con \
                               WHERE con.conindid = ix.indexrelid AND con.contype IN ('p', 'u', 'x')) \
             ORDER BY i.relname, k.ord",
            schema,
            table,
        ))
        .await?;
    let mut out: Vec<(Index, bool)> = Vec::new();
    for r in rows {
        let name: String = r.get("name")?;
        let col: Option<String> = r.get("col")?;
        let skip = r.get::<bool>("partial")? || r.get::<bool>("expr")? || col.is_none();
        match out.last_mut() {
            Some((ix, s)) if ix.name.as_deref() == Some(name.as_str()) => {
                ix.columns.extend(col);
                *s |= skip;
            }
            _ => out.push((
                Index {
                    name: Some(name),
                    columns: col.into_iter().collect(),
                    unique: r.get("is_unique")?,
                },
                skip,
            )),
        }
    }
    Ok(out
        .into_iter()
        .filter_map(|(ix, skip)| {
            if skip {
                tracing::debug!(target: "orm::reflect", index = ?ix.name, table, "skipped an expression or partial index");
            }
            (!skip).then_some(ix)
        })
        .collect())
}

pub(crate) async fn check_constraints(
    ex: &mut Exec<'_>,
    _ctx: &Ctx,
    schema: &str,
    table: &str,
) -> Result<Vec<CheckConstraint>> {
    let rows = ex
        .fetch_all(bound(
            format!(
                "SELECT CAST(con.conname AS text) AS name, pg_get_constraintdef(con.oid) AS def \
                 FROM pg_catalog.pg_constraint con {TABLE_JOIN} \
                 WHERE n.nspname = :schema AND c.relname = :table AND con.contype = 'c' \
                 ORDER BY con.conname"
            ),
            schema,
            table,
        ))
        .await?;
    rows.iter()
        .map(|r| {
            Ok(CheckConstraint {
                name: Some(r.get("name")?),
                sql: check_condition(&r.get::<String>("def")?),
            })
        })
        .collect()
}

/// `CHECK ((price >= 0)) NOT VALID` → `price >= 0`: the condition without the keyword
/// and the parentheses `pg_get_constraintdef` adds.
fn check_condition(def: &str) -> String {
    let mut s = def.trim();
    s = s.strip_suffix(" NOT VALID").unwrap_or(s);
    s = s.strip_suffix(" NO INHERIT").unwrap_or(s);
    s = s.strip_prefix("CHECK ").unwrap_or(s).trim();
    for _ in 0..2 {
        match s.strip_prefix('(').and_then(|x| x.strip_suffix(')')) {
            Some(inner) if balanced(inner) => s = inner.trim(),
            _ => break,
        }
    }
    s.to_owned()
}

/// True when the parentheses of `s` (outside quotes) never close more than they open.
fn balanced(s: &str) -> bool {
    let mut depth = 0i32;
    let mut quoted = false;
    for ch in s.chars() {
        match ch {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0
}

pub(crate) async fn table_options(
    ex: &mut Exec<'_>,
    _ctx: &Ctx,
    schema: &str,
    table: &str,
) -> Result<TableOptions> {
    let rows = ex
        .fetch_all(bound(
            "SELECT obj_description(c.oid, 'pg_class') AS comment \
             FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = :schema AND c.relname = :table",
            schema,
            table,
        ))
        .await?;
    Ok(TableOptions {
        comment: match rows.first() {
            Some(r) => r.get("comment")?,
            None => None,
        },
        sqlite_autoincrement: false,
    })
}

/// A type as `format_type` prints it, mapped to [`SqlType`]; others are
/// [`SqlType::Custom`] in upper case (`character(3)` is `CHAR(3)`).
pub(crate) fn parse_type(formatted: &str) -> SqlType {
    let (name, args, tail) = split_type(formatted);
    let n = |i: usize| args.get(i).and_then(|a| a.parse::<u32>().ok());
    let with_zone = tail == "WITH TIME ZONE" || name.ends_with("WITH TIME ZONE");
    let base = name
        .trim_end_matches(" WITH TIME ZONE")
        .trim_end_matches(" WITHOUT TIME ZONE");
    match (base, with_zone) {
        ("SMALLINT", _) => SqlType::SmallInt,
        ("INTEGER", _) => SqlType::Integer,
        ("BIGINT", _) => SqlType::BigInt,
        ("REAL", _) => SqlType::Float,
        ("DOUBLE PRECISION", _) => SqlType::Double,
        ("NUMERIC", _) => SqlType::Numeric {
            precision: n(0),
            scale: n(1),
        },
        ("CHARACTER VARYING", _) => SqlType::Varchar(n(0)),
        ("CHARACTER", _) => SqlType::Custom(match n(0) {
            Some(len) => format!("CHAR({len})"),
            None => "CHAR".to_owned(),
        }),
        ("TEXT", _) => SqlType::Text,
        ("BOOLEAN", _) => SqlType::Boolean,
        ("DATE", _) => SqlType::Date,
        ("TIME", false) => SqlType::Time,
        ("TIMESTAMP", false) => SqlType::DateTime,
        ("TIMESTAMP", true) => SqlType::TimestampTz,
        ("BYTEA", _) => SqlType::Blob,
        ("UUID", _) => SqlType::Uuid,
        ("JSON" | "JSONB", _) => SqlType::Json,
        _ => SqlType::Custom(formatted.trim().to_ascii_uppercase()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatted_types_parse() {
        assert_eq!(parse_type("integer"), SqlType::Integer);
        assert_eq!(parse_type("numeric(10,2)"), SqlType::numeric(10, 2));
        assert_eq!(
            parse_type("numeric"),
            SqlType::Numeric {
                precision: None,
                scale: None
            }
        );
        assert_eq!(parse_type("character varying(50)"), SqlType::varchar(50));
        assert_eq!(parse_type("character varying"), SqlType::Varchar(None));
        assert_eq!(
            parse_type("character(3)"),
            SqlType::Custom("CHAR(3)".into())
        );
        assert_eq!(parse_type("timestamp without time zone"), SqlType::DateTime);
        assert_eq!(
            parse_type("timestamp(3) with time zone"),
            SqlType::TimestampTz
        );
        assert_eq!(parse_type("time without time zone"), SqlType::Time);
        assert_eq!(
            parse_type("time with time zone"),
            SqlType::Custom("TIME WITH TIME ZONE".into())
        );
        assert_eq!(parse_type("jsonb"), SqlType::Json);
        assert_eq!(parse_type("integer[]"), SqlType::Custom("INTEGER[]".into()));
    }

    #[test]
    fn check_definitions_lose_their_wrapping() {
        assert_eq!(
            check_condition("CHECK ((price >= (0)::numeric))"),
            "price >= (0)::numeric"
        );
        assert_eq!(check_condition("CHECK ((a > 0)) NOT VALID"), "a > 0");
        assert_eq!(
            check_condition("CHECK ((a > 0) AND (b > 0))"),
            "(a > 0) AND (b > 0)"
        );
    }
}
