//! Deferred column groups: `#[orm(deferred, group = "...")]` and `undefer_group`, on the
//! queried model and on selectin and joined steps. The SELECTs are read through the
//! engine's statement events.

use orm::loading::column_group;
use orm::prelude::*;

use crate::backend_tests;
use crate::support::{Statements, TestDb};

#[derive(Model, Debug, Clone)]
#[orm(table = "g_members")]
pub struct Member {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(max_length = 50)]
    pub name: String,
    #[orm(deferred, group = "photos")]
    pub avatar: Deferred<String>,
    #[orm(deferred)]
    pub notes: Deferred<String>,
    #[orm(deferred, group = "photos")]
    pub banner: Deferred<Option<String>>,
    /// In the group, but loaded unless a query leaves it out.
    #[orm(group = "photos")]
    pub caption: Deferred<String>,
    /// After the deferrable columns: its place in a row moves when they are left out.
    pub age: i32,
    #[relationship(back_populates = "member")]
    pub albums: Related<Vec<Album>>,
}

#[derive(Model, Debug, Clone)]
#[orm(table = "g_albums")]
pub struct Album {
    #[orm(primary_key)]
    pub id: i64,
    #[orm(foreign_key = "g_members.id", index)]
    pub member_id: Option<i64>,
    #[orm(max_length = 100)]
    pub title: String,
    #[orm(deferred, group = "media")]
    pub cover: Deferred<String>,
    #[orm(deferred)]
    pub description: Deferred<String>,
    #[orm(deferred, group = "media")]
    pub thumb: Deferred<String>,
    #[relationship(back_populates = "albums")]
    pub member: Related<Option<Member>>,
}

backend_tests!(
    undefer_group_selects_the_group_and_nothing_else,
    undefer_group_composes_with_other_column_options,
    undefer_group_on_selectin_and_joined_steps,
    an_unknown_group_is_an_error_naming_the_model_and_the_group,
    load_columns_loads_a_group_in_one_select,
);

async fn setup(db: &TestDb) -> (Engine, Statements) {
    let engine = db.engine().await;
    MetaData::new()
        .with::<Member>()
        .with::<Album>()
        .create_all(&engine)
        .await
        .unwrap();
    let mut session = Session::new(&engine);
    for (i, name) in ["ed", "wendy"].iter().enumerate() {
        let mut m = Member::new(
            *name,
            format!("avatar of {name}"),
            format!("notes on {name}"),
            format!("caption of {name}"),
            30 + i as i32,
        );
        m.banner = Some(format!("banner of {name}")).into();
        let m = session.add(m);
        for j in 0..2 {
            let album = session.add(Album::new(
                format!("{name} {j}"),
                format!("cover {name} {j}"),
                format!("description {name} {j}"),
                format!("thumb {name} {j}"),
            ));
            m.write().unwrap().albums.push(&album);
        }
    }
    session.commit().await.unwrap();
    let log = Statements::record(&engine);
    (engine, log)
}

fn not_loaded(e: &Error) -> &'static str {
    match e {
        Error::ColumnNotLoaded { column } => column,
        other => panic!("expected ColumnNotLoaded, got {other:?}"),
    }
}

fn invalid_request(e: Error) -> String {
    match e {
        Error::InvalidRequest { message } => message,
        other => panic!("expected InvalidRequest, got {other:?}"),
    }
}

async fn undefer_group_selects_the_group_and_nothing_else(db: &TestDb) {
    let (engine, log) = setup(db).await;
    // Without options the group's deferred columns are left out.
    let mut session = Session::new(&engine);
    log.take();
    let members = session
        .query::<Member>()
        .order_by(Member::id.asc())
        .all()
        .await
        .unwrap();
    let statements = log.take();
    assert_eq!(statements.len(), 1, "{statements:?}");
    let sql = &statements[0];
    for left_out in ["avatar", "banner", "notes"] {
        assert!(!sql.contains(left_out), "{left_out}: {sql}");
    }
    assert!(sql.contains("caption") && sql.contains("age"), "{sql}");
    {
        let ed = members[0].read().unwrap();
        assert_eq!(not_loaded(&ed.avatar.get().unwrap_err()), "Member.avatar");
        assert_eq!(not_loaded(&ed.banner.get().unwrap_err()), "Member.banner");
        assert_eq!(
            (ed.caption.get().unwrap().as_str(), ed.age),
            ("caption of ed", 30)
        );
    }
    drop(members);
    drop(session);

    // `undefer_group` selects every column of the group, and reads them back.
    let mut session = Session::new(&engine);
    let members = session
        .query::<Member>()
        .options(undefer_group("photos"))
        .order_by(Member::id.asc())
        .all()
        .await
        .unwrap();
    let statements = log.take();
    assert_eq!(statements.len(), 1, "{statements:?}");
    let sql = &statements[0];
    for selected in ["avatar", "banner", "caption", "age"] {
        assert!(sql.contains(selected), "{selected}: {sql}");
    }
    assert!(!sql.contains("notes"), "not in the group: {sql}");
    let wendy = members[1].read().unwrap();
    assert_eq!(wendy.avatar.get().unwrap(), "avatar of wendy");
    assert_eq!(
        wendy.banner.get().unwrap().as_deref(),
        Some("banner of wendy")
    );
    assert_eq!(wendy.caption.get().unwrap(), "caption of wendy");
    assert_eq!((wendy.name.as_str(), wendy.age), ("wendy", 31));
    assert_eq!(not_loaded(&wendy.notes.get().unwrap_err()), "Member.notes");
}

