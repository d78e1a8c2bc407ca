//! The ORM Session against the Core and hand-written sqlx doing the same work (issue 10):
//!
//! - `flush`: 1,000 users and 3,000 posts linked only through relationships, committed,
//!   against the best batched hand-written inserts in one transaction;
//! - `load`: 10,000 rows through `session.query`, through the Core into structs, and
//!   through sqlx into structs;
//! - `get_hit`: 1,000 `session.get` of loaded objects (no SQL), with a `HashMap` of `Arc`s
//!   as the floor; `get_miss`: 1,000 `get`s of different keys on a fresh session against
//!   sqlx `fetch_one` by key on one connection;
//! - `selectin_1000x10`: 1,000 authors with their 10,000 articles through
//!   `selectinload`, against hand-written sqlx running two queries (PostgreSQL: one
//!   `= ANY($1)` array bind; SQLite: one IN list of 1,000 binds) and grouping by hand;
//! - `joined_1000x10`: the same through `joinedload`, against the same LEFT JOIN
//!   written by hand, its rows grouped by hand (issue 11).
//!
//! The hand-written eager loads return what the session's do: children in key order.
//!
//! With `ORM_BENCH_CPU=1` the timed parts measure the CPU time of the whole process
//! (every thread; not the database server's) instead of wall time: steadier on a busy
//! machine. `ORM_BENCH_CPU=user` measures user time alone (what the process's own code
//! costs, without the kernel's socket and file work).
//!
//! On SQLite (a file database in the temp directory, WAL) always, and on PostgreSQL when
//! `ORM_BENCH_POSTGRES_URL` (or `ORM_TEST_POSTGRES_URL`) is set, in a schema of its own
//! that is dropped at the end. Every contestant's answer is checked (row counts and
//! checksums against the database) before anything is timed, so a wrong answer never
//! shows as fast.
//!
//! `cargo bench -p orm --bench session -- --warm-up-time 2 --measurement-time 5`
//!
//! Criterion times each contestant for seconds on end, one after the other: on a
//! machine whose speed drifts (a shared or virtual one), a ratio of two such means can
//! be off by more than the gaps measured. With `ORM_BENCH_PAIRED=<rounds>` each
//! database ends with *paired* ratios: the session and its rival alternate in short
//! rounds (a few runs each), and the median of the rounds' ratios is printed, with its
//! quartiles: drift hits both sides of a round alike.

#![allow(missing_docs)] // a benchmark binary

use std::collections::HashMap;
use std::future::Future;
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use orm::prelude::*;
use sqlx::Row as _;
use tokio::runtime::Runtime;

const USERS: usize = 1_000;
const POSTS_PER_USER: usize = 3;
const ITEMS: usize = 10_000;
const GETS: usize = 1_000;
const SCHEMA: &str = "orm_bench_session";
const AUTHORS: usize = 1_000;
const ARTICLES_PER_AUTHOR: usize = 10;

#[derive(Model, Debug, Clone)]
#[orm(table = "sb_users")]
pub struct SbUser {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(max_length = 50)]
    pub name: String,
    pub email: Option<String>,
    #[relationship(back_populates = "author")]
    pub posts: Related<Vec<SbPost>>,
}

#[derive(Model, Debug, Clone)]
#[orm(table = "sb_posts")]
pub struct SbPost {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(foreign_key = "sb_users.id", index)]
    pub user_id: Option<i64>,
    #[orm(max_length = 200)]
    pub title: String,
    #[relationship(back_populates = "posts")]
    pub author: Related<Option<SbUser>>,
}

/// The rows the load and get benchmarks read.
#[derive(Model, Debug, Clone)]
#[orm(table = "sb_items")]
pub struct SbItem {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(max_length = 50)]
    pub name: String,
    pub email: Option<String>,
    pub karma: i32,
    pub score: f64,
}

/// The parents of the eager-loading benchmarks.
#[derive(Model, Debug, Clone)]
#[orm(table = "sb_authors")]
pub struct SbAuthor {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(max_length = 50)]
    pub name: String,
    pub email: Option<String>,
    #[relationship(back_populates = "author")]
    pub articles: Related<Vec<SbArticle>>,
}

/// The children of the eager-loading benchmarks: 10 per author.
#[derive(Model, Debug, Clone)]
#[orm(table = "sb_articles")]
pub struct SbArticle {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(foreign_key = "sb_authors.id", index)]
    pub author_id: Option<i64>,
    #[orm(max_length = 200)]
    pub title: String,
    pub body: Option<String>,
    #[relationship(back_populates = "articles")]
    pub author: Related<Option<SbAuthor>>,
}

/// An author as hand-written sqlx code reads it.
#[derive(Debug, Clone)]
pub struct PlainAuthor {
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
}

/// An article as hand-written sqlx code reads it.
#[derive(Debug, Clone)]
pub struct PlainArticle {
    pub id: i64,
    pub author_id: Option<i64>,
    pub title: String,
    pub body: Option<String>,
}

/// What the hand-written eager loads return: each author with its articles.
pub type PlainTree = Vec<(PlainAuthor, Vec<PlainArticle>)>;

/// Groups articles under their authors (articles in the order they came).
fn attach(authors: Vec<PlainAuthor>, articles: Vec<PlainArticle>) -> PlainTree {
    let mut by_author: HashMap<i64, Vec<PlainArticle>> = HashMap::with_capacity(authors.len());
    for a in articles {
        if let Some(k) = a.author_id {
            by_author.entry(k).or_default().push(a);
        }
    }
    authors
        .into_iter()
        .map(|u| {
            let articles = by_author.remove(&u.id).unwrap_or_default();
            (u, articles)
        })
        .collect()
}

