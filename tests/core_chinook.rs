//! The expression language run against Chinook on every database: each query's rows are
//! checked against the same query written by hand in SQL.

use orm::schema::SqlType;
use orm::sql::{Dynamic, column, not_exists, over};
use orm::{Engine, Row, Value, func, lit, select, text};

use crate::backend_tests;
use crate::support::TestDb;
use crate::support::chinook::{self, ChinookNames};

backend_tests!(
    top_five_artists_by_track_count,
    customers_with_invoices_over_40_in_total,
    recursive_cte_walks_the_reporting_chain,
    window_rank_picks_the_longest_track_per_album,
    correlated_not_exists_and_in_subquery,
    union_and_scalar_subquery,
);

/// A value as text, numbers rounded to cents, so results from different SQL types compare.
fn canon(v: Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Text(s) => s,
        Value::Bytes(b) => String::from_utf8_lossy(&b).into_owned(),
        Value::Bool(b) => i64::from(b).to_string(),
        Value::I16(i) => i.to_string(),
        Value::I32(i) => i.to_string(),
        Value::I64(i) => i.to_string(),
        Value::F32(f) => format!("{f:.2}"),
        Value::F64(f) => format!("{f:.2}"),
        Value::Decimal(d) => format!("{:.2}", d.round_dp(2)),
        other => format!("{other:?}"),
    }
}

fn table_of(rows: &[Row]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| r.values().unwrap().into_iter().map(canon).collect())
        .collect()
}

/// Runs both, asserts equal results, returns them.
async fn same_rows(engine: &Engine, built: impl orm::Executable, hand: String) -> Vec<Vec<String>> {
    let got = table_of(&engine.fetch_all(built).await.unwrap());
    let want = table_of(&engine.fetch_all(text(hand.clone())).await.unwrap());
    assert_eq!(got, want, "hand-written: {hand}");
    assert!(!got.is_empty(), "the query returned nothing: {hand}");
    got
}

/// Artist(ArtistId, Name) and Album(AlbumId, ArtistId), as several queries use them.
fn artist_and_album(
    c: &ChinookNames,
) -> (
    std::sync::Arc<orm::schema::Table>,
    std::sync::Arc<orm::schema::Table>,
) {
    let artist = c.table(
        "Artist",
        &[
            ("ArtistId", SqlType::Integer),
            ("Name", SqlType::varchar(120)),
        ],
    );
    let album = c.table(
        "Album",
        &[
            ("AlbumId", SqlType::Integer),
            ("ArtistId", SqlType::Integer),
        ],
    );
    (artist, album)
}

async fn setup(db: &TestDb) -> (Engine, ChinookNames) {
    let engine = db.engine().await;
    chinook::load(db, &engine).await;
    (engine, ChinookNames(db.backend))
}

async fn top_five_artists_by_track_count(db: &TestDb) {
    let (engine, c) = setup(db).await;
    let (artist, album) = artist_and_album(&c);
    let track = c.table(
        "Track",
        &[("TrackId", SqlType::Integer), ("AlbumId", SqlType::Integer)],
    );
    let n = |s: &str| c.n(s);
    let stmt = select((
        artist.c(&n("Name")),
        func::count(track.c(&n("TrackId"))).label("tracks"),
    ))
    .from(&artist)
    .join(&album, album.c(&n("ArtistId")).eq(artist.c(&n("ArtistId"))))
    .join(&track, track.c(&n("AlbumId")).eq(album.c(&n("AlbumId"))))
    .group_by(artist.c(&n("ArtistId")))
    .group_by(artist.c(&n("Name")))
    .order_by(column::<i64>("tracks").desc())
    .order_by(artist.c(&n("Name")).asc())
    .limit(5);
    let hand = format!(
        "SELECT {name}, COUNT({tid}) AS tracks FROM {artist} JOIN {album} ON {al_ar} = {ar_id} \
         JOIN {track} ON {t_al} = {al_id} GROUP BY {ar_id}, {name} ORDER BY tracks DESC, {name} ASC LIMIT 5",
        name = c.q("Artist.Name"),
        tid = c.q("Track.TrackId"),
        artist = c.q("Artist"),
        album = c.q("Album"),
        track = c.q("Track"),
        al_ar = c.q("Album.ArtistId"),
        ar_id = c.q("Artist.ArtistId"),
        t_al = c.q("Track.AlbumId"),
        al_id = c.q("Album.AlbumId"),
    );
    let rows = same_rows(&engine, stmt, hand).await;
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[0], ["Iron Maiden", "213"]);
}

