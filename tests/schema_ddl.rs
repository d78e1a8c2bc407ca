//! DDL from `MetaData`: `create_all` / `drop_all` in foreign-key order, cycles broken
//! with `ALTER TABLE`, `checkfirst`, transactional DDL, naming conventions, reserved
//! and mixed-case identifiers, and a round trip through reflection of a schema that
//! uses every `SqlType` and every kind of constraint.

use orm::schema::{
    CheckConstraint, Column, ForeignKey, Index, MetaData, NamingConvention, ReferentialAction,
    SqlType, Table, UniqueConstraint,
};
use orm::{Engine, Error, text};

use crate::backend_tests;
use crate::support::compare::{assert_same_metadata, assert_same_table};
use crate::support::{Backend, TestDb};

backend_tests!(
    create_all_then_reflect_round_trips_every_type_and_constraint,
    created_tables_enforce_keys_defaults_and_checks,
    checkfirst_skips_existing_tables_on_create_and_missing_ones_on_drop,
    ddl_runs_in_one_transaction_where_the_database_allows,
    drop_all_drops_cycles_with_rows_in_them,
    unnamed_keys_in_a_cycle_are_added_by_alter_and_found_again_to_drop,
    reserved_words_and_mixed_case_identifiers_survive,
    schema_qualified_tables_round_trip,
    a_cycle_no_use_alter_breaks_is_named_by_strict_sorting,
    bad_definitions_fail_before_touching_the_database,
    long_or_nul_identifiers_are_refused_in_ddl_and_in_every_statement,
);

fn per_dialect(db: &TestDb, sqlite: &str, postgres: &str, mysql: &str) -> String {
    match db.backend {
        Backend::Sqlite => sqlite.to_owned(),
        Backend::Postgres => postgres.to_owned(),
        Backend::MySql => mysql.to_owned(),
    }
}

