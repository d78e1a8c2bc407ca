//! `orm` side by side with hand-written sqlx, SeaORM and Diesel (issue 12).
//!
//! ```sh
//! cd benchmarks && cargo run --release -- --backend all
//! ```
//!
//! Every contestant runs in this one process, on the same database and rows. For each
//! workload every contestant runs once untimed and its answer (row count and a digest of
//! every value, or of what it wrote as the database reads it back) must equal the
//! hand-written sqlx answer; then the contestants take turns, round-robin with a rotating
//! start, and the median of each is reported. The table goes to `RESULTS.md`.

mod data;
mod diesel_side;
mod hand;
mod orm_side;
mod sea_side;

use std::collections::HashMap;
use std::error::Error;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::Connection as _;
use diesel::RunQueryDsl as _;
use orm::prelude::*;
use sqlx::ConnectOptions as _;
use sqlx::Connection as _;

use crate::data::*;

type Res<T> = Result<T, Box<dyn Error>>;

/// Who runs a workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Who {
    Core,
    Session,
    SqlxPool,
    SqlxConn,
    SeaOrm,
    Diesel,
}

const EVERYONE: [Who; 6] = [
    Who::Core,
    Who::Session,
    Who::SqlxPool,
    Who::SqlxConn,
    Who::SeaOrm,
    Who::Diesel,
];

impl Who {
    fn title(self) -> &'static str {
        match self {
            Who::Core => "orm Core",
            Who::Session => "orm Session",
            Who::SqlxPool => "sqlx (pool)",
            Who::SqlxConn => "sqlx (1 conn)",
            Who::SeaOrm => "SeaORM",
            Who::Diesel => "Diesel",
        }
    }
}

/// What is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Work {
    GetByPk,
    LoadAll,
    JoinPairs,
    EagerTwo,
    EagerJoin,
    InsertBatched,
    InsertEach,
    Flush,
    IdentityHits,
    CompileCached,
}

const ALL_WORK: [Work; 10] = [
    Work::GetByPk,
    Work::LoadAll,
    Work::JoinPairs,
    Work::EagerTwo,
    Work::EagerJoin,
    Work::InsertBatched,
    Work::InsertEach,
    Work::Flush,
    Work::IdentityHits,
    Work::CompileCached,
];

impl Work {
    fn key(self) -> &'static str {
        match self {
            Work::GetByPk => "get_by_pk",
            Work::LoadAll => "load_all",
            Work::JoinPairs => "join_pairs",
            Work::EagerTwo => "eager_two_queries",
            Work::EagerJoin => "eager_one_join",
            Work::InsertBatched => "insert_batched",
            Work::InsertEach => "insert_each_tx",
            Work::Flush => "flush_users_posts",
            Work::IdentityHits => "identity_map_hits",
            Work::CompileCached => "statement_cache_hits",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Work::GetByPk => "1,000 lookups by primary key",
            Work::LoadAll => "10,000 rows into structs",
            Work::JoinPairs => "join + filter + order + limit 100, pairs",
            Work::EagerTwo => "1,000 users + 10,000 posts, two queries [^eager]",
            Work::EagerJoin => "1,000 users + 10,000 posts, one join [^eager]",
            Work::InsertBatched => "insert 1,000 rows, batched",
            Work::InsertEach => "insert 1,000 rows one by one, one transaction",
            Work::Flush => "1,000 users + 3,000 posts linked by relationship [^flush]",
            Work::IdentityHits => "identity map: 1,000 `get` hits [^imap]",
            Work::CompileCached => "build + compile a join 1,000 times [^cache]",
        }
    }

    /// Whether the answer is what the database holds afterwards.
    fn writes(self) -> bool {
        matches!(self, Work::InsertBatched | Work::InsertEach | Work::Flush)
    }

    fn runs(self, who: Who) -> bool {
        match self {
            Work::IdentityHits => matches!(who, Who::Session | Who::SqlxPool),
            Work::CompileCached => matches!(who, Who::Core | Who::SqlxPool | Who::SeaOrm),
            _ => true,
        }
    }
}

enum HandAny {
    Sqlite(hand::sqlite::Hand),
    Postgres(hand::postgres::Hand),
    MySql(hand::mysql::Hand),
}

enum DieselAny {
    Sqlite(diesel::SqliteConnection),
    Postgres(diesel::PgConnection),
    MySql(diesel::MysqlConnection),
}

/// Runs `$e` with `$h` bound to the backend's hand-written contestant.
macro_rules! hand {
    ($env:expr, $h:ident => $e:expr) => {
        match &mut $env.hand {
            HandAny::Sqlite($h) => $e,
            HandAny::Postgres($h) => $e,
            HandAny::MySql($h) => $e,
        }
    };
}

/// Runs `$f` of the backend's Diesel module on its connection.
macro_rules! diesel_call {
    ($env:expr, $f:ident $(, $arg:expr)*) => {
        match &mut $env.diesel {
            DieselAny::Sqlite(c) => diesel_side::sqlite::$f(c $(, $arg)*),
            DieselAny::Postgres(c) => diesel_side::postgres::$f(c $(, $arg)*),
            DieselAny::MySql(c) => diesel_side::mysql::$f(c $(, $arg)*),
        }
    };
}