/// Groups the rows of `authors LEFT JOIN articles` (in any order) into authors in the
/// order of their first row, each with its articles in row order.
fn group_joined(rows: impl Iterator<Item = (PlainAuthor, Option<PlainArticle>)>) -> PlainTree {
    let mut out: PlainTree = Vec::with_capacity(AUTHORS);
    let mut at: HashMap<i64, usize> = HashMap::with_capacity(AUTHORS);
    for (u, a) in rows {
        let i = *at.entry(u.id).or_insert_with(|| {
            out.push((u, Vec::new()));
            out.len() - 1
        });
        out[i].1.extend(a);
    }
    out
}

fn article_title(i: usize, j: usize) -> String {
    format!("article {i}.{j}")
}

fn article_body(i: usize, j: usize) -> Option<String> {
    ((i + j) % 5 != 0).then(|| format!("body of article {i}.{j}, some text to carry"))
}

/// What hand-written sqlx code decodes into.
#[derive(Debug, Clone)]
pub struct PlainItem {
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
    pub karma: i32,
    pub score: f64,
}

fn user_name(i: usize) -> String {
    format!("user{i}")
}

fn user_email(i: usize) -> Option<String> {
    (i % 3 != 0).then(|| format!("u{i}@example.com"))
}

fn post_title(i: usize, j: usize) -> String {
    format!("post {i}.{j}")
}

/// Item `i` (its key is `i + 1`), without the key.
fn item(i: usize) -> (String, Option<String>, i32, f64) {
    (
        format!("item{i}"),
        (i % 4 != 0).then(|| format!("i{i}@example.com")),
        ((i * 37) % 1000) as i32,
        (i % 100) as f64 * 0.25, // exact in binary: sums do not depend on the order
    )
}

/// The keys `get` looks up: 1,000 different ones spread over the table.
fn get_keys() -> Vec<i64> {
    (0..GETS).map(|k| 1 + ((k * 7919) % ITEMS) as i64).collect()
}

/// What a contestant's rows add up to, compared with what the database says.
#[derive(Debug, Default, PartialEq)]
struct Checksum {
    rows: i64,
    ids: i64,
    karma: i64,
    name_bytes: i64,
    emails: i64,
    score: f64,
}

impl Checksum {
    fn add(&mut self, id: i64, name: &str, email: Option<&str>, karma: i32, score: f64) {
        self.rows += 1;
        self.ids += id;
        self.karma += i64::from(karma);
        self.name_bytes += name.len() as i64;
        self.emails += i64::from(email.is_some());
        self.score += score;
    }

    fn of_plain(items: &[PlainItem]) -> Checksum {
        let mut c = Checksum::default();
        for i in items {
            c.add(i.id, &i.name, i.email.as_deref(), i.karma, i.score);
        }
        c
    }

    fn of_models(items: &[SbItem]) -> Checksum {
        let mut c = Checksum::default();
        for i in items {
            c.add(i.id, &i.name, i.email.as_deref(), i.karma, i.score);
        }
        c
    }

    fn of_objects(items: &[Obj<SbItem>]) -> Checksum {
        let mut c = Checksum::default();
        for o in items {
            let i = o.read().unwrap();
            c.add(i.id, &i.name, i.email.as_deref(), i.karma, i.score);
        }
        c
    }

    /// The database's own sums over the items whose key is in `keys` (all when `None`).
    async fn of_table(engine: &Engine, keys: Option<&[i64]>) -> Checksum {
        let filter = match keys {
            None => String::new(),
            Some(k) => format!(
                " WHERE id IN ({})",
                k.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
            ),
        };
        let row = engine
            .fetch_one(text(format!(
                "SELECT COUNT(*), CAST(SUM(id) AS BIGINT), CAST(SUM(karma) AS BIGINT), \
                 CAST(SUM(LENGTH(name)) AS BIGINT), COUNT(email), SUM(score) FROM sb_items{filter}"
            )))
            .await
            .unwrap();
        Checksum {
            rows: row.get(0).unwrap(),
            ids: row.get(1).unwrap(),
            karma: row.get(2).unwrap(),
            name_bytes: row.get(3).unwrap(),
            emails: row.get(4).unwrap(),
            score: row.get(5).unwrap(),
        }
    }
}

