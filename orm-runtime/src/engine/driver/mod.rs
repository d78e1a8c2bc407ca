//! The glue between the dialect-neutral [`Value`]/[`Row`] and each sqlx driver: one
//! file per driver, as sqlx lays out its own.
//!
//! ```text
//!  statement tree ──compile(Dialect)──▶ SQL text + Vec<Value>
//!                                            │
//!                     Driver::arguments ◀────┘   (driver/{postgres,mysql,sqlite}.rs)
//!                                            │
//!                              sqlx driver ──▶ rows ──Driver::wrap_row──▶ Row
//! ```
//!
//! Contract for a driver file:
//! - it MUST bind every [`Value`] variant (or return [`Error::Bind`] naming it);
//! - it MUST decode every column type its database can return into a [`Value`]
//!   ([`DriverRow::value_at`], falling back to text), so that dynamic rows never fail
//!   on an unknown type;
//! - it SHOULD take the driver's own decoder when the Rust type asks for exactly the
//!   column's type (the [`Decode`] implementations below), so that typed reads cost what
//!   hand-written sqlx costs.

#[cfg(feature = "mysql")]
pub(crate) mod mysql;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
#[cfg(feature = "sqlite")]
pub(crate) mod sqlite;
#[cfg(feature = "sqlite")]
pub(crate) mod sqlite_fast;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use futures_core::future::BoxFuture;
use sqlx::{Row as _, ValueRef as _};

use crate::error::{Error, Result};
use crate::row::{Decode, DriverRow, Row, RowInner, decode_value_path};
use crate::value::{FromValue, Value};

/// The glue between [`Value`]/[`Row`] and one sqlx driver.
pub(crate) trait Driver: sqlx::Database + sqlx::database::HasStatementCache {
    /// Binds `binds` in order.
    fn arguments(binds: &[Value]) -> Result<<Self as sqlx::Database>::Arguments<'_>>;
    /// What the engine's pool keeps for one connection: sqlx's connection itself, or
    /// (SQLite) a wrapper that runs the fast path on it.
    type Conn: Send + Sync + 'static;
    /// Wraps a connection sqlx has just opened; `fast` asks for SQLite's fast path.
    fn wrap(conn: <Self as sqlx::Database>::Connection, fast: bool) -> Self::Conn;
    /// The connection as a [`RawConn`](crate::engine::exec::RawConn), to run statements
    /// on it.
    fn raw(conn: &mut Self::Conn) -> super::exec::RawConn<'_>;
    /// Open transaction levels (0 outside a transaction), known without a round trip.
    fn depth(conn: &Self::Conn) -> usize;
    /// `BEGIN`, or a savepoint inside a transaction. `immediate`: SQLite's `BEGIN
    /// IMMEDIATE` (the write lock taken now); the other databases have no such mode.
    fn begin(conn: &mut Self::Conn, immediate: bool) -> BoxFuture<'_, Result<()>>;
    /// `COMMIT`, or the innermost savepoint released.
    fn commit(conn: &mut Self::Conn) -> BoxFuture<'_, Result<()>>;
    /// `ROLLBACK`, or back to the innermost savepoint.
    fn rollback(conn: &mut Self::Conn) -> BoxFuture<'_, Result<()>>;
    /// Queues a rollback of the innermost level, sent before the next call.
    fn start_rollback(conn: &mut Self::Conn);
    /// A round trip showing the connection works.
    fn ping(conn: &mut Self::Conn) -> BoxFuture<'_, Result<()>>;
    /// Closes the connection politely.
    fn close(conn: Self::Conn) -> BoxFuture<'static, std::result::Result<(), sqlx::Error>>;
    /// Wraps a driver row into the dialect-neutral [`Row`].
    fn wrap_row(row: <Self as sqlx::Database>::Row) -> Row;
    /// `(rows_affected, last_insert_id)` of a finished statement.
    fn done(result: &<Self as sqlx::Database>::QueryResult) -> (u64, Option<Value>);
    /// Called before the INSERT `sql` runs on `conn`; returns true when, afterwards, an
    /// id of 0 means that no row was inserted. SQLite's `last_insert_rowid()` repeats
    /// the connection's last insert when a statement inserts nothing, which an upsert
    /// that took its UPDATE path does while reporting one row changed: before an upsert
    /// it is set to 0.
    fn reset_insert_id<'c>(
        _conn: &'c mut <Self as sqlx::Database>::Connection,
        _sql: &str,
    ) -> futures_core::future::BoxFuture<'c, Result<bool>> {
        Box::pin(std::future::ready(Ok(false)))
    }

    /// The text sent to the driver for `sql` with `binds`. The driver caches prepared
    /// statements by text; a dialect whose prepared statements fix their parameter types
    /// (PostgreSQL) makes the text differ per parameter-type signature.
    fn statement_text<'a>(sql: &'a str, _binds: &[Value]) -> std::borrow::Cow<'a, str> {
        std::borrow::Cow::Borrowed(sql)
    }
}

