//! The compiled-statement cache.
//!
//! Compiling the same statement *shape* again (same tree, other bind values) reuses the
//! SQL string. A statement's cache key is the tree itself, written out by its derived
//! [`Hash`] into [`KeyHasher`], which keeps the bytes (an exact key, not a digest); a
//! bound [`Value`] writes only its variant there. Because the key comes from the
//! derives, a field added to a node takes part in it without anyone remembering to
//! (rather than a second, hand-written walk of the tree that could miss it). The
//! property test in `key_props` checks it over generated statements: a shared key
//! means the same SQL, and a statement compiled through the cache gets exactly its
//! fresh compile.
//!
//! The same walk collects the bound values in tree order (see [`Value`]'s `Hash`). A
//! cache entry keeps the SQL and a *bind plan*: for each placeholder, which of those
//! values fills it (a value may fill several, e.g. MySQL's emulated NULLS LAST repeats
//! its expression).

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, LazyLock, RwLock};

use super::Compiled;
use super::compiler::{Compiler, Source};
use super::dml::{DeleteStatement, InsertStatement, UpdateStatement};
use super::select::SelectStatement;
use crate::dialect::ServerInfo;
use crate::error::Result;
use crate::value::Value;

/// Entries kept before the cache is emptied and starts again (a bound on memory for
/// programs that build unbounded numbers of shapes, e.g. IN lists of every length).
const CAPACITY: usize = 4096;

struct Entry {
    sql: Arc<str>,
    plan: Vec<Slot>,
    /// The plan is the tree's values once each, in tree order (see [`cached_in_order`]).
    in_order: bool,
}

/// What fills one placeholder: one value, or an array of several (PostgreSQL's
/// `= ANY($1)` for an IN list).
enum Slot {
    One(Use),
    Array(Vec<Use>),
}

/// What fills one placeholder: the value at `index` among the tree's values (cloned
/// from the tree, which the caller still owns).
#[derive(Clone, Copy)]
struct Use {
    index: u32,
}

/// Keyed by the exact key bytes, hashed with foldhash (a key is hashed on every
/// compile: SipHash's cost showed in lookups).
static CACHE: LazyLock<RwLock<Entries>> = LazyLock::new(|| RwLock::new(HashMap::default()));

type Entries = HashMap<Vec<u8>, Arc<Entry>, foldhash::fast::RandomState>;

