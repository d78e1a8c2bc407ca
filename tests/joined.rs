//! `joinedload`: relationships loaded by the query's own SELECT through LEFT OUTER JOINs
//! to aliased tables. Statements are counted (and read) through the engine's events.

use orm::prelude::*;

use crate::backend_tests;
use crate::loading::node_tree;
use crate::session::{Node, Post, Tag, User, setup};
use crate::support::TestDb;

backend_tests!(
    joinedload_one_to_many_and_many_to_one_are_one_select_each,
    joinedload_with_a_limit_counts_parents_not_rows,
    joined_chain_through_many_to_many_gives_the_selectin_graph,
    joined_then_selectin_is_one_join_then_one_select,
    innerjoin_drops_parents_without_children,
    self_referential_joined_chain_uses_one_alias_per_level,
    contains_eager_fills_a_collection_from_a_filtered_join,
    contains_eager_reads_a_many_to_one_from_an_alias,
    subqueryload_reruns_the_query_as_a_subquery_and_gives_the_selectin_graph,
    a_locking_query_loads_joined_relationships_with_a_second_select,
    a_load_listener_sees_each_joined_object_once_and_the_graph_is_the_same,
);

/// `u{i}` has `i % 4` posts `p{i}.{j}`; one post has no author. Post `p{i}.{j}` has tag
/// `t{(i + j) % 3}`.
pub(crate) async fn blog(db: &TestDb, users: usize) -> (orm::Engine, crate::support::Statements) {
    let (engine, log) = setup(db).await;
    let mut session = Session::new(&engine);
    let tags: Vec<_> = (0..3)
        .map(|i| session.add(Tag::new(format!("t{i}"))))
        .collect();
    for i in 0..users {
        let u = session.add(User::new(format!("u{i:02}")));
        for j in 0..i % 4 {
            let p = session.add(Post::new(format!("p{i:02}.{j}")));
            u.write().unwrap().posts.push(&p);
            p.write().unwrap().tags.push(&tags[(i + j) % 3]);
        }
    }
    session.add(Post::new("orphan"));
    session.commit().await.unwrap();
    drop(session);
    log.take();
    (engine, log)
}

fn titles(u: &Obj<User>) -> Vec<String> {
    let user = u.read().unwrap();
    user.posts
        .get()
        .unwrap()
        .iter()
        .map(|p| p.read().unwrap().title.clone())
        .collect()
}

fn expected_titles(name: &str) -> Vec<String> {
    let i: usize = name[1..].parse().unwrap();
    (0..i % 4).map(|j| format!("p{i:02}.{j}")).collect()
}

async fn joinedload_one_to_many_and_many_to_one_are_one_select_each(db: &TestDb) {
    let (engine, log) = blog(db, 12).await;
    let mut session = Session::new(&engine);
    let users = users_by_name(&mut session, joinedload(User::posts)).await;
    let statements = log.take();
    assert_eq!(statements.len(), 1, "{statements:?}");
    assert!(
        statements[0].contains("LEFT OUTER JOIN"),
        "{}",
        statements[0]
    );
    // Every user once, in order, users without posts included, each with its posts.
    let names = names(&users);
    assert_eq!(
        names,
        (0..12).map(|i| format!("u{i:02}")).collect::<Vec<_>>()
    );
    for u in &users {
        let name = u.read().unwrap().name.clone();
        assert_eq!(titles(u), expected_titles(&name), "{name}");
    }
    // Many-to-one: one author reached through several posts is one handle; the post
    // without an author has none.
    let posts = session
        .query::<Post>()
        .options(joinedload(Post::author))
        .all()
        .await
        .unwrap();
    assert_eq!(log.take().len(), 1);
    assert_eq!(posts.len(), 12 / 4 * (1 + 2 + 3) + 1);
    for p in &posts {
        let post = p.read().unwrap();
        let author = post.author.get().unwrap();
        if post.title == "orphan" {
            assert!(author.is_none());
            continue;
        }
        let author = author.unwrap();
        assert_eq!(&post.title[1..3], &author.read().unwrap().name[1..]);
        assert!(users.iter().any(|u| Obj::ptr_eq(u, author)), "identity map");
    }
}

