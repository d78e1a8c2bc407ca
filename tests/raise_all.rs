//! `raiseload_all()`: every relationship a query does not load is an error to read
//! (SQLAlchemy's `raiseload("*")`), the models' `lazy` defaults included; at the end of
//! a path, for the objects its last step reaches. Statements are counted through the
//! engine's events.

use orm::Error;
use orm::prelude::*;

use crate::backend_tests;
use crate::session::{Post, Tag, User, setup};
use crate::subquery_loading::{DfBook, DfNote, DfShelf, df_setup};
use crate::support::TestDb;

backend_tests!(
    raiseload_all_raises_on_every_relationship_the_query_does_not_load,
    raiseload_all_overrides_lazy_defaults_and_leaves_noload_alone,
    raiseload_all_at_the_end_of_a_path_covers_the_objects_it_reaches,
);

fn raises(r: Result<usize, Error>, relationship: &str) {
    match r {
        Err(Error::RaiseLoad { relationship: r }) => assert_eq!(r, relationship),
        other => panic!("expected RaiseLoad of {relationship}, got {other:?}"),
    }
}

async fn raiseload_all_raises_on_every_relationship_the_query_does_not_load(db: &TestDb) {
    let (engine, log) = setup(db).await;
    let mut session = Session::new(&engine);
    let ed = session.add(User::new("ed"));
    let p = session.add(Post::new("p"));
    let t = session.add(Tag::new("t"));
    ed.write().unwrap().posts.push(&p);
    p.write().unwrap().tags.push(&t);
    session.commit().await.unwrap();
    drop((session, ed, p, t));
    log.take();

    let mut session = Session::new(&engine);
    let posts = session
        .query::<Post>()
        .options(selectinload(Post::author))
        .options(raiseload_all())
        .all()
        .await
        .unwrap();
    // The posts and their authors: the wildcard runs nothing.
    assert_eq!(log.take().len(), 2);
    let post = posts[0].read().unwrap();
    assert_eq!(
        post.author.get().unwrap().unwrap().read().unwrap().name,
        "ed"
    );
    raises(post.tags.len(), "Post.tags");
    drop(post);
    // Loading it explicitly lifts the raise.
    session.load(&posts[0], Post::tags).await.unwrap();
    assert_eq!(posts[0].read().unwrap().tags.len().unwrap(), 1);
    let id = posts[0].read().unwrap().id;
    session.rollback().await.unwrap();

    // The same through get, for a row it selects.
    let mut session = Session::new(&engine);
    let post = session
        .query::<Post>()
        .options(raiseload_all())
        .get(id)
        .await
        .unwrap()
        .unwrap();
    raises(
        post.read().unwrap().author.get().map(|a| a.iter().count()),
        "Post.author",
    );
    raises(post.read().unwrap().tags.len(), "Post.tags");
    session.rollback().await.unwrap();
    drop(session);
    log.take();

    // For an object already in the map: no SQL, its unloaded relationships raise.
    let mut session = Session::new(&engine);
    let post = session.get::<Post>(id).await.unwrap().unwrap();
    let again = session
        .query::<Post>()
        .options(raiseload_all())
        .get(id)
        .await
        .unwrap()
        .unwrap();
    assert!(Obj::ptr_eq(&post, &again));
    assert_eq!(log.take().len(), 1);
    raises(post.read().unwrap().tags.len(), "Post.tags");
    session.rollback().await.unwrap();
}

async fn raiseload_all_overrides_lazy_defaults_and_leaves_noload_alone(db: &TestDb) {
    let (engine, log) = df_setup(db).await;
    let mut session = Session::new(&engine);
    let shelf = session.add(DfShelf::new("s"));
    let book = session.add(DfBook::new("b"));
    let note = session.add(DfNote::new("n"));
    shelf.write().unwrap().books.push(&book);
    book.write().unwrap().notes.push(&note);
    session.commit().await.unwrap();
    drop((session, shelf, book, note));
    log.take();

    // DfBook.notes loads by default (lazy = "selectin"): not under the wildcard.
    let mut session = Session::new(&engine);
    let books = session
        .query::<DfBook>()
        .options(raiseload_all())
        .all()
        .await
        .unwrap();
    assert_eq!(log.take().len(), 1);
    raises(books[0].read().unwrap().notes.len(), "DfBook.notes");
    raises(
        books[0]
            .read()
            .unwrap()
            .shelf
            .get()
            .map(|s| s.iter().count()),
        "DfBook.shelf",
    );
    session.rollback().await.unwrap();

    // noload names the shelf: unloaded, not raise.
    let mut session = Session::new(&engine);
    let books = session
        .query::<DfBook>()
        .options(noload(DfBook::shelf))
        .options(raiseload_all())
        .all()
        .await
        .unwrap();
    assert_eq!(log.take().len(), 1);
    assert!(matches!(
        books[0].read().unwrap().shelf.get(),
        Err(Error::NotLoaded { .. })
    ));
    raises(books[0].read().unwrap().notes.len(), "DfBook.notes");

    // A stream may take it: the default that needs its own query is off.
    drop(books);
    session.rollback().await.unwrap();
    let mut session = Session::new(&engine);
    let mut stream = session
        .query::<DfBook>()
        .options(raiseload_all())
        .stream()
        .await
        .unwrap();
    let book = stream.try_next().await.unwrap().unwrap();
    assert!(stream.try_next().await.unwrap().is_none());
    drop(stream);
    raises(book.read().unwrap().notes.len(), "DfBook.notes");
    // Without the wildcard the stream refuses the default.
    assert!(matches!(
        session.query::<DfBook>().stream().await.err(),
        Some(Error::InvalidRequest { .. })
    ));
}

async fn raiseload_all_at_the_end_of_a_path_covers_the_objects_it_reaches(db: &TestDb) {
    let (engine, log) = df_setup(db).await;
    let mut session = Session::new(&engine);
    let shelf = session.add(DfShelf::new("s"));
    for t in ["a", "b"] {
        let book = session.add(DfBook::new(t));
        let note = session.add(DfNote::new(format!("{t}-n")));
        shelf.write().unwrap().books.push(&book);
        book.write().unwrap().notes.push(&note);
    }
    session.commit().await.unwrap();
    drop((session, shelf));
    log.take();

    for (path, selects) in [
        (selectinload(DfShelf::books).raiseload_all(), 2),
        (joinedload(DfShelf::books).raiseload_all(), 1),
    ] {
        let mut session = Session::new(&engine);
        let shelves = session
            .query::<DfShelf>()
            .options(path)
            .all()
            .await
            .unwrap();
        // Shelves and books (one SELECT when joined); the books' default notes do not
        // load.
        let statements = log.take();
        assert_eq!(statements.len(), selects, "{statements:#?}");
        assert!(
            statements.iter().all(|s| !s.contains("df_notes")),
            "{statements:#?}"
        );
        let shelf = shelves[0].read().unwrap();
        let books = shelf.books.get().unwrap();
        assert_eq!(books.len(), 2);
        for b in books {
            raises(b.read().unwrap().notes.len(), "DfBook.notes");
        }
        drop(shelf);
        session.rollback().await.unwrap();
    }
}
