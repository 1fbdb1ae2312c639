//! Two server processes on one SQLite file: each keeps its own cache of the
//! newest parsed graph, and neither may diff against a version the other
//! has superseded.

use kg_approval::Timestamp;
use kg_approval_server::Store;
use kg_approval_server::save::{SaveBody, SaveContext, save};
use kg_approval_server::store;
use serde_json::{Value, json};

const ID: &str = "0b9f4c1e-6a2d-4f3b-8c7e-1d2a3b4c5d6e";

fn save_label(store: &Store, label: &str, version: i64) -> i64 {
    let graph = json!({"metadata": {"version": version}, "nodes": [{"id": "a", "label": label}], "edges": []});
    let body = SaveBody::parse(json!({"id": ID, "graphData": graph}).to_string().as_bytes()).unwrap();
    let ctx =
        SaveContext { user: "ann", idempotency_key: None, now: Timestamp::parse("2026-02-04T14:30:45.123Z").unwrap(), keep_versions: None };
    save(store, body, ctx).unwrap().version
}

#[test]
fn a_stale_cache_entry_is_never_diffed_against() {
    let dir = std::env::temp_dir().join(format!("kg-two-writers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("shared.sqlite");
    let (a, b) = (Store::open(&path).unwrap(), Store::open(&path).unwrap());
    assert_eq!(save_label(&a, "x", 0), 1);
    assert_eq!(save_label(&b, "y", 1), 2);
    assert_eq!(save_label(&a, "z", 2), 3, "a's cache holds version 1; the file holds 2");

    let rows = a.read(|c| store::all_versions(c, ID)).unwrap();
    let audit: Value = serde_json::from_str(&rows[2].audit_json).unwrap();
    let change = audit["changes"].as_array().unwrap().iter().find(|c| c["id"] == "node/a/label").unwrap();
    assert_eq!((&change["old"], &change["new"]), (&json!("y"), &json!("z")), "diffed against b's version 2");
    assert!(kg_approval_server::chain::verify(&rows).ok);
    std::fs::remove_dir_all(&dir).unwrap();
}
