//! Loader options on session queries: `selectinload` chains, identity-map hits,
//! chunking, `raiseload`. Statements are counted through the engine's events.

use orm::prelude::*;

use crate::backend_tests;
use crate::session::{Blog, Entry, Node, Post, Tag, User, setup};
use crate::support::{Backend, TestDb};

backend_tests!(
    selectinload_two_levels_over_500_users_is_three_selects,
    selectinload_chunks_1200_parents_and_finds_every_child,
    many_to_one_selectin_finds_targets_in_the_identity_map_without_sql,
    raiseload_and_noload_leave_relationships_unloaded_and_say_so,
    self_referential_selectin_loads_children_and_parents,
);

async fn selectinload_two_levels_over_500_users_is_three_selects(db: &TestDb) {
    let (engine, log) = setup(db).await;
    let mut session = Session::new(&engine);
    let tags: Vec<_> = (0..3)
        .map(|i| session.add(Tag::new(format!("t{i}"))))
        .collect();
    for i in 0..500 {
        let u = session.add(User::new(format!("u{i}")));
        for j in 0..1 {
            let p = session.add(Post::new(format!("p{i}.{j}")));
            u.write().unwrap().posts.push(&p);
            p.write().unwrap().tags.push(&tags[(i + j) % 3]);
        }
    }
    session.commit().await.unwrap();
    drop(session);
    log.take();
    let mut session = Session::new(&engine);
    let users = session
        .query::<User>()
        .order_by(User::id.asc())
        .options(selectinload(User::posts).selectinload(Post::tags))
        .all()
        .await
        .unwrap();
    let statements = log.take();
    // One SELECT per level: users, their posts (500 keys), the posts' tags (500 keys).
    assert_eq!(statements.len(), 3, "{}", statements.len());
    assert!(statements.iter().all(|s| s.starts_with("SELECT")));
    assert_eq!(users.len(), 500);
    let mut tag_handles = std::collections::HashSet::new();
    for (i, u) in users.iter().enumerate() {
        let user = u.read().unwrap();
        let posts = user.posts.get().unwrap();
        assert_eq!(posts.len(), 1);
        for (j, p) in posts.iter().enumerate() {
            let post = p.read().unwrap();
            assert_eq!(post.title, format!("p{i}.{j}"));
            let tags = post.tags.get().unwrap();
            assert_eq!(tags.len(), 1);
            assert_eq!(tags[0].read().unwrap().label, format!("t{}", (i + j) % 3));
            tag_handles.insert(format!("{:p}", &*tags[0].read().unwrap()));
        }
    }
    // One tag reached through many posts is one object.
    assert_eq!(tag_handles.len(), 3);
}

async fn selectinload_chunks_1200_parents_and_finds_every_child(db: &TestDb) {
    let (engine, log) = setup(db).await;
    let mut session = Session::new(&engine);
    for i in 0..1200 {
        let b = session.add(Blog::new(format!("b{i}")));
        if i % 3 == 0 {
            let e = session.add(Entry::new(format!("e{i}")));
            e.write().unwrap().blog.set(&b);
        }
    }
    session.commit().await.unwrap();
    drop(session);
    log.take();
    let mut session = Session::new(&engine);
    let blogs = session
        .query::<Blog>()
        .options(selectinload(Blog::entries))
        .all()
        .await
        .unwrap();
    let statements = log.take();
    if db.backend == Backend::Postgres {
        // The blogs, then the entries of all 1,200 keys with one array parameter.
        assert_eq!(statements.len(), 1 + 1, "{}", statements.len());
        assert!(statements[1].contains("= ANY($1)"), "{}", statements[1]);
    } else {
        // The blogs, then the entries in chunks of 500 keys.
        assert_eq!(statements.len(), 1 + 3, "{}", statements.len());
    }
    let mut with = 0;
    for b in &blogs {
        let blog = b.read().unwrap();
        let entries = blog.entries.get().unwrap();
        let n: usize = blog.name[1..].parse().unwrap();
        assert_eq!(entries.len(), usize::from(n % 3 == 0));
        if let Some(e) = entries.first() {
            with += 1;
            assert_eq!(e.read().unwrap().title, format!("e{n}"));
            // back_populates was not loaded by this query; the child's own FK is right.
            assert_eq!(e.read().unwrap().blog_id, Some(blog.id));
        }
    }
    assert_eq!(with, 400);
}