/// Everything the contestants run on, for one backend.
struct Env {
    backend: Backend,
    engine: Engine,
    hand: HandAny,
    sea: sea_orm::DatabaseConnection,
    diesel: DieselAny,
    keys: Vec<i64>,
    rows: Vec<(String, Option<String>)>,
    colors: Vec<String>,
    imap: Option<(Session, HashMap<i64, Arc<orm_side::User>>)>,
    server_version: String,
    cleanup: Cleanup,
}

enum Cleanup {
    File(PathBuf),
    Postgres(String),
    MySql(String),
}

const SCHEMA: &str = "bench";

fn sqlite_file() -> PathBuf {
    std::env::temp_dir().join("orm-benchmarks.db")
}

fn remove_sqlite_files(file: &std::path::Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }
}

async fn sea_connect(url: &str, schema: Option<&str>) -> Res<sea_orm::DatabaseConnection> {
    let mut opt = sea_orm::ConnectOptions::new(url.to_owned());
    // As the engine's pool and the hand-written pools: no ping at checkout; and no
    // statement logging.
    opt.max_connections(5)
        .min_connections(1)
        .test_before_acquire(false)
        .sqlx_logging(false);
    if let Some(s) = schema {
        opt.set_schema_search_path(s);
    }
    Ok(sea_orm::Database::connect(opt).await?)
}

