//! The chain over deltas catches any edit behind the server's back: every
//! column of every stored row (versions, parts, blobs, pruned leaves, the
//! head) is changed in turn, and `verify` must report the first version that
//! row belongs to — then the change is undone and the chain verifies again.

use kg_approval::{ApprovalSession, Approver, Graph, Proposal, Provenance, Timestamp};
use kg_history::patch::{PatchBody, save_delta};
use kg_history::save::{SaveBody, save};
use kg_history::store::sqlite::SqliteConn;
use kg_history::write::SaveContext;
use kg_history::{Store, read};
use rusqlite::types::Value as Sql;
use serde_json::{Value, json};

const ID: &str = "3a0c6b1e-2d4f-4a5b-8c6d-7e8f9a0b1c2d";
const USER: &str = "ann@example.com";

fn ctx(keep_versions: Option<i64>) -> SaveContext<'static> {
    SaveContext { user: USER, idempotency_key: None, now: Timestamp::parse("2026-02-04T14:30:45.123Z").unwrap(), keep_versions }
}

fn full(store: &Store, graph: Value, keep: Option<i64>) {
    save(store, SaveBody::parse(json!({"id": ID, "graphData": graph, "override": true}).to_string().as_bytes()).unwrap(), ctx(keep))
        .unwrap();
}

fn delta(store: &Store, proposal: Value, keep: Option<i64>) {
    let (text, hash) = store.read(|c| read::graph_text(c, ID, None)).unwrap();
    let graph = Graph::from_json(&text).unwrap();
    let version = graph.version().cloned().unwrap();
    let mut session = ApprovalSession::new(graph, Some(ID.into()));
    session.propose(&Proposal::from_value(proposal).unwrap(), Provenance { reason: Some("r".into()), ..Provenance::default() }).unwrap();
    let approved = session.approve(&Approver::new(USER, Timestamp::parse("2026-02-04T14:30:45.123Z").unwrap()).unwrap(), None).unwrap();
    let mut body = serde_json::to_value(&approved.applied.delta).unwrap();
    body["graphId"] = json!(ID);
    body["expectedVersion"] = version;
    body["expectedHash"] = json!(hash);
    body["audit"] = json!({"approvalId": approved.audit.approval_id, "source": "ai", "reason": "r", "runId": "run"});
    save_delta(store, PatchBody::parse(body.to_string().as_bytes()).unwrap(), ctx(keep)).unwrap();
}

/// Six versions through both paths: parts added, changed, moved, removed;
/// long values in blobs; metadata and top-level fields.
fn history(store: &Store, keep: Option<i64>) {
    let long = |s: &str| format!("{s} ").repeat(60);
    full(
        store,
        json!({"metadata": {"title": "T"}, "nodes": [
            {"id": "a", "label": "A", "info": long("alpha")}, {"id": "b", "label": "B", "info": long("beta")}, {"id": "c", "label": "C"}
        ], "edges": [{"source": "a", "target": "b"}, {"id": "e2", "source": "b", "target": "c", "note": long("edge")}], "extra": long("top")}),
        keep,
    );
    delta(store, json!({"nodes": [{"id": "a", "label": "A2"}, {"id": "b", "info": long("beta two")}]}), keep);
    delta(
        store,
        json!({"nodes": [{"id": "d", "label": "D", "info": long("delta")}], "edges": [{"source": "d", "target": "a"}], "removeNodeIds": ["c"]}),
        keep,
    );
    let (text, _) = store.read(|c| read::graph_text(c, ID, None)).unwrap();
    let mut reordered: Value = serde_json::from_str(&text).unwrap();
    reordered["nodes"].as_array_mut().unwrap().reverse();
    reordered["metadata"]["updatedBy"] = json!(USER);
    full(store, reordered, keep);
    delta(store, json!({"metadata": {"title": "T2"}, "nodes": [{"id": "d", "info": long("alpha")}]}), keep);
    delta(store, json!({"nodes": [{"id": "b", "label": "B3"}]}), keep);
}

fn verify_with(conn: &rusqlite::Connection) -> Option<i64> {
    let v = read::verify(&mut SqliteConn(conn), ID).unwrap();
    assert_eq!(v.ok, v.first_broken.is_none());
    v.first_broken.map(|b| b.version)
}

