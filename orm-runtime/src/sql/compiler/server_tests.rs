//! The SQL (or the error) for each server version whose capabilities differ: every
//! construct that depends on [`Feature`]s, compiled for old and new servers of each
//! dialect.

use crate::dialect::{Capabilities, Dialect, Feature, ServerInfo, ServerVersion};
use crate::error::Error;
use crate::sql::fixtures::{Post, User};
use crate::sql::*;

fn at(dialect: Dialect, major: u16, minor: u16, patch: u16) -> ServerInfo {
    ServerInfo::new(dialect, ServerVersion::new(major, minor, patch))
}

fn maria(minor: u16) -> ServerInfo {
    at(Dialect::MariaDb, 10, minor, 0)
}

#[track_caller]
fn sql(stmt: &impl Executable, server: ServerInfo) -> String {
    match stmt.compile_for(server) {
        Ok(c) => c.sql().to_owned(),
        Err(e) => panic!("does not compile for {server}: {e}"),
    }
}

/// The error's message, checking it is the one for a server too old for the feature.
#[track_caller]
fn too_old(stmt: &impl Executable, server: ServerInfo) -> String {
    match stmt.compile_for(server) {
        Err(e @ Error::UnsupportedByServer { .. }) => e.to_string(),
        other => panic!("expected UnsupportedByServer on {server}, got {other:?}"),
    }
}

fn insert_returning() -> InsertStatement {
    insert(User::table())
        .values((User::id.set(1), User::name.set("ed")))
        .returning(User::id)
}

fn delete_returning() -> DeleteStatement {
    delete(User::table())
        .filter(User::id.eq(1))
        .returning(User::name)
}

fn upsert() -> InsertStatement {
    insert(User::table())
        .values((User::id.set(1), User::name.set("ed")))
        .on_conflict_do_update(["id"], User::name.set(excluded(User::name)))
}

fn cte() -> SelectStatement {
    let top = select(Post::user_id).filter(Post::score.gt(9.0)).cte("top");
    select(User::name)
        .from(User::table())
        .join(&top, top.c::<i64>("user_id").eq(User::id))
}

fn window() -> SelectStatement {
    select(func::row_number().over(over().order_by(User::id.asc())))
}

fn locked(lock: Lock) -> SelectStatement {
    select(User::id).with_lock(lock)
}

const MY_UPSERT_VALUES: &str = "INSERT INTO `users` (`id`, `name`) VALUES (?, ?) ON DUPLICATE KEY UPDATE `name` = VALUES(`name`)";
const MY_UPSERT_ALIAS: &str = "INSERT INTO `users` (`id`, `name`) VALUES (?, ?) AS `new` ON DUPLICATE KEY UPDATE `name` = `new`.`name`";
const MY_CTE: &str = "WITH `top` AS (SELECT `posts`.`user_id` FROM `posts` WHERE `posts`.`score` > ?) SELECT `users`.`name` FROM `users` JOIN `top` ON `top`.`user_id` = `users`.`id`";
const MY_WINDOW: &str = "SELECT row_number() OVER (ORDER BY `users`.`id` ASC) FROM `users`";

#[test]
fn mariadb_10_3_and_10_4_have_delete_returning_but_not_insert_returning() {
    for (minor, patch) in [(3, 39), (4, 32)] {
        let server = at(Dialect::MariaDb, 10, minor, patch);
        assert_eq!(
            too_old(&insert_returning(), server),
            format!(
                "INSERT ... RETURNING is not supported by the server, MariaDB 10.{minor}.{patch}: it needs MariaDB 10.5.0 or later"
            )
        );
        assert_eq!(
            sql(&delete_returning(), server),
            "DELETE FROM `users` WHERE `users`.`id` = ? RETURNING `name`"
        );
        assert_eq!(sql(&upsert(), server), MY_UPSERT_VALUES);
        assert_eq!(sql(&cte(), server), MY_CTE);
        assert_eq!(sql(&window(), server), MY_WINDOW);
        assert_eq!(
            sql(&locked(Lock::UpdateNowait), server),
            "SELECT `users`.`id` FROM `users` FOR UPDATE NOWAIT"
        );
        assert_eq!(
            too_old(&locked(Lock::UpdateSkipLocked), server),
            format!(
                "FOR UPDATE SKIP LOCKED is not supported by the server, MariaDB 10.{minor}.{patch}: it needs MariaDB 10.6.0 or later"
            )
        );
        assert_eq!(
            sql(&locked(Lock::Share), server),
            "SELECT `users`.`id` FROM `users` LOCK IN SHARE MODE"
        );
    }
}

