//! Reflection and the Inspector: catalog types mapped back to `SqlType` at each
//! dialect's resolution, tables and views, name-checked lookups with clear errors,
//! `Table::autoload`, `MetaData::reflect_only`, and tables written by hand in each
//! dialect's own DDL (the legacy-database case).

use orm::schema::{Autoincrement, Column, ForeignKey, MetaData, ReferentialAction, SqlType, Table};
use orm::{Dialect, Error, text};

use crate::backend_tests;
use crate::support::{Backend, TestDb};

backend_tests!(
    reflected_types_are_the_dialects_resolution_of_the_declared_ones,
    inspector_lists_tables_and_views_and_names_unknown_tables,
    autoload_and_reflect_only_follow_foreign_keys,
    hand_written_tables_reflect,
    foreign_keys_across_schemas_keep_the_schema,
);

fn every_type() -> Vec<(&'static str, SqlType)> {
    vec![
        ("c_smallint", SqlType::SmallInt),
        ("c_integer", SqlType::Integer),
        ("c_bigint", SqlType::BigInt),
        ("c_float", SqlType::Float),
        ("c_double", SqlType::Double),
        ("c_numeric", SqlType::numeric(12, 3)),
        (
            "c_numeric_any",
            SqlType::Numeric {
                precision: None,
                scale: None,
            },
        ),
        ("c_varchar", SqlType::varchar(40)),
        ("c_varchar_any", SqlType::Varchar(None)),
        ("c_text", SqlType::Text),
        ("c_bool", SqlType::Boolean),
        ("c_date", SqlType::Date),
        ("c_time", SqlType::Time),
        ("c_datetime", SqlType::DateTime),
        ("c_tstz", SqlType::TimestampTz),
        ("c_blob", SqlType::Blob),
        ("c_uuid", SqlType::Uuid),
        ("c_json", SqlType::Json),
        ("c_enum", SqlType::enumeration("mood", ["happy", "sad"])),
        ("c_custom", SqlType::Custom("CHAR(3)".into())),
    ]
}

/// What each declared type reads back as: its own resolution on each dialect.
fn expected(backend: Backend, declared: &SqlType) -> SqlType {
    use Backend::{MySql, Postgres, Sqlite};
    match (declared, backend) {
        (
            SqlType::Numeric {
                precision: None, ..
            },
            MySql,
        ) => SqlType::numeric(65, 30),
        (SqlType::Varchar(None), MySql) => SqlType::varchar(255),
        (SqlType::TimestampTz, MySql) => SqlType::DateTime,
        (SqlType::Uuid, Sqlite) => SqlType::Blob,
        (SqlType::Json, Sqlite) => SqlType::Text,
        (SqlType::Enum { .. }, Sqlite | Postgres | MySql) => SqlType::varchar(5),
        (other, _) => other.clone(),
    }
}

async fn reflected_types_are_the_dialects_resolution_of_the_declared_ones(db: &TestDb) {
    let engine = db.engine().await;
    let mut t = Table::new("types").column(Column::new("id", SqlType::Integer).primary_key());
    for (name, ty) in every_type() {
        t = t.column(Column::new(name, ty));
    }
    let md = MetaData::new().with_table(t);
    md.create_all(&engine).await.unwrap();
    let cols = engine
        .inspect()
        .await
        .unwrap()
        .columns("types")
        .await
        .unwrap();
    let got: Vec<(String, SqlType)> = cols
        .iter()
        .skip(1)
        .map(|c| (c.name.clone(), c.sql_type.clone()))
        .collect();
    let want: Vec<(String, SqlType)> = every_type()
        .into_iter()
        .map(|(n, ty)| (n.to_owned(), expected(db.backend, &ty)))
        .collect();
    assert_eq!(got, want, "on {:?}", db.backend);
    assert_eq!(cols[0].autoincrement, Autoincrement::Yes);
    assert!(cols[0].primary_key && !cols[0].nullable);
    assert!(cols[1..].iter().all(|c| c.nullable && !c.primary_key));
    assert!(
        cols[1..]
            .iter()
            .all(|c| c.autoincrement == Autoincrement::No)
    );
}

