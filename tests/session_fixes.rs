//! Session bugs found after the review, each proven fixed on every database: orphans
//! made from the many-to-one side, a delete and an add of one key in one flush (a row
//! switch), flush failures inside savepoints, guards held across session calls, RETURNING
//! rows that match no object, server defaults on MariaDB, cascades from objects that left
//! the session, and new children of a parent deleted in the same flush.

use orm::prelude::*;
use orm::{Engine, ObjectState, text};

use crate::backend_tests;
use crate::session::{Blog, Entry, Node, Post, PostTag, Tag, User};
use crate::support::{Backend, Statements, TestDb};

backend_tests!(
    clearing_the_parent_of_a_delete_orphan_child_deletes_it,
    deleting_and_adding_one_key_in_one_flush_updates_the_row,
    a_row_switch_rolled_back_restores_the_deleted_object,
    a_failed_flush_in_a_savepoint_rolls_back_only_the_savepoint,
    savepoint_methods_refuse_a_session_that_must_be_rolled_back,
    session_calls_with_a_guard_held_are_errors_not_deadlocks,
    a_returned_row_that_matches_no_object_fails_the_flush,
    server_defaults_are_present_after_the_insert,
    cascades_do_not_start_from_objects_that_left_the_session,
    new_children_of_a_parent_deleted_in_the_same_flush_are_not_inserted,
);

/// A row with a server default that is not its key.
#[derive(Model, Debug, Clone)]
#[orm(table = "f_drafts")]
pub struct Draft {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(max_length = 20)]
    pub title: String,
    #[orm(server_default = "'draft'", max_length = 20)]
    pub status: String,
}

/// A row whose own key the database rewrites on INSERT (the table is made by hand).
#[derive(Model, Debug, Clone)]
#[orm(table = "f_codes")]
pub struct Code {
    #[orm(primary_key, max_length = 10)]
    pub code: String,
    #[orm(server_default = "'none'", max_length = 20)]
    pub note: String,
}

