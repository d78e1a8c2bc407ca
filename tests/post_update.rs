//! `post_update`: rows that refer to each other are written by inserting them and then
//! setting the foreign key with a second UPDATE, and deleted after clearing it — the
//! cycle that would otherwise be an error naming the rows (SQLAlchemy's `post_update`).

use orm::prelude::*;
use orm::{Engine, Error, text};

use crate::backend_tests;
use crate::support::{Statements, TestDb};

backend_tests!(
    rows_linked_in_a_ring_are_inserted_then_linked_by_updates,
    a_ring_without_post_update_is_an_error_naming_the_rows,
    two_tables_referring_to_each_other_insert_and_delete_in_one_flush,
);

/// Rows in a ring: each one's `next` is another row of the same table.
#[derive(Model, Debug, Clone)]
#[orm(table = "pu_rings")]
pub struct Ring {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(max_length = 20)]
    pub name: String,
    #[orm(foreign_key = "pu_rings.id")]
    pub next_id: Option<i64>,
    #[relationship(remote_side = "id", post_update)]
    pub next: Related<Option<Ring>>,
}

/// The same ring without `post_update`.
#[derive(Model, Debug, Clone)]
#[orm(table = "pu_chains")]
pub struct Chain {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(max_length = 20)]
    pub name: String,
    #[orm(foreign_key = "pu_chains.id")]
    pub next_id: Option<i64>,
    #[relationship(remote_side = "id")]
    pub next: Related<Option<Chain>>,
}

/// A widget has entries, and one of them is its favourite: two tables with foreign
/// keys to each other (SQLAlchemy's documentation example).
#[derive(Model, Debug, Clone)]
#[orm(table = "pu_widgets")]
pub struct Widget {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(max_length = 20)]
    pub name: String,
    #[orm(foreign_key = "pu_entries.id")]
    pub favorite_entry_id: Option<i64>,
    #[relationship(foreign_keys = "favorite_entry_id", post_update)]
    pub favorite_entry: Related<Option<Entry>>,
    #[relationship(back_populates = "widget", foreign_keys = "widget_id")]
    pub entries: Related<Vec<Entry>>,
}

#[derive(Model, Debug, Clone)]
#[orm(table = "pu_entries")]
pub struct Entry {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(max_length = 20)]
    pub name: String,
    #[orm(foreign_key = "pu_widgets.id")]
    pub widget_id: Option<i64>,
    #[relationship(back_populates = "entries", foreign_keys = "widget_id")]
    pub widget: Related<Option<Widget>>,
}

async fn setup(db: &TestDb) -> (Engine, Statements) {
    let engine = db.engine().await;
    MetaData::new()
        .with::<Ring>()
        .with::<Chain>()
        .with::<Widget>()
        .with::<Entry>()
        .create_all(&engine)
        .await
        .unwrap();
    let log = Statements::record(&engine);
    (engine, log)
}

async fn rows(engine: &Engine, sql: &str) -> Vec<(String, Option<String>)> {
    engine
        .fetch_all(text(sql))
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
        .collect()
}

fn ring(name: &str) -> Ring {
    Ring {
        id: 0,
        name: name.into(),
        next_id: None,
        next: Related::default(),
    }
}

const RING_ROWS: &str = "SELECT a.name, b.name FROM pu_rings a LEFT JOIN pu_rings b ON b.id = a.next_id ORDER BY a.name";

