//! SQLite reflection: the `table_info`, `foreign_key_list`, `index_list` and
//! `index_info` pragmas (as table-valued functions, which take the schema as their
//! second argument), and the `CREATE TABLE` text in `sqlite_master`, parsed for what
//! the pragmas do not tell: constraint names, CHECK conditions, `AUTOINCREMENT`.
//! See <https://www.sqlite.org/pragma.html> and
//! <https://www.sqlite.org/lang_createtable.html>.

use super::{Ctx, Relations, TableOptions, referential_action, split_type};
use crate::engine::Exec;
use crate::error::{Error, Result};
use crate::schema::{
    Autoincrement, CheckConstraint, Column, ForeignKey, Index, PrimaryKey, SqlType,
    UniqueConstraint,
};
use crate::sql::text;

pub(crate) async fn default_schema(_ex: &mut Exec<'_>, _ctx: &Ctx) -> Result<String> {
    Ok("main".to_owned())
}

pub(crate) async fn schema_names(ex: &mut Exec<'_>, _ctx: &Ctx) -> Result<Vec<String>> {
    ex.fetch_all(text("SELECT name FROM pragma_database_list ORDER BY seq"))
        .await?
        .iter()
        .map(|r| r.get::<String>(0))
        .collect()
}

fn master(ctx: &Ctx, schema: &str) -> String {
    format!("{}.sqlite_master", ctx.dialect.quote_identifier(schema))
}

pub(crate) async fn relations(ex: &mut Exec<'_>, ctx: &Ctx, schema: &str) -> Result<Relations> {
    // `<schema>.sqlite_master` of a database that is not attached is a bare "no such
    // table" error; name the schema instead.
    let schemas = schema_names(ex, ctx).await?;
    if !schemas.iter().any(|s| s == schema) {
        return Err(Error::SchemaNotFound {
            schema: schema.to_owned(),
            available: schemas.join(", "),
        });
    }
    let sql = format!(
        "SELECT type, name FROM {} WHERE type IN ('table', 'view') \
         AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
        master(ctx, schema)
    );
    let mut rel = Relations::default();
    for r in ex.fetch_all(text(sql)).await? {
        let name: String = r.get(1)?;
        if r.get::<String>(0)? == "view" {
            rel.views.push(name);
        } else {
            rel.tables.push(name);
        }
    }
    Ok(rel)
}

/// The `CREATE TABLE` statement of `table`, parsed.
async fn definition(ex: &mut Exec<'_>, ctx: &Ctx, schema: &str, table: &str) -> Result<Parsed> {
    let sql = format!(
        "SELECT sql FROM {} WHERE type = 'table' AND name = :t",
        master(ctx, schema)
    );
    let rows = ex.fetch_all(text(sql).bind("t", table)).await?;
    let create: Option<String> = match rows.first() {
        Some(r) => r.get(0)?,
        None => None,
    };
    Ok(create.map(|s| parse_create_table(&s)).unwrap_or_default())
}

pub(crate) async fn columns(
    ex: &mut Exec<'_>,
    ctx: &Ctx,
    schema: &str,
    table: &str,
) -> Result<Vec<Column>> {
    let rows = ex
        .fetch_all(
            text(r#"SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(:t, :s) ORDER BY cid"#)
                .bind("t", table)
                .bind("s", schema),
        )
        .await?;
    let parsed = definition(ex, ctx, schema, table).await?;
    let pk_count = rows
        .iter()
        .filter(|r| r.get::<i64>("pk").is_ok_and(|p| p > 0))
        .count();
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let declared: String = r.get::<Option<String>>("type")?.unwrap_or_default();
        let mut c = Column::new(r.get::<String>("name")?, parse_type(&declared));
        c.nullable = r.get::<i64>("notnull")? == 0;
        c.server_default = r.get::<Option<String>>("dflt_value")?;
        // Only a lone primary-key column declared exactly INTEGER aliases the rowid, in
        // a table that has one: https://www.sqlite.org/lang_createtable.html#rowid
        let rowid_alias = r.get::<i64>("pk")? > 0
            && pk_count == 1
            && declared.eq_ignore_ascii_case("INTEGER")
            && !parsed.without_rowid;
        c.autoincrement = if rowid_alias {
            Autoincrement::Yes
        } else {
            Autoincrement::No
        };
        // A rowid alias can never hold NULL, whatever its declaration says.
        if rowid_alias {
            c.nullable = false;
        }
        out.push(c);
    }
    Ok(out)
}

