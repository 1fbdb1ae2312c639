//! # kg-approval-server
//!
//! A history service for knowledge graphs that speaks the real editor's
//! contract (`POST /saveGraphWithHistory`, `GET /getknowgraph`,
//! `/getknowgraphhistory`, `/getknowgraphversion`) without its flaws: every
//! version kept with its edges whole, no lost or duplicate versions, a
//! server-computed audit trail (`/getknowgraphaudit`) and a hash chain
//! (`/verifyknowgraph`). Diffs and canonical JSON come from the kg-approval
//! core, the same code the WASM client runs.

pub mod access;
pub mod blame;
pub mod bundle;
pub mod chain;
pub mod csv;
pub mod entity;
pub mod erase;
pub mod error;
pub mod events;
pub mod export;
pub mod idempotency;
pub mod log_files;
pub mod migrate;
pub mod numbers;
pub mod patch;
pub mod people;
pub mod read;
pub mod request_log;
pub mod retention;
pub mod routes;
pub mod runs;
pub mod save;
pub mod seed;
pub mod serve;
pub mod store;
pub mod tokens;
pub mod write;
pub mod www;

pub use routes::{AppState, Settings, router};
pub use store::Store;
pub use tokens::Tokens;
