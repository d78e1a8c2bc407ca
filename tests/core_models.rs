//! Whole models in Core queries: `columns_of::<M>()` selects a model's columns and
//! `row.decode::<(User, Post)>()` reads the parts back, without column offsets by hand.

use orm::prelude::*;
use orm::text;

use crate::backend_tests;
use crate::session::{Post, PostTag, Tag, User, setup};
use crate::support::TestDb;

backend_tests!(
    joined_rows_decode_into_several_models_and_values,
    get_reads_the_row_of_a_key_in_one_select_with_every_column,
);

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

/// `get` by primary key: one SELECT, the row decoded into the model (deferred columns
/// too), `None` for a key with no row; on the engine, a connection and a transaction
/// (which sees its own uncommitted row); composite keys as tuples.
async fn get_reads_the_row_of_a_key_in_one_select_with_every_column(db: &TestDb) {
    let (engine, log) = setup(db).await;
    engine
        .execute(insert(User::table()).values_many(vec![
            (User::name.set("ed"), User::email.set(Some("ed@x"))),
            (User::name.set("al"), User::email.set(None::<String>)),
        ]))
        .await
        .unwrap();
    log.take();
    let ed = engine.get::<User>(1).await.unwrap().unwrap();
    assert_eq!((ed.id, ed.name.as_str()), (1, "ed"));
    assert_eq!(ed.email.as_deref(), Some("ed@x"));
    assert!(engine.get::<User>(99).await.unwrap().is_none());
    let sql = log.take();
    assert_eq!(sql.len(), 2, "{sql:?}");
    assert!(
        sql.iter()
            .all(|s| s.starts_with("SELECT") && s.contains("WHERE")),
        "{sql:?}"
    );

    let mut conn = engine.connect().await.unwrap();
    assert_eq!(conn.get::<User>(2).await.unwrap().unwrap().name, "al");
    drop(conn);
    let mut tx = engine.begin().await.unwrap();
    tx.execute(
        insert(User::table()).values((User::name.set("wendy"), User::email.set(None::<String>))),
    )
    .await
    .unwrap();
    assert_eq!(tx.get::<User>(3).await.unwrap().unwrap().name, "wendy");
    tx.rollback().await.unwrap();
    assert!(engine.get::<User>(3).await.unwrap().is_none());

    // A composite key.
    engine
        .execute(insert(Post::table()).values((
            Post::user_id.set(1),
            Post::title.set("p"),
            Post::version.set(1),
        )))
        .await
        .unwrap();
    engine
        .execute(insert(Tag::table()).values(Tag::label.set("t")))
        .await
        .unwrap();
    engine
        .execute(insert(PostTag::table()).values((PostTag::post_id.set(1), PostTag::tag_id.set(1))))
        .await
        .unwrap();
    let link = engine.get::<PostTag>((1, 1)).await.unwrap().unwrap();
    assert_eq!((link.post_id, link.tag_id), (1, 1));
    assert!(engine.get::<PostTag>((1, 2)).await.unwrap().is_none());

    // A column deferred by default is read too: the value is whole.
    let (engine, _log) = crate::deferred::setup(db).await;
    let a = engine
        .get::<crate::deferred::Author>(1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.name, "ed");
    assert_eq!(a.notes.get().unwrap().as_deref(), Some("notes on ed"));
    assert_eq!(a.bio.get().unwrap(), "bio of ed");
}