impl Env {
    async fn connect(backend: Backend) -> Res<Env> {
        let pg_base = std::env::var("BENCH_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let my_base = std::env::var("BENCH_MYSQL_URL")
            .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into());
        let mut env = match backend {
            Backend::Sqlite => {
                let file = sqlite_file();
                remove_sqlite_files(&file);
                let url = format!("sqlite://{}?mode=rwc", file.display());
                let opts: sqlx::sqlite::SqliteConnectOptions = url.parse()?;
                let opts = opts
                    .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                    .log_statements(log::LevelFilter::Off);
                let mut conn = opts.connect().await?;
                let pool = sqlx::pool::PoolOptions::new()
                    .max_connections(5)
                    .test_before_acquire(false)
                    .connect_with(opts.clone())
                    .await?;
                // Diesel gets the pragmas sqlx sets on its connections.
                let (sync, fks): (i64, i64) = (
                    sqlx::query_scalar("PRAGMA synchronous")
                        .fetch_one(&mut conn)
                        .await?,
                    sqlx::query_scalar("PRAGMA foreign_keys")
                        .fetch_one(&mut conn)
                        .await?,
                );
                let version: String = sqlx::query_scalar("SELECT sqlite_version()")
                    .fetch_one(&mut conn)
                    .await?;
                let mut d = diesel::SqliteConnection::establish(&file.display().to_string())?;
                diesel::sql_query(format!("PRAGMA synchronous = {sync}")).execute(&mut d)?;
                diesel::sql_query(format!("PRAGMA foreign_keys = {fks}")).execute(&mut d)?;
                diesel::sql_query("PRAGMA busy_timeout = 5000").execute(&mut d)?;
                let engine = create_engine(&url).await?;
                Env::assemble(
                    backend,
                    engine,
                    HandAny::Sqlite(hand::sqlite::Hand::new(pool, conn)),
                    sea_connect(&url, None).await?,
                    DieselAny::Sqlite(d),
                    format!("SQLite {version} (file, WAL, synchronous={sync})"),
                    Cleanup::File(file),
                )
            }
            Backend::Postgres => {
                let mut admin = sqlx::PgConnection::connect(&pg_base).await?;
                sqlx::query(&format!("DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
                    .execute(&mut admin)
                    .await?;
                sqlx::query(&format!("CREATE SCHEMA {SCHEMA}"))
                    .execute(&mut admin)
                    .await?;
                let version: String = sqlx::query_scalar("SHOW server_version")
                    .fetch_one(&mut admin)
                    .await?;
                admin.close().await?;
                let sep = if pg_base.contains('?') { '&' } else { '?' };
                let url = format!("{pg_base}{sep}options[search_path]={SCHEMA}");
                let opts: sqlx::postgres::PgConnectOptions = url.parse()?;
                let opts = opts.log_statements(log::LevelFilter::Off);
                let conn = opts.connect().await?;
                let pool = sqlx::pool::PoolOptions::new()
                    .max_connections(5)
                    .test_before_acquire(false)
                    .connect_with(opts)
                    .await?;
                let d = diesel::PgConnection::establish(&format!(
                    "{pg_base}{sep}options=-csearch_path%3D{SCHEMA}"
                ))?;
                let engine = create_engine(&url).await?;
                Env::assemble(
                    backend,
                    engine,
                    HandAny::Postgres(hand::postgres::Hand::new(pool, conn)),
                    sea_connect(&pg_base, Some(SCHEMA)).await?,
                    DieselAny::Postgres(d),
                    format!("PostgreSQL {version}"),
                    Cleanup::Postgres(pg_base),
                )
            }
            Backend::MySql => {
                let mut admin = sqlx::MySqlConnection::connect(&my_base).await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {SCHEMA}"))
                    .execute(&mut admin)
                    .await?;
                sqlx::query(&format!("CREATE DATABASE {SCHEMA}"))
                    .execute(&mut admin)
                    .await?;
                let version: String = sqlx::query_scalar("SELECT VERSION()")
                    .fetch_one(&mut admin)
                    .await?;
                admin.close().await?;
                let (server, _) = my_base
                    .rsplit_once('/')
                    .ok_or("a MySQL URL names a database")?;
                let url = format!("{server}/{SCHEMA}");
                let opts: sqlx::mysql::MySqlConnectOptions = url.parse()?;
                let opts = opts.log_statements(log::LevelFilter::Off);
                let conn = opts.connect().await?;
                let pool = sqlx::pool::PoolOptions::new()
                    .max_connections(5)
                    .test_before_acquire(false)
                    .connect_with(opts)
                    .await?;
                let d = diesel::MysqlConnection::establish(&url)?;
                let engine = create_engine(&url).await?;
                Env::assemble(
                    backend,
                    engine,
                    HandAny::MySql(hand::mysql::Hand::new(pool, conn)),
                    sea_connect(&url, None).await?,
                    DieselAny::MySql(d),
                    format!("MariaDB/MySQL {version}"),
                    Cleanup::MySql(my_base),
                )
            }
        };
        hand!(env, h => h.create_and_seed().await?);
        if backend == Backend::Postgres {
            env.engine.execute(text("ANALYZE")).await?;
        }
        env.imap = Some(orm_side::loaded_session(&env.engine).await?);
        Ok(env)
    }

    fn assemble(
        backend: Backend,
        engine: Engine,
        hand: HandAny,
        sea: sea_orm::DatabaseConnection,
        diesel: DieselAny,
        server_version: String,
        cleanup: Cleanup,
    ) -> Env {
        Env {
            backend,
            engine,
            hand,
            sea,
            diesel,
            keys: lookup_keys(),
            rows: (0..INSERTS).map(new_user).collect(),
            colors: (0..LOOKUPS).map(|i| format!("color {i}")).collect(),
            imap: None,
            server_version,
            cleanup,
        }
    }

    async fn close(self) -> Res<()> {
        drop(self.imap);
        self.engine.close().await;
        match self.hand {
            HandAny::Sqlite(h) => h.close().await,
            HandAny::Postgres(h) => h.close().await,
            HandAny::MySql(h) => h.close().await,
        }
        let _ = self.sea.close().await;
        drop(self.diesel);
        match self.cleanup {
            Cleanup::File(file) => remove_sqlite_files(&file),
            Cleanup::Postgres(base) => {
                let mut admin = sqlx::PgConnection::connect(&base).await?;
                sqlx::query(&format!("DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
                    .execute(&mut admin)
                    .await?;
            }
            Cleanup::MySql(base) => {
                let mut admin = sqlx::MySqlConnection::connect(&base).await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {SCHEMA}"))
                    .execute(&mut admin)
                    .await?;
            }
        }
        Ok(())
    }
}

// ---- running a workload

/// Untimed work before each run: the write workloads start from the seeded rows (and on
/// SQLite from an empty write-ahead log).
async fn prepare(env: &mut Env, w: Work) -> Res<()> {
    if w.writes() {
        hand!(env, h => h.delete_new().await?);
        // Every write run starts from an empty WAL, so that no contestant's commit pays
        // for a checkpoint of what the others wrote.
        if let HandAny::Sqlite(h) = &mut env.hand {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&h.pool)
                .await?;
        }
    }
    Ok(())
}

/// One run of `w` by `who`. With `check`, returns the digest of the answer (the rows read,
/// or for a write workload `None`: the caller reads the database). Without, the answer
/// is dropped inside the run (freeing it is part of the work).
async fn run(env: &mut Env, w: Work, who: Who, check: bool) -> Res<Option<Digest>> {
    let engine = &env.engine;
    let keys = &env.keys[..];
    let rows = &env.rows[..];
    let d = match (w, who) {
        // ---- lookups by key
        (Work::GetByPk, Who::Core) => {
            let r = orm_side::core_get_by_pk(engine, keys).await?;
            check.then(|| orm_side::digest_users(&r, true))
        }
        (Work::GetByPk, Who::Session) => {
            let r = orm_side::session_get_by_pk(engine, keys).await?;
            check.then(|| orm_side::digest_objs(&r, true))
        }
        (Work::GetByPk, Who::SqlxPool | Who::SqlxConn) => {
            let c = who == Who::SqlxConn;
            let r = hand!(env, h => h.get_by_pk(c, keys).await?);
            check.then(|| hand::digest_users_ordered(&r))
        }
        (Work::GetByPk, Who::SeaOrm) => {
            let r = sea_side::get_by_pk(&env.sea, keys).await?;
            check.then(|| sea_side::digest_users(&r, true))
        }
        (Work::GetByPk, Who::Diesel) => {
            let r = diesel_call!(env, get_by_pk, keys)?;
            check.then(|| diesel_side::digest_users(&r, true))
        }
        // ---- every row
        (Work::LoadAll, Who::Core) => {
            let r = orm_side::core_load_all(engine).await?;
            check.then(|| orm_side::digest_users(&r, false))
        }
        (Work::LoadAll, Who::Session) => {
            let r = orm_side::session_load_all(engine).await?;
            check.then(|| orm_side::digest_objs(&r, false))
        }
        (Work::LoadAll, Who::SqlxPool | Who::SqlxConn) => {
            let c = who == Who::SqlxConn;
            let r = hand!(env, h => h.load_all(c).await?);
            check.then(|| hand::digest_users(&r))
        }
        (Work::LoadAll, Who::SeaOrm) => {
            let r = sea_side::load_all(&env.sea).await?;
            check.then(|| sea_side::digest_users(&r, false))
        }
        (Work::LoadAll, Who::Diesel) => {
            let r = diesel_call!(env, load_all)?;
            check.then(|| diesel_side::digest_users(&r, false))
        }
        // ---- the join
        (Work::JoinPairs, Who::Core) => {
            let r = orm_side::core_join_pairs(engine).await?;
            check.then(|| orm_side::digest_pairs(&r))
        }
        (Work::JoinPairs, Who::Session) => {
            let r = orm_side::session_join_pairs(engine).await?;
            check.then(|| orm_side::digest_obj_pairs(&r))
        }
        (Work::JoinPairs, Who::SqlxPool | Who::SqlxConn) => {
            let c = who == Who::SqlxConn;
            let r = hand!(env, h => h.join_pairs(c).await?);
            check.then(|| hand::digest_pairs(&r))
        }
        (Work::JoinPairs, Who::SeaOrm) => {
            let r = sea_side::join_pairs(&env.sea).await?;
            check.then(|| sea_side::digest_pairs(&r))
        }
        (Work::JoinPairs, Who::Diesel) => {
            let r = diesel_call!(env, join_pairs)?;
            check.then(|| diesel_side::digest_pairs(&r))
        }
        // ---- eager loading
        (Work::EagerTwo | Work::EagerJoin, Who::Session) => {
            let r = orm_side::session_eager(engine, w == Work::EagerJoin).await?;
            check.then(|| orm_side::digest_obj_tree(&r))
        }
        (Work::EagerTwo, Who::Core) => {
            let r = orm_side::core_eager_two(engine).await?;
            check.then(|| orm_side::digest_tree(&r))
        }
        (Work::EagerJoin, Who::Core) => {
            let r = orm_side::core_eager_join(engine).await?;
            check.then(|| orm_side::digest_tree(&r))
        }
        (Work::EagerTwo, Who::SqlxPool | Who::SqlxConn) => {
            let c = who == Who::SqlxConn;
            let r = hand!(env, h => h.eager_two(c).await?);
            check.then(|| hand::digest_tree(&r))
        }
        (Work::EagerJoin, Who::SqlxPool | Who::SqlxConn) => {
            let c = who == Who::SqlxConn;
            let r = hand!(env, h => h.eager_join(c).await?);
            check.then(|| hand::digest_tree(&r))
        }
        (Work::EagerTwo, Who::SeaOrm) => {
            let r = sea_side::eager_two(&env.sea).await?;
            check.then(|| sea_side::digest_tree(&r))
        }
        (Work::EagerJoin, Who::SeaOrm) => {
            let r = sea_side::eager_join(&env.sea).await?;
            check.then(|| sea_side::digest_tree(&r))
        }
        (Work::EagerTwo, Who::Diesel) => {
            let r = diesel_call!(env, eager_two)?;
            check.then(|| diesel_side::digest_tree(&r))
        }
        (Work::EagerJoin, Who::Diesel) => {
            let r = diesel_call!(env, eager_join)?;
            check.then(|| diesel_side::digest_tree(&r))
        }
        // ---- writes: checked by reading the database back
        (Work::InsertBatched, Who::Core) => {
            orm_side::core_insert_batched(engine, rows).await?;
            None
        }
        (Work::InsertBatched, Who::Session) => {
            let r = orm_side::session_insert_batched(engine, rows).await?;
            if check {
                assert!(
                    r.iter().all(|u| u.read().unwrap().id > USERS),
                    "keys assigned"
                );
            }
            None
        }
        (Work::InsertBatched, Who::SqlxPool | Who::SqlxConn) => {
            let c = who == Who::SqlxConn;
            hand!(env, h => h.insert_batched(c, rows).await?);
            None
        }
        (Work::InsertBatched, Who::SeaOrm) => {
            sea_side::insert_batched(&env.sea, rows).await?;
            None
        }
        (Work::InsertBatched, Who::Diesel) => {
            diesel_call!(env, insert_batched, rows)?;
            None
        }
        (Work::InsertEach, Who::Core) => {
            orm_side::core_insert_each(engine, rows).await?;
            None
        }
        (Work::InsertEach, Who::Session) => {
            let r = orm_side::session_insert_each(engine, rows).await?;
            if check {
                assert!(
                    r.iter().all(|u| u.read().unwrap().id > USERS),
                    "keys assigned"
                );
            }
            None
        }
        (Work::InsertEach, Who::SqlxPool | Who::SqlxConn) => {
            let c = who == Who::SqlxConn;
            hand!(env, h => h.insert_each(c, rows).await?);
            None
        }
        (Work::InsertEach, Who::SeaOrm) => {
            sea_side::insert_each(&env.sea, rows).await?;
            None
        }
        (Work::InsertEach, Who::Diesel) => {
            diesel_call!(env, insert_each, rows)?;
            None
        }
        (Work::Flush, Who::Session) => {
            let r = orm_side::session_flush(engine, rows).await?;
            if check {
                for u in &r {
                    let u = u.read().unwrap();
                    assert!(u.id > USERS);
                    for p in u.posts.get()? {
                        assert_eq!(p.read().unwrap().user_id, u.id, "post linked");
                    }
                }
            }
            None
        }
        (Work::Flush, _) => {
            let ids = match who {
                Who::Core => orm_side::core_flush(engine, rows).await?,
                Who::SqlxPool | Who::SqlxConn => {
                    let c = who == Who::SqlxConn;
                    hand!(env, h => h.flush(c, rows).await?)
                }
                Who::SeaOrm => sea_side::flush(&env.sea, rows).await?,
                Who::Diesel => diesel_call!(env, flush, rows)?,
                Who::Session => unreachable!(),
            };
            if check {
                hand!(env, h => h.check_ids(&ids, rows).await?);
            }
            None
        }
        // ---- no database
        (Work::IdentityHits, Who::Session) => {
            let (session, _) = env.imap.as_mut().expect("loaded");
            let r = orm_side::session_get_hits(session, keys).await?;
            assert!(!session.in_transaction(), "a hit sends no SQL");
            check.then(|| orm_side::digest_objs(&r, true))
        }
        (Work::IdentityHits, Who::SqlxPool) => {
            let (_, map) = env.imap.as_ref().expect("loaded");
            let r: Vec<Arc<orm_side::User>> = keys
                .iter()
                .map(|k| map.get(std::hint::black_box(k)).cloned().expect("loaded"))
                .collect();
            check.then(|| {
                let users: Vec<orm_side::User> = r.iter().map(|u| (**u).clone()).collect();
                orm_side::digest_users(&users, true)
            })
        }
        (Work::CompileCached, Who::Core) => {
            let r = orm_side::core_compile(engine.dialect(), &env.colors);
            check.then(|| {
                let mut d = Digest::default();
                for (c, color) in r.iter().zip(&env.colors) {
                    assert!(c.binds().contains(&Value::Text(color.clone())), "{c:?}");
                    d.add(hash(color));
                }
                d
            })
        }
        (Work::CompileCached, Who::SqlxPool) => {
            let colors = &env.colors;
            hand!(env, h => {
                let r = h.build_statements(colors);
                check.then(|| {
                    let mut d = Digest::default();
                    for (_, color) in r.iter().zip(colors) {
                        d.add(hash(color));
                    }
                    d
                })
            })
        }
        (Work::CompileCached, Who::SeaOrm) => {
            let backend = match env.backend {
                Backend::Sqlite => sea_orm::DbBackend::Sqlite,
                Backend::Postgres => sea_orm::DbBackend::Postgres,
                Backend::MySql => sea_orm::DbBackend::MySql,
            };
            let r = sea_side::compile(backend, &env.colors);
            check.then(|| {
                let mut d = Digest::default();
                for (s, color) in r.iter().zip(&env.colors) {
                    assert!(format!("{:?}", s.values).contains(color.as_str()), "{s:?}");
                    d.add(hash(color));
                }
                d
            })
        }
        (w, who) => unreachable!("{w:?} is not run by {who:?}"),
    };
    Ok(d)
}

/// Runs every contestant of `w` once, untimed, and checks each answer against the
/// hand-written one (the first that runs).
async fn check(env: &mut Env, w: Work, whos: &[Who]) -> Res<Digest> {
    let mut reference: Option<(Who, Digest)> = None;
    for &who in whos {
        prepare(env, w).await?;
        let d = match run(env, w, who, true).await? {
            Some(d) => d,
            None => hand!(env, h => h.new_rows_digest().await?),
        };
        match reference {
            None => reference = Some((who, d)),
            Some((r, rd)) => {
                if d != rd {
                    return Err(format!(
                        "{}: {} answered {d:?}, {} answered {rd:?}",
                        w.key(),
                        who.title(),
                        r.title()
                    )
                    .into());
                }
            }
        }
    }
    if w.writes() {
        prepare(env, w).await?;
    }
    Ok(reference.expect("someone ran").1)
}

/// Medians (and quartiles) of each contestant's runs.
#[derive(Debug, Clone, Copy)]
struct Stats {
    median: Duration,
    p25: Duration,
    p75: Duration,
}

/// A contestant's wall-clock and client-CPU statistics for one workload.
#[derive(Debug, Clone, Copy)]
struct Timing {
    wall: Stats,
    cpu: Stats,
}

/// CPU time this process has used so far, all threads (the benchmark's, tokio's,
/// sqlx's SQLite workers), not the database server's.
fn cpu_now() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant libc knows.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn stats(mut v: Vec<Duration>) -> Stats {
    v.sort_unstable();
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    Stats {
        median: at(0.5),
        p25: at(0.25),
        p75: at(0.75),
    }
}

/// Checks, warms up, then times `w`: `samples` rounds, each running every contestant
/// once, the first contestant of a round rotating.
async fn measure(
    env: &mut Env,
    w: Work,
    samples: usize,
    who: &[Who],
) -> Res<(Digest, HashMap<Who, Timing>)> {
    let whos: Vec<Who> = who.iter().copied().filter(|&who| w.runs(who)).collect();
    // The reference answer is the hand-written one.
    let mut order = whos.clone();
    order.sort_by_key(|&who| who != Who::SqlxPool);
    let digest = check(env, w, &order).await?;
    // Runs that take microseconds are repeated inside a sample.
    let reps = if matches!(w, Work::IdentityHits | Work::CompileCached) {
        10
    } else {
        1
    };
    let mut times: HashMap<Who, (Vec<Duration>, Vec<Duration>)> = HashMap::new();
    for round in 0..samples + 1 {
        for i in 0..whos.len() {
            let who = whos[(i + round) % whos.len()];
            let (mut wall, mut cpu) = (Duration::ZERO, Duration::ZERO);
            for _ in 0..reps {
                prepare(env, w).await?;
                let (start, start_cpu) = (Instant::now(), cpu_now());
                run(env, w, who, false).await?;
                wall += start.elapsed();
                cpu += cpu_now().saturating_sub(start_cpu);
            }
            // Round 0 warms up.
            if round > 0 {
                let t = times.entry(who).or_default();
                t.0.push(wall / reps);
                t.1.push(cpu / reps);
            }
        }
    }
    if w.writes() {
        prepare(env, w).await?;
    }
    Ok((
        digest,
        times
            .into_iter()
            .map(|(k, (wall, cpu))| {
                let t = Timing {
                    wall: stats(wall),
                    cpu: stats(cpu),
                };
                (k, t)
            })
            .collect(),
    ))
}

// ---- the report

fn fmt_duration(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1000.0 {
        format!("{us:.1} µs")
    } else if us < 10_000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else if us < 100_000.0 {
        format!("{:.1} ms", us / 1000.0)
    } else {
        format!("{:.0} ms", us / 1000.0)
    }
}

struct BackendResult {
    backend: Backend,
    server_version: String,
    rows: Vec<(Work, Digest, HashMap<Who, Timing>)>,
}

/// The Markdown table of one backend's wall-clock (or, with `cpu`, client CPU) medians.
fn table(r: &BackendResult, cpu: bool) -> String {
    let mut s = String::new();
    if cpu {
        let _ = writeln!(s, "#### {}: client CPU time\n", r.backend.name());
    } else {
        let _ = writeln!(s, "### {} ({})\n", r.backend.name(), r.server_version);
    }
    let _ = write!(s, "| workload |");
    for who in EVERYONE {
        let _ = write!(s, " {} |", who.title());
    }
    let _ = writeln!(s, " noise |");
    let _ = write!(s, "|---|");
    for _ in EVERYONE {
        let _ = write!(s, "---:|");
    }
    let _ = writeln!(s, "---:|");
    for (w, _, timings) in &r.rows {
        let stats: HashMap<Who, Stats> = timings
            .iter()
            .map(|(k, t)| (*k, if cpu { t.cpu } else { t.wall }))
            .collect();
        let _ = write!(s, "| {} |", w.title());
        let base = stats.get(&Who::SqlxPool).map(|b| b.median.as_secs_f64());
        let mut noise: f64 = 0.0;
        for who in EVERYONE {
            match stats.get(&who) {
                None => {
                    let _ = write!(s, " – |");
                }
                Some(st) => {
                    let m = st.median.as_secs_f64();
                    noise = noise.max((st.p75.as_secs_f64() - st.p25.as_secs_f64()) / m);
                    match base {
                        Some(b) if who != Who::SqlxPool => {
                            let _ = write!(s, " {} ({:.2}x) |", fmt_duration(st.median), m / b);
                        }
                        _ => {
                            let _ = write!(s, " {} |", fmt_duration(st.median));
                        }
                    }
                }
            }
        }
        let _ = writeln!(s, " {:.0}% |", noise * 100.0);
    }
    s
}

fn command_output(cmd: &str, args: &[&str]) -> String {
    std::process::Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "?".into())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "?".into())
}

/// Versions of the crates compared, from this crate's lock file.
fn crate_versions() -> String {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock"))
        .unwrap_or_default();
    let mut found = Vec::new();
    for name in [
        "sqlx",
        "sea-orm",
        "sea-query",
        "diesel",
        "tokio",
        "libsqlite3-sys",
    ] {
        let needle = format!("name = \"{name}\"\nversion = \"");
        if let Some(i) = lock.find(&needle) {
            let rest = &lock[i + needle.len()..];
            let v = rest.split('"').next().unwrap_or("?");
            found.push(format!("{name} {v}"));
        }
    }
    found.join(", ")
}

struct Args {
    backends: Vec<Backend>,
    samples: usize,
    work: Vec<Work>,
    out: Option<PathBuf>,
    update_readme: bool,
    who: Vec<Who>,
}

fn parse_args() -> Res<Args> {
    let mut backends = vec![Backend::Sqlite, Backend::Postgres, Backend::MySql];
    let mut samples = 30;
    let mut work = ALL_WORK.to_vec();
    let mut out = Some(PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/RESULTS.md"
    )));
    let mut update_readme = false;
    let mut who = EVERYONE.to_vec();
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--backend" => {
                let v = it.next().ok_or("--backend needs a value")?;
                backends = match v.as_str() {
                    "all" => backends,
                    _ => v
                        .split(',')
                        .map(|b| match b {
                            "sqlite" => Ok(Backend::Sqlite),
                            "postgres" | "pg" => Ok(Backend::Postgres),
                            "mariadb" | "mysql" => Ok(Backend::MySql),
                            other => Err(format!("unknown backend `{other}`")),
                        })
                        .collect::<Result<_, _>>()?,
                };
            }
            "--samples" => samples = it.next().ok_or("--samples needs a value")?.parse()?,
            "--quick" => {
                samples = 2;
                out = None;
            }
            "--work" => {
                let v = it.next().ok_or("--work needs a value")?;
                work = ALL_WORK
                    .iter()
                    .copied()
                    .filter(|w| v.split(',').any(|k| w.key().contains(k)))
                    .collect();
            }
            "--out" => out = Some(PathBuf::from(it.next().ok_or("--out needs a value")?)),
            "--no-out" => out = None,
            "--update-readme" => update_readme = true,
            "--who" => {
                // For profiling one contestant: the answers are still checked against
                // hand-written sqlx, which always runs.
                let v = it.next().ok_or("--who needs a value")?;
                who = EVERYONE
                    .iter()
                    .copied()
                    .filter(|w| {
                        *w == Who::SqlxPool
                            || v.split(',')
                                .any(|k| w.title().to_lowercase().contains(&k.to_lowercase()))
                    })
                    .collect();
            }
            "-h" | "--help" => {
                println!(
                    "usage: orm-benchmarks [--backend all|sqlite,postgres,mariadb] [--samples N] \
                     [--work get_by_pk,load_all,...] [--quick] [--out FILE | --no-out] [--update-readme] [--who core,session,...]\n\
                     URLs: BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test), \
                     BENCH_MYSQL_URL (default mysql://root@127.0.0.1:3306/test)"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument `{other}` (try --help)").into()),
        }
    }
    if samples == 0 {
        return Err("--samples must be at least 1".into());
    }
    Ok(Args {
        backends,
        samples,
        work,
        out,
        update_readme,
        who,
    })
}