/// Hand-written sqlx for one database: the best batched inserts sqlx offers portably
/// (multi-row `INSERT ... VALUES` through `QueryBuilder`, chunked under the parameter
/// limit), a load into structs, and lookups by key on one connection.
macro_rules! hand_written {
    ($db:ty, $max_params:expr, $by_key:literal, $in_keys:path) => {
        use super::*;
        use sqlx::QueryBuilder;

        /// One transaction: the users with `RETURNING id`, then the posts with the keys.
        pub async fn flush(pool: &sqlx::Pool<$db>) -> sqlx::Result<Vec<i64>> {
            let mut tx = pool.begin().await?;
            let mut ids: Vec<i64> = Vec::with_capacity(USERS);
            let users: Vec<usize> = (0..USERS).collect();
            for chunk in users.chunks($max_params / 2) {
                let mut qb = QueryBuilder::<$db>::new("INSERT INTO sb_users (name, email) ");
                qb.push_values(chunk, |mut b, &i| {
                    b.push_bind(user_name(i)).push_bind(user_email(i));
                });
                qb.push(" RETURNING id");
                let mut got: Vec<i64> = qb.build_query_scalar().fetch_all(&mut *tx).await?;
                // Keys are generated in insertion order; RETURNING's order is not promised.
                got.sort_unstable();
                ids.extend(got);
            }
            let posts: Vec<(usize, usize)> = (0..USERS)
                .flat_map(|i| (0..POSTS_PER_USER).map(move |j| (i, j)))
                .collect();
            for chunk in posts.chunks($max_params / 2) {
                let mut qb = QueryBuilder::<$db>::new("INSERT INTO sb_posts (user_id, title) ");
                qb.push_values(chunk, |mut b, &(i, j)| {
                    b.push_bind(ids[i]).push_bind(post_title(i, j));
                });
                qb.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(ids)
        }

        /// Every item into structs.
        pub async fn load(pool: &sqlx::Pool<$db>) -> sqlx::Result<Vec<PlainItem>> {
            let rows = sqlx::query("SELECT id, name, email, karma, score FROM sb_items")
                .fetch_all(pool)
                .await?;
            Ok(rows.iter().map(plain).collect())
        }

        /// The same in a transaction, as a session runs its statements.
        pub async fn load_in_tx(pool: &sqlx::Pool<$db>) -> sqlx::Result<Vec<PlainItem>> {
            let mut tx = pool.begin().await?;
            let rows = sqlx::query("SELECT id, name, email, karma, score FROM sb_items")
                .fetch_all(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(rows.iter().map(plain).collect())
        }

        /// One `fetch_one` by key per key, on one connection.
        pub async fn get_many(
            pool: &sqlx::Pool<$db>,
            keys: &[i64],
        ) -> sqlx::Result<Vec<PlainItem>> {
            let mut conn = pool.acquire().await?;
            let mut out = Vec::with_capacity(keys.len());
            for &k in keys {
                let row = sqlx::query($by_key).bind(k).fetch_one(&mut *conn).await?;
                out.push(plain(&row));
            }
            Ok(out)
        }

        /// Every author, then their articles in one statement (`$in_keys`), grouped.
        pub async fn selectin(pool: &sqlx::Pool<$db>) -> sqlx::Result<PlainTree> {
            let mut tx = pool.begin().await?;
            let authors: Vec<PlainAuthor> =
                sqlx::query("SELECT id, name, email FROM sb_authors")
                    .fetch_all(&mut *tx)
                    .await?
                    .iter()
                    .map(|r| PlainAuthor {
                        id: r.get(0),
                        name: r.get(1),
                        email: r.get(2),
                    })
                    .collect();
            let keys: Vec<i64> = authors.iter().map(|a| a.id).collect();
            let articles: Vec<PlainArticle> = $in_keys(&mut *tx, &keys)
                .await?
                .iter()
                .map(|r| article(r, 0))
                .collect();
            tx.commit().await?;
            Ok(attach(authors, articles))
        }

        /// Authors LEFT JOIN articles in one statement, grouped.
        pub async fn joined(pool: &sqlx::Pool<$db>) -> sqlx::Result<PlainTree> {
            let mut tx = pool.begin().await?;
            let rows = sqlx::query(
                "SELECT sb_authors.id, sb_authors.name, sb_authors.email, a.id, a.author_id, a.title, a.body \
                 FROM sb_authors LEFT OUTER JOIN sb_articles AS a ON sb_authors.id = a.author_id \
                 ORDER BY a.id",
            )
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(group_joined(rows.iter().map(|r| {
                let u = PlainAuthor {
                    id: r.get(0),
                    name: r.get(1),
                    email: r.get(2),
                };
                let id: Option<i64> = r.get(3);
                (u, id.map(|_| article(r, 3)))
            })))
        }

        fn article(row: &<$db as sqlx::Database>::Row, at: usize) -> PlainArticle {
            PlainArticle {
                id: row.get(at),
                author_id: row.get(at + 1),
                title: row.get(at + 2),
                body: row.get(at + 3),
            }
        }

        fn plain(row: &<$db as sqlx::Database>::Row) -> PlainItem {
            PlainItem {
                id: row.get(0),
                name: row.get(1),
                email: row.get(2),
                karma: row.get(3),
                score: row.get(4),
            }
        }
    };
}

mod hand_sqlite {
    hand_written!(
        sqlx::Sqlite,
        32_766,
        "SELECT id, name, email, karma, score FROM sb_items WHERE id = ?",
        articles_of
    );

    /// The articles of `keys`: one IN list, a bind per key (the SQL text is built per
    /// call, as hand-written code with a varying key count must).
    async fn articles_of(
        conn: &mut sqlx::SqliteConnection,
        keys: &[i64],
    ) -> sqlx::Result<Vec<sqlx::sqlite::SqliteRow>> {
        let mut qb = QueryBuilder::<sqlx::Sqlite>::new(
            "SELECT id, author_id, title, body FROM sb_articles WHERE author_id IN (",
        );
        let mut sep = qb.separated(", ");
        for &k in keys {
            sep.push_bind(k);
        }
        qb.push(") ORDER BY id");
        qb.build().fetch_all(conn).await
    }
}

mod hand_postgres {
    hand_written!(
        sqlx::Postgres,
        65_535,
        "SELECT id, name, email, karma, score FROM sb_items WHERE id = $1",
        articles_of
    );

    /// The articles of `keys`: one array bind.
    async fn articles_of(
        conn: &mut sqlx::PgConnection,
        keys: &[i64],
    ) -> sqlx::Result<Vec<sqlx::postgres::PgRow>> {
        sqlx::query(
            "SELECT id, author_id, title, body FROM sb_articles WHERE author_id = ANY($1) ORDER BY id",
        )
        .bind(keys)
        .fetch_all(conn)
        .await
    }

    /// PostgreSQL's fastest form: one statement per table whatever the row count, the
    /// columns bound as arrays and unnested (`WITH ORDINALITY` keeps the keys in order).
    pub async fn flush_unnest(pool: &sqlx::PgPool) -> sqlx::Result<Vec<i64>> {
        let names: Vec<String> = (0..USERS).map(user_name).collect();
        let emails: Vec<Option<String>> = (0..USERS).map(user_email).collect();
        let mut tx = pool.begin().await?;
        let ids: Vec<i64> = sqlx::query_scalar(
            "INSERT INTO sb_users (name, email) \
             SELECT name, email FROM UNNEST($1::varchar[], $2::text[]) WITH ORDINALITY AS u(name, email, n) \
             ORDER BY n RETURNING id",
        )
        .bind(&names)
        .bind(&emails)
        .fetch_all(&mut *tx)
        .await?;
        let mut ids = ids;
        ids.sort_unstable();
        let mut user_ids = Vec::with_capacity(USERS * POSTS_PER_USER);
        let mut titles = Vec::with_capacity(USERS * POSTS_PER_USER);
        for (i, &id) in ids.iter().enumerate() {
            for j in 0..POSTS_PER_USER {
                user_ids.push(id);
                titles.push(post_title(i, j));
            }
        }
        sqlx::query(
            "INSERT INTO sb_posts (user_id, title) SELECT * FROM UNNEST($1::int8[], $2::varchar[])",
        )
        .bind(&user_ids)
        .bind(&titles)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ids)
    }
}

/// A database the benchmarks run on: the engine, and a sqlx pool on the same database.
struct Target {
    name: &'static str,
    engine: Engine,
    pool: Pool,
    cleanup: Cleanup,
}

enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

enum Cleanup {
    File(PathBuf),
    Schema { server_url: String },
}

impl Pool {
    async fn flush(&self) -> Vec<i64> {
        match self {
            Pool::Sqlite(p) => hand_sqlite::flush(p).await,
            Pool::Postgres(p) => hand_postgres::flush(p).await,
        }
        .unwrap()
    }

    async fn load(&self) -> Vec<PlainItem> {
        match self {
            Pool::Sqlite(p) => hand_sqlite::load(p).await,
            Pool::Postgres(p) => hand_postgres::load(p).await,
        }
        .unwrap()
    }

    async fn load_in_tx(&self) -> Vec<PlainItem> {
        match self {
            Pool::Sqlite(p) => hand_sqlite::load_in_tx(p).await,
            Pool::Postgres(p) => hand_postgres::load_in_tx(p).await,
        }
        .unwrap()
    }

    async fn selectin(&self) -> PlainTree {
        match self {
            Pool::Sqlite(p) => hand_sqlite::selectin(p).await,
            Pool::Postgres(p) => hand_postgres::selectin(p).await,
        }
        .unwrap()
    }

    async fn joined(&self) -> PlainTree {
        match self {
            Pool::Sqlite(p) => hand_sqlite::joined(p).await,
            Pool::Postgres(p) => hand_postgres::joined(p).await,
        }
        .unwrap()
    }

    async fn get_many(&self, keys: &[i64]) -> Vec<PlainItem> {
        match self {
            Pool::Sqlite(p) => hand_sqlite::get_many(p, keys).await,
            Pool::Postgres(p) => hand_postgres::get_many(p, keys).await,
        }
        .unwrap()
    }
}

impl Target {
    async fn sqlite() -> Target {
        let file = std::env::temp_dir().join(format!("{SCHEMA}.db"));
        remove_sqlite_files(&file);
        let engine = create_engine(&format!("sqlite://{}", file.display()))
            .await
            .unwrap();
        // WAL is a property of the file: every connection opened later uses it.
        let mode = engine
            .fetch_one(text("PRAGMA journal_mode = WAL"))
            .await
            .unwrap();
        assert_eq!(mode.get::<String>(0).unwrap(), "wal");
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(2)
            // As the engine's default: sqlx's pings at every checkout otherwise.
            .test_before_acquire(false)
            .connect_with(
                sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(&file)
                    .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal),
            )
            .await
            .unwrap();
        Target {
            name: "sqlite",
            engine,
            pool: Pool::Sqlite(pool),
            cleanup: Cleanup::File(file),
        }
    }

    async fn postgres(server_url: String) -> Target {
        let admin = create_engine(&server_url).await.unwrap();
        admin
            .execute(text(format!("DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")))
            .await
            .unwrap();
        admin
            .execute(text(format!("CREATE SCHEMA {SCHEMA}")))
            .await
            .unwrap();
        admin.close().await;
        let sep = if server_url.contains('?') { '&' } else { '?' };
        let url = format!("{server_url}{sep}options[search_path]={SCHEMA}");
        let engine = create_engine(&url).await.unwrap();
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .test_before_acquire(false)
            .connect(&url)
            .await
            .unwrap();
        Target {
            name: "postgres",
            engine,
            pool: Pool::Postgres(pool),
            cleanup: Cleanup::Schema { server_url },
        }
    }

    async fn create_tables(&self) {
        MetaData::new()
            .with::<SbUser>()
            .with::<SbPost>()
            .with::<SbItem>()
            .with::<SbAuthor>()
            .with::<SbArticle>()
            .create_all(&self.engine)
            .await
            .unwrap();
    }

    /// Empty users and posts, keys starting from 1 again.
    async fn reset_blog(&self) {
        match self.pool {
            Pool::Sqlite(_) => {
                self.engine
                    .execute(text("DELETE FROM sb_posts"))
                    .await
                    .unwrap();
                self.engine
                    .execute(text("DELETE FROM sb_users"))
                    .await
                    .unwrap();
            }
            Pool::Postgres(_) => {
                self.engine
                    .execute(text("TRUNCATE sb_posts, sb_users RESTART IDENTITY"))
                    .await
                    .unwrap();
            }
        }
    }

    /// The 10,000 items, in one transaction, through hand-written sqlx (the contestants
    /// are checked against the database's own sums, not against this code).
    async fn seed_items(&self) {
        let items: Vec<usize> = (0..ITEMS).collect();
        let mut tx = self.engine.begin().await.unwrap();
        for chunk in items.chunks(1000) {
            let rows: Vec<String> = chunk
                .iter()
                .map(|&i| {
                    let (name, email, karma, score) = item(i);
                    let email = email.map_or("NULL".into(), |e| format!("'{e}'"));
                    format!("({}, '{name}', {email}, {karma}, {score})", i + 1)
                })
                .collect();
            tx.execute(text(format!(
                "INSERT INTO sb_items (id, name, email, karma, score) VALUES {}",
                rows.join(", ")
            )))
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
    }

    /// The 1,000 authors and their 10,000 articles (keys 1.., articles in author order).
    async fn seed_authors(&self) {
        let mut tx = self.engine.begin().await.unwrap();
        let authors: Vec<usize> = (0..AUTHORS).collect();
        for chunk in authors.chunks(1000) {
            let rows: Vec<String> = chunk
                .iter()
                .map(|&i| {
                    let email = user_email(i).map_or("NULL".into(), |e| format!("'{e}'"));
                    format!("({}, '{}', {email})", i + 1, user_name(i))
                })
                .collect();
            tx.execute(text(format!(
                "INSERT INTO sb_authors (id, name, email) VALUES {}",
                rows.join(", ")
            )))
            .await
            .unwrap();
        }
        for chunk in authors.chunks(100) {
            let rows: Vec<String> = chunk
                .iter()
                .flat_map(|&i| (0..ARTICLES_PER_AUTHOR).map(move |j| (i, j)))
                .map(|(i, j)| {
                    let body = article_body(i, j).map_or("NULL".into(), |b| format!("'{b}'"));
                    format!(
                        "({}, {}, '{}', {body})",
                        i * ARTICLES_PER_AUTHOR + j + 1,
                        i + 1,
                        article_title(i, j)
                    )
                })
                .collect();
            tx.execute(text(format!(
                "INSERT INTO sb_articles (id, author_id, title, body) VALUES {}",
                rows.join(", ")
            )))
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
    }

    async fn drop_all(self) {
        self.engine.close().await;
        match self.pool {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
        match self.cleanup {
            Cleanup::File(file) => remove_sqlite_files(&file),
            Cleanup::Schema { server_url } => {
                let admin = create_engine(&server_url).await.unwrap();
                admin
                    .execute(text(format!("DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")))
                    .await
                    .unwrap();
                admin.close().await;
            }
        }
    }
}

fn remove_sqlite_files(file: &std::path::Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }
}

// ---- the contestants

/// A session adds the users and posts, linked only through `posts.push`, and commits.
async fn flush_session(engine: &Engine) -> Vec<Obj<SbUser>> {
    let mut session = Session::new(engine);
    let mut users = Vec::with_capacity(USERS);
    for i in 0..USERS {
        let mut u = SbUser::new(user_name(i));
        u.email = user_email(i);
        let u = session.add(u);
        for j in 0..POSTS_PER_USER {
            let p = session.add(SbPost::new(post_title(i, j)));
            u.write().unwrap().posts.push(&p);
        }
        users.push(u);
    }
    session.commit().await.unwrap();
    users
}

/// A fresh session loads every item (nothing is in its identity map yet).
async fn load_session(engine: &Engine) -> Vec<Obj<SbItem>> {
    let mut session = Session::new(engine);
    let items = session.query::<SbItem>().all().await.unwrap();
    session.commit().await.unwrap();
    items
}

/// The Core: a SELECT of the model's columns, each row decoded into the model as it is
/// read (`fetch_all_as`).
async fn load_core(engine: &Engine) -> Vec<SbItem> {
    let stmt = select((
        SbItem::id,
        SbItem::name,
        SbItem::email,
        SbItem::karma,
        SbItem::score,
    ));
    engine.fetch_all_as(stmt).await.unwrap()
}

/// A fresh session loads every author with its articles through `selectinload`.
async fn selectin_session(engine: &Engine) -> Vec<Obj<SbAuthor>> {
    let mut session = Session::new(engine);
    let authors = session
        .query::<SbAuthor>()
        .options(selectinload(SbAuthor::articles))
        .all()
        .await
        .unwrap();
    session.commit().await.unwrap();
    authors
}

/// The same through `joinedload` (one LEFT OUTER JOIN).
async fn joined_session(engine: &Engine) -> Vec<Obj<SbAuthor>> {
    let mut session = Session::new(engine);
    let authors = session
        .query::<SbAuthor>()
        .options(joinedload(SbAuthor::articles))
        .all()
        .await
        .unwrap();
    session.commit().await.unwrap();
    authors
}

/// The tree the session loaded, as plain structs (for comparing with hand-written).
fn tree_of(authors: &[Obj<SbAuthor>]) -> PlainTree {
    authors
        .iter()
        .map(|o| {
            let a = o.read().unwrap();
            let articles = a
                .articles
                .get()
                .unwrap()
                .iter()
                .map(|p| {
                    let p = p.read().unwrap();
                    PlainArticle {
                        id: p.id,
                        author_id: p.author_id,
                        title: p.title.clone(),
                        body: p.body.clone(),
                    }
                })
                .collect();
            (
                PlainAuthor {
                    id: a.id,
                    name: a.name.clone(),
                    email: a.email.clone(),
                },
                articles,
            )
        })
        .collect()
}

/// A tree in author key order, as comparable tuples.
type TreeRows = Vec<(
    i64,
    String,
    Option<String>,
    Vec<(i64, Option<i64>, String, Option<String>)>,
)>;

fn sorted_tree(tree: PlainTree) -> TreeRows {
    let mut t: TreeRows = tree
        .into_iter()
        .map(|(u, a)| {
            (
                u.id,
                u.name,
                u.email,
                a.into_iter()
                    .map(|a| (a.id, a.author_id, a.title, a.body))
                    .collect(),
            )
        })
        .collect();
    t.sort_by_key(|r| r.0);
    t
}

/// Every eager contestant returns the seeded authors, each with its 10 articles in key
/// order.
async fn check_eager(target: &Target) {
    let expected: TreeRows = (0..AUTHORS)
        .map(|i| {
            (
                (i + 1) as i64,
                user_name(i),
                user_email(i),
                (0..ARTICLES_PER_AUTHOR)
                    .map(|j| {
                        (
                            (i * ARTICLES_PER_AUTHOR + j + 1) as i64,
                            Some((i + 1) as i64),
                            article_title(i, j),
                            article_body(i, j),
                        )
                    })
                    .collect(),
            )
        })
        .collect();
    let name = target.name;
    let s = sorted_tree(tree_of(&selectin_session(&target.engine).await));
    assert!(s == expected, "session selectinload on {name}");
    let j = sorted_tree(tree_of(&joined_session(&target.engine).await));
    assert!(j == expected, "session joinedload on {name}");
    assert!(
        sorted_tree(target.pool.selectin().await) == expected,
        "sqlx two queries on {name}"
    );
    assert!(
        sorted_tree(target.pool.joined().await) == expected,
        "sqlx join on {name}"
    );
}

/// A fresh session `get`s each key: one SELECT each.
async fn get_miss_session(engine: &Engine, keys: &[i64]) -> Vec<Obj<SbItem>> {
    let mut session = Session::new(engine);
    let mut out = Vec::with_capacity(keys.len());
    for &k in keys {
        out.push(session.get::<SbItem>(k).await.unwrap().unwrap());
    }
    session.commit().await.unwrap();
    out
}

// ---- checks before timing

/// The database holds exactly the users and posts of the benchmark, each post pointing
/// at its own user.
async fn check_blog(target: &Target, who: &str) {
    let count = |sql: &'static str| async move {
        target
            .engine
            .fetch_one(text(sql))
            .await
            .unwrap()
            .get::<i64>(0)
            .unwrap()
    };
    let users = count("SELECT COUNT(*) FROM sb_users").await;
    let emails = count("SELECT COUNT(email) FROM sb_users").await;
    let posts = count("SELECT COUNT(*) FROM sb_posts").await;
    let linked = count(
        "SELECT COUNT(*) FROM sb_posts p JOIN sb_users u ON u.id = p.user_id \
         WHERE p.title LIKE ('post ' || SUBSTR(u.name, 5) || '.%')",
    )
    .await;
    let expected_emails = (0..USERS).filter(|&i| user_email(i).is_some()).count() as i64;
    assert_eq!(
        (users, emails, posts, linked),
        (
            USERS as i64,
            expected_emails,
            (USERS * POSTS_PER_USER) as i64,
            (USERS * POSTS_PER_USER) as i64
        ),
        "{who} on {}: users, emails, posts, posts linked to their user",
        target.name
    );
}

/// The keys the hand-written flush got back are the users' keys, in insertion order.
async fn check_ids(target: &Target, ids: &[i64], who: &str) {
    let rows = target
        .engine
        .fetch_all(text("SELECT id, name FROM sb_users"))
        .await
        .unwrap();
    let by_id: HashMap<i64, String> = rows
        .iter()
        .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
        .collect();
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(by_id.get(id), Some(&user_name(i)), "{who}: key of user {i}");
    }
}

