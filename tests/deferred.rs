//! Column loading options: `Deferred<T>` fields, `defer` / `undefer` / `load_only`,
//! `#[orm(deferred)]`, explicit `load_columns`, and what the unit of work writes.
//! Statements are counted and read through the engine's events; rows are read back with
//! Core statements.

use orm::prelude::*;

use orm::loading::LoadPath;

use crate::backend_tests;
use crate::support::{Statements, TestDb};

#[derive(Model, Debug, Clone)]
#[orm(table = "d_authors")]
pub struct Author {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(max_length = 50)]
    pub name: String,
    /// Loaded unless a query defers it.
    pub bio: Deferred<String>,
    /// Left out unless a query undefers it.
    #[orm(deferred)]
    pub notes: Deferred<Option<String>>,
    /// After two deferrable columns: its place in a row moves when they are left out.
    pub age: i32,
    #[relationship(back_populates = "author")]
    pub articles: Related<Vec<Article>>,
}

#[derive(Model, Debug, Clone)]
#[orm(table = "d_articles")]
pub struct Article {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(foreign_key = "d_authors.id", index)]
    pub author_id: Option<i64>,
    #[orm(deferred)]
    pub body: Deferred<String>,
    #[orm(max_length = 100)]
    pub title: String,
    #[relationship(back_populates = "articles")]
    pub author: Related<Option<Author>>,
}

backend_tests!(
    defer_leaves_the_column_out_and_reading_it_names_it,
    a_deferred_by_default_column_loads_only_when_undeferred,
    load_only_loads_the_listed_deferred_columns_and_every_plain_one,
    flush_after_a_deferred_load_does_not_write_the_column,
    setting_a_deferred_column_writes_it,
    load_columns_fills_unloaded_columns_in_one_select,
    a_query_fills_the_unloaded_columns_of_an_identity_mapped_object,
    column_options_on_selectin_and_joined_steps,
    refresh_and_expire_keep_unloaded_columns_unloaded,
    a_new_object_with_an_unloaded_column_is_refused,
    merge_does_not_copy_a_column_the_value_left_unloaded,
    selectin_groups_children_by_their_foreign_key_after_a_deferred_column_left_out,
);

/// A parent whose children have a deferred column before their foreign key.
#[derive(Model, Debug, Clone)]
#[orm(table = "d_shelves")]
pub struct Shelf {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(max_length = 20)]
    pub label: String,
    #[relationship(back_populates = "shelf")]
    pub books: Related<Vec<Book>>,
}

#[derive(Model, Debug, Clone)]
#[orm(table = "d_books")]
pub struct Book {
    #[orm(primary_key)]
    pub id: i64,
    /// Left out by default: the foreign key's place in a row moves up one.
    #[orm(deferred)]
    pub blurb: Deferred<String>,
    #[orm(foreign_key = "d_shelves.id", index)]
    pub shelf_id: Option<i64>,
    #[orm(max_length = 20)]
    pub title: String,
    #[relationship(back_populates = "books")]
    pub shelf: Related<Option<Shelf>>,
}

pub(crate) async fn setup(db: &TestDb) -> (Engine, Statements) {
    let engine = db.engine().await;
    MetaData::new()
        .with::<Author>()
        .with::<Article>()
        .create_all(&engine)
        .await
        .unwrap();
    let mut session = Session::new(&engine);
    for (i, name) in ["ed", "wendy"].iter().enumerate() {
        let mut a = Author::new(*name, format!("bio of {name}"), 40 + i as i32);
        a.notes = Some(format!("notes on {name}")).into();
        let a = session.add(a);
        for j in 0..2 {
            let art = session.add(Article::new(
                format!("body {name} {j}"),
                format!("{name} {j}"),
            ));
            a.write().unwrap().articles.push(&art);
        }
    }
    session.commit().await.unwrap();
    let log = Statements::record(&engine);
    (engine, log)
}

/// The SELECTs among `statements`.
fn selects(statements: &[String]) -> Vec<&String> {
    statements
        .iter()
        .filter(|s| s.starts_with("SELECT"))
        .collect()
}

