//! `session.query::<M>().stream()`: objects yielded as their rows arrive, through the
//! identity map, on the session's transaction; a stream dropped before its end loses
//! the transaction, and the session says so until it is rolled back.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use orm::prelude::*;
use orm::{Engine, Error, ObjectState, text};

use crate::backend_tests;
use crate::support::{Statements, TestDb};

backend_tests!(
    stream_yields_identity_mapped_objects_in_one_select,
    stream_autoflushes_and_keeps_the_transaction_when_read_to_its_end,
    stream_fires_load_events_and_honours_populate_existing,
    stream_dropped_after_3_of_100_rows_loses_the_transaction_until_rollback,
    stream_cancelled_by_a_timeout_mid_stream_is_a_dropped_stream,
    stream_refuses_loader_options_that_need_a_second_query,
    stream_error_decoding_a_row_keeps_the_transaction,
    stream_inside_a_savepoint_keeps_it,
    session_work_runs_in_a_spawned_task,
);

#[derive(Model, Debug, Clone)]
#[orm(table = "st_users")]
pub struct StUser {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(max_length = 50)]
    pub name: String,
    pub email: Option<String>,
    #[relationship(back_populates = "owner")]
    pub items: Related<Vec<StItem>>,
}

#[derive(Model, Debug, Clone)]
#[orm(table = "st_items")]
pub struct StItem {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(foreign_key = "st_users.id")]
    pub owner_id: Option<i64>,
    #[orm(max_length = 50)]
    pub title: String,
    #[relationship(back_populates = "items")]
    pub owner: Related<Option<StUser>>,
}

/// `st_users` read with the wrong type for `name`: decoding its rows fails.
#[derive(Model, Debug, Clone)]
#[orm(table = "st_users")]
pub struct StUserMistyped {
    #[orm(primary_key)]
    pub id: i64,
    pub name: i64,
}

/// A model whose relationship loads with selectin by default.
#[derive(Model, Debug, Clone)]
#[orm(table = "st_shelves")]
pub struct StShelf {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(max_length = 50)]
    pub name: String,
    #[relationship(back_populates = "shelf", lazy = "selectin")]
    pub books: Related<Vec<StBook>>,
}

#[derive(Model, Debug, Clone)]
#[orm(table = "st_books")]
pub struct StBook {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(foreign_key = "st_shelves.id")]
    pub shelf_id: Option<i64>,
    #[orm(max_length = 50)]
    pub title: String,
    #[relationship(back_populates = "books")]
    pub shelf: Related<Option<StShelf>>,
}

/// The tables, `users` users named `u1`.. committed (ids 1..=users), and a statement log.
async fn setup(db: &TestDb, users: usize) -> (Engine, Statements) {
    let engine = db.engine().await;
    fill(engine, users).await
}

/// As `setup`, on `engine`.
async fn fill(engine: Engine, users: usize) -> (Engine, Statements) {
    MetaData::new()
        .with::<StUser>()
        .with::<StItem>()
        .with::<StShelf>()
        .with::<StBook>()
        .create_all(&engine)
        .await
        .unwrap();
    let mut session = Session::new(&engine);
    for i in 1..=users {
        session.add(StUser::new(format!("u{i}")));
    }
    session.commit().await.unwrap();
    let log = Statements::record(&engine);
    (engine, log)
}

async fn count(engine: &Engine, table: &str) -> i64 {
    engine
        .fetch_one(text(format!("SELECT COUNT(*) FROM {table}")))
        .await
        .unwrap()
        .get(0)
        .unwrap()
}

fn is_stream_lost(e: &Error) -> bool {
    matches!(e, Error::PendingRollback { reason } if reason.contains("stream of `StUser` objects") && reason.contains("dropped before its end"))
}

