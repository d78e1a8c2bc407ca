//! The Session: identity map, unit of work, states, cascades, versions, rollback.
//! Every case asserts the statements emitted (through the engine's events) and the rows
//! in the database afterwards.

use std::sync::atomic::{AtomicUsize, Ordering};

use orm::prelude::*;
use orm::{Engine, ObjectState, text};

use crate::backend_tests;
use crate::support::{Backend, Statements, TestDb};

backend_tests!(
    get_twice_is_one_select_and_one_handle,
    identity_map_finds_what_is_left_after_most_objects_leave_it,
    identity_map_is_one_object_per_key_whatever_the_order_rows_come_in,
    query_keeps_unflushed_changes_unless_populate_existing,
    flush_of_users_with_posts_linked_through_relationships_is_batched,
    update_sends_only_changed_columns_and_no_changes_send_nothing,
    delete_orphan_cascade_deletes_children_first,
    deleting_a_parent_without_cascade_nulls_the_children_keys,
    self_referential_tree_is_inserted_and_deleted_in_one_flush,
    many_to_many_rows_follow_the_collections,
    autoflush_finds_pending_objects_and_no_autoflush_does_not,
    rollback_and_commit_move_objects_between_states,
    failed_flush_writes_nothing_changes_no_object_and_can_be_retried,
    second_session_updating_a_stale_version_gets_stale_data,
    dropped_flush_future_writes_nothing_and_session_recovers,
    expired_objects_refuse_reads_until_refreshed,
    savepoint_rollback_undoes_only_the_inner_work,
    events_fire_once_in_sqlalchemys_order,
    merge_copies_state_onto_the_identity_mapped_object,
    bulk_update_and_delete_keep_loaded_objects_in_step,
);

#[derive(Model, Debug, Clone)]
#[orm(table = "users")]
pub struct User {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(unique, max_length = 50)]
    pub name: String,
    pub email: Option<String>,
    #[relationship(back_populates = "author", cascade = "all, delete-orphan")]
    pub posts: Related<Vec<Post>>,
}

#[derive(Model, Debug, Clone)]
#[orm(table = "posts")]
pub struct Post {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(foreign_key = "users.id", index)]
    pub user_id: Option<i64>,
    #[orm(max_length = 200)]
    pub title: String,
    #[orm(version)]
    pub version: i32,
    #[relationship(back_populates = "posts")]
    pub author: Related<Option<User>>,
    #[relationship(secondary = "s_post_tags", back_populates = "posts")]
    pub tags: Related<Vec<Tag>>,
}

#[derive(Model, Debug, Clone)]
#[orm(table = "tags")]
pub struct Tag {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(unique, max_length = 30)]
    pub label: String,
    #[relationship(secondary = "s_post_tags", back_populates = "tags")]
    pub posts: Related<Vec<Post>>,
}

#[derive(Model, Debug, Clone)]
#[orm(table = "s_post_tags")]
pub struct PostTag {
    #[orm(primary_key, foreign_key = "posts.id")]
    pub post_id: i64,
    #[orm(primary_key, foreign_key = "tags.id")]
    pub tag_id: i64,
}

/// A parent whose children are not deleted with it (the default cascade).
#[derive(Model, Debug, Clone)]
#[orm(table = "blogs")]
pub struct Blog {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(max_length = 50)]
    pub name: String,
    #[relationship(back_populates = "blog")]
    pub entries: Related<Vec<Entry>>,
}

#[derive(Model, Debug, Clone)]
#[orm(table = "entries")]
pub struct Entry {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(foreign_key = "blogs.id")]
    pub blog_id: Option<i64>,
    #[orm(max_length = 50)]
    pub title: String,
    #[relationship(back_populates = "entries")]
    pub blog: Related<Option<Blog>>,
}

#[derive(Model, Debug, Clone)]
#[orm(table = "nodes")]
pub struct Node {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(foreign_key = "nodes.id")]
    pub parent_id: Option<i64>,
    #[orm(max_length = 50)]
    pub name: String,
    #[relationship(back_populates = "children", remote_side = "id")]
    pub parent: Related<Option<Node>>,
    #[relationship(back_populates = "parent", cascade = "all, delete-orphan")]
    pub children: Related<Vec<Node>>,
}

pub(crate) async fn setup(db: &TestDb) -> (Engine, Statements) {
    let engine = db.engine().await;
    MetaData::new()
        .with::<User>()
        .with::<Post>()
        .with::<Tag>()
        .with::<PostTag>()
        .with::<Blog>()
        .with::<Entry>()
        .with::<Node>()
        .create_all(&engine)
        .await
        .unwrap();
    let log = Statements::record(&engine);
    (engine, log)
}

pub(crate) async fn count(engine: &Engine, table: &str) -> i64 {
    engine
        .fetch_one(text(format!("SELECT COUNT(*) FROM {table}")))
        .await
        .unwrap()
        .get::<i64>(0)
        .unwrap()
}

/// Users `u1` to `u{n}`, keys 1 to `n`, in one statement.
async fn insert_users(engine: &Engine, n: usize) {
    engine
        .execute(
            insert(User::table()).values_many(
                (1..=n)
                    .map(|i| {
                        (
                            User::name.set(format!("u{i}")),
                            User::email.set(None::<String>),
                        )
                    })
                    .collect::<Vec<_>>(),
            ),
        )
        .await
        .unwrap();
}

/// Every user, in key order, through `session`.
async fn users_in_key_order(session: &mut Session) -> Vec<Obj<User>> {
    session
        .query::<User>()
        .order_by(User::id.asc())
        .all()
        .await
        .unwrap()
}

/// `get` finds each of `users` by its key, as the same handle, without SQL.
async fn assert_found_without_sql(session: &mut Session, users: &[Obj<User>], log: &Statements) {
    log.take();
    for u in users {
        let k = u.read().unwrap().id;
        let found = session.get::<User>(k).await.unwrap().unwrap();
        assert!(Obj::ptr_eq(&found, u), "{k}");
    }
    assert!(
        log.take().is_empty(),
        "objects still mapped are found without SQL"
    );
}