async fn many_to_one_selectin_finds_targets_in_the_identity_map_without_sql(db: &TestDb) {
    let (engine, log) = setup(db).await;
    let mut session = Session::new(&engine);
    let ed = session.add(User::new("ed"));
    for i in 0..5 {
        let p = session.add(Post::new(format!("p{i}")));
        p.write().unwrap().author.set(&ed);
    }
    session.commit().await.unwrap();
    drop(session);
    let mut session = Session::new(&engine);
    let ed = session.query::<User>().one().await.unwrap();
    log.take();
    let posts = session
        .query::<Post>()
        .options(selectinload(Post::author))
        .all()
        .await
        .unwrap();
    assert_eq!(
        log.take().len(),
        1,
        "the author is in the identity map: only the posts' SELECT"
    );
    for p in &posts {
        assert!(Obj::ptr_eq(
            p.read().unwrap().author.get().unwrap().unwrap(),
            &ed
        ));
    }
    // In a fresh session the one author is loaded once for all five posts.
    let mut fresh = Session::new(&engine);
    log.take();
    let posts = fresh
        .query::<Post>()
        .options(selectinload(Post::author))
        .all()
        .await
        .unwrap();
    assert_eq!(log.take().len(), 2);
    let a = posts[0]
        .read()
        .unwrap()
        .author
        .get()
        .unwrap()
        .unwrap()
        .clone();
    for p in &posts {
        assert!(Obj::ptr_eq(
            p.read().unwrap().author.get().unwrap().unwrap(),
            &a
        ));
    }
}

async fn raiseload_and_noload_leave_relationships_unloaded_and_say_so(db: &TestDb) {
    let (engine, log) = setup(db).await;
    let mut session = Session::new(&engine);
    let ed = session.add(User::new("ed"));
    let p = session.add(Post::new("p"));
    ed.write().unwrap().posts.push(&p);
    session.commit().await.unwrap();
    drop((ed, p, session));
    let mut session = Session::new(&engine);
    log.take();
    let users = session
        .query::<User>()
        .options(raiseload(User::posts))
        .all()
        .await
        .unwrap();
    assert_eq!(log.take().len(), 1);
    let err = users[0]
        .read()
        .unwrap()
        .posts
        .get()
        .map(|_| ())
        .unwrap_err();
    assert!(matches!(err, orm::Error::RaiseLoad { .. }), "{err}");
    assert!(err.to_string().contains("User.posts") && err.to_string().contains("raiseload"));
    // An explicit load fills it.
    session.load(&users[0], User::posts).await.unwrap();
    assert_eq!(users[0].read().unwrap().posts.len().unwrap(), 1);
    let mut other = Session::new(&engine);
    let users = other
        .query::<User>()
        .options(noload(User::posts))
        .all()
        .await
        .unwrap();
    assert!(matches!(
        users[0].read().unwrap().posts.get().map(|_| ()),
        Err(orm::Error::NotLoaded { .. })
    ));
}

async fn self_referential_selectin_loads_children_and_parents(db: &TestDb) {
    let (engine, log) = node_tree(db).await;
    let mut session = Session::new(&engine);
    let roots = session
        .query::<Node>()
        .filter(Node::parent_id.is_null())
        .options(selectinload(Node::children).selectinload(Node::children))
        .all()
        .await
        .unwrap();
    assert_eq!(log.take().len(), 3);
    let root = roots[0].read().unwrap();
    let kids = root.children.get().unwrap();
    assert_eq!(kids.len(), 3);
    for k in kids {
        assert_eq!(k.read().unwrap().children.get().unwrap().len(), 2);
    }
    // Many-to-one the other way: every grandchild's parent is in the identity map.
    let grandchildren = session
        .query::<Node>()
        .filter(Node::name.like("g%"))
        .options(selectinload(Node::parent))
        .all()
        .await
        .unwrap();
    assert_eq!(log.take().len(), 1);
    for g in &grandchildren {
        let parent = g.read().unwrap().parent.get().unwrap().unwrap().clone();
        assert!(kids.iter().any(|k| Obj::ptr_eq(k, &parent)));
    }
}

/// A tree `root` → `c0..c2` → `g{i}.0`, `g{i}.1`, committed; the statements log is empty.
pub(crate) async fn node_tree(db: &TestDb) -> (orm::Engine, crate::support::Statements) {
    let (engine, log) = setup(db).await;
    let mut session = Session::new(&engine);
    let root = session.add(Node::new("root"));
    for i in 0..3 {
        let c = session.add(Node::new(format!("c{i}")));
        root.write().unwrap().children.push(&c);
        for j in 0..2 {
            let g = session.add(Node::new(format!("g{i}.{j}")));
            c.write().unwrap().children.push(&g);
        }
    }
    session.commit().await.unwrap();
    drop((root, session));
    log.take();
    (engine, log)
}
