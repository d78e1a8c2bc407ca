//! Running compiled statements on a driver connection: one generic implementation for
//! the three drivers, with `echo` logging.

use std::time::{Duration, Instant};

use futures_core::stream::BoxStream;
use futures_util::TryStreamExt;
use sqlx::{Either, IntoArguments};

use super::QueryResult;
use super::driver::Driver;
#[cfg(feature = "sqlite")]
use super::driver::sqlite_fast::{self, conn::SqliteConn};
use super::events::Events;
use crate::error::{Error, Result};
use crate::row::Row;
use crate::sql::Compiled;

/// How long a result is read before the task yields to the runtime, so that other
/// tasks (on a current-thread runtime too) run, and a `timeout` or `select!` around
/// the call can fire even while rows keep arriving.
pub(crate) const YIELD_AFTER: Duration = Duration::from_millis(2);

/// Rows read between two looks at the clock.
const ROWS_PER_CLOCK_CHECK: usize = 64;

/// Gives the runtime a turn when a result has been read for [`YIELD_AFTER`].
pub(crate) struct Budget {
    /// When the clock was first read: at the first check, so that a short result never
    /// reads it.
    since: Option<Instant>,
}

impl Budget {
    pub(crate) fn new() -> Budget {
        Budget { since: None }
    }

    /// Called after each row, with the number read so far.
    pub(crate) async fn tick(&mut self, rows: usize) {
        if rows % ROWS_PER_CLOCK_CHECK != 0 {
            return;
        }
        match self.since {
            None => self.since = Some(Instant::now()),
            Some(since) if since.elapsed() >= YIELD_AFTER => {
                tokio::task::yield_now().await;
                self.since = Some(Instant::now());
            }
            Some(_) => {}
        }
    }
}

/// A caller's function that takes each row of a result as it is read (see
/// [`RawConn::fetch_each`]); its error ends the call.
pub(crate) type Visitor<'v> = dyn FnMut(&Row) -> Result<()> + Send + 'v;