/// The identity map after most of its objects left it (expunged, deleted, bulk-deleted;
/// the map then compacts itself): every object left is found by key without SQL, as
/// the same handle, and a key whose object left is loaded again as a new object.
async fn identity_map_finds_what_is_left_after_most_objects_leave_it(db: &TestDb) {
    let (engine, log) = setup(db).await;
    insert_users(&engine, 300).await;
    let mut session = Session::new(&engine);
    let users = users_in_key_order(&mut session).await;
    assert_eq!(users.len(), 300);
    let key = |u: &Obj<User>| u.read().unwrap().id;
    // 200 leave: expunged, deleted by the unit of work, deleted by a bulk DELETE.
    for u in &users[..150] {
        session.expunge(u).unwrap();
    }
    for u in &users[150..170] {
        session.delete(u).unwrap();
    }
    session.flush().await.unwrap();
    session
        .bulk_delete::<User>(
            delete(User::table()).filter(User::id.gt(170).and(User::id.le(200))),
            orm::Synchronize::Fetch,
        )
        .await
        .unwrap();
    assert_found_without_sql(&mut session, &users[200..], &log).await;
    // An expunged object's row is loaded again, as a new object.
    let again = session.get::<User>(1).await.unwrap().unwrap();
    assert!(!Obj::ptr_eq(&again, &users[0]));
    assert_eq!(log.take().len(), 1);
    assert!(Obj::ptr_eq(
        &session.get::<User>(1).await.unwrap().unwrap(),
        &again
    ));
    for k in [160, 190] {
        assert!(
            session.get::<User>(k).await.unwrap().is_none(),
            "{k} was deleted"
        );
    }
    // After a commit expires them all, a query of every row finds the objects still
    // mapped, and loads the expunged rows as new objects.
    session.commit().await.unwrap();
    let reloaded = users_in_key_order(&mut session).await;
    assert_eq!(reloaded.len(), 250);
    assert!(Obj::ptr_eq(&reloaded[0], &again));
    for (u, r) in users[1..150].iter().zip(&reloaded[1..150]) {
        assert!(!Obj::ptr_eq(u, r));
        assert_eq!(key(u), key(r));
    }
    for (u, r) in users[200..].iter().zip(&reloaded[150..]) {
        assert!(Obj::ptr_eq(u, r), "{}", key(u));
    }
}

