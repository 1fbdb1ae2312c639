//! Migration 2: from one whole snapshot per version to the rows each
//! version changed (see [`crate::store`]).
//!
//! Each graph's snapshots are replayed oldest first through the same
//! comparison a whole-graph save uses, so every old version becomes the rows
//! it changed. A version is then read back from its rows and compared with
//! its snapshot byte for byte; only if they are equal is the snapshot
//! dropped (one that differs is kept and read as before, and logged). Old
//! versions keep their hash scheme, so their chain verifies as before, by
//! rebuilding each graph; new versions continue the chain.

use kg_approval::Graph;
use rusqlite::{Transaction, params};

use crate::store::sqlite::SqliteConn;
use crate::store::{Reader, StoreError, Writer};

use crate::read::assemble_graph;
use crate::save::compare;
use crate::store::{EntityRow, GraphSummary, SCHEMA_2};
use crate::write::title_of;

pub fn schema_2(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(SCHEMA_2)
}

/// Rebuilds the rows of every graph the first schema stored only as
/// snapshots. It runs after the last migration's tables exist (it writes
/// through the current store code), and only for graphs without a head, so
/// it converts each graph once.
pub fn convert_snapshots(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    let graph_ids: Vec<String> = tx
        .prepare("SELECT DISTINCT graph_id FROM versions WHERE graph_id NOT IN (SELECT graph_id FROM graphs) ORDER BY graph_id")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for graph_id in graph_ids {
        migrate_graph(tx, &graph_id)?;
    }
    Ok(())
}

fn migrate_graph(tx: &Transaction<'_>, graph_id: &str) -> rusqlite::Result<()> {
    let mut db = SqliteConn(tx);
    let versions = db.all_versions(graph_id).map_err(failed)?;
    let Some(last) = versions.last() else { return Ok(()) };
    let summary = GraphSummary {
        graph_id: graph_id.to_owned(),
        version: last.version,
        title: None,
        nodes: 0,
        saved_at: last.saved_at.clone(),
        saved_by: last.user.clone(),
    };
    let gid = db.insert_graph(graph_id, &summary, &last.hash).map_err(failed)?;
    let mut live: Vec<EntityRow> = Vec::new();
    let mut newest: Option<Graph> = None;
    for row in &versions {
        let Some(text) = &row.graph_json else {
            // Pruned by the first schema's retention: it stays unreadable.
            tx.execute("UPDATE versions SET pruned = 1 WHERE graph_id = ?1 AND version = ?2", params![graph_id, row.version])?;
            continue;
        };
        let graph = Graph::from_json(text).map_err(|e| conversion(graph_id, row.version, &e.to_string()))?;
        let changes = compare(&live, &graph, None, |hash| db.blob(gid, hash).ok().flatten())
            .map_err(|e| conversion(graph_id, row.version, &format!("{:?}", e.body())))?;
        for (hash, text) in &changes.blobs {
            db.insert_blob(gid, hash, text).map_err(failed)?;
        }
        for (kind, key, dup) in &changes.ends {
            db.close_entity(gid, *kind, key, *dup, row.version).map_err(failed)?;
            live.retain(|r| !(r.kind == *kind && r.key == *key && r.dup == *dup));
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
            db.insert_entity(gid, &new).map_err(failed)?;
            live.push(new);
        }
        live.sort_by_key(|r| (r.kind, r.ord));
        let rebuilt = assemble_graph(&live, |hash| db.blob(gid, hash).ok().flatten());
        if rebuilt.as_deref() == Ok(text.as_str()) {
            tx.execute("UPDATE versions SET graph_json = NULL WHERE graph_id = ?1 AND version = ?2", params![graph_id, row.version])?;
        } else {
            tracing::warn!(graph = graph_id, version = row.version, "kept the snapshot: its rows do not rebuild it byte for byte");
        }
        newest = Some(graph);
    }
    if let Some(graph) = newest {
        let summary = GraphSummary { title: title_of(graph.metadata()), nodes: graph.nodes().len() as i64, ..summary };
        db.update_graph(gid, &summary, &last.hash).map_err(failed)?;
    }
    Ok(())
}

fn conversion(graph_id: &str, version: i64, why: &str) -> rusqlite::Error {
    failed(StoreError::Failed(format!("migrating version {version} of {graph_id}: {why}")))
}

fn failed(e: StoreError) -> rusqlite::Error {
    let code = rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR);
    rusqlite::Error::SqliteFailure(code, Some(e.to_string()))
}
