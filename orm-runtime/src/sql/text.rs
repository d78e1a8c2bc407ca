//! `text()`: literal SQL with named bind parameters (`:name`), rewritten to each
//! dialect's placeholders.

use std::collections::HashMap;
use std::sync::Arc;

use super::{Compiled, Executable};
use crate::dialect::{Dialect, ServerInfo};
use crate::error::{Error, Result};
use crate::value::Value;

/// A literal SQL statement with named bind parameters, made by [`text`].
///
/// `:name` marks a parameter. Colons inside quoted strings, quoted identifiers and
/// comments, PostgreSQL's `::` casts, and a colon escaped as `\:` are left alone.
/// A name used twice binds the same value twice. A placeholder the database reads itself
/// (`?` on MySQL and SQLite, `$1` on PostgreSQL and SQLite, `$name` and `@name` on SQLite)
/// is an error when compiled for that database: it would take another parameter's value.
#[derive(Debug, Clone)]
#[must_use = "a statement does nothing until it is executed"]
pub struct TextClause {
    parsed: Arc<Parsed>,
    /// The value of each parameter, by its index in the standard parse's names.
    values: Vec<Option<Value>>,
    /// Values bound to names the standard parse does not have (an error when compiled,
    /// unless MySQL's reading of the text has them).
    unknown: Vec<(String, Value)>,
}

#[derive(Debug)]
struct Parsed {
    source: Arc<str>,
    /// As PostgreSQL and SQLite read it.
    standard: Parse,
    /// As MySQL reads it (backslash escapes in strings, `#` comments), made when needed.
    mysql: std::sync::OnceLock<Parse>,
}

#[derive(Debug)]
struct Parse {
    /// The SQL with `$n` placeholders, and with `?` ones, made when first compiled.
    numbered: std::sync::OnceLock<Rendered>,
    question: std::sync::OnceLock<Rendered>,
    pieces: Vec<Piece>,
    names: Vec<String>,
    /// Each name's index in `names`.
    name_index: HashMap<String, usize>,
    /// Placeholders of the databases' own written in the text: mixing one with named
    /// parameters would shift every value or take another's, so compiling for a
    /// dialect that reads it is an error. Each is the first of its kind.
    placeholders: Placeholders,
}

/// The first placeholder of each kind the databases read themselves.
#[derive(Debug, Default)]
struct Placeholders {
    /// `?` or `?NNN` (MySQL, SQLite).
    question: Option<String>,
    /// `$1` (PostgreSQL, SQLite).
    dollar_number: Option<String>,
    /// `$name` and `@name` (SQLite; a MySQL `@variable`, a PostgreSQL operator).
    sqlite_named: Option<String>,
}

impl Placeholders {
    /// The first placeholder in the text that `dialect` reads as a parameter.
    fn read_by(&self, dialect: Dialect) -> Option<&String> {
        match dialect {
            Dialect::Postgres => self.dollar_number.as_ref(),
            Dialect::MySql | Dialect::MariaDb => self.question.as_ref(),
            Dialect::Sqlite => self
                .question
                .as_ref()
                .or(self.dollar_number.as_ref())
                .or(self.sqlite_named.as_ref()),
        }
    }
}

/// The SQL text for one placeholder style, and which name each bind takes its value from.
#[derive(Debug)]
struct Rendered {
    sql: Arc<str>,
    /// Name indices in bind order.
    order: Vec<usize>,
}

impl Parse {
    fn render(&self, dialect: Dialect) -> &Rendered {
        let numbered = dialect.has_numbered_placeholders();
        let cell = if numbered {
            &self.numbered
        } else {
            &self.question
        };
        cell.get_or_init(|| {
            let mut sql = String::with_capacity(self.pieces.len() * 16);
            let mut order = Vec::new();
            // For numbered placeholders: the number given to each name, by name index.
            let mut numbers = vec![0usize; self.names.len()];
            for piece in &self.pieces {
                match piece {
                    Piece::Sql(s) => sql.push_str(s),
                    Piece::Param(idx) => {
                        if numbered && numbers[*idx] != 0 {
                            dialect.write_placeholder(&mut sql, numbers[*idx]);
                        } else {
                            order.push(*idx);
                            numbers[*idx] = order.len();
                            dialect.write_placeholder(&mut sql, order.len());
                        }
                    }
                }
            }
            Rendered {
                sql: sql.into(),
                order,
            }
        })
    }
}

