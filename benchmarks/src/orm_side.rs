//! `orm`, through the Core (Engine, `select`, `insert`, rows decoded into models) and
//! through the Session (identity map, `query`, loader options, unit of work).

use std::collections::HashMap;
use std::sync::Arc;

use orm::prelude::*;
use orm::sql::SelectStatement;

use crate::data::*;

#[derive(Model, Debug, Clone)]
#[orm(table = "users")]
pub struct User {
    #[orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub hair_color: Option<String>,
    #[relationship(back_populates = "author")]
    pub posts: Related<Vec<Post>>,
}

#[derive(Model, Debug, Clone)]
#[orm(table = "posts")]
pub struct Post {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(foreign_key = "users.id", index)]
    pub user_id: i64,
    pub title: String,
    pub body: Option<String>,
    #[relationship(back_populates = "posts")]
    pub author: Related<User>,
}

pub fn digest_users(users: &[User], ordered: bool) -> Digest {
    let mut d = Digest::default();
    for (i, u) in users.iter().enumerate() {
        let h = h_user(u.id, &u.name, u.hair_color.as_deref());
        if ordered { d.add_at(i, h) } else { d.add(h) }
    }
    d
}

fn h_opost(p: &Post) -> u64 {
    h_post(p.id, p.user_id, &p.title, p.body.as_deref())
}

pub fn digest_pairs(pairs: &[(User, Post)]) -> Digest {
    let mut d = Digest::default();
    for (i, (u, p)) in pairs.iter().enumerate() {
        d.add_at(
            i,
            h_pair(h_user(u.id, &u.name, u.hair_color.as_deref()), h_opost(p)),
        );
    }
    d
}

pub fn digest_tree(tree: &[(User, Vec<Post>)]) -> Digest {
    let mut d = Digest::default();
    for (u, posts) in tree {
        d.add(h_user(u.id, &u.name, u.hair_color.as_deref()));
        for p in posts {
            d.add(h_child(u.id, h_opost(p)));
        }
    }
    d
}

pub fn digest_objs(users: &[Obj<User>], ordered: bool) -> Digest {
    let mut d = Digest::default();
    for (i, o) in users.iter().enumerate() {
        let u = o.read().unwrap();
        let h = h_user(u.id, &u.name, u.hair_color.as_deref());
        if ordered { d.add_at(i, h) } else { d.add(h) }
    }
    d
}

/// Posts with their authors loaded, as (user, post) pairs.
pub fn digest_obj_pairs(posts: &[Obj<Post>]) -> Digest {
    let mut d = Digest::default();
    for (i, o) in posts.iter().enumerate() {
        let p = o.read().unwrap();
        let author = p.author.get().unwrap().read().unwrap();
        d.add_at(
            i,
            h_pair(
                h_user(author.id, &author.name, author.hair_color.as_deref()),
                h_opost(&p),
            ),
        );
    }
    d
}

/// Users with their posts loaded.
pub fn digest_obj_tree(users: &[Obj<User>]) -> Digest {
    let mut d = Digest::default();
    for o in users {
        let u = o.read().unwrap();
        d.add(h_user(u.id, &u.name, u.hair_color.as_deref()));
        for p in u.posts.get().unwrap() {
            d.add(h_child(u.id, h_opost(&p.read().unwrap())));
        }
    }
    d
}

/// The user columns, in the model's order.
type UserColumns = (
    Column<User, i64>,
    Column<User, String>,
    Column<User, Option<String>>,
);

fn user_columns() -> UserColumns {
    (User::id, User::name, User::hair_color)
}

fn pair_columns() -> SelectStatement {
    select((
        User::id,
        User::name,
        User::hair_color,
        Post::id,
        Post::user_id,
        Post::title,
        Post::body,
    ))
}

/// The join statement of the join workload, with this run's value.
pub fn join_statement(color: &str) -> SelectStatement {
    pair_columns()
        .from(User::table())
        .join(Post::table(), Post::user_id.eq(User::id))
        .filter(User::hair_color.eq(color.to_owned()))
        .order_by(Post::id.desc())
        .limit(JOIN_LIMIT)
}

// ---- the Core

/// The Core's lookup by key (`get`: SQL the model compiled once) on one connection, as
/// Diesel's `find` runs on its connection.
pub async fn core_get_by_pk(engine: &Engine, keys: &[i64]) -> orm::Result<Vec<User>> {
    let mut conn = engine.connect().await?;
    let mut out = Vec::with_capacity(keys.len());
    for &k in keys {
        out.push(conn.get::<User>(k).await?.ok_or(orm::Error::RowNotFound)?);
    }
    Ok(out)
}

