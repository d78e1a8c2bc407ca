//! Reflection of a database nobody on this project designed: the Chinook sample
//! database (tests/data/chinook, MIT licensed, see its README.md), loaded from its own
//! script for each database, reflected, counted, and dropped with `drop_all` on the
//! reflected metadata.
//!
//! The PostgreSQL script names things in snake_case (`playlist_track.track_id`), the
//! others in PascalCase (`PlaylistTrack.TrackId`).

use orm::schema::{MetaData, SqlType};
use orm::{Engine, text};

use crate::backend_tests;
use crate::support::{Backend, TestDb};

backend_tests!(chinook_reflects_counts_and_drops);

const SQLITE: &str = include_str!("data/chinook/chinook_sqlite.sql");
const POSTGRES: &str = include_str!("data/chinook/chinook_postgres.sql");
const MYSQL: &str = include_str!("data/chinook/chinook_mysql.sql");

/// The tables and their row counts, as the Chinook project documents them.
const TABLES: [(&str, i64); 11] = [
    ("Album", 347),
    ("Artist", 275),
    ("Customer", 59),
    ("Employee", 8),
    ("Genre", 25),
    ("Invoice", 412),
    ("InvoiceLine", 2240),
    ("MediaType", 5),
    ("Playlist", 18),
    ("PlaylistTrack", 8715),
    ("Track", 3503),
];

/// A PascalCase Chinook name as the backend's script spells it.
fn name(db: &TestDb, pascal: &str) -> String {
    if db.backend != Backend::Postgres {
        return pascal.to_owned();
    }
    let mut out = String::new();
    for (i, ch) in pascal.chars().enumerate() {
        if ch.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(ch.to_ascii_lowercase());
    }
    out
}

