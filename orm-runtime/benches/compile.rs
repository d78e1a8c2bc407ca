//! Compile time of a five-join SELECT: cold (the compiler runs) and cached (the
//! statement cache hands back the SQL and rebinds the values).
//!
//! `cargo bench -p orm-runtime --bench compile`

#![allow(non_upper_case_globals)] // typed columns are named like fields, as the derive names them
#![allow(missing_docs)] // a benchmark binary

use std::hint::black_box;
use std::sync::{Arc, OnceLock};

use criterion::{Criterion, criterion_group, criterion_main};
use orm_runtime::Dialect;
use orm_runtime::schema::{Column as Col, ForeignKey, SqlType, Table};
use orm_runtime::sql::{Column, HasTable, SelectStatement, func, select};

macro_rules! model {
    ($ty:ident, $name:literal, [$($col:ident),*], [$($fk:expr),*]) => {
        struct $ty;
        impl HasTable for $ty {
            const TABLE_NAME: &'static str = $name;
            fn table() -> Arc<Table> {
                static T: OnceLock<Arc<Table>> = OnceLock::new();
                Arc::clone(T.get_or_init(|| {
                    let mut t = Table::new($name);
                    $(t = t.column(Col::new(stringify!($col), SqlType::BigInt));)*
                    $(t = t.foreign_key($fk);)*
                    Arc::new(t)
                }))
            }
        }
        impl $ty {
            $(const $col: Column<$ty, i64> = Column::new(stringify!($col));)*
        }
    };
}

model!(Artist, "artist", [id], []);
model!(
    Album,
    "album",
    [id, artist_id, year],
    [ForeignKey::new(["artist_id"], "artist", ["id"])]
);
model!(
    Track,
    "track",
    [id, album_id, genre_id],
    [ForeignKey::new(["album_id"], "album", ["id"])]
);
model!(Genre, "genre", [id, parent_id], []);
model!(
    Line,
    "invoice_line",
    [id, track_id, invoice_id],
    [ForeignKey::new(["track_id"], "track", ["id"])]
);
model!(Invoice, "invoice", [id, total], []);

/// The statement a request handler would build, with this request's values.
fn five_joins(artist: i64, min_year: i64, limit: u64) -> SelectStatement {
    select((
        Artist::id,
        Album::year,
        func::count(Line::id).label("lines"),
        func::sum(Invoice::total),
    ))
    .from(Artist::table())
    .join(Album::table(), Album::artist_id.eq(Artist::id))
    .join(Track::table(), Track::album_id.eq(Album::id))
    .join(Genre::table(), Genre::id.eq(Track::genre_id))
    .join(Line::table(), Line::track_id.eq(Track::id))
    .join(Invoice::table(), Invoice::id.eq(Line::invoice_id))
    .filter(
        Artist::id
            .eq(artist)
            .and(Album::year.ge(min_year))
            .and(Genre::parent_id.in_([1, 2, 3])),
    )
    .group_by(Artist::id)
    .group_by(Album::year)
    .order_by(Album::year.desc())
    .limit(limit)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("compile_five_join_select");
    for dialect in [Dialect::Postgres, Dialect::MySql, Dialect::Sqlite] {
        let stmt = five_joins(7, 1990, 10);
        g.bench_function(format!("{dialect}/cold"), |b| {
            b.iter(|| black_box(&stmt).compile_uncached(dialect).unwrap())
        });
        g.bench_function(format!("{dialect}/cached"), |b| {
            b.iter(|| black_box(&stmt).compile(dialect).unwrap())
        });
        g.bench_function(format!("{dialect}/build_and_compile_cached"), |b| {
            let mut i = 0i64;
            b.iter(|| {
                i += 1;
                five_joins(i, 1990, 10).compile(dialect).unwrap()
            })
        });
        g.bench_function(format!("{dialect}/build_and_compile_cold"), |b| {
            let mut i = 0i64;
            b.iter(|| {
                i += 1;
                five_joins(i, 1990, 10).compile_uncached(dialect).unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
