//! The Chinook schema (tests/data/chinook, MIT, see its README.md) written as eleven
//! `#[derive(Model)]` structs with all their relationships, checked against the
//! database the Chinook project's own script builds:
//!
//! - `create_all` from the models and the script, each in a namespace of its own on the
//!   same server, reflect to the same tables, columns, keys and indexes;
//! - the models decode the script's rows;
//! - the relationships are described the way SQLAlchemy would see them.
//!
//! Names are the PascalCase of the SQLite and MySQL scripts (`InvoiceLine.TrackId`),
//! fields are snake_case. The PostgreSQL script spells everything in snake_case
//! (`invoice_line.track_id`), so there names are compared without case and underscores.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{NaiveDate, NaiveDateTime};
use orm::prelude::*;
use orm::relationship::RelationshipKind;
use orm::schema::Table as SchemaTable;
use rust_decimal::Decimal;

use crate::backend_tests;
use crate::support::chinook::{self, ChinookNames};
use crate::support::compare::type_at_resolution;
use crate::support::{Backend, TestDb};

// ---------------------------------------------------------------------------------------
// The models, in the order of the scripts' CREATE TABLEs, columns in declaration order.
//
// Every key is a plain `INT`: the scripts give every row its id, so no key is
// autoincrement (`autoincrement = false`; SQLite's `INTEGER PRIMARY KEY` is a rowid alias
// either way).

#[derive(Model, Debug, Clone)]
#[orm(table = "Album")]
pub struct Album {
    #[orm(primary_key, autoincrement = false, column = "AlbumId")]
    pub album_id: i32,
    #[orm(column = "Title", max_length = 160)]
    pub title: String,
    #[orm(column = "ArtistId", foreign_key = "Artist.ArtistId", index)]
    pub artist_id: i32,
    #[relationship(back_populates = "albums")]
    pub artist: Related<Artist>,
    #[relationship(back_populates = "album", order_by = "TrackId")]
    pub tracks: Related<Vec<Track>>,
}

#[derive(Model, Debug, Clone)]
#[orm(table = "Artist")]
pub struct Artist {
    #[orm(primary_key, autoincrement = false, column = "ArtistId")]
    pub artist_id: i32,
    #[orm(column = "Name", max_length = 120)]
    pub name: Option<String>,
    #[relationship(back_populates = "artist", order_by = "AlbumId")]
    pub albums: Related<Vec<Album>>,
}

#[derive(Model, Debug, Clone)]
#[orm(table = "Customer")]
pub struct Customer {
    #[orm(primary_key, autoincrement = false, column = "CustomerId")]
    pub customer_id: i32,
    #[orm(column = "FirstName", max_length = 40)]
    pub first_name: String,
    #[orm(column = "LastName", max_length = 20)]
    pub last_name: String,
    #[orm(column = "Company", max_length = 80)]
    pub company: Option<String>,
    #[orm(column = "Address", max_length = 70)]
    pub address: Option<String>,
    #[orm(column = "City", max_length = 40)]
    pub city: Option<String>,
    #[orm(column = "State", max_length = 40)]
    pub state: Option<String>,
    #[orm(column = "Country", max_length = 40)]
    pub country: Option<String>,
    #[orm(column = "PostalCode", max_length = 10)]
    pub postal_code: Option<String>,
    #[orm(column = "Phone", max_length = 24)]
    pub phone: Option<String>,
    #[orm(column = "Fax", max_length = 24)]
    pub fax: Option<String>,
    #[orm(column = "Email", max_length = 60)]
    pub email: String,
    #[orm(column = "SupportRepId", foreign_key = "Employee.EmployeeId", index)]
    pub support_rep_id: Option<i32>,
    #[relationship(back_populates = "customers")]
    pub support_rep: Related<Option<Employee>>,
    #[relationship(back_populates = "customer", order_by = "InvoiceDate")]
    pub invoices: Related<Vec<Invoice>>,
}

