//! Running compiled statements on a driver connection: one generic implementation for
//! the three drivers, with `echo` logging.

use futures_core::stream::BoxStream;
use futures_util::TryStreamExt;
use sqlx::{Either, IntoArguments};

use super::QueryResult;
use super::driver::Driver;
use super::events::Events;
use crate::error::{Error, Result};
use crate::row::Row;
use crate::sql::Compiled;

/// A borrowed driver connection of any dialect.
pub(crate) enum RawConn<'a> {
    Postgres(&'a mut sqlx::PgConnection),
    MySql(&'a mut sqlx::MySqlConnection),
    Sqlite(&'a mut sqlx::SqliteConnection),
}

/// Applies a generic function, turbofished with the driver type, to the connection.
macro_rules! dispatch {
    ($raw:expr, $f:ident($($arg:expr),*)) => {
        match $raw {
            RawConn::Postgres(c) => $f::<sqlx::Postgres>(c, $($arg),*).await,
            RawConn::MySql(c) => $f::<sqlx::MySql>(c, $($arg),*).await,
            RawConn::Sqlite(c) => $f::<sqlx::Sqlite>(c, $($arg),*).await,
        }
    };
}

impl<'a> RawConn<'a> {
    /// The same connection, borrowed again for one call.
    pub(crate) fn reborrow(&mut self) -> RawConn<'_> {
        match self {
            RawConn::Postgres(c) => RawConn::Postgres(c),
            RawConn::MySql(c) => RawConn::MySql(c),
            RawConn::Sqlite(c) => RawConn::Sqlite(c),
        }
    }

    pub(crate) async fn execute(self, c: &Compiled, echo: &Events) -> Result<QueryResult> {
        dispatch!(self, execute_on(c, echo))
    }

    pub(crate) async fn fetch_all(self, c: &Compiled, echo: &Events) -> Result<Vec<Row>> {
        dispatch!(self, fetch_all_on(c, echo))
    }

    pub(crate) async fn fetch_optional(self, c: &Compiled, echo: &Events) -> Result<Option<Row>> {
        dispatch!(self, fetch_optional_on(c, echo))
    }

    pub(crate) async fn execute_script(self, sql: &str, echo: &Events) -> Result<u64> {
        dispatch!(self, execute_script_on(sql, echo))
    }

    pub(crate) fn fetch(
        self,
        c: Compiled,
        echo: std::sync::Arc<Events>,
    ) -> BoxStream<'a, Result<Row>> {
        match self {
            RawConn::Postgres(conn) => fetch_on::<sqlx::Postgres>(conn, c, echo),
            RawConn::MySql(conn) => fetch_on::<sqlx::MySql>(conn, c, echo),
            RawConn::Sqlite(conn) => fetch_on::<sqlx::Sqlite>(conn, c, echo),
        }
    }
}

fn query<'q, DB: Driver>(
    sql: &'q str,
    binds: &'q [crate::value::Value],
) -> Result<sqlx::query::Query<'q, DB, DB::Arguments<'q>>>
where
    DB::Arguments<'q>: IntoArguments<'q, DB>,
{
    check_sql_text(sql)?;
    let args = DB::arguments(binds)?;
    Ok(sqlx::query_with(sql, args))
}

/// Refuses SQL text with a NUL byte before it reaches a driver: the databases read SQL
/// as a C string, so the text would end early (SQLite's prepare loop would never
/// finish, spinning its worker thread and holding the connection forever).
fn check_sql_text(sql: &str) -> Result<()> {
    match sql.bytes().position(|b| b == 0) {
        Some(offset) => Err(Error::NulInSql { offset }),
        None => Ok(()),
    }
}

