//! DDL statements compiled per dialect from a [`Table`](super::Table).

mod table;

pub use table::{
    AddConstraint, ConstraintRef, CreateIndex, CreateTable, DropConstraint, DropIndex, DropTable,
    SetComment,
};
pub(crate) use table::{foreign_key_name, string_literal, supports_alter};