#[derive(Model, Debug, Clone)]
#[orm(table = "Employee")]
pub struct Employee {
    #[orm(primary_key, autoincrement = false, column = "EmployeeId")]
    pub employee_id: i32,
    #[orm(column = "LastName", max_length = 20)]
    pub last_name: String,
    #[orm(column = "FirstName", max_length = 20)]
    pub first_name: String,
    #[orm(column = "Title", max_length = 30)]
    pub title: Option<String>,
    #[orm(column = "ReportsTo", foreign_key = "Employee.EmployeeId", index)]
    pub reports_to: Option<i32>,
    #[orm(column = "BirthDate")]
    pub birth_date: Option<NaiveDateTime>,
    #[orm(column = "HireDate")]
    pub hire_date: Option<NaiveDateTime>,
    #[orm(column = "Address", max_length = 70)]
    pub address: Option<String>,
    #[orm(column = "City", max_length = 40)]
    pub city: Option<String>,
    #[orm(column = "State", max_length = 40)]
    pub state: Option<String>,
    #[orm(column = "Country", max_length = 40)]
    pub country: Option<String>,
    #[orm(column = "PostalCode", max_length = 10)]
    pub postal_code: Option<String>,
    #[orm(column = "Phone", max_length = 24)]
    pub phone: Option<String>,
    #[orm(column = "Fax", max_length = 24)]
    pub fax: Option<String>,
    #[orm(column = "Email", max_length = 60)]
    pub email: Option<String>,
    /// The employee this one reports to: the many-to-one side of the self-reference
    /// (`remote_side` is the key the foreign key points at).
    #[relationship(back_populates = "reports", remote_side = "EmployeeId")]
    pub manager: Related<Option<Employee>>,
    /// The employees reporting to this one.
    #[relationship(back_populates = "manager", order_by = "EmployeeId")]
    pub reports: Related<Vec<Employee>>,
    #[relationship(back_populates = "support_rep", order_by = "CustomerId")]
    pub customers: Related<Vec<Customer>>,
}

#[derive(Model, Debug, Clone)]
#[orm(table = "Genre")]
pub struct Genre {
    #[orm(primary_key, autoincrement = false, column = "GenreId")]
    pub genre_id: i32,
    #[orm(column = "Name", max_length = 120)]
    pub name: Option<String>,
    #[relationship(back_populates = "genre")]
    pub tracks: Related<Vec<Track>>,
}

#[derive(Model, Debug, Clone)]
#[orm(table = "Invoice")]
pub struct Invoice {
    #[orm(primary_key, autoincrement = false, column = "InvoiceId")]
    pub invoice_id: i32,
    #[orm(column = "CustomerId", foreign_key = "Customer.CustomerId", index)]
    pub customer_id: i32,
    #[orm(column = "InvoiceDate")]
    pub invoice_date: NaiveDateTime,
    #[orm(column = "BillingAddress", max_length = 70)]
    pub billing_address: Option<String>,
    #[orm(column = "BillingCity", max_length = 40)]
    pub billing_city: Option<String>,
    #[orm(column = "BillingState", max_length = 40)]
    pub billing_state: Option<String>,
    #[orm(column = "BillingCountry", max_length = 40)]
    pub billing_country: Option<String>,
    #[orm(column = "BillingPostalCode", max_length = 10)]
    pub billing_postal_code: Option<String>,
    #[orm(column = "Total", sql_type = "numeric(10,2)")]
    pub total: Decimal,
    #[relationship(back_populates = "invoices")]
    pub customer: Related<Customer>,
    #[relationship(back_populates = "invoice", cascade = "all, delete-orphan")]
    pub lines: Related<Vec<InvoiceLine>>,
}

#[derive(Model, Debug, Clone)]
#[orm(table = "InvoiceLine")]
pub struct InvoiceLine {
    #[orm(primary_key, autoincrement = false, column = "InvoiceLineId")]
    pub invoice_line_id: i32,
    #[orm(column = "InvoiceId", foreign_key = "Invoice.InvoiceId", index)]
    pub invoice_id: i32,
    #[orm(column = "TrackId", foreign_key = "Track.TrackId", index)]
    pub track_id: i32,
    #[orm(column = "UnitPrice", sql_type = "numeric(10,2)")]
    pub unit_price: Decimal,
    #[orm(column = "Quantity")]
    pub quantity: i32,
    #[relationship(back_populates = "lines")]
    pub invoice: Related<Invoice>,
    #[relationship(back_populates = "invoice_lines")]
    pub track: Related<Track>,
}

#[derive(Model, Debug, Clone)]
#[orm(table = "MediaType")]
pub struct MediaType {
    #[orm(primary_key, autoincrement = false, column = "MediaTypeId")]
    pub media_type_id: i32,
    #[orm(column = "Name", max_length = 120)]
    pub name: Option<String>,
    #[relationship(back_populates = "media_type")]
    pub tracks: Related<Vec<Track>>,
}

