//! A chain of 24 models, each the parent of the next, with back_populates pairs. It
//! compiles without `recursion_limit` (relationships hold handles; `compile-200/` proves it
//! for 200 models), and the unit of work follows it on every backend: a flush inserts the
//! chain parents first whatever the order the objects were added in, copying each new key
//! into the next foreign key, and deleting the head cascades down all 23 unloaded levels,
//! children first.

use orm::prelude::*;
use orm::relationship::RelationshipKind;
use orm::text;

use crate::backend_tests;
use crate::support::{Statements, TestDb};

backend_tests!(chain_of_24_is_inserted_parents_first_and_deleted_children_first);

#[derive(Model, Debug, Clone)]
pub struct Link0 {
    #[orm(primary_key)]
    pub id: i64,
    #[relationship(back_populates = "parent", cascade = "all, delete-orphan")]
    pub children: Related<Vec<Link1>>,
}

#[derive(Model, Debug, Clone)]
pub struct Link1 {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(foreign_key = "link0.id")]
    pub parent_id: i64,
    #[relationship(back_populates = "children")]
    pub parent: Related<Link0>,
    #[relationship(back_populates = "parent", cascade = "all, delete-orphan")]
    pub children: Related<Vec<Link2>>,
}

#[derive(Model, Debug, Clone)]
pub struct Link2 {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(foreign_key = "link1.id")]
    pub parent_id: i64,
    #[relationship(back_populates = "children")]
    pub parent: Related<Link1>,
    #[relationship(back_populates = "parent", cascade = "all, delete-orphan")]
    pub children: Related<Vec<Link3>>,
}

#[derive(Model, Debug, Clone)]
pub struct Link3 {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(foreign_key = "link2.id")]
    pub parent_id: i64,
    #[relationship(back_populates = "children")]
    pub parent: Related<Link2>,
    #[relationship(back_populates = "parent", cascade = "all, delete-orphan")]
    pub children: Related<Vec<Link4>>,
}

#[derive(Model, Debug, Clone)]
pub struct Link4 {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(foreign_key = "link3.id")]
    pub parent_id: i64,
    #[relationship(back_populates = "children")]
    pub parent: Related<Link3>,
    #[relationship(back_populates = "parent", cascade = "all, delete-orphan")]
    pub children: Related<Vec<Link5>>,
}

#[derive(Model, Debug, Clone)]
pub struct Link5 {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(foreign_key = "link4.id")]
    pub parent_id: i64,
    #[relationship(back_populates = "children")]
    pub parent: Related<Link4>,
    #[relationship(back_populates = "parent", cascade = "all, delete-orphan")]
    pub children: Related<Vec<Link6>>,
}

#[derive(Model, Debug, Clone)]
pub struct Link6 {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(foreign_key = "link5.id")]
    pub parent_id: i64,
    #[relationship(back_populates = "children")]
    pub parent: Related<Link5>,
    #[relationship(back_populates = "parent", cascade = "all, delete-orphan")]
    pub children: Related<Vec<Link7>>,
}

#[derive(Model, Debug, Clone)]
pub struct Link7 {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(foreign_key = "link6.id")]
    pub parent_id: i64,
    #[relationship(back_populates = "children")]
    pub parent: Related<Link6>,
    #[relationship(back_populates = "parent", cascade = "all, delete-orphan")]
    pub children: Related<Vec<Link8>>,
}

#[derive(Model, Debug, Clone)]
pub struct Link8 {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(foreign_key = "link7.id")]
    pub parent_id: i64,
    #[relationship(back_populates = "children")]
    pub parent: Related<Link7>,
    #[relationship(back_populates = "parent", cascade = "all, delete-orphan")]
    pub children: Related<Vec<Link9>>,
}

#[derive(Model, Debug, Clone)]
pub struct Link9 {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(foreign_key = "link8.id")]
    pub parent_id: i64,
    #[relationship(back_populates = "children")]
    pub parent: Related<Link8>,
    #[relationship(back_populates = "parent", cascade = "all, delete-orphan")]
    pub children: Related<Vec<Link10>>,
}

