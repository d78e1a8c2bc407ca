// `Deferred<T>` fields: column options typed along loader paths, and plain use of the
// columns in expressions.
#![allow(dead_code)]
use orm::prelude::*;

#[derive(Model)]
struct User {
    #[orm(primary_key)]
    id: i64,
    name: String,
    #[orm(deferred)]
    bio: Deferred<Option<String>>,
    #[orm(deferred, group = "photos")]
    avatar: Deferred<Vec<u8>>,
    #[orm(group = "photos")]
    caption: Deferred<String>,
    #[relationship(back_populates = "author")]
    posts: Related<Vec<Post>>,
}

#[derive(Model)]
struct Post {
    #[orm(primary_key)]
    id: i64,
    #[orm(foreign_key = "user.id")]
    user_id: i64,
    body: Deferred<String>,
    #[relationship(back_populates = "posts")]
    author: Related<User>,
}

fn main() {
    let _ = defer(User::bio).undefer(User::bio);
    let _ = load_only((User::name, User::bio));
    let _ = load_only([Post::body]);
    let _ = selectinload(User::posts).defer(Post::body);
    let _ = joinedload(Post::author).load_only((User::name,));
    let _ = select(User::bio).filter(User::bio.is_null().and(Post::body.like("a%")));
    let _ = undefer_group::<User>("photos").defer(User::avatar);
    let _ = selectinload(User::posts).undefer_group("media");
    let _ = LoadOptions::<User>::new().with(undefer_group("photos"));
    let u = User::new("ed", vec![1u8], "caption");
    let _: &Deferred<Option<String>> = &u.bio;
    let _ = Post::new(1, "text");
    // The group lands in the column metadata, on the grouped columns only.
    let groups: Vec<_> = <User as orm::Model>::columns()
        .iter()
        .map(|c| (c.name, c.group))
        .collect();
    assert_eq!(
        groups,
        [
            ("id", None),
            ("name", None),
            ("bio", None),
            ("avatar", Some("photos")),
            ("caption", Some("photos")),
        ]
    );
}
