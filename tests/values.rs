//! Every `Value` type survives a round trip through every database, NULL and edge
//! values included, read back both as its Rust type and as a `Value`.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc};
use orm::{Error, Value, text};
use rust_decimal::Decimal;

use crate::backend_tests;
use crate::support::{Backend, TestDb, ddl};

backend_tests!(
    arrays_bind_as_one_parameter_on_postgres_and_are_refused_elsewhere,
    every_value_type_round_trips,
    null_round_trips_in_every_column,
    integers_read_as_wider_types_and_bools_from_integers,
    decode_errors_name_column_and_types,
    timestamps_compare_with_current_timestamp,
    an_out_of_range_timestamp_is_an_error_never_null_or_zero,
    non_finite_floats_are_kept_where_the_database_can_and_refused_where_not,
    unsigned_64_bit_values_past_i64_are_read_and_bound_where_the_database_has_them,
    a_leap_second_is_refused_or_kept_never_turned_into_midnight,
    only_0_and_1_read_as_bool_on_every_database,
    times_keep_microseconds_and_drop_finer_digits_on_every_database,
    a_name_two_columns_share_is_ambiguous_not_the_last_one,
    a_null_read_as_f32_suggests_option_f32,
);

async fn create_all_types(db: &TestDb, engine: &orm::Engine) {
    let sql = format!(
        "CREATE TABLE all_types (id INTEGER PRIMARY KEY, b {}, i16v SMALLINT, i32v INTEGER, i64v BIGINT, \
         f32v {}, f64v {}, txt {}, bin {}, d DATE, t {}, dt {}, ts {}, u {}, j {}, num {})",
        ddl(db, "BOOLEAN", "BOOLEAN", "BOOLEAN"),
        ddl(db, "REAL", "REAL", "FLOAT"),
        ddl(db, "DOUBLE PRECISION", "DOUBLE PRECISION", "DOUBLE"),
        ddl(db, "TEXT", "TEXT", "LONGTEXT"),
        ddl(db, "BLOB", "BYTEA", "LONGBLOB"),
        ddl(db, "TIME", "TIME", "TIME(6)"),
        ddl(db, "DATETIME", "TIMESTAMP", "DATETIME(6)"),
        ddl(db, "TIMESTAMP", "TIMESTAMPTZ", "DATETIME(6)"),
        ddl(db, "BLOB", "UUID", "BINARY(16)"),
        ddl(db, "TEXT", "JSONB", "JSON"),
        ddl(db, "TEXT", "NUMERIC(20, 6)", "DECIMAL(20, 6)"),
    );
    engine.execute(text(sql)).await.unwrap();
}

const INSERT: &str = "INSERT INTO all_types (id, b, i16v, i32v, i64v, f32v, f64v, txt, bin, d, t, dt, ts, u, j, num) \
     VALUES (:id, :b, :i16, :i32, :i64, :f32, :f64, :txt, :bin, :d, :t, :dt, :ts, :u, :j, :dec)";

struct Sample {
    id: i64,
    b: bool,
    i16v: i16,
    i32v: i32,
    i64v: i64,
    f32v: f32,
    f64v: f64,
    txt: String,
    bin: Vec<u8>,
    d: NaiveDate,
    t: NaiveTime,
    dt: NaiveDateTime,
    ts: DateTime<FixedOffset>,
    u: uuid::Uuid,
    j: serde_json::Value,
    dec: Decimal,
}

fn samples() -> Vec<Sample> {
    let tz = FixedOffset::east_opt(5 * 3600 + 1800).unwrap();
    vec![
        Sample {
            id: 1,
            b: true,
            i16v: i16::MIN,
            i32v: i32::MIN,
            i64v: i64::MIN,
            f32v: -1.5,
            f64v: f64::MIN_POSITIVE,
            txt: String::new(),
            bin: Vec::new(),
            d: NaiveDate::from_ymd_opt(1970, 1, 1).unwrap(),
            t: NaiveTime::from_hms_opt(0, 0, 0).unwrap(),
            dt: NaiveDate::from_ymd_opt(1999, 12, 31)
                .unwrap()
                .and_hms_micro_opt(23, 59, 59, 999_999)
                .unwrap(),
            ts: tz.with_ymd_and_hms(2024, 2, 29, 12, 30, 0).unwrap(),
            u: uuid::Uuid::nil(),
            j: serde_json::json!({}),
            dec: Decimal::new(-123_456_789, 6),
        },
        Sample {
            id: 2,
            b: false,
            i16v: i16::MAX,
            i32v: i32::MAX,
            i64v: i64::MAX,
            f32v: 3.25,
            f64v: 1.0e300,
            txt:
                "unicode: żółć 日本語 🦀, quotes ' \" `, backslash \\, '; DROP TABLE all_types; --"
                    .into(),
            bin: (0..1_048_576u32).map(|i| (i % 251) as u8).collect(),
            d: NaiveDate::from_ymd_opt(2999, 12, 31).unwrap(),
            t: NaiveTime::from_hms_micro_opt(23, 59, 59, 123_456).unwrap(),
            dt: NaiveDate::from_ymd_opt(2038, 1, 19)
                .unwrap()
                .and_hms_micro_opt(3, 14, 8, 1)
                .unwrap(),
            ts: FixedOffset::west_opt(8 * 3600)
                .unwrap()
                .with_ymd_and_hms(2001, 9, 9, 1, 46, 40)
                .unwrap(),
            u: uuid::Uuid::from_u128(0x0123_4567_89ab_cdef_fedc_ba98_7654_3210),
            j: serde_json::json!({"a": [1, 2.5, "x", null, true], "nested": {"k": "ü"}}),
            dec: Decimal::new(99_999_999_999_999_999, 6),
        },
    ]
}

