//! `subqueryload` at every depth: each level is one SELECT joining the related table to
//! the query itself as a subquery, through the tables of the levels before it (no key
//! list); after a selectin or joined step, to a subquery of the parents' keys. Statements
//! are counted and read through the engine's events.

use std::collections::BTreeMap;

use orm::prelude::*;
use orm::text;

use crate::backend_tests;
use crate::joined::{blog, graph, names};
use crate::session::{Node, Post, Tag, User, setup};
use crate::support::TestDb;

backend_tests!(
    subqueryload_three_levels_joins_the_query_through_each_relationship,
    subqueryload_chain_keeps_the_limit_and_offset_of_the_query,
    subqueryload_after_selectin_or_joined_uses_a_subquery_of_the_parents_keys,
    subqueryload_loads_objects_the_chain_does_not_reach_by_their_keys,
    a_lazy_subquery_default_loads_by_subquery_unless_a_path_names_it,
    defaults_apply_to_objects_a_relationship_brought_at_every_level,
);

/// A shelf (no default) of books whose notes load by default; a note's replies load by
/// default too (self-referential: level by level down to the leaves).
#[derive(Model, Debug, Clone)]
#[orm(table = "df_shelves")]
pub struct DfShelf {
    #[orm(primary_key)]
    pub id: i64,
    pub name: String,
    #[relationship(back_populates = "shelf")]
    pub books: Related<Vec<DfBook>>,
}

#[derive(Model, Debug, Clone)]
#[orm(table = "df_books")]
pub struct DfBook {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(foreign_key = "df_shelves.id")]
    pub shelf_id: Option<i64>,
    pub title: String,
    #[relationship(back_populates = "books")]
    pub shelf: Related<Option<DfShelf>>,
    #[relationship(back_populates = "book", lazy = "selectin")]
    pub notes: Related<Vec<DfNote>>,
}

#[derive(Model, Debug, Clone)]
#[orm(table = "df_notes")]
pub struct DfNote {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(foreign_key = "df_books.id")]
    pub book_id: Option<i64>,
    #[orm(foreign_key = "df_notes.id")]
    pub parent_id: Option<i64>,
    pub text: String,
    #[relationship(back_populates = "notes")]
    pub book: Related<Option<DfBook>>,
    #[relationship(back_populates = "replies", remote_side = "id")]
    pub parent: Related<Option<DfNote>>,
    #[relationship(back_populates = "parent", lazy = "selectin")]
    pub replies: Related<Vec<DfNote>>,
}

/// Authors whose books load by `subqueryload` unless a query says otherwise.
#[derive(Model, Debug, Clone)]
#[orm(table = "sq_authors")]
pub struct SqAuthor {
    #[orm(primary_key)]
    pub id: i64,
    pub name: String,
    #[relationship(back_populates = "author", lazy = "subquery")]
    pub books: Related<Vec<SqBook>>,
}

#[derive(Model, Debug, Clone)]
#[orm(table = "sq_books")]
pub struct SqBook {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(foreign_key = "sq_authors.id")]
    pub author_id: Option<i64>,
    pub title: String,
    #[relationship(back_populates = "books")]
    pub author: Related<Option<SqAuthor>>,
}

/// A level's SELECT in the chained form: a join to a subquery, no list of keys.
fn assert_chained(sql: &str) {
    assert!(sql.contains("JOIN (SELECT"), "{sql}");
    assert!(!sql.contains(" IN ("), "{sql}");
    assert!(!sql.contains("ANY("), "{sql}");
}

/// A level's SELECT joined to a subquery of the parents' keys (`IN (...)`, or `= ANY($1)`
/// on PostgreSQL).
fn assert_by_keys(sql: &str) {
    assert!(sql.contains("JOIN (SELECT"), "{sql}");
    assert!(sql.contains(" IN (") || sql.contains("ANY("), "{sql}");
}