/// Rows in increasing key order (which a fresh map takes without looking each key up),
/// then in decreasing order, in no order, and repeated by a join: one object per key
/// throughout, each found by `get` without SQL; an object expunged from the middle of
/// the first load is loaded again as a new one.
async fn identity_map_is_one_object_per_key_whatever_the_order_rows_come_in(db: &TestDb) {
    let (engine, log) = setup(db).await;
    insert_users(&engine, 120).await;
    let mut tx = engine.begin().await.unwrap();
    // Two posts for each of the first 10 users.
    tx.execute(
        insert(Post::table()).values_many(
            (1..=20i64)
                .map(|i| {
                    (
                        Post::user_id.set((i + 1) / 2),
                        Post::title.set(format!("p{i}")),
                        Post::version.set(1),
                    )
                })
                .collect::<Vec<_>>(),
        ),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let key = |u: &Obj<User>| u.read().unwrap().id;
    let mut session = Session::new(&engine);
    let up = users_in_key_order(&mut session).await;
    assert_eq!(
        up.iter().map(key).collect::<Vec<_>>(),
        (1..=120).collect::<Vec<_>>()
    );
    assert_found_without_sql(&mut session, &up, &log).await;
    // Decreasing order: every row is an object already mapped.
    let down = session
        .query::<User>()
        .order_by(User::id.desc())
        .all()
        .await
        .unwrap();
    assert_eq!(down.len(), 120);
    for (d, u) in down.iter().zip(up.iter().rev()) {
        assert!(Obj::ptr_eq(d, u), "{}", key(u));
    }
    // A fresh session, rows in name order ("u1", "u10", "u100", "u101", ..., "u2", ...):
    // keys that rise, fall and rise again.
    let mut session = Session::new(&engine);
    let by_name = session
        .query::<User>()
        .order_by(User::name.asc())
        .all()
        .await
        .unwrap();
    assert_eq!(by_name.len(), 120);
    assert_eq!(
        by_name.iter().take(4).map(key).collect::<Vec<_>>(),
        [1, 10, 100, 101]
    );
    let by_key = users_in_key_order(&mut session).await;
    for u in &by_key {
        let same = by_name.iter().filter(|n| Obj::ptr_eq(n, u)).count();
        assert_eq!(same, 1, "user {} is one object", key(u));
    }
    // A fresh session, each of the first 10 users on two rows of a join, in key order.
    let mut session = Session::new(&engine);
    let joined = session
        .query::<User>()
        .join(Post::table(), Post::user_id.eq(User::id))
        .order_by(User::id.asc())
        .all()
        .await
        .unwrap();
    let keys: Vec<i64> = joined.iter().map(key).collect();
    let mut distinct = keys.clone();
    distinct.dedup();
    assert_eq!(distinct, (1..=10).collect::<Vec<_>>(), "{keys:?}");
    for pair in joined.windows(2) {
        assert_eq!(
            key(&pair[0]) == key(&pair[1]),
            Obj::ptr_eq(&pair[0], &pair[1]),
            "one object per key"
        );
    }
    // A fresh session: one object taken out of the middle of a load in key order; the
    // rest are still found without SQL, and its row is loaded again as a new object.
    let mut session = Session::new(&engine);
    let users = users_in_key_order(&mut session).await;
    session.expunge(&users[59]).unwrap();
    let kept: Vec<Obj<User>> = users.iter().filter(|u| key(u) != 60).cloned().collect();
    assert_found_without_sql(&mut session, &kept, &log).await;
    let again = session.get::<User>(60).await.unwrap().unwrap();
    assert!(!Obj::ptr_eq(&again, &users[59]));
    assert_eq!(log.take().len(), 1);
}

async fn get_twice_is_one_select_and_one_handle(db: &TestDb) {
    let (engine, log) = setup(db).await;
    engine
        .execute(text("INSERT INTO users (name) VALUES ('ed')"))
        .await
        .unwrap();
    log.take();
    let mut session = Session::new(&engine);
    let a = session.get::<User>(1).await.unwrap().unwrap();
    let b = session.get::<User>(1).await.unwrap().unwrap();
    assert!(Obj::ptr_eq(&a, &b));
    let statements = log.take();
    assert_eq!(statements.len(), 1, "{statements:?}"); // one SELECT; BEGIN is not a statement
    assert!(statements[0].starts_with("SELECT"), "{statements:?}");
    assert!(session.get::<User>(2).await.unwrap().is_none());
    // A query over the same row gives the same handle.
    let c = session
        .query::<User>()
        .filter(User::name.eq("ed"))
        .one()
        .await
        .unwrap();
    assert!(Obj::ptr_eq(&a, &c));
    assert_eq!(a.state(), ObjectState::Persistent);
    assert_eq!(a.read().unwrap().name, "ed");
}

async fn query_keeps_unflushed_changes_unless_populate_existing(db: &TestDb) {
    let (engine, _log) = setup(db).await;
    engine
        .execute(text("INSERT INTO users (name) VALUES ('ed')"))
        .await
        .unwrap();
    let mut session = Session::new(&engine);
    session.set_autoflush(false);
    let ed = session.get::<User>(1).await.unwrap().unwrap();
    ed.write().unwrap().email = Some("ed@example.com".into());
    let again = session.query::<User>().one().await.unwrap();
    assert!(Obj::ptr_eq(&ed, &again));
    assert_eq!(ed.read().unwrap().email.as_deref(), Some("ed@example.com"));
    assert_eq!(ed.inspect().changed, ["email"]);
    let fresh = session
        .query::<User>()
        .populate_existing()
        .one()
        .await
        .unwrap();
    assert!(Obj::ptr_eq(&ed, &fresh));
    assert_eq!(ed.read().unwrap().email, None);
    assert!(ed.inspect().changed.is_empty());
}

async fn flush_of_users_with_posts_linked_through_relationships_is_batched(db: &TestDb) {
    let (engine, log) = setup(db).await;
    let mut session = Session::new(&engine);
    let mut users = Vec::new();
    for i in 0..1000 {
        let u = session.add(User::new(format!("user{i}")));
        for j in 0..3 {
            // Linked only through the relationship: user_id is never written by hand.
            let p = session.add(Post::new(format!("post {i}.{j}")));
            u.write().unwrap().posts.push(&p);
        }
        users.push(u);
    }
    session.commit().await.unwrap();
    let statements = log.take();
    let inserts = statements
        .iter()
        .filter(|s| s.starts_with("INSERT"))
        .count();
    // Batched under each dialect's parameter limit: a handful of statements, not 4000.
    assert!(
        inserts <= 8,
        "{inserts} INSERTs: {:?}",
        &statements[..3.min(statements.len())]
    );
    if db.backend == Backend::Postgres {
        // PostgreSQL numbers the rows in the order of an INSERT ... SELECT ... ORDER BY.
        assert!(
            statements
                .iter()
                .filter(|s| s.starts_with("INSERT"))
                .all(|s| s.contains(r#"ORDER BY "orm_sen" RETURNING"#)),
            "{:?}",
            &statements[0][..200]
        );
    }
    assert_eq!(count(&engine, "users").await, 1000);
    assert_eq!(count(&engine, "posts").await, 3000);
    // Every key matched to its own object, every foreign key right.
    for (i, u) in users.iter().enumerate() {
        let user = u.read().unwrap();
        assert_eq!(user.name, format!("user{i}"));
        let row = engine
            .fetch_one(text("SELECT name FROM users WHERE id = :id").bind("id", user.id))
            .await
            .unwrap();
        if i % 97 == 0 {
            assert_eq!(row.get::<String>(0).unwrap(), user.name);
        }
        for (j, p) in user.posts.get().unwrap().iter().enumerate() {
            let post = p.read().unwrap();
            assert_eq!(post.user_id, Some(user.id));
            assert_eq!(post.title, format!("post {i}.{j}"));
            assert_eq!(post.version, 1);
            assert!(Obj::ptr_eq(post.author.get().unwrap().unwrap(), u));
        }
    }
    let wrong = engine
        .fetch_one(text(
            "SELECT COUNT(*) FROM posts p JOIN users u ON u.id = p.user_id \
             WHERE p.title NOT LIKE CONCAT('post ', SUBSTR(u.name, 5), '.%')",
        ))
        .await;
    if let Ok(row) = wrong {
        assert_eq!(row.get::<i64>(0).unwrap(), 0);
    }
}

async fn update_sends_only_changed_columns_and_no_changes_send_nothing(db: &TestDb) {
    let (engine, log) = setup(db).await;
    let mut session = Session::new(&engine);
    let ed = session.add(User::new("ed"));
    session.commit().await.unwrap();
    log.take();
    session.flush().await.unwrap();
    assert!(
        log.take().is_empty(),
        "a flush with no changes emits no SQL"
    );
    ed.write().unwrap().email = Some("ed@x.org".into());
    session.commit().await.unwrap();
    let statements = log.take();
    let updates: Vec<&String> = statements
        .iter()
        .filter(|s| s.starts_with("UPDATE"))
        .collect();
    assert_eq!(updates.len(), 1, "{statements:?}");
    let q = db.dialect().quote_identifier("email");
    let set = &updates[0][updates[0].find("SET").unwrap()..updates[0].find("WHERE").unwrap()];
    assert!(set.contains(&q) && !set.contains("name"), "{}", updates[0]);
    // Writing the same value again is no change.
    ed.write().unwrap().email = Some("ed@x.org".into());
    session.commit().await.unwrap();
    assert_eq!(log.count("UPDATE"), 0);
}

async fn delete_orphan_cascade_deletes_children_first(db: &TestDb) {
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
    // A child removed from the collection is an orphan: deleted.
    ed.write().unwrap().posts.remove(&posts[0]);
    session.commit().await.unwrap();
    assert_eq!(count(&engine, "posts").await, 2);
    assert_eq!(posts[0].state(), ObjectState::Detached);
    log.take();
    // Deleting the parent deletes its children first.
    session.delete(&ed).unwrap();
    session.commit().await.unwrap();
    let statements = log.take();
    // (Association rows of the posts go first, by post key.)
    let deletes: Vec<&String> = statements
        .iter()
        .filter(|s| s.starts_with("DELETE") && !s.contains("s_post_tags"))
        .collect();
    assert_eq!(deletes.len(), 3, "{statements:?}");
    assert!(deletes[0].contains("posts") && deletes[1].contains("posts"));
    assert!(deletes[2].contains("users"), "{deletes:?}");
    assert_eq!(count(&engine, "posts").await, 0);
    assert_eq!(count(&engine, "users").await, 0);
    // Also when the children were never loaded in this session.
    let mut s2 = Session::new(&engine);
    let jack = s2.add(User::new("jack"));
    let p = s2.add(Post::new("j"));
    jack.write().unwrap().posts.push(&p);
    s2.commit().await.unwrap();
    let id = jack.read().unwrap().id;
    drop((jack, p, s2));
    let mut s3 = Session::new(&engine);
    let jack = s3.get::<User>(id).await.unwrap().unwrap();
    s3.delete(&jack).unwrap();
    s3.commit().await.unwrap();
    assert_eq!(count(&engine, "posts").await, 0);
    assert_eq!(count(&engine, "users").await, 0);
}

async fn deleting_a_parent_without_cascade_nulls_the_children_keys(db: &TestDb) {
    let (engine, _log) = setup(db).await;
    let mut session = Session::new(&engine);
    let blog = session.add(Blog::new("b"));
    let e1 = session.add(Entry::new("e1"));
    let e2 = session.add(Entry::new("e2"));
    e1.write().unwrap().blog.set(&blog);
    e2.write().unwrap().blog.set(&blog);
    session.commit().await.unwrap();
    let blog_id = blog.read().unwrap().id;
    assert_eq!(e1.read().unwrap().blog_id, Some(blog_id));
    // back_populates filled the other side in memory.
    assert_eq!(blog.read().unwrap().entries.len().unwrap(), 2);
    // Removing a child without delete-orphan nulls its key.
    blog.write().unwrap().entries.remove(&e1);
    session.commit().await.unwrap();
    assert_eq!(e1.read().unwrap().blog_id, None);
    let n = engine
        .fetch_one(text("SELECT COUNT(*) FROM entries WHERE blog_id IS NULL"))
        .await
        .unwrap()
        .get::<i64>(0)
        .unwrap();
    assert_eq!(n, 1);
    session.delete(&blog).unwrap();
    session.commit().await.unwrap();
    assert_eq!(count(&engine, "blogs").await, 0);
    assert_eq!(count(&engine, "entries").await, 2);
    assert_eq!(e2.read().unwrap().blog_id, None);
}

async fn self_referential_tree_is_inserted_and_deleted_in_one_flush(db: &TestDb) {
    let (engine, log) = setup(db).await;
    let mut session = Session::new(&engine);
    let root = session.add(Node::new("root"));
    let mut level = vec![root.clone()];
    let mut all = vec![root.clone()];
    for depth in 1..4 {
        let mut next = Vec::new();
        for (i, parent) in level.iter().enumerate() {
            for j in 0..2 {
                let n = session.add(Node::new(format!("n{depth}.{i}.{j}")));
                parent.write().unwrap().children.push(&n);
                next.push(n.clone());
                all.push(n);
            }
        }
        level = next;
    }
    session.commit().await.unwrap();
    assert_eq!(count(&engine, "nodes").await, 15);
    // One INSERT per level of the tree.
    assert_eq!(log.count("INSERT"), 4);
    for n in &all[1..] {
        let node = n.read().unwrap();
        let parent = node.parent.get().unwrap().unwrap();
        assert_eq!(node.parent_id, Some(parent.read().unwrap().id));
    }
    session.delete(&root).unwrap();
    session.commit().await.unwrap();
    assert_eq!(count(&engine, "nodes").await, 0);
    assert_eq!(log.count("DELETE"), 15);
}

async fn many_to_many_rows_follow_the_collections(db: &TestDb) {
    let (engine, _log) = setup(db).await;
    let mut session = Session::new(&engine);
    let p = session.add(Post::new("p"));
    let rust = session.add(Tag::new("rust"));
    let sql = session.add(Tag::new("sql"));
    p.write().unwrap().tags.push(&rust);
    p.write().unwrap().tags.push(&sql);
    session.commit().await.unwrap();
    assert_eq!(count(&engine, "s_post_tags").await, 2);
    // back_populates: the tags know the post.
    assert_eq!(rust.read().unwrap().posts.len().unwrap(), 1);
    p.write().unwrap().tags.remove(&sql);
    session.commit().await.unwrap();
    assert_eq!(count(&engine, "s_post_tags").await, 1);
    // Linking from the other side works the same, once.
    sql.write().unwrap().posts.push(&p);
    session.commit().await.unwrap();
    assert_eq!(count(&engine, "s_post_tags").await, 2);
    assert_eq!(p.read().unwrap().tags.len().unwrap(), 2);
    // Deleting one side removes its association rows first.
    session.delete(&p).unwrap();
    session.commit().await.unwrap();
    assert_eq!(count(&engine, "s_post_tags").await, 0);
    assert_eq!(count(&engine, "posts").await, 0);
    assert_eq!(count(&engine, "tags").await, 2);
    // Loading a many-to-many explicitly goes through the association table.
    let mut s2 = Session::new(&engine);
    let q = s2.add(Post::new("q"));
    let rust_id = rust.read().unwrap().id;
    let rust2 = s2.get::<Tag>(rust_id).await.unwrap().unwrap();
    q.write().unwrap().tags.push(&rust2);
    s2.commit().await.unwrap();
    let qid = q.read().unwrap().id;
    drop((q, s2));
    let mut s3 = Session::new(&engine);
    let q = s3.get::<Post>(qid).await.unwrap().unwrap();
    assert!(q.read().unwrap().tags.get().is_err());
    s3.load(&q, Post::tags).await.unwrap();
    let tags = q.read().unwrap().tags.get().unwrap().to_vec();
    assert_eq!(tags.len(), 1);
    assert_eq!(tags[0].read().unwrap().label, "rust");
}

async fn autoflush_finds_pending_objects_and_no_autoflush_does_not(db: &TestDb) {
    let (engine, _log) = setup(db).await;
    let mut session = Session::new(&engine);
    let ed = session.add(User::new("ed"));
    let found = session
        .query::<User>()
        .filter(User::name.eq("ed"))
        .one_or_none()
        .await
        .unwrap()
        .unwrap();
    assert!(Obj::ptr_eq(&ed, &found));
    assert_eq!(ed.state(), ObjectState::Persistent);
    session.add(User::new("wendy"));
    {
        let mut s = session.no_autoflush();
        let none = s
            .query::<User>()
            .filter(User::name.eq("wendy"))
            .one_or_none()
            .await
            .unwrap();
        assert!(none.is_none());
    }
    let some = session
        .query::<User>()
        .filter(User::name.eq("wendy"))
        .one_or_none()
        .await
        .unwrap();
    assert!(some.is_some());
}

async fn rollback_and_commit_move_objects_between_states(db: &TestDb) {
    let (engine, _log) = setup(db).await;
    let mut session = Session::new(&engine);
    let ed = session.add(User::new("ed"));
    assert_eq!(ed.state(), ObjectState::Pending);
    session.commit().await.unwrap();
    assert_eq!(ed.state(), ObjectState::Persistent);
    let wendy = session.add(User::new("wendy"));
    session.flush().await.unwrap();
    assert_eq!(wendy.state(), ObjectState::Persistent);
    let pending = session.add(User::new("mary"));
    session.delete(&ed).unwrap();
    session.flush().await.unwrap();
    assert_eq!(ed.state(), ObjectState::Deleted);
    session.rollback().await.unwrap();
    // Inserted in the rolled-back transaction: transient; deleted in it: persistent
    // again; everything persistent is expired.
    assert_eq!(wendy.state(), ObjectState::Transient);
    assert_eq!(pending.state(), ObjectState::Transient);
    assert_eq!(ed.state(), ObjectState::Persistent);
    assert!(matches!(ed.read(), Err(orm::Error::Expired { .. })));
    assert_eq!(count(&engine, "users").await, 1);
    session.refresh(&ed).await.unwrap();
    assert_eq!(ed.read().unwrap().name, "ed");
    // A transient object can be added again.
    session.add_obj(&wendy).unwrap();
    session.commit().await.unwrap();
    assert_eq!(count(&engine, "users").await, 2);
    // A session dropped with a transaction open rolls it back.
    session.add(User::new("gone"));
    session.flush().await.unwrap();
    drop(session);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(count(&engine, "users").await, 2);
}

async fn failed_flush_writes_nothing_changes_no_object_and_can_be_retried(db: &TestDb) {
    let (engine, _log) = setup(db).await;
    let mut session = Session::new(&engine);
    let users: Vec<_> = (0..100)
        .map(|i| {
            let name = if i == 50 {
                "user10".to_owned()
            } else {
                format!("user{i}")
            };
            session.add(User::new(name))
        })
        .collect();
    let err = session.commit().await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, orm::Error::Flush { .. }), "{err:?}");
    assert!(text.contains("User"), "{text}");
    let orm::Error::Flush { source, .. } = &err else {
        unreachable!()
    };
    let orm::Error::Database(dberr) = &**source else {
        panic!("{source:?}")
    };
    assert_eq!(dberr.kind, orm::DatabaseErrorKind::UniqueViolation);
    assert_eq!(count(&engine, "users").await, 0);
    for u in &users {
        assert_eq!(u.read().unwrap().id, 0, "no key half assigned");
        assert_eq!(u.state(), ObjectState::Pending);
    }
    // The session says it must be rolled back.
    let again = session.flush().await.unwrap_err();
    assert!(
        matches!(again, orm::Error::PendingRollback { .. }),
        "{again}"
    );
    session.rollback().await.unwrap();
    users[50].write().unwrap().name = "user50".into();
    for u in &users {
        session.add_obj(u).unwrap();
    }
    session.commit().await.unwrap();
    assert_eq!(count(&engine, "users").await, 100);
    assert!(users.iter().all(|u| u.read().unwrap().id > 0));
}

async fn second_session_updating_a_stale_version_gets_stale_data(db: &TestDb) {
    let (engine, _log) = setup(db).await;
    let mut s1 = Session::new(&engine);
    let p = s1.add(Post::new("v"));
    s1.commit().await.unwrap();
    let id = p.read().unwrap().id;
    assert_eq!(p.read().unwrap().version, 1);
    let mut s2 = Session::new(&engine);
    let p2 = s2.get::<Post>(id).await.unwrap().unwrap();
    s2.commit().await.unwrap();
    p.write().unwrap().title = "first".into();
    s1.commit().await.unwrap();
    assert_eq!(p.read().unwrap().version, 2);
    p2.write().unwrap().title = "second".into();
    let err = s2.commit().await.unwrap_err();
    assert!(
        matches!(
            err,
            orm::Error::StaleData {
                operation: "UPDATE",
                expected: 1,
                matched: 0,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("Post("), "{err}");
    let title = engine
        .fetch_one(text("SELECT title FROM posts"))
        .await
        .unwrap()
        .get::<String>(0)
        .unwrap();
    assert_eq!(title, "first");
}

async fn dropped_flush_future_writes_nothing_and_session_recovers(db: &TestDb) {
    let (engine, _log) = setup(db).await;
    let mut session = Session::new(&engine);
    for i in 0..200 {
        session.add(User::new(format!("u{i}")));
    }
    {
        let fut = session.flush();
        // Poll the flush once or twice, then drop it half-way.
        let _ = tokio::time::timeout(std::time::Duration::from_micros(200), fut).await;
    }
    let err = session.flush().await;
    if err.is_ok() {
        // The flush finished before the timeout: nothing to prove on this machine.
        session.rollback().await.unwrap();
    } else {
        assert!(
            matches!(err, Err(orm::Error::PendingRollback { .. })),
            "{err:?}"
        );
        session.rollback().await.unwrap();
    }
    assert_eq!(count(&engine, "users").await, 0);
    session.add(User::new("after"));
    session.commit().await.unwrap();
    assert_eq!(count(&engine, "users").await, 1);
}

async fn expired_objects_refuse_reads_until_refreshed(db: &TestDb) {
    let (engine, _log) = setup(db).await;
    let mut session = Session::new(&engine);
    let ed = session.add(User::new("ed"));
    session.commit().await.unwrap();
    engine
        .execute(text("UPDATE users SET name = 'edward'"))
        .await
        .unwrap();
    assert_eq!(ed.read().unwrap().name, "ed");
    session.expire(&ed).unwrap();
    let err = ed.read().map(|_| ()).unwrap_err();
    assert!(err.to_string().contains("is expired"), "{err}");
    assert_eq!(ed.inspect().expired.len(), 3);
    session.refresh(&ed).await.unwrap();
    assert_eq!(ed.read().unwrap().name, "edward");
    // expire_on_commit: every object is expired by commit; a query fills it again.
    session.set_expire_on_commit(true);
    session.commit().await.unwrap();
    assert!(ed.read().is_err());
    let again = session.query::<User>().one().await.unwrap();
    assert!(Obj::ptr_eq(&ed, &again));
    assert_eq!(ed.read().unwrap().name, "edward");
}

static DROPS: AtomicUsize = AtomicUsize::new(0);

/// Counts drops, to prove object graphs are freed.
#[derive(Debug, Clone, Default)]
pub struct DropCounter;

impl Drop for DropCounter {
    fn drop(&mut self) {
        DROPS.fetch_add(1, Ordering::SeqCst);
    }
}

#[derive(Model, Debug, Clone)]
#[orm(table = "leak_parents")]
pub struct LeakParent {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(skip)]
    #[allow(dead_code)] // only its drop matters
    pub counter: DropCounter,
    #[relationship(back_populates = "parent")]
    pub kids: Related<Vec<LeakKid>>,
}

#[derive(Model, Debug, Clone)]
#[orm(table = "leak_kids")]
pub struct LeakKid {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(foreign_key = "leak_parents.id")]
    pub parent_id: Option<i64>,
    #[orm(skip)]
    #[allow(dead_code)] // only its drop matters
    pub counter: DropCounter,
    #[relationship(back_populates = "kids")]
    pub parent: Related<Option<LeakParent>>,
}

#[tokio::test]
async fn dropping_the_session_and_every_handle_frees_back_populates_cycles() {
    let engine = orm::create_engine("sqlite::memory:").await.unwrap();
    let before = DROPS.load(Ordering::SeqCst);
    {
        let mut session = Session::new(&engine);
        let p = session.add(LeakParent::new());
        let kids: Vec<_> = (0..10).map(|_| session.add(LeakKid::new())).collect();
        for k in &kids {
            p.write().unwrap().kids.push(k);
        }
        // The pair is a cycle of handles in memory.
        assert!(Obj::ptr_eq(
            kids[3].read().unwrap().parent.get().unwrap().unwrap(),
            &p
        ));
        // An expunged object and a handle that outlives the session.
        session.expunge(&kids[0]).unwrap();
        let survivor = kids[1].clone();
        drop(kids);
        drop(p);
        drop(session);
        // The survivor still reads, and so does what it links to.
        assert!(survivor.read().unwrap().parent.get().unwrap().is_some());
        assert_eq!(DROPS.load(Ordering::SeqCst), before);
    }
    // Every object (1 parent + 10 kids), and the value clones never made, are freed.
    assert_eq!(DROPS.load(Ordering::SeqCst) - before, 11);
}

/// A load that finds an object made in another session (added here later) hands out a
/// handle counted on that session's object graph, not on this one's: the graph stays
/// whole while a handle to it lives, and is freed once none does.
#[tokio::test]
async fn loading_an_object_of_another_sessions_graph_counts_it_there() {
    let engine = orm::create_engine("sqlite::memory:").await.unwrap();
    MetaData::new()
        .with::<LeakParent>()
        .with::<LeakKid>()
        .create_all(&engine)
        .await
        .unwrap();
    let before = DROPS.load(Ordering::SeqCst);
    {
        let mut a = Session::new(&engine);
        let p = a.add(LeakParent::new());
        for _ in 0..3 {
            let k = a.add(LeakKid::new());
            p.write().unwrap().kids.push(&k);
        }
        a.commit().await.unwrap();
        drop(a);
        let mut b = Session::new(&engine);
        b.add_obj(&p).unwrap();
        for _ in 0..3 {
            let loaded = b.query::<LeakParent>().all().await.unwrap();
            assert!(Obj::ptr_eq(&loaded[0], &p));
        }
        drop(b);
        // Only `p` holds the graph now: it is whole.
        assert_eq!(p.read().unwrap().kids.get().unwrap().len(), 3);
        assert_eq!(DROPS.load(Ordering::SeqCst), before);
    }
    assert_eq!(DROPS.load(Ordering::SeqCst) - before, 4);
}

static LOADED_DROPS: AtomicUsize = AtomicUsize::new(0);

/// Counts drops of loaded objects (its own counter: tests run in parallel).
#[derive(Debug, Clone, Default)]
pub struct LoadedDropCounter;

impl Drop for LoadedDropCounter {
    fn drop(&mut self) {
        LOADED_DROPS.fetch_add(1, Ordering::SeqCst);
    }
}

#[derive(Model, Debug, Clone)]
#[orm(table = "leak_loaded")]
pub struct LeakLoaded {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(skip)]
    #[allow(dead_code)] // only its drop matters
    pub counter: LoadedDropCounter,
}

