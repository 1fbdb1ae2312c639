//! The request log (`--request-log DIR`) and `GET /healthz`: one line per
//! request with the right fields, nothing secret in it, and a failing log
//! disk that fails no save.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kg_approval_server::Settings;
use kg_approval_server::request_log::RequestLog;
use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use support::{ADMIN, ANN, Backend, graph, new_id, start_on, start_with};

/// Text of the saved body that must never reach the log.
const BODY_TEXT: &str = "distinctive-body-text-7f3a91";
const IDEMPOTENCY_KEY: &str = "idempotency-secret-9c1d55";
const BAD_TOKEN: &str = "bad-token-secret-4d2e77";
const QUERY_SECRET: &str = "query-secret-5e2b13";

/// The UTC day, as the log names its files.
fn today() -> String {
    kg_approval::Timestamp::now().to_string()[..10].to_owned()
}

/// What the client saw of one response.
#[derive(Debug)]
struct Seen {
    request_id: String,
    status: StatusCode,
    body_len: usize,
    content_length: Option<u64>,
    body: Value,
}

async fn call(request: RequestBuilder) -> Seen {
    let response = request.send().await.unwrap();
    let request_id = response.headers().get("x-request-id").expect("an X-Request-Id header").to_str().unwrap().to_owned();
    let (status, content_length) = (response.status(), response.content_length());
    let bytes = response.bytes().await.unwrap();
    Seen { request_id, status, body_len: bytes.len(), content_length, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) }
}

/// The lines of `file` once there are at least `count` (or after 10 s), then
/// a moment more to catch any extra line.
fn lines(file: &Path, count: usize) -> Vec<Value> {
    let read = || -> Vec<Value> {
        std::fs::read_to_string(file)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l:?}")))
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while read().len() < count && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    read()
}

/// The one line of a request.
fn line_of<'a>(lines: &'a [Value], seen: &Seen) -> &'a Value {
    let found: Vec<_> = lines.iter().filter(|l| l["requestId"] == seen.request_id.as_str()).collect();
    assert_eq!(found.len(), 1, "exactly one line for {seen:?}: {lines:#?}");
    found[0]
}

/// The fields every line has, and the ones that describe the response.
fn check_line(line: &Value, seen: &Seen, method: &str, route: &str, user: &str) {
    assert_eq!(line["method"], method, "{line}");
    assert_eq!(line["route"], route, "{line}");
    assert_eq!(line["user"], user, "{line}");
    assert_eq!(line["status"], seen.status.as_u16(), "{line}");
    assert_eq!(line["bytesOut"], seen.body_len as u64, "the body the client got: {line}");
    assert!(line["durationMs"].is_u64(), "{line}");
    let ts = line["ts"].as_str().unwrap();
    assert!(ts.starts_with(&today()) && ts.ends_with('Z') && ts.len() == 24, "RFC 3339 UTC with ms: {ts}");
    assert_eq!(seen.request_id.len(), 32, "a UUID without dashes: {}", seen.request_id);
    let keys: Vec<&str> = line.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["ts", "requestId", "method", "route", "graphId", "version", "user", "status", "durationMs", "bytesIn", "bytesOut"],
        "{line}"
    );
}

