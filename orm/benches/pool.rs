//! The engine's pool against sqlx: 1,000 primary-key lookups through
//! `engine.fetch_one` (a checkout and a return per lookup), through one checked-out orm
//! `Connection` (the engine without its pool), through hand-written sqlx on its default
//! pool, on deadpool (a pool crate, for comparison with the engine's own pool), and on
//! one dedicated connection (no pool at all: the floor). Then the pools alone: 1,000
//! checkouts and returns through the engine and through deadpool. SQLite on a file, and PostgreSQL when `ORM_TEST_POSTGRES_URL` is
//! set.
//!
//! `ORM_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test cargo bench -p orm --bench pool`

#![allow(missing_docs)] // a benchmark binary

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use orm::{Engine, text};
use sqlx::{Connection as _, Row as _};

const LOOKUPS: i64 = 1_000;
const TABLE: &str = "orm_bench_pool";

/// One database, reached three ways.
struct Target {
    name: &'static str,
    url: String,
    /// The lookup with the driver's placeholder.
    sqlx_sql: String,
}

fn targets() -> Vec<Target> {
    let file = std::env::temp_dir().join("orm_bench_pool.db");
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }
    let mut out = vec![Target {
        name: "sqlite",
        url: format!("sqlite://{}?mode=rwc", file.display()),
        sqlx_sql: format!("SELECT id, name, karma FROM {TABLE} WHERE id = ?"),
    }];
    if let Some(url) = std::env::var("ORM_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        out.push(Target {
            name: "postgres",
            url,
            sqlx_sql: format!("SELECT id, name, karma FROM {TABLE} WHERE id = $1"),
        });
    }
    out
}

