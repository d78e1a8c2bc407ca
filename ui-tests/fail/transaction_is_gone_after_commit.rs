// Rule: commit() consumes the transaction; nothing can run on it afterwards.
use orm::prelude::*;

async fn f(engine: &Engine) -> Result<(), Error> {
    let mut tx = engine.begin().await?;
    tx.commit().await?;
    tx.execute(text("SELECT 1")).await?;
    Ok(())
}

fn main() {}