async fn execute_on<DB: Driver>(
    conn: &mut DB::Connection,
    c: &Compiled,
    echo: &Events,
) -> Result<QueryResult>
where
    for<'e> &'e mut DB::Connection: sqlx::Executor<'e, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
{
    let started = echo.start();
    let result = async {
        let text = DB::statement_text(c.sql(), c.binds());
        let q = query::<DB>(&text, c.binds())?;
        let zero_means_no_insert = is_insert(c.sql()) && DB::reset_insert_id(conn, c.sql()).await?;
        let mut stream = sqlx::Executor::fetch_many(&mut *conn, q);
        let mut out = QueryResult::default();
        while let Some(item) = stream
            .try_next()
            .await
            .map_err(|e| Error::from_sqlx(e, Some(c.sql())))?
        {
            match item {
                Either::Left(done) => {
                    let (affected, last_id) = DB::done(&done);
                    out.rows_affected += affected;
                    if last_id.is_some() {
                        out.last_insert_id = last_id;
                    }
                }
                Either::Right(row) => out.rows.push(DB::wrap_row(row)),
            }
        }
        // Only an INSERT that inserted reports an id (SQLite's last_insert_rowid()
        // otherwise repeats the connection's last insert).
        let reset_and_unchanged =
            zero_means_no_insert && out.last_insert_id == Some(crate::value::Value::I64(0));
        if out.rows_affected == 0 || !is_insert(c.sql()) || reset_and_unchanged {
            out.last_insert_id = None;
        }
        // MySQL reports no count for a statement that returns rows (MariaDB's
        // `INSERT ... RETURNING`): count the rows instead.
        if out.rows_affected == 0 {
            out.rows_affected = out.rows.len() as u64;
        }
        Ok(out)
    }
    .await;
    echo.done(c, started, result.as_ref().map(|r| r.rows_affected));
    result
}

async fn fetch_all_on<DB: Driver>(
    conn: &mut DB::Connection,
    c: &Compiled,
    echo: &Events,
) -> Result<Vec<Row>>
where
    for<'e> &'e mut DB::Connection: sqlx::Executor<'e, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
{
    let started = echo.start();
    let result = async {
        let text = DB::statement_text(c.sql(), c.binds());
        let q = query::<DB>(&text, c.binds())?;
        let rows = q
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| Error::from_sqlx(e, Some(c.sql())))?;
        Ok(rows.into_iter().map(DB::wrap_row).collect::<Vec<_>>())
    }
    .await;
    echo.done(c, started, result.as_ref().map(|r| r.len() as u64));
    result
}

async fn fetch_optional_on<DB: Driver>(
    conn: &mut DB::Connection,
    c: &Compiled,
    echo: &Events,
) -> Result<Option<Row>>
where
    for<'e> &'e mut DB::Connection: sqlx::Executor<'e, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
{
    let started = echo.start();
    let result = async {
        let text = DB::statement_text(c.sql(), c.binds());
        let q = query::<DB>(&text, c.binds())?;
        let row = q
            .fetch_optional(&mut *conn)
            .await
            .map_err(|e| Error::from_sqlx(e, Some(c.sql())))?;
        Ok(row.map(DB::wrap_row))
    }
    .await;
    echo.done(c, started, result.as_ref().map(|r| u64::from(r.is_some())));
    result
}

fn fetch_on<'a, DB: Driver>(
    conn: &'a mut DB::Connection,
    c: Compiled,
    echo: std::sync::Arc<Events>,
) -> BoxStream<'a, Result<Row>>
where
    for<'e> &'e mut DB::Connection: sqlx::Executor<'e, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
{
    Box::pin(async_stream::try_stream! {
        let started = echo.start();
        let text = DB::statement_text(c.sql(), c.binds());
        let q = query::<DB>(&text, c.binds())?;
        let mut rows = q.fetch(&mut *conn);
        let mut n = 0u64;
        loop {
            match rows.try_next().await {
                Ok(Some(row)) => {
                    n += 1;
                    yield DB::wrap_row(row);
                }
                Ok(None) => break,
                Err(e) => {
                    let e = Error::from_sqlx(e, Some(c.sql()));
                    echo.done(&c, started, Err(&e));
                    Err(e)?;
                }
            }
        }
        echo.done(&c, started, Ok(n));
    })
}

async fn execute_script_on<DB: Driver>(
    conn: &mut DB::Connection,
    sql: &str,
    echo: &Events,
) -> Result<u64>
where
    for<'e> &'e mut DB::Connection: sqlx::Executor<'e, Database = DB>,
{
    check_sql_text(sql)?;
    let started = echo.start();
    let result = sqlx::raw_sql(sql)
        .execute(&mut *conn)
        .await
        .map(|done| DB::done(&done).0)
        .map_err(|e| Error::from_sqlx(e, Some(sql)));
    if started.is_some() {
        let shown = Compiled::new(sql, Vec::new());
        echo.done(&shown, started, result.as_ref().map(|n| *n));
    }
    result
}

/// True for `INSERT`/`REPLACE` statements.
fn is_insert(sql: &str) -> bool {
    let head = sql.trim_start();
    ["INSERT", "REPLACE"].iter().any(|k| {
        head.get(..k.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(k))
    })
}
