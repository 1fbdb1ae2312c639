//! A real server on a loopback port, for the HTTP tests: on a real SQLite
//! file, or on a fresh database of a real PostgreSQL cluster (the one
//! `KG_TEST_POSTGRES` names, else one started for this test process with
//! `scripts/pg.sh`, stopped when it exits).
#![allow(dead_code)]

pub mod conformance;

use std::sync::{Arc, OnceLock};

use kg_approval_server::request_log::RequestLog;
use kg_approval_server::{AppState, Settings, Tokens, router};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

pub const ANN: &str = "ann-token-0001";
pub const BOB: &str = "bob-token-0002";
/// The users `ANN` and `BOB` sign in as.
pub const ANN_ID: &str = "ann@example.com";
pub const BOB_ID: &str = "bob@example.com";
/// Reads the audit trail (it names people: it needs the audit scope).
pub const AUDITOR: &str = "audit-token-0003";
/// May only read.
pub const CAROL: &str = "carol-token-0004";
/// May do everything, on every graph.
pub const ADMIN: &str = "admin-token-0005";

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct Server {
    pub url: String,
    /// The SQLite file or the PostgreSQL URL.
    pub db: String,
    pub backend: Backend,
    pub _dir: tempfile::TempDir,
    pub http: Client,
}

/// Runs each named `async fn(Backend)` as a test on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test(flavor = "multi_thread")] async fn $name() { super::$name(super::support::Backend::Sqlite).await } )*
        }
        mod postgres {
            $( #[tokio::test(flavor = "multi_thread")] async fn $name() { super::$name(super::support::Backend::Postgres).await } )*
        }
    };
}

/// The test cluster's URL (its `postgres` database).
fn cluster() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("KG_TEST_POSTGRES") {
            return url;
        }
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/pg.sh");
        let out = std::process::Command::new("bash")
            .arg(script)
            .args(["start", "--owner", &std::process::id().to_string()])
            .output()
            .expect("scripts/pg.sh runs");
        assert!(out.status.success(), "a PostgreSQL cluster for the tests: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().lines().next().unwrap().to_owned()
    })
}

/// A fresh, empty database on the test cluster.
pub async fn postgres_database() -> String {
    let cluster = cluster().to_owned();
    let name = format!("kg_test_{}", uuid::Uuid::new_v4().simple());
    let (client, connection) = tokio_postgres::connect(&cluster, tokio_postgres::NoTls).await.expect("the test cluster answers");
    tokio::spawn(connection);
    client.batch_execute(&format!("CREATE DATABASE {name}")).await.unwrap();
    let base = cluster.rsplit_once('/').unwrap().0;
    format!("{base}/{name}")
}

pub async fn start(settings: Settings) -> Server {
    start_on(Backend::Sqlite, settings).await
}

pub async fn start_on(backend: Backend, settings: Settings) -> Server {
    start_with(backend, settings, None).await
}

/// A server with a request log (`--request-log`), if given.
pub async fn start_with(backend: Backend, settings: Settings, request_log: Option<Arc<RequestLog>>) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let db = match backend {
        Backend::Sqlite => dir.path().join("history.sqlite").to_string_lossy().into_owned(),
        Backend::Postgres => postgres_database().await,
    };
    let mut tokens = Tokens::default();
    tokens.add_pair(&format!("{ANN}={ANN_ID}")).unwrap();
    tokens.add_pair(&format!("{BOB}={BOB_ID}")).unwrap();
    tokens.add_pair(&format!("{AUDITOR}=auditor@example.com:read,audit")).unwrap();
    tokens.add_pair(&format!("{CAROL}=carol@example.com:read")).unwrap();
    tokens.add_pair(&format!("{ADMIN}=admin@example.com:admin")).unwrap();
    let opened = db.clone();
    let store = tokio::task::spawn_blocking(move || kg_history::open(&opened)).await.unwrap().unwrap();
    let state = AppState::new(Arc::new(store), tokens, settings, request_log);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router(state)).await.unwrap() });
    Server { url, db, backend, _dir: dir, http: Client::new() }
}

