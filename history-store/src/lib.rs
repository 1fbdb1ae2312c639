//! # kg-history-store
//!
//! The storage layer of the history: every version of every graph, kept as
//! the changes it made, in SQLite (embedded, the default) or PostgreSQL
//! (several server processes on one database). Both hold the same schema;
//! the history's logic (the `kg-history` crate) uses only the [`Reader`] and
//! [`Writer`] traits and never knows which.
//!
//! **What this layer owns:** the row types, the two traits, the backends,
//! their schema migrations, the encoding of a part's body and its blobs
//! ([`entity`]), and consistent copies of a live database ([`backup`]).
//! **What it may not touch:** the history's rules — what a version may
//! contain, who may write, how the chain hashes. It depends on nothing of
//! them: a migration that needs them (converting the first schema's
//! snapshots into rows) is asked of an [`Upgrade`] the caller passes in.
//!
//! A version is one row in `versions` (who, when, why, the hash chain) plus
//! the parts of the graph it changed, in `entities`: every node, edge, the
//! metadata and the top level is a row valid from the version that wrote it
//! (`from_version`) until the version that replaced or removed it
//! (`to_version`, NULL while it is current). Reading version *v* is reading
//! the rows valid at *v* in order; saving a version inserts a row per
//! changed part and closes the row it replaces, so a save costs what it
//! changed. The row it closes keeps only the way back from its successor
//! ([`entity_patch`]): a label change stores the label, not the node twice. Large field values live once in `blobs`, by content hash (see
//! [`crate::entity`]). `graphs` holds each graph's newest version and hash
//! (the head), its title and size, so listings never read a graph.
//!
//! `(graph_id, version)` is the primary key of `versions`, so two saves can
//! never share a version number; a write transaction holds its graph's lock
//! ([`Writer::lock_graph`]) from before it reads the head until it commits,
//! so concurrent saves — in one process or several — see each other's
//! versions and the numbers stay contiguous.

pub mod backup;
pub mod decisions;
mod decisions_pg;
mod decisions_sqlite;
pub mod entity;
pub mod entity_patch;
pub mod packed;
mod pg_newest;
mod pg_text;
mod postgres;
pub mod sqlite;
mod sqlite_schema;
mod sqlite_time;
pub mod stored_record;
pub mod tls;

use std::collections::HashMap;

pub use decisions::{Approval, DayStats, Decided, Dim, Outcome, Span, StatsFilter};
pub use postgres::PgStore;
pub use sqlite::{SCHEMA_2, SqliteStore};

/// An error and its causes, `: `-separated ("error performing TLS
/// handshake: server does not support TLS"; the first alone says little).
/// The database's errors are told this way, and so are the server's
/// outbound HTTP errors ("client error (Connect): invalid peer
/// certificate: UnknownIssuer").
pub fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let said = c.to_string();
        if !text.contains(&said) {
            text = format!("{text}: {said}");
        }
        cause = c.source();
    }
    text
}

/// Edge ends a backend keeps beside the bodies, by (kind, key, dup, from_version).
pub type StoredEnds = HashMap<(i64, String, i64, i64), (Option<String>, Option<String>)>;

/// What the layer above does while the schema is migrated: called in the
/// migration's transaction after schema `schema` was applied, so a
/// conversion that needs the history's rules commits with it or not at all.
pub trait Upgrade {
    fn after_schema(&self, schema: i64, db: &mut dyn Writer) -> StoreResult<()>;

    /// Called once, in the migration that creates the `decisions` table
    /// (see [`decisions`]), to fill it from the versions already stored.
    fn backfill_decisions(&self, _db: &mut dyn Writer) -> StoreResult<()> {
        Ok(())
    }
}

/// An [`Upgrade`] that does nothing (a database made by this version, or a
/// tool that only reads).
pub struct NoUpgrade;

impl Upgrade for NoUpgrade {
    fn after_schema(&self, _schema: i64, _db: &mut dyn Writer) -> StoreResult<()> {
        Ok(())
    }
}