#[derive(Model, Debug, Clone)]
#[orm(table = "Playlist")]
pub struct Playlist {
    #[orm(primary_key, autoincrement = false, column = "PlaylistId")]
    pub playlist_id: i32,
    #[orm(column = "Name", max_length = 120)]
    pub name: Option<String>,
    #[relationship(secondary = "PlaylistTrack", back_populates = "playlists")]
    pub tracks: Related<Vec<Track>>,
}

/// The association table of Playlist <-> Track. It has no relationships of its own:
/// `Playlist::tracks` / `Track::playlists` write its rows (SQLAlchemy would ask for
/// `overlaps=` if a second path wrote the same columns).
#[derive(Model, Debug, Clone)]
#[orm(table = "PlaylistTrack")]
pub struct PlaylistTrack {
    #[orm(
        primary_key,
        column = "PlaylistId",
        foreign_key = "Playlist.PlaylistId",
        index
    )]
    pub playlist_id: i32,
    #[orm(primary_key, column = "TrackId", foreign_key = "Track.TrackId", index)]
    pub track_id: i32,
}

#[derive(Model, Debug, Clone)]
#[orm(table = "Track")]
pub struct Track {
    #[orm(primary_key, autoincrement = false, column = "TrackId")]
    pub track_id: i32,
    #[orm(column = "Name", max_length = 200)]
    pub name: String,
    #[orm(column = "AlbumId", foreign_key = "Album.AlbumId", index)]
    pub album_id: Option<i32>,
    #[orm(column = "MediaTypeId", foreign_key = "MediaType.MediaTypeId", index)]
    pub media_type_id: i32,
    #[orm(column = "GenreId", foreign_key = "Genre.GenreId", index)]
    pub genre_id: Option<i32>,
    #[orm(column = "Composer", max_length = 220)]
    pub composer: Option<String>,
    #[orm(column = "Milliseconds")]
    pub milliseconds: i32,
    #[orm(column = "Bytes")]
    pub bytes: Option<i32>,
    #[orm(column = "UnitPrice", sql_type = "numeric(10,2)")]
    pub unit_price: Decimal,
    #[relationship(back_populates = "tracks")]
    pub album: Related<Option<Album>>,
    #[relationship(back_populates = "tracks")]
    pub media_type: Related<MediaType>,
    #[relationship(back_populates = "tracks")]
    pub genre: Related<Option<Genre>>,
    #[relationship(secondary = "PlaylistTrack", back_populates = "tracks")]
    pub playlists: Related<Vec<Playlist>>,
    #[relationship(back_populates = "track")]
    pub invoice_lines: Related<Vec<InvoiceLine>>,
}

/// The eleven tables, as the models declare them.
fn model_tables() -> Vec<std::sync::Arc<SchemaTable>> {
    vec![
        Album::table(),
        Artist::table(),
        Customer::table(),
        Employee::table(),
        Genre::table(),
        Invoice::table(),
        InvoiceLine::table(),
        MediaType::table(),
        Playlist::table(),
        PlaylistTrack::table(),
        Track::table(),
    ]
}

fn model_metadata() -> MetaData {
    model_tables()
        .into_iter()
        .fold(MetaData::new(), |md, t| md.with_table((*t).clone()))
}

backend_tests!(
    chinook_models_create_the_schema_the_script_creates,
    chinook_models_read_the_scripts_rows,
);

// ---------------------------------------------------------------------------------------
// 1. The models' schema is the script's schema.

async fn chinook_models_create_the_schema_the_script_creates(db: &TestDb) {
    let engine = db.engine().await;
    model_metadata().create_all(&engine).await.unwrap();

    // The script goes into a second namespace on the same server.
    let script_db = TestDb::new(
        db.backend,
        &format!("chinook_models_script_{:?}", db.backend),
    )
    .await
    .expect("the backend of the running test is configured");
    let script_engine = script_db.engine().await;
    chinook::load(&script_db, &script_engine).await;

    let dialect = engine.dialect();
    let mut ours = describe_schema(&engine, db.backend).await;
    let theirs = describe_schema(&script_engine, db.backend).await;
    if dialect.is_mysql() {
        // A real difference, expected: `SqlType::DateTime` is `DATETIME(6)` on MySQL
        // (microseconds), the script declares `DATETIME` (seconds), and a model has no
        // way to ask for `DATETIME(0)` on MySQL only. Reflection reads both as
        // `SqlType::DateTime`; the catalog's own type (below) tells them apart.
        for line in ours.values_mut().flatten() {
            *line = line.replace(", catalog type datetime(6)", ", catalog type datetime");
        }
    }
    script_engine.close().await;
    script_db.cleanup().await;

    let mut report = String::new();
    let names = |s: &BTreeMap<String, Vec<String>>| s.keys().cloned().collect::<Vec<_>>();
    if names(&ours) != names(&theirs) {
        let _ = writeln!(
            report,
            "tables: the models created {:?}, the script {:?}",
            names(&ours),
            names(&theirs)
        );
    }
    for (table, want) in &theirs {
        if let Some(got) = ours.get(table) {
            let diff = line_diff(want, got);
            if !diff.is_empty() {
                let _ = writeln!(report, "table {table} (- script, + models):\n{diff}");
            }
        }
    }
    assert!(
        report.is_empty(),
        "on {dialect}, the schema of the Chinook models differs from the Chinook script's:\n{report}"
    );
    model_metadata().drop_all(&engine).await.unwrap();
    assert!(engine.inspect().await.unwrap().table_names().is_empty());
}