async fn customers_with_invoices_over_40_in_total(db: &TestDb) {
    let (engine, c) = setup(db).await;
    let n = |s: &str| c.n(s);
    let customer = c.table(
        "Customer",
        &[
            ("CustomerId", SqlType::Integer),
            ("FirstName", SqlType::varchar(40)),
            ("LastName", SqlType::varchar(20)),
        ],
    );
    let invoice = c.table(
        "Invoice",
        &[
            ("InvoiceId", SqlType::Integer),
            ("CustomerId", SqlType::Integer),
            ("Total", SqlType::numeric(10, 2)),
        ],
    );
    let total = func::sum(invoice.c(&n("Total")));
    let stmt = select((
        customer.c(&n("FirstName")),
        customer.c(&n("LastName")),
        total.clone().label("total"),
    ))
    .from(&customer)
    .join(
        &invoice,
        invoice.c(&n("CustomerId")).eq(customer.c(&n("CustomerId"))),
    )
    .group_by(customer.c(&n("CustomerId")))
    .group_by(customer.c(&n("FirstName")))
    .group_by(customer.c(&n("LastName")))
    .having(total.gt(40))
    .order_by(column::<Dynamic>("total").desc())
    .order_by(customer.c(&n("CustomerId")).asc());
    let hand = format!(
        "SELECT {first}, {last}, SUM({tot}) AS total FROM {cust} JOIN {inv} ON {inv_c} = {c_id} \
         GROUP BY {c_id}, {first}, {last} HAVING SUM({tot}) > 40 ORDER BY total DESC, {c_id} ASC",
        first = c.q("Customer.FirstName"),
        last = c.q("Customer.LastName"),
        tot = c.q("Invoice.Total"),
        cust = c.q("Customer"),
        inv = c.q("Invoice"),
        inv_c = c.q("Invoice.CustomerId"),
        c_id = c.q("Customer.CustomerId"),
    );
    let rows = same_rows(&engine, stmt, hand).await;
    assert!(rows.iter().all(|r| r[2].parse::<f64>().unwrap() > 40.0));
}

async fn recursive_cte_walks_the_reporting_chain(db: &TestDb) {
    let (engine, c) = setup(db).await;
    let n = |s: &str| c.n(s);
    let emp = c.table(
        "Employee",
        &[
            ("EmployeeId", SqlType::Integer),
            ("FirstName", SqlType::varchar(20)),
            ("ReportsTo", SqlType::Integer),
        ],
    );
    let anchor = select((
        emp.c(&n("EmployeeId")),
        emp.c(&n("FirstName")),
        lit(0i64).label("depth"),
    ))
    .from(&emp)
    .filter(emp.c(&n("ReportsTo")).is_null());
    let chain = anchor.cte_recursive("chain");
    let step = select((
        emp.c(&n("EmployeeId")),
        emp.c(&n("FirstName")),
        (chain.c::<i64>("depth") + 1i64).label("depth"),
    ))
    .from(&emp)
    .join(
        &chain,
        emp.c(&n("ReportsTo"))
            .eq(chain.c::<Dynamic>(n("EmployeeId"))),
    );
    let chain = chain.union_all(step);
    let stmt = select((
        chain.c::<Dynamic>(n("EmployeeId")),
        chain.c::<Dynamic>(n("FirstName")),
        chain.c::<i64>("depth"),
    ))
    .from(&chain)
    .order_by(chain.c::<i64>("depth").asc())
    .order_by(chain.c::<Dynamic>(n("EmployeeId")).asc());
    let hand = format!(
        "WITH RECURSIVE chain (id, name, depth) AS (\
           SELECT {eid}, {first}, 0 FROM {emp} WHERE {rep} IS NULL \
           UNION ALL \
           SELECT e.{eid_col}, e.{first_col}, chain.depth + 1 FROM {emp} e JOIN chain ON e.{rep_col} = chain.id) \
         SELECT id, name, depth FROM chain ORDER BY depth, id",
        eid = c.q("EmployeeId"),
        first = c.q("FirstName"),
        emp = c.q("Employee"),
        rep = c.q("ReportsTo"),
        eid_col = c.q("EmployeeId"),
        first_col = c.q("FirstName"),
        rep_col = c.q("ReportsTo"),
    );
    let rows = same_rows(&engine, stmt, hand).await;
    assert_eq!(rows.len(), 8, "every employee is reached");
    assert_eq!(rows.iter().filter(|r| r[2] == "0").count(), 1, "one root");
    assert_eq!(
        rows.iter().map(|r| r[2].parse::<i64>().unwrap()).max(),
        Some(2),
        "three levels"
    );
}