async fn every_value_type_round_trips(db: &TestDb) {
    let engine = db.engine().await;
    create_all_types(db, &engine).await;
    for s in samples() {
        let done = engine
            .execute(
                text(INSERT)
                    .bind("id", s.id)
                    .bind("b", s.b)
                    .bind("i16", s.i16v)
                    .bind("i32", s.i32v)
                    .bind("i64", s.i64v)
                    .bind("f32", s.f32v)
                    .bind("f64", s.f64v)
                    .bind("txt", s.txt.as_str())
                    .bind("bin", s.bin.clone())
                    .bind("d", s.d)
                    .bind("t", s.t)
                    .bind("dt", s.dt)
                    .bind("ts", s.ts)
                    .bind("u", s.u)
                    .bind("j", s.j.clone())
                    .bind("dec", s.dec),
            )
            .await
            .unwrap();
        assert_eq!(done.rows_affected(), 1);
    }
    for s in samples() {
        let row = engine
            .fetch_one(text("SELECT * FROM all_types WHERE id = :id").bind("id", s.id))
            .await
            .unwrap();
        assert_eq!(row.get::<bool>("b").unwrap(), s.b);
        assert_eq!(row.get::<i16>("i16v").unwrap(), s.i16v);
        assert_eq!(row.get::<i32>("i32v").unwrap(), s.i32v);
        assert_eq!(row.get::<i64>("i64v").unwrap(), s.i64v);
        assert_eq!(row.get::<f32>("f32v").unwrap(), s.f32v);
        assert_eq!(row.get::<f64>("f64v").unwrap(), s.f64v);
        assert_eq!(row.get::<String>("txt").unwrap(), s.txt);
        assert_eq!(row.get::<Vec<u8>>("bin").unwrap(), s.bin);
        assert_eq!(row.get::<NaiveDate>("d").unwrap(), s.d);
        assert_eq!(row.get::<NaiveTime>("t").unwrap(), s.t);
        assert_eq!(row.get::<NaiveDateTime>("dt").unwrap(), s.dt);
        // A zoned timestamp comes back as the same instant, in UTC.
        let ts = row.get::<DateTime<Utc>>("ts").unwrap();
        assert_eq!(ts, s.ts.with_timezone(&Utc));
        assert_eq!(row.get::<DateTime<FixedOffset>>("ts").unwrap(), s.ts);
        assert_eq!(row.get::<uuid::Uuid>("u").unwrap(), s.u);
        assert_eq!(row.get::<serde_json::Value>("j").unwrap(), s.j);
        assert_eq!(row.get::<Decimal>("num").unwrap(), s.dec);

        // The same columns through the dialect-neutral Value, by position.
        let values = row.values().unwrap();
        assert_eq!(values.len(), 16);
        assert_eq!(values[0].clone().to::<i64>().unwrap(), s.id);
        assert_eq!(values[4].clone().to::<i64>().unwrap(), s.i64v);
        assert_eq!(values[7], Value::Text(s.txt.clone()));
        assert_eq!(values[8], Value::Bytes(s.bin.clone()));
    }
    // Binds never change the statement: the hostile string is data, and the table is whole.
    let n: i64 = engine
        .fetch_one(text("SELECT COUNT(*) FROM all_types"))
        .await
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(n, 2);
}