/// Column `column` of author `id`, as the database holds it.
async fn db_text(engine: &Engine, column: &str, id: i64) -> Option<String> {
    engine
        .fetch_one(text(format!(
            "SELECT {column} FROM d_authors WHERE id = {id}"
        )))
        .await
        .unwrap()
        .get::<Option<String>>(0)
        .unwrap()
}

/// Author `id`, loaded by a query with `options`.
async fn author<L>(session: &mut Session, id: i64, options: LoadPath<Author, L>) -> Obj<Author> {
    session
        .query::<Author>()
        .options(options)
        .filter(Author::id.eq(id))
        .one()
        .await
        .unwrap()
}

fn not_loaded(e: &Error) -> &'static str {
    match e {
        Error::ColumnNotLoaded { column } => column,
        other => panic!("expected ColumnNotLoaded, got {other:?}"),
    }
}

async fn defer_leaves_the_column_out_and_reading_it_names_it(db: &TestDb) {
    let (engine, log) = setup(db).await;
    let mut session = Session::new(&engine);
    log.take();
    let authors = session
        .query::<Author>()
        .options(defer(Author::bio))
        .order_by(Author::id.asc())
        .all()
        .await
        .unwrap();
    let statements = log.take();
    assert_eq!(statements.len(), 1, "{statements:?}");
    let sql = &statements[0];
    assert!(!sql.contains("bio"), "{sql}");
    assert!(!sql.contains("notes"), "deferred by default: {sql}");
    assert!(sql.contains("age") && sql.contains("name"), "{sql}");
    let ed = authors[0].read().unwrap();
    let e = ed.bio.get().unwrap_err();
    assert_eq!(not_loaded(&e), "Author.bio");
    assert!(e.to_string().contains("`Author.bio`"), "{e}");
    assert!(e.to_string().contains("deferred"), "{e}");
    assert_eq!(not_loaded(&ed.notes.get().unwrap_err()), "Author.notes");
    // The columns after the ones left out are read from their own places.
    assert_eq!((ed.name.as_str(), ed.age), ("ed", 40));
    assert_eq!(authors[1].read().unwrap().age, 41);
    drop(ed);
    assert_eq!(authors[0].inspect().deferred, vec!["bio", "notes"]);
    // The statement shown is the one run.
    let shown = session
        .query::<Author>()
        .options(defer(Author::bio))
        .statement()
        .to_string();
    assert!(
        !shown.contains("bio") && !shown.contains("notes") && shown.contains("age"),
        "{shown}"
    );
    // `get` leaves out the columns deferred by default only.
    let mut session = Session::new(&engine);
    log.take();
    let wendy = session.get::<Author>(2).await.unwrap().unwrap();
    let statements = log.take();
    assert!(
        statements[0].contains("bio") && !statements[0].contains("notes"),
        "{statements:?}"
    );
    let w = wendy.read().unwrap();
    assert_eq!(w.bio.get().unwrap(), "bio of wendy");
    assert!(w.notes.get().is_err());
    assert_eq!(w.age, 41);
}

async fn a_deferred_by_default_column_loads_only_when_undeferred(db: &TestDb) {
    let (engine, log) = setup(db).await;
    let mut session = Session::new(&engine);
    log.take();
    let plain = session
        .query::<Author>()
        .filter(Author::id.eq(1))
        .one()
        .await
        .unwrap();
    let sql = log.take();
    assert!(
        !sql[0].contains("notes") && sql[0].contains("bio"),
        "{sql:?}"
    );
    assert!(plain.read().unwrap().notes.get().is_err());
    drop(plain);
    drop(session);
    let mut session = Session::new(&engine);
    let ed = author(&mut session, 1, undefer(Author::notes)).await;
    let sql = log.take();
    assert_eq!(sql.len(), 1, "{sql:?}");
    assert!(sql[0].contains("notes"), "{sql:?}");
    let ed = ed.read().unwrap();
    assert_eq!(ed.notes.get().unwrap().as_deref(), Some("notes on ed"));
    assert_eq!(ed.bio.get().unwrap(), "bio of ed");
    assert_eq!(ed.age, 40);
}

