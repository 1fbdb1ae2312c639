//! The HTTP API: the real service's routes, bodies and status codes, plus
//! the audit trail and chain verification. Handlers parse, call the store or
//! the save logic, and respond.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Query, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kg_approval::Timestamp;
use serde_json::{Value, json};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::ServeDir;
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::patch::{PatchBody, save_delta};
use crate::read;
use crate::save::{SaveBody, save};
use crate::store::{AuditFilter, Reader, Store};
use crate::tokens::Tokens;
use crate::write::{SaveContext, Saved};

/// Settings that shape the service.
#[derive(Clone, Debug)]
pub struct Settings {
    pub body_limit: usize,
    /// Keep the snapshots of only this many newest versions per graph (all if `None`).
    pub keep_versions: Option<i64>,
    /// Origins allowed by CORS; empty means any (the origin is echoed).
    pub allowed_origins: Vec<String>,
    /// The built `www/` app, served at `/`.
    pub www: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { body_limit: 10 * 1024 * 1024, keep_versions: None, allowed_origins: Vec::new(), www: None }
    }
}

/// Everything the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<Store>,
    pub tokens: Arc<Tokens>,
    pub settings: Arc<Settings>,
}

pub fn router(state: AppState) -> Router {
    let settings = state.settings.clone();
    let api = Router::new()
        .route("/saveGraphWithHistory", post(save_graph))
        .route("/patchGraph", post(patch_graph))
        .route("/capabilities", get(capabilities))
        .route("/getknowgraphs", get(list_graphs))
        .route("/whoami", get(whoami))
        .route("/getknowgraph", get(get_graph))
        .route("/getknowgraphhistory", get(get_history))
        .route("/getknowgraphversion", get(get_version))
        .route("/getknowgraphaudit", get(get_audit))
        .route("/verifyknowgraph", get(verify_graph));
    let app = match &settings.www {
        Some(dir) => api.fallback_service(ServeDir::new(dir).append_index_html_on_directories(true)),
        None => api,
    };
    app.layer(DefaultBodyLimit::max(settings.body_limit))
        .layer(cors(&settings))
        .layer(middleware::from_fn(preflight_no_content))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

fn cors(settings: &Settings) -> CorsLayer {
    let origins = if settings.allowed_origins.is_empty() {
        AllowOrigin::mirror_request()
    } else {
        AllowOrigin::list(settings.allowed_origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    let headers = ["content-type", "x-api-token", "x-user-id", "x-user-email", "x-user-role", "idempotency-key"];
    CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([Method::GET, Method::POST, Method::DELETE, Method::OPTIONS])
        .allow_headers(headers.map(HeaderName::from_static))
        // A browser client reads the version hash of what it loaded.
        .expose_headers([header::ETAG, HeaderName::from_static("idempotent-replayed")])
}

/// The real service answers `OPTIONS` with 204; tower-http's CORS layer with 200.
async fn preflight_no_content(request: Request, next: Next) -> Response {
    let is_options = request.method() == Method::OPTIONS;
    let mut response = next.run(request).await;
    if is_options && response.status() == StatusCode::OK {
        *response.status_mut() = StatusCode::NO_CONTENT;
    }
    response
}

/// The user a write is made as: the owner of the `X-API-Token`.
fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<String, ApiError> {
    let token = headers.get("x-api-token").and_then(|v| v.to_str().ok()).filter(|t| !t.is_empty());
    let token = token.ok_or_else(|| ApiError::Unauthorized("Missing X-API-Token header.".into()))?;
    state.tokens.user(token).map(str::to_owned).ok_or_else(|| ApiError::Unauthorized("Invalid API token.".into()))
}

/// Runs blocking database work off the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, ApiError> + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| ApiError::Internal(format!("worker: {e}")))?
}

fn body_bytes(state: &AppState, body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge { limit: state.settings.body_limit },
        _ => ApiError::BadRequest(rejection.body_text()),
    })
}