fn main() -> Res<()> {
    let args = parse_args()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let load_before = loadavg();
    let started = Instant::now();
    let mut results = Vec::new();
    for &backend in &args.backends {
        eprintln!("== {}: creating and seeding", backend.name());
        let mut env = rt.block_on(Env::connect(backend))?;
        let mut rows = Vec::new();
        for &w in &args.work {
            let (d, st) = rt.block_on(measure(&mut env, w, args.samples, &args.who))?;
            let line: Vec<String> = EVERYONE
                .iter()
                .filter_map(|who| {
                    st.get(who).map(|t| {
                        format!(
                            "{} {} (cpu {})",
                            who.title(),
                            fmt_duration(t.wall.median),
                            fmt_duration(t.cpu.median)
                        )
                    })
                })
                .collect();
            eprintln!(
                "{} {} (checked: {} rows): {}",
                backend.name(),
                w.key(),
                d.rows,
                line.join(", ")
            );
            rows.push((w, d, st));
        }
        results.push(BackendResult {
            backend,
            server_version: env.server_version.clone(),
            rows,
        });
        rt.block_on(env.close())?;
    }
    let load_after = loadavg();
    let mut md = String::new();
    let _ = writeln!(
        md,
        "<!-- written by `cd benchmarks && cargo run --release -- {}` -->",
        std::env::args().skip(1).collect::<Vec<_>>().join(" ")
    );
    let _ = writeln!(
        md,
        "Medians of {} runs each, and the ratio to hand-written sqlx on its pool (lower is faster).\n",
        args.samples
    );
    let _ = writeln!(
        md,
        "- date: {} (took {:.0} s)\n- machine: {} cores ({}), load average before {} / after {}\n- orm at {}; {}; {}\n- command: `cd benchmarks && cargo run --release -- {}`\n",
        command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        started.elapsed().as_secs_f64(),
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        cpu_model(),
        load_before,
        load_after,
        command_output("git", &["rev-parse", "--short", "HEAD"]),
        command_output("rustc", &["--version"]),
        crate_versions(),
        std::env::args().skip(1).collect::<Vec<_>>().join(" "),
    );
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let busy = [&load_before, &load_after].iter().any(|l| {
        l.split_whitespace()
            .next()
            .and_then(|x| x.parse::<f64>().ok())
            .is_some_and(|x| x > cores)
    });
    if busy {
        let _ = writeln!(
            md,
            "**The machine was busy while this ran (load above its {cores} cores): other work \
             competed for the CPU, so treat these numbers as rough and rerun on a quiet machine.**\n"
        );
    }
    for r in &results {
        md.push_str(&table(r, false));
        md.push('\n');
    }
    md.push_str(CPU_NOTE);
    for r in &results {
        md.push_str(&table(r, true));
        md.push('\n');
    }
    md.push_str(&goals(&results));
    md.push_str(NOTES);
    println!("{md}");
    if let Some(out) = &args.out {
        std::fs::write(out, &md)?;
        eprintln!("wrote {}", out.display());
    }
    if args.update_readme {
        update_readme(&md)?;
    }
    Ok(())
}