async fn check_flushes(target: &Target) {
    target.reset_blog().await;
    let users = flush_session(&target.engine).await;
    check_blog(target, "session flush").await;
    for (i, u) in users.iter().enumerate() {
        let user = u.read().unwrap();
        assert!(user.id > 0 && user.name == user_name(i));
        let posts = user.posts.get().unwrap();
        assert_eq!(posts.len(), POSTS_PER_USER);
        for (j, p) in posts.iter().enumerate() {
            let post = p.read().unwrap();
            assert_eq!(
                (post.user_id, post.title.as_str()),
                (Some(user.id), post_title(i, j).as_str())
            );
        }
    }
    drop(users);
    target.reset_blog().await;
    let ids = target.pool.flush().await;
    check_blog(target, "sqlx flush").await;
    check_ids(target, &ids, "sqlx flush").await;
    if let Pool::Postgres(p) = &target.pool {
        target.reset_blog().await;
        let ids = hand_postgres::flush_unnest(p).await.unwrap();
        check_blog(target, "sqlx UNNEST flush").await;
        check_ids(target, &ids, "sqlx UNNEST flush").await;
    }
}

async fn check_reads(target: &Target, keys: &[i64]) {
    let all = Checksum::of_table(&target.engine, None).await;
    assert_eq!(all.rows, ITEMS as i64);
    assert_eq!(all.ids, (ITEMS * (ITEMS + 1) / 2) as i64, "keys 1..=ITEMS");
    let name = target.name;
    assert_eq!(
        Checksum::of_objects(&load_session(&target.engine).await),
        all,
        "session load on {name}"
    );
    assert_eq!(
        Checksum::of_models(&load_core(&target.engine).await),
        all,
        "core load on {name}"
    );
    assert_eq!(
        Checksum::of_plain(&target.pool.load().await),
        all,
        "sqlx load on {name}"
    );
    assert_eq!(
        Checksum::of_plain(&target.pool.load_in_tx().await),
        all,
        "sqlx load in a transaction on {name}"
    );
    let some = Checksum::of_table(&target.engine, Some(keys)).await;
    assert_eq!(some.rows, GETS as i64);
    let got = get_miss_session(&target.engine, keys).await;
    assert!(
        got.iter()
            .zip(keys)
            .all(|(o, &k)| o.read().unwrap().id == k)
    );
    assert_eq!(Checksum::of_objects(&got), some, "session get on {name}");
    let got = target.pool.get_many(keys).await;
    assert!(got.iter().zip(keys).all(|(o, &k)| o.id == k));
    assert_eq!(Checksum::of_plain(&got), some, "sqlx get on {name}");
}