/// Runs one SQL statement on database `db` (a SQLite file or a PostgreSQL
/// URL) behind its server's back; returns the rows it changed.
pub async fn sql_at(backend: Backend, db: &str, statement: &str) -> u64 {
    match backend {
        Backend::Sqlite => rusqlite::Connection::open(db).unwrap().execute(statement, []).unwrap() as u64,
        Backend::Postgres => postgres_client(db).await.execute(statement, &[]).await.unwrap(),
    }
}

/// The one integer `query` answers on database `db`, read behind its
/// server's back.
pub async fn count_at(backend: Backend, db: &str, query: &str) -> i64 {
    match backend {
        Backend::Sqlite => rusqlite::Connection::open(db).unwrap().query_row(query, [], |r| r.get(0)).unwrap(),
        Backend::Postgres => postgres_client(db).await.query_one(query, &[]).await.unwrap().get(0),
    }
}

async fn postgres_client(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

impl Server {
    /// Runs SQL on the database behind the server's back (tamper tests).
    pub async fn sql(&self, statement: &str) -> u64 {
        sql_at(self.backend, &self.db, statement).await
    }

    /// The one integer `query` answers, read behind the server's back.
    pub async fn count(&self, query: &str) -> i64 {
        count_at(self.backend, &self.db, query).await
    }

    /// Replaces `from` by `to` in the bodies of the parts' rows `where_`
    /// names, behind the server's back, as someone with the database at
    /// hand would: a patch SQLite keeps packed (see
    /// `kg_history_store::packed`) is unpacked, edited and packed again.
    /// Returns how many rows changed.
    pub async fn replace_in_bodies(&self, where_: &str, from: &str, to: &str) -> u64 {
        use kg_history_store::packed::{Dictionary, pack, unpack};
        match self.backend {
            Backend::Postgres => {
                let statement =
                    format!("UPDATE entities SET body = replace(body, '{from}', '{to}') WHERE {where_} AND strpos(body, '{from}') > 0");
                self.sql(&statement).await
            }
            Backend::Sqlite => {
                let conn = rusqlite::Connection::open(&self.db).unwrap();
                let rows: Vec<(i64, rusqlite::types::Value)> = conn
                    .prepare(&format!("SELECT rowid, body FROM entities WHERE {where_}"))
                    .unwrap()
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
                let mut changed = 0;
                for (rowid, body) in rows {
                    use rusqlite::types::Value;
                    let new = match body {
                        Value::Text(text) if text.contains(from) => Value::Text(text.replace(from, to)),
                        Value::Blob(packed) => match unpack(&packed).unwrap() {
                            text if text.contains(from) => Value::Blob(pack(&text.replace(from, to), Dictionary::Part).unwrap()),
                            _ => continue,
                        },
                        _ => continue,
                    };
                    changed +=
                        conn.execute("UPDATE entities SET body = ?2 WHERE rowid = ?1", rusqlite::params![rowid, new]).unwrap() as u64;
                }
                changed
            }
        }
    }

    /// The audit record of the version `where_` names as stored (packed
    /// or text, see `kg_history_store::packed`), and its text.
    pub async fn stored_record(&self, where_: &str) -> (bool, String) {
        let query = format!("SELECT audit_json FROM versions WHERE {where_}");
        let bytes: Vec<u8> = match self.backend {
            Backend::Sqlite => {
                let conn = rusqlite::Connection::open(&self.db).unwrap();
                conn.query_row(&query, [], |r| match r.get_ref(0)? {
                    rusqlite::types::ValueRef::Blob(b) | rusqlite::types::ValueRef::Text(b) => Ok(b.to_vec()),
                    other => panic!("a record stored as {:?}", other.data_type()),
                })
                .unwrap()
            }
            Backend::Postgres => postgres_client(&self.db).await.query_one(&query, &[]).await.unwrap().get(0),
        };
        (bytes.first() != Some(&b'{'), kg_history_store::packed::text_of_bytes(&bytes).unwrap())
    }
}

/// The real binary with `args` (on a loopback port of its choosing), and
/// the URL it printed it listens on.
pub fn spawn_binary(args: &[&str]) -> (std::process::Child, String) {
    spawn_binary_with_env(args, &[])
}

/// [`spawn_binary`], with `env` set for the process.
pub fn spawn_binary_with_env(args: &[&str], env: &[(&str, &std::path::Path)]) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kg-approval-server"))
        .args(["--addr", "127.0.0.1:0"])
        .args(args)
        .envs(env.iter().copied())
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the server starts");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected first line {line:?}")).to_owned();
    (child, url)
}