async fn undefer_group_composes_with_other_column_options(db: &TestDb) {
    let (engine, log) = setup(db).await;
    // In order: the group, then one of its columns deferred again.
    let mut session = Session::new(&engine);
    log.take();
    let ed = session
        .query::<Member>()
        .options(undefer_group("photos").defer(Member::banner))
        .filter(Member::id.eq(1))
        .one()
        .await
        .unwrap();
    let statements = log.take();
    assert_eq!(statements.len(), 1, "{statements:?}");
    assert!(
        statements[0].contains("avatar") && !statements[0].contains("banner"),
        "{statements:?}"
    );
    {
        let ed = ed.read().unwrap();
        assert_eq!(ed.avatar.get().unwrap(), "avatar of ed");
        assert_eq!(not_loaded(&ed.banner.get().unwrap_err()), "Member.banner");
    }
    drop(ed);
    drop(session);

    // `load_only` leaves out the group's column loaded by default; a later
    // `undefer_group` (another `options` call) brings the whole group back.
    let mut session = Session::new(&engine);
    let ed = session
        .query::<Member>()
        .options(load_only((Member::notes,)))
        .options(undefer_group("photos"))
        .filter(Member::id.eq(1))
        .one()
        .await
        .unwrap();
    let statements = log.take();
    assert_eq!(statements.len(), 1, "{statements:?}");
    for selected in ["avatar", "banner", "caption", "notes"] {
        assert!(
            statements[0].contains(selected),
            "{selected}: {statements:?}"
        );
    }
    {
        let ed = ed.read().unwrap();
        assert_eq!(ed.caption.get().unwrap(), "caption of ed");
        assert_eq!(ed.notes.get().unwrap(), "notes on ed");
        assert_eq!(ed.age, 30);
    }
    drop(ed);
    drop(session);

    // The other order: `load_only` after the group wins.
    let mut session = Session::new(&engine);
    let ed = session
        .query::<Member>()
        .options(undefer_group("photos").load_only((Member::name,)))
        .filter(Member::id.eq(1))
        .one()
        .await
        .unwrap();
    let statements = log.take();
    for left_out in ["avatar", "banner", "caption", "notes"] {
        assert!(
            !statements[0].contains(left_out),
            "{left_out}: {statements:?}"
        );
    }
    let ed = ed.read().unwrap();
    assert_eq!(not_loaded(&ed.caption.get().unwrap_err()), "Member.caption");
    assert_eq!(ed.age, 30);
}

