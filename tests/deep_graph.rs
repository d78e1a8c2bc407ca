//! A chain of 24 models, each the parent of the next, with back_populates pairs: deep
//! relationship graphs compile without raising `recursion_limit` (the auto traits of
//! `Related<T>` would otherwise recurse through the whole graph).

#![allow(dead_code)] // the models only have to compile and describe themselves

use orm::prelude::*;
use orm::relationship::RelationshipKind;

#[derive(Model, Debug, Clone)]
pub struct Link0 {
    #[orm(primary_key)]
    pub id: i64,
    #[relationship(back_populates = "parent")]
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
    #[relationship(back_populates = "parent")]
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
    #[relationship(back_populates = "parent")]
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
    #[relationship(back_populates = "parent")]
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
    #[relationship(back_populates = "parent")]
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
    #[relationship(back_populates = "parent")]
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
    #[relationship(back_populates = "parent")]
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
    #[relationship(back_populates = "parent")]
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
    #[relationship(back_populates = "parent")]
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
    #[relationship(back_populates = "parent")]
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
    #[relationship(back_populates = "parent")]
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
    #[relationship(back_populates = "parent")]
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
    #[relationship(back_populates = "parent")]
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
    #[relationship(back_populates = "parent")]
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
    #[relationship(back_populates = "parent")]
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
    #[relationship(back_populates = "parent")]
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
    #[relationship(back_populates = "parent")]
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
    #[relationship(back_populates = "parent")]
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
    #[relationship(back_populates = "parent")]
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
    #[relationship(back_populates = "parent")]
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
    #[relationship(back_populates = "parent")]
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
    #[relationship(back_populates = "parent")]
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
    #[relationship(back_populates = "parent")]
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
fn a_deep_graph_compiles_and_is_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Link0>();
    send_sync::<Link23>();
    assert_eq!(Link0::children.info().kind, RelationshipKind::OneToMany);
    assert_eq!(Link23::parent.info().kind, RelationshipKind::ManyToOne);
    assert_eq!(Link23::parent.info().target_model, "Link22");
}