pub(crate) async fn primary_key(
    ex: &mut Exec<'_>,
    ctx: &Ctx,
    schema: &str,
    table: &str,
) -> Result<PrimaryKey> {
    let rows = ex
        .fetch_all(
            text("SELECT name, pk FROM pragma_table_info(:t, :s) WHERE pk > 0 ORDER BY pk")
                .bind("t", table)
                .bind("s", schema),
        )
        .await?;
    let columns = rows
        .iter()
        .map(|r| r.get::<String>(0))
        .collect::<Result<Vec<_>>>()?;
    let name = if columns.is_empty() {
        None
    } else {
        definition(ex, ctx, schema, table).await?.pk_name
    };
    Ok(PrimaryKey { name, columns })
}

pub(crate) async fn foreign_keys(
    ex: &mut Exec<'_>,
    ctx: &Ctx,
    schema: &str,
    table: &str,
) -> Result<Vec<ForeignKey>> {
    let rows = ex
        .fetch_all(
            text(
                r#"SELECT id, "table", "from", "to", on_update, on_delete
                   FROM pragma_foreign_key_list(:t, :s) ORDER BY id, seq"#,
            )
            .bind("t", table)
            .bind("s", schema),
        )
        .await?;
    let mut keys: Vec<(i64, ForeignKey)> = Vec::new();
    for r in rows {
        let id: i64 = r.get("id")?;
        let to: Option<String> = r.get("to")?;
        let from: String = r.get("from")?;
        match keys.last_mut() {
            Some((last, fk)) if *last == id => {
                fk.columns.push(from);
                fk.referred_columns.extend(to);
            }
            _ => {
                let mut fk = ForeignKey::new([from], r.get::<String>("table")?, to);
                fk.on_update = referential_action(&r.get::<String>("on_update")?);
                fk.on_delete = referential_action(&r.get::<String>("on_delete")?);
                keys.push((id, fk));
            }
        }
    }
    let parsed = definition(ex, ctx, schema, table).await?;
    let mut out = Vec::with_capacity(keys.len());
    for (_, mut fk) in keys {
        // `REFERENCES parent` without columns means the parent's primary key.
        if fk.referred_columns.is_empty() {
            fk.referred_columns = primary_key(ex, ctx, schema, &fk.referred_table)
                .await?
                .columns;
        }
        fk.name = parsed
            .foreign_keys
            .iter()
            .find(|(_, cols, parent)| {
                *cols == fk.columns && parent.eq_ignore_ascii_case(&fk.referred_table)
            })
            .and_then(|(name, _, _)| name.clone());
        out.push(fk);
    }
    out.sort_by(|a, b| (&a.name, &a.columns).cmp(&(&b.name, &b.columns)));
    Ok(out)
}

/// `(name, unique, origin)` of every index of `table` with its columns; an expression
/// column is `None`.
async fn index_list(
    ex: &mut Exec<'_>,
    schema: &str,
    table: &str,
) -> Result<Vec<(String, bool, String, bool, Vec<Option<String>>)>> {
    let rows = ex
        .fetch_all(
            text(r#"SELECT name, "unique", origin, partial FROM pragma_index_list(:t, :s) ORDER BY name"#)
                .bind("t", table)
                .bind("s", schema),
        )
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let name: String = r.get("name")?;
        let cols = ex
            .fetch_all(
                text("SELECT name FROM pragma_index_info(:i, :s) ORDER BY seqno")
                    .bind("i", name.as_str())
                    .bind("s", schema),
            )
            .await?
            .iter()
            .map(|c| c.get::<Option<String>>(0))
            .collect::<Result<Vec<_>>>()?;
        out.push((
            name,
            r.get::<i64>("unique")? != 0,
            r.get::<String>("origin")?,
            r.get::<i64>("partial")? != 0,
            cols,
        ));
    }
    Ok(out)
}

