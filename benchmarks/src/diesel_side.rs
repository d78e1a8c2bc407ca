//! Diesel: its schema DSL, derives, and one connection of its own (synchronous, as Diesel
//! is; the harness runs it between the async contestants).

use diesel::prelude::*;

use crate::data::*;

diesel::table! {
    users (id) {
        id -> BigInt,
        name -> Text,
        hair_color -> Nullable<Text>,
    }
}

diesel::table! {
    posts (id) {
        id -> BigInt,
        user_id -> BigInt,
        title -> Text,
        body -> Nullable<Text>,
    }
}

diesel::joinable!(posts -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(users, posts);

#[derive(Queryable, Selectable, Identifiable, Debug, Clone)]
#[diesel(table_name = users)]
pub struct DUser {
    pub id: i64,
    pub name: String,
    pub hair_color: Option<String>,
}

#[derive(Queryable, Selectable, Identifiable, Associations, Debug, Clone)]
#[diesel(belongs_to(DUser, foreign_key = user_id))]
#[diesel(table_name = posts)]
pub struct DPost {
    pub id: i64,
    pub user_id: i64,
    pub title: String,
    pub body: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = users)]
#[diesel(treat_none_as_default_value = false)]
pub struct NewUser<'a> {
    pub name: &'a str,
    pub hair_color: Option<&'a str>,
}

#[derive(Insertable)]
#[diesel(table_name = posts)]
pub struct NewPost<'a> {
    pub user_id: i64,
    pub title: &'a str,
}

fn new_users(rows: &[(String, Option<String>)]) -> Vec<NewUser<'_>> {
    rows.iter()
        .map(|(n, h)| NewUser {
            name: n,
            hair_color: h.as_deref(),
        })
        .collect()
}

pub fn digest_users(users: &[DUser], ordered: bool) -> Digest {
    let mut d = Digest::default();
    for (i, u) in users.iter().enumerate() {
        let h = h_user(u.id, &u.name, u.hair_color.as_deref());
        if ordered { d.add_at(i, h) } else { d.add(h) }
    }
    d
}

fn h_dpost(p: &DPost) -> u64 {
    h_post(p.id, p.user_id, &p.title, p.body.as_deref())
}

pub fn digest_pairs(pairs: &[(DUser, DPost)]) -> Digest {
    let mut d = Digest::default();
    for (i, (u, p)) in pairs.iter().enumerate() {
        d.add_at(
            i,
            h_pair(h_user(u.id, &u.name, u.hair_color.as_deref()), h_dpost(p)),
        );
    }
    d
}

pub fn digest_tree(tree: &[(DUser, Vec<DPost>)]) -> Digest {
    let mut d = Digest::default();
    for (u, posts) in tree {
        d.add(h_user(u.id, &u.name, u.hair_color.as_deref()));
        for p in posts {
            d.add(h_child(u.id, h_dpost(p)));
        }
    }
    d
}

