//! Pins the exact SQL each dialect gets for the statements of the expression language.

#![allow(non_upper_case_globals)] // typed columns are named like the fields they map, as the derive does

use std::sync::{Arc, OnceLock};

use super::*;
use crate::dialect::Dialect;
use crate::schema::{Column as Col, ForeignKey, SqlType, Table};
use crate::value::Value;

macro_rules! model {
    ($ty:ident, $table:literal, $build:expr, { $($col:ident : $t:ty),* $(,)? }) => {
        struct $ty;
        impl HasTable for $ty {
            const TABLE_NAME: &'static str = $table;
            fn table() -> Arc<Table> {
                static T: OnceLock<Arc<Table>> = OnceLock::new();
                Arc::clone(T.get_or_init(|| Arc::new($build)))
            }
        }
        impl $ty {
            $(const $col: Column<$ty, $t> = Column::new(stringify!($col));)*
        }
    };
}

model!(User, "users",
    Table::new("users")
        .column(Col::new("id", SqlType::BigInt).primary_key())
        .column(Col::new("name", SqlType::varchar(50)).not_null())
        .column(Col::new("email", SqlType::Text))
        .column(Col::new("karma", SqlType::Integer))
        .column(Col::new("manager_id", SqlType::BigInt))
        .foreign_key(ForeignKey::new(["manager_id"], "users", ["id"])),
    { id: i64, name: String, email: Option<String>, karma: i32, manager_id: Option<i64> });

model!(Post, "posts",
    Table::new("posts")
        .column(Col::new("id", SqlType::BigInt).primary_key())
        .column(Col::new("user_id", SqlType::BigInt).not_null())
        .column(Col::new("title", SqlType::Text).not_null())
        .column(Col::new("score", SqlType::Double))
        .foreign_key(ForeignKey::new(["user_id"], "users", ["id"])),
    { id: i64, user_id: i64, title: String, score: Option<f64> });

model!(Order, "order",
    Table::new("order")
        .column(Col::new("id", SqlType::BigInt).primary_key())
        .column(Col::new("select", SqlType::Integer)),
    { id: i64, select: i32 });

/// Asserts the SQL for PostgreSQL, MySQL and SQLite (MariaDB compiles as MySQL unless a
/// test says otherwise), and returns the PostgreSQL binds.
#[track_caller]
fn check<S: Executable>(stmt: &S, pg: &str, my: &str, lite: &str) -> Vec<Value> {
    let c = stmt.compile_for(Dialect::Postgres).unwrap();
    assert_eq!(c.sql(), pg, "postgres");
    assert_eq!(stmt.compile_for(Dialect::MySql).unwrap().sql(), my, "mysql");
    assert_eq!(
        stmt.compile_for(Dialect::MariaDb).unwrap().sql(),
        my,
        "mariadb"
    );
    assert_eq!(
        stmt.compile_for(Dialect::Sqlite).unwrap().sql(),
        lite,
        "sqlite"
    );
    c.binds().to_vec()
}

/// For statements whose MySQL and SQLite text is PostgreSQL's with `?` and backticks.
#[track_caller]
fn check_same(stmt: &impl Executable, pg: &str) -> Vec<Value> {
    let mut my = String::new();
    let mut lite = String::new();
    let mut chars = pg.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => {
                while chars.peek().is_some_and(char::is_ascii_digit) {
                    chars.next();
                }
                my.push('?');
                lite.push('?');
            }
            '"' => {
                my.push('`');
                lite.push('"');
            }
            c => {
                my.push(c);
                lite.push(c);
            }
        }
    }
    check(stmt, pg, &my, &lite)
}

#[test]
fn select_columns_derives_from() {
    let b = check_same(
        &select((User::id, User::name)),
        r#"SELECT "users"."id", "users"."name" FROM "users""#,
    );
    assert!(b.is_empty());
}