#[test]
fn mariadb_10_6_has_insert_returning_and_skip_locked() {
    let server = maria(6);
    assert_eq!(
        sql(&insert_returning(), server),
        "INSERT INTO `users` (`id`, `name`) VALUES (?, ?) RETURNING `id`"
    );
    assert_eq!(
        sql(&locked(Lock::UpdateSkipLocked), server),
        "SELECT `users`.`id` FROM `users` FOR UPDATE SKIP LOCKED"
    );
    // No version of MariaDB has FOR SHARE or UPDATE ... RETURNING, nor MySQL's row alias.
    assert_eq!(
        sql(&locked(Lock::Share), server),
        "SELECT `users`.`id` FROM `users` LOCK IN SHARE MODE"
    );
    assert_eq!(sql(&upsert(), server), MY_UPSERT_VALUES);
    let update_returning = update(User::table())
        .set(User::karma.set(1))
        .returning(User::id);
    assert_eq!(
        update_returning.compile(server).unwrap_err().to_string(),
        "UPDATE ... RETURNING is not supported by the mariadb dialect"
    );
}

#[test]
fn mariadb_before_10_2_has_no_cte_nor_window_functions() {
    let server = at(Dialect::MariaDb, 10, 1, 48);
    assert_eq!(
        too_old(&cte(), server),
        "WITH (a common table expression) is not supported by the server, MariaDB 10.1.48: it needs MariaDB 10.2.1 or later"
    );
    assert_eq!(
        too_old(&window(), server),
        "a window function (OVER) is not supported by the server, MariaDB 10.1.48: it needs MariaDB 10.2.0 or later"
    );
    assert_eq!(
        too_old(&locked(Lock::UpdateNowait), server),
        "FOR UPDATE NOWAIT is not supported by the server, MariaDB 10.1.48: it needs MariaDB 10.3.0 or later"
    );
    assert_eq!(
        too_old(&delete_returning(), at(Dialect::MariaDb, 10, 0, 4)),
        "DELETE ... RETURNING is not supported by the server, MariaDB 10.0.4: it needs MariaDB 10.0.5 or later"
    );
}

#[test]
fn mysql_5_7_has_no_cte_window_functions_or_lock_options() {
    let server = at(Dialect::MySql, 5, 7, 44);
    assert_eq!(
        too_old(&cte(), server),
        "WITH (a common table expression) is not supported by the server, MySQL 5.7.44: it needs MySQL 8.0.1 or later"
    );
    assert_eq!(
        too_old(&window(), server),
        "a window function (OVER) is not supported by the server, MySQL 5.7.44: it needs MySQL 8.0.2 or later"
    );
    assert!(too_old(&locked(Lock::UpdateNowait), server).starts_with("FOR UPDATE NOWAIT"));
    assert!(too_old(&locked(Lock::UpdateSkipLocked), server).starts_with("FOR UPDATE SKIP LOCKED"));
    assert_eq!(
        sql(&locked(Lock::Share), server),
        "SELECT `users`.`id` FROM `users` LOCK IN SHARE MODE"
    );
    assert_eq!(sql(&upsert(), server), MY_UPSERT_VALUES);
    // MySQL never had RETURNING: the dialect's error, not the server's.
    assert_eq!(
        insert_returning().compile(server).unwrap_err().to_string(),
        "INSERT ... RETURNING is not supported by the mysql dialect"
    );
}

#[test]
fn mysql_8_0_19_keeps_values_and_8_0_20_uses_the_row_alias() {
    let old = at(Dialect::MySql, 8, 0, 19);
    let new = at(Dialect::MySql, 8, 0, 20);
    assert_eq!(sql(&upsert(), old), MY_UPSERT_VALUES);
    assert_eq!(sql(&upsert(), new), MY_UPSERT_ALIAS);
    for server in [old, new] {
        assert_eq!(sql(&cte(), server), MY_CTE);
        assert_eq!(sql(&window(), server), MY_WINDOW);
        assert_eq!(
            sql(&locked(Lock::Share), server),
            "SELECT `users`.`id` FROM `users` FOR SHARE"
        );
        assert_eq!(
            sql(&locked(Lock::UpdateSkipLocked), server),
            "SELECT `users`.`id` FROM `users` FOR UPDATE SKIP LOCKED"
        );
    }
    // The alias names VALUES rows: an INSERT from a SELECT keeps VALUES().
    let from_select = insert(User::table())
        .from_select(["id", "name"], select((Post::id, Post::title)))
        .on_conflict_do_update(["id"], User::name.set(excluded(User::name)));
    assert_eq!(
        sql(&from_select, new),
        "INSERT INTO `users` (`id`, `name`) SELECT `posts`.`id`, `posts`.`title` FROM `posts` ON DUPLICATE KEY UPDATE `name` = VALUES(`name`)"
    );
}