/// users → posts → tags → posts, as lines `user post tag: posts of the tag`.
fn graph3(users: &[Obj<User>]) -> Vec<String> {
    let mut out = Vec::new();
    for u in users {
        let user = u.read().unwrap();
        for p in user.posts.get().unwrap() {
            let post = p.read().unwrap();
            for t in post.tags.get().unwrap() {
                let tag = t.read().unwrap();
                let posts: Vec<String> = tag
                    .posts
                    .get()
                    .unwrap()
                    .iter()
                    .map(|p| p.read().unwrap().title.clone())
                    .collect();
                out.push(format!(
                    "{} {} {}: {}",
                    user.name,
                    post.title,
                    tag.label,
                    posts.join(",")
                ));
            }
        }
    }
    out
}

/// The titles of the posts of tag `t{tag}` in `blog(db, users)`, in key order.
fn posts_of_tag(users: usize, tag: usize) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..users {
        for j in 0..i % 4 {
            if (i + j) % 3 == tag {
                out.push(format!("p{i:02}.{j}"));
            }
        }
    }
    out
}

async fn subqueryload_three_levels_joins_the_query_through_each_relationship(db: &TestDb) {
    let (engine, log) = blog(db, 12).await;
    let mut session = Session::new(&engine);
    let users = session
        .query::<User>()
        .filter(User::name.ne("u05"))
        .order_by(User::name.desc())
        .limit(5)
        .options(
            subqueryload(User::posts)
                .subqueryload(Post::tags)
                .subqueryload(Tag::posts),
        )
        .all()
        .await
        .unwrap();
    let statements = log.take();
    assert_eq!(statements.len(), 4, "one SELECT per level: {statements:#?}");
    for sql in &statements[1..] {
        assert_chained(sql);
        // The query's filter stays a bound parameter, its limit applies.
        assert!(!sql.contains("u05") && sql.contains("LIMIT"), "{sql}");
    }
    // Level 2 joins the tags through the association table to the posts (aliased), then
    // to the query; level 3 goes through both previous relationships.
    assert!(
        statements[2].contains("orm_sq_1") && statements[2].contains("s_post_tags"),
        "{}",
        statements[2]
    );
    assert!(
        statements[3].contains("orm_sq_2") && statements[3].contains("orm_sq_2_s"),
        "{}",
        statements[3]
    );
    assert_eq!(names(&users), ["u11", "u10", "u09", "u08", "u07"]);
    // Every post of every tag reached, whoever wrote it (the tag's relationship is not
    // limited by the query, only the tags are).
    let mut tags_seen = 0;
    for u in &users {
        for p in u.read().unwrap().posts.get().unwrap() {
            for t in p.read().unwrap().tags.get().unwrap() {
                let tag = t.read().unwrap();
                let n: usize = tag.label[1..].parse().unwrap();
                let titles: Vec<String> = tag
                    .posts
                    .get()
                    .unwrap()
                    .iter()
                    .map(|p| p.read().unwrap().title.clone())
                    .collect();
                assert_eq!(titles, posts_of_tag(12, n), "{}", tag.label);
                tags_seen += 1;
            }
        }
    }
    // u11: 3 posts, u10: 2, u09: 1, u08: 0, u07: 3; one tag each.
    assert_eq!(tags_seen, 9);
    let by_subquery = graph3(&users);
    drop((users, session));
    // The same graph as selectin's.
    let mut session = Session::new(&engine);
    let users = session
        .query::<User>()
        .filter(User::name.ne("u05"))
        .order_by(User::name.desc())
        .limit(5)
        .options(
            selectinload(User::posts)
                .selectinload(Post::tags)
                .selectinload(Tag::posts),
        )
        .all()
        .await
        .unwrap();
    assert_eq!(by_subquery, graph3(&users));
}

/// Four roots `r{i}`, each with children `c{i}.{j}`, grandchildren `g{i}.{j}.{k}` and
/// one great-grandchild `x{i}.{j}.{k}` per grandchild (two of each otherwise).
async fn forest(db: &TestDb) -> (orm::Engine, crate::support::Statements) {
    let (engine, log) = setup(db).await;
    let mut session = Session::new(&engine);
    for i in 0..4 {
        let r = session.add(Node::new(format!("r{i}")));
        for j in 0..2 {
            let c = session.add(Node::new(format!("c{i}.{j}")));
            r.write().unwrap().children.push(&c);
            for k in 0..2 {
                let g = session.add(Node::new(format!("g{i}.{j}.{k}")));
                c.write().unwrap().children.push(&g);
                let x = session.add(Node::new(format!("x{i}.{j}.{k}")));
                g.write().unwrap().children.push(&x);
            }
        }
    }
    session.commit().await.unwrap();
    drop(session);
    log.take();
    (engine, log)
}