/// Why a storage call failed.
#[derive(Debug)]
pub enum StoreError {
    /// The database cannot be reached (down, restarting, or too busy to
    /// take the request now): worth retrying later.
    Unavailable(String),
    Failed(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Unavailable(m) => write!(f, "database unavailable: {m}"),
            StoreError::Failed(m) => write!(f, "database: {m}"),
        }
    }
}

impl std::error::Error for StoreError {}

pub type StoreResult<T> = Result<T, StoreError>;

/// What a row of `entities` is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// The graph's top-level fields (`nodes`, `edges`, `metadata` as placeholders).
    Root = 0,
    Metadata = 1,
    Node = 2,
    Edge = 3,
}

impl Kind {
    pub fn from_i64(n: i64) -> Option<Kind> {
        [Kind::Root, Kind::Metadata, Kind::Node, Kind::Edge].into_iter().find(|k| *k as i64 == n)
    }
}

/// One row of `entities`. Every row a [`Reader`] returns has its whole
/// body; an ended row may be stored as a patch (see [`entity_patch`]).
#[derive(Clone, Debug, PartialEq)]
pub struct EntityRow {
    pub kind: Kind,
    pub key: String,
    pub dup: i64,
    pub from_version: i64,
    pub to_version: Option<i64>,
    pub ord: i64,
    pub body: String,
}

/// One row of `versions`.
#[derive(Clone, Debug, PartialEq)]
pub struct VersionRow {
    pub graph_id: String,
    pub version: i64,
    pub saved_at: String,
    pub user: String,
    pub source: String,
    pub reason: Option<String>,
    pub run_id: Option<String>,
    pub idempotency_key: Option<String>,
    /// A whole snapshot: only versions written by the first schema that the
    /// migration could not rebuild exactly keep one.
    pub graph_json: Option<String>,
    /// The record as stored (see [`stored_record`]), or why its stored
    /// bytes cannot be read (see [`packed`]): such a version still
    /// reads, and the chain's verification names it broken.
    pub audit_json: Result<String, String>,
    pub prev_hash: String,
    pub hash: String,
    /// 1: the hash covers the whole graph (first schema); 2: it covers the
    /// changes; 3: people are hashed as their pseudonyms (the history's
    /// chain decides what each means).
    pub scheme: i64,
    /// The version can no longer be read whole (retention).
    pub pruned: bool,
    /// Scheme 3: SHA-256 of the audit record with people named by their
    /// pseudonyms, which is what the chain hashes. While the record is there
    /// the digest is implied by it and not stored (`None`; versions saved
    /// before issue 28 have it anyway); it is stored when the record
    /// expires (`--keep-audit-days`), so the chain still verifies.
    pub record_digest: Option<String>,
    /// The record (who, why, which run, which decisions) was removed by
    /// `--keep-audit-days`; the version, its time, its changes and its
    /// hashes stay.
    pub audit_expired: bool,
}

impl VersionRow {
    /// The whole audit record of the version, as hashed: `audit_json`, plus
    /// (scheme 2 on) the fields kept in columns, with what it leaves out
    /// given back (see [`stored_record`]).
    pub fn record(&self) -> Result<serde_json::Value, String> {
        if self.audit_expired {
            return Ok(serde_json::json!({ "version": self.version, "savedAt": self.saved_at, "auditExpired": true }));
        }
        let columns = serde_json::json!({
            "version": self.version,
            "savedAt": self.saved_at,
            "user": self.user,
            "source": self.source,
            "reason": self.reason,
            "runId": self.run_id,
            "idempotencyKey": self.idempotency_key,
        });
        stored_record::whole(self.audit_json.as_deref()?, self.scheme, &columns)
    }

