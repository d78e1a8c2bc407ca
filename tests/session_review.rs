//! A hostile review of the Session: each case proves one behaviour that SQLAlchemy's
//! Session has (issue 10) and that a reviewer found missing or wrong. Every case runs on
//! the real databases and asserts what a user observes: rows, states, errors.

use std::sync::mpsc;
use std::time::Duration;

use orm::prelude::*;
use orm::{Engine, ObjectState, text};

use crate::backend_tests;
use crate::session::{Blog, Entry, Node, Post, PostTag, Tag, User};
use crate::support::{Backend, TestDb};

backend_tests!(
    loaders_refuse_a_parent_held_by_the_callers_guard,
    expunge_and_add_while_holding_a_write_guard_do_not_block,
    expire_refresh_and_expunge_cascade_along_all,
    count_and_exists_autoflush_and_load_nothing,
    dropping_a_session_detaches_loaded_objects_and_makes_pending_ones_transient,
    moving_a_child_to_another_parent_is_not_an_orphan,
    moving_a_child_between_two_collections_keeps_the_last_parent,
    linking_then_unlinking_from_the_other_side_leaves_no_association_row,
    a_flush_refused_for_a_cycle_keeps_the_rows_of_earlier_flushes,
    deleting_a_parent_whose_children_are_not_loaded_nulls_their_keys,
    deleting_a_tree_whose_children_are_not_loaded_deletes_children_first,
    self_referential_many_to_many_keeps_both_directions,
    writes_to_an_object_moved_to_another_session_are_flushed,
    an_expunged_object_added_back_flushes_its_later_changes,
    changing_a_primary_key_moves_the_object_in_the_identity_map,
    several_objects_with_only_a_generated_key_are_inserted_in_one_flush,
    a_batched_insert_stores_strings_exactly_or_fails,
    a_failed_commit_leaves_no_object_persistent_without_its_row,
    an_interrupted_flush_in_a_savepoint_loses_no_later_change,
    adding_back_an_object_deleted_in_this_transaction_is_refused,
    inserting_a_key_held_by_a_loaded_object_keeps_one_object_per_key,
    merge_onto_an_expired_object_overwrites_it,
    a_flush_dropped_at_any_await_changes_no_object,
    a_key_that_does_not_fit_a_field_fails_the_flush_and_changes_no_object,
);

/// A parent whose keys go past `i32::MAX`.
#[derive(Model, Debug, Clone)]
#[orm(table = "r_big_parents")]
pub struct BigParent {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(max_length = 20)]
    pub name: String,
    #[relationship(back_populates = "parent")]
    pub kids: Related<Vec<SmallKid>>,
}

/// A child whose foreign key field is an `i32`: a parent key past `i32::MAX` does not
/// fit it.
#[derive(Model, Debug, Clone)]
#[orm(table = "r_small_kids")]
pub struct SmallKid {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(foreign_key = "r_big_parents.id")]
    pub parent_id: Option<i32>,
    #[orm(max_length = 20)]
    pub name: String,
    #[relationship(back_populates = "kids")]
    pub parent: Related<Option<BigParent>>,
}

/// A person following other people: a self-referential many-to-many.
#[derive(Model, Debug, Clone)]
#[orm(table = "r_people")]
pub struct Person {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(max_length = 50)]
    pub name: String,
    #[relationship(secondary = "r_follows")]
    pub follows: Related<Vec<Person>>,
}

#[derive(Model, Debug, Clone)]
#[orm(table = "r_follows")]
pub struct Follow {
    #[orm(primary_key, foreign_key = "r_people.id")]
    pub follower_id: i64,
    #[orm(primary_key, foreign_key = "r_people.id")]
    pub followed_id: i64,
}

/// A model whose only column is its generated key.
#[derive(Model, Debug, Clone)]
#[orm(table = "r_solos")]
pub struct Solo {
    #[orm(primary_key)]
    pub id: i64,
}

/// A row whose foreign key is checked only at COMMIT (the table is made by hand).
#[derive(Model, Debug, Clone)]
#[orm(table = "r_deferred")]
pub struct Deferred {
    #[orm(primary_key)]
    pub id: i64,
    pub parent_id: Option<i64>,
}

async fn setup(db: &TestDb) -> Engine {
    let engine = db.engine().await;
    MetaData::new()
        .with::<User>()
        .with::<Post>()
        .with::<Tag>()
        .with::<PostTag>()
        .with::<Blog>()
        .with::<Entry>()
        .with::<Node>()
        .with::<Person>()
        .with::<Follow>()
        .with::<Solo>()
        .create_all(&engine)
        .await
        .unwrap();
    engine
}

async fn scalar(engine: &Engine, sql: &str) -> i64 {
    engine
        .fetch_one(text(sql))
        .await
        .unwrap()
        .get::<i64>(0)
        .unwrap()
}

