//! The SQLite backend: one file (WAL, `synchronous=FULL`), one writer
//! connection (`BEGIN IMMEDIATE`: saves are serialized, so versions stay
//! contiguous) and a small pool of reader connections, so reads never wait
//! behind a write (WAL lets them read the last committed state meanwhile).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior, params};

use super::entity_patch;
use super::{
    Approval, AuditFilter, DayStats, Decided, Dim, EntityRow, Erased, Event, ExportFilter, Grant, GraphSummary, GraphVersion, Head, KeyUse,
    Kind, Reader, Span, Stats, StatsFilter, StoreError, StoreResult, StoredEnds, Upgrade, VersionRow, Writer, compress, decompress,
    digest_bytes, hash_bytes, lower_hex_bytes,
};
use crate::packed::Dictionary;
use crate::sqlite_schema::{DECISIONS_SCHEMA, MIGRATIONS};
pub use crate::sqlite_schema::{SCHEMA_2, SCHEMA_VERSION};
use crate::sqlite_time::{stored_time, time_at};

/// Reader connections kept open at most.
const READERS: usize = 8;

/// Prepared statements a connection keeps (rusqlite's default is 16). A
/// save runs more distinct statements than that (a part's kind is written
/// into some, so each kind is a statement of its own), so with 16 the
/// least recently used were evicted and every call prepared its statement
/// again: 22 % of the server's CPU at 8 clients went to SQLite's parser
/// (`perf`, issue 28).
const STATEMENTS: usize = 256;

/// An idempotency key as stored: its 16 bytes if it is a UUID in lowercase
/// hex with its four dashes (which [`key_at`] gives back as that text),
/// else the text itself.
fn stored_key(key: &str) -> rusqlite::types::Value {
    let b = key.as_bytes();
    let dashes = b.len() == 36 && [8, 13, 18, 23].iter().all(|&i| b[i] == b'-');
    let digits: String = key.chars().filter(|&c| c != '-').collect();
    match lower_hex_bytes(&digits, 32).filter(|_| dashes) {
        Some(bytes) => rusqlite::types::Value::Blob(bytes),
        None => rusqlite::types::Value::Text(key.to_owned()),
    }
}

/// A stored idempotency key back as its text (see [`stored_key`]).
fn key_at(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Option<String>> {
    use rusqlite::types::ValueRef;
    match r.get_ref(at)? {
        ValueRef::Blob(bytes) if bytes.len() == 16 => {
            let hex = crate::entity::hex(bytes);
            Ok(Some(format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])))
        }
        _ => r.get(at),
    }
}

/// A hash as stored: its 32 bytes if it is lowercase SHA-256 hex, else text.
fn stored_digest(hex: &str) -> rusqlite::types::Value {
    stored_bytes(hex, digest_bytes(hex))
}

/// A request's fingerprint as stored: its bytes (see [`crate::fingerprint_bytes`]).
fn stored_fingerprint(hex: &str) -> rusqlite::types::Value {
    stored_bytes(hex, crate::fingerprint_bytes(hex))
}

fn stored_bytes(hex: &str, bytes: Option<Vec<u8>>) -> rusqlite::types::Value {
    match bytes {
        Some(bytes) => rusqlite::types::Value::Blob(bytes),
        None => rusqlite::types::Value::Text(hex.to_owned()),
    }
}

/// Text as stored where it can be packed (see [`crate::packed`]): its
/// packed bytes if they are shorter, else the text.
fn stored_packed(text: &str, dictionary: Dictionary) -> rusqlite::types::Value {
    stored_bytes(text, crate::packed::pack(text, dictionary))
}

/// A stored audit record back as its text (see [`crate::record_of_bytes`]).
fn audit_at(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Result<String, String>> {
    match r.get_ref(at)? {
        rusqlite::types::ValueRef::Blob(packed) => Ok(crate::record_of_bytes(packed)),
        _ => r.get(at).map(Ok),
    }
}

/// A stored hash back as hex text (bytes since schema 6, text before).
fn digest_at(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Option<String>> {
    use rusqlite::types::{FromSqlError, ValueRef};
    match r.get_ref(at)? {
        ValueRef::Null => Ok(None),
        ValueRef::Blob(bytes) => Ok(Some(crate::entity::hex(bytes))),
        ValueRef::Text(text) => Ok(Some(String::from_utf8_lossy(text).into_owned())),
        other => Err(rusqlite::Error::FromSqlConversionFailure(at, other.data_type(), Box::new(FromSqlError::InvalidType))),
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        match e.sqlite_error_code() {
            // Still locked after the busy timeout: worth retrying later.
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Unavailable(e.to_string()),
            _ => StoreError::Failed(e.to_string()),
        }
    }
}

pub struct SqliteStore {
    writer: Mutex<Connection>,
    /// The file, for opening readers (`None`: in memory, where the writer
    /// connection is the only view of the database).
    path: Option<PathBuf>,
    readers: Mutex<Vec<Connection>>,
}

/// A clean stop folds the write-ahead log into the database file: the
/// readers (read-only, which cannot) close first, then the writer
/// checkpoints. Without this the last connection to close was a reader and
/// the file kept every write in its `-wal` until the next start.
impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.readers.get_mut().unwrap_or_else(|p| p.into_inner()).clear();
        if self.path.is_some() {
            let writer = self.writer.get_mut().unwrap_or_else(|p| p.into_inner());
            if let Err(e) = writer.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)") {
                tracing::warn!(error = %e, "the write-ahead log was not folded in at stop");
            }
        }
    }
}

impl SqliteStore {
    pub fn open(path: &Path, upgrade: &dyn Upgrade) -> StoreResult<SqliteStore> {
        let conn = Connection::open(path)?;
        // 8 KB pages (a new file only: an existing one keeps its page size).
        // Measured against 4 KB and 16 KB (issue 28): a save at 100,000
        // nodes writes one page in a random place per edited part in each of
        // three B-trees, and every such page goes whole through the log, its
        // checksum, fsync and checkpoint, so CPU per save there is 1.45× that
        // at 1,000 nodes with 8 KB pages, 1.52-1.58× with 16 KB, 1.37-1.40×
        // with 4 KB. The cost: blobs of a few KB pack worse into smaller
        // pages (a first version of 500 nodes with 4 KB infos takes 10 % more
        // than with 16 KB; one without many blobs 3 % less: 346 MB for the
        // 100,000-node graph, 358 MB with 16 KB, 367 MB with 4 KB). A
        // one-label version took 1,090 B (1,130, 1,081) when this was chosen,
        // before the shorter record and fingerprint. Reads are within 5 %.
        conn.pragma_update(None, "page_size", 8192)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // The log is folded into the file once it holds 4,000 pages (32 MB, or
        // 64 MB in a file made with 16 KB pages before issue 28;
        // SQLite's default is 1,000, 8 MB at 8 KB). A checkpoint writes each
        // distinct page in the log once, so a longer log writes a page that
        // several saves changed (an index's upper levels, a hot leaf) fewer
        // times: CPU per 25-edit save at 100,000 nodes 5.75 → 5.45 ms, at
        // 1,000 nodes unchanged (bench/save-cpu.js, issue 28). A clean stop
        // folds the log in whatever its size.
        conn.pragma_update(None, "wal_autocheckpoint", 4000)?;
        // WAL with synchronous=FULL: an acknowledged save survives a crash.
        conn.pragma_update(None, "synchronous", "FULL")?;
        SqliteStore::init(conn, Some(path.to_owned()), upgrade)
    }