    /// `audit_json` for a scheme-3 record: the record without the fields
    /// kept in columns or given back by the rest (see [`stored_record`]);
    /// [`record`](VersionRow::record) gives it back whole.
    ///
    /// ```
    /// # use kg_history_store::VersionRow;
    /// let record = serde_json::json!({"version": 2, "savedAt": "2026-12-07T06:00:01.000Z", "idempotencyKey": "k1",
    ///                                 "approvalId": "k1", "approvedAt": "2026-12-07T06:00:00.000Z",
    ///                                 "proposedAt": "2026-12-07T06:00:00.000Z"});
    /// assert_eq!(VersionRow::stored_record(&record), r#"{"approvalId":true,"approvedAt":-1000,"proposedAt":true}"#);
    /// ```
    pub fn stored_record(record: &serde_json::Value) -> String {
        stored_record::stored(record)
    }

    /// The record text a backend writes: a row to be written always has one.
    pub(crate) fn record_to_write(&self) -> StoreResult<&str> {
        self.audit_json.as_deref().map_err(|e| StoreError::Failed(format!("version {} to write: {e}", self.version)))
    }
}

/// A stored record's text from the bytes a backend keeps (see
/// [`packed::text_of_bytes`]), or why they cannot be read.
pub(crate) fn record_of_bytes(stored: &[u8]) -> Result<String, String> {
    packed::text_of_bytes(stored).map_err(|e| format!("audit record: {e}"))
}

/// A graph's newest version, as `graphs` records it.
#[derive(Clone, Debug, PartialEq)]
pub struct Head {
    pub gid: i64,
    pub version: i64,
    pub hash: String,
    /// How many nodes the newest version has.
    pub nodes: i64,
}

/// A graph's newest version with all a read of it needs (see [`Reader::newest`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Newest {
    pub head: Head,
    pub version: VersionRow,
    /// Its current rows, ordered by kind and position.
    pub rows: Vec<EntityRow>,
    /// The text of blobs the rows refer to, by hash: all of them, or none
    /// (see [`Reader::newest`]).
    pub blobs: HashMap<String, String>,
}

/// One graph of the listing.
#[derive(Clone, Debug, PartialEq)]
pub struct GraphSummary {
    pub graph_id: String,
    pub version: i64,
    pub title: Option<String>,
    pub nodes: i64,
    pub saved_at: String,
    pub saved_by: String,
}

/// An earlier use of an idempotency key (or approval id) on a graph: the
/// version it made, by whom, and a hash of the request that made it.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyUse {
    pub version: i64,
    pub user: String,
    /// `None` for versions saved before requests were fingerprinted.
    pub request_hash: Option<String>,
}

/// A right on one graph (`editor` or `viewer`) granted to a user by its
/// owner or an admin.
#[derive(Clone, Debug, PartialEq)]
pub struct Grant {
    pub user: String,
    /// `editor` or `viewer`.
    pub role: String,
    pub granted_by: String,
    pub granted_at: String,
}

/// Filters of the audit query.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub node_id: Option<String>,
    pub user: Option<String>,
    pub run_id: Option<String>,
    /// Saved at or after this time (RFC 3339, as stored: UTC, milliseconds).
    pub from: Option<String>,
    /// Saved before this time.
    pub to: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

/// Filters of an export, which may span graphs (`graph_id: None`).
#[derive(Clone, Debug, Default)]
pub struct ExportFilter {
    pub graph_id: Option<String>,
    pub node_id: Option<String>,
    pub user: Option<String>,
    pub run_id: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// A version of some graph, with the graph's row id (for reading its parts).
#[derive(Clone, Debug, PartialEq)]
pub struct GraphVersion {
    pub gid: i64,
    pub row: VersionRow,
}

/// An entry of the store-wide audit log (erasures, audit expiry), chained
/// like versions so that removing one shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub seq: i64,
    pub at: String,
    /// `erasure`, `scrub` (an erasure's bytes removed) or `audit-expiry`.
    pub kind: String,
    /// Who did it: a pseudonym, or `cli` for the command line.
    pub actor: String,
    /// What it did, as JSON (never a person's identity).
    pub detail: String,
    pub hash: String,
}

/// What an erasure replaced.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Erased {
    pub versions: u64,
    pub parts: u64,
    pub graphs: u64,
    pub grants: u64,
}

