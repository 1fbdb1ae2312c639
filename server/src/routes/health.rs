//! `GET /healthz`: whether the database answers (200, else 503) and how the
//! request log is doing. No token needed for the status (`ok`, `database`,
//! `requestLog.ok`); the details — the log's directory, counters and last
//! error, which name the server's paths and OS errors — need the `admin`
//! scope. Nothing about graphs or users either way.
//!
//! A failing request log does not make the server unhealthy (saves still
//! work): it shows as `requestLog.ok: false` (with its last error, to admins).

use std::time::Duration;

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::blocking::read_db;
use crate::request::Caller;
use crate::state::AppState;

/// How long the database may take to answer before it counts as unavailable.
const DATABASE_TIMEOUT: Duration = Duration::from_secs(5);

/// A graph id no graph has (not a UUID v4): its head is read, and not found.
const NO_GRAPH: &str = "healthz";

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
    let status = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let admin = caller.0.as_ref().is_some_and(|who| who.scopes.admin);
    let request_log = state.request_log.as_ref().map(|log| {
        let status = log.status();
        if admin { json!(status) } else { json!({ "ok": status.ok }) }
    });
    let body = json!({ "ok": ok, "database": if ok { "ok" } else { "unavailable" }, "requestLog": request_log });
    (status, axum::Json(body)).into_response()
}