    pub fn open_in_memory(upgrade: &dyn Upgrade) -> StoreResult<SqliteStore> {
        SqliteStore::init(Connection::open_in_memory()?, None, upgrade)
    }

    fn init(mut conn: Connection, path: Option<PathBuf>, upgrade: &dyn Upgrade) -> StoreResult<SqliteStore> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.set_prepared_statement_cache_capacity(STATEMENTS);
        // Deleted and overwritten content is zeroed, not left on free pages
        // and in free space within pages: an erased person must not survive
        // in the file's bytes (nor in a backup of them).
        conn.pragma_update(None, "secure_delete", "ON")?;
        // Reading a 100,000-node graph touches many pages; a bigger page
        // cache (32 MB) keeps the hot ones in memory.
        conn.pragma_update(None, "cache_size", -32_000)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let applied: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        for (i, migration) in (1i64..).zip(MIGRATIONS).skip(applied.max(0) as usize) {
            migration(&tx)?;
            upgrade.after_schema(i, &mut SqliteConn(&tx))?;
            if i == DECISIONS_SCHEMA {
                upgrade.backfill_decisions(&mut SqliteConn(&tx))?;
            }
            tx.pragma_update(None, "user_version", i)?;
        }
        tx.commit()?;
        Ok(SqliteStore { writer: Mutex::new(conn), path, readers: Mutex::new(Vec::new()) })
    }

    /// See [`super::Store::scrub`]. Deleted content is zeroed as it is
    /// deleted (`secure_delete`, set at open), but not all of it: when a
    /// page is rebuilt (a row moved by a save, then the page rebalanced)
    /// SQLite leaves fragments of old rows in the page's unused middle
    /// (found by `tests/erasure_bytes.rs`: a part as Ann first stamped it,
    /// versions before the erasure). So the file is rebuilt (`VACUUM`: every
    /// page written anew, holding live rows only), then the write-ahead log,
    /// which holds the pages as they were, is folded in and truncated,
    /// waiting (the busy timeout) for readers of older states.
    pub fn scrub(&self) -> StoreResult<()> {
        if self.path.is_none() {
            return Ok(());
        }
        let conn = self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        conn.execute_batch("VACUUM")?;
        for _ in 0..3 {
            let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
            if busy == 0 {
                return Ok(());
            }
        }
        Err(StoreError::Unavailable("the write-ahead log could not be emptied: readers kept older states open".to_owned()))
    }

    pub fn write<T, E: From<StoreError>>(&self, f: impl FnOnce(&mut dyn Writer) -> Result<T, E>) -> Result<T, E> {
        let mut conn = self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(StoreError::from)?;
        let out = f(&mut SqliteConn(&tx))?;
        tx.commit().map_err(StoreError::from)?;
        Ok(out)
    }

    /// The schema version the file holds (`PRAGMA user_version`), read on a
    /// connection of its own: never waits behind a write.
    pub fn schema_version(&self) -> StoreResult<i64> {
        let Some(path) = &self.path else {
            let conn = self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            return Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?);
        };
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        conn.busy_timeout(std::time::Duration::from_secs(1))?;
        Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    pub fn read<T, E: From<StoreError>>(&self, f: impl FnOnce(&mut dyn Reader) -> Result<T, E>) -> Result<T, E> {
        let Some(path) = &self.path else {
            let conn = self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            return f(&mut SqliteConn(&conn));
        };
        let pooled = self.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut conn = match pooled {
            Some(conn) => conn,
            None => {
                let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
                    .map_err(StoreError::from)?;
                conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(StoreError::from)?;
                conn.set_prepared_statement_cache_capacity(STATEMENTS);
                conn.pragma_update(None, "cache_size", -16_000).map_err(StoreError::from)?;
                conn
            }
        };
        // One read transaction: every query sees the same committed state.
        let out = {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred).map_err(StoreError::from)?;
            let out = f(&mut SqliteConn(&tx));
            tx.finish().map_err(StoreError::from)?;
            out
        };
        let mut readers = self.readers.lock().unwrap_or_else(|p| p.into_inner());
        if readers.len() < READERS {
            readers.push(conn);
        }
        out
    }
}

/// A connection (or transaction) as the store's traits (also for tools and
/// tests that open the file themselves).
pub struct SqliteConn<'a>(pub &'a Connection);

const ENTITY_COLUMNS: &str = "kind, key, dup, from_version, to_version, ord, body";
/// A part's row as written: a new row is born at its `from_version` (schema 8).
const INSERT_ENTITY: &str =
    "INSERT INTO entities (gid, kind, key, dup, from_version, to_version, ord, body, born) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?5)";
/// [`ENTITY_COLUMNS`] of `e`, where a query joins two rows of `entities`.
const ENDED_SUCCESSOR_COLUMNS: &str = "e.kind, e.key, e.dup, e.from_version, e.to_version, e.ord, e.body";

/// A part's current rows (one per `dup`), found through `entities_current`
/// (see `schema_10`), not through the primary key, which holds every row
/// the part ever had.
static CURRENT_ROWS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!("SELECT {ENTITY_COLUMNS} FROM entities WHERE gid = ?1 AND kind = ?2 AND key = ?3 AND to_version IS NULL")
});

/// The graph's metadata (kind 1, key `''`, dup 0), the one part every
/// version rewrites (its `version` stamp), is left out of `entities_born`
/// and `entities_to` (schema 13): its row at version `?2`, found by the
/// primary key instead, as are its rows opened and ended by a version.
static METADATA_AT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT {ENTITY_COLUMNS} FROM entities WHERE gid = ?1 AND kind = 1 AND key = '' AND dup = 0
           AND from_version = (SELECT MAX(from_version) FROM entities WHERE gid = ?1 AND kind = 1 AND key = '' AND dup = 0 AND from_version <= ?2)
           AND (to_version IS NULL OR to_version > ?2)"
    )
});

/// Ends a part's current row at version `?5`, its body replaced by `?6`
/// (the way back from its successor) if given; through `entities_current`.
const END_CURRENT_ROW: &str = "UPDATE entities SET to_version = ?5, body = coalesce(?6, body)
     WHERE gid = ?1 AND kind = ?2 AND key = ?3 AND dup = ?4 AND to_version IS NULL";

