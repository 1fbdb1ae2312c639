//! `--keep-versions N`: only the newest N versions stay readable whole.
//!
//! Older versions keep their row in `versions` (who, when, why, the hash
//! chain) and answer 410 when read. The rows only they could show are
//! deleted, and their blobs once nothing refers to them any more. So that
//! the chain still verifies, each deleted row leaves its leaf (32 bytes of
//! hash, hex) in `pruned_leaves` under the version it belonged to.

use std::collections::HashSet;

use rusqlite::{Transaction, params};

use crate::chain::{end_leaf, put_leaf};
use crate::entity;
use crate::store;

/// Prunes the versions older than the newest `keep` of a graph whose newest
/// version is `newest`.
pub fn prune(tx: &Transaction<'_>, graph_id: &str, gid: i64, newest: i64, keep: i64) -> rusqlite::Result<()> {
    let cutoff = newest - keep;
    if cutoff < 1 {
        return Ok(());
    }
    tx.prepare_cached("UPDATE versions SET pruned = 1, graph_json = NULL WHERE graph_id = ?1 AND version <= ?2 AND pruned = 0")?
        .execute(params![graph_id, cutoff])?;
    // Rows that ended at or before the oldest kept version are visible in no
    // kept version.
    let doomed = store::rows_ended_by(tx, gid, cutoff + 1)?;
    if doomed.is_empty() {
        return Ok(());
    }
    let mut leaf = tx.prepare_cached("INSERT INTO pruned_leaves (graph_id, version, leaf) VALUES (?1, ?2, ?3)")?;
    let mut delete =
        tx.prepare_cached("DELETE FROM entities WHERE gid = ?1 AND kind = ?2 AND key = ?3 AND dup = ?4 AND from_version = ?5")?;
    for row in &doomed {
        leaf.execute(params![graph_id, row.from_version, put_leaf(row)])?;
        if let Some(to) = row.to_version {
            leaf.execute(params![graph_id, to, end_leaf(row.kind, &row.key, row.dup)])?;
        }
        delete.execute(params![gid, row.kind as i64, row.key, row.dup, row.from_version])?;
    }
    // Blobs are swept once the deleted rows outnumber the graph's nodes, so
    // the sweep (which reads every remaining row) costs O(1) per deleted row.
    let (swept, nodes): (i64, i64) =
        tx.query_row("SELECT swept_rows, nodes FROM graphs WHERE gid = ?1", [gid], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let swept = swept + doomed.len() as i64;
    if swept < nodes.max(256) {
        tx.execute("UPDATE graphs SET swept_rows = ?2 WHERE gid = ?1", params![gid, swept])?;
        return Ok(());
    }
    let mut referenced = HashSet::new();
    for body in tx.prepare("SELECT body FROM entities WHERE gid = ?1")?.query_map([gid], |r| r.get::<_, String>(0))? {
        referenced.extend(entity::references(&body?).unwrap_or_default());
    }
    let hashes: Vec<String> =
        tx.prepare("SELECT hash FROM blobs WHERE gid = ?1")?.query_map([gid], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    let mut drop = tx.prepare_cached("DELETE FROM blobs WHERE gid = ?1 AND hash = ?2")?;
    for hash in hashes.iter().filter(|h| !referenced.contains(*h)) {
        drop.execute(params![gid, hash])?;
    }
    tx.execute("UPDATE graphs SET swept_rows = 0 WHERE gid = ?1", [gid])?;
    Ok(())
}
