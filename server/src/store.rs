//! Storage: one SQLite file (WAL) holding every version of every graph as
//! the changes it made.
//!
//! A version is one row in `versions` (who, when, why, the hash chain) plus
//! the parts of the graph it changed, in `entities`: every node, edge, the
//! metadata and the top level is a row valid from the version that wrote it
//! (`from_version`) until the version that replaced or removed it
//! (`to_version`, NULL while it is current). Reading version *v* is reading
//! the rows valid at *v* in order; saving a version inserts a row per
//! changed part and closes the row it replaces, so a save costs what it
//! changed. Large field values live once in `blobs`, by content hash (see
//! [`crate::entity`]).
//!
//! `(graph_id, version)` is the primary key of `versions`, so two saves can
//! never share a version number; saves run in `BEGIN IMMEDIATE`
//! transactions, so they see each other's versions and the numbers stay
//! contiguous. `graphs` holds each graph's newest version and hash (the
//! head), its title and size, so listings never read a graph.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use crate::migrate;

/// Schema migrations, applied in order at start, each in the transaction
/// that also records it in `PRAGMA user_version`.
const MIGRATIONS: &[fn(&Transaction<'_>) -> rusqlite::Result<()>] = &[schema_1, migrate::schema_2];

fn schema_1(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        "CREATE TABLE versions (
            graph_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            saved_at TEXT NOT NULL,
            user TEXT NOT NULL,
            source TEXT NOT NULL,
            reason TEXT,
            run_id TEXT,
            idempotency_key TEXT,
            graph_json TEXT,
            audit_json TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL,
            PRIMARY KEY (graph_id, version)
        ) WITHOUT ROWID;
        CREATE UNIQUE INDEX versions_idempotency ON versions (graph_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
        CREATE TABLE version_nodes (
            graph_id TEXT NOT NULL,
            node_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            PRIMARY KEY (graph_id, node_id, version)
        ) WITHOUT ROWID;",
    )
}

/// The DDL of the delta schema (migration 2), also used by its tests.
pub const SCHEMA_2: &str = "
    ALTER TABLE versions ADD COLUMN scheme INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE versions ADD COLUMN pruned INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE graphs (
        gid INTEGER PRIMARY KEY,
        graph_id TEXT NOT NULL UNIQUE,
        head_version INTEGER NOT NULL,
        head_hash TEXT NOT NULL,
        title TEXT,
        nodes INTEGER NOT NULL,
        saved_at TEXT NOT NULL,
        saved_by TEXT NOT NULL,
        swept_rows INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE entities (
        gid INTEGER NOT NULL,
        kind INTEGER NOT NULL,
        key TEXT NOT NULL,
        dup INTEGER NOT NULL,
        from_version INTEGER NOT NULL,
        to_version INTEGER,
        ord INTEGER NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (gid, kind, key, dup, from_version)
    );
    CREATE INDEX entities_live ON entities (gid, kind, ord) WHERE to_version IS NULL;
    CREATE INDEX entities_from ON entities (gid, from_version);
    CREATE INDEX entities_to ON entities (gid, to_version) WHERE to_version IS NOT NULL;
    CREATE INDEX entities_src ON entities (gid, coalesce(json_extract(body, '$.source'), json_extract(body, '$.from')))
        WHERE to_version IS NULL AND kind = 3;
    CREATE INDEX entities_dst ON entities (gid, coalesce(json_extract(body, '$.target'), json_extract(body, '$.to')))
        WHERE to_version IS NULL AND kind = 3;
    CREATE TABLE blobs (
        gid INTEGER NOT NULL,
        hash BLOB NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (gid, hash)
    );
    CREATE TABLE pruned_leaves (
        graph_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        leaf TEXT NOT NULL
    );
    CREATE INDEX pruned_leaves_version ON pruned_leaves (graph_id, version);";

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

/// One row of `entities`.
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

const ENTITY_COLUMNS: &str = "kind, key, dup, from_version, to_version, ord, body";

fn entity(r: &rusqlite::Row<'_>) -> rusqlite::Result<EntityRow> {
    let kind: i64 = r.get(0)?;
    Ok(EntityRow {
        kind: Kind::from_i64(kind).ok_or_else(|| rusqlite::Error::IntegralValueOutOfRange(0, kind))?,
        key: r.get(1)?,
        dup: r.get(2)?,
        from_version: r.get(3)?,
        to_version: r.get(4)?,
        ord: r.get(5)?,
        body: r.get(6)?,
    })
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
    pub audit_json: String,
    pub prev_hash: String,
    pub hash: String,
    /// 1: the hash covers the whole graph (first schema); 2: it covers the
    /// changes (see [`crate::chain`]).
    pub scheme: i64,
    /// The version can no longer be read whole (retention).
    pub pruned: bool,
}

const VERSION_COLUMNS: &str =
    "graph_id, version, saved_at, user, source, reason, run_id, idempotency_key, graph_json, audit_json, prev_hash, hash, scheme, pruned";
const VERSION_COLUMNS_NO_GRAPH: &str =
    "graph_id, version, saved_at, user, source, reason, run_id, idempotency_key, NULL, audit_json, prev_hash, hash, scheme, pruned";

fn version_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<VersionRow> {
    Ok(VersionRow {
        graph_id: r.get(0)?,
        version: r.get(1)?,
        saved_at: r.get(2)?,
        user: r.get(3)?,
        source: r.get(4)?,
        reason: r.get(5)?,
        run_id: r.get(6)?,
        idempotency_key: r.get(7)?,
        graph_json: r.get(8)?,
        audit_json: r.get(9)?,
        prev_hash: r.get(10)?,
        hash: r.get(11)?,
        scheme: r.get(12)?,
        pruned: r.get(13)?,
    })
}

/// The record fields a version row keeps in columns (for listing and
/// filtering); scheme 2 stores them there only, not again in `audit_json`.
const RECORD_COLUMNS: [&str; 7] = ["version", "savedAt", "user", "source", "reason", "runId", "idempotencyKey"];

impl VersionRow {
    /// The whole audit record of the version, as hashed: `audit_json`, plus
    /// (scheme 2) the fields kept in columns.
    pub fn record(&self) -> Result<serde_json::Value, String> {
        let mut record: serde_json::Value = serde_json::from_str(&self.audit_json).map_err(|e| format!("audit record: {e}"))?;
        if self.scheme >= 2 {
            let serde_json::Value::Object(fields) = &mut record else { return Err("audit record is not an object".to_owned()) };
            let columns = serde_json::json!({
                "version": self.version,
                "savedAt": self.saved_at,
                "user": self.user,
                "source": self.source,
                "reason": self.reason,
                "runId": self.run_id,
                "idempotencyKey": self.idempotency_key,
            });
            for (key, value) in columns.as_object().into_iter().flatten() {
                if fields.contains_key(key) {
                    return Err(format!("audit record repeats the column {key}"));
                }
                fields.insert(key.clone(), value.clone());
            }
        }
        Ok(record)
    }

    /// `audit_json` for a scheme-2 record: the record without the fields
    /// kept in columns.
    pub fn stored_record(record: &serde_json::Value) -> String {
        let mut rest = record.clone();
        if let serde_json::Value::Object(fields) = &mut rest {
            for key in RECORD_COLUMNS {
                fields.shift_remove(key);
            }
        }
        rest.to_string()
    }
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

/// Filters of the audit query.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub node_id: Option<String>,
    pub user: Option<String>,
    pub run_id: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

pub struct Store {
    conn: Mutex<Connection>,
}

impl Store {
    pub fn open(path: &Path) -> rusqlite::Result<Store> {
        let conn = Connection::open(path)?;
        // Blobs of a few KB pack better into 16 KB pages than into 4 KB ones
        // (a new file only: an existing one keeps its page size).
        conn.pragma_update(None, "page_size", 16384)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // WAL with synchronous=FULL: an acknowledged save survives a crash.
        conn.pragma_update(None, "synchronous", "FULL")?;
        Store::init(conn)
    }

    pub fn open_in_memory() -> rusqlite::Result<Store> {
        Store::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> rusqlite::Result<Store> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // Reading a 100,000-node graph touches many pages; a bigger page
        // cache (32 MB) keeps the hot ones in memory.
        conn.pragma_update(None, "cache_size", -32_000)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let applied: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        for (i, migration) in (1i64..).zip(MIGRATIONS).skip(applied.max(0) as usize) {
            migration(&tx)?;
            tx.pragma_update(None, "user_version", i)?;
        }
        tx.commit()?;
        Ok(Store { conn: Mutex::new(conn) })
    }

    /// Runs `f` in a write transaction (`BEGIN IMMEDIATE`), committing if it
    /// returns `Ok`.
    pub fn write<T, E: From<rusqlite::Error>>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T, E>) -> Result<T, E> {
        let mut conn = self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs read-only queries.
    pub fn read<T, E: From<rusqlite::Error>>(&self, f: impl FnOnce(&Connection) -> Result<T, E>) -> Result<T, E> {
        let conn = self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&conn)
    }
}

// ---- graphs -------------------------------------------------------------

pub fn head(conn: &Connection, graph_id: &str) -> rusqlite::Result<Option<Head>> {
    conn.prepare_cached("SELECT gid, head_version, head_hash, nodes FROM graphs WHERE graph_id = ?1")?
        .query_row([graph_id], |r| Ok(Head { gid: r.get(0)?, version: r.get(1)?, hash: r.get(2)?, nodes: r.get(3)? }))
        .optional()
}

/// Creates the `graphs` row of a new graph; returns its gid.
pub fn insert_graph(tx: &Transaction<'_>, graph_id: &str, summary: &GraphSummary, hash: &str) -> rusqlite::Result<i64> {
    tx.prepare_cached(
        "INSERT INTO graphs (graph_id, head_version, head_hash, title, nodes, saved_at, saved_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![graph_id, summary.version, hash, summary.title, summary.nodes, summary.saved_at, summary.saved_by])?;
    Ok(tx.last_insert_rowid())
}

pub fn update_graph(tx: &Transaction<'_>, gid: i64, summary: &GraphSummary, hash: &str) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "UPDATE graphs SET head_version = ?2, head_hash = ?3, title = ?4, nodes = ?5, saved_at = ?6, saved_by = ?7 WHERE gid = ?1",
    )?
    .execute(params![gid, summary.version, hash, summary.title, summary.nodes, summary.saved_at, summary.saved_by])?;
    Ok(())
}

/// Every graph, by id, from the `graphs` index (no graph is read).
pub fn graphs(conn: &Connection) -> rusqlite::Result<Vec<GraphSummary>> {
    let mut stmt = conn.prepare("SELECT graph_id, head_version, title, nodes, saved_at, saved_by FROM graphs ORDER BY graph_id")?;
    stmt.query_map([], |r| {
        Ok(GraphSummary {
            graph_id: r.get(0)?,
            version: r.get(1)?,
            title: r.get(2)?,
            nodes: r.get(3)?,
            saved_at: r.get(4)?,
            saved_by: r.get(5)?,
        })
    })?
    .collect()
}

// ---- entities -----------------------------------------------------------

/// The rows of a graph valid at `version` (`None`: the newest), ordered by
/// kind and position.
pub fn rows_at(conn: &Connection, gid: i64, version: Option<i64>) -> rusqlite::Result<Vec<EntityRow>> {
    match version {
        None => conn
            .prepare_cached(&format!(
                "SELECT {ENTITY_COLUMNS} FROM entities INDEXED BY entities_live WHERE gid = ?1 AND to_version IS NULL ORDER BY kind, ord"
            ))?
            .query_map([gid], entity)?
            .collect(),
        Some(v) => {
            let mut rows: Vec<EntityRow> = conn
                .prepare_cached(&format!(
                    "SELECT {ENTITY_COLUMNS} FROM entities INDEXED BY entities_from
                     WHERE gid = ?1 AND from_version <= ?2 AND (to_version IS NULL OR to_version > ?2)"
                ))?
                .query_map(params![gid, v], entity)?
                .collect::<rusqlite::Result<_>>()?;
            rows.sort_unstable_by_key(|r| (r.kind, r.ord));
            Ok(rows)
        }
    }
}

/// The current rows of one node, edge key, metadata or top level, in order.
pub fn live(conn: &Connection, gid: i64, kind: Kind, key: &str) -> rusqlite::Result<Vec<EntityRow>> {
    // Sorted here, not by the query: `ORDER BY ord` would make SQLite walk
    // the index of every current part (by position) instead of the key.
    let mut rows: Vec<EntityRow> = conn
        .prepare_cached(&format!("SELECT {ENTITY_COLUMNS} FROM entities WHERE gid = ?1 AND kind = ?2 AND key = ?3 AND to_version IS NULL"))?
        .query_map(params![gid, kind as i64, key], entity)?
        .collect::<rusqlite::Result<_>>()?;
    rows.sort_unstable_by_key(|r| r.ord);
    Ok(rows)
}

/// The keys of the current edges that start or end at `node` (the ends are
/// indexed straight from the stored bodies, where they are always inline).
pub fn edges_at(conn: &Connection, gid: i64, node: &str) -> rusqlite::Result<Vec<String>> {
    conn.prepare_cached(
        "SELECT key FROM entities INDEXED BY entities_src WHERE gid = ?1 AND kind = 3 AND to_version IS NULL
           AND coalesce(json_extract(body, '$.source'), json_extract(body, '$.from')) = ?2
         UNION ALL SELECT key FROM entities INDEXED BY entities_dst WHERE gid = ?1 AND kind = 3 AND to_version IS NULL
           AND coalesce(json_extract(body, '$.target'), json_extract(body, '$.to')) = ?2",
    )?
    .query_map(params![gid, node], |r| r.get(0))?
    .collect()
}

/// The largest current position of a kind (for appending).
pub fn max_ord(conn: &Connection, gid: i64, kind: Kind) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT MAX(ord) FROM entities INDEXED BY entities_live WHERE gid = ?1 AND kind = ?2 AND to_version IS NULL")?
        .query_row(params![gid, kind as i64], |r| r.get(0))
}

/// The largest `dup` among the current edges with `key`.
pub fn max_dup(conn: &Connection, gid: i64, key: &str) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT MAX(dup) FROM entities WHERE gid = ?1 AND kind = 3 AND key = ?2 AND to_version IS NULL")?
        .query_row(params![gid, key], |r| r.get(0))
}