pub async fn core_load_all(engine: &Engine) -> orm::Result<Vec<User>> {
    engine.fetch_all_as(select(user_columns())).await
}

pub async fn core_join_pairs(engine: &Engine) -> orm::Result<Vec<(User, Post)>> {
    engine.fetch_all_as(join_statement(JOIN_COLOR)).await
}

pub async fn core_eager_two(engine: &Engine) -> orm::Result<Vec<(User, Vec<Post>)>> {
    let users: Vec<User> = engine
        .fetch_all_as(
            select(user_columns())
                .filter(User::id.le(EAGER_USERS))
                .order_by(User::id.asc()),
        )
        .await?;
    let stmt = select((Post::id, Post::user_id, Post::title, Post::body))
        .filter(Post::user_id.in_(users.iter().map(|u| u.id)));
    let posts: Vec<Post> = engine.fetch_all_as(stmt).await?;
    let mut by_user: HashMap<i64, Vec<Post>> = HashMap::with_capacity(users.len());
    for p in posts {
        by_user.entry(p.user_id).or_default().push(p);
    }
    Ok(users
        .into_iter()
        .map(|u| {
            let posts = by_user.remove(&u.id).unwrap_or_default();
            (u, posts)
        })
        .collect())
}

pub async fn core_eager_join(engine: &Engine) -> orm::Result<Vec<(User, Vec<Post>)>> {
    let stmt = pair_columns()
        .from(User::table())
        .left_join(Post::table(), Post::user_id.eq(User::id))
        .filter(User::id.le(EAGER_USERS))
        .order_by(User::id.asc());
    let rows = engine.fetch_all(stmt).await?;
    let mut out: Vec<(User, Vec<Post>)> = Vec::with_capacity(EAGER_USERS as usize);
    for r in &rows {
        let id: i64 = r.get(0)?;
        if out.last().is_none_or(|(u, _)| u.id != id) {
            out.push((User::from_row(r, 0)?, Vec::new()));
        }
        if r.get::<Option<i64>>(3)?.is_some() {
            out.last_mut().unwrap().1.push(Post::from_row(r, 3)?);
        }
    }
    Ok(out)
}

pub async fn core_insert_batched(
    engine: &Engine,
    rows: &[(String, Option<String>)],
) -> orm::Result<()> {
    let stmt = insert(User::table()).values_many(
        rows.iter()
            .map(|(name, hair)| {
                (
                    User::name.set(name.clone()),
                    User::hair_color.set(hair.clone()),
                )
            })
            .collect::<Vec<_>>(),
    );
    engine.execute(stmt).await?;
    Ok(())
}

pub async fn core_insert_each(
    engine: &Engine,
    rows: &[(String, Option<String>)],
) -> orm::Result<()> {
    let mut tx = engine.begin().await?;
    for (name, hair) in rows {
        tx.execute(insert(User::table()).values((
            User::name.set(name.clone()),
            User::hair_color.set(hair.clone()),
        )))
        .await?;
    }
    tx.commit().await
}

/// The users with their keys back (RETURNING; consecutive from the last insert id on
/// MySQL, which has no multi-row RETURNING), then the posts, in one transaction.
pub async fn core_flush(
    engine: &Engine,
    users: &[(String, Option<String>)],
) -> orm::Result<Vec<i64>> {
    let mut tx = engine.begin().await?;
    let stmt = insert(User::table()).values_many(
        users
            .iter()
            .map(|(name, hair)| {
                (
                    User::name.set(name.clone()),
                    User::hair_color.set(hair.clone()),
                )
            })
            .collect::<Vec<_>>(),
    );
    let ids: Vec<i64> = if engine.dialect().is_mysql() {
        let done = tx.execute(stmt).await?;
        let first = done.last_insert_id().expect("MySQL reports the first key");
        (first..first + users.len() as i64).collect()
    } else {
        let rows = tx.fetch_all(stmt.returning(User::id)).await?;
        let mut ids: Vec<i64> = rows.iter().map(|r| r.get(0)).collect::<orm::Result<_>>()?;
        ids.sort_unstable();
        ids
    };
    let posts: Vec<_> = ids
        .iter()
        .enumerate()
        .flat_map(|(i, &id)| {
            (0..FLUSH_POSTS)
                .map(move |j| (Post::user_id.set(id), Post::title.set(new_post_title(i, j))))
        })
        .collect();
    tx.execute(insert(Post::table()).values_many(posts)).await?;
    tx.commit().await?;
    Ok(ids)
}

