//! `HistoryClient`: the I/O around `crate::history` — fetch (gloo-net) with a
//! timeout, retries with backoff, and typed errors (`network_error`,
//! `timeout`, `http_error`, `version_conflict`). Works in Node 20 and browsers.

use std::rc::Rc;
use std::time::Duration;

use gloo_net::http::{Method, RequestBuilder};
use gloo_timers::callback::Timeout;
use gloo_timers::future::TimeoutFuture;
use serde::Deserialize;
use serde_json::{Value, json};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::{ApprovedArg, AuditFilterArg, ClientOptionsArg, JsResult, invalid_argument, js_error, parse_option_value, text_arg, to_js};
use crate::history::{Reply, RetryPolicy, read_history, read_reply};

#[wasm_bindgen(module = "/js/boundary.js")]
extern "C" {
    #[wasm_bindgen(js_name = makeDetailedError)]
    fn make_detailed_error(code: &str, message: &str, details_json: &str) -> JsValue;
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ClientOptions {
    base_url: String,
    token: Option<String>,
    timeout_ms: Option<u32>,
    retries: Option<u32>,
    retry_delay_ms: Option<u32>,
    max_retry_delay_ms: Option<u32>,
}

struct Config {
    base_url: String,
    token: Option<String>,
    timeout: Duration,
    policy: RetryPolicy,
}

/// A client of the history service (this project's server or the real one).
#[wasm_bindgen]
pub struct HistoryClient {
    config: Rc<Config>,
}

fn detailed(code: &str, message: &str, details: Value) -> JsValue {
    make_detailed_error(code, message, &details.to_string())
}

#[wasm_bindgen]
impl HistoryClient {
    #[wasm_bindgen(constructor)]
    pub fn new(options: ClientOptionsArg) -> JsResult<HistoryClient> {
        let o: ClientOptions =
            serde_json::from_value(parse_option_value(&options, "options")?).map_err(|e| invalid_argument("options", e))?;
        if !(o.base_url.starts_with("http://") || o.base_url.starts_with("https://")) {
            return Err(invalid_argument("options.baseUrl", format!("must be an absolute http(s) URL, got '{}'", o.base_url)));
        }
        let timeout_ms = o.timeout_ms.unwrap_or(10_000);
        if !(1..=600_000).contains(&timeout_ms) {
            return Err(invalid_argument("options.timeoutMs", "must be from 1 to 600000"));
        }
        let defaults = RetryPolicy::default();
        let policy = RetryPolicy {
            retries: o.retries.unwrap_or(defaults.retries).min(20),
            base_delay: o.retry_delay_ms.map_or(defaults.base_delay, |ms| Duration::from_millis(ms.into())),
            max_delay: o.max_retry_delay_ms.map_or(defaults.max_delay, |ms| Duration::from_millis(ms.into())),
            max_total: defaults.max_total,
        };
        let config = Config {
            base_url: o.base_url.trim_end_matches('/').to_owned(),
            token: o.token,
            timeout: Duration::from_millis(timeout_ms.into()),
            policy,
        };
        Ok(HistoryClient { config: Rc::new(config) })
    }

    /// Saves an approval (what `approve()` or `pendingSaves()` gave) as a new
    /// version, refusing to overwrite a newer one (`ConflictError`).
    #[wasm_bindgen(unchecked_return_type = "Promise<SaveResult>")]
    pub fn save(&self, approved: ApprovedArg) -> js_sys::Promise {
        let request = super::save_request(&approved);
        let config = self.config.clone();
        future_to_promise(async move {
            let (body, graph_id, key) = request?;
            let reply = send(&config, Method::POST, "/saveGraphWithHistory", Some(body), key).await?;
            let version = reply.get("newVersion").cloned().unwrap_or(Value::Null);
            if !version.is_i64() {
                return Err(detailed("http_error", "the server accepted the save but sent no newVersion", json!({ "status": 200 })));
            }
            Ok(to_js(&json!({ "id": graph_id, "newVersion": version })))
        })
    }

    /// The current version of a graph (`GET /getknowgraph`).
    #[wasm_bindgen(unchecked_return_type = "Promise<GraphData>")]
    pub fn load(&self, #[wasm_bindgen(js_name = "graphId", unchecked_param_type = "string")] graph_id: JsValue) -> js_sys::Promise {
        self.get(text_arg(&graph_id, "graphId").map(|id| format!("/getknowgraph?id={}", encode(&id))), Ok)
    }

    /// The versions of a graph, newest first (`GET /getknowgraphhistory`).
    #[wasm_bindgen(unchecked_return_type = "Promise<HistoryEntry[]>")]
    pub fn history(&self, #[wasm_bindgen(js_name = "graphId", unchecked_param_type = "string")] graph_id: JsValue) -> js_sys::Promise {
        self.get(text_arg(&graph_id, "graphId").map(|id| format!("/getknowgraphhistory?id={}", encode(&id))), |v| {
            read_history(&v).map(|rows| serde_json::to_value(rows).unwrap_or(Value::Null)).map_err(|e| js_error(e, "response"))
        })
    }

    /// One stored version of a graph (`GET /getknowgraphversion`).
    #[wasm_bindgen(unchecked_return_type = "Promise<GraphData>")]
    pub fn version(
        &self,
        #[wasm_bindgen(js_name = "graphId", unchecked_param_type = "string")] graph_id: JsValue,
        version: u32,
    ) -> js_sys::Promise {
        self.get(text_arg(&graph_id, "graphId").map(|id| format!("/getknowgraphversion?id={}&version={version}", encode(&id))), Ok)
    }

    /// The audit trail of a graph, newest first (`GET /getknowgraphaudit`;
    /// this project's server). Filter keys: nodeId, user, runId, limit, offset.
    #[wasm_bindgen(unchecked_return_type = "Promise<AuditPage>")]
    pub fn audit(
        &self,
        #[wasm_bindgen(js_name = "graphId", unchecked_param_type = "string")] graph_id: JsValue,
        filter: Option<AuditFilterArg>,
    ) -> js_sys::Promise {
        let path = text_arg(&graph_id, "graphId").and_then(|id| {
            let filter: AuditFilter = super::parse_options(filter.as_deref(), "filter")?;
            let mut path = format!("/getknowgraphaudit?id={}", encode(&id));
            for (key, value) in [
                ("nodeId", filter.node_id),
                ("user", filter.user),
                ("runId", filter.run_id),
                ("limit", filter.limit.map(|n| n.to_string())),
                ("offset", filter.offset.map(|n| n.to_string())),
            ] {
                if let Some(value) = value {
                    path.push_str(&format!("&{key}={}", encode(&value)));
                }
            }
            Ok(path)
        });
        self.get(path, Ok)
    }

    /// Recomputes a graph's hash chain on the server (`GET /verifyknowgraph`).
    #[wasm_bindgen(unchecked_return_type = "Promise<Verification>")]
    pub fn verify(&self, #[wasm_bindgen(js_name = "graphId", unchecked_param_type = "string")] graph_id: JsValue) -> js_sys::Promise {
        self.get(text_arg(&graph_id, "graphId").map(|id| format!("/verifyknowgraph?id={}", encode(&id))), Ok)
    }

    fn get(&self, path: JsResult<String>, then: fn(Value) -> JsResult<Value>) -> js_sys::Promise {
        let config = self.config.clone();
        future_to_promise(async move { then(send(&config, Method::GET, &path?, None, None).await?).map(|v| to_js(&v)) })
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AuditFilter {
    node_id: Option<String>,
    user: Option<String>,
    run_id: Option<String>,
    limit: Option<u32>,
    offset: Option<u32>,
}

fn encode(text: &str) -> String {
    String::from(js_sys::encode_uri_component(text))
}

/// One request with retries: network errors, timeouts, 429, 5xx and
/// unreadable answers are retried under the policy; a 409 or another 4xx is
/// final.
async fn send(config: &Config, method: Method, path: &str, body: Option<JsValue>, key: Option<String>) -> JsResult<Value> {
    let url = format!("{}{path}", config.base_url);
    let what = format!("{method} {path}");
    let started = js_sys::Date::now();
    let mut attempt = 0;
    loop {
        let (failure, retry_after) = match once(config, &method, &url, body.as_ref(), key.as_deref()).await {
            Ok(Reply::Success(value)) => return Ok(value),
            Ok(Reply::Conflict { current_version, message }) => {
                return Err(detailed(
                    "version_conflict",
                    &format!("{what}: {message}"),
                    json!({ "status": 409, "currentVersion": current_version }),
                ));
            }
            Ok(Reply::Fail { status, message }) => {
                return Err(detailed(
                    "http_error",
                    &format!("{what}: HTTP {status}: {message}"),
                    json!({ "status": status, "serverError": message, "attempts": attempt + 1 }),
                ));
            }
            Ok(Reply::Retry { status, message, retry_after }) => (
                detailed(
                    "http_error",
                    &format!("{what}: HTTP {status}: {message}"),
                    json!({ "status": status, "serverError": message, "attempts": attempt + 1 }),
                ),
                retry_after,
            ),
            Ok(Reply::Unreadable { status, message }) => {
                (detailed("invalid_response", &format!("{what}: {message}"), json!({ "status": status, "attempts": attempt + 1 })), None)
            }
            Err((code, message)) => (detailed(code, &format!("{what}: {message}"), json!({ "attempts": attempt + 1 })), None),
        };
        let elapsed = Duration::from_millis((js_sys::Date::now() - started).max(0.0) as u64);
        let Some(delay) = config.policy.next(attempt, elapsed, js_sys::Math::random(), retry_after) else {
            return Err(failure);
        };
        TimeoutFuture::new(delay.as_millis().min(u32::MAX as u128) as u32).await;
        attempt += 1;
    }
}

/// One attempt, aborted after the timeout (reading the body included).
async fn once(
    config: &Config,
    method: &Method,
    url: &str,
    body: Option<&JsValue>,
    key: Option<&str>,
) -> Result<Reply, (&'static str, String)> {
    let controller = web_sys::AbortController::new().map_err(|_| ("network_error", "AbortController is not available".to_owned()))?;
    let signal = controller.signal();
    let timeout_ms = config.timeout.as_millis() as u32;
    let _timer = Timeout::new(timeout_ms, move || controller.abort());
    let failed = |e: gloo_net::Error| {
        if signal.aborted() { ("timeout", format!("no answer within {timeout_ms} ms")) } else { ("network_error", e.to_string()) }
    };
    let mut request = RequestBuilder::new(url).method(method.clone()).abort_signal(Some(&signal));
    if let Some(token) = &config.token {
        request = request.header("X-API-Token", token);
    }
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    let response = match body {
        Some(body) => request.header("Content-Type", "application/json").body(body.clone()).map_err(failed)?.send().await,
        None => request.send().await,
    }
    .map_err(failed)?;
    let status = response.status();
    let retry_after = response.headers().get("retry-after");
    let text = response.text().await.map_err(failed)?;
    Ok(read_reply(status, &text, retry_after.as_deref()))
}