#[derive(Model, Debug, Clone)]
pub struct Link10 {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(foreign_key = "link9.id")]
    pub parent_id: i64,
    #[relationship(back_populates = "children")]
    pub parent: Related<Link9>,
    #[relationship(back_populates = "parent", cascade = "all, delete-orphan")]
    pub children: Related<Vec<Link11>>,
}

#[derive(Model, Debug, Clone)]
pub struct Link11 {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(foreign_key = "link10.id")]
    pub parent_id: i64,
    #[relationship(back_populates = "children")]
    pub parent: Related<Link10>,
    #[relationship(back_populates = "parent", cascade = "all, delete-orphan")]
    pub children: Related<Vec<Link12>>,
}

#[derive(Model, Debug, Clone)]
pub struct Link12 {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(foreign_key = "link11.id")]
    pub parent_id: i64,
    #[relationship(back_populates = "children")]
    pub parent: Related<Link11>,
    #[relationship(back_populates = "parent", cascade = "all, delete-orphan")]
    pub children: Related<Vec<Link13>>,
}

#[derive(Model, Debug, Clone)]
pub struct Link13 {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(foreign_key = "link12.id")]
    pub parent_id: i64,
    #[relationship(back_populates = "children")]
    pub parent: Related<Link12>,
    #[relationship(back_populates = "parent", cascade = "all, delete-orphan")]
    pub children: Related<Vec<Link14>>,
}

#[derive(Model, Debug, Clone)]
pub struct Link14 {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(foreign_key = "link13.id")]
    pub parent_id: i64,
    #[relationship(back_populates = "children")]
    pub parent: Related<Link13>,
    #[relationship(back_populates = "parent", cascade = "all, delete-orphan")]
    pub children: Related<Vec<Link15>>,
}

#[derive(Model, Debug, Clone)]
pub struct Link15 {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(foreign_key = "link14.id")]
    pub parent_id: i64,
    #[relationship(back_populates = "children")]
    pub parent: Related<Link14>,
    #[relationship(back_populates = "parent", cascade = "all, delete-orphan")]
    pub children: Related<Vec<Link16>>,
}

#[derive(Model, Debug, Clone)]
pub struct Link16 {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(foreign_key = "link15.id")]
    pub parent_id: i64,
    #[relationship(back_populates = "children")]
    pub parent: Related<Link15>,
    #[relationship(back_populates = "parent", cascade = "all, delete-orphan")]
    pub children: Related<Vec<Link17>>,
}

#[derive(Model, Debug, Clone)]
pub struct Link17 {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(foreign_key = "link16.id")]
    pub parent_id: i64,
    #[relationship(back_populates = "children")]
    pub parent: Related<Link16>,
    #[relationship(back_populates = "parent", cascade = "all, delete-orphan")]
    pub children: Related<Vec<Link18>>,
}

#[derive(Model, Debug, Clone)]
pub struct Link18 {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(foreign_key = "link17.id")]
    pub parent_id: i64,
    #[relationship(back_populates = "children")]
    pub parent: Related<Link17>,
    #[relationship(back_populates = "parent", cascade = "all, delete-orphan")]
    pub children: Related<Vec<Link19>>,
}

#[derive(Model, Debug, Clone)]
pub struct Link19 {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(foreign_key = "link18.id")]
    pub parent_id: i64,
    #[relationship(back_populates = "children")]
    pub parent: Related<Link18>,
    #[relationship(back_populates = "parent", cascade = "all, delete-orphan")]
    pub children: Related<Vec<Link20>>,
}

#[derive(Model, Debug, Clone)]
pub struct Link20 {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(foreign_key = "link19.id")]
    pub parent_id: i64,
    #[relationship(back_populates = "children")]
    pub parent: Related<Link19>,
    #[relationship(back_populates = "parent", cascade = "all, delete-orphan")]
    pub children: Related<Vec<Link21>>,
}