/// Queries. Rows come back as the types above, whatever the backend.
pub trait Reader {
    /// The head of a graph, if it exists.
    fn head(&mut self, graph_id: &str) -> StoreResult<Option<Head>>;
    /// A graph's newest version and its current rows (`None`: no such
    /// graph, or its head's version row is missing), with the blobs the
    /// backend chose to fetch with them. The default asks for each in turn
    /// and fetches no blob (the caller reads each with [`Reader::blob`]),
    /// which costs nothing on an embedded database; across a network a
    /// backend fetches them together (PostgreSQL: a 12-node graph with 12
    /// blobs took 17 round trips, then 2, now 1 while the blobs its last
    /// read needed are still the ones it needs; as a read's first query,
    /// that is one statement and no transaction, see `pg_newest`).
    fn newest(&mut self, graph_id: &str) -> StoreResult<Option<Newest>> {
        let Some(head) = self.head(graph_id)? else { return Ok(None) };
        let Some(version) = self.version(graph_id, head.version)? else { return Ok(None) };
        let rows = self.rows_at(head.gid, None)?;
        Ok(Some(Newest { head, version, rows, blobs: HashMap::new() }))
    }
    /// Every graph, by id, from the heads (no graph is read).
    fn graphs(&mut self) -> StoreResult<Vec<GraphSummary>>;
    /// The rows of a graph valid at `version` (`None`: the newest), ordered
    /// by kind and position.
    fn rows_at(&mut self, gid: i64, version: Option<i64>) -> StoreResult<Vec<EntityRow>>;
    /// The current rows of one node, edge key, metadata or top level, in order.
    fn live(&mut self, gid: i64, kind: Kind, key: &str) -> StoreResult<Vec<EntityRow>>;
    /// The keys of the current edges that start or end at `node`.
    fn edges_at(&mut self, gid: i64, node: &str) -> StoreResult<Vec<String>>;
    /// The largest current position of a kind (for appending).
    fn max_ord(&mut self, gid: i64, kind: Kind) -> StoreResult<Option<i64>>;
    /// The largest `dup` among the current edges with `key`.
    fn max_dup(&mut self, gid: i64, key: &str) -> StoreResult<Option<i64>>;
    /// Rows written by `version` (its puts) and rows it ended.
    fn rows_changed_by(&mut self, gid: i64, version: i64) -> StoreResult<(Vec<EntityRow>, Vec<EntityRow>)>;
    /// Rows that ended at or before `version`.
    fn rows_ended_by(&mut self, gid: i64, version: i64) -> StoreResult<Vec<EntityRow>>;
    /// Every row of a graph (for verification).
    fn all_rows(&mut self, gid: i64) -> StoreResult<Vec<EntityRow>>;
    /// For each part `(kind, key, dup, since)`, its first
    /// [`entity_patch::MAX_DEPTH`] rows from version `since` on, as stored
    /// (patches included): what reading an ended row stored as a patch goes
    /// through.
    fn newer_rows(&mut self, gid: i64, parts: &[(Kind, String, i64, i64)]) -> StoreResult<Vec<EntityRow>>;
    /// The depth of the patch stored for the part's row that ended at
    /// `version` (see [`entity_patch`]); 0 if that row is whole or there
    /// is none.
    fn patch_depth(&mut self, gid: i64, kind: Kind, key: &str, dup: i64, version: i64) -> StoreResult<u32>;
    /// Edge ends a backend keeps beside the bodies, by (kind, key, dup,
    /// from_version): they must match the bodies (verification).
    fn stored_ends(&mut self, gid: i64) -> StoreResult<StoredEnds>;
    /// A blob's text; `None` if missing or unreadable.
    fn blob(&mut self, gid: i64, hash: &str) -> StoreResult<Option<String>>;
    /// The hashes (hex) of a graph's blobs.
    fn blob_hashes(&mut self, gid: i64) -> StoreResult<Vec<String>>;
    fn version(&mut self, graph_id: &str, version: i64) -> StoreResult<Option<VersionRow>>;
    fn by_idempotency_key(&mut self, graph_id: &str, key: &str) -> StoreResult<Option<KeyUse>>;
    /// The user who created a graph (its owner): who saved version 1.
    fn owner(&mut self, graph_id: &str) -> StoreResult<Option<String>>;
    /// The rights granted on a graph, by user.
    fn grants(&mut self, graph_id: &str) -> StoreResult<Vec<Grant>>;
    /// The graphs on which `user` holds a grant, with its role.
    fn granted_to(&mut self, user: &str) -> StoreResult<Vec<(String, String)>>;
    /// The graphs `user` owns.
    fn owned_by(&mut self, user: &str) -> StoreResult<Vec<String>>;
    /// All versions of a graph, oldest first.
    fn all_versions(&mut self, graph_id: &str) -> StoreResult<Vec<VersionRow>>;
    /// Versions newest first, without snapshots.
    fn history(&mut self, graph_id: &str) -> StoreResult<Vec<VersionRow>>;
    /// Up to `limit` scheme-3 versions saved before `cutoff` whose record
    /// has not expired and whose digest is not stored (it is implied by the
    /// record while the record is there), without snapshots.
    fn digestless_before(&mut self, cutoff: &str, limit: i64) -> StoreResult<Vec<VersionRow>>;
    /// Audit rows newest first, filtered, and the total before paging. A node
    /// filter matches the versions that wrote or ended a row of that node
    /// (and, for versions from the first schema, those recorded as touching it).
    fn audit(&mut self, graph_id: &str, gid: Option<i64>, filter: &AuditFilter) -> StoreResult<(i64, Vec<VersionRow>)>;
    /// Leaves of the rows retention deleted, by version.
    fn pruned_leaves(&mut self, graph_id: &str) -> StoreResult<HashMap<i64, Vec<String>>>;
    /// `(swept_rows, nodes)` of a graph (for the blob sweep of retention).
    fn sweep_counters(&mut self, gid: i64) -> StoreResult<(i64, i64)>;
    /// Every stored row of one node, edge key, metadata or top level, of
    /// every version, by `dup` and `from_version` (blame reads only these).
    fn entity_history(&mut self, gid: i64, kind: Kind, key: &str) -> StoreResult<Vec<EntityRow>>;
    /// The version rows with these numbers (without snapshots), oldest first.
    fn versions_in(&mut self, graph_id: &str, versions: &[i64]) -> StoreResult<Vec<VersionRow>>;
    /// Every version saved with this run id, in any graph, oldest first.
    fn run_versions(&mut self, run_id: &str) -> StoreResult<Vec<GraphVersion>>;
    /// Up to `limit` versions matching `filter` after `(graph_id, version)`,
    /// by graph id and version (an export reads page by page).
    fn export_page(&mut self, filter: &ExportFilter, after: (&str, i64), limit: i64) -> StoreResult<Vec<GraphVersion>>;
    /// The pseudonym of a person, if one was given.
    fn pseudonym(&mut self, person: &str) -> StoreResult<Option<String>>;
    /// Every person not erased, with their pseudonym.
    fn pseudonyms(&mut self) -> StoreResult<HashMap<String, String>>;
    /// The store-wide audit log, oldest first.
    fn events(&mut self) -> StoreResult<Vec<Event>>;
    /// Parts (of any graph, any version) whose body contains `text`, with
    /// their graph's gid and the hash scheme of the version that wrote them.
    fn parts_containing(&mut self, text: &str) -> StoreResult<Vec<(i64, i64, EntityRow)>>;
    /// How many versions of schemes 1–2 name `person` as who saved them.
    fn old_versions_by(&mut self, person: &str) -> StoreResult<i64>;
    /// Graphs, versions, parts and blobs stored, and the schema version.
    fn stats(&mut self) -> StoreResult<Stats>;
    /// When the `n`-th newest version (of any graph) was saved.
    fn newest_saved_at(&mut self, n: i64) -> StoreResult<Option<String>>;
    /// The database engine and its version.
    fn database_version(&mut self) -> StoreResult<String>;
    /// The decisions `filter` matches, counted per group of `dims` and per
    /// `span` of time (`None`: one), see [`decisions`].
    fn decision_stats(&mut self, dims: &[Dim], span: Option<Span>, filter: &StatsFilter) -> StoreResult<Vec<DayStats>>;
}