/// A query's objects share allocations (cells come in chunks): each object is still
/// dropped when nothing reaches it any more, whatever its neighbours do, and a handle
/// kept past the session keeps only its own object.
#[tokio::test]
async fn loaded_objects_are_freed_one_by_one() {
    let engine = orm::create_engine("sqlite::memory:").await.unwrap();
    MetaData::new()
        .with::<LeakLoaded>()
        .create_all(&engine)
        .await
        .unwrap();
    let rows: Vec<String> = (1..=100).map(|i| format!("({i})")).collect();
    engine
        .execute(text(format!(
            "INSERT INTO leak_loaded (id) VALUES {}",
            rows.join(", ")
        )))
        .await
        .unwrap();
    let mut session = Session::new(&engine);
    let objects = session
        .query::<LeakLoaded>()
        .order_by(LeakLoaded::id.asc())
        .all()
        .await
        .unwrap();
    assert_eq!(objects.len(), 100);
    assert_eq!(LOADED_DROPS.load(Ordering::SeqCst), 0);
    let kept = [objects[0].clone(), objects[40].clone(), objects[99].clone()];
    drop(objects);
    assert_eq!(
        LOADED_DROPS.load(Ordering::SeqCst),
        0,
        "the session holds them"
    );
    drop(session);
    assert_eq!(LOADED_DROPS.load(Ordering::SeqCst), 97);
    assert_eq!(kept[1].read().unwrap().id, 41);
    assert_eq!(kept[1].state(), ObjectState::Detached);
    let [first, middle, last] = kept;
    drop(middle);
    assert_eq!(LOADED_DROPS.load(Ordering::SeqCst), 98);
    drop((first, last));
    assert_eq!(LOADED_DROPS.load(Ordering::SeqCst), 100);
}

