//! Several server processes on one PostgreSQL database, as two stores (two
//! connection pools) on one database, and a database that goes away and
//! comes back.

use std::sync::Arc;

use kg_approval::Timestamp;
use kg_history::HistoryError;
use kg_history::save::{SaveBody, save};
use kg_history::write::SaveContext;
use kg_history::{Store, read};
use serde_json::json;

mod support;

const ID: &str = "7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f";

fn body(version: Option<i64>, label: &str, override_version: bool, key: Option<&str>) -> SaveBody {
    let graph = json!({"metadata": {"title": "T", "version": version}, "nodes": [{"id": "a", "label": label}], "edges": []});
    let mut body = json!({"id": ID, "graphData": graph, "override": override_version});
    if let Some(key) = key {
        body["audit"] = json!({"approvalId": key});
    }
    SaveBody::parse(body.to_string().as_bytes()).unwrap()
}

fn ctx() -> SaveContext<'static> {
    SaveContext { user: "ann@example.com", idempotency_key: None, now: Timestamp::now(), keep_versions: None }
}

async fn two_stores() -> (Arc<Store>, Arc<Store>) {
    let url = support::postgres_database().await;
    let (a, b) = (url.clone(), url);
    let a = tokio::task::spawn_blocking(move || kg_history::open(&a)).await.unwrap().unwrap();
    let b = tokio::task::spawn_blocking(move || kg_history::open(&b)).await.unwrap().unwrap();
    (Arc::new(a), Arc::new(b))
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_processes_on_one_database_keep_versions_unique_and_contiguous() {
    let (a, b) = two_stores().await;
    // A new graph created by both at once: one version 1, one refusal.
    let racers: Vec<_> =
        [a.clone(), b.clone()].into_iter().map(|s| blocking(move || save(&s, body(None, "first", false, None), ctx()))).collect();
    let mut created = Vec::new();
    for r in racers {
        created.push(r.await);
    }
    assert_eq!(created.iter().filter(|r| r.as_ref().is_ok_and(|s| s.version == 1)).count(), 1);
    assert!(created.iter().any(|r| matches!(r, Err(HistoryError::Conflict { current_version: 1, .. }))));

    // 16 writers on one base version, half through each store: one wins.
    let racers: Vec<_> = (0..16)
        .map(|i| {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            blocking(move || save(&store, body(Some(1), &format!("racer {i}"), false, None), ctx()))
        })
        .collect();
    let mut won = 0;
    for r in racers {
        match r.await {
            Ok(saved) => {
                assert_eq!(saved.version, 2);
                won += 1;
            }
            Err(HistoryError::Conflict { current_version: 2, .. }) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(won, 1);

    // 16 writers with override: versions 3..=18, each once.
    let writers: Vec<_> = (0..16)
        .map(|i| {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            blocking(move || save(&store, body(None, &format!("w{i}"), true, None), ctx()).unwrap().version)
        })
        .collect();
    let mut versions = Vec::new();
    for w in writers {
        versions.push(w.await);
    }
    versions.sort();
    assert_eq!(versions, (3..=18).collect::<Vec<_>>());

    // A retry that lands on the other process gets the first answer.
    let first = blocking({
        let a = a.clone();
        move || save(&a, body(Some(18), "once", false, Some("approval-x")), ctx()).unwrap()
    })
    .await;
    let again = blocking({
        let b = b.clone();
        move || save(&b, body(Some(18), "once", false, Some("approval-x")), ctx()).unwrap()
    })
    .await;
    assert_eq!((again.version, again.replayed, again.hash.clone()), (first.version, true, first.hash.clone()));

    // Each sees the other's newest version at once, and the chain verifies.
    let (text, hash) = blocking(move || b.read(|db| read::graph_text(db, ID, None)).unwrap()).await;
    assert_eq!(hash, first.hash);
    assert!(text.contains("\"once\""));
    assert!(blocking(move || a.read(|db| read::verify(db, ID)).unwrap()).await.ok);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_that_goes_away_is_a_503_and_the_server_recovers_by_itself() {
    // A cluster of its own, to restart.
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/pg.sh");
    let out = std::process::Command::new("bash").arg(&script).args(["start", "--owner", &std::process::id().to_string()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = String::from_utf8(out.stdout).unwrap();
    let (url, dir) = (out.lines().next().unwrap().to_owned(), out.lines().nth(1).unwrap().to_owned());
    let store = Arc::new(blocking(move || kg_history::open(&url).unwrap()).await);
    let saved = blocking({
        let s = store.clone();
        move || save(&s, body(None, "before", false, None), ctx()).unwrap()
    })
    .await;
    assert_eq!(saved.version, 1);

    // The database stops abruptly and stays down for two seconds.
    let restart = std::thread::spawn({
        let (script, dir) = (script.clone(), dir.clone());
        move || std::process::Command::new("bash").arg(script).args(["restart", &dir, "2"]).status().unwrap()
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    let during = blocking({
        let s = store.clone();
        move || save(&s, body(Some(1), "during", false, None), ctx())
    })
    .await;
    assert!(matches!(during, Err(HistoryError::Unavailable(_))), "{during:?}");
    let read_during = blocking({
        let s = store.clone();
        move || s.read(|db| read::graph_text(db, ID, None))
    })
    .await;
    assert!(matches!(read_during, Err(HistoryError::Unavailable(_))), "{read_during:?}");
    assert!(restart.join().unwrap().success());

    // Back: the same store works again, and nothing acknowledged was lost.
    let after = blocking({
        let s = store.clone();
        move || save(&s, body(Some(1), "after", false, None), ctx())
    })
    .await
    .expect("the pool reconnects");
    assert_eq!(after.version, 2);
    let (text, _) = blocking(move || store.read(|db| read::graph_text(db, ID, Some(1))).unwrap()).await;
    assert!(text.contains("\"before\""));
    std::process::Command::new("bash").arg(script).args(["stop", &dir]).status().unwrap();
}

/// A graph whose long values are blobs, one shared by two nodes, one value
/// only looking like a reference (nested) and a NUL in a label.
fn blob_graph(version: Option<i64>, label: &str) -> SaveBody {
    let info = "a paragraph of markdown. ".repeat(20);
    let fake = format!("\u{1}{}", "ab".repeat(32));
    let graph = json!({"metadata": {"title": "Blobs", "version": version}, "nodes": [
        {"id": "a", "label": label, "info": info},
        {"id": "b", "label": "nul \u{0} here", "info": info, "nested": {"looks": fake}},
        {"id": "c", "label": "C", "info": "other ".repeat(40)}
    ], "edges": [{"id": "a_b", "source": "a", "target": "b", "note": "n".repeat(200)}]});
    SaveBody::parse(json!({"id": ID, "graphData": graph, "override": false}).to_string().as_bytes()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_newest_version_reads_as_on_sqlite_and_a_read_leaves_its_connection_clean() {
    let (pg, _) = two_stores().await;
    let lite = Arc::new(kg_history::open_in_memory().unwrap());
    for store in [pg.clone(), lite.clone()] {
        blocking(move || {
            save(&store, blob_graph(None, "first"), ctx()).unwrap();
            save(&store, blob_graph(Some(1), "second"), ctx()).unwrap();
        })
        .await;
    }
    // The newest version (its rows and blobs fetched together) reads as the
    // same version read by number, and as SQLite reads it.
    let newest = |s: Arc<Store>| blocking(move || s.read(|db| read::graph_text(db, ID, None)).unwrap());
    let (text, hash) = newest(pg.clone()).await;
    let by_number = blocking({
        let pg = pg.clone();
        move || pg.read(|db| read::graph_text(db, ID, Some(2))).unwrap()
    })
    .await;
    assert_eq!((&text, &hash), (&by_number.0, &by_number.1));
    assert_eq!(text, newest(lite).await.0);
    assert!(text.contains("\"second\"") && text.contains("nul \\u0000 here") && text.contains("paragraph"), "{text}");

    // A read's transaction (its BEGIN sent with its first statement) ends
    // with it, even when the read panics: the next read on the pooled
    // connection sees a save made after it, and writes are not read-only.
    for round in 0..3 {
        let panicked = blocking({
            let pg = pg.clone();
            move || {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    pg.read(|db| -> Result<(), HistoryError> {
                        db.head(ID)?;
                        panic!("a read that fails half way");
                    })
                }))
                .is_err()
            }
        })
        .await;
        assert!(panicked);
        let saved = blocking({
            let pg = pg.clone();
            move || save(&pg, blob_graph(Some(2 + round), &format!("round {round}")), ctx()).unwrap()
        })
        .await;
        let (text, hash) = newest(pg.clone()).await;
        assert_eq!(hash, saved.hash);
        assert!(text.contains(&format!("\"round {round}\"")));
    }
}

/// A read asks for the blobs the graph's previous read needed together with
/// its rows (a guess, see the PostgreSQL store's `BlobHints`). After a save
/// (here by another process) that replaced a blob, the guess is stale: the
/// read still returns exactly the new version, its new blob fetched in a
/// second round trip of the same transaction.
#[tokio::test(flavor = "multi_thread")]
async fn a_read_after_a_save_that_replaced_a_blob_reads_the_new_one() {
    let (pg, other) = two_stores().await;
    let graph = |version: Option<i64>, info: &str| {
        let graph = json!({"metadata": {"title": "Blobs", "version": version}, "nodes": [
            {"id": "a", "label": "A", "info": info.repeat(40)},
            {"id": "b", "label": "B", "info": "kept ".repeat(40)}
        ], "edges": []});
        SaveBody::parse(json!({"id": ID, "graphData": graph, "override": false}).to_string().as_bytes()).unwrap()
    };
    let newest = |s: Arc<Store>| blocking(move || s.read(|db| read::graph_text(db, ID, None)).unwrap());
    let first = graph(None, "old ");
    blocking({
        let pg = pg.clone();
        move || save(&pg, first, ctx()).unwrap()
    })
    .await;
    for _ in 0..2 {
        assert!(newest(pg.clone()).await.0.contains("old old"));
    }
    let second = graph(Some(1), "new ");
    let saved = blocking(move || save(&other, second, ctx()).unwrap()).await;
    let (text, hash) = newest(pg.clone()).await;
    assert_eq!(hash, saved.hash);
    assert!(text.contains("new new") && !text.contains("old old") && text.contains("kept kept"), "{text}");
    let by_number = blocking({
        let pg = pg.clone();
        move || pg.read(|db| read::graph_text(db, ID, Some(2))).unwrap()
    })
    .await;
    assert_eq!((text, hash), by_number);
    assert!(newest(pg).await.0.contains("new new"));
}

/// The newest version's read is one statement outside a transaction while
/// the blob guess holds (see `kg_history_store::pg_newest`). Read while
/// another process saves version after version, every answer is one
/// version whole: its text is that version's text by number, its hash
/// that version's hash (a head and rows from two states would differ).
#[tokio::test(flavor = "multi_thread")]
async fn newest_reads_racing_saves_each_return_one_version_whole() {
    let (pg, other) = two_stores().await;
    blocking({
        let pg = pg.clone();
        move || save(&pg, blob_graph(None, "v1"), ctx()).unwrap()
    })
    .await;
    let saves = 40;
    let writer = tokio::task::spawn_blocking(move || {
        for version in 1..=saves {
            save(&other, blob_graph(Some(version), &format!("v{}", version + 1)), ctx()).unwrap();
        }
    });
    let mut seen = std::collections::BTreeSet::new();
    while !writer.is_finished() || seen.len() < 2 {
        let read = blocking({
            let pg = pg.clone();
            move || pg.read(|db| read::graph_text(db, ID, None)).unwrap()
        })
        .await;
        let graph: serde_json::Value = serde_json::from_str(&read.0).unwrap();
        let version = graph["metadata"]["version"].as_i64().unwrap();
        assert!(read.0.contains(&format!("\"v{version}\"")), "the label saved with version {version}: {}", read.0);
        let by_number = blocking({
            let pg = pg.clone();
            move || pg.read(|db| read::graph_text(db, ID, Some(version))).unwrap()
        })
        .await;
        assert_eq!(read, by_number, "version {version}");
        seen.insert(version);
    }
    writer.await.unwrap();
    assert!(seen.len() >= 2, "reads saw the saves: {seen:?}");
}