// ---- timing

/// CPU time this process has used so far (every thread).
fn cpu_now() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for the call to fill.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// The clock the timed parts read: process CPU time with `ORM_BENCH_CPU=1`, its user
/// part alone with `ORM_BENCH_CPU=user` (`getrusage`: the kernel may account it by
/// ticks, so only sums over many iterations mean anything), else wall.
enum Clock {
    Wall,
    Cpu,
    User,
}

impl Clock {
    fn get() -> Clock {
        match std::env::var("ORM_BENCH_CPU").as_deref() {
            Ok("1") => Clock::Cpu,
            Ok("user") => Clock::User,
            _ => Clock::Wall,
        }
    }

    fn now(&self) -> Duration {
        let usage = || {
            // SAFETY: an all-zero rusage is valid for the call to fill.
            let mut u: libc::rusage = unsafe { std::mem::zeroed() };
            // SAFETY: `u` is a valid rusage.
            let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
            assert_eq!(rc, 0, "getrusage");
            u
        };
        let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
        match self {
            Clock::Cpu => cpu_now(),
            Clock::User => tv(usage().ru_utime),
            Clock::Wall => {
                static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
                START.get_or_init(Instant::now).elapsed()
            }
        }
    }
}

/// Runs `f` `iters` times and returns the time it took, each run after an untimed
/// `setup`.
fn timed<S, SF, F, FF, T>(rt: &Runtime, iters: u64, mut setup: S, mut f: F) -> Duration
where
    S: FnMut() -> SF,
    SF: Future<Output = ()>,
    F: FnMut() -> FF,
    FF: Future<Output = T>,
{
    rt.block_on(async {
        let clock = Clock::get();
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            setup().await;
            let start = clock.now();
            // The result is dropped inside the timed part: freeing it is part of the work.
            black_box(f().await);
            total += clock.now().saturating_sub(start);
        }
        total
    })
}