#[test]
fn sqlite_3_35_has_returning_and_3_24_upserts() {
    let old = at(Dialect::Sqlite, 3, 34, 1);
    assert_eq!(
        too_old(&insert_returning(), old),
        "INSERT ... RETURNING is not supported by the server, SQLite 3.34.1: it needs SQLite 3.35.0 or later"
    );
    assert!(too_old(&delete_returning(), old).starts_with("DELETE ... RETURNING"));
    let upsert_sql = r#"INSERT INTO "users" ("id", "name") VALUES (?, ?) ON CONFLICT ("id") DO UPDATE SET "name" = excluded."name""#;
    assert_eq!(sql(&upsert(), old), upsert_sql);
    let new = at(Dialect::Sqlite, 3, 35, 0);
    assert_eq!(
        sql(&insert_returning(), new),
        r#"INSERT INTO "users" ("id", "name") VALUES (?, ?) RETURNING "id""#
    );
    assert_eq!(
        too_old(&upsert(), at(Dialect::Sqlite, 3, 23, 1)),
        "an upsert (INSERT ... ON CONFLICT) is not supported by the server, SQLite 3.23.1: it needs SQLite 3.24.0 or later"
    );
    assert_eq!(sql(&upsert(), at(Dialect::Sqlite, 3, 24, 0)), upsert_sql);
    assert!(too_old(&window(), at(Dialect::Sqlite, 3, 24, 0)).starts_with("a window function"));
}

#[test]
fn postgres_before_9_5_has_no_upsert_nor_skip_locked() {
    let old = at(Dialect::Postgres, 9, 4, 26);
    assert!(too_old(&upsert(), old).ends_with("it needs PostgreSQL 9.5.0 or later"));
    assert!(too_old(&locked(Lock::UpdateSkipLocked), old).starts_with("FOR UPDATE SKIP LOCKED"));
    assert_eq!(
        sql(&locked(Lock::UpdateNowait), old),
        r#"SELECT "users"."id" FROM "users" FOR UPDATE NOWAIT"#
    );
}

#[test]
fn a_bare_dialect_compiles_for_its_latest_server() {
    for d in [
        Dialect::Postgres,
        Dialect::MySql,
        Dialect::MariaDb,
        Dialect::Sqlite,
    ] {
        let latest = ServerInfo::latest(d);
        for stmt in [cte(), window(), locked(Lock::UpdateSkipLocked)] {
            assert_eq!(
                stmt.compile(d).unwrap(),
                stmt.compile(latest).unwrap(),
                "{d}"
            );
        }
    }
    assert_eq!(sql(&upsert(), Dialect::MySql.into()), MY_UPSERT_ALIAS);
    assert!(sql(&insert_returning(), Dialect::MariaDb.into()).ends_with("RETURNING `id`"));
}

#[test]
fn the_cache_keeps_servers_with_other_capabilities_apart() {
    // Through the cache, in both orders: an entry compiled for one server is never
    // served to a server with other capabilities.
    let (old, new) = (maria(4), maria(6));
    assert!(insert_returning().compile(old).is_err());
    assert!(insert_returning().compile(new).is_ok());
    assert!(insert_returning().compile(old).is_err());
    let (v19, v20) = (at(Dialect::MySql, 8, 0, 19), at(Dialect::MySql, 8, 0, 20));
    assert_eq!(upsert().compile(v20).unwrap().sql(), MY_UPSERT_ALIAS);
    assert_eq!(upsert().compile(v19).unwrap().sql(), MY_UPSERT_VALUES);
    assert_eq!(upsert().compile(v20).unwrap().sql(), MY_UPSERT_ALIAS);
    // A capability switched off by hand counts too.
    let no_alias = v20.with_capabilities(v20.capabilities().without(Feature::UpsertRowAlias));
    assert_eq!(upsert().compile(no_alias).unwrap().sql(), MY_UPSERT_VALUES);
    let none = v20.with_capabilities(Capabilities::NONE);
    assert!(cte().compile(none).is_err());
}

#[test]
fn insert_returning_is_emulated_where_mariadb_lacks_it() {
    let stmt = insert(User::table())
        .values((User::id.set(7), User::name.set("ed")))
        .returning(User::name);
    match stmt.plan_for(maria(4)).unwrap() {
        ExecPlan::InsertThenSelect {
            insert,
            select,
            generated_key,
        } => {
            assert_eq!(
                insert.sql(),
                "INSERT INTO `users` (`id`, `name`) VALUES (?, ?)"
            );
            assert_eq!(
                select.sql(),
                "SELECT `users`.`name` FROM `users` WHERE `users`.`id` = ?"
            );
            assert!(!generated_key);
        }
        other => panic!("expected the emulation, got {other:?}"),
    }
    assert!(matches!(
        stmt.plan_for(maria(5)).unwrap(),
        ExecPlan::Single(c) if c.sql().ends_with("RETURNING `name`")
    ));
    // SQLite before 3.35 is refused, not emulated.
    assert!(matches!(
        stmt.plan_for(at(Dialect::Sqlite, 3, 34, 0)),
        Err(Error::UnsupportedByServer { .. })
    ));
}

