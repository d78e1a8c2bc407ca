// Rule: `Engine::transaction` with an async closure runs inside `tokio::spawn` (its
// future is Send), commits on Ok and rolls back on Err.
use orm::prelude::*;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let engine = create_engine("sqlite::memory:").await.unwrap();
    engine.execute(text("CREATE TABLE t (x INTEGER)")).await.unwrap();
    let e = engine.clone();
    let n = tokio::spawn(async move {
        e.transaction(async |tx| {
            tx.execute(text("INSERT INTO t VALUES (:x)").bind("x", 1)).await?;
            let row = tx.fetch_one(text("SELECT COUNT(*) FROM t")).await?;
            row.get::<i64>(0)
        })
        .await
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(n, 1);
}