async fn count(engine: &Engine, table: &str) -> i64 {
    scalar(engine, &format!("SELECT COUNT(*) FROM {table}")).await
}

/// `ed.posts.remove(p); bob.posts.push(p)`: `p` has a parent again, so delete-orphan
/// must not delete it (SQLAlchemy checks every parent before calling an object an
/// orphan).
async fn moving_a_child_to_another_parent_is_not_an_orphan(db: &TestDb) {
    let engine = setup(db).await;
    let mut session = Session::new(&engine);
    let ed = session.add(User::new("ed"));
    let bob = session.add(User::new("bob"));
    let p = session.add(Post::new("p"));
    ed.write().unwrap().posts.push(&p);
    session.commit().await.unwrap();
    ed.write().unwrap().posts.remove(&p);
    bob.write().unwrap().posts.push(&p);
    session.commit().await.unwrap();
    assert_eq!(
        p.state(),
        ObjectState::Persistent,
        "p was deleted as an orphan"
    );
    assert_eq!(count(&engine, "posts").await, 1, "p's row was deleted");
    let bob_id = bob.read().unwrap().id;
    assert_eq!(p.read().unwrap().user_id, Some(bob_id));
}

/// Touch `bob` first, then `ed.posts.push(p)`, then `bob.posts.push(p)`: in memory `p`
/// belongs to bob (back_populates took it out of ed.posts), so the row must say bob.
async fn moving_a_child_between_two_collections_keeps_the_last_parent(db: &TestDb) {
    let engine = setup(db).await;
    let mut session = Session::new(&engine);
    let ed = session.add(User::new("ed"));
    let bob = session.add(User::new("bob"));
    let p = session.add(Post::new("p"));
    session.commit().await.unwrap();
    bob.write().unwrap().email = Some("bob@x".into());
    ed.write().unwrap().posts.push(&p);
    bob.write().unwrap().posts.push(&p);
    assert_eq!(ed.read().unwrap().posts.len().unwrap(), 0);
    assert!(Obj::ptr_eq(
        p.read().unwrap().author.get().unwrap().unwrap(),
        &bob
    ));
    session.commit().await.unwrap();
    let bob_id = bob.read().unwrap().id;
    assert_eq!(p.read().unwrap().user_id, Some(bob_id), "in memory");
    let pid = p.read().unwrap().id;
    assert_eq!(
        scalar(
            &engine,
            &format!("SELECT user_id FROM posts WHERE id = {pid}")
        )
        .await,
        bob_id,
        "in the database"
    );
}

/// `p.tags.push(t)` then `t.posts.remove(p)`: the link is gone in memory, so no
/// association row may be written.
async fn linking_then_unlinking_from_the_other_side_leaves_no_association_row(db: &TestDb) {
    let engine = setup(db).await;
    let mut session = Session::new(&engine);
    let p = session.add(Post::new("p"));
    let t = session.add(Tag::new("t"));
    session.commit().await.unwrap();
    p.write().unwrap().tags.push(&t);
    assert!(t.write().unwrap().posts.remove(&p));
    assert_eq!(p.read().unwrap().tags.len().unwrap(), 0);
    session.commit().await.unwrap();
    assert_eq!(count(&engine, "s_post_tags").await, 0);
}

/// A flush refused with `InvalidRequest` after earlier flushes of the same transaction
/// must not roll their work back behind the session's back (or, if it does, the session
/// must demand a rollback): here `ed` stays Persistent with a key while its row is gone.
async fn a_flush_refused_for_a_cycle_keeps_the_rows_of_earlier_flushes(db: &TestDb) {
    let engine = setup(db).await;
    let mut session = Session::new(&engine);
    let ed = session.add(User::new("ed"));
    session.flush().await.unwrap();
    let a = session.add(Node::new("a"));
    let b = session.add(Node::new("b"));
    a.write().unwrap().parent.set(&b);
    b.write().unwrap().parent.set(&a);
    let err = session.flush().await.unwrap_err();
    assert!(err.to_string().contains("cycle"), "{err}");
    // Break the cycle and go on.
    b.write().unwrap().parent.clear();
    match session.commit().await {
        Ok(()) => {
            assert_eq!(ed.state(), ObjectState::Persistent);
            assert_eq!(
                count(&engine, "users").await,
                1,
                "ed is Persistent with id {} but its INSERT was rolled back",
                ed.read().unwrap().id
            );
        }
        Err(e) => assert!(matches!(e, orm::Error::PendingRollback { .. }), "{e}"),
    }
}

