//! `session.get` and `query.options(...).get(key)`: the identity map first (no SELECT of
//! the row), loader options and the model's `lazy` defaults applied to an object that is
//! loaded, relationships an option names loaded onto an object found in the map; and
//! `session.load_all`, explicit loading for many objects in one SELECT; `session.scalar`.
//! Statements are counted and read through the engine's events.

use orm::prelude::*;
use orm::{Error, text};

use crate::backend_tests;
use crate::session::{Post, User, setup};
use crate::subquery_loading::{DfBook, DfNote, df_setup};
use crate::support::TestDb;

backend_tests!(
    get_loads_the_models_default_relationships_when_it_selects_the_row,
    query_get_applies_its_options_to_a_row_it_selects,
    query_get_loads_what_its_options_name_onto_a_mapped_object,
    query_get_refuses_a_query_with_more_than_options,
    load_all_loads_a_relationship_of_many_objects_in_one_select,
    scalar_reads_the_first_column_of_the_first_row_after_an_autoflush,
);

/// ed with posts a, b; sam with none. Returns (ed's id, sam's id).
async fn two_users(engine: &Engine) -> (i64, i64) {
    let mut session = Session::new(engine);
    let ed = session.add(User::new("ed"));
    for title in ["a", "b"] {
        let p = session.add(Post::new(title));
        ed.write().unwrap().posts.push(&p);
    }
    let sam = session.add(User::new("sam"));
    session.commit().await.unwrap();
    let ed_id = ed.read().unwrap().id;
    let sam_id = sam.read().unwrap().id;
    (ed_id, sam_id)
}

fn titles(user: &Obj<User>) -> Vec<String> {
    let mut t: Vec<String> = (user.read().unwrap().posts.get().unwrap().iter())
        .map(|p| p.read().unwrap().title.clone())
        .collect();
    t.sort();
    t
}

async fn get_loads_the_models_default_relationships_when_it_selects_the_row(db: &TestDb) {
    let (engine, log) = df_setup(db).await;
    let mut session = Session::new(&engine);
    let book = session.add(DfBook::new("b"));
    let note = session.add(DfNote::new("n0"));
    let reply = session.add(DfNote::new("n1"));
    book.write().unwrap().notes.push(&note);
    note.write().unwrap().replies.push(&reply);
    session.commit().await.unwrap();
    let id = book.read().unwrap().id;
    drop((session, book, note, reply));
    log.take();

    // A miss: the book's row, then its notes (`lazy = "selectin"`), then each level of
    // replies (the notes' own default) down to the leaves.
    let mut session = Session::new(&engine);
    let book = session.get::<DfBook>(id).await.unwrap().unwrap();
    let statements = log.take();
    assert_eq!(statements.len(), 4, "{statements:#?}");
    assert!(statements[0].contains("df_books"), "{statements:#?}");
    assert!(statements[1].contains("df_notes"), "{statements:#?}");
    let notes = book.read().unwrap().notes.get().unwrap().to_vec();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].read().unwrap().text, "n0");
    let replies = notes[0].read().unwrap().replies.get().unwrap().to_vec();
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].read().unwrap().text, "n1");
    assert!(replies[0].read().unwrap().replies.get().unwrap().is_empty());

    // A hit: no SQL at all, the same handle.
    let again = session.get::<DfBook>(id).await.unwrap().unwrap();
    assert!(Obj::ptr_eq(&again, &book));
    assert_eq!(log.take(), Vec::<String>::new());
    session.rollback().await.unwrap();
}

async fn query_get_applies_its_options_to_a_row_it_selects(db: &TestDb) {
    let (engine, log) = setup(db).await;
    let (ed_id, sam_id) = two_users(&engine).await;
    log.take();

    // selectinload: the user's row, then the posts.
    let mut session = Session::new(&engine);
    let ed = session
        .query::<User>()
        .options(selectinload(User::posts))
        .get(ed_id)
        .await
        .unwrap()
        .unwrap();
    let statements = log.take();
    assert_eq!(statements.len(), 2, "{statements:#?}");
    assert!(statements[0].contains("users"), "{statements:#?}");
    assert!(statements[1].contains("posts"), "{statements:#?}");
    assert_eq!(titles(&ed), ["a", "b"]);
    session.rollback().await.unwrap();

    // joinedload: one SELECT with the join; a user without posts loads an empty list.
    let mut session = Session::new(&engine);
    let sam = session
        .query::<User>()
        .options(joinedload(User::posts))
        .get(sam_id)
        .await
        .unwrap()
        .unwrap();
    let statements = log.take();
    assert_eq!(statements.len(), 1, "{statements:#?}");
    assert!(statements[0].contains("LEFT OUTER JOIN"), "{statements:#?}");
    assert_eq!(sam.read().unwrap().name, "sam");
    assert!(sam.read().unwrap().posts.get().unwrap().is_empty());

    // A key with no row: None, one SELECT.
    let none = session
        .query::<User>()
        .options(selectinload(User::posts))
        .get(ed_id + sam_id + 1000)
        .await
        .unwrap();
    assert!(none.is_none());
    assert_eq!(log.take().len(), 1);
    session.rollback().await.unwrap();
}