/// Counts for a debug bundle.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    pub schema_version: i64,
    pub graphs: i64,
    pub versions: i64,
    pub parts: i64,
    pub blobs: i64,
    pub blob_bytes: i64,
    pub people: i64,
    pub events: i64,
}

impl Stats {
    /// The counts, each read with `count(sql)`; the schema version and the
    /// blobs' total size are read with the backend's own SQL.
    pub(crate) fn count(schema_sql: &str, blob_bytes_sql: &str, mut count: impl FnMut(&str) -> StoreResult<i64>) -> StoreResult<Stats> {
        Ok(Stats {
            schema_version: count(schema_sql)?,
            graphs: count("SELECT COUNT(*) FROM graphs")?,
            versions: count("SELECT COUNT(*) FROM versions")?,
            parts: count("SELECT COUNT(*) FROM entities")?,
            blobs: count("SELECT COUNT(*) FROM blobs")?,
            blob_bytes: count(blob_bytes_sql)?,
            people: count("SELECT COUNT(*) FROM people")?,
            events: count("SELECT COUNT(*) FROM events")?,
        })
    }
}

/// Changes, inside a write transaction.
pub trait Writer: Reader {
    /// Takes the graph's write lock until the transaction ends (SQLite's
    /// single writer already holds it; PostgreSQL takes an advisory lock).
    fn lock_graph(&mut self, graph_id: &str) -> StoreResult<()>;
    /// Creates the head of a new graph; returns its gid.
    fn insert_graph(&mut self, graph_id: &str, summary: &GraphSummary, hash: &str) -> StoreResult<i64>;
    fn update_graph(&mut self, gid: i64, summary: &GraphSummary, hash: &str) -> StoreResult<()>;
    fn set_swept_rows(&mut self, gid: i64, rows: i64) -> StoreResult<()>;
    fn insert_entity(&mut self, gid: i64, row: &EntityRow) -> StoreResult<()>;
    /// Ends the current row of an entity at `version`, keeping `patch` as its
    /// body if given (the way back from the row replacing it, see
    /// [`entity_patch`]); false if there was none.
    fn close_entity(&mut self, gid: i64, kind: Kind, key: &str, dup: i64, version: i64, patch: Option<&str>) -> StoreResult<bool>;
    /// Replaces `old`, a part's current row, by `new` (the same part, from
    /// `new.from_version` on): `old` ends there, keeping `patch` as its body
    /// if given, else its own. False if `old` was not the current row.
    ///
    /// By default the same as [`close_entity`](Writer::close_entity) and
    /// [`insert_entity`](Writer::insert_entity). A backend may instead write
    /// `new` where `old` was stored and add the ended row anew; the rows
    /// read back the same either way.
    fn replace_entity(&mut self, gid: i64, old: &EntityRow, new: &EntityRow, patch: Option<&str>) -> StoreResult<bool> {
        if !self.close_entity(gid, old.kind, &old.key, old.dup, new.from_version, patch)? {
            return Ok(false);
        }
        self.insert_entity(gid, new)?;
        Ok(true)
    }
    fn delete_entity(&mut self, gid: i64, row: &EntityRow) -> StoreResult<()>;
    /// Stores a blob's text (compressed) under its hash, unless it is there.
    fn insert_blob(&mut self, gid: i64, hash: &str, text: &str) -> StoreResult<()>;
    fn delete_blob(&mut self, gid: i64, hash: &str) -> StoreResult<()>;
    /// Adds a version; `request_hash` is the fingerprint of the request that
    /// made it, kept when it came with an idempotency key (the key is bound
    /// to it, see [`Reader::by_idempotency_key`]). Not part of the hash chain.
    fn insert_version(&mut self, v: &VersionRow, request_hash: Option<&str>) -> StoreResult<()>;
    /// Grants (or changes) a user's right on a graph.
    fn put_grant(&mut self, graph_id: &str, grant: &Grant) -> StoreResult<()>;
    /// Takes a user's right on a graph away; false if there was none.
    fn delete_grant(&mut self, graph_id: &str, user: &str) -> StoreResult<bool>;
    /// Marks versions up to `cutoff` unreadable (retention).
    fn mark_pruned(&mut self, graph_id: &str, cutoff: i64) -> StoreResult<()>;
    /// Graphs with versions but no head: the first schema's, whose
    /// snapshots are still to be converted into rows.
    fn headless_graphs(&mut self) -> StoreResult<Vec<String>>;
    /// Marks one version unreadable (a snapshot the first schema pruned).
    fn mark_version_pruned(&mut self, graph_id: &str, version: i64) -> StoreResult<()>;
    /// Drops a version's whole-graph snapshot (its rows now rebuild it).
    fn drop_snapshot(&mut self, graph_id: &str, version: i64) -> StoreResult<()>;
    fn insert_pruned_leaf(&mut self, graph_id: &str, version: i64, leaf: &str) -> StoreResult<()>;
    /// Gives `person` this pseudonym unless they have one (another process
    /// may have given one meanwhile: read it back).
    fn insert_pseudonym(&mut self, person: &str, pseudonym: &str, at: &str) -> StoreResult<()>;
    /// Replaces `person` by `pseudonym` wherever a column names them
    /// (versions, heads, grants) and forgets who the pseudonym was.
    fn erase_person(&mut self, person: &str, pseudonym: &str, at: &str) -> StoreResult<Erased>;
    /// Rewrites a part's body in place (erasure: the chain's leaf of it stays the same).
    fn set_body(&mut self, gid: i64, row: &EntityRow, body: &str) -> StoreResult<()>;
    /// Removes the records of scheme-3 versions saved before `cutoff`, and
    /// who saved a graph's head when its record is one of them,
    /// keeping their digests; returns how many.
    fn expire_audit(&mut self, cutoff: &str) -> StoreResult<u64>;
    /// Stores a version's record digest (before its record expires).
    fn keep_record_digest(&mut self, graph_id: &str, version: i64, digest: &str) -> StoreResult<()>;
    fn append_event(&mut self, event: &Event) -> StoreResult<()>;
    /// Stores the decided changes of a version (see [`decisions`]).
    fn insert_decisions(&mut self, approval: &Approval, rows: &[Decided]) -> StoreResult<()>;
}

