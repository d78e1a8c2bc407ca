//! The same work done through `orm` and through hand-written sqlx, side by side, on
//! SQLite in memory (no network between the two, so the difference is the library's).
//!
//! `cargo bench -p orm --bench vs_sqlx`

#![allow(missing_docs)] // a benchmark binary

use std::hint::black_box;

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

criterion_group!(benches, bench);
criterion_main!(benches);
