//! Alarms (issue 26): every rule of a rules file triggered over HTTP on the
//! real binary, each seen as an event in the chained log, as a request-log
//! line and as a webhook delivery to a receiver this test runs, whose
//! HMAC-SHA256 signature the test checks itself; a failed delivery is
//! retried; a receiver that never answers does not slow a save; over
//! HTTPS, only a receiver whose certificate verifies gets an alarm; and
//! /metrics counts alarms and deliveries.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

#[path = "support/keys.rs"]
mod keys;
mod support;
use support::spawn_binary_with_env;

const SECRET: &str = "a-webhook-secret-of-some-length";
const ANN: &str = "ann-token-0001";
const BOB: &str = "bob-token-0002";
const AUDITOR: &str = "audit-token-0003";
const ADMIN: &str = "admin-token-0005";

/// What the receiver got: headers and the raw body of each POST.
type Received = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// A webhook receiver on a loopback port that answers 503 to the first
/// `fail_first` posts, then 200; `hang` never answers.
async fn receiver(fail_first: usize, hang: bool) -> (String, Received) {
    let got: Received = Arc::default();
    let kept = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let got = kept.clone();
            async move {
                if hang {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                }
                let mut got = got.lock().unwrap();
                got.push((headers, body));
                if got.len() <= fail_first { AxumStatus::SERVICE_UNAVAILABLE } else { AxumStatus::OK }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

/// The test's own check of a delivery's signature: `t=<secs>,v1=<hex
/// HMAC-SHA256(secret, "<t>.<body>")>`, and `t` within 5 minutes.
fn signed(headers: &HeaderMap, body: &[u8]) -> bool {
    let header = headers.get("x-kg-signature").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let parts: std::collections::HashMap<&str, &str> = header.split(',').filter_map(|p| p.split_once('=')).collect();
    let (Some(t), Some(v1)) = (parts.get("t"), parts.get("v1")) else { return false };
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    expected == *v1 && (now - t.parse::<i64>().unwrap()).abs() < 300
}

struct Running {
    child: std::process::Child,
    url: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
    log_dir: std::path::PathBuf,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Running {
    async fn call(&self, method: reqwest::Method, token: Option<&str>, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.header("X-API-Token", token);
        }
        if let Some(body) = body {
            request = request.body(body.to_string());
        }
        let response = request.send().await.unwrap();
        (response.status(), response.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, Some(token), path, Some(body)).await
    }

    async fn get(&self, token: Option<&str>, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, token, path, None).await
    }

    /// The alarm events of the log, once `n` are there (or after 15 s).
    async fn alarm_events(&self, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let (_, log) = self.get(Some(AUDITOR), "/getauditevents").await;
            assert_eq!(log["verification"]["ok"], true, "the event log verifies: {log}");
            let alarms: Vec<Value> = log["events"].as_array().unwrap().iter().filter(|e| e["kind"] == "alarm").cloned().collect();
            if alarms.len() >= n || Instant::now() > deadline {
                return alarms;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

async fn start(rules: Value, webhook: &str) -> Running {
    start_with(rules, webhook, &[]).await
}

/// The binary with `rules` and `webhook`, and `env` set for it.
async fn start_with(rules: Value, webhook: &str, env: &[(&str, &std::path::Path)]) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let rules_file = dir.path().join("alarms.json");
    std::fs::write(&rules_file, rules.to_string()).unwrap();
    let db = dir.path().join("history.sqlite");
    let log_dir = dir.path().join("requests");
    let tokens = [
        format!("{ANN}=ann@example.com"),
        format!("{BOB}=bob@example.com"),
        format!("{AUDITOR}=auditor@example.com:read,audit"),
        format!("{ADMIN}=admin@example.com:admin"),
    ];
    let mut args: Vec<String> = [
        "--db",
        db.to_str().unwrap(),
        "--alarms",
        rules_file.to_str().unwrap(),
        "--alarm-webhook",
        webhook,
        "--alarm-webhook-secret",
        SECRET,
        "--request-log",
        log_dir.to_str().unwrap(),
    ]
    .map(str::to_owned)
    .to_vec();
    for token in tokens {
        args.extend(["--token".to_owned(), token]);
    }
    let env: Vec<(String, std::path::PathBuf)> = env.iter().map(|(k, v)| (k.to_string(), v.to_path_buf())).collect();
    let (child, url) = tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &std::path::Path)> = env.iter().map(|(k, v)| (k.as_str(), v.as_path())).collect();
        spawn_binary_with_env(&args.iter().map(String::as_str).collect::<Vec<_>>(), &env)
    })
    .await
    .unwrap();
    Running { child, url, http: reqwest::Client::new(), _dir: dir, log_dir }
}