/// A statement the cache knows how to key and compile.
#[derive(Clone, Copy, Hash)]
pub(crate) enum Stmt<'a> {
    Select(&'a SelectStatement),
    Insert(&'a InsertStatement),
    Update(&'a UpdateStatement),
    Delete(&'a DeleteStatement),
}

impl Stmt<'_> {
    fn compile_into(self, c: &mut Compiler) -> Result<()> {
        match self {
            Stmt::Select(s) => c.select(s),
            Stmt::Insert(s) => c.insert(s),
            Stmt::Update(s) => c.update(s),
            Stmt::Delete(s) => c.delete(s),
        }
    }
}

/// Compiles without the cache.
pub(crate) fn compile_uncached(stmt: Stmt<'_>, server: ServerInfo) -> Result<Compiled> {
    let mut c = Compiler::new(server);
    stmt.compile_into(&mut c)?;
    let (sql, binds, _) = c.finish()?;
    Ok(Compiled::new(sql, binds))
}

/// Compiles through the cache.
pub(crate) fn compile(stmt: Stmt<'_>, server: ServerInfo) -> Result<Compiled> {
    let Some((key, values)) = key_of(stmt, server) else {
        return compile_uncached(stmt, server);
    };
    let hit = with_entry(&key, |entry| {
        // SAFETY: each pointer was taken from a `&Value` inside `stmt` by the key walk,
        // and `stmt` is still borrowed (shared, so unchanged) for this whole call.
        let take = |u: &Use| unsafe { (*values[u.index as usize].at).clone() };
        let binds = entry
            .plan
            .iter()
            .map(|slot| match slot {
                Slot::One(u) => take(u),
                Slot::Array(us) => Value::Array(us.iter().map(take).collect()),
            })
            .collect();
        Compiled::new(Arc::clone(&entry.sql), binds)
    });
    if let Some(compiled) = hit {
        give_back(key, values);
        return Ok(compiled);
    }
    let mut c = Compiler::new(server);
    stmt.compile_into(&mut c)?;
    let (sql, binds, sources) = c.finish()?;
    let sql: Arc<str> = Arc::from(sql);
    if let Some(plan) = bind_plan(&sources, &values) {
        let in_order = plan.len() == values.len()
            && (plan.iter().enumerate())
                .all(|(i, s)| matches!(s, Slot::One(u) if u.index as usize == i));
        if let Ok(mut map) = CACHE.write() {
            if map.len() >= CAPACITY {
                map.clear();
            }
            map.insert(
                key,
                Arc::new(Entry {
                    sql: Arc::clone(&sql),
                    plan,
                    in_order,
                }),
            );
        }
    }
    Ok(Compiled::new(sql, binds))
}

/// The cached SQL of `stmt` when its binds are exactly the values at `values` (each
/// pointing into `stmt`), in that order: then a caller that owns the statement moves
/// them into the binds instead of copying them. `None` when the shape is not cached yet
/// or binds anything else (then compile it as usual).
pub(crate) fn cached_in_order(
    stmt: Stmt<'_>,
    server: ServerInfo,
    mut values: impl Iterator<Item = *const Value>,
) -> Option<Arc<str>> {
    let (key, met) = key_of(stmt, server)?;
    // Only addresses are compared: nothing is read through them.
    let sql = with_entry(&key, |e| {
        let in_order = e.in_order
            && met.iter().all(|m| values.next() == Some(m.at))
            && values.next().is_none();
        in_order.then(|| Arc::clone(&e.sql))
    });
    give_back(key, met);
    sql.flatten()
}

/// `f` of the entry for `key`, if there is one: this thread's copy of it, else the
/// shared one (then copied here for next time). A hit on this thread takes no lock
/// and counts no reference, each an atomic operation that showed in a statement's
/// cost. Entries never change, so a copy is never stale; the copies are bounded as the
/// shared map is.
fn with_entry<R>(key: &[u8], f: impl FnOnce(&Entry) -> R) -> Option<R> {
    let mut f = Some(f);
    let here = LOCAL.try_with(|local| {
        let mut local = local.borrow_mut();
        let f = f.take().expect("taken once");
        if let Some(entry) = local.get(key) {
            return Some(f(entry));
        }
        let entry = CACHE.read().ok()?.get(key).cloned()?;
        if local.len() >= CAPACITY {
            local.clear();
        }
        let out = f(&entry);
        local.insert(key.to_vec(), entry);
        Some(out)
    });
    match (here, f) {
        (Ok(out), _) => out,
        // This thread's locals are being torn down: the shared map alone.
        (Err(_), Some(f)) => CACHE.read().ok()?.get(key).map(|e| f(e)),
        (Err(_), None) => None,
    }
}

/// For each placeholder, where its value is among the tree's values; `None` if a
/// placeholder's value is not in the tree (then the shape is not cached).
fn bind_plan(sources: &[Source], values: &[Met]) -> Option<Vec<Slot>> {
    // The first occurrence in tree order: where a value is reachable twice (one CTE
    // object used in two places), the compiler renders the first.
    let mut index: HashMap<*const Value, u32> = HashMap::with_capacity(values.len());
    for (i, v) in values.iter().enumerate() {
        index.entry(v.at).or_insert(i as u32);
    }
    let find = |s: &*const Value| index.get(s).map(|&index| Use { index });
    sources
        .iter()
        .map(|s| match s {
            Source::One(s) => find(s).map(Slot::One),
            Source::Array(ss) => ss.iter().map(find).collect::<Option<_>>().map(Slot::Array),
        })
        .collect()
}

/// A bound value the key walk met: where it sits in the tree. Compared with the
/// compiler's [`Compiler::sources`], and read (cloned into the binds) on a cache hit
/// while the statement is still borrowed; the walk itself copies nothing, so a
/// statement's values are cloned once, into its binds, as a fresh compile does.
struct Met {
    at: *const Value,
}

thread_local! {
    /// This thread's copies of the shared entries it used (see [`with_entry`]).
    static LOCAL: RefCell<Entries> = RefCell::new(HashMap::default());
    /// While [`key_of`] runs on this thread: the bound values met so far, in tree order.
    static MET: RefCell<Option<Vec<Met>>> = const { RefCell::new(None) };
    /// The buffers of the last cache hit on this thread, kept for the next key (a hit
    /// then allocates nothing for its key).
    static SPARE: RefCell<(Vec<u8>, Vec<Met>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// Empty buffers for a key and its values: this thread's spares, or new ones.
fn spare() -> (Vec<u8>, Vec<Met>) {
    SPARE
        .try_with(|s| std::mem::take(&mut *s.borrow_mut()))
        .unwrap_or_default()
}

/// Keeps a key's buffers for the next one (emptied: no pointer outlives its walk).
fn give_back(mut key: Vec<u8>, mut met: Vec<Met>) {
    key.clear();
    met.clear();
    let _ = SPARE.try_with(|s| *s.borrow_mut() = (key, met));
}

/// A statement's cache key and its bound values in tree order; `None` only while this
/// thread's locals are being torn down (then the statement compiles uncached).
///
/// The values come out of the same derived walk as the key: [`Value`]'s `Hash` pushes
/// each value it is asked to hash onto [`MET`] while this function has it open. That is
/// sound because the walk is synchronous and on this thread, runs no user code (the tree
/// holds only this crate's types and std's strings, numbers and containers), and nothing else
/// opens [`MET`]; the pointers are compared and read only while `stmt` is still borrowed,
/// so each still points at its value and no address can have been reused. The sink is
/// closed even if the walk panics.
///
/// The key starts with the dialect and the server's [`Capabilities`]: the SQL depends on
/// them (RETURNING, upsert spellings, lock options), and not on the version otherwise,
/// so servers of one dialect with the same capabilities share entries.
///
/// [`Capabilities`]: crate::dialect::Capabilities
fn key_of(stmt: Stmt<'_>, server: ServerInfo) -> Option<(Vec<u8>, Vec<Met>)> {
    struct Close;
    impl Drop for Close {
        fn drop(&mut self) {
            let _ = MET.try_with(|m| m.borrow_mut().take());
        }
    }
    let (mut key, met) = spare();
    key.reserve(256);
    MET.try_with(|m| *m.borrow_mut() = Some(met)).ok()?;
    let close = Close;
    let mut h = KeyHasher { key };
    server.dialect().hash(&mut h);
    server.capabilities().hash(&mut h);
    stmt.hash(&mut h);
    let values = MET.try_with(|m| m.borrow_mut().take()).ok().flatten()?;
    drop(close);
    Some((h.key, values))
}

/// Records the bound values of a statement's cache key while the cache builds one.
///
/// A value hashes as its variant only (`Value::shape`: a typed NULL as its kind's
/// variant): statements that differ only in what they bind share a key, and so their
/// SQL. Equal values have equal shapes, so this agrees with `PartialEq` as `Hash` must.
/// Nothing the compiler writes depends on whether a typed bind is NULL (an IN list's
/// `= ANY($1)` takes typed NULLs as array elements).
impl Hash for Value {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u8(self.shape());
        let _ = MET.try_with(|m| {
            if let Some(met) = m.borrow_mut().as_mut() {
                met.push(Met { at: self });
            }
        });
    }
}

/// A [`Hasher`] that keeps every byte it is given: the exact, unambiguous key of the
/// tree hashed into it. std's `Hash` impls are prefix-free (strings end in `0xff`, which
/// UTF-8 never contains; slices start with their length; enums with their variant), so
/// two trees write the same bytes only if they are equal but for their bound values
/// (and for tables other than by name: a table hashes as its qualified name).
struct KeyHasher {
    key: Vec<u8>,
}

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.key.extend_from_slice(bytes);
    }

    fn write_u8(&mut self, b: u8) {
        self.key.push(b);
    }

    /// Lengths and variant numbers, as LEB128: small numbers take one byte, and the
    /// encoding still says where it ends.
    fn write_usize(&mut self, mut n: usize) {
        while n >= 0x80 {
            self.key.push(n as u8 | 0x80);
            n >>= 7;
        }
        self.key.push(n as u8);
    }

    fn write_isize(&mut self, n: isize) {
        self.write_usize(n as usize);
    }

    /// Not used by the cache, which keys on the bytes; a digest of them, for the trait.
    fn finish(&self) -> u64 {
        let mut h = DefaultHasher::new();
        h.write(&self.key);
        h.finish()
    }
}

#[cfg(test)]
mod key_props;

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::dialect::Dialect;
    use crate::schema::{Column as Col, SqlType, Table};
    use crate::sql::fixtures::{Post, User};
    use crate::sql::*;
    use crate::value::Value;

    #[test]
    fn a_typed_null_keys_as_its_kind() {
        let key = |email: Option<&str>| {
            let stmt = update(User::table())
                .set(User::email.set(email))
                .filter(User::id.eq(1));
            super::key_of(super::Stmt::Update(&stmt), Dialect::Postgres.into())
                .unwrap()
                .0
        };
        assert_eq!(key(None), key(Some("a")));
        // An untyped NULL is a shape of its own (it binds differently on PostgreSQL);
        // assigned to a known column it takes the column's type.
        let dynamic = |column: &str, v: Value| {
            let stmt = update(User::table())
                .set(Assignment::new(column.to_owned(), v))
                .filter(User::id.eq(1));
            super::key_of(super::Stmt::Update(&stmt), Dialect::Postgres.into())
                .unwrap()
                .0
        };
        assert_eq!(dynamic("email", Value::Null), key(Some("a")));
        assert_ne!(
            dynamic("other", Value::Null),
            dynamic("other", Value::Text("b".into()))
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
    fn cached_postgres_in_lists_rebuild_their_array() {
        let q = |ids: &[i64]| {
            select(User::name).filter(
                User::id
                    .in_(ids.to_vec())
                    .and(User::name.not_in(["a", "b"]))
                    .and(User::id.ne(ids[0])),
            )
        };
        let first = q(&[1, 2]).compile(Dialect::Postgres).unwrap();
        for ids in [[3i64, 4], [5, 6]] {
            let stmt = q(&ids);
            let cached = stmt.compile(Dialect::Postgres).unwrap();
            assert_eq!(cached.sql(), first.sql());
            assert_eq!(
                cached.binds(),
                &[
                    Value::Array(ids.iter().copied().map(Value::I64).collect()),
                    Value::Array(vec![Value::Text("a".into()), Value::Text("b".into())]),
                    Value::I64(ids[0]),
                ]
            );
            assert_eq!(cached, stmt.compile_uncached(Dialect::Postgres).unwrap());
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

    /// Compiles `a` then `b` through the cache: `b` must get its own SQL, not `a`'s.
    #[track_caller]
    fn assert_cache_tells_apart<S: Executable>(
        dialects: &[Dialect],
        pairs: &[(S, S)],
        uncached: fn(&S, Dialect) -> crate::error::Result<Compiled>,
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
}