#[test]
fn select_without_from() {
    check_same(&select(lit(1i64).label("one")), r#"SELECT $1 AS "one""#);
}

#[test]
fn where_eq_binds_value() {
    let b = check_same(
        &select(User::name).filter(User::id.eq(5)),
        r#"SELECT "users"."name" FROM "users" WHERE "users"."id" = $1"#,
    );
    assert_eq!(b, [Value::I64(5)]);
}

#[test]
fn comparison_operators() {
    let stmt = select(User::id).filter(
        User::karma.ne(1)
            & User::karma.lt(2)
            & User::karma.le(3)
            & User::karma.gt(4)
            & User::karma.ge(5),
    );
    check_same(
        &stmt,
        r#"SELECT "users"."id" FROM "users" WHERE "users"."karma" <> $1 AND "users"."karma" < $2 AND "users"."karma" <= $3 AND "users"."karma" > $4 AND "users"."karma" >= $5"#,
    );
}

#[test]
fn and_or_not_with_parentheses() {
    let stmt =
        select(User::id).filter((User::karma.gt(1) | User::karma.lt(-1)) & !User::name.eq("x"));
    check_same(
        &stmt,
        r#"SELECT "users"."id" FROM "users" WHERE ("users"."karma" > $1 OR "users"."karma" < $2) AND NOT ("users"."name" = $3)"#,
    );
}

#[test]
fn or_of_ands_needs_no_parentheses() {
    let stmt = select(User::id).filter(User::karma.gt(1).and(User::karma.lt(9)).or(User::id.eq(1)));
    check_same(
        &stmt,
        r#"SELECT "users"."id" FROM "users" WHERE "users"."karma" > $1 AND "users"."karma" < $2 OR "users"."id" = $3"#,
    );
}

#[test]
fn repeated_filter_calls_are_anded() {
    let stmt = select(User::id)
        .filter(User::karma.gt(1))
        .filter(User::name.ne("x"));
    check_same(
        &stmt,
        r#"SELECT "users"."id" FROM "users" WHERE "users"."karma" > $1 AND "users"."name" <> $2"#,
    );
}

#[test]
fn in_list() {
    let b = check_same(
        &select(User::id).filter(User::name.in_(["ed", "jack"])),
        r#"SELECT "users"."id" FROM "users" WHERE "users"."name" IN ($1, $2)"#,
    );
    assert_eq!(b, [Value::Text("ed".into()), Value::Text("jack".into())]);
}

#[test]
fn empty_in_is_false_and_empty_not_in_is_true() {
    let none: [i64; 0] = [];
    check_same(
        &select(User::id).filter(User::id.in_(none)),
        r#"SELECT "users"."id" FROM "users" WHERE (1 <> 1)"#,
    );
    check_same(
        &select(User::id).filter(User::id.not_in(none)),
        r#"SELECT "users"."id" FROM "users" WHERE (1 = 1)"#,
    );
}

#[test]
fn not_in_list() {
    check_same(
        &select(User::id).filter(User::karma.not_in([1, 2])),
        r#"SELECT "users"."id" FROM "users" WHERE "users"."karma" NOT IN ($1, $2)"#,
    );
}

#[test]
fn in_subquery() {
    let sub = select(Post::user_id).filter(Post::score.gt(1.5));
    check_same(
        &select(User::name).filter(User::id.in_select(sub)),
        r#"SELECT "users"."name" FROM "users" WHERE "users"."id" IN (SELECT "posts"."user_id" FROM "posts" WHERE "posts"."score" > $1)"#,
    );
}

#[test]
fn between_and_not_between() {
    check_same(
        &select(User::id).filter(User::karma.between(1, 10).and(User::id.not_between(5, 6))),
        r#"SELECT "users"."id" FROM "users" WHERE "users"."karma" BETWEEN $1 AND $2 AND "users"."id" NOT BETWEEN $3 AND $4"#,
    );
}

#[test]
fn like_and_not_like() {
    check_same(
        &select(User::id).filter(User::name.like("e%").and(User::name.not_like("%x"))),
        r#"SELECT "users"."id" FROM "users" WHERE "users"."name" LIKE $1 AND "users"."name" NOT LIKE $2"#,
    );
}

#[test]
fn ilike_is_native_on_postgres_and_lower_elsewhere() {
    check(
        &select(User::id).filter(User::name.ilike("E%")),
        r#"SELECT "users"."id" FROM "users" WHERE "users"."name" ILIKE $1"#,
        "SELECT `users`.`id` FROM `users` WHERE lower(`users`.`name`) LIKE lower(?)",
        r#"SELECT "users"."id" FROM "users" WHERE lower("users"."name") LIKE lower(?)"#,
    );
}

#[test]
fn like_with_escape() {
    check(
        &select(User::id).filter(User::name.like_escape("100!%", '!')),
        r#"SELECT "users"."id" FROM "users" WHERE "users"."name" LIKE $1 ESCAPE '!'"#,
        "SELECT `users`.`id` FROM `users` WHERE `users`.`name` LIKE ? ESCAPE '!'",
        r#"SELECT "users"."id" FROM "users" WHERE "users"."name" LIKE ? ESCAPE '!'"#,
    );
}

#[test]
fn backslash_escape_is_doubled_for_mysql() {
    check(
        &select(User::id).filter(User::name.like_escape("a\\%", '\\')),
        r#"SELECT "users"."id" FROM "users" WHERE "users"."name" LIKE $1 ESCAPE '\'"#,
        r"SELECT `users`.`id` FROM `users` WHERE `users`.`name` LIKE ? ESCAPE '\\'",
        r#"SELECT "users"."id" FROM "users" WHERE "users"."name" LIKE ? ESCAPE '\'"#,
    );
}

#[test]
fn contains_escapes_wildcards_in_the_needle() {
    let b = check_same(
        &select(User::id).filter(User::name.contains("50%_off")),
        r#"SELECT "users"."id" FROM "users" WHERE "users"."name" LIKE $1 ESCAPE '/'"#,
    );
    assert_eq!(b, [Value::Text("%50/%/_off%".into())]);
}

#[test]
fn is_null_and_is_not_null() {
    check_same(
        &select(User::id).filter(User::email.is_null().or(User::manager_id.is_not_null())),
        r#"SELECT "users"."id" FROM "users" WHERE "users"."email" IS NULL OR "users"."manager_id" IS NOT NULL"#,
    );
}

#[test]
fn comparing_with_none_is_is_null() {
    let b = check_same(
        &select(User::id).filter(
            User::email
                .eq(None::<&str>)
                .or(User::manager_id.ne(None::<i64>)),
        ),
        r#"SELECT "users"."id" FROM "users" WHERE "users"."email" IS NULL OR "users"."manager_id" IS NOT NULL"#,
    );
    assert!(b.is_empty());
}

#[test]
fn null_safe_equality_per_dialect() {
    check(
        &select(User::id).filter(User::email.is_not_distinct_from("a")),
        r#"SELECT "users"."id" FROM "users" WHERE "users"."email" IS NOT DISTINCT FROM $1"#,
        "SELECT `users`.`id` FROM `users` WHERE `users`.`email` <=> ?",
        r#"SELECT "users"."id" FROM "users" WHERE "users"."email" IS ?"#,
    );
    check(
        &select(User::id).filter(User::email.is_distinct_from("a")),
        r#"SELECT "users"."id" FROM "users" WHERE "users"."email" IS DISTINCT FROM $1"#,
        "SELECT `users`.`id` FROM `users` WHERE NOT (`users`.`email` <=> ?)",
        r#"SELECT "users"."id" FROM "users" WHERE "users"."email" IS NOT ?"#,
    );
}

#[test]
fn arithmetic_and_precedence() {
    let e = (User::karma + 1) * 2 - User::karma / 3 % 4;
    check(
        &select(e.label("x")),
        r#"SELECT ("users"."karma" + $1) * $2 - "users"."karma" / $3 % $4 AS "x" FROM "users""#,
        // MySQL's `/` gives a decimal: integer division is DIV there.
        "SELECT (`users`.`karma` + ?) * ? - `users`.`karma` DIV ? % ? AS `x` FROM `users`",
        r#"SELECT ("users"."karma" + ?) * ? - "users"."karma" / ? % ? AS "x" FROM "users""#,
    );
    // Floats keep `/`.
    check_same(
        &select(Post::score / 2.0),
        r#"SELECT "posts"."score" / $1 FROM "posts""#,
    );
}

#[test]
fn subtraction_on_the_right_keeps_parentheses() {
    let e = User::karma - (User::karma - 1);
    check_same(
        &select(e),
        r#"SELECT "users"."karma" - ("users"."karma" - $1) FROM "users""#,
    );
}

#[test]
fn negation() {
    check_same(
        &select(-User::karma),
        r#"SELECT -"users"."karma" FROM "users""#,
    );
}

#[test]
fn string_concat_per_dialect() {
    check(
        &select(User::name.concat(" <").concat(User::email).label("who")),
        r#"SELECT "users"."name" || $1 || "users"."email" AS "who" FROM "users""#,
        "SELECT CONCAT(`users`.`name`, ?, `users`.`email`) AS `who` FROM `users`",
        r#"SELECT "users"."name" || ? || "users"."email" AS "who" FROM "users""#,
    );
}

#[test]
fn count_star_and_count_column() {
    check_same(
        &select(func::count_star()).from(User::table()),
        r#"SELECT count(*) FROM "users""#,
    );
    check_same(
        &select(func::count(Post::id)),
        r#"SELECT count("posts"."id") FROM "posts""#,
    );
}

#[test]
fn count_distinct() {
    check_same(
        &select(func::count_distinct(Post::user_id)),
        r#"SELECT count(DISTINCT "posts"."user_id") FROM "posts""#,
    );
}

#[test]
fn aggregates() {
    check_same(
        &select((
            func::sum(Post::score),
            func::avg(Post::score),
            func::min(Post::id),
            func::max(Post::title),
        )),
        r#"SELECT sum("posts"."score"), avg("posts"."score"), min("posts"."id"), max("posts"."title") FROM "posts""#,
    );
}

#[test]
fn coalesce_lower_upper() {
    check_same(
        &select((
            func::coalesce(User::email, "none"),
            func::lower(User::name),
            func::upper(User::name),
        )),
        r#"SELECT coalesce("users"."email", $1), lower("users"."name"), upper("users"."name") FROM "users""#,
    );
}

#[test]
fn length_is_char_length_on_mysql() {
    check(
        &select(func::length(User::name)),
        r#"SELECT length("users"."name") FROM "users""#,
        "SELECT char_length(`users`.`name`) FROM `users`",
        r#"SELECT length("users"."name") FROM "users""#,
    );
}

#[test]
fn now_per_dialect() {
    check(
        &select(func::now()),
        "SELECT now()",
        "SELECT now()",
        "SELECT CURRENT_TIMESTAMP",
    );
}

#[test]
fn any_named_function() {
    check_same(
        &select(func::call::<f64>(
            "round",
            [Post::score.into_node(), lit(2i32).into_node()],
        )),
        r#"SELECT round("posts"."score", $1) FROM "posts""#,
    );
}

#[test]
fn searched_case() {
    let e = case::<String>(User::karma.gt(10), "high")
        .when(User::karma.gt(0), "low")
        .otherwise("none");
    check_same(
        &select(e.label("level")),
        r#"SELECT CASE WHEN "users"."karma" > $1 THEN $2 WHEN "users"."karma" > $3 THEN $4 ELSE $5 END AS "level" FROM "users""#,
    );
}

#[test]
fn case_without_else() {
    let e: Expr<Option<String>> = case(User::karma.gt(10), "high").end();
    check_same(
        &select(e),
        r#"SELECT CASE WHEN "users"."karma" > $1 THEN $2 END FROM "users""#,
    );
}

#[test]
fn cast_per_dialect() {
    check(
        &select((User::karma.cast::<String>(), User::name.cast::<i64>())),
        r#"SELECT CAST("users"."karma" AS VARCHAR), CAST("users"."name" AS BIGINT) FROM "users""#,
        "SELECT CAST(`users`.`karma` AS CHAR), CAST(`users`.`name` AS SIGNED) FROM `users`",
        r#"SELECT CAST("users"."karma" AS VARCHAR), CAST("users"."name" AS BIGINT) FROM "users""#,
    );
}

#[test]
fn labels_are_quoted() {
    check_same(
        &select(User::name.label("user name")),
        r#"SELECT "users"."name" AS "user name" FROM "users""#,
    );
}

#[test]
fn self_join_through_an_alias() {
    let boss = alias::<User>("boss");
    let stmt = select((User::name, boss.col(User::name).label("boss_name")))
        .from(User::table())
        .join(&boss, boss.col(User::id).eq(User::manager_id));
    check_same(
        &stmt,
        r#"SELECT "users"."name", "boss"."name" AS "boss_name" FROM "users" JOIN "users" AS "boss" ON "boss"."id" = "users"."manager_id""#,
    );
}

#[test]
fn inner_join_explicit_on() {
    let stmt = select((User::name, Post::title))
        .from(User::table())
        .join(Post::table(), Post::user_id.eq_col(User::id));
    check_same(
        &stmt,
        r#"SELECT "users"."name", "posts"."title" FROM "users" JOIN "posts" ON "posts"."user_id" = "users"."id""#,
    );
}

#[test]
fn join_inferred_from_foreign_key() {
    let stmt = select((User::name, Post::title))
        .from(User::table())
        .join_fk(Post::table());
    check_same(
        &stmt,
        r#"SELECT "users"."name", "posts"."title" FROM "users" JOIN "posts" ON "posts"."user_id" = "users"."id""#,
    );
}

#[test]
fn join_before_from_uses_the_first_columns_table() {
    let stmt = select((User::name, Post::title)).join(Post::table(), Post::user_id.eq(User::id));
    check_same(
        &stmt,
        r#"SELECT "users"."name", "posts"."title" FROM "users" JOIN "posts" ON "posts"."user_id" = "users"."id""#,
    );
}

#[test]
fn left_outer_join() {
    let stmt = select((User::name, func::count(Post::id)))
        .from(User::table())
        .left_join_fk(Post::table())
        .group_by(User::name);
    check_same(
        &stmt,
        r#"SELECT "users"."name", count("posts"."id") FROM "users" LEFT OUTER JOIN "posts" ON "posts"."user_id" = "users"."id" GROUP BY "users"."name""#,
    );
}

#[test]
fn full_outer_join_is_unsupported_on_mysql() {
    let stmt = select((User::name, Post::title))
        .from(User::table())
        .full_join(Post::table(), Post::user_id.eq(User::id));
    assert_eq!(
        stmt.compile(Dialect::Postgres).unwrap().sql(),
        r#"SELECT "users"."name", "posts"."title" FROM "users" FULL OUTER JOIN "posts" ON "posts"."user_id" = "users"."id""#
    );
    let err = stmt.compile(Dialect::MySql).unwrap_err();
    assert_eq!(
        err.to_string(),
        "FULL OUTER JOIN is not supported by the mysql dialect"
    );
}

#[test]
fn join_without_a_foreign_key_is_an_error_naming_both_tables() {
    let stmt = select(User::name)
        .from(User::table())
        .join_fk(Order::table());
    let err = stmt.compile(Dialect::Sqlite).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot join `order` to users: no foreign key links them"),
        "{err}"
    );
}