async fn query_get_loads_what_its_options_name_onto_a_mapped_object(db: &TestDb) {
    let (engine, log) = setup(db).await;
    let (ed_id, _) = two_users(&engine).await;
    log.take();
    let mut session = Session::new(&engine);
    let ed = session.get::<User>(ed_id).await.unwrap().unwrap();
    assert_eq!(log.take().len(), 1);
    assert!(ed.read().unwrap().posts.get().is_err(), "not loaded yet");

    // In the identity map: no SELECT of the user, one of the posts; the same handle.
    let again = session
        .query::<User>()
        .options(selectinload(User::posts))
        .get(ed_id)
        .await
        .unwrap()
        .unwrap();
    assert!(Obj::ptr_eq(&again, &ed));
    let statements = log.take();
    assert_eq!(statements.len(), 1, "{statements:#?}");
    assert!(statements[0].contains("posts"), "{statements:#?}");
    assert!(!statements[0].contains("users"), "{statements:#?}");
    assert_eq!(titles(&ed), ["a", "b"]);

    // Loaded now: nothing to load, so no SQL at all (not even an autoflush). The
    // user's change is kept, and a post added in memory stays in the collection (not
    // clobbered).
    ed.write().unwrap().email = Some("ed@x".into());
    let c = Post::new("c");
    let c = session.add(c);
    ed.write().unwrap().posts.push(&c);
    let again = session
        .query::<User>()
        .options(selectinload(User::posts))
        .get(ed_id)
        .await
        .unwrap()
        .unwrap();
    assert!(Obj::ptr_eq(&again, &ed));
    assert_eq!(log.take(), Vec::<String>::new());
    assert_eq!(ed.read().unwrap().email.as_deref(), Some("ed@x"));
    assert_eq!(titles(&ed), ["a", "b", "c"]);

    // populate_existing always selects the row (after the autoflush writes the change).
    let again = session
        .query::<User>()
        .populate_existing()
        .get(ed_id)
        .await
        .unwrap()
        .unwrap();
    assert!(Obj::ptr_eq(&again, &ed));
    let selects = log
        .take()
        .into_iter()
        .filter(|s| s.starts_with("SELECT") && s.contains("users"))
        .count();
    assert_eq!(selects, 1);
    assert_eq!(ed.read().unwrap().email.as_deref(), Some("ed@x"));
    session.commit().await.unwrap();
    let in_db = engine
        .fetch_one(text("SELECT COUNT(*) FROM posts"))
        .await
        .unwrap()
        .get::<i64>(0)
        .unwrap();
    assert_eq!(in_db, 3);
}

async fn query_get_refuses_a_query_with_more_than_options(db: &TestDb) {
    let (engine, log) = setup(db).await;
    let (ed_id, _) = two_users(&engine).await;
    log.take();
    let mut session = Session::new(&engine);
    let refused = |e: Error, what: &str| match e {
        Error::InvalidRequest { message } => {
            assert!(message.contains("`User`"), "{message}");
            assert!(message.contains(what), "{message}");
        }
        other => panic!("{other:?}"),
    };
    let e = session
        .query::<User>()
        .filter(User::name.eq("ed"))
        .get(ed_id)
        .await
        .unwrap_err();
    refused(e, "a filter");
    let e = session
        .query::<User>()
        .order_by(User::name.asc())
        .get(ed_id)
        .await
        .unwrap_err();
    refused(e, "ORDER BY");
    let e = session
        .query::<User>()
        .limit(1)
        .get(ed_id)
        .await
        .unwrap_err();
    refused(e, "a limit");
    let e = session
        .query::<User>()
        .join_fk(Post::table())
        .get(ed_id)
        .await
        .unwrap_err();
    refused(e, "a join");
    let e = session
        .query::<User>()
        .options(contains_eager(User::posts))
        .get(ed_id)
        .await
        .unwrap_err();
    refused(e, "contains_eager(User.posts)");
    // Nothing ran.
    assert_eq!(log.take(), Vec::<String>::new());
}

