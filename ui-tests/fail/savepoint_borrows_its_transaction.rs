// Rule: a savepoint borrows its transaction, so the transaction cannot be committed
// (or used) while the savepoint is alive.
use orm::prelude::*;

async fn f(engine: &Engine) -> Result<(), Error> {
    let mut tx = engine.begin().await?;
    let sp = tx.savepoint().await?;
    tx.commit().await?;
    sp.rollback().await?;
    Ok(())
}

fn main() {}