/// Deleting a parent without the delete cascade nulls its children's foreign keys, also
/// when its collection was never loaded (the flush loads it).
async fn deleting_a_parent_whose_children_are_not_loaded_nulls_their_keys(db: &TestDb) {
    let engine = setup(db).await;
    let mut s1 = Session::new(&engine);
    let blog = s1.add(Blog::new("b"));
    for i in 0..2 {
        let e = s1.add(Entry::new(format!("e{i}")));
        e.write().unwrap().blog.set(&blog);
    }
    s1.commit().await.unwrap();
    let id = blog.read().unwrap().id;
    drop((blog, s1));
    let mut s2 = Session::new(&engine);
    let blog = s2.get::<Blog>(id).await.unwrap().unwrap();
    assert!(blog.read().unwrap().entries.get().is_err(), "not loaded");
    s2.delete(&blog).unwrap();
    s2.commit().await.unwrap();
    assert_eq!(count(&engine, "blogs").await, 0);
    assert_eq!(count(&engine, "entries").await, 2);
    assert_eq!(
        scalar(
            &engine,
            "SELECT COUNT(*) FROM entries WHERE blog_id IS NULL"
        )
        .await,
        2
    );
}

/// `delete` cascade on a self-referential tree loaded only at its root: the children
/// the flush loads must still be deleted before their parents.
async fn deleting_a_tree_whose_children_are_not_loaded_deletes_children_first(db: &TestDb) {
    let engine = setup(db).await;
    let mut s1 = Session::new(&engine);
    let root = s1.add(Node::new("root"));
    for i in 0..2 {
        let c = s1.add(Node::new(format!("c{i}")));
        root.write().unwrap().children.push(&c);
        let g = s1.add(Node::new(format!("g{i}")));
        c.write().unwrap().children.push(&g);
    }
    s1.commit().await.unwrap();
    let id = root.read().unwrap().id;
    drop((root, s1));
    let mut s2 = Session::new(&engine);
    let root = s2.get::<Node>(id).await.unwrap().unwrap();
    s2.delete(&root).unwrap();
    s2.commit().await.unwrap();
    assert_eq!(count(&engine, "nodes").await, 0);
}

/// a follows b and b follows a: two different association rows.
async fn self_referential_many_to_many_keeps_both_directions(db: &TestDb) {
    let engine = setup(db).await;
    let mut session = Session::new(&engine);
    let a = session.add(Person::new("a"));
    let b = session.add(Person::new("b"));
    a.write().unwrap().follows.push(&b);
    b.write().unwrap().follows.push(&a);
    session.commit().await.unwrap();
    assert_eq!(count(&engine, "r_follows").await, 2);
}

/// An object of a closed session added to a new one is persistent there; what is
/// written to it afterwards is flushed by the new session.
async fn writes_to_an_object_moved_to_another_session_are_flushed(db: &TestDb) {
    let engine = setup(db).await;
    let mut s1 = Session::new(&engine);
    let ed = s1.add(User::new("ed"));
    s1.commit().await.unwrap();
    drop(s1);
    assert_eq!(ed.state(), ObjectState::Detached);
    let mut s2 = Session::new(&engine);
    s2.add_obj(&ed).unwrap();
    assert_eq!(ed.state(), ObjectState::Persistent);
    ed.write().unwrap().name = "edward".into();
    assert_eq!(ed.inspect().changed, ["name"]);
    s2.commit().await.unwrap();
    let mut s3 = Session::new(&engine);
    let id = ed.read().unwrap().id;
    let fresh = s3.get::<User>(id).await.unwrap().unwrap();
    assert_eq!(fresh.read().unwrap().name, "edward", "no UPDATE was sent");
}

/// Expunge (after a write), a flush, add back, write again: the new write is flushed.
async fn an_expunged_object_added_back_flushes_its_later_changes(db: &TestDb) {
    let engine = setup(db).await;
    let mut session = Session::new(&engine);
    let ed = session.add(User::new("ed"));
    session.commit().await.unwrap();
    ed.write().unwrap().email = Some("before@x".into());
    session.expunge(&ed).unwrap();
    session.flush().await.unwrap();
    session.add_obj(&ed).unwrap();
    assert_eq!(ed.state(), ObjectState::Persistent);
    ed.write().unwrap().email = Some("after@x".into());
    session.commit().await.unwrap();
    assert_eq!(
        scalar(
            &engine,
            "SELECT COUNT(*) FROM users WHERE email = 'after@x'"
        )
        .await,
        1,
        "the write after add_obj was never flushed"
    );
}

/// SQLAlchemy follows a primary-key change into the identity map ("key switch").
async fn changing_a_primary_key_moves_the_object_in_the_identity_map(db: &TestDb) {
    let engine = setup(db).await;
    let mut session = Session::new(&engine);
    let ed = session.add(User::new("ed"));
    session.commit().await.unwrap();
    let old = ed.read().unwrap().id;
    let new = old + 100;
    ed.write().unwrap().id = new;
    session.commit().await.unwrap();
    assert_eq!(
        scalar(&engine, "SELECT id FROM users").await,
        new,
        "the row moved"
    );
    assert_eq!(ed.inspect().identity, Some(vec![orm::Value::I64(new)]));
    let by_new = session.get::<User>(new).await.unwrap().unwrap();
    assert!(Obj::ptr_eq(&by_new, &ed), "two objects for one row");
    assert!(
        session.get::<User>(old).await.unwrap().is_none(),
        "the old key still answers, without SQL, with a row that is gone"
    );
}