/// The pool glue of a driver whose pooled connection is sqlx's own (`Conn =
/// Connection`): transactions through sqlx's transaction manager.
#[cfg(any(feature = "postgres", feature = "mysql"))]
macro_rules! sqlx_conn_glue {
    ($conn:ty, $variant:ident) => {
        type Conn = $conn;

        fn wrap(conn: $conn, _fast: bool) -> $conn {
            conn
        }

        fn raw(conn: &mut $conn) -> crate::engine::exec::RawConn<'_> {
            crate::engine::exec::RawConn::$variant(conn)
        }

        fn depth(conn: &$conn) -> usize {
            <<Self as sqlx::Database>::TransactionManager as sqlx::TransactionManager>::get_transaction_depth(conn)
        }

        fn begin(conn: &mut $conn, _immediate: bool) -> futures_core::future::BoxFuture<'_, Result<()>> {
            Box::pin(async move {
                Ok(<<Self as sqlx::Database>::TransactionManager as sqlx::TransactionManager>::begin(conn, None).await?)
            })
        }

        fn commit(conn: &mut $conn) -> futures_core::future::BoxFuture<'_, Result<()>> {
            Box::pin(async move { Ok(<<Self as sqlx::Database>::TransactionManager as sqlx::TransactionManager>::commit(conn).await?) })
        }

        fn rollback(conn: &mut $conn) -> futures_core::future::BoxFuture<'_, Result<()>> {
            Box::pin(async move { Ok(<<Self as sqlx::Database>::TransactionManager as sqlx::TransactionManager>::rollback(conn).await?) })
        }

        fn start_rollback(conn: &mut $conn) {
            <<Self as sqlx::Database>::TransactionManager as sqlx::TransactionManager>::start_rollback(conn)
        }

        fn ping(conn: &mut $conn) -> futures_core::future::BoxFuture<'_, Result<()>> {
            Box::pin(async move { Ok(sqlx::Connection::ping(conn).await?) })
        }

        fn close(
            conn: $conn,
        ) -> futures_core::future::BoxFuture<'static, std::result::Result<(), sqlx::Error>> {
            sqlx::Connection::close(conn)
        }
    };
}
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) use sqlx_conn_glue;

/// Adds one value to a driver's argument buffer, turning the driver's error into
/// [`Error::Bind`].
pub(crate) fn add_arg<'q, DB, T>(
    args: &mut <DB as sqlx::Database>::Arguments<'q>,
    index: usize,
    value: &Value,
    v: T,
) -> Result<()>
where
    DB: sqlx::Database,
    T: sqlx::Encode<'q, DB> + sqlx::Type<DB> + 'q,
{
    sqlx::Arguments::add(args, v).map_err(|e| Error::Bind {
        index: index + 1,
        value_type: value.type_name(),
        message: e.to_string(),
    })
}

/// `t` with its sub-microsecond digits dropped (truncated, as sqlx's MySQL encoder
/// does): PostgreSQL and MySQL keep microseconds at most and SQLite kept every digit in
/// its text, so a value now reads back and compares alike on all three.
pub(crate) fn to_micros<T: chrono::Timelike + Copy>(t: T) -> T {
    let nanos = t.nanosecond();
    t.with_nanosecond(nanos - nanos % 1_000).unwrap_or(t)
}

/// Refuses a leap second (chrono's `23:59:60.5`: a nanosecond count past one second)
/// where `database` cannot store one: sqlx would send MySQL the fraction as a million
/// microseconds or more (stored as `00:00:00`), and PostgreSQL a timestamp one second
/// on (the next day's `00:00:00.5`). PostgreSQL's server refuses a leap-second TIME
/// itself.
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) fn check_leap_second(
    index: usize,
    value: &Value,
    nanosecond: u32,
    database: &str,
) -> Result<()> {
    if nanosecond < 1_000_000_000 {
        return Ok(());
    }
    Err(Error::Bind {
        index: index + 1,
        value_type: value.type_name(),
        message: format!(
            "a leap second (23:59:60) is out of range: {database} times stop at 59.999999 seconds"
        ),
    })
}

