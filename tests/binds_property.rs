//! Property: arbitrary strings (quotes, backslashes, comment markers, placeholders,
//! `'; DROP TABLE`, any NUL-free unicode) are data. They round-trip unchanged through
//! every database and never alter the statement's text.

use std::sync::{Arc, OnceLock};

use orm::schema::{Column as Col, SqlType, Table};
use orm::sql::{Column, HasTable};
use orm::{insert, select, text};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::backend_tests;
use crate::support::TestDb;

struct Note;

impl HasTable for Note {
    const TABLE_NAME: &'static str = "notes";
    fn table() -> Arc<Table> {
        static T: OnceLock<Arc<Table>> = OnceLock::new();
        Arc::clone(T.get_or_init(|| {
            Arc::new(
                Table::new("notes")
                    .column(Col::new("id", SqlType::BigInt).primary_key())
                    .column(Col::new("body", SqlType::Text)),
            )
        }))
    }
}

#[allow(non_upper_case_globals)] // typed columns are named like fields
impl Note {
    const id: Column<Note, i64> = Column::new("id");
    const body: Column<Note, String> = Column::new("body");
}

fn hostile() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just("'".to_owned()),
        Just("''".to_owned()),
        Just("\"".to_owned()),
        Just("`".to_owned()),
        Just("\\".to_owned()),
        Just("\\'".to_owned()),
        Just("; DROP TABLE notes; --".to_owned()),
        Just("/*".to_owned()),
        Just("*/".to_owned()),
        Just("$1".to_owned()),
        Just("?".to_owned()),
        Just(":name".to_owned()),
        Just("%_".to_owned()),
        Just("\n\t\r ".to_owned()),
        Just("żółć 日本 🦀 \u{202e}".to_owned()),
        any::<String>(),
    ];
    prop::collection::vec(pieces, 0..6).prop_map(|v| v.concat().replace('\0', ""))
}

backend_tests!(arbitrary_strings_are_data_never_sql);

async fn arbitrary_strings_are_data_never_sql(db: &TestDb) {
    let engine = db.engine().await;
    engine
        .execute(text(
            "CREATE TABLE notes (id BIGINT PRIMARY KEY, body TEXT)",
        ))
        .await
        .unwrap();
    let dialect = engine.dialect();
    let insert_sql = insert(Note::table())
        .values((Note::id.set(0), Note::body.set("x")))
        .compile(dialect)
        .unwrap();
    let select_sql = select(Note::body)
        .filter(Note::body.eq("x"))
        .compile(dialect)
        .unwrap();
    let handle = tokio::runtime::Handle::current();
    let next_id = std::sync::atomic::AtomicI64::new(1);
    tokio::task::block_in_place(|| {
        let mut runner = TestRunner::new(Config {
            cases: 96,
            failure_persistence: None,
            ..Config::default()
        });
        runner
            .run(&hostile(), |s| {
                let id = next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let ins =
                    insert(Note::table()).values((Note::id.set(id), Note::body.set(s.as_str())));
                let c = ins.compile(dialect).unwrap();
                prop_assert_eq!(c.sql(), insert_sql.sql());
                let sel = select(Note::body).filter(Note::body.eq(s.as_str()));
                let sc = sel.compile(dialect).unwrap();
                prop_assert_eq!(sc.sql(), select_sql.sql());
                handle.block_on(async {
                    engine.execute(ins).await.unwrap();
                    let back: String = engine
                        .fetch_one(select(Note::body).filter(Note::id.eq(id)))
                        .await
                        .unwrap()
                        .get(0)
                        .unwrap();
                    assert_eq!(back, s);
                    let echoed: String = engine
                        .fetch_one(text("SELECT :v AS v").bind("v", s.as_str()))
                        .await
                        .unwrap()
                        .get("v")
                        .unwrap();
                    assert_eq!(echoed, s);
                });
                Ok(())
            })
            .unwrap();
    });
    // Nothing was dropped or injected: the table is whole.
    let n: i64 = engine
        .fetch_one(text("SELECT COUNT(*) FROM notes"))
        .await
        .unwrap()
        .get(0)
        .unwrap();
    assert!(n >= 96, "{n}");
}
