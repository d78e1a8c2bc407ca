// Rule: every documented attribute compiles and lands in the generated table.
#![allow(dead_code)]
use orm::prelude::*;
use orm::relationship::{LoadStrategy, RelationshipKind};
use orm::schema::{Autoincrement, ReferentialAction};

fn default_title() -> String {
    "untitled".to_owned()
}

#[derive(Model, Debug, Clone)]
#[orm(
    table = "authors",
    schema = "lib",
    index(name = "ix_authors_name_born", columns("name", "born")),
    index(columns("born"), unique),
    unique(name = "uq_authors_pen", columns("pen", "name")),
    check(name = "ck_authors_born", sql = "born > 0")
)]
struct Author {
    #[orm(primary_key, autoincrement)]
    id: i64,
    #[orm(max_length = 80, index)]
    name: String,
    #[orm(column = "pen", unique, comment = "nom de plume")]
    pen_name: Option<String>,
    born: i32,
    #[orm(sql_type = "numeric(10, 2)")]
    royalty: Option<f64>,
    #[orm(skip)]
    cache: Vec<String>,
    #[relationship(back_populates = "author", cascade = "all, delete-orphan", order_by = "-id", lazy = "selectin", passive_deletes)]
    books: Related<Vec<Book>>,
}

#[derive(Model, Debug, Clone)]
#[orm(table = "books", schema = "lib", foreign_key(name = "fk_books_series", columns("series_a", "series_b"), references = "lib.series(a, b)", on_delete = "set null", on_update = "cascade", use_alter))]
struct Book {
    #[orm(primary_key, autoincrement = false)]
    id: i64,
    #[orm(foreign_key = "lib.authors.id", on_delete = "cascade", on_update = "restrict")]
    author_id: i64,
    #[orm(default = default_title)]
    title: String,
    #[orm(default = 1)]
    edition: i32,
    #[orm(server_default = "CURRENT_TIMESTAMP")]
    added: String,
    #[orm(version)]
    version: i64,
    series_a: Option<i64>,
    series_b: Option<i64>,
    #[relationship(back_populates = "books", foreign_keys = "author_id")]
    author: Related<Author>,
    #[relationship(secondary = "lib.book_tags")]
    tags: Related<Vec<Tag>>,
}

#[derive(Model, Debug, Clone)]
#[orm(table = "tags", schema = "lib")]
struct Tag {
    #[orm(primary_key)]
    id: i32,
    label: String,
}

#[derive(Model, Debug, Clone)]
#[orm(schema = "lib")]
struct Person {
    #[orm(primary_key)]
    id: i64,
    #[orm(foreign_key = "lib.person.id")]
    mentor_id: Option<i64>,
    #[relationship(remote_side = "id", back_populates = "mentees")]
    mentor: Related<Option<Person>>,
    #[relationship(back_populates = "mentor")]
    mentees: Related<Vec<Person>>,
}

fn main() {
    let a = Author::table();
    assert_eq!(a.full_name(), "lib.authors");
    assert_eq!(a.get_column("id").unwrap().autoincrement, Autoincrement::Yes);
    assert_eq!(a.get_column("name").unwrap().sql_type, SqlType::varchar(80));
    assert!(a.get_column("name").unwrap().index);
    let pen = a.get_column("pen").unwrap();
    assert!(pen.unique && pen.nullable && pen.comment.as_deref() == Some("nom de plume"));
    assert_eq!(a.get_column("royalty").unwrap().sql_type, SqlType::numeric(10, 2));
    assert!(a.get_column("cache").is_none());
    assert_eq!(a.indexes.len(), 2);
    assert!(a.indexes[1].unique);
    assert_eq!(a.unique_constraints[0].name.as_deref(), Some("uq_authors_pen"));
    assert_eq!(a.check_constraints[0].sql, "born > 0");

    let b = Book::table();
    assert_eq!(b.get_column("id").unwrap().autoincrement, Autoincrement::No);
    assert!(b.autoincrement_column().is_none());
    let fk = &b.foreign_keys[0];
    assert_eq!((fk.referred_schema.as_deref(), fk.referred_table.as_str()), (Some("lib"), "authors"));
    assert_eq!((fk.on_delete, fk.on_update), (Some(ReferentialAction::Cascade), Some(ReferentialAction::Restrict)));
    let series = &b.foreign_keys[1];
    assert_eq!(series.columns, ["series_a", "series_b"]);
    assert!(series.use_alter && series.on_delete == Some(ReferentialAction::SetNull));
    assert_eq!(b.get_column("added").unwrap().server_default.as_deref(), Some("CURRENT_TIMESTAMP"));
    assert_eq!(b.get_column("title").unwrap().default.as_ref().unwrap().value(), Value::Text("untitled".into()));

    let book = Book::new(1, 7);
    assert_eq!((book.id, book.author_id, book.title.as_str(), book.edition, book.version), (1, 7, "untitled", 1, 0));
    let books = Author::books.info();
    assert_eq!((books.kind, books.lazy, books.order_by), (RelationshipKind::OneToMany, LoadStrategy::Selectin, &["-id"][..]));
    assert!(books.passive_deletes && books.cascade.delete_orphan);
    assert_eq!(Book::author.info().kind, RelationshipKind::ManyToOne);
    assert_eq!(Book::tags.info().kind, RelationshipKind::ManyToMany);
    assert_eq!(Person::mentor.info().kind, RelationshipKind::ManyToOne);
    assert_eq!(Person::mentees.info().kind, RelationshipKind::OneToMany);
    assert_eq!(Person::table().name, "person");
}
