//! Server-aware dialects: the engine reads the server's version at connect, reports it
//! with its capabilities, and compiles for them. What this machine's servers have runs
//! (PostgreSQL 15, MariaDB 10.11, the bundled SQLite); what an older version lacks
//! (forced with `EngineBuilder::server_version`) is refused before anything is sent, or
//! taken the way servers without it take it (the flush's row-by-row INSERTs).

use orm::prelude::*;
use orm::sql::Lock;
use orm::{Capabilities, Dialect, Error, Feature, ServerInfo, ServerVersion, text};

use crate::backend_tests;
use crate::support::{Backend, Statements, TestDb};

backend_tests!(
    the_engine_reports_the_servers_version_and_capabilities,
    what_the_server_supports_runs,
    an_older_server_version_is_refused_before_anything_is_sent,
);

/// MariaDB 10.4 and SQLite 3.34 have no INSERT ... RETURNING (every PostgreSQL the
/// driver speaks to has).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flush_on_mariadb_10_4_reads_consecutive_generated_keys() {
    crate::support::run(
        Backend::MySql,
        module_path!(),
        "flush_mariadb_10_4",
        async |db: &TestDb| flush_without_insert_returning(db, ServerVersion::new(10, 4, 32)).await,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flush_on_sqlite_3_34_reads_generated_keys_row_by_row() {
    crate::support::run(
        Backend::Sqlite,
        module_path!(),
        "flush_sqlite_3_34",
        async |db: &TestDb| flush_without_insert_returning(db, ServerVersion::new(3, 34, 1)).await,
    )
    .await
}

#[derive(Model, Debug, Clone)]
#[orm(table = "sc_items")]
pub struct Item {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(max_length = 40)]
    pub name: String,
    pub qty: i32,
}

async fn setup(engine: &Engine) {
    MetaData::new()
        .with::<Item>()
        .create_all(engine)
        .await
        .unwrap();
}

/// The features each server of this machine has.
fn expected(dialect: Dialect) -> Vec<Feature> {
    use Feature::*;
    match dialect {
        Dialect::Postgres => vec![
            InsertReturning,
            UpdateReturning,
            DeleteReturning,
            Cte,
            WindowFunctions,
            ForShare,
            Nowait,
            SkipLocked,
            Upsert,
            KeyLocks,
            RowValues,
        ],
        // MariaDB 10.11: no FOR SHARE, no UPDATE ... RETURNING, no row alias.
        Dialect::MariaDb => vec![
            InsertReturning,
            DeleteReturning,
            Cte,
            WindowFunctions,
            Nowait,
            SkipLocked,
            Upsert,
            RowValues,
            UpsertWithoutTarget,
        ],
        Dialect::Sqlite => vec![
            InsertReturning,
            UpdateReturning,
            DeleteReturning,
            Cte,
            WindowFunctions,
            Upsert,
            RowValues,
            UpsertWithoutTarget,
        ],
        Dialect::MySql => unreachable!("the suite's MySQL URL points at MariaDB"),
    }
}

async fn the_engine_reports_the_servers_version_and_capabilities(db: &TestDb) {
    let engine = db.engine().await;
    let server = engine.server();
    assert_eq!(server.dialect(), engine.dialect());
    // The version, read again by hand.
    let sql = match db.backend {
        Backend::Postgres => "SHOW server_version",
        Backend::MySql => "SELECT VERSION()",
        Backend::Sqlite => "SELECT sqlite_version()",
    };
    let reported: String = engine.fetch_one(text(sql)).await.unwrap().get(0).unwrap();
    assert_eq!(reported, engine.server_version());
    let version = ServerVersion::parse(&reported).unwrap();
    assert_eq!(server.version(), Some(version), "{reported}");
    let minimum = match server.dialect() {
        Dialect::Postgres => ServerVersion::new(15, 0, 0),
        Dialect::MariaDb => ServerVersion::new(10, 11, 0),
        _ => ServerVersion::new(3, 35, 0),
    };
    assert!(version >= minimum, "{server}");
    assert_eq!(
        server.capabilities().iter().collect::<Vec<_>>(),
        expected(server.dialect()),
        "{server}"
    );
    assert_eq!(
        server.to_string(),
        format!("{} {version}", server.product())
    );
    // Connections and transactions compile for the same server.
    let conn = engine.connect().await.unwrap();
    assert_eq!(conn.server(), server);
    let tx = conn.begin().await.unwrap();
    assert_eq!(tx.server(), server);
    tx.rollback().await.unwrap();

    if server.dialect() == Dialect::MariaDb {
        // MySQL's dialect on the MariaDB server: what both have.
        let mysql = db
            .builder()
            .dialect(Dialect::MySql)
            .connect()
            .await
            .unwrap();
        let s = mysql.server();
        assert_eq!((s.dialect(), s.version()), (Dialect::MySql, Some(version)));
        assert_eq!(
            s.capabilities().iter().collect::<Vec<_>>(),
            [
                Feature::Cte,
                Feature::WindowFunctions,
                Feature::Nowait,
                Feature::SkipLocked,
                Feature::Upsert,
                Feature::RowValues,
                Feature::UpsertWithoutTarget,
            ]
        );
        mysql.close().await;
    }
    // A version given to the builder replaces the server's.
    let old = ServerVersion::new(1, 0, 0);
    let pinned = db.builder().server_version(old).connect().await.unwrap();
    assert_eq!(pinned.server(), ServerInfo::new(server.dialect(), old));
    assert_eq!(pinned.server_version(), reported);
    pinned.close().await;
    engine.close().await;
}