/// `sql` with `kind = ?2` written as the kind itself: one cached statement
/// per kind. A kind passed as a parameter could decide whether a partial
/// index (of current edges) applies, so SQLite prepared the statement again
/// every time a value was bound to it: 27 % of a 25-edit save's CPU in
/// `perf`. (`?2` is still bound, and unused, where a later parameter
/// keeps the count.)
fn with_kind(sql: &str, kind: Kind) -> String {
    sql.replace("kind = ?2", &format!("kind = {}", kind as i64))
}

fn entity(r: &rusqlite::Row<'_>) -> rusqlite::Result<EntityRow> {
    entity_at(r, 0)
}

/// An entity row from the columns (`ENTITY_COLUMNS`) starting at `at`.
fn entity_at(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<EntityRow> {
    let kind: i64 = r.get(at)?;
    Ok(EntityRow {
        kind: Kind::from_i64(kind).ok_or(rusqlite::Error::IntegralValueOutOfRange(at, kind))?,
        key: r.get(at + 1)?,
        dup: r.get(at + 2)?,
        from_version: r.get(at + 3)?,
        to_version: r.get(at + 4)?,
        ord: r.get(at + 5)?,
        body: body_at(r, at + 6)?,
    })
}

/// An ended row's body as stored since issue 28 (its patch, or its whole
/// body where a patch would not do): packed against the dictionary of
/// parts (see [`crate::packed`]) when that is shorter, else its text. Only
/// ended rows are packed: a current row's body is read by SQL (the indexes
/// of edge ends, an erasure's search), an ended row's only here and by
/// [`SqliteConn::parts_containing`], which unpacks what it searches.
fn stored_ended(body: &str) -> rusqlite::types::Value {
    stored_packed(body, Dictionary::Part)
}

/// A stored body back as its text (see [`stored_ended`]). Bytes that do
/// not unpack (damaged behind the server's back) come back as they are,
/// read as text: no JSON reader accepts them, and verification names the
/// version whose leaf they no longer match, as for any damaged body.
fn body_at(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<String> {
    match r.get_ref(at)? {
        rusqlite::types::ValueRef::Blob(packed) => {
            Ok(crate::packed::unpack(packed).unwrap_or_else(|_| String::from_utf8_lossy(packed).into_owned()))
        }
        _ => r.get(at),
    }
}

const VERSION_COLUMNS: &str = "graph_id, version, saved_at, user, source, reason, run_id, idempotency_key, graph_json, audit_json, \
    prev_hash, hash, scheme, pruned, record_digest, audit_expired";
const VERSION_COLUMNS_NO_GRAPH: &str = "graph_id, version, saved_at, user, source, reason, run_id, idempotency_key, NULL, audit_json, \
    prev_hash, hash, scheme, pruned, record_digest, audit_expired";
/// The same, qualified by the table alias `v`.
const V_COLUMNS_NO_GRAPH: &str = "v.graph_id, v.version, v.saved_at, v.user, v.source, v.reason, v.run_id, v.idempotency_key, NULL, \
    v.audit_json, v.prev_hash, v.hash, v.scheme, v.pruned, v.record_digest, v.audit_expired";

fn version_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<VersionRow> {
    version_row_at(r, 0)
}

/// `V_COLUMNS_NO_GRAPH` read from `version_rows v` joined to `graphs g`
/// (for the statements the view cannot serve, see `keyed_by_gid`).
static ROWS_COLUMNS_NO_GRAPH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| V_COLUMNS_NO_GRAPH.replacen("v.graph_id", "g.graph_id", 1));

/// A version row from the columns starting at `at`.
fn version_row_at(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<VersionRow> {
    Ok(VersionRow {
        graph_id: r.get(at)?,
        version: r.get(at + 1)?,
        saved_at: time_at(r, at + 2)?,
        user: r.get(at + 3)?,
        source: r.get(at + 4)?,
        reason: r.get(at + 5)?,
        run_id: r.get(at + 6)?,
        idempotency_key: key_at(r, at + 7)?,
        graph_json: r.get(at + 8)?,
        audit_json: audit_at(r, at + 9)?,
        prev_hash: r.get(at + 10)?,
        hash: digest_at(r, at + 11)?.unwrap_or_default(),
        scheme: r.get(at + 12)?,
        pruned: r.get(at + 13)?,
        record_digest: digest_at(r, at + 14)?,
        audit_expired: r.get(at + 15)?,
    })
}

fn summary(r: &rusqlite::Row<'_>) -> rusqlite::Result<GraphSummary> {
    Ok(GraphSummary {
        graph_id: r.get(0)?,
        version: r.get(1)?,
        title: r.get(2)?,
        nodes: r.get(3)?,
        saved_at: r.get(4)?,
        saved_by: r.get(5)?,
    })
}

impl SqliteConn<'_> {
    fn rows(&self, sql: &str, args: impl rusqlite::Params) -> StoreResult<Vec<EntityRow>> {
        Ok(self.0.prepare_cached(sql)?.query_map(args, entity)?.collect::<rusqlite::Result<_>>()?)
    }

    fn versions(&self, sql: &str, args: impl rusqlite::Params) -> StoreResult<Vec<VersionRow>> {
        Ok(self.0.prepare_cached(sql)?.query_map(args, version_row)?.collect::<rusqlite::Result<_>>()?)
    }
}

impl Reader for SqliteConn<'_> {
    fn head(&mut self, graph_id: &str) -> StoreResult<Option<Head>> {
        Ok(self
            .0
            .prepare_cached("SELECT gid, head_version, head_hash, nodes FROM graphs WHERE graph_id = ?1")?
            .query_row([graph_id], |r| Ok(Head { gid: r.get(0)?, version: r.get(1)?, hash: r.get(2)?, nodes: r.get(3)? }))
            .optional()?)
    }

    fn graphs(&mut self) -> StoreResult<Vec<GraphSummary>> {
        let mut stmt = self.0.prepare("SELECT graph_id, head_version, title, nodes, saved_at, saved_by FROM graphs ORDER BY graph_id")?;
        Ok(stmt.query_map([], summary)?.collect::<rusqlite::Result<_>>()?)
    }

    fn rows_at(&mut self, gid: i64, version: Option<i64>) -> StoreResult<Vec<EntityRow>> {
        match version {
            None => self.rows(
                &format!(
                    "SELECT {ENTITY_COLUMNS} FROM entities INDEXED BY entities_live WHERE gid = ?1 AND to_version IS NULL ORDER BY kind, ord"
                ),
                [gid],
            ),
            Some(v) => {
                let mut rows = self.rows(
                    &format!(
                        "SELECT {ENTITY_COLUMNS} FROM entities INDEXED BY entities_born
                         WHERE gid = ?1 AND kind <> 1 AND born <= ?2 AND from_version <= ?2 AND (to_version IS NULL OR to_version > ?2)
                         UNION ALL {}",
                        METADATA_AT.as_str()
                    ),
                    params![gid, v],
                )?;
                rows.sort_unstable_by_key(|r| (r.kind, r.ord));
                entity_patch::whole_rows(self, gid, rows, false)
            }
        }
    }

    fn live(&mut self, gid: i64, kind: Kind, key: &str) -> StoreResult<Vec<EntityRow>> {
        // Sorted here, not by the query: `ORDER BY ord` would make SQLite walk
        // the index of every current part (by position) instead of the key.
        let mut rows = self.rows(&with_kind(&CURRENT_ROWS, kind), params![gid, kind as i64, key])?;
        rows.sort_unstable_by_key(|r| r.ord);
        Ok(rows)
    }

    fn edges_at(&mut self, gid: i64, node: &str) -> StoreResult<Vec<String>> {
        // The ends are indexed straight from the stored bodies, where they are
        // always inline (see `entity`).
        Ok(self
            .0
            .prepare_cached(
                "SELECT key FROM entities INDEXED BY entities_src WHERE gid = ?1 AND kind = 3 AND to_version IS NULL
                   AND coalesce(json_extract(body, '$.source'), json_extract(body, '$.from')) = ?2
                 UNION ALL SELECT key FROM entities INDEXED BY entities_dst WHERE gid = ?1 AND kind = 3 AND to_version IS NULL
                   AND coalesce(json_extract(body, '$.target'), json_extract(body, '$.to')) = ?2",
            )?
            .query_map(params![gid, node], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?)
    }

    fn max_ord(&mut self, gid: i64, kind: Kind) -> StoreResult<Option<i64>> {
        Ok(self
            .0
            .prepare_cached(&with_kind(
                "SELECT MAX(ord) FROM entities INDEXED BY entities_live WHERE gid = ?1 AND kind = ?2 AND to_version IS NULL",
                kind,
            ))?
            .query_row([gid], |r| r.get(0))?)
    }

    fn max_dup(&mut self, gid: i64, key: &str) -> StoreResult<Option<i64>> {
        Ok(self
            .0
            .prepare_cached("SELECT MAX(dup) FROM entities WHERE gid = ?1 AND kind = 3 AND key = ?2 AND to_version IS NULL")?
            .query_row(params![gid, key], |r| r.get(0))?)
    }

    fn rows_changed_by(&mut self, gid: i64, version: i64) -> StoreResult<(Vec<EntityRow>, Vec<EntityRow>)> {
        // Opened: rows inserted at this version, and the cells it rewrote
        // (born earlier), each the successor of a row it ended. UNION drops
        // a row found both ways.
        let opened = self.rows(
            &format!(
                "SELECT {ENTITY_COLUMNS} FROM entities INDEXED BY entities_born WHERE gid = ?1 AND kind <> 1 AND born = ?2 AND from_version = ?2
                 UNION
                 SELECT {ENDED_SUCCESSOR_COLUMNS} FROM entities x INDEXED BY entities_to
                 JOIN entities e ON e.gid = x.gid AND e.kind = x.kind AND e.key = x.key AND e.dup = x.dup AND e.from_version = x.to_version
                 WHERE x.gid = ?1 AND x.kind <> 1 AND x.to_version = ?2
                 UNION
                 SELECT {ENTITY_COLUMNS} FROM entities WHERE gid = ?1 AND kind = 1 AND key = '' AND dup = 0 AND from_version = ?2"
            ),
            params![gid, version],
        )?;
        let closed = self.rows(
            &format!(
                "SELECT {ENTITY_COLUMNS} FROM entities INDEXED BY entities_to WHERE gid = ?1 AND kind <> 1 AND to_version = ?2
                 UNION ALL
                 SELECT {ENTITY_COLUMNS} FROM entities WHERE gid = ?1 AND kind = 1 AND key = '' AND dup = 0 AND to_version = ?2
                   AND from_version = (SELECT MAX(from_version) FROM entities
                                       WHERE gid = ?1 AND kind = 1 AND key = '' AND dup = 0 AND from_version < ?2)"
            ),
            params![gid, version],
        )?;
        Ok((entity_patch::whole_rows(self, gid, opened, false)?, entity_patch::whole_rows(self, gid, closed, false)?))
    }

    fn rows_ended_by(&mut self, gid: i64, version: i64) -> StoreResult<Vec<EntityRow>> {
        let rows = self.rows(
            &format!(
                "SELECT {ENTITY_COLUMNS} FROM entities INDEXED BY entities_to WHERE gid = ?1 AND kind <> 1 AND to_version IS NOT NULL AND to_version <= ?2
                 UNION ALL
                 SELECT {ENTITY_COLUMNS} FROM entities WHERE gid = ?1 AND kind = 1 AND key = '' AND dup = 0 AND to_version <= ?2"
            ),
            params![gid, version],
        )?;
        entity_patch::whole_rows(self, gid, rows, false)
    }

    fn all_rows(&mut self, gid: i64) -> StoreResult<Vec<EntityRow>> {
        let rows = self.rows(&format!("SELECT {ENTITY_COLUMNS} FROM entities WHERE gid = ?1"), [gid])?;
        Ok(entity_patch::rows_to_verify(rows))
    }

    fn newer_rows(&mut self, gid: i64, parts: &[(Kind, String, i64, i64)]) -> StoreResult<Vec<EntityRow>> {
        // One seek per part on the primary key (gid, kind, key, dup,
        // from_version), the kind in the statement (see `with_kind`). One
        // statement serves all parts of a kind: a cached statement handed
        // back after each part had its bindings cleared, which made SQLite
        // prepare it again for the next (the range on `from_version` marks
        // it as depending on bound values): 30 ms for 1,000 parts, 7 held.
        let mut out = Vec::new();
        for kind in [Kind::Root, Kind::Metadata, Kind::Node, Kind::Edge] {
            let mut of_kind = parts.iter().filter(|p| p.0 == kind).peekable();
            if of_kind.peek().is_none() {
                continue;
            }
            let mut stmt = self.0.prepare_cached(&format!(
                "SELECT {ENTITY_COLUMNS} FROM entities WHERE gid = ?1 AND kind = {} AND key = ?2 AND dup = ?3 AND from_version >= ?4
                 ORDER BY from_version LIMIT {}",
                kind as i64,
                entity_patch::MAX_DEPTH
            ))?;
            for (_, key, dup, since) in of_kind {
                for row in stmt.query_map(params![gid, key, dup, since], entity)? {
                    out.push(row?);
                }
            }
        }
        Ok(out)
    }

    fn patch_depth(&mut self, gid: i64, kind: Kind, key: &str, dup: i64, version: i64) -> StoreResult<u32> {
        // The part's row before its current one (which starts at `version`):
        // its second newest, found without a range on a bound value, which
        // would make SQLite prepare the statement again at every call (see
        // `newer_rows`); the kind in the statement (see `with_kind`).
        let before: Option<(Option<i64>, String)> = self
            .0
            .prepare_cached(&format!(
                "SELECT to_version, CASE typeof(body) WHEN 'blob' THEN body ELSE substr(body, 1, 12) END FROM entities
                 WHERE gid = ?1 AND kind = {} AND key = ?2 AND dup = ?3
                 ORDER BY from_version DESC LIMIT 1 OFFSET 1",
                kind as i64
            ))?
            .query_row(params![gid, key, dup], |r| Ok((r.get(0)?, body_at(r, 1)?)))
            .optional()?;
        Ok(before.filter(|(to, _)| *to == Some(version)).map_or(0, |(_, head)| entity_patch::depth(&head)))
    }

    fn stored_ends(&mut self, _gid: i64) -> StoreResult<StoredEnds> {
        // Indexed from the bodies: nothing kept beside them.
        Ok(HashMap::new())
    }

    fn blob(&mut self, gid: i64, hash: &str) -> StoreResult<Option<String>> {
        let data: Option<Vec<u8>> = self
            .0
            .prepare_cached("SELECT data FROM blobs WHERE gid = ?1 AND hash = ?2")?
            .query_row(params![gid, hash_bytes(hash)], |r| r.get(0))
            .optional()?;
        Ok(data.as_deref().and_then(decompress))
    }

    fn blob_hashes(&mut self, gid: i64) -> StoreResult<Vec<String>> {
        let mut stmt = self.0.prepare("SELECT hash FROM blobs WHERE gid = ?1")?;
        Ok(stmt.query_map([gid], |r| r.get::<_, Vec<u8>>(0).map(|b| crate::entity::hex(&b)))?.collect::<rusqlite::Result<_>>()?)
    }

    fn version(&mut self, graph_id: &str, version: i64) -> StoreResult<Option<VersionRow>> {
        Ok(self
            .0
            .prepare_cached(&format!("SELECT {VERSION_COLUMNS} FROM versions WHERE graph_id = ?1 AND version = ?2"))?
            .query_row(params![graph_id, version], version_row)
            .optional()?)
    }

    fn by_idempotency_key(&mut self, graph_id: &str, key: &str) -> StoreResult<Option<KeyUse>> {
        Ok(self
            .0
            .prepare_cached("SELECT version, user, request_hash FROM versions WHERE graph_id = ?1 AND idempotency_key = ?2")?
            .query_row(params![graph_id, stored_key(key)], |r| {
                Ok(KeyUse { version: r.get(0)?, user: r.get(1)?, request_hash: digest_at(r, 2)? })
            })
            .optional()?)
    }

    fn owner(&mut self, graph_id: &str) -> StoreResult<Option<String>> {
        Ok(self.0.prepare_cached("SELECT owner FROM graphs WHERE graph_id = ?1")?.query_row([graph_id], |r| r.get(0)).optional()?)
    }

    fn grants(&mut self, graph_id: &str) -> StoreResult<Vec<Grant>> {
        let mut stmt =
            self.0.prepare_cached("SELECT member, role, granted_by, granted_at FROM graph_access WHERE graph_id = ?1 ORDER BY member")?;
        let rows =
            stmt.query_map([graph_id], |r| Ok(Grant { user: r.get(0)?, role: r.get(1)?, granted_by: r.get(2)?, granted_at: r.get(3)? }))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn granted_to(&mut self, user: &str) -> StoreResult<Vec<(String, String)>> {
        let mut stmt = self.0.prepare_cached("SELECT graph_id, role FROM graph_access WHERE member = ?1")?;
        Ok(stmt.query_map([user], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?)
    }

    fn owned_by(&mut self, user: &str) -> StoreResult<Vec<String>> {
        let mut stmt = self.0.prepare_cached("SELECT graph_id FROM graphs WHERE owner = ?1")?;
        Ok(stmt.query_map([user], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?)
    }

    fn all_versions(&mut self, graph_id: &str) -> StoreResult<Vec<VersionRow>> {
        self.versions(&format!("SELECT {VERSION_COLUMNS} FROM versions WHERE graph_id = ?1 ORDER BY version"), [graph_id])
    }

    fn history(&mut self, graph_id: &str) -> StoreResult<Vec<VersionRow>> {
        self.versions(&format!("SELECT {VERSION_COLUMNS_NO_GRAPH} FROM versions WHERE graph_id = ?1 ORDER BY version DESC"), [graph_id])
    }

    fn digestless_before(&mut self, cutoff: &str, limit: i64) -> StoreResult<Vec<VersionRow>> {
        self.versions(
            &format!(
                "SELECT {} FROM version_rows v INDEXED BY versions_saved_at JOIN graphs g ON g.gid = v.gid
                 WHERE v.saved_at < ?1 AND v.scheme >= 3 AND v.audit_expired = 0 AND v.record_digest IS NULL LIMIT ?2",
                ROWS_COLUMNS_NO_GRAPH.as_str()
            ),
            params![stored_time(cutoff), limit],
        )
    }

    fn audit(&mut self, graph_id: &str, gid: Option<i64>, filter: &AuditFilter) -> StoreResult<(i64, Vec<VersionRow>)> {
        let condition = "graph_id = ?1
            AND (?2 IS NULL OR version IN (
                SELECT from_version FROM entities WHERE gid = ?7 AND kind = 2 AND key = ?2
                UNION SELECT to_version FROM entities WHERE gid = ?7 AND kind = 2 AND key = ?2 AND to_version IS NOT NULL
                UNION SELECT version FROM version_nodes n WHERE n.graph_id = ?1 AND n.node_id = ?2))
            AND (?3 IS NULL OR user = ?3)
            AND (?4 IS NULL OR run_id = ?4)
            AND (?8 IS NULL OR saved_at >= ?8)
            AND (?9 IS NULL OR saved_at < ?9)";
        let (from, to) = (filter.from.as_deref().map(stored_time), filter.to.as_deref().map(stored_time));
        let args = params![graph_id, filter.node_id, filter.user, filter.run_id, filter.limit, filter.offset, gid, from, to];
        // Both statements take all nine parameters: SQLite counts them up to
        // the highest index used (?9), so the count binds ?5 and ?6 unused.
        let total = self.0.query_row(&format!("SELECT COUNT(*) FROM versions WHERE {condition}"), args, |r| r.get(0))?;
        let rows = self.versions(
            &format!("SELECT {VERSION_COLUMNS_NO_GRAPH} FROM versions WHERE {condition} ORDER BY version DESC LIMIT ?5 OFFSET ?6"),
            args,
        )?;
        Ok((total, rows))
    }

    fn pruned_leaves(&mut self, graph_id: &str) -> StoreResult<HashMap<i64, Vec<String>>> {
        let mut out: HashMap<i64, Vec<String>> = HashMap::new();
        let mut stmt = self.0.prepare_cached("SELECT version, leaf FROM pruned_leaves WHERE graph_id = ?1")?;
        for row in stmt.query_map([graph_id], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))? {
            let (version, leaf) = row?;
            out.entry(version).or_default().push(leaf);
        }
        Ok(out)
    }

    fn sweep_counters(&mut self, gid: i64) -> StoreResult<(i64, i64)> {
        Ok(self.0.query_row("SELECT swept_rows, nodes FROM graphs WHERE gid = ?1", [gid], |r| Ok((r.get(0)?, r.get(1)?)))?)
    }

    fn entity_history(&mut self, gid: i64, kind: Kind, key: &str) -> StoreResult<Vec<EntityRow>> {
        // The primary key (gid, kind, key, dup, from_version) is the index.
        let rows = self.rows(
            &with_kind(
                &format!("SELECT {ENTITY_COLUMNS} FROM entities WHERE gid = ?1 AND kind = ?2 AND key = ?3 ORDER BY dup, from_version"),
                kind,
            ),
            params![gid, kind as i64, key],
        )?;
        entity_patch::whole_rows(self, gid, rows, true)
    }

    fn versions_in(&mut self, graph_id: &str, versions: &[i64]) -> StoreResult<Vec<VersionRow>> {
        let list = serde_json::to_string(versions).unwrap_or_else(|_| "[]".to_owned());
        self.versions(
            &format!(
                "SELECT {VERSION_COLUMNS_NO_GRAPH} FROM versions WHERE graph_id = ?1 AND version IN (SELECT value FROM json_each(?2)) ORDER BY version"
            ),
            params![graph_id, list],
        )
    }

    fn run_versions(&mut self, run_id: &str) -> StoreResult<Vec<GraphVersion>> {
        let mut stmt = self.0.prepare_cached(&format!(
            "SELECT g.gid, {} FROM version_rows v INDEXED BY versions_run JOIN graphs g ON g.gid = v.gid
             WHERE v.run_id = ?1 ORDER BY v.saved_at, g.graph_id, v.version",
            ROWS_COLUMNS_NO_GRAPH.as_str()
        ))?;
        let rows = stmt.query_map([run_id], graph_version)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn export_page(&mut self, f: &ExportFilter, after: (&str, i64), limit: i64) -> StoreResult<Vec<GraphVersion>> {
        let mut stmt = self.0.prepare_cached(&format!(
            "SELECT g.gid, {V_COLUMNS_NO_GRAPH} FROM versions v JOIN graphs g ON g.graph_id = v.graph_id
             WHERE (?1 IS NULL OR v.graph_id = ?1)
               AND (?3 IS NULL OR v.user = ?3)
               AND (?4 IS NULL OR v.run_id = ?4)
               AND (?5 IS NULL OR v.saved_at >= ?5)
               AND (?6 IS NULL OR v.saved_at < ?6)
               AND (?2 IS NULL OR EXISTS (SELECT 1 FROM entities e WHERE e.gid = g.gid AND e.kind = 2 AND e.key = ?2
                                          AND (e.from_version = v.version OR e.to_version = v.version)))
               AND (v.graph_id, v.version) > (?7, ?8)
             ORDER BY v.graph_id, v.version LIMIT ?9"
        ))?;
        let (from, to) = (f.from.as_deref().map(stored_time), f.to.as_deref().map(stored_time));
        let rows = stmt.query_map(params![f.graph_id, f.node_id, f.user, f.run_id, from, to, after.0, after.1, limit], graph_version)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn pseudonym(&mut self, person: &str) -> StoreResult<Option<String>> {
        Ok(self.0.prepare_cached("SELECT pseudonym FROM people WHERE person = ?1")?.query_row([person], |r| r.get(0)).optional()?)
    }

    fn pseudonyms(&mut self) -> StoreResult<HashMap<String, String>> {
        let mut stmt = self.0.prepare_cached("SELECT person, pseudonym FROM people WHERE person IS NOT NULL")?;
        Ok(stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?)
    }

    fn events(&mut self) -> StoreResult<Vec<Event>> {
        let mut stmt = self.0.prepare_cached("SELECT seq, at, kind, actor, detail, hash FROM events ORDER BY seq")?;
        let rows = stmt.query_map([], |r| {
            Ok(Event { seq: r.get(0)?, at: r.get(1)?, kind: r.get(2)?, actor: r.get(3)?, detail: r.get(4)?, hash: r.get(5)? })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn parts_containing(&mut self, text: &str) -> StoreResult<Vec<(i64, i64, EntityRow)>> {
        // Text is searched by SQL; a packed body (see `stored_ended`) here,
        // unpacked: an erasure must find the person in every byte stored.
        let mut stmt = self.0.prepare(
            "SELECT e.gid, v.scheme, e.kind, e.key, e.dup, e.from_version, e.to_version, e.ord, e.body
             FROM entities e JOIN graphs g ON g.gid = e.gid JOIN versions v ON v.graph_id = g.graph_id AND v.version = e.from_version
             WHERE typeof(e.body) = 'blob' OR instr(e.body, ?1) > 0",
        )?;
        let rows: Vec<(i64, i64, EntityRow)> = stmt
            .query_map([text], |r| Ok((r.get(0)?, r.get(1)?, entity_at(r, 2)?)))?
            .filter(|row| row.as_ref().map_or(true, |(_, _, row)| row.body.contains(text)))
            .collect::<rusqlite::Result<_>>()?;
        drop(stmt);
        entity_patch::whole_parts(self, rows)
    }

    fn old_versions_by(&mut self, person: &str) -> StoreResult<i64> {
        Ok(self.0.query_row("SELECT COUNT(*) FROM versions WHERE user = ?1 AND scheme < 3", [person], |r| r.get(0))?)
    }

    fn stats(&mut self) -> StoreResult<Stats> {
        Stats::count("PRAGMA user_version", "SELECT COALESCE(SUM(length(data)), 0) FROM blobs", |sql| {
            Ok(self.0.query_row(sql, [], |r| r.get(0))?)
        })
    }

    fn newest_saved_at(&mut self, n: i64) -> StoreResult<Option<String>> {
        Ok(self
            .0
            .query_row("SELECT saved_at FROM versions ORDER BY saved_at DESC LIMIT 1 OFFSET ?1", [n - 1], |r| time_at(r, 0))
            .optional()?)
    }

    fn database_version(&mut self) -> StoreResult<String> {
        Ok(format!("SQLite {}", rusqlite::version()))
    }

    fn decision_stats(&mut self, dims: &[Dim], span: Option<Span>, filter: &StatsFilter) -> StoreResult<Vec<DayStats>> {
        crate::decisions_sqlite::stats(self.0, dims, span, filter)
    }
}

fn graph_version(r: &rusqlite::Row<'_>) -> rusqlite::Result<GraphVersion> {
    Ok(GraphVersion { gid: r.get(0)?, row: version_row_at(r, 1)? })
}

impl Writer for SqliteConn<'_> {
    fn lock_graph(&mut self, _graph_id: &str) -> StoreResult<()> {
        // BEGIN IMMEDIATE: this transaction is the only writer.
        Ok(())
    }

    fn insert_graph(&mut self, graph_id: &str, s: &GraphSummary, hash: &str) -> StoreResult<i64> {
        self.0
            .prepare_cached(
                "INSERT INTO graphs (graph_id, head_version, head_hash, title, nodes, saved_at, saved_by, owner) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
            )?
            .execute(params![graph_id, s.version, hash, s.title, s.nodes, s.saved_at, s.saved_by])?;
        Ok(self.0.last_insert_rowid())
    }

    fn update_graph(&mut self, gid: i64, s: &GraphSummary, hash: &str) -> StoreResult<()> {
        self.0
            .prepare_cached(
                "UPDATE graphs SET head_version = ?2, head_hash = ?3, title = ?4, nodes = ?5, saved_at = ?6, saved_by = ?7 WHERE gid = ?1",
            )?
            .execute(params![gid, s.version, hash, s.title, s.nodes, s.saved_at, s.saved_by])?;
        Ok(())
    }

    fn set_swept_rows(&mut self, gid: i64, rows: i64) -> StoreResult<()> {
        self.0.execute("UPDATE graphs SET swept_rows = ?2 WHERE gid = ?1", params![gid, rows])?;
        Ok(())
    }

    fn insert_entity(&mut self, gid: i64, row: &EntityRow) -> StoreResult<()> {
        self.0.prepare_cached(INSERT_ENTITY)?.execute(params![
            gid,
            row.kind as i64,
            row.key,
            row.dup,
            row.from_version,
            row.to_version,
            row.ord,
            row.body
        ])?;
        Ok(())
    }

    fn close_entity(&mut self, gid: i64, kind: Kind, key: &str, dup: i64, version: i64, patch: Option<&str>) -> StoreResult<bool> {
        let patch = patch.map(stored_ended);
        let n = self.0.prepare_cached(&with_kind(END_CURRENT_ROW, kind))?.execute(params![gid, kind as i64, key, dup, version, patch])?;
        Ok(n == 1)
    }

    fn replace_entity(&mut self, gid: i64, old: &EntityRow, new: &EntityRow, patch: Option<&str>) -> StoreResult<bool> {
        // The new row goes into the old one's cell (same rowid, so the same
        // page, where its body mostly fits) and the ended row, usually a
        // small patch, is added at the end of the table. Ending the old row
        // in place and adding the new one would shrink a cell in an old,
        // full page (space later rows never reuse: SQLite appends by rowid)
        // and write the whole new row at the end: 243 B more per one-label
        // version, measured.
        // `ord` is set only when it changes: SQLite rewrites the entry of
        // every index on a column the statement sets, whatever its value.
        let set = if new.ord == old.ord { "from_version = ?6, body = ?8" } else { "from_version = ?6, ord = ?7, body = ?8" };
        let n = self
            .0
            .prepare_cached(&with_kind(
                &format!(
                    "UPDATE entities SET {set}
                     WHERE gid = ?1 AND kind = ?2 AND key = ?3 AND dup = ?4 AND from_version = ?5 AND to_version IS NULL"
                ),
                old.kind,
            ))?
            .execute(params![gid, old.kind as i64, old.key, old.dup, old.from_version, new.from_version, new.ord, new.body])?;
        if n != 1 {
            return Ok(false);
        }
        self.0.prepare_cached(INSERT_ENTITY)?.execute(params![
            gid,
            old.kind as i64,
            old.key,
            old.dup,
            old.from_version,
            new.from_version,
            old.ord,
            stored_ended(patch.unwrap_or(&old.body))
        ])?;
        Ok(true)
    }

    fn delete_entity(&mut self, gid: i64, row: &EntityRow) -> StoreResult<()> {
        self.0
            .prepare_cached(&with_kind(
                "DELETE FROM entities WHERE gid = ?1 AND kind = ?2 AND key = ?3 AND dup = ?4 AND from_version = ?5",
                row.kind,
            ))?
            .execute(params![gid, row.kind as i64, row.key, row.dup, row.from_version])?;
        Ok(())
    }

    fn insert_blob(&mut self, gid: i64, hash: &str, text: &str) -> StoreResult<()> {
        self.0.prepare_cached("INSERT OR IGNORE INTO blobs (gid, hash, data) VALUES (?1, ?2, ?3)")?.execute(params![
            gid,
            hash_bytes(hash),
            compress(text)
        ])?;
        Ok(())
    }

    fn delete_blob(&mut self, gid: i64, hash: &str) -> StoreResult<()> {
        self.0.prepare_cached("DELETE FROM blobs WHERE gid = ?1 AND hash = ?2")?.execute(params![gid, hash_bytes(hash)])?;
        Ok(())
    }

    fn put_grant(&mut self, graph_id: &str, g: &Grant) -> StoreResult<()> {
        self.0
            .prepare_cached(
                "INSERT INTO graph_access (graph_id, member, role, granted_by, granted_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (graph_id, member) DO UPDATE SET role = excluded.role, granted_by = excluded.granted_by, granted_at = excluded.granted_at",
            )?
            .execute(params![graph_id, g.user, g.role, g.granted_by, g.granted_at])?;
        Ok(())
    }

    fn delete_grant(&mut self, graph_id: &str, user: &str) -> StoreResult<bool> {
        Ok(self.0.prepare_cached("DELETE FROM graph_access WHERE graph_id = ?1 AND member = ?2")?.execute(params![graph_id, user])? > 0)
    }

    fn insert_version(&mut self, v: &VersionRow, request_hash: Option<&str>) -> StoreResult<()> {
        self.0
            .prepare_cached(&format!(
                "INSERT INTO versions ({VERSION_COLUMNS}, request_hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"
            ))?
            .execute(params![
                v.graph_id,
                v.version,
                stored_time(&v.saved_at),
                v.user,
                v.source,
                v.reason,
                v.run_id,
                v.idempotency_key.as_deref().map(stored_key),
                v.graph_json,
                stored_packed(v.record_to_write()?, Dictionary::Record),
                v.prev_hash,
                stored_digest(&v.hash),
                v.scheme,
                v.pruned,
                v.record_digest.as_deref().map(stored_digest),
                v.audit_expired,
                request_hash.map(stored_fingerprint)
            ])?;
        Ok(())
    }

    fn mark_pruned(&mut self, graph_id: &str, cutoff: i64) -> StoreResult<()> {
        self.0
            .prepare_cached(
                "UPDATE version_rows SET pruned = 1, graph_json = NULL
                 WHERE gid = (SELECT gid FROM graphs WHERE graph_id = ?1) AND version <= ?2 AND pruned = 0",
            )?
            .execute(params![graph_id, cutoff])?;
        Ok(())
    }

    fn headless_graphs(&mut self) -> StoreResult<Vec<String>> {
        let mut stmt = self.0.prepare_cached(
            "SELECT DISTINCT graph_id FROM versions WHERE graph_id NOT IN (SELECT graph_id FROM graphs) ORDER BY graph_id",
        )?;
        Ok(stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?)
    }

    fn mark_version_pruned(&mut self, graph_id: &str, version: i64) -> StoreResult<()> {
        self.0
            .prepare_cached("UPDATE versions SET pruned = 1 WHERE graph_id = ?1 AND version = ?2")?
            .execute(params![graph_id, version])?;
        Ok(())
    }

    fn drop_snapshot(&mut self, graph_id: &str, version: i64) -> StoreResult<()> {
        self.0
            .prepare_cached("UPDATE versions SET graph_json = NULL WHERE graph_id = ?1 AND version = ?2")?
            .execute(params![graph_id, version])?;
        Ok(())
    }

    fn insert_pruned_leaf(&mut self, graph_id: &str, version: i64, leaf: &str) -> StoreResult<()> {
        self.0
            .prepare_cached("INSERT INTO pruned_leaves (graph_id, version, leaf) VALUES (?1, ?2, ?3)")?
            .execute(params![graph_id, version, leaf])?;
        Ok(())
    }

    fn insert_pseudonym(&mut self, person: &str, pseudonym: &str, at: &str) -> StoreResult<()> {
        self.0
            .prepare_cached("INSERT OR IGNORE INTO people (pseudonym, person, first_seen) VALUES (?1, ?2, ?3)")?
            .execute(params![pseudonym, person, at])?;
        Ok(())
    }

    fn erase_person(&mut self, person: &str, pseudonym: &str, at: &str) -> StoreResult<Erased> {
        let versions = self.0.execute("UPDATE version_rows SET user = ?2 WHERE user = ?1", params![person, pseudonym])? as u64;
        let graphs = self.0.execute(
            "UPDATE graphs SET saved_by = CASE WHEN saved_by = ?1 THEN ?2 ELSE saved_by END,
                               owner = CASE WHEN owner = ?1 THEN ?2 ELSE owner END
             WHERE saved_by = ?1 OR owner = ?1",
            params![person, pseudonym],
        )? as u64;
        let grants = self.0.execute("UPDATE graph_access SET member = ?2 WHERE member = ?1", params![person, pseudonym])?
            + self.0.execute("UPDATE graph_access SET granted_by = ?2 WHERE granted_by = ?1", params![person, pseudonym])?;
        self.0.execute(
            "UPDATE people SET person = NULL, erased_at = ?3 WHERE pseudonym = ?2 AND person = ?1",
            params![person, pseudonym, at],
        )?;
        crate::decisions_sqlite::rename_user(self.0, person, pseudonym)?;
        Ok(Erased { versions, parts: 0, graphs, grants: grants as u64 })
    }

    fn set_body(&mut self, gid: i64, row: &EntityRow, body: &str) -> StoreResult<()> {
        self.0
            .prepare_cached(&with_kind(
                "UPDATE entities SET body = ?6 WHERE gid = ?1 AND kind = ?2 AND key = ?3 AND dup = ?4 AND from_version = ?5",
                row.kind,
            ))?
            .execute(params![gid, row.kind as i64, row.key, row.dup, row.from_version, body])?;
        Ok(())
    }

    fn expire_audit(&mut self, cutoff: &str) -> StoreResult<u64> {
        crate::decisions_sqlite::expire(self.0, cutoff)?;
        let n = self.0.execute(
            "UPDATE version_rows SET audit_expired = 1, user = '', source = '', reason = NULL, run_id = NULL, idempotency_key = NULL,
                 audit_json = '{}', request_hash = NULL
             WHERE scheme >= 3 AND audit_expired = 0 AND saved_at < ?1",
            [stored_time(cutoff)],
        )?;
        // The head names who saved the newest version too (the listing's updatedBy).
        self.0.execute(
            "UPDATE graphs SET saved_by = '' WHERE saved_by <> '' AND EXISTS (SELECT 1 FROM version_rows v
                 WHERE v.gid = graphs.gid AND v.version = graphs.head_version AND v.audit_expired = 1)",
            [],
        )?;
        Ok(n as u64)
    }

    fn keep_record_digest(&mut self, graph_id: &str, version: i64, digest: &str) -> StoreResult<()> {
        self.0
            .prepare_cached(
                "UPDATE version_rows SET record_digest = ?3 WHERE gid = (SELECT gid FROM graphs WHERE graph_id = ?1) AND version = ?2",
            )?
            .execute(params![graph_id, version, stored_digest(digest)])?;
        Ok(())
    }

    fn append_event(&mut self, e: &Event) -> StoreResult<()> {
        self.0.execute(
            "INSERT INTO events (seq, at, kind, actor, detail, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![e.seq, e.at, e.kind, e.actor, e.detail, e.hash],
        )?;
        Ok(())
    }

    fn insert_decisions(&mut self, approval: &Approval, rows: &[Decided]) -> StoreResult<()> {
        crate::decisions_sqlite::insert(self.0, approval, rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plan SQLite picks for `sql` (each kind written in, as the store runs it).
    fn plans(store: &SqliteStore, sql: &str) -> Vec<String> {
        let conn = store.writer.lock().unwrap();
        [Kind::Metadata, Kind::Node, Kind::Edge]
            .iter()
            .map(|&kind| {
                let explain = format!("EXPLAIN QUERY PLAN {}", with_kind(sql, kind));
                let mut stmt = conn.prepare(&explain).unwrap();
                // Unbound parameters are NULL: the plan does not depend on them.
                let mut rows = stmt.raw_query();
                let mut details = Vec::new();
                while let Some(row) = rows.next().unwrap() {
                    details.push(row.get::<_, String>(3).unwrap());
                }
                details.join("; ")
            })
            .collect()
    }

    /// A part's current row is found through `entities_current`, whatever
    /// its kind: through the primary key a save read every older row of the
    /// part (every version ends a metadata row), so a graph's saves got
    /// dearer with its age (issue 28: 1.00 -> 1.40 ms of CPU per one-label
    /// save from its 100th to its 2,000th version).
    #[test]
    fn a_parts_current_row_is_found_by_key_not_through_its_history() {
        let store = SqliteStore::open_in_memory(&crate::NoUpgrade).unwrap();
        for sql in [CURRENT_ROWS.as_str(), END_CURRENT_ROW] {
            for plan in plans(&store, sql) {
                assert!(plan.contains("USING INDEX entities_current"), "{sql}: {plan}");
            }
        }
    }
}