async fn undefer_group_on_selectin_and_joined_steps(db: &TestDb) {
    let (engine, log) = setup(db).await;
    // selectin: the step's model's group.
    let mut session = Session::new(&engine);
    log.take();
    let members = session
        .query::<Member>()
        .order_by(Member::id.asc())
        .options(selectinload(Member::albums).undefer_group("media"))
        .all()
        .await
        .unwrap();
    let statements = log.take();
    assert_eq!(statements.len(), 2, "{statements:?}");
    assert!(
        !statements[0].contains("cover") && !statements[0].contains("avatar"),
        "{statements:?}"
    );
    assert!(
        statements[1].contains("cover")
            && statements[1].contains("thumb")
            && !statements[1].contains("description"),
        "{statements:?}"
    );
    {
        let wendy = members[1].read().unwrap();
        assert_eq!(
            not_loaded(&wendy.avatar.get().unwrap_err()),
            "Member.avatar"
        );
        let albums = wendy.albums.get().unwrap();
        assert_eq!(albums.len(), 2);
        let a = albums[1].read().unwrap();
        assert_eq!(a.title, "wendy 1");
        assert_eq!(a.cover.get().unwrap(), "cover wendy 1");
        assert_eq!(a.thumb.get().unwrap(), "thumb wendy 1");
        assert_eq!(
            not_loaded(&a.description.get().unwrap_err()),
            "Album.description"
        );
    }
    drop(members);
    drop(session);

    // joined, many-to-one: the joined model's group, and the queried model's columns
    // read from their places in the joined row.
    let mut session = Session::new(&engine);
    let albums = session
        .query::<Album>()
        .order_by(Album::id.asc())
        .options(joinedload(Album::member).undefer_group("photos"))
        .all()
        .await
        .unwrap();
    let statements = log.take();
    assert_eq!(statements.len(), 1, "{statements:?}");
    let sql = &statements[0];
    assert!(
        sql.contains("avatar") && sql.contains("banner") && !sql.contains("notes"),
        "{sql}"
    );
    assert!(!sql.contains("cover") && !sql.contains("thumb"), "{sql}");
    assert_eq!(albums.len(), 4);
    {
        let last = albums[3].read().unwrap();
        assert_eq!(last.title, "wendy 1");
        assert_eq!(not_loaded(&last.cover.get().unwrap_err()), "Album.cover");
        let member = last.member.get().unwrap().unwrap();
        let member = member.read().unwrap();
        assert_eq!((member.name.as_str(), member.age), ("wendy", 31));
        assert_eq!(member.avatar.get().unwrap(), "avatar of wendy");
        assert_eq!(
            member.banner.get().unwrap().as_deref(),
            Some("banner of wendy")
        );
        assert_eq!(not_loaded(&member.notes.get().unwrap_err()), "Member.notes");
    }
    drop(albums);
    drop(session);

    // joined, one-to-many with a limit (the wrapped form), and the root's group too.
    let mut session = Session::new(&engine);
    let members = session
        .query::<Member>()
        .order_by(Member::id.asc())
        .limit(1)
        .options(joinedload(Member::albums).undefer_group("media"))
        .options(undefer_group("photos"))
        .all()
        .await
        .unwrap();
    let statements = log.take();
    assert_eq!(statements.len(), 1, "{statements:?}");
    for selected in ["avatar", "banner", "cover", "thumb"] {
        assert!(
            statements[0].contains(selected),
            "{selected}: {statements:?}"
        );
    }
    assert!(
        !statements[0].contains("notes") && !statements[0].contains("description"),
        "{statements:?}"
    );
    assert_eq!(members.len(), 1);
    let ed = members[0].read().unwrap();
    assert_eq!(
        (ed.avatar.get().unwrap().as_str(), ed.age),
        ("avatar of ed", 30)
    );
    let albums = ed.albums.get().unwrap();
    assert_eq!(albums.len(), 2);
    let a = albums[0].read().unwrap();
    assert_eq!(
        (
            a.cover.get().unwrap().as_str(),
            a.thumb.get().unwrap().as_str()
        ),
        ("cover ed 0", "thumb ed 0")
    );
}

async fn an_unknown_group_is_an_error_naming_the_model_and_the_group(db: &TestDb) {
    let (engine, log) = setup(db).await;
    let mut session = Session::new(&engine);
    log.take();
    let err = session
        .query::<Member>()
        .options(undefer_group("videos"))
        .all()
        .await
        .unwrap_err();
    assert_eq!(
        invalid_request(err),
        "`Member` has no deferred column group `videos` (its groups: photos)"
    );
    assert!(log.take().is_empty(), "no statement runs");

    // On a step, the step's model is the one checked: `photos` is `Member`'s group.
    let err = session
        .query::<Member>()
        .options(selectinload(Member::albums).undefer_group("photos"))
        .all()
        .await
        .unwrap_err();
    assert_eq!(
        invalid_request(err),
        "`Album` has no deferred column group `photos` (its groups: media)"
    );
    let err = session
        .query::<Album>()
        .options(joinedload(Album::member).undefer_group("media"))
        .all()
        .await
        .unwrap_err();
    assert_eq!(
        invalid_request(err),
        "`Member` has no deferred column group `media` (its groups: photos)"
    );
    // The session is still usable.
    assert_eq!(session.query::<Member>().count().await.unwrap(), 2);
}

async fn load_columns_loads_a_group_in_one_select(db: &TestDb) {
    let (engine, log) = setup(db).await;
    let mut session = Session::new(&engine);
    let members = session
        .query::<Member>()
        .order_by(Member::id.asc())
        .all()
        .await
        .unwrap();
    log.take();
    session
        .load_columns_all(&members, column_group("photos"))
        .await
        .unwrap();
    let statements = log.take();
    assert_eq!(statements.len(), 1, "{statements:?}");
    let sql = &statements[0];
    for selected in ["avatar", "banner", "caption"] {
        assert!(sql.contains(selected), "{selected}: {sql}");
    }
    assert!(!sql.contains("notes") && !sql.contains("age"), "{sql}");
    {
        let wendy = members[1].read().unwrap();
        assert_eq!(wendy.avatar.get().unwrap(), "avatar of wendy");
        assert_eq!(
            wendy.banner.get().unwrap().as_deref(),
            Some("banner of wendy")
        );
        assert_eq!(not_loaded(&wendy.notes.get().unwrap_err()), "Member.notes");
    }

    // An unknown group: an error naming it, and no statement.
    let err = session
        .load_columns(&members[0], column_group("videos"))
        .await
        .unwrap_err();
    assert_eq!(
        invalid_request(err),
        "`Member` has no deferred column group `videos` (its groups: photos)"
    );
    assert!(log.take().is_empty(), "no statement runs");
}
