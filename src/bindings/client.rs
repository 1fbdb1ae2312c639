//! `HistoryClient`: the I/O around `crate::history` — fetch (gloo-net) with a
//! timeout, retries with backoff, and typed errors (`network_error`,
//! `timeout`, `http_error`, `version_conflict`). Works in Node 20 and browsers.
//!
//! A save goes as a delta (`POST /patchGraph`) to a server that says it takes
//! them (`GET /capabilities`, asked once per client), and as the whole graph
//! (`POST /saveGraphWithHistory`) to any other, such as the real service.
//! Only headers every such server allows are sent by default: the approval
//! id travels in the body, not as an `Idempotency-Key` header (which the real
//! service's CORS rules refuse, so a browser could not save at all).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use gloo_net::http::{Method, RequestBuilder};
use gloo_timers::callback::Timeout;
use gloo_timers::future::TimeoutFuture;
use serde_json::{Value, json};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::args::OpenOptions;
use super::{
    ApprovalSession, ApprovedArg, AuditFilterArg, ClientOptionsArg, JsResult, OpenSessionOptionsArg, args, invalid_argument, js_error,
    parse_option_value, text_arg, to_js,
};
use crate::audit::AuditEntry;
use crate::error::{Error, ErrorCode};
use crate::fields::Fields;
use crate::graph::Graph;
use crate::history::{Reply, RetryPolicy, read_history, read_reply};
use crate::lost_answer::{is_own_node_patch, is_own_version};
use crate::service::Service;
use crate::value::type_name;

#[wasm_bindgen(module = "/js/boundary.js")]
extern "C" {
    #[wasm_bindgen(js_name = makeDetailedError)]
    fn make_detailed_error(code: &str, message: &str, details_json: &str) -> JsValue;
}

struct ClientOptions {
    base_url: String,
    token: Option<String>,
    bearer: Option<String>,
    timeout_ms: Option<u32>,
    retries: Option<u32>,
    retry_delay_ms: Option<u32>,
    max_retry_delay_ms: Option<u32>,
    delta_saves: Option<DeltaSaves>,
    idempotency_header: Option<bool>,
    headers: Vec<(String, String)>,
    granular_saves: Option<GranularSaves>,
}

impl ClientOptions {
    fn read(value: &Value, argument: &str) -> Result<ClientOptions, Error> {
        let f = args::fields(
            value,
            argument,
            &[
                "baseUrl",
                "token",
                "bearer",
                "timeoutMs",
                "retries",
                "retryDelayMs",
                "maxRetryDelayMs",
                "deltaSaves",
                "idempotencyHeader",
                "headers",
                "granularSaves",
            ],
        );
        let headers = f.read("headers", |v, path| {
            let h = Fields::of(v, path, ErrorCode::InvalidArgument);
            let entries = h.entries(|v, path| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(Error::at(ErrorCode::InvalidArgument, path, format!("must be a string, got {}", type_name(other)))),
            });
            h.finish(entries)
        });
        let options = ClientOptions {
            base_url: f.string("baseUrl"),
            token: f.opt_string("token"),
            bearer: f.opt_string("bearer"),
            timeout_ms: f.opt_u32("timeoutMs"),
            retries: f.opt_u32("retries"),
            retry_delay_ms: f.opt_u32("retryDelayMs"),
            max_retry_delay_ms: f.opt_u32("maxRetryDelayMs"),
            delta_saves: f
                .opt_choice("deltaSaves", &[("auto", DeltaSaves::Auto), ("always", DeltaSaves::Always), ("never", DeltaSaves::Never)]),
            idempotency_header: f.opt_bool("idempotencyHeader"),
            headers: headers.unwrap_or_default(),
            granular_saves: f.opt_choice("granularSaves", &[("never", GranularSaves::Never), ("one-node", GranularSaves::OneNode)]),
        };
        f.finish(options)
    }
}

/// Whether an approval of one node's fields goes to the real service's
/// `/patchNode` (one small request) instead of as the whole graph.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
enum GranularSaves {
    /// Always whole graphs (the default): every stamp is stored.
    #[default]
    Never,
    /// `/patchNode` when the approval changed one existing node's fields and
    /// nothing else; that route cannot store `metadata.updated`/`updatedBy`.
    OneNode,
}

/// When saves go as deltas.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
enum DeltaSaves {
    /// If the server's `/capabilities` says it takes them (the default).
    #[default]
    Auto,
    Always,
    Never,
}