fn child_names(n: &Obj<Node>) -> Vec<String> {
    n.read()
        .unwrap()
        .children
        .get()
        .unwrap()
        .iter()
        .map(|c| c.read().unwrap().name.clone())
        .collect()
}

async fn subqueryload_chain_keeps_the_limit_and_offset_of_the_query(db: &TestDb) {
    let (engine, log) = forest(db).await;
    let ids: BTreeMap<String, i64> = engine
        .fetch_all(text("SELECT name, id FROM nodes"))
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get::<String>(0).unwrap(), r.get::<i64>(1).unwrap()))
        .collect();
    log.take();
    let mut session = Session::new(&engine);
    let roots = session
        .query::<Node>()
        .filter(Node::parent_id.is_null())
        .order_by(Node::name.asc())
        .offset(1)
        .limit(2)
        .options(
            subqueryload(Node::children)
                .subqueryload(Node::children)
                .subqueryload(Node::children),
        )
        .all()
        .await
        .unwrap();
    let statements = log.take();
    assert_eq!(statements.len(), 4, "{statements:#?}");
    for sql in &statements[1..] {
        assert_chained(sql);
        assert!(sql.contains("LIMIT"), "{sql}");
    }
    // One alias per level of the same table.
    assert!(statements[2].contains("orm_sq_1"), "{}", statements[2]);
    assert!(
        statements[3].contains("orm_sq_1") && statements[3].contains("orm_sq_2"),
        "{}",
        statements[3]
    );
    let root_names: Vec<String> = roots
        .iter()
        .map(|r| r.read().unwrap().name.clone())
        .collect();
    assert_eq!(root_names, ["r1", "r2"]);
    for (r, i) in roots.iter().zip([1, 2]) {
        assert_eq!(child_names(r), [format!("c{i}.0"), format!("c{i}.1")]);
        for (c, j) in r.read().unwrap().children.get().unwrap().iter().zip(0..) {
            assert_eq!(
                child_names(c),
                [format!("g{i}.{j}.0"), format!("g{i}.{j}.1")]
            );
            for (g, k) in c.read().unwrap().children.get().unwrap().iter().zip(0..) {
                assert_eq!(child_names(g), [format!("x{i}.{j}.{k}")]);
                let x = g.read().unwrap().children.get().unwrap()[0].clone();
                // The last level's relationship is not loaded.
                assert!(x.read().unwrap().children.get().is_err());
            }
        }
    }
    // Only the descendants of r1 and r2 were loaded: a get of theirs costs no SQL, of
    // r0's and r3's one SELECT.
    for (name, id) in &ids {
        if name.starts_with('r') {
            continue;
        }
        let node = session.get::<Node>(*id).await.unwrap().unwrap();
        assert_eq!(&node.read().unwrap().name, name);
        let loaded = name[1..].starts_with('1') || name[1..].starts_with('2');
        let expected = usize::from(!loaded);
        assert_eq!(log.take().len(), expected, "{name}");
    }
}