fn save_context(state: &AppState, user: &str, headers: &HeaderMap) -> (String, Option<String>, Option<i64>) {
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_owned);
    (user.to_owned(), key, state.settings.keep_versions)
}

fn saved_response(id: &str, saved: &Saved, extra: Value) -> Response {
    let mut body = json!({ "message": "Graph with history saved successfully", "id": id, "newVersion": saved.version, "hash": saved.hash });
    if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
        body.extend(extra);
    }
    let replayed = HeaderValue::from_static(if saved.replayed { "true" } else { "false" });
    ([(HeaderName::from_static("idempotent-replayed"), replayed)], axum::Json(body)).into_response()
}

async fn save_graph(State(state): State<AppState>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Response, ApiError> {
    let user = authenticate(&state, &headers)?;
    let body = SaveBody::parse(&body_bytes(&state, body)?)?;
    let id = body.id.clone();
    let (user, idempotency_key, keep_versions) = save_context(&state, &user, &headers);
    let store = state.store.clone();
    let saved =
        blocking(move || save(&store, body, SaveContext { user: &user, idempotency_key, now: Timestamp::now(), keep_versions })).await?;
    tracing::info!(graph = %id, version = saved.version, replayed = saved.replayed, "saved");
    Ok(saved_response(&id, &saved, json!({})))
}

/// Not in the real service: an approval saved as the changes it made (one
/// version), see [`crate::patch`].
async fn patch_graph(State(state): State<AppState>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Response, ApiError> {
    let user = authenticate(&state, &headers)?;
    let body = PatchBody::parse(&body_bytes(&state, body)?)?;
    let id = body.graph_id.clone();
    let (user, idempotency_key, keep_versions) = save_context(&state, &user, &headers);
    let store = state.store.clone();
    let saved =
        blocking(move || save_delta(&store, body, SaveContext { user: &user, idempotency_key, now: Timestamp::now(), keep_versions }))
            .await?;
    tracing::info!(graph = %id, version = saved.version, replayed = saved.replayed, "saved a delta");
    Ok(saved_response(&id, &saved, json!({ "ok": true, "graphId": id })))
}

/// Not in the real service: what this server takes beyond the real
/// contract, so a client can use it and fall back where it is missing.
async fn capabilities() -> Response {
    axum::Json(json!({
        "service": "kg-approval-server",
        "deltaSaves": "/patchGraph",
        "idempotencyKeys": true,
        "versionHashes": true,
    }))
    .into_response()
}

type Params = Query<HashMap<String, String>>;

fn param<'a>(params: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    params.get(name).map(String::as_str).filter(|v| !v.is_empty())
}

fn required<'a>(params: &'a HashMap<String, String>, name: &str) -> Result<&'a str, ApiError> {
    param(params, name).ok_or_else(|| ApiError::BadRequest(format!("Missing {name} parameter.")))
}

async fn read_db<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&mut dyn Reader) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let store = state.store.clone();
    blocking(move || store.read(f)).await
}

/// Not in the real service: the user a token belongs to, so an app stamps
/// approvals as that user (the only one the server will accept).
async fn whoami(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let user = authenticate(&state, &headers)?;
    Ok(axum::Json(json!({ "user": user })).into_response())
}

/// Not in the real service: the graphs this server holds, for a picker,
/// from the `graphs` index (no graph is read).
async fn list_graphs(State(state): State<AppState>) -> Result<Response, ApiError> {
    let rows = read_db(&state, |db| Ok(db.graphs()?)).await?;
    let graphs: Vec<Value> = rows
        .iter()
        .map(|g| json!({ "id": g.graph_id, "version": g.version, "title": g.title, "nodes": g.nodes, "updatedAt": g.saved_at, "updatedBy": g.saved_by }))
        .collect();
    Ok(axum::Json(json!({ "graphs": graphs })).into_response())
}

