//! A database written by the first storage schema (one whole snapshot per
//! version; `tests/fixtures/schema1.sqlite`, made by the server at commit
//! 8d92352 with `tests/fixtures/make-schema1.js`) opens with this server,
//! migrates in place, reads back byte for byte, verifies, and takes new
//! versions that continue its chain.

use kg_approval::{ApprovalSession, Approver, Graph, Proposal, Provenance, Timestamp};
use kg_history::HistoryError;
use kg_history::patch::{PatchBody, save_delta};
use kg_history::read;
use kg_history::write::SaveContext;
use serde_json::json;

const GRAPH_A: &str = "0b8f6c1e-2d3a-4f5b-9c7d-1e2f3a4b5c6d";
const GRAPH_B: &str = "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a";

fn copy_fixture() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.sqlite");
    std::fs::copy(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema1.sqlite"), &path).unwrap();
    (dir, path)
}

#[test]
fn an_old_database_migrates_in_place_and_reads_back_byte_for_byte() {
    let (_dir, path) = copy_fixture();
    // What the old server stored, read before the new one touches the file.
    let old = rusqlite::Connection::open(&path).unwrap();
    assert_eq!(old.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0)).unwrap(), 1);
    let snapshots: Vec<(String, i64, Option<String>, String)> = old
        .prepare("SELECT graph_id, version, graph_json, hash FROM versions ORDER BY graph_id, version")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    drop(old);
    assert_eq!(snapshots.len(), 9);

    let store = kg_history::open(path.to_str().unwrap()).unwrap();
    for (graph_id, version, snapshot, hash) in &snapshots {
        let read = store.read(|c| read::graph_text(c, graph_id, Some(*version)));
        match snapshot {
            Some(text) => assert_eq!(read.unwrap(), (text.clone(), hash.clone()), "{graph_id} v{version}"),
            None => assert!(matches!(read, Err(HistoryError::Gone(_))), "a version pruned before still answers 410"),
        }
    }
    let raw = rusqlite::Connection::open(&path).unwrap();
    let kept: i64 = raw.query_row("SELECT COUNT(*) FROM versions WHERE graph_json IS NOT NULL", [], |r| r.get(0)).unwrap();
    assert_eq!(kept, 0, "every readable old version now lives as rows (each rebuilt exactly before its snapshot was dropped)");
    for id in [GRAPH_A, GRAPH_B] {
        let verification = store.read(|c| read::verify(c, id)).unwrap();
        assert!(verification.ok, "{id}: {verification:?}");
    }
    assert_eq!(store.read(|c| read::verify(c, GRAPH_B)).unwrap().pruned, 2);

    // A new version continues the old chain.
    let (text, hash) = store.read(|c| read::graph_text(c, GRAPH_A, None)).unwrap();
    let mut session = ApprovalSession::new(Graph::from_json(&text).unwrap(), Some(GRAPH_A.into()));
    session
        .propose(&Proposal::from_value(json!({"nodes": [{"id": "n1", "label": "After the migration"}]})).unwrap(), Provenance::default())
        .unwrap();
    let approved = session.approve(&Approver::new("ann@example.com", Timestamp::now()).unwrap(), None).unwrap();
    let mut body = serde_json::to_value(&approved.applied.delta).unwrap();
    body["graphId"] = json!(GRAPH_A);
    body["expectedVersion"] = json!(5);
    body["expectedHash"] = json!(hash);
    let ctx = SaveContext { user: "ann@example.com", idempotency_key: None, now: Timestamp::now(), keep_versions: None };
    let saved = save_delta(&store, PatchBody::parse(body.to_string().as_bytes()).unwrap(), ctx).unwrap();
    assert_eq!(saved.version, 6);
    let v6 = store.read(|c| c.version(GRAPH_A, 6)).unwrap().unwrap();
    assert_eq!(v6.scheme, 3, "new versions hash people by their pseudonyms");
    // Its link is v5's hash (not stored twice): change v5's hash and v6 no longer verifies.
    raw.execute("UPDATE versions SET hash = 'x' || substr(hash, 2) WHERE version = 5 AND graph_id = ?1", [GRAPH_A]).unwrap();
    assert_eq!(store.read(|c| read::verify(c, GRAPH_A)).unwrap().first_broken.map(|b| b.version), Some(5));
    raw.execute("UPDATE versions SET hash = ?2 WHERE version = 5 AND graph_id = ?1", [GRAPH_A, &hash]).unwrap();
    let mut expected = session.graph().clone();
    expected.set_version(json!(6));
    assert_eq!(store.read(|c| read::graph_text(c, GRAPH_A, None)).unwrap().0, expected.to_json());
    assert!(store.read(|c| read::verify(c, GRAPH_A)).unwrap().ok);

    // Opening again migrates nothing twice.
    drop(store);
    let again = kg_history::open(path.to_str().unwrap()).unwrap();
    assert!(again.read(|c| read::verify(c, GRAPH_A)).unwrap().ok);
}

#[test]
fn an_old_chain_edited_behind_the_servers_back_is_still_caught_after_migration() {
    let (_dir, path) = copy_fixture();
    let store = kg_history::open(path.to_str().unwrap()).unwrap();
    // Version 3 added node n4; edit its stored row.
    let raw = rusqlite::Connection::open(&path).unwrap();
    let changed = raw
        .execute("UPDATE entities SET body = replace(body, '\"Added\"', '\"ADDED\"') WHERE key = 'n4' AND from_version = 3", [])
        .unwrap();
    assert_eq!(changed, 1);
    let verification = store.read(|c| read::verify(c, GRAPH_A)).unwrap();
    assert_eq!(verification.first_broken.map(|b| b.version), Some(3));
}