/// Blobs are named by their SHA-256 in hex in stored bodies and by its 32
/// bytes in the tables (half the key size).
pub(crate) fn hash_bytes(hash: &str) -> Vec<u8> {
    (0..hash.len() / 2).filter_map(|i| hash.get(2 * i..2 * i + 2).and_then(|h| u8::from_str_radix(h, 16).ok())).collect()
}

/// The 32 bytes a SHA-256 in lowercase hex (64 digits) stands for: how the
/// hashes of versions and requests are stored since schema 6 (SQLite) / 5
/// (PostgreSQL), half their size as text. `None` for any other text, which
/// stays text (a value that would not come back as the same text).
pub(crate) fn digest_bytes(hex: &str) -> Option<Vec<u8>> {
    lower_hex_bytes(hex, 64)
}

/// A request's fingerprint as bytes: 16 since issue 28 (see
/// `kg_history::idempotency::request_hash`), 32 before; `None` for any other text.
pub(crate) fn fingerprint_bytes(hex: &str) -> Option<Vec<u8>> {
    lower_hex_bytes(hex, 32).or_else(|| digest_bytes(hex))
}

/// The bytes `digits` digits of lowercase hex stand for; `None` for any
/// other text.
pub(crate) fn lower_hex_bytes(hex: &str, digits: usize) -> Option<Vec<u8>> {
    let lower_hex = |b: &u8| b.is_ascii_digit() || (b'a'..=b'f').contains(b);
    (hex.len() == digits && hex.as_bytes().iter().all(lower_hex)).then(|| hash_bytes(hex))
}

