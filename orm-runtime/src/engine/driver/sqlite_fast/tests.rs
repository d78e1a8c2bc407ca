//! The fast path's connection lifecycle, on a bare connection: statements cached under
//! the lock are finalized before sqlx closes the handle (it panics its worker
//! otherwise, and `close` then fails), on both paths.

use std::sync::Arc;

use sqlx::ConnectOptions as _;

use super::conn::SqliteConn;
use crate::engine::events::Events;
use crate::sql::Compiled;
use crate::value::Value;

async fn open(fast: bool) -> SqliteConn {
    let conn = sqlx::sqlite::SqliteConnectOptions::new()
        .in_memory(true)
        .connect()
        .await
        .unwrap();
    SqliteConn::new(conn, fast)
}

fn stmt(sql: &str, binds: Vec<Value>) -> Compiled {
    Compiled::new(sql, binds)
}

#[tokio::test]
async fn a_connection_with_cached_statements_closes_cleanly_on_both_paths() {
    for fast in [true, false] {
        let mut conn = open(fast).await;
        let echo = Events::new(false);
        crate::engine::exec::RawConn::Sqlite(&mut conn)
            .execute(
                &stmt("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)", vec![]),
                &echo,
            )
            .await
            .unwrap();
        for i in 0..3i64 {
            crate::engine::exec::RawConn::Sqlite(&mut conn)
                .execute(
                    &stmt(
                        "INSERT INTO t (id, name) VALUES (?, ?)",
                        vec![Value::I64(i), Value::Text(format!("n{i}"))],
                    ),
                    &echo,
                )
                .await
                .unwrap();
        }
        let rows = crate::engine::exec::RawConn::Sqlite(&mut conn)
            .fetch_all(&stmt("SELECT name FROM t ORDER BY id", vec![]), &echo)
            .await
            .unwrap();
        let names: Vec<String> = rows.iter().map(|r| r.get(0).unwrap()).collect();
        assert_eq!(names, ["n0", "n1", "n2"]);
        if fast {
            assert_eq!(conn.cached_statements(), 3, "CREATE, INSERT, SELECT");
        } else {
            assert_eq!(conn.cached_statements(), 0);
        }
        // A stream dropped part-way leaves its statement reset, not running.
        {
            let mut rows = crate::engine::exec::RawConn::Sqlite(&mut conn).fetch(
                stmt("SELECT name FROM t ORDER BY id", vec![]),
                Arc::clone(&echo),
            );
            futures_util::StreamExt::next(&mut rows)
                .await
                .unwrap()
                .unwrap();
        }
        conn.close()
            .await
            .expect("closed with no statement left open");
    }
}

#[tokio::test]
async fn the_statement_cache_keeps_at_most_its_capacity_and_stays_right() {
    let mut conn = open(true).await;
    let echo = Events::new(false);
    for i in 0..super::stmt::STATEMENT_CACHE_CAPACITY as i64 + 50 {
        let sql = format!("SELECT {i} + ?");
        let row = crate::engine::exec::RawConn::Sqlite(&mut conn)
            .fetch_optional(&stmt(&sql, vec![Value::I64(1)]), &echo)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.get::<i64>(0).unwrap(), i + 1);
    }
    assert_eq!(
        conn.cached_statements(),
        super::stmt::STATEMENT_CACHE_CAPACITY
    );
    // The oldest were finalized; running one again prepares it again.
    let row = crate::engine::exec::RawConn::Sqlite(&mut conn)
        .fetch_optional(&stmt("SELECT 0 + ?", vec![Value::I64(5)]), &echo)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.get::<i64>(0).unwrap(), 5);
    conn.close().await.unwrap();
}

#[tokio::test]
async fn a_dropped_connection_gives_its_lock_back_before_sqlx_closes_it() {
    let mut conn = open(true).await;
    let echo = Events::new(false);
    crate::engine::exec::RawConn::Sqlite(&mut conn)
        .fetch_all(&stmt("SELECT 1", vec![]), &echo)
        .await
        .unwrap();
    assert_eq!(conn.cached_statements(), 1);
    // Dropped, not closed: the worker thread closes the handle on its own; a
    // statement left open would panic it, which the next line would not see, but the
    // lock would then never be released and this drop would hang.
    drop(conn);
}

/// Every column as a visitor reads it in place and as a collected row reads it from its
/// copy: the same values of every storage class, the same typed reads, the same errors.
#[tokio::test]
async fn a_row_read_in_place_reads_as_its_copy_does() {
    let mut conn = open(true).await;
    let echo = Events::new(false);
    fn raw(conn: &mut SqliteConn) -> crate::engine::exec::RawConn<'_> {
        crate::engine::exec::RawConn::Sqlite(conn)
    }
    raw(&mut conn)
        .execute_script(
            "CREATE TABLE v (i INTEGER, r REAL, t TEXT, b BLOB, n TEXT, flag BOOLEAN, bad TEXT); \
             INSERT INTO v VALUES (7, 2.5, 'héllo', x'00ff', NULL, 1, CAST(x'c328' AS TEXT)); \
             INSERT INTO v VALUES (-1, -0.0, '', x'', NULL, 0, 'fine')",
            &echo,
        )
        .await
        .unwrap();
    let query = stmt(
        "SELECT i, r, t, b, n, flag, bad FROM v ORDER BY i DESC",
        vec![],
    );
    let copied = raw(&mut conn).fetch_all(&query, &echo).await.unwrap();
    let read = |row: &crate::row::Row| {
        (
            (0..7)
                .map(|i| row.value(i).map_err(|e| e.to_string()))
                .collect::<Vec<_>>(),
            (
                row.get::<i64>(0).ok(),
                row.get::<Option<f64>>(1).ok(),
                row.get::<String>(2).ok(),
                row.get::<Vec<u8>>(3).ok(),
                row.get::<Option<String>>(4).ok(),
                row.get::<bool>(5).ok(),
                row.get::<String>(6).map_err(|e| e.to_string()),
                row.get::<i32>(2).map_err(|e| e.to_string()),
            ),
        )
    };
    let mut in_place = Vec::new();
    let visited = raw(&mut conn)
        .fetch_each(&query, &echo, &mut |row| {
            in_place.push(read(row));
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(visited, 2);
    let from_copies: Vec<_> = copied.iter().map(read).collect();
    assert_eq!(in_place, from_copies);
    // The values are the ones stored, and the text that is not UTF-8 is an error
    // naming its column.
    let (values, typed) = &in_place[0];
    assert_eq!(values[2], Ok(Value::Text("héllo".into())));
    assert_eq!(values[3], Ok(Value::Bytes(vec![0, 255])));
    assert_eq!(values[4], Ok(Value::Null));
    assert!(
        typed.6.as_ref().is_err_and(|e| e.contains("bad")),
        "{:?}",
        typed.6
    );
    assert_eq!(in_place[1].1.3, Some(Vec::new()));
}
