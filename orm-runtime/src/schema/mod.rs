//! Schema (Layer 2): tables, columns, types, keys, constraints and indexes, collected
//! in a [`MetaData`].
//!
//! These are plain data: a Core user declares them in code, `#[derive(Model)]`
//! generates the same values, and reflection reads them back from a database.

mod column;
mod constraint;
pub mod ddl;
mod metadata;
pub mod naming;
mod sort;
mod table;
mod types;

pub use column::{Autoincrement, Column, ColumnDefault};
pub use constraint::{
    CheckConstraint, ForeignKey, Index, PrimaryKey, ReferentialAction, UniqueConstraint,
};
pub use ddl::{
    AddConstraint, ConstraintRef, CreateIndex, CreateTable, DropConstraint, DropIndex, DropTable,
    SetComment,
};
pub use metadata::MetaData;
pub use naming::NamingConvention;
pub use table::Table;
pub use types::SqlType;
