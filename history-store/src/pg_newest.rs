//! PostgreSQL: a graph's newest version as one statement, outside any
//! transaction.
//!
//! One statement sees one state of the database, so a read whose only
//! statement this is needs no transaction: `BEGIN` and `ROLLBACK` cost
//! PostgreSQL more than reading a 12-node graph itself (pgbench, pipelined:
//! about 0.19 ms for the transaction with its two statements, where SQLite's
//! whole read takes 0.13 ms). So the head, the current rows and the blobs
//! the graph's previous read needed come in one statement ([`NEWEST`]); the
//! head travels as one JSON text, so the answer keeps the rows' eight
//! columns (28 columns, mostly NULL, would add 80 bytes to each row of a
//! 1,000-node graph's 3,000).
//!
//! When the rows refer to a blob the guess lacks (the graph's first read in
//! this process, or a save since), the caller reads again in a REPEATABLE
//! READ transaction, as before: a second statement could see a later state.

use serde::Deserialize;
use tokio_postgres::Row;

use crate::pg_text::{dec, dec_opt};
use crate::{Head, VersionRow};

/// The head (as JSON, in `body`), the current rows and the guessed blobs
/// (`$2`), told apart by their columns: the head's `kind` and `data` are
/// NULL, a blob's `data` is not, a row's `kind` is not.
pub(crate) const NEWEST: &str = r#"WITH h AS (
        SELECT g.gid, g.head_version, g.head_hash, g.nodes, v.graph_id, v.version, v.saved_at, v."user", v.source, v.reason,
               v.run_id, v.idempotency_key, v.graph_json, encode(v.audit_json, 'hex') AS audit_json, v.prev_hash, encode(v.hash, 'hex') AS hash, v.scheme, v.pruned,
               encode(v.record_digest, 'hex') AS record_digest, v.audit_expired
        FROM graphs g JOIN versions v ON v.graph_id = g.graph_id AND v.version = g.head_version WHERE g.graph_id = $1)
    SELECT NULL::bigint, NULL::text, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, row_to_json(h)::text, NULL::bytea FROM h
    UNION ALL
    SELECT kind, key, dup, from_version, to_version, ord, body, NULL FROM entities
    WHERE gid = (SELECT gid FROM h) AND to_version IS NULL
    UNION ALL
    SELECT NULL, NULL, NULL, NULL, NULL, NULL, encode(hash, 'hex'), data FROM blobs
    WHERE gid = (SELECT gid FROM h) AND hash = ANY($2)"#;

/// The head row of [`NEWEST`], as `row_to_json` writes it (text as stored,
/// decoded here as every other read decodes it).
#[derive(Deserialize)]
struct HeadJson {
    gid: i64,
    head_version: i64,
    head_hash: String,
    nodes: i64,
    graph_id: String,
    version: i64,
    saved_at: String,
    user: String,
    source: String,
    reason: Option<String>,
    run_id: Option<String>,
    idempotency_key: Option<String>,
    graph_json: Option<String>,
    audit_json: String,
    prev_hash: String,
    hash: String,
    scheme: i64,
    pruned: bool,
    record_digest: Option<String>,
    audit_expired: bool,
}

/// Whether a row of [`NEWEST`]'s answer is its head.
pub(crate) fn is_head(row: &Row) -> bool {
    row.get::<_, Option<i64>>(0).is_none() && row.get::<_, Option<&[u8]>>(7).is_none()
}

/// The head and the version row from [`NEWEST`]'s head row.
pub(crate) fn head_of(row: &Row) -> Result<(Head, VersionRow), String> {
    let h: HeadJson = serde_json::from_str(row.get(6)).map_err(|e| format!("newest version's head: {e}"))?;
    let head = Head { gid: h.gid, version: h.head_version, hash: h.head_hash, nodes: h.nodes };
    let version = VersionRow {
        graph_id: dec(h.graph_id),
        version: h.version,
        saved_at: h.saved_at,
        user: dec(h.user),
        source: dec(h.source),
        reason: dec_opt(h.reason),
        run_id: dec_opt(h.run_id),
        idempotency_key: dec_opt(h.idempotency_key),
        graph_json: h.graph_json,
        audit_json: crate::record_of_bytes(&crate::hash_bytes(&h.audit_json)),
        prev_hash: h.prev_hash,
        hash: h.hash,
        scheme: h.scheme,
        pruned: h.pruned,
        record_digest: h.record_digest,
        audit_expired: h.audit_expired,
    };
    Ok((head, version))
}