/// Rows written by `version` (its puts) and rows it closed (its removals and replacements).
pub fn rows_changed_by(conn: &Connection, gid: i64, version: i64) -> rusqlite::Result<(Vec<EntityRow>, Vec<EntityRow>)> {
    let opened = conn
        .prepare_cached(&format!("SELECT {ENTITY_COLUMNS} FROM entities INDEXED BY entities_from WHERE gid = ?1 AND from_version = ?2"))?
        .query_map(params![gid, version], entity)?
        .collect::<rusqlite::Result<_>>()?;
    let closed = conn
        .prepare_cached(&format!("SELECT {ENTITY_COLUMNS} FROM entities INDEXED BY entities_to WHERE gid = ?1 AND to_version = ?2"))?
        .query_map(params![gid, version], entity)?
        .collect::<rusqlite::Result<_>>()?;
    Ok((opened, closed))
}

/// Rows that ended at or before `version`.
pub fn rows_ended_by(conn: &Connection, gid: i64, version: i64) -> rusqlite::Result<Vec<EntityRow>> {
    conn.prepare_cached(&format!(
        "SELECT {ENTITY_COLUMNS} FROM entities INDEXED BY entities_to WHERE gid = ?1 AND to_version IS NOT NULL AND to_version <= ?2"
    ))?
    .query_map(params![gid, version], entity)?
    .collect()
}