async fn stream_yields_identity_mapped_objects_in_one_select(db: &TestDb) {
    let (engine, log) = setup(db, 100).await;
    let mut session = Session::new(&engine);
    session.set_autoflush(false);
    let five = session.get::<StUser>(5).await.unwrap().unwrap();
    five.write().unwrap().email = Some("five@example.com".into());
    log.take();
    let mut seen = Vec::new();
    {
        let mut stream = session
            .query::<StUser>()
            .order_by(StUser::id.asc())
            .stream()
            .await
            .unwrap();
        while let Some(u) = stream.try_next().await.unwrap() {
            seen.push(u);
        }
    }
    let statements = log.take();
    assert_eq!(statements.len(), 1, "{statements:?}");
    assert!(statements[0].starts_with("SELECT"), "{statements:?}");
    assert_eq!(seen.len(), 100);
    assert_eq!(
        seen.iter()
            .map(|u| u.read().unwrap().id)
            .collect::<Vec<_>>(),
        (1..=100).collect::<Vec<i64>>()
    );
    // The row of an object already loaded is that object, its unsaved change kept.
    assert!(Obj::ptr_eq(&seen[4], &five));
    assert_eq!(
        five.read().unwrap().email.as_deref(),
        Some("five@example.com")
    );
    assert_eq!(five.inspect().changed, ["email"]);
    // The others are mapped too: get finds them without SQL.
    let fifty = session.get::<StUser>(50).await.unwrap().unwrap();
    assert!(Obj::ptr_eq(&fifty, &seen[49]));
    assert_eq!(fifty.state(), ObjectState::Persistent);
    assert!(log.take().is_empty());
    // The session goes on in its transaction: the change is flushed and committed.
    session.commit().await.unwrap();
    let email: Option<String> = engine
        .fetch_one(text("SELECT email FROM st_users WHERE id = 5"))
        .await
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(email.as_deref(), Some("five@example.com"));
}

async fn stream_autoflushes_and_keeps_the_transaction_when_read_to_its_end(db: &TestDb) {
    let (engine, log) = setup(db, 3).await;
    let mut session = Session::new(&engine);
    let new = session.add(StUser::new("zed"));
    log.take();
    let mut found = Vec::new();
    {
        let mut stream = session
            .query::<StUser>()
            .filter(StUser::name.eq("zed"))
            .stream()
            .await
            .unwrap();
        while let Some(u) = stream.try_next().await.unwrap() {
            found.push(u);
        }
    }
    // The pending object was flushed before the SELECT, and the row is that object.
    let statements = log.take();
    assert_eq!(statements.len(), 2, "{statements:?}");
    assert!(statements[0].starts_with("INSERT"), "{statements:?}");
    assert!(statements[1].starts_with("SELECT"), "{statements:?}");
    assert_eq!(found.len(), 1);
    assert!(Obj::ptr_eq(&found[0], &new));
    // Read to its end: the transaction is still the session's, and still open.
    assert!(session.in_transaction());
    assert_eq!(count(&engine, "st_users").await, 3, "not committed yet");
    session.commit().await.unwrap();
    assert_eq!(count(&engine, "st_users").await, 4);
    // A stream that finds nothing ends at once.
    let mut empty = session
        .query::<StUser>()
        .filter(StUser::name.eq("nobody"))
        .stream()
        .await
        .unwrap();
    assert!(empty.try_next().await.unwrap().is_none());
    assert!(empty.try_next().await.unwrap().is_none());
    drop(empty);
    assert_eq!(session.query::<StUser>().count().await.unwrap(), 4);
}

