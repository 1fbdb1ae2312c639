//! `--keep-versions N`: only the newest N versions stay readable whole.
//!
//! Older versions keep their row in `versions` (who, when, why, the hash
//! chain) and answer 410 when read. The rows only they could show are
//! deleted, and their blobs once nothing refers to them any more. So that
//! the chain still verifies, each deleted row leaves its leaf (32 bytes of
//! hash, hex) in `pruned_leaves` under the version it belonged to.

use std::collections::HashSet;

use crate::chain::{end_leaf, put_leaf};
use crate::entity;
use crate::store::{StoreResult, Writer};

/// Prunes the versions older than the newest `keep` of a graph whose newest
/// version is `newest`.
pub fn prune(tx: &mut dyn Writer, graph_id: &str, gid: i64, newest: i64, keep: i64) -> StoreResult<()> {
    let cutoff = newest - keep;
    if cutoff < 1 {
        return Ok(());
    }
    tx.mark_pruned(graph_id, cutoff)?;
    // Rows that ended at or before the oldest kept version are visible in no
    // kept version.
    let doomed = tx.rows_ended_by(gid, cutoff + 1)?;
    if doomed.is_empty() {
        return Ok(());
    }
    for row in &doomed {
        tx.insert_pruned_leaf(graph_id, row.from_version, &put_leaf(row))?;
        if let Some(to) = row.to_version {
            tx.insert_pruned_leaf(graph_id, to, &end_leaf(row.kind, &row.key, row.dup))?;
        }
        tx.delete_entity(gid, row)?;
    }
    // Blobs are swept once the deleted rows outnumber the graph's nodes, so
    // the sweep (which reads every remaining row) costs O(1) per deleted row.
    let (swept, nodes) = tx.sweep_counters(gid)?;
    let swept = swept + doomed.len() as i64;
    if swept < nodes.max(256) {
        return tx.set_swept_rows(gid, swept);
    }
    let mut referenced = HashSet::new();
    for row in tx.all_rows(gid)? {
        referenced.extend(entity::references(&row.body).unwrap_or_default());
    }
    for hash in tx.blob_hashes(gid)?.iter().filter(|h| !referenced.contains(*h)) {
        tx.delete_blob(gid, hash)?;
    }
    tx.set_swept_rows(gid, 0)
}
