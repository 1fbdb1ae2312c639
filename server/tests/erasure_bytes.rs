//! Issue 22, items 3 and 4: erased means erased in the bytes. After `POST
//! /eraseUser`, no byte of the database's files (SQLite: the file and its
//! `-wal`, after a clean stop; PostgreSQL: the files of its tables and
//! indexes), of a bundle or of an export made afterwards, nor of the
//! request log, holds the erased address. And an admin who erases themself
//! is not written back.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use kg_approval_server::Settings;
use kg_approval_server::request_log::RequestLog;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tokio_postgres::NoTls;

mod support;

const BIN: &str = env!("CARGO_BIN_EXE_kg-approval-server");
const ANN: &str = "ann-token-0001";
const BOB: &str = "bob-token-0002";
const ADMIN: &str = "admin-token-0005";
const ERASED: &str = "ann@example.com";

/// Whether `bytes` hold the erased address.
fn names_her(bytes: &[u8]) -> bool {
    bytes.windows(ERASED.len()).any(|w| w == ERASED.as_bytes())
}

/// Every file below `dir` (zip archives: every entry, inflated) that holds the address.
fn files_naming_her(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files_naming_her(&path));
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        if names_her(&bytes) {
            found.push(path.clone());
        }
        if path.extension().is_some_and(|e| e == "zip") {
            let mut zip = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
            for i in 0..zip.len() {
                let mut inflated = Vec::new();
                let mut file = zip.by_index(i).unwrap();
                file.read_to_end(&mut inflated).unwrap();
                if names_her(&inflated) {
                    found.push(path.join(file.name()));
                }
            }
        }
    }
    found
}

/// How many packed values in the SQLite database at `db` (patches and
/// audit records, see `kg_history_store::packed`) name her once unpacked:
/// deflated, the address is not in the file's bytes as such, yet it is there.
fn packed_naming_her(db: &Path) -> usize {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut found = 0;
    for query in
        ["SELECT body FROM entities WHERE typeof(body) = 'blob'", "SELECT audit_json FROM version_rows WHERE typeof(audit_json) = 'blob'"]
    {
        let mut stmt = conn.prepare(query).unwrap();
        let packed: Vec<Vec<u8>> = stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap();
        assert!(!packed.is_empty(), "{query}: nothing packed");
        found += packed.iter().filter(|p| names_her(kg_history_store::packed::unpack(p).unwrap().as_bytes())).count();
    }
    found
}

/// A graph Ann and Bob edit in turns: stamped rows rewritten, moved and
/// ended, so that old copies of Ann's stamps pass through free space.
async fn edited_in_turns(http: &Client, url: &str) -> String {
    let id = support::new_id();
    let nodes: Vec<Value> = (0..300)
        .map(|i| json!({"id": format!("n{i}"), "label": format!("N{i}"), "createdBy": ERASED, "updatedBy": ERASED, "info": "x".repeat(i % 7 * 40)}))
        .collect();
    let mut graph = json!({"metadata": {"title": "Shared", "createdBy": ERASED, "updatedBy": ERASED}, "updatedBy": ERASED, "nodes": nodes, "edges": []});
    for version in 0..24 {
        let (token, who) = if version % 2 == 0 { (ANN, ERASED) } else { (BOB, "bob@example.com") };
        if version > 0 {
            graph["metadata"]["version"] = json!(version);
            for i in (version..300).step_by(5) {
                graph["nodes"][i]["label"] = json!(format!("N{i} v{version} {}", "y".repeat(version * 3)));
                graph["nodes"][i]["updatedBy"] = json!(who);
            }
            graph["metadata"]["updatedBy"] = json!(who);
            graph["updatedBy"] = json!(who);
        }
        let body = json!({"id": id, "graphData": graph, "audit": {"reason": format!("pass {version}"), "source": "user"}});
        let response =
            http.post(format!("{url}/saveGraphWithHistory")).header("X-API-Token", token).body(body.to_string()).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap());
    }
    id
}

