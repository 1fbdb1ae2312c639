//! Probes for orchestrators and operators, and the metrics.
//!
//! - `GET /healthz` (liveness): 200 while the process serves, whatever the
//!   database does — restarting the process would not bring the database
//!   back. It tells whether the database answers and how the request log is
//!   doing. No token needed for the status (`ok`, `database`,
//!   `requestLog.ok`); the details — the log's directory, counters and last
//!   error, which name the server's paths and OS errors — need the `admin`
//!   scope. Nothing about graphs or users either way. A failing request log
//!   shows as `requestLog.ok: false` (with its last error, to admins).
//! - `GET /readyz` (readiness): 200 when the database answers and holds the
//!   schema this build migrates to, else 503 with `{error}`: a load balancer
//!   sends no requests to a process that would answer them 503.
//! - `GET /metrics`: Prometheus text, for the `admin` scope (or without a
//!   token on `--metrics-addr`, see [`crate::metrics`]).

use std::time::Duration;

use axum::Extension;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use kg_history::HistoryError;
use kg_history::access;
use serde_json::json;

use super::blocking::read_db;
use crate::error::ApiError;
use crate::request::Caller;
use crate::state::AppState;

/// How long the database may take to answer before it counts as unavailable.
const DATABASE_TIMEOUT: Duration = Duration::from_secs(5);

/// A graph id no graph has (not a UUID v4): its head is read, and not found.
const NO_GRAPH: &str = "healthz";

#[utoipa::path(get, path = "/healthz", tag = "ops", summary = "Liveness: 200 while the process serves",
    responses((status = 200, description = "Alive; whether the database answers and the request log writes.", body = crate::openapi::Health)))]
pub(super) async fn healthz(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> Response {
    let read = read_db(&state, |db| Ok(db.head(NO_GRAPH)?.is_none()));
    let database = match tokio::time::timeout(DATABASE_TIMEOUT, read).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("{e:?}")),
        Err(_) => Err(format!("no answer within {} s", DATABASE_TIMEOUT.as_secs())),
    };
    if let Err(error) = &database {
        tracing::warn!(%error, "healthz: the database is unavailable");
    }
    let ok = database.is_ok();
    let admin = caller.0.as_ref().is_some_and(|who| who.scopes.admin);
    let request_log = state.request_log.as_ref().map(|log| {
        let status = log.status();
        if admin { json!(status) } else { json!({ "ok": status.ok }) }
    });
    // Alive: `ok` is true; `database` says whether it answers.
    let body = json!({ "ok": true, "database": if ok { "ok" } else { "unavailable" }, "requestLog": request_log });
    (StatusCode::OK, axum::Json(body)).into_response()
}

/// `GET /readyz`: 200 `{ready: true, database: "ok", schema}` when the
/// database answers within [`DATABASE_TIMEOUT`] and holds this build's
/// schema; else 503 `{error, ready: false, database, schema}`.
#[utoipa::path(get, path = "/readyz", tag = "ops", summary = "Readiness: the database answers and holds this build's schema",
    responses((status = 200, description = "Ready.", body = crate::openapi::Ready),
        (status = 503, description = "Not ready.", body = crate::openapi::NotReady, headers(("Retry-After" = String)))))]
pub(super) async fn readyz(State(state): State<AppState>) -> Response {
    let store = state.store.clone();
    let check = tokio::task::spawn_blocking(move || store.schema_version());
    let (ready, database, schema, error) = match tokio::time::timeout(DATABASE_TIMEOUT, check).await {
        Ok(Ok(Ok((held, wanted)))) if held == wanted => (true, "ok", json!(held), None),
        Ok(Ok(Ok((held, wanted)))) => {
            (false, "ok", json!(held), Some(format!("The database holds schema version {held}; this server needs {wanted}.")))
        }
        Ok(Ok(Err(e))) => {
            tracing::warn!(error = %e, "readyz: the database is unavailable");
            (false, "unavailable", json!(null), Some("The history database is unavailable.".to_owned()))
        }
        Ok(Err(e)) => (false, "unavailable", json!(null), Some(format!("The readiness check failed: {e}"))),
        Err(_) => (
            false,
            "unavailable",
            json!(null),
            Some(format!("The history database did not answer within {} s.", DATABASE_TIMEOUT.as_secs())),
        ),
    };
    let mut body = json!({ "ready": ready, "database": database, "schema": schema });
    match error {
        None => (StatusCode::OK, axum::Json(body)).into_response(),
        Some(error) => {
            body["error"] = json!(error);
            (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "1")], axum::Json(body)).into_response()
        }
    }
}

/// `GET /metrics` with the `admin` scope.
#[utoipa::path(get, path = "/metrics", tag = "ops", summary = "Prometheus metrics (admin scope)",
    responses((status = 200, description = "Prometheus text format 0.0.4.", content_type = "text/plain", body = String),
        (status = 403, description = "Needs the admin scope.", body = crate::openapi::ErrorBody)),
    security(("apiToken" = []), ("bearer" = [])))]
pub(super) async fn metrics(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> Result<Response, ApiError> {
    let who = access::signed_in(caller.0.as_ref())?;
    if !who.scopes.admin {
        return Err(HistoryError::Forbidden("The metrics need the admin scope (or --metrics-addr).".into()).into());
    }
    Ok(crate::metrics::response(state.metrics.render(&state.store, state.request_log.as_deref())))
}
