//! Hooks a model implements itself (`#[orm(events)]` + `ModelEvents`): they run at the
//! mapper events, before the session's closures, and what `before_*` sets is written.

use std::sync::{Arc, Mutex};

use orm::prelude::*;
use orm::{ModelEvents, text};

use crate::backend_tests;
use crate::support::TestDb;

backend_tests!(model_hooks_run_first_and_their_changes_are_written);

#[derive(Model, Debug, Clone)]
#[orm(table = "ev_docs", events)]
pub struct Doc {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(max_length = 50)]
    pub title: String,
    #[orm(max_length = 60)]
    pub slug: String,
    pub edits: i64,
}

thread_local! {
    static SEEN: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn note(s: String) {
    SEEN.with(|v| v.borrow_mut().push(s));
}

impl ModelEvents for Doc {
    fn before_insert(&mut self) -> orm::Result<()> {
        if self.title.is_empty() {
            return Err(orm::Error::InvalidRequest {
                message: "Doc needs a title".into(),
            });
        }
        self.slug = self.title.to_lowercase().replace(' ', "-");
        note(format!("hook before_insert {}", self.title));
        Ok(())
    }
    fn after_insert(&self) {
        note(format!("hook after_insert {}", self.id));
    }
    fn before_update(&mut self) -> orm::Result<()> {
        self.edits += 1;
        self.slug = self.title.to_lowercase().replace(' ', "-");
        note("hook before_update".into());
        Ok(())
    }
    fn on_load(&self) {
        note(format!("hook load {}", self.title));
    }
}

async fn model_hooks_run_first_and_their_changes_are_written(db: &TestDb) {
    SEEN.with(|v| v.borrow_mut().clear());
    let engine = db.engine().await;
    MetaData::new()
        .with::<Doc>()
        .create_all(&engine)
        .await
        .unwrap();
    let mut session = Session::new(&engine);
    let closures = Arc::new(Mutex::new(0));
    let c = Arc::clone(&closures);
    session.on_model::<Doc>().before_insert(move |d| {
        note(format!("closure before_insert {}", d.slug));
        *c.lock().unwrap() += 1;
        Ok(())
    });
    let doc = session.add(Doc::new("Hello World", String::new(), 0));
    session.commit().await.unwrap();
    let id = doc.read().unwrap().id;
    let row = |engine: orm::Engine| async move {
        let r = engine
            .fetch_one(text("SELECT slug, edits FROM ev_docs WHERE id = :id").bind("id", id))
            .await
            .unwrap();
        (r.get::<String>(0).unwrap(), r.get::<i64>(1).unwrap())
    };
    assert_eq!(row(engine.clone()).await, ("hello-world".to_owned(), 0));
    doc.write().unwrap().title = "Hello Rust".into();
    session.commit().await.unwrap();
    assert_eq!(row(engine.clone()).await, ("hello-rust".to_owned(), 1));

    // A hook's error fails the flush: nothing written, the session rolls back.
    session.add(Doc::new("", String::new(), 0));
    let err = session.commit().await.unwrap_err().to_string();
    assert!(err.contains("Doc needs a title"), "{err}");
    session.rollback().await.unwrap();
    let n: i64 = engine
        .fetch_one(text("SELECT COUNT(*) FROM ev_docs"))
        .await
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(n, 1);

    let mut other = Session::new(&engine);
    other.get::<Doc>(id).await.unwrap().unwrap();
    let seen = SEEN.with(|v| v.borrow().clone());
    assert_eq!(
        seen,
        [
            "hook before_insert Hello World".to_owned(),
            "closure before_insert hello-world".to_owned(),
            format!("hook after_insert {id}"),
            "hook before_update".to_owned(),
            "hook load Hello Rust".to_owned(),
        ]
    );
    assert_eq!(*closures.lock().unwrap(), 1);
}