/// Replaces the text between the root README's benchmark markers with `md`.
fn update_readme(md: &str) -> Res<()> {
    const START: &str = "<!-- benchmarks:start -->";
    const END: &str = "<!-- benchmarks:end -->";
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
    let readme = std::fs::read_to_string(path)?;
    let (Some(a), Some(b)) = (readme.find(START), readme.find(END)) else {
        return Err(format!("{path} has no {START} ... {END} markers").into());
    };
    let body = md.trim_end();
    let new = format!("{}{START}\n{body}\n{}", &readme[..a], &readme[b..]);
    std::fs::write(path, new)?;
    eprintln!("updated {path}");
    Ok(())
}

/// The issue's goals, checked against the wall-clock medians: every cell that misses one.
fn goals(results: &[BackendResult]) -> String {
    let median =
        |t: &HashMap<Who, Timing>, who: Who| t.get(&who).map(|t| t.wall.median.as_secs_f64());
    // (goal, misses as "backend workload ratio").
    let mut misses: Vec<(String, Vec<String>)> = vec![
        ("Core within 1.05x of hand-written sqlx (pool)".into(), Vec::new()),
        ("Session within 1.15x of the Core".into(), Vec::new()),
        ("Core faster than SeaORM".into(), Vec::new()),
        ("Session faster than SeaORM".into(), Vec::new()),
        (
            "PostgreSQL: faster than Diesel where strategy matters (batched inserts, eager loading)"
                .into(),
            Vec::new(),
        ),
        ("PostgreSQL: within 1.2x of Diesel elsewhere".into(), Vec::new()),
    ];
    for r in results {
        for (w, _, t) in &r.rows {
            let noise = t
                .values()
                .map(|t| {
                    let s = t.wall;
                    (s.p75.as_secs_f64() - s.p25.as_secs_f64()) / s.median.as_secs_f64()
                })
                .fold(0.0, f64::max);
            let mut check = |goal: usize, who: &str, a: Option<f64>, b: Option<f64>, limit: f64| {
                if let (Some(a), Some(b)) = (a, b) {
                    let ratio = a / b;
                    let missed = if limit == 1.0 {
                        ratio >= 1.0
                    } else {
                        ratio > limit
                    };
                    if missed {
                        misses[goal].1.push(format!(
                            "{} `{}`{who} {ratio:.2}x (noise {:.0}%)",
                            r.backend.name(),
                            w.key(),
                            noise * 100.0
                        ));
                    }
                }
            };
            let (core, session) = (median(t, Who::Core), median(t, Who::Session));
            check(0, "", core, median(t, Who::SqlxPool), 1.05);
            check(1, "", session, core, 1.15);
            check(2, "", core, median(t, Who::SeaOrm), 1.0);
            check(3, "", session, median(t, Who::SeaOrm), 1.0);
            if r.backend == Backend::Postgres {
                let strategy = matches!(
                    w,
                    Work::InsertBatched | Work::Flush | Work::EagerTwo | Work::EagerJoin
                );
                let (goal, limit) = if strategy { (4, 1.0) } else { (5, 1.2) };
                let diesel = median(t, Who::Diesel);
                check(goal, " (Core)", core, diesel, limit);
                check(goal, " (Session)", session, diesel, limit);
            }
        }
    }
    let mut s = String::from(
        "### The issue's goals\n\nChecked on the wall-clock medians above, so as noisy as they \
         are: each miss with its ratio and its row's noise; a miss whose ratio is within the \
         noise may be the machine, not the library.\n\n",
    );
    for (goal, m) in misses {
        if m.is_empty() {
            let _ = writeln!(s, "- {goal}: met.");
        } else {
            let _ = writeln!(s, "- {goal}: missed on {}.", m.join(", "));
        }
    }
    s.push('\n');
    s
}

