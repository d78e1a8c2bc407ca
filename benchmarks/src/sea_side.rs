//! SeaORM: entities in its compact format, queries through its query builder, on its own
//! sqlx pool.

use sea_orm::entity::prelude::*;
use sea_orm::{
    ActiveValue::{NotSet, Set},
    DatabaseConnection, DbBackend, LoaderTrait, QueryOrder, QuerySelect, QueryTrait, Statement,
    TransactionTrait,
};

use crate::data::*;

pub mod user {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "users")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub name: String,
        pub hair_color: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(has_many = "super::post::Entity")]
        Post,
    }

    impl Related<super::post::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::Post.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod post {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "posts")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub user_id: i64,
        pub title: String,
        pub body: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(
            belongs_to = "super::user::Entity",
            from = "Column::UserId",
            to = "super::user::Column::Id"
        )]
        User,
    }

    impl Related<super::user::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::User.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}

pub fn digest_users(users: &[user::Model], ordered: bool) -> Digest {
    let mut d = Digest::default();
    for (i, u) in users.iter().enumerate() {
        let h = h_user(u.id, &u.name, u.hair_color.as_deref());
        if ordered { d.add_at(i, h) } else { d.add(h) }
    }
    d
}

fn h_spost(p: &post::Model) -> u64 {
    h_post(p.id, p.user_id, &p.title, p.body.as_deref())
}

/// (post, its user) pairs as SeaORM's `find_also_related` returns them.
pub fn digest_pairs(pairs: &[(post::Model, Option<user::Model>)]) -> Digest {
    let mut d = Digest::default();
    for (i, (p, u)) in pairs.iter().enumerate() {
        let u = u.as_ref().expect("inner join");
        d.add_at(
            i,
            h_pair(h_user(u.id, &u.name, u.hair_color.as_deref()), h_spost(p)),
        );
    }
    d
}

pub fn digest_tree(tree: &[(user::Model, Vec<post::Model>)]) -> Digest {
    let mut d = Digest::default();
    for (u, posts) in tree {
        d.add(h_user(u.id, &u.name, u.hair_color.as_deref()));
        for p in posts {
            d.add(h_child(u.id, h_spost(p)));
        }
    }
    d
}

pub async fn get_by_pk(db: &DatabaseConnection, keys: &[i64]) -> Result<Vec<user::Model>, DbErr> {
    let mut out = Vec::with_capacity(keys.len());
    for &k in keys {
        out.push(
            user::Entity::find_by_id(k)
                .one(db)
                .await?
                .expect("the key exists"),
        );
    }
    Ok(out)
}

pub async fn load_all(db: &DatabaseConnection) -> Result<Vec<user::Model>, DbErr> {
    user::Entity::find().all(db).await
}

fn join_select(color: &str) -> Select<post::Entity> {
    post::Entity::find()
        .inner_join(user::Entity)
        .filter(user::Column::HairColor.eq(color))
        .order_by_desc(post::Column::Id)
        .limit(JOIN_LIMIT)
}

pub async fn join_pairs(
    db: &DatabaseConnection,
) -> Result<Vec<(post::Model, Option<user::Model>)>, DbErr> {
    post::Entity::find()
        .find_also_related(user::Entity)
        .filter(user::Column::HairColor.eq(JOIN_COLOR))
        .order_by_desc(post::Column::Id)
        .limit(JOIN_LIMIT)
        .all(db)
        .await
}

/// Two queries: the users, then `load_many` (`user_id IN (...)`).
pub async fn eager_two(
    db: &DatabaseConnection,
) -> Result<Vec<(user::Model, Vec<post::Model>)>, DbErr> {
    let users = user::Entity::find()
        .filter(user::Column::Id.lte(EAGER_USERS))
        .order_by_asc(user::Column::Id)
        .all(db)
        .await?;
    let posts = users.load_many(post::Entity, db).await?;
    Ok(users.into_iter().zip(posts).collect())
}

/// One query: `find_with_related` (a LEFT JOIN, consolidated).
pub async fn eager_join(
    db: &DatabaseConnection,
) -> Result<Vec<(user::Model, Vec<post::Model>)>, DbErr> {
    user::Entity::find()
        .filter(user::Column::Id.lte(EAGER_USERS))
        .order_by_asc(user::Column::Id)
        .find_with_related(post::Entity)
        .all(db)
        .await
}

fn active(name: &str, hair: &Option<String>) -> user::ActiveModel {
    user::ActiveModel {
        id: NotSet,
        name: Set(name.to_owned()),
        hair_color: Set(hair.clone()),
    }
}

pub async fn insert_batched(
    db: &DatabaseConnection,
    rows: &[(String, Option<String>)],
) -> Result<(), DbErr> {
    user::Entity::insert_many(rows.iter().map(|(n, h)| active(n, h)))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn insert_each(
    db: &DatabaseConnection,
    rows: &[(String, Option<String>)],
) -> Result<(), DbErr> {
    let txn = db.begin().await?;
    for (n, h) in rows {
        user::Entity::insert(active(n, h)).exec(&txn).await?;
    }
    txn.commit().await
}

/// The users with their keys back (`exec_with_returning_keys`; on MySQL, consecutive
/// from the last insert id), then the posts, in one transaction.
pub async fn flush(
    db: &DatabaseConnection,
    users: &[(String, Option<String>)],
) -> Result<Vec<i64>, DbErr> {
    let txn = db.begin().await?;
    let insert = user::Entity::insert_many(users.iter().map(|(n, h)| active(n, h)));
    let ids: Vec<i64> = if db.get_database_backend() == DbBackend::MySql {
        // MySQL reports the first key of a multi-row INSERT.
        let first = insert.exec(&txn).await?.last_insert_id;
        (first..first + users.len() as i64).collect()
    } else {
        let mut ids = insert.exec_with_returning_keys(&txn).await?;
        ids.sort_unstable();
        ids
    };
    let posts = ids.iter().enumerate().flat_map(|(i, &id)| {
        (0..FLUSH_POSTS).map(move |j| post::ActiveModel {
            id: NotSet,
            user_id: Set(id),
            title: Set(new_post_title(i, j)),
            body: Set(None),
        })
    });
    post::Entity::insert_many(posts).exec(&txn).await?;
    txn.commit().await?;
    Ok(ids)
}

/// Builds the join statement 1,000 times (SeaORM renders SQL every time: no cache).
pub fn compile(backend: DbBackend, colors: &[String]) -> Vec<Statement> {
    colors
        .iter()
        .map(|c| join_select(c).build(backend))
        .collect()
}
