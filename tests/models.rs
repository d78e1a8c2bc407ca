//! `#[derive(Model)]`: the generated table, typed columns, row decoding, key SQL and
//! relationship metadata, used against every database.

use chrono::NaiveDateTime;
use orm::prelude::*;
use orm::relationship::RelationshipKind;
use orm::schema::MetaData;

use crate::backend_tests;
use crate::support::TestDb;

#[derive(Model, Debug, Clone)]
#[orm(table = "users")]
pub struct User {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(unique, max_length = 50)]
    pub name: String,
    pub email: Option<String>,
    #[orm(server_default = "CURRENT_TIMESTAMP")]
    pub created_at: NaiveDateTime,
    #[relationship(back_populates = "author", cascade = "all, delete-orphan")]
    pub posts: Related<Vec<Post>>,
}

#[derive(Model, Debug, Clone)]
#[orm(table = "posts")]
pub struct Post {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(foreign_key = "users.id", on_delete = "cascade", index)]
    pub user_id: i64,
    pub title: String,
    #[orm(version)]
    pub version: i32,
    #[relationship(back_populates = "posts")]
    pub author: Related<User>,
    #[relationship(secondary = "post_tags")]
    pub tags: Related<Vec<Tag>>,
}

#[derive(Model, Debug, Clone)]
#[orm(table = "tags")]
pub struct Tag {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(unique, max_length = 30)]
    pub label: String,
}

#[derive(Model, Debug, Clone)]
#[orm(table = "post_tags")]
pub struct PostTag {
    #[orm(primary_key, foreign_key = "posts.id", on_delete = "cascade")]
    pub post_id: i64,
    #[orm(primary_key, foreign_key = "tags.id")]
    pub tag_id: i64,
}

#[test]
fn the_generated_table_is_what_the_attributes_say() {
    let t = User::table();
    assert_eq!(t.name, "users");
    assert_eq!(t.primary_key.columns, ["id"]);
    assert_eq!(t.autoincrement_column().unwrap().name, "id");
    let name = t.get_column("name").unwrap();
    assert!(name.unique && !name.nullable);
    assert_eq!(name.sql_type, SqlType::varchar(50));
    assert!(t.get_column("email").unwrap().nullable);
    assert_eq!(
        t.get_column("created_at")
            .unwrap()
            .server_default
            .as_deref(),
        Some("CURRENT_TIMESTAMP")
    );
    assert!(
        t.get_column("posts").is_none(),
        "relationships are not columns"
    );
    let p = Post::table();
    assert_eq!(p.foreign_keys[0].referred_table, "users");
    assert_eq!(
        p.foreign_keys[0].on_delete,
        Some(orm::schema::ReferentialAction::Cascade)
    );
    assert!(p.get_column("user_id").unwrap().index);
    assert_eq!(PostTag::table().primary_key.columns, ["post_id", "tag_id"]);
    assert!(PostTag::table().autoincrement_column().is_none());
}

#[test]
fn relationships_are_described() {
    let posts = User::posts.info();
    assert_eq!(posts.kind, RelationshipKind::OneToMany);
    assert_eq!(posts.back_populates, Some("author"));
    assert!(posts.cascade.delete && posts.cascade.delete_orphan);
    assert_eq!(Post::author.info().kind, RelationshipKind::ManyToOne);
    assert_eq!(Post::tags.info().kind, RelationshipKind::ManyToMany);
    assert_eq!(Post::tags.info().secondary, Some("post_tags"));
    assert_eq!((Post::tags.info().target_table)().name, "tags");
}

#[test]
fn the_constructor_leaves_keys_and_defaults_unset_and_relationships_new() {
    let u = User::new("ed");
    assert_eq!((u.id, u.name.as_str(), u.email.as_deref()), (0, "ed", None));
    // New relationships are empty and writable; a single one that was never set reads
    // as not loaded.
    assert!(u.posts.get().unwrap().is_empty());
    let p = Post::new(1, "hello");
    assert_eq!((p.user_id, p.title.as_str(), p.version), (1, "hello", 0));
    assert!(p.author.is_loaded() && p.tags.is_loaded());
    let err = p.author.get().unwrap_err();
    assert_eq!(
        err.to_string(),
        "relationship `Post.author` is not loaded; load it with a loader option or session.load()"
    );
}