#[test]
fn distinct() {
    check_same(
        &select(Post::user_id).distinct(),
        r#"SELECT DISTINCT "posts"."user_id" FROM "posts""#,
    );
}

#[test]
fn group_by_having() {
    let stmt = select((Post::user_id, func::count_star()))
        .group_by(Post::user_id)
        .having(func::count_star().gt(2));
    check_same(
        &stmt,
        r#"SELECT "posts"."user_id", count(*) FROM "posts" GROUP BY "posts"."user_id" HAVING count(*) > $1"#,
    );
}

#[test]
fn order_by_asc_desc() {
    check_same(
        &select(User::id)
            .order_by(User::name.asc())
            .order_by(User::id.desc()),
        r#"SELECT "users"."id" FROM "users" ORDER BY "users"."name" ASC, "users"."id" DESC"#,
    );
}

#[test]
fn order_by_nulls_first_last_is_emulated_on_mysql() {
    check(
        &select(User::id)
            .order_by(User::email.asc().nulls_last())
            .order_by(User::karma.desc().nulls_first()),
        r#"SELECT "users"."id" FROM "users" ORDER BY "users"."email" ASC NULLS LAST, "users"."karma" DESC NULLS FIRST"#,
        "SELECT `users`.`id` FROM `users` ORDER BY `users`.`email` IS NULL, `users`.`email` ASC, `users`.`karma` IS NOT NULL, `users`.`karma` DESC",
        r#"SELECT "users"."id" FROM "users" ORDER BY "users"."email" ASC NULLS LAST, "users"."karma" DESC NULLS FIRST"#,
    );
}