async fn what_the_server_supports_runs(db: &TestDb) {
    let engine = db.engine().await;
    setup(&engine).await;
    let dialect = engine.dialect();
    let log = Statements::record(&engine);

    // INSERT ... RETURNING: one statement, not the INSERT-then-SELECT emulation.
    let done = engine
        .execute(
            insert(Item::table())
                .values((Item::name.set("a"), Item::qty.set(3)))
                .returning((Item::id, Item::name)),
        )
        .await
        .unwrap();
    let id: i64 = done.rows()[0].get("id").unwrap();
    assert_eq!(done.rows()[0].get::<String>("name").unwrap(), "a");
    let sent = log.take();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0].ends_with(&format!(
            "RETURNING {}",
            q(dialect, "id") + ", " + &q(dialect, "name")
        )),
        "{sent:?}"
    );
    for (name, qty) in [("b", 5), ("c", 1)] {
        engine
            .execute(insert(Item::table()).values((Item::name.set(name), Item::qty.set(qty))))
            .await
            .unwrap();
    }

    // An upsert that refers to the row it would have inserted.
    engine
        .execute(
            insert(Item::table())
                .values((Item::id.set(id), Item::name.set("a"), Item::qty.set(30)))
                .on_conflict_do_update(["id"], Item::qty.set(excluded(Item::qty))),
        )
        .await
        .unwrap();
    let upsert = log.take().pop().unwrap();
    if dialect == Dialect::MariaDb {
        assert!(
            upsert.ends_with("ON DUPLICATE KEY UPDATE `qty` = VALUES(`qty`)"),
            "{upsert}"
        );
    } else {
        assert!(
            upsert.ends_with(r#"DO UPDATE SET "qty" = excluded."qty""#),
            "{upsert}"
        );
    }

    // A CTE with a window function over it.
    let top = select((Item::name, Item::qty))
        .filter(Item::qty.gt(2))
        .cte("top");
    let rows = engine
        .fetch_all(
            select((
                top.c::<String>("name"),
                func::row_number()
                    .over(over().order_by(top.c::<i32>("qty").desc()))
                    .label("rn"),
            ))
            .from(&top)
            .order_by(top.c::<i32>("qty").desc()),
        )
        .await
        .unwrap();
    let got: Vec<(String, i64)> = rows
        .iter()
        .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
        .collect();
    assert_eq!(got, [("a".to_owned(), 1), ("b".to_owned(), 2)]);

    // Row locks, each in a transaction (SQLite renders none).
    for (lock, sql) in [
        (Lock::Update, " FOR UPDATE"),
        (Lock::UpdateNowait, " FOR UPDATE NOWAIT"),
        (Lock::UpdateSkipLocked, " FOR UPDATE SKIP LOCKED"),
        (
            Lock::Share,
            if dialect == Dialect::MariaDb {
                " LOCK IN SHARE MODE"
            } else {
                " FOR SHARE"
            },
        ),
    ] {
        let mut tx = engine.begin().await.unwrap();
        let rows = tx
            .fetch_all(select(Item::id).filter(Item::id.eq(id)).with_lock(lock))
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        tx.commit().await.unwrap();
        let sent = log.take();
        let select = sent.iter().find(|s| s.starts_with("SELECT")).unwrap();
        if dialect == Dialect::Sqlite {
            assert!(!select.contains(" FOR "), "{select}");
        } else {
            assert!(select.ends_with(sql), "{select}");
        }
    }

    // DELETE ... RETURNING.
    let done = engine
        .execute(
            delete(Item::table())
                .filter(Item::id.eq(id))
                .returning((Item::name, Item::qty)),
        )
        .await
        .unwrap();
    let row = &done.rows()[0];
    assert_eq!(
        (row.get::<String>(0).unwrap(), row.get::<i32>(1).unwrap()),
        ("a".to_owned(), 30)
    );
    engine.close().await;
}

fn q(dialect: Dialect, ident: &str) -> String {
    dialect.quote_identifier(ident)
}

