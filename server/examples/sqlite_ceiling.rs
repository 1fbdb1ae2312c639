//! The ceiling for the server benchmark: the rows a one-node save writes
//! (the node's new row and the end of its old one, the same for the
//! metadata, the version row and the graph's head), inserted straight into
//! SQLite with the server's own store (same schema, WAL, synchronous=FULL,
//! one transaction per version), in one process, without HTTP, parsing,
//! checks or hashing.
//!
//! `cargo run --release -p kg-approval-server --example sqlite_ceiling -- VERSIONS NODE_BYTES`

use std::time::Instant;

use kg_approval_server::Store;
use kg_approval_server::store::{self, EntityRow, GraphSummary, Kind, VersionRow};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let versions: i64 = args.next().map_or(Ok(500), |a| a.parse())?;
    let bytes: usize = args.next().map_or(Ok(400), |a| a.parse())?;
    let dir = std::env::temp_dir().join(format!("kg-ceiling-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let store = Store::open(&dir.join("ceiling.sqlite"))?;
    let summary = |version: i64| GraphSummary {
        graph_id: "ceiling".into(),
        version,
        title: Some("bench".into()),
        nodes: 12,
        saved_at: "2026-02-04T14:30:45.123Z".into(),
        saved_by: "bench".into(),
    };
    let row = |kind: Kind, key: &str, version: i64, body: String| EntityRow {
        kind,
        key: key.into(),
        dup: 0,
        from_version: version,
        to_version: None,
        ord: 0,
        body,
    };
    let node = |version: i64| format!(r#"{{"id":"a","label":"label {version}","info":"{}"}}"#, "x".repeat(bytes));
    let meta = |version: i64| format!(r#"{{"title":"bench","version":{version},"updatedBy":"bench"}}"#);
    let gid = store.write(|tx| -> rusqlite::Result<i64> {
        let gid = store::insert_graph(tx, "ceiling", &summary(0), "")?;
        store::insert_entity(tx, gid, &row(Kind::Node, "a", 0, node(0)))?;
        store::insert_entity(tx, gid, &row(Kind::Metadata, "", 0, meta(0)))?;
        Ok(gid)
    })?;
    let started = Instant::now();
    for version in 1..=versions {
        store.write(|tx| -> rusqlite::Result<()> {
            store::close_entity(tx, gid, Kind::Node, "a", 0, version)?;
            store::insert_entity(tx, gid, &row(Kind::Node, "a", version, node(version)))?;
            store::close_entity(tx, gid, Kind::Metadata, "", 0, version)?;
            store::insert_entity(tx, gid, &row(Kind::Metadata, "", version, meta(version)))?;
            store::insert_version(
                tx,
                &VersionRow {
                    graph_id: "ceiling".into(),
                    version,
                    saved_at: "2026-02-04T14:30:45.123Z".into(),
                    user: "bench".into(),
                    source: "bench".into(),
                    reason: None,
                    run_id: None,
                    idempotency_key: Some(format!("key-{version}")),
                    graph_json: None,
                    audit_json: "{}".into(),
                    prev_hash: String::new(),
                    hash: String::new(),
                    scheme: 2,
                    pruned: false,
                },
            )?;
            store::update_graph(tx, gid, &summary(version), "")
        })?;
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(r#"{{"inserts":{versions},"seconds":{seconds},"insertsPerSecond":{}}}"#, versions as f64 / seconds);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