async fn load_only_loads_the_listed_deferred_columns_and_every_plain_one(db: &TestDb) {
    let (engine, log) = setup(db).await;
    let mut session = Session::new(&engine);
    log.take();
    let a = author(&mut session, 2, load_only((Author::name,))).await;
    let sql = log.take();
    assert!(
        !sql[0].contains("bio") && !sql[0].contains("notes") && sql[0].contains("age"),
        "{sql:?}"
    );
    {
        let a = a.read().unwrap();
        assert!(a.bio.get().is_err() && a.notes.get().is_err());
        assert_eq!((a.id, a.name.as_str(), a.age), (2, "wendy", 41));
    }
    drop(a);
    drop(session);
    let mut session = Session::new(&engine);
    let a = author(&mut session, 2, load_only([Author::notes])).await;
    let sql = log.take();
    assert!(
        !sql[0].contains("bio") && sql[0].contains("notes"),
        "{sql:?}"
    );
    let a = a.read().unwrap();
    assert!(a.bio.get().is_err());
    assert_eq!(a.notes.get().unwrap().as_deref(), Some("notes on wendy"));
    assert_eq!(a.age, 41);
}

async fn flush_after_a_deferred_load_does_not_write_the_column(db: &TestDb) {
    let (engine, log) = setup(db).await;
    let mut session = Session::new(&engine);
    let ed = author(&mut session, 1, defer(Author::bio)).await;
    // An unloaded value copied over a loaded one is not written either (it is not a
    // NULL to store).
    let wendy = session
        .query::<Author>()
        .filter(Author::id.eq(2))
        .one()
        .await
        .unwrap();
    log.take();
    ed.write().unwrap().name = "edward".into();
    {
        let mut w = wendy.write().unwrap();
        w.age = 42;
        w.bio = ed.read().unwrap().bio.clone();
    }
    session.commit().await.unwrap();
    let statements = log.take();
    let updates: Vec<_> = statements
        .iter()
        .filter(|s| s.starts_with("UPDATE"))
        .collect();
    assert_eq!(updates.len(), 2, "{statements:?}");
    assert!(updates.iter().any(|u| u.contains("name")), "{updates:?}");
    assert!(updates.iter().any(|u| u.contains("age")), "{updates:?}");
    assert!(
        updates
            .iter()
            .all(|u| !u.contains("bio") && !u.contains("notes")),
        "{updates:?}"
    );
    assert_eq!(
        db_text(&engine, "bio", 2).await.as_deref(),
        Some("bio of wendy")
    );
    assert_eq!(
        db_text(&engine, "bio", 1).await.as_deref(),
        Some("bio of ed")
    );
    assert_eq!(
        db_text(&engine, "notes", 1).await.as_deref(),
        Some("notes on ed")
    );
    assert_eq!(db_text(&engine, "name", 1).await.as_deref(), Some("edward"));
}

async fn setting_a_deferred_column_writes_it(db: &TestDb) {
    let (engine, log) = setup(db).await;
    let mut session = Session::new(&engine);
    let ed = author(&mut session, 1, load_only((Author::name,))).await;
    log.take();
    {
        let mut e = ed.write().unwrap();
        e.bio.set("a new bio".into());
        // NULL over a value the session never loaded: a change, though both read NULL
        // to a diff of values.
        e.notes.set(None);
    }
    assert!(ed.read().unwrap().bio.is_loaded());
    assert_eq!(ed.inspect().deferred, Vec::<&str>::new());
    session.commit().await.unwrap();
    let statements = log.take();
    let updates: Vec<_> = statements
        .iter()
        .filter(|s| s.starts_with("UPDATE"))
        .collect();
    assert_eq!(updates.len(), 1, "{statements:?}");
    assert!(
        updates[0].contains("bio") && updates[0].contains("notes"),
        "{updates:?}"
    );
    assert!(!updates[0].contains("name"), "{updates:?}");
    assert_eq!(
        db_text(&engine, "bio", 1).await.as_deref(),
        Some("a new bio")
    );
    assert_eq!(db_text(&engine, "notes", 1).await, None);
    // A new object writes every column, a deferred-by-default one included.
    let mut session = Session::new(&engine);
    let mut a = Author::new("new", "new bio", 7);
    a.notes = Some("new notes".to_owned()).into();
    session.add(a);
    session.commit().await.unwrap();
    assert_eq!(
        db_text(&engine, "notes", 3).await.as_deref(),
        Some("new notes")
    );
}