async fn inspector_lists_tables_and_views_and_names_unknown_tables(db: &TestDb) {
    let engine = db.engine().await;
    engine
        .execute_script(
            "CREATE TABLE artist (id INTEGER PRIMARY KEY, name VARCHAR(120)); \
             CREATE TABLE album (id INTEGER PRIMARY KEY, title VARCHAR(160) NOT NULL); \
             CREATE VIEW artist_names AS SELECT name FROM artist",
        )
        .await
        .unwrap();
    let insp = engine.inspect().await.unwrap();
    assert_eq!(insp.table_names(), ["album", "artist"]);
    assert_eq!(insp.view_names(), ["artist_names"]);
    assert!(insp.has_table("album") && !insp.has_table("artist_names"));
    let view_cols = insp.columns("artist_names").await.unwrap();
    assert_eq!(view_cols.len(), 1);
    assert_eq!(view_cols[0].name, "name");

    let schema = insp.schema_name().to_owned();
    let err = insp.columns("track").await.unwrap_err();
    assert!(
        matches!(&err, Error::TableNotFound { table, .. } if table == "track"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "table `track` does not exist in schema `{schema}`; it has: album, artist, artist_names"
        )
    );
    for e in [
        insp.pk_constraint("track").await.unwrap_err(),
        insp.foreign_keys("track").await.map(|_| ()).unwrap_err(),
        insp.indexes("track").await.map(|_| ()).unwrap_err(),
        insp.unique_constraints("track")
            .await
            .map(|_| ())
            .unwrap_err(),
        insp.check_constraints("track")
            .await
            .map(|_| ())
            .unwrap_err(),
        insp.table("track").await.map(|_| ()).unwrap_err(),
        Table::autoload(&engine, "track")
            .await
            .map(|_| ())
            .unwrap_err(),
    ] {
        assert!(
            e.to_string().contains("table `track` does not exist"),
            "{e}"
        );
    }
    let err = MetaData::reflect_only(&engine, &["album", "track"])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("`track`"), "{err}");

    // A table made after the inspector still answers (names are re-read on a miss).
    engine
        .execute(text("CREATE TABLE track (id INTEGER PRIMARY KEY)"))
        .await
        .unwrap();
    assert_eq!(insp.pk_constraint("track").await.unwrap().columns, ["id"]);
}

async fn autoload_and_reflect_only_follow_foreign_keys(db: &TestDb) {
    let engine = db.engine().await;
    let md = MetaData::new()
        .with_table(
            Table::new("genre")
                .column(Column::new("id", SqlType::Integer).primary_key())
                .column(Column::new("name", SqlType::varchar(50))),
        )
        .with_table(
            Table::new("album")
                .column(Column::new("id", SqlType::Integer).primary_key())
                .column(Column::new("genre_id", SqlType::Integer).not_null())
                .foreign_key(
                    ForeignKey::new(["genre_id"], "genre", ["id"])
                        .name("fk_album_genre")
                        .on_delete(ReferentialAction::Cascade),
                ),
        )
        .with_table(
            Table::new("track")
                .column(Column::new("id", SqlType::Integer).primary_key())
                .column(Column::new("album_id", SqlType::Integer))
                .foreign_key(
                    ForeignKey::new(["album_id"], "album", ["id"])
                        .name("fk_track_album")
                        .on_delete(ReferentialAction::SetNull),
                ),
        )
        .with_table(
            Table::new("unrelated").column(Column::new("id", SqlType::Integer).primary_key()),
        );
    md.create_all(&engine).await.unwrap();

    let only = MetaData::reflect_only(&engine, &["track"]).await.unwrap();
    let mut names: Vec<_> = only.tables().iter().map(|t| t.name.clone()).collect();
    names.sort();
    assert_eq!(names, ["album", "genre", "track"]);

    let album = Table::autoload(&engine, "album").await.unwrap();
    assert_eq!(album.primary_key.columns, ["id"]);
    let fk = &album.foreign_keys[0];
    assert_eq!(
        (fk.name.as_deref(), fk.referred_table.as_str(), fk.on_delete),
        (
            Some("fk_album_genre"),
            "genre",
            Some(ReferentialAction::Cascade)
        )
    );
    let track = only.table("track").unwrap();
    assert_eq!(
        track.foreign_keys[0].on_delete,
        Some(ReferentialAction::SetNull)
    );

    // The reflected subset drops on its own, leaving the unrelated table.
    only.drop_all(&engine).await.unwrap();
    assert_eq!(engine.inspect().await.unwrap().table_names(), ["unrelated"]);
}

