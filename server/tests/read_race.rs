//! A read's access is decided in the read's own transaction. Before, a read
//! under `--private-reads` checked the caller's role in one transaction and
//! read the graph in the next: a viewer whose role was taken away between
//! the two, with the graph saved again meanwhile, could be sent the version
//! saved after the right was gone (issue 22 left the two apart).
//!
//! Bob, a viewer, reads the graph from many connections at once while Ann
//! takes his role away and then saves a version (a one-node delta, a few
//! milliseconds): no read of Bob's may return that version; each answer is
//! either version 1 or a refusal. The old gap between check and read was
//! well under a millisecond here, and this test did not catch it in three
//! runs against the old code (16 to 64 readers): the fix is by construction
//! (one transaction), and the test keeps the rule under concurrent reads.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use kg_approval_server::Settings;
use kg_history::access::{GraphAccess, Policy};
use reqwest::StatusCode;
use serde_json::{Value, json};

mod support;
use support::{ANN, BOB, BOB_ID, Backend, new_id, start_on};

const READERS: usize = 32;
const ROUNDS: usize = 5;

/// A graph of 500 nodes (about 250 KB): reads that overlap one another.
fn graph() -> Value {
    let nodes: Vec<Value> =
        (0..500).map(|i| json!({"id": format!("n{i}"), "label": format!("Node {i}"), "info": "x".repeat(400)})).collect();
    json!({"metadata": {"title": "T"}, "nodes": nodes, "edges": []})
}

async fn a_viewer_whose_role_is_taken_away_never_reads_what_is_saved_after(backend: Backend) {
    let private = Settings { access: Policy { graph_access: GraphAccess::Owned, private_reads: true }, ..Settings::default() };
    let s = Arc::new(start_on(backend, private).await);
    let (mut read, mut refused) = (0, 0);
    for round in 0..ROUNDS {
        let id = new_id();
        assert_eq!(s.save(Some(ANN), json!({"id": id, "graphData": graph()}), None).await.0, StatusCode::OK);
        let grant = json!({"graphId": id, "user": BOB_ID, "role": "viewer"});
        assert_eq!(s.post(ANN, "/grantGraphAccess", grant).await.0, StatusCode::OK);
        let stop = Arc::new(AtomicBool::new(false));
        let readers: Vec<_> = (0..READERS)
            .map(|_| {
                let (s, id, stop) = (Arc::clone(&s), id.clone(), Arc::clone(&stop));
                tokio::spawn(async move {
                    let mut answers = Vec::new();
                    while !stop.load(Ordering::Relaxed) {
                        let (status, body) = s.get_as(BOB, &format!("/getknowgraph?id={id}")).await;
                        answers.push((status, body["metadata"]["version"].clone()));
                    }
                    answers
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(30)).await;
        let revoke = json!({"graphId": id, "user": BOB_ID, "role": null});
        assert_eq!(s.post(ANN, "/grantGraphAccess", revoke).await.0, StatusCode::OK, "round {round}");
        // A delta: saved in a few milliseconds, well inside a queued read's wait.
        let secret = json!({"graphId": id, "expectedVersion": 1, "addNodes": [{"id": "secret", "label": "not for Bob"}]});
        assert_eq!(s.patch(ANN, secret).await.0, StatusCode::OK, "round {round}");
        tokio::time::sleep(Duration::from_millis(30)).await;
        stop.store(true, Ordering::Relaxed);
        for reader in readers {
            for (status, version) in reader.await.unwrap() {
                match status {
                    StatusCode::OK => {
                        assert_eq!(version, json!(1), "round {round}: Bob read version {version}, saved after his role was taken away");
                        read += 1;
                    }
                    StatusCode::FORBIDDEN => refused += 1,
                    other => panic!("round {round}: {other}"),
                }
            }
        }
    }
    eprintln!("{ROUNDS} rounds on {backend:?}: Bob read version 1 {read} times and was refused {refused} times");
    assert!(read > 0 && refused > 0, "the reads overlapped the revocation: {read} read, {refused} refused");
}

on_both_backends!(a_viewer_whose_role_is_taken_away_never_reads_what_is_saved_after);
