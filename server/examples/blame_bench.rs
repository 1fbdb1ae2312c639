//! Blame on a graph with many versions: it reads only the versions that
//! touched the part, so blaming a node changed 5 times costs the same on a
//! graph of 10,000 versions as on a graph of 10, while the alternative —
//! replaying every version's changes to find each field's last change —
//! grows with the graph's history.
//!
//! `cargo run --release -p kg-approval-server --example blame_bench -- [VERSIONS]`
//! prints one JSON object (times in ms, medians of 21 runs).

use std::time::Instant;

use kg_approval::Timestamp;
use kg_history::Store;
use kg_history::blame::{Subject, blame};
use kg_history::read::version_changes;
use kg_history::save::{SaveBody, save};
use kg_history::write::SaveContext;
use serde_json::json;

/// A graph where `hot` changes in every version and `rare` in 5 of them.
fn build(store: &Store, id: &str, versions: i64) {
    for v in 1..=versions {
        let rare = (v * 5 / versions).min(4);
        let graph = json!({
            "metadata": {"title": "blame", "version": if v == 1 { serde_json::Value::Null } else { json!(v - 1) }},
            "nodes": [
                {"id": "hot", "label": format!("hot {v}"), "info": "steady"},
                {"id": "rare", "label": format!("rare {rare}"), "info": "steady"},
                {"id": "still", "label": "never changes"}
            ],
            "edges": []
        });
        let body = json!({"id": id, "graphData": graph, "audit": {"reason": format!("v{v}"), "runId": "bench"}}).to_string();
        let ctx = SaveContext { user: "bench@example.com", idempotency_key: None, now: Timestamp::now(), keep_versions: None };
        save(store, SaveBody::parse(body.as_bytes()).unwrap(), ctx).unwrap();
    }
}

fn median(mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..21)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    let versions: i64 = std::env::args().nth(1).map_or(10_000, |v| v.parse().expect("VERSIONS is a number"));
    let dir = tempfile::tempdir().unwrap();
    let store = kg_history::open(&dir.path().join("blame.sqlite").to_string_lossy()).unwrap();
    let (small, large) = ("11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222");
    let started = Instant::now();
    build(&store, small, 10);
    build(&store, large, versions);
    let built_s = started.elapsed().as_secs_f64();
    let time = |id: &'static str, node: &'static str| median(|| drop(store.read(|db| blame(db, id, &Subject::Node(node.into()))).unwrap()));
    let rare_small = time(small, "rare");
    let rare_large = time(large, "rare");
    let hot_large = time(large, "hot");
    // The alternative: every version's changes, read back to find the last
    // change of each field (one pass, no index).
    let replay = {
        let start = Instant::now();
        store
            .read(|db| {
                let gid = db.head(large)?.unwrap().gid;
                for row in db.history(large)? {
                    version_changes(db, gid, &row)?;
                }
                Ok::<_, kg_approval_server::error::ApiError>(())
            })
            .unwrap();
        start.elapsed().as_secs_f64() * 1000.0
    };
    println!(
        "{}",
        json!({
            "versions": versions,
            "buildSeconds": (built_s * 10.0).round() / 10.0,
            "blameRareNodeOn10VersionsMs": rare_small,
            "blameRareNodeOnLargeMs": rare_large,
            "blameHotNodeOnLargeMs": hot_large,
            "replayAllVersionsMs": replay,
            "rareLargeOverSmall": rare_large / rare_small,
            "replayOverBlameRare": replay / rare_large,
        })
    );
}
