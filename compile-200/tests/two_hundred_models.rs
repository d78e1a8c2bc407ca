//! The 200 generated models of `src/lib.rs` compile without `#![recursion_limit]` (this
//! test builds at all only if they do), and they work: all 200 tables are created, and a
//! session links, commits, reloads and cascade-deletes a chain of 20 of them.

use orm::prelude::*;
use orm::{Engine, create_engine, text};
use orm_compile_200::*;

#[test]
fn models_at_both_ends_of_the_chain_are_send_sync_and_drop_without_recursion() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<M000>();
    send_sync::<M196>();
    send_sync::<Obj<M098>>();
    // Values dropped here: drop-check does not walk from one model into the next.
    let first = M000::new("first");
    let last = M196::new("last", 0);
    assert_eq!((first.name.as_str(), last.prev_id), ("first", 0));
    assert_eq!(M196::prev.info().target_model, "M195");
    assert_eq!(M000::rights0.info().target_model, "M196");
}

async fn scalar(engine: &Engine, sql: String) -> i64 {
    engine
        .fetch_one(text(sql))
        .await
        .unwrap()
        .get::<i64>(0)
        .unwrap()
}

/// The id and foreign key of an object, read in memory (`prev_id` is `i64` on even chain
/// models and `Option<i64>` on odd ones).
macro_rules! keys {
    ($obj:expr) => {{
        let o = $obj.read().unwrap();
        (o.id, Option::<i64>::from(o.prev_id))
    }};
}