#[test]
fn typed_columns_build_queries() {
    let stmt = select((User::id, User::name))
        .filter(User::name.like("e%"))
        .order_by(User::id.asc());
    assert_eq!(
        stmt.to_string(),
        r#"SELECT "users"."id", "users"."name" FROM "users" WHERE "users"."name" LIKE $1 ORDER BY "users"."id" ASC"#
    );
}

backend_tests!(
    models_create_their_schema_and_round_trip_rows,
    key_sql_inserts_and_updates_a_model
);

async fn models_create_their_schema_and_round_trip_rows(db: &TestDb) {
    let engine = db.engine().await;
    let md = MetaData::new()
        .with::<User>()
        .with::<Post>()
        .with::<Tag>()
        .with::<PostTag>();
    md.create_all(&engine).await.unwrap();
    let done = engine
        .execute(
            insert(User::table()).values((User::name.set("ed"), User::email.set(Some("ed@x")))),
        )
        .await
        .unwrap();
    assert_eq!(done.rows_affected(), 1);
    let id: i64 = engine
        .fetch_one(select(User::id).filter(User::name.eq("ed")))
        .await
        .unwrap()
        .get(0)
        .unwrap();
    engine
        .execute(insert(Post::table()).values((
            Post::user_id.set(id),
            Post::title.set("first"),
            Post::version.set(1),
        )))
        .await
        .unwrap();

    // The key SQL, compiled once per dialect, decodes by position into the struct.
    let sql = User::sql(engine.dialect());
    let stmt = orm::Compiled::new(sql.select_by_key.sql(), User::key_values(&id));
    let row = engine.fetch_one(stmt).await.unwrap();
    let u = User::from_row(&row, 0).unwrap();
    // The same through `Row::decode`, and a tuple from a typed select.
    let again: User = row.decode().unwrap();
    assert_eq!(again.name, u.name);
    let (uid, uname): (i64, String) = engine
        .fetch_one(select((User::id, User::name)))
        .await
        .unwrap()
        .decode()
        .unwrap();
    assert_eq!((uid, uname.as_str()), (id, "ed"));
    assert_eq!(
        (u.id, u.name.as_str(), u.email.as_deref()),
        (id, "ed", Some("ed@x"))
    );
    assert!(
        u.created_at.and_utc().timestamp() > 1_600_000_000,
        "the server default filled it: {}",
        u.created_at
    );
    assert_eq!(u.primary_key(), id);
    assert_eq!(u.values()[1], Value::Text("ed".into()));

    let posts: Vec<Post> = engine
        .fetch_all(orm::Compiled::new(
            Post::sql(engine.dialect()).select_all.sql(),
            vec![],
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| Post::from_row(r, 0).unwrap())
        .collect();
    assert_eq!(posts.len(), 1);
    assert_eq!(
        (posts[0].user_id, posts[0].title.as_str(), posts[0].version),
        (id, "first", 1)
    );

    // ON DELETE CASCADE from the attribute is in the database.
    let del = orm::Compiled::new(
        User::sql(engine.dialect()).delete_by_key.sql(),
        User::key_values(&id),
    );
    engine.execute(del).await.unwrap();
    let left: i64 = engine
        .fetch_one(select(func::count_star()).from(Post::table()))
        .await
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(left, 0);
    md.drop_all(&engine).await.unwrap();
}

#[test]
fn metadata_configure_checks_what_the_compiler_cannot() {
    // Everything present: fine.
    MetaData::new()
        .with::<User>()
        .with::<Post>()
        .with::<Tag>()
        .with::<PostTag>()
        .configure()
        .unwrap();
    // The association table of Post.tags is missing.
    let err = MetaData::new()
        .with::<User>()
        .with::<Post>()
        .with::<Tag>()
        .configure()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "relationship `Post.tags` to `Tag`: the association table `post_tags` is not in this MetaData; add it with `.with::<...>()` or `.with_table(...)`"
    );
    // A target model's table is missing.
    let err = MetaData::new().with::<User>().configure().unwrap_err();
    assert!(err.to_string().starts_with("relationship `User.posts` to `Post`: the table `posts` of `Post` is not in this MetaData"), "{err}");
}