/// Three objects with nothing but a generated key: three rows (one statement or three).
async fn several_objects_with_only_a_generated_key_are_inserted_in_one_flush(db: &TestDb) {
    let engine = setup(db).await;
    let mut session = Session::new(&engine);
    let solos: Vec<_> = (0..3).map(|_| session.add(Solo::new())).collect();
    session.commit().await.unwrap();
    assert_eq!(count(&engine, "r_solos").await, 3);
    let mut ids: Vec<i64> = solos.iter().map(|s| s.read().unwrap().id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 3, "{ids:?}");
}

/// A value too long for its column is an error or stored whole, never cut silently.
/// (One row alone is an INSERT ... VALUES, which PostgreSQL refuses; a batch must not
/// behave differently.)
async fn a_batched_insert_stores_strings_exactly_or_fails(db: &TestDb) {
    let engine = setup(db).await;
    let long = |c: char| std::iter::repeat_n(c, 60).collect::<String>();
    let mut session = Session::new(&engine);
    let a = session.add(User::new(long('a')));
    let b = session.add(User::new(long('b')));
    if session.commit().await.is_err() {
        return; // refused, as a single INSERT is
    }
    for u in [&a, &b] {
        let (id, name) = {
            let u = u.read().unwrap();
            (u.id, u.name.clone())
        };
        let stored = engine
            .fetch_one(text(format!("SELECT name FROM users WHERE id = {id}")))
            .await
            .unwrap()
            .get::<String>(0)
            .unwrap();
        assert_eq!(stored, name, "the object says one name, the row another");
    }
}

/// A COMMIT that fails (a deferred foreign key) must leave the session demanding a
/// rollback, or its objects as they were: not Persistent objects whose rows are gone.
async fn a_failed_commit_leaves_no_object_persistent_without_its_row(db: &TestDb) {
    let engine = setup(db).await;
    let ddl = match db.backend {
        Backend::Sqlite => {
            "CREATE TABLE r_deferred (id INTEGER PRIMARY KEY, parent_id INTEGER \
             REFERENCES r_deferred (id) DEFERRABLE INITIALLY DEFERRED)"
        }
        Backend::Postgres => {
            "CREATE TABLE r_deferred (id BIGSERIAL PRIMARY KEY, parent_id BIGINT \
             REFERENCES r_deferred (id) DEFERRABLE INITIALLY DEFERRED)"
        }
        Backend::MySql => return, // no deferred constraints
    };
    engine.execute(text(ddl)).await.unwrap();
    let mut session = Session::new(&engine);
    let mut d = Deferred::new();
    d.parent_id = Some(999);
    let d = session.add(d);
    let err = session.commit().await.unwrap_err();
    assert_eq!(count(&engine, "r_deferred").await, 0, "{err}");
    let state = d.state();
    let next = session.commit().await;
    assert!(
        state != ObjectState::Persistent || matches!(next, Err(orm::Error::PendingRollback { .. })),
        "after a failed COMMIT the object is {state:?} (id {}) and the next commit says {next:?}",
        d.read().unwrap().id
    );
}

/// Polls a future once (its first `.await` that waits ends it) and drops it.
fn poll_once<F: std::future::Future>(fut: F) -> bool {
    let mut fut = std::pin::pin!(fut);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    fut.as_mut().poll(&mut cx).is_ready()
}

/// A flush dropped inside a savepoint, then `rollback_nested` (or, when that reports the
/// connection lost, `rollback`): the object changed in the savepoint is expired (as
/// documented), and a later change to it is flushed.
async fn an_interrupted_flush_in_a_savepoint_loses_no_later_change(db: &TestDb) {
    let engine = setup(db).await;
    let mut session = Session::new(&engine);
    let ed = session.add(User::new("ed"));
    session.commit().await.unwrap();
    let sp = session.begin_nested().await.unwrap();
    ed.write().unwrap().email = Some("inner@x".into());
    if poll_once(session.flush()) {
        return; // finished at once: nothing interrupted on this machine
    }
    if let Err(e) = session.rollback_nested(sp).await {
        // The interrupted statement took the connection (and the transaction) with it:
        // a full rollback must bring the session back.
        eprintln!("rollback_nested after the interrupted flush: {e}");
        session.rollback().await.unwrap();
    }
    let readable = ed.read().map(|u| u.email.clone());
    if readable.is_err() {
        session.refresh(&ed).await.unwrap();
    }
    ed.write().unwrap().email = Some("later@x".into());
    session.commit().await.unwrap();
    assert_eq!(
        scalar(
            &engine,
            "SELECT COUNT(*) FROM users WHERE email = 'later@x'"
        )
        .await,
        1,
        "the write after rollback_nested was never flushed"
    );
    assert!(
        readable.is_err(),
        "changed inside the rolled-back savepoint but not expired: read {readable:?}"
    );
}