async fn joinedload_with_a_limit_counts_parents_not_rows(db: &TestDb) {
    let (engine, log) = blog(db, 40).await;
    let mut session = Session::new(&engine);
    let users = session
        .query::<User>()
        .order_by(User::name.desc())
        .offset(2)
        .limit(10)
        .options(joinedload(User::posts))
        .all()
        .await
        .unwrap();
    let statements = log.take();
    assert_eq!(statements.len(), 1, "{statements:?}");
    let names = names(&users);
    assert_eq!(
        names,
        (28..38)
            .rev()
            .map(|i| format!("u{i:02}"))
            .collect::<Vec<_>>(),
        "10 parents after the first 2, in the query's order"
    );
    for u in &users {
        let name = u.read().unwrap().name.clone();
        assert_eq!(titles(u), expected_titles(&name), "{name}: all its posts");
    }
}

/// The graph a joined chain builds, as text: users, their posts, the posts' tags.
pub(crate) fn graph(users: &[Obj<User>]) -> Vec<String> {
    let mut out = Vec::new();
    for u in users {
        let user = u.read().unwrap();
        for p in user.posts.get().unwrap() {
            let post = p.read().unwrap();
            let tags: Vec<String> = post
                .tags
                .get()
                .unwrap()
                .iter()
                .map(|t| t.read().unwrap().label.clone())
                .collect();
            out.push(format!("{} {} {}", user.name, post.title, tags.join(",")));
        }
        if user.posts.get().unwrap().is_empty() {
            out.push(user.name.clone());
        }
    }
    out
}

async fn joined_chain_through_many_to_many_gives_the_selectin_graph(db: &TestDb) {
    let (engine, log) = blog(db, 12).await;
    let mut session = Session::new(&engine);
    let joined = users_by_name(&mut session, joinedload(User::posts).joinedload(Post::tags)).await;
    assert_eq!(log.take().len(), 1);
    let joined = graph(&joined);
    drop(session);
    let mut session = Session::new(&engine);
    let selectin = users_by_name(
        &mut session,
        selectinload(User::posts).selectinload(Post::tags),
    )
    .await;
    assert_eq!(log.take().len(), 3);
    assert_eq!(joined, graph(&selectin));
    assert_eq!(joined.len(), 3 + 18, "users without posts, and every post");
}

async fn joined_then_selectin_is_one_join_then_one_select(db: &TestDb) {
    let (engine, log) = blog(db, 8).await;
    let mut session = Session::new(&engine);
    let users = users_by_name(
        &mut session,
        joinedload(User::posts).selectinload(Post::tags),
    )
    .await;
    let statements = log.take();
    assert_eq!(statements.len(), 2, "{statements:?}");
    assert!(statements[0].contains("LEFT OUTER JOIN"));
    assert!(!statements[1].contains("orm_j"), "{}", statements[1]);
    // 8 users with 0, 1, 2, 3, 0, 1, 2, 3 posts: two without, 12 posts.
    assert_eq!(graph(&users).len(), 2 + 12);
    for u in &users {
        for p in u.read().unwrap().posts.get().unwrap() {
            assert_eq!(p.read().unwrap().tags.get().unwrap().len(), 1);
        }
    }
}

async fn innerjoin_drops_parents_without_children(db: &TestDb) {
    let (engine, log) = blog(db, 8).await;
    let mut session = Session::new(&engine);
    let users = users_by_name(&mut session, joinedload(User::posts).innerjoin()).await;
    let statements = log.take();
    assert_eq!(statements.len(), 1);
    assert!(
        !statements[0].contains("LEFT OUTER JOIN"),
        "{}",
        statements[0]
    );
    let names = names(&users);
    assert_eq!(names, ["u01", "u02", "u03", "u05", "u06", "u07"]);
}