/// A name as compared: as is, except on PostgreSQL, whose script is snake_case while the
/// models keep the PascalCase of the other scripts (`InvoiceLine` ~ `invoice_line`).
fn norm(backend: Backend, name: &str) -> String {
    match backend {
        Backend::Postgres => name.to_ascii_lowercase().replace('_', ""),
        _ => name.to_owned(),
    }
}

/// Every table of the engine's default namespace, inspected, as lines of text (one per
/// column, key and index), keyed by the table's normalized name. Types are compared as
/// the dialect spells the reflected `SqlType` (aliases such as `DECIMAL`/`NUMERIC`
/// folded), and on MySQL also as the catalog prints them.
///
/// Left out on purpose, because they differ for reasons that are not the models' doing:
/// - constraint and index *names*: the scripts name them by hand (`PK_Album`,
///   `FK_AlbumArtistId`, `IFK_AlbumArtistId`; `album_pkey`... on PostgreSQL; SQLite's
///   foreign keys have none), the models get the naming convention's;
///   so keys and indexes compare by their columns;
/// - MySQL's implicit index of a foreign key: none appears on either side, because both
///   declare an index on every foreign-key column, which takes its place.
async fn describe_schema(engine: &Engine, backend: Backend) -> BTreeMap<String, Vec<String>> {
    let dialect = engine.dialect();
    let insp = engine.inspect().await.unwrap();
    let catalog = mysql_column_types(engine).await;
    let n = |s: &str| norm(backend, s);
    let mut out = BTreeMap::new();
    for table in insp.table_names() {
        let t = insp.table(table).await.unwrap();
        let mut lines = Vec::new();
        for c in &t.columns {
            lines.push(format!(
                "column {} {}{}{}, autoincrement {:?}{}",
                n(&c.name),
                type_at_resolution(dialect, &c.sql_type, false),
                if c.nullable { "" } else { " NOT NULL" },
                match &c.server_default {
                    Some(d) => format!(" DEFAULT {d}"),
                    None => String::new(),
                },
                c.autoincrement,
                match catalog.get(&(t.name.clone(), c.name.clone())) {
                    Some(ty) => format!(", catalog type {ty}"),
                    None => String::new(),
                },
            ));
        }
        let cols = |cs: &[String]| cs.iter().map(|c| n(c)).collect::<Vec<_>>().join(", ");
        lines.push(format!("primary key ({})", cols(&t.primary_key.columns)));
        let mut fks: Vec<String> = t
            .foreign_keys
            .iter()
            .map(|fk| {
                format!(
                    "foreign key ({}) references {}({}){}{}",
                    cols(&fk.columns),
                    n(&fk.referred_table),
                    cols(&fk.referred_columns),
                    fk.on_delete
                        .map(|a| format!(" ON DELETE {a:?}"))
                        .unwrap_or_default(),
                    fk.on_update
                        .map(|a| format!(" ON UPDATE {a:?}"))
                        .unwrap_or_default(),
                )
            })
            .collect();
        fks.sort();
        lines.extend(fks);
        let mut ixs: Vec<String> = t
            .indexes
            .iter()
            .map(|ix| {
                format!(
                    "{}index ({})",
                    if ix.unique { "unique " } else { "" },
                    cols(&ix.columns)
                )
            })
            .collect();
        ixs.sort();
        lines.extend(ixs);
        let mut uqs: Vec<String> = t
            .unique_constraints
            .iter()
            .map(|u| format!("unique ({})", cols(&u.columns)))
            .collect();
        uqs.sort();
        lines.extend(uqs);
        let mut cks: Vec<String> = t
            .check_constraints
            .iter()
            .map(|c| format!("check {}", c.sql))
            .collect();
        cks.sort();
        lines.extend(cks);
        out.insert(n(&t.name), lines);
    }
    out
}