/// A blob's text is stored LZ4-compressed (its size first); it is named by
/// the hash of the text itself, so what is hashed never depends on this.
pub(crate) fn compress(text: &str) -> Vec<u8> {
    lz4_flex::compress_prepend_size(text.as_bytes())
}

pub(crate) fn decompress(data: &[u8]) -> Option<String> {
    lz4_flex::decompress_size_prepended(data).ok().and_then(|bytes| String::from_utf8(bytes).ok())
}

/// A connection pool's state, for metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolStatus {
    /// Connections open.
    pub open: usize,
    /// Connections lent to a transaction now.
    pub in_use: usize,
    /// The most the pool opens.
    pub max: usize,
}

/// The history store: SQLite or PostgreSQL.
pub enum Store {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl Store {
    /// Opens `db`: a `postgres://` or `postgresql://` URL (password in the URL
    /// or `PGPASSWORD`), else a SQLite file path. Migrations run at start, in
    /// a transaction. PostgreSQL needs a Tokio runtime (its driver is async).
    /// `upgrade` runs in each migration's transaction (see [`Upgrade`]).
    pub fn open(db: &str, upgrade: &dyn Upgrade) -> Result<Store, String> {
        if db.starts_with("postgres://") || db.starts_with("postgresql://") {
            PgStore::open(db, upgrade).map(Store::Postgres)
        } else {
            SqliteStore::open(std::path::Path::new(db), upgrade).map(Store::Sqlite).map_err(|e| format!("{db}: {e}"))
        }
    }