async fn load_columns_fills_unloaded_columns_in_one_select(db: &TestDb) {
    let (engine, log) = setup(db).await;
    let mut session = Session::new(&engine);
    let authors = session
        .query::<Author>()
        .options(defer(Author::bio))
        .order_by(Author::id.asc())
        .all()
        .await
        .unwrap();
    log.take();
    session
        .load_columns(&authors[0], (Author::bio, Author::notes))
        .await
        .unwrap();
    let statements = log.take();
    assert_eq!(selects(&statements).len(), 1, "{statements:?}");
    assert_eq!(statements.len(), 1, "{statements:?}");
    assert!(statements[0].contains("bio") && statements[0].contains("notes"));
    {
        let ed = authors[0].read().unwrap();
        assert_eq!(ed.bio.get().unwrap(), "bio of ed");
        assert_eq!(ed.notes.get().unwrap().as_deref(), Some("notes on ed"));
    }
    assert!(authors[1].read().unwrap().bio.get().is_err());
    // A slice: one SELECT for every object.
    session
        .load_columns_all(&authors, [Author::notes])
        .await
        .unwrap();
    let statements = log.take();
    assert_eq!(statements.len(), 1, "{statements:?}");
    assert_eq!(
        authors[1].read().unwrap().notes.get().unwrap().as_deref(),
        Some("notes on wendy")
    );
    assert!(authors[1].read().unwrap().bio.get().is_err());
    // Loading a relationship explicitly leaves out the columns deferred by default.
    session.load(&authors[0], Author::articles).await.unwrap();
    let statements = log.take();
    assert_eq!(statements.len(), 1, "{statements:?}");
    assert!(!statements[0].contains("body"), "{statements:?}");
    {
        let ed = authors[0].read().unwrap();
        let arts = ed.articles.get().unwrap();
        let first = arts[0].read().unwrap();
        assert_eq!(first.title, "ed 0");
        assert!(first.body.get().is_err());
    }
    // Loaded values are not changes: the commit writes nothing.
    session.commit().await.unwrap();
    let statements = log.take();
    assert!(
        !statements.iter().any(|s| s.starts_with("UPDATE")),
        "{statements:?}"
    );
}

async fn a_query_fills_the_unloaded_columns_of_an_identity_mapped_object(db: &TestDb) {
    let (engine, log) = setup(db).await;
    let mut session = Session::new(&engine);
    let ed = author(&mut session, 1, defer(Author::bio)).await;
    ed.write().unwrap().name = "changed".into();
    assert!(ed.read().unwrap().bio.get().is_err());
    // (Without autoflush, so that the change is still unflushed below.)
    let mut quiet = session.no_autoflush();
    let again = quiet
        .query::<Author>()
        .options(undefer(Author::notes))
        .filter(Author::id.eq(1))
        .one()
        .await
        .unwrap();
    drop(quiet);
    assert!(Obj::ptr_eq(&ed, &again));
    {
        let e = ed.read().unwrap();
        // Unloaded columns are filled; the unflushed change is kept.
        assert_eq!(e.bio.get().unwrap(), "bio of ed");
        assert_eq!(e.notes.get().unwrap().as_deref(), Some("notes on ed"));
        assert_eq!(e.name, "changed");
    }
    log.take();
    session.commit().await.unwrap();
    let statements = log.take();
    let updates: Vec<_> = statements
        .iter()
        .filter(|s| s.starts_with("UPDATE"))
        .collect();
    // Only the name: the filled columns are loaded values, not changes.
    assert_eq!(updates.len(), 1, "{statements:?}");
    assert!(
        !updates[0].contains("bio") && !updates[0].contains("notes"),
        "{updates:?}"
    );
}