async fn hand_written_tables_reflect(db: &TestDb) {
    let engine = db.engine().await;
    match db.backend {
        Backend::Sqlite => sqlite_legacy(&engine).await,
        Backend::Postgres => postgres_legacy(&engine).await,
        Backend::MySql => mysql_legacy(&engine).await,
    }
}

async fn sqlite_legacy(engine: &orm::Engine) {
    engine
        .execute_script(
            r#"CREATE TABLE [Parent] ([ParentId] INTEGER PRIMARY KEY AUTOINCREMENT, [Name] NVARCHAR(20) NOT NULL UNIQUE);
               CREATE TABLE child (
                   id INT NOT NULL,
                   parent_id INTEGER CONSTRAINT fk_child_parent REFERENCES Parent ON DELETE CASCADE,
                   note CLOB DEFAULT 'none',
                   anything,
                   qty INTEGER CONSTRAINT qty_positive CHECK (qty > 0),
                   CONSTRAINT pk_child PRIMARY KEY (id, parent_id),
                   UNIQUE (note, qty)
               );
               CREATE UNIQUE INDEX ix_child_anything ON child (anything)"#,
        )
        .await
        .unwrap();
    let parent = Table::autoload(engine, "parent").await.unwrap();
    assert_eq!(
        parent.name, "Parent",
        "names resolve without case, as SQLite does"
    );
    assert!(parent.sqlite_autoincrement);
    assert_eq!(parent.columns[0].autoincrement, Autoincrement::Yes);
    assert_eq!(parent.columns[1].sql_type, SqlType::varchar(20));
    assert_eq!(parent.unique_constraints[0].columns, ["Name"]);

    let child = Table::autoload(engine, "child").await.unwrap();
    let types: Vec<_> = child.columns.iter().map(|c| c.sql_type.clone()).collect();
    assert_eq!(
        types,
        [
            SqlType::Integer,
            SqlType::Integer,
            SqlType::Text,
            SqlType::Custom(String::new()),
            SqlType::Integer
        ]
    );
    // INT is not INTEGER: no rowid alias, and the key is composite anyway.
    assert!(
        child
            .columns
            .iter()
            .all(|c| c.autoincrement == Autoincrement::No)
    );
    assert_eq!(child.columns[2].server_default.as_deref(), Some("'none'"));
    assert_eq!(child.primary_key.name.as_deref(), Some("pk_child"));
    assert_eq!(child.primary_key.columns, ["id", "parent_id"]);
    let fk = &child.foreign_keys[0];
    assert_eq!(fk.name.as_deref(), Some("fk_child_parent"));
    assert_eq!(fk.referred_table, "Parent");
    assert_eq!(
        fk.referred_columns,
        ["ParentId"],
        "the parent's primary key"
    );
    assert_eq!(fk.on_delete, Some(ReferentialAction::Cascade));
    assert_eq!(
        child.check_constraints[0].name.as_deref(),
        Some("qty_positive")
    );
    assert_eq!(child.check_constraints[0].sql, "qty > 0");
    assert_eq!(child.unique_constraints[0].columns, ["note", "qty"]);
    assert_eq!(child.indexes.len(), 1);
    assert!(child.indexes[0].unique);
}