static LINKED_DROPS: AtomicUsize = AtomicUsize::new(0);

/// Counts drops of the loaded cycle test's objects.
#[derive(Debug, Clone, Default)]
pub struct LinkedDropCounter;

impl Drop for LinkedDropCounter {
    fn drop(&mut self) {
        LINKED_DROPS.fetch_add(1, Ordering::SeqCst);
    }
}

#[derive(Model, Debug, Clone)]
#[orm(table = "link_parents")]
pub struct LinkParent {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(skip)]
    #[allow(dead_code)] // only its drop matters
    pub counter: LinkedDropCounter,
    #[relationship(back_populates = "parent")]
    pub kids: Related<Vec<LinkKid>>,
}

#[derive(Model, Debug, Clone)]
#[orm(table = "link_kids")]
pub struct LinkKid {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(foreign_key = "link_parents.id")]
    pub parent_id: Option<i64>,
    #[orm(skip)]
    #[allow(dead_code)] // only its drop matters
    pub counter: LinkedDropCounter,
    #[relationship(back_populates = "kids")]
    pub parent: Related<Option<LinkParent>>,
}

/// Loaded objects join the registry that cuts cycles only when they link to another
/// object: a cycle made by loading both sides of a pair (parents with their kids, the
/// kids with their parent) is still freed when the session and every handle are gone.
#[tokio::test]
async fn cycles_made_by_loading_are_freed() {
    let engine = orm::create_engine("sqlite::memory:").await.unwrap();
    MetaData::new()
        .with::<LinkParent>()
        .with::<LinkKid>()
        .create_all(&engine)
        .await
        .unwrap();
    engine
        .execute_script(
            "INSERT INTO link_parents (id) VALUES (1), (2); \
             INSERT INTO link_kids (id, parent_id) VALUES (1, 1), (2, 1), (3, 2), (4, 2), (5, 2)",
        )
        .await
        .unwrap();
    {
        let mut session = Session::new(&engine);
        let parents = session
            .query::<LinkParent>()
            .options(selectinload(LinkParent::kids).selectinload(LinkKid::parent))
            .all()
            .await
            .unwrap();
        // Both sides loaded: a cycle of handles in memory.
        let kid = parents[1].read().unwrap().kids.get().unwrap()[0].clone();
        assert!(Obj::ptr_eq(
            kid.read().unwrap().parent.get().unwrap().unwrap(),
            &parents[1]
        ));
        drop(kid);
        drop(parents);
        drop(session);
    }
    assert_eq!(LINKED_DROPS.load(Ordering::SeqCst), 7);
}