/// A shop: every type, a self-reference, a composite key and a composite foreign key
/// with cascades, unique and check constraints, indexes, server defaults, comments, and
/// a two-table cycle (department <-> employee).
fn shop(db: &TestDb) -> MetaData {
    let everything = Table::new("everything")
        .comment("one column per SqlType")
        .column(Column::new("id", SqlType::BigInt).primary_key())
        .column(Column::new("c_smallint", SqlType::SmallInt))
        .column(Column::new("c_integer", SqlType::Integer).server_default("0"))
        .column(Column::new("c_bigint", SqlType::BigInt))
        .column(Column::new("c_float", SqlType::Float))
        .column(Column::new("c_double", SqlType::Double))
        .column(Column::new("c_numeric", SqlType::numeric(12, 3)).server_default("1.5"))
        .column(Column::new(
            "c_numeric_any",
            SqlType::Numeric {
                precision: None,
                scale: None,
            },
        ))
        .column(
            Column::new("c_varchar", SqlType::varchar(40))
                .not_null()
                .server_default("'draft'"),
        )
        .column(Column::new("c_varchar_any", SqlType::Varchar(None)))
        .column(Column::new("c_text", SqlType::Text).comment("free text, it's long"))
        .column(
            Column::new("c_bool", SqlType::Boolean)
                .not_null()
                .server_default(per_dialect(db, "0", "false", "0")),
        )
        .column(Column::new("c_date", SqlType::Date))
        .column(Column::new("c_time", SqlType::Time))
        .column(
            Column::new("c_datetime", SqlType::DateTime).server_default(per_dialect(
                db,
                "CURRENT_TIMESTAMP",
                "CURRENT_TIMESTAMP",
                "CURRENT_TIMESTAMP(6)",
            )),
        )
        .column(Column::new("c_tstz", SqlType::TimestampTz))
        .column(Column::new("c_blob", SqlType::Blob))
        .column(Column::new("c_uuid", SqlType::Uuid))
        .column(Column::new("c_json", SqlType::Json))
        .column(Column::new(
            "c_enum",
            SqlType::enumeration("mood", ["happy", "sad", "it's complicated"]),
        ))
        .column(Column::new("c_custom", SqlType::Custom("CHAR(3)".into())));
    let customer = Table::new("customer")
        .sqlite_autoincrement(true)
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(
            Column::new("name", SqlType::varchar(50))
                .not_null()
                .unique(),
        )
        .column(Column::new("email", SqlType::varchar(100)).index())
        .column(Column::new("referrer_id", SqlType::Integer))
        .foreign_key(
            ForeignKey::new(["referrer_id"], "customer", ["id"])
                .on_delete(ReferentialAction::SetNull),
        );
    let invoice = Table::new("invoice")
        .column(Column::new("customer_id", SqlType::Integer))
        .column(Column::new("number", SqlType::Integer))
        .column(Column::new("issued", SqlType::Date).not_null())
        .column(
            Column::new("total", SqlType::numeric(10, 2))
                .not_null()
                .server_default("0"),
        )
        .primary_key(["customer_id", "number"])
        .primary_key_name("invoice_pkey")
        .foreign_key(
            ForeignKey::new(["customer_id"], "customer", ["id"])
                .on_delete(ReferentialAction::Cascade),
        )
        .check(CheckConstraint::new("number > 0").name("invoice_number_positive"))
        .check(CheckConstraint::new("total >= 0"));
    let line = Table::new("invoice_line")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("customer_id", SqlType::Integer).not_null())
        .column(Column::new("invoice_number", SqlType::Integer).not_null())
        .column(Column::new("position", SqlType::SmallInt).not_null())
        .column(
            Column::new("quantity", SqlType::Integer)
                .not_null()
                .server_default("1"),
        )
        .foreign_key(
            ForeignKey::new(
                ["customer_id", "invoice_number"],
                "invoice",
                ["customer_id", "number"],
            )
            .on_delete(ReferentialAction::Cascade)
            .on_update(ReferentialAction::Cascade),
        )
        .unique(UniqueConstraint::new([
            "customer_id",
            "invoice_number",
            "position",
        ]))
        .index(Index::new(["invoice_number", "position"]))
        .index(Index::new(["quantity", "id"]).unique());
    let department = Table::new("department")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("name", SqlType::varchar(50)).not_null())
        .column(Column::new("manager_id", SqlType::Integer))
        .foreign_key(ForeignKey::new(["manager_id"], "employee", ["id"]));
    let employee = Table::new("employee")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("name", SqlType::varchar(50)).not_null())
        .column(Column::new("department_id", SqlType::Integer))
        .column(Column::new("boss_id", SqlType::Integer))
        .foreign_key(ForeignKey::new(["department_id"], "department", ["id"]))
        .foreign_key(ForeignKey::new(["boss_id"], "employee", ["id"]));
    // Children first, so the sort has work to do.
    MetaData::new()
        .naming_convention(NamingConvention::default_sqlalchemy_style())
        .with_table(line)
        .with_table(invoice)
        .with_table(everything)
        .with_table(customer)
        .with_table(employee)
        .with_table(department)
}

async fn table_names(engine: &Engine) -> Vec<String> {
    engine.inspect().await.unwrap().table_names().to_vec()
}

async fn create_all_then_reflect_round_trips_every_type_and_constraint(db: &TestDb) {
    let engine = db.engine().await;
    let md = shop(db);
    let order: Vec<_> = md.sorted_tables().iter().map(|t| t.name.clone()).collect();
    assert_eq!(
        order,
        [
            "everything",
            "customer",
            "invoice",
            "invoice_line",
            "employee",
            "department"
        ]
    );
    md.create_all(&engine).await.unwrap();

    let reflected = MetaData::reflect(&engine).await.unwrap();
    assert_same_metadata(db.dialect(), &md, &reflected);

    // The cycle's keys exist, under the convention's names.
    let insp = engine.inspect().await.unwrap();
    let dept_fk = &insp.foreign_keys("department").await.unwrap()[0];
    assert_eq!(
        dept_fk.name.as_deref(),
        Some("fk_department_manager_id_employee")
    );
    assert_eq!(dept_fk.referred_table, "employee");
    let emp_fks = insp.foreign_keys("employee").await.unwrap();
    assert_eq!(emp_fks.len(), 2, "{emp_fks:?}");

    // The reflected metadata is enough to drop everything, in a valid order.
    reflected.drop_all(&engine).await.unwrap();
    assert!(table_names(&engine).await.is_empty());
    // And to create it again, the same.
    reflected.create_all(&engine).await.unwrap();
    let again = MetaData::reflect(&engine).await.unwrap();
    for t in reflected.tables() {
        assert_same_table(db.dialect(), t, &again.table(&t.name).unwrap());
    }
    md.drop_all(&engine).await.unwrap();
    assert!(table_names(&engine).await.is_empty());
}

