//! The ceiling for the server benchmark: the same version rows inserted
//! straight into SQLite with the server's own store (same schema, WAL,
//! synchronous=FULL, one transaction per version), in one process, without
//! HTTP, diffs or hashing.
//!
//! `cargo run --release -p kg-approval-server --example sqlite_ceiling -- ROWS BYTES`

use std::time::Instant;

use kg_approval_server::Store;
use kg_approval_server::store::{self, VersionRow};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let rows: i64 = args.next().map_or(Ok(500), |a| a.parse())?;
    let bytes: usize = args.next().map_or(Ok(50_000), |a| a.parse())?;
    let dir = std::env::temp_dir().join(format!("kg-ceiling-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let store = Store::open(&dir.join("ceiling.sqlite"))?;
    let graph = format!(r#"{{"nodes":[{{"id":"a","info":"{}"}}]}}"#, "x".repeat(bytes));
    let started = Instant::now();
    for version in 1..=rows {
        let row = VersionRow {
            graph_id: "ceiling".into(),
            version,
            saved_at: "2026-02-04T14:30:45.123Z".into(),
            user: "bench".into(),
            source: "bench".into(),
            reason: None,
            run_id: None,
            idempotency_key: Some(format!("key-{version}")),
            graph_json: Some(graph.clone()),
            audit_json: "{}".into(),
            prev_hash: String::new(),
            hash: String::new(),
        };
        store.write(|tx| store::insert(tx, &row, &["a".to_owned()]))?;
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(r#"{{"inserts":{rows},"seconds":{seconds},"insertsPerSecond":{}}}"#, rows as f64 / seconds);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
