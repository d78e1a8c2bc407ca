//! MySQL and MariaDB reflection, from `information_schema`: `TABLES`, `COLUMNS`,
//! `STATISTICS` (indexes), `KEY_COLUMN_USAGE` with `REFERENTIAL_CONSTRAINTS` (foreign
//! keys), `TABLE_CONSTRAINTS` with `CHECK_CONSTRAINTS`.
//!
//! `information_schema` compares names without regard to case; every lookup here
//! compares bytes, so `Group` and `group` stay two tables where the server keeps them
//! apart (`lower_case_table_names = 0`).

use super::{Ctx, Relations, TableOptions, referential_action, split_type};
use crate::engine::Exec;
use crate::error::Result;
use crate::schema::{
    Autoincrement, CheckConstraint, Column, ForeignKey, Index, PrimaryKey, SqlType,
    UniqueConstraint,
};
use crate::sql::{TextClause, text};

/// `WHERE` clause matching `:schema` and `:table` byte for byte, for a view aliased `x`.
fn table_filter(x: &str) -> String {
    format!(
        "CAST({x}.TABLE_SCHEMA AS BINARY) = CAST(:schema AS BINARY) \
         AND CAST({x}.TABLE_NAME AS BINARY) = CAST(:table AS BINARY)"
    )
}

fn bound(sql: impl AsRef<str>, schema: &str, table: &str) -> TextClause {
    text(sql).bind("schema", schema).bind("table", table)
}

pub(crate) async fn default_schema(ex: &mut Exec<'_>, _ctx: &Ctx) -> Result<String> {
    let rows = ex.fetch_all(text("SELECT DATABASE()")).await?;
    Ok(match rows.first() {
        Some(r) => r.get::<Option<String>>(0)?.unwrap_or_default(),
        None => String::new(),
    })
}

pub(crate) async fn schema_names(ex: &mut Exec<'_>, _ctx: &Ctx) -> Result<Vec<String>> {
    ex.fetch_all(text(
        "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME NOT IN \
         ('information_schema', 'mysql', 'performance_schema', 'sys') ORDER BY SCHEMA_NAME",
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
                "SELECT TABLE_NAME AS name, TABLE_TYPE AS kind FROM information_schema.TABLES \
                 WHERE CAST(TABLE_SCHEMA AS BINARY) = CAST(:schema AS BINARY) \
                 ORDER BY CAST(TABLE_NAME AS BINARY)",
            )
            .bind("schema", schema),
        )
        .await?;
    let mut rel = Relations::default();
    for r in rows {
        let name: String = r.get("name")?;
        match r.get::<String>("kind")?.as_str() {
            "VIEW" | "SYSTEM VIEW" => rel.views.push(name),
            "SEQUENCE" => {}
            _ => rel.tables.push(name),
        }
    }
    Ok(rel)
}

/// The columns MariaDB gave an implicit `json_valid` CHECK: its `JSON` type is
/// `LONGTEXT` plus that check, named after the column.
async fn json_columns(
    ex: &mut Exec<'_>,
    ctx: &Ctx,
    schema: &str,
    table: &str,
) -> Result<Vec<String>> {
    if !ctx.mariadb {
        return Ok(Vec::new());
    }
    Ok(raw_checks(ex, ctx, schema, table)
        .await?
        .into_iter()
        .filter(|(name, clause)| is_json_check(name, clause))
        .map(|(name, _)| name)
        .collect())
}

fn is_json_check(name: &str, clause: &str) -> bool {
    clause == format!("json_valid(`{}`)", name.replace('`', "``"))
}

pub(crate) async fn columns(
    ex: &mut Exec<'_>,
    ctx: &Ctx,
    schema: &str,
    table: &str,
) -> Result<Vec<Column>> {
    let rows = ex
        .fetch_all(bound(
            format!(
                "SELECT c.COLUMN_NAME AS name, c.COLUMN_TYPE AS column_type, \
                        c.IS_NULLABLE AS nullable, c.COLUMN_DEFAULT AS dflt, \
                        c.EXTRA AS extra, c.COLUMN_COMMENT AS comment \
                 FROM information_schema.COLUMNS c WHERE {} ORDER BY c.ORDINAL_POSITION",
                table_filter("c")
            ),
            schema,
            table,
        ))
        .await?;
    let json = json_columns(ex, ctx, schema, table).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let name: String = r.get("name")?;
        let column_type: String = r.get("column_type")?;
        let sql_type = if json.contains(&name) {
            SqlType::Json
        } else {
            parse_type(&name, &column_type)
        };
        let extra: String = r.get::<Option<String>>("extra")?.unwrap_or_default();
        let mut c = Column::new(name, sql_type);
        c.nullable = r.get::<String>("nullable")? == "YES";
        c.autoincrement = if extra.to_ascii_lowercase().contains("auto_increment") {
            Autoincrement::Yes
        } else {
            Autoincrement::No
        };
        c.server_default =
            server_default(ctx, r.get::<Option<String>>("dflt")?, &extra, &column_type);
        c.comment = r
            .get::<Option<String>>("comment")?
            .filter(|s| !s.is_empty());
        out.push(c);
    }
    Ok(out)
}