async fn self_referential_joined_chain_uses_one_alias_per_level(db: &TestDb) {
    let (engine, log) = node_tree(db).await;
    let mut session = Session::new(&engine);
    let roots = session
        .query::<Node>()
        .filter(Node::parent_id.is_null())
        .options(joinedload(Node::children).joinedload(Node::children))
        .all()
        .await
        .unwrap();
    let statements = log.take();
    assert_eq!(statements.len(), 1);
    assert!(statements[0].contains("orm_j0") && statements[0].contains("orm_j1"));
    assert_eq!(roots.len(), 1);
    let root = roots[0].read().unwrap();
    let kids = root.children.get().unwrap();
    let names: Vec<String> = kids
        .iter()
        .map(|k| k.read().unwrap().name.clone())
        .collect();
    assert_eq!(names, ["c0", "c1", "c2"]);
    for (i, k) in kids.iter().enumerate() {
        let grand: Vec<String> = k
            .read()
            .unwrap()
            .children
            .get()
            .unwrap()
            .iter()
            .map(|g| g.read().unwrap().name.clone())
            .collect();
        assert_eq!(grand, [format!("g{i}.0"), format!("g{i}.1")]);
        // The grandchildren's own children were joined too: none.
    }
}

/// Every user, by name, with `path` loaded.
async fn users_by_name<Leaf>(
    session: &mut Session,
    path: orm::loading::LoadPath<User, Leaf>,
) -> Vec<Obj<User>> {
    session
        .query::<User>()
        .order_by(User::name.asc())
        .options(path)
        .all()
        .await
        .unwrap()
}

pub(crate) fn names(users: &[Obj<User>]) -> Vec<String> {
    users
        .iter()
        .map(|u| u.read().unwrap().name.clone())
        .collect()
}

async fn contains_eager_fills_a_collection_from_a_filtered_join(db: &TestDb) {
    let (engine, log) = blog(db, 8).await;
    let mut session = Session::new(&engine);
    // Users with a post whose title ends in ".1", and only those posts.
    let users = session
        .query::<User>()
        .join(Post::table(), User::id.eq(Post::user_id))
        .filter(Post::title.like("%.1"))
        .order_by(User::name.asc())
        .options(contains_eager(User::posts))
        .all()
        .await
        .unwrap();
    assert_eq!(log.take().len(), 1);
    assert_eq!(names(&users), ["u02", "u03", "u06", "u07"]);
    for u in &users {
        let name = u.read().unwrap().name.clone();
        assert_eq!(titles(u), [format!("p{}.1", &name[1..])], "{name}");
    }
    // A filtered collection is what the query said; populate_existing reloads it whole.
    let again = session
        .query::<User>()
        .filter(User::name.eq("u03"))
        .populate_existing()
        .options(selectinload(User::posts))
        .one()
        .await
        .unwrap();
    assert_eq!(titles(&again), ["p03.0", "p03.1", "p03.2"]);
}

async fn contains_eager_reads_a_many_to_one_from_an_alias(db: &TestDb) {
    let (engine, log) = blog(db, 8).await;
    let mut session = Session::new(&engine);
    let writer = alias::<User>("writer");
    let posts = session
        .query::<Post>()
        .join(writer.from_item(), writer.col(User::id).eq(Post::user_id))
        .filter(writer.col(User::name).eq("u06"))
        .order_by(Post::title.asc())
        .options(contains_eager(Post::author).from_alias(&writer))
        .all()
        .await
        .unwrap();
    let statements = log.take();
    assert_eq!(statements.len(), 1, "{statements:?}");
    assert_eq!(posts.len(), 2);
    let a = posts[0]
        .read()
        .unwrap()
        .author
        .get()
        .unwrap()
        .unwrap()
        .clone();
    let b = posts[1]
        .read()
        .unwrap()
        .author
        .get()
        .unwrap()
        .unwrap()
        .clone();
    assert!(Obj::ptr_eq(&a, &b), "one author, one handle");
    assert_eq!(a.read().unwrap().name, "u06");
}