/// back_populates pairs that do not mirror each other are found when configuring.
#[derive(Model, Debug)]
#[orm(table = "nodes")]
pub struct Node {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(foreign_key = "nodes.id")]
    pub parent_id: Option<i64>,
    #[relationship(back_populates = "children", remote_side = "id")]
    pub parent: Related<Option<Node>>,
    #[relationship(back_populates = "siblings")]
    pub children: Related<Vec<Node>>,
    #[relationship]
    pub siblings: Related<Vec<Node>>,
}

#[test]
fn back_populates_must_mirror() {
    let n = Node::new();
    assert!(n.parent.is_loaded() && n.children.is_loaded() && n.siblings.is_loaded());
    let err = MetaData::new().with::<Node>().configure().unwrap_err();
    assert_eq!(
        err.to_string(),
        "relationship `Node.parent` to `Node`: `back_populates = \"children\"`, but `Node.children` has `back_populates = \"siblings\"`, not `\"parent\"`"
    );
}

#[test]
fn loader_paths_are_typed_and_recorded() {
    let opts = LoadOptions::<User>::new()
        .with(selectinload(User::posts).selectinload(Post::tags))
        .with(joinedload(User::posts).joinedload(Post::author));
    let steps: Vec<Vec<(&str, &str)>> = opts
        .paths()
        .iter()
        .map(|p| p.iter().map(|s| (s.model, s.relationship)).collect())
        .collect();
    assert_eq!(
        steps,
        [
            vec![("User", "posts"), ("Post", "tags")],
            vec![("User", "posts"), ("Post", "author")]
        ]
    );
}

/// Models stay ordinary structs: serde's derives work on them, relationships included.
#[derive(Model, Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[orm(table = "authors")]
pub struct Author {
    #[orm(primary_key)]
    pub id: i64,
    pub name: String,
    #[relationship(back_populates = "author")]
    pub books: Related<Vec<Book>>,
}

#[derive(Model, Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[orm(table = "books")]
pub struct Book {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(foreign_key = "authors.id")]
    pub author_id: i64,
    #[relationship(back_populates = "books")]
    pub author: Related<Author>,
}

#[tokio::test]
async fn models_derive_serde() {
    let engine = orm::create_engine("sqlite::memory:").await.unwrap();
    let mut session = orm::Session::new(&engine);
    let mut a = Author::new("Le Guin");
    a.id = 1;
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        r#"{"id":1,"name":"Le Guin","books":[]}"#
    );
    let a = session.add(a);
    let mut book = Book::new(1);
    book.id = 7;
    let book = session.add(book);
    a.write().unwrap().books.push(&book);
    // The book's `author` is the other side of the pair: met again, it ends as null.
    let json = serde_json::to_string(&a).unwrap();
    assert_eq!(
        json,
        r#"{"id":1,"name":"Le Guin","books":[{"id":7,"author_id":1,"author":null}]}"#
    );
    assert_eq!(
        serde_json::to_string(&book).unwrap(),
        r#"{"id":7,"author_id":1,"author":{"id":1,"name":"Le Guin","books":[null]}}"#
    );
    // Relationships deserialize unloaded: objects come from a session.
    let back: Author = serde_json::from_str(&json).unwrap();
    assert_eq!((back.id, back.name.as_str()), (1, "Le Guin"));
    assert!(!back.books.is_loaded());
}