struct Binary {
    child: Child,
    url: String,
}

fn serve(db: &Path, logs: &Path) -> Binary {
    let (ann, bob) = (format!("{ANN}={ERASED}"), format!("{BOB}=bob@example.com"));
    let admin = format!("{ADMIN}=admin@example.com:admin");
    let (db, logs) = (db.to_str().unwrap(), logs.to_str().unwrap());
    let (child, url) = support::spawn_binary(&["--db", db, "--request-log", logs, "--token", &ann, "--token", &bob, "--token", &admin]);
    Binary { child, url }
}

impl Binary {
    /// SIGTERM, and the process's end.
    fn stop(mut self) {
        assert!(Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap().success());
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "the server did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn export_to(http: &Client, url: &str, query: &str, file: &Path) {
    let response = http.get(format!("{url}/exportknowgraphaudit?{query}")).header("X-API-Token", ADMIN).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    std::fs::write(file, response.bytes().await.unwrap()).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_erased_person_is_in_no_byte_of_the_sqlite_files_a_bundle_an_export_or_the_request_log() {
    let dir = tempfile::tempdir().unwrap();
    let (data, logs, out) = (dir.path().join("data"), dir.path().join("logs"), dir.path().join("out"));
    std::fs::create_dir_all(&data).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    let db = data.join("history.sqlite");
    let server = serve(&db, &logs);
    let http = Client::new();
    let id = edited_in_turns(&http, &server.url).await;
    let grant = json!({"graphId": id, "user": "bob@example.com", "role": "editor"});
    let response =
        http.post(format!("{}/grantGraphAccess", server.url)).header("X-API-Token", ANN).body(grant.to_string()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let before = std::fs::read(&db).unwrap().len() + std::fs::read(data.join("history.sqlite-wal")).map_or(0, |w| w.len());
    assert!(!files_naming_her(&data).is_empty(), "the address is in the files before");
    assert!(packed_naming_her(&db) > 0, "and in packed patches");

    let started = Instant::now();
    let erase = http.post(format!("{}/eraseUser", server.url)).header("X-API-Token", ADMIN).body(json!({"user": ERASED}).to_string());
    let response = erase.send().await.unwrap();
    let took = started.elapsed();
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap());
    eprintln!("erasure of {ERASED} (24 versions of 300 nodes, {before} bytes of database): {took:?}");

    export_to(&http, &server.url, "format=csv", &out.join("all.csv")).await;
    export_to(&http, &server.url, &format!("format=jsonl&id={id}"), &out.join("graph.jsonl")).await;
    let bundle =
        Command::new(BIN).args(["bundle", "--zip", "--db", db.to_str().unwrap(), "--out"]).arg(out.join("bundle")).output().unwrap();
    assert!(bundle.status.success(), "{}", String::from_utf8_lossy(&bundle.stderr));
    server.stop();

    for (what, dir) in [("database", &data), ("exports and bundle", &out), ("request log", &logs)] {
        let listed: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert!(files_naming_her(dir).is_empty(), "{what}: {:?} still hold {ERASED} (files: {listed:?})", files_naming_her(dir));
    }
    assert_eq!(packed_naming_her(&db), 0, "no packed patch or record names her");
    assert_eq!(packed_naming_her(&out.join("bundle/database.sqlite")), 0);
    assert!(std::fs::metadata(out.join("bundle/database.sqlite")).unwrap().len() > 0);
    assert!(std::fs::read_to_string(out.join("all.csv")).unwrap().lines().count() > 100, "the export has the rows");
}

/// The files of every table and index of the database at `url` (main fork,
/// every segment), after a checkpoint wrote what the buffers held.
async fn relation_files(url: &str) -> Vec<PathBuf> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.unwrap();
    tokio::spawn(connection);
    client.batch_execute("CHECKPOINT").await.unwrap();
    let data: String = client.query_one("SHOW data_directory", &[]).await.unwrap().get(0);
    let rows = client
        .query("SELECT pg_relation_filepath(c.oid) FROM pg_class c WHERE c.relkind IN ('r', 'i', 't') AND c.relfilenode <> 0", &[])
        .await
        .unwrap();
    let mut files = Vec::new();
    for row in rows {
        let base = Path::new(&data).join(row.get::<_, String>(0));
        files.extend(
            std::iter::once(base.clone()).chain((1..).map(|n| PathBuf::from(format!("{}.{n}", base.display())))).take_while(|p| p.exists()),
        );
    }
    assert!(files.len() > 20, "the tables' files are readable: {files:?}");
    files
}

fn naming_her(files: &[PathBuf]) -> Vec<&PathBuf> {
    files.iter().filter(|f| names_her(&std::fs::read(f).unwrap())).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_erased_person_is_in_no_byte_of_the_postgres_tables_a_bundle_an_export_or_the_request_log() {
    let dir = tempfile::tempdir().unwrap();
    let (logs, out) = (dir.path().join("logs"), dir.path().join("out"));
    std::fs::create_dir_all(&out).unwrap();
    let s = support::start_with(support::Backend::Postgres, Settings::default(), Some(RequestLog::open(&logs))).await;
    let id = edited_in_turns(&s.http, &s.url).await;
    let (status, _) = s.post(ANN, "/grantGraphAccess", json!({"graphId": id, "user": "bob@example.com", "role": "editor"})).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!naming_her(&relation_files(&s.db).await).is_empty(), "the address is in the tables' files before");

    let started = Instant::now();
    let (status, erasure) = s.post(ADMIN, "/eraseUser", json!({"user": ERASED})).await;
    let took = started.elapsed();
    assert_eq!(status, StatusCode::OK, "{erasure}");
    eprintln!("erasure of {ERASED} on PostgreSQL (24 versions of 300 nodes): {took:?}");

    export_to(&s.http, &s.url, "format=csv", &out.join("all.csv")).await;
    let bundle = Command::new(BIN).args(["bundle", "--db", &s.db, "--out"]).arg(out.join("bundle")).output().unwrap();
    assert!(bundle.status.success(), "{}", String::from_utf8_lossy(&bundle.stderr));
    let files = relation_files(&s.db).await;
    assert!(naming_her(&files).is_empty(), "the tables' files still hold {ERASED}: {:?}", naming_her(&files));
    for (what, dir) in [("exports and bundle", &out), ("request log", &logs)] {
        assert!(files_naming_her(dir).is_empty(), "{what}: {:?} still hold {ERASED}", files_naming_her(dir));
    }
}

/// The event log's kinds, oldest first, and the `through` of its scrubs.
async fn event_kinds(http: &Client, url: &str) -> Vec<(String, Option<i64>)> {
    let response = http.get(format!("{url}/getauditevents")).header("X-API-Token", ADMIN).send().await.unwrap();
    let log: Value = response.json().await.unwrap();
    assert_eq!(log["verification"]["ok"], true, "{log}");
    log["events"].as_array().unwrap().iter().map(|e| (e["kind"].as_str().unwrap().to_owned(), e["detail"]["through"].as_i64())).collect()
}

/// An erasure whose scrub is cut off (on PostgreSQL: its `VACUUM FULL`
/// cancelled while it waits for a lock, as a stop would end it) stands, says
/// so, and leaves her in the tables' files; the scrub the server does when
/// it starts (`erase::finish_scrubs`, on a second handle here) removes her
/// and is recorded. Before it, an erasure cut off there was never scrubbed.
#[tokio::test(flavor = "multi_thread")]
async fn an_erasure_cut_off_before_its_scrub_is_scrubbed_when_the_server_starts() {
    let s = support::start_with(support::Backend::Postgres, Settings::default(), None).await;
    edited_in_turns(&s.http, &s.url).await;
    let (blocker, connection) = tokio_postgres::connect(&s.db, NoTls).await.unwrap();
    tokio::spawn(connection);
    // The erasure's own writes go past this lock; its scrub waits for it.
    blocker.batch_execute("BEGIN; LOCK TABLE people IN ACCESS SHARE MODE").await.unwrap();
    let erasure = tokio::spawn({
        let (http, url) = (s.http.clone(), s.url.clone());
        async move {
            let response = http.post(format!("{url}/eraseUser")).header("X-API-Token", ADMIN).body(json!({"user": ERASED}).to_string());
            let response = response.send().await.unwrap();
            (response.status(), response.json::<Value>().await.unwrap())
        }
    });
    // Watched from outside the blocker's transaction, which would see one snapshot of the activity.
    let (watcher, connection) = tokio_postgres::connect(&s.db, NoTls).await.unwrap();
    tokio::spawn(connection);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let waiting =
            watcher.query("SELECT pid FROM pg_stat_activity WHERE query ILIKE 'VACUUM%' AND wait_event_type = 'Lock'", &[]).await.unwrap();
        if let Some(pid) = waiting.first().map(|r| r.get::<_, i32>(0)) {
            watcher.execute("SELECT pg_cancel_backend($1)", &[&pid]).await.unwrap();
            break;
        }
        assert!(Instant::now() < deadline, "the scrub never waited for the lock");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    blocker.batch_execute("COMMIT").await.unwrap();
    let (status, erasure) = erasure.await.unwrap();
    assert_eq!(status, StatusCode::OK, "committed is reported as done: {erasure}");
    assert_eq!(erasure["scrubbed"], false, "{erasure}");
    assert!(!naming_her(&relation_files(&s.db).await).is_empty(), "cut off: the old row versions are still in the files");
    assert_eq!(event_kinds(&s.http, &s.url).await, [("erasure".to_owned(), None)]);

    let db = s.db.clone();
    let done = tokio::task::spawn_blocking(move || {
        let store = kg_history::open(&db).unwrap();
        (kg_history::erase::finish_scrubs(&store).unwrap(), kg_history::erase::finish_scrubs(&store).unwrap())
    });
    let event = erasure["event"].as_i64().unwrap();
    assert_eq!(done.await.unwrap(), (Some(event), None), "scrubbed once, then nothing is owed");
    let files = relation_files(&s.db).await;
    assert!(naming_her(&files).is_empty(), "the tables' files still hold {ERASED}: {:?}", naming_her(&files));
    assert_eq!(event_kinds(&s.http, &s.url).await, [("erasure".to_owned(), None), ("scrub".to_owned(), Some(event))]);
}

/// The binary does the scrub an erasure owes when it starts. Owed here
/// because a reader held old pages, so that the write-ahead log could not be
/// emptied; then the process is killed, and started again.
#[tokio::test(flavor = "multi_thread")]
async fn the_server_does_an_owed_scrub_when_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let (data, logs) = (dir.path().join("data"), dir.path().join("logs"));
    std::fs::create_dir_all(&data).unwrap();
    let db = data.join("history.sqlite");
    let server = serve(&db, &logs);
    let http = Client::new();
    edited_in_turns(&http, &server.url).await;
    let reader = rusqlite::Connection::open(&db).unwrap();
    reader.execute_batch("BEGIN; SELECT COUNT(*) FROM versions;").unwrap();
    let response = http.post(format!("{}/eraseUser", server.url)).header("X-API-Token", ADMIN).body(json!({"user": ERASED}).to_string());
    let erasure: Value = response.send().await.unwrap().json().await.unwrap();
    assert_eq!(erasure["scrubbed"], false, "{erasure}");
    assert_eq!(event_kinds(&http, &server.url).await, [("erasure".to_owned(), None)]);
    drop(reader);
    drop(server);

    let server = serve(&db, &logs);
    let event = erasure["event"].as_i64().unwrap();
    assert_eq!(event_kinds(&http, &server.url).await, [("erasure".to_owned(), None), ("scrub".to_owned(), Some(event))]);
    server.stop();
    assert!(files_naming_her(&data).is_empty(), "{:?} still hold {ERASED}", files_naming_her(&data));
}