async fn null_round_trips_in_every_column(db: &TestDb) {
    let engine = db.engine().await;
    create_all_types(db, &engine).await;
    let mut stmt = text(INSERT).bind("id", 7);
    for name in [
        "b", "i16", "i32", "i64", "f32", "f64", "txt", "bin", "d", "t", "dt", "ts", "u", "j", "dec",
    ] {
        stmt = stmt.bind(name, Value::Null);
    }
    engine.execute(stmt).await.unwrap();
    let row = engine
        .fetch_one(text("SELECT * FROM all_types WHERE id = 7"))
        .await
        .unwrap();
    assert_eq!(row.get::<Option<bool>>("b").unwrap(), None);
    assert_eq!(row.get::<Option<i64>>("i64v").unwrap(), None);
    assert_eq!(row.get::<Option<String>>("txt").unwrap(), None);
    assert_eq!(row.get::<Option<Vec<u8>>>("bin").unwrap(), None);
    assert_eq!(row.get::<Option<NaiveDateTime>>("dt").unwrap(), None);
    assert_eq!(row.get::<Option<DateTime<Utc>>>("ts").unwrap(), None);
    assert_eq!(row.get::<Option<uuid::Uuid>>("u").unwrap(), None);
    assert_eq!(row.get::<Option<Decimal>>("num").unwrap(), None);
    assert!(row.values().unwrap()[1..].iter().all(Value::is_null));
    // A NULL read as a non-Option type is an error that says what to do.
    let err = row.get::<i64>("i64v").unwrap_err();
    assert!(
        matches!(&err, Error::Decode { column, .. } if column == "i64v"),
        "{err:?}"
    );
    assert!(err.to_string().contains("Option<i64>"), "{err}");

    // The same statement, prepared first with NULLs, then run with typed values.
    let mut stmt = text(INSERT).bind("id", 8);
    for name in [
        "b", "i16", "i32", "i64", "f32", "f64", "txt", "bin", "d", "t", "dt", "ts", "u", "j", "dec",
    ] {
        stmt = stmt.bind(name, Value::Null);
    }
    let stmt = stmt.bind("i64", 5i64).bind("txt", "after null");
    engine.execute(stmt).await.unwrap();
    let row = engine
        .fetch_one(text("SELECT i64v, txt FROM all_types WHERE id = 8"))
        .await
        .unwrap();
    assert_eq!(row.get::<i64>(0).unwrap(), 5);
    assert_eq!(row.get::<String>(1).unwrap(), "after null");
}

async fn integers_read_as_wider_types_and_bools_from_integers(db: &TestDb) {
    let engine = db.engine().await;
    engine
        .execute(text("CREATE TABLE nums (small SMALLINT, flag INTEGER)"))
        .await
        .unwrap();
    engine
        .execute(
            text("INSERT INTO nums VALUES (:s, :f)")
                .bind("s", 300i16)
                .bind("f", 1i32),
        )
        .await
        .unwrap();
    let row = engine
        .fetch_one(text(
            "SELECT small, flag, COUNT(*) AS n FROM nums GROUP BY small, flag",
        ))
        .await
        .unwrap();
    assert_eq!(row.get::<i64>("small").unwrap(), 300);
    assert_eq!(row.get::<i32>("small").unwrap(), 300);
    assert!(row.get::<bool>("flag").unwrap());
    assert_eq!(row.get::<i64>("n").unwrap(), 1);
    assert_eq!(row.get::<u8>("n").unwrap(), 1);
    // Narrowing is checked.
    let err = row.get::<i8>("small").unwrap_err();
    assert!(
        err.to_string().contains("300 is out of range for `i8`"),
        "{err}"
    );
}