async fn setup(db: &TestDb) -> (Engine, Statements) {
    let engine = db.engine().await;
    MetaData::new()
        .with::<User>()
        .with::<Post>()
        .with::<Tag>()
        .with::<PostTag>()
        .with::<Blog>()
        .with::<Entry>()
        .with::<Node>()
        .with::<Draft>()
        .create_all(&engine)
        .await
        .unwrap();
    let log = Statements::record(&engine);
    (engine, log)
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

/// Polls a future once (its first `.await` that waits ends it) and drops it; true when
/// it finished.
fn poll_once<F: std::future::Future>(fut: F) -> bool {
    let mut fut = std::pin::pin!(fut);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    fut.as_mut().poll(&mut cx).is_ready()
}

fn starting(statements: &[String], prefix: &str, table: &str) -> usize {
    statements
        .iter()
        .filter(|s| s.starts_with(prefix) && s.contains(table))
        .count()
}

/// `post.author.clear()` with `cascade = "all, delete-orphan"` on `User.posts`: the post
/// has no parent any more, so the flush deletes it (SQLAlchemy), with the collection
/// loaded or not; a pending post cleared the same way is never inserted.
async fn clearing_the_parent_of_a_delete_orphan_child_deletes_it(db: &TestDb) {
    let (engine, log) = setup(db).await;
    let mut session = Session::new(&engine);
    let ed = session.add(User::new("ed"));
    let posts: Vec<_> = (0..3)
        .map(|i| session.add(Post::new(format!("p{i}"))))
        .collect();
    for p in &posts {
        ed.write().unwrap().posts.push(p);
    }
    session.commit().await.unwrap();
    log.take();
    // The parent's collection is loaded: the back-reference takes the post out of it.
    posts[0].write().unwrap().author.clear();
    session.commit().await.unwrap();
    let statements = log.take();
    assert_eq!(
        starting(&statements, "DELETE", "posts"),
        1,
        "{statements:?}"
    );
    assert_eq!(
        starting(&statements, "UPDATE", "posts"),
        0,
        "{statements:?}"
    );
    assert_eq!(count(&engine, "posts").await, 2);
    assert_eq!(posts[0].state(), ObjectState::Detached);
    assert_eq!(ed.read().unwrap().posts.len().unwrap(), 2);
    // In another session, with neither side loaded.
    let id = posts[1].read().unwrap().id;
    let mut s2 = Session::new(&engine);
    let p1 = s2.get::<Post>(id).await.unwrap().unwrap();
    p1.write().unwrap().author.clear();
    s2.commit().await.unwrap();
    assert_eq!(p1.state(), ObjectState::Detached);
    assert_eq!(
        scalar(
            &engine,
            &format!("SELECT COUNT(*) FROM posts WHERE id = {id}")
        )
        .await,
        0,
        "the orphan's row is still there (with a NULL key)"
    );
    // A child moved to another parent is no orphan.
    let bob = session.add(User::new("bob"));
    posts[2].write().unwrap().author.clear();
    posts[2].write().unwrap().author.set(&bob);
    session.commit().await.unwrap();
    assert_eq!(posts[2].state(), ObjectState::Persistent);
    let bob_id = bob.read().unwrap().id;
    assert_eq!(posts[2].read().unwrap().user_id, Some(bob_id));
    // A pending child that loses its parent is expunged, not inserted.
    let q = session.add(Post::new("q"));
    q.write().unwrap().author.set(&bob);
    q.write().unwrap().author.clear();
    log.take();
    session.commit().await.unwrap();
    assert_eq!(q.state(), ObjectState::Transient);
    assert_eq!(starting(&log.take(), "INSERT", "posts"), 0);
    assert_eq!(count(&engine, "posts").await, 1);
}

/// `delete(old)` and `add(new)` with old's key in one flush: SQLAlchemy's "row switch",
/// one UPDATE of the row with the new object's values; the new object is persistent
/// under the key, the old one deleted.
async fn deleting_and_adding_one_key_in_one_flush_updates_the_row(db: &TestDb) {
    let (engine, log) = setup(db).await;
    let mut session = Session::new(&engine);
    let ed = session.add(User::new("ed"));
    ed.write().unwrap().email = Some("ed@x".into());
    let p = session.add(Post::new("old title"));
    session.commit().await.unwrap();
    let (uid, pid) = (ed.read().unwrap().id, p.read().unwrap().id);
    log.take();

    session.delete(&ed).unwrap();
    let mut value = User::new("edward");
    value.id = uid;
    let edward = session.add(value);
    session.flush().await.unwrap();
    let statements = log.take();
    assert_eq!(
        starting(&statements, "UPDATE", "users"),
        1,
        "{statements:?}"
    );
    assert_eq!(
        starting(&statements, "INSERT", "users"),
        0,
        "{statements:?}"
    );
    assert_eq!(
        starting(&statements, "DELETE", "users"),
        0,
        "{statements:?}"
    );
    assert_eq!(edward.state(), ObjectState::Persistent);
    assert_eq!(ed.state(), ObjectState::Deleted);
    assert_eq!(edward.inspect().identity, Some(vec![Value::I64(uid)]));
    let got = session.get::<User>(uid).await.unwrap().unwrap();
    assert!(Obj::ptr_eq(&got, &edward));
    assert!(log.take().is_empty(), "get after the row switch sent SQL");
    session.commit().await.unwrap();
    assert_eq!(ed.state(), ObjectState::Detached);
    let row = engine
        .fetch_one(text("SELECT name, email FROM users WHERE id = :id").bind("id", uid))
        .await
        .unwrap();
    assert_eq!(row.get::<String>(0).unwrap(), "edward");
    assert_eq!(row.get::<Option<String>>(1).unwrap(), None);
    assert_eq!(count(&engine, "users").await, 1);

    // A versioned row: the UPDATE checks the old version and the new object gets the
    // next one.
    session.delete(&p).unwrap();
    let mut value = Post::new("new title");
    value.id = pid;
    let np = session.add(value);
    session.commit().await.unwrap();
    assert_eq!(np.state(), ObjectState::Persistent);
    assert_eq!(np.read().unwrap().version, 2);
    let row = engine
        .fetch_one(text("SELECT title, version FROM posts WHERE id = :id").bind("id", pid))
        .await
        .unwrap();
    assert_eq!(row.get::<String>(0).unwrap(), "new title");
    assert_eq!(row.get::<i64>(1).unwrap(), 2);
    // Later changes to the new object are ordinary UPDATEs.
    np.write().unwrap().title = "newer".into();
    session.commit().await.unwrap();
    assert_eq!(
        scalar(
            &engine,
            "SELECT COUNT(*) FROM posts WHERE title = 'newer' AND version = 3"
        )
        .await,
        1
    );
}

/// A row switch undone by `rollback`: the old object is persistent again (and the row
/// unchanged), the new one transient.
async fn a_row_switch_rolled_back_restores_the_deleted_object(db: &TestDb) {
    let (engine, _log) = setup(db).await;
    let mut session = Session::new(&engine);
    let ed = session.add(User::new("ed"));
    session.commit().await.unwrap();
    let uid = ed.read().unwrap().id;
    session.delete(&ed).unwrap();
    let mut value = User::new("edward");
    value.id = uid;
    let edward = session.add(value);
    session.flush().await.unwrap();
    session.rollback().await.unwrap();
    assert_eq!(edward.state(), ObjectState::Transient);
    assert_eq!(ed.state(), ObjectState::Persistent);
    let got = session.get::<User>(uid).await.unwrap().unwrap();
    assert!(Obj::ptr_eq(&got, &ed));
    assert_eq!(ed.read().unwrap().name, "ed");
    assert_eq!(
        scalar(&engine, "SELECT COUNT(*) FROM users WHERE name = 'ed'").await,
        1
    );
}

/// A unique violation inside `begin_nested`: only the savepoint is rolled back (its
/// earlier flushes included), the outer transaction goes on after `rollback_nested`
/// and commits its own work.
async fn a_failed_flush_in_a_savepoint_rolls_back_only_the_savepoint(db: &TestDb) {
    let (engine, log) = setup(db).await;
    let mut session = Session::new(&engine);
    let ed = session.add(User::new("ed"));
    session.commit().await.unwrap();
    let outer = session.add(User::new("outer"));
    ed.write().unwrap().email = Some("outer@x".into());
    let sp = session.begin_nested().await.unwrap();
    let inner = session.add(User::new("inner"));
    session.flush().await.unwrap();
    let a = session.add(User::new("same"));
    let b = session.add(User::new("same"));
    log.take();
    let err = session.flush().await.unwrap_err();
    assert!(matches!(err, orm::Error::Flush { .. }), "{err}");
    let statements = log.take();
    assert!(
        statements
            .iter()
            .any(|s| s.starts_with("ROLLBACK TO SAVEPOINT")),
        "{statements:?}"
    );
    assert!(
        !statements.iter().any(|s| s == "ROLLBACK"),
        "{statements:?}"
    );
    // Until the savepoint is ended the session refuses work, and says why.
    let refused = session.query::<User>().all().await.unwrap_err();
    assert!(
        matches!(refused, orm::Error::PendingRollback { .. }),
        "{refused}"
    );
    assert!(refused.to_string().contains("rollback_nested"), "{refused}");
    session.rollback_nested(sp).await.unwrap();
    assert_eq!(inner.state(), ObjectState::Transient);
    assert_eq!(a.state(), ObjectState::Transient);
    assert_eq!(b.state(), ObjectState::Transient);
    assert_eq!(outer.state(), ObjectState::Persistent);
    assert_eq!(ed.read().unwrap().email.as_deref(), Some("outer@x"));
    session.commit().await.unwrap();
    let mut names: Vec<String> = engine
        .fetch_all(text("SELECT name FROM users ORDER BY name"))
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String>(0).unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["ed", "outer"]);
    assert_eq!(
        scalar(
            &engine,
            "SELECT COUNT(*) FROM users WHERE email = 'outer@x'"
        )
        .await,
        1
    );
}

