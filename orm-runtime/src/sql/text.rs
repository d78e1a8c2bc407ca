//! `text()`: literal SQL with named bind parameters (`:name`), rewritten to each
//! dialect's placeholders.

use std::sync::Arc;

use super::{Compiled, Executable};
use crate::dialect::Dialect;
use crate::error::{Error, Result};
use crate::value::Value;

/// A literal SQL statement with named bind parameters, made by [`text`].
///
/// `:name` marks a parameter. Colons inside quoted strings, quoted identifiers and
/// comments, PostgreSQL's `::` casts, and a colon escaped as `\:` are left alone.
/// A name used twice binds the same value twice.
#[derive(Debug, Clone)]
#[must_use = "a statement does nothing until it is executed"]
pub struct TextClause {
    parsed: Arc<Parsed>,
    binds: Vec<(String, Value)>,
    unknown: Option<String>,
}

#[derive(Debug)]
struct Parsed {
    source: String,
    pieces: Vec<Piece>,
    names: Vec<String>,
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
pub fn text(sql: impl Into<String>) -> TextClause {
    let source = sql.into();
    let (pieces, names) = parse(&source);
    TextClause {
        parsed: Arc::new(Parsed {
            source,
            pieces,
            names,
        }),
        binds: Vec::new(),
        unknown: None,
    }
}

impl TextClause {
    /// Gives parameter `:name` a value. Naming a parameter the SQL does not contain is an
    /// error when the statement is compiled.
    pub fn bind(mut self, name: &str, value: impl Into<Value>) -> Self {
        if !self.parsed.names.iter().any(|n| n == name) {
            self.unknown.get_or_insert_with(|| name.to_owned());
        }
        let value = value.into();
        match self.binds.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value,
            None => self.binds.push((name.to_owned(), value)),
        }
        self
    }

    /// The SQL as written.
    pub fn sql(&self) -> &str {
        &self.parsed.source
    }

    /// The parameter names in order of first appearance.
    pub fn parameter_names(&self) -> &[String] {
        &self.parsed.names
    }

    /// Compiles for `dialect`: placeholders rewritten, values in placeholder order.
    pub fn compile(&self, dialect: Dialect) -> Result<Compiled> {
        if let Some(name) = &self.unknown {
            return Err(Error::BindParameter {
                name: name.clone(),
                problem: "does not appear",
                sql: self.parsed.source.clone(),
            });
        }
        let value_of = |idx: usize| -> Result<&Value> {
            let name = &self.parsed.names[idx];
            self.binds
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v)
                .ok_or_else(|| Error::BindParameter {
                    name: name.clone(),
                    problem: "has no value",
                    sql: self.parsed.source.clone(),
                })
        };
        let mut sql = String::with_capacity(self.parsed.source.len() + 8);
        let mut binds = Vec::new();
        // For numbered placeholders: the number given to each name, by name index.
        let mut numbers = vec![0usize; self.parsed.names.len()];
        for piece in &self.parsed.pieces {
            match piece {
                Piece::Sql(s) => sql.push_str(s),
                Piece::Param(idx) => {
                    let value = value_of(*idx)?;
                    if dialect.has_numbered_placeholders() && numbers[*idx] != 0 {
                        dialect.write_placeholder(&mut sql, numbers[*idx]);
                    } else {
                        binds.push(value.clone());
                        numbers[*idx] = binds.len();
                        dialect.write_placeholder(&mut sql, binds.len());
                    }
                }
            }
        }
        Ok(Compiled::new(sql, binds))
    }
}

impl Executable for TextClause {
    fn compile_for(&self, dialect: Dialect) -> Result<Compiled> {
        self.compile(dialect)
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

/// Splits SQL into literal pieces and named parameters.
fn parse(src: &str) -> (Vec<Piece>, Vec<String>) {
    let mut pieces = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut lit = String::with_capacity(src.len());
    let chars: Vec<char> = src.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            // Quoted strings and identifiers: copy through the closing quote; a doubled
            // quote inside is an escaped quote and keeps the quoted section open.
            '\'' | '"' | '`' => {
                lit.push(c);
                i += 1;
                while i < chars.len() {
                    lit.push(chars[i]);
                    if chars[i] == c {
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
            '-' if chars.get(i + 1) == Some(&'-') => {
                while i < chars.len() && chars[i] != '\n' {
                    lit.push(chars[i]);
                    i += 1;
                }
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
            ':' if chars.get(i + 1).copied().is_some_and(is_name_start) => {
                let start = i + 1;
                let mut end = start;
                while end < chars.len() && is_name_char(chars[end]) {
                    end += 1;
                }
                let name: String = chars[start..end].iter().collect();
                if !lit.is_empty() {
                    pieces.push(Piece::Sql(std::mem::take(&mut lit)));
                }
                let idx = match names.iter().position(|n| *n == name) {
                    Some(idx) => idx,
                    None => {
                        names.push(name);
                        names.len() - 1
                    }
                };
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
    (pieces, names)
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
    fn rebinding_a_name_replaces_its_value() {
        let c = text("SELECT :a")
            .bind("a", 1)
            .bind("a", 2)
            .compile(Dialect::MySql)
            .unwrap();
        assert_eq!(c.binds(), &[Value::I32(2)]);
    }
}