/// A borrowed driver connection of any dialect.
pub(crate) enum RawConn<'a> {
    #[cfg(feature = "postgres")]
    Postgres(&'a mut sqlx::PgConnection),
    #[cfg(feature = "mysql")]
    MySql(&'a mut sqlx::MySqlConnection),
    #[cfg(feature = "sqlite")]
    Sqlite(&'a mut SqliteConn),
}

/// Applies a generic function, turbofished with the driver type, to the connection;
/// on SQLite's fast path, the fast path's function `$fast` instead.
macro_rules! dispatch {
    ($raw:expr, $f:ident / $fast:ident ($($arg:expr),*)) => {
        match $raw {
            #[cfg(feature = "postgres")]
            RawConn::Postgres(c) => $f::<sqlx::Postgres>(c, $($arg),*).await,
            #[cfg(feature = "mysql")]
            RawConn::MySql(c) => $f::<sqlx::MySql>(c, $($arg),*).await,
            #[cfg(feature = "sqlite")]
            RawConn::Sqlite(c) if c.is_fast() => sqlite_fast::$fast(c, $($arg),*).await,
            #[cfg(feature = "sqlite")]
            RawConn::Sqlite(c) => $f::<sqlx::Sqlite>(c.sqlx(), $($arg),*).await,
        }
    };
}

/// What [`RawConn::insert_by_rowid`] did (SQLite's fast path only).
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
pub(crate) enum RowidInsert {
    /// Nothing is known of the table's key on this connection: nothing ran. `prove`
    /// when the statement has run often enough that proving it is worth a query.
    Unknown { prove: bool },
    /// The key is not the rowid (or not proven to be): nothing ran.
    NotRowid,
    /// The INSERT ran; `still` is false when SQLite compiled it again as it ran (the
    /// schema changed since the proof, which must be made again).
    Ran { result: QueryResult, still: bool },
}

impl<'a> RawConn<'a> {
    /// The same connection, borrowed again for one call.
    pub(crate) fn reborrow(&mut self) -> RawConn<'_> {
        match self {
            #[cfg(feature = "postgres")]
            RawConn::Postgres(c) => RawConn::Postgres(c),
            #[cfg(feature = "mysql")]
            RawConn::MySql(c) => RawConn::MySql(c),
            #[cfg(feature = "sqlite")]
            RawConn::Sqlite(c) => RawConn::Sqlite(c),
        }
    }

    pub(crate) async fn execute(self, c: &Compiled, echo: &Events) -> Result<QueryResult> {
        dispatch!(self, execute_on / execute(c, echo))
    }

    /// SQLite's fast path: runs `c`, a one-row INSERT without RETURNING, when the
    /// connection has proven that its table's generated key is the rowid (see
    /// `sqlite_fast::insert_by_rowid`); elsewhere nothing runs.
    pub(crate) async fn insert_by_rowid(self, c: &Compiled, echo: &Events) -> Result<RowidInsert> {
        match self {
            #[cfg(feature = "sqlite")]
            RawConn::Sqlite(conn) if conn.is_fast() => {
                sqlite_fast::insert_by_rowid(conn, c, echo).await
            }
            _ => {
                let _ = (c, echo);
                Ok(RowidInsert::NotRowid)
            }
        }
    }

    /// SQLite's fast path: records what a query of the schema proved of the key of the
    /// table `sql` (a one-row INSERT without RETURNING) writes; elsewhere nothing.
    pub(crate) async fn remember_rowid_key(self, sql: &str, rowid: bool) -> Result<()> {
        match self {
            #[cfg(feature = "sqlite")]
            RawConn::Sqlite(conn) if conn.is_fast() => {
                sqlite_fast::remember_rowid_key(conn, sql, rowid).await
            }
            _ => {
                let _ = (sql, rowid);
                Ok(())
            }
        }
    }

    pub(crate) async fn fetch_all(self, c: &Compiled, echo: &Events) -> Result<Vec<Row>> {
        dispatch!(self, fetch_all_on / fetch_all(c, echo))
    }

    /// Runs a query, handing each row to `visit` as it is read; the number of rows.
    pub(crate) async fn fetch_each(
        self,
        c: &Compiled,
        echo: &Events,
        visit: &mut Visitor<'_>,
    ) -> Result<u64> {
        dispatch!(self, fetch_each_on / fetch_each(c, echo, visit))
    }

    /// Runs a query and hands its first row, if any, to `visit` (on SQLite's fast path
    /// read in place, as [`RawConn::fetch_each`] does); the number of rows visited.
    pub(crate) async fn fetch_first_each(
        self,
        c: &Compiled,
        echo: &Events,
        visit: &mut Visitor<'_>,
    ) -> Result<u64> {
        match self {
            #[cfg(feature = "sqlite")]
            RawConn::Sqlite(conn) if conn.is_fast() => {
                sqlite_fast::fetch_first_each(conn, c, echo, visit).await
            }
            raw => match raw.fetch_optional(c, echo).await? {
                Some(row) => visit(&row).map(|()| 1),
                None => Ok(0),
            },
        }
    }

    pub(crate) async fn fetch_optional(self, c: &Compiled, echo: &Events) -> Result<Option<Row>> {
        dispatch!(self, fetch_optional_on / fetch_optional(c, echo))
    }

    pub(crate) async fn execute_script(self, sql: &str, echo: &Events) -> Result<u64> {
        dispatch!(self, execute_script_on / execute_script(sql, echo))
    }

    pub(crate) fn fetch(
        self,
        c: Compiled,
        echo: std::sync::Arc<Events>,
    ) -> BoxStream<'a, Result<Row>> {
        match self {
            #[cfg(feature = "postgres")]
            RawConn::Postgres(conn) => fetch_on::<sqlx::Postgres>(conn, c, echo),
            #[cfg(feature = "mysql")]
            RawConn::MySql(conn) => fetch_on::<sqlx::MySql>(conn, c, echo),
            #[cfg(feature = "sqlite")]
            RawConn::Sqlite(conn) if conn.is_fast() => sqlite_fast::fetch(conn, c, echo),
            #[cfg(feature = "sqlite")]
            RawConn::Sqlite(conn) => fetch_on::<sqlx::Sqlite>(conn.sqlx(), c, echo),
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

/// MySQL/MariaDB commit the open transaction before (and after) DDL, `LOCK TABLES`, a
/// nested `BEGIN` and administrative statements: run inside a transaction, one would
/// silently commit the work before it, which a later rollback no longer undoes. Inside
/// a transaction on MySQL such a statement is refused before anything is sent.
/// (Semicolon-separated scripts are checked statement by statement; a `;` inside a
/// string literal can make this refuse a statement that would have been fine.)
fn check_no_implicit_commit<DB: Driver>(
    conn: &DB::Connection,
    sql: &str,
    script: bool,
) -> Result<()> {
    use sqlx::TransactionManager as _;
    if DB::NAME != "MySQL" || DB::TransactionManager::get_transaction_depth(conn) == 0 {
        return Ok(());
    }
    // A prepared statement is one statement: its first keyword is read and no more (a
    // long INSERT is not scanned); only a script is split.
    let found = if script {
        sql.split(';').find_map(implicit_commit_keyword)
    } else {
        implicit_commit_keyword(sql)
    };
    if let Some(keyword) = found {
        return Err(Error::Unsupported {
            dialect: "mysql",
            feature: format!(
                "{keyword} inside a transaction: MySQL commits the transaction before it, so a rollback would no longer undo the work before it; run it outside a transaction"
            ),
        });
    }
    Ok(())
}

/// The statement's first keyword when MySQL commits the transaction for it.
fn implicit_commit_keyword(statement: &str) -> Option<String> {
    let mut rest = statement;
    // Leading whitespace and comments.
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix("/*") {
            if let Some(body) = r.strip_prefix('!') {
                // An executable comment: its body is read as SQL.
                rest = body.trim_start_matches(|c: char| c.is_ascii_digit());
                continue;
            }
            rest = r.split_once("*/").map_or("", |(_, after)| after);
        } else if rest.starts_with("-- ") || rest.starts_with('#') {
            rest = rest.split_once('\n').map_or("", |(_, after)| after);
        } else {
            break;
        }
    }
    let mut words = rest
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty());
    let first = words.next()?.to_ascii_uppercase();
    const COMMITS: &[&str] = &[
        "ALTER",
        "CREATE",
        "DROP",
        "RENAME",
        "TRUNCATE",
        "GRANT",
        "REVOKE",
        "LOCK",
        "UNLOCK",
        "BEGIN",
        "START",
        "INSTALL",
        "UNINSTALL",
        "ANALYZE",
        "OPTIMIZE",
        "REPAIR",
        "CACHE",
        "FLUSH",
        "RESET",
        "CHECK",
    ];
    if !COMMITS.contains(&first.as_str()) {
        return None;
    }
    let second = words.next().map(str::to_ascii_uppercase);
    // Temporary tables are the exception.
    if matches!(first.as_str(), "CREATE" | "DROP") && second.as_deref() == Some("TEMPORARY") {
        return None;
    }
    Some(match second {
        Some(w) => format!("{first} {w}"),
        None => first,
    })
}

/// Refuses SQL text with a NUL byte before it reaches a driver: the databases read SQL
/// as a C string, so the text would end early (SQLite's prepare loop would never
/// finish, spinning its worker thread and holding the connection forever).
pub(crate) fn check_sql_text(sql: &str) -> Result<()> {
    // Run on every statement: a vectorized search (a byte loop cost ~700 instructions
    // for a short SELECT).
    match memchr::memchr(0, sql.as_bytes()) {
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
    check_no_implicit_commit::<DB>(conn, c.sql(), false)?;
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
    let mut out = Vec::new();
    read_rows::<DB>(conn, c, echo, |row| {
        out.push(row);
        Ok(())
    })
    .await?;
    Ok(out)
}

async fn fetch_each_on<DB: Driver>(
    conn: &mut DB::Connection,
    c: &Compiled,
    echo: &Events,
    visit: &mut Visitor<'_>,
) -> Result<u64>
where
    for<'e> &'e mut DB::Connection: sqlx::Executor<'e, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
{
    read_rows::<DB>(conn, c, echo, |row| visit(&row)).await
}

/// Runs a query and hands its rows to `take` one by one, as sqlx's `fetch_all` reads
/// them, with a turn for the runtime now and then (see [`Budget`]); the number taken.
/// After an error of `take` the rest of the result is read and dropped, so that the
/// connection is left at its end, and the error is returned.
async fn read_rows<DB: Driver>(
    conn: &mut DB::Connection,
    c: &Compiled,
    echo: &Events,
    mut take: impl FnMut(Row) -> Result<()> + Send,
) -> Result<u64>
where
    for<'e> &'e mut DB::Connection: sqlx::Executor<'e, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
{
    check_no_implicit_commit::<DB>(conn, c.sql(), false)?;
    let started = echo.start();
    let result = async {
        let text = DB::statement_text(c.sql(), c.binds());
        let q = query::<DB>(&text, c.binds())?;
        let mut rows = q.fetch(&mut *conn);
        let mut n = 0u64;
        let mut read = 0;
        let mut budget = Budget::new();
        let mut failed = None;
        while let Some(row) = rows
            .try_next()
            .await
            .map_err(|e| Error::from_sqlx(e, Some(c.sql())))?
        {
            if failed.is_none() {
                match take(DB::wrap_row(row)) {
                    Ok(()) => n += 1,
                    Err(e) => failed = Some(e),
                }
            }
            read += 1;
            budget.tick(read).await;
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(n),
        }
    }
    .await;
    echo.done(c, started, result.as_ref().map(|n| *n));
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
    check_no_implicit_commit::<DB>(conn, c.sql(), false)?;
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
        check_no_implicit_commit::<DB>(conn, c.sql(), false)?;
        let started = echo.start();
        let text = DB::statement_text(c.sql(), c.binds());
        let q = query::<DB>(&text, c.binds())?;
        let mut rows = q.fetch(&mut *conn);
        let mut n = 0u64;
        let mut budget = Budget::new();
        loop {
            match rows.try_next().await {
                Ok(Some(row)) => {
                    n += 1;
                    yield DB::wrap_row(row);
                    budget.tick(n as usize).await;
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
    check_no_implicit_commit::<DB>(conn, sql, true)?;
    let started = echo.start();
    // `Executor::execute` hands back a boxed `Send` future; `RawSql::execute`'s own
    // future cannot be proven `Send` under the higher-ranked `Executor` bound.
    let result = sqlx::Executor::execute(&mut *conn, sqlx::raw_sql(sql))
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
pub(crate) fn is_insert(sql: &str) -> bool {
    let head = sql.trim_start();
    ["INSERT", "REPLACE"].iter().any(|k| {
        head.get(..k.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(k))
    })
}

#[cfg(test)]
mod tests {
    use super::implicit_commit_keyword as kw;

    #[test]
    fn mysql_statements_that_commit_the_transaction_are_recognised() {
        assert_eq!(
            kw("CREATE TABLE t (a INT)").as_deref(),
            Some("CREATE TABLE")
        );
        assert_eq!(
            kw("  alter table t add b int").as_deref(),
            Some("ALTER TABLE")
        );
        assert_eq!(
            kw("/* why */ DROP INDEX i ON t").as_deref(),
            Some("DROP INDEX")
        );
        assert_eq!(kw("-- note\nTRUNCATE t").as_deref(), Some("TRUNCATE T"));
        assert_eq!(
            kw("/*!40101 LOCK TABLES t WRITE */").as_deref(),
            Some("LOCK TABLES")
        );
        assert_eq!(kw("BEGIN").as_deref(), Some("BEGIN"));
        assert_eq!(
            kw("start transaction").as_deref(),
            Some("START TRANSACTION")
        );
        for fine in [
            "CREATE TEMPORARY TABLE t (a INT)",
            "DROP TEMPORARY TABLE t",
            "SELECT * FROM created",
            "INSERT INTO t VALUES (1)",
            "UPDATE t SET a = 1",
            "SELECT 1 FOR UPDATE",
            "SAVEPOINT s",
            "",
        ] {
            assert_eq!(kw(fine), None, "{fine}");
        }
    }
}