/// `begin_nested`, `commit_nested` and `rollback_nested` on a session that must be rolled
/// back answer `PendingRollback` (not another error, nor SQL on a lost transaction).
async fn savepoint_methods_refuse_a_session_that_must_be_rolled_back(db: &TestDb) {
    let (engine, log) = setup(db).await;
    let mut session = Session::new(&engine);
    let ed = session.add(User::new("ed"));
    session.commit().await.unwrap();
    // A failed flush outside any savepoint.
    let sp = session.begin_nested().await.unwrap();
    session.commit_nested(sp).await.unwrap();
    session.add(User::new("ed"));
    assert!(session.flush().await.is_err());
    log.take();
    let pending = |r: orm::Result<()>| matches!(r, Err(orm::Error::PendingRollback { .. }));
    assert!(pending(session.begin_nested().await.map(|_| ())));
    assert!(pending(session.commit_nested(sp).await));
    assert!(pending(session.rollback_nested(sp).await));
    assert!(
        log.take().is_empty(),
        "SQL sent by a session pending rollback"
    );
    session.rollback().await.unwrap();
    // A flush interrupted inside a savepoint: its statement may still be on the wire, so
    // the connection (and the savepoint) are gone.
    session.refresh(&ed).await.unwrap();
    let sp = session.begin_nested().await.unwrap();
    ed.write().unwrap().email = Some("inner@x".into());
    if !poll_once(session.flush()) {
        log.take();
        assert!(pending(session.rollback_nested(sp).await));
        assert!(pending(session.commit_nested(sp).await));
        assert!(
            log.take().is_empty(),
            "SQL sent on the connection of an interrupted flush"
        );
        session.rollback().await.unwrap();
    }
    session.refresh(&ed).await.unwrap();
    // A failed flush inside a savepoint: only rollback_nested (or rollback) ends it.
    let sp = session.begin_nested().await.unwrap();
    session.add(User::new("ed"));
    assert!(session.flush().await.is_err());
    assert!(pending(session.commit_nested(sp).await));
    assert!(pending(session.begin_nested().await.map(|_| ())));
    session.rollback_nested(sp).await.unwrap();
    ed.write().unwrap().email = Some("after@x".into());
    session.commit().await.unwrap();
    assert_eq!(
        scalar(
            &engine,
            "SELECT COUNT(*) FROM users WHERE email = 'after@x'"
        )
        .await,
        1
    );
}