/// Parses RFC 4180 CSV (quoted fields, doubled quotes, CRLF) with `delimiter`.
pub fn parse_csv(text: &str, delimiter: char) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut cell, mut quoted, mut chars) = (Vec::new(), Vec::new(), String::new(), false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, c) if c == delimiter => row.push(std::mem::take(&mut cell)),
            (false, '\r') => {
                assert_eq!(chars.next(), Some('\n'), "rows end in CRLF");
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => cell.push(c),
        }
    }
    assert!(row.is_empty() && cell.is_empty(), "the export ends with a complete row");
    rows
}

/// A checked response's status and JSON body (null if it is not JSON).
fn json_of((status, body, _): (StatusCode, Vec<u8>, reqwest::header::HeaderMap)) -> (StatusCode, Value) {
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub fn graph(version: Option<i64>, label: &str) -> Value {
    json!({
        "metadata": {"title": "T", "version": version},
        "nodes": [{"id": "a", "label": label}, {"id": "b", "label": "B", "visible": false}],
        "edges": [{"id": "a_b", "source": "a", "target": "b", "label": "kept whole", "type": "x"}]
    })
}

impl Server {
    pub async fn save(&self, token: Option<&str>, body: Value, key: Option<&str>) -> (StatusCode, Value) {
        let mut request = self.http.post(format!("{}/saveGraphWithHistory", self.url)).body(body.to_string());
        if let Some(token) = token {
            request = request.header("X-API-Token", token);
        }
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        json_of(conformance::checked("POST", "/saveGraphWithHistory", request.send().await.unwrap()).await)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self.http.get(format!("{}{path}", self.url)).send().await.unwrap();
        json_of(conformance::checked("GET", path, response).await)
    }

    /// A GET with a token (the audit routes need one with the audit scope).
    pub async fn get_as(&self, token: &str, path: &str) -> (StatusCode, Value) {
        let response = self.http.get(format!("{}{path}", self.url)).header("X-API-Token", token).send().await.unwrap();
        json_of(conformance::checked("GET", path, response).await)
    }

    /// Saves version 1 of a new graph as Ann.
    pub async fn create(&self) -> String {
        let id = new_id();
        let (status, body) = self.save(Some(ANN), json!({"id": id, "graphData": graph(None, "A"), "override": false}), None).await;
        assert_eq!((status, body["newVersion"].clone()), (StatusCode::OK, json!(1)), "{body}");
        id
    }
}

impl Server {
    /// A POST of `body` to `path` as `token`.
    pub async fn post(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        let response =
            self.http.post(format!("{}{path}", self.url)).header("X-API-Token", token).body(body.to_string()).send().await.unwrap();
        json_of(conformance::checked("POST", path, response).await)
    }

    /// `POST /patchGraph` as `token`.
    pub async fn patch(&self, token: &str, body: Value) -> (StatusCode, Value) {
        let response =
            self.http.post(format!("{}/patchGraph", self.url)).header("X-API-Token", token).body(body.to_string()).send().await.unwrap();
        json_of(conformance::checked("POST", "/patchGraph", response).await)
    }

    /// The newest version's text and ETag.
    pub async fn text(&self, path: &str) -> (StatusCode, String, Option<String>) {
        let response = self.http.get(format!("{}{path}", self.url)).send().await.unwrap();
        let (status, body, headers) = conformance::checked("GET", path, response).await;
        let etag = headers.get("etag").map(|v| v.to_str().unwrap().trim_matches('"').to_owned());
        (status, String::from_utf8(body).unwrap(), etag)
    }
}

impl Server {
    /// Every value of every table of the database, as text (to prove what
    /// it no longer holds).
    pub async fn dump(&self) -> String {
        match self.backend {
            Backend::Sqlite => {
                let conn = rusqlite::Connection::open(&self.db).unwrap();
                let tables: Vec<String> = conn
                    .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
                    .unwrap()
                    .query_map([], |r| r.get(0))
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
                let mut out = String::new();
                for table in tables {
                    let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
                    let columns = stmt.column_count();
                    let mut rows = stmt.query([]).unwrap();
                    while let Some(row) = rows.next().unwrap() {
                        for i in 0..columns {
                            match row.get_ref(i).unwrap() {
                                rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                                    out.push_str(&String::from_utf8_lossy(t))
                                }
                                other => out.push_str(&format!("{other:?}")),
                            }
                            out.push('\t');
                        }
                        out.push('\n');
                    }
                }
                out
            }
            Backend::Postgres => {
                let (client, connection) = tokio_postgres::connect(&self.db, tokio_postgres::NoTls).await.unwrap();
                tokio::spawn(connection);
                let tables = client
                    .query("SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'", &[])
                    .await
                    .unwrap();
                let mut out = String::new();
                for table in tables {
                    let name: String = table.get(0);
                    for row in client.query(&format!("SELECT t::text FROM \"{name}\" t"), &[]).await.unwrap() {
                        out.push_str(row.get::<_, &str>(0));
                        out.push('\n');
                    }
                }
                out
            }
        }
    }
}