/// `COLUMN_DEFAULT` as SQL. MariaDB (10.2.7+) prints it as SQL already, with `NULL`
/// for "no default" on a nullable column; MySQL prints a literal's bare value and marks
/// expressions `DEFAULT_GENERATED` in `EXTRA`.
fn server_default(
    ctx: &Ctx,
    raw: Option<String>,
    extra: &str,
    column_type: &str,
) -> Option<String> {
    let raw = raw?;
    if ctx.mariadb {
        return (raw != "NULL").then_some(raw);
    }
    let lower = column_type.to_ascii_lowercase();
    let textual = [
        "char", "text", "enum", "set", "date", "time", "year", "binary", "blob",
    ]
    .iter()
    .any(|t| lower.contains(t));
    if extra.contains("DEFAULT_GENERATED") || !textual {
        Some(raw)
    } else {
        Some(crate::schema::ddl::string_literal(
            crate::dialect::Dialect::MySql,
            &raw,
        ))
    }
}

pub(crate) async fn primary_key(
    ex: &mut Exec<'_>,
    _ctx: &Ctx,
    schema: &str,
    table: &str,
) -> Result<PrimaryKey> {
    let rows = ex
        .fetch_all(bound(
            format!(
                "SELECT s.COLUMN_NAME FROM information_schema.STATISTICS s \
                 WHERE {} AND s.INDEX_NAME = 'PRIMARY' ORDER BY s.SEQ_IN_INDEX",
                table_filter("s")
            ),
            schema,
            table,
        ))
        .await?;
    Ok(PrimaryKey {
        // Every MySQL primary key is called PRIMARY, whatever it was declared as.
        name: None,
        columns: rows
            .iter()
            .map(|r| r.get::<String>(0))
            .collect::<Result<Vec<_>>>()?,
    })
}

/// `(name, unique, columns)` of the indexes other than the primary key; `None` columns
/// are expressions.
async fn index_rows(
    ex: &mut Exec<'_>,
    schema: &str,
    table: &str,
) -> Result<Vec<(String, bool, Vec<Option<String>>)>> {
    let rows = ex
        .fetch_all(bound(
            format!(
                "SELECT s.INDEX_NAME AS name, s.NON_UNIQUE AS non_unique, s.COLUMN_NAME AS col \
                 FROM information_schema.STATISTICS s \
                 WHERE {} AND s.INDEX_NAME <> 'PRIMARY' \
                 ORDER BY CAST(s.INDEX_NAME AS BINARY), s.SEQ_IN_INDEX",
                table_filter("s")
            ),
            schema,
            table,
        ))
        .await?;
    let mut out: Vec<(String, bool, Vec<Option<String>>)> = Vec::new();
    for r in rows {
        let name: String = r.get("name")?;
        let col: Option<String> = r.get("col")?;
        match out.last_mut() {
            Some((n, _, cols)) if *n == name => cols.push(col),
            _ => out.push((name, r.get::<i64>("non_unique")? == 0, vec![col])),
        }
    }
    Ok(out)
}

pub(crate) async fn indexes(
    ex: &mut Exec<'_>,
    _ctx: &Ctx,
    schema: &str,
    table: &str,
) -> Result<Vec<Index>> {
    Ok(index_rows(ex, schema, table)
        .await?
        .into_iter()
        .filter(|(_, unique, cols)| !unique && cols.iter().all(Option::is_some))
        .map(|(name, _, cols)| Index {
            name: Some(name),
            columns: cols.into_iter().flatten().collect(),
            unique: false,
        })
        .collect())
}