/// How many parsed statements each thread keeps (see [`text`]).
const PARSE_CACHE_SIZE: usize = 512;

thread_local! {
    /// Parsed `text()` statements by source, so that running the same SQL again parses
    /// and renders it once. Cleared when full: a program that builds a new SQL string
    /// per call pays one lookup, not unbounded memory.
    static PARSE_CACHE: std::cell::RefCell<HashMap<Arc<str>, Arc<Parsed>, foldhash::fast::RandomState>> =
        std::cell::RefCell::new(HashMap::default());
}

fn parsed(source: &str) -> Arc<Parsed> {
    let cached = PARSE_CACHE.with(|c| c.borrow().get(source).cloned());
    if let Some(p) = cached {
        return p;
    }
    let standard = parse(source, false);
    let source: Arc<str> = source.into();
    let p = Arc::new(Parsed {
        source: source.clone(),
        standard,
        mysql: std::sync::OnceLock::new(),
    });
    PARSE_CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= PARSE_CACHE_SIZE {
            c.clear();
        }
        c.insert(source, p.clone());
    });
    p
}

#[derive(Debug)]
enum Piece {
    Sql(String),
    /// Index into `Parsed::names`.
    Param(usize),
}

/// Literal SQL with `:name` bind parameters.
///
/// ```
/// use orm_runtime::{Dialect, text};
/// let stmt = text("SELECT * FROM users WHERE id = :id OR parent = :id AND name = :n")
///     .bind("id", 5)
///     .bind("n", "ed");
/// let pg = stmt.compile(Dialect::Postgres).unwrap();
/// assert_eq!(pg.sql(), "SELECT * FROM users WHERE id = $1 OR parent = $1 AND name = $2");
/// let my = stmt.compile(Dialect::MySql).unwrap();
/// assert_eq!(my.sql(), "SELECT * FROM users WHERE id = ? OR parent = ? AND name = ?");
/// assert_eq!(my.binds().len(), 3);
/// ```
///
/// Parsing is cached per thread by the SQL text: the same statement run again is not
/// parsed again, and its SQL for each placeholder style is built once.
pub fn text(sql: impl AsRef<str>) -> TextClause {
    TextClause {
        parsed: parsed(sql.as_ref()),
        values: Vec::new(),
        unknown: Vec::new(),
    }
}

impl TextClause {
    /// Gives parameter `:name` a value. Naming a parameter the SQL does not contain is an
    /// error when the statement is compiled.
    pub fn bind(mut self, name: &str, value: impl Into<Value>) -> Self {
        let value = value.into();
        match self.parsed.standard.name_index.get(name) {
            Some(&i) => {
                if self.values.is_empty() {
                    self.values = vec![None; self.parsed.standard.names.len()];
                }
                self.values[i] = Some(value);
            }
            None => match self.unknown.iter_mut().find(|(n, _)| n == name) {
                Some(slot) => slot.1 = value,
                None => self.unknown.push((name.to_owned(), value)),
            },
        }
        self
    }

    /// The value bound to `name`, if any.
    fn value_of(&self, name: &str) -> Option<&Value> {
        match self.parsed.standard.name_index.get(name) {
            Some(&i) => self.values.get(i).and_then(Option::as_ref),
            None => self.unknown.iter().find(|(n, _)| n == name).map(|(_, v)| v),
        }
    }

    /// The SQL as written.
    pub fn sql(&self) -> &str {
        &self.parsed.source
    }

    /// The parameter names in order of first appearance.
    pub fn parameter_names(&self) -> &[String] {
        &self.parsed.standard.names
    }