/// SQLAlchemy refuses to `add` an object deleted in the current transaction: its row
/// is gone, so it cannot be persistent.
async fn adding_back_an_object_deleted_in_this_transaction_is_refused(db: &TestDb) {
    let engine = setup(db).await;
    let mut session = Session::new(&engine);
    let ed = session.add(User::new("ed"));
    session.commit().await.unwrap();
    session.delete(&ed).unwrap();
    session.flush().await.unwrap();
    assert_eq!(ed.state(), ObjectState::Deleted);
    let r = session.add_obj(&ed);
    assert!(
        r.is_err(),
        "a deleted object became {:?} though its row is gone",
        ed.state()
    );
}

/// A new object whose key a loaded object still holds (its row deleted behind the
/// session's back): SQLAlchemy refuses the flush; it must never leave two persistent
/// objects for one key, `get` answering with the stale one.
async fn inserting_a_key_held_by_a_loaded_object_keeps_one_object_per_key(db: &TestDb) {
    let engine = setup(db).await;
    let mut session = Session::new(&engine);
    let ed = session.add(User::new("ed"));
    session.commit().await.unwrap();
    let id = ed.read().unwrap().id;
    session
        .bulk_delete::<User>(
            delete(User::table()).filter(User::id.eq(id)),
            orm::Synchronize::None,
        )
        .await
        .unwrap();
    let mut value = User::new("new");
    value.id = id;
    let fresh = session.add(value);
    if session.commit().await.is_err() {
        return; // refused, as SQLAlchemy does
    }
    assert_eq!(fresh.state(), ObjectState::Persistent);
    let got = session.get::<User>(id).await.unwrap().unwrap();
    assert!(
        Obj::ptr_eq(&got, &fresh),
        "get({id}) gives the stale object named {:?}; the row says \"new\"",
        got.read().unwrap().name
    );
}

/// `merge` overwrites every column of the identity-mapped object, so an expired one
/// (after a rollback, say) is no obstacle: SQLAlchemy loads it and copies.
async fn merge_onto_an_expired_object_overwrites_it(db: &TestDb) {
    let engine = setup(db).await;
    let mut session = Session::new(&engine);
    let ed = session.add(User::new("ed"));
    session.commit().await.unwrap();
    let id = ed.read().unwrap().id;
    session.expire(&ed).unwrap();
    let mut value = User::new("edward");
    value.id = id;
    let merged = session.merge(value).await.unwrap();
    assert!(Obj::ptr_eq(&merged, &ed));
    session.commit().await.unwrap();
    assert_eq!(ed.read().unwrap().name, "edward");
}