async fn decode_errors_name_column_and_types(db: &TestDb) {
    let engine = db.engine().await;
    let row = engine
        .fetch_one(text("SELECT 'ed' AS name, 5 AS id"))
        .await
        .unwrap();
    let err = row.get::<i64>("name").unwrap_err();
    match &err {
        Error::Decode {
            column,
            rust_type,
            sql_type,
            ..
        } => {
            assert_eq!(column, "name");
            assert_eq!(*rust_type, "i64");
            assert!(!sql_type.is_empty());
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    assert!(
        err.to_string()
            .starts_with("cannot decode column `name` of SQL type"),
        "{err}"
    );
    assert!(
        !err.to_string().contains("SQL type NULL"),
        "the value's type is named: {err}"
    );
    let err = row.get::<String>("nope").unwrap_err();
    assert_eq!(
        err.to_string(),
        "no column `nope` in the row; it has: name, id"
    );
    if db.backend == crate::support::Backend::Postgres {
        // A type in a binary format of its own is an error that says how to read it, never
        // bytes passed off as text.
        let row = engine
            .fetch_one(text("SELECT CAST('10.0.0.1' AS inet) AS ip"))
            .await
            .unwrap();
        let err = row.value(0).unwrap_err();
        assert!(err.to_string().contains("cast it in the query"), "{err}");
        assert!(row.get::<String>("ip").is_err());
        let row = engine
            .fetch_one(text("SELECT CAST(CAST('10.0.0.1' AS inet) AS TEXT) AS ip"))
            .await
            .unwrap();
        assert_eq!(row.get::<String>("ip").unwrap(), "10.0.0.1/32");
    }
    if db.backend == crate::support::Backend::MySql {
        // MySQL's TIME is a signed duration: a negative one is an error, not a time of day.
        let row = engine
            .fetch_one(text(
                "SELECT CAST('-01:00:00' AS TIME) AS t, CAST('13:14:15.5' AS TIME(6)) AS u",
            ))
            .await
            .unwrap();
        assert!(
            row.get::<NaiveTime>("t")
                .unwrap_err()
                .to_string()
                .contains("not a time of day")
        );
        assert_eq!(
            row.get::<NaiveTime>("u").unwrap(),
            NaiveTime::from_hms_milli_opt(13, 14, 15, 500).unwrap()
        );
    }
    let row = engine
        .fetch_one(text("SELECT 'ed' AS name, 5 AS id"))
        .await
        .unwrap();
    let err = row.get::<String>(9).unwrap_err();
    assert_eq!(
        err.to_string(),
        "column index 9 is out of range for a row of 2 columns"
    );
}

/// A bound instant and a `CURRENT_TIMESTAMP` default compare as instants (SQLite keeps
/// both as text: they must share one format).
async fn timestamps_compare_with_current_timestamp(db: &TestDb) {
    let engine = db.engine().await;
    let ts = ddl(db, "TIMESTAMP", "TIMESTAMPTZ", "DATETIME(6)");
    let default = ddl(
        db,
        "CURRENT_TIMESTAMP",
        "CURRENT_TIMESTAMP",
        "CURRENT_TIMESTAMP(6)",
    );
    engine
        .execute(text(format!(
            "CREATE TABLE stamped (id INTEGER, at {ts} DEFAULT {default})"
        )))
        .await
        .unwrap();
    engine
        .execute(text("INSERT INTO stamped (id) VALUES (1)"))
        .await
        .unwrap();
    let since = Utc::now() - chrono::Duration::minutes(5);
    let until = Utc::now() + chrono::Duration::minutes(5);
    let n: i64 = engine
        .fetch_one(
            text("SELECT COUNT(*) FROM stamped WHERE at >= :since AND at < :until")
                .bind("since", since)
                .bind("until", until),
        )
        .await
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(n, 1);
    let at: DateTime<Utc> = engine
        .fetch_one(text("SELECT at FROM stamped"))
        .await
        .unwrap()
        .get(0)
        .unwrap();
    assert!(at > since && at < until, "{at}");
}

/// Issue 8: MariaDB stored a `DateTime<Utc>` outside the column's range as NULL (or
/// `0000-00-00`, or the current time in a NOT NULL column) and said `Ok`. Now a value
/// either round-trips exactly or is an error, and nothing is written. The instant
/// column is declared as the DDL declares `TimestampTz` (`DATETIME(6)` on MySQL).
async fn an_out_of_range_timestamp_is_an_error_never_null_or_zero(db: &TestDb) {
    let engine = db.engine().await;
    let instant = orm::schema::SqlType::TimestampTz.ddl(engine.dialect());
    let naive = orm::schema::SqlType::DateTime.ddl(engine.dialect());
    engine
        .execute(text(format!(
            "CREATE TABLE far (id INTEGER, ts {instant}, dt {naive}, d DATE)"
        )))
        .await
        .unwrap();
    let y10k = NaiveDate::from_ymd_opt(10000, 1, 2).unwrap();
    let cases: [(&str, Value); 3] = [
        ("ts", y10k.and_hms_opt(3, 4, 5).unwrap().and_utc().into()),
        ("dt", y10k.and_hms_opt(3, 4, 5).unwrap().into()),
        ("d", y10k.into()),
    ];
    for (id, (column, value)) in cases.into_iter().enumerate() {
        let done = engine
            .execute(
                text(format!("INSERT INTO far (id, {column}) VALUES (:id, :v)"))
                    .bind("id", id as i64)
                    .bind("v", value.clone()),
            )
            .await;
        match (db.backend, done) {
            // PostgreSQL's timestamps reach year 294276; SQLite stores text.
            (Backend::Postgres | Backend::Sqlite, Ok(_)) => {
                let back = engine
                    .fetch_one(
                        text(format!("SELECT {column} FROM far WHERE id = :id"))
                            .bind("id", id as i64),
                    )
                    .await
                    .unwrap();
                let back = match &value {
                    Value::DateTimeUtc(_) => Value::DateTimeUtc(back.get(0).unwrap()),
                    Value::DateTime(_) => Value::DateTime(back.get(0).unwrap()),
                    _ => Value::Date(back.get(0).unwrap()),
                };
                assert_eq!(back, value, "{column}");
            }
            (Backend::MySql, Err(err)) => {
                assert!(matches!(err, Error::Bind { index: 2, .. }), "{err:?}");
                assert!(err.to_string().contains("1000 to 9999"), "{err}");
            }
            (backend, other) => panic!("{backend:?} {column}: {other:?}"),
        }
    }
    if db.backend == Backend::MySql {
        let n: i64 = engine
            .fetch_one(text("SELECT COUNT(*) FROM far"))
            .await
            .unwrap()
            .get(0)
            .unwrap();
        assert_eq!(n, 0, "nothing was written");
        // A TIMESTAMP column the user declared holds 1970 to 2038: the server refuses
        // 2050 naming the column (strict mode, the default), rather than storing NULL
        // or, in a NOT NULL column, the current time.
        engine
            .execute(text(
                "CREATE TABLE stamps (id INTEGER, ts TIMESTAMP NULL, \
                 tsn TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))",
            ))
            .await
            .unwrap();
        let y2050 = Utc.with_ymd_and_hms(2050, 1, 1, 0, 0, 0).unwrap();
        for column in ["ts", "tsn"] {
            let err = engine
                .execute(
                    text(format!("INSERT INTO stamps (id, {column}) VALUES (1, :v)"))
                        .bind("v", y2050),
                )
                .await
                .unwrap_err();
            assert!(
                err.to_string().contains(&format!("`{column}`")),
                "names the column: {err}"
            );
        }
        let n: i64 = engine
            .fetch_one(text("SELECT COUNT(*) FROM stamps"))
            .await
            .unwrap()
            .get(0)
            .unwrap();
        assert_eq!(n, 0, "nothing was written");
        // In range, an instant still round-trips through a TIMESTAMP column.
        let y2030 = Utc.with_ymd_and_hms(2030, 6, 7, 8, 9, 10).unwrap();
        engine
            .execute(text("INSERT INTO stamps (id, ts) VALUES (2, :v)").bind("v", y2030))
            .await
            .unwrap();
        let back: DateTime<Utc> = engine
            .fetch_one(text("SELECT ts FROM stamps WHERE id = 2"))
            .await
            .unwrap()
            .get(0)
            .unwrap();
        assert_eq!(back, y2030);
    }
}

/// Issue 8: SQLite stored NaN as NULL and said `Ok`. PostgreSQL keeps NaN and both
/// infinities; SQLite keeps the infinities and refuses NaN; MySQL has neither and
/// refuses all three, saying which database cannot store what.
async fn non_finite_floats_are_kept_where_the_database_can_and_refused_where_not(db: &TestDb) {
    let engine = db.engine().await;
    let double = ddl(db, "REAL", "DOUBLE PRECISION", "DOUBLE");
    let single = ddl(db, "REAL", "REAL", "FLOAT");
    engine
        .execute(text(format!(
            "CREATE TABLE floats (id INTEGER, d {double}, s {single})"
        )))
        .await
        .unwrap();
    let mut id = 0i64;
    for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        #[allow(clippy::cast_possible_truncation)] // NaN and infinities convert exactly
        let values = [("d", Value::F64(x)), ("s", Value::F32(x as f32))];
        for (column, v) in values {
            id += 1;
            let done = engine
                .execute(
                    text(format!(
                        "INSERT INTO floats (id, {column}) VALUES (:id, :v)"
                    ))
                    .bind("id", id)
                    .bind("v", v.clone()),
                )
                .await;
            let kept = match db.backend {
                Backend::Postgres => true,
                Backend::Sqlite => !x.is_nan(),
                Backend::MySql => false,
            };
            if !kept {
                let err = done.unwrap_err();
                assert!(matches!(err, Error::Bind { index: 2, .. }), "{err:?}");
                let why = if db.backend == Backend::Sqlite {
                    "SQLite cannot store NaN"
                } else {
                    "MySQL and MariaDB cannot store"
                };
                assert!(err.to_string().contains(why), "{err}");
                continue;
            }
            done.unwrap();
            let back: f64 = engine
                .fetch_one(
                    text(format!("SELECT {column} FROM floats WHERE id = :id")).bind("id", id),
                )
                .await
                .unwrap()
                .get(0)
                .unwrap();
            assert!(
                back == x || (back.is_nan() && x.is_nan()),
                "{column}: stored {x}, read {back}"
            );
        }
    }
    let stored: i64 = engine
        .fetch_one(text("SELECT COUNT(*) FROM floats"))
        .await
        .unwrap()
        .get(0)
        .unwrap();
    let expected = match db.backend {
        Backend::Postgres => 6,
        Backend::Sqlite => 4,
        Backend::MySql => 0,
    };
    assert_eq!(stored, expected, "refused values wrote nothing");
}

/// Issue 8: MariaDB `BIGINT UNSIGNED` values of 2^63 and more could not be read as
/// `u64`, and such a generated id saturated to `i64::MAX`. They are `Value::U64` now;
/// PostgreSQL and SQLite, whose integers are signed, refuse to bind one.
async fn unsigned_64_bit_values_past_i64_are_read_and_bound_where_the_database_has_them(
    db: &TestDb,
) {
    let engine = db.engine().await;
    // Small unsigned values are ordinary integers everywhere.
    let five: u64 = engine
        .fetch_one(text("SELECT :v + 0").bind("v", 5u64))
        .await
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(five, 5);
    let big = (1u64 << 63) + 5;
    if db.backend != Backend::MySql {
        let err = engine
            .execute(text("SELECT :v").bind("v", u64::MAX))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Bind {
                    index: 1,
                    value_type: "u64",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .contains("does not fit in a signed 64-bit integer"),
            "{err}"
        );
        return;
    }
    engine
        .execute(text(format!(
            "CREATE TABLE unsigned_ids (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, \
             v BIGINT UNSIGNED) AUTO_INCREMENT = {big}"
        )))
        .await
        .unwrap();
    let done = engine
        .execute(text("INSERT INTO unsigned_ids (v) VALUES (:v)").bind("v", u64::MAX))
        .await
        .unwrap();
    assert_eq!(done.last_insert_value(), Some(&Value::U64(big)));
    assert_eq!(done.last_insert_id(), None, "not saturated to i64::MAX");
    let row = engine
        .fetch_one(text("SELECT id, v FROM unsigned_ids WHERE v = :v").bind("v", u64::MAX))
        .await
        .unwrap();
    assert_eq!(row.get::<u64>("id").unwrap(), big);
    assert_eq!(row.get::<u64>("v").unwrap(), u64::MAX);
    assert_eq!(row.value("v").unwrap(), Value::U64(u64::MAX));
    let err = row.get::<i64>("v").unwrap_err();
    assert!(err.to_string().contains("out of range for `i64`"), "{err}");
    // Below 2^63 an unsigned column reads as an ordinary integer value.
    engine
        .execute(text("INSERT INTO unsigned_ids (id, v) VALUES (1, 7)"))
        .await
        .unwrap();
    let row = engine
        .fetch_one(text("SELECT v FROM unsigned_ids WHERE id = 1"))
        .await
        .unwrap();
    assert_eq!(row.value(0).unwrap(), Value::I64(7));
    assert_eq!(row.get::<i64>(0).unwrap(), 7);
}

/// Issue 8: MariaDB stored `23:59:60.5` (chrono's leap second) as `00:00:00`, and
/// PostgreSQL a leap-second timestamp as the next day's `00:00:00.5`. Both refuse it
/// now, as PostgreSQL's server refuses a leap-second TIME; SQLite, which keeps the
/// text, returns it as it was.
async fn a_leap_second_is_refused_or_kept_never_turned_into_midnight(db: &TestDb) {
    let engine = db.engine().await;
    let time = orm::schema::SqlType::Time.ddl(engine.dialect());
    let naive = orm::schema::SqlType::DateTime.ddl(engine.dialect());
    let instant = orm::schema::SqlType::TimestampTz.ddl(engine.dialect());
    engine
        .execute(text(format!(
            "CREATE TABLE leaps (id INTEGER, t {time}, dt {naive}, ts {instant})"
        )))
        .await
        .unwrap();
    let leap = NaiveTime::from_hms_nano_opt(23, 59, 59, 1_500_000_000).unwrap();
    let day = NaiveDate::from_ymd_opt(2016, 12, 31).unwrap();
    let cases: [(&str, Value); 3] = [
        ("t", leap.into()),
        ("dt", day.and_time(leap).into()),
        ("ts", day.and_time(leap).and_utc().into()),
    ];
    for (id, (column, value)) in cases.into_iter().enumerate() {
        let done = engine
            .execute(
                text(format!("INSERT INTO leaps (id, {column}) VALUES (:id, :v)"))
                    .bind("id", id as i64)
                    .bind("v", value.clone()),
            )
            .await;
        match (db.backend, done) {
            (Backend::MySql, Err(err)) => {
                assert!(matches!(err, Error::Bind { index: 2, .. }), "{err:?}");
                assert!(err.to_string().contains("leap second"), "{err}");
            }
            // The server refuses a TIME; a timestamp, which sqlx would send as the next
            // day's 00:00:00.5, is refused before it is sent.
            (Backend::Postgres, Err(err)) if column == "t" => {
                let db_err = err.as_database_error().expect("the server refuses it");
                assert_eq!(db_err.code.as_deref(), Some("22008"), "{err}");
            }
            (Backend::Postgres, Err(err)) => {
                assert!(matches!(err, Error::Bind { index: 2, .. }), "{err:?}");
                assert!(err.to_string().contains("leap second"), "{err}");
            }
            (Backend::Sqlite, Ok(_)) => {
                let row = engine
                    .fetch_one(
                        text(format!("SELECT {column} FROM leaps WHERE id = :id"))
                            .bind("id", id as i64),
                    )
                    .await
                    .unwrap();
                let back = match &value {
                    Value::Time(_) => Value::Time(row.get(0).unwrap()),
                    Value::DateTime(_) => Value::DateTime(row.get(0).unwrap()),
                    _ => Value::DateTimeUtc(row.get(0).unwrap()),
                };
                assert_eq!(back, value, "{column}");
            }
            (backend, other) => panic!("{backend:?} {column}: {other:?}"),
        }
    }
    if db.backend != Backend::Sqlite {
        let n: i64 = engine
            .fetch_one(text("SELECT COUNT(*) FROM leaps"))
            .await
            .unwrap()
            .get(0)
            .unwrap();
        assert_eq!(n, 0, "nothing was written");
    }
}

/// Issue 8: `2` read as `bool` was `true` on MySQL and SQLite but an error on
/// PostgreSQL. One rule now: a boolean, or the integer 0 or 1; any other integer is an
/// error naming it, also in a BOOLEAN column of MySQL (TINYINT(1)) or SQLite, which
/// can hold one.
async fn only_0_and_1_read_as_bool_on_every_database(db: &TestDb) {
    let engine = db.engine().await;
    let row = engine
        .fetch_one(text("SELECT 0 AS f, 1 AS t, 2 AS two, NULL AS n"))
        .await
        .unwrap();
    assert!(!row.get::<bool>("f").unwrap());
    assert!(row.get::<bool>("t").unwrap());
    assert_eq!(row.get::<Option<bool>>("n").unwrap(), None);
    for err in [
        row.get::<bool>("two").unwrap_err(),
        row.get::<Option<bool>>("two").map(|_| ()).unwrap_err(),
    ] {
        assert!(matches!(err, Error::Decode { .. }), "{err:?}");
        assert!(err.to_string().contains("2 is not a boolean"), "{err}");
    }
    if db.backend == Backend::Postgres {
        return; // A PostgreSQL BOOLEAN holds true and false only.
    }
    engine
        .execute(text("CREATE TABLE flags (id INTEGER, b BOOLEAN)"))
        .await
        .unwrap();
    engine
        .execute(text("INSERT INTO flags VALUES (1, 1), (2, 0), (3, 2)"))
        .await
        .unwrap();
    let rows = engine
        .fetch_all(text("SELECT b FROM flags ORDER BY id"))
        .await
        .unwrap();
    assert!(rows[0].get::<bool>(0).unwrap());
    assert!(!rows[1].get::<bool>(0).unwrap());
    assert_eq!(rows[0].value(0).unwrap(), Value::Bool(true));
    let err = rows[2].get::<bool>(0).unwrap_err();
    assert!(err.to_string().contains("2 is not a boolean"), "{err}");
    // Read as a value it is the integer it is.
    assert_eq!(rows[2].get::<i64>(0).unwrap(), 2);
}

/// Issue 8: nanoseconds were dropped silently by PostgreSQL and MySQL but kept by
/// SQLite. The rule, the same everywhere: times and timestamps keep microseconds, and
/// finer digits are dropped (truncated, never rounded) when bound, so a value reads
/// back, and finds its row, alike on every database.
async fn times_keep_microseconds_and_drop_finer_digits_on_every_database(db: &TestDb) {
    let engine = db.engine().await;
    let time = orm::schema::SqlType::Time.ddl(engine.dialect());
    let naive = orm::schema::SqlType::DateTime.ddl(engine.dialect());
    let instant = orm::schema::SqlType::TimestampTz.ddl(engine.dialect());
    engine
        .execute(text(format!(
            "CREATE TABLE fine (id INTEGER, t {time}, dt {naive}, ts {instant})"
        )))
        .await
        .unwrap();
    let cases = [
        (2024, 5, 6, 7, 8, 9, 123_456_789),
        // Before PostgreSQL's epoch (2000-01-01) too.
        (1999, 12, 31, 23, 59, 59, 999_999_999),
    ];
    for (id, (y, mo, d, h, mi, s, nanos)) in cases.into_iter().enumerate() {
        let t = NaiveTime::from_hms_nano_opt(h, mi, s, nanos).unwrap();
        let dt = NaiveDate::from_ymd_opt(y, mo, d).unwrap().and_time(t);
        let ts = dt.and_utc();
        engine
            .execute(
                text("INSERT INTO fine VALUES (:id, :t, :dt, :ts)")
                    .bind("id", id as i64)
                    .bind("t", t)
                    .bind("dt", dt)
                    .bind("ts", ts),
            )
            .await
            .unwrap();
        let micros = |n: u32| n / 1_000 * 1_000;
        let row = engine
            .fetch_one(
                text("SELECT t, dt, ts FROM fine WHERE dt = :dt AND ts = :ts")
                    .bind("dt", dt)
                    .bind("ts", ts),
            )
            .await
            .unwrap();
        let (t2, dt2, ts2): (NaiveTime, NaiveDateTime, DateTime<Utc>) = row.decode().unwrap();
        assert_eq!(t2, t.with_nanosecond(micros(nanos)).unwrap());
        assert_eq!(dt2, dt.with_nanosecond(micros(nanos)).unwrap());
        assert_eq!(ts2, ts.with_nanosecond(micros(nanos)).unwrap());
    }
}

/// Issue 8: `get("a")` on a row with two columns named `a` returned the last one. It is
/// an error naming the positions now (SQLAlchemy's rule); by position both read.
async fn a_name_two_columns_share_is_ambiguous_not_the_last_one(db: &TestDb) {
    let engine = db.engine().await;
    let row = engine
        .fetch_one(text("SELECT 1 AS a, 2 AS b, 3 AS a"))
        .await
        .unwrap();
    let err = row.get::<i64>("a").unwrap_err();
    match &err {
        Error::AmbiguousColumn { column, positions } => {
            assert_eq!((column.as_str(), positions.as_slice()), ("a", &[0, 2][..]));
        }
        other => panic!("expected AmbiguousColumn, got {other:?}"),
    }
    assert!(err.to_string().contains("positions 0, 2"), "{err}");
    assert!(row.value("a").is_err());
    assert_eq!(row.get::<i64>("b").unwrap(), 2);
    assert_eq!(
        (row.get::<i64>(0).unwrap(), row.get::<i64>(2).unwrap()),
        (1, 3)
    );
}

/// Issue 8: reading NULL as `f32` suggested `Option<f64>`.
async fn a_null_read_as_f32_suggests_option_f32(db: &TestDb) {
    let engine = db.engine().await;
    let real = ddl(db, "REAL", "REAL", "FLOAT");
    engine
        .execute(text(format!("CREATE TABLE reals (x {real})")))
        .await
        .unwrap();
    engine
        .execute(text("INSERT INTO reals VALUES (NULL)"))
        .await
        .unwrap();
    let row = engine.fetch_one(text("SELECT x FROM reals")).await.unwrap();
    let err = row.get::<f32>(0).unwrap_err();
    assert!(err.to_string().contains("`Option<f32>`"), "{err}");
    assert_eq!(row.get::<Option<f32>>(0).unwrap(), None);
}

/// `Value::Array`: one parameter on PostgreSQL (`= ANY($1)`, NULL elements and an empty
/// array included); elements of mixed types are a bind error; MySQL and SQLite, which
/// have no arrays, refuse it before anything is sent.
async fn arrays_bind_as_one_parameter_on_postgres_and_are_refused_elsewhere(db: &TestDb) {
    let engine = db.engine().await;
    let ints = Value::Array(vec![Value::I64(1), Value::Null, Value::I64(3)]);
    if db.backend != Backend::Postgres {
        let err = engine
            .execute(text("SELECT :a").bind("a", ints))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Bind {
                    index: 1,
                    value_type: "array",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("no array parameters"), "{err}");
        return;
    }
    let count = |sql: &'static str, v: Value| {
        let engine = engine.clone();
        async move {
            engine
                .fetch_one(text(sql).bind("a", v))
                .await
                .map(|r| r.get::<i64>(0).unwrap())
        }
    };
    let sql = "SELECT COUNT(*) FROM generate_series(1, 5) AS g(x) WHERE x = ANY(:a)";
    assert_eq!(count(sql, ints).await.unwrap(), 2);
    assert_eq!(count(sql, Value::Array(vec![])).await.unwrap(), 0);
    let words = Value::Array(vec![Value::Text("b".into()), Value::Text("z".into())]);
    let sql_text = "SELECT COUNT(*) FROM (VALUES ('a'), ('b'), ('c')) AS t(w) WHERE w = ANY(:a)";
    assert_eq!(count(sql_text, words).await.unwrap(), 1);
    let mixed = Value::Array(vec![Value::I64(1), Value::Text("x".into())]);
    let err = count(sql, mixed).await.unwrap_err();
    assert!(err.to_string().contains("one type"), "{err}");
    // A leap second in an array is refused as in a single timestamp (PostgreSQL would
    // store it one second on).
    let leap = NaiveDate::from_ymd_opt(2016, 12, 31)
        .unwrap()
        .and_hms_nano_opt(23, 59, 59, 1_500_000_000)
        .unwrap();
    let err = engine
        .execute(
            text("SELECT :a::timestamp[]").bind("a", Value::Array(vec![Value::DateTime(leap)])),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Bind { index: 1, .. }), "{err:?}");
    assert!(err.to_string().contains("leap second"), "{err}");
}