async fn created_tables_enforce_keys_defaults_and_checks(db: &TestDb) {
    let engine = db.engine().await;
    let md = shop(db);
    md.create_all(&engine).await.unwrap();

    // Autoincrement keys and server defaults.
    for name in ["ed", "wendy"] {
        engine
            .execute(text("INSERT INTO customer (name) VALUES (:n)").bind("n", name))
            .await
            .unwrap();
    }
    let ids: Vec<i64> = engine
        .fetch_all(text("SELECT id FROM customer ORDER BY id"))
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0).unwrap())
        .collect();
    assert_eq!(ids, [1, 2]);
    engine
        .execute(text("INSERT INTO everything (c_enum) VALUES ('sad')"))
        .await
        .unwrap();
    let row = engine
        .fetch_one(text(
            "SELECT id, c_varchar, c_integer, c_bool, c_datetime FROM everything",
        ))
        .await
        .unwrap();
    assert_eq!(row.get::<i64>("id").unwrap(), 1);
    assert_eq!(row.get::<String>("c_varchar").unwrap(), "draft");
    assert_eq!(row.get::<i64>("c_integer").unwrap(), 0);
    assert!(!row.get::<bool>("c_bool").unwrap());
    assert!(
        row.get::<Option<chrono::NaiveDateTime>>("c_datetime")
            .unwrap()
            .is_some()
    );

    // The enum's CHECK refuses other values.
    let err = engine
        .execute(text("INSERT INTO everything (c_enum) VALUES ('angry')"))
        .await
        .unwrap_err();
    assert!(err.is_check_violation(), "{err}");
    assert_eq!(
        err.as_database_error().unwrap().constraint.as_deref(),
        Some("ck_everything_mood"),
        "{err}"
    );

    // Unique constraint from a column flag.
    let err = engine
        .execute(text("INSERT INTO customer (name) VALUES ('ed')"))
        .await
        .unwrap_err();
    assert!(err.is_unique_violation(), "{err}");

    // Composite foreign key with ON UPDATE / ON DELETE CASCADE, two levels down.
    engine
        .execute_script(
            "INSERT INTO invoice (customer_id, number, issued) VALUES (1, 1, '2024-01-02'); \
             INSERT INTO invoice_line (customer_id, invoice_number, position) VALUES (1, 1, 1); \
             INSERT INTO invoice_line (customer_id, invoice_number, position) VALUES (1, 1, 2)",
        )
        .await
        .unwrap();
    let err = engine
        .execute(text(
            "INSERT INTO invoice_line (customer_id, invoice_number, position) VALUES (1, 9, 1)",
        ))
        .await
        .unwrap_err();
    assert!(err.is_foreign_key_violation(), "{err}");
    let err = engine
        .execute(text(
            "INSERT INTO invoice (customer_id, number, issued) VALUES (1, 0, '2024-01-02')",
        ))
        .await
        .unwrap_err();
    assert!(err.as_database_error().is_some(), "{err}");
    engine
        .execute(text(
            "UPDATE invoice SET number = 7 WHERE customer_id = 1 AND number = 1",
        ))
        .await
        .unwrap();
    let moved: i64 = engine
        .fetch_one(text(
            "SELECT COUNT(*) FROM invoice_line WHERE invoice_number = 7",
        ))
        .await
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(moved, 2);
    engine
        .execute(text("UPDATE customer SET referrer_id = 1 WHERE id = 2"))
        .await
        .unwrap();
    engine
        .execute(text("DELETE FROM customer WHERE id = 1"))
        .await
        .unwrap();
    let left: i64 = engine
        .fetch_one(text("SELECT COUNT(*) FROM invoice_line"))
        .await
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(left, 0);
    // ON DELETE SET NULL on the self-reference.
    let referrer: Option<i64> = engine
        .fetch_one(text("SELECT referrer_id FROM customer WHERE id = 2"))
        .await
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(referrer, None);
    md.drop_all(&engine).await.unwrap();
}