/// A flush with inserts, updates, deletes and association rows, dropped after each
/// possible number of polls: nothing in memory may change, the database is untouched,
/// and after `rollback()` the same work commits.
async fn a_flush_dropped_at_any_await_changes_no_object(db: &TestDb) {
    let engine = setup(db).await;
    for polls in 1..40 {
        engine
            .execute(text("DELETE FROM s_post_tags"))
            .await
            .unwrap();
        engine.execute(text("DELETE FROM posts")).await.unwrap();
        engine.execute(text("DELETE FROM tags")).await.unwrap();
        engine.execute(text("DELETE FROM users")).await.unwrap();
        let mut session = Session::new(&engine);
        let ed = session.add(User::new("ed"));
        let old = session.add(Post::new("old"));
        ed.write().unwrap().posts.push(&old);
        let kept = session.add(Post::new("kept"));
        ed.write().unwrap().posts.push(&kept);
        session.commit().await.unwrap();
        let kept_version = kept.read().unwrap().version;
        // The work: a new user with two posts, an update, a delete, a tag.
        let new_user = session.add(User::new(format!("new{polls}")));
        let np: Vec<_> = (0..2)
            .map(|i| session.add(Post::new(format!("np{i}"))))
            .collect();
        for p in &np {
            new_user.write().unwrap().posts.push(p);
        }
        kept.write().unwrap().title = "changed".into();
        let tag = session.add(Tag::new(format!("t{polls}")));
        kept.write().unwrap().tags.push(&tag);
        session.delete(&old).unwrap();
        // Poll the flush `polls` times, waiting for its wakes, then drop it.
        let done = {
            let mut fut = std::pin::pin!(session.flush());
            let mut finished = false;
            for _ in 0..polls {
                let woke = std::future::poll_fn(|cx| match fut.as_mut().poll(cx) {
                    std::task::Poll::Ready(r) => std::task::Poll::Ready(Some(r)),
                    std::task::Poll::Pending => std::task::Poll::Ready(None),
                })
                .await;
                if let Some(r) = woke {
                    r.unwrap();
                    finished = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            finished
        };
        if done {
            session.rollback().await.unwrap();
            break; // every await point was interrupted once
        }
        // Nothing written into the objects.
        assert_eq!(new_user.read().unwrap().id, 0, "after {polls} polls");
        assert!(np.iter().all(|p| p.read().unwrap().id == 0));
        assert_eq!(new_user.state(), ObjectState::Pending);
        assert_eq!(tag.state(), ObjectState::Pending);
        assert_eq!(old.state(), ObjectState::Persistent, "after {polls} polls");
        assert_eq!(kept.read().unwrap().version, kept_version);
        let next = session.flush().await;
        assert!(
            matches!(next, Err(orm::Error::PendingRollback { .. })),
            "{next:?}"
        );
        session.rollback().await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(count(&engine, "users").await, 1, "after {polls} polls");
        assert_eq!(count(&engine, "posts").await, 2, "after {polls} polls");
        assert_eq!(count(&engine, "s_post_tags").await, 0);
        // The same work, again, commits.
        session.refresh(&kept).await.unwrap();
        session.refresh(&ed).await.unwrap();
        session.add_obj(&new_user).unwrap();
        session.add_obj(&tag).unwrap();
        kept.write().unwrap().title = "changed".into();
        session.delete(&old).unwrap();
        session.commit().await.unwrap();
        assert_eq!(count(&engine, "users").await, 2, "after {polls} polls");
        assert_eq!(count(&engine, "posts").await, 3, "after {polls} polls");
        assert_eq!(
            scalar(
                &engine,
                "SELECT COUNT(*) FROM posts WHERE title = 'changed'"
            )
            .await,
            1
        );
    }
}

/// Runs `f` on its own thread; false when it does not finish within 5 s (a deadlock).
fn finishes(f: impl FnOnce() + Send + 'static) -> bool {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    rx.recv_timeout(Duration::from_secs(5)).is_ok()
}

/// Two read guards of one object at once are fine, also when a back-reference was
/// queued for it while the first was held.
#[tokio::test]
async fn a_second_read_guard_while_a_backref_is_queued_does_not_deadlock() {
    let engine = orm::create_engine("sqlite::memory:").await.unwrap();
    let mut session = Session::new(&engine);
    let ed = session.add(User::new("ed"));
    let p = session.add(Post::new("p"));
    let ok = finishes(move || {
        let first = ed.read().unwrap();
        // ed is read-locked: the back-reference to ed.posts is queued.
        p.write().unwrap().author.set(&ed);
        let second = ed.read().unwrap();
        assert_eq!(second.posts.len().unwrap(), first.posts.len().unwrap());
    });
    std::mem::forget(session); // its drop would wait for the deadlocked object
    assert!(
        ok,
        "read() while holding another read guard deadlocked (or panicked)"
    );
}

/// `inspect()` on one thread while another holds a write guard and asks the state.
#[tokio::test]
async fn inspect_while_another_thread_holds_a_write_guard_does_not_deadlock() {
    let engine = orm::create_engine("sqlite::memory:").await.unwrap();
    let mut session = Session::new(&engine);
    let ed = session.add(User::new("ed"));
    let (locked_tx, locked_rx) = mpsc::channel();
    let writer = ed.clone();
    let ok = finishes(move || {
        let inspector = std::thread::spawn(move || {
            locked_rx.recv().unwrap();
            let _ = ed.inspect();
        });
        let mut g = writer.write().unwrap();
        locked_tx.send(()).unwrap();
        std::thread::sleep(Duration::from_millis(200)); // the inspector now waits
        g.email = Some("x".into());
        let _ = writer.state();
        drop(g);
        inspector.join().unwrap();
    });
    std::mem::forget(session); // its drop would wait for the deadlocked object
    assert!(ok, "inspect() and write() + state() deadlocked");
}

/// Dropping a session does not visit its objects; they still read as detached (loaded
/// ones) or transient (pending ones) afterwards, and either can join a new session.
async fn dropping_a_session_detaches_loaded_objects_and_makes_pending_ones_transient(db: &TestDb) {
    let engine = setup(db).await;
    let mut s1 = Session::new(&engine);
    s1.add_all([User::new("ed"), User::new("bob")]);
    s1.commit().await.unwrap();
    let mut s2 = Session::new(&engine);
    let loaded = s2.query::<User>().all().await.unwrap();
    assert_eq!(loaded.len(), 2);
    let pending = s2.add(User::new("al"));
    assert_eq!(pending.state(), ObjectState::Pending);
    drop(s2);
    assert!(loaded.iter().all(|u| u.state() == ObjectState::Detached));
    assert_eq!(pending.state(), ObjectState::Transient);
    assert_eq!(loaded[0].inspect().state, ObjectState::Detached);
    let mut s3 = Session::new(&engine);
    s3.add_obj(&pending).unwrap();
    s3.add_obj(&loaded[0]).unwrap();
    assert_eq!(pending.state(), ObjectState::Pending);
    assert_eq!(loaded[0].state(), ObjectState::Persistent);
    loaded[0].write().unwrap().name = "edward".into();
    s3.commit().await.unwrap();
    assert_eq!(count(&engine, "users").await, 3);
    let names = scalar(
        &engine,
        "SELECT COUNT(*) FROM users WHERE name IN ('edward', 'al')",
    )
    .await;
    assert_eq!(names, 2);
}

/// `count()` and `exists()` autoflush (a pending match counts), send one SELECT each,
/// and put nothing in the identity map.
async fn count_and_exists_autoflush_and_load_nothing(db: &TestDb) {
    let engine = setup(db).await;
    let log = crate::support::Statements::record(&engine);
    let mut session = Session::new(&engine);
    session.add_all([User::new("ed"), User::new("eve"), User::new("bob")]);
    session.commit().await.unwrap();
    session.add(User::new("emma"));
    log.take();
    let q = || User::name.like("e%");
    assert_eq!(
        session.query::<User>().filter(q()).count().await.unwrap(),
        3
    );
    let statements = log.take();
    assert_eq!(
        statements.len(),
        2,
        "the autoflush INSERT, then the count: {statements:?}"
    );
    assert!(
        statements[1].starts_with("SELECT count(*) FROM (SELECT"),
        "{}",
        statements[1]
    );
    assert!(session.query::<User>().filter(q()).exists().await.unwrap());
    assert!(
        !session
            .query::<User>()
            .filter(User::name.eq("zed"))
            .exists()
            .await
            .unwrap()
    );
    assert_eq!(log.take().len(), 2);
    assert_eq!(
        session.query::<User>().limit(2).count().await.unwrap(),
        2,
        "the limit applies to what is counted"
    );
    assert!(format!("{session:?}").contains("objects: 4"), "{session:?}");
}

/// `User.posts` has `cascade = "all, ..."`: expiring, refreshing and expunging a user
/// does the same to its loaded posts; `Post.author` (default cascade) does not go back.
async fn expire_refresh_and_expunge_cascade_along_all(db: &TestDb) {
    let engine = setup(db).await;
    let mut session = Session::new(&engine);
    let ed = session.add(User::new("ed"));
    for t in ["a", "b"] {
        let p = session.add(Post::new(t));
        ed.write().unwrap().posts.push(&p);
    }
    let other = session.add(Post::new("other"));
    session.commit().await.unwrap();
    let posts: Vec<_> = ed.read().unwrap().posts.get().unwrap().to_vec();

    session.expire(&ed).unwrap();
    assert!(matches!(ed.read(), Err(orm::Error::Expired { .. })));
    assert!(posts.iter().all(|p| p.read().is_err()), "posts expired too");
    assert!(other.read().is_ok(), "an unrelated post is not");

    // Another connection changes a post; refreshing the user reloads its posts.
    engine
        .execute(text("UPDATE posts SET title = 'a2' WHERE title = 'a'"))
        .await
        .unwrap();
    let log = crate::support::Statements::record(&engine);
    session.commit().await.unwrap();
    session.refresh(&ed).await.unwrap();
    let selects = log
        .take()
        .iter()
        .filter(|s| s.starts_with("SELECT"))
        .count();
    assert_eq!(selects, 3, "the user, then each of its two posts");
    assert_eq!(posts[0].read().unwrap().title, "a2");
    assert_eq!(ed.read().unwrap().name, "ed");

    session.expunge(&ed).unwrap();
    assert_eq!(ed.state(), ObjectState::Detached);
    assert!(posts.iter().all(|p| p.state() == ObjectState::Detached));
    assert_eq!(other.state(), ObjectState::Persistent);
    // Expunging a post leaves its author (Post.author has the default cascade).
    let mut s2 = Session::new(&engine);
    let p = s2
        .query::<Post>()
        .filter(Post::title.eq("b"))
        .one()
        .await
        .unwrap();
    s2.load(&p, Post::author).await.unwrap();
    let author = p.read().unwrap().author.get().unwrap().unwrap().clone();
    s2.expunge(&p).unwrap();
    assert_eq!(p.state(), ObjectState::Detached);
    assert_eq!(author.state(), ObjectState::Persistent);
}

/// The identity map finds an object by its identity, not by reading it: expunging or
/// re-adding an object whose `write()` guard the caller holds returns at once; where a
/// cascade must read the object's relationships, the guard is a clear error.
async fn expunge_and_add_while_holding_a_write_guard_do_not_block(db: &TestDb) {
    let engine = setup(db).await;
    let mut session = Session::new(&engine);
    let ed = session.add(User::new("ed"));
    let post = session.add(Post::new("p"));
    session.commit().await.unwrap();
    let (done, wait) = mpsc::channel();
    let (ed2, post2) = (ed.clone(), post.clone());
    let worker = std::thread::spawn(move || {
        // Post's relationships do not cascade expunge: nothing needs to read it.
        let mut guard = post2.write().unwrap();
        guard.title = "q".into();
        session.expunge(&post2).unwrap();
        let detached = post2.state();
        let mut other = Session::new(&engine);
        other.add_obj(&post2).unwrap();
        let moved = post2.state();
        drop(guard);
        // User.posts cascades expunge: reading it under the caller's own guard would
        // hang, so it is refused.
        let guard = ed2.write().unwrap();
        let refused = session.expunge(&ed2).unwrap_err().to_string();
        drop(guard);
        done.send((detached, moved, refused, ed2.state())).unwrap();
    });
    let (detached, moved, refused, ed_state) = wait
        .recv_timeout(Duration::from_secs(20))
        .expect("blocked on its own guard");
    worker.join().unwrap();
    assert_eq!(
        (detached, moved),
        (ObjectState::Detached, ObjectState::Persistent)
    );
    assert!(
        refused.contains("User(") && refused.contains("guard"),
        "{refused}"
    );
    assert_eq!(ed_state, ObjectState::Persistent, "nothing expunged");
    assert_eq!(post.read().unwrap().title, "q");
}

/// A loader fills relationships of objects already loaded: one held by the caller's own
/// guard across the query would hang it, so the query says so instead.
async fn loaders_refuse_a_parent_held_by_the_callers_guard(db: &TestDb) {
    let engine = setup(db).await;
    let mut session = Session::new(&engine);
    let ed = session.add(User::new("ed"));
    session.commit().await.unwrap();
    let guard = ed.write().unwrap();
    for joined in [false, true] {
        let q = session.query::<User>();
        let q = if joined {
            q.options(joinedload(User::posts))
        } else {
            q.options(selectinload(User::posts))
        };
        let err = tokio::time::timeout(Duration::from_secs(20), q.all())
            .await
            .expect("the query hung on the caller's guard")
            .unwrap_err()
            .to_string();
        assert!(err.contains("User(") && err.contains("guard"), "{err}");
    }
    drop(guard);
    let users = session
        .query::<User>()
        .options(joinedload(User::posts))
        .all()
        .await
        .unwrap();
    assert_eq!(users[0].read().unwrap().posts.len().unwrap(), 0);
}

async fn a_key_that_does_not_fit_a_field_fails_the_flush_and_changes_no_object(db: &TestDb) {
    let engine = db.engine().await;
    // The foreign key column is a BIGINT, as the parent's key: the database takes the
    // key, and only the child's `i32` field cannot hold it.
    let (key, fk) = match db.backend {
        Backend::Sqlite => ("INTEGER PRIMARY KEY", "BIGINT"),
        Backend::Postgres => ("BIGSERIAL PRIMARY KEY", "BIGINT"),
        Backend::MySql => ("BIGINT AUTO_INCREMENT PRIMARY KEY", "BIGINT"),
    };
    for sql in [
        format!("CREATE TABLE r_big_parents (id {key}, name VARCHAR(20) NOT NULL)"),
        format!(
            "CREATE TABLE r_small_kids (id {key}, parent_id {fk} REFERENCES r_big_parents (id), \
             name VARCHAR(20) NOT NULL)"
        ),
        // The next parent key is 3,000,000,000.
        "INSERT INTO r_big_parents (id, name) VALUES (2999999999, 'before')".to_owned(),
    ] {
        engine.execute(text(sql)).await.unwrap();
    }
    if db.backend == Backend::Postgres {
        engine
            .execute(text(
                "SELECT setval(pg_get_serial_sequence('r_big_parents', 'id'), 2999999999)",
            ))
            .await
            .unwrap();
    }
    let mut session = Session::new(&engine);
    let parent = session.add(BigParent::new("big"));
    let kid = session.add(SmallKid::new("small"));
    parent.write().unwrap().kids.push(&kid);
    let err = session.commit().await.unwrap_err();
    // The error names the column and the value.
    let message = err.to_string();
    assert!(
        message.contains("SmallKid.parent_id") && message.contains("3000000000"),
        "{message}"
    );
    // Neither object took anything from the failed flush: no key, no foreign key.
    for (state, id) in [
        (parent.inspect().state, parent.read().unwrap().id),
        (kid.inspect().state, kid.read().unwrap().id),
    ] {
        assert_eq!((state, id), (ObjectState::Pending, 0));
    }
    assert_eq!(kid.read().unwrap().parent_id, None);
    session.rollback().await.unwrap();
    let rows = engine
        .fetch_all(text("SELECT id FROM r_big_parents"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "only the row written before");
}