async fn column_options_on_selectin_and_joined_steps(db: &TestDb) {
    let (engine, log) = setup(db).await;
    // selectin: the deferred-by-default body stays out unless the step undefers it.
    let mut session = Session::new(&engine);
    log.take();
    let authors = session
        .query::<Author>()
        .order_by(Author::id.asc())
        .options(selectinload(Author::articles))
        .all()
        .await
        .unwrap();
    let statements = log.take();
    assert_eq!(statements.len(), 2, "{statements:?}");
    assert!(!statements[1].contains("body"), "{statements:?}");
    {
        let ed = authors[0].read().unwrap();
        let arts = ed.articles.get().unwrap();
        assert_eq!(arts.len(), 2);
        let a = arts[0].read().unwrap();
        assert_eq!(a.title, "ed 0");
        assert_eq!(not_loaded(&a.body.get().unwrap_err()), "Article.body");
    }
    drop(authors);
    drop(session);
    let mut session = Session::new(&engine);
    let authors = session
        .query::<Author>()
        .order_by(Author::id.asc())
        .options(selectinload(Author::articles).undefer(Article::body))
        .options(defer(Author::bio))
        .all()
        .await
        .unwrap();
    let statements = log.take();
    assert_eq!(statements.len(), 2, "{statements:?}");
    assert!(!statements[0].contains("bio"), "{statements:?}");
    assert!(statements[1].contains("body"), "{statements:?}");
    {
        let w = authors[1].read().unwrap();
        assert!(w.bio.get().is_err());
        let arts = w.articles.get().unwrap();
        let a = arts[1].read().unwrap();
        assert_eq!(
            (a.title.as_str(), a.body.get().unwrap().as_str()),
            ("wendy 1", "body wendy 1")
        );
    }
    drop(authors);
    drop(session);
    // joined, many-to-one: the author's columns after the deferred ones are read from
    // their places in the joined row.
    let mut session = Session::new(&engine);
    let articles = session
        .query::<Article>()
        .order_by(Article::id.asc())
        .options(joinedload(Article::author).defer(Author::bio))
        .options(undefer(Article::body))
        .all()
        .await
        .unwrap();
    let statements = log.take();
    assert_eq!(statements.len(), 1, "{statements:?}");
    assert!(
        !statements[0].contains("bio") && statements[0].contains("body"),
        "{statements:?}"
    );
    assert_eq!(articles.len(), 4);
    {
        let last = articles[3].read().unwrap();
        assert_eq!(last.body.get().unwrap(), "body wendy 1");
        let author = last.author.get().unwrap().unwrap();
        let author = author.read().unwrap();
        assert_eq!((author.name.as_str(), author.age), ("wendy", 41));
        assert!(author.bio.get().is_err());
    }
    drop(articles);
    drop(session);
    // joined, one-to-many with a limit (the wrapped form): load_only on the step.
    let mut session = Session::new(&engine);
    let authors = session
        .query::<Author>()
        .order_by(Author::id.asc())
        .limit(1)
        .options(joinedload(Author::articles).load_only([Article::body]))
        .options(load_only((Author::name,)))
        .all()
        .await
        .unwrap();
    let statements = log.take();
    assert_eq!(statements.len(), 1, "{statements:?}");
    assert!(
        statements[0].contains("body") && !statements[0].contains("bio"),
        "{statements:?}"
    );
    assert_eq!(authors.len(), 1);
    let ed = authors[0].read().unwrap();
    assert_eq!(ed.age, 40);
    let arts = ed.articles.get().unwrap();
    assert_eq!(arts.len(), 2);
    assert_eq!(arts[1].read().unwrap().body.get().unwrap(), "body ed 1");
}

async fn refresh_and_expire_keep_unloaded_columns_unloaded(db: &TestDb) {
    let (engine, log) = setup(db).await;
    let mut session = Session::new(&engine);
    let ed = author(&mut session, 1, defer(Author::bio).undefer(Author::notes)).await;
    session.rollback().await.unwrap();
    engine
        .execute(text(
            "UPDATE d_authors SET notes = 'changed notes', age = 50 WHERE id = 1",
        ))
        .await
        .unwrap();
    log.take();
    session.refresh(&ed).await.unwrap();
    let statements = log.take();
    // The loaded deferred column is reloaded; the unloaded one stays out.
    assert!(
        statements[0].contains("notes") && !statements[0].contains("bio"),
        "{statements:?}"
    );
    {
        let e = ed.read().unwrap();
        assert_eq!(e.notes.get().unwrap().as_deref(), Some("changed notes"));
        assert_eq!(e.age, 50);
        assert!(e.bio.get().is_err());
    }
    // An expired object filled by a query that leaves a deferred column out has that
    // column unloaded (its old value may be stale).
    session.expire(&ed).unwrap();
    let again = session
        .query::<Author>()
        .filter(Author::id.eq(1))
        .one()
        .await
        .unwrap();
    assert!(Obj::ptr_eq(&ed, &again));
    let e = ed.read().unwrap();
    assert_eq!(e.bio.get().unwrap(), "bio of ed");
    assert!(e.notes.get().is_err());
}