/// Reads one HTTP/1.1 response whose length is given by `content-length`
/// off a raw connection, within `limit` per read; its text.
pub fn read_response(stream: &mut std::net::TcpStream, limit: std::time::Duration) -> String {
    use std::io::Read;
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&got).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap()))
                .unwrap_or(0);
            if got.len() >= end + 4 + length {
                return text;
            }
        }
        let n = stream.read(&mut buf).unwrap_or_else(|e| panic!("response incomplete ({e}): {text:?}"));
        assert!(n > 0, "closed before the response ended: {text:?}");
        got.extend_from_slice(&buf[..n]);
    }
}

/// A parsed scrape: every sample by `name{labels}` (labels sorted), and the
/// type of every family. Panics on any line that is not Prometheus text
/// format 0.0.4.
pub fn parse_prometheus(text: &str) -> (std::collections::HashMap<String, f64>, std::collections::HashMap<String, String>) {
    use std::collections::HashMap;
    let (mut samples, mut types) = (HashMap::new(), HashMap::new());
    let name_ok = |n: &str| {
        !n.is_empty()
            && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
            && !n.starts_with(|c: char| c.is_ascii_digit())
    };
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (kind, name, value) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap_or(""));
            assert!(name_ok(name), "{line}");
            match kind {
                "TYPE" => {
                    assert!(["counter", "gauge", "histogram", "summary", "untyped"].contains(&value), "{line}");
                    assert!(types.insert(name.to_owned(), value.to_owned()).is_none(), "one TYPE per family: {line}");
                }
                "HELP" => assert!(!value.is_empty(), "{line}"),
                other => panic!("unknown comment {other}: {line}"),
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("no value: {line}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("not a number: {line}")),
        };
        let (name, labels) = match series.split_once('{') {
            None => (series, Vec::new()),
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').unwrap_or_else(|| panic!("unclosed labels: {line}"));
                let mut labels: Vec<String> = body
                    .split("\",")
                    .filter(|p| !p.is_empty())
                    .map(|pair| {
                        let (k, v) = pair.split_once("=\"").unwrap_or_else(|| panic!("bad label: {line}"));
                        assert!(name_ok(k), "{line}");
                        format!("{k}=\"{}\"", v.trim_end_matches('"'))
                    })
                    .collect();
                labels.sort();
                (name, labels)
            }
        };
        assert!(name_ok(name), "{line}");
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .filter(|f| types.get(*f).is_some_and(|t| t == "histogram"));
        assert!(types.contains_key(family.unwrap_or(name)), "a sample before its TYPE: {line}");
        samples.insert(format!("{name}{{{}}}", labels.join(",")), value);
    }
    (samples, types)
}