async fn stream_fires_load_events_and_honours_populate_existing(db: &TestDb) {
    let (engine, _log) = setup(db, 10).await;
    let mut session = Session::new(&engine);
    session.set_autoflush(false);
    let loaded = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&loaded);
    session
        .on_model::<StUser>()
        .load(move |u| sink.lock().unwrap().push(u.id));
    let two = session.get::<StUser>(2).await.unwrap().unwrap();
    two.write().unwrap().name = "changed".into();
    let mut stream = session
        .query::<StUser>()
        .filter(StUser::id.le(4))
        .order_by(StUser::id.asc())
        .populate_existing()
        .stream()
        .await
        .unwrap();
    let mut ids = Vec::new();
    while let Some(u) = stream.try_next().await.unwrap() {
        let id = u.read().unwrap().id;
        ids.push(id);
        // Each object is made (and its event fired) as its row arrives.
        assert!(loaded.lock().unwrap().contains(&id));
    }
    drop(stream);
    assert_eq!(ids, [1, 2, 3, 4]);
    // One load event per object made, as all() fires them: 2 was loaded by get.
    assert_eq!(*loaded.lock().unwrap(), [2, 1, 3, 4]);
    // populate_existing overwrote the unsaved change.
    assert_eq!(two.read().unwrap().name, "u2");
    assert!(two.inspect().changed.is_empty());
}

async fn stream_dropped_after_3_of_100_rows_loses_the_transaction_until_rollback(db: &TestDb) {
    let (engine, log) = setup(db, 100).await;
    let mut session = Session::new(&engine);
    // Flushed by the stream's autoflush, in the transaction the dropped stream loses.
    let pending = session.add(StUser::new("flushed then lost"));
    let mut first = Vec::new();
    {
        let mut stream = session
            .query::<StUser>()
            .order_by(StUser::id.asc())
            .stream()
            .await
            .unwrap();
        for _ in 0..3 {
            first.push(stream.try_next().await.unwrap().unwrap());
        }
    }
    log.take();
    // Objects already yielded stay valid handles.
    assert_eq!(first[2].read().unwrap().name, "u3");
    assert_eq!(first[0].state(), ObjectState::Persistent);
    assert!(!session.in_transaction());
    // Every call that would reach the database says why, and sends nothing.
    let e = session.query::<StUser>().count().await.unwrap_err();
    assert!(is_stream_lost(&e), "{e}");
    assert!(e.to_string().contains("session.rollback()"), "{e}");
    let e = session.get::<StUser>(50).await.unwrap_err();
    assert!(is_stream_lost(&e), "{e}");
    let e = session.query::<StUser>().all().await.unwrap_err();
    assert!(is_stream_lost(&e), "{e}");
    let e = session.commit().await.unwrap_err();
    assert!(is_stream_lost(&e), "{e}");
    assert!(log.take().is_empty());
    // The flushed INSERT went with the transaction.
    assert_eq!(count(&engine, "st_users").await, 100);
    // A get that hits the identity map needs no SQL and still works.
    let one = session.get::<StUser>(1).await.unwrap().unwrap();
    assert!(Obj::ptr_eq(&one, &first[0]));
    session.rollback().await.unwrap();
    // The rolled-back insert's object is transient again; the loaded ones expired.
    assert_eq!(pending.state(), ObjectState::Transient);
    assert!(matches!(first[0].read(), Err(Error::Expired { .. })));
    // The session works again, in a new transaction.
    assert_eq!(session.query::<StUser>().count().await.unwrap(), 100);
    session.add(StUser::new("after rollback"));
    session.commit().await.unwrap();
    assert_eq!(count(&engine, "st_users").await, 101);
    let all = session.query::<StUser>().all().await.unwrap();
    assert_eq!(all.len(), 101);
    assert!(Obj::ptr_eq(&all[0], &first[0]));
    assert_eq!(first[0].read().unwrap().name, "u1");
}