    /// Compiles for `dialect`: placeholders rewritten, values in placeholder order.
    pub fn compile(&self, dialect: Dialect) -> Result<Compiled> {
        let parse = if dialect.is_mysql() {
            self.parsed
                .mysql
                .get_or_init(|| parse(&self.parsed.source, true))
        } else {
            &self.parsed.standard
        };
        if let Some(p) = parse.placeholders.read_by(dialect) {
            return Err(Error::BindParameter {
                name: p.clone(),
                problem: "is a placeholder the database would read itself (write `:name` and bind it)",
                sql: self.parsed.source.to_string(),
            });
        }
        // Every bound name must appear in the text as this dialect reads it.
        let standard = &self.parsed.standard;
        let bound = (self.values.iter().enumerate())
            .filter(|(_, v)| v.is_some())
            .map(|(i, _)| standard.names[i].as_str())
            .chain(self.unknown.iter().map(|(n, _)| n.as_str()));
        for name in bound {
            if !parse.name_index.contains_key(name) {
                return Err(Error::BindParameter {
                    name: name.to_owned(),
                    problem: "does not appear",
                    sql: self.parsed.source.to_string(),
                });
            }
        }
        let same_names = std::ptr::eq(parse, standard);
        let rendered = parse.render(dialect);
        let mut binds = Vec::with_capacity(rendered.order.len());
        for &idx in &rendered.order {
            let value = if same_names {
                self.values.get(idx).and_then(Option::as_ref)
            } else {
                self.value_of(&parse.names[idx])
            };
            match value {
                Some(value) => binds.push(value.clone()),
                None => {
                    return Err(Error::BindParameter {
                        name: parse.names[idx].clone(),
                        problem: "has no value",
                        sql: self.parsed.source.to_string(),
                    });
                }
            }
        }
        Ok(Compiled::new(rendered.sql.clone(), binds))
    }
}

impl Executable for TextClause {
    fn compile_for(&self, server: impl Into<ServerInfo>) -> Result<Compiled> {
        self.compile(server.into().dialect())
    }
}

