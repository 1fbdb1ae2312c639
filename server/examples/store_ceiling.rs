//! The ceiling for the server benchmark: the rows a one-node save writes
//! (the node's new row and the end of its old one, the same for the
//! metadata, the version row and the graph's head), inserted straight into
//! the store with the server's own code (same schema and settings, one
//! transaction per version), in one process, without HTTP, parsing, checks
//! or hashing. On SQLite (a temporary file) or PostgreSQL (`--db URL`);
//! `--writers N` runs N such writers at once, each on its own graph.
//!
//! `cargo run --release -p kg-approval-server --example store_ceiling -- VERSIONS [--db URL] [--writers N]`

use std::time::Instant;

use kg_history::Store;
use kg_history::store::{EntityRow, GraphSummary, Kind, StoreError, VersionRow};

fn summary(graph_id: &str, version: i64) -> GraphSummary {
    GraphSummary {
        graph_id: graph_id.into(),
        version,
        title: Some("bench".into()),
        nodes: 12,
        saved_at: "2026-02-04T14:30:45.123Z".into(),
        saved_by: "bench".into(),
    }
}

fn row(kind: Kind, key: &str, version: i64, body: String) -> EntityRow {
    EntityRow { kind, key: key.into(), dup: 0, from_version: version, to_version: None, ord: 0, body }
}

fn node(version: i64) -> String {
    format!(
        r#"{{"id":"a","label":"label {version}","type":"fulltext","info":"\u0001{}","position":{{"x":1,"y":2}},"updatedBy":"bench"}}"#,
        "0".repeat(64)
    )
}

fn meta(version: i64) -> String {
    format!(r#"{{"title":"bench","version":{version},"updatedBy":"bench"}}"#)
}

/// One writer: `versions` versions of its own graph.
fn writer(store: &Store, graph_id: &str, versions: i64) -> Result<(), StoreError> {
    let gid = store.write(|tx| -> Result<i64, StoreError> {
        let gid = tx.insert_graph(graph_id, &summary(graph_id, 0), "")?;
        tx.insert_entity(gid, &row(Kind::Node, "a", 0, node(0)))?;
        tx.insert_entity(gid, &row(Kind::Metadata, "", 0, meta(0)))?;
        Ok(gid)
    })?;
    for version in 1..=versions {
        store.write(|tx| -> Result<(), StoreError> {
            tx.lock_graph(graph_id)?;
            tx.close_entity(gid, Kind::Node, "a", 0, version, None)?;
            tx.insert_entity(gid, &row(Kind::Node, "a", version, node(version)))?;
            tx.close_entity(gid, Kind::Metadata, "", 0, version, None)?;
            tx.insert_entity(gid, &row(Kind::Metadata, "", version, meta(version)))?;
            tx.insert_version(
                &VersionRow {
                    graph_id: graph_id.into(),
                    version,
                    saved_at: "2026-02-04T14:30:45.123Z".into(),
                    user: "bench".into(),
                    source: "bench".into(),
                    reason: None,
                    run_id: None,
                    idempotency_key: Some(format!("key-{version}")),
                    graph_json: None,
                    audit_json: Ok(r#"{"via":"delta","accepted":["node/a/label"],"rejected":[]}"#.into()),
                    prev_hash: String::new(),
                    hash: "0".repeat(64),
                    scheme: 2,
                    pruned: false,
                    record_digest: None,
                    audit_expired: false,
                },
                None,
            )?;
            tx.update_graph(gid, &summary(graph_id, version), &"0".repeat(64))
        })?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let versions: i64 = args.first().map_or(Ok(500), |a| a.parse())?;
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let writers: i64 = flag("--writers").map_or(Ok(1), |w| w.parse())?;
    let dir = std::env::temp_dir().join(format!("kg-ceiling-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let db = flag("--db").unwrap_or_else(|| dir.join("ceiling.sqlite").to_string_lossy().into_owned());
    let store = std::sync::Arc::new(tokio::task::spawn_blocking(move || kg_history::open(&db)).await??);
    let run = uuid_like(std::process::id());
    let started = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let store = store.clone();
            let graph_id = format!("ceiling-{run}-{w}");
            tokio::task::spawn_blocking(move || writer(&store, &graph_id, versions))
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    let seconds = started.elapsed().as_secs_f64();
    let total = versions * writers;
    println!(
        r#"{{"backend":"{}","writers":{writers},"inserts":{total},"seconds":{seconds},"insertsPerSecond":{}}}"#,
        store.backend(),
        total as f64 / seconds
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// A run id that differs between runs on one database.
fn uuid_like(pid: u32) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{pid:x}{nanos:x}")
}