#[tokio::test]
async fn all_200_tables_are_created_and_a_chain_of_20_is_committed_reloaded_and_deleted() {
    let engine = create_engine("sqlite::memory:").await.unwrap();
    let metadata = metadata();
    metadata.configure().unwrap();
    metadata.create_all(&engine).await.unwrap();
    let tables = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'";
    assert_eq!(scalar(&engine, tables.into()).await, 200);

    // A chain M000 <- M001 <- ... <- M019, linked only through relationships: from the
    // parent's side (`next.push`) for odd models, from the child's (`prev.set`) for even
    // ones, whose NOT NULL `prev_id` starts as a placeholder 0 that the flush replaces.
    let mut session = Session::new(&engine);
    let m0 = session.add(M000::new("m0"));
    let m1 = session.add(M001::new("m1"));
    m0.write().unwrap().next.push(&m1);
    let m2 = session.add(M002::new("m2", 0));
    m2.write().unwrap().prev.set(&m1);
    let m3 = session.add(M003::new("m3"));
    m2.write().unwrap().next.push(&m3);
    let m4 = session.add(M004::new("m4", 0));
    m4.write().unwrap().prev.set(&m3);
    let m5 = session.add(M005::new("m5"));
    m4.write().unwrap().next.push(&m5);
    let m6 = session.add(M006::new("m6", 0));
    m6.write().unwrap().prev.set(&m5);
    let m7 = session.add(M007::new("m7"));
    m6.write().unwrap().next.push(&m7);
    let m8 = session.add(M008::new("m8", 0));
    m8.write().unwrap().prev.set(&m7);
    let m9 = session.add(M009::new("m9"));
    m8.write().unwrap().next.push(&m9);
    let m10 = session.add(M010::new("m10", 0));
    m10.write().unwrap().prev.set(&m9);
    let m11 = session.add(M011::new("m11"));
    m10.write().unwrap().next.push(&m11);
    let m12 = session.add(M012::new("m12", 0));
    m12.write().unwrap().prev.set(&m11);
    let m13 = session.add(M013::new("m13"));
    m12.write().unwrap().next.push(&m13);
    let m14 = session.add(M014::new("m14", 0));
    m14.write().unwrap().prev.set(&m13);
    let m15 = session.add(M015::new("m15"));
    m14.write().unwrap().next.push(&m15);
    let m16 = session.add(M016::new("m16", 0));
    m16.write().unwrap().prev.set(&m15);
    let m17 = session.add(M017::new("m17"));
    m16.write().unwrap().next.push(&m17);
    let m18 = session.add(M018::new("m18", 0));
    m18.write().unwrap().prev.set(&m17);
    let m19 = session.add(M019::new("m19"));
    m18.write().unwrap().next.push(&m19);
    // A many-to-many pair (through L1) and a self-referential child of M000.
    m5.write().unwrap().rights1.push(&m15);
    let m0_child = session.add(M000::new("m0 child"));
    m0_child.write().unwrap().parent.set(&m0);
    session.commit().await.unwrap();

    let keys = [
        ((m0.read().unwrap().id, None), "m000"),
        (keys!(m1), "m001"),
        (keys!(m2), "m002"),
        (keys!(m3), "m003"),
        (keys!(m4), "m004"),
        (keys!(m5), "m005"),
        (keys!(m6), "m006"),
        (keys!(m7), "m007"),
        (keys!(m8), "m008"),
        (keys!(m9), "m009"),
        (keys!(m10), "m010"),
        (keys!(m11), "m011"),
        (keys!(m12), "m012"),
        (keys!(m13), "m013"),
        (keys!(m14), "m014"),
        (keys!(m15), "m015"),
        (keys!(m16), "m016"),
        (keys!(m17), "m017"),
        (keys!(m18), "m018"),
        (keys!(m19), "m019"),
    ];
    for (i, ((id, prev_id), table)) in keys.iter().enumerate() {
        assert!(*id > 0, "{table}: no key fetched back");
        let in_db = format!("SELECT COUNT(*) FROM {table} WHERE id = {id}");
        assert_eq!(scalar(&engine, in_db).await, 1, "{table} row {id}");
        if i == 0 {
            continue;
        }
        // Every foreign key is the key of the object before it, in memory and in the row.
        let ((prev, _), _) = keys[i - 1];
        assert_eq!(*prev_id, Some(prev), "{table}.prev_id in memory");
        let fk = format!("SELECT prev_id FROM {table} WHERE id = {id}");
        assert_eq!(
            scalar(&engine, fk).await,
            prev,
            "{table}.prev_id in the row"
        );
    }
    // back_populates filled the side that was not written.
    assert!(Obj::ptr_eq(
        m1.read().unwrap().prev.get().unwrap().unwrap(),
        &m0
    ));
    assert!(Obj::ptr_eq(&m1.read().unwrap().next.get().unwrap()[0], &m2));
    assert!(Obj::ptr_eq(
        &m15.read().unwrap().lefts1.get().unwrap()[0],
        &m5
    ));
    assert!(Obj::ptr_eq(
        &m0.read().unwrap().children.get().unwrap()[0],
        &m0_child
    ));
    let (m0_id, m5_id, m15_id) = (keys[0].0.0, keys[5].0.0, keys[15].0.0);
    let m0_child_id = m0_child.read().unwrap().id;
    let link = format!("SELECT COUNT(*) FROM l1 WHERE left_id = {m5_id} AND right_id = {m15_id}");
    assert_eq!(scalar(&engine, link).await, 1);
    let parent = format!("SELECT parent_id FROM m000 WHERE id = {m0_child_id}");
    assert_eq!(scalar(&engine, parent).await, m0_id);
    drop((m0, m1, m2, m3, m4, m5, m6, m7, m8, m9));
    drop((m10, m11, m12, m13, m14, m15, m16, m17, m18, m19, m0_child));
    drop(session);

    // A new session reloads relationships through the models' erased tables.
    let mut session = Session::new(&engine);
    let last = session.get::<M019>(keys[19].0.0).await.unwrap().unwrap();
    session.load(&last, M019::prev).await.unwrap();
    let m18 = last.read().unwrap().prev.get().unwrap().unwrap().clone();
    assert_eq!(m18.read().unwrap().id, keys[18].0.0);
    let m5 = session.get::<M005>(m5_id).await.unwrap().unwrap();
    session.load(&m5, M005::rights1).await.unwrap();
    assert_eq!(
        m5.read().unwrap().rights1.get().unwrap()[0]
            .read()
            .unwrap()
            .id,
        m15_id
    );
    // Deleting the head cascades down the 19 chain models below it (delete-orphan), which
    // this session never loaded; its self-referential child has no delete cascade: it
    // stays, unlinked.
    let head = session.get::<M000>(m0_id).await.unwrap().unwrap();
    session.delete(&head).unwrap();
    session.commit().await.unwrap();
    for ((id, _), table) in &keys {
        let gone = format!("SELECT COUNT(*) FROM {table} WHERE id = {id}");
        assert_eq!(scalar(&engine, gone).await, 0, "{table} row {id} survived");
    }
    assert_eq!(scalar(&engine, "SELECT COUNT(*) FROM l1".into()).await, 0);
    let orphan =
        format!("SELECT COUNT(*) FROM m000 WHERE id = {m0_child_id} AND parent_id IS NULL");
    assert_eq!(scalar(&engine, orphan).await, 1);
    assert_eq!(scalar(&engine, "SELECT COUNT(*) FROM m000".into()).await, 1);
}