impl std::fmt::Display for TextClause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.parsed.source)
    }
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Splits SQL into literal pieces and named parameters. `mysql`: backslash escapes in
/// quoted strings and `#` comments, as MySQL reads them; otherwise PostgreSQL's `E'...'`
/// escape strings and `$tag$...$tag$` dollar quotes.
fn parse(src: &str, mysql: bool) -> Parse {
    let mut pieces = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut name_index: HashMap<String, usize> = HashMap::new();
    let mut placeholders = Placeholders::default();
    let mut lit = String::with_capacity(src.len());
    let chars: Vec<char> = src.chars().collect();
    let word = |c: Option<&char>| c.is_some_and(|c| c.is_alphanumeric() || *c == '_');
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let prev = if i == 0 { None } else { chars.get(i - 1) };
        match c {
            // Quoted strings and identifiers: copy through the closing quote. A doubled
            // quote is an escaped quote; a backslash escapes the next character in MySQL
            // strings and PostgreSQL `E'...'` strings.
            '\'' | '"' | '`' => {
                let backslashes = (mysql && c != '`')
                    || (c == '\''
                        && matches!(prev, Some('E' | 'e'))
                        && !word(if i < 2 { None } else { chars.get(i - 2) }));
                lit.push(c);
                i += 1;
                while i < chars.len() {
                    let ch = chars[i];
                    lit.push(ch);
                    if backslashes && ch == '\\' {
                        if let Some(next) = chars.get(i + 1) {
                            lit.push(*next);
                        }
                        i += 2;
                        continue;
                    }
                    if ch == c {
                        if chars.get(i + 1) == Some(&c) {
                            lit.push(c);
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
            }
            // PostgreSQL dollar quoting: `$$...$$`, `$tag$...$tag$`.
            '$' if !mysql && !word(prev) && dollar_tag(&chars, i).is_some() => {
                let tag = dollar_tag(&chars, i).unwrap_or_default();
                let close: Vec<char> = tag.chars().collect();
                let body_start = i + close.len();
                let end = (body_start..=chars.len().saturating_sub(close.len()))
                    .find(|&k| chars[k..k + close.len()] == close[..])
                    .map_or(chars.len(), |k| k + close.len());
                lit.extend(&chars[i..end]);
                i = end;
            }
            '$' if !word(prev) && chars.get(i + 1).is_some_and(char::is_ascii_digit) => {
                let mut end = i + 1;
                while end < chars.len() && chars[end].is_ascii_digit() {
                    end += 1;
                }
                let found: String = chars[i..end].iter().collect();
                placeholders.dollar_number.get_or_insert(found);
                lit.extend(&chars[i..end]);
                i = end;
            }
            // SQLite's `$name` and `@name` (a PostgreSQL `@` operator, a MySQL
            // `@variable` or `@@system_variable` elsewhere).
            '$' | '@'
                if !word(prev)
                    && prev != Some(&'@')
                    && chars.get(i + 1).copied().is_some_and(is_name_start) =>
            {
                let mut end = i + 1;
                while end < chars.len() && is_name_char(chars[end]) {
                    end += 1;
                }
                let found: String = chars[i..end].iter().collect();
                placeholders.sqlite_named.get_or_insert(found);
                lit.extend(&chars[i..end]);
                i = end;
            }
            '?' => {
                let mut end = i + 1;
                while end < chars.len() && chars[end].is_ascii_digit() {
                    end += 1;
                }
                let found: String = chars[i..end].iter().collect();
                placeholders.question.get_or_insert(found);
                lit.extend(&chars[i..end]);
                i = end;
            }
            '#' if mysql => {
                while i < chars.len() && chars[i] != '\n' {
                    lit.push(chars[i]);
                    i += 1;
                }
            }
            // MySQL reads `--` as a comment only before a space or control character:
            // `5--:x` is 5 minus minus :x there.
            '-' if chars.get(i + 1) == Some(&'-')
                && (!mysql
                    || chars
                        .get(i + 2)
                        .is_none_or(|c| c.is_whitespace() || c.is_control())) =>
            {
                while i < chars.len() && chars[i] != '\n' {
                    lit.push(chars[i]);
                    i += 1;
                }
            }
            // MySQL runs what is inside `/*! ... */` and MariaDB also `/*M! ... */`
            // (executable comments, optionally with a version): parameters there are
            // read; the closing `*/` is copied as it comes.
            '/' if mysql
                && chars.get(i + 1) == Some(&'*')
                && (chars.get(i + 2) == Some(&'!')
                    || (chars.get(i + 2) == Some(&'M') && chars.get(i + 3) == Some(&'!'))) =>
            {
                let opener = if chars[i + 2] == '!' { 3 } else { 4 };
                lit.extend(&chars[i..i + opener]);
                i += opener;
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                lit.push_str("/*");
                i += 2;
                while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                    lit.push(chars[i]);
                    i += 1;
                }
                if i < chars.len() {
                    lit.push_str("*/");
                    i += 2;
                }
            }
            '\\' if chars.get(i + 1) == Some(&':') => {
                lit.push(':');
                i += 2;
            }
            ':' if chars.get(i + 1) == Some(&':') => {
                lit.push_str("::");
                i += 2;
            }
            // As SQLAlchemy: a colon right after a word character (`arr[lo:hi]`,
            // `12:30`) is not a parameter.
            ':' if !word(prev) && chars.get(i + 1).copied().is_some_and(is_name_start) => {
                let start = i + 1;
                let mut end = start;
                while end < chars.len() && is_name_char(chars[end]) {
                    end += 1;
                }
                let name: String = chars[start..end].iter().collect();
                if !lit.is_empty() {
                    pieces.push(Piece::Sql(std::mem::take(&mut lit)));
                }
                let idx = *name_index.entry(name).or_insert_with_key(|name| {
                    names.push(name.clone());
                    names.len() - 1
                });
                pieces.push(Piece::Param(idx));
                i = end;
            }
            _ => {
                lit.push(c);
                i += 1;
            }
        }
    }
    if !lit.is_empty() {
        pieces.push(Piece::Sql(lit));
    }
    Parse {
        numbered: std::sync::OnceLock::new(),
        question: std::sync::OnceLock::new(),
        pieces,
        names,
        name_index,
        placeholders,
    }
}

/// The opening `$tag$` at `i`, if one starts there.
fn dollar_tag(chars: &[char], i: usize) -> Option<String> {
    let mut end = i + 1;
    while end < chars.len() && (chars[end].is_alphanumeric() || chars[end] == '_') {
        end += 1;
    }
    let tag_ok = end == i + 1 || !chars[i + 1].is_ascii_digit();
    (chars.get(end) == Some(&'$') && tag_ok).then(|| chars[i..=end].iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colons_in_strings_comments_and_casts_are_not_parameters() {
        let t = text(
            "SELECT ':no', \"a:b\", `c:d`, x::text, '\\:', 'it''s :no' -- :nope\n /* :nah */ FROM t WHERE a = :yes AND b = \\:lit",
        )
        .bind("yes", 1);
        let c = t.compile(Dialect::Postgres).unwrap();
        assert_eq!(
            c.sql(),
            "SELECT ':no', \"a:b\", `c:d`, x::text, '\\:', 'it''s :no' -- :nope\n /* :nah */ FROM t WHERE a = $1 AND b = :lit"
        );
        assert_eq!(c.binds(), &[Value::I32(1)]);
    }

    #[test]
    fn repeated_names_reuse_numbered_placeholders_and_repeat_positional_ones() {
        let t = text(":a + :b + :a").bind("a", 1i64).bind("b", 2i64);
        let pg = t.compile(Dialect::Postgres).unwrap();
        assert_eq!(pg.sql(), "$1 + $2 + $1");
        assert_eq!(pg.binds(), &[Value::I64(1), Value::I64(2)]);
        let lite = t.compile(Dialect::Sqlite).unwrap();
        assert_eq!(lite.sql(), "? + ? + ?");
        assert_eq!(lite.binds(), &[Value::I64(1), Value::I64(2), Value::I64(1)]);
    }

    #[test]
    fn missing_and_unknown_parameters_are_errors_naming_them() {
        let err = text("SELECT :a").compile(Dialect::Sqlite).unwrap_err();
        assert_eq!(
            err.to_string(),
            "bind parameter `:a` has no value in SQL: SELECT :a"
        );
        let err = text("SELECT :a")
            .bind("a", 1)
            .bind("b", 2)
            .compile(Dialect::Sqlite)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "bind parameter `:b` does not appear in SQL: SELECT :a"
        );
    }

    #[test]
    fn binding_many_values_takes_linear_time() {
        // 70,000 parameters took minutes when each bind and each lookup scanned.
        let n = 70_000;
        let sql: Vec<String> = (0..n).map(|i| format!(":p{i}")).collect();
        let started = std::time::Instant::now();
        let mut t = text(format!("SELECT {}", sql.join(" + ")));
        for i in 0..n {
            t = t.bind(&format!("p{i}"), i as i64);
        }
        // Rebinding past the scanning threshold still replaces.
        t = t.bind("p0", -1i64).bind("p69999", -2i64);
        let c = t.compile(Dialect::Sqlite).unwrap();
        assert_eq!(c.binds().len(), n);
        assert_eq!(c.binds()[0], Value::I64(-1));
        assert_eq!(c.binds()[n - 1], Value::I64(-2));
        assert_eq!(c.binds()[5], Value::I64(5));
        let elapsed = started.elapsed();
        assert!(elapsed < std::time::Duration::from_secs(3), "{elapsed:?}");
    }

    #[test]
    fn the_same_sql_is_parsed_and_rendered_once_per_thread() {
        let src = "SELECT * FROM t WHERE a = :a AND b = :b OR a = :a";
        let one = text(src).bind("a", 1i64).bind("b", 2i64);
        let two = text(String::from(src)).bind("b", 20i64).bind("a", 10i64);
        assert!(Arc::ptr_eq(&one.parsed, &two.parsed));
        for d in [Dialect::Postgres, Dialect::Sqlite, Dialect::MySql] {
            let (c1, c2) = (one.compile(d).unwrap(), two.compile(d).unwrap());
            assert!(std::ptr::eq(c1.sql().as_ptr(), c2.sql().as_ptr()), "{d:?}");
            let expect = |a: i64, b: i64| match d {
                Dialect::Postgres => vec![Value::I64(a), Value::I64(b)],
                _ => vec![Value::I64(a), Value::I64(b), Value::I64(a)],
            };
            assert_eq!(c1.binds(), expect(1, 2));
            assert_eq!(c2.binds(), expect(10, 20));
        }
        // More distinct statements than the cache holds: each still compiles right.
        for i in 0..PARSE_CACHE_SIZE * 2 + 3 {
            let t = text(format!("SELECT :x + {i}")).bind("x", 1);
            assert_eq!(
                t.compile(Dialect::Postgres).unwrap().sql(),
                format!("SELECT $1 + {i}")
            );
        }
        assert!(PARSE_CACHE.with(|c| c.borrow().len()) <= PARSE_CACHE_SIZE);
    }

    #[test]
    fn rebinding_a_name_replaces_its_value() {
        let c = text("SELECT :a")
            .bind("a", 1)
            .bind("a", 2)
            .compile(Dialect::MySql)
            .unwrap();
        assert_eq!(c.binds(), &[Value::I32(2)]);
    }
}

#[cfg(test)]
mod parse_tests {
    use super::*;

    fn sql(t: &TextClause, d: Dialect) -> String {
        t.compile(d)
            .map(|c| c.sql().to_owned())
            .unwrap_or_else(|e| e.to_string())
    }

    #[test]
    fn dollar_quotes_and_escape_strings_hide_colons_and_quotes() {
        let t = text("SELECT $$it's :no$$, $fn$ :no $fn$, E'it\\'s :no', :x").bind("x", 1);
        assert_eq!(
            sql(&t, Dialect::Postgres),
            "SELECT $$it's :no$$, $fn$ :no $fn$, E'it\\'s :no', $1"
        );
    }

    #[test]
    fn mysql_backslash_escapes_and_hash_comments() {
        let t = text("SELECT 'it\\'s :no', \"say \\\"hi:there\\\"\", :x # it's :y\n").bind("x", 1);
        assert_eq!(
            sql(&t, Dialect::MySql),
            "SELECT 'it\\'s :no', \"say \\\"hi:there\\\"\", ? # it's :y\n"
        );
    }

    #[test]
    fn mysql_double_dash_needs_a_space_and_executable_comments_are_read() {
        let t = text("SELECT 5--:x, 1 -- :c\n, 2 --\t:c\n").bind("x", 2);
        assert_eq!(
            sql(&t, Dialect::MySql),
            "SELECT 5--?, 1 -- :c\n, 2 --\t:c\n"
        );
        // Elsewhere `--` always starts a comment.
        let t = text("SELECT 5--:x\n").bind("x", 2);
        assert!(sql(&t, Dialect::Postgres).contains("`:x` does not appear"));
        let t = text("SELECT 1 /*! + :x */ /*M!100000 + :y */ /*50110 :z */ /* :w */")
            .bind("x", 1)
            .bind("y", 2);
        assert_eq!(
            sql(&t, Dialect::MariaDb),
            "SELECT 1 /*! + ? */ /*M!100000 + ? */ /*50110 :z */ /* :w */"
        );
        let t = text("SELECT 1 /*! + :x */").bind("x", 1);
        assert!(sql(&t, Dialect::Sqlite).contains("`:x` does not appear"));
    }

    #[test]
    fn a_colon_after_a_word_is_not_a_parameter() {
        let t = text("SELECT (ARRAY[1,2,3])[lo:hi], '12:30'::time, :p").bind("p", 1);
        assert_eq!(
            sql(&t, Dialect::Postgres),
            "SELECT (ARRAY[1,2,3])[lo:hi], '12:30'::time, $1"
        );
    }

    #[test]
    fn positional_placeholders_in_text_are_errors_where_the_dialect_reads_them() {
        let t = text("SELECT :x, ?").bind("x", 1);
        assert!(sql(&t, Dialect::Sqlite).contains("is a placeholder the database would read"));
        // PostgreSQL reads `?` as an operator (jsonb), not a placeholder.
        assert_eq!(sql(&t, Dialect::Postgres), "SELECT $1, ?");
        let t = text("SELECT :x, $1").bind("x", 1);
        assert!(sql(&t, Dialect::Postgres).contains("is a placeholder the database would read"));
    }

    #[test]
    fn every_placeholder_sqlite_reads_is_refused_there() {
        for p in ["$1", "?", "?2", "$name", "@name"] {
            let t = text(format!("SELECT :x, {p}")).bind("x", 1);
            let err = t.compile(Dialect::Sqlite).unwrap_err();
            assert!(
                matches!(&err, Error::BindParameter { name, .. } if name == p),
                "{p}: {err}"
            );
        }
        // MySQL variables and PostgreSQL's `@` operator are theirs to read.
        let t = text("SELECT @total, @@version, :x").bind("x", 1);
        assert_eq!(sql(&t, Dialect::MySql), "SELECT @total, @@version, ?");
        let t = text("SELECT @ -5, a@b, :x").bind("x", 1);
        assert_eq!(sql(&t, Dialect::Postgres), "SELECT @ -5, a@b, $1");
        // Inside strings and comments they are text.
        let t = text("SELECT '$1 ? @a' -- $2\n, :x").bind("x", 1);
        assert_eq!(sql(&t, Dialect::Sqlite), "SELECT '$1 ? @a' -- $2\n, ?");
    }
}