async fn stream_cancelled_by_a_timeout_mid_stream_is_a_dropped_stream(db: &TestDb) {
    // One connection: the one the stream lost must be given back (closed; an in-memory
    // SQLite one kept and rolled back), else every later checkout would time out.
    let (engine, _log) = fill(db.one_connection_engine().await, 100).await;
    let mut session = Session::new(&engine);
    let mut read = 0usize;
    let outcome = tokio::time::timeout(Duration::from_millis(500), async {
        let mut stream = session.query::<StUser>().stream().await?;
        while stream.try_next().await?.is_some() {
            read += 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok::<_, Error>(())
    })
    .await;
    assert!(outcome.is_err(), "the timeout cancels the stream mid-way");
    assert!(read > 0 && read < 100, "{read}");
    let e = session.flush().await.unwrap_err();
    assert!(is_stream_lost(&e), "{e}");
    session.rollback().await.unwrap();
    let mut stream = session.query::<StUser>().stream().await.unwrap();
    let mut n = 0;
    while stream.try_next().await.unwrap().is_some() {
        n += 1;
    }
    drop(stream);
    assert_eq!(n, 100);
    session.commit().await.unwrap();
    assert_eq!(count(&engine, "st_users").await, 100);
}

/// In-memory SQLite (one connection, kept by the engine's static pool): the engine
/// keeps the connection a dropped stream leaves (the fast path resets the statement),
/// and rolls its transaction back when it comes back to the pool; the session reports
/// the lost transaction as on every database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_memory_stream_dropped_keeps_the_connection_and_loses_the_transaction() {
    let engine = Engine::builder("sqlite::memory:").connect().await.unwrap();
    let (engine, _log) = fill(engine, 100).await;
    let mut session = Session::new(&engine);
    session.add(StUser::new("flushed then lost"));
    {
        let mut stream = session.query::<StUser>().stream().await.unwrap();
        for _ in 0..3 {
            stream.try_next().await.unwrap().unwrap();
        }
    }
    let e = session.get::<StUser>(99).await.unwrap_err();
    assert!(is_stream_lost(&e), "{e}");
    session.rollback().await.unwrap();
    // The same in-memory database (its one connection survived), without the INSERT
    // the autoflush made in the lost transaction.
    assert_eq!(session.query::<StUser>().count().await.unwrap(), 100);
    session.commit().await.unwrap();
    assert_eq!(count(&engine, "st_users").await, 100);
}

async fn stream_refuses_loader_options_that_need_a_second_query(db: &TestDb) {
    let (engine, log) = setup(db, 2).await;
    let mut session = Session::new(&engine);
    let e = session
        .query::<StUser>()
        .options(selectinload(StUser::items))
        .stream()
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidRequest { message } if message.contains("selectinload(StUser::items)") && message.contains("stream()")),
        "{e}"
    );
    let e = session
        .query::<StUser>()
        .options(joinedload(StUser::items))
        .stream()
        .await
        .unwrap_err();
    assert!(e.to_string().contains("joinedload(StUser::items)"), "{e}");
    // The model's own lazy = "selectin" default is named too.
    let e = session.query::<StShelf>().stream().await.unwrap_err();
    assert!(
        e.to_string().contains("`StShelf::books`") && e.to_string().contains("noload"),
        "{e}"
    );
    assert!(log.take().is_empty(), "nothing is sent");
    // noload turns the default off; raiseload marks each object as it is yielded.
    session.add(StShelf::new("s"));
    session.commit().await.unwrap();
    // A new session, so that the shelf is loaded from its row (not the object added).
    let mut session = Session::new(&engine);
    let mut shelves = session
        .query::<StShelf>()
        .options(noload(StShelf::books))
        .stream()
        .await
        .unwrap();
    let shelf = shelves.try_next().await.unwrap().unwrap();
    assert!(shelves.try_next().await.unwrap().is_none());
    drop(shelves);
    assert!(matches!(
        shelf.read().unwrap().books.len(),
        Err(Error::NotLoaded { .. })
    ));
    let mut users = session
        .query::<StUser>()
        .options(raiseload(StUser::items))
        .stream()
        .await
        .unwrap();
    let user = users.try_next().await.unwrap().unwrap();
    assert!(users.try_next().await.unwrap().is_some());
    assert!(users.try_next().await.unwrap().is_none());
    drop(users);
    assert!(matches!(
        user.read().unwrap().items.len(),
        Err(Error::RaiseLoad { .. })
    ));
    // The relationship loads afterwards with session.load.
    session.load(&user, StUser::items).await.unwrap();
    assert_eq!(user.read().unwrap().items.len().unwrap(), 0);
}