async fn a_new_object_with_an_unloaded_column_is_refused(db: &TestDb) {
    let (engine, _log) = setup(db).await;
    let mut session = Session::new(&engine);
    let ed = session
        .query::<Author>()
        .filter(Author::id.eq(1))
        .one()
        .await
        .unwrap();
    // A value copied from a loaded object whose column was left unloaded.
    let mut copy = Author::new("copy", "copied bio", 1);
    copy.notes = ed.read().unwrap().notes.clone();
    session.add(copy);
    let e = session.flush().await.unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("Author.notes") && msg.contains("unloaded"),
        "{msg}"
    );
    session.rollback().await.unwrap();
    let n: i64 = engine
        .fetch_one(text("SELECT COUNT(*) FROM d_authors"))
        .await
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(n, 2);
}

async fn merge_does_not_copy_a_column_the_value_left_unloaded(db: &TestDb) {
    let (engine, _log) = setup(db).await;
    // Loaded without `notes` (deferred by default), renamed, merged elsewhere.
    let mut first = Session::new(&engine);
    let ed = first
        .query::<Author>()
        .filter(Author::name.eq("ed"))
        .one()
        .await
        .unwrap();
    let mut value = ed.read().unwrap().clone();
    first.rollback().await.unwrap();
    value.name = "edward".into();
    let mut second = Session::new(&engine);
    let merged = second.merge(value).await.unwrap();
    assert_eq!(merged.inspect().changed, ["name"]);
    second.commit().await.unwrap();
    let row = engine
        .fetch_one(text(
            "SELECT name, notes FROM d_authors WHERE name = 'edward'",
        ))
        .await
        .unwrap();
    assert_eq!(
        row.get::<Option<String>>(1).unwrap().as_deref(),
        Some("notes on ed"),
        "the unloaded column kept its value"
    );
}

async fn selectin_groups_children_by_their_foreign_key_after_a_deferred_column_left_out(
    db: &TestDb,
) {
    let engine = db.engine().await;
    MetaData::new()
        .with::<Shelf>()
        .with::<Book>()
        .create_all(&engine)
        .await
        .unwrap();
    let mut session = Session::new(&engine);
    // Shelf 1 holds one book, shelf 2 none, shelf 3 three: keys and counts differ.
    for (label, books) in [("a", 1), ("b", 0), ("c", 3)] {
        let shelf = session.add(Shelf::new(label));
        for j in 0..books {
            let book = session.add(Book::new(
                format!("blurb {label}{j}"),
                format!("{label}{j}"),
            ));
            shelf.write().unwrap().books.push(&book);
        }
    }
    session.commit().await.unwrap();
    drop(session);
    let log = Statements::record(&engine);
    let mut session = Session::new(&engine);
    let shelves = session
        .query::<Shelf>()
        .order_by(Shelf::id.asc())
        .options(selectinload(Shelf::books))
        .all()
        .await
        .unwrap();
    let statements = log.take();
    assert_eq!(statements.len(), 2, "{statements:?}");
    assert!(!statements[1].contains("blurb"), "{statements:?}");
    let titles: Vec<(String, Vec<String>)> = shelves
        .iter()
        .map(|s| {
            let s = s.read().unwrap();
            let books = s.books.get().unwrap();
            let titles = books
                .iter()
                .map(|b| b.read().unwrap().title.clone())
                .collect();
            (s.label.clone(), titles)
        })
        .collect();
    assert_eq!(
        titles,
        [
            ("a".to_owned(), vec!["a0".to_owned()]),
            ("b".to_owned(), vec![]),
            (
                "c".to_owned(),
                vec!["c0".to_owned(), "c1".to_owned(), "c2".to_owned()]
            ),
        ]
    );
}
