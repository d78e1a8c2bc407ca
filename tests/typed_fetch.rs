//! `fetch_all_as` / `fetch_one_as` / `fetch_optional_as`: rows decoded as they are read
//! (models, tuples of models and values), on the engine, a connection and a
//! transaction; the same answers as `fetch_all` + `Row::decode`, one statement event
//! with the row count, a row that does not decode ends the call with an error naming
//! its column and leaves the connection usable, and a cancelled call leaves the pool
//! usable. The Session loads objects the same way (as rows are read): a row that does
//! not decode there fails the query, naming the column, and the session goes on.

use std::time::Duration;

use orm::prelude::*;
use orm::text;

use crate::backend_tests;
use crate::session::{Post, User, setup};
use crate::support::{TestDb, ddl};

backend_tests!(
    typed_fetches_decode_what_fetch_all_decodes,
    a_row_that_does_not_decode_ends_the_call_and_the_connection_goes_on,
    a_cancelled_typed_fetch_leaves_the_engine_usable,
    a_session_query_with_a_row_that_does_not_decode_fails_and_the_session_goes_on
);

/// A model whose `label` is required, over a table that lets it be NULL.
#[derive(Model, Debug, Clone)]
#[orm(table = "loose_labels")]
pub struct Labeled {
    #[orm(primary_key)]
    pub id: i64,
    pub label: String,
}

/// Users `u0000`.. with `n` posts each, some with an email and some without.
async fn seed(engine: &Engine, users: usize, posts: usize) {
    let mut session = Session::new(engine);
    for i in 0..users {
        let mut u = User::new(format!("u{i:04}"));
        if i % 3 == 0 {
            u.email = Some(format!("u{i}@example.com"));
        }
        let u = session.add(u);
        for j in 0..posts {
            let p = session.add(Post::new(format!("u{i:04}-p{j}")));
            u.write().unwrap().posts.push(&p);
        }
    }
    session.commit().await.unwrap();
}

fn pairs_statement() -> orm::sql::SelectStatement {
    select(columns_of::<User>())
        .add_columns(columns_of::<Post>())
        .add_columns(Post::title)
        .from(User::table())
        .join(Post::table(), User::id.eq(Post::user_id))
        .order_by(Post::title.asc())
}

async fn typed_fetches_decode_what_fetch_all_decodes(db: &TestDb) {
    let (engine, log) = setup(db).await;
    seed(&engine, 300, 3).await;
    log.take();

    // Models: the same users, in the same order, as fetch_all + decode.
    let stmt = select(columns_of::<User>()).order_by(User::id.asc());
    let typed: Vec<User> = engine.fetch_all_as(&stmt).await.unwrap();
    assert_eq!(log.take().len(), 1, "one statement");
    let rows = engine.fetch_all(&stmt).await.unwrap();
    let decoded: Vec<User> = rows.iter().map(|r| r.decode().unwrap()).collect();
    assert_eq!(typed.len(), 300);
    let key = |u: &User| (u.id, u.name.clone(), u.email.clone());
    assert_eq!(
        typed.iter().map(key).collect::<Vec<_>>(),
        decoded.iter().map(key).collect::<Vec<_>>()
    );
    assert_eq!(typed[3].email.as_deref(), Some("u3@example.com"));
    assert_eq!(typed[4].email, None);

    // Tuples of models and values, on a connection and in a transaction.
    let mut conn = engine.connect().await.unwrap();
    let pairs: Vec<(User, Post, String)> = conn.fetch_all_as(pairs_statement()).await.unwrap();
    assert_eq!(pairs.len(), 900);
    assert!(
        pairs
            .iter()
            .all(|(u, p, t)| p.user_id == Some(u.id) && *t == p.title)
    );
    assert_eq!(pairs[0].2, "u0000-p0");
    assert_eq!(pairs[899].2, "u0299-p2");
    drop(conn);
    let mut tx = engine.begin().await.unwrap();
    let titles: Vec<(String,)> = tx
        .fetch_all_as(
            select(Post::title)
                .filter(Post::title.like("u0001-%"))
                .order_by(Post::title.desc()),
        )
        .await
        .unwrap();
    assert_eq!(
        titles,
        [("u0001-p2",), ("u0001-p1",), ("u0001-p0",)].map(|(t,)| (t.to_owned(),))
    );
    tx.commit().await.unwrap();
    log.take();

    // The statement event counts the rows decoded.
    let counted = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = std::sync::Arc::clone(&counted);
    let id = engine.listen(move |e| sink.lock().unwrap().push(e.rows));
    let none: Vec<User> = engine
        .fetch_all_as(select(columns_of::<User>()).filter(User::name.eq("nobody")))
        .await
        .unwrap();
    assert!(none.is_empty());
    let _: Vec<User> = engine
        .fetch_all_as(select(columns_of::<User>()).limit(7))
        .await
        .unwrap();
    engine.unlisten(id);
    assert_eq!(*counted.lock().unwrap(), [Some(0), Some(7)]);

    // One row: by key, or none.
    let one: User = engine
        .fetch_one_as(select(columns_of::<User>()).filter(User::name.eq("u0042")))
        .await
        .unwrap();
    assert_eq!(one.name, "u0042");
    let missing: Option<User> = engine
        .fetch_optional_as(select(columns_of::<User>()).filter(User::name.eq("nobody")))
        .await
        .unwrap();
    assert!(missing.is_none());
    let err = engine
        .fetch_one_as::<User>(select(columns_of::<User>()).filter(User::name.eq("nobody")))
        .await
        .unwrap_err();
    assert!(matches!(err, orm::Error::RowNotFound), "{err}");
    engine.close().await;
}

