//! `merge` follows relationships with the `merge` cascade (the default): the objects a
//! merged value holds are merged too (each once), and the merged object's relationship
//! is set to them, so the flush writes the difference. Rows in the database are read
//! back after each commit.

use orm::Error;
use orm::prelude::*;

use crate::backend_tests;
use crate::session::{Post, User, setup};
use crate::support::TestDb;

backend_tests!(
    merge_brings_a_detached_graph_onto_the_sessions_objects,
    merge_leaves_an_untouched_relationship_alone,
    merge_takes_in_a_transient_child_and_refuses_a_foreign_one,
    a_refused_merge_changes_nothing,
    merge_of_a_new_value_does_not_take_in_the_object_it_was_copied_from,
    merge_without_load_takes_the_graph_as_the_database_state,
    a_relationship_changed_while_unloaded_is_refused,
);

/// ed with posts a and b, committed; the session is dropped, so the objects returned are
/// detached.
async fn detached_ed(engine: &Engine) -> (Obj<User>, Obj<Post>, Obj<Post>) {
    let mut session = Session::new(engine);
    // Kept readable after the commit, as a cache or a response would hold them.
    session.set_expire_on_commit(false);
    let ed = session.add(User::new("ed"));
    let a = session.add(Post::new("a"));
    let b = session.add(Post::new("b"));
    ed.write().unwrap().posts.push(&a);
    ed.write().unwrap().posts.push(&b);
    session.commit().await.unwrap();
    drop(session);
    assert_eq!(ed.state(), ObjectState::Detached);
    (ed, a, b)
}

/// `(title, user name)` of every post, by title.
async fn posts_in_db(engine: &Engine) -> Vec<(String, Option<String>)> {
    let rows = engine
        .fetch_all(
            select((Post::title, User::name))
                .from(Post::table())
                .left_join_fk(User::table())
                .order_by(Post::title.asc()),
        )
        .await
        .unwrap();
    rows.iter()
        .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
        .collect()
}

async fn merge_brings_a_detached_graph_onto_the_sessions_objects(db: &TestDb) {
    let (engine, log) = setup(db).await;
    let (ed, a, b) = detached_ed(&engine).await;
    // Changed while detached: a's title; b leaves ed's posts; ed is renamed.
    a.write().unwrap().title = "a2".into();
    let mut value = ed.read().unwrap().clone();
    value.name = "edward".into();
    assert!(value.posts.remove(&b));
    log.take();

    let mut session = Session::new(&engine);
    let merged = session.merge(value).await.unwrap();
    assert!(!Obj::ptr_eq(&merged, &ed), "the session's own object");
    assert_eq!(merged.state(), ObjectState::Persistent);
    let posts = merged.read().unwrap().posts.get().unwrap().to_vec();
    assert_eq!(posts.len(), 1);
    assert!(!Obj::ptr_eq(&posts[0], &a));
    assert_eq!(posts[0].read().unwrap().title, "a2");
    // The merged post is the one the identity map holds for a's key.
    let a_id = a.read().unwrap().id;
    let mapped = session.get::<Post>(a_id).await.unwrap().unwrap();
    assert!(Obj::ptr_eq(&mapped, &posts[0]));
    // The detached objects are untouched.
    assert_eq!(ed.state(), ObjectState::Detached);
    assert_eq!(ed.read().unwrap().name, "ed");
    // Post a's author is the detached ed (name "ed"): reached again through it, the
    // merged user keeps the value merged first.
    assert_eq!(merged.read().unwrap().name, "edward");
    session.commit().await.unwrap();
    // b, removed from a `delete-orphan` collection, is deleted.
    assert_eq!(
        posts_in_db(&engine).await,
        [("a2".to_owned(), Some("edward".to_owned()))]
    );
}

async fn merge_leaves_an_untouched_relationship_alone(db: &TestDb) {
    let (engine, _log) = setup(db).await;
    let (ed, _a, _b) = detached_ed(&engine).await;
    let id = ed.read().unwrap().id;
    // A new value (its posts empty and unchanged): the posts stay.
    let mut value = User::new("eddie");
    value.id = id;
    let mut session = Session::new(&engine);
    let merged = session.merge(value).await.unwrap();
    session.commit().await.unwrap();
    assert_eq!(merged.state(), ObjectState::Persistent);
    assert_eq!(
        posts_in_db(&engine).await,
        [
            ("a".to_owned(), Some("eddie".to_owned())),
            ("b".to_owned(), Some("eddie".to_owned()))
        ]
    );
}