/// A read or write guard held by the caller (in code the compiler cannot check) makes
/// `refresh`, `load`, `merge`, `bulk_update` and a `populate_existing` query return an
/// error at once, as a flush does, instead of waiting for the guard forever.
async fn session_calls_with_a_guard_held_are_errors_not_deadlocks(db: &TestDb) {
    let (engine, log) = setup(db).await;
    let mut session = Session::new(&engine);
    let ed = session.add(User::new("ed"));
    session.commit().await.unwrap();
    let uid = ed.read().unwrap().id;
    let locked = |r: orm::Result<()>| match r {
        Err(e @ orm::Error::InvalidRequest { .. }) => {
            e.to_string().contains("locked by a read()/write() guard")
        }
        _ => false,
    };
    log.take();
    {
        let guard = ed.read().unwrap();
        assert!(locked(session.refresh(&ed).await));
        assert!(locked(session.load(&ed, User::posts).await));
        let mut value = User::new("merged");
        value.id = uid;
        assert!(locked(session.merge(value).await.map(|_| ())));
        assert!(locked(
            session
                .bulk_update::<User>(
                    update(User::table())
                        .set((User::email.set("bulk@x"),))
                        .filter(User::id.eq(uid)),
                    orm::Synchronize::Fetch,
                )
                .await
                .map(|_| ())
        ));
        assert!(locked(
            session
                .query::<User>()
                .populate_existing()
                .all()
                .await
                .map(|_| ())
        ));
        drop(guard);
    }
    {
        let _guard = ed.write().unwrap();
        assert!(locked(session.refresh(&ed).await));
    }
    // Nothing was written, and with the guards gone every call works.
    assert!(
        !log.take().iter().any(|s| s.starts_with("UPDATE")),
        "the bulk UPDATE ran before the guard was found"
    );
    session.refresh(&ed).await.unwrap();
    session.load(&ed, User::posts).await.unwrap();
    session
        .bulk_update::<User>(
            update(User::table())
                .set((User::email.set("bulk@x"),))
                .filter(User::id.eq(uid)),
            orm::Synchronize::Fetch,
        )
        .await
        .unwrap();
    assert_eq!(ed.read().unwrap().email.as_deref(), Some("bulk@x"));
    session.commit().await.unwrap();
}

