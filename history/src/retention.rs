//! Retention. `--keep-versions N`: only the newest N versions stay
//! readable whole. `--keep-audit-days D`: audit records older than D days
//! are removed (see [`expire_audit`]).
//!
//! Older versions keep their row in `versions` (who, when, why, the hash
//! chain) and answer 410 when read. The rows only they could show are
//! deleted, and their blobs once nothing refers to them any more. So that
//! the chain still verifies, each deleted row leaves its leaf (32 bytes of
//! hash, hex) in `pruned_leaves` under the version it belonged to.

use std::collections::{HashMap, HashSet};

use crate::chain::{end_leaf, leaf_of, record_digest};
use crate::entity;
use crate::people::Pseudonyms;
use crate::store::{StoreError, StoreResult, Writer};

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
    // A row's leaf is that of the scheme of the version that wrote it.
    let names = Pseudonyms::from(tx.pseudonyms()?);
    let mut schemes: HashMap<i64, i64> = HashMap::new();
    for row in &doomed {
        let scheme = match schemes.get(&row.from_version) {
            Some(s) => *s,
            None => {
                let s = tx.version(graph_id, row.from_version)?.map_or(2, |v| v.scheme);
                schemes.insert(row.from_version, s);
                s
            }
        };
        let leaf = leaf_of(row, scheme, &names).map_err(StoreError::Failed)?;
        tx.insert_pruned_leaf(graph_id, row.from_version, &leaf)?;
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

/// `--keep-audit-days D`: removes the audit records of versions saved more
/// than `days` days before `now`.
///
/// What goes: who saved the version, its source, model, reason, run id,
/// approval and proposal ids, the accepted and rejected change ids, its
/// idempotency key and request fingerprint. What is kept forever: that the
/// version existed, its number and time, its place in the hash chain (its
/// hash and the digest of the removed record, so every chain still
/// verifies) and, unless `--keep-versions` prunes them, the changes it made
/// (the graph's content, stamps included, is the graph, not the audit).
/// Versions of hash schemes 1 and 2 hash their records directly and keep
/// them. Each run that removes something is recorded in the event log.
pub fn expire_audit(store: &crate::store::Store, days: i64, now: kg_approval::Timestamp) -> Result<u64, crate::error::HistoryError> {
    let cutoff = kg_approval::Timestamp::from_unix_millis(now.unix_millis() - days * 86_400_000)
        .map_err(|e| crate::error::HistoryError::Internal(e.to_string()))?
        .to_string();
    store.write(|tx| {
        keep_digests(tx, &cutoff)?;
        let expired = tx.expire_audit(&cutoff)?;
        if expired > 0 {
            let detail = serde_json::json!({ "savedBefore": cutoff, "versions": expired, "keepAuditDays": days });
            crate::events::append(tx, "audit-expiry", "server", &detail, &now.to_string())?;
        }
        Ok(expired)
    })
}

/// Stores the record digest of each version whose record is about to
/// expire: while a record is there its digest is implied by it and not
/// stored (issue 28: 33 B per version), but the chain needs it once the
/// record is gone. A record that cannot be read refuses the expiry (its
/// digest would be lost with it).
fn keep_digests(tx: &mut dyn Writer, cutoff: &str) -> StoreResult<()> {
    const BATCH: i64 = 500;
    let names = Pseudonyms::from(tx.pseudonyms()?);
    loop {
        let rows = tx.digestless_before(cutoff, BATCH)?;
        for row in &rows {
            let record = row
                .record()
                .map_err(|e| StoreError::Failed(format!("version {} of '{}' cannot expire: {e}", row.version, row.graph_id)))?;
            tx.keep_record_digest(&row.graph_id, row.version, &record_digest(&record, &names))?;
        }
        if (rows.len() as i64) < BATCH {
            return Ok(());
        }
    }
}