pub(crate) async fn indexes(
    ex: &mut Exec<'_>,
    _ctx: &Ctx,
    schema: &str,
    table: &str,
) -> Result<Vec<Index>> {
    let mut out = Vec::new();
    // origin `c`: made by CREATE INDEX (`u` and `pk` back constraints).
    for (name, unique, origin, partial, cols) in index_list(ex, schema, table).await? {
        if origin != "c" || partial || cols.iter().any(Option::is_none) {
            continue;
        }
        out.push(Index {
            name: Some(name),
            columns: cols.into_iter().flatten().collect(),
            unique,
        });
    }
    Ok(out)
}

pub(crate) async fn unique_constraints(
    ex: &mut Exec<'_>,
    ctx: &Ctx,
    schema: &str,
    table: &str,
) -> Result<Vec<UniqueConstraint>> {
    let parsed = definition(ex, ctx, schema, table).await?;
    let mut out: Vec<UniqueConstraint> = Vec::new();
    // The automatic indexes are the truth about which unique constraints exist; the
    // table's text gives their names.
    for (_, _, origin, _, cols) in index_list(ex, schema, table).await? {
        if origin != "u" {
            continue;
        }
        let columns: Vec<String> = cols.into_iter().flatten().collect();
        let name = parsed
            .uniques
            .iter()
            .find(|(_, c)| same_names(c, &columns))
            .and_then(|(n, _)| n.clone());
        out.push(UniqueConstraint { name, columns });
    }
    out.sort_by(|a, b| (&a.name, &a.columns).cmp(&(&b.name, &b.columns)));
    Ok(out)
}

fn same_names(a: &[String], b: &[String]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.eq_ignore_ascii_case(y))
}

pub(crate) async fn check_constraints(
    ex: &mut Exec<'_>,
    ctx: &Ctx,
    schema: &str,
    table: &str,
) -> Result<Vec<CheckConstraint>> {
    let mut out: Vec<CheckConstraint> = definition(ex, ctx, schema, table)
        .await?
        .checks
        .into_iter()
        .map(|(name, sql)| CheckConstraint { name, sql })
        .collect();
    out.sort_by(|a, b| (&a.name, &a.sql).cmp(&(&b.name, &b.sql)));
    Ok(out)
}

pub(crate) async fn table_options(
    ex: &mut Exec<'_>,
    ctx: &Ctx,
    schema: &str,
    table: &str,
) -> Result<TableOptions> {
    Ok(TableOptions {
        comment: None,
        sqlite_autoincrement: definition(ex, ctx, schema, table).await?.autoincrement,
    })
}

/// A declared column type, as SQLite keeps it (the text of `CREATE TABLE`), mapped to
/// the [`SqlType`] that spells it. Unknown types are [`SqlType::Custom`] as written.
pub(crate) fn parse_type(declared: &str) -> SqlType {
    let (name, args, tail) = split_type(declared);
    let n = |i: usize| args.get(i).and_then(|a| a.parse::<u32>().ok());
    if !tail.is_empty() {
        return SqlType::Custom(declared.trim().to_owned());
    }
    match name.as_str() {
        "INTEGER" | "INT" => SqlType::Integer,
        "BIGINT" | "INT8" => SqlType::BigInt,
        "SMALLINT" | "INT2" => SqlType::SmallInt,
        "REAL" | "FLOAT" if args.is_empty() => SqlType::Float,
        "DOUBLE" | "DOUBLE PRECISION" if args.is_empty() => SqlType::Double,
        "NUMERIC" | "DECIMAL" if args.len() <= 2 => SqlType::Numeric {
            precision: n(0),
            scale: n(1),
        },
        "VARCHAR"
        | "NVARCHAR"
        | "CHARACTER VARYING"
        | "VARYING CHARACTER"
        | "NATIONAL VARYING CHARACTER"
            if args.len() <= 1 =>
        {
            SqlType::Varchar(n(0))
        }
        "TEXT" | "CLOB" if args.is_empty() => SqlType::Text,
        "BOOLEAN" | "BOOL" => SqlType::Boolean,
        "DATE" => SqlType::Date,
        "TIME" => SqlType::Time,
        "DATETIME" => SqlType::DateTime,
        "TIMESTAMP" => SqlType::TimestampTz,
        "BLOB" => SqlType::Blob,
        "UUID" => SqlType::Uuid,
        "JSON" | "JSONB" => SqlType::Json,
        _ => SqlType::Custom(declared.trim().to_owned()),
    }
}