#[test]
fn handles_are_send_sync_and_guards_are_not_send() {
    fn send_sync<T: Send + Sync + 'static>() {}
    send_sync::<Obj<User>>();
    send_sync::<Related<Vec<Post>>>();
    fn send<T: Send>() {}
    send::<Session>();
}

#[tokio::test]
async fn a_guard_held_across_a_flush_is_an_error_not_a_deadlock() {
    let engine = orm::create_engine("sqlite::memory:").await.unwrap();
    MetaData::new()
        .with::<Blog>()
        .with::<Entry>()
        .create_all(&engine)
        .await
        .unwrap();
    let mut session = Session::new(&engine);
    let blog = session.add(Blog::new("b"));
    let guard = blog.write().unwrap();
    let err = session.flush().await.unwrap_err();
    assert!(
        err.to_string()
            .contains("is locked by a read()/write() guard"),
        "{err}"
    );
    drop(guard);
    session.commit().await.unwrap();
    assert_eq!(blog.state(), ObjectState::Persistent);
}

async fn savepoint_rollback_undoes_only_the_inner_work(db: &TestDb) {
    let (engine, log) = setup(db).await;
    let mut session = Session::new(&engine);
    let ed = session.add(User::new("ed"));
    let outer_post = session.add(Post::new("outer"));
    session.flush().await.unwrap();
    let sp = session.begin_nested().await.unwrap();
    let inner = session.add(User::new("inner"));
    ed.write().unwrap().email = Some("inner@x".into());
    session.delete(&outer_post).unwrap();
    session.flush().await.unwrap();
    assert_eq!(inner.state(), ObjectState::Persistent);
    assert_eq!(outer_post.state(), ObjectState::Deleted);
    let never_flushed = session.add(User::new("never"));
    log.take();
    session.rollback_nested(sp).await.unwrap();
    let statements = log.take();
    assert!(
        statements
            .iter()
            .any(|s| s.starts_with("ROLLBACK TO SAVEPOINT")),
        "{statements:?}"
    );
    // The inner work is undone in memory ...
    assert_eq!(inner.state(), ObjectState::Transient);
    assert_eq!(never_flushed.state(), ObjectState::Transient);
    assert_eq!(outer_post.state(), ObjectState::Persistent);
    assert!(ed.read().is_err(), "changed inside the savepoint: expired");
    // ... and in the database; the outer work stays and commits.
    session.refresh(&ed).await.unwrap();
    assert_eq!(ed.read().unwrap().email, None);
    session.commit().await.unwrap();
    assert_eq!(count(&engine, "users").await, 1);
    assert_eq!(count(&engine, "posts").await, 1);
    // A committed savepoint keeps its work.
    let sp = session.begin_nested().await.unwrap();
    session.add(User::new("kept"));
    session.commit_nested(sp).await.unwrap();
    session.commit().await.unwrap();
    assert_eq!(count(&engine, "users").await, 2);
    // Ending a savepoint that is not the innermost is an error.
    let a = session.begin_nested().await.unwrap();
    let b = session.begin_nested().await.unwrap();
    assert!(session.rollback_nested(a).await.is_err());
    session.rollback_nested(b).await.unwrap();
    session.rollback_nested(a).await.unwrap();
    session.commit().await.unwrap();
}

