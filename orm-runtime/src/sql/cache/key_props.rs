//! The cache key against the compiler, over generated statements: two statements share
//! a key only if they compile to the same SQL, and a statement compiled through the
//! cache (after another that may share its entry) gets exactly its fresh compile.
//!
//! Statements are built from a *spec*, one small number per structural choice (which
//! statement, columns, filter, ORDER BY, DISTINCT, LIMIT, locks, joins, upsert,
//! RETURNING, row count and order...), and from values drawn apart. Pairs are either
//! the same spec (other values), a spec differing in one field, or two random specs.

use proptest::prelude::*;

use super::{Stmt, key_of};
use crate::dialect::{Dialect, ServerInfo};
use crate::sql::fixtures::{Post, User};
use crate::sql::*;
use crate::value::Value;

/// One small number per structural choice; each builder reads them modulo its range.
const FIELDS: usize = 14;
type Spec = [u8; FIELDS];

/// The values a statement binds, drawn apart from its spec.
#[derive(Debug, Clone)]
struct Vals {
    ints: [i64; 4],
    text: String,
    email: Option<String>,
}

#[allow(clippy::large_enum_variant)] // generated statements, a few at a time
enum Built {
    Select(SelectStatement),
    Insert(InsertStatement),
    Update(UpdateStatement),
    Delete(DeleteStatement),
}

impl Built {
    fn stmt(&self) -> Stmt<'_> {
        match self {
            Built::Select(s) => Stmt::Select(s),
            Built::Insert(s) => Stmt::Insert(s),
            Built::Update(s) => Stmt::Update(s),
            Built::Delete(s) => Stmt::Delete(s),
        }
    }
}

fn filter(f: u8, list_len: u8, v: &Vals) -> Option<Expr<bool>> {
    let [a, b, c, _] = v.ints;
    Some(match f % 10 {
        0 => return None,
        1 => User::id.eq(a),
        2 => User::karma.gt(b as i32),
        3 => User::name.like(v.text.clone()),
        4 => User::id.in_((0..1 + list_len % 4).map(|i| a + i64::from(i))),
        5 => User::email.is_null(),
        6 => User::karma.between(b as i32, c as i32),
        7 => User::id.eq(a).and(User::karma.lt(b as i32)),
        8 => User::id.eq(a).or(User::name.ne(v.text.clone())),
        _ => User::name.ne(v.text.clone()),
    })
}

fn build(s: &Spec, v: &Vals) -> Built {
    let [a, b, _, _] = v.ints;
    match s[0] % 4 {
        0 => {
            let cols = [
                User::id.into_select_item(),
                User::name.into_select_item(),
                User::email.into_select_item(),
                User::karma.into_select_item(),
            ];
            let mask = 1 + s[1] % 15;
            let mut items: Vec<SelectItem> = (0..4)
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| cols[i].clone())
                .collect();
            if s[9] % 3 != 0 {
                items.push(Post::title.into_select_item());
            }
            let mut q = select(items).from(User::table());
            q = match s[9] % 3 {
                1 => q.join(Post::table(), Post::user_id.eq_col(User::id)),
                2 => q.left_join(Post::table(), Post::user_id.eq_col(User::id)),
                _ => q,
            };
            if let Some(f) = filter(s[2], s[3], v) {
                q = q.filter(f);
            }
            if s[4] % 2 == 1 {
                q = q.distinct();
            }
            q = match s[5] % 6 {
                1 => q.order_by(User::karma.asc()),
                2 => q.order_by(User::karma.desc()),
                3 => q.order_by(User::email.asc().nulls_last()),
                4 => q.order_by(User::email.desc().nulls_first()),
                5 => q.order_by(User::name.asc()),
                _ => q,
            };
            if s[6] % 2 == 1 {
                q = q.limit(a.unsigned_abs() % 100);
            }
            if s[7] % 2 == 1 {
                q = q.offset(b.unsigned_abs() % 100);
            }
            q = match s[8] % 4 {
                1 => q.for_update(),
                2 => q.with_lock(Lock::Share),
                3 => q.with_lock(Lock::UpdateSkipLocked),
                _ => q,
            };
            Built::Select(q)
        }
        1 => {
            let mask = 1 + s[1] % 15;
            let row = |r: i64, reversed: bool| {
                let mut row: Vec<Assignment> = Vec::new();
                if mask & 1 != 0 {
                    row.push(User::name.set(format!("{}{r}", v.text)));
                }
                if mask & 2 != 0 {
                    row.push(User::email.set(v.email.clone()));
                }
                if mask & 4 != 0 {
                    row.push(User::karma.set((b + r) as i32));
                }
                if mask & 8 != 0 {
                    row.push(User::id.set(a + r));
                }
                if reversed {
                    row.reverse();
                }
                row
            };
            // Later rows may name the columns in another order: the same statement.
            let rows: Vec<Vec<Assignment>> = (0..1 + i64::from(s[3] % 4))
                .map(|r| row(r, r > 0 && s[12] % 2 == 1))
                .collect();
            let mut q = insert(User::table()).values_many(rows);
            q = match s[10] % 5 {
                1 => q.on_conflict_do_nothing(["id"]),
                2 => q.on_conflict_do_nothing(["name"]),
                3 => q.on_conflict_do_update(["id"], User::name.set(excluded(User::name))),
                4 => q.on_conflict_do_update(["id"], User::karma.set(b as i32)),
                _ => q,
            };
            Built::Insert(returning(q, s[11], InsertStatement::returning))
        }
        2 => {
            let mask = 1 + s[1] % 7;
            let mut q = update(User::table());
            if mask & 1 != 0 {
                q = q.set(User::name.set(v.text.clone()));
            }
            if mask & 2 != 0 {
                q = q.set(User::email.set(v.email.clone()));
            }
            if mask & 4 != 0 {
                q = q.set(User::karma.set(b as i32));
            }
            if let Some(f) = filter(s[2], s[3], v) {
                q = q.filter(f);
            }
            Built::Update(returning(q, s[11], UpdateStatement::returning))
        }
        _ => {
            let mut q = delete(User::table());
            if let Some(f) = filter(s[2], s[3], v) {
                q = q.filter(f);
            }
            Built::Delete(returning(q, s[11], DeleteStatement::returning))
        }
    }
}

