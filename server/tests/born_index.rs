//! SQLite finds a part's rows by the version its cell was first written at
//! (`entities.born`, issue 28), not by `from_version`: a replaced part's new
//! row is written over its current cell, so `from_version` changed on every
//! edit and its index entry moved, one more page in a random place per
//! edited part. Here: parts added, changed, removed and added again; each
//! version reads back whole and lists exactly the changes that lie between
//! it and the version before; a database of the schema before (an
//! `entities_from` index, no `born`) is migrated at start and reads, lists
//! and verifies as it did; and a save after that leaves the rewritten
//! cell's `born` alone.

use std::collections::HashSet;

use kg_approval::{Change, Graph, Timestamp, diff_graphs};
use kg_history::save::{SaveBody, save};
use kg_history::write::SaveContext;
use kg_history::{HistoryError, Store, read};
use serde_json::{Value, json};

const ID: &str = "6c1f0a52-3b7d-4e2a-9f80-1d2c3b4a5e6f";

fn node(id: &str, label: &str) -> Value {
    json!({"id": id, "label": label, "type": "fulltext", "info": format!("{label} ").repeat(40)})
}

/// Versions 1–5: `a` changes in 2 and 4; `b` is removed in 3 and added
/// again in 4; `d` is added in 3 and changed in 5; the edge goes in 3.
fn graphs() -> Vec<Value> {
    let edge = json!({"id": "e1", "source": "a", "target": "b"});
    vec![
        json!({"nodes": [node("a", "one"), node("b", "B"), node("c", "C")], "edges": [edge]}),
        json!({"nodes": [node("a", "two"), node("b", "B"), node("c", "C")], "edges": [edge]}),
        json!({"nodes": [node("a", "two"), node("c", "C"), node("d", "D")], "edges": []}),
        json!({"nodes": [node("a", "four"), node("c", "C"), node("d", "D"), node("b", "B again")], "edges": []}),
        json!({"nodes": [node("a", "four"), node("c", "C 5"), node("d", "D 5"), node("b", "B again")], "edges": []}),
    ]
}

fn save_version(store: &Store, base: Option<i64>, mut graph: Value) {
    graph["metadata"] = json!({"title": "T", "version": base});
    let body = SaveBody::parse(json!({"id": ID, "graphData": graph}).to_string().as_bytes()).unwrap();
    let ctx = SaveContext { user: "ann@example.com", idempotency_key: None, now: Timestamp::now(), keep_versions: None };
    save(store, body, ctx).unwrap();
}

/// The ids of the changes the store lists for `version`.
fn listed(store: &Store, version: i64) -> HashSet<String> {
    let changes = store
        .read(|db| -> Result<_, HistoryError> {
            let gid = db.head(ID)?.expect("saved").gid;
            let row = db.version(ID, version)?.expect("saved");
            read::version_changes(db, gid, &row)
        })
        .unwrap();
    ids(&changes)
}

fn ids(changes: &[Change]) -> HashSet<String> {
    changes.iter().map(|c| c.id.clone()).collect()
}

/// Every version's text, and the ids of its changes, checked against the
/// difference between it and the version before.
fn every_version(store: &Store, head: i64) -> Vec<(String, HashSet<String>)> {
    let text = |v: i64| store.read(|db| read::graph_text(db, ID, Some(v))).unwrap().0;
    (1..=head)
        .map(|v| {
            let after = text(v);
            let changes = listed(store, v);
            if v > 1 {
                let diff = diff_graphs(&Graph::from_json(&text(v - 1)).unwrap(), &Graph::from_json(&after).unwrap(), None);
                let expected: HashSet<String> = ids(&diff.changes).union(&ids(&diff.server_written)).cloned().collect();
                assert_eq!(changes, expected, "version {v} lists what lies between it and version {}", v - 1);
            }
            (after, changes)
        })
        .collect()
}

fn sqlite(db: &str) -> rusqlite::Connection {
    rusqlite::Connection::open(db).unwrap()
}

fn count(db: &str, query: &str) -> i64 {
    sqlite(db).query_row(query, [], |r| r.get(0)).unwrap()
}

/// (born, from_version) of the current cell of part `key`.
fn cell(db: &str, key: &str) -> (i64, i64) {
    sqlite(db)
        .query_row("SELECT born, from_version FROM entities WHERE key = ?1 AND to_version IS NULL", [key], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn versions_are_found_through_born_and_an_old_database_is_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("born.sqlite").to_string_lossy().into_owned();
    let path = db.clone();
    let before = tokio::task::spawn_blocking(move || {
        let store = kg_history::open(&path).unwrap();
        for (i, graph) in graphs().into_iter().enumerate() {
            save_version(&store, (i > 0).then_some(i as i64), graph);
        }
        every_version(&store, 5)
    })
    .await
    .unwrap();
    assert!(before[2].1.len() >= 3, "version 3 removed b and the edge and added d: {:?}", before[2].1);

    assert_eq!(cell(&db, "a"), (1, 4), "a's cell was written at 1 and rewritten in 2 and 4: its born stayed");
    assert_eq!(cell(&db, "b").0, 4, "b added again in 4 is a cell of its own");
    assert_eq!(count(&db, "SELECT COUNT(*) FROM entities WHERE born IS NULL OR born > from_version"), 0, "born <= from_version");
    assert_eq!(count(&db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'entities_from'"), 0);

    // Back to the schema before: `entities_from`, no `born`.
    sqlite(&db)
        .execute_batch(
            "DROP INDEX entities_born;
             ALTER TABLE entities DROP COLUMN born;
             CREATE INDEX entities_from ON entities (gid, from_version);
             PRAGMA user_version = 7;",
        )
        .unwrap();

    let path = db.clone();
    let (after, verified) = tokio::task::spawn_blocking(move || {
        let store = kg_history::open(&path).unwrap();
        (every_version(&store, 5), store.read(|db| read::verify(db, ID)).unwrap())
    })
    .await
    .unwrap();
    assert_eq!(after, before, "every version reads back and lists its changes as before the migration");
    assert!(verified.ok, "the chain verifies after the migration: {verified:?}");
    assert_eq!(count(&db, "SELECT COUNT(*) FROM entities WHERE born IS NULL OR born <> from_version"), 0, "born filled in");
    assert_eq!(count(&db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'entities_from'"), 0, "the old index is gone");
    assert_eq!(count(&db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'entities_born'"), 1);
    // Schema 13: the metadata, which every version rewrites, is in neither
    // index of parts by version; its rows are found by the primary key, and
    // every version above read back and listed its changes as before.
    let partial = "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('entities_born', 'entities_to') AND sql LIKE '%kind <> 1%'";
    assert_eq!(count(&db, partial), 2);

    // A save after the migration rewrites a's cell and leaves its born.
    let path = db.clone();
    let six = tokio::task::spawn_blocking(move || {
        let store = kg_history::open(&path).unwrap();
        let mut graph = graphs().pop().unwrap();
        graph["nodes"][0] = node("a", "six");
        save_version(&store, Some(5), graph);
        let six = every_version(&store, 6).pop().unwrap().1;
        assert!(store.read(|db| read::verify(db, ID)).unwrap().ok);
        six
    })
    .await
    .unwrap();
    assert!(six.iter().any(|id| id.starts_with("node/a/")), "version 6 lists a's change: {six:?}");
    assert_eq!(cell(&db, "a"), (4, 6), "the cell keeps the born the migration gave it");
}
