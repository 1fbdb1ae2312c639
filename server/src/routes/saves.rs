//! The write routes: a whole graph (`POST /saveGraphWithHistory`, the real
//! service's) and an approval's delta (`POST /patchGraph`, this server's).

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use kg_approval::Timestamp;
use serde_json::{Value, json};

use super::{AppState, Caller, blocking, role_on};
use crate::error::ApiError;
use crate::idempotency;
use crate::patch::{PatchBody, save_delta};
use crate::request_log::LoggedSave;
use crate::save::{SaveBody, save};
use crate::write::{SaveContext, Saved};

fn body_bytes(state: &AppState, body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge { limit: state.settings.body_limit },
        _ => ApiError::BadRequest(rejection.body_text()),
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

/// The user a save is made as, once the caller may write `graph_id`.
async fn writer(state: &AppState, caller: &Caller, graph_id: &str, override_version: bool) -> Result<String, ApiError> {
    let (exists, role) = role_on(state, caller, graph_id).await?;
    state.settings.access.may_write(caller.0.as_ref(), graph_id, exists, role, override_version)?;
    Ok(caller.0.as_ref().map(|p| p.user.clone()).unwrap_or_default())
}

pub(super) async fn save_graph(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = SaveBody::parse(&body_bytes(&state, body)?)?;
    let id = body.id.clone();
    let user = writer(&state, &caller, &id, body.override_version).await?;
    let idempotency_key = idempotency::header_key(&headers)?;
    let (store, keep_versions) = (state.store.clone(), state.settings.keep_versions);
    let saved =
        blocking(move || save(&store, body, SaveContext { user: &user, idempotency_key, now: Timestamp::now(), keep_versions })).await?;
    tracing::info!(graph = %id, version = saved.version, replayed = saved.replayed, "saved");
    Ok(saved_response(&id, &saved, json!({})))
}

/// Not in the real service: an approval saved as the changes it made (one
/// version), see [`crate::patch`].
pub(super) async fn patch_graph(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = PatchBody::parse(&body_bytes(&state, body)?)?;
    let id = body.graph_id.clone();
    let user = writer(&state, &caller, &id, false).await?;
    let idempotency_key = idempotency::header_key(&headers)?;
    let (store, keep_versions) = (state.store.clone(), state.settings.keep_versions);
    let saved =
        blocking(move || save_delta(&store, body, SaveContext { user: &user, idempotency_key, now: Timestamp::now(), keep_versions }))
            .await?;
    tracing::info!(graph = %id, version = saved.version, replayed = saved.replayed, "saved a delta");
    Ok(saved_response(&id, &saved, json!({ "ok": true, "graphId": id })))
}
