//! # kg-history
//!
//! The history's rules: how a version of a knowledge graph is saved (whole
//! or as a delta) and read back, who may write it, the hash chain that
//! proves nothing was changed behind its back, people and their pseudonyms,
//! idempotent retries, retention, erasure, the store-wide event log, and the
//! audit's readers (blame, runs, exports, bundles).
//!
//! **What this layer owns:** every rule of the history, on top of the
//! storage layer ([`store`], the `kg-history-store` crate) and the
//! kg-approval core (diffs, deltas, canonical JSON — the same code the WASM
//! client runs). **What it may not touch:** HTTP. It knows no route, status
//! code, header or token; a refusal is a [`HistoryError`] that the server
//! maps to a status. What lives above it is reached through interfaces it
//! defines: the request log an erasure must rewrite is a
//! [`erase::PersonalRecords`] the caller passes in.
//!
//! A save travels: the server parses the request and names the caller; the
//! domain ([`save`] or [`patch`]) parses the body, takes the graph's lock in
//! a write transaction, decides access there ([`access`]), compares or
//! applies the change, and [`write`] stores its rows, its record and its
//! link in the chain ([`chain`]), through the storage traits.

pub mod access;
pub mod alarms;
pub mod assemble;
pub mod blame;
pub mod bundle;
pub mod chain;
pub mod csv;
pub mod erase;
pub mod error;
pub mod events;
pub mod export;
pub mod idempotency;
pub mod migrate;
pub mod numbers;
pub mod patch;
pub mod people;
pub mod principal;
pub mod read;
pub mod retention;
pub mod runs;
pub mod save;
pub mod seed;
pub mod stats;
pub mod write;

/// The storage layer, as the history uses it.
pub use kg_history_store as store;
pub use kg_history_store::entity;

pub use error::HistoryError;
pub use store::Store;

/// Opens the history's database (a SQLite path or a PostgreSQL URL),
/// migrating its schema, and converting a database of the first schema's
/// snapshots into rows in the same transaction (see [`migrate`]).
pub fn open(db: &str) -> Result<Store, String> {
    Store::open(db, &migrate::Snapshots)
}

/// An in-memory SQLite history (tests and tools).
pub fn open_in_memory() -> Result<Store, String> {
    Store::open_in_memory(&migrate::Snapshots).map_err(|e| e.to_string())
}