async fn merge_takes_in_a_transient_child_and_refuses_a_foreign_one(db: &TestDb) {
    let (engine, _log) = setup(db).await;
    let (ed, _a, _b) = detached_ed(&engine).await;
    // A post made in a session and expunged before its flush: transient.
    let mut scratch = Session::new(&engine);
    let c = scratch.add(Post::new("c"));
    scratch.expunge(&c).unwrap();
    assert_eq!(c.state(), ObjectState::Transient);
    let mut value = ed.read().unwrap().clone();
    value.posts.push(&c);
    let mut session = Session::new(&engine);
    let merged = session.merge(value).await.unwrap();
    assert_eq!(c.state(), ObjectState::Pending, "the transient post joins");
    let titles: Vec<String> = (merged.read().unwrap().posts.get().unwrap().iter())
        .map(|p| p.read().unwrap().title.clone())
        .collect();
    assert_eq!(titles, ["a", "b", "c"]);
    session.commit().await.unwrap();
    assert_eq!(posts_in_db(&engine).await.len(), 3);
    assert_eq!(
        posts_in_db(&engine).await[2],
        ("c".to_owned(), Some("ed".to_owned()))
    );

    // A post of another live session whose row this session cannot find: refused,
    // naming it.
    let mut other = Session::new(&engine);
    let d = other.add(Post::new("d"));
    let mut value = ed.read().unwrap().clone();
    value.posts.push(&d);
    let mut third = Session::new(&engine);
    match third.merge(value).await {
        Err(Error::InvalidRequest { message }) => {
            assert!(message.contains("Post"), "{message}");
            assert!(message.contains("another session"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

async fn a_refused_merge_changes_nothing(db: &TestDb) {
    let (engine, log) = setup(db).await;
    let (ed, _a, _b) = detached_ed(&engine).await;
    let id = ed.read().unwrap().id;
    // A post of another live session (no counterpart here) and an expired one.
    let mut other = Session::new(&engine);
    let foreign = other.add(Post::new("foreign"));
    let mut expiring = Session::new(&engine);
    let stale = expiring.add(Post::new("stale"));
    expiring.commit().await.unwrap();
    expiring.expire(&stale).unwrap();
    assert!(stale.read().is_err(), "expired");
    for bad in [&foreign, &stale] {
        let mut value = ed.read().unwrap().clone();
        value.name = "renamed".into();
        value.posts.push(bad);
        let mut session = Session::new(&engine);
        let before = session.get::<User>(id).await.unwrap().unwrap();
        log.take();
        match session.merge(value).await {
            Err(Error::InvalidRequest { message }) => {
                assert!(message.contains("Post"), "{message}");
                assert!(message.contains("`User.posts`"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        // Nothing changed: the user keeps its name, nothing joined the session, and a
        // commit writes nothing.
        assert_eq!(before.read().unwrap().name, "ed");
        assert!(before.inspect().changed.is_empty());
        assert_eq!(
            foreign.state(),
            ObjectState::Pending,
            "still the other session's"
        );
        session.commit().await.unwrap();
        let written: Vec<String> = log
            .take()
            .into_iter()
            .filter(|s| !s.starts_with("SELECT"))
            .collect();
        assert_eq!(written, Vec::<String>::new());
    }
}

async fn merge_of_a_new_value_does_not_take_in_the_object_it_was_copied_from(db: &TestDb) {
    let (engine, _log) = setup(db).await;
    // A new user and its post, made in a session and expunged (transient): the post's
    // author side points at that user object.
    let mut scratch = Session::new(&engine);
    let ed = scratch.add(User::new("new ed"));
    let p = scratch.add(Post::new("p"));
    ed.write().unwrap().posts.push(&p);
    scratch.expunge(&ed).unwrap();
    assert_eq!(p.state(), ObjectState::Transient, "expunged with its user");
    let value = ed.read().unwrap().clone();
    let mut session = Session::new(&engine);
    let merged = session.merge(value).await.unwrap();
    assert!(!Obj::ptr_eq(&merged, &ed));
    assert_eq!(
        ed.state(),
        ObjectState::Transient,
        "the copied-from user stays out"
    );
    session.commit().await.unwrap();
    // One user: the merged one, with the post.
    assert_eq!(crate::session::count(&engine, "users").await, 1);
    assert_eq!(
        posts_in_db(&engine).await,
        [("p".to_owned(), Some("new ed".to_owned()))]
    );
}

async fn merge_without_load_takes_the_graph_as_the_database_state(db: &TestDb) {
    let (engine, log) = setup(db).await;
    let (ed, a, _b) = detached_ed(&engine).await;
    let value = ed.read().unwrap().clone();
    log.take();
    let mut session = Session::new(&engine);
    let merged = session.merge_with(value, false).await.unwrap();
    assert_eq!(merged.state(), ObjectState::Persistent);
    // The posts are loaded, taken as they were: the detached objects joined.
    let posts = merged.read().unwrap().posts.get().unwrap().to_vec();
    assert_eq!(posts.len(), 2);
    assert!(Obj::ptr_eq(&posts[0], &a));
    assert_eq!(a.state(), ObjectState::Persistent);
    // No SQL, and nothing to write: no change was recorded.
    session.commit().await.unwrap();
    assert_eq!(log.take(), Vec::<String>::new());
    // A transient related object is refused without load.
    let mut scratch = Session::new(&engine);
    let c = scratch.add(Post::new("c"));
    scratch.expunge(&c).unwrap();
    let mut value = User::new("x");
    value.id = merged.read().unwrap().id + 100;
    value.posts.push(&c);
    let mut other = Session::new(&engine);
    match other.merge_with(value, false).await {
        Err(Error::InvalidRequest { message }) => {
            assert!(message.contains("transient"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

async fn a_relationship_changed_while_unloaded_is_refused(db: &TestDb) {
    let (engine, log) = setup(db).await;
    detached_ed(&engine).await;
    // ed loaded without its posts, detached, then given a post.
    let mut first = Session::new(&engine);
    first.set_expire_on_commit(false);
    let ed = first.query::<User>().one().await.unwrap();
    first.commit().await.unwrap();
    drop(first);
    let mut scratch = Session::new(&engine);
    let c = scratch.add(Post::new("c"));
    scratch.expunge(&c).unwrap();
    ed.write().unwrap().posts.push(&c);
    let value = ed.read().unwrap().clone();
    let mut session = Session::new(&engine);
    log.take();
    match session.merge(value).await {
        Err(Error::InvalidRequest { message }) => {
            assert!(message.contains("`User.posts`"), "{message}");
            assert!(message.contains("not loaded"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(c.state(), ObjectState::Transient, "nothing joined");
    session.commit().await.unwrap();
    assert!(
        log.take().iter().all(|s| s.starts_with("SELECT")),
        "nothing written"
    );
}