async fn an_older_server_version_is_refused_before_anything_is_sent(db: &TestDb) {
    let dialect = db.engine().await.dialect();
    // A version of each dialect from before its CTEs.
    let (old, product) = match dialect {
        Dialect::Postgres => (ServerVersion::new(8, 3, 0), "PostgreSQL"),
        Dialect::MariaDb => (ServerVersion::new(10, 1, 48), "MariaDB"),
        _ => (ServerVersion::new(3, 8, 0), "SQLite"),
    };
    let engine = db.builder().server_version(old).connect().await.unwrap();
    setup(&engine).await;
    let log = Statements::record(&engine);
    let cte = select(Item::id).cte("ids");
    let err = engine
        .fetch_all(select(cte.c::<i64>("id")).from(&cte))
        .await
        .unwrap_err();
    let needs = dialect.feature_since(Feature::Cte).unwrap();
    assert!(
        matches!(&err, Error::UnsupportedByServer { feature, server, .. }
            if feature.starts_with("WITH") && *server == format!("{product} {old}")),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "WITH (a common table expression) is not supported by the server, {product} {old}: it needs {product} {needs} or later"
        )
    );
    let err = engine
        .fetch_all(select(
            func::row_number().over(over().order_by(Item::id.asc())),
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UnsupportedByServer { .. }), "{err:?}");
    assert_eq!(log.take(), Vec::<String>::new(), "nothing was sent");
    engine.close().await;
}

async fn flush_without_insert_returning(db: &TestDb, old: ServerVersion) {
    let engine = db.builder().server_version(old).connect().await.unwrap();
    let dialect = engine.dialect();
    assert!(!engine.server().has(Feature::InsertReturning));
    setup(&engine).await;
    let log = Statements::record(&engine);
    let mut session = Session::new(&engine);
    let items: Vec<_> = (0..3)
        .map(|i| session.add(Item::new(format!("item{i}"), i)))
        .collect();
    session.commit().await.unwrap();
    let inserts: Vec<String> = log
        .take()
        .into_iter()
        .filter(|s| s.starts_with("INSERT"))
        .collect();
    // None with RETURNING. SQLite: one INSERT per row, each key the driver's last insert
    // id. MariaDB numbers one multi-row INSERT's rows consecutively
    // (`innodb_autoinc_lock_mode` 1 here, read once): one INSERT, the keys from the
    // first one it reports.
    let expected = if dialect == Dialect::MariaDb { 1 } else { 3 };
    assert_eq!(inserts.len(), expected, "{inserts:?}");
    assert!(
        inserts.iter().all(|s| !s.contains("RETURNING")),
        "{inserts:?}"
    );
    let mut keys = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let item = item.read().unwrap();
        let row = engine
            .fetch_one(select(Item::name).filter(Item::id.eq(item.id)))
            .await
            .unwrap();
        assert_eq!(row.get::<String>(0).unwrap(), format!("item{i}"));
        keys.push(item.id);
    }
    keys.dedup();
    assert_eq!(keys.len(), 3);
    log.take();

    // A Core INSERT ... RETURNING: emulated on MariaDB (INSERT, then SELECT by key),
    // refused on SQLite before 3.35.
    let stmt = insert(Item::table())
        .values((Item::name.set("core"), Item::qty.set(9)))
        .returning(Item::qty);
    match dialect {
        Dialect::MariaDb => {
            let done = engine.execute(&stmt).await.unwrap();
            assert_eq!(done.rows()[0].get::<i32>(0).unwrap(), 9);
            let sent = log.take();
            assert!(
                sent.iter()
                    .any(|s| s.starts_with("INSERT") && !s.contains("RETURNING"))
            );
            assert!(sent.iter().any(|s| s.starts_with("SELECT")), "{sent:?}");
        }
        _ => {
            let err = engine.execute(&stmt).await.unwrap_err();
            assert_eq!(
                err.to_string(),
                "INSERT ... RETURNING is not supported by the server, SQLite 3.34.1: it needs SQLite 3.35.0 or later"
            );
            assert_eq!(log.take(), Vec::<String>::new());
        }
    }
    // ModelSql built for the engine's server leaves RETURNING off; for the bare dialect
    // (the latest server) it has it.
    let sql = orm::model::ModelSql::build::<Item>(engine.server()).unwrap();
    assert!(
        !sql.insert.sql().contains("RETURNING"),
        "{}",
        sql.insert.sql()
    );
    assert!(Item::sql(dialect).insert.sql().contains("RETURNING"));
    drop(session);
    engine.close().await;
}

/// A `Capabilities` value can be built and compared by users too.
#[test]
fn capabilities_are_values() {
    let maria = Capabilities::of(Dialect::MariaDb, Some(ServerVersion::new(10, 4, 0)));
    assert!(!maria.has(Feature::InsertReturning));
    assert_eq!(
        maria.with(Feature::InsertReturning),
        Capabilities::of(Dialect::MariaDb, Some(ServerVersion::new(10, 5, 0)))
    );
}
