//! Two server processes on one SQLite file: neither may compare against a
//! version the other has superseded.

use kg_approval::Timestamp;
use kg_history::Store;
use kg_history::save::{SaveBody, save};
use kg_history::write::SaveContext;
use kg_history::{read, store};
use serde_json::json;

const ID: &str = "0b9f4c1e-6a2d-4f3b-8c7e-1d2a3b4c5d6e";

fn save_label(store: &Store, label: &str, version: i64) -> i64 {
    let graph = json!({"metadata": {"version": version}, "nodes": [{"id": "a", "label": label}], "edges": []});
    let body = SaveBody::parse(json!({"id": ID, "graphData": graph}).to_string().as_bytes()).unwrap();
    let ctx =
        SaveContext { user: "ann", idempotency_key: None, now: Timestamp::parse("2026-02-04T14:30:45.123Z").unwrap(), keep_versions: None };
    save(store, body, ctx).unwrap().version
}

#[test]
fn a_version_written_by_another_process_is_the_base() {
    let dir = std::env::temp_dir().join(format!("kg-two-writers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("shared.sqlite");
    let path = path.to_str().unwrap();
    let (a, b) = (kg_history::open(path).unwrap(), kg_history::open(path).unwrap());
    assert_eq!(save_label(&a, "x", 0), 1);
    assert_eq!(save_label(&b, "y", 1), 2);
    assert_eq!(save_label(&a, "z", 2), 3, "a's cache holds version 1; the file holds 2");

    let filter = store::AuditFilter { limit: 1, ..Default::default() };
    let (_, entries) = a.read(|c| read::audit_entries(c, ID, &filter)).unwrap();
    let change = entries[0]["changes"].as_array().unwrap().iter().find(|c| c["id"] == "node/a/label").unwrap().clone();
    assert_eq!((&change["old"], &change["new"]), (&json!("y"), &json!("z")), "compared with b's version 2");
    assert!(a.read(|c| read::verify(c, ID)).unwrap().ok);
    std::fs::remove_dir_all(&dir).unwrap();
}
