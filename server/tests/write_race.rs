//! Issue 22, item 1: access to a graph is decided inside the write
//! transaction, under the lock that orders the graph's versions. Before, a
//! user with no role was let through while the graph's owner was still
//! creating it ("it does not exist yet: anyone may write"), then waited for
//! the lock and wrote on top of the new graph.
//!
//! The race is run for real: Alice creates a 20,000-node graph under
//! `--graph-access owned`; once her transaction holds the graph's write lock
//! (observed from outside: SQLite's write lock, PostgreSQL's advisory lock),
//! Bob (read and write, no role) saves with `metadata.version: 1`, patches
//! with `expectedVersion: 1`, saves with `override` and grants himself the
//! editor role, again and again
//! until Alice has her answer, then once more. Every one of Bob's writes
//! must be refused (403), and the graph must hold Alice's version only.

use std::time::{Duration, Instant};

use kg_approval_server::Settings;
use kg_history::access::{GraphAccess, Policy};
use reqwest::StatusCode;
use serde_json::{Value, json};

mod support;
use support::{ADMIN, ANN, BOB, Backend, Server, new_id, start_on};

const NODES: usize = 20_000;
const ROUNDS: usize = 6;

fn large_graph() -> Value {
    let nodes: Vec<Value> =
        (0..NODES).map(|i| json!({"id": format!("n{i}"), "label": format!("Node {i}"), "info": format!("about node {i}")})).collect();
    json!({"metadata": {"title": "Alice's large graph"}, "nodes": nodes, "edges": []})
}

/// Waits until some transaction holds the database's write lock (SQLite)
/// or a graph's advisory lock (PostgreSQL): Alice's save is under way.
async fn until_a_write_lock_is_held(s: &Server, deadline: Instant) -> bool {
    match s.backend {
        Backend::Sqlite => {
            let db = s.db.clone();
            tokio::task::spawn_blocking(move || {
                let probe = rusqlite::Connection::open(&db).unwrap();
                probe.busy_timeout(Duration::ZERO).unwrap();
                while Instant::now() < deadline {
                    match probe.execute_batch("BEGIN IMMEDIATE") {
                        Ok(()) => probe.execute_batch("ROLLBACK").unwrap(),
                        Err(_) => return true,
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
                false
            })
            .await
            .unwrap()
        }
        Backend::Postgres => {
            let (client, connection) = tokio_postgres::connect(&s.db, tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(connection);
            while Instant::now() < deadline {
                let held: i64 = client
                    .query_one(
                        "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
                         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                        &[],
                    )
                    .await
                    .unwrap()
                    .get(0);
                if held > 0 {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            false
        }
    }
}

/// Bob's ways to write graph `id` at version 1, and to grant himself a role
/// on it, all at once (each waits for the graph's lock if Alice holds it).
async fn bob_writes(s: &Server, id: &str) -> Vec<(&'static str, StatusCode, Value)> {
    let one = |label: &str| json!({"metadata": {"version": 1, "updatedBy": "bob@example.com"}, "nodes": [{"id": "bob", "label": label}]});
    let (save, patch, forced, grant) = tokio::join!(
        s.save(Some(BOB), json!({"id": id, "graphData": one("saved on version 1")}), None),
        s.patch(BOB, json!({"graphId": id, "expectedVersion": 1, "addNodes": [{"id": "bob", "label": "patched"}]})),
        s.save(Some(BOB), json!({"id": id, "graphData": one("override"), "override": true}), None),
        s.post(BOB, "/grantGraphAccess", json!({"graphId": id, "user": "bob@example.com", "role": "editor"})),
    );
    vec![("save", save.0, save.1), ("patch", patch.0, patch.1), ("override", forced.0, forced.1), ("grant", grant.0, grant.1)]
}

async fn a_user_with_no_role_cannot_write_into_a_graph_its_owner_is_creating(backend: Backend) {
    let owned =
        Settings { access: Policy { graph_access: GraphAccess::Owned, private_reads: false }, body_limit: 64 << 20, ..Settings::default() };
    let s = start_on(backend, owned).await;
    let body = json!({"id": "", "graphData": large_graph()});
    let (mut refused, mut during) = (0, 0);
    for round in 0..ROUNDS {
        let id = new_id();
        let mut alice_body = body.clone();
        alice_body["id"] = json!(id);
        let started = Instant::now();
        let alice = {
            let (http, url) = (s.http.clone(), s.url.clone());
            tokio::spawn(async move {
                let r = http.post(format!("{url}/saveGraphWithHistory")).header("X-API-Token", ANN).body(alice_body.to_string());
                let response = r.send().await.unwrap();
                (response.status(), response.json::<Value>().await.unwrap())
            })
        };
        assert!(until_a_write_lock_is_held(&s, started + Duration::from_secs(60)).await, "round {round}: Alice's save never took the lock");
        let mut outcomes = Vec::new();
        while !alice.is_finished() {
            outcomes.extend(bob_writes(&s, &id).await);
            during += 4;
        }
        let (status, answer) = alice.await.unwrap();
        assert_eq!((status, answer["newVersion"].clone()), (StatusCode::OK, json!(1)), "round {round}: {answer}");
        outcomes.extend(bob_writes(&s, &id).await);
        for (how, status, answer) in &outcomes {
            assert_eq!(*status, StatusCode::FORBIDDEN, "round {round}: Bob's {how} must be refused, got {answer}");
            let rule = if *how == "grant" { "its owner or an admin" } else { "editor role" };
            assert!(answer["error"].as_str().unwrap().contains(rule), "{answer}");
        }
        refused += outcomes.len();
        let (_, history) = s.get_as(ADMIN, &format!("/getknowgraphhistory?id={id}")).await;
        assert_eq!(history["history"]["results"].as_array().unwrap().len(), 1, "round {round}: only Alice's version: {history}");
        let (_, graph) = s.get_as(ANN, &format!("/getknowgraph?id={id}")).await;
        assert_eq!(graph["nodes"].as_array().unwrap().len(), NODES, "round {round}: Alice's graph is whole");
        eprintln!("round {round}: Alice's save took {:?}; Bob was refused {} times", started.elapsed(), outcomes.len());
    }
    eprintln!("{ROUNDS} rounds on {backend:?}: {refused} writes of Bob refused, {during} of them while Alice's save ran");
    assert!(during >= ROUNDS * 4, "Bob wrote while Alice's transaction held the lock, every round");
}

on_both_backends!(a_user_with_no_role_cannot_write_into_a_graph_its_owner_is_creating);
