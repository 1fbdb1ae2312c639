//! A real server on a loopback port with a real SQLite file, for the HTTP tests.
#![allow(dead_code)]

use std::sync::Arc;

use kg_approval_server::{AppState, Settings, Store, Tokens, router};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

pub const ANN: &str = "ann-token-0001";
pub const BOB: &str = "bob-token-0002";

pub struct Server {
    pub url: String,
    pub db: std::path::PathBuf,
    pub _dir: tempfile::TempDir,
    pub http: Client,
}

pub async fn start(settings: Settings) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.sqlite");
    let mut tokens = Tokens::default();
    tokens.add_pair(&format!("{ANN}=ann@example.com")).unwrap();
    tokens.add_pair(&format!("{BOB}=bob@example.com")).unwrap();
    let state = AppState { store: Arc::new(Store::open(&db).unwrap()), tokens: Arc::new(tokens), settings: Arc::new(settings) };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router(state)).await.unwrap() });
    Server { url, db, _dir: dir, http: Client::new() }
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
        let response = request.send().await.unwrap();
        (response.status(), response.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self.http.get(format!("{}{path}", self.url)).send().await.unwrap();
        (response.status(), response.json().await.unwrap_or(Value::Null))
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
    /// `POST /patchGraph` as `token`.
    pub async fn patch(&self, token: &str, body: Value) -> (StatusCode, Value) {
        let response =
            self.http.post(format!("{}/patchGraph", self.url)).header("X-API-Token", token).body(body.to_string()).send().await.unwrap();
        (response.status(), response.json().await.unwrap_or(Value::Null))
    }

    /// The newest version's text and ETag.
    pub async fn text(&self, path: &str) -> (StatusCode, String, Option<String>) {
        let response = self.http.get(format!("{}{path}", self.url)).send().await.unwrap();
        let etag = response.headers().get("etag").map(|v| v.to_str().unwrap().trim_matches('"').to_owned());
        (response.status(), response.text().await.unwrap(), etag)
    }
}