/// What the client-CPU tables show.
const CPU_NOTE: &str = "\
### Client CPU time

The same runs, measured in CPU time used by the benchmark process (every thread: the \
library, the driver, tokio, sqlx's SQLite worker threads; not the database server). Where \
the database does the same work for everyone, this is what each library costs, and it \
is less disturbed by a busy machine than wall-clock time. For SQLite, which runs inside \
the process, it includes SQLite's own work.

";

/// The footnotes under the tables.
const NOTES: &str = "\
`noise` is the largest spread between the 25th and 75th percentile of a row's cells, \
relative to their medians. `–`: the contestant has no such thing.

[^eager]: Users 1 to 1,000 ordered by key, each with its 10 posts. Two queries: \
`user_id IN (...)` with 1,000 keys (the Session: `selectinload(User::posts)`; SeaORM: \
`load_many`; Diesel: `belonging_to` + `grouped_by`). One join: `LEFT OUTER JOIN` grouped \
while reading (the Session: `joinedload(User::posts)`, one `LEFT OUTER JOIN` loaded as \
its rows are read; SeaORM: `find_with_related`; Diesel: `left_join` grouped by hand).
[^flush]: The Session adds users and posts and links them only with `user.posts.push(&post)`; \
the flush inserts users then posts with their foreign keys, every row's key learnt (on \
SQLite from `last_insert_rowid()`, the rows proven numbered consecutively; elsewhere read \
back). The others insert \
the users in one statement with their keys back (`RETURNING`; on MariaDB consecutive keys \
from `LAST_INSERT_ID()`, the way that also works on MySQL, which has no `RETURNING`; the \
Session uses MariaDB's `INSERT ... RETURNING`), then the posts in one statement, in one \
transaction.
[^imap]: The Session's `get` of objects already loaded (no SQL); the sqlx (pool) column is \
the floor: a `HashMap<i64, Arc<User>>` lookup and clone of the `Arc`.
[^cache]: The join statement built with a new bind value and turned into SQL 1,000 times, \
nothing executed. `orm`: `select(...)...compile(dialect)` (a statement-cache hit after the \
first); sqlx: `sqlx::query(SQL).bind(v)` on a constant string (the floor); SeaORM: its \
query builder rendering SQL each time. Diesel's SQL for a statement of fixed shape is \
cached by type inside its connection and cannot be timed apart from executing.
";