/// A graph as JSON text, with its version's hash as the ETag (a client sends
/// it back as the base of its next delta).
fn graph_response(text: String, hash: &str) -> Response {
    let etag = HeaderValue::from_str(&format!("\"{hash}\"")).unwrap_or_else(|_| HeaderValue::from_static("\"\""));
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json")), (header::ETAG, etag)], text).into_response()
}

async fn get_graph(State(state): State<AppState>, Query(params): Params) -> Result<Response, ApiError> {
    let id = required(&params, "id")?.to_owned();
    let (text, hash) = read_db(&state, move |c| read::graph_text(c, &id, None)).await?;
    Ok(graph_response(text, &hash))
}

async fn get_version(State(state): State<AppState>, Query(params): Params) -> Result<Response, ApiError> {
    let (Some(id), Some(version)) = (param(&params, "id"), param(&params, "version")) else {
        return Err(ApiError::BadRequest("Missing id or version parameter.".into()));
    };
    let number: i64 = version.parse().map_err(|_| ApiError::BadRequest(format!("version must be an integer, got '{version}'.")))?;
    let id = id.to_owned();
    let (text, hash) = read_db(&state, move |c| read::graph_text(c, &id, Some(number))).await?;
    Ok(graph_response(text, &hash))
}

async fn get_history(State(state): State<AppState>, Query(params): Params) -> Result<Response, ApiError> {
    let id = required(&params, "id")?.to_owned();
    let owned = id.clone();
    let rows = read_db(&state, move |db| Ok(db.history(&owned)?)).await?;
    let results: Vec<Value> = rows
        .iter()
        .map(|v| json!({ "version": v.version, "timestamp": sqlite_time(&v.saved_at), "createdAt": v.saved_at, "user": v.user, "reason": v.reason, "source": v.source }))
        .collect();
    let count = results.len();
    Ok(axum::Json(json!({ "graphId": id, "history": { "results": results, "success": true, "meta": { "count": count } } })).into_response())
}

async fn get_audit(State(state): State<AppState>, Query(params): Params) -> Result<Response, ApiError> {
    let id = required(&params, "id")?.to_owned();
    let number = |name: &str, default: i64, max: i64| -> Result<i64, ApiError> {
        match param(&params, name) {
            None => Ok(default),
            Some(text) => text
                .parse::<i64>()
                .ok()
                .filter(|n| (0..=max).contains(n))
                .ok_or_else(|| ApiError::BadRequest(format!("{name} must be an integer from 0 to {max}."))),
        }
    };
    let filter = AuditFilter {
        node_id: param(&params, "nodeId").map(str::to_owned),
        user: param(&params, "user").map(str::to_owned),
        run_id: param(&params, "runId").map(str::to_owned),
        limit: number("limit", 50, 500)?,
        offset: number("offset", 0, i64::MAX)?,
    };
    let (owned, page) = (id.clone(), filter.clone());
    let (total, entries) = read_db(&state, move |c| read::audit_entries(c, &owned, &page)).await?;
    Ok(axum::Json(json!({ "graphId": id, "total": total, "limit": filter.limit, "offset": filter.offset, "entries": entries }))
        .into_response())
}

async fn verify_graph(State(state): State<AppState>, Query(params): Params) -> Result<Response, ApiError> {
    let id = required(&params, "id")?.to_owned();
    let owned = id.clone();
    let verification = read_db(&state, move |c| read::verify(c, &owned)).await?;
    let mut body = serde_json::to_value(&verification).map_err(|e| ApiError::Internal(e.to_string()))?;
    body["graphId"] = json!(id);
    Ok(axum::Json(body).into_response())
}

/// `2026-02-04T14:30:45.123Z` → `2026-02-04 14:30:45`, the real service's format.
fn sqlite_time(iso: &str) -> String {
    iso.get(..19).map(|s| s.replacen('T', " ", 1)).unwrap_or_else(|| iso.to_owned())
}