struct Config {
    base_url: String,
    token: Option<String>,
    /// Sent as `Authorization: Bearer …` (a sign-in provider's JWT, or a static token).
    bearer: Option<String>,
    timeout: Duration,
    policy: RetryPolicy,
    delta_saves: DeltaSaves,
    idempotency_header: bool,
    headers: Vec<(String, String)>,
    granular_saves: GranularSaves,
}

/// What a server takes beyond the real service's contract, from its
/// `GET /capabilities` (a server without that route is taken to be the
/// real service).
#[derive(Clone, Copy, Debug)]
struct Capabilities {
    deltas: bool,
    idempotency: bool,
    service: Service,
    /// The server said which it is: `/capabilities` answered (ours), or is
    /// not a route there (a 404: the real service). Another 4xx (a refused
    /// token...) is taken for the real service too, but not surely.
    certain: bool,
}

/// What a client learned from the server.
#[derive(Default)]
struct Learned {
    /// What the server takes, once asked.
    capabilities: Option<Capabilities>,
    /// Graph id → (version, hash) of the newest version this client loaded
    /// or saved: the `expectedHash` of a delta based on that version.
    hashes: HashMap<String, (i64, String)>,
}

/// A client of the history service (this project's server or the real one).
#[wasm_bindgen]
pub struct HistoryClient {
    config: Rc<Config>,
    learned: Rc<RefCell<Learned>>,
}

fn detailed(code: &str, message: &str, details: Value) -> JsValue {
    make_detailed_error(code, message, &details.to_string())
}

