//! Schema: tables declared in code, their DDL on each dialect, `create_all` in
//! foreign-key order (a cycle included), the Inspector, reflection, `drop_all`.
//!
//! Run with `cargo run --example schema`. Set `DATABASE_URL` to run it on PostgreSQL
//! or MySQL/MariaDB instead of in-memory SQLite.

use orm::prelude::*;
use orm::schema::{Column, CreateTable, ForeignKey, NamingConvention, ReferentialAction, SqlType};
use orm::{MetaData, Table};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite::memory:".to_owned());
    let engine = create_engine(&url).await?;

    let metadata = MetaData::new()
        .naming_convention(NamingConvention::default_sqlalchemy_style())
        .with_table(
            Table::new("employee")
                .column(Column::new("id", SqlType::Integer).primary_key())
                .column(Column::new("name", SqlType::varchar(50)).not_null())
                .column(Column::new("department_id", SqlType::Integer).index())
                .column(Column::new(
                    "role",
                    SqlType::enumeration("role", ["staff", "manager"]),
                ))
                .foreign_key(ForeignKey::new(["department_id"], "department", ["id"])),
        )
        .with_table(
            Table::new("department")
                .column(Column::new("id", SqlType::Integer).primary_key())
                .column(
                    Column::new("name", SqlType::varchar(50))
                        .not_null()
                        .unique(),
                )
                .column(Column::new("head_id", SqlType::Integer))
                // employee -> department -> employee: a cycle, which create_all breaks
                // with ALTER TABLE where the database allows it.
                .foreign_key(
                    ForeignKey::new(["head_id"], "employee", ["id"])
                        .on_delete(ReferentialAction::SetNull),
                ),
        );

    let employee = metadata.table("employee")?;
    for dialect in [Dialect::Postgres, Dialect::MySql, Dialect::Sqlite] {
        println!(
            "{dialect}:\n  {}",
            CreateTable::new(&employee).compile(dialect)?
        );
    }

    metadata.create_all(&engine).await?;
    let insp = engine.inspect().await?;
    println!("\ntables: {:?}", insp.table_names());
    for fk in insp.foreign_keys("department").await? {
        println!(
            "department {:?}: ({}) -> {}",
            fk.name,
            fk.columns.join(", "),
            fk.referred_table
        );
    }

    let reflected = MetaData::reflect(&engine).await?;
    for t in reflected.sorted_tables() {
        let cols: Vec<String> = t
            .columns
            .iter()
            .map(|c| format!("{} {:?}", c.name, c.sql_type))
            .collect();
        println!("{}: {}", t.name, cols.join(", "));
    }

    reflected.drop_all(&engine).await?;
    println!(
        "after drop_all: {:?}",
        engine.inspect().await?.table_names()
    );
    Ok(())
}
