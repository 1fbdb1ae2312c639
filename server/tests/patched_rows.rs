//! Ended rows stored as patches on the rows that replaced them
//! (`kg_history_store::entity_patch`), over real HTTP on both backends:
//! every version reads back byte for byte as it was saved, the chain
//! verifies, blame and retention see whole bodies, and a damaged patch is
//! named by verification instead of failing it.

use kg_approval_server::Settings;
use reqwest::StatusCode;
use serde_json::{Value, json};

mod support;
use support::{ANN, AUDITOR, Backend, Server, new_id, start_on};

fn node(label: &str, extra: Option<(&str, Value)>) -> Value {
    let mut node = json!({"id": "a", "label": label, "type": "fulltext", "info": "i".repeat(400),
                          "position": {"x": 1.5, "y": -0.0}, "color": "#ffaa00", "bibl": ["one", "two"]});
    if let Some((key, value)) = extra {
        node[key] = value;
    }
    node
}

fn graph_with(version: Option<i64>, a: Value) -> Value {
    json!({"metadata": {"title": "T", "version": version}, "nodes": [a, {"id": "b", "label": "B"}], "edges": []})
}

/// Saves versions 1–6 of a graph whose node `a` changes each time (its
/// label; a field added, changed, removed), and returns the graph's id and
/// each version's text as read right after it was saved.
async fn six_versions(s: &Server) -> (String, Vec<String>) {
    let id = new_id();
    let nodes = [
        node("one", None),
        node("two", None),
        node("three", Some(("extra", json!({"k": [1, 2.50, "x"]})))),
        node("four", Some(("extra", json!("changed")))),
        node("five", None),
        node("six", Some(("label2", json!("after the others")))),
    ];
    let mut texts = Vec::new();
    for (i, a) in nodes.into_iter().enumerate() {
        let version = (i > 0).then_some(i as i64);
        let (status, body) = s.save(Some(ANN), json!({"id": id, "graphData": graph_with(version, a)}), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        texts.push(s.text(&format!("/getknowgraph?id={id}")).await.1);
    }
    (id, texts)
}

async fn every_version_reads_back_exactly_through_the_patches(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    let (id, texts) = six_versions(&s).await;
    // Node `a` and the metadata (its version stamp) changed in every
    // version: their five ended rows each were kept as a patch (on SQLite
    // packed, see `kg_history_store::packed`, when that is shorter).
    let patched = match backend {
        Backend::Sqlite => "SELECT COUNT(*) FROM entities WHERE to_version IS NOT NULL AND (typeof(body) = 'blob' OR body LIKE '[%')",
        Backend::Postgres => "SELECT COUNT(*) FROM entities WHERE to_version IS NOT NULL AND body LIKE '[%'",
    };
    let patched = s.count(patched).await;
    let ended = s.count("SELECT COUNT(*) FROM entities WHERE to_version IS NOT NULL").await;
    assert_eq!((patched, ended), (10, 10), "every ended row of `a` and the metadata is a patch");
    let stored: i64 = s.count("SELECT CAST(SUM(LENGTH(body)) AS BIGINT) FROM entities WHERE key = 'a' AND to_version IS NOT NULL").await;
    let whole = texts[0].len() as i64;
    assert!(stored < whole, "five patches of `a` take {stored} bytes, less than one version's whole graph text ({whole})");
    if matches!(backend, Backend::Sqlite) {
        // SQLite writes each new row of `a` over its current one (same
        // rowid, same page) and adds the ended row, a patch, at the end.
        let current = s.count("SELECT rowid FROM entities WHERE key = 'a' AND to_version IS NULL").await;
        let first = s.count("SELECT MIN(rowid) FROM entities WHERE key = 'a'").await;
        let first_ended = s.count("SELECT MIN(rowid) FROM entities WHERE key = 'a' AND to_version IS NOT NULL").await;
        assert_eq!(current, first, "the current row of `a` is still the cell version 1 wrote");
        assert!(first_ended > current, "the ended rows were added after it");
    }

    for (i, text) in texts.iter().enumerate() {
        let (status, old, _) = s.text(&format!("/getknowgraphversion?id={id}&version={}", i + 1)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(&old, text, "version {} byte for byte", i + 1);
    }
    let (_, verified) = s.get_as(AUDITOR, &format!("/verifyknowgraph?id={id}")).await;
    assert_eq!((verified["ok"].clone(), verified["versions"].clone()), (json!(true), json!(6)), "{verified}");

    // Blame reads the node's history through the patches.
    let (status, blame) = s.get_as(AUDITOR, &format!("/getknowgraphblame?id={id}&nodeId=a")).await;
    assert_eq!(status, StatusCode::OK, "{blame}");
    let field = |name: &str| blame["fields"].as_array().unwrap().iter().find(|f| f["field"] == name).cloned().unwrap_or(Value::Null);
    assert_eq!((field("label")["value"].clone(), field("label")["version"].clone()), (json!("six"), json!(6)));
    assert_eq!(field("color")["version"], 1, "unchanged since version 1, though each older row is a patch");
}

async fn a_damaged_patch_is_named_by_verification(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    let (id, _) = six_versions(&s).await;
    // Version 3's row of `a` (ended by version 4) loses a field of its patch.
    let changed = s.replace_in_bodies("key = 'a' AND from_version = 3", "\"three\"", "\"THREE\"").await;
    assert_eq!(changed, 1);
    let (_, broken) = s.get_as(AUDITOR, &format!("/verifyknowgraph?id={id}")).await;
    assert_eq!((broken["ok"].clone(), broken["firstBroken"]["version"].clone()), (json!(false), json!(3)), "{broken}");
    // Unreadable JSON in the patch: still a report, not an error. It names
    // version 1: versions 1 and 2 of `a` are read through version 3's row.
    s.sql("UPDATE entities SET body = '[1,' WHERE key = 'a' AND from_version = 3").await;
    let (status, broken) = s.get_as(AUDITOR, &format!("/verifyknowgraph?id={id}")).await;
    assert_eq!((status, broken["firstBroken"]["version"].clone()), (StatusCode::OK, json!(1)), "{broken}");
    assert!(broken["firstBroken"]["reason"].as_str().unwrap().contains("unreadable"), "{broken}");
    // Reading that version says the stored data is damaged; the others read.
    let (status, _, _) = s.text(&format!("/getknowgraphversion?id={id}&version=3")).await;
    assert!(status.is_server_error(), "{status}");
    let (status, _, _) = s.text(&format!("/getknowgraphversion?id={id}&version=4")).await;
    assert_eq!(status, StatusCode::OK);
}

async fn retention_deletes_old_patches_and_keeps_what_reads_through_them(backend: Backend) {
    let s = start_on(backend, Settings { keep_versions: Some(2), ..Settings::default() }).await;
    let (id, texts) = six_versions(&s).await;
    for version in [5, 6] {
        let (status, old, _) = s.text(&format!("/getknowgraphversion?id={id}&version={version}")).await;
        assert_eq!((status, &old), (StatusCode::OK, &texts[version - 1]));
    }
    assert_eq!(s.get_as(AUDITOR, &format!("/verifyknowgraph?id={id}")).await.1["ok"], true);
    assert_eq!(s.count("SELECT COUNT(*) FROM entities WHERE key = 'a'").await, 2, "version 5's row (a patch) and version 6's");
}

on_both_backends!(
    every_version_reads_back_exactly_through_the_patches,
    a_damaged_patch_is_named_by_verification,
    retention_deletes_old_patches_and_keeps_what_reads_through_them,
);