async fn setup(url: &str) -> Engine {
    let engine = orm::create_engine(url).await.unwrap();
    engine
        .execute(text(format!("DROP TABLE IF EXISTS {TABLE}")))
        .await
        .unwrap();
    engine
        .execute(text(format!(
            "CREATE TABLE {TABLE} (id BIGINT PRIMARY KEY, name VARCHAR(50) NOT NULL, karma INTEGER NOT NULL)"
        )))
        .await
        .unwrap();
    let mut tx = engine.begin().await.unwrap();
    for i in 1..=LOOKUPS {
        tx.execute(
            text(format!(
                "INSERT INTO {TABLE} (id, name, karma) VALUES (:id, :name, :karma)"
            ))
            .bind("id", i)
            .bind("name", format!("user{i}"))
            .bind("karma", i as i32),
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    engine
}

/// deadpool's manager for sqlx connections: opens with `options`, recycles as is.
struct SqlxManager<DB: sqlx::Database>(<DB::Connection as sqlx::Connection>::Options);

impl<DB: sqlx::Database> deadpool::managed::Manager for SqlxManager<DB> {
    type Type = DB::Connection;
    type Error = sqlx::Error;

    async fn create(&self) -> Result<DB::Connection, sqlx::Error> {
        sqlx::ConnectOptions::connect(&self.0).await
    }

    async fn recycle(
        &self,
        _conn: &mut DB::Connection,
        _metrics: &deadpool::managed::Metrics,
    ) -> deadpool::managed::RecycleResult<sqlx::Error> {
        Ok(())
    }
}

/// Runs `f` once per id and sums what it returns, so nothing is optimised away.
macro_rules! lookups {
    ($id:ident => $body:expr) => {{
        let mut sum = 0i64;
        for $id in 1..=LOOKUPS {
            sum += $body;
        }
        assert_eq!(sum, LOOKUPS * (LOOKUPS + 1) / 2);
    }};
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for t in targets() {
        let engine = rt.block_on(setup(&t.url));
        let orm_sql = format!("SELECT id, name, karma FROM {TABLE} WHERE id = :id");
        let mut g = c.benchmark_group(format!("pk_lookups_x1000/{}", t.name));
        g.sample_size(20).measurement_time(Duration::from_secs(6));

        g.bench_function("orm_engine_fetch_one", |b| {
            b.to_async(&rt).iter(|| async {
                lookups!(id => {
                    let row = engine
                        .fetch_one(text(&orm_sql).bind("id", black_box(id)))
                        .await
                        .unwrap();
                    let _: String = row.get("name").unwrap();
                    row.get::<i64>("id").unwrap()
                })
            })
        });

        // The same statements on one checked-out orm connection: the engine's cost
        // without the pool's, to tell the two apart.
        let conn = std::cell::RefCell::new(Some(rt.block_on(engine.connect()).unwrap()));
        g.bench_function("orm_one_connection", |b| {
            b.to_async(&rt).iter(|| async {
                let mut c = conn.borrow_mut().take().unwrap();
                lookups!(id => {
                    let row = c
                        .fetch_one(text(&orm_sql).bind("id", black_box(id)))
                        .await
                        .unwrap();
                    let _: String = row.get("name").unwrap();
                    row.get::<i64>("id").unwrap()
                });
                *conn.borrow_mut() = Some(c);
            })
        });
        drop(conn);

        macro_rules! sqlx_side {
            ($db:ty) => {{
                // sqlx's pool with its defaults (what hand-written code gets).
                let pool = rt.block_on(sqlx::pool::Pool::<$db>::connect(&t.url)).unwrap();
                g.bench_function("sqlx_default_pool", |b| {
                    b.to_async(&rt).iter(|| async {
                        lookups!(id => {
                            let row = sqlx::query(&t.sqlx_sql)
                                .bind(black_box(id))
                                .fetch_one(&pool)
                                .await
                                .unwrap();
                            let _: String = row.get("name");
                            row.get::<i64, _>("id")
                        })
                    })
                });
                rt.block_on(pool.close());
                // deadpool over the same sqlx connections, without a ping on recycle
                // (the engine's default): what a pool crate's checkout costs.
                let options: <<$db as sqlx::Database>::Connection as sqlx::Connection>::Options =
                    t.url.parse().unwrap();
                let deadpool = deadpool::managed::Pool::builder(SqlxManager::<$db>(options))
                    .max_size(5)
                    .build()
                    .unwrap();
                g.bench_function("sqlx_on_deadpool", |b| {
                    b.to_async(&rt).iter(|| async {
                        lookups!(id => {
                            let mut c: deadpool::managed::Object<SqlxManager<$db>> =
                                deadpool.get().await.unwrap();
                            let row = sqlx::query(&t.sqlx_sql)
                                .bind(black_box(id))
                                .fetch_one(&mut *c)
                                .await
                                .unwrap();
                            let _: String = row.get("name");
                            row.get::<i64, _>("id")
                        })
                    })
                });
                let conn = std::cell::RefCell::new(Some(
                    rt.block_on(<$db as sqlx::Database>::Connection::connect(&t.url))
                        .unwrap(),
                ));
                g.bench_function("sqlx_one_connection", |b| {
                    b.to_async(&rt).iter(|| async {
                        let mut c = conn.borrow_mut().take().unwrap();
                        lookups!(id => {
                            let row = sqlx::query(&t.sqlx_sql)
                                .bind(black_box(id))
                                .fetch_one(&mut c)
                                .await
                                .unwrap();
                            let _: String = row.get("name");
                            row.get::<i64, _>("id")
                        });
                        *conn.borrow_mut() = Some(c);
                    })
                });
                g.finish();
                // The pools alone: 1,000 checkouts and returns, no statement.
                let mut g = c.benchmark_group(format!("checkout_return_x1000/{}", t.name));
                g.sample_size(20).measurement_time(Duration::from_secs(3));
                g.bench_function("orm_engine", |b| {
                    b.to_async(&rt).iter(|| async {
                        for _ in 0..LOOKUPS {
                            drop(black_box(engine.connect().await.unwrap()));
                        }
                    })
                });
                g.bench_function("deadpool", |b| {
                    b.to_async(&rt).iter(|| async {
                        for _ in 0..LOOKUPS {
                            let c: deadpool::managed::Object<SqlxManager<$db>> =
                                deadpool.get().await.unwrap();
                            drop(black_box(c));
                        }
                    })
                });
                g.finish();
                drop(deadpool);
            }};
        }
        match t.name {
            "postgres" => sqlx_side!(sqlx::Postgres),
            _ => sqlx_side!(sqlx::Sqlite),
        }
        rt.block_on(async {
            engine
                .execute(text(format!("DROP TABLE {TABLE}")))
                .await
                .unwrap();
            engine.close().await;
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