/// Every row of a graph (for verification).
pub fn all_rows(conn: &Connection, gid: i64) -> rusqlite::Result<Vec<EntityRow>> {
    conn.prepare(&format!("SELECT {ENTITY_COLUMNS} FROM entities WHERE gid = ?1"))?.query_map([gid], entity)?.collect()
}

pub fn insert_entity(tx: &Transaction<'_>, gid: i64, row: &EntityRow) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO entities (gid, kind, key, dup, from_version, to_version, ord, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![gid, row.kind as i64, row.key, row.dup, row.from_version, row.to_version, row.ord, row.body])?;
    Ok(())
}

/// Ends the current row of an entity at `version`; false if there was none.
pub fn close_entity(tx: &Transaction<'_>, gid: i64, kind: Kind, key: &str, dup: i64, version: i64) -> rusqlite::Result<bool> {
    let n = tx
        .prepare_cached(
            "UPDATE entities SET to_version = ?5 WHERE gid = ?1 AND kind = ?2 AND key = ?3 AND dup = ?4 AND to_version IS NULL",
        )?
        .execute(params![gid, kind as i64, key, dup, version])?;
    Ok(n == 1)
}

// ---- blobs --------------------------------------------------------------

/// Blobs are named by their SHA-256 in hex in stored bodies and by its 32
/// bytes in the table (half the key size).
fn hash_bytes(hash: &str) -> Vec<u8> {
    (0..hash.len() / 2).filter_map(|i| hash.get(2 * i..2 * i + 2).and_then(|h| u8::from_str_radix(h, 16).ok())).collect()
}

