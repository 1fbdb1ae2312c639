//! Storage: one SQLite file (WAL), every version of every graph.
//!
//! `(graph_id, version)` is the primary key, so two saves can never share a
//! version number; saves run in `BEGIN IMMEDIATE` transactions, so they see
//! each other's versions and the numbers stay contiguous.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use crate::latest::LatestGraphs;

/// Schema migrations, applied in order; `PRAGMA user_version` records how
/// many have run.
const MIGRATIONS: &[&str] = &["CREATE TABLE versions (
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
    ) WITHOUT ROWID;"];

/// One stored version.
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
    /// `None` once the snapshot was pruned by the retention setting.
    pub graph_json: Option<String>,
    pub audit_json: String,
    pub prev_hash: String,
    pub hash: String,
}

const COLUMNS: &str = "graph_id, version, saved_at, user, source, reason, run_id, idempotency_key, graph_json, audit_json, prev_hash, hash";
/// The same columns without the snapshot, for listings.
const COLUMNS_NO_GRAPH: &str =
    "graph_id, version, saved_at, user, source, reason, run_id, idempotency_key, NULL, audit_json, prev_hash, hash";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<VersionRow> {
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
    })
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
    /// The newest parsed version of recently saved graphs.
    pub latest: LatestGraphs,
}

impl Store {
    pub fn open(path: &Path) -> rusqlite::Result<Store> {
        let conn = Connection::open(path)?;
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
        let applied: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let tx = conn.transaction()?;
        for (i, sql) in (1i64..).zip(MIGRATIONS).skip(applied.max(0) as usize) {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", i)?;
        }
        tx.commit()?;
        Ok(Store { conn: Mutex::new(conn), latest: LatestGraphs::default() })
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
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> rusqlite::Result<T> {
        let conn = self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&conn)
    }
}

/// The number and hash of the newest version of a graph.
pub fn head(conn: &Connection, graph_id: &str) -> rusqlite::Result<Option<(i64, String)>> {
    conn.query_row("SELECT version, hash FROM versions WHERE graph_id = ?1 ORDER BY version DESC LIMIT 1", [graph_id], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })
    .optional()
}

/// The newest version of a graph.
pub fn latest(conn: &Connection, graph_id: &str) -> rusqlite::Result<Option<VersionRow>> {
    conn.query_row(&format!("SELECT {COLUMNS} FROM versions WHERE graph_id = ?1 ORDER BY version DESC LIMIT 1"), [graph_id], row).optional()
}

pub fn version(conn: &Connection, graph_id: &str, version: i64) -> rusqlite::Result<Option<VersionRow>> {
    conn.query_row(&format!("SELECT {COLUMNS} FROM versions WHERE graph_id = ?1 AND version = ?2"), params![graph_id, version], row)
        .optional()
}

pub fn by_idempotency_key(conn: &Connection, graph_id: &str, key: &str) -> rusqlite::Result<Option<i64>> {
    conn.query_row("SELECT version FROM versions WHERE graph_id = ?1 AND idempotency_key = ?2", params![graph_id, key], |r| r.get(0))
        .optional()
}

/// All versions of a graph, oldest first.
pub fn all_versions(conn: &Connection, graph_id: &str) -> rusqlite::Result<Vec<VersionRow>> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM versions WHERE graph_id = ?1 ORDER BY version"))?;
    stmt.query_map([graph_id], row)?.collect()
}

/// Every graph's newest version, by graph id.
pub fn graphs(conn: &Connection) -> rusqlite::Result<Vec<VersionRow>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM versions v WHERE version = (SELECT MAX(version) FROM versions w WHERE w.graph_id = v.graph_id) ORDER BY graph_id"
    ))?;
    stmt.query_map([], row)?.collect()
}

/// Versions newest first, without their snapshots.
pub fn history(conn: &Connection, graph_id: &str) -> rusqlite::Result<Vec<VersionRow>> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS_NO_GRAPH} FROM versions WHERE graph_id = ?1 ORDER BY version DESC"))?;
    stmt.query_map([graph_id], row)?.collect()
}

/// Audit entries newest first, filtered, and the total before paging.
pub fn audit(conn: &Connection, graph_id: &str, filter: &AuditFilter) -> rusqlite::Result<(i64, Vec<VersionRow>)> {
    let condition = "graph_id = ?1
        AND (?2 IS NULL OR version IN (SELECT version FROM version_nodes n WHERE n.graph_id = ?1 AND n.node_id = ?2))
        AND (?3 IS NULL OR user = ?3)
        AND (?4 IS NULL OR run_id = ?4)";
    let args = params![graph_id, filter.node_id, filter.user, filter.run_id];
    let total = conn.query_row(&format!("SELECT COUNT(*) FROM versions WHERE {condition}"), args, |r| r.get(0))?;
    let mut stmt =
        conn.prepare(&format!("SELECT {COLUMNS_NO_GRAPH} FROM versions WHERE {condition} ORDER BY version DESC LIMIT ?5 OFFSET ?6"))?;
    let rows = stmt
        .query_map(params![graph_id, filter.node_id, filter.user, filter.run_id, filter.limit, filter.offset], row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok((total, rows))
}

pub fn insert(tx: &Transaction<'_>, v: &VersionRow, touched_nodes: &[String]) -> rusqlite::Result<()> {
    tx.execute(
        &format!("INSERT INTO versions ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"),
        params![
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
            v.hash
        ],
    )?;
    let mut stmt = tx.prepare_cached("INSERT OR IGNORE INTO version_nodes (graph_id, node_id, version) VALUES (?1, ?2, ?3)")?;
    for node in touched_nodes {
        stmt.execute(params![v.graph_id, node, v.version])?;
    }
    Ok(())
}

/// Drops the snapshots of versions older than the newest `keep` (rows,
/// hashes and audit entries stay). Returns how many were pruned.
pub fn prune(tx: &Transaction<'_>, graph_id: &str, newest: i64, keep: i64) -> rusqlite::Result<usize> {
    tx.execute(
        "UPDATE versions SET graph_json = NULL WHERE graph_id = ?1 AND version <= ?2 AND graph_json IS NOT NULL",
        params![graph_id, newest - keep],
    )
}
