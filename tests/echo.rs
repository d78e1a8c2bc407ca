//! `echo`: every statement, its binds, its duration and its row count through `tracing`.

use std::io::Write;
use std::sync::{Arc, Mutex};

use orm::text;

use crate::backend_tests;
use crate::support::TestDb;

backend_tests!(
    echo_logs_statements_with_binds_and_timing,
    no_echo_logs_nothing
);

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// Runs `f` with a subscriber that records the `orm` events of this thread.
async fn capture(f: impl AsyncFnOnce()) -> String {
    let out = Captured::default();
    let writer = out.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("orm=info")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    f().await;
    out.text()
}

async fn echo_logs_statements_with_binds_and_timing(db: &TestDb) {
    let engine = db.builder().echo(true).connect().await.unwrap();
    let logged = capture(async || {
        engine
            .execute(text("CREATE TABLE echoed (id INTEGER, name VARCHAR(10))"))
            .await
            .unwrap();
        engine
            .execute(
                text("INSERT INTO echoed VALUES (:id, :name)")
                    .bind("id", 7i64)
                    .bind("name", "ed"),
            )
            .await
            .unwrap();
        let mut tx = engine.begin().await.unwrap();
        tx.fetch_all(text("SELECT name FROM echoed WHERE id = :id").bind("id", 7i64))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let _ = engine
            .execute(text("SELECT * FROM no_such_table"))
            .await
            .unwrap_err();
    })
    .await;
    let placeholder = if db.dialect() == orm::Dialect::Postgres {
        "$1"
    } else {
        "?"
    };
    let select = format!("SELECT name FROM echoed WHERE id = {placeholder}");
    assert!(logged.contains(&select), "{logged}");
    assert!(logged.contains(r#"binds=[I64(7), Text("ed")]"#), "{logged}");
    assert!(logged.contains("binds=[I64(7)]"), "{logged}");
    assert!(logged.contains("elapsed="), "{logged}");
    assert!(logged.contains("rows=1"), "{logged}");
    assert!(
        logged.contains("BEGIN") && logged.contains("COMMIT"),
        "{logged}"
    );
    // A failing statement is logged at WARN with its error.
    let failed = logged
        .lines()
        .find(|l| l.contains("no_such_table"))
        .expect("the failed statement is logged");
    assert!(
        failed.contains("WARN") && failed.contains("error="),
        "{failed}"
    );
}

async fn no_echo_logs_nothing(db: &TestDb) {
    let engine = db.engine().await;
    let logged = capture(async || {
        engine.execute(text("SELECT 1")).await.unwrap();
    })
    .await;
    assert!(!logged.contains("SELECT 1"), "{logged}");
}