/// Changes one cell inside a transaction on `conn`, runs `check`, and rolls
/// the change back. Text gets one character changed (or appears where it
/// was NULL), a number moves by one.
fn tampered<T>(
    conn: &rusqlite::Connection,
    table: &str,
    row: &str,
    column: &str,
    check: impl FnOnce(&rusqlite::Connection) -> T,
) -> Option<(T, Sql)> {
    let old: Sql = conn.query_row(&format!("SELECT {column} FROM {table} WHERE {row}"), [], |r| r.get(0)).unwrap();
    let new = match &old {
        // A current part ended by the newest version; any other empty cell filled.
        Sql::Null if column == "to_version" => Sql::Integer(6),
        Sql::Null => Sql::Text("x".into()),
        Sql::Integer(n) => Sql::Integer(n + 1),
        Sql::Text(t) if t.is_empty() => Sql::Text("x".into()),
        Sql::Blob(b) => {
            // A byte in the middle: of a hash, or of a blob's compressed text.
            let mut b = b.clone();
            let at = b.len() / 2;
            b[at] ^= 1;
            Sql::Blob(b)
        }
        Sql::Text(t) => {
            let mut chars: Vec<char> = t.chars().collect();
            let at = chars.iter().rposition(|c| c.is_ascii_alphanumeric()).unwrap_or(0);
            chars[at] = if chars[at] == 'a' { 'b' } else { 'a' };
            Sql::Text(chars.into_iter().collect())
        }
        other => other.clone(),
    };
    conn.execute_batch("SAVEPOINT tamper").unwrap();
    // A change that would break a key constraint cannot be made: skip it.
    let changed = conn.execute(&format!("UPDATE {table} SET {column} = ?1 WHERE {row}"), [&new]).is_ok_and(|n| n == 1);
    let out = changed.then(|| check(conn));
    conn.execute_batch("ROLLBACK TO tamper; RELEASE tamper").unwrap();
    out.map(|o| (o, new))
}

