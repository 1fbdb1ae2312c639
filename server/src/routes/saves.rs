//! The write routes: a whole graph (`POST /saveGraphWithHistory`, the real
//! service's) and an approval's delta (`POST /patchGraph`, this server's).

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use kg_approval::Timestamp;
use kg_history::HistoryError;
use serde_json::{Value, json};

use super::blocking::blocking;
use crate::error::ApiError;
use crate::request::Caller;
use crate::request_log::LoggedSave;
use crate::state::AppState;
use kg_history::access::{self, WriteAccess};
use kg_history::patch::{PatchBody, save_delta_checked};
use kg_history::principal::Principal;
use kg_history::save::{SaveBody, save_checked};
use kg_history::write::{SaveContext, Saved};

fn body_bytes(state: &AppState, body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge { limit: state.settings.body_limit },
        _ => HistoryError::BadRequest(rejection.body_text()).into(),
    })
}

fn saved_response(id: &str, saved: &Saved, extra: Value) -> Response {
    let mut body = json!({ "message": "Graph with history saved successfully", "id": id, "newVersion": saved.version, "hash": saved.hash });
    if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
        body.extend(extra);
    }
    let replayed = HeaderValue::from_static(if saved.replayed { "true" } else { "false" });
    let logged = LoggedSave { graph_id: id.to_owned(), version: saved.version };
    ([(HeaderName::from_static("idempotent-replayed"), replayed)], Extension(logged), axum::Json(body)).into_response()
}

/// The caller a save is made by, once its token may write at all; whether
/// it may write this graph is decided inside the write transaction
/// ([`WriteAccess`]), never before it.
fn writer(caller: &Caller) -> Result<Principal, ApiError> {
    Ok(access::writer(caller.0.as_ref()).cloned()?)
}

#[utoipa::path(post, path = "/saveGraphWithHistory", tag = "contract",
    summary = "Save a whole graph as its next version",
    params(crate::openapi::IdempotencyKey),
    request_body(content = crate::openapi::SaveRequest, content_type = "application/json"),
    responses(crate::openapi::SaveAnswers,
        (status = 400, description = "A bad body, a new id that is not a UUID v4, a number beyond 64 bits.", body = crate::openapi::ErrorBody),
        (status = 409, description = "Not the current version (currentVersion says which is).", body = crate::openapi::ErrorBody)),
    security(("apiToken" = []), ("bearer" = [])))]
pub(super) async fn save_graph(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let who = writer(&caller)?;
    let body = SaveBody::parse(&body_bytes(&state, body)?)?;
    let id = body.id.clone();
    let idempotency_key = header_key(&headers)?;
    let (store, keep_versions, policy) = (state.store.clone(), state.settings.keep_versions, state.settings.access);
    let saved = blocking(move || {
        let ctx = SaveContext { user: &who.user, idempotency_key, now: Timestamp::now(), keep_versions };
        save_checked(&store, body, ctx, WriteAccess { policy, who: Some(&who) })
    })
    .await?;
    tracing::info!(graph = %id, version = saved.version, replayed = saved.replayed, "saved");
    Ok(saved_response(&id, &saved, json!({})))
}

/// Not in the real service: an approval saved as the changes it made (one
/// version), see [`kg_history::patch`].
#[utoipa::path(post, path = "/patchGraph", tag = "graphs",
    summary = "Save an approval's changes (a delta) as the next version",
    params(crate::openapi::IdempotencyKey),
    request_body(content = crate::openapi::PatchRequest, content_type = "application/json"),
    responses(crate::openapi::SaveAnswers,
        (status = 400, description = "A malformed delta, or one that does not apply (code: unknown_node, duplicate_node_id, dangling_edge, invalid_delta, …).", body = crate::openapi::ErrorBody),
        (status = 404, description = "No such graph.", body = crate::openapi::ErrorBody),
        (status = 409, description = "Not the current version or hash (currentVersion, expectedVersion).", body = crate::openapi::ErrorBody)),
    security(("apiToken" = []), ("bearer" = [])))]
pub(super) async fn patch_graph(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let who = writer(&caller)?;
    let body = PatchBody::parse(&body_bytes(&state, body)?)?;
    let id = body.graph_id.clone();
    let idempotency_key = header_key(&headers)?;
    let (store, keep_versions, policy) = (state.store.clone(), state.settings.keep_versions, state.settings.access);
    let saved = blocking(move || {
        let ctx = SaveContext { user: &who.user, idempotency_key, now: Timestamp::now(), keep_versions };
        save_delta_checked(&store, body, ctx, WriteAccess { policy, who: Some(&who) })
    })
    .await?;
    tracing::info!(graph = %id, version = saved.version, replayed = saved.replayed, "saved a delta");
    Ok(saved_response(&id, &saved, json!({ "ok": true, "graphId": id })))
}

/// The `Idempotency-Key` header: absent or empty means none; a value that is
/// not visible ASCII is refused rather than ignored (ignoring it would store
/// a retry twice).
fn header_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else { return Ok(None) };
    let text = value.to_str().map_err(|_| HistoryError::BadRequest("Idempotency-Key must be visible ASCII (e.g. a UUID).".into()))?.trim();
    Ok((!text.is_empty()).then(|| text.to_owned()))
}