/// Nothing secret in the log: no token, no body, no header value, no query string.
fn check_no_secrets(text: &str) {
    for secret in [ANN, BAD_TOKEN, BODY_TEXT, IDEMPOTENCY_KEY, QUERY_SECRET, "kept whole", "graphData", "?", "note="] {
        assert!(!text.contains(secret), "{secret:?} is in the request log:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_request_gets_one_line_with_its_route_user_status_and_sizes() {
    let logs = tempfile::tempdir().unwrap();
    // Created by the server.
    let dir = logs.path().join("nested/logs");
    let s = start_with(Backend::Sqlite, Settings::default(), Some(RequestLog::open(&dir))).await;
    let http = Client::new();
    let id = new_id();
    let body = json!({"id": id, "graphData": graph(None, BODY_TEXT), "override": false}).to_string();

    let save = call(
        http.post(format!("{}/saveGraphWithHistory", s.url))
            .header("X-API-Token", ANN)
            .header("Idempotency-Key", IDEMPOTENCY_KEY)
            .body(body.clone()),
    )
    .await;
    assert_eq!((save.status, &save.body["newVersion"]), (StatusCode::OK, &json!(1)), "{:?}", save.body);
    let read = call(http.get(format!("{}/getknowgraph?id={id}", s.url)).header("X-API-Token", ANN)).await;
    assert_eq!(read.status, StatusCode::OK);
    let version = call(http.get(format!("{}/getknowgraphversion?id={id}&version=1&note={QUERY_SECRET}", s.url))).await;
    assert_eq!(version.status, StatusCode::OK);
    let refused = call(http.post(format!("{}/saveGraphWithHistory", s.url)).header("X-API-Token", BAD_TOKEN).body(body.clone())).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let missing = call(http.get(format!("{}/no/such/route?token={QUERY_SECRET}", s.url))).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let health = call(http.get(format!("{}/healthz", s.url)).header("Origin", "http://editor.test")).await;
    assert_eq!(health.status, StatusCode::OK);

    let file = dir.join(format!("requests-{}.jsonl", today()));
    let lines = lines(&file, 6);
    assert_eq!(lines.len(), 6, "one line per request: {lines:#?}");

    let line = line_of(&lines, &save);
    check_line(line, &save, "POST", "/saveGraphWithHistory", "ann@example.com");
    assert_eq!((&line["graphId"], &line["version"]), (&json!(id), &json!(1)), "{line}");
    assert_eq!(line["bytesIn"], body.len() as u64, "the body read: {line}");
    assert_eq!(save.content_length, Some(save.body_len as u64), "the logged body keeps its Content-Length");

    let line = line_of(&lines, &read);
    check_line(line, &read, "GET", "/getknowgraph", "ann@example.com");
    assert_eq!((&line["graphId"], &line["version"], &line["bytesIn"]), (&json!(id), &Value::Null, &json!(0)), "{line}");
    assert!(read.body_len > BODY_TEXT.len(), "the graph was sent whole");

    let line = line_of(&lines, &version);
    check_line(line, &version, "GET", "/getknowgraphversion", "anonymous");
    assert_eq!((&line["graphId"], &line["version"]), (&json!(id), &json!(1)), "{line}");

    let line = line_of(&lines, &refused);
    check_line(line, &refused, "POST", "/saveGraphWithHistory", "anonymous");
    assert_eq!((&line["graphId"], &line["bytesIn"]), (&Value::Null, &json!(0)), "refused before the body is read: {line}");

    let line = line_of(&lines, &missing);
    check_line(line, &missing, "GET", "(unmatched)", "anonymous");
    assert_eq!(line["graphId"], Value::Null, "{line}");

    let line = line_of(&lines, &health);
    check_line(line, &health, "GET", "/healthz", "anonymous");

    check_no_secrets(&std::fs::read_to_string(&file).unwrap());

    // Browsers may read the request id.
    let response = http.get(format!("{}/healthz", s.url)).header("Origin", "http://editor.test").send().await.unwrap();
    let exposed = response.headers().get("access-control-expose-headers").map(|v| v.to_str().unwrap().to_ascii_lowercase());
    assert!(exposed.is_some_and(|v| v.contains("x-request-id")), "{:?}", response.headers());
    // And /healthz counts what was written (details for admins only).
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["requestLog"], json!({"ok": true}), "status only for anyone: {body}");
    let body: Value = http.get(format!("{}/healthz", s.url)).header("X-API-Token", ADMIN).send().await.unwrap().json().await.unwrap();
    assert_eq!(body["requestLog"]["ok"], true, "{body}");
    assert_eq!(body["requestLog"]["dir"], dir.display().to_string(), "{body}");
    assert!(body["requestLog"]["written"].as_u64().unwrap() >= 6, "{body}");
    assert_eq!((&body["requestLog"]["failed"], &body["requestLog"]["lastError"]), (&json!(0), &Value::Null), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn healthz_answers_without_a_token_and_without_a_request_log() {
    let s = start_on(Backend::Sqlite, Settings::default()).await;
    let response = s.http.get(format!("{}/healthz", s.url)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get("x-request-id").is_none(), "no request log, no request id");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"ok": true, "database": "ok", "requestLog": null}));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_log_that_is_a_regular_file_fails_no_save() {
    let logs = tempfile::tempdir().unwrap();
    let not_a_dir = logs.path().join("file");
    std::fs::write(&not_a_dir, "").unwrap();
    let s = start_with(Backend::Sqlite, Settings::default(), Some(RequestLog::open(&not_a_dir))).await;
    let id = s.create().await;
    let (status, body) = s.get(&format!("/getknowgraph?id={id}")).await;
    assert_eq!((status, &body["metadata"]["version"]), (StatusCode::OK, &json!(1)));
    let body = healthz_once_failed(&s.url, 2).await;
    assert_eq!((&body["ok"], &body["database"]), (&json!(true), &json!("ok")), "{body}");
    assert!(body["requestLog"]["lastError"].as_str().unwrap().contains(&not_a_dir.display().to_string()), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn healthz_tells_anyone_its_status_and_only_admins_its_paths_and_errors() {
    let logs = tempfile::tempdir().unwrap();
    let not_a_dir = logs.path().join("private-log-path");
    std::fs::write(&not_a_dir, "").unwrap();
    let s = start_with(Backend::Sqlite, Settings::default(), Some(RequestLog::open(&not_a_dir))).await;
    s.create().await;
    let details = healthz_once_failed(&s.url, 1).await;
    assert!(details["requestLog"]["dir"].as_str().unwrap().contains("private-log-path"), "{details}");
    for token in [None, Some(ANN), Some(support::AUDITOR)] {
        let mut request = s.http.get(format!("{}/healthz", s.url));
        if let Some(token) = token {
            request = request.header("X-API-Token", token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let text = response.text().await.unwrap();
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), json!({"ok": true, "database": "ok", "requestLog": {"ok": false}}));
        assert!(!text.contains("private-log-path") && !text.contains(&logs.path().display().to_string()), "{token:?}: {text}");
    }
}

/// `/healthz` once the log has failed to write at least `lines` lines: a
/// 200 (saves work) with `requestLog.ok` false and the error.
async fn healthz_once_failed(url: &str, lines: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = Client::new().get(format!("{url}/healthz")).header("X-API-Token", ADMIN).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "a failing request log is not a failing server");
        let body: Value = response.json().await.unwrap();
        if body["requestLog"]["failed"].as_u64().unwrap() >= lines || Instant::now() > deadline {
            let log = &body["requestLog"];
            assert_eq!(log["ok"], false, "{body}");
            assert!(log["failed"].as_u64().unwrap() >= lines, "{body}");
            assert!(!log["lastError"].as_str().unwrap_or_default().is_empty(), "{body}");
            assert!(log["lastErrorAt"].as_str().is_some_and(|at| at.starts_with(&today())), "{body}");
            return body;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The binary on a loopback port with `--request-log`, killed when dropped.
struct Binary {
    child: Child,
    url: String,
    stderr: PathBuf,
    _dir: tempfile::TempDir,
}

impl Binary {
    fn start(request_log: &Path) -> Binary {
        Binary::start_with(request_log, &[])
    }

    fn start_with(request_log: &Path, args: &[&str]) -> Binary {
        let dir = tempfile::tempdir().unwrap();
        let stderr = dir.path().join("stderr.txt");
        let mut child = Command::new(env!("CARGO_BIN_EXE_kg-approval-server"))
            .args(["--addr", "127.0.0.1:0", "--db", dir.path().join("h.sqlite").to_str().unwrap()])
            .args(["--token", &format!("{ANN}=ann@example.com"), "--request-log", request_log.to_str().unwrap()])
            .args(["--token", &format!("{ADMIN}=admin@example.com:admin")])
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("the server starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let url = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected first line {line:?}")).to_owned();
        Binary { child, url, stderr, _dir: dir }
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_writes_the_log_of_its_requests() {
    let logs = tempfile::tempdir().unwrap();
    let server = Binary::start(logs.path());
    let http = Client::new();
    let id = new_id();
    let body = json!({"id": id, "graphData": graph(None, BODY_TEXT), "override": false}).to_string();
    let save = call(http.post(format!("{}/saveGraphWithHistory", server.url)).header("X-API-Token", ANN).body(body.clone())).await;
    assert_eq!(save.status, StatusCode::OK, "{:?}", save.body);
    let read = call(http.get(format!("{}/getknowgraphversion?id={id}&version=1", server.url))).await;
    assert_eq!(read.status, StatusCode::OK);

    let file = logs.path().join(format!("requests-{}.jsonl", today()));
    let lines = lines(&file, 2);
    assert_eq!(lines.len(), 2, "{lines:#?}");
    let line = line_of(&lines, &save);
    check_line(line, &save, "POST", "/saveGraphWithHistory", "ann@example.com");
    assert_eq!((&line["graphId"], &line["version"], &line["bytesIn"]), (&json!(id), &json!(1), &json!(body.len())), "{line}");
    let line = line_of(&lines, &read);
    check_line(line, &read, "GET", "/getknowgraphversion", "anonymous");
    assert_eq!((&line["graphId"], &line["version"]), (&json!(id), &json!(1)), "{line}");
    check_no_secrets(&std::fs::read_to_string(&file).unwrap());
    let stderr = std::fs::read_to_string(&server.stderr).unwrap();
    assert!(!stderr.contains("request log"), "no failure reported: {stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_log_disk_fails_no_save_and_is_reported_once() {
    let logs = tempfile::tempdir().unwrap();
    // Today's file cannot be opened (even by root): a directory has its name.
    let blocked = logs.path().join(format!("requests-{}.jsonl", today()));
    std::fs::create_dir(&blocked).unwrap();
    let server = Binary::start(logs.path());
    let http = Client::new();
    let id = new_id();
    let body = json!({"id": id, "graphData": graph(None, BODY_TEXT), "override": false}).to_string();
    let save = call(http.post(format!("{}/saveGraphWithHistory", server.url)).header("X-API-Token", ANN).body(body)).await;
    assert_eq!((save.status, &save.body["newVersion"]), (StatusCode::OK, &json!(1)), "{:?}", save.body);
    let read = call(http.get(format!("{}/getknowgraph?id={id}", server.url))).await;
    assert_eq!((read.status, &read.body["nodes"][0]["label"]), (StatusCode::OK, &json!(BODY_TEXT)), "the version is stored");
    // A second save, after the first failure.
    let again = json!({"id": id, "graphData": graph(Some(1), "again"), "override": false}).to_string();
    let save = call(http.post(format!("{}/saveGraphWithHistory", server.url)).header("X-API-Token", ANN).body(again)).await;
    assert_eq!((save.status, &save.body["newVersion"]), (StatusCode::OK, &json!(2)), "{:?}", save.body);

    let health = healthz_once_failed(&server.url, 3).await;
    assert_eq!((&health["ok"], &health["database"]), (&json!(true), &json!("ok")), "{health}");
    let error = health["requestLog"]["lastError"].as_str().unwrap();
    assert!(error.contains(&blocked.display().to_string()), "the error names the file: {error}");
    assert_eq!(health["requestLog"]["written"], 0, "{health}");
    assert!(std::fs::read_dir(&blocked).unwrap().next().is_none(), "nothing was written");

    let stderr = std::fs::read_to_string(&server.stderr).unwrap();
    assert_eq!(stderr.matches("request log: cannot write").count(), 1, "reported once (then at most once a minute):\n{stderr}");
    assert!(stderr.contains(&blocked.display().to_string()), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_body_is_logged_as_the_408_the_client_got() {
    let logs = tempfile::tempdir().unwrap();
    let server = Binary::start_with(logs.path(), &["--body-timeout-secs", "1"]);
    let addr = server.url.strip_prefix("http://").unwrap();
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let head = format!(
        "POST /saveGraphWithHistory HTTP/1.1\r\nHost: localhost\r\nX-API-Token: {ANN}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    );
    let sent = br#"{"id": "6f1c2d3e-4b5a-4c6d"#;
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(sent).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut got = Vec::new();
    let _ = stream.read_to_end(&mut got);
    let response = String::from_utf8_lossy(&got).into_owned();
    assert!(response.starts_with("HTTP/1.1 408"), "{response:?}");
    let request_id = response
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("x-request-id:").map(|v| v.trim().to_owned()))
        .unwrap_or_else(|| panic!("no X-Request-Id on the 408: {response:?}"));

    let lines = lines(&logs.path().join(format!("requests-{}.jsonl", today())), 1);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    let line = &lines[0];
    assert_eq!(line["requestId"], request_id, "{line}");
    assert_eq!(
        (&line["status"], &line["route"], &line["user"]),
        (&json!(408), &json!("/saveGraphWithHistory"), &json!("ann@example.com")),
        "{line}"
    );
    assert_eq!(line["bytesIn"], sent.len() as u64, "the bytes that arrived: {line}");
    assert!(line["durationMs"].as_u64().unwrap() >= 900, "until the timeout: {line}");
}

/// The name of the log file of the day `days` days before today.
fn file_of_days_ago(days: i64) -> String {
    let at = kg_approval::Timestamp::from_unix_millis(kg_approval::Timestamp::now().unix_millis() - days * 86_400_000).unwrap();
    format!("requests-{}.jsonl", &at.to_string()[..10])
}

#[tokio::test(flavor = "multi_thread")]
async fn request_log_files_older_than_keep_request_log_days_are_removed_and_bundles_carry_the_rest() {
    let logs = tempfile::tempdir().unwrap();
    for days in [40, 31, 29] {
        std::fs::write(logs.path().join(file_of_days_ago(days)), format!("{{\"user\":\"ann@example.com\",\"daysAgo\":{days}}}\n")).unwrap();
    }
    std::fs::write(logs.path().join("notes.txt"), "not a log file").unwrap();
    let server = Binary::start_with(logs.path(), &["--keep-request-log-days", "30"]);
    let http = Client::new();
    assert_eq!(call(http.get(format!("{}/getknowgraphs", server.url))).await.status, StatusCode::OK);
    let deadline = Instant::now() + Duration::from_secs(10);
    // The expiry runs at start; today's line is written by the log's own
    // thread: wait for both.
    while (logs.path().join(file_of_days_ago(31)).exists() || !logs.path().join(file_of_days_ago(0)).exists()) && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut left: Vec<String> = std::fs::read_dir(logs.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    left.sort();
    assert_eq!(left, ["notes.txt".to_owned(), file_of_days_ago(29), file_of_days_ago(0)], "the files of 40 and 31 days ago went");
    lines(&logs.path().join(file_of_days_ago(0)), 1);

    // A bundle carries what is left, each file in its manifest.
    let bundles = tempfile::tempdir().unwrap();
    let out = bundles.path().join("bundle");
    let db = server._dir.path().join("h.sqlite");
    let bundle = Command::new(env!("CARGO_BIN_EXE_kg-approval-server"))
        .args(["bundle", "--zip", "--db", db.to_str().unwrap(), "--request-log", logs.path().to_str().unwrap(), "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(bundle.status.success(), "{}", String::from_utf8_lossy(&bundle.stderr));
    let manifest: Value = serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    let listed: Vec<&str> = manifest["files"].as_array().unwrap().iter().map(|f| f["file"].as_str().unwrap()).collect();
    for day in [29, 0] {
        let name = format!("request-log/{}", file_of_days_ago(day));
        assert!(listed.contains(&name.as_str()), "{name} in {listed:?}");
        let copied = std::fs::read(out.join(&name)).unwrap();
        let entry = manifest["files"].as_array().unwrap().iter().find(|f| f["file"] == name.as_str()).unwrap();
        assert_eq!(entry["bytes"], copied.len());
    }
    assert!(!listed.iter().any(|f| f.contains("notes")), "{listed:?}");
    let zip = zip::ZipArchive::new(std::fs::File::open(out.with_extension("zip")).unwrap()).unwrap();
    assert!(zip.file_names().any(|n| n == format!("request-log/{}", file_of_days_ago(29))));

    // It needs a request log to apply to.
    let alone = Command::new(env!("CARGO_BIN_EXE_kg-approval-server")).args(["--keep-request-log-days", "30"]).output().unwrap();
    assert!(!alone.status.success() && String::from_utf8_lossy(&alone.stderr).contains("--request-log"));
}