/// On MySQL, each column's type as the catalog prints it (`int(11)`, `datetime(6)`),
/// keyed by (table, column): reflection reads `datetime` and `datetime(6)` as the same
/// `SqlType`, so this is the finer check. Empty on the other databases.
async fn mysql_column_types(engine: &Engine) -> BTreeMap<(String, String), String> {
    if !engine.dialect().is_mysql() {
        return BTreeMap::new();
    }
    let rows = engine
        .fetch_all(text(
            "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = DATABASE()",
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|r| {
            let get = |i: usize| r.get::<String>(i).unwrap();
            ((get(0), get(1)), get(2).to_ascii_lowercase())
        })
        .collect()
}

/// The lines of `a` and `b` as a diff: common lines are left out, `- ` lines are only
/// in `a`, `+ ` lines only in `b`, in order (a longest common subsequence).
fn line_diff(a: &[String], b: &[String]) -> String {
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            let _ = writeln!(out, "    - {}", a[i]);
            i += 1;
        } else {
            let _ = writeln!(out, "    + {}", b[j]);
            j += 1;
        }
    }
    out
}

#[test]
fn line_diff_shows_only_the_differences() {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(
        line_diff(&s(&["a", "b", "c"]), &s(&["a", "x", "c", "d"])),
        "    - b\n    + x\n    + d\n"
    );
    assert_eq!(line_diff(&s(&["a"]), &s(&["a"])), "");
}

// ---------------------------------------------------------------------------------------
// 2. The models decode the script's rows.

async fn chinook_models_read_the_scripts_rows(db: &TestDb) {
    let engine = db.engine().await;
    chinook::load(db, &engine).await;
    if db.backend == Backend::Postgres {
        // The PostgreSQL script spells every name in snake_case; the models use the
        // other scripts' PascalCase, which PostgreSQL keeps when quoted. Give the
        // loaded tables the models' names (the rows and types stay the script's).
        rename_to_pascal_case(db, &engine).await;
    }
    let dialect = engine.dialect();

    let tracks: Vec<Track> = all(&engine, Track::sql(dialect)).await;
    assert_eq!(tracks.len(), 3503);
    let mut by_id: BTreeMap<i32, &Track> = BTreeMap::new();
    for t in &tracks {
        by_id.insert(t.track_id, t);
    }
    let first = by_id[&1];
    assert_eq!(first.name, "For Those About To Rock (We Salute You)");
    assert_eq!(
        (
            first.album_id,
            first.media_type_id,
            first.genre_id,
            first.milliseconds,
            first.bytes
        ),
        (Some(1), 1, Some(1), 343_719, Some(11_170_334))
    );
    assert_eq!(
        first.composer.as_deref(),
        Some("Angus Young, Malcolm Young, Brian Johnson")
    );
    assert_eq!(first.unit_price, Decimal::new(99, 2));
    assert!(!first.album.is_loaded() && !first.playlists.is_loaded());
    assert_eq!(
        first.album.get().unwrap_err().to_string(),
        "relationship `Track.album` is not loaded; load it with a loader option or session.load()"
    );
    let dearer = tracks
        .iter()
        .filter(|t| t.unit_price == Decimal::new(199, 2))
        .count();
    assert_eq!(dearer, 213, "the video tracks cost 1.99");

    // A self-reference: one root, three levels.
    let employees: Vec<Employee> = all(&engine, Employee::sql(dialect)).await;
    assert_eq!(employees.len(), 8);
    let root: Vec<&Employee> = employees
        .iter()
        .filter(|e| e.reports_to.is_none())
        .collect();
    assert_eq!(root.len(), 1);
    assert_eq!(
        (
            root[0].first_name.as_str(),
            root[0].last_name.as_str(),
            root[0].title.as_deref()
        ),
        ("Andrew", "Adams", Some("General Manager"))
    );
    let date = |y, m, d| {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
    };
    assert_eq!(root[0].birth_date, Some(date(1962, 2, 18)));
    assert_eq!(root[0].hire_date, Some(date(2002, 8, 14)));
    let manager_of = |id: i32| {
        let e = employees.iter().find(|x| x.employee_id == id).unwrap();
        e.reports_to
    };
    let depth = |e: &Employee| {
        let (mut d, mut up) = (0, e.reports_to);
        while let Some(id) = up {
            up = manager_of(id);
            d += 1;
        }
        d
    };
    assert_eq!(employees.iter().map(depth).max(), Some(2));

    // Money and dates.
    let invoices: Vec<Invoice> = all(&engine, Invoice::sql(dialect)).await;
    assert_eq!(invoices.len(), 412);
    let total: Decimal = invoices.iter().map(|i| i.total).sum();
    assert_eq!(total, Decimal::new(232_860, 2));
    assert!(
        invoices
            .iter()
            .all(|i| (2021..=2025).contains(&chrono::Datelike::year(&i.invoice_date)))
    );
    let lines: Vec<InvoiceLine> = all(&engine, InvoiceLine::sql(dialect)).await;
    let line_total: Decimal = lines
        .iter()
        .map(|l| l.unit_price * Decimal::from(l.quantity))
        .sum();
    assert_eq!(line_total, total, "the lines add up to the invoices");

    // The composite key, and the other tables.
    let pairs: Vec<PlaylistTrack> = all(&engine, PlaylistTrack::sql(dialect)).await;
    assert_eq!(pairs.len(), 8715);
    assert!(pairs.iter().any(|p| p.primary_key() == (1, 3402)));
    let customers: Vec<Customer> = all(&engine, Customer::sql(dialect)).await;
    assert_eq!(customers.len(), 59);
    assert!(customers.iter().all(|c| c.support_rep_id.is_some()));
    assert_eq!(all::<Album>(&engine, Album::sql(dialect)).await.len(), 347);
    assert_eq!(
        all::<Artist>(&engine, Artist::sql(dialect)).await.len(),
        275
    );
    assert_eq!(all::<Genre>(&engine, Genre::sql(dialect)).await.len(), 25);
    assert_eq!(
        all::<MediaType>(&engine, MediaType::sql(dialect))
            .await
            .len(),
        5
    );
    assert_eq!(
        all::<Playlist>(&engine, Playlist::sql(dialect)).await.len(),
        18
    );

    // The primary-key SELECT finds one row.
    let key = orm::Compiled::new(
        Album::sql(dialect).select_by_key.sql(),
        Album::key_values(&1),
    );
    let album = Album::from_row(&engine.fetch_one(key).await.unwrap(), 0).unwrap();
    assert_eq!(
        (album.title.as_str(), album.artist_id),
        ("For Those About To Rock We Salute You", 1)
    );
}