async fn load_all_loads_a_relationship_of_many_objects_in_one_select(db: &TestDb) {
    let (engine, log) = setup(db).await;
    // 1,200 users, every third with two posts: past one IN list of keys (500).
    let mut session = Session::new(&engine);
    for i in 0..1200 {
        let u = session.add(User::new(format!("u{i}")));
        if i % 3 == 0 {
            for t in ["a", "b"] {
                let p = session.add(Post::new(format!("u{i}-{t}")));
                u.write().unwrap().posts.push(&p);
            }
        }
    }
    session.commit().await.unwrap();
    drop(session);
    log.take();

    let mut session = Session::new(&engine);
    let users = session
        .query::<User>()
        .order_by(User::id.asc())
        .all()
        .await
        .unwrap();
    log.take();
    // One user's posts loaded and changed in memory first: load_all replaces them.
    session.load(&users[0], User::posts).await.unwrap();
    let stray = session.add(Post::new("stray"));
    users[0].write().unwrap().posts.push(&stray);
    session.flush().await.unwrap();
    session
        .execute(text(
            "UPDATE posts SET user_id = NULL WHERE title = 'stray'",
        ))
        .await
        .unwrap();
    log.take();

    session.load_all(&users, User::posts).await.unwrap();
    let selects = log.take();
    // One statement per IN list of at most 500 keys; PostgreSQL binds them as one array.
    let expected = if db.dialect() == orm::Dialect::Postgres {
        1
    } else {
        3
    };
    assert_eq!(selects.len(), expected, "{selects:#?}");
    for (i, u) in users.iter().enumerate() {
        let titles = titles(u);
        if i % 3 == 0 {
            assert_eq!(titles, [format!("u{i}-a"), format!("u{i}-b")], "user {i}");
        } else {
            assert!(titles.is_empty(), "user {i}: {titles:?}");
        }
    }

    // Only a row's relationships load: an object of no session is refused, naming it.
    let mut other = Session::new(&engine);
    let stray_user = other.add(User::new("nobody"));
    other.expunge(&stray_user).unwrap();
    match session.load_all(&[stray_user], User::posts).await {
        Err(Error::InvalidRequest { message }) => {
            assert!(message.contains("`User.posts`"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    // A pending one is flushed first (the autoflush), then loaded.
    let fresh = session.add(User::new("fresh"));
    session
        .load_all(std::slice::from_ref(&fresh), User::posts)
        .await
        .unwrap();
    assert!(fresh.read().unwrap().posts.get().unwrap().is_empty());
    log.take();

    // A many-to-one whose targets are all in the identity map: no SQL.
    let posts = session
        .query::<Post>()
        .populate_existing()
        .all()
        .await
        .unwrap();
    log.take();
    session.load_all(&posts, Post::author).await.unwrap();
    assert_eq!(log.take(), Vec::<String>::new());
    for p in &posts {
        let post = p.read().unwrap();
        match post.author.get().unwrap() {
            Some(a) => assert!(
                post.title
                    .starts_with(&format!("{}-", a.read().unwrap().name))
            ),
            None => assert_eq!(post.title, "stray"),
        }
    }
    session.rollback().await.unwrap();
}

async fn scalar_reads_the_first_column_of_the_first_row_after_an_autoflush(db: &TestDb) {
    let (engine, log) = setup(db).await;
    two_users(&engine).await;
    log.take();
    let mut session = Session::new(&engine);
    // A pending user is flushed first, so the count sees it.
    session.add(User::new("al"));
    let n: Option<i64> = session
        .scalar(select(func::count_star()).from(User::table()))
        .await
        .unwrap();
    assert_eq!(n, Some(3));
    let statements = log.take();
    assert!(statements[0].starts_with("INSERT"), "{statements:#?}");
    assert_eq!(statements.len(), 2, "{statements:#?}");
    // No row: None. A NULL into an Option: Some(None).
    let none: Option<String> = session
        .scalar(select(User::name).filter(User::name.eq("nobody")))
        .await
        .unwrap();
    assert_eq!(none, None);
    let email: Option<Option<String>> = session
        .scalar(select(User::email).filter(User::name.eq("al")))
        .await
        .unwrap();
    assert_eq!(email, Some(None));
    // The first row of several, in order.
    let first: Option<String> = session
        .scalar(select(User::name).order_by(User::name.asc()))
        .await
        .unwrap();
    assert_eq!(first.as_deref(), Some("al"));
    // A type that does not fit is an error, not a wrong value.
    let e = session
        .scalar::<i64>(select(User::name).filter(User::name.eq("al")))
        .await;
    assert!(e.is_err(), "{e:?}");
    session.rollback().await.unwrap();
}