#[wasm_bindgen]
impl HistoryClient {
    #[wasm_bindgen(constructor)]
    pub fn new(options: ClientOptionsArg) -> JsResult<HistoryClient> {
        let o = ClientOptions::read(&parse_option_value(&options, "options")?, "options").map_err(|e| js_error(e, "options"))?;
        if !(o.base_url.starts_with("http://") || o.base_url.starts_with("https://")) {
            return Err(invalid_argument("options.baseUrl", format!("must be an absolute http(s) URL, got '{}'", o.base_url)));
        }
        if o.token.is_some() && o.bearer.is_some() {
            return Err(invalid_argument("options.bearer", "give token (X-API-Token) or bearer (Authorization: Bearer), not both"));
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
        let mut headers = Vec::new();
        for (name, value) in o.headers {
            let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
            if name.is_empty() || !name.chars().all(token) {
                return Err(invalid_argument("options.headers", format!("'{name}' is not a header name")));
            }
            if value.chars().any(|c| c.is_control() || !c.is_ascii()) {
                return Err(invalid_argument(&format!("options.headers.{name}"), "must be printable ASCII"));
            }
            headers.push((name, value));
        }
        let config = Config {
            base_url: o.base_url.trim_end_matches('/').to_owned(),
            token: o.token,
            bearer: o.bearer,
            timeout: Duration::from_millis(timeout_ms.into()),
            policy,
            delta_saves: o.delta_saves.unwrap_or_default(),
            idempotency_header: o.idempotency_header.unwrap_or(false),
            headers,
            granular_saves: o.granular_saves.unwrap_or_default(),
        };
        Ok(HistoryClient { config: Rc::new(config), learned: Rc::default() })
    }

    /// Saves an approval (what `approve()` or `pendingSaves()` gave) as a new
    /// version, refusing to overwrite a newer one (`ConflictError`): as a
    /// delta where the server takes them, else as the whole graph.
    #[wasm_bindgen(unchecked_return_type = "Promise<SaveResult>")]
    pub fn save(&self, approved: ApprovedArg) -> js_sys::Promise {
        let (config, learned) = (self.config.clone(), self.learned.clone());
        let approved: JsValue = approved.into();
        future_to_promise(async move {
            let audit = js_sys::Reflect::get(&approved, &"audit".into()).unwrap_or(JsValue::UNDEFINED);
            let base = js_sys::Reflect::get(&audit, &"baseVersion".into()).ok().and_then(|v| v.as_f64());
            let graph_id = js_sys::Reflect::get(&audit, &"graphId".into()).ok().and_then(|v| v.as_string());
            // An approval of a live session made for another service than the
            // server's is refused before anything is sent, when the client knows
            // the server (it asks by itself unless told how to save).
            if let Some(service) = super::held_service(&approved) {
                let known = match config.delta_saves {
                    DeltaSaves::Auto => Some(capabilities(&config, &learned).await?),
                    _ => learned.borrow().capabilities,
                };
                if let Some(server) = known.filter(|c| c.certain && c.service != service) {
                    return Err(service_mismatch(service, server.service));
                }
            }
            let deltas = match config.delta_saves {
                DeltaSaves::Never => false,
                DeltaSaves::Always => true,
                DeltaSaves::Auto => capabilities(&config, &learned).await?.deltas,
            };
            let hash = graph_id.as_ref().and_then(|id| {
                let learned = learned.borrow();
                learned.hashes.get(id).filter(|(v, _)| Some(*v as f64) == base).map(|(_, h)| h.clone())
            });
            let request = if deltas { super::delta_request(&approved, hash.as_deref())? } else { None };
            let one_node = if request.is_none() && !deltas && config.granular_saves == GranularSaves::OneNode {
                super::patch_node_request(&approved)?
            } else {
                None
            };
            let (path, request) = match (request, one_node) {
                (Some(request), _) => ("/patchGraph", request),
                (None, Some(request)) => ("/patchNode", request),
                (None, None) => ("/saveGraphWithHistory", super::save_request(&approved)?),
            };
            let key = request.idempotency_key.clone().filter(|_| config.idempotency_header);
            let uncertain = Cell::new(false);
            let via = match path {
                "/patchGraph" => "delta",
                "/patchNode" => "patchNode",
                _ => "full",
            };
            let reply = match send(&config, Method::POST, path, Some(JsValue::from_str(&request.body)), key, &uncertain).await {
                Ok(reply) => reply,
                // An earlier attempt may have landed with its answer lost: a
                // 409 on the retry may be our own save (the real service keeps
                // no idempotency). Read the version it would have written.
                Err(conflict) if uncertain.get() && is_code(&conflict, "version_conflict") => {
                    // The version it would have written: one past its base (0 for none).
                    let written = base.filter(|b| b.fract() == 0.0).map_or(Some(1), |b| Some(b as i64 + 1));
                    match own_version(&config, &approved, &request.graph_id, written, via == "patchNode").await {
                        Some(version) => {
                            return Ok(to_js(&json!({ "id": request.graph_id, "newVersion": version, "via": via, "answerLost": true })));
                        }
                        None => return Err(conflict),
                    }
                }
                Err(e) => return Err(e),
            };
            let version = reply.value.get("newVersion").cloned().unwrap_or(Value::Null);
            let Some(number) = version.as_i64() else {
                return Err(detailed("http_error", "the server accepted the save but sent no newVersion", json!({ "status": 200 })));
            };
            if let Some(hash) = reply.value.get("hash").and_then(Value::as_str) {
                learned.borrow_mut().hashes.insert(request.graph_id.clone(), (number, hash.to_owned()));
            }
            Ok(to_js(&json!({ "id": request.graph_id, "newVersion": version, "via": via })))
        })
    }

    /// The current version of a graph (`GET /getknowgraph`).
    #[wasm_bindgen(unchecked_return_type = "Promise<GraphData>")]
    pub fn load(&self, #[wasm_bindgen(js_name = "graphId", unchecked_param_type = "string")] graph_id: JsValue) -> js_sys::Promise {
        let (config, learned) = (self.config.clone(), self.learned.clone());
        let id = text_arg(&graph_id, "graphId");
        future_to_promise(async move { Ok(to_js(&load_current(&config, &learned, id?).await?)) })
    }

    /// A session on a graph's current version (or `options.version`), made
    /// for the server this client talks to: its `service` is the one
    /// `capabilities()` names, so its edge ids, rebases and restores match
    /// what that server stores. Other options as `new ApprovalSession`'s.
    #[wasm_bindgen(js_name = openSession, unchecked_return_type = "Promise<ApprovalSession>")]
    pub fn open_session(
        &self,
        #[wasm_bindgen(js_name = "graphId", unchecked_param_type = "string")] graph_id: JsValue,
        options: Option<OpenSessionOptionsArg>,
    ) -> js_sys::Promise {
        let (config, learned) = (self.config.clone(), self.learned.clone());
        let id = text_arg(&graph_id, "graphId");
        let options = super::parse_options(options.as_deref(), "options", OpenOptions::read);
        future_to_promise(async move {
            let (id, OpenOptions { mut session, version }) = (id?, options?);
            session.service = capabilities(&config, &learned).await?.service;
            let graph = match version {
                Some(n) => get_json(&config, &format!("/getknowgraphversion?id={}&version={n}", encode(&id))).await?,
                None => load_current(&config, &learned, id.clone()).await?,
            };
            let graph = Graph::from_value(graph).map_err(|e| js_error(e, "graph"))?;
            session.graph_id = Some(id);
            Ok(ApprovalSession::open(graph, session).into())
        })
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
            let filter = super::parse_options(filter.as_deref(), "filter", AuditFilter::read)?;
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

    /// What the server takes beyond the real service's contract, asked once
    /// (`GET /capabilities`): `{ service, deltaSaves, idempotencyKeys }`. A
    /// server without that route is taken to be the real knowledge-graph
    /// service: `service: 'knowledge-graph-worker'`, the value to give
    /// `ApprovalSession`'s `service` option.
    #[wasm_bindgen(unchecked_return_type = "Promise<Capabilities>")]
    pub fn capabilities(&self) -> js_sys::Promise {
        let (config, learned) = (self.config.clone(), self.learned.clone());
        future_to_promise(async move {
            let c = capabilities(&config, &learned).await?;
            Ok(to_js(&json!({ "service": c.service.name(), "deltaSaves": c.deltas, "idempotencyKeys": c.idempotency })))
        })
    }

    fn get(&self, path: JsResult<String>, then: fn(Value) -> JsResult<Value>) -> js_sys::Promise {
        let config = self.config.clone();
        future_to_promise(async move { then(get_json(&config, &path?).await?).map(|v| to_js(&v)) })
    }
}

async fn get_json(config: &Config, path: &str) -> JsResult<Value> {
    Ok(send(config, Method::GET, path, None, None, &Cell::new(false)).await?.value)
}

/// `GET /getknowgraph`, learning the version's hash from our server's ETag
/// (the base of the next delta).
async fn load_current(config: &Config, learned: &RefCell<Learned>, id: String) -> JsResult<Value> {
    let reply = send(config, Method::GET, &format!("/getknowgraph?id={}", encode(&id)), None, None, &Cell::new(false)).await?;
    let version = reply.value.pointer("/metadata/version").and_then(Value::as_i64);
    if let (Some(version), Some(etag)) = (version, reply.etag) {
        learned.borrow_mut().hashes.insert(id, (version, etag.trim_matches('"').to_owned()));
    }
    Ok(reply.value)
}

/// A save from a session made for another service than the server's: its
/// edge ids, rebases and restores would not match what the server stores.
fn service_mismatch(session: Service, server: Service) -> JsValue {
    let message = format!(
        "this approval comes from a session made for the '{}' service, but the server is '{}': open sessions with \
         client.openSession(graphId), or pass {{ service }} from client.capabilities() to new ApprovalSession",
        session.name(),
        server.name()
    );
    detailed("service_mismatch", &message, json!({ "argument": "approved" }))
}

fn is_code(error: &JsValue, code: &str) -> bool {
    js_sys::Reflect::get(error, &"code".into()).ok().and_then(|c| c.as_string()).as_deref() == Some(code)
}

/// The version `written` if it is the approval's own (its answer was lost),
/// read back from the server; `None` if it is someone else's or cannot be read.
async fn own_version(config: &Config, approved: &JsValue, graph_id: &str, written: Option<i64>, node_patch: bool) -> Option<i64> {
    let written = written?;
    let audit = js_sys::Reflect::get(approved, &"audit".into()).ok()?;
    let audit = AuditEntry::read(&super::parse_value(&audit, "approved.audit").ok()?, "approved.audit").ok()?;
    let path = format!("/getknowgraphversion?id={}&version={written}", encode(graph_id));
    let stored = send(config, Method::GET, &path, None, None, &Cell::new(false)).await.ok()?;
    let own = if node_patch { is_own_node_patch(&audit, &stored.value) } else { is_own_version(&audit, &stored.value) };
    own.then_some(written)
}

/// What the server takes, asked once (`GET /capabilities`): a 4xx (the real
/// service has no such route) means the real service; a network failure or
/// 5xx after the retries fails the call, as the save itself would have.
async fn capabilities(config: &Config, learned: &RefCell<Learned>) -> JsResult<Capabilities> {
    if let Some(known) = learned.borrow().capabilities {
        return Ok(known);
    }
    let answer = match send(config, Method::GET, "/capabilities", None, None, &Cell::new(false)).await {
        Ok(reply) => Capabilities {
            deltas: reply.value.get("deltaSaves").is_some_and(Value::is_string),
            idempotency: reply.value.get("idempotencyKeys") == Some(&Value::Bool(true)),
            service: Service::Faithful,
            certain: true,
        },
        Err(e) => {
            let status = js_sys::Reflect::get(&e, &"status".into()).ok().and_then(|s| s.as_f64()).unwrap_or(0.0);
            if !(400.0..500.0).contains(&status) || status == 429.0 {
                return Err(e);
            }
            Capabilities { deltas: false, idempotency: false, service: Service::KnowledgeGraphWorker, certain: status == 404.0 }
        }
    };
    learned.borrow_mut().capabilities = Some(answer);
    Ok(answer)
}

/// A successful answer: the parsed body, and the ETag if any.
struct Answer {
    value: Value,
    etag: Option<String>,
}

struct AuditFilter {
    node_id: Option<String>,
    user: Option<String>,
    run_id: Option<String>,
    limit: Option<u32>,
    offset: Option<u32>,
}

impl AuditFilter {
    fn read(value: &Value, argument: &str) -> Result<AuditFilter, Error> {
        let f = args::fields(value, argument, &["nodeId", "user", "runId", "limit", "offset"]);
        let filter = AuditFilter {
            node_id: f.opt_string("nodeId"),
            user: f.opt_string("user"),
            run_id: f.opt_string("runId"),
            limit: f.opt_u32("limit"),
            offset: f.opt_u32("offset"),
        };
        f.finish(filter)
    }
}

fn encode(text: &str) -> String {
    String::from(js_sys::encode_uri_component(text))
}

/// One request with retries: network errors, timeouts, 429, 5xx and
/// unreadable answers are retried under the policy; a 409 or another 4xx is
/// final. `uncertain` is set when an attempt failed in a way that leaves open
/// whether the server acted on it (no answer, a 5xx, an unreadable one).
async fn send(
    config: &Config,
    method: Method,
    path: &str,
    body: Option<JsValue>,
    key: Option<String>,
    uncertain: &Cell<bool>,
) -> JsResult<Answer> {
    let url = format!("{}{path}", config.base_url);
    let what = format!("{method} {path}");
    let started = js_sys::Date::now();
    let mut attempt = 0;
    loop {
        let (failure, retry_after) = match once(config, &method, &url, body.as_ref(), key.as_deref()).await {
            Ok((Reply::Success(value), etag)) => return Ok(Answer { value, etag }),
            Ok((Reply::Conflict { current_version, message }, _)) => {
                return Err(detailed(
                    "version_conflict",
                    &format!("{what}: {message}"),
                    json!({ "status": 409, "currentVersion": current_version }),
                ));
            }
            Ok((Reply::Fail { status, message }, _)) => {
                return Err(detailed(
                    "http_error",
                    &format!("{what}: HTTP {status}: {message}"),
                    json!({ "status": status, "serverError": message, "attempts": attempt + 1 }),
                ));
            }
            Ok((Reply::Retry { status, message, retry_after }, _)) => {
                uncertain.set(uncertain.get() || status != 429);
                (
                    detailed(
                        "http_error",
                        &format!("{what}: HTTP {status}: {message}"),
                        json!({ "status": status, "serverError": message, "attempts": attempt + 1 }),
                    ),
                    retry_after,
                )
            }
            Ok((Reply::Unreadable { status, message }, _)) => {
                uncertain.set(true);
                (detailed("invalid_response", &format!("{what}: {message}"), json!({ "status": status, "attempts": attempt + 1 })), None)
            }
            Err((code, message)) => {
                uncertain.set(true);
                (detailed(code, &format!("{what}: {message}"), json!({ "attempts": attempt + 1 })), None)
            }
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
) -> Result<(Reply, Option<String>), (&'static str, String)> {
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
    if let Some(bearer) = &config.bearer {
        request = request.header("Authorization", &format!("Bearer {bearer}"));
    }
    for (name, value) in &config.headers {
        request = request.header(name, value);
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
    let etag = response.headers().get("etag");
    let text = response.text().await.map_err(failed)?;
    Ok((read_reply(status, &text, retry_after.as_deref()), etag))
}