/// A blob's text is stored LZ4-compressed (its size first); it is named by
/// the hash of the text itself, so what is hashed never depends on this.
pub fn insert_blob(tx: &Transaction<'_>, gid: i64, hash: &str, text: &str) -> rusqlite::Result<()> {
    let data = lz4_flex::compress_prepend_size(text.as_bytes());
    tx.prepare_cached("INSERT OR IGNORE INTO blobs (gid, hash, data) VALUES (?1, ?2, ?3)")?.execute(params![
        gid,
        hash_bytes(hash),
        data
    ])?;
    Ok(())
}

/// A blob's text; `None` if missing, or if its stored bytes do not
/// decompress to UTF-8 (verification then reports it).
pub fn blob(conn: &Connection, gid: i64, hash: &str) -> rusqlite::Result<Option<String>> {
    let data: Option<Vec<u8>> = conn
        .prepare_cached("SELECT data FROM blobs WHERE gid = ?1 AND hash = ?2")?
        .query_row(params![gid, hash_bytes(hash)], |r| r.get(0))
        .optional()?;
    Ok(data.and_then(|d| lz4_flex::decompress_size_prepended(&d).ok()).and_then(|bytes| String::from_utf8(bytes).ok()))
}

/// The hashes (hex) of a graph's blobs.
pub fn blob_hashes(conn: &Connection, gid: i64) -> rusqlite::Result<Vec<String>> {
    conn.prepare("SELECT hash FROM blobs WHERE gid = ?1")?
        .query_map([gid], |r| r.get::<_, Vec<u8>>(0).map(|b| crate::entity::hex(&b)))?
        .collect()
}