async fn subqueryload_reruns_the_query_as_a_subquery_and_gives_the_selectin_graph(db: &TestDb) {
    let (engine, log) = blog(db, 12).await;
    let mut session = Session::new(&engine);
    // A filtered, ordered, limited query: the subquery repeats all of it, so only the
    // posts of the users found are loaded.
    let users = session
        .query::<User>()
        .filter(User::name.ne("u05"))
        .order_by(User::name.desc())
        .limit(5)
        .options(subqueryload(User::posts).subqueryload(Post::tags))
        .all()
        .await
        .unwrap();
    let statements = log.take();
    assert_eq!(statements.len(), 3, "{statements:?}");
    assert!(statements[1].contains("orm_sq"), "{}", statements[1]);
    assert_eq!(names(&users), ["u11", "u10", "u09", "u08", "u07"]);
    let by_subquery = graph(&users);
    drop(session);
    let mut session = Session::new(&engine);
    let users = session
        .query::<User>()
        .filter(User::name.ne("u05"))
        .order_by(User::name.desc())
        .limit(5)
        .options(selectinload(User::posts).selectinload(Post::tags))
        .all()
        .await
        .unwrap();
    assert_eq!(by_subquery, graph(&users));
    drop(session);
    // Many-to-one: one author for several posts is one handle.
    let mut session = Session::new(&engine);
    log.take();
    let posts = session
        .query::<Post>()
        .filter(Post::title.like("p03.%"))
        .options(subqueryload(Post::author))
        .all()
        .await
        .unwrap();
    assert_eq!(log.take().len(), 2);
    assert_eq!(posts.len(), 3);
    let first = posts[0]
        .read()
        .unwrap()
        .author
        .get()
        .unwrap()
        .unwrap()
        .clone();
    for p in &posts {
        let a = p.read().unwrap().author.get().unwrap().unwrap().clone();
        assert!(Obj::ptr_eq(&a, &first));
    }
    assert_eq!(first.read().unwrap().name, "u03");
}

/// `FOR UPDATE` cannot lock the nullable side of an outer join (PostgreSQL refuses the
/// statement): a locking query loads its joined relationships with selectin's SELECT.
async fn a_locking_query_loads_joined_relationships_with_a_second_select(db: &TestDb) {
    let (engine, log) = blog(db, 4).await;
    let mut session = Session::new(&engine);
    let posts = session
        .query::<Post>()
        .filter(Post::title.like("p0%"))
        .for_update()
        .options(joinedload(Post::author))
        .all()
        .await
        .unwrap();
    let statements = log.take();
    assert_eq!(
        statements.len(),
        2,
        "the posts, then their authors: {statements:?}"
    );
    assert!(!statements.iter().any(|s| s.contains("LEFT OUTER JOIN")));
    assert_eq!(posts.len(), 6);
    assert!(
        posts
            .iter()
            .all(|p| p.read().unwrap().author.get().unwrap().is_some())
    );
    session.commit().await.unwrap();
}

/// Joined rows are loaded as they are read, unless a model of the query has load
/// hooks or listeners (which need the whole session per object): then they are
/// collected first. Both give the same graph; each object's `load` fires once.
async fn a_load_listener_sees_each_joined_object_once_and_the_graph_is_the_same(db: &TestDb) {
    let (engine, log) = blog(db, 12).await;
    let graph = |users: &[Obj<User>]| -> Vec<(String, Vec<String>)> {
        users
            .iter()
            .map(|u| (u.read().unwrap().name.clone(), titles(u)))
            .collect()
    };
    let mut plain = Session::new(&engine);
    let expected = graph(&users_by_name(&mut plain, joinedload(User::posts)).await);
    drop(plain);
    log.take();

    let mut session = Session::new(&engine);
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = std::sync::Arc::clone(&seen);
    session
        .on_model::<Post>()
        .load(move |p| sink.lock().unwrap().push(p.title.clone()));
    let users = users_by_name(&mut session, joinedload(User::posts)).await;
    assert_eq!(log.take().len(), 1);
    assert_eq!(graph(&users), expected);
    let mut loaded = seen.lock().unwrap().clone();
    loaded.sort();
    let mut want: Vec<String> = expected.iter().flat_map(|(_, t)| t.clone()).collect();
    want.sort();
    assert_eq!(loaded, want, "each post's load once");
}