/// Splits a script into statements at `;` outside strings, quoted names and comments
/// (`\` escapes the next character inside MySQL strings).
fn statements(script: &str, backslash_escapes: bool) -> Vec<&str> {
    let b = script.as_bytes();
    let mut out = Vec::new();
    let (mut start, mut i) = (0, 0);
    while i < b.len() {
        match b[i] {
            b'\'' | b'"' | b'`' | b'[' => {
                let close = if b[i] == b'[' { b']' } else { b[i] };
                i += 1;
                while i < b.len() && b[i] != close {
                    if backslash_escapes && b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 1;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b';' => {
                out.push(script[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    out.push(script[start..].trim());
    out.retain(|s| !s.is_empty());
    out
}

/// Loads the backend's Chinook script into the test's namespace: without its own
/// `DROP/CREATE DATABASE`, `\c` and `USE` (the test already sits in a fresh
/// namespace), in chunks of about 256 KiB inside one transaction (on MySQL the schema
/// before it).
async fn load(db: &TestDb, engine: &Engine) {
    let (script, backslashes) = match db.backend {
        Backend::Sqlite => (SQLITE, false),
        Backend::Postgres => (POSTGRES, false),
        Backend::MySql => (MYSQL, true),
    };
    let kept: Vec<&str> = statements(script, backslashes)
        .into_iter()
        .map(strip_comments)
        .filter(|s| {
            let upper = s.to_ascii_uppercase();
            !(upper.starts_with("DROP DATABASE")
                || upper.starts_with("CREATE DATABASE")
                || upper.starts_with("USE ")
                || upper.starts_with("\\C"))
        })
        .filter(|s| !s.is_empty())
        .collect();
    assert!(kept.len() > 40, "the script splits into statements");
    // MySQL commits a transaction before DDL (and the engine refuses DDL inside one):
    // there the schema is made first, outside; the rows go in one transaction.
    let (schema, kept): (Vec<&str>, Vec<&str>) = kept.into_iter().partition(|s| {
        db.backend == Backend::MySql && !s.to_ascii_uppercase().starts_with("INSERT")
    });
    for stmt in schema {
        engine.execute_script(stmt).await.unwrap();
    }
    let mut tx = engine.begin().await.unwrap();
    let mut chunk = String::new();
    for stmt in kept {
        chunk.push_str(stmt);
        chunk.push_str(";\n");
        if chunk.len() > 256 * 1024 {
            tx.execute_script(&chunk).await.unwrap();
            chunk.clear();
        }
    }
    if !chunk.is_empty() {
        tx.execute_script(&chunk).await.unwrap();
    }
    tx.commit().await.unwrap();
}

/// The statement without the `/* ... */` banner comments in front of it.
fn strip_comments(stmt: &str) -> &str {
    let mut s = stmt.trim_start();
    while let Some(rest) = s.strip_prefix("/*") {
        s = rest.find("*/").map_or("", |e| rest[e + 2..].trim_start());
    }
    s
}

async fn chinook_reflects_counts_and_drops(db: &TestDb) {
    let engine = db.engine().await;
    load(db, &engine).await;
    let n = |s: &str| name(db, s);

    let insp = engine.inspect().await.unwrap();
    let mut want: Vec<String> = TABLES.iter().map(|(t, _)| n(t)).collect();
    want.sort();
    assert_eq!(insp.table_names(), want);

    // Keys.
    let pk = insp.pk_constraint(&n("PlaylistTrack")).await.unwrap();
    assert_eq!(pk.columns, [n("PlaylistId"), n("TrackId")]);
    assert_eq!(
        insp.pk_constraint(&n("Track")).await.unwrap().columns,
        [n("TrackId")]
    );
    let reports_to = insp
        .foreign_keys(&n("Employee"))
        .await
        .unwrap()
        .into_iter()
        .find(|fk| fk.columns == [n("ReportsTo")])
        .expect("Employee.ReportsTo is a foreign key");
    assert_eq!(reports_to.referred_table, n("Employee"));
    assert_eq!(reports_to.referred_columns, [n("EmployeeId")]);
    let mut track_targets: Vec<String> = insp
        .foreign_keys(&n("Track"))
        .await
        .unwrap()
        .into_iter()
        .map(|fk| fk.referred_table)
        .collect();
    track_targets.sort();
    assert_eq!(track_targets, [n("Album"), n("Genre"), n("MediaType")]);
    let mut line_targets: Vec<String> = insp
        .foreign_keys(&n("InvoiceLine"))
        .await
        .unwrap()
        .into_iter()
        .map(|fk| fk.referred_table)
        .collect();
    line_targets.sort();
    assert_eq!(line_targets, [n("Invoice"), n("Track")]);

    // Columns, at each dialect's resolution.
    let track = insp.columns(&n("Track")).await.unwrap();
    let col = |c: &str| track.iter().find(|x| x.name == n(c)).unwrap();
    assert_eq!(col("Name").sql_type, SqlType::varchar(200));
    assert!(!col("Name").nullable);
    assert_eq!(col("UnitPrice").sql_type, SqlType::numeric(10, 2));
    assert_eq!(col("Milliseconds").sql_type, SqlType::Integer);
    assert!(col("Composer").nullable);
    let invoice = insp.columns(&n("Invoice")).await.unwrap();
    let date = invoice.iter().find(|c| c.name == n("InvoiceDate")).unwrap();
    assert_eq!(date.sql_type, SqlType::DateTime);

    // Rows.
    let q = |s: &str| db.dialect().quote_identifier(&n(s));
    for (table, count) in TABLES {
        let got: i64 = engine
            .fetch_one(text(format!("SELECT COUNT(*) FROM {}", q(table))))
            .await
            .unwrap()
            .get(0)
            .unwrap();
        assert_eq!(got, count, "rows in {table}");
    }
    let title: String = engine
        .fetch_one(text(format!(
            "SELECT a.{title} FROM {album} a JOIN {artist} r ON r.{artist_id} = a.{artist_id} \
             WHERE r.{name} = 'AC/DC' ORDER BY a.{album_id}",
            title = q("Title"),
            album = q("Album"),
            artist = q("Artist"),
            artist_id = q("ArtistId"),
            name = q("Name"),
            album_id = q("AlbumId"),
        )))
        .await
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(title, "For Those About To Rock We Salute You");

    // The whole schema, reflected: parents sort before children.
    let md = MetaData::reflect(&engine).await.unwrap();
    assert_eq!(md.tables().len(), 11);
    let fks: usize = md.tables().iter().map(|t| t.foreign_keys.len()).sum();
    assert_eq!(fks, 11);
    let order: Vec<String> = md.sorted_tables().iter().map(|t| t.name.clone()).collect();
    for t in md.tables() {
        let child = order.iter().position(|x| *x == t.name).unwrap();
        for fk in &t.foreign_keys {
            let parent = order.iter().position(|x| *x == fk.referred_table).unwrap();
            assert!(
                parent <= child,
                "{} sorts before its parent {}: {order:?}",
                t.name,
                fk.referred_table
            );
        }
    }
    assert!(md.try_sorted_tables().is_ok(), "Chinook has no cycle");

    // drop_all on the reflected metadata removes everything, rows and all.
    md.drop_all(&engine).await.unwrap();
    assert!(engine.inspect().await.unwrap().table_names().is_empty());
}
