//! The 1,000-row multi-row INSERT of `vs_sqlx`, timed with the two sides interleaved
//! iteration by iteration (sqlx, orm, sqlx, orm...), so that a loaded machine slows
//! both alike; prints each side's median and the orm/sqlx ratio of the medians. SQLite
//! on a file, and PostgreSQL when `ORM_TEST_POSTGRES_URL` is set.
//!
//! `cargo bench -p orm --bench insert_interleaved [-- ITERATIONS]`

#![allow(missing_docs)] // a benchmark binary

use std::time::{Duration, Instant};

use orm::prelude::*;

#[derive(Model, Debug, Clone)]
#[orm(table = "bench_insert")]
pub struct BenchInsert {
    #[orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
    pub karma: i32,
}

const ROWS: usize = 1000;

fn rows() -> Vec<(String, Option<String>, i32)> {
    (0..ROWS)
        .map(|i| {
            let email = (i % 3 != 0).then(|| format!("u{i}@example.com"));
            (format!("user{i}"), email, i as i32)
        })
        .collect()
}

fn sql(placeholder: impl Fn(usize) -> String) -> String {
    let mut sql = String::from(r#"INSERT INTO "bench_insert" ("name", "email", "karma") VALUES "#);
    for r in 0..ROWS {
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

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn run<DB>(
    label: &str,
    iterations: usize,
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
    let (mut s_times, mut o_times) = (Vec::new(), Vec::new());
    // Two warm-up rounds (prepared statements, caches), then the timed ones.
    for i in 0..iterations + 2 {
        sqlx::query(empty).execute(pool).await.unwrap();
        let data = rows();
        let started = Instant::now();
        let mut q = sqlx::query(sql);
        for (name, email, karma) in data {
            q = q.bind(name).bind(email).bind(karma);
        }
        std::hint::black_box(q.execute(pool).await.unwrap());
        let s = started.elapsed();

        engine.execute(text(empty)).await.unwrap();
        let data = rows();
        let started = Instant::now();
        let stmt = insert(BenchInsert::table()).values_many(
            data.into_iter()
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
        let o = started.elapsed();
        assert_eq!(done.rows_affected(), ROWS as u64);
        if i >= 2 {
            s_times.push(s);
            o_times.push(o);
        }
    }
    let (s, o) = (median(s_times), median(o_times));
    println!(
        "{label}: {iterations} interleaved iterations; median sqlx {:.3} ms, orm {:.3} ms, ratio {:.3}",
        s.as_secs_f64() * 1e3,
        o.as_secs_f64() * 1e3,
        o.as_secs_f64() / s.as_secs_f64()
    );
}

fn main() {
    let iterations: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = std::env::temp_dir().join(format!("orm-insert-interleaved-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ddl = "CREATE TABLE bench_insert (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, email TEXT, karma INTEGER NOT NULL)";
        let engine = Engine::builder(&format!("sqlite://{}?mode=rwc", dir.join("orm.db").display()))
            .journal_mode(orm::JournalMode::Wal)
            .synchronous(orm::Synchronous::Normal)
            .connect()
            .await
            .unwrap();
        engine.execute(text(ddl)).await.unwrap();
        let opts = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(dir.join("sqlx.db"))
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
        run("sqlite file", iterations, &engine, &pool, &sql(|_| "?".to_owned()), "DELETE FROM bench_insert").await;
        drop((engine, pool));
        let _ = std::fs::remove_dir_all(&dir);

        let Ok(url) = std::env::var("ORM_TEST_POSTGRES_URL") else {
            return;
        };
        let engine = Engine::builder(url.as_str()).connect().await.unwrap();
        engine.execute(text("DROP TABLE IF EXISTS bench_insert")).await.unwrap();
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
        run("postgres", iterations, &engine, &pool, &sql(|n| format!("${n}")), "TRUNCATE bench_insert").await;
        engine.execute(text("DROP TABLE bench_insert")).await.unwrap();
    });
}