// ---- the CREATE TABLE parser --------------------------------------------------------

/// What the text of a `CREATE TABLE` says that the pragmas do not.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Parsed {
    pub pk_name: Option<String>,
    /// `(name, columns)`.
    pub uniques: Vec<(Option<String>, Vec<String>)>,
    /// `(name, condition as written)`.
    pub checks: Vec<(Option<String>, String)>,
    /// `(name, columns, referred table)`.
    pub foreign_keys: Vec<(Option<String>, Vec<String>, String)>,
    pub autoincrement: bool,
    pub without_rowid: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tk {
    Word,
    Quoted,
    Str,
    Open,
    Close,
    Comma,
    Other,
}

#[derive(Debug, Clone, Copy)]
struct Tok {
    kind: Tk,
    start: usize,
    end: usize,
}

/// Splits SQL into tokens: words, quoted identifiers (`"x"`, `` `x` ``, `[x]`),
/// strings, parentheses and commas; comments are skipped.
fn tokenize(sql: &str) -> Vec<Tok> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        let kind = match c {
            _ if c.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i = (i + 2).min(b.len());
                continue;
            }
            b'"' | b'`' | b'\'' | b'[' => {
                let close = if c == b'[' { b']' } else { c };
                i += 1;
                loop {
                    match b.get(i) {
                        None => break,
                        Some(&x) if x == close => {
                            // A doubled quote is an escaped one (not inside brackets).
                            if c != b'[' && b.get(i + 1) == Some(&close) {
                                i += 2;
                                continue;
                            }
                            i += 1;
                            break;
                        }
                        Some(_) => i += 1,
                    }
                }
                if c == b'\'' { Tk::Str } else { Tk::Quoted }
            }
            b'(' => {
                i += 1;
                Tk::Open
            }
            b')' => {
                i += 1;
                Tk::Close
            }
            b',' => {
                i += 1;
                Tk::Comma
            }
            _ if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 => {
                while i < b.len()
                    && (b[i].is_ascii_alphanumeric()
                        || b[i] == b'_'
                        || b[i] == b'$'
                        || b[i] >= 0x80)
                {
                    i += 1;
                }
                Tk::Word
            }
            _ => {
                i += 1;
                Tk::Other
            }
        };
        out.push(Tok {
            kind,
            start,
            end: i,
        });
    }
    out
}

struct Parser<'s> {
    sql: &'s str,
    toks: Vec<Tok>,
}

impl Parser<'_> {
    fn text(&self, t: Tok) -> &str {
        &self.sql[t.start..t.end]
    }

    fn is_kw(&self, i: usize, kw: &str) -> bool {
        self.toks
            .get(i)
            .is_some_and(|t| t.kind == Tk::Word && self.text(*t).eq_ignore_ascii_case(kw))
    }

    /// The identifier at token `i`, unquoted.
    fn ident(&self, i: usize) -> Option<String> {
        let t = *self.toks.get(i)?;
        let s = self.text(t);
        Some(match t.kind {
            Tk::Word => s.to_owned(),
            Tk::Quoted | Tk::Str => {
                let inner = &s[1..s.len().saturating_sub(1).max(1)];
                match s.as_bytes()[0] {
                    b'[' => inner.to_owned(),
                    q => {
                        let q = q as char;
                        inner.replace(&format!("{q}{q}"), &q.to_string())
                    }
                }
            }
            _ => return None,
        })
    }

    /// The index of the token closing the parenthesis opened at `open`.
    fn matching(&self, open: usize) -> usize {
        let mut depth = 0usize;
        for (i, t) in self.toks.iter().enumerate().skip(open) {
            match t.kind {
                Tk::Open => depth += 1,
                Tk::Close => {
                    depth -= 1;
                    if depth == 0 {
                        return i;
                    }
                }
                _ => {}
            }
        }
        self.toks.len()
    }

    /// The identifiers of a parenthesized list starting at `open` (ignoring `ASC`,
    /// `DESC` and `COLLATE x` after a name).
    fn ident_list(&self, open: usize) -> (Vec<String>, usize) {
        let close = self.matching(open);
        let mut out = Vec::new();
        let mut expect_name = true;
        let mut i = open + 1;
        while i < close {
            match self.toks[i].kind {
                Tk::Comma => expect_name = true,
                Tk::Word | Tk::Quoted | Tk::Str if expect_name => {
                    out.extend(self.ident(i));
                    expect_name = false;
                }
                Tk::Open => i = self.matching(i),
                _ => {}
            }
            i += 1;
        }
        (out, close)
    }

    /// The SQL text between the parenthesis at `open` and its match.
    fn inner_text(&self, open: usize) -> (String, usize) {
        let close = self.matching(open);
        let start = self.toks[open].end;
        let end = self.toks.get(close).map_or(self.sql.len(), |t| t.start);
        (self.sql[start..end].trim().to_owned(), close)
    }
}

