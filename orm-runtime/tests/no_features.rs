//! Reads that must work with the crate's default (no optional) features, run by CI as
//! `cargo test -p orm-runtime --test no_features` (alone, so that no other package
//! turns `decimal` on). Uses PostgreSQL when `ORM_TEST_POSTGRES_URL` is set.

use orm_runtime::{Value, create_engine, text};

/// PostgreSQL `NUMERIC` results (`avg`, `sum(bigint)`, declared columns) read as their
/// exact text without `rust_decimal`, and as numbers where asked.
#[tokio::test]
async fn postgres_numeric_reads_without_the_decimal_feature() {
    let Some(url) = std::env::var("ORM_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        assert!(
            std::env::var_os("CI").is_none(),
            "ORM_TEST_POSTGRES_URL must be set on CI"
        );
        eprintln!("skipped: ORM_TEST_POSTGRES_URL is not set");
        return;
    };
    let engine = create_engine(&url).await.unwrap();
    let row = engine
        .fetch_one(
            text(
                "SELECT avg(x) AS avg, sum(x) AS sum, CAST(:big AS NUMERIC(30, 4)) AS big, \
             CAST(:small AS NUMERIC) AS small, CAST('NaN' AS NUMERIC) AS nan, \
             CAST(NULL AS NUMERIC) AS none \
             FROM (VALUES (CAST(1 AS BIGINT)), (2), (2)) AS t(x)",
            )
            .bind("big", "-12345678901234567890123.4500")
            .bind("small", "0.000001230"),
        )
        .await
        .unwrap();
    assert_eq!(row.get::<String>("avg").unwrap(), "1.6666666666666667");
    assert!((row.get::<f64>("avg").unwrap() - 5.0 / 3.0).abs() < 1e-15);
    assert_eq!(row.get::<i64>("sum").unwrap(), 5);
    assert_eq!(row.get::<f64>("sum").unwrap(), 5.0);
    assert_eq!(row.get::<String>("sum").unwrap(), "5");
    let err = row.get::<i64>("avg").unwrap_err().to_string();
    assert!(err.contains("cannot decode column `avg`"), "{err}");
    // rust_decimal has no NaN: read as text with the feature too.
    assert!(row.get::<f64>("nan").unwrap().is_nan());
    assert_eq!(row.get::<String>("nan").unwrap(), "NaN");
    assert_eq!(
        row.get::<String>("big").unwrap(),
        "-12345678901234567890123.4500"
    );
    assert_eq!(row.get::<String>("small").unwrap(), "0.000001230");
    assert_eq!(row.get::<Option<String>>("none").unwrap(), None);
    #[cfg(not(feature = "decimal"))]
    {
        assert_eq!(
            row.get::<Value>("avg").unwrap(),
            Value::Text("1.6666666666666667".into())
        );
        assert_eq!(row.get::<Value>("sum").unwrap(), Value::Text("5".into()));
        assert!(err.contains("has a fractional part"), "{err}");
    }
    assert_eq!(row.get::<Value>("none").unwrap(), Value::Null);
    engine.close().await;
}