async fn nothing() {}

fn bench_target(c: &mut Criterion, rt: &Runtime, target: &Target) {
    let keys = get_keys();
    rt.block_on(async {
        target.create_tables().await;
        target.seed_items().await;
        target.seed_authors().await;
        check_eager(target).await;
        check_flushes(target).await;
        check_reads(target, &keys).await;
    });
    let (engine, pool) = (&target.engine, &target.pool);

    let mut g = c.benchmark_group(format!("flush_1000_users_3000_posts/{}", target.name));
    g.sampling_mode(SamplingMode::Flat).sample_size(20);
    let reset = || target.reset_blog();
    g.bench_function("session", |b| {
        b.iter_custom(|n| timed(rt, n, reset, || flush_session(engine)))
    });
    g.bench_function("sqlx", |b| {
        b.iter_custom(|n| timed(rt, n, reset, || pool.flush()))
    });
    if let Pool::Postgres(p) = pool {
        g.bench_function("sqlx_unnest", |b| {
            b.iter_custom(|n| timed(rt, n, reset, || hand_postgres::flush_unnest(p)))
        });
    }
    g.finish();

    let mut g = c.benchmark_group(format!("load_10000/{}", target.name));
    g.sampling_mode(SamplingMode::Flat).sample_size(30);
    g.bench_function("session", |b| {
        b.iter_custom(|n| timed(rt, n, nothing, || load_session(engine)))
    });
    g.bench_function("core", |b| {
        b.iter_custom(|n| timed(rt, n, nothing, || load_core(engine)))
    });
    g.bench_function("sqlx", |b| {
        b.iter_custom(|n| timed(rt, n, nothing, || pool.load()))
    });
    g.bench_function("sqlx_tx", |b| {
        b.iter_custom(|n| timed(rt, n, nothing, || pool.load_in_tx()))
    });
    g.finish();

    let mut g = c.benchmark_group(format!("selectin_1000x10/{}", target.name));
    g.sampling_mode(SamplingMode::Flat).sample_size(20);
    g.bench_function("session", |b| {
        b.iter_custom(|n| timed(rt, n, nothing, || selectin_session(engine)))
    });
    g.bench_function("sqlx", |b| {
        b.iter_custom(|n| timed(rt, n, nothing, || pool.selectin()))
    });
    g.finish();

    let mut g = c.benchmark_group(format!("joined_1000x10/{}", target.name));
    g.sampling_mode(SamplingMode::Flat).sample_size(20);
    g.bench_function("session", |b| {
        b.iter_custom(|n| timed(rt, n, nothing, || joined_session(engine)))
    });
    g.bench_function("sqlx", |b| {
        b.iter_custom(|n| timed(rt, n, nothing, || pool.joined()))
    });
    g.finish();

    let mut g = c.benchmark_group(format!("get_hit_1000/{}", target.name));
    // Every item loaded and committed: `get` finds each in the identity map.
    let mut session = Session::new(engine);
    let loaded = rt.block_on(async {
        let all = session.query::<SbItem>().all().await.unwrap();
        session.commit().await.unwrap();
        all
    });
    rt.block_on(async {
        for &k in &keys {
            let o = session.get::<SbItem>(k).await.unwrap().unwrap();
            assert!(!session.in_transaction(), "a hit sends no SQL");
            assert_eq!(o.read().unwrap().id, k);
        }
    });
    g.bench_function("session", |b| {
        b.iter_custom(|n| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..n {
                    for &k in &keys {
                        black_box(session.get::<SbItem>(black_box(k)).await.unwrap());
                    }
                }
                start.elapsed()
            })
        })
    });
    // The floor: a map of shared pointers.
    let map: HashMap<i64, Arc<SbItem>> = loaded
        .iter()
        .map(|o| {
            let v = o.read().unwrap();
            (v.id, Arc::new(v.clone()))
        })
        .collect();
    g.bench_function("hashmap_arc", |b| {
        b.iter(|| {
            for &k in &keys {
                black_box(map.get(&black_box(k)).cloned());
            }
        })
    });
    g.finish();
    drop((loaded, session));

    let mut g = c.benchmark_group(format!("get_miss_1000/{}", target.name));
    g.sampling_mode(SamplingMode::Flat).sample_size(20);
    g.bench_function("session", |b| {
        b.iter_custom(|n| timed(rt, n, nothing, || get_miss_session(engine, &keys)))
    });
    g.bench_function("sqlx", |b| {
        b.iter_custom(|n| timed(rt, n, nothing, || pool.get_many(&keys)))
    });
    g.finish();
    let rounds = std::env::var("ORM_BENCH_PAIRED")
        .ok()
        .and_then(|r| r.parse().ok());
    if let Some(rounds) = rounds.filter(|&r: &usize| r > 0) {
        paired_ratios(rt, target, rounds);
    }
}