/// Objects with their own keys are matched to RETURNING rows by key; a row that matches
/// none (the database rewrote the key) fails the flush instead of giving an object the
/// server defaults of another row.
async fn a_returned_row_that_matches_no_object_fails_the_flush(db: &TestDb) {
    let (engine, _log) = setup(db).await;
    // The key as the database stores it differs from the key sent: an INT column on
    // SQLite and MariaDB ('007' is stored as 7), a trigger trimming zeros on PostgreSQL.
    let ddl = match db.backend {
        Backend::Sqlite => {
            "CREATE TABLE f_codes (code INT PRIMARY KEY, note VARCHAR(20) DEFAULT 'none')"
        }
        Backend::MySql => {
            "CREATE TABLE f_codes (code INT PRIMARY KEY, note VARCHAR(20) DEFAULT 'none')"
        }
        Backend::Postgres => {
            "CREATE TABLE f_codes (code VARCHAR(10) PRIMARY KEY, note VARCHAR(20) DEFAULT 'none'); \
             CREATE FUNCTION f_codes_trim() RETURNS trigger AS $$ BEGIN \
             NEW.code := ltrim(NEW.code, '0'); NEW.note := 'n' || NEW.code; RETURN NEW; END $$ \
             LANGUAGE plpgsql; \
             CREATE TRIGGER f_codes_trim BEFORE INSERT ON f_codes FOR EACH ROW EXECUTE FUNCTION f_codes_trim()"
        }
    };
    engine.execute_script(ddl).await.unwrap();
    if db.backend == Backend::MySql && !engine.is_mariadb() {
        return; // MySQL has no RETURNING: the defaults are read back otherwise
    }
    let mut session = Session::new(&engine);
    let a = session.add(Code::new("007"));
    let b = session.add(Code::new("008"));
    let err = session.flush().await.unwrap_err();
    assert!(
        err.to_string().contains("RETURNING matches the key sent"),
        "{err} (a = {:?}, b = {:?})",
        a.read().unwrap().note,
        b.read().unwrap().note
    );
    assert_eq!(a.read().unwrap().note, "");
    assert_eq!(b.read().unwrap().note, "");
    session.rollback().await.unwrap();
    assert_eq!(count(&engine, "f_codes").await, 0);
    // One object alone is matched the same way.
    let c = session.add(Code::new("009"));
    assert!(session.flush().await.is_err());
    assert_eq!(c.read().unwrap().note, "");
    session.rollback().await.unwrap();
    assert_eq!(count(&engine, "f_codes").await, 0);
}

