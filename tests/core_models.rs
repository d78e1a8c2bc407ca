//! Whole models in Core queries: `columns_of::<M>()` selects a model's columns and
//! `row.decode::<(User, Post)>()` reads the parts back, without column offsets by hand.

use orm::prelude::*;
use orm::text;

use crate::backend_tests;
use crate::session::{Post, User, setup};
use crate::support::TestDb;

backend_tests!(joined_rows_decode_into_several_models_and_values);

async fn joined_rows_decode_into_several_models_and_values(db: &TestDb) {
    let (engine, _log) = setup(db).await;
    let mut session = Session::new(&engine);
    for name in ["ed", "al"] {
        let u = session.add(User::new(name));
        for t in ["x", "y"] {
            let p = session.add(Post::new(format!("{name}-{t}")));
            u.write().unwrap().posts.push(&p);
        }
    }
    session.commit().await.unwrap();
    drop(session);

    let stmt = select(columns_of::<User>())
        .add_columns(columns_of::<Post>())
        .from(User::table())
        .join(Post::table(), User::id.eq(Post::user_id))
        .order_by(Post::title.asc());
    let rows = engine.fetch_all(&stmt).await.unwrap();
    let pairs: Vec<(User, Post)> = rows.iter().map(|r| r.decode().unwrap()).collect();
    let seen: Vec<(String, String)> = pairs
        .iter()
        .map(|(u, p)| (u.name.clone(), p.title.clone()))
        .collect();
    assert_eq!(
        seen,
        [
            ("al", "al-x"),
            ("al", "al-y"),
            ("ed", "ed-x"),
            ("ed", "ed-y")
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    assert!(pairs.iter().all(|(u, p)| p.user_id == Some(u.id)));

    // Values and models mix: a count, then a model, then a value.
    let stmt = select(func::count_star())
        .add_columns(columns_of::<User>())
        .add_columns(User::name)
        .from(User::table())
        .join(Post::table(), User::id.eq(Post::user_id))
        .group_by(User::id)
        .group_by(User::name)
        .group_by(User::email)
        .order_by(User::name.asc());
    let rows = engine.fetch_all(&stmt).await.unwrap();
    let (n, user, name): (i64, User, String) = rows[1].decode().unwrap();
    assert_eq!((n, user.name.as_str(), name.as_str()), (2, "ed", "ed"));

    // Too few columns for the parts is an error, not a panic.
    let row = engine.fetch_one(text("SELECT 1, 'ed'")).await.unwrap();
    assert!(row.decode::<(i64, User)>().is_err());
}