/// Runs `a` and `b` (`n` times each, after `setup` each time) in alternation for
/// `rounds` rounds; prints the quartiles of the rounds' ratios a/b.
fn paired<S, SF, A, AF, B, BF, TA, TB>(
    rt: &Runtime,
    label: &str,
    (rounds, n): (usize, u64),
    mut setup: S,
    mut a: A,
    mut b: B,
) where
    S: FnMut() -> SF,
    SF: Future<Output = ()>,
    A: FnMut() -> AF,
    AF: Future<Output = TA>,
    B: FnMut() -> BF,
    BF: Future<Output = TB>,
{
    let mut ratios: Vec<f64> = (0..rounds)
        .map(|_| {
            let ta = timed(rt, n, &mut setup, &mut a);
            let tb = timed(rt, n, &mut setup, &mut b);
            ta.as_secs_f64() / tb.as_secs_f64()
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    let q = |f: f64| ratios[((ratios.len() - 1) as f64 * f).round() as usize];
    println!(
        "paired {label}: median ratio {:.3} (quartiles {:.3}..{:.3}, {rounds} rounds of {n} runs)",
        q(0.5),
        q(0.25),
        q(0.75)
    );
}

/// The paired ratios of every comparison the issues set a goal for (see the top).
fn paired_ratios(rt: &Runtime, target: &Target, rounds: usize) {
    let (engine, pool, name) = (&target.engine, &target.pool, target.name);
    let reset = || target.reset_blog();
    match pool {
        Pool::Postgres(p) => paired(
            rt,
            &format!("flush/{name} session/sqlx_unnest"),
            (rounds, 2),
            reset,
            || flush_session(engine),
            || hand_postgres::flush_unnest(p),
        ),
        Pool::Sqlite(_) => paired(
            rt,
            &format!("flush/{name} session/sqlx"),
            (rounds, 2),
            reset,
            || flush_session(engine),
            || pool.flush(),
        ),
    }
    paired(
        rt,
        &format!("load_10000/{name} session/core"),
        (rounds, 10),
        nothing,
        || load_session(engine),
        || load_core(engine),
    );
    paired(
        rt,
        &format!("selectin_1000x10/{name} session/sqlx"),
        (rounds, 4),
        nothing,
        || selectin_session(engine),
        || pool.selectin(),
    );
    paired(
        rt,
        &format!("joined_1000x10/{name} session/sqlx"),
        (rounds, 4),
        nothing,
        || joined_session(engine),
        || pool.joined(),
    );
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sqlite = rt.block_on(Target::sqlite());
    bench_target(c, &rt, &sqlite);
    rt.block_on(sqlite.drop_all());
    let pg_url = ["ORM_BENCH_POSTGRES_URL", "ORM_TEST_POSTGRES_URL"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()));
    if let Some(url) = pg_url {
        let pg = rt.block_on(Target::postgres(url));
        bench_target(c, &rt, &pg);
        rt.block_on(pg.drop_all());
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