#[test]
fn limit_and_offset_are_binds() {
    let b = check_same(
        &select(User::id)
            .order_by(User::id.asc())
            .limit(10)
            .offset(20),
        r#"SELECT "users"."id" FROM "users" ORDER BY "users"."id" ASC LIMIT $1 OFFSET $2"#,
    );
    assert_eq!(b, [Value::I64(10), Value::I64(20)]);
}

#[test]
fn offset_without_limit_per_dialect() {
    check(
        &select(User::id).offset(5),
        r#"SELECT "users"."id" FROM "users" OFFSET $1"#,
        "SELECT `users`.`id` FROM `users` LIMIT 18446744073709551615 OFFSET ?",
        r#"SELECT "users"."id" FROM "users" LIMIT -1 OFFSET ?"#,
    );
}

#[test]
fn for_update_is_dropped_on_sqlite() {
    check(
        &select(User::id).filter(User::id.eq(1)).for_update(),
        r#"SELECT "users"."id" FROM "users" WHERE "users"."id" = $1 FOR UPDATE"#,
        "SELECT `users`.`id` FROM `users` WHERE `users`.`id` = ? FOR UPDATE",
        r#"SELECT "users"."id" FROM "users" WHERE "users"."id" = ?"#,
    );
}

#[test]
fn for_share_on_mariadb_is_lock_in_share_mode() {
    let stmt = select(User::id).with_lock(Lock::Share);
    assert_eq!(
        stmt.compile(Dialect::MySql).unwrap().sql(),
        "SELECT `users`.`id` FROM `users` FOR SHARE"
    );
    assert_eq!(
        stmt.compile(Dialect::MariaDb).unwrap().sql(),
        "SELECT `users`.`id` FROM `users` LOCK IN SHARE MODE"
    );
}

#[test]
fn skip_locked() {
    check(
        &select(User::id).with_lock(Lock::UpdateSkipLocked),
        r#"SELECT "users"."id" FROM "users" FOR UPDATE SKIP LOCKED"#,
        "SELECT `users`.`id` FROM `users` FOR UPDATE SKIP LOCKED",
        r#"SELECT "users"."id" FROM "users""#,
    );
}

#[test]
fn scalar_subquery_is_correlated() {
    let n = select(func::count(Post::id))
        .filter(Post::user_id.eq(User::id))
        .scalar::<i64>();
    check_same(
        &select((User::name, n.label("posts"))),
        r#"SELECT "users"."name", (SELECT count("posts"."id") FROM "posts" WHERE "posts"."user_id" = "users"."id") AS "posts" FROM "users""#,
    );
}

#[test]
fn exists_subquery_is_correlated() {
    let stmt =
        select(User::name).filter(exists(select(Post::id).filter(Post::user_id.eq(User::id))));
    check_same(
        &stmt,
        r#"SELECT "users"."name" FROM "users" WHERE EXISTS (SELECT "posts"."id" FROM "posts" WHERE "posts"."user_id" = "users"."id")"#,
    );
}

#[test]
fn not_exists() {
    let stmt = select(User::name).filter(super::not_exists(
        select(Post::id).filter(Post::user_id.eq(User::id)),
    ));
    check_same(
        &stmt,
        r#"SELECT "users"."name" FROM "users" WHERE NOT EXISTS (SELECT "posts"."id" FROM "posts" WHERE "posts"."user_id" = "users"."id")"#,
    );
}

#[test]
fn subquery_on_the_same_table_is_not_correlated_away() {
    let sub = select(User::manager_id).filter(User::karma.gt(5));
    check_same(
        &select(User::name).filter(User::id.in_select(sub)),
        r#"SELECT "users"."name" FROM "users" WHERE "users"."id" IN (SELECT "users"."manager_id" FROM "users" WHERE "users"."karma" > $1)"#,
    );
}

#[test]
fn derived_table_subquery() {
    let counts = select((Post::user_id, func::count_star().label("n")))
        .group_by(Post::user_id)
        .subquery("counts");
    let stmt = select((User::name, counts.c::<i64>("n")))
        .from(User::table())
        .join(&counts, counts.col(Post::user_id).eq(User::id))
        .filter(counts.c::<i64>("n").gt(3));
    check_same(
        &stmt,
        r#"SELECT "users"."name", "counts"."n" FROM "users" JOIN (SELECT "posts"."user_id", count(*) AS "n" FROM "posts" GROUP BY "posts"."user_id") AS "counts" ON "counts"."user_id" = "users"."id" WHERE "counts"."n" > $1"#,
    );
}

#[test]
fn cte() {
    let top = select(Post::user_id).filter(Post::score.gt(9.0)).cte("top");
    let stmt = select(User::name)
        .from(User::table())
        .join(&top, top.c::<i64>("user_id").eq(User::id));
    check_same(
        &stmt,
        r#"WITH "top" AS (SELECT "posts"."user_id" FROM "posts" WHERE "posts"."score" > $1) SELECT "users"."name" FROM "users" JOIN "top" ON "top"."user_id" = "users"."id""#,
    );
}

#[test]
fn recursive_cte() {
    let anchor = select((User::id, User::manager_id, lit(0i64).label("depth")))
        .filter(User::manager_id.is_null());
    let tree = anchor.cte_recursive("tree");
    let step = select((
        User::id,
        User::manager_id,
        (tree.c::<i64>("depth") + 1i64).label("depth"),
    ))
    .from(User::table())
    .join(&tree, User::manager_id.eq(tree.c::<i64>("id")));
    let tree = tree.union_all(step);
    let stmt = select((tree.c::<i64>("id"), tree.c::<i64>("depth")))
        .from(&tree)
        .order_by(tree.c::<i64>("depth").asc());
    check_same(
        &stmt,
        r#"WITH RECURSIVE "tree"("id", "manager_id", "depth") AS (SELECT "users"."id", "users"."manager_id", $1 AS "depth" FROM "users" WHERE "users"."manager_id" IS NULL UNION ALL SELECT "users"."id", "users"."manager_id", "tree"."depth" + $2 AS "depth" FROM "users" JOIN "tree" ON "users"."manager_id" = "tree"."id") SELECT "tree"."id", "tree"."depth" FROM "tree" ORDER BY "tree"."depth" ASC"#,
    );
}

#[test]
fn window_function() {
    let rank = func::rank().over(
        over()
            .partition_by(Post::user_id)
            .order_by(Post::score.desc()),
    );
    check_same(
        &select((Post::title, rank.label("r"))),
        r#"SELECT "posts"."title", rank() OVER (PARTITION BY "posts"."user_id" ORDER BY "posts"."score" DESC) AS "r" FROM "posts""#,
    );
}

#[test]
fn window_with_order_only() {
    check_same(
        &select(func::row_number().over(over().order_by(User::id.asc()))),
        r#"SELECT row_number() OVER (ORDER BY "users"."id" ASC) FROM "users""#,
    );
}