async fn subqueryload_after_selectin_or_joined_uses_a_subquery_of_the_parents_keys(db: &TestDb) {
    let (engine, log) = blog(db, 12).await;
    let mut session = Session::new(&engine);
    let users = session
        .query::<User>()
        .order_by(User::name.asc())
        .options(selectinload(User::posts).subqueryload(Post::tags))
        .all()
        .await
        .unwrap();
    let statements = log.take();
    assert_eq!(statements.len(), 3, "{statements:#?}");
    assert!(
        !statements[1].contains("JOIN (SELECT"),
        "selectin: {}",
        statements[1]
    );
    assert_by_keys(&statements[2]);
    let mixed = graph(&users);
    drop((users, session));
    let mut session = Session::new(&engine);
    let users = session
        .query::<User>()
        .order_by(User::name.asc())
        .options(selectinload(User::posts).selectinload(Post::tags))
        .all()
        .await
        .unwrap();
    log.take();
    assert_eq!(mixed, graph(&users));
    drop((users, session));

    // subquery, selectin, subquery: the third level joins a subquery of the tags' keys.
    let mut session = Session::new(&engine);
    let users = session
        .query::<User>()
        .filter(User::name.eq("u03").or(User::name.eq("u06")))
        .order_by(User::name.asc())
        .options(
            subqueryload(User::posts)
                .selectinload(Post::tags)
                .subqueryload(Tag::posts),
        )
        .all()
        .await
        .unwrap();
    let statements = log.take();
    assert_eq!(statements.len(), 4, "{statements:#?}");
    assert_chained(&statements[1]);
    assert_by_keys(&statements[3]);
    let mixed = graph3(&users);
    assert_eq!(
        mixed.len(),
        5,
        "u03: 3 posts, u06: 2, one tag each: {mixed:#?}"
    );
    for line in &mixed {
        let tag: usize = line.split(' ').nth(2).unwrap()[1..2].parse().unwrap();
        assert!(
            line.ends_with(&format!(": {}", posts_of_tag(12, tag).join(","))),
            "{line}"
        );
    }
    drop((users, session));

    // joined, then subquery: the authors come with the posts, their posts from a
    // subquery of the authors' keys.
    let mut session = Session::new(&engine);
    let posts = session
        .query::<Post>()
        .filter(Post::title.like("p0%"))
        .options(joinedload(Post::author).subqueryload(User::posts))
        .all()
        .await
        .unwrap();
    let statements = log.take();
    assert_eq!(statements.len(), 2, "{statements:#?}");
    assert_by_keys(&statements[1]);
    assert_eq!(posts.len(), 13, "u01..u09: 1+2+3+0+1+2+3+0+1");
    for p in &posts {
        let author = p.read().unwrap().author.get().unwrap().unwrap().clone();
        let name = author.read().unwrap().name.clone();
        let titles: Vec<String> = author
            .read()
            .unwrap()
            .posts
            .get()
            .unwrap()
            .iter()
            .map(|p| p.read().unwrap().title.clone())
            .collect();
        let i: usize = name[1..].parse().unwrap();
        let expected: Vec<String> = (0..i % 4).map(|j| format!("p{i:02}.{j}")).collect();
        assert_eq!(titles, expected, "{name}");
    }
}

/// A collection loaded before, whose member the database has since moved elsewhere: the
/// chain of joins no longer reaches that member, so its relationship loads by its key
/// (one more SELECT) instead of reading as empty.
async fn subqueryload_loads_objects_the_chain_does_not_reach_by_their_keys(db: &TestDb) {
    let (engine, log) = blog(db, 12).await;
    let mut session = Session::new(&engine);
    let u01 = session
        .query::<User>()
        .filter(User::name.eq("u01"))
        .options(selectinload(User::posts))
        .all()
        .await
        .unwrap()
        .remove(0);
    // p01.0 (tag t1) now belongs to u05, which the next query does not find.
    session
        .execute(text(
            "UPDATE posts SET user_id = (SELECT id FROM users WHERE name = 'u05') WHERE title = 'p01.0'",
        ))
        .await
        .unwrap();
    log.take();
    let users = session
        .query::<User>()
        .filter(User::name.eq("u01").or(User::name.eq("u03")))
        .order_by(User::name.asc())
        .options(subqueryload(User::posts).subqueryload(Post::tags))
        .all()
        .await
        .unwrap();
    let statements = log.take();
    // The users, u03's posts, the tags of the posts the chain reaches, p01.0's tags.
    assert_eq!(statements.len(), 4, "{statements:#?}");
    assert_chained(&statements[1]);
    assert_chained(&statements[2]);
    assert_by_keys(&statements[3]);
    assert!(Obj::ptr_eq(&users[0], &u01));
    // u01's collection was loaded already and is kept as it was.
    assert_eq!(
        graph(&users),
        [
            "u01 p01.0 t1",
            "u03 p03.0 t0",
            "u03 p03.1 t1",
            "u03 p03.2 t2"
        ]
    );
    drop((users, u01, session));

    // Every collection of the first level loaded already: no SELECT for it, so the chain
    // reaches nothing and the next level loads by keys, without a chained SELECT.
    let mut session = Session::new(&engine);
    let users = session
        .query::<User>()
        .filter(User::name.eq("u06").or(User::name.eq("u07")))
        .options(selectinload(User::posts))
        .all()
        .await
        .unwrap();
    log.take();
    let again = session
        .query::<User>()
        .filter(User::name.eq("u06").or(User::name.eq("u07")))
        .order_by(User::name.asc())
        .options(subqueryload(User::posts).subqueryload(Post::tags))
        .all()
        .await
        .unwrap();
    let statements = log.take();
    assert_eq!(statements.len(), 2, "{statements:#?}");
    assert_by_keys(&statements[1]);
    assert_eq!(users.len(), 2);
    assert_eq!(
        graph(&again),
        [
            "u06 p06.0 t0",
            "u06 p06.1 t1",
            "u07 p07.0 t1",
            "u07 p07.1 t2",
            "u07 p07.2 t0"
        ]
    );
}