macro_rules! diesel_impl {
    ($conn:ty) => {
        use super::*;

        pub fn get_by_pk(conn: &mut $conn, keys: &[i64]) -> QueryResult<Vec<DUser>> {
            keys.iter()
                .map(|&k| users::table.find(k).select(DUser::as_select()).first(conn))
                .collect()
        }

        pub fn load_all(conn: &mut $conn) -> QueryResult<Vec<DUser>> {
            users::table.select(DUser::as_select()).load(conn)
        }

        pub fn join_pairs(conn: &mut $conn) -> QueryResult<Vec<(DUser, DPost)>> {
            users::table
                .inner_join(posts::table)
                .filter(users::hair_color.eq(JOIN_COLOR))
                .order(posts::id.desc())
                .limit(JOIN_LIMIT as i64)
                .select((DUser::as_select(), DPost::as_select()))
                .load(conn)
        }

        /// The users, then `belonging_to` (`user_id IN (...)`) and `grouped_by`.
        pub fn eager_two(conn: &mut $conn) -> QueryResult<Vec<(DUser, Vec<DPost>)>> {
            let users: Vec<DUser> = users::table
                .filter(users::id.le(EAGER_USERS))
                .order(users::id.asc())
                .select(DUser::as_select())
                .load(conn)?;
            let posts: Vec<DPost> = DPost::belonging_to(&users)
                .select(DPost::as_select())
                .load(conn)?;
            let grouped = posts.grouped_by(&users);
            Ok(users.into_iter().zip(grouped).collect())
        }

        /// One LEFT JOIN, grouped by hand (Diesel has no helper for it).
        pub fn eager_join(conn: &mut $conn) -> QueryResult<Vec<(DUser, Vec<DPost>)>> {
            let rows: Vec<(DUser, Option<DPost>)> = users::table
                .left_join(posts::table)
                .filter(users::id.le(EAGER_USERS))
                .order(users::id.asc())
                .select((DUser::as_select(), Option::<DPost>::as_select()))
                .load(conn)?;
            let mut out: Vec<(DUser, Vec<DPost>)> = Vec::with_capacity(EAGER_USERS as usize);
            for (u, p) in rows {
                match out.last_mut() {
                    Some((last, posts)) if last.id == u.id => posts.extend(p),
                    _ => out.push((u, p.into_iter().collect())),
                }
            }
            Ok(out)
        }

        pub fn insert_batched(
            conn: &mut $conn,
            rows: &[(String, Option<String>)],
        ) -> QueryResult<()> {
            diesel::insert_into(users::table)
                .values(&new_users(rows))
                .execute(conn)?;
            Ok(())
        }

        pub fn insert_each(conn: &mut $conn, rows: &[(String, Option<String>)]) -> QueryResult<()> {
            conn.transaction(|c| {
                for (n, h) in rows {
                    diesel::insert_into(users::table)
                        .values(&NewUser {
                            name: n,
                            hair_color: h.as_deref(),
                        })
                        .execute(c)?;
                }
                Ok(())
            })
        }

        pub fn flush(conn: &mut $conn, rows: &[(String, Option<String>)]) -> QueryResult<Vec<i64>> {
            conn.transaction(|c| {
                let ids = insert_returning_ids(c, rows)?;
                let titles: Vec<(i64, String)> = ids
                    .iter()
                    .enumerate()
                    .flat_map(|(i, &id)| (0..FLUSH_POSTS).map(move |j| (id, new_post_title(i, j))))
                    .collect();
                let posts: Vec<NewPost<'_>> = titles
                    .iter()
                    .map(|(id, t)| NewPost {
                        user_id: *id,
                        title: t,
                    })
                    .collect();
                diesel::insert_into(posts::table)
                    .values(&posts)
                    .execute(c)?;
                Ok(ids)
            })
        }
    };
}

pub mod sqlite {
    diesel_impl!(diesel::SqliteConnection);

    fn insert_returning_ids(
        c: &mut diesel::SqliteConnection,
        rows: &[(String, Option<String>)],
    ) -> QueryResult<Vec<i64>> {
        let mut ids: Vec<i64> = diesel::insert_into(users::table)
            .values(&new_users(rows))
            .returning(users::id)
            .get_results(c)?;
        ids.sort_unstable();
        Ok(ids)
    }
}

pub mod postgres {
    diesel_impl!(diesel::PgConnection);

    fn insert_returning_ids(
        c: &mut diesel::PgConnection,
        rows: &[(String, Option<String>)],
    ) -> QueryResult<Vec<i64>> {
        let mut ids: Vec<i64> = diesel::insert_into(users::table)
            .values(&new_users(rows))
            .returning(users::id)
            .get_results(c)?;
        ids.sort_unstable();
        Ok(ids)
    }
}

pub mod mysql {
    diesel_impl!(diesel::MysqlConnection);

    /// No RETURNING: consecutive keys from `LAST_INSERT_ID()`, as the hand-written code.
    fn insert_returning_ids(
        c: &mut diesel::MysqlConnection,
        rows: &[(String, Option<String>)],
    ) -> QueryResult<Vec<i64>> {
        diesel::insert_into(users::table)
            .values(&new_users(rows))
            .execute(c)?;
        let first: u64 = diesel::select(diesel::dsl::sql::<
            diesel::sql_types::Unsigned<diesel::sql_types::BigInt>,
        >("LAST_INSERT_ID()"))
        .get_result(c)?;
        let first = first as i64;
        Ok((first..first + rows.len() as i64).collect())
    }
}