/// A server default of a column that is not the key is in the object after the flush on
/// every database (RETURNING, also on MariaDB), not expired.
async fn server_defaults_are_present_after_the_insert(db: &TestDb) {
    let (engine, log) = setup(db).await;
    let mut session = Session::new(&engine);
    let drafts: Vec<_> = (0..3)
        .map(|i| session.add(Draft::new(format!("d{i}"))))
        .collect();
    let mut value = Draft::new("explicit");
    value.id = 100;
    let explicit = session.add(value);
    let mut value = Draft::new("published");
    value.status = "published".into();
    let published = session.add(value);
    session.flush().await.unwrap();
    let statements = log.take();
    for d in drafts.iter().chain([&explicit]) {
        assert!(d.inspect().expired.is_empty(), "{:?}", d.inspect());
        assert_eq!(d.read().unwrap().status, "draft");
    }
    assert_eq!(published.read().unwrap().status, "published");
    assert_eq!(explicit.read().unwrap().id, 100);
    let ids: Vec<i64> = drafts.iter().map(|d| d.read().unwrap().id).collect();
    assert!(ids.iter().all(|&i| i > 0), "{ids:?}");
    if db.backend != Backend::MySql || engine.is_mariadb() {
        // Read back in the INSERTs themselves: no SELECT (but SQLite's of the largest
        // key before a multi-row INSERT, so that keys ascend in insertion order).
        let largest_key = "SELECT max(\"id\") FROM \"f_drafts\"";
        assert!(
            statements
                .iter()
                .all(|s| !s.starts_with("SELECT")
                    || (db.backend == Backend::Sqlite && s == largest_key)),
            "{statements:?}"
        );
    }
    session.commit().await.unwrap();
    assert_eq!(
        scalar(
            &engine,
            "SELECT COUNT(*) FROM f_drafts WHERE status = 'draft'"
        )
        .await,
        4
    );
    if db.backend != Backend::MySql {
        return;
    }
    // MySQL's own dialect (no RETURNING, as on a MySQL server): the defaults are read
    // back by key in the same flush, one SELECT for the batch.
    let mysql = db
        .builder()
        .dialect(orm::Dialect::MySql)
        .connect()
        .await
        .unwrap();
    let log = Statements::record(&mysql);
    let mut session = Session::new(&mysql);
    let drafts: Vec<_> = (0..3)
        .map(|i| session.add(Draft::new(format!("m{i}"))))
        .collect();
    let mut value = Draft::new("explicit");
    value.id = 200;
    let explicit = session.add(value);
    session.flush().await.unwrap();
    let statements = log.take();
    for d in drafts.iter().chain([&explicit]) {
        assert!(d.inspect().expired.is_empty(), "{:?}", d.inspect());
        assert_eq!(d.read().unwrap().status, "draft");
    }
    assert!(drafts.iter().all(|d| d.read().unwrap().id > 100));
    // (Besides the one read of `innodb_autoinc_lock_mode`, which lets the three new
    // drafts go in one INSERT with consecutive keys.)
    assert_eq!(
        statements
            .iter()
            .filter(|s| s.starts_with("SELECT") && !s.contains("@@innodb_autoinc_lock_mode"))
            .count(),
        2,
        "one read-back per INSERT group: {statements:?}"
    );
    assert_eq!(
        statements
            .iter()
            .filter(|s| s.starts_with("INSERT"))
            .count(),
        2,
        "one INSERT per group: {statements:?}"
    );
    session.commit().await.unwrap();
    assert_eq!(
        scalar(
            &mysql,
            "SELECT COUNT(*) FROM f_drafts WHERE status = 'draft'"
        )
        .await,
        8
    );
}

