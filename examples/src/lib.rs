//! Runnable examples live beside this file: `quickstart.rs` (engine, transactions),
//! `schema.rs` (DDL, create_all, reflection).
