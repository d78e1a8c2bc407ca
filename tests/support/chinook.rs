//! The Chinook sample database (MIT, see `tests/data/chinook/LICENSE.md`), loaded by the
//! tests themselves into their own namespace, and its tables as `orm` `Table`s.
//!
//! The PostgreSQL script names things in snake_case (`invoice_line.track_id`), the
//! others in PascalCase (`InvoiceLine.TrackId`); [`ChinookNames`] gives the right one.

use std::sync::Arc;

use orm::Engine;
use orm::schema::{Column, SqlType, Table};

use super::{Backend, TestDb};

const SQLITE: &str = include_str!("../data/chinook/chinook_sqlite.sql");
const POSTGRES: &str = include_str!("../data/chinook/chinook_postgres.sql");
const MYSQL: &str = include_str!("../data/chinook/chinook_mysql.sql");

/// Loads the whole Chinook database into the test's namespace (about a second).
pub async fn load(db: &TestDb, engine: &Engine) {
    let script = match db.backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
        Backend::MySql => MYSQL,
    };
    // The scripts create and switch to a database of their own: the test's namespace
    // is used instead.
    let body: String = script
        .lines()
        .filter(|l| {
            let t = l.trim_start().to_ascii_uppercase();
            !(t.starts_with("DROP DATABASE")
                || t.starts_with("CREATE DATABASE")
                || t.starts_with("USE ")
                || t.starts_with("\\C "))
        })
        .collect::<Vec<_>>()
        .join("\n");
    // MySQL commits a transaction before DDL (and the engine refuses DDL inside one):
    // there the schema is made first, outside, and the rows inserted in a transaction.
    let (schema, rows) = match (db.backend, body.find("\nINSERT")) {
        (Backend::MySql, Some(at)) => body.split_at(at),
        _ => ("", body.as_str()),
    };
    if !schema.trim().is_empty() {
        engine.execute_script(schema).await.unwrap();
    }
    let mut tx = engine.begin().await.unwrap();
    tx.execute_script(rows).await.unwrap();
    tx.commit().await.unwrap();
}

/// `PascalCase` to `snake_case`, the PostgreSQL script's spelling.
fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, ch) in name.chars().enumerate() {
        if ch.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(ch.to_ascii_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

/// Chinook's names as the backend's script spells them.
pub struct ChinookNames(pub Backend);

impl ChinookNames {
    /// A table or column name, given in PascalCase.
    pub fn n(&self, pascal: &str) -> String {
        match self.0 {
            Backend::Postgres => snake(pascal),
            _ => pascal.to_owned(),
        }
    }

    /// A table with the given columns (types as declared by the scripts).
    pub fn table(&self, name: &str, columns: &[(&str, SqlType)]) -> Arc<Table> {
        let mut t = Table::new(self.n(name));
        for (c, ty) in columns {
            t = t.column(Column::new(self.n(c), ty.clone()));
        }
        Arc::new(t)
    }

    /// `"Table"."Column"` quoted for hand-written SQL.
    pub fn q(&self, pascal: &str) -> String {
        let quote = if self.0 == Backend::MySql { '`' } else { '"' };
        pascal
            .split('.')
            .map(|p| format!("{quote}{}{quote}", self.n(p)))
            .collect::<Vec<_>>()
            .join(".")
    }
}

#[test]
fn names_convert_to_snake_case() {
    assert_eq!(snake("InvoiceLine"), "invoice_line");
    assert_eq!(snake("MediaTypeId"), "media_type_id");
    assert_eq!(
        ChinookNames(Backend::Postgres).q("Track.AlbumId"),
        "\"track\".\"album_id\""
    );
    assert_eq!(
        ChinookNames(Backend::MySql).q("Track.AlbumId"),
        "`Track`.`AlbumId`"
    );
}