/// An object written to, then expunged (or deleted and flushed), is no longer in the
/// session: the flush must not follow its relationships and pull new objects in.
async fn cascades_do_not_start_from_objects_that_left_the_session(db: &TestDb) {
    let (engine, _log) = setup(db).await;
    let mut session = Session::new(&engine);
    let blog = session.add(Blog::new("b"));
    let gone = session.add(Blog::new("gone"));
    session.commit().await.unwrap();
    // A transient entry: made in the session, then taken out again.
    let e1 = session.add(Entry::new("e1"));
    session.expunge(&e1).unwrap();
    assert_eq!(e1.state(), ObjectState::Transient);
    blog.write().unwrap().entries.push(&e1);
    session.expunge(&blog).unwrap();
    session.commit().await.unwrap();
    assert_eq!(e1.state(), ObjectState::Transient);
    assert_eq!(count(&engine, "entries").await, 0);
    // Deleted and flushed: its later links are not followed either.
    session.delete(&gone).unwrap();
    session.flush().await.unwrap();
    let e2 = session.add(Entry::new("e2"));
    session.expunge(&e2).unwrap();
    gone.write().unwrap().entries.push(&e2);
    session.commit().await.unwrap();
    assert_eq!(e2.state(), ObjectState::Transient);
    assert_eq!(count(&engine, "entries").await, 0);
    assert_eq!(count(&engine, "blogs").await, 1);
}

/// `ed.posts.push(new)` then `delete(ed)` with the `delete` cascade: the new post goes
/// with its parent, so it is expunged, not inserted (and no foreign key error), whether
/// the collection was loaded or not.
async fn new_children_of_a_parent_deleted_in_the_same_flush_are_not_inserted(db: &TestDb) {
    let (engine, log) = setup(db).await;
    let mut session = Session::new(&engine);
    let ed = session.add(User::new("ed"));
    let old = session.add(Post::new("old"));
    ed.write().unwrap().posts.push(&old);
    session.commit().await.unwrap();
    let uid = ed.read().unwrap().id;
    let fresh = session.add(Post::new("fresh"));
    ed.write().unwrap().posts.push(&fresh);
    session.delete(&ed).unwrap();
    log.take();
    session.commit().await.unwrap();
    let statements = log.take();
    assert_eq!(
        starting(&statements, "INSERT", "posts"),
        0,
        "{statements:?}"
    );
    assert_eq!(fresh.state(), ObjectState::Transient);
    assert_eq!(old.state(), ObjectState::Detached);
    assert_eq!(count(&engine, "posts").await, 0);
    assert_eq!(count(&engine, "users").await, 0);
    let _ = uid;
    // The collection not loaded, the child not added to the session by hand.
    let jack = session.add(User::new("jack"));
    session.commit().await.unwrap();
    let jid = jack.read().unwrap().id;
    let mut s2 = Session::new(&engine);
    let jack = s2.get::<User>(jid).await.unwrap().unwrap();
    let tmp = s2.add(Post::new("tmp"));
    s2.expunge(&tmp).unwrap();
    jack.write().unwrap().posts.push(&tmp);
    s2.delete(&jack).unwrap();
    s2.commit().await.unwrap();
    assert_eq!(tmp.state(), ObjectState::Transient);
    assert_eq!(count(&engine, "posts").await, 0);
    assert_eq!(count(&engine, "users").await, 0);
    // Without the delete cascade the new child is inserted, its key NULL like its
    // loaded siblings', not the key of the parent deleted after it.
    let blog = s2.add(Blog::new("b"));
    s2.commit().await.unwrap();
    let bid = blog.read().unwrap().id;
    let mut s3 = Session::new(&engine);
    let blog = s3.get::<Blog>(bid).await.unwrap().unwrap();
    let entry = s3.add(Entry::new("e"));
    blog.write().unwrap().entries.push(&entry);
    s3.delete(&blog).unwrap();
    s3.commit().await.unwrap();
    assert_eq!(entry.state(), ObjectState::Persistent);
    assert_eq!(entry.read().unwrap().blog_id, None);
    assert_eq!(
        scalar(
            &engine,
            "SELECT COUNT(*) FROM entries WHERE blog_id IS NULL"
        )
        .await,
        1
    );
    assert_eq!(count(&engine, "blogs").await, 0);
}