async fn postgres_legacy(engine: &orm::Engine) {
    engine
        .execute_script(
            "CREATE TYPE mood AS ENUM ('happy', 'sad');
             CREATE TABLE parent (id serial PRIMARY KEY, code character(2) NOT NULL, doc json,
                                  feeling mood DEFAULT 'happy', tags integer[],
                                  at time(3) with time zone);
             CREATE TABLE child (id bigserial, parent_id integer REFERENCES parent ON DELETE RESTRICT,
                                 price numeric CHECK (price >= 0), CONSTRAINT child_pk PRIMARY KEY (id));
             CREATE INDEX child_price_expr ON child ((price * 2));
             CREATE INDEX child_parent_partial ON child (parent_id) WHERE price > 0;
             CREATE INDEX child_parent ON child (parent_id);
             COMMENT ON TABLE parent IS 'the parents';",
        )
        .await
        .unwrap();
    let parent = Table::autoload(engine, "parent").await.unwrap();
    assert_eq!(parent.comment.as_deref(), Some("the parents"));
    let id = &parent.columns[0];
    assert_eq!(
        (id.autoincrement, id.server_default.as_deref()),
        (Autoincrement::Yes, None),
        "serial is autoincrement, its nextval default is not a server default"
    );
    let types: Vec<_> = parent.columns.iter().map(|c| c.sql_type.clone()).collect();
    assert_eq!(
        types,
        [
            SqlType::Integer,
            SqlType::Custom("CHAR(2)".into()),
            SqlType::Json,
            SqlType::native_enum("mood", ["happy", "sad"]),
            SqlType::Custom("INTEGER[]".into()),
            SqlType::Custom("TIME(3) WITH TIME ZONE".into()),
        ]
    );
    assert_eq!(
        parent.columns[3].server_default.as_deref(),
        Some("'happy'::mood")
    );
    let child = Table::autoload(engine, "child").await.unwrap();
    assert_eq!(child.columns[0].sql_type, SqlType::BigInt);
    assert_eq!(child.primary_key.name.as_deref(), Some("child_pk"));
    let fk = &child.foreign_keys[0];
    assert_eq!(fk.name.as_deref(), Some("child_parent_id_fkey"));
    assert_eq!(fk.on_delete, Some(ReferentialAction::Restrict));
    assert_eq!(child.check_constraints[0].sql, "price >= (0)::numeric");
    // Expression and partial indexes cannot be described by `Index`: left out.
    let names: Vec<_> = child
        .indexes
        .iter()
        .map(|i| i.name.clone().unwrap())
        .collect();
    assert_eq!(names, ["child_parent"]);
}

async fn mysql_legacy(engine: &orm::Engine) {
    engine
        .execute_script(
            "CREATE TABLE parent (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
                                  code CHAR(2) NOT NULL, flag TINYINT(1) NOT NULL DEFAULT 1,
                                  small TINYINT, body MEDIUMTEXT, feeling ENUM('Happy','it''s sad'),
                                  price DECIMAL(8,2) DEFAULT 0.5, UNIQUE (code))
                 COMMENT 'the parents';
             CREATE TABLE child (id INT NOT NULL PRIMARY KEY,
                                 parent_id INT UNSIGNED,
                                 CONSTRAINT child_parent FOREIGN KEY (parent_id) REFERENCES parent (id)
                                   ON DELETE SET NULL ON UPDATE CASCADE)",
        )
        .await
        .unwrap();
    let parent = Table::autoload(engine, "parent").await.unwrap();
    assert_eq!(parent.comment.as_deref(), Some("the parents"));
    let types: Vec<_> = parent.columns.iter().map(|c| c.sql_type.clone()).collect();
    assert_eq!(
        types,
        [
            SqlType::Custom("INT UNSIGNED".into()),
            SqlType::Custom("CHAR(2)".into()),
            SqlType::Boolean,
            SqlType::Custom("TINYINT".into()),
            SqlType::Text,
            SqlType::enumeration("feeling", ["Happy", "it's sad"]),
            SqlType::numeric(8, 2),
        ]
    );
    assert_eq!(parent.columns[0].autoincrement, Autoincrement::Yes);
    assert_eq!(parent.columns[2].server_default.as_deref(), Some("1"));
    assert_eq!(parent.columns[6].server_default.as_deref(), Some("0.50"));
    assert_eq!(parent.primary_key.columns, ["id"]);
    assert_eq!(parent.unique_constraints[0].name.as_deref(), Some("code"));
    let child = Table::autoload(engine, "child").await.unwrap();
    let fk = &child.foreign_keys[0];
    assert_eq!(fk.name.as_deref(), Some("child_parent"));
    assert_eq!(
        (fk.on_delete, fk.on_update),
        (
            Some(ReferentialAction::SetNull),
            Some(ReferentialAction::Cascade)
        )
    );
    // MySQL indexed the key itself, under the key's name.
    assert_eq!(child.indexes[0].name.as_deref(), Some("child_parent"));
}

