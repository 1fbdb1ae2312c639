//! The audit features of the real binary (issue 13): a streamed export of
//! 100,000 rows in bounded memory, the `export`, `bundle` and `erase-user`
//! commands, and `--keep-audit-days`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use kg_approval::Timestamp;
use kg_history::save::{SaveBody, save};
use kg_history::write::SaveContext;
use kg_history::{Store, read};
use serde_json::{Value, json};

mod support;

const BIN: &str = env!("CARGO_BIN_EXE_kg-approval-server");
const AUDIT_TOKEN: &str = "audit-token-cli-0001";
const WRITE_TOKEN: &str = "write-token-cli-0002";

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(db: &str, extra: &[&str]) -> Server {
    let (auditor, writer) = (format!("{AUDIT_TOKEN}=auditor@example.com:read,audit"), format!("{WRITE_TOKEN}=ann@example.com"));
    let args: Vec<&str> = ["--db", db, "--token", &auditor, "--token", &writer].into_iter().chain(extra.iter().copied()).collect();
    let (child, url) = support::spawn_binary(&args);
    Server { child, url }
}

/// Peak resident memory of a process, in bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

fn save_graph(store: &Store, id: &str, graph: Value, audit: Value, user: &str, now: Timestamp) {
    let body = json!({"id": id, "graphData": graph, "audit": audit}).to_string();
    let ctx = SaveContext { user, idempotency_key: None, now, keep_versions: None };
    save(store, SaveBody::parse(body.as_bytes()).unwrap(), ctx).unwrap();
}

/// A graph of `nodes` nodes whose `info` is rewritten by each of `versions` versions.
fn rewritten_graph(store: &Store, nodes: usize, versions: i64) -> String {
    let id = support::new_id();
    for v in 1..=versions {
        let graph = json!({
            "metadata": {"title": "Export", "version": if v == 1 { Value::Null } else { json!(v - 1) }},
            "nodes": (0..nodes).map(|i| json!({"id": format!("n{i}"), "label": format!("N{i}"),
                                               "info": format!("version {v} of node {i}: {}", "x".repeat(100))})).collect::<Vec<_>>(),
            "edges": []
        });
        save_graph(store, &id, graph, json!({"reason": format!("pass {v}"), "runId": "bulk"}), "ann@example.com", Timestamp::now());
    }
    id
}

/// A GET with the auditor's token, its answer as JSON.
async fn get_as_auditor(http: &reqwest::Client, url: &str) -> Value {
    http.get(url).header("X-API-Token", AUDIT_TOKEN).send().await.unwrap().json().await.unwrap()
}

/// Streams an export; returns (bytes, lines, its first bytes).
async fn stream(http: &reqwest::Client, url: &str) -> (usize, usize, Vec<u8>) {
    let mut response = http.get(url).header("X-API-Token", AUDIT_TOKEN).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let (mut bytes, mut lines, mut first) = (0usize, 0usize, Vec::new());
    while let Some(chunk) = response.chunk().await.unwrap() {
        bytes += chunk.len();
        lines += chunk.iter().filter(|b| **b == b'\n').count();
        if first.len() < 200 {
            first.extend_from_slice(&chunk[..chunk.len().min(200)]);
        }
    }
    (bytes, lines, first)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_export_of_100000_rows_streams_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite").to_string_lossy().into_owned();
    let opened = db.clone();
    let id = tokio::task::spawn_blocking(move || rewritten_graph(&kg_history::open(&opened).unwrap(), 1000, 100)).await.unwrap();
    let server = serve(&db, &[]);
    let http = reqwest::Client::new();
    // The export of one node first: it reads every version's changes (so
    // the database's page cache, up to 16 MB a reader, and one version's
    // changes are in memory after it) but writes only that node's rows.
    // Three at once: each reader connection has a page cache of its own, and
    // an export may be handed one that the one before left cold (its
    // request is checked on another while the last one is handed back):
    // after a single export of one node, the whole export grew the peak by
    // 8.4 MB in some runs and by 0.2 MB in others, the same build.
    let small = |node: &str| {
        let (http, url) = (&http, format!("{}/exportknowgraphaudit?format=csv&id={id}&nodeId={node}", server.url));
        async move { stream(http, &url).await }
    };
    let ((small_bytes, _, _), _, _) = tokio::join!(small("n0"), small("n1"), small("n2"));
    let before = peak_rss(server.child.id());
    let (bytes, lines, first) = stream(&http, &format!("{}/exportknowgraphaudit?format=csv&id={id}", server.url)).await;
    let grown = peak_rss(server.child.id()).saturating_sub(before);
    // v1 adds 1000 nodes (3 fields each) and the metadata (title, version);
    // each later version rewrites 1000 infos and the metadata's version.
    let rows = 1000 * 3 + 2 + 99 * (1000 + 1);
    assert_eq!(lines, rows + 1, "every row and the header");
    assert!(rows >= 100_000);
    assert!(String::from_utf8_lossy(&first).starts_with("graphId,version,time,user,"));
    eprintln!(
        "export: {rows} rows, {} MB streamed after a {} KB export of one node; the server's peak memory then grew {} KB",
        bytes >> 20,
        small_bytes >> 10,
        grown >> 10
    );
    assert!(bytes > 30 << 20, "the export is big: {bytes} bytes");
    // Holding the export would raise the peak by more than its size.
    assert!(grown < 4 << 20, "memory grew by {grown} bytes while streaming {bytes} bytes");

    // The command line writes the same bytes.
    let out = dir.path().join("audit.csv");
    let status = Command::new(BIN)
        .args(["export", "--db", &db, "--format", "csv", "--id", &id, "--out"])
        .arg(&out)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let file = std::fs::read(&out).unwrap();
    assert_eq!(file.len(), bytes);
    let body = http.get(format!("{}/exportknowgraphaudit?format=csv&id={id}", server.url)).header("X-API-Token", AUDIT_TOKEN);
    assert_eq!(body.send().await.unwrap().bytes().await.unwrap(), file, "the command and the route export the same bytes");
}

