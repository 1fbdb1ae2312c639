//! # kg-approval-server
//!
//! A history service for knowledge graphs that speaks the real editor's
//! contract (`POST /saveGraphWithHistory`, `GET /getknowgraph`,
//! `/getknowgraphhistory`, `/getknowgraphversion`) without its flaws: every
//! version kept with its edges whole, no lost or duplicate versions, a
//! server-computed audit trail (`/getknowgraphaudit`) and a hash chain
//! (`/verifyknowgraph`).
//!
//! **What this layer owns:** HTTP and the command line — routes and
//! handlers, serving (timeouts, connection limits, static files), tokens
//! and who a request is made by, the request log, and the mapping of the
//! history's refusals to status codes ([`error`]). **What it may not
//! touch:** the history's rules and its storage, which it reaches only
//! through the `kg-history` crate (and opens through it). Handlers parse
//! the request, call the history, and respond.
//!
//! The layers, bottom up: `kg-history-store` (storage: the traits, SQLite
//! and PostgreSQL, schema migrations) ← `kg-history` (the rules) ← this
//! crate. No layer imports one above it.

pub mod alarms;
pub mod auth;
pub mod error;
pub mod https;
pub mod log_files;
pub mod metrics;
pub mod openapi;
pub mod report_cli;
pub mod request;
pub mod request_log;
pub mod routes;
pub mod serve;
pub mod shutdown;
pub mod state;
pub mod tokens;
pub mod webhook;
pub mod www;

pub use kg_history::Store;
pub use routes::router;
pub use state::{AppState, Settings};
pub use tokens::Tokens;