async fn checkfirst_skips_existing_tables_on_create_and_missing_ones_on_drop(db: &TestDb) {
    let engine = db.engine().await;
    let md = shop(db);
    md.create_all(&engine).await.unwrap();
    engine
        .execute(text("INSERT INTO customer (name) VALUES ('kept')"))
        .await
        .unwrap();
    // Everything exists: nothing to do, nothing lost.
    md.create_all(&engine).await.unwrap();
    // One table gone: only it is created again.
    engine
        .execute(text("DROP TABLE invoice_line"))
        .await
        .unwrap();
    md.create_all(&engine).await.unwrap();
    assert_eq!(table_names(&engine).await.len(), 6);
    let kept: String = engine
        .fetch_one(text("SELECT name FROM customer"))
        .await
        .unwrap()
        .get(0)
        .unwrap();
    assert_eq!(kept, "kept");
    // Without checkfirst an existing table is the database's error.
    let err = md.create_all_with(&engine, false).await.unwrap_err();
    assert!(err.as_database_error().is_some(), "{err}");

    md.drop_all(&engine).await.unwrap();
    assert!(table_names(&engine).await.is_empty());
    // Nothing left to drop: checkfirst makes it a no-op, without it an error.
    md.drop_all(&engine).await.unwrap();
    let err = md.drop_all_with(&engine, false).await.unwrap_err();
    assert!(err.as_database_error().is_some(), "{err}");
}

async fn ddl_runs_in_one_transaction_where_the_database_allows(db: &TestDb) {
    let engine = db.engine().await;
    // `invoice` already exists, so creating everything without checkfirst fails on it,
    // after `everything` and `customer` have been created in the same run.
    engine
        .execute(text("CREATE TABLE invoice (x INTEGER)"))
        .await
        .unwrap();
    let err = shop(db).create_all_with(&engine, false).await.unwrap_err();
    assert!(err.as_database_error().is_some(), "{err}");
    let left = table_names(&engine).await;
    match db.backend {
        // Transactional DDL: the failed run left nothing behind.
        Backend::Sqlite | Backend::Postgres => assert_eq!(left, ["invoice"]),
        // MySQL commits each DDL statement by itself.
        Backend::MySql => assert_eq!(left, ["customer", "everything", "invoice"]),
    }
}

async fn drop_all_drops_cycles_with_rows_in_them(db: &TestDb) {
    let engine = db.engine().await;
    let md = shop(db);
    md.create_all(&engine).await.unwrap();
    engine
        .execute_script(
            "INSERT INTO department (id, name) VALUES (1, 'research'); \
             INSERT INTO employee (id, name, department_id) VALUES (1, 'ada', 1); \
             INSERT INTO employee (id, name, department_id, boss_id) VALUES (2, 'bob', 1, 1); \
             UPDATE department SET manager_id = 1 WHERE id = 1",
        )
        .await
        .unwrap();
    md.drop_all(&engine).await.unwrap();
    assert!(table_names(&engine).await.is_empty());
}