const COLUMN_CONSTRAINT_WORDS: &[&str] = &[
    "CONSTRAINT",
    "PRIMARY",
    "NOT",
    "NULL",
    "UNIQUE",
    "CHECK",
    "DEFAULT",
    "COLLATE",
    "REFERENCES",
    "GENERATED",
    "AS",
];

/// Parses the `CREATE TABLE` text SQLite stores. Anything it does not understand is
/// skipped, never an error: the pragmas remain the source of truth.
pub(crate) fn parse_create_table(sql: &str) -> Parsed {
    let p = Parser {
        sql,
        toks: tokenize(sql),
    };
    let mut out = Parsed::default();
    let Some(open) = p.toks.iter().position(|t| t.kind == Tk::Open) else {
        return out;
    };
    let close = p.matching(open);
    let tail: Vec<String> = p.toks[close.min(p.toks.len())..]
        .iter()
        .filter(|t| t.kind == Tk::Word)
        .map(|t| p.text(*t).to_ascii_uppercase())
        .collect();
    out.without_rowid = tail.windows(2).any(|w| w == ["WITHOUT", "ROWID"]);

    // Split the body into items at top-level commas.
    let mut items: Vec<(usize, usize)> = Vec::new();
    let (mut start, mut i) = (open + 1, open + 1);
    while i < close {
        match p.toks[i].kind {
            Tk::Open => i = p.matching(i),
            Tk::Comma => {
                items.push((start, i));
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    items.push((start, close));

    for (s, e) in items {
        if s >= e {
            continue;
        }
        let table_constraint = ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"]
            .iter()
            .any(|kw| p.is_kw(s, kw));
        if table_constraint {
            let mut i = s;
            let mut name = None;
            if p.is_kw(i, "CONSTRAINT") {
                name = p.ident(i + 1);
                i += 2;
            }
            if p.is_kw(i, "PRIMARY") {
                out.pk_name = name;
            } else if p.is_kw(i, "UNIQUE") {
                if let Some(o) = (i..e).find(|&j| p.toks[j].kind == Tk::Open) {
                    out.uniques.push((name, p.ident_list(o).0));
                }
            } else if p.is_kw(i, "CHECK") {
                if let Some(o) = (i..e).find(|&j| p.toks[j].kind == Tk::Open) {
                    out.checks.push((name, p.inner_text(o).0));
                }
            } else if p.is_kw(i, "FOREIGN")
                && let Some(o) = (i..e).find(|&j| p.toks[j].kind == Tk::Open)
            {
                let (cols, after) = p.ident_list(o);
                if let Some(r) = (after..e).find(|&j| p.is_kw(j, "REFERENCES"))
                    && let Some(parent) = p.ident(r + 1)
                {
                    out.foreign_keys.push((name, cols, parent));
                }
            }
            continue;
        }
        // A column definition: name, type, then column constraints.
        let Some(col) = p.ident(s) else { continue };
        let mut pending: Option<String> = None;
        let mut i = s + 1;
        while i < e {
            let word = (p.toks[i].kind == Tk::Word).then(|| p.text(p.toks[i]).to_ascii_uppercase());
            match word.as_deref() {
                Some("CONSTRAINT") => {
                    pending = p.ident(i + 1);
                    i += 1;
                }
                Some("PRIMARY") => {
                    out.pk_name = pending.take();
                    if (i..e).any(|j| p.is_kw(j, "AUTOINCREMENT")) {
                        out.autoincrement = true;
                    }
                }
                Some("UNIQUE") => out.uniques.push((pending.take(), vec![col.clone()])),
                Some("CHECK") => {
                    if p.toks.get(i + 1).is_some_and(|t| t.kind == Tk::Open) {
                        let (cond, close) = p.inner_text(i + 1);
                        out.checks.push((pending.take(), cond));
                        i = close;
                    }
                }
                Some("REFERENCES") => {
                    if let Some(parent) = p.ident(i + 1) {
                        out.foreign_keys
                            .push((pending.take(), vec![col.clone()], parent));
                    }
                    i += 1;
                }
                Some(w) if COLUMN_CONSTRAINT_WORDS.contains(&w) => pending = None,
                _ => {
                    if p.toks[i].kind == Tk::Open {
                        i = p.matching(i);
                    }
                }
            }
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_parse() {
        assert_eq!(parse_type("INTEGER"), SqlType::Integer);
        assert_eq!(parse_type("NVARCHAR(160)"), SqlType::varchar(160));
        assert_eq!(parse_type("varchar"), SqlType::Varchar(None));
        assert_eq!(parse_type("NUMERIC(10,2)"), SqlType::numeric(10, 2));
        assert_eq!(parse_type("double  precision"), SqlType::Double);
        assert_eq!(parse_type("DATETIME"), SqlType::DateTime);
        assert_eq!(parse_type("TIMESTAMP"), SqlType::TimestampTz);
        assert_eq!(parse_type("CHAR(3)"), SqlType::Custom("CHAR(3)".into()));
        assert_eq!(parse_type(""), SqlType::Custom(String::new()));
    }

    #[test]
    fn create_table_text_gives_names_checks_and_autoincrement() {
        let p = parse_create_table(
            r#"CREATE TABLE "line" ("id" INTEGER NOT NULL CONSTRAINT "pk_line" PRIMARY KEY AUTOINCREMENT,
               "sku" VARCHAR(20) CONSTRAINT uq_sku UNIQUE, [qty] INT CHECK (qty > 0) DEFAULT (1),
               "order_id" INTEGER REFERENCES "order" (id) ON DELETE CASCADE,
               -- a comment, with a comma
               CONSTRAINT "ck_it's" CHECK ("sku" IN ('a,b', 'c''d')),
               CONSTRAINT `fk_x` FOREIGN KEY ("sku", qty) REFERENCES [other] ("a", "b"),
               UNIQUE ("sku", "qty"))"#,
        );
        assert_eq!(p.pk_name.as_deref(), Some("pk_line"));
        assert!(p.autoincrement && !p.without_rowid);
        assert_eq!(
            p.uniques,
            vec![
                (Some("uq_sku".into()), vec!["sku".into()]),
                (None, vec!["sku".into(), "qty".into()])
            ]
        );
        assert_eq!(
            p.checks,
            vec![
                (None, "qty > 0".into()),
                (Some("ck_it's".into()), r#""sku" IN ('a,b', 'c''d')"#.into())
            ]
        );
        assert_eq!(
            p.foreign_keys,
            vec![
                (None, vec!["order_id".into()], "order".into()),
                (
                    Some("fk_x".into()),
                    vec!["sku".into(), "qty".into()],
                    "other".into()
                )
            ]
        );
        let p = parse_create_table(
            "CREATE TABLE t (a INTEGER, b TEXT, CONSTRAINT [PK_T] PRIMARY KEY (a, b)) WITHOUT ROWID",
        );
        assert_eq!(p.pk_name.as_deref(), Some("PK_T"));
        assert!(p.without_rowid && !p.autoincrement);
    }
}
