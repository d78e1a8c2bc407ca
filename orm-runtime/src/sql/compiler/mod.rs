//! The compiler: statement trees to SQL text and binds, one dialect at a time.
//!
//! Shared rendering lives here; what differs per dialect (identifier quotes,
//! placeholders, LIMIT forms, upsert syntax, ILIKE, NULLS FIRST, casts) is asked of
//! [`Dialect`]. Every value becomes a bound parameter; every identifier is quoted.
//! Constructs that only some server versions have (RETURNING on MariaDB, CTEs and
//! window functions on MySQL, lock options, upsert spellings) are asked of the
//! [`ServerInfo`] the statement is compiled for, and refused ([`lacks`]) where the
//! server cannot run them.
//!
//! [`Compiler`] holds the state; its methods are split by what they render: `expr`
//! (expressions and operators), `select` (SELECT and its clauses, FROM and joins, WITH,
//! set operations) and `dml` (INSERT, UPDATE, DELETE, upserts, RETURNING).

mod dml;
mod expr;
mod select;
#[cfg(test)]
mod server_tests;

pub(crate) use expr::collect_qualifiers;

use crate::dialect::{Dialect, Feature, ServerInfo};
use crate::error::Error;
use crate::schema::Table;
use crate::schema::ddl::check_identifier;
use crate::sql::expr::{Name, Qualifier};
use crate::value::Value;

/// Compilation state for one statement.
pub(crate) struct Compiler {
    pub(crate) dialect: Dialect,
    /// The server compiled for: `dialect` with a version and its capabilities.
    pub(crate) server: ServerInfo,
    pub(crate) sql: String,
    pub(crate) binds: Vec<Value>,
    /// For each bind: the address of the tree value it came from, or of the values a
    /// PostgreSQL array bind was built from (the statement cache's bind plan).
    pub(crate) sources: Vec<Source>,
    /// Names exposed by the FROM clauses of enclosing selects (auto-correlation).
    scopes: Vec<Vec<Qualifier>>,
    /// CTEs already defined by an enclosing WITH.
    cte_scope: Vec<Name>,
    /// While compiling RETURNING: the target table, whose columns render unqualified.
    unqualify: Option<String>,
    /// While compiling MySQL's `ON DUPLICATE KEY UPDATE` with a row alias: the alias,
    /// which `excluded(col)` then renders as `` `new`.`col` `` instead of `VALUES(col)`.
    upsert_alias: Option<&'static str>,
    /// While compiling a compound's ORDER BY: every column renders by bare name.
    bare_columns: bool,
    /// The first identifier refused by [`check_identifier`]; the statement fails with it
    /// when its compilation ends ([`Compiler::finish`]).
    bad_identifier: Option<Error>,
}

/// Where one placeholder's value comes from in the statement tree (compared by address,
/// never dereferenced).
pub(crate) enum Source {
    /// One value of the tree.
    One(*const Value),
    /// A [`Value::Array`] made of these values of the tree, in order (PostgreSQL's
    /// `= ANY($1)` for an IN list).
    Array(Vec<*const Value>),
}

fn unsupported(dialect: Dialect, feature: impl Into<String>) -> Error {
    Error::Unsupported {
        dialect: dialect.name(),
        feature: feature.into(),
    }
}

/// The error for `feature` on a server without it: [`Error::Unsupported`] when no
/// version of the dialect has it, [`Error::UnsupportedByServer`] (naming the server's
/// version and the first that has it) when a later one does.
pub(crate) fn lacks(server: ServerInfo, feature: Feature) -> Error {
    match server.dialect().feature_since(feature) {
        None => unsupported(server.dialect(), feature.sql()),
        Some(since) => Error::UnsupportedByServer {
            feature: feature.sql(),
            server: server.to_string(),
            needs: format!("{} {since}", server.product()),
        },
    }
}

impl Compiler {
    pub(crate) fn new(server: ServerInfo) -> Compiler {
        Compiler {
            dialect: server.dialect(),
            server,
            sql: String::with_capacity(256),
            binds: Vec::new(),
            sources: Vec::new(),
            scopes: Vec::new(),
            cte_scope: Vec::new(),
            unqualify: None,
            upsert_alias: None,
            bare_columns: false,
            bad_identifier: None,
        }
    }

    /// The SQL and binds of a compiled statement, or the first identifier refused while
    /// compiling it.
    pub(crate) fn finish(self) -> Result<(String, Vec<Value>, Vec<Source>), Error> {
        match self.bad_identifier {
            Some(e) => Err(e),
            None => Ok((self.sql, self.binds, self.sources)),
        }
    }

    /// Refuses `feature` where the server lacks it ([`lacks`]).
    fn require(&self, feature: Feature) -> Result<(), Error> {
        if self.server.has(feature) {
            Ok(())
        } else {
            Err(lacks(self.server, feature))
        }
    }

    fn push(&mut self, s: &str) {
        self.sql.push_str(s);
    }

    fn ident(&mut self, name: &str) {
        if self.bad_identifier.is_none() {
            self.bad_identifier = check_identifier(self.dialect, name).err();
        }
        self.dialect.quote_identifier_into(&mut self.sql, name);
    }

    fn bind(&mut self, v: &Value) {
        self.binds.push(v.clone());
        self.sources.push(Source::One(v as *const Value));
        let n = self.binds.len();
        self.dialect.write_placeholder(&mut self.sql, n);
    }

    /// One placeholder for a [`Value::Array`] of `items`.
    fn bind_array(&mut self, items: &[&Value]) {
        self.binds
            .push(Value::Array(items.iter().map(|&v| v.clone()).collect()));
        self.sources.push(Source::Array(
            items.iter().map(|&v| v as *const Value).collect(),
        ));
        let n = self.binds.len();
        self.dialect.write_placeholder(&mut self.sql, n);
    }

    fn qualifier(&mut self, q: &Qualifier) {
        if let Some(s) = &q.schema {
            self.ident(s);
            self.push(".");
        }
        self.ident(&q.name);
    }

    fn table_name(&mut self, t: &Table) {
        if let Some(s) = &t.schema {
            self.ident(s);
            self.push(".");
        }
        self.ident(&t.name);
    }
}

fn table_qualifier(t: &Table) -> Qualifier {
    Qualifier::table(
        t.schema.clone().map(Name::Owned),
        Name::Owned(t.name.clone()),
    )
}