fn returning<S>(q: S, r: u8, f: fn(S, Vec<SelectItem>) -> S) -> S {
    match r % 3 {
        1 => f(q, vec![User::id.into_select_item()]),
        2 => f(
            q,
            vec![User::id.into_select_item(), User::name.into_select_item()],
        ),
        _ => q,
    }
}

fn vals() -> impl Strategy<Value = Vals> {
    (
        any::<[i64; 4]>(),
        "[a-z]{0,6}",
        proptest::option::of("[a-z]{1,6}"),
    )
        .prop_map(|(ints, text, email)| Vals { ints, text, email })
}

/// A second spec: the same, one field changed, or another random spec.
fn pair() -> impl Strategy<Value = (Spec, Spec)> {
    (any::<Spec>(), any::<Spec>(), 0..3u8, 0..FIELDS).prop_map(|(a, other, how, field)| {
        let b = match how {
            0 => a,
            1 => {
                let mut b = a;
                b[field] = other[field];
                b
            }
            _ => other,
        };
        (a, b)
    })
}

/// The SQL a statement compiles to without the cache, or its error.
fn fresh(b: &Built, server: ServerInfo) -> std::result::Result<Compiled, String> {
    super::compile_uncached(b.stmt(), server).map_err(|e| e.to_string())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn equal_keys_iff_equal_sql((sa, sb) in pair(), va in vals(), vb in vals()) {
        let (a, b) = (build(&sa, &va), build(&sb, &vb));
        for d in [Dialect::Postgres, Dialect::MySql, Dialect::MariaDb, Dialect::Sqlite] {
            let server = ServerInfo::from(d);
            let (ka, _) = key_of(a.stmt(), server).unwrap();
            let (kb, _) = key_of(b.stmt(), server).unwrap();
            let (fa, fb) = (fresh(&a, server), fresh(&b, server));
            let sql = |f: &std::result::Result<Compiled, String>| {
                f.as_ref().map(|c| c.sql().to_owned()).map_err(Clone::clone)
            };
            // Each bind's variant, and an array's length: PostgreSQL's `= ANY($1)` is
            // one SQL text for IN lists of any length, but the lists are in the tree,
            // so lists of other lengths are other keys (a cache miss, never wrong SQL).
            let kinds = |f: &std::result::Result<Compiled, String>| {
                f.as_ref().map(|c| {
                    c.binds().iter().map(|v| {
                        let len = match v {
                            Value::Array(items) => items.len(),
                            _ => 0,
                        };
                        (std::mem::discriminant(v), len)
                    }).collect::<Vec<_>>()
                }).unwrap_or_default()
            };
            // A shared key serves one SQL text: the two must compile alike.
            if ka == kb {
                prop_assert_eq!(sql(&fa), sql(&fb), "{} shares a key", d);
            }
            // The other way, on PostgreSQL, which renders every field the generator
            // sets (SQLite drops row locks; MySQL refuses RETURNING): the same SQL
            // binding values of the same shapes is the same key.
            if d == Dialect::Postgres && sql(&fa) == sql(&fb) && kinds(&fa) == kinds(&fb) {
                prop_assert!(ka == kb, "same SQL, other keys: {:?}", sql(&fa));
            }
            // Through the cache, `b` after `a` gets exactly its fresh compile.
            let cached = |x: &Built| {
                super::compile(x.stmt(), server).map_err(|e| e.to_string())
            };
            prop_assert_eq!(cached(&a), fa);
            prop_assert_eq!(cached(&b), fb);
            // An INSERT given up to `execute` (its values moved into the binds on a
            // cache hit) runs what it would have run borrowed.
            for x in [&a, &b] {
                if let Built::Insert(s) = x {
                    let owned = s.clone().into_execute_plan(server).map_err(|e| e.to_string());
                    prop_assert_eq!(owned, s.execute_plan(server).map_err(|e| e.to_string()));
                }
            }
        }
    }
}
