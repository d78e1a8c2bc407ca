//! Proc macros of the [`orm`](https://docs.rs/orm) crate. Semver-exempt: depend on
//! `orm`, which re-exports them.
//!
//! `#[derive(Model)]` and `#[relationship]` arrive with the ORM layer; this crate holds
//! their place in the workspace so that the facade's dependency graph is final.
#![warn(missing_docs)]