async fn unnamed_keys_in_a_cycle_are_added_by_alter_and_found_again_to_drop(db: &TestDb) {
    let engine = db.engine().await;
    // No naming convention: the database names the keys.
    let md = MetaData::new()
        .with_table(
            Table::new("a")
                .column(Column::new("id", SqlType::Integer).primary_key())
                .column(Column::new("b_id", SqlType::Integer))
                .foreign_key(ForeignKey::new(["b_id"], "b", ["id"])),
        )
        .with_table(
            Table::new("b")
                .column(Column::new("id", SqlType::Integer).primary_key())
                .column(Column::new("c_id", SqlType::Integer))
                .foreign_key(ForeignKey::new(["c_id"], "c", ["id"])),
        )
        .with_table(
            Table::new("c")
                .column(Column::new("id", SqlType::Integer).primary_key())
                .column(Column::new("a_id", SqlType::Integer))
                .foreign_key(ForeignKey::new(["a_id"], "a", ["id"]).use_alter()),
        );
    // `use_alter` on c -> a already breaks the three-table cycle: c, b, a.
    let order: Vec<_> = md.sorted_tables().iter().map(|t| t.name.clone()).collect();
    assert_eq!(order, ["c", "b", "a"]);
    md.create_all(&engine).await.unwrap();
    let insp = engine.inspect().await.unwrap();
    for (t, target) in [("a", "b"), ("b", "c"), ("c", "a")] {
        let fks = insp.foreign_keys(t).await.unwrap();
        assert_eq!(fks.len(), 1, "{t}: {fks:?}");
        assert_eq!(fks[0].referred_table, target);
        assert!(fks[0].name.is_some() || db.backend == Backend::Sqlite);
    }
    engine
        .execute_script(
            "INSERT INTO a (id) VALUES (1); INSERT INTO c (id, a_id) VALUES (1, 1); \
             INSERT INTO b (id, c_id) VALUES (1, 1); UPDATE a SET b_id = 1",
        )
        .await
        .unwrap();
    md.drop_all(&engine).await.unwrap();
    assert!(table_names(&engine).await.is_empty());
}

async fn reserved_words_and_mixed_case_identifiers_survive(db: &TestDb) {
    let engine = db.engine().await;
    let md = MetaData::new()
        .with_table(
            Table::new("order")
                .column(Column::new("id", SqlType::Integer).primary_key())
                .column(Column::new("select", SqlType::varchar(20)).not_null())
                .column(Column::new("user", SqlType::Integer).index())
                .foreign_key(ForeignKey::new(["user"], "user", ["id"]))
                .check(CheckConstraint::new(format!(
                    "{} <> ''",
                    db.dialect().quote_identifier("select")
                ))),
        )
        .with_table(
            Table::new("user")
                .column(Column::new("id", SqlType::Integer).primary_key())
                .column(Column::new("GroupId", SqlType::Integer))
                .column(Column::new("where", SqlType::varchar(10)).unique())
                .foreign_key(ForeignKey::new(["GroupId"], "Group", ["Id"]).name("FK_User_Group")),
        )
        .with_table(
            Table::new("Group")
                .column(Column::new("Id", SqlType::Integer).primary_key())
                .column(Column::new("Name", SqlType::varchar(30)).not_null())
                .primary_key_name("PK_Group"),
        );
    md.create_all(&engine).await.unwrap();
    let reflected = MetaData::reflect(&engine).await.unwrap();
    assert_same_metadata(db.dialect(), &md, &reflected);
    assert_eq!(
        engine.inspect().await.unwrap().table_names(),
        ["Group", "order", "user"]
    );

    let q = |s: &str| db.dialect().quote_identifier(s);
    engine
        .execute(
            text(format!(
                "INSERT INTO {} ({}, {}) VALUES (:id, :name)",
                q("Group"),
                q("Id"),
                q("Name")
            ))
            .bind("id", 7)
            .bind("name", "admins"),
        )
        .await
        .unwrap();
    engine
        .execute(
            text(format!(
                "INSERT INTO {} ({}, {}, {}) VALUES (1, 7, :w)",
                q("user"),
                q("id"),
                q("GroupId"),
                q("where")
            ))
            .bind("w", "here"),
        )
        .await
        .unwrap();
    engine
        .execute(
            text(format!(
                "INSERT INTO {} ({}, {}) VALUES (1, :s)",
                q("order"),
                q("user"),
                q("select")
            ))
            .bind("s", "first"),
        )
        .await
        .unwrap();
    let row = engine
        .fetch_one(text(format!(
            "SELECT o.{sel} AS {sel}, g.{name} AS {name}, u.{wh} AS {wh} FROM {order} o \
             JOIN {user} u ON u.{id} = o.{user} JOIN {group} g ON g.{gid} = u.{ugid}",
            sel = q("select"),
            name = q("Name"),
            wh = q("where"),
            order = q("order"),
            user = q("user"),
            id = q("id"),
            group = q("Group"),
            gid = q("Id"),
            ugid = q("GroupId"),
        )))
        .await
        .unwrap();
    assert_eq!(row.get::<String>("select").unwrap(), "first");
    assert_eq!(row.get::<String>("Name").unwrap(), "admins");
    assert_eq!(row.get::<String>("where").unwrap(), "here");
    md.drop_all(&engine).await.unwrap();
    assert!(table_names(&engine).await.is_empty());
}

