//! `GET /healthz`: whether the database answers (200, else 503) and how the
//! request log is doing. No token needed; nothing about graphs or users.
//!
//! A failing request log does not make the server unhealthy (saves still
//! work): it shows as `requestLog.ok: false` with its last error.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{AppState, read_db};

/// How long the database may take to answer before it counts as unavailable.
const DATABASE_TIMEOUT: Duration = Duration::from_secs(5);

/// A graph id no graph has (not a UUID v4): its head is read, and not found.
const NO_GRAPH: &str = "healthz";

pub(super) async fn healthz(State(state): State<AppState>) -> Response {
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
    let status = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = json!({
        "ok": ok,
        "database": if ok { "ok" } else { "unavailable" },
        "requestLog": state.request_log.as_ref().map(|log| log.status()),
    });
    (status, axum::Json(body)).into_response()
}