pub fn delete_blob(tx: &Transaction<'_>, gid: i64, hash: &str) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM blobs WHERE gid = ?1 AND hash = ?2")?.execute(params![gid, hash_bytes(hash)])?;
    Ok(())
}

// ---- versions -----------------------------------------------------------

pub fn version(conn: &Connection, graph_id: &str, version: i64) -> rusqlite::Result<Option<VersionRow>> {
    conn.prepare_cached(&format!("SELECT {VERSION_COLUMNS} FROM versions WHERE graph_id = ?1 AND version = ?2"))?
        .query_row(params![graph_id, version], version_row)
        .optional()
}

pub fn by_idempotency_key(conn: &Connection, graph_id: &str, key: &str) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT version FROM versions WHERE graph_id = ?1 AND idempotency_key = ?2")?
        .query_row(params![graph_id, key], |r| r.get(0))
        .optional()
}

/// All versions of a graph, oldest first.
pub fn all_versions(conn: &Connection, graph_id: &str) -> rusqlite::Result<Vec<VersionRow>> {
    let mut stmt = conn.prepare(&format!("SELECT {VERSION_COLUMNS} FROM versions WHERE graph_id = ?1 ORDER BY version"))?;
    stmt.query_map([graph_id], version_row)?.collect()
}

/// Versions newest first, without snapshots.
pub fn history(conn: &Connection, graph_id: &str) -> rusqlite::Result<Vec<VersionRow>> {
    let mut stmt = conn.prepare(&format!("SELECT {VERSION_COLUMNS_NO_GRAPH} FROM versions WHERE graph_id = ?1 ORDER BY version DESC"))?;
    stmt.query_map([graph_id], version_row)?.collect()
}