async fn schema_qualified_tables_round_trip(db: &TestDb) {
    let engine = db.engine().await;
    // The test's own namespace, named explicitly: PostgreSQL schema, MySQL database,
    // SQLite's `main`.
    let schema = match db.backend {
        Backend::Sqlite => "main".to_owned(),
        _ => db.name.clone(),
    };
    let md = MetaData::new()
        .with_table(
            Table::new("parent")
                .schema(schema.as_str())
                .column(Column::new("id", SqlType::Integer).primary_key())
                .column(Column::new("label", SqlType::varchar(20)).index()),
        )
        .with_table(
            Table::new("child")
                .schema(schema.as_str())
                .column(Column::new("id", SqlType::Integer).primary_key())
                .column(Column::new("parent_id", SqlType::Integer).not_null())
                .foreign_key(
                    ForeignKey::new(["parent_id"], "parent", ["id"]).name("fk_child_parent"),
                ),
        );
    md.create_all(&engine).await.unwrap();
    // Reflected by schema name, the tables carry no schema: it is the default one.
    let reflected = MetaData::reflect_schema(&engine, &schema, None)
        .await
        .unwrap();
    let child = reflected.table("child").unwrap();
    assert_eq!(child.schema, None);
    assert_eq!(child.foreign_keys[0].referred_table, "parent");
    assert_eq!(child.foreign_keys[0].referred_schema, None);
    let insp = engine.inspect().await.unwrap();
    assert_eq!(insp.default_schema_name(), schema);
    let same = insp.in_schema(&schema).await.unwrap();
    assert_eq!(same.table_names(), ["child", "parent"]);
    let err = insp.in_schema("no_such_schema_here").await.unwrap_err();
    assert!(
        matches!(&err, Error::SchemaNotFound { schema, .. } if schema == "no_such_schema_here"),
        "{err}"
    );
    let t = orm::Table::autoload_in_schema(&engine, &schema, "parent")
        .await
        .unwrap();
    assert_eq!(t.indexes[0].name.as_deref(), Some("ix_parent_label"));
    md.drop_all(&engine).await.unwrap();
    assert!(table_names(&engine).await.is_empty());
}

async fn a_cycle_no_use_alter_breaks_is_named_by_strict_sorting(db: &TestDb) {
    let engine = db.engine().await;
    let md = shop(db);
    let err = md.try_sorted_tables().unwrap_err();
    assert!(
        matches!(&err, Error::CircularDependency { tables } if tables == &["employee", "department"]),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "foreign keys form a cycle between tables `employee`, `department`; mark one of the \
         foreign keys `use_alter` to break it (create_all and drop_all break such cycles \
         themselves)"
    );
    // create_all breaks it: the keys are added once both tables exist.
    md.create_all(&engine).await.unwrap();
    md.drop_all(&engine).await.unwrap();
    // Marked use_alter, the cycle no longer stops strict sorting.
    let mut marked = MetaData::new();
    for t in md.tables() {
        let mut t = (**t).clone();
        if t.name == "department" {
            t.foreign_keys[0].use_alter = true;
        }
        marked.add_table(t);
    }
    let order: Vec<_> = marked
        .try_sorted_tables()
        .unwrap()
        .iter()
        .map(|t| t.name.clone())
        .collect();
    assert_eq!(
        order,
        [
            "everything",
            "customer",
            "invoice",
            "invoice_line",
            "department",
            "employee"
        ]
    );
}