/// Every row of a model's table, decoded by the model.
async fn all<M: Model>(engine: &Engine, sql: &orm::model::ModelSql) -> Vec<M> {
    engine
        .fetch_all(orm::Compiled::new(sql.select_all.sql(), vec![]))
        .await
        .unwrap()
        .iter()
        .map(|r| M::from_row(r, 0).unwrap())
        .collect()
}

/// Renames the PostgreSQL script's snake_case tables and columns to the models' names.
pub(crate) async fn rename_to_pascal_case(db: &TestDb, engine: &Engine) {
    let names = ChinookNames(db.backend);
    let mut script = String::new();
    for t in model_tables() {
        for c in &t.columns {
            let _ = writeln!(
                script,
                "ALTER TABLE {} RENAME COLUMN {} TO \"{}\";",
                names.n(&t.name),
                names.n(&c.name),
                c.name
            );
        }
        let _ = writeln!(
            script,
            "ALTER TABLE {} RENAME TO \"{}\";",
            names.n(&t.name),
            t.name
        );
    }
    engine.execute_script(&script).await.unwrap();
}

// ---------------------------------------------------------------------------------------
// 3. The relationships, as the derive describes them.

#[test]
fn chinook_models_describe_their_relationships() {
    use RelationshipKind::{ManyToMany, ManyToOne, OneToMany};

    // kind, target table, back_populates
    let expected = [
        (Album::artist.info(), ManyToOne, "Artist", Some("albums")),
        (Album::tracks.info(), OneToMany, "Track", Some("album")),
        (Artist::albums.info(), OneToMany, "Album", Some("artist")),
        (
            Customer::support_rep.info(),
            ManyToOne,
            "Employee",
            Some("customers"),
        ),
        (
            Customer::invoices.info(),
            OneToMany,
            "Invoice",
            Some("customer"),
        ),
        (
            Employee::manager.info(),
            ManyToOne,
            "Employee",
            Some("reports"),
        ),
        (
            Employee::reports.info(),
            OneToMany,
            "Employee",
            Some("manager"),
        ),
        (
            Employee::customers.info(),
            OneToMany,
            "Customer",
            Some("support_rep"),
        ),
        (Genre::tracks.info(), OneToMany, "Track", Some("genre")),
        (
            Invoice::customer.info(),
            ManyToOne,
            "Customer",
            Some("invoices"),
        ),
        (
            Invoice::lines.info(),
            OneToMany,
            "InvoiceLine",
            Some("invoice"),
        ),
        (
            InvoiceLine::invoice.info(),
            ManyToOne,
            "Invoice",
            Some("lines"),
        ),
        (
            InvoiceLine::track.info(),
            ManyToOne,
            "Track",
            Some("invoice_lines"),
        ),
        (
            MediaType::tracks.info(),
            OneToMany,
            "Track",
            Some("media_type"),
        ),
        (
            Playlist::tracks.info(),
            ManyToMany,
            "Track",
            Some("playlists"),
        ),
        (Track::album.info(), ManyToOne, "Album", Some("tracks")),
        (
            Track::media_type.info(),
            ManyToOne,
            "MediaType",
            Some("tracks"),
        ),
        (Track::genre.info(), ManyToOne, "Genre", Some("tracks")),
        (
            Track::playlists.info(),
            ManyToMany,
            "Playlist",
            Some("tracks"),
        ),
        (
            Track::invoice_lines.info(),
            OneToMany,
            "InvoiceLine",
            Some("track"),
        ),
    ];
    for (info, kind, target, back) in expected {
        let got = (
            info.kind,
            (info.target_table)().name.clone(),
            info.back_populates,
        );
        assert_eq!(
            got,
            (kind, target.to_owned(), back),
            "{}",
            info.qualified_name
        );
        assert_eq!(
            info.target_model, target,
            "{}: model and table share a name",
            info.qualified_name
        );
    }
    // Every relationship of every model is in the list above.
    let declared: usize = [
        Album::relationships().len(),
        Artist::relationships().len(),
        Customer::relationships().len(),
        Employee::relationships().len(),
        Genre::relationships().len(),
        Invoice::relationships().len(),
        InvoiceLine::relationships().len(),
        MediaType::relationships().len(),
        Playlist::relationships().len(),
        PlaylistTrack::relationships().len(),
        Track::relationships().len(),
    ]
    .iter()
    .sum();
    assert_eq!(declared, expected.len());

    // The self-reference: the many-to-one side names the remote (referenced) key.
    assert_eq!(Employee::manager.info().remote_side, ["EmployeeId"]);
    assert!(Employee::reports.info().remote_side.is_empty());
    assert_eq!(Employee::manager.info().qualified_name, "Employee.manager");

    // Many-to-many through the association table, which is also a model.
    // The derive takes `secondary` on trust; the MetaData of the models must hold it,
    // with a foreign key to each side.
    let md = model_metadata();
    for (info, own) in [
        (Playlist::tracks.info(), Playlist::TABLE_NAME),
        (Track::playlists.info(), Track::TABLE_NAME),
    ] {
        assert_eq!(info.secondary, Some("PlaylistTrack"));
        let assoc = md.table(info.secondary.unwrap()).unwrap();
        let referred: Vec<&str> = assoc
            .foreign_keys
            .iter()
            .map(|fk| fk.referred_table.as_str())
            .collect();
        let target = (info.target_table)();
        assert!(
            referred.contains(&own) && referred.contains(&target.name.as_str()),
            "{}: {referred:?}",
            info.qualified_name
        );
    }
    assert_eq!(
        Playlist::tracks.info().secondary,
        Some(PlaylistTrack::TABLE_NAME)
    );
    assert_eq!(
        PlaylistTrack::table().primary_key.columns,
        ["PlaylistId", "TrackId"]
    );
    assert!(PlaylistTrack::table().autoincrement_column().is_none());
    assert!(Track::table().autoincrement_column().is_none());

    // Options that were given, and the defaults of those that were not.
    let lines = Invoice::lines.info();
    assert!(lines.cascade.delete && lines.cascade.delete_orphan && lines.cascade.save_update);
    let artist = Album::artist.info();
    assert!(artist.cascade.save_update && artist.cascade.merge && !artist.cascade.delete);
    assert_eq!(Album::tracks.info().order_by, ["TrackId"]);
    assert_eq!(
        Album::tracks.info().lazy,
        orm::relationship::LoadStrategy::Explicit
    );
}