/// Audit rows newest first, filtered, and the total before paging. A node
/// filter matches the versions that wrote or ended a row of that node (and,
/// for versions from the first schema, the versions recorded as touching it).
pub fn audit(conn: &Connection, graph_id: &str, gid: Option<i64>, filter: &AuditFilter) -> rusqlite::Result<(i64, Vec<VersionRow>)> {
    let condition = "graph_id = ?1
        AND (?2 IS NULL OR version IN (
            SELECT from_version FROM entities WHERE gid = ?7 AND kind = 2 AND key = ?2
            UNION SELECT to_version FROM entities WHERE gid = ?7 AND kind = 2 AND key = ?2 AND to_version IS NOT NULL
            UNION SELECT version FROM version_nodes n WHERE n.graph_id = ?1 AND n.node_id = ?2))
        AND (?3 IS NULL OR user = ?3)
        AND (?4 IS NULL OR run_id = ?4)";
    let args = params![graph_id, filter.node_id, filter.user, filter.run_id, filter.limit, filter.offset, gid];
    // Both statements take all seven parameters: SQLite counts them up to
    // the highest index used (?7), so the count binds ?5 and ?6 unused.
    let total = conn.query_row(&format!("SELECT COUNT(*) FROM versions WHERE {condition}"), args, |r| r.get(0))?;
    let mut stmt = conn
        .prepare(&format!("SELECT {VERSION_COLUMNS_NO_GRAPH} FROM versions WHERE {condition} ORDER BY version DESC LIMIT ?5 OFFSET ?6"))?;
    let rows = stmt.query_map(args, version_row)?.collect::<rusqlite::Result<_>>()?;
    Ok((total, rows))
}

pub fn insert_version(tx: &Transaction<'_>, v: &VersionRow) -> rusqlite::Result<()> {
    tx.prepare_cached(&format!(
        "INSERT INTO versions ({VERSION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
    ))?
    .execute(params![
        v.graph_id,
        v.version,
        v.saved_at,
        v.user,
        v.source,
        v.reason,
        v.run_id,
        v.idempotency_key,
        v.graph_json,
        v.audit_json,
        v.prev_hash,
        v.hash,
        v.scheme,
        v.pruned
    ])?;
    Ok(())
}

/// Leaves of the change hashes of pruned versions whose rows are gone.
pub fn pruned_leaves(conn: &Connection, graph_id: &str, version: i64) -> rusqlite::Result<Vec<String>> {
    conn.prepare_cached("SELECT leaf FROM pruned_leaves WHERE graph_id = ?1 AND version = ?2")?
        .query_map(params![graph_id, version], |r| r.get(0))?
        .collect()
}