async fn events_fire_once_in_sqlalchemys_order(db: &TestDb) {
    use orm::session::events::SessionEvent;
    use std::sync::{Arc, Mutex};
    let (engine, log) = setup(db).await;
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut session = Session::new(&engine);
    let push =
        |seen: &Arc<Mutex<Vec<String>>>, what: &str| seen.lock().unwrap().push(what.to_owned());
    for (event, name) in [
        (SessionEvent::BeforeCommit, "before_commit"),
        (SessionEvent::AfterFlush, "after_flush"),
        (SessionEvent::AfterFlushPostexec, "after_flush_postexec"),
        (SessionEvent::AfterCommit, "after_commit"),
        (SessionEvent::AfterRollback, "after_rollback"),
        (SessionEvent::AfterSoftRollback, "after_soft_rollback"),
    ] {
        let seen = Arc::clone(&seen);
        session.on(event, move |_| push(&seen, name));
    }
    {
        // before_flush may add objects: they are flushed in the same flush.
        let seen = Arc::clone(&seen);
        let mut added = false;
        session.on_before_flush(move |s| {
            push(&seen, "before_flush");
            if !added {
                added = true;
                s.add(Blog::new("added in before_flush"));
            }
            Ok(())
        });
    }
    {
        let seen = Arc::clone(&seen);
        session.on_state_change(move |c| {
            push(&seen, &format!("{}:{:?}->{:?}", c.model, c.from, c.to));
        });
    }
    {
        let (a, b, c, d, e) = (
            Arc::clone(&seen),
            Arc::clone(&seen),
            Arc::clone(&seen),
            Arc::clone(&seen),
            Arc::clone(&seen),
        );
        session
            .on_model::<Blog>()
            .before_insert(move |blog| {
                push(&a, &format!("before_insert:{}", blog.name));
                blog.name = blog.name.to_uppercase();
                Ok(())
            })
            .after_insert(move |blog| push(&b, &format!("after_insert:{}", blog.id > 0)))
            .before_update(move |_| {
                push(&c, "before_update");
                Ok(())
            })
            .after_update(move |_| push(&d, "after_update"))
            .load(move |_| push(&e, "load"));
    }
    let blog = session.add(Blog::new("b"));
    session.commit().await.unwrap();
    log.take();
    let events = std::mem::take(&mut *seen.lock().unwrap());
    assert_eq!(
        events,
        [
            "Blog:Transient->Pending",
            "before_commit",
            "before_flush",
            "Blog:Transient->Pending",
            "before_insert:b",
            "before_insert:added in before_flush",
            "after_insert:true",
            "after_insert:true",
            "after_flush",
            "after_flush_postexec",
            "Blog:Pending->Persistent",
            "Blog:Pending->Persistent",
            "after_commit",
        ]
    );
    assert_eq!(count(&engine, "blogs").await, 2);
    // before_insert changed the object before its INSERT.
    assert_eq!(blog.read().unwrap().name, "B");
    let stored = engine
        .fetch_one(text("SELECT COUNT(*) FROM blogs WHERE name = 'B'"))
        .await
        .unwrap()
        .get::<i64>(0)
        .unwrap();
    assert_eq!(stored, 1);
    blog.write().unwrap().name = "c".into();
    session.flush().await.unwrap();
    session.rollback().await.unwrap();
    let events = std::mem::take(&mut *seen.lock().unwrap());
    assert_eq!(
        events,
        [
            "before_flush",
            "before_update",
            "after_update",
            "after_flush",
            "after_flush_postexec",
            "after_rollback",
            "after_soft_rollback",
        ]
    );
    // A query builds objects: load fires for each new one, once.
    let mut other = Session::new(&engine);
    let loads = Arc::new(Mutex::new(0));
    let l = Arc::clone(&loads);
    other
        .on_model::<Blog>()
        .load(move |_| *l.lock().unwrap() += 1);
    other.query::<Blog>().all().await.unwrap();
    other.query::<Blog>().all().await.unwrap();
    assert_eq!(*loads.lock().unwrap(), 2);
}