#[test]
fn union_and_union_all() {
    let a = select(User::name).filter(User::karma.gt(5));
    let b = select(User::name).filter(User::karma.lt(-5));
    check_same(
        &a.clone().union(b.clone()),
        r#"SELECT "users"."name" FROM "users" WHERE "users"."karma" > $1 UNION SELECT "users"."name" FROM "users" WHERE "users"."karma" < $2"#,
    );
    check_same(
        &a.union_all(b)
            .order_by(column::<String>("name").asc())
            .limit(3),
        r#"SELECT "users"."name" FROM "users" WHERE "users"."karma" > $1 UNION ALL SELECT "users"."name" FROM "users" WHERE "users"."karma" < $2 ORDER BY "name" ASC LIMIT $3"#,
    );
}

#[test]
fn intersect_and_except() {
    let a = select(User::id);
    let b = select(Post::user_id);
    check_same(
        &a.clone().intersect(b.clone()),
        r#"SELECT "users"."id" FROM "users" INTERSECT SELECT "posts"."user_id" FROM "posts""#,
    );
    check_same(
        &a.except(b),
        r#"SELECT "users"."id" FROM "users" EXCEPT SELECT "posts"."user_id" FROM "posts""#,
    );
}

#[test]
fn compound_members_with_limits_are_wrapped() {
    let a = select(User::id).order_by(User::id.desc()).limit(1);
    let b = select(User::id).order_by(User::id.asc()).limit(1);
    check(
        &a.union_all(b),
        r#"(SELECT "users"."id" FROM "users" ORDER BY "users"."id" DESC LIMIT $1) UNION ALL (SELECT "users"."id" FROM "users" ORDER BY "users"."id" ASC LIMIT $2)"#,
        "(SELECT `users`.`id` FROM `users` ORDER BY `users`.`id` DESC LIMIT ?) UNION ALL (SELECT `users`.`id` FROM `users` ORDER BY `users`.`id` ASC LIMIT ?)",
        r#"SELECT * FROM (SELECT "users"."id" FROM "users" ORDER BY "users"."id" DESC LIMIT ?) UNION ALL SELECT * FROM (SELECT "users"."id" FROM "users" ORDER BY "users"."id" ASC LIMIT ?)"#,
    );
}

#[test]
fn filtering_a_compound_wraps_it() {
    let stmt = select(User::id)
        .union(select(Post::user_id))
        .filter(column::<i64>("id").gt(3));
    check_same(
        &stmt,
        r#"SELECT * FROM (SELECT "users"."id" FROM "users" UNION SELECT "posts"."user_id" FROM "posts") AS "anon_1" WHERE "id" > $1"#,
    );
}

#[test]
fn reserved_words_and_mixed_case_are_quoted() {
    check(
        &select((Order::id, Order::select)).filter(Order::select.eq(1)),
        r#"SELECT "order"."id", "order"."select" FROM "order" WHERE "order"."select" = $1"#,
        "SELECT `order`.`id`, `order`.`select` FROM `order` WHERE `order`.`select` = ?",
        r#"SELECT "order"."id", "order"."select" FROM "order" WHERE "order"."select" = ?"#,
    );
}

#[test]
fn dynamic_columns_of_a_reflected_table() {
    let t = Arc::new(
        Table::new("Group")
            .column(Col::new("Name", SqlType::Text))
            .column(Col::new("Size", SqlType::Integer)),
    );
    check_same(
        &select(t.c("Name"))
            .from(&t)
            .filter(t.c("Size").ge(10).and(t.c("Name").like("A%"))),
        r#"SELECT "Group"."Name" FROM "Group" WHERE "Group"."Size" >= $1 AND "Group"."Name" LIKE $2"#,
    );
}

#[test]
fn schema_qualified_tables() {
    let t = Arc::new(
        Table::new("events")
            .schema("audit")
            .column(Col::new("id", SqlType::BigInt)),
    );
    check_same(
        &select(t.c("id")).from(&t).filter(t.c("id").gt(1)),
        r#"SELECT "audit"."events"."id" FROM "audit"."events" WHERE "audit"."events"."id" > $1"#,
    );
}

#[test]
fn identifiers_with_quotes_are_escaped() {
    let t = Arc::new(Table::new("we\"ird`name").column(Col::new("c", SqlType::Integer)));
    check(
        &select(t.c("c")).from(&t),
        r#"SELECT "we""ird`name"."c" FROM "we""ird`name""#,
        r#"SELECT `we"ird``name`.`c` FROM `we"ird``name`"#,
        r#"SELECT "we""ird`name"."c" FROM "we""ird`name""#,
    );
}

#[test]
fn boolean_literals_per_dialect() {
    check(
        &select(User::id).filter(true_().and(false_().or(User::id.eq(1)))),
        r#"SELECT "users"."id" FROM "users" WHERE TRUE AND (FALSE OR "users"."id" = $1)"#,
        "SELECT `users`.`id` FROM `users` WHERE TRUE AND (FALSE OR `users`.`id` = ?)",
        r#"SELECT "users"."id" FROM "users" WHERE 1 AND (0 OR "users"."id" = ?)"#,
    );
}

#[test]
fn star_and_table_star() {
    check_same(
        &select(star()).from(User::table()),
        r#"SELECT * FROM "users""#,
    );
    check_same(
        &select(star_of::<Post>()),
        r#"SELECT "posts".* FROM "posts""#,
    );
}

#[test]
fn insert_single_row() {
    let stmt = insert(User::table()).values((User::name.set("ed"), User::karma.set(3)));
    let b = check_same(
        &stmt,
        r#"INSERT INTO "users" ("name", "karma") VALUES ($1, $2)"#,
    );
    assert_eq!(b, [Value::Text("ed".into()), Value::I32(3)]);
}

#[test]
fn insert_multiple_rows() {
    let stmt = insert(User::table()).values_many([
        (User::name.set("a"), User::karma.set(1)),
        (User::name.set("b"), User::karma.set(2)),
    ]);
    let b = check_same(
        &stmt,
        r#"INSERT INTO "users" ("name", "karma") VALUES ($1, $2), ($3, $4)"#,
    );
    assert_eq!(b.len(), 4);
}

#[test]
fn insert_rows_are_matched_by_column_name() {
    let stmt = insert(User::table())
        .values((User::name.set("a"), User::karma.set(1)))
        .values((User::karma.set(2), User::name.set("b")));
    let b = check_same(
        &stmt,
        r#"INSERT INTO "users" ("name", "karma") VALUES ($1, $2), ($3, $4)"#,
    );
    assert_eq!(b[2], Value::Text("b".into()));
}

#[test]
fn insert_rows_with_other_columns_is_an_error() {
    let stmt = insert(User::table())
        .values(User::name.set("a"))
        .values(User::karma.set(1));
    let err = stmt.compile(Dialect::Postgres).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid statement on `users`: row 2 sets column `karma` that the first row does not"
    );
}

#[test]
fn insert_default_values() {
    check(
        &insert(User::table()),
        r#"INSERT INTO "users" DEFAULT VALUES"#,
        "INSERT INTO `users` () VALUES ()",
        r#"INSERT INTO "users" DEFAULT VALUES"#,
    );
}