/// Binding a [`Value::Array`] where the database has no arrays.
#[cfg(any(feature = "mysql", feature = "sqlite"))]
pub(crate) fn no_arrays(index: usize, value: &Value, database: &str) -> Error {
    Error::Bind {
        index: index + 1,
        value_type: value.type_name(),
        message: format!("{database} has no array parameters; bind the elements one by one"),
    }
}

/// The error for a [`Value::U64`] bound where integers are signed 64-bit.
#[cfg(any(feature = "postgres", feature = "sqlite"))]
pub(crate) fn unsigned_too_large(index: usize, value: &Value, x: u64, database: &str) -> Error {
    Error::Bind {
        index: index + 1,
        value_type: value.type_name(),
        message: format!(
            "{x} does not fit in a signed 64-bit integer, the largest {database} has; store it \
             as NUMERIC(20) or text"
        ),
    }
}

/// A decode error for column `i` of a driver row, naming the column and its SQL type.
pub(crate) fn column_decode_error<R: sqlx::Row>(row: &R, i: usize, message: String) -> Error
where
    usize: sqlx::ColumnIndex<R>,
{
    use sqlx::{Column as _, TypeInfo as _};
    let (column, sql_type) = row
        .columns()
        .get(i)
        .map(|c| (c.name().to_owned(), c.type_info().name().to_owned()))
        .unwrap_or_else(|| (format!("#{i}"), "?".to_owned()));
    Error::Decode {
        column,
        rust_type: "Value",
        sql_type,
        message,
    }
}

/// The typed fast path, generic over the driver: the driver's own decoder when the
/// column's type is compatible, the [`Value`] path otherwise.
fn decode_driver<'r, DB, T>(row: &Row, r: &'r DB::Row, index: usize) -> Result<T>
where
    DB: sqlx::Database,
    DB::Row: DriverRow,
    T: sqlx::Decode<'r, DB> + sqlx::Type<DB> + FromValue,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    let raw = r.try_get_raw(index).map_err(Error::from)?;
    if !raw.is_null() && T::compatible(&raw.type_info()) {
        return T::decode(raw).map_err(|e| row.decode_error(index, T::RUST_TYPE, e.to_string()));
    }
    decode_value_path(row, index, r.value_at(index)?)
}

/// PostgreSQL: the driver's own decoder when the column's type OID is one `T` reads,
/// else what [`decode_driver`] does. The OIDs are a subset of what sqlx's `compatible`
/// accepts (checked once per value without its type comparisons, which cost more than
/// the decoding of a number).
#[cfg(feature = "postgres")]
#[inline]
fn decode_pg<'r, T>(row: &Row, r: &'r sqlx::postgres::PgRow, index: usize) -> Result<T>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + FromValue + PgOids,
{
    let raw = r.try_get_raw(index).map_err(Error::from)?;
    if !raw.is_null()
        && raw
            .type_info()
            .oid()
            .is_some_and(|oid| T::OIDS.contains(&oid.0))
    {
        return T::decode(raw).map_err(|e| row.decode_error(index, T::RUST_TYPE, e.to_string()));
    }
    decode_driver::<sqlx::Postgres, T>(row, r, index)
}

/// The PostgreSQL type OIDs whose values a type's sqlx decoder reads, without asking
/// sqlx's `Type::compatible` (each is one sqlx accepts for that type).
#[cfg(feature = "postgres")]
trait PgOids {
    const OIDS: &'static [u32];
}

#[cfg(feature = "postgres")]
impl<T: PgOids> PgOids for Option<T> {
    const OIDS: &'static [u32] = T::OIDS;
}

#[cfg(feature = "postgres")]
macro_rules! pg_oids {
    ($($t:ty => [$($oid:expr),*]),* $(,)?) => {$(
        impl PgOids for $t {
            const OIDS: &'static [u32] = &[$($oid),*];
        }
    )*};
}