fn nodes(ids: &[&str]) -> Value {
    json!(ids.iter().map(|id| json!({"id": id, "label": id.to_uppercase()})).collect::<Vec<_>>())
}

#[tokio::test(flavor = "multi_thread")]
async fn every_rule_fires_over_http_into_the_event_log_the_request_log_and_a_signed_webhook() {
    let (hook, received) = receiver(1, false).await;
    let rules = json!({"rules": [
        {"id": "sign-ins-per-address", "rule": "failedSignIns", "per": "address", "max": 2, "windowSeconds": 60},
        {"id": "sign-ins-per-token", "rule": "failedSignIns", "per": "token", "max": 2, "windowSeconds": 60},
        {"rule": "largeRemoval", "maxNodes": 1},
        {"rule": "bulkAccept", "max": 2},
        {"rule": "override"},
        {"rule": "savesPerUser", "max": 3, "windowSeconds": 600},
        {"rule": "graphsReadPerToken", "max": 2, "windowSeconds": 600},
        {"rule": "erasure"}
    ]});
    let s = start(rules, &hook).await;

    // Three refused sign-ins with one token from this address.
    for _ in 0..3 {
        let (status, _) = s.get(Some("wrong-token-123"), "/getknowgraphs").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // Ann creates a graph of 4 nodes, removes 2 of them, accepts 3 changes in bulk, overrides.
    let id = uuid::Uuid::new_v4().to_string();
    let create = json!({"id": id, "graphData": {"metadata": {"title": "T"}, "nodes": nodes(&["a", "b", "c", "d"]), "edges": []}});
    assert_eq!(s.post(ANN, "/saveGraphWithHistory", create).await.0, StatusCode::OK);
    let removal = json!({"graphId": id, "expectedVersion": 1, "removeNodeIds": ["c", "d"],
                         "audit": {"accepted": ["node/c", "node/d"], "rejected": []}});
    assert_eq!(s.post(ANN, "/patchGraph", removal).await.0, StatusCode::OK);
    let bulk = |id: &str| json!({"decision": "accepted", "decidedBy": "bulk", "filter": "all", "id": id});
    let decisions: serde_json::Map<String, Value> =
        ["node/a/label", "node/b/label", "node/e"].iter().map(|c| (c.to_string(), bulk(c))).collect();
    let decisions: serde_json::Map<String, Value> = decisions
        .into_iter()
        .map(|(k, mut v)| {
            v.as_object_mut().unwrap().remove("id");
            (k, v)
        })
        .collect();
    let accept_all = json!({"graphId": id, "expectedVersion": 2,
        "patchNodes": [{"nodeId": "a", "fields": {"label": "A2"}}, {"nodeId": "b", "fields": {"label": "B2"}}],
        "addNodes": [{"id": "e", "label": "E"}],
        "audit": {"accepted": ["node/a/label", "node/b/label", "node/e"], "rejected": [], "decisionMode": "explicit", "decisions": decisions}});
    let (status, body) = s.post(ANN, "/patchGraph", accept_all).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let stale = json!({"id": id, "override": true,
                       "graphData": {"metadata": {"title": "T", "version": 1}, "nodes": nodes(&["a", "b", "e"]), "edges": []}});
    let (status, body) = s.post(ANN, "/saveGraphWithHistory", stale).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Two more graphs; Bob reads all three.
    let mut ids = vec![id.clone()];
    for _ in 0..2 {
        let other = uuid::Uuid::new_v4().to_string();
        let body = json!({"id": other, "graphData": {"metadata": {}, "nodes": nodes(&["x"]), "edges": []}});
        assert_eq!(s.post(BOB, "/saveGraphWithHistory", body).await.0, StatusCode::OK);
        ids.push(other);
    }
    for graph in &ids {
        assert_eq!(s.get(Some(BOB), &format!("/getknowgraph?id={graph}")).await.0, StatusCode::OK);
    }
    // An erasure.
    let (status, erased) = s.post(ADMIN, "/eraseUser", json!({"user": "dave@example.com"})).await;
    assert_eq!(status, StatusCode::OK, "{erased}");

    let events = s.alarm_events(8).await;
    let by_rule =
        |rule: &str| events.iter().find(|e| e["detail"]["rule"] == rule).cloned().unwrap_or_else(|| panic!("{rule}: {events:#?}"));
    assert_eq!(events.len(), 8, "{events:#?}");
    let fingerprint: String = Sha256::digest(b"wrong-token-123")[..8].iter().map(|b| format!("{b:02x}")).collect();
    let expected = [
        ("sign-ins-per-address", json!({"address": "127.0.0.1"}), json!({"count": 3, "max": 2, "windowSeconds": 60})),
        ("sign-ins-per-token", json!({"token": fingerprint}), json!({"count": 3, "max": 2, "windowSeconds": 60})),
        (
            "largeRemoval",
            json!({"graphId": id, "version": 2}),
            json!({"nodesRemoved": 2, "nodesBefore": 4, "percentRemoved": 50.0, "maxNodes": 1, "maxPercent": null}),
        ),
        ("bulkAccept", json!({"graphId": id, "version": 3}), json!({"acceptedInBulk": 3, "max": 2})),
        ("override", json!({"graphId": id, "version": 4}), json!({"override": true})),
        ("savesPerUser", json!({}), json!({"versions": 4, "max": 3, "windowSeconds": 600})),
        ("graphsReadPerToken", json!({}), json!({"graphs": 3, "max": 2, "windowSeconds": 600})),
        ("erasure", json!({"pseudonym": erased["pseudonym"]}), json!({"event": erased["event"]})),
    ];
    for (rule, subject, figures) in &expected {
        let event = by_rule(rule);
        assert_eq!((event["actor"].clone(), event["detail"]["kind"].is_string()), (json!("server"), true));
        for (key, value) in subject.as_object().unwrap() {
            assert_eq!(&event["detail"]["subject"][key], value, "{rule}: {event}");
        }
        for (key, value) in figures.as_object().unwrap() {
            assert_eq!(&event["detail"]["figures"][key], value, "{rule}: {event}");
        }
    }
    // The log names people by pseudonym only; the alarms view names them again.
    for rule in ["largeRemoval", "bulkAccept", "override", "savesPerUser"] {
        let user = by_rule(rule)["detail"]["subject"]["user"].as_str().unwrap().to_owned();
        assert!(user.starts_with("person:"), "{rule}: {user}");
    }
    assert!(by_rule("graphsReadPerToken")["detail"]["subject"]["token"].is_string());
    let (_, listed) = s.get(Some(AUDITOR), "/getalarms").await;
    let saves = listed["alarms"].as_array().unwrap().iter().find(|a| a["rule"] == "savesPerUser").unwrap().clone();
    assert_eq!(saves["subject"]["user"], "ann@example.com", "{listed}");
    assert_eq!(listed["alarms"][0]["rule"], "erasure", "newest first");
    assert_eq!(s.get(Some(BOB), "/getalarms").await.0, StatusCode::FORBIDDEN);

    // The webhook: every alarm delivered, signed; the first try got a 503 and was tried again.
    let deadline = Instant::now() + Duration::from_secs(15);
    while received.lock().unwrap().len() < 9 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 9, "8 alarms and one retry");
    let bodies: Vec<Value> = got.iter().map(|(_, b)| serde_json::from_slice(b).unwrap()).collect();
    for (headers, body) in &got {
        assert!(signed(headers, body), "a delivery signed with the secret: {headers:?}");
        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(headers["x-kg-event"], "alarm");
        assert!(!signed(headers, &[body.as_ref(), b" "].concat()), "the signature covers the body");
    }
    // The first post got a 503: its delivery came again (sent at once, others came between).
    let first = got[0].0["x-kg-delivery"].clone();
    assert_eq!(got.iter().filter(|(h, _)| h["x-kg-delivery"] == first).count(), 2, "the retry is the same delivery");
    let mut ids: Vec<_> = got.iter().map(|(h, _)| h["x-kg-delivery"].to_str().unwrap().to_owned()).collect();
    ids.dedup();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 8);
    let mut rules: Vec<&str> = bodies[1..].iter().map(|b| b["rule"].as_str().unwrap()).collect();
    rules.sort();
    let mut want: Vec<&str> = expected.iter().map(|(r, ..)| *r).collect();
    want.sort();
    assert_eq!(rules, want);
    let saves_hook = bodies.iter().find(|b| b["rule"] == "savesPerUser").unwrap();
    assert_eq!((saves_hook["subject"]["user"].clone(), saves_hook["type"].clone()), (json!("ann@example.com"), json!("alarm")));
    assert!(saves_hook["event"].is_i64(), "names its event: {saves_hook}");

    // The request log: a line per alarm.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text: String = std::fs::read_dir(&s.log_dir).unwrap().map(|f| std::fs::read_to_string(f.unwrap().path()).unwrap()).collect();
        let lines: Vec<Value> =
            text.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).filter(|l| l.get("alarm").is_some()).collect();
        if lines.len() == 8 || Instant::now() > deadline {
            assert_eq!(lines.len(), 8, "{text}");
            let line = lines.iter().find(|l| l["alarm"] == "savesPerUser").unwrap();
            assert_eq!(line["user"], "ann@example.com", "at the top level, where an erasure renames it");
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_receiver_that_never_answers_slows_no_save() {
    let (hook, _) = receiver(0, true).await;
    let s = start(json!({"rules": [{"rule": "override"}, {"rule": "savesPerUser", "max": 0, "windowSeconds": 60}]}), &hook).await;
    let id = uuid::Uuid::new_v4().to_string();
    let started = Instant::now();
    for version in 0..30 {
        let metadata = if version == 0 { json!({}) } else { json!({"version": version}) };
        let body = json!({"id": id, "override": true, "graphData": {"metadata": metadata, "nodes": nodes(&[format!("n{version}").as_str()]), "edges": []}});
        let (status, saved) = s.post(ANN, "/saveGraphWithHistory", body).await;
        assert_eq!(status, StatusCode::OK, "{saved}");
    }
    let took = started.elapsed();
    // 60 alarms, each waiting on a receiver that never answers (10 s a try):
    // none of it is in a save's way.
    assert!(took < Duration::from_secs(8), "30 saves took {took:?}");
    assert!(s.alarm_events(60).await.len() >= 59);
}

/// An HTTPS receiver (Python's `ssl` and `http.server`, so the TLS on the
/// other end is not the server's own): it serves `cert`/`key` on a loopback
/// port and writes a JSON line per POST (`signature`, `body`) or per
/// failed handshake (`tlsError`) to `out`.
const HTTPS_RECEIVER: &str = r#"
import http.server, json, ssl, sys, threading
cert, key, out = sys.argv[1:4]
lock = threading.Lock()
def note(line):
    with lock, open(out, "a") as f:
        f.write(json.dumps(line) + "\n")
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        note({"signature": self.headers.get("x-kg-signature"), "body": body.decode()})
        self.send_response(200)
        self.end_headers()
    def log_message(self, *args):
        pass
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
class Server(http.server.ThreadingHTTPServer):
    def finish_request(self, request, address):
        try:
            conn = ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            note({"tlsError": str(e)})
            return
        Hook(conn, address, self)
server = Server(("127.0.0.1", 0), Hook)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

struct Receiver {
    child: std::process::Child,
    port: u16,
    out: std::path::PathBuf,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Receiver {
    fn start(dir: &std::path::Path, name: &str, cert: &std::path::Path, key: &std::path::Path) -> Receiver {
        use std::io::BufRead;
        let script = dir.join("receiver.py");
        std::fs::write(&script, HTTPS_RECEIVER).unwrap();
        let out = dir.join(format!("{name}.jsonl"));
        let mut child = std::process::Command::new("python3")
            .args([script.as_path(), cert, key, out.as_path()])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        Receiver { child, port: line.trim().parse().unwrap_or_else(|_| panic!("the receiver's port: {line:?}")), out }
    }

    /// What it noted, once `n` lines are there (or after 15 s).
    async fn lines(&self, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let text = std::fs::read_to_string(&self.out).unwrap_or_default();
            let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
            if lines.len() >= n || Instant::now() > deadline {
                return lines;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Fires one alarm (an override) on `s`.
async fn fire_an_override(s: &Running) {
    let id = uuid::Uuid::new_v4().to_string();
    let body = json!({"id": id, "graphData": {"metadata": {}, "nodes": nodes(&["a"]), "edges": []}});
    assert_eq!(s.post(ANN, "/saveGraphWithHistory", body).await.0, StatusCode::OK);
    let stale = json!({"id": id, "override": true, "graphData": {"metadata": {"version": 1}, "nodes": nodes(&["b"]), "edges": []}});
    assert_eq!(s.post(ANN, "/saveGraphWithHistory", stale).await.0, StatusCode::OK);
}

/// The samples of a /metrics scrape (parsed strictly, by name and labels).
async fn alarm_metrics(s: &Running) -> std::collections::HashMap<String, f64> {
    let text = s.http.get(format!("{}/metrics", s.url)).header("X-API-Token", ADMIN).send().await.unwrap().text().await.unwrap();
    support::parse_prometheus(&text).0
}

#[tokio::test(flavor = "multi_thread")]
async fn alarms_go_over_https_to_a_receiver_whose_certificate_verifies_and_to_no_other() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = keys::ca_and_server_cert(dir.path(), &["localhost"]);
    let rules = json!({"rules": [{"rule": "override"}]});

    // Verified: the certificate names localhost and its CA is the one given.
    let good = Receiver::start(dir.path(), "good", &cert, &key);
    let hook = format!("https://localhost:{}/hook", good.port);
    let s = start_with(rules.clone(), &hook, &[("SSL_CERT_FILE", &ca)]).await;
    fire_an_override(&s).await;
    let got = good.lines(1).await;
    assert_eq!(got.len(), 1, "one delivery over TLS: {got:?}");
    let body = got[0]["body"].as_str().unwrap();
    assert_eq!(serde_json::from_str::<Value>(body).unwrap()["rule"], "override");
    let mut headers = HeaderMap::new();
    headers.insert("x-kg-signature", got[0]["signature"].as_str().unwrap().parse().unwrap());
    assert!(signed(&headers, body.as_bytes()), "signed: {got:?}");
    let counted = alarm_metrics(&s).await;
    assert_eq!(counted.get(r#"kg_alarms_total{rule="override"}"#), Some(&1.0), "{counted:?}");
    assert_eq!(counted.get(r#"kg_alarm_webhook_total{result="delivered"}"#), Some(&1.0), "{counted:?}");
    drop(s);

    // Not verified: the same receiver, called by a name its certificate
    // does not hold (127.0.0.1), and a server that is not given the CA.
    let wrong_name = format!("https://127.0.0.1:{}/hook", good.port);
    let s = start_with(rules.clone(), &wrong_name, &[("SSL_CERT_FILE", &ca)]).await;
    fire_an_override(&s).await;
    let other = Receiver::start(dir.path(), "untrusted", &cert, &key);
    let untrusted = format!("https://localhost:{}/hook", other.port);
    let s2 = start_with(rules, &untrusted, &[("SSL_CERT_FILE", &dir.path().join("no-such-ca.pem"))]).await;
    fire_an_override(&s2).await;
    // Each server tries (a refused handshake, seen by the receiver) and
    // delivers nothing; it tries again (the first retry after 1 s).
    let refused = good.lines(2).await;
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(refused[1]["tlsError"].is_string(), "a handshake the server refused, not a delivery: {refused:?}");
    let untrusted_seen = other.lines(2).await;
    assert!(untrusted_seen.len() >= 2 && untrusted_seen.iter().all(|l| l["tlsError"].is_string()), "{untrusted_seen:?}");
    for running in [&s, &s2] {
        let counted = alarm_metrics(running).await;
        assert_eq!(counted.get(r#"kg_alarm_webhook_total{result="delivered"}"#), Some(&0.0), "{counted:?}");
        assert!(counted.get(r#"kg_alarm_webhook_total{result="retried"}"#).is_some_and(|n| *n >= 1.0), "{counted:?}");
    }
}