#[test]
fn insert_from_select() {
    let stmt = insert(Post::table()).from_select(
        ["user_id", "title"],
        select((User::id, User::name)).filter(User::karma.gt(0)),
    );
    check_same(
        &stmt,
        r#"INSERT INTO "posts" ("user_id", "title") SELECT "users"."id", "users"."name" FROM "users" WHERE "users"."karma" > $1"#,
    );
}

#[test]
fn insert_returning() {
    let stmt = insert(User::table())
        .values(User::name.set("ed"))
        .returning((User::id, User::name));
    assert_eq!(
        stmt.compile(Dialect::Postgres).unwrap().sql(),
        r#"INSERT INTO "users" ("name") VALUES ($1) RETURNING "id", "name""#
    );
    assert_eq!(
        stmt.compile(Dialect::Sqlite).unwrap().sql(),
        r#"INSERT INTO "users" ("name") VALUES (?) RETURNING "id", "name""#
    );
    assert_eq!(
        stmt.compile(Dialect::MariaDb).unwrap().sql(),
        "INSERT INTO `users` (`name`) VALUES (?) RETURNING `id`, `name`"
    );
    let err = stmt.compile(Dialect::MySql).unwrap_err();
    assert_eq!(
        err.to_string(),
        "INSERT ... RETURNING is not supported by the mysql dialect"
    );
}

#[test]
fn upsert_do_nothing() {
    let stmt = insert(User::table())
        .values((User::id.set(1), User::name.set("ed")))
        .on_conflict_do_nothing(["id"]);
    check(
        &stmt,
        r#"INSERT INTO "users" ("id", "name") VALUES ($1, $2) ON CONFLICT ("id") DO NOTHING"#,
        "INSERT INTO `users` (`id`, `name`) VALUES (?, ?) ON DUPLICATE KEY UPDATE `id` = `id`",
        r#"INSERT INTO "users" ("id", "name") VALUES (?, ?) ON CONFLICT ("id") DO NOTHING"#,
    );
}

#[test]
fn upsert_do_update_with_excluded() {
    let stmt = insert(User::table())
        .values((User::id.set(1), User::name.set("ed"), User::karma.set(1)))
        .on_conflict_do_update(
            ["id"],
            (
                User::name.set(excluded(User::name)),
                User::karma.set(User::karma + 1),
            ),
        );
    check(
        &stmt,
        r#"INSERT INTO "users" ("id", "name", "karma") VALUES ($1, $2, $3) ON CONFLICT ("id") DO UPDATE SET "name" = excluded."name", "karma" = "users"."karma" + $4"#,
        "INSERT INTO `users` (`id`, `name`, `karma`) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE `name` = VALUES(`name`), `karma` = `users`.`karma` + ?",
        r#"INSERT INTO "users" ("id", "name", "karma") VALUES (?, ?, ?) ON CONFLICT ("id") DO UPDATE SET "name" = excluded."name", "karma" = "users"."karma" + ?"#,
    );
}

#[test]
fn upsert_do_update_where() {
    let stmt = insert(User::table())
        .values((User::id.set(1), User::karma.set(5)))
        .on_conflict_do_update(["id"], User::karma.set(excluded(User::karma)))
        .on_conflict_where(User::karma.lt(excluded(User::karma)));
    assert_eq!(
        stmt.compile(Dialect::Postgres).unwrap().sql(),
        r#"INSERT INTO "users" ("id", "karma") VALUES ($1, $2) ON CONFLICT ("id") DO UPDATE SET "karma" = excluded."karma" WHERE "users"."karma" < excluded."karma""#
    );
    assert!(matches!(
        stmt.compile(Dialect::MySql),
        Err(crate::Error::Unsupported { .. })
    ));
}

#[test]
fn on_duplicate_key_update_needs_a_target_elsewhere() {
    let stmt = insert(User::table())
        .values(User::id.set(1))
        .on_duplicate_key_update(User::karma.set(0));
    assert_eq!(
        stmt.compile(Dialect::MySql).unwrap().sql(),
        "INSERT INTO `users` (`id`) VALUES (?) ON DUPLICATE KEY UPDATE `karma` = ?"
    );
    let err = stmt.compile(Dialect::Postgres).unwrap_err();
    assert!(
        err.to_string().contains("without a conflict target"),
        "{err}"
    );
}

#[test]
fn update_with_where() {
    let stmt = update(User::table())
        .set((User::name.set("x"), User::karma.set(User::karma * 2)))
        .filter(User::id.eq(7));
    check_same(
        &stmt,
        r#"UPDATE "users" SET "name" = $1, "karma" = "users"."karma" * $2 WHERE "users"."id" = $3"#,
    );
}

#[test]
fn update_returning_per_dialect() {
    let stmt = update(User::table())
        .set(User::karma.set(0))
        .returning(User::id);
    assert_eq!(
        stmt.compile(Dialect::Postgres).unwrap().sql(),
        r#"UPDATE "users" SET "karma" = $1 RETURNING "id""#
    );
    assert_eq!(
        stmt.compile(Dialect::Sqlite).unwrap().sql(),
        r#"UPDATE "users" SET "karma" = ? RETURNING "id""#
    );
    assert!(stmt.compile(Dialect::MariaDb).is_err());
    assert!(stmt.compile(Dialect::MySql).is_err());
}

#[test]
fn update_with_correlated_subquery() {
    let best = select(func::max(Post::score))
        .filter(Post::user_id.eq(User::id))
        .scalar::<Option<f64>>();
    let stmt = update(User::table()).set(User::karma.set(best.cast::<i32>()));
    check(
        &stmt,
        r#"UPDATE "users" SET "karma" = CAST((SELECT max("posts"."score") FROM "posts" WHERE "posts"."user_id" = "users"."id") AS INTEGER)"#,
        "UPDATE `users` SET `karma` = CAST((SELECT max(`posts`.`score`) FROM `posts` WHERE `posts`.`user_id` = `users`.`id`) AS SIGNED)",
        r#"UPDATE "users" SET "karma" = CAST((SELECT max("posts"."score") FROM "posts" WHERE "posts"."user_id" = "users"."id") AS INTEGER)"#,
    );
}

#[test]
fn update_without_set_is_an_error() {
    let err = update(User::table())
        .filter(User::id.eq(1))
        .compile(Dialect::Sqlite)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid statement on `users`: the UPDATE sets no columns"
    );
}

#[test]
fn delete_with_where() {
    check_same(
        &delete(Post::table()).filter(Post::score.lt(0.5)),
        r#"DELETE FROM "posts" WHERE "posts"."score" < $1"#,
    );
}

