//! The same work done through `orm` and through hand-written sqlx, side by side, on
//! SQLite in memory (no network between the two, so the difference is the library's);
//! the multi-row INSERT also on a SQLite file and, with `ORM_TEST_POSTGRES_URL` set, on
//! PostgreSQL.
//!
//! `cargo bench -p orm --bench vs_sqlx`

#![allow(missing_docs)] // a benchmark binary

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use orm::prelude::*;
use sqlx::Row as _;

#[derive(Model, Debug, Clone)]
#[orm(table = "bench_users")]
pub struct BenchUser {
    #[orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
    pub karma: i32,
}

/// What hand-written sqlx code decodes into.
#[derive(Debug, Clone)]
pub struct PlainUser {
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
    pub karma: i32,
}

const DDL: &str = "CREATE TABLE bench_users (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, email TEXT, karma INTEGER NOT NULL)";

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (engine, pool) = rt.block_on(async {
        let engine = create_engine("sqlite::memory:").await.unwrap();
        engine.execute(text(DDL)).await.unwrap();
        // Pre-ping off, as the engine's default (SQLAlchemy's): sqlx's default pings at every
        // checkout, which would measure the ping, not the library.
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        sqlx::query(DDL).execute(&pool).await.unwrap();
        for i in 0..1000i64 {
            let email = (i % 3 != 0).then(|| format!("u{i}@example.com"));
            engine
                .execute(insert(BenchUser::table()).values((
                    BenchUser::id.set(i + 1),
                    BenchUser::name.set(format!("user{i}")),
                    BenchUser::email.set(email.clone()),
                    BenchUser::karma.set(i as i32),
                )))
                .await
                .unwrap();
            sqlx::query("INSERT INTO bench_users (id, name, email, karma) VALUES (?, ?, ?, ?)")
                .bind(i + 1)
                .bind(format!("user{i}"))
                .bind(email)
                .bind(i as i32)
                .execute(&pool)
                .await
                .unwrap();
        }
        (engine, pool)
    });

    let mut g = c.benchmark_group("get_by_primary_key");
    g.bench_function("sqlx", |b| {
        b.to_async(&rt).iter(|| async {
            let row = sqlx::query("SELECT id, name, email, karma FROM bench_users WHERE id = ?")
                .bind(black_box(500i64))
                .fetch_one(&pool)
                .await
                .unwrap();
            black_box(PlainUser {
                id: row.get(0),
                name: row.get(1),
                email: row.get(2),
                karma: row.get(3),
            })
        })
    });
    g.bench_function("orm_model_sql", |b| {
        b.to_async(&rt).iter(|| async {
            let sql = BenchUser::sql(engine.dialect());
            let stmt = orm::Compiled::new(
                sql.select_by_key.sql(),
                BenchUser::key_values(&black_box(500)),
            );
            let row = engine.fetch_one(stmt).await.unwrap();
            black_box(BenchUser::from_row(&row, 0).unwrap())
        })
    });
    g.bench_function("orm_select_built_each_time", |b| {
        b.to_async(&rt).iter(|| async {
            let stmt = select((
                BenchUser::id,
                BenchUser::name,
                BenchUser::email,
                BenchUser::karma,
            ))
            .filter(BenchUser::id.eq(black_box(500)));
            let row = engine.fetch_one(stmt).await.unwrap();
            black_box(BenchUser::from_row(&row, 0).unwrap())
        })
    });
    g.finish();

    let mut g = c.benchmark_group("fetch_1000_rows");
    g.bench_function("sqlx", |b| {
        b.to_async(&rt).iter(|| async {
            let rows = sqlx::query("SELECT id, name, email, karma FROM bench_users ORDER BY id")
                .fetch_all(&pool)
                .await
                .unwrap();
            let users: Vec<PlainUser> = rows
                .iter()
                .map(|row| PlainUser {
                    id: row.get(0),
                    name: row.get(1),
                    email: row.get(2),
                    karma: row.get(3),
                })
                .collect();
            black_box(users)
        })
    });
    g.bench_function("orm", |b| {
        b.to_async(&rt).iter(|| async {
            let stmt = select((
                BenchUser::id,
                BenchUser::name,
                BenchUser::email,
                BenchUser::karma,
            ))
            .order_by(BenchUser::id.asc());
            let rows = engine.fetch_all(stmt).await.unwrap();
            let users: Vec<BenchUser> = rows
                .iter()
                .map(|r| BenchUser::from_row(r, 0).unwrap())
                .collect();
            black_box(users)
        })
    });
    g.finish();

    let mut g = c.benchmark_group("update_one_row");
    let (pool, engine) = (&pool, &engine);
    g.bench_function("sqlx", |b| {
        b.to_async(&rt).iter_batched(
            || 7i32,
            |k| async move {
                sqlx::query("UPDATE bench_users SET karma = ? WHERE id = ?")
                    .bind(k)
                    .bind(42i64)
                    .execute(pool)
                    .await
                    .unwrap()
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("orm", |b| {
        b.to_async(&rt).iter_batched(
            || 7i32,
            |k| async move {
                engine
                    .execute(
                        update(BenchUser::table())
                            .set(BenchUser::karma.set(k))
                            .filter(BenchUser::id.eq(42)),
                    )
                    .await
                    .unwrap()
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

/// The table of the multi-row INSERT benchmark (no unique key but the generated one).
#[derive(Model, Debug, Clone)]
#[orm(table = "bench_insert")]
pub struct BenchInsert {
    #[orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
    pub karma: i32,
}

/// Rows inserted by one multi-row INSERT.
const INSERT_ROWS: usize = 1000;

/// The rows each iteration inserts, owned (as a program holds them before writing them).
fn insert_rows() -> Vec<(String, Option<String>, i32)> {
    (0..INSERT_ROWS)
        .map(|i| {
            let email = (i % 3 != 0).then(|| format!("u{i}@example.com"));
            (format!("user{i}"), email, i as i32)
        })
        .collect()
}

/// The SQL the ORM emits for [`INSERT_ROWS`] rows, written by hand once: the same text
/// (so the same prepared statement) on both sides. `placeholder(n)` spells the n-th
/// (1-based) parameter.
fn insert_sql(placeholder: impl Fn(usize) -> String) -> String {
    let mut sql = String::from(r#"INSERT INTO "bench_insert" ("name", "email", "karma") VALUES "#);
    for r in 0..INSERT_ROWS {
        if r > 0 {
            sql.push_str(", ");
        }
        let n = r * 3;
        sql.push_str(&format!(
            "({}, {}, {})",
            placeholder(n + 1),
            placeholder(n + 2),
            placeholder(n + 3)
        ));
    }
    sql
}

/// A 1,000-row multi-row INSERT: `insert(..).values_many(..)` against the same SQL text
/// with the same binds through sqlx. Each iteration starts from an empty table (emptied
/// outside the timing) and from owned rows.
fn bench_insert(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = std::env::temp_dir().join(format!("orm-bench-insert-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ddl = "CREATE TABLE bench_insert (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, email TEXT, karma INTEGER NOT NULL)";
    // Two files, one per side; WAL and synchronous=NORMAL on both (what a program
    // writing to SQLite sets), so the fsync of every commit does not hide the library.
    let (engine, pool) = rt.block_on(async {
        let orm_file = dir.join("orm.db");
        let sqlx_file = dir.join("sqlx.db");
        let engine = Engine::builder(&format!("sqlite://{}?mode=rwc", orm_file.display()))
            .journal_mode(orm::JournalMode::Wal)
            .synchronous(orm::Synchronous::Normal)
            .connect()
            .await
            .unwrap();
        engine.execute(text(ddl)).await.unwrap();
        let opts = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&sqlx_file)
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sqlx::sqlite::SqliteSynchronous::Normal);
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(opts)
            .await
            .unwrap();
        sqlx::query(ddl).execute(&pool).await.unwrap();
        (engine, pool)
    });
    let sql = insert_sql(|_| "?".to_owned());
    let mut g = c.benchmark_group("insert_1000_rows_sqlite_file");
    insert_pair(
        &mut g,
        &rt,
        &engine,
        &pool,
        &sql,
        "DELETE FROM bench_insert",
    );
    g.finish();
    drop((engine, pool));
    let _ = std::fs::remove_dir_all(&dir);

    let Ok(url) = std::env::var("ORM_TEST_POSTGRES_URL") else {
        return;
    };
    let (engine, pool) = rt.block_on(async {
        let engine = Engine::builder(url.as_str()).connect().await.unwrap();
        engine
            .execute(text("DROP TABLE IF EXISTS bench_insert"))
            .await
            .unwrap();
        engine
            .execute(text("CREATE TABLE bench_insert (id BIGSERIAL PRIMARY KEY, name VARCHAR NOT NULL, email TEXT, karma INTEGER NOT NULL)"))
            .await
            .unwrap();
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect(&url)
            .await
            .unwrap();
        (engine, pool)
    });
    let sql = insert_sql(|n| format!("${n}"));
    let mut g = c.benchmark_group("insert_1000_rows_postgres");
    insert_pair(&mut g, &rt, &engine, &pool, &sql, "TRUNCATE bench_insert");
    g.finish();
    rt.block_on(async {
        engine
            .execute(text("DROP TABLE bench_insert"))
            .await
            .unwrap();
    });
}

/// The sqlx and orm sides of the INSERT benchmark, on one database.
fn insert_pair<DB>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    rt: &tokio::runtime::Runtime,
    engine: &Engine,
    pool: &sqlx::Pool<DB>,
    sql: &str,
    empty: &str,
) where
    DB: sqlx::Database,
    for<'c> &'c sqlx::Pool<DB>: sqlx::Executor<'c, Database = DB>,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> i32: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    g.sample_size(30);
    // `iter_custom`: each iteration empties the table and makes its rows outside the
    // timed span.
    g.bench_function("sqlx", |b| {
        b.to_async(rt).iter_custom(|iters| async move {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                sqlx::query(empty).execute(pool).await.unwrap();
                let rows = insert_rows();
                let started = Instant::now();
                let mut q = sqlx::query(sql);
                for (name, email, karma) in rows {
                    q = q.bind(name).bind(email).bind(karma);
                }
                black_box(q.execute(pool).await.unwrap());
                total += started.elapsed();
            }
            total
        })
    });
    g.bench_function("orm", |b| {
        b.to_async(rt).iter_custom(|iters| async move {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                engine.execute(text(empty)).await.unwrap();
                let rows = insert_rows();
                let started = Instant::now();
                let stmt = insert(BenchInsert::table()).values_many(
                    rows.into_iter()
                        .map(|(name, email, karma)| {
                            (
                                BenchInsert::name.set(name),
                                BenchInsert::email.set(email),
                                BenchInsert::karma.set(karma),
                            )
                        })
                        .collect::<Vec<_>>(),
                );
                let done = engine.execute(stmt).await.unwrap();
                total += started.elapsed();
                assert_eq!(done.rows_affected(), INSERT_ROWS as u64);
            }
            total
        })
    });
}

criterion_group!(benches, bench, bench_insert);
criterion_main!(benches);