#[derive(Model, Debug, Clone)]
pub struct Link21 {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(foreign_key = "link20.id")]
    pub parent_id: i64,
    #[relationship(back_populates = "children")]
    pub parent: Related<Link20>,
    #[relationship(back_populates = "parent", cascade = "all, delete-orphan")]
    pub children: Related<Vec<Link22>>,
}

#[derive(Model, Debug, Clone)]
pub struct Link22 {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(foreign_key = "link21.id")]
    pub parent_id: i64,
    #[relationship(back_populates = "children")]
    pub parent: Related<Link21>,
    #[relationship(back_populates = "parent", cascade = "all, delete-orphan")]
    pub children: Related<Vec<Link23>>,
}

#[derive(Model, Debug, Clone)]
pub struct Link23 {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(foreign_key = "link22.id")]
    pub parent_id: i64,
    #[relationship(back_populates = "children")]
    pub parent: Related<Link22>,
}

#[test]
fn related_fields_of_a_deep_graph_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Link0>();
    send_sync::<Link23>();
    send_sync::<Related<Vec<Link1>>>();
    assert_eq!(Link0::children.info().kind, RelationshipKind::OneToMany);
    assert_eq!(Link23::parent.info().kind, RelationshipKind::ManyToOne);
    assert_eq!(Link23::parent.info().target_model, "Link22");
}

/// The table each INSERT or DELETE statement of `statements` writes, in order.
fn tables_written(statements: &[String], verb: &str) -> Vec<String> {
    statements
        .iter()
        .filter_map(|s| s.strip_prefix(verb))
        .map(|rest| {
            let name = rest.split_whitespace().next().unwrap_or_default();
            name.trim_matches(|c| c == '"' || c == '`').to_owned()
        })
        .collect()
}

/// `(id, parent_id)` of objects of different models.
macro_rules! keys {
    ($($obj:ident),*) => {
        [$({ let o = $obj.read().unwrap(); (o.id, o.parent_id) }),*]
    };
}