#[test]
fn delete_all() {
    check_same(&delete(Post::table()), r#"DELETE FROM "posts""#);
}

#[test]
fn delete_returning() {
    let stmt = delete(Post::table())
        .filter(Post::id.eq(1))
        .returning(Post::title);
    assert_eq!(
        stmt.compile(Dialect::MariaDb).unwrap().sql(),
        "DELETE FROM `posts` WHERE `posts`.`id` = ? RETURNING `title`"
    );
    assert!(stmt.compile(Dialect::MySql).is_err());
}

#[test]
fn unknown_dynamic_column_names_table_and_column() {
    let t = Arc::new(Table::new("Invoice").column(Col::new("Total", SqlType::Double)));
    let err = delete(Arc::clone(&t))
        .filter(t.c("Totl").gt(1.0))
        .compile(Dialect::Postgres)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "table `Invoice` has no column `Totl`; it has: Total"
    );
}

#[test]
fn display_prints_postgres_sql() {
    let stmt = select(User::name).filter(User::id.eq(1));
    assert_eq!(
        stmt.to_string(),
        r#"SELECT "users"."name" FROM "users" WHERE "users"."id" = $1"#
    );
}

#[test]
fn cache_reuses_sql_and_rebinds_values() {
    let a = select(User::name)
        .filter(User::id.eq(1))
        .order_by(User::email.asc().nulls_last())
        .limit(5);
    let b = select(User::name)
        .filter(User::id.eq(2))
        .order_by(User::email.asc().nulls_last())
        .limit(7);
    for d in [Dialect::Postgres, Dialect::MySql, Dialect::Sqlite] {
        let ca = a.compile(d).unwrap();
        let cb = b.compile(d).unwrap();
        assert_eq!(ca.sql(), cb.sql());
        assert_eq!(cb.binds(), &[Value::I64(2), Value::I64(7)]);
        // The cached compile gives exactly what a fresh compile gives.
        assert_eq!(cb, b.compile_uncached(d).unwrap());
    }
}

#[test]
fn cache_distinguishes_shapes() {
    let a = select(User::name).filter(User::id.in_([1, 2]));
    let b = select(User::name).filter(User::id.in_([1, 2, 3]));
    assert_ne!(
        a.compile(Dialect::Sqlite).unwrap().sql(),
        b.compile(Dialect::Sqlite).unwrap().sql()
    );
    let t1 = Arc::new(Table::new("a").column(Col::new("x", SqlType::Integer)));
    let t2 = Arc::new(Table::new("b").column(Col::new("x", SqlType::Integer)));
    let s1 = select(t1.c("x"))
        .from(&t1)
        .compile(Dialect::Sqlite)
        .unwrap();
    let s2 = select(t2.c("x"))
        .from(&t2)
        .compile(Dialect::Sqlite)
        .unwrap();
    assert_ne!(s1.sql(), s2.sql());
}

/// Compiles `a` then `b` through the cache: `b` must get its own SQL, not `a`'s.
#[track_caller]
fn assert_cache_tells_apart<S: Executable>(
    dialects: &[Dialect],
    pairs: &[(S, S)],
    uncached: fn(&S, Dialect) -> crate::Result<Compiled>,
) {
    for (i, (a, b)) in pairs.iter().enumerate() {
        for &d in dialects {
            let ca = a.compile_for(d).unwrap();
            let cb = b.compile_for(d).unwrap();
            assert_ne!(ca.sql(), cb.sql(), "pair {i} on {d}");
            assert_eq!(cb, uncached(b, d).unwrap(), "pair {i} on {d}");
        }
    }
}

#[test]
fn statements_differing_only_in_a_non_value_field_get_their_own_sql_from_the_cache() {
    let base = || select(User::name).from(User::table());
    let joined = |kind_left: bool| {
        let s = select((User::name, Post::title)).from(User::table());
        if kind_left {
            s.left_join(Post::table(), Post::user_id.eq_col(User::id))
        } else {
            s.join(Post::table(), Post::user_id.eq_col(User::id))
        }
    };
    let all = [Dialect::Postgres, Dialect::MariaDb, Dialect::Sqlite];
    assert_cache_tells_apart(
        &all,
        &[
            (base(), base().distinct()),
            (joined(false), joined(true)),
            (
                base().order_by(User::karma.asc()),
                base().order_by(User::karma.desc()),
            ),
            (
                base().order_by(User::karma.asc().nulls_first()),
                base().order_by(User::karma.asc().nulls_last()),
            ),
            (
                select(func::count(User::email)),
                select(func::count_distinct(User::email)),
            ),
            (
                base().filter(User::name.like_escape("a", '!')),
                base().filter(User::name.like_escape("a", '#')),
            ),
            (
                select(User::karma.cast::<i64>()),
                select(User::karma.cast::<String>()),
            ),
            (base().union(base()), base().union_all(base())),
        ],
        SelectStatement::compile_uncached,
    );
    // SQLite renders no row locks.
    assert_cache_tells_apart(
        &[Dialect::Postgres, Dialect::MariaDb],
        &[
            (base().for_update(), base().with_lock(Lock::Share)),
            (
                base().with_lock(Lock::UpdateNowait),
                base().with_lock(Lock::UpdateSkipLocked),
            ),
        ],
        SelectStatement::compile_uncached,
    );
    let row = || (User::id.set(1), User::name.set("a"));
    assert_cache_tells_apart(
        &all,
        &[
            (
                insert(User::table())
                    .values(row())
                    .on_conflict_do_nothing(["id"]),
                insert(User::table())
                    .values(row())
                    .on_conflict_do_nothing(["name"]),
            ),
            (
                insert(User::table())
                    .values(row())
                    .on_conflict_do_nothing(["id"]),
                insert(User::table())
                    .values(row())
                    .on_conflict_do_update(["id"], User::name.set(excluded(User::name))),
            ),
        ],
        InsertStatement::compile_uncached,
    );
}

#[test]
fn hostile_strings_are_binds_not_sql() {
    let evil = "'; DROP TABLE users; --";
    let c = select(User::id)
        .filter(User::name.eq(evil))
        .compile(Dialect::MySql)
        .unwrap();
    assert_eq!(
        c.sql(),
        "SELECT `users`.`id` FROM `users` WHERE `users`.`name` = ?"
    );
    assert_eq!(c.binds(), &[Value::Text(evil.into())]);
}

#[test]
fn join_without_a_table_to_attach_to_is_an_error() {
    let stmt = select(func::count_star()).join(Post::table(), Post::user_id.eq(User::id));
    let err = stmt.compile(Dialect::Postgres).unwrap_err();
    assert!(err.to_string().contains("call .from(..) first"), "{err}");
    // A table named anywhere in the select list is what the join attaches to.
    check_same(
        &select(func::count(User::id)).join(Post::table(), Post::user_id.eq_col(User::id)),
        r#"SELECT count("users"."id") FROM "users" JOIN "posts" ON "posts"."user_id" = "users"."id""#,
    );
}