async fn a_row_that_does_not_decode_ends_the_call_and_the_connection_goes_on(db: &TestDb) {
    let (engine, _log) = setup(db).await;
    seed(&engine, 50, 0).await;
    let mut conn = engine.connect().await.unwrap();
    // `email` is NULL for most users: read as a String, the first NULL fails.
    let err = conn
        .fetch_all_as::<(String, String)>(
            select((User::name, User::email)).order_by(User::id.asc()),
        )
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("email"), "{message}");
    // The rest of the result was not left on the connection: it answers the next query.
    let n: (i64,) = conn
        .fetch_one_as(text("SELECT COUNT(*) FROM users"))
        .await
        .unwrap();
    assert_eq!(n.0, 50);
    // Inside a transaction too, and the transaction still commits.
    let mut tx = conn.begin().await.unwrap();
    assert!(
        tx.fetch_all_as::<(String, String)>(select((User::name, User::email)))
            .await
            .is_err()
    );
    tx.execute(insert(User::table()).values(User::name.set("late".to_owned())))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let names: Vec<(String,)> = engine
        .fetch_all_as(select(User::name).filter(User::name.eq("late")))
        .await
        .unwrap();
    assert_eq!(names.len(), 1);
    engine.close().await;
}

async fn a_cancelled_typed_fetch_leaves_the_engine_usable(db: &TestDb) {
    let (engine, _log) = setup(db).await;
    seed(&engine, 2000, 0).await;
    // A cross join of 4 million rows, cancelled long before its end.
    let big = text("SELECT a.id, b.name FROM users a CROSS JOIN users b");
    let cancelled = tokio::time::timeout(
        Duration::from_millis(30),
        engine.fetch_all_as::<(i64, String)>(big),
    )
    .await;
    assert!(
        cancelled.is_err(),
        "the fetch ended within 30 ms: {:?}",
        cancelled.map(|r| r.map(|v| v.len()))
    );
    let n: (i64,) = engine
        .fetch_one_as(text("SELECT COUNT(*) FROM users"))
        .await
        .unwrap();
    assert_eq!(n.0, 2000);
    engine.close().await;
}

async fn a_session_query_with_a_row_that_does_not_decode_fails_and_the_session_goes_on(
    db: &TestDb,
) {
    let engine = db.engine().await;
    engine
        .execute_script(&ddl(
            db,
            "CREATE TABLE loose_labels (id INTEGER PRIMARY KEY, label TEXT)",
            "CREATE TABLE loose_labels (id BIGINT PRIMARY KEY, label TEXT)",
            "CREATE TABLE loose_labels (id BIGINT PRIMARY KEY, label TEXT)",
        ))
        .await
        .unwrap();
    // 300 rows, the 200th without a label.
    let values: Vec<String> = (1..=300)
        .map(|i| match i {
            200 => format!("({i}, NULL)"),
            _ => format!("({i}, 'l{i}')"),
        })
        .collect();
    engine
        .execute_script(&format!(
            "INSERT INTO loose_labels (id, label) VALUES {}",
            values.join(", ")
        ))
        .await
        .unwrap();

    let mut session = Session::new(&engine);
    let first = session.get::<Labeled>(1i64).await.unwrap().unwrap();
    let err = session
        .query::<Labeled>()
        .order_by(Labeled::id.asc())
        .all()
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("label"), "{message}");
    // The session goes on in the same transaction: the rows that decode load, the
    // object loaded before is the same handle.
    let good = session
        .query::<Labeled>()
        .filter(Labeled::label.is_not_null())
        .order_by(Labeled::id.asc())
        .all()
        .await
        .unwrap();
    assert_eq!(good.len(), 299);
    assert!(Obj::ptr_eq(&good[0], &first));
    assert_eq!(good[298].read().unwrap().label, "l300");
    first.write().unwrap().label = "changed".into();
    session.commit().await.unwrap();
    let (label,): (String,) = engine
        .fetch_one_as(text("SELECT label FROM loose_labels WHERE id = 1"))
        .await
        .unwrap();
    assert_eq!(label, "changed");
    engine
        .execute_script("DROP TABLE loose_labels")
        .await
        .unwrap();
    engine.close().await;
}
