//! Integration tests: one binary, one module per feature. Every case runs on SQLite, and
//! on PostgreSQL and MariaDB/MySQL when `ORM_TEST_POSTGRES_URL` / `ORM_TEST_MYSQL_URL`
//! are set (see `support`).

mod support;

mod binds_property;
mod cancellation;
mod chinook;
mod chinook_loading;
mod chinook_models;
mod connect_errors;
mod core_chinook;
mod core_dml;
mod core_models;
mod decimals;
mod deep_graph;
mod deferred;
mod deferred_groups;
mod echo;
mod engine_options;
mod enum_binds;
mod functions;
mod get_options;
mod inserted_keys;
mod joined;
mod json_nulls;
mod labels;
mod loading;
mod merge_cascade;
mod mixed_arithmetic;
mod model_events;
mod models;
mod null_and_in;
mod pooling;
mod post_update;
mod raise_all;
mod reflected_tables;
mod reflection;
mod row_locks;
mod row_values;
mod schema_ddl;
mod server_caps;
mod session;
mod session_fixes;
mod session_flush;
mod session_review;
mod session_stream;
mod sqlite_fast;
mod sqlite_keys;
mod statements;
mod subquery_loading;
mod transactions;
mod typed_fetch;
mod typed_nulls;
mod upsert_targets;
mod values;
