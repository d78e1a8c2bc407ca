//! Schema (Layer 2): tables, columns, types, keys, constraints and indexes, collected
//! in a [`MetaData`].
//!
//! These are plain data: a Core user declares them in code, `#[derive(Model)]`
//! generates the same values, and reflection reads them back from a database.
//!
//! ```text
//! Table ──MetaData::add_table──▶ names from the NamingConvention   (naming.rs)
//!   │
//!   ├── CreateTable / CreateIndex / AddConstraint / DropTable ... ──compile(Dialect)──▶ DDL  (ddl.rs)
//!   └── MetaData::create_all / drop_all: foreign-key order, cycles set apart (sort.rs),
//!       run in one transaction where DDL is transactional             (metadata.rs)
//!
//! database ──Inspector (crate::reflect)──▶ Table ──▶ MetaData::reflect, Table::autoload
//! ```

mod column;
mod constraint;
pub mod ddl;
pub(crate) mod metadata;
pub mod naming;
pub(crate) mod sort;
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