#[test]
fn chinook_models_map_fields_to_the_scripts_columns() {
    let t = Track::table();
    let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "TrackId",
            "Name",
            "AlbumId",
            "MediaTypeId",
            "GenreId",
            "Composer",
            "Milliseconds",
            "Bytes",
            "UnitPrice"
        ]
    );
    assert_eq!(
        t.get_column("Name").unwrap().sql_type,
        SqlType::varchar(200)
    );
    assert_eq!(
        t.get_column("UnitPrice").unwrap().sql_type,
        SqlType::numeric(10, 2)
    );
    assert!(t.get_column("AlbumId").unwrap().nullable);
    assert!(!t.get_column("MediaTypeId").unwrap().nullable);
    // Typed columns use the database names.
    assert_eq!(
        select(Track::name)
            .filter(Track::album_id.eq(Some(1)))
            .to_string(),
        r#"SELECT "Track"."Name" FROM "Track" WHERE "Track"."AlbumId" = $1"#
    );
    let e = Employee::table();
    assert_eq!(e.foreign_keys.len(), 1);
    assert_eq!(
        (
            e.foreign_keys[0].columns.as_slice(),
            e.foreign_keys[0].referred_table.as_str(),
            e.foreign_keys[0].referred_columns.as_slice()
        ),
        (
            &["ReportsTo".to_owned()][..],
            "Employee",
            &["EmployeeId".to_owned()][..]
        )
    );
}