async fn bad_definitions_fail_before_touching_the_database(db: &TestDb) {
    let engine = db.engine().await;
    let md = MetaData::new()
        .with_table(Table::new("ok").column(Column::new("id", SqlType::Integer).primary_key()))
        .with_table(
            Table::new("broken")
                .column(Column::new("id", SqlType::Integer))
                .foreign_key(ForeignKey::new(["nope"], "ok", ["id"])),
        );
    let err = md.create_all(&engine).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "table `broken` has no column `nope`; it has: id"
    );
    if !db.dialect().is_mysql() {
        // Transactional DDL: `ok`, created first, is gone with the failed run.
        assert!(table_names(&engine).await.is_empty());
    }
    let md = MetaData::new()
        .naming_convention(NamingConvention::new().fk("fk_{table_name}_{referred_column_9_name}"))
        .with_table(
            Table::new("t")
                .column(Column::new("id", SqlType::Integer).primary_key())
                .foreign_key(ForeignKey::new(["id"], "t", ["id"])),
        );
    let err = md.create_all(&engine).await.unwrap_err();
    assert!(
        matches!(&err, Error::NamingConvention { kind: "fk", table, .. } if table == "t"),
        "{err}"
    );
}

/// Issue 8: PostgreSQL refused identifiers over 63 bytes in DDL but truncated them in
/// DML, so an insert into a table named with 64 bytes went into the table named by its
/// first 63. Every statement that names one is refused now, as DDL is, on each dialect
/// by its own limit (63 bytes; 64 characters on MySQL; none on SQLite); a NUL byte in a
/// name is refused everywhere. Nothing reaches the database.
async fn long_or_nul_identifiers_are_refused_in_ddl_and_in_every_statement(db: &TestDb) {
    use std::sync::Arc;

    use orm::sql::Assignment;
    use orm::{delete, insert, select, update};

    let engine = db.engine().await;
    let kept = "t".repeat(63);
    let table = |name: &str| {
        Arc::new(Table::new(name).column(Column::new("id", SqlType::Integer).primary_key()))
    };
    // The table PostgreSQL truncates a 64-byte name to.
    let t63 = table(&kept);
    MetaData::new()
        .with_table((*t63).clone())
        .create_all(&engine)
        .await
        .unwrap();
    let count = async |t: &Arc<Table>| -> i64 {
        engine
            .fetch_one(select(orm::func::count_star()).from(t))
            .await
            .unwrap()
            .get(0)
            .unwrap()
    };
    for (name, refused_by) in [
        (format!("{kept}x"), [Backend::Postgres].as_slice()),
        (format!("{kept}xy"), &[Backend::Postgres, Backend::MySql]),
        (
            "nul\0name".to_owned(),
            &[Backend::Postgres, Backend::MySql, Backend::Sqlite],
        ),
    ] {
        let t = table(&name);
        let refused = refused_by.contains(&db.backend);
        let results = [
            MetaData::new()
                .with_table((*t).clone())
                .create_all(&engine)
                .await
                .map(drop),
            engine
                .execute(insert(&t).values(Assignment::new("id", 1)))
                .await
                .map(drop),
            engine
                .execute(
                    update(&t)
                        .set(Assignment::new("id", 2))
                        .filter(t.c("id").eq(1i64)),
                )
                .await
                .map(drop),
            engine.fetch_all(select(t.c("id")).from(&t)).await.map(drop),
            engine.execute(delete(&t)).await.map(drop),
        ];
        for (i, r) in results.into_iter().enumerate() {
            match (refused, r) {
                (true, Err(Error::IdentifierTooLong { len, max, .. })) => {
                    assert!(len > max && !name.contains('\0'), "{name}");
                }
                (true, Err(Error::InvalidIdentifier { reason, .. })) => {
                    assert!(name.contains('\0') && reason.contains("NUL"));
                }
                (false, Ok(())) => {}
                (_, other) => panic!("{:?} statement {i} on `{name}`: {other:?}", db.backend),
            }
        }
        // A column name is checked as a table name is.
        let err = engine
            .fetch_all(select(t63.c("id").label(name.clone())).from(&t63))
            .await;
        assert_eq!(err.is_err(), refused, "{name}: {err:?}");
    }
    assert_eq!(count(&t63).await, 0, "nothing went into the 63-byte table");
}