async fn stream_error_decoding_a_row_keeps_the_transaction(db: &TestDb) {
    let (engine, _log) = setup(db, 100).await;
    let mut session = Session::new(&engine);
    let added = session.add(StUser::new("flushed, kept"));
    {
        let mut stream = session.query::<StUserMistyped>().stream().await.unwrap();
        // The first row fails to decode: the rest of the result is read off, then the
        // error is yielded and the stream ends.
        assert!(stream.try_next().await.is_err());
        assert!(stream.try_next().await.unwrap().is_none());
    }
    // The transaction (with the autoflushed INSERT) is still the session's.
    assert!(session.in_transaction());
    assert_eq!(added.state(), ObjectState::Persistent);
    assert_eq!(session.query::<StUser>().count().await.unwrap(), 101);
    session.commit().await.unwrap();
    assert_eq!(count(&engine, "st_users").await, 101);
}

async fn stream_inside_a_savepoint_keeps_it(db: &TestDb) {
    let (engine, _log) = setup(db, 10).await;
    let mut session = Session::new(&engine);
    let sp = session.begin_nested().await.unwrap();
    session.add(StUser::new("in the savepoint"));
    let mut names = Vec::new();
    {
        let mut stream = session
            .query::<StUser>()
            .order_by(StUser::id.desc())
            .stream()
            .await
            .unwrap();
        while let Some(u) = stream.try_next().await.unwrap() {
            names.push(u.read().unwrap().name.clone());
        }
    }
    assert_eq!(names.len(), 11);
    assert_eq!(names[0], "in the savepoint");
    // Read to its end, the stream left the savepoint open: rolling back to it undoes
    // only the inner work.
    session.rollback_nested(sp).await.unwrap();
    assert_eq!(session.query::<StUser>().count().await.unwrap(), 10);
    session.commit().await.unwrap();
    assert_eq!(count(&engine, "st_users").await, 10);
    // Dropped inside a savepoint, a stream loses the whole transaction: the savepoint
    // cannot be rolled back to, the session must be rolled back.
    let sp = session.begin_nested().await.unwrap();
    {
        let mut stream = session.query::<StUser>().stream().await.unwrap();
        stream.try_next().await.unwrap().unwrap();
    }
    let e = session.rollback_nested(sp).await.unwrap_err();
    assert!(is_stream_lost(&e), "{e}");
    session.rollback().await.unwrap();
    assert_eq!(session.query::<StUser>().count().await.unwrap(), 10);
}

/// A session's futures are `Send + 'static`: flush, savepoints, queries, streams and
/// Core statements run inside `tokio::spawn` (a compile error before, through the
/// engine's script path).
async fn session_work_runs_in_a_spawned_task(db: &TestDb) {
    let engine = db.engine().await;
    MetaData::new()
        .with::<StUser>()
        .with::<StItem>()
        .create_all(&engine)
        .await
        .unwrap();
    let spawned = tokio::spawn({
        let engine = engine.clone();
        async move {
            let mut session = Session::new(&engine);
            let ed = session.add(StUser::new("ed"));
            session.flush().await?;
            let id = ed.read()?.id;
            let sp = session.begin_nested().await?;
            session.add(StUser::new("jo"));
            session.rollback_nested(sp).await?;
            let again = session.get::<StUser>(id).await?.expect("ed is there");
            assert!(Obj::ptr_eq(&ed, &again));
            let all = session.query::<StUser>().all().await?;
            let n = session.query::<StUser>().count().await?;
            let mut names = Vec::new();
            {
                let mut stream = session.query::<StUser>().stream().await?;
                while let Some(u) = stream.try_next().await? {
                    names.push(u.read()?.name.clone());
                }
            }
            session
                .execute(text("UPDATE st_users SET email = 'x'"))
                .await?;
            session.commit().await?;
            Ok::<_, Error>((all.len(), n, names))
        }
    });
    let (all, n, names) = spawned.await.unwrap().unwrap();
    assert_eq!((all, n), (1, 1));
    assert_eq!(names, ["ed"]);
}
