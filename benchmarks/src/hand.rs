//! Hand-written sqlx: the SQL typed out, rows read by position into plain structs, on a
//! `Pool` (a connection checked out per statement, as `fetch_all(&pool)` does) or on one
//! dedicated connection. This is the baseline every ratio is taken against.
//!
//! Also the harness's own database work: creating and seeding the tables, and reading
//! back what the write workloads wrote.

use std::collections::HashMap;

use crate::data::*;

/// A user row.
#[derive(Debug, Clone)]
pub struct HUser {
    pub id: i64,
    pub name: String,
    pub hair_color: Option<String>,
}

/// A post row.
#[derive(Debug, Clone)]
pub struct HPost {
    pub id: i64,
    pub user_id: i64,
    pub title: String,
    pub body: Option<String>,
}

/// The SQL the hand-written code runs, with the backend's placeholders.
pub struct Sql {
    by_pk: String,
    all_users: String,
    join: String,
    eager_users: String,
    eager_join: String,
    insert_user: String,
}

impl Sql {
    pub fn new(b: Backend) -> Sql {
        Sql {
            by_pk: b.sql("SELECT id, name, hair_color FROM users WHERE id = ?"),
            all_users: b.sql("SELECT id, name, hair_color FROM users"),
            join: b.sql(
                "SELECT users.id, users.name, users.hair_color, posts.id, posts.user_id, posts.title, posts.body \
                 FROM users INNER JOIN posts ON posts.user_id = users.id \
                 WHERE users.hair_color = ? ORDER BY posts.id DESC LIMIT 100",
            ),
            eager_users: b.sql("SELECT id, name, hair_color FROM users WHERE id <= ? ORDER BY id"),
            eager_join: b.sql(
                "SELECT users.id, users.name, users.hair_color, posts.id, posts.user_id, posts.title, posts.body \
                 FROM users LEFT OUTER JOIN posts ON posts.user_id = users.id \
                 WHERE users.id <= ? ORDER BY users.id",
            ),
            insert_user: b.sql("INSERT INTO users (name, hair_color) VALUES (?, ?)"),
        }
    }
}

/// Groups joined rows (ordered by user) into users with their posts.
pub fn group_joined(rows: Vec<(HUser, Option<HPost>)>) -> Vec<(HUser, Vec<HPost>)> {
    let mut out: Vec<(HUser, Vec<HPost>)> = Vec::with_capacity(EAGER_USERS as usize);
    for (u, p) in rows {
        match out.last_mut() {
            Some((last, posts)) if last.id == u.id => posts.extend(p),
            _ => out.push((u, p.into_iter().collect())),
        }
    }
    out
}

/// Attaches posts to their users.
pub fn attach(users: Vec<HUser>, posts: Vec<HPost>) -> Vec<(HUser, Vec<HPost>)> {
    let mut by_user: HashMap<i64, Vec<HPost>> = HashMap::with_capacity(users.len());
    for p in posts {
        by_user.entry(p.user_id).or_default().push(p);
    }
    users
        .into_iter()
        .map(|u| {
            let posts = by_user.remove(&u.id).unwrap_or_default();
            (u, posts)
        })
        .collect()
}

pub fn digest_users(users: &[HUser]) -> Digest {
    let mut d = Digest::default();
    for u in users {
        d.add(h_user(u.id, &u.name, u.hair_color.as_deref()));
    }
    d
}

pub fn digest_users_ordered(users: &[HUser]) -> Digest {
    let mut d = Digest::default();
    for (i, u) in users.iter().enumerate() {
        d.add_at(i, h_user(u.id, &u.name, u.hair_color.as_deref()));
    }
    d
}

fn h_hpost(p: &HPost) -> u64 {
    h_post(p.id, p.user_id, &p.title, p.body.as_deref())
}

pub fn digest_pairs(pairs: &[(HUser, HPost)]) -> Digest {
    let mut d = Digest::default();
    for (i, (u, p)) in pairs.iter().enumerate() {
        d.add_at(
            i,
            h_pair(h_user(u.id, &u.name, u.hair_color.as_deref()), h_hpost(p)),
        );
    }
    d
}

pub fn digest_tree(tree: &[(HUser, Vec<HPost>)]) -> Digest {
    let mut d = Digest::default();
    for (u, posts) in tree {
        d.add(h_user(u.id, &u.name, u.hair_color.as_deref()));
        for p in posts {
            d.add(h_child(u.id, h_hpost(p)));
        }
    }
    d
}