async fn merge_copies_state_onto_the_identity_mapped_object(db: &TestDb) {
    let (engine, log) = setup(db).await;
    let mut session = Session::new(&engine);
    let ed = session.add(User::new("ed"));
    session.commit().await.unwrap();
    let id = ed.read().unwrap().id;
    // A detached value (say, deserialized from a request) with the same key.
    let mut incoming = User::new("edward");
    incoming.id = id;
    incoming.email = Some("e@x".into());
    log.take();
    let merged = session.merge(incoming).await.unwrap();
    assert!(
        Obj::ptr_eq(&merged, &ed),
        "merged onto the object in the identity map"
    );
    assert!(log.take().is_empty(), "in the identity map: no SQL");
    assert_eq!(ed.inspect().changed, ["name", "email"]);
    session.commit().await.unwrap();
    // Not in the identity map: loaded by key, then changed.
    let mut other = Session::new(&engine);
    let mut again = User::new("eddie");
    again.id = id;
    let loaded = other.merge(again).await.unwrap();
    assert_eq!(loaded.state(), ObjectState::Persistent);
    other.commit().await.unwrap();
    let name = engine
        .fetch_one(text("SELECT name FROM users"))
        .await
        .unwrap()
        .get::<String>(0)
        .unwrap();
    assert_eq!(name, "eddie");
    // A key that is not in the database, or no key: a new pending object.
    let mut unknown = User::new("new");
    unknown.id = 777;
    let n = other.merge(unknown).await.unwrap();
    assert_eq!(n.state(), ObjectState::Pending);
    let fresh = other.merge(User::new("fresh")).await.unwrap();
    assert_eq!(fresh.state(), ObjectState::Pending);
    other.commit().await.unwrap();
    assert_eq!(count(&engine, "users").await, 3);
    // load = false: taken as the database's state, no SQL.
    let mut third = Session::new(&engine);
    let mut cached = User::new("cached");
    cached.id = 777;
    log.take();
    let c = third.merge_with(cached, false).await.unwrap();
    assert!(log.take().is_empty());
    assert_eq!(c.state(), ObjectState::Persistent);
}

async fn bulk_update_and_delete_keep_loaded_objects_in_step(db: &TestDb) {
    let (engine, _log) = setup(db).await;
    let mut session = Session::new(&engine);
    let users: Vec<_> = ["ann", "bob", "cid"]
        .into_iter()
        .map(|n| session.add(User::new(n)))
        .collect();
    session.commit().await.unwrap();
    let n = session
        .bulk_update::<User>(
            update(User::table())
                .set(User::email.set(Some("x@y".to_owned())))
                .filter(User::name.ne("cid")),
            orm::Synchronize::Fetch,
        )
        .await
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(users[0].read().unwrap().email.as_deref(), Some("x@y"));
    assert_eq!(users[2].read().unwrap().email, None);
    assert!(users[0].inspect().changed.is_empty(), "in step, not dirty");
    let n = session
        .bulk_delete::<User>(
            delete(User::table()).filter(User::name.eq("bob")),
            orm::Synchronize::Fetch,
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(users[1].state(), ObjectState::Deleted);
    session.commit().await.unwrap();
    assert_eq!(users[1].state(), ObjectState::Detached);
    assert_eq!(count(&engine, "users").await, 2);
    assert!(
        session
            .get::<User>(users[0].read().unwrap().id)
            .await
            .unwrap()
            .is_some()
    );
    // A bulk statement must target the model's table.
    let err = session
        .bulk_delete::<User>(delete(Post::table()), orm::Synchronize::Fetch)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("must target its table"), "{err}");
}