async fn key_sql_inserts_and_updates_a_model(db: &TestDb) {
    let engine = db.engine().await;
    MetaData::new()
        .with::<Tag>()
        .create_all(&engine)
        .await
        .unwrap();
    let sql = Tag::sql(engine.dialect());
    // INSERT of every column but the generated key, the key read back.
    let tag = Tag::new("rust");
    let values = tag.values();
    let binds: Vec<Value> = sql
        .insert_columns
        .iter()
        .map(|&i| values[i].clone())
        .collect();
    assert_eq!(binds, [Value::Text("rust".into())]);
    let done = engine
        .execute(orm::Compiled::new(sql.insert.sql(), binds))
        .await
        .unwrap();
    let id: i64 = match done.rows().first() {
        Some(row) => row.get(0).unwrap(),
        None => done.last_insert_id().unwrap(),
    };
    // UPDATE of the non-key columns by key.
    let mut tag = Tag::from_row(
        &engine
            .fetch_one(orm::Compiled::new(
                sql.select_by_key.sql(),
                Tag::key_values(&id),
            ))
            .await
            .unwrap(),
        0,
    )
    .unwrap();
    assert_eq!((tag.id, tag.label.as_str()), (id, "rust"));
    tag.label = "rustlang".into();
    let mut binds: Vec<Value> = Tag::columns()
        .iter()
        .zip(tag.values())
        .filter(|(c, _)| !c.primary_key)
        .map(|(_, v)| v)
        .collect();
    binds.extend(Tag::key_values(&tag.primary_key()));
    let done = engine
        .execute(orm::Compiled::new(sql.update_by_key.sql(), binds))
        .await
        .unwrap();
    assert_eq!(done.rows_affected(), 1);
    let label: String = engine
        .fetch_one(select(Tag::label).filter(Tag::id.eq(id)))
        .await
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(label, "rustlang");
}

/// Raw identifiers map to their bare name.
#[derive(Model, Debug, Clone)]
#[orm(table = "keywords")]
pub struct Keyword {
    #[orm(primary_key)]
    pub id: i64,
    pub r#type: String,
}

pub type Id = i64;
const START: i32 = 10;

/// A key whose type the derive cannot see as an integer does not autoincrement, in the
/// derive's metadata and in the table alike; constant defaults are values.
#[derive(Model, Debug, Clone)]
#[orm(table = "aliased")]
pub struct Aliased {
    #[orm(primary_key)]
    pub id: Id,
    #[orm(default = i64::MAX)]
    pub big: i64,
    #[orm(default = START)]
    pub start: i32,
}

/// `remote_side` decides the direction of a single-valued self-reference.
#[derive(Model, Debug, Clone)]
#[orm(table = "cells")]
pub struct Cell {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(foreign_key = "cells.id")]
    pub parent_id: Option<i64>,
    #[relationship(remote_side = "id")]
    pub parent: Related<Option<Cell>>,
    #[relationship(remote_side = "parent_id")]
    pub only_child: Related<Option<Cell>>,
}

#[test]
fn review_findings_in_the_derive_stay_fixed() {
    assert_eq!(Keyword::table().columns[1].name, "type");
    assert_eq!(Keyword::columns()[1].field, "type");
    assert_eq!(
        select(Keyword::r#type).to_string(),
        r#"SELECT "keywords"."type" FROM "keywords""#
    );

    assert!(Aliased::table().autoincrement_column().is_none());
    assert!(!Aliased::columns()[0].generated);
    let a = Aliased::new(5);
    assert_eq!((a.id, a.big, a.start), (5, i64::MAX, 10));

    assert_eq!(Cell::parent.info().kind, RelationshipKind::ManyToOne);
    assert_eq!(Cell::only_child.info().kind, RelationshipKind::OneToOne);
    let c = Cell::new();
    assert!(c.parent.get().unwrap().is_none() && c.only_child.get().unwrap().is_none());
}
