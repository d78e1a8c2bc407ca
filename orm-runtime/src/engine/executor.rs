//! One place to run statements on either a [`Connection`] or a [`Transaction`], for the
//! crate's own multi-statement work (DDL, reflection).

use super::{Connection, QueryResult, Transaction};
use crate::error::Result;
use crate::row::Row;
use crate::sql::Executable;

/// A connection or a transaction, borrowed.
pub(crate) enum Exec<'a> {
    /// Autocommit statements on a checked-out connection.
    Conn(&'a mut Connection),
    /// Statements inside a transaction.
    Tx(&'a mut Transaction),
}

impl Exec<'_> {
    /// Runs a statement.
    pub(crate) async fn execute(&mut self, stmt: impl Executable) -> Result<QueryResult> {
        match self {
            Exec::Conn(c) => c.execute(stmt).await,
            Exec::Tx(t) => t.execute(stmt).await,
        }
    }

    /// Runs a query and collects its rows.
    pub(crate) async fn fetch_all(&mut self, stmt: impl Executable) -> Result<Vec<Row>> {
        match self {
            Exec::Conn(c) => c.fetch_all(stmt).await,
            Exec::Tx(t) => t.fetch_all(stmt).await,
        }
    }
}
