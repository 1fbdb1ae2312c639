//! Converting the first schema's snapshots into rows: from one whole
//! snapshot per version to the rows each version changed (see
//! [`crate::store`]).
//!
//! Each graph's snapshots are replayed oldest first through the same
//! comparison a whole-graph save uses, so every old version becomes the rows
//! it changed. A version is then read back from its rows and compared with
//! its snapshot byte for byte; only if they are equal is the snapshot
//! dropped (one that differs is kept and read as before, and logged). Old
//! versions keep their hash scheme, so their chain verifies as before, by
//! rebuilding each graph; new versions continue the chain.
//!
//! It is the history's [`Upgrade`]: the storage layer runs it in the
//! transaction that migrates the schema to version 4, so a database is
//! converted whole or not at all, once.

use kg_approval::Graph;

use crate::assemble::assemble_graph;
use crate::save::compare;
use crate::store::{EntityRow, GraphSummary, StoreError, StoreResult, Upgrade, Writer};
use crate::write::title_of;

/// The schema version after which snapshots are converted.
const CONVERTED_AFTER: i64 = 4;

/// The history's [`Upgrade`]: converts the first schema's snapshots.
pub struct Snapshots;

impl Upgrade for Snapshots {
    fn after_schema(&self, schema: i64, db: &mut dyn Writer) -> StoreResult<()> {
        if schema != CONVERTED_AFTER {
            return Ok(());
        }
        for graph_id in db.headless_graphs()? {
            convert_graph(db, &graph_id)?;
        }
        Ok(())
    }

    /// The decisions of the versions saved before reports (issue 26).
    fn backfill_decisions(&self, db: &mut dyn Writer) -> StoreResult<()> {
        crate::stats::backfill(db)
    }
}

fn convert_graph(db: &mut dyn Writer, graph_id: &str) -> StoreResult<()> {
    let versions = db.all_versions(graph_id)?;
    let (Some(first), Some(last)) = (versions.first(), versions.last()) else { return Ok(()) };
    // The head is inserted with who saved version 1 (its owner), then
    // updated to the newest version's saver.
    let summary = GraphSummary {
        graph_id: graph_id.to_owned(),
        version: last.version,
        title: None,
        nodes: 0,
        saved_at: last.saved_at.clone(),
        saved_by: first.user.clone(),
    };
    let gid = db.insert_graph(graph_id, &summary, &last.hash)?;
    let mut live: Vec<EntityRow> = Vec::new();
    let mut newest: Option<Graph> = None;
    for row in &versions {
        let Some(text) = &row.graph_json else {
            // Pruned by the first schema's retention: it stays unreadable.
            db.mark_version_pruned(graph_id, row.version)?;
            continue;
        };
        let graph = Graph::from_json(text).map_err(|e| conversion(graph_id, row.version, &e.to_string()))?;
        let changes = compare(&live, &graph, None, |hash| db.blob(gid, hash).ok().flatten())
            .map_err(|e| conversion(graph_id, row.version, &e.to_string()))?;
        for (hash, text) in &changes.blobs {
            db.insert_blob(gid, hash, text)?;
        }
        let puts = changes.puts.iter().map(|p| (p.kind, p.key.as_str(), p.dup, p.body.as_str()));
        let endings = crate::write::endings(db, gid, &changes.ends, puts)?;
        for (end, ending) in changes.ends.iter().zip(endings) {
            db.close_entity(gid, end.kind, &end.key, end.dup, row.version, ending.patch.as_deref())?;
            live.retain(|r| !(r.kind == end.kind && r.key == end.key && r.dup == end.dup));
        }
        for put in changes.puts {
            let new = EntityRow {
                kind: put.kind,
                key: put.key,
                dup: put.dup,
                from_version: row.version,
                to_version: None,
                ord: put.ord,
                body: put.body,
            };
            db.insert_entity(gid, &new)?;
            live.push(new);
        }
        live.sort_by_key(|r| (r.kind, r.ord));
        let rebuilt = assemble_graph(&live, |hash| db.blob(gid, hash).ok().flatten());
        if rebuilt.as_deref() == Ok(text.as_str()) {
            db.drop_snapshot(graph_id, row.version)?;
        } else {
            tracing::warn!(graph = graph_id, version = row.version, "kept the snapshot: its rows do not rebuild it byte for byte");
        }
        newest = Some(graph);
    }
    if let Some(graph) = newest {
        let summary =
            GraphSummary { title: title_of(graph.metadata()), nodes: graph.nodes().len() as i64, saved_by: last.user.clone(), ..summary };
        db.update_graph(gid, &summary, &last.hash)?;
    }
    Ok(())
}

fn conversion(graph_id: &str, version: i64, why: &str) -> StoreError {
    StoreError::Failed(format!("migrating version {version} of {graph_id}: {why}"))
}
