//! The benchmark's database: Diesel's benchmark schema, the same rows on every backend,
//! and the digests every contestant's answer is checked against.

use std::hash::{DefaultHasher, Hash, Hasher};

/// Users in the table.
pub const USERS: i64 = 10_000;
/// Posts per user.
pub const POSTS_PER_USER: i64 = 10;
/// Lookups by primary key per run.
pub const LOOKUPS: usize = 1_000;
/// Users whose posts the eager-loading workloads load (keys `1..=EAGER_USERS`).
pub const EAGER_USERS: i64 = 1_000;
/// Rows the insert workloads write.
pub const INSERTS: usize = 1_000;
/// Posts per user in the flush workload (which writes `INSERTS` users).
pub const FLUSH_POSTS: usize = 3;
/// The hair colour the join workload filters on.
pub const JOIN_COLOR: &str = "green";
/// Rows the join workload returns.
pub const JOIN_LIMIT: u64 = 100;

/// A backend the benchmark runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A file database in WAL mode.
    Sqlite,
    /// PostgreSQL, in a schema of its own.
    Postgres,
    /// MariaDB (or MySQL), in a database of its own.
    MySql,
}

impl Backend {
    /// Its name in tables and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::MySql => "mariadb",
        }
    }

    /// `sql` with `?` placeholders rewritten as `$1, $2, ...` on PostgreSQL.
    pub fn sql(self, sql: &str) -> String {
        if self != Backend::Postgres {
            return sql.to_owned();
        }
        let mut out = String::with_capacity(sql.len() + 8);
        let mut n = 0;
        for c in sql.chars() {
            if c == '?' {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            } else {
                out.push(c);
            }
        }
        out
    }

    /// CREATE TABLE statements (and the index on `posts.user_id`).
    pub fn ddl(self) -> [&'static str; 3] {
        match self {
            Backend::Sqlite => [
                "CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, hair_color VARCHAR)",
                "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id), \
                 title VARCHAR NOT NULL, body TEXT)",
                "CREATE INDEX posts_user_id ON posts (user_id)",
            ],
            Backend::Postgres => [
                "CREATE TABLE users (id BIGSERIAL PRIMARY KEY, name VARCHAR NOT NULL, hair_color VARCHAR)",
                "CREATE TABLE posts (id BIGSERIAL PRIMARY KEY, user_id BIGINT NOT NULL REFERENCES users (id), \
                 title VARCHAR NOT NULL, body TEXT)",
                "CREATE INDEX posts_user_id ON posts (user_id)",
            ],
            Backend::MySql => [
                "CREATE TABLE users (id BIGINT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(255) NOT NULL, \
                 hair_color VARCHAR(255)) ENGINE = InnoDB",
                "CREATE TABLE posts (id BIGINT AUTO_INCREMENT PRIMARY KEY, user_id BIGINT NOT NULL, \
                 title VARCHAR(255) NOT NULL, body TEXT, \
                 CONSTRAINT posts_user_fk FOREIGN KEY (user_id) REFERENCES users (id)) ENGINE = InnoDB",
                "CREATE INDEX posts_user_id ON posts (user_id)",
            ],
        }
    }
}

/// User `id`'s name.
pub fn user_name(id: i64) -> String {
    format!("User {id}")
}

/// User `id`'s hair colour: a fifth have none.
pub fn user_hair(id: i64) -> Option<&'static str> {
    match id % 5 {
        0 => None,
        1 => Some("black"),
        2 => Some("brown"),
        3 => Some("green"),
        _ => Some("red"),
    }
}

/// Post `id` (of user `(id - 1) / 10 + 1`): its title and body (every other one has none).
pub fn post_title(id: i64) -> String {
    format!("Post number {id}")
}

/// The body of post `id`.
pub fn post_body(id: i64) -> Option<String> {
    (id % 2 == 0).then(|| {
        format!("This is the body of post {id}. It has a few words in it, as a blog post would.")
    })
}

/// The keys the lookup workload reads: 1,000 different ones spread over the table.
pub fn lookup_keys() -> Vec<i64> {
    (0..LOOKUPS as i64)
        .map(|k| 1 + (k * 7919) % USERS)
        .collect()
}

/// A user the insert workloads write: its name and hair colour.
pub fn new_user(i: usize) -> (String, Option<String>) {
    (
        format!("New user {i}"),
        user_hair(i as i64).map(str::to_owned),
    )
}

/// The title of post `j` of new user `i` in the flush workload.
pub fn new_post_title(i: usize, j: usize) -> String {
    format!("New post {j} of new user {i}")
}

/// What a contestant's answer adds up to: a count and an order-independent (or, for
/// ordered answers, position-dependent) hash of every value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Digest {
    /// Rows (users plus posts, or pairs, or statements).
    pub rows: u64,
    /// Wrapping sum of the rows' hashes.
    pub sum: u64,
}

impl Digest {
    /// Adds one row's hash.
    pub fn add(&mut self, h: u64) {
        self.rows += 1;
        self.sum = self.sum.wrapping_add(h);
    }

    /// Adds one row's hash at position `i` of an ordered answer.
    pub fn add_at(&mut self, i: usize, h: u64) {
        self.add(hash(&(i, h)));
    }
}

/// A stable 64-bit hash.
pub fn hash<T: Hash + ?Sized>(v: &T) -> u64 {
    let mut h = DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

/// The hash of one user row.
pub fn h_user(id: i64, name: &str, hair: Option<&str>) -> u64 {
    hash(&("user", id, name, hair))
}

/// The hash of one post row.
pub fn h_post(id: i64, user_id: i64, title: &str, body: Option<&str>) -> u64 {
    hash(&("post", id, user_id, title, body))
}

/// The hash of a (user, post) pair.
pub fn h_pair(user: u64, post: u64) -> u64 {
    hash(&(user, post))
}

/// The hash of a post seen under the user it was loaded with (catches a post attached
/// to the wrong parent).
pub fn h_child(parent_id: i64, post: u64) -> u64 {
    hash(&(parent_id, post))
}