pub(crate) async fn unique_constraints(
    ex: &mut Exec<'_>,
    _ctx: &Ctx,
    schema: &str,
    table: &str,
) -> Result<Vec<UniqueConstraint>> {
    Ok(index_rows(ex, schema, table)
        .await?
        .into_iter()
        .filter(|(_, unique, cols)| *unique && cols.iter().all(Option::is_some))
        .map(|(name, _, cols)| UniqueConstraint {
            name: Some(name),
            columns: cols.into_iter().flatten().collect(),
        })
        .collect())
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
                "SELECT k.CONSTRAINT_NAME AS name, k.COLUMN_NAME AS col, \
                        k.REFERENCED_TABLE_SCHEMA AS ref_schema, k.REFERENCED_TABLE_NAME AS ref_table, \
                        k.REFERENCED_COLUMN_NAME AS ref_col, r.UPDATE_RULE AS upd, r.DELETE_RULE AS del \
                 FROM information_schema.KEY_COLUMN_USAGE k \
                 JOIN information_schema.REFERENTIAL_CONSTRAINTS r \
                   ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA \
                  AND CAST(r.CONSTRAINT_NAME AS BINARY) = CAST(k.CONSTRAINT_NAME AS BINARY) \
                  AND CAST(r.TABLE_NAME AS BINARY) = CAST(k.TABLE_NAME AS BINARY) \
                 WHERE {} AND k.REFERENCED_TABLE_NAME IS NOT NULL \
                 ORDER BY CAST(k.CONSTRAINT_NAME AS BINARY), k.ORDINAL_POSITION",
                table_filter("k")
            ),
            schema,
            table,
        ))
        .await?;
    super::group_foreign_keys(&rows, schema, action)
}

/// InnoDB treats `RESTRICT` and `NO ACTION` alike, and MariaDB reports `RESTRICT` for
/// a key declared without a rule: both read back as the default, `None`.
fn action(rule: &str) -> Option<crate::schema::ReferentialAction> {
    if rule.eq_ignore_ascii_case("RESTRICT") {
        None
    } else {
        referential_action(rule)
    }
}

/// `(name, clause)` of every CHECK constraint of the table, sorted by name.
async fn raw_checks(
    ex: &mut Exec<'_>,
    ctx: &Ctx,
    schema: &str,
    table: &str,
) -> Result<Vec<(String, String)>> {
    // MariaDB names CHECK constraints per table (CHECK_CONSTRAINTS has TABLE_NAME);
    // MySQL 8 per schema (it has not).
    let table_match = if ctx.mariadb {
        " AND CAST(cc.TABLE_NAME AS BINARY) = CAST(tc.TABLE_NAME AS BINARY)"
    } else {
        ""
    };
    let rows = ex
        .fetch_all(bound(
            format!(
                "SELECT tc.CONSTRAINT_NAME AS name, cc.CHECK_CLAUSE AS clause \
                 FROM information_schema.TABLE_CONSTRAINTS tc \
                 JOIN information_schema.CHECK_CONSTRAINTS cc \
                   ON cc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA \
                  AND CAST(cc.CONSTRAINT_NAME AS BINARY) = CAST(tc.CONSTRAINT_NAME AS BINARY){table_match} \
                 WHERE {} AND tc.CONSTRAINT_TYPE = 'CHECK' \
                 ORDER BY CAST(tc.CONSTRAINT_NAME AS BINARY)",
                table_filter("tc")
            ),
            schema,
            table,
        ))
        .await?;
    rows.iter()
        .map(|r| Ok((r.get::<String>("name")?, r.get::<String>("clause")?)))
        .collect()
}

pub(crate) async fn check_constraints(
    ex: &mut Exec<'_>,
    ctx: &Ctx,
    schema: &str,
    table: &str,
) -> Result<Vec<CheckConstraint>> {
    let json = json_columns(ex, ctx, schema, table).await?;
    Ok(raw_checks(ex, ctx, schema, table)
        .await?
        .into_iter()
        .filter(|(name, clause)| !(json.contains(name) && is_json_check(name, clause)))
        .map(|(name, sql)| CheckConstraint {
            name: Some(name),
            sql,
        })
        .collect())
}

pub(crate) async fn table_options(
    ex: &mut Exec<'_>,
    _ctx: &Ctx,
    schema: &str,
    table: &str,
) -> Result<TableOptions> {
    let rows = ex
        .fetch_all(bound(
            format!(
                "SELECT t.TABLE_COMMENT FROM information_schema.TABLES t WHERE {}",
                table_filter("t")
            ),
            schema,
            table,
        ))
        .await?;
    Ok(TableOptions {
        comment: match rows.first() {
            Some(r) => r.get::<Option<String>>(0)?.filter(|c| !c.is_empty()),
            None => None,
        },
        sqlite_autoincrement: false,
    })
}