#[test]
fn key_locks_on_postgres_and_the_nearest_stronger_lock_elsewhere() {
    let pg = |lock| sql(&locked(lock), Dialect::Postgres.into());
    assert_eq!(
        pg(Lock::NoKeyUpdate),
        r#"SELECT "users"."id" FROM "users" FOR NO KEY UPDATE"#
    );
    assert_eq!(
        pg(Lock::KeyShare),
        r#"SELECT "users"."id" FROM "users" FOR KEY SHARE"#
    );
    // PostgreSQL before 9.3 had neither: FOR UPDATE and FOR SHARE, which are stronger.
    let pg92 = at(Dialect::Postgres, 9, 2, 24);
    assert_eq!(
        sql(&locked(Lock::NoKeyUpdate), pg92),
        r#"SELECT "users"."id" FROM "users" FOR UPDATE"#
    );
    assert_eq!(
        sql(&locked(Lock::KeyShare), pg92),
        r#"SELECT "users"."id" FROM "users" FOR SHARE"#
    );
    assert_eq!(
        sql(&locked(Lock::NoKeyUpdate), at(Dialect::Postgres, 9, 3, 0)),
        r#"SELECT "users"."id" FROM "users" FOR NO KEY UPDATE"#
    );
    // MySQL and MariaDB: FOR UPDATE, and the share lock the server spells.
    for (server, share) in [
        (ServerInfo::from(Dialect::MySql), "FOR SHARE"),
        (at(Dialect::MySql, 5, 7, 44), "LOCK IN SHARE MODE"),
        (ServerInfo::from(Dialect::MariaDb), "LOCK IN SHARE MODE"),
        (maria(3), "LOCK IN SHARE MODE"),
    ] {
        assert_eq!(
            sql(&locked(Lock::NoKeyUpdate), server),
            "SELECT `users`.`id` FROM `users` FOR UPDATE",
            "{server}"
        );
        assert_eq!(
            sql(&locked(Lock::KeyShare), server),
            format!("SELECT `users`.`id` FROM `users` {share}"),
            "{server}"
        );
    }
    // SQLite locks the database: no row lock is written.
    for lock in [Lock::NoKeyUpdate, Lock::KeyShare] {
        assert_eq!(
            sql(&locked(lock), Dialect::Sqlite.into()),
            r#"SELECT "users"."id" FROM "users""#
        );
    }
}

#[test]
fn an_upsert_without_a_target_needs_sqlite_3_35() {
    let stmt = insert(User::table())
        .values((User::id.set(1), User::name.set("ed")))
        .on_duplicate_key_update(User::name.set(excluded(User::name)));
    assert_eq!(
        too_old(&stmt, at(Dialect::Sqlite, 3, 34, 1)),
        "ON CONFLICT DO UPDATE without a conflict target is not supported by the server, SQLite 3.34.1: it needs SQLite 3.35.0 or later"
    );
    assert_eq!(
        sql(&stmt, at(Dialect::Sqlite, 3, 35, 0)),
        r#"INSERT INTO "users" ("id", "name") VALUES (?, ?) ON CONFLICT DO UPDATE SET "name" = excluded."name""#
    );
    // DO NOTHING without a target is as old as SQLite's upsert.
    let nothing = insert(User::table())
        .values(User::id.set(1))
        .on_conflict_do_nothing([] as [&str; 0]);
    assert_eq!(
        sql(&nothing, at(Dialect::Sqlite, 3, 24, 0)),
        r#"INSERT INTO "users" ("id") VALUES (?) ON CONFLICT DO NOTHING"#
    );
    // MySQL and MariaDB never name the key.
    assert_eq!(sql(&stmt, maria(3)), MY_UPSERT_VALUES);
    assert_eq!(sql(&stmt, at(Dialect::MySql, 5, 7, 44)), MY_UPSERT_VALUES);
    // PostgreSQL always needs it: the dialect's error, whatever the version.
    assert_eq!(
        stmt.compile(Dialect::Postgres).unwrap_err().to_string(),
        "ON CONFLICT DO UPDATE without a conflict target (name the unique key's columns with on_conflict_do_update) is not supported by the postgresql dialect"
    );
}