#[test]
fn new_chinook_models_start_with_every_relationship_new_and_empty() {
    let price = Decimal::new(99, 2);
    let at = NaiveDate::from_ymd_opt(2025, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    let album = Album::new(1, "t", 1);
    let artist = Artist::new(1);
    let customer = Customer::new(1, "Luís", "Gonçalves", "luisg@embraer.com.br");
    let employee = Employee::new(1, "Adams", "Andrew");
    let genre = Genre::new(1);
    let invoice = Invoice::new(1, 1, at, price);
    let line = InvoiceLine::new(1, 1, 1, price, 1);
    let media_type = MediaType::new(1);
    let playlist = Playlist::new(1);
    let track = Track::new(1, "t", 1, 1000, price);
    let fields = [
        (album.artist.name(), album.artist.is_loaded()),
        (album.tracks.name(), album.tracks.is_loaded()),
        (artist.albums.name(), artist.albums.is_loaded()),
        (
            customer.support_rep.name(),
            customer.support_rep.is_loaded(),
        ),
        (customer.invoices.name(), customer.invoices.is_loaded()),
        (employee.manager.name(), employee.manager.is_loaded()),
        (employee.reports.name(), employee.reports.is_loaded()),
        (employee.customers.name(), employee.customers.is_loaded()),
        (genre.tracks.name(), genre.tracks.is_loaded()),
        (invoice.customer.name(), invoice.customer.is_loaded()),
        (invoice.lines.name(), invoice.lines.is_loaded()),
        (line.invoice.name(), line.invoice.is_loaded()),
        (line.track.name(), line.track.is_loaded()),
        (media_type.tracks.name(), media_type.tracks.is_loaded()),
        (playlist.tracks.name(), playlist.tracks.is_loaded()),
        (track.album.name(), track.album.is_loaded()),
        (track.media_type.name(), track.media_type.is_loaded()),
        (track.genre.name(), track.genre.is_loaded()),
        (track.playlists.name(), track.playlists.is_loaded()),
        (track.invoice_lines.name(), track.invoice_lines.is_loaded()),
    ];
    let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            "Album.artist",
            "Album.tracks",
            "Artist.albums",
            "Customer.support_rep",
            "Customer.invoices",
            "Employee.manager",
            "Employee.reports",
            "Employee.customers",
            "Genre.tracks",
            "Invoice.customer",
            "Invoice.lines",
            "InvoiceLine.invoice",
            "InvoiceLine.track",
            "MediaType.tracks",
            "Playlist.tracks",
            "Track.album",
            "Track.media_type",
            "Track.genre",
            "Track.playlists",
            "Track.invoice_lines",
        ]
    );
    // A new object's relationships are new: loaded, empty and writable.
    assert!(fields.iter().all(|(_, loaded)| *loaded));
    // Keys are given, not generated: the constructor takes them.
    assert_eq!(
        (track.track_id, employee.employee_id, employee.reports_to),
        (1, 1, None)
    );
}