async fn a_lazy_subquery_default_loads_by_subquery_unless_a_path_names_it(db: &TestDb) {
    let engine = db.engine().await;
    MetaData::new()
        .with::<SqAuthor>()
        .with::<SqBook>()
        .create_all(&engine)
        .await
        .unwrap();
    let log = crate::support::Statements::record(&engine);
    let mut session = Session::new(&engine);
    for i in 0..5 {
        let a = session.add(SqAuthor::new(format!("a{i}")));
        for j in 0..2 {
            let b = session.add(SqBook::new(format!("a{i}-b{j}")));
            a.write().unwrap().books.push(&b);
        }
    }
    session.commit().await.unwrap();
    drop(session);
    log.take();

    let titles = |a: &Obj<SqAuthor>| -> Vec<String> {
        a.read()
            .unwrap()
            .books
            .get()
            .unwrap()
            .iter()
            .map(|b| b.read().unwrap().title.clone())
            .collect()
    };
    let mut session = Session::new(&engine);
    let authors = session
        .query::<SqAuthor>()
        .filter(SqAuthor::name.ne("a0"))
        .order_by(SqAuthor::name.asc())
        .limit(3)
        .all()
        .await
        .unwrap();
    let statements = log.take();
    assert_eq!(statements.len(), 2, "the query, its books: {statements:?}");
    assert_chained(&statements[1]);
    let got: Vec<(String, Vec<String>)> = authors
        .iter()
        .map(|a| (a.read().unwrap().name.clone(), titles(a)))
        .collect();
    let want: Vec<(String, Vec<String>)> = (1..4)
        .map(|i| {
            (
                format!("a{i}"),
                vec![format!("a{i}-b0"), format!("a{i}-b1")],
            )
        })
        .collect();
    assert_eq!(got, want);
    drop(session);
    log.take();

    // A path naming the relationship wins over its default.
    let mut session = Session::new(&engine);
    let authors = session
        .query::<SqAuthor>()
        .options(selectinload(SqAuthor::books))
        .all()
        .await
        .unwrap();
    let statements = log.take();
    assert_eq!(statements.len(), 2, "{statements:?}");
    assert!(!statements[1].contains("JOIN (SELECT"), "{}", statements[1]);
    assert!(authors.iter().all(|a| titles(a).len() == 2));
    let authors = session
        .query::<SqAuthor>()
        .options(noload(SqAuthor::books))
        .populate_existing()
        .all()
        .await
        .unwrap();
    assert_eq!(log.take().len(), 1);
    assert_eq!(authors.len(), 5);
    drop(session);
    engine.close().await;
}