async fn rows_linked_in_a_ring_are_inserted_then_linked_by_updates(db: &TestDb) {
    let (engine, log) = setup(db).await;
    let mut s = Session::new(&engine);
    let [a, b, c] = ["a", "b", "c"].map(|n| s.add(ring(n)));
    a.write().unwrap().next.set(&b);
    b.write().unwrap().next.set(&c);
    c.write().unwrap().next.set(&a);
    log.take();
    s.commit().await.unwrap();
    let sql = log.take();
    // The rows first (in as few INSERTs as the dialect allows), then one UPDATE each.
    let inserts = sql.iter().filter(|q| q.starts_with("INSERT")).count();
    let updates: Vec<&String> = sql.iter().filter(|q| q.starts_with("UPDATE")).collect();
    assert!((1..=3).contains(&inserts), "{sql:#?}");
    assert_eq!(updates.len(), 3, "{sql:#?}");
    assert!(
        updates.iter().all(|u| u.contains("next_id")),
        "{updates:#?}"
    );
    let last_insert = sql.iter().rposition(|q| q.starts_with("INSERT")).unwrap();
    let first_update = sql.iter().position(|q| q.starts_with("UPDATE")).unwrap();
    assert!(last_insert < first_update, "{sql:#?}");
    assert_eq!(
        rows(&engine, RING_ROWS).await,
        [
            ("a".into(), Some("b".into())),
            ("b".into(), Some("c".into())),
            ("c".into(), Some("a".into())),
        ]
    );
    // The objects hold the keys the UPDATEs wrote; nothing is left to flush.
    let (ai, bi) = (a.read().unwrap().id, b.read().unwrap().id);
    assert_eq!(a.read().unwrap().next_id, Some(bi));
    assert_eq!(c.read().unwrap().next_id, Some(ai));
    log.take();
    s.flush().await.unwrap();
    assert!(log.take().is_empty());

    // Re-linking a persistent row is one UPDATE as well.
    a.write().unwrap().next.set(&c);
    log.take();
    s.commit().await.unwrap();
    let sql = log.take();
    assert_eq!(sql.len(), 1, "{sql:#?}");
    assert!(sql[0].starts_with("UPDATE"), "{sql:#?}");
    assert_eq!(
        rows(&engine, RING_ROWS).await[0],
        ("a".into(), Some("c".into()))
    );

    // The whole ring deleted in one flush: the keys are cleared, then the rows go.
    log.take();
    for r in [&a, &b, &c] {
        s.delete(r).unwrap();
    }
    s.commit().await.unwrap();
    let sql = log.take();
    let last_update = sql.iter().rposition(|q| q.starts_with("UPDATE")).unwrap();
    let first_delete = sql.iter().position(|q| q.starts_with("DELETE")).unwrap();
    assert!(last_update < first_delete, "{sql:#?}");
    assert_eq!(sql.iter().filter(|q| q.starts_with("DELETE")).count(), 3);
    assert!(rows(&engine, RING_ROWS).await.is_empty());
}

async fn a_ring_without_post_update_is_an_error_naming_the_rows(db: &TestDb) {
    let (engine, log) = setup(db).await;
    let mut s = Session::new(&engine);
    let [a, b] = ["a", "b"].map(|n| {
        s.add(Chain {
            id: 0,
            name: n.into(),
            next_id: None,
            next: Related::default(),
        })
    });
    a.write().unwrap().next.set(&b);
    b.write().unwrap().next.set(&a);
    log.take();
    let err = s.commit().await.unwrap_err();
    assert!(matches!(err, Error::InvalidRequest { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("cycle") && msg.contains("Chain"), "{msg}");
    assert!(
        log.take().iter().all(|q| !q.starts_with("INSERT")),
        "nothing is written"
    );
}

async fn two_tables_referring_to_each_other_insert_and_delete_in_one_flush(db: &TestDb) {
    let (engine, log) = setup(db).await;
    let mut s = Session::new(&engine);
    let w = s.add(Widget {
        id: 0,
        name: "w".into(),
        favorite_entry_id: None,
        favorite_entry: Related::default(),
        entries: Related::default(),
    });
    let entries = ["e1", "e2"].map(|n| {
        s.add(Entry {
            id: 0,
            name: n.into(),
            widget_id: None,
            widget: Related::default(),
        })
    });
    for e in &entries {
        w.write().unwrap().entries.push(e);
    }
    w.write().unwrap().favorite_entry.set(&entries[1]);
    log.take();
    s.commit().await.unwrap();
    let sql = log.take();
    assert_eq!(
        sql.iter().filter(|q| q.starts_with("UPDATE")).count(),
        1,
        "{sql:#?}"
    );
    let fav = rows(
        &engine,
        "SELECT w.name, e.name FROM pu_widgets w LEFT JOIN pu_entries e ON e.id = w.favorite_entry_id",
    )
    .await;
    assert_eq!(fav, [("w".into(), Some("e2".into()))]);
    let owners = rows(
        &engine,
        "SELECT e.name, w.name FROM pu_entries e LEFT JOIN pu_widgets w ON w.id = e.widget_id ORDER BY e.name",
    )
    .await;
    assert_eq!(
        owners,
        [
            ("e1".into(), Some("w".into())),
            ("e2".into(), Some("w".into()))
        ]
    );
    // Deleting the widget and its entries in one flush: the favourite is cleared first.
    log.take();
    s.delete(&w).unwrap();
    for e in &entries {
        s.delete(e).unwrap();
    }
    s.commit().await.unwrap();
    let sql = log.take();
    let first_delete = sql.iter().position(|q| q.starts_with("DELETE")).unwrap();
    assert!(
        sql[..first_delete]
            .iter()
            .any(|q| q.starts_with("UPDATE") && q.contains("favorite_entry_id")),
        "{sql:#?}"
    );
    let left: i64 = engine
        .fetch_one(text(
            "SELECT (SELECT COUNT(*) FROM pu_widgets) + (SELECT COUNT(*) FROM pu_entries)",
        ))
        .await
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(left, 0);
}
