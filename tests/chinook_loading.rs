//! Loader strategies over the Chinook sample data: a selectin chain and a joined chain
//! build the same graphs (Artist → Album → Track → Genre and MediaType), many-to-many
//! (Playlist ↔ Track), and a self-reference both ways (Employee → manager, → reports).

use orm::prelude::*;
use orm::{Engine, Related};

use crate::backend_tests;
use crate::chinook_models::{
    Album, Artist, Customer, Employee, Genre, Invoice, InvoiceLine, MediaType, Playlist,
    PlaylistTrack, Track, rename_to_pascal_case,
};
use crate::support::{Backend, Statements, TestDb, chinook};

backend_tests!(chinook_graphs_are_the_same_through_selectin_and_joined_chains);

async fn chinook(db: &TestDb) -> (Engine, Statements) {
    let engine = db.engine().await;
    chinook::load(db, &engine).await;
    if db.backend == Backend::Postgres {
        rename_to_pascal_case(db, &engine).await;
    }
    MetaData::new()
        .with::<Album>()
        .with::<Artist>()
        .with::<Customer>()
        .with::<Employee>()
        .with::<Genre>()
        .with::<Invoice>()
        .with::<InvoiceLine>()
        .with::<MediaType>()
        .with::<Playlist>()
        .with::<PlaylistTrack>()
        .with::<Track>()
        .configure()
        .unwrap();
    let log = Statements::record(&engine);
    (engine, log)
}

fn name(n: &Option<String>) -> &str {
    n.as_deref().unwrap_or("-")
}

fn single<T: Model>(r: &Related<T>) -> Obj<T> {
    r.get().unwrap().clone()
}

/// Artists, their albums, the albums' tracks with genre and media type, as lines.
fn music(artists: &[Obj<Artist>]) -> Vec<String> {
    let mut out = Vec::new();
    for a in artists {
        let artist = a.read().unwrap();
        out.push(format!("{} {}", artist.artist_id, name(&artist.name)));
        for al in artist.albums.get().unwrap() {
            let album = al.read().unwrap();
            out.push(format!("  {} {}", album.album_id, album.title));
            for t in album.tracks.get().unwrap() {
                let track = t.read().unwrap();
                let genre = match track.genre.get().unwrap() {
                    Some(g) => name(&g.read().unwrap().name).to_owned(),
                    None => "-".into(),
                };
                let media = single(&track.media_type);
                let media = name(&media.read().unwrap().name).to_owned();
                out.push(format!(
                    "    {} {} {genre} {media}",
                    track.track_id, track.name
                ));
            }
        }
    }
    out
}

fn playlists(lists: &[Obj<Playlist>]) -> Vec<String> {
    let mut out = Vec::new();
    for p in lists {
        let list = p.read().unwrap();
        let mut ids: Vec<i32> = list
            .tracks
            .get()
            .unwrap()
            .iter()
            .map(|t| t.read().unwrap().track_id)
            .collect();
        ids.sort();
        out.push(format!("{} {} {ids:?}", list.playlist_id, name(&list.name)));
    }
    out
}

fn staff(employees: &[Obj<Employee>]) -> Vec<String> {
    employees
        .iter()
        .map(|e| {
            let emp = e.read().unwrap();
            let manager = emp
                .manager
                .get()
                .unwrap()
                .map(|m| m.read().unwrap().employee_id);
            let reports: Vec<i32> = emp
                .reports
                .get()
                .unwrap()
                .iter()
                .map(|r| r.read().unwrap().employee_id)
                .collect();
            assert_eq!(manager, emp.reports_to, "manager follows ReportsTo");
            format!("{} {manager:?} {reports:?}", emp.employee_id)
        })
        .collect()
}

async fn chinook_graphs_are_the_same_through_selectin_and_joined_chains(db: &TestDb) {
    let (engine, log) = chinook(db).await;
    log.take();

    let mut session = Session::new(&engine);
    let artists = session
        .query::<Artist>()
        .order_by(Artist::artist_id.asc())
        .options(
            selectinload(Artist::albums)
                .selectinload(Album::tracks)
                .selectinload(Track::genre),
        )
        .options(
            selectinload(Artist::albums)
                .selectinload(Album::tracks)
                .selectinload(Track::media_type),
        )
        .all()
        .await
        .unwrap();
    // Artists, albums (275 keys), tracks (347 keys), genres, media types.
    assert_eq!(log.take().len(), 5);
    let by_selectin = music(&artists);
    drop((artists, session));

    let mut session = Session::new(&engine);
    let artists = session
        .query::<Artist>()
        .order_by(Artist::artist_id.asc())
        .options(
            joinedload(Artist::albums)
                .joinedload(Album::tracks)
                .joinedload(Track::genre),
        )
        .options(
            joinedload(Artist::albums)
                .joinedload(Album::tracks)
                .joinedload(Track::media_type),
        )
        .all()
        .await
        .unwrap();
    assert_eq!(log.take().len(), 1, "one SELECT with four joins");
    assert_eq!(artists.len(), 275);
    let by_joined = music(&artists);
    assert_eq!(by_joined.len(), 275 + 347 + 3503);
    assert!(by_joined == by_selectin, "the two graphs differ");
    drop((artists, session));

    // Many-to-many, both ways of loading.
    let mut session = Session::new(&engine);
    let order = Playlist::playlist_id.asc();
    let a = session
        .query::<Playlist>()
        .order_by(order.clone())
        .options(selectinload(Playlist::tracks))
        .all()
        .await
        .unwrap();
    let a = playlists(&a);
    drop(session);
    let mut session = Session::new(&engine);
    let b = session
        .query::<Playlist>()
        .order_by(order)
        .options(joinedload(Playlist::tracks))
        .all()
        .await
        .unwrap();
    assert_eq!(playlists(&b), a);
    assert_eq!(a.len(), 18);
    assert!(
        a[0].starts_with("1 Music ["),
        "{}",
        &a[0][..40.min(a[0].len())]
    );
    drop(session);
    log.take();

    // The self-reference both ways, in one SELECT and in three.
    let mut session = Session::new(&engine);
    let joined = session
        .query::<Employee>()
        .order_by(Employee::employee_id.asc())
        .options(joinedload(Employee::manager))
        .options(joinedload(Employee::reports))
        .all()
        .await
        .unwrap();
    assert_eq!(log.take().len(), 1);
    let joined = staff(&joined);
    drop(session);
    let mut session = Session::new(&engine);
    let selectin = session
        .query::<Employee>()
        .order_by(Employee::employee_id.asc())
        .options(selectinload(Employee::manager))
        .options(selectinload(Employee::reports))
        .all()
        .await
        .unwrap();
    assert_eq!(staff(&selectin), joined);
    assert_eq!(
        joined[0], "1 None [2, 6]",
        "the general manager, with two reports"
    );
}