/// `COLUMN_TYPE` (`int(11)`, `tinyint(1)`, `varchar(50)`, `decimal(10,2)`,
/// `enum('a','b')`, `int(10) unsigned`) mapped to [`SqlType`]. MariaDB prints display
/// widths (`int(11)`), MySQL 8 only `tinyint(1)`; `BOOL` is `tinyint(1)`; `BINARY(16)`
/// is how [`SqlType::Uuid`] is stored. Others are [`SqlType::Custom`] in upper case,
/// integer display widths dropped. An `enum(...)` is [`SqlType::Enum`] named after
/// the column.
pub(crate) fn parse_type(column: &str, column_type: &str) -> SqlType {
    let lower = column_type.trim().to_ascii_lowercase();
    if let Some(list) = lower
        .strip_prefix("enum(")
        .and_then(|l| l.strip_suffix(')'))
    {
        // Take the variants from the original text, which keeps their case.
        let list = &column_type.trim()[5..5 + list.len()];
        return SqlType::Enum {
            name: column.to_owned(),
            variants: quoted_list(list),
        };
    }
    let (name, args, tail) = split_type(column_type);
    let n = |i: usize| args.get(i).and_then(|a| a.parse::<u32>().ok());
    let custom = || {
        let base = if matches!(
            name.as_str(),
            "TINYINT" | "SMALLINT" | "MEDIUMINT" | "INT" | "INTEGER" | "BIGINT"
        ) {
            name.clone()
        } else {
            column_type.trim().to_ascii_uppercase()
        };
        SqlType::Custom(if tail.is_empty() || base.contains(&tail) {
            base
        } else {
            format!("{base} {tail}")
        })
    };
    if !tail.is_empty() {
        // unsigned, zerofill
        return custom();
    }
    match name.as_str() {
        "TINYINT" if n(0) == Some(1) => SqlType::Boolean,
        "BOOL" | "BOOLEAN" => SqlType::Boolean,
        "SMALLINT" => SqlType::SmallInt,
        "INT" | "INTEGER" => SqlType::Integer,
        "BIGINT" => SqlType::BigInt,
        "FLOAT" if args.is_empty() => SqlType::Float,
        "DOUBLE" | "DOUBLE PRECISION" | "REAL" if args.is_empty() => SqlType::Double,
        "DECIMAL" | "NUMERIC" => SqlType::Numeric {
            precision: n(0),
            scale: n(1),
        },
        "VARCHAR" => SqlType::Varchar(n(0)),
        "TEXT" | "TINYTEXT" | "MEDIUMTEXT" | "LONGTEXT" => SqlType::Text,
        "JSON" => SqlType::Json,
        "DATE" => SqlType::Date,
        "TIME" => SqlType::Time,
        "DATETIME" => SqlType::DateTime,
        "TIMESTAMP" => SqlType::TimestampTz,
        "BINARY" if n(0) == Some(16) => SqlType::Uuid,
        "BLOB" | "TINYBLOB" | "MEDIUMBLOB" | "LONGBLOB" => SqlType::Blob,
        _ => custom(),
    }
}

/// `'a','it''s'` → `["a", "it's"]`.
fn quoted_list(list: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = list.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\'' {
            continue;
        }
        let mut v = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\'' if chars.peek() == Some(&'\'') => {
                    chars.next();
                    v.push('\'');
                }
                '\'' => break,
                '\\' => v.extend(chars.next()),
                other => v.push(other),
            }
        }
        out.push(v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_types_parse() {
        assert_eq!(parse_type("b", "tinyint(1)"), SqlType::Boolean);
        assert_eq!(parse_type("i", "int(11)"), SqlType::Integer);
        assert_eq!(parse_type("i", "int"), SqlType::Integer);
        assert_eq!(
            parse_type("i", "int(10) unsigned"),
            SqlType::Custom("INT UNSIGNED".into())
        );
        assert_eq!(
            parse_type("i", "tinyint(4)"),
            SqlType::Custom("TINYINT".into())
        );
        assert_eq!(parse_type("d", "decimal(65,30)"), SqlType::numeric(65, 30));
        assert_eq!(parse_type("t", "datetime(6)"), SqlType::DateTime);
        assert_eq!(parse_type("t", "time(6)"), SqlType::Time);
        assert_eq!(parse_type("u", "binary(16)"), SqlType::Uuid);
        assert_eq!(
            parse_type("c", "char(3)"),
            SqlType::Custom("CHAR(3)".into())
        );
        assert_eq!(parse_type("t", "longtext"), SqlType::Text);
        assert_eq!(
            parse_type("mood", "enum('Happy','it''s')"),
            SqlType::enumeration("mood", ["Happy", "it's"])
        );
    }
}
