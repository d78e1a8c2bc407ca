//! Quickstart: an engine on embedded SQLite, a table, binds, a transaction, a savepoint,
//! typed queries, and the ORM Session (add, commit, query, update, delete).
//!
//! Run with `cargo run --example quickstart`. Set `DATABASE_URL` to run it on
//! PostgreSQL or MySQL/MariaDB instead; `RUST_LOG=orm=warn` hides the statement log.

use orm::prelude::*;

/// A model: the derive makes its table, typed columns and row decoding.
#[derive(Model, Debug, Clone)]
#[orm(table = "quickstart_posts")]
struct Post {
    #[orm(primary_key)]
    id: i64,
    #[orm(max_length = 200)]
    title: String,
    score: Option<f64>,
    #[orm(foreign_key = "quickstart_authors.id")]
    author_id: Option<i64>,
    #[relationship(back_populates = "posts")]
    author: Related<Option<Author>>,
}

/// The other side of `Post.author`.
#[derive(Model, Debug, Clone)]
#[orm(table = "quickstart_authors")]
struct Author {
    #[orm(primary_key)]
    id: i64,
    #[orm(unique, max_length = 50)]
    name: String,
    #[relationship(back_populates = "author", cascade = "all, delete-orphan")]
    posts: Related<Vec<Post>>,
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    // Show the engine's echo (every statement, binds, timing) unless RUST_LOG says otherwise.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("orm=info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();

    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite::memory:".to_owned());
    let engine = Engine::builder(&url).echo(true).connect().await?;
    println!(
        "connected to {} ({} {})",
        engine.url(),
        engine.dialect(),
        engine.server_version()
    );

    engine
        .execute(text("DROP TABLE IF EXISTS quickstart_users"))
        .await?;
    engine
        .execute(text(
            "CREATE TABLE quickstart_users (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL UNIQUE, \
             karma INTEGER NOT NULL DEFAULT 0)",
        ))
        .await?;

    // Every value is a bound parameter; `:name` becomes `$1` or `?` for the dialect.
    let insert_user = "INSERT INTO quickstart_users (id, name, karma) VALUES (:id, :name, :karma)";
    engine
        .transaction(async |tx| {
            for (id, name, karma) in [(1, "ed", 10), (2, "wendy", 25), (3, "mary", 7)] {
                tx.execute(
                    text(insert_user)
                        .bind("id", id)
                        .bind("name", name)
                        .bind("karma", karma),
                )
                .await?;
            }
            Ok::<_, Error>(())
        })
        .await?;

    // A savepoint rolled back undoes only its own work.
    let mut tx = engine.begin().await?;
    tx.execute(text("UPDATE quickstart_users SET karma = karma + 1"))
        .await?;
    let mut sp = tx.savepoint().await?;
    sp.execute(
        text(insert_user)
            .bind("id", 4)
            .bind("name", "fred")
            .bind("karma", 0),
    )
    .await?;
    sp.rollback().await?;
    tx.commit().await?;

    // A constraint violation is an error naming the constraint; nothing is changed.
    let err = engine
        .execute(
            text(insert_user)
                .bind("id", 5)
                .bind("name", "ed")
                .bind("karma", 0),
        )
        .await
        .unwrap_err();
    println!(
        "duplicate name refused: unique violation = {}",
        err.is_unique_violation()
    );

    let rows = engine
        .fetch_all(
            text("SELECT name, karma FROM quickstart_users WHERE karma > :min ORDER BY karma DESC")
                .bind("min", 5),
        )
        .await?;
    for row in &rows {
        println!(
            "{:>6}: {}",
            row.get::<String>("name")?,
            row.get::<i64>("karma")?
        );
    }
    assert_eq!(rows.len(), 3);

    // The ORM layer's mapping and the typed expression language.
    let metadata = MetaData::new().with::<Author>().with::<Post>();
    metadata.drop_all(&engine).await?;
    metadata.create_all(&engine).await?;
    engine
        .execute(insert(Post::table()).values_many([
            (Post::title.set("Hello, orm"), Post::score.set(Some(4.5))),
            (Post::title.set("Typed queries"), Post::score.set(Some(9.0))),
            (Post::title.set("Draft"), Post::score.set(None::<f64>)),
        ]))
        .await?;
    let best = select(Post::title)
        .filter(Post::score.gt(5.0))
        .order_by(Post::score.desc());
    println!(
        "compiled for {}: {}",
        engine.dialect(),
        best.compile(engine.dialect())?.sql()
    );
    for row in engine.fetch_all(best).await? {
        println!("best post: {}", row.get::<String>(0)?);
    }
    let avg: Option<f64> = engine
        .fetch_one(select(func::avg(Post::score)))
        .await?
        .get(0)?;
    println!("average score: {:.2}", avg.unwrap_or_default());
    let sql = Post::sql(engine.dialect());
    let first = Post::from_row(
        &engine
            .fetch_one(orm::Compiled::new(
                sql.select_by_key.sql(),
                Post::key_values(&1),
            ))
            .await?,
        0,
    )?;
    println!("post 1: {} (score {:?})", first.title, first.score);

    // The Session: a unit of work with an identity map.
    let mut session = Session::new(&engine);
    let ed = session.add(Author::new("ed"));
    let post = session.add(Post::new("Sessions"));
    post.write()?.author.set(&ed); // linking is enough: author_id is set at flush
    session.commit().await?; // INSERT authors, then posts (keys fetched back)
    println!(
        "ed is {:?} with id {}; his post's author_id = {:?}",
        ed.state(),
        ed.read()?.id,
        post.read()?.author_id
    );
    let same = session
        .get::<Author>(ed.read()?.id)
        .await?
        .expect("just inserted");
    assert!(Obj::ptr_eq(&ed, &same)); // the identity map: no SQL, one object
    ed.write()?.name = "edward".into(); // dirty: the next flush UPDATEs only `name`
    let found = session
        .query::<Author>()
        .filter(Author::name.like("edw%"))
        .all()
        .await?; // autoflush, then SELECT
    println!("found {} author(s) named edw%", found.len());
    session.delete(&ed)?; // the cascade deletes his posts first
    session.commit().await?;
    println!("after delete: ed is {:?}", ed.state());

    metadata.drop_all(&engine).await?;
    Ok(())
}