async fn foreign_keys_across_schemas_keep_the_schema(db: &TestDb) {
    let engine = db.engine().await;
    let other = format!("{}_x", db.name);
    let md = MetaData::new()
        .with_table(
            Table::new("child")
                .column(Column::new("id", SqlType::Integer).primary_key())
                .column(Column::new("parent_id", SqlType::Integer))
                .foreign_key(
                    ForeignKey::new(["parent_id"], "parent", ["id"])
                        .referred_schema(other.as_str())
                        .name("fk_child_parent"),
                ),
        )
        .with_table(
            Table::new("parent")
                .schema(other.as_str())
                .column(Column::new("id", SqlType::Integer).primary_key()),
        );
    let order: Vec<_> = md.sorted_tables().iter().map(|t| t.full_name()).collect();
    assert_eq!(order, [format!("{other}.parent"), "child".to_owned()]);
    let (drop_ns, create_ns) = match db.dialect() {
        Dialect::Sqlite => {
            // No such attached database: checkfirst says so.
            let err = md.create_all(&engine).await.unwrap_err();
            assert!(
                matches!(&err, Error::SchemaNotFound { schema, .. } if *schema == other),
                "{err}"
            );
            // And SQLite's REFERENCES cannot name another database anyway.
            let child = md.table("child").unwrap();
            let err = orm::schema::CreateTable::new(&child)
                .compile(Dialect::Sqlite)
                .unwrap_err();
            assert!(
                matches!(&err, Error::Unsupported { feature, .. } if feature.contains("another schema")),
                "{err}"
            );
            return;
        }
        Dialect::Postgres => (
            format!("DROP SCHEMA IF EXISTS \"{other}\" CASCADE"),
            format!("CREATE SCHEMA \"{other}\""),
        ),
        Dialect::MySql | Dialect::MariaDb => (
            format!("DROP DATABASE IF EXISTS `{other}`"),
            format!("CREATE DATABASE `{other}`"),
        ),
    };
    engine.execute(text(drop_ns.as_str())).await.unwrap();
    engine.execute(text(create_ns)).await.unwrap();

    md.create_all(&engine).await.unwrap();
    let child = Table::autoload(&engine, "child").await.unwrap();
    assert_eq!(child.schema, None);
    let fk = &child.foreign_keys[0];
    assert_eq!(
        (fk.referred_schema.as_deref(), fk.referred_table.as_str()),
        (Some(other.as_str()), "parent")
    );
    let theirs = MetaData::reflect_schema(&engine, &other, None)
        .await
        .unwrap();
    let parent = theirs.table(&format!("{other}.parent")).unwrap();
    assert_eq!(parent.schema.as_deref(), Some(other.as_str()));
    assert_eq!(parent.primary_key.columns, ["id"]);
    // Only the default schema's own tables are listed by the default inspector.
    let insp = engine.inspect().await.unwrap();
    assert_eq!(insp.table_names(), ["child"]);
    assert!(insp.schema_names().await.unwrap().contains(&other));

    md.drop_all(&engine).await.unwrap();
    assert!(engine.inspect().await.unwrap().table_names().is_empty());
    assert!(
        engine
            .inspect()
            .await
            .unwrap()
            .in_schema(&other)
            .await
            .unwrap()
            .table_names()
            .is_empty()
    );
    engine.execute(text(drop_ns)).await.unwrap();
}