#[test]
fn a_subquery_in_from_is_not_correlated() {
    let sub = select((Post::user_id, func::count(Post::id).label("n")))
        .filter(Post::user_id.eq_col(User::id))
        .group_by(Post::user_id)
        .subquery("pc");
    check_same(
        &select((User::name, sub.c::<i64>("n")))
            .from(User::table())
            .join(&sub, sub.c::<i64>("user_id").eq_col(User::id)),
        r#"SELECT "users"."name", "pc"."n" FROM "users" JOIN (SELECT "posts"."user_id", count("posts"."id") AS "n" FROM "posts", "users" WHERE "posts"."user_id" = "users"."id" GROUP BY "posts"."user_id") AS "pc" ON "pc"."user_id" = "users"."id""#,
    );
}

#[test]
fn ctes_of_union_members_are_hoisted() {
    let c = select((User::id, User::name)).cte("cc");
    let stmt = select(c.c::<i64>("id"))
        .from(&c)
        .union(select(User::id).filter(User::id.in_select(select(c.c::<i64>("id")).from(&c))));
    check_same(
        &stmt,
        r#"WITH "cc" AS (SELECT "users"."id", "users"."name" FROM "users") SELECT "cc"."id" FROM "cc" UNION SELECT "users"."id" FROM "users" WHERE "users"."id" IN (SELECT "cc"."id" FROM "cc")"#,
    );
}

#[test]
fn cached_binds_match_a_fresh_compile_when_a_cte_appears_twice() {
    fn mk(x: i32) -> Cte {
        select(User::id).filter(User::karma.gt(x)).cte("rc")
    }
    let c = mk(1);
    let t1 = select(c.c::<i64>("id")).from(&c).filter(
        c.c::<i64>("id")
            .in_select(select(c.c::<i64>("id")).from(&c)),
    );
    let (ca, cb) = (mk(5), mk(500));
    let t2 = select(ca.c::<i64>("id")).from(&ca).filter(
        ca.c::<i64>("id")
            .in_select(select(cb.c::<i64>("id")).from(&cb)),
    );
    for d in [Dialect::Postgres, Dialect::Sqlite] {
        t1.compile(d).unwrap();
        assert_eq!(t2.compile(d).unwrap(), t2.compile_uncached(d).unwrap());
    }
}

#[test]
fn concatenated_arithmetic_is_parenthesized() {
    let e = (User::karma + 2).cast::<String>().concat("x");
    check(
        &select(e),
        r#"SELECT CAST("users"."karma" + $1 AS VARCHAR) || $2 FROM "users""#,
        "SELECT CONCAT(CAST(`users`.`karma` + ? AS CHAR), ?) FROM `users`",
        r#"SELECT CAST("users"."karma" + ? AS VARCHAR) || ? FROM "users""#,
    );
    let e = (lit(1i64) + 2i64).coerce::<String>().concat("x");
    assert_eq!(
        select(e).compile(Dialect::Sqlite).unwrap().sql(),
        "SELECT (? + ?) || ?"
    );
}

#[test]
fn sqlite_insert_select_upsert_wraps_the_select() {
    let stmt = insert(Order::table())
        .from_select(
            ["id", "select"],
            select((User::id, User::karma))
                .order_by(User::id.asc())
                .limit(5),
        )
        .on_conflict_do_nothing(["id"]);
    assert_eq!(
        stmt.compile(Dialect::Sqlite).unwrap().sql(),
        r#"INSERT INTO "order" ("id", "select") SELECT * FROM (SELECT "users"."id", "users"."karma" FROM "users" ORDER BY "users"."id" ASC LIMIT ?) WHERE true ON CONFLICT ("id") DO NOTHING"#
    );
}

#[test]
fn compound_order_by_uses_output_names() {
    let stmt = select((User::id, User::name))
        .filter(User::karma.gt(1))
        .union(select((User::id, User::name)).filter(User::karma.lt(0)))
        .order_by(User::name.desc());
    check_same(
        &stmt,
        r#"SELECT "users"."id", "users"."name" FROM "users" WHERE "users"."karma" > $1 UNION SELECT "users"."id", "users"."name" FROM "users" WHERE "users"."karma" < $2 ORDER BY "name" DESC"#,
    );
}

#[test]
fn recursive_cte_without_every_name_has_no_column_list() {
    let t = select((User::id, lit(0i64))).cte_recursive("t2");
    let stmt = select(t.c::<i64>("id")).from(&t);
    check_same(
        &stmt,
        r#"WITH RECURSIVE "t2" AS (SELECT "users"."id", $1 FROM "users") SELECT "t2"."id" FROM "t2""#,
    );
}

#[test]
fn negated_raw_sql_cannot_become_a_comment() {
    check_same(&select(-literal_column::<i64>("-1")), "SELECT -(-1)");
}

#[test]
fn columns_of_an_alias_bring_the_aliased_table_into_from() {
    let boss = alias::<User>("boss");
    check_same(
        &select(boss.col(User::name)).filter(boss.col(User::karma).gt(1)),
        r#"SELECT "boss"."name" FROM "users" AS "boss" WHERE "boss"."karma" > $1"#,
    );
}

#[test]
fn columns_of_a_cte_in_with_need_no_explicit_from() {
    let c = select((User::id, User::name)).cte("cc");
    check_same(
        &select(c.c::<i64>("id")).with(&c),
        r#"WITH "cc" AS (SELECT "users"."id", "users"."name" FROM "users") SELECT "cc"."id" FROM "cc""#,
    );
}

#[test]
fn columns_of_a_subquery_not_in_from_are_an_error() {
    let sq = select(User::id).subquery("sq");
    let err = select(sq.c::<i64>("id"))
        .compile(Dialect::Postgres)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid statement on `sq`: columns of the subquery or CTE `sq` are used but it is not in FROM; add it with `.from(&sq)` or a join"
    );
    let c = select(User::id).cte("cte1");
    assert!(
        select(c.c::<i64>("id")).compile(Dialect::Sqlite).is_err(),
        "a CTE no WITH defines"
    );
}

#[test]
fn update_naming_another_table_outside_a_subquery_is_an_error() {
    let err = update(User::table())
        .set(User::karma.set(0))
        .filter(Post::user_id.eq_col(User::id))
        .compile(Dialect::Postgres)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("refers to `posts` outside a subquery"),
        "{err}"
    );
    // Through a subquery it is fine.
    let ok = update(User::table())
        .set(User::karma.set(0))
        .filter(User::id.in_select(select(Post::user_id)));
    assert_eq!(
        ok.compile(Dialect::Postgres).unwrap().sql(),
        r#"UPDATE "users" SET "karma" = $1 WHERE "users"."id" IN (SELECT "posts"."user_id" FROM "posts")"#
    );
}

#[test]
fn string_literals_are_text_expressions() {
    check(
        &select(lit("hi").concat(User::name)),
        r#"SELECT $1 || "users"."name" FROM "users""#,
        "SELECT CONCAT(?, `users`.`name`) FROM `users`",
        r#"SELECT ? || "users"."name" FROM "users""#,
    );
}

#[test]
fn a_locked_compound_select_is_an_error() {
    let stmt = select(User::id).union(select(Post::user_id)).for_update();
    assert!(
        stmt.compile(Dialect::Postgres)
            .unwrap_err()
            .to_string()
            .contains("row locks")
    );
}