async fn chain_of_24_is_inserted_parents_first_and_deleted_children_first(db: &TestDb) {
    let engine = db.engine().await;
    MetaData::new()
        .with::<Link0>()
        .with::<Link1>()
        .with::<Link2>()
        .with::<Link3>()
        .with::<Link4>()
        .with::<Link5>()
        .with::<Link6>()
        .with::<Link7>()
        .with::<Link8>()
        .with::<Link9>()
        .with::<Link10>()
        .with::<Link11>()
        .with::<Link12>()
        .with::<Link13>()
        .with::<Link14>()
        .with::<Link15>()
        .with::<Link16>()
        .with::<Link17>()
        .with::<Link18>()
        .with::<Link19>()
        .with::<Link20>()
        .with::<Link21>()
        .with::<Link22>()
        .with::<Link23>()
        .create_all(&engine)
        .await
        .unwrap();
    let log = Statements::record(&engine);
    let mut session = Session::new(&engine);
    // Added leaf first and linked from the child's side only; `parent_id` starts as a
    // placeholder 0 that the flush replaces with the parent's new key.
    let l23 = session.add(Link23::new(0));
    let l22 = session.add(Link22::new(0));
    l23.write().unwrap().parent.set(&l22);
    let l21 = session.add(Link21::new(0));
    l22.write().unwrap().parent.set(&l21);
    let l20 = session.add(Link20::new(0));
    l21.write().unwrap().parent.set(&l20);
    let l19 = session.add(Link19::new(0));
    l20.write().unwrap().parent.set(&l19);
    let l18 = session.add(Link18::new(0));
    l19.write().unwrap().parent.set(&l18);
    let l17 = session.add(Link17::new(0));
    l18.write().unwrap().parent.set(&l17);
    let l16 = session.add(Link16::new(0));
    l17.write().unwrap().parent.set(&l16);
    let l15 = session.add(Link15::new(0));
    l16.write().unwrap().parent.set(&l15);
    let l14 = session.add(Link14::new(0));
    l15.write().unwrap().parent.set(&l14);
    let l13 = session.add(Link13::new(0));
    l14.write().unwrap().parent.set(&l13);
    let l12 = session.add(Link12::new(0));
    l13.write().unwrap().parent.set(&l12);
    let l11 = session.add(Link11::new(0));
    l12.write().unwrap().parent.set(&l11);
    let l10 = session.add(Link10::new(0));
    l11.write().unwrap().parent.set(&l10);
    let l9 = session.add(Link9::new(0));
    l10.write().unwrap().parent.set(&l9);
    let l8 = session.add(Link8::new(0));
    l9.write().unwrap().parent.set(&l8);
    let l7 = session.add(Link7::new(0));
    l8.write().unwrap().parent.set(&l7);
    let l6 = session.add(Link6::new(0));
    l7.write().unwrap().parent.set(&l6);
    let l5 = session.add(Link5::new(0));
    l6.write().unwrap().parent.set(&l5);
    let l4 = session.add(Link4::new(0));
    l5.write().unwrap().parent.set(&l4);
    let l3 = session.add(Link3::new(0));
    l4.write().unwrap().parent.set(&l3);
    let l2 = session.add(Link2::new(0));
    l3.write().unwrap().parent.set(&l2);
    let l1 = session.add(Link1::new(0));
    l2.write().unwrap().parent.set(&l1);
    let l0 = session.add(Link0::new());
    l1.write().unwrap().parent.set(&l0);
    session.commit().await.unwrap();

    let expected: Vec<String> = (0..24).map(|i| format!("link{i}")).collect();
    assert_eq!(tables_written(&log.take(), "INSERT INTO "), expected);
    // back_populates filled the parents' collections in memory.
    assert!(Obj::ptr_eq(
        &l0.read().unwrap().children.get().unwrap()[0],
        &l1
    ));
    assert!(Obj::ptr_eq(
        &l22.read().unwrap().children.get().unwrap()[0],
        &l23
    ));
    let head = l0.read().unwrap().id;
    let keys = keys!(
        l1, l2, l3, l4, l5, l6, l7, l8, l9, l10, l11, l12, l13, l14, l15, l16, l17, l18, l19, l20,
        l21, l22, l23
    );
    let mut parent = head;
    for (i, (id, parent_id)) in keys.into_iter().enumerate() {
        let table = &expected[i + 1];
        assert_eq!(parent_id, parent, "{table}.parent_id in memory");
        let row = engine
            .fetch_one(text(format!(
                "SELECT parent_id FROM {table} WHERE id = {id}"
            )))
            .await
            .unwrap();
        assert_eq!(
            row.get::<i64>(0).unwrap(),
            parent,
            "{table}.parent_id in the row"
        );
        parent = id;
    }
    drop((l0, l1, l2, l3, l4, l5, l6, l7, l8, l9, l10, l11));
    drop((l12, l13, l14, l15, l16, l17, l18, l19, l20, l21, l22, l23));
    drop(session);

    // A new session deletes the head: the cascade loads each level and deletes the chain
    // leaf first.
    let mut session = Session::new(&engine);
    let l0 = session.get::<Link0>(head).await.unwrap().unwrap();
    session.delete(&l0).unwrap();
    session.commit().await.unwrap();
    let reversed: Vec<String> = expected.iter().rev().cloned().collect();
    assert_eq!(tables_written(&log.take(), "DELETE FROM "), reversed);
    for table in &expected {
        let row = engine
            .fetch_one(text(format!("SELECT COUNT(*) FROM {table}")))
            .await
            .unwrap();
        assert_eq!(row.get::<i64>(0).unwrap(), 0, "{table} is not empty");
    }
}