fn all_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks a bundle's files and manifest, and that no token is in it.
fn check_bundle(out: &Path, backup: &str) -> Value {
    let manifest: Value = serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    let files = manifest["files"].as_array().unwrap();
    let names: Vec<&str> = files.iter().map(|f| f["file"].as_str().unwrap()).collect();
    assert_eq!(names, [backup, "audit.csv", "stats.json", "system.json", "README.md"]);
    for f in files {
        let bytes = std::fs::read(out.join(f["file"].as_str().unwrap())).unwrap();
        assert_eq!((bytes.len() as u64, sha256_hex(&bytes)), (f["bytes"].as_u64().unwrap(), f["sha256"].as_str().unwrap().to_owned()));
    }
    for path in all_files(out) {
        let bytes = std::fs::read(&path).unwrap();
        for token in [AUDIT_TOKEN, WRITE_TOKEN] {
            assert!(!bytes.windows(token.len()).any(|w| w == token.as_bytes()), "{} holds a token", path.display());
        }
    }
    let system: Value = serde_json::from_str(&std::fs::read_to_string(out.join("system.json")).unwrap()).unwrap();
    assert_eq!(system["server"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(system["database"].as_str().unwrap().contains(if backup.ends_with("sqlite") { "SQLite" } else { "PostgreSQL" }));
    serde_json::from_str(&std::fs::read_to_string(out.join("stats.json")).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bundle_taken_while_the_server_saves_opens_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite").to_string_lossy().into_owned();
    let server = serve(&db, &[]);
    let http = reqwest::Client::new();
    // Saves keep arriving while the bundle is taken.
    let (url, writer_http) = (server.url.clone(), http.clone());
    let writer = tokio::spawn(async move {
        let mut ids = Vec::new();
        for i in 0..40 {
            let id = support::new_id();
            let body = json!({"id": id, "graphData": support::graph(None, &format!("g{i}")), "audit": {"reason": "load"}});
            let r = writer_http.post(format!("{url}/saveGraphWithHistory")).header("X-API-Token", WRITE_TOKEN).body(body.to_string());
            assert_eq!(r.send().await.unwrap().status(), 200);
            ids.push(id);
        }
        ids
    });
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let out = dir.path().join("bundle");
    let status = tokio::task::spawn_blocking({
        let (db, out) = (db.clone(), out.clone());
        move || Command::new(BIN).args(["bundle", "--db", &db, "--zip", "--audit-limit", "5", "--out"]).arg(&out).status().unwrap()
    })
    .await
    .unwrap();
    assert!(status.success());
    writer.await.unwrap();
    let stats = check_bundle(&out, "database.sqlite");
    let csv = std::fs::read_to_string(out.join("audit.csv")).unwrap();
    assert!(csv.starts_with(
        "graphId,version,time,user,source,model,runId,reason,target,id,field,old,new,accepted,decision,decidedBy,proposed,comment,rationale\r\n"
    ));
    let versions_in_csv: std::collections::HashSet<&str> = csv.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
    assert!(versions_in_csv.len() <= 5 + 1, "the newest 5 entries (ties at the cut included): {}", versions_in_csv.len());
    let zip = zip::ZipArchive::new(std::fs::File::open(dir.path().join("bundle.zip")).unwrap()).unwrap();
    assert_eq!(zip.len(), 6);

    // The copy opens with the server, and every graph in it verifies.
    let copy = out.join("database.sqlite").to_string_lossy().into_owned();
    let restored = serve(&copy, &[]);
    let graphs: Value = http.get(format!("{}/getknowgraphs", restored.url)).send().await.unwrap().json().await.unwrap();
    let graphs = graphs["graphs"].as_array().unwrap();
    assert_eq!(graphs.len() as u64, stats["graphs"].as_u64().unwrap());
    assert!(!graphs.is_empty());
    for g in graphs {
        let check = get_as_auditor(&http, &format!("{}/verifyknowgraph?id={}", restored.url, g["id"].as_str().unwrap())).await;
        assert_eq!(check["ok"], true, "{check}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_postgres_bundle_restores_into_a_new_database_and_verifies() {
    let db = support::postgres_database().await;
    let (opened, url) = (db.clone(), db.clone());
    let id = tokio::task::spawn_blocking(move || rewritten_graph(&kg_history::open(&opened).unwrap(), 5, 3)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bundle");
    let status = Command::new(BIN).args(["bundle", "--db", &url, "--out"]).arg(&out).status().unwrap();
    assert!(status.success());
    let stats = check_bundle(&out, "database.pgdump");
    assert_eq!((stats["versions"].clone(), stats["graphs"].clone()), (json!(3), json!(1)));
    let target = support::postgres_database().await;
    let restore = Command::new(kg_history::store::backup::pg_tool("pg_restore"))
        .args(["--no-owner", "-d", &target])
        .arg(out.join("database.pgdump"))
        .status()
        .unwrap();
    assert!(restore.success());
    let verified = tokio::task::spawn_blocking(move || {
        let store = kg_history::open(&target).unwrap();
        store.read(|c| read::verify(c, &id)).unwrap()
    })
    .await
    .unwrap();
    assert!(verified.ok && verified.versions == 3, "{verified:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn erase_user_on_the_command_line_rewrites_database_and_logs() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite").to_string_lossy().into_owned();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    std::fs::write(
        logs.join("requests-2026-11-29.jsonl"),
        "{\"user\":\"ann@example.com\",\"route\":\"/getknowgraph\"}\n{\"user\":\"bob@example.com\",\"route\":\"/x\"}\n",
    )
    .unwrap();
    let opened = db.clone();
    let id = tokio::task::spawn_blocking(move || {
        let store = kg_history::open(&opened).unwrap();
        let id = support::new_id();
        let graph =
            json!({"nodes": [{"id": "a", "label": "A", "createdBy": "ann@example.com", "updatedBy": "ann@example.com"}], "edges": []});
        save_graph(&store, &id, graph, json!({}), "ann@example.com", Timestamp::now());
        id
    })
    .await
    .unwrap();
    let output =
        Command::new(BIN).args(["erase-user", "--db", &db, "--user", "ann@example.com", "--request-log"]).arg(&logs).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let said: Value = serde_json::from_str(String::from_utf8_lossy(&output.stderr).lines().last().unwrap()).unwrap();
    assert_eq!((said["parts"].clone(), said["versions"].clone(), said["requestLogLines"].clone()), (json!(1), json!(1), json!(1)));
    let log = std::fs::read_to_string(logs.join("requests-2026-11-29.jsonl")).unwrap();
    assert!(!log.contains("ann@example.com") && log.contains("bob@example.com") && log.contains(said["pseudonym"].as_str().unwrap()));
    let raw = rusqlite::Connection::open(&db).unwrap();
    let named: i64 = raw
        .query_row(
            "SELECT (SELECT COUNT(*) FROM versions WHERE user LIKE '%ann@%') + (SELECT COUNT(*) FROM entities WHERE body LIKE '%ann@%')
                  + (SELECT COUNT(*) FROM people WHERE person LIKE '%ann@%') + (SELECT COUNT(*) FROM graphs WHERE owner LIKE '%ann@%' OR saved_by LIKE '%ann@%')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(named, 0);
    let verified =
        tokio::task::spawn_blocking(move || kg_history::open(&db).unwrap().read(|c| read::verify(c, &id)).unwrap()).await.unwrap();
    assert!(verified.ok, "{verified:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn keep_audit_days_expires_old_records_when_the_server_starts() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite").to_string_lossy().into_owned();
    let opened = db.clone();
    let id = tokio::task::spawn_blocking(move || {
        let store = kg_history::open(&opened).unwrap();
        let id = support::new_id();
        let days_ago = |d: i64| Timestamp::from_unix_millis(Timestamp::now().unix_millis() - d * 86_400_000).unwrap();
        save_graph(&store, &id, support::graph(None, "old"), json!({"reason": "long ago"}), "ann@example.com", days_ago(40));
        save_graph(&store, &id, support::graph(Some(1), "new"), json!({"reason": "today"}), "ann@example.com", days_ago(0));
        id
    })
    .await
    .unwrap();
    let server = serve(&db, &["--keep-audit-days", "30"]);
    let http = reqwest::Client::new();
    let mut audit = Value::Null;
    for _ in 0..50 {
        audit = get_as_auditor(&http, &format!("{}/getknowgraphaudit?id={id}", server.url)).await;
        if audit["entries"][1]["auditExpired"] == true {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let entries = audit["entries"].as_array().unwrap();
    assert_eq!((entries[0]["reason"].clone(), entries[0].get("auditExpired")), (json!("today"), None));
    assert_eq!((entries[1]["auditExpired"].clone(), entries[1].get("reason")), (json!(true), None), "{audit}");
    let check = get_as_auditor(&http, &format!("{}/verifyknowgraph?id={id}", server.url)).await;
    assert_eq!(check["ok"], true);
}