#[test]
fn changing_any_stored_cell_breaks_the_version_it_belongs_to() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sqlite");
    let store = kg_history::open(path.to_str().unwrap()).unwrap();
    history(&store, None);
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    assert_eq!(verify_with(&conn), None);
    let newest = 6;
    let mut checked = 0;

    // Versions: every column belongs to the version itself (the table;
    // `versions` is a view of it with the graph's id joined in).
    // Each row is named by a WHERE clause SQLite writes itself (quote()).
    let versions: Vec<(String, i64)> = conn
        .prepare("SELECT 'gid = ' || gid || ' AND version = ' || version, version FROM version_rows")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (rowid, version) in versions {
        // (`pruned` is not content: it makes a version answer 410, and
        // verify counts such versions; their changes are still checked.)
        for column in
            ["saved_at", "user", "source", "reason", "run_id", "idempotency_key", "audit_json", "prev_hash", "hash", "scheme", "version"]
        {
            let Some((got, new)) = tampered(&conn, "version_rows", &rowid, column, verify_with) else { continue };
            assert_eq!(got, Some(version), "versions v{version} {column} -> {new:?}");
            checked += 1;
        }
    }
    // Parts: a row belongs to the version that wrote it and the one that
    // ended it; a changed version number also points at another version.
    // An older row of the same part stored as a patch is read through it
    // (`entity_patch`), so its version may be the first one broken: the
    // first broken version lies between the start of the run of patches
    // that ends at the row and the row's own.
    struct Stored {
        /// The WHERE clause naming the row.
        row: String,
        from: i64,
        to: Option<i64>,
        /// Its part: kind, key and dup.
        part: (i64, String, i64),
        patch: bool,
    }
    let rows: Vec<Stored> = conn
        .prepare(
            "SELECT 'gid = ' || gid || ' AND kind = ' || kind || ' AND key = ' || quote(key) || ' AND dup = ' || dup || ' AND from_version = ' || from_version,
                    from_version, to_version, kind, key, dup, typeof(body) = 'blob' OR body LIKE '[%' FROM entities",
        )
        .unwrap()
        .query_map([], |r| {
            Ok(Stored { row: r.get(0)?, from: r.get(1)?, to: r.get(2)?, part: (r.get(3)?, r.get(4)?, r.get(5)?), patch: r.get(6)? })
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(rows.len() > 15);
    let patched = rows.iter().filter(|r| r.patch).count();
    assert!(patched >= 5, "ended rows are stored as patches: {patched}");
    let run_start = |part: &(i64, String, i64), from: i64| {
        let mut start = from;
        while let Some(before) = rows.iter().find(|r| r.part == *part && r.to == Some(start) && r.patch) {
            start = before.from;
        }
        start
    };
    for Stored { row: rowid, from, to, part, .. } in &rows {
        let (from, to) = (*from, *to);
        for column in ["body", "ord", "key", "dup", "from_version", "to_version"] {
            let Some((got, new)) = tampered(&conn, "entities", rowid, column, verify_with) else { continue };
            let expected = match (column, &new) {
                ("to_version", Sql::Integer(n)) => to.unwrap_or(i64::MAX).min(*n).min(newest),
                ("to_version", _) => to.unwrap_or(newest).min(newest),
                _ => from,
            };
            // `ord` is the row's own; the rest can change what older rows read.
            let lowest = if column == "ord" { expected } else { run_start(part, from) };
            let got = got.unwrap_or_else(|| panic!("entities row from v{from} to {to:?}: {column} -> {new:?} went unnoticed"));
            assert!((lowest..=expected).contains(&got), "entities row from v{from} to {to:?}: {column} -> {new:?}: v{got} broken");
            checked += 1;
        }
    }
    // Blobs: a blob belongs to the first version whose parts refer to it,
    // read whole (an older row stored as a patch may refer to it by
    // copying the field from the row after it).
    let whole_rows = {
        let store = kg_history::open(path.to_str().unwrap()).unwrap();
        store.read(|db| db.all_rows(1)).unwrap()
    };
    let blobs: Vec<(i64, Vec<u8>)> = conn
        .prepare("SELECT rowid, hash FROM blobs")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(blobs.len() >= 6, "long values went to blobs");
    for (rowid, hash) in blobs {
        let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        let first = whole_rows.iter().filter(|r| r.body.contains(&hex)).map(|r| r.from_version).min().unwrap();
        for column in ["data", "hash"] {
            let (got, _) = tampered(&conn, "blobs", &format!("rowid = {rowid}"), column, verify_with).unwrap();
            assert_eq!(got, Some(first), "blob {hash:?} {column}");
            checked += 1;
        }
    }
    // The head the server keeps must be the newest version.
    for column in ["head_hash", "head_version"] {
        assert_eq!(tampered(&conn, "graphs", "gid = 1", column, verify_with).unwrap().0, Some(newest), "graphs {column}");
    }
    assert_eq!(verify_with(&conn), None, "every change was rolled back");
    assert!(checked > 150, "{checked} cells checked");
}

#[test]
fn pruned_versions_still_verify_and_their_leaves_are_covered() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sqlite");
    let store = kg_history::open(path.to_str().unwrap()).unwrap();
    history(&store, Some(2));
    let v = store.read(|c| read::verify(c, ID)).unwrap();
    assert!(v.ok, "{v:?}");
    assert_eq!(v.pruned, 4);
    assert!(matches!(store.read(|c| read::graph_text(c, ID, Some(4))), Err(kg_history::HistoryError::Gone(_))));
    assert!(store.read(|c| read::graph_text(c, ID, Some(5))).is_ok());
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let leaves: Vec<(i64, i64)> = conn
        .prepare("SELECT rowid, version FROM pruned_leaves")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(!leaves.is_empty(), "rows only old versions showed were deleted");
    for (rowid, version) in leaves {
        let row = format!("rowid = {rowid}");
        assert_eq!(tampered(&conn, "pruned_leaves", &row, "leaf", verify_with).unwrap().0, Some(version));
        let (got, new) = tampered(&conn, "pruned_leaves", &row, "version", verify_with).unwrap();
        assert_eq!(
            got,
            Some(version.min(match new {
                Sql::Integer(n) => n,
                _ => version,
            }))
        );
    }
}