macro_rules! hand_written {
    ($db:ty, $conn:ty, $backend:expr, $max_params:expr) => {
        use sqlx::{Connection as _, QueryBuilder, Row as _};

        use super::*;

        type DbRow = <$db as sqlx::Database>::Row;

        /// A pool and one dedicated connection on the same database.
        pub struct Hand {
            pub pool: sqlx::Pool<$db>,
            pub conn: $conn,
            sql: Sql,
        }

        /// Runs `$q` with `$method` on the connection or on the pool.
        macro_rules! on {
            ($self:ident, $c:expr, $q:expr, $method:ident) => {
                if $c {
                    $q.$method(&mut $self.conn).await
                } else {
                    $q.$method(&$self.pool).await
                }
            };
        }

        fn user(row: &DbRow, at: usize) -> HUser {
            HUser {
                id: row.get(at),
                name: row.get(at + 1),
                hair_color: row.get(at + 2),
            }
        }

        fn post(row: &DbRow, at: usize) -> HPost {
            HPost {
                id: row.get(at),
                user_id: row.get(at + 1),
                title: row.get(at + 2),
                body: row.get(at + 3),
            }
        }

        fn opt_post(row: &DbRow, at: usize) -> Option<HPost> {
            let id: Option<i64> = row.get(at);
            id.map(|id| HPost {
                id,
                user_id: row.get(at + 1),
                title: row.get(at + 2),
                body: row.get(at + 3),
            })
        }

        impl Hand {
            pub fn new(pool: sqlx::Pool<$db>, conn: $conn) -> Hand {
                Hand {
                    pool,
                    conn,
                    sql: Sql::new($backend),
                }
            }

            /// 1,000 lookups by primary key.
            pub async fn get_by_pk(&mut self, c: bool, keys: &[i64]) -> sqlx::Result<Vec<HUser>> {
                let mut out = Vec::with_capacity(keys.len());
                for &k in keys {
                    let q = sqlx::query(&self.sql.by_pk).bind(k);
                    let row = on!(self, c, q, fetch_one)?;
                    out.push(user(&row, 0));
                }
                Ok(out)
            }

            /// Every user into structs.
            pub async fn load_all(&mut self, c: bool) -> sqlx::Result<Vec<HUser>> {
                let q = sqlx::query(&self.sql.all_users);
                let rows = on!(self, c, q, fetch_all)?;
                Ok(rows.iter().map(|r| user(r, 0)).collect())
            }

            /// The join: 100 (user, post) pairs.
            pub async fn join_pairs(&mut self, c: bool) -> sqlx::Result<Vec<(HUser, HPost)>> {
                let q = sqlx::query(&self.sql.join).bind(JOIN_COLOR);
                let rows = on!(self, c, q, fetch_all)?;
                Ok(rows.iter().map(|r| (user(r, 0), post(r, 3))).collect())
            }

            /// 1,000 users, then their posts with `user_id IN (...)`.
            pub async fn eager_two(&mut self, c: bool) -> sqlx::Result<Vec<(HUser, Vec<HPost>)>> {
                let q = sqlx::query(&self.sql.eager_users).bind(EAGER_USERS);
                let users: Vec<HUser> = on!(self, c, q, fetch_all)?
                    .iter()
                    .map(|r| user(r, 0))
                    .collect();
                let mut qb = QueryBuilder::<$db>::new(
                    "SELECT id, user_id, title, body FROM posts WHERE user_id IN (",
                );
                let mut sep = qb.separated(", ");
                for u in &users {
                    sep.push_bind(u.id);
                }
                qb.push(")");
                let q = qb.build();
                let posts: Vec<HPost> = on!(self, c, q, fetch_all)?
                    .iter()
                    .map(|r| post(r, 0))
                    .collect();
                Ok(attach(users, posts))
            }

            /// 1,000 users and their posts in one LEFT JOIN, grouped.
            pub async fn eager_join(&mut self, c: bool) -> sqlx::Result<Vec<(HUser, Vec<HPost>)>> {
                let q = sqlx::query(&self.sql.eager_join).bind(EAGER_USERS);
                let rows = on!(self, c, q, fetch_all)?;
                Ok(group_joined(
                    rows.iter().map(|r| (user(r, 0), opt_post(r, 3))).collect(),
                ))
            }

            /// 1,000 users in one multi-row INSERT.
            pub async fn insert_batched(
                &mut self,
                c: bool,
                rows: &[(String, Option<String>)],
            ) -> sqlx::Result<()> {
                let mut qb = QueryBuilder::<$db>::new("INSERT INTO users (name, hair_color) ");
                qb.push_values(rows, |mut b, (name, hair)| {
                    b.push_bind(name).push_bind(hair);
                });
                let q = qb.build();
                on!(self, c, q, execute)?;
                Ok(())
            }

            /// 1,000 single-row INSERTs in one transaction.
            pub async fn insert_each(
                &mut self,
                c: bool,
                rows: &[(String, Option<String>)],
            ) -> sqlx::Result<()> {
                let mut tx = if c {
                    sqlx::Connection::begin(&mut self.conn).await?
                } else {
                    self.pool.begin().await?
                };
                for (name, hair) in rows {
                    sqlx::query(&self.sql.insert_user)
                        .bind(name)
                        .bind(hair)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await
            }

            /// 1,000 users with their keys back, then their 3,000 posts, in one
            /// transaction.
            pub async fn flush(
                &mut self,
                c: bool,
                users: &[(String, Option<String>)],
            ) -> sqlx::Result<Vec<i64>> {
                let mut tx = if c {
                    sqlx::Connection::begin(&mut self.conn).await?
                } else {
                    self.pool.begin().await?
                };
                let mut qb = QueryBuilder::<$db>::new("INSERT INTO users (name, hair_color) ");
                qb.push_values(users, |mut b, (name, hair)| {
                    b.push_bind(name).push_bind(hair);
                });
                let ids = insert_returning_ids(&mut tx, qb, users.len()).await?;
                let posts: Vec<(i64, String)> = ids
                    .iter()
                    .enumerate()
                    .flat_map(|(i, &id)| (0..FLUSH_POSTS).map(move |j| (id, new_post_title(i, j))))
                    .collect();
                for chunk in posts.chunks($max_params / 2) {
                    let mut qb = QueryBuilder::<$db>::new("INSERT INTO posts (user_id, title) ");
                    qb.push_values(chunk, |mut b, (id, title)| {
                        b.push_bind(*id).push_bind(title);
                    });
                    qb.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(ids)
            }

            /// Builds the join statement with its bind value, 1,000 times, without running
            /// it: what sqlx does before it sends a query.
            pub fn build_statements<'a>(
                &'a self,
                colors: &'a [String],
            ) -> Vec<sqlx::query::Query<'a, $db, <$db as sqlx::Database>::Arguments<'a>>> {
                colors
                    .iter()
                    .map(|color| sqlx::query(&self.sql.join).bind(color.as_str()))
                    .collect()
            }

            // ---- the harness's own work

            pub async fn create_and_seed(&mut self) -> sqlx::Result<()> {
                for stmt in $backend.ddl() {
                    sqlx::query(stmt).execute(&self.pool).await?;
                }
                let mut tx = self.pool.begin().await?;
                let ids: Vec<i64> = (1..=USERS).collect();
                for chunk in ids.chunks(1000) {
                    let mut qb =
                        QueryBuilder::<$db>::new("INSERT INTO users (id, name, hair_color) ");
                    qb.push_values(chunk, |mut b, &id| {
                        b.push_bind(id)
                            .push_bind(user_name(id))
                            .push_bind(user_hair(id));
                    });
                    qb.build().execute(&mut *tx).await?;
                }
                let ids: Vec<i64> = (1..=USERS * POSTS_PER_USER).collect();
                for chunk in ids.chunks(1000) {
                    let mut qb =
                        QueryBuilder::<$db>::new("INSERT INTO posts (id, user_id, title, body) ");
                    qb.push_values(chunk, |mut b, &id| {
                        b.push_bind(id)
                            .push_bind((id - 1) / POSTS_PER_USER + 1)
                            .push_bind(post_title(id))
                            .push_bind(post_body(id));
                    });
                    qb.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                after_seed(&self.pool).await
            }

            /// Deletes what the write workloads added.
            pub async fn delete_new(&mut self) -> sqlx::Result<()> {
                let q = format!("DELETE FROM posts WHERE user_id > {USERS}");
                sqlx::query(&q).execute(&self.pool).await?;
                let q = format!("DELETE FROM users WHERE id > {USERS}");
                sqlx::query(&q).execute(&self.pool).await?;
                Ok(())
            }

            /// The users and posts the write workloads added, as the database has them
            /// (keys left out: they differ from run to run).
            pub async fn new_rows_digest(&mut self) -> sqlx::Result<Digest> {
                let mut d = Digest::default();
                let q = format!("SELECT name, hair_color FROM users WHERE id > {USERS}");
                for r in sqlx::query(&q).fetch_all(&self.pool).await? {
                    let (name, hair): (String, Option<String>) = (r.get(0), r.get(1));
                    d.add(hash(&(name, hair)));
                }
                let q = format!(
                    "SELECT users.name, posts.title, posts.body FROM posts \
                     INNER JOIN users ON users.id = posts.user_id WHERE users.id > {USERS}"
                );
                for r in sqlx::query(&q).fetch_all(&self.pool).await? {
                    let (name, title, body): (String, String, Option<String>) =
                        (r.get(0), r.get(1), r.get(2));
                    d.add(hash(&(name, title, body)));
                }
                Ok(d)
            }

            /// Keys back from the hand-written flush are those of the users it wrote, in
            /// order.
            pub async fn check_ids(
                &mut self,
                ids: &[i64],
                users: &[(String, Option<String>)],
            ) -> sqlx::Result<()> {
                let q = format!("SELECT id, name FROM users WHERE id > {USERS}");
                let got: HashMap<i64, String> = sqlx::query(&q)
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(|r| (r.get(0), r.get(1)))
                    .collect();
                for (id, (name, _)) in ids.iter().zip(users) {
                    assert_eq!(got.get(id), Some(name), "key {id}");
                }
                Ok(())
            }

            pub async fn close(self) {
                let _ = self.conn.close().await;
                self.pool.close().await;
            }
        }
    };
}

pub mod sqlite {
    hand_written!(
        sqlx::Sqlite,
        sqlx::SqliteConnection,
        Backend::Sqlite,
        32_766usize
    );

    /// SQLite has RETURNING (3.35 and later): the keys come back in insertion order.
    async fn insert_returning_ids(
        tx: &mut sqlx::SqliteConnection,
        mut qb: QueryBuilder<'_, sqlx::Sqlite>,
        _n: usize,
    ) -> sqlx::Result<Vec<i64>> {
        qb.push(" RETURNING id");
        let mut ids: Vec<i64> = qb.build_query_scalar().fetch_all(&mut *tx).await?;
        ids.sort_unstable();
        Ok(ids)
    }

    async fn after_seed(_pool: &sqlx::SqlitePool) -> sqlx::Result<()> {
        Ok(())
    }
}

pub mod postgres {
    hand_written!(
        sqlx::Postgres,
        sqlx::PgConnection,
        Backend::Postgres,
        65_535usize
    );

    /// RETURNING; keys are generated in row order, RETURNING's order is not promised.
    async fn insert_returning_ids(
        tx: &mut sqlx::PgConnection,
        mut qb: QueryBuilder<'_, sqlx::Postgres>,
        _n: usize,
    ) -> sqlx::Result<Vec<i64>> {
        qb.push(" RETURNING id");
        let mut ids: Vec<i64> = qb.build_query_scalar().fetch_all(&mut *tx).await?;
        ids.sort_unstable();
        Ok(ids)
    }

    /// The sequences continue after the seeded keys.
    async fn after_seed(pool: &sqlx::PgPool) -> sqlx::Result<()> {
        sqlx::query("SELECT setval('users_id_seq', (SELECT MAX(id) FROM users))")
            .execute(pool)
            .await?;
        sqlx::query("SELECT setval('posts_id_seq', (SELECT MAX(id) FROM posts))")
            .execute(pool)
            .await?;
        Ok(())
    }
}

pub mod mysql {
    hand_written!(
        sqlx::MySql,
        sqlx::MySqlConnection,
        Backend::MySql,
        65_535usize
    );

    /// No RETURNING: a multi-row INSERT's keys are consecutive from `LAST_INSERT_ID()`
    /// (InnoDB's "simple insert" with `innodb_autoinc_lock_mode` 0, 1 or 2).
    async fn insert_returning_ids(
        tx: &mut sqlx::MySqlConnection,
        qb: QueryBuilder<'_, sqlx::MySql>,
        n: usize,
    ) -> sqlx::Result<Vec<i64>> {
        let mut qb = qb;
        let done = qb.build().execute(&mut *tx).await?;
        let first = done.last_insert_id() as i64;
        Ok((first..first + n as i64).collect())
    }

    async fn after_seed(_pool: &sqlx::MySqlPool) -> sqlx::Result<()> {
        Ok(())
    }
}