/// The shelves, books and notes tables, and the statements the engine runs from now on.
pub(crate) async fn df_setup(db: &TestDb) -> (Engine, crate::support::Statements) {
    let engine = db.engine().await;
    MetaData::new()
        .with::<DfShelf>()
        .with::<DfBook>()
        .with::<DfNote>()
        .create_all(&engine)
        .await
        .unwrap();
    let log = crate::support::Statements::record(&engine);
    (engine, log)
}

async fn defaults_apply_to_objects_a_relationship_brought_at_every_level(db: &TestDb) {
    let (engine, log) = df_setup(db).await;
    let mut session = Session::new(&engine);
    // Two shelves of two books; each book has a note with a reply with a reply.
    for i in 0..2 {
        let shelf = session.add(DfShelf::new(format!("s{i}")));
        for j in 0..2 {
            let book = session.add(DfBook::new(format!("s{i}-b{j}")));
            shelf.write().unwrap().books.push(&book);
            let mut parent: Option<Obj<DfNote>> = None;
            for depth in 0..3 {
                let note = session.add(DfNote::new(format!("s{i}-b{j}-n{depth}")));
                if depth == 0 {
                    book.write().unwrap().notes.push(&note);
                }
                if let Some(p) = &parent {
                    p.write().unwrap().replies.push(&note);
                }
                parent = Some(note);
            }
        }
    }
    session.commit().await.unwrap();
    drop(session);
    log.take();

    // Shelves, then their books by the path; the books' notes load by their default,
    // and each level of replies by the notes' own default, down to the leaves.
    let mut session = Session::new(&engine);
    let shelves = session
        .query::<DfShelf>()
        .options(selectinload(DfShelf::books))
        .order_by(DfShelf::name.asc())
        .all()
        .await
        .unwrap();
    let statements = log.take();
    // shelves, books, notes, replies of depth 1, of depth 2, of depth 3 (none found).
    assert_eq!(statements.len(), 6, "{statements:#?}");
    let mut lines = Vec::new();
    for shelf in &shelves {
        let shelf = shelf.read().unwrap();
        for book in shelf.books.get().unwrap() {
            let book = book.read().unwrap();
            for note in book.notes.get().unwrap() {
                let mut chain = vec![note.read().unwrap().text.clone()];
                let mut at = note.clone();
                loop {
                    let next = {
                        let n = at.read().unwrap();
                        let replies = n.replies.get().expect("replies loaded by default");
                        replies.first().cloned()
                    };
                    match next {
                        Some(r) => {
                            chain.push(r.read().unwrap().text.clone());
                            at = r;
                        }
                        None => break,
                    }
                }
                lines.push(format!("{}: {}", book.title, chain.join(" > ")));
            }
        }
    }
    assert_eq!(
        lines,
        [
            "s0-b0: s0-b0-n0 > s0-b0-n1 > s0-b0-n2",
            "s0-b1: s0-b1-n0 > s0-b1-n1 > s0-b1-n2",
            "s1-b0: s1-b0-n0 > s1-b0-n1 > s1-b0-n2",
            "s1-b1: s1-b1-n0 > s1-b1-n1 > s1-b1-n2",
        ]
    );

    // Joined in, the books get their defaults as well; a path that names the
    // relationship (noload) wins over the default.
    drop(session);
    log.take();
    let mut session = Session::new(&engine);
    let shelves = session
        .query::<DfShelf>()
        .options(joinedload(DfShelf::books))
        .all()
        .await
        .unwrap();
    assert_eq!(
        log.take().len(),
        5,
        "the join, notes, then three levels of replies"
    );
    for shelf in &shelves {
        for book in shelf.read().unwrap().books.get().unwrap() {
            assert_eq!(book.read().unwrap().notes.get().unwrap().len(), 1);
        }
    }
    drop(session);
    log.take();
    let mut session = Session::new(&engine);
    let shelves = session
        .query::<DfShelf>()
        .options(selectinload(DfShelf::books).noload(DfBook::notes))
        .all()
        .await
        .unwrap();
    assert_eq!(log.take().len(), 2);
    let shelf = shelves[0].read().unwrap();
    let books = shelf.books.get().unwrap();
    assert!(books[0].read().unwrap().notes.get().is_err());
    drop(shelf);
    drop(session);
    engine.close().await;
}