/// Builds and compiles the join statement 1,000 times with new values (the statement
/// cache hands back the SQL text after the first).
pub fn core_compile(dialect: Dialect, colors: &[String]) -> Vec<orm::Compiled> {
    colors
        .iter()
        .map(|c| join_statement(c).compile(dialect).expect("compiles"))
        .collect()
}

// ---- the Session

pub async fn session_get_by_pk(engine: &Engine, keys: &[i64]) -> orm::Result<Vec<Obj<User>>> {
    let mut session = Session::new(engine);
    let mut out = Vec::with_capacity(keys.len());
    for &k in keys {
        out.push(session.get::<User>(k).await?.expect("the key exists"));
    }
    session.commit().await?;
    Ok(out)
}

pub async fn session_load_all(engine: &Engine) -> orm::Result<Vec<Obj<User>>> {
    let mut session = Session::new(engine);
    let users = session.query::<User>().all().await?;
    session.commit().await?;
    Ok(users)
}

/// The Session returns one model per query: the posts of the join, with their authors
/// loaded by selectin (a second SELECT).
pub async fn session_join_pairs(engine: &Engine) -> orm::Result<Vec<Obj<Post>>> {
    let mut session = Session::new(engine);
    let posts = session
        .query::<Post>()
        .join(User::table(), User::id.eq(Post::user_id))
        .filter(User::hair_color.eq(JOIN_COLOR))
        .order_by(Post::id.desc())
        .limit(JOIN_LIMIT)
        .options(contains_eager(Post::author))
        .all()
        .await?;
    session.commit().await?;
    Ok(posts)
}

pub async fn session_eager(engine: &Engine, joined: bool) -> orm::Result<Vec<Obj<User>>> {
    let mut session = Session::new(engine);
    let q = session
        .query::<User>()
        .filter(User::id.le(EAGER_USERS))
        .order_by(User::id.asc());
    let q = if joined {
        q.options(joinedload(User::posts))
    } else {
        q.options(selectinload(User::posts))
    };
    let users = q.all().await?;
    session.commit().await?;
    Ok(users)
}

pub async fn session_insert_batched(
    engine: &Engine,
    rows: &[(String, Option<String>)],
) -> orm::Result<Vec<Obj<User>>> {
    let mut session = Session::new(engine);
    let users: Vec<Obj<User>> = rows
        .iter()
        .map(|(name, hair)| {
            let mut u = User::new(name.clone());
            u.hair_color = hair.clone();
            session.add(u)
        })
        .collect();
    session.commit().await?;
    Ok(users)
}

pub async fn session_insert_each(
    engine: &Engine,
    rows: &[(String, Option<String>)],
) -> orm::Result<Vec<Obj<User>>> {
    let mut session = Session::new(engine);
    let mut users = Vec::with_capacity(rows.len());
    for (name, hair) in rows {
        let mut u = User::new(name.clone());
        u.hair_color = hair.clone();
        users.push(session.add(u));
        session.flush().await?;
    }
    session.commit().await?;
    Ok(users)
}

/// Users and posts linked only through `posts.push`: the flush sets the foreign keys.
pub async fn session_flush(
    engine: &Engine,
    users: &[(String, Option<String>)],
) -> orm::Result<Vec<Obj<User>>> {
    let mut session = Session::new(engine);
    let mut out = Vec::with_capacity(users.len());
    for (i, (name, hair)) in users.iter().enumerate() {
        let mut u = User::new(name.clone());
        u.hair_color = hair.clone();
        let u = session.add(u);
        for j in 0..FLUSH_POSTS {
            let p = session.add(Post::new(0i64, new_post_title(i, j)));
            u.write().expect("not locked").posts.push(&p);
        }
        out.push(u);
    }
    session.commit().await?;
    Ok(out)
}

/// A session holding every user, for the identity-map workload.
pub async fn loaded_session(engine: &Engine) -> orm::Result<(Session, HashMap<i64, Arc<User>>)> {
    let mut session = Session::new(engine);
    let users = session.query::<User>().all().await?;
    session.commit().await?;
    let map = users
        .iter()
        .map(|o| {
            let u = o.read().expect("not locked");
            (u.id, Arc::new(u.clone()))
        })
        .collect();
    Ok((session, map))
}

/// `session.get` of objects already in the identity map: no SQL.
pub async fn session_get_hits(session: &mut Session, keys: &[i64]) -> orm::Result<Vec<Obj<User>>> {
    let mut out = Vec::with_capacity(keys.len());
    for &k in keys {
        out.push(session.get::<User>(k).await?.expect("loaded"));
    }
    Ok(out)
}