// BOOL 16, BYTEA 17, NAME 19, INT8 20, INT2 21, INT4 23, TEXT 25, JSON 114, FLOAT4 700,
// FLOAT8 701, UNKNOWN 705, BPCHAR 1042, VARCHAR 1043, DATE 1082, TIME 1083,
// TIMESTAMP 1114, TIMESTAMPTZ 1184, UUID 2950, JSONB 3802.
#[cfg(feature = "postgres")]
pg_oids!(
    bool => [16],
    i16 => [21],
    i32 => [23],
    i64 => [20],
    f32 => [700],
    f64 => [701],
    String => [25, 1043, 1042, 19, 705],
    Vec<u8> => [17],
    NaiveDate => [1082],
    NaiveTime => [1083],
    NaiveDateTime => [1114],
    DateTime<Utc> => [1184],
);
#[cfg(all(feature = "postgres", feature = "uuid"))]
pg_oids!(uuid::Uuid => [2950]);
#[cfg(all(feature = "postgres", feature = "json"))]
pg_oids!(serde_json::Value => [114, 3802]);

/// `Decode` for each type and its `Option`, through the driver's own decoder.
macro_rules! decode_fast {
    ($($t:ty),* $(,)?) => {$(
        decode_fast!(@one $t);
        decode_fast!(@one Option<$t>);
    )*};
    (@one $t:ty) => {
        impl Decode for $t {
            #[inline]
            fn decode(row: &Row, index: usize) -> Result<Self> {
                match &row.0 {
                    #[cfg(feature = "postgres")]
                    RowInner::Postgres(r) => decode_pg(row, r, index),
                    #[cfg(feature = "mysql")]
                    RowInner::MySql(r) => decode_driver::<sqlx::MySql, _>(row, r, index),
                    #[cfg(feature = "sqlite")]
                    RowInner::Sqlite(r) => decode_driver::<sqlx::Sqlite, _>(row, r, index),
                    #[cfg(feature = "sqlite")]
                    RowInner::SqliteFast(r) => sqlite_fast::rows::FromCell::from_cell(row, r, index),
                }
            }
        }
    };
}

decode_fast!(
    i16,
    i32,
    i64,
    f32,
    f64,
    String,
    Vec<u8>,
    NaiveDate,
    NaiveDateTime,
    DateTime<Utc>,
);
#[cfg(feature = "uuid")]
decode_fast!(uuid::Uuid);
#[cfg(feature = "json")]
decode_fast!(serde_json::Value);

/// `bool`: MySQL and SQLite store a boolean as an integer, which sqlx reads as `true`
/// whenever it is not 0; there it goes through the [`Value`] path, which reads only 0
/// and 1 (PostgreSQL's BOOLEAN holds nothing else).
macro_rules! decode_bool {
    ($($t:ty),*) => {$(
        impl Decode for $t {
            #[inline]
            fn decode(row: &Row, index: usize) -> Result<Self> {
                match &row.0 {
                    #[cfg(feature = "postgres")]
                    RowInner::Postgres(r) => decode_pg(row, r, index),
                    #[cfg(feature = "mysql")]
                    RowInner::MySql(r) => decode_value_path(row, index, r.value_at(index)?),
                    #[cfg(feature = "sqlite")]
                    RowInner::Sqlite(r) => decode_value_path(row, index, r.value_at(index)?),
                    #[cfg(feature = "sqlite")]
                    RowInner::SqliteFast(r) => sqlite_fast::rows::FromCell::from_cell(row, r, index),
                }
            }
        }
    )*};
}
decode_bool!(bool, Option<bool>);

/// `NaiveTime`: MySQL's TIME is a signed duration, which sqlx would read as a time of day
/// without its sign; there it goes through the checked [`Value`] path.
macro_rules! decode_time {
    ($($t:ty),*) => {$(
        impl Decode for $t {
            #[inline]
            fn decode(row: &Row, index: usize) -> Result<Self> {
                match &row.0 {
                    #[cfg(feature = "postgres")]
                    RowInner::Postgres(r) => decode_pg(row, r, index),
                    #[cfg(feature = "mysql")]
                    RowInner::MySql(r) => decode_value_path(row, index, r.value_at(index)?),
                    #[cfg(feature = "sqlite")]
                    RowInner::Sqlite(r) => decode_driver::<sqlx::Sqlite, _>(row, r, index),
                    #[cfg(feature = "sqlite")]
                    RowInner::SqliteFast(r) => sqlite_fast::rows::FromCell::from_cell(row, r, index),
                }
            }
        }
    )*};
}
decode_time!(NaiveTime, Option<NaiveTime>);