    pub fn open_in_memory(upgrade: &dyn Upgrade) -> StoreResult<Store> {
        SqliteStore::open_in_memory(upgrade).map(Store::Sqlite)
    }

    /// The schema version the database holds, and the one this build
    /// migrates to: equal once the migrations are applied (readiness).
    pub fn schema_version(&self) -> StoreResult<(i64, i64)> {
        match self {
            Store::Sqlite(s) => Ok((s.schema_version()?, sqlite::SCHEMA_VERSION)),
            Store::Postgres(s) => Ok((s.schema_version()?, postgres::SCHEMA_VERSION)),
        }
    }

    /// The connection pool's state (PostgreSQL; SQLite has no pool).
    pub fn pool_status(&self) -> Option<PoolStatus> {
        match self {
            Store::Sqlite(_) => None,
            Store::Postgres(s) => Some(s.pool_status()),
        }
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// Runs `f` in a write transaction, committing if it returns `Ok`.
    pub fn write<T, E: From<StoreError>>(&self, f: impl FnOnce(&mut dyn Writer) -> Result<T, E>) -> Result<T, E> {
        match self {
            Store::Sqlite(s) => s.write(f),
            Store::Postgres(s) => s.write(f),
        }
    }

    /// After an erasure has committed, outside any transaction: leaves no
    /// byte of what it replaced in the database's files (SQLite: the
    /// write-ahead log folded in and emptied; PostgreSQL: the tables that
    /// named people rewritten). See each backend's `scrub`.
    pub fn scrub(&self) -> StoreResult<()> {
        match self {
            Store::Sqlite(s) => s.scrub(),
            Store::Postgres(s) => s.scrub(),
        }
    }

    /// Runs read-only queries on one consistent view, on a reader of their
    /// own (reads do not wait behind writes).
    pub fn read<T, E: From<StoreError>>(&self, f: impl FnOnce(&mut dyn Reader) -> Result<T, E>) -> Result<T, E> {
        match self {
            Store::Sqlite(s) => s.read(f),
            Store::Postgres(s) => s.read(f),
        }
    }
}