async fn window_rank_picks_the_longest_track_per_album(db: &TestDb) {
    let (engine, c) = setup(db).await;
    let n = |s: &str| c.n(s);
    let track = c.table(
        "Track",
        &[
            ("TrackId", SqlType::Integer),
            ("Name", SqlType::varchar(200)),
            ("AlbumId", SqlType::Integer),
            ("Milliseconds", SqlType::Integer),
        ],
    );
    let rank = func::rank().over(
        over()
            .partition_by(track.c(&n("AlbumId")))
            .order_by(track.c(&n("Milliseconds")).desc()),
    );
    let ranked = select((
        track.c(&n("AlbumId")),
        track.c(&n("TrackId")),
        track.c(&n("Milliseconds")),
        rank.label("rnk"),
    ))
    .from(&track)
    .subquery("ranked");
    let stmt = select((
        ranked.c::<Dynamic>(n("AlbumId")),
        ranked.c::<Dynamic>(n("TrackId")),
        ranked.c::<Dynamic>(n("Milliseconds")),
    ))
    .from(&ranked)
    .filter(ranked.c::<i64>("rnk").eq(1))
    .order_by(ranked.c::<Dynamic>(n("AlbumId")).asc())
    .order_by(ranked.c::<Dynamic>(n("TrackId")).asc());
    let hand = format!(
        "SELECT r.a, r.t, r.ms FROM (SELECT {al} AS a, {tid} AS t, {ms} AS ms, \
           RANK() OVER (PARTITION BY {al} ORDER BY {ms} DESC) AS rnk FROM {track}) r \
         WHERE r.rnk = 1 ORDER BY r.a, r.t",
        al = c.q("AlbumId"),
        tid = c.q("TrackId"),
        ms = c.q("Milliseconds"),
        track = c.q("Track"),
    );
    let rows = same_rows(&engine, stmt, hand).await;
    assert!(
        rows.len() >= 347,
        "at least one track per album: {}",
        rows.len()
    );
}

async fn correlated_not_exists_and_in_subquery(db: &TestDb) {
    let (engine, c) = setup(db).await;
    let n = |s: &str| c.n(s);
    let (artist, album) = artist_and_album(&c);
    let lonely = select(func::count_star()).from(&artist).filter(not_exists(
        select(album.c(&n("AlbumId")))
            .from(&album)
            .filter(album.c(&n("ArtistId")).eq(artist.c(&n("ArtistId")))),
    ));
    let hand = format!(
        "SELECT COUNT(*) FROM {artist} WHERE NOT EXISTS (SELECT 1 FROM {album} WHERE {al_ar} = {ar_id})",
        artist = c.q("Artist"),
        album = c.q("Album"),
        al_ar = c.q("Album.ArtistId"),
        ar_id = c.q("Artist.ArtistId"),
    );
    assert_eq!(same_rows(&engine, lonely, hand).await, [["71"]]);

    let with_albums = select(func::count_star()).from(&artist).filter(
        artist
            .c(&n("ArtistId"))
            .in_select(select(album.c(&n("ArtistId"))).from(&album)),
    );
    let n_with: i64 = engine.fetch_one(with_albums).await.unwrap().get(0).unwrap();
    assert_eq!(n_with, 275 - 71);
}

async fn union_and_scalar_subquery(db: &TestDb) {
    let (engine, c) = setup(db).await;
    let n = |s: &str| c.n(s);
    let customer = c.table(
        "Customer",
        &[
            ("Country", SqlType::varchar(40)),
            ("SupportRepId", SqlType::Integer),
        ],
    );
    let emp = c.table(
        "Employee",
        &[
            ("EmployeeId", SqlType::Integer),
            ("Country", SqlType::varchar(40)),
            ("LastName", SqlType::varchar(20)),
        ],
    );
    let countries = select(customer.c(&n("Country")))
        .from(&customer)
        .union(select(emp.c(&n("Country"))).from(&emp))
        .order_by(column::<Dynamic>(n("Country")).asc());
    let hand = format!(
        "SELECT {cc} FROM {cust} UNION SELECT {ec} FROM {emp} ORDER BY {col} ASC",
        cc = c.q("Customer.Country"),
        cust = c.q("Customer"),
        ec = c.q("Employee.Country"),
        emp = c.q("Employee"),
        col = c.q("Country"),
    );
    let rows = same_rows(&engine, countries, hand).await;
    assert_eq!(rows.len(), 24);

    let served = select(func::count_star())
        .from(&customer)
        .filter(customer.c(&n("SupportRepId")).eq(emp.c(&n("EmployeeId"))))
        .scalar::<i64>();
    let stmt = select((emp.c(&n("LastName")), served.label("customers")))
        .from(&emp)
        .order_by(emp.c(&n("EmployeeId")).asc());
    let hand = format!(
        "SELECT {last}, (SELECT COUNT(*) FROM {cust} WHERE {rep} = {eid}) AS customers FROM {emp} ORDER BY {eid} ASC",
        last = c.q("Employee.LastName"),
        cust = c.q("Customer"),
        rep = c.q("Customer.SupportRepId"),
        eid = c.q("Employee.EmployeeId"),
        emp = c.q("Employee"),
    );
    let rows = same_rows(&engine, stmt, hand).await;
    let total: i64 = rows.iter().map(|r| r[1].parse::<i64>().unwrap()).sum();
    assert_eq!(total, 59);
}
