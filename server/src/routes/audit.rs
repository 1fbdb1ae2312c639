//! The audit routes beyond the trail itself: field-level blame, runs,
//! streamed exports, the store-wide event log, and erasure. All of them name
//! people: they need the `audit` scope or ownership of the graph (erasure:
//! the `admin` scope).

use kg_history::HistoryError;
use std::collections::HashMap;
use std::io;

use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::mpsc;

use super::blocking::{Need, blocking, read_as, read_db};
use super::reads::{auditable, number, param, required};
use crate::error::ApiError;
use crate::request::Caller;
use crate::state::AppState;
use kg_history::access::{self, Role, role_of};
use kg_history::blame::{self, Subject};
use kg_history::csv::CsvOptions;
use kg_history::export::{self, Format, parse_time};
use kg_history::store::ExportFilter;
use kg_history::{erase, events, runs};

type Params = Query<HashMap<String, String>>;

/// `GET /getknowgraphblame?id=&nodeId=` (or `edgeId=`, or neither for the metadata).
#[utoipa::path(get, path = "/getknowgraphblame", tag = "audit", summary = "For every current field of a node, edge or the metadata, the version that gave it its value",
    params(crate::openapi::BlameQuery),
    responses((status = 200, description = "The blame.", body = Object),
        (status = 400, description = "A bad parameter.", body = crate::openapi::ErrorBody), (status = 403, description = "Needs the audit scope or ownership of the graph.", body = crate::openapi::ErrorBody), (status = 404, description = "No such graph or part.", body = crate::openapi::ErrorBody)))]
pub(super) async fn get_blame(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let subject = match (param(&params, "nodeId"), param(&params, "edgeId")) {
        (Some(_), Some(_)) => return Err(HistoryError::BadRequest("Give nodeId or edgeId, not both.".into()).into()),
        (Some(node), None) => Subject::Node(node.to_owned()),
        (None, Some(edge)) => Subject::Edge(edge.to_owned()),
        (None, None) => Subject::Metadata,
    };
    let id = required(&params, "id")?.to_owned();
    let blame = read_as(&state, &caller, id, Need::Audit, move |db, id| blame::blame(db, id, &subject)).await?;
    Ok(axum::Json(blame).into_response())
}

/// `GET /getknowgraphrun?runId=&limit=&offset=`: the run's approvals on the
/// graphs the caller may audit.
#[utoipa::path(get, path = "/getknowgraphrun", tag = "audit", summary = "Every approval of one AI run, across the graphs the caller may audit",
    params(crate::openapi::RunQuery, crate::openapi::Page),
    responses((status = 200, description = "The run.", body = Object), (status = 400, description = "A bad parameter.", body = crate::openapi::ErrorBody)),
    security(("apiToken" = []), ("bearer" = [])))]
pub(super) async fn get_run(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let run_id = required(&params, "runId")?.to_owned();
    let limit = number(&params, "limit", 50, 500)? as usize;
    let offset = number(&params, "offset", 0, i64::MAX)? as usize;
    let who = access::signed_in(caller.0.as_ref())?.clone();
    let run = read_db(&state, move |db| {
        runs::run(db, &run_id, limit, offset, &mut |db, graph_id| {
            Ok(who.scopes.can_audit() || role_of(db, graph_id, &who.user)? == Some(Role::Owner))
        })
    })
    .await?;
    Ok(axum::Json(run).into_response())
}

/// `GET /exportknowgraphaudit?format=csv|jsonl&id=&nodeId=&user=&runId=&from=&to=`
/// (CSV also `&delimiter=comma|semicolon&bom=true|false`, see [`kg_history::csv`]):
/// streamed as it is read (constant memory, whatever its size). Without
/// `id` it spans every graph and needs the audit scope.
#[utoipa::path(get, path = "/exportknowgraphaudit", tag = "audit", summary = "The audit trail as CSV or JSON lines, streamed",
    params(crate::openapi::ExportQuery, crate::openapi::AuditFilters),
    responses((status = 200, description = "One row per changed field.", content((String = "text/csv"), (String = "application/x-ndjson"))),
        (status = 400, description = "A bad parameter.", body = crate::openapi::ErrorBody), (status = 403, description = "Needs the audit scope or ownership of the graph.", body = crate::openapi::ErrorBody)),
    security(("apiToken" = []), ("bearer" = [])))]
pub(super) async fn export_audit(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let format = Format::parse(param(&params, "format").unwrap_or("csv"))?;
    let (delimiter, bom) = (param(&params, "delimiter"), param(&params, "bom"));
    if format == Format::Jsonl && (delimiter.is_some() || bom.is_some()) {
        return Err(HistoryError::BadRequest("delimiter and bom apply to format=csv only.".into()).into());
    }
    let csv = CsvOptions::parse(delimiter, bom).map_err(HistoryError::BadRequest)?;
    let filter = export_filter(&params)?;
    match &filter.graph_id {
        Some(_) => {
            auditable(&state, &caller, &params).await?;
        }
        None => {
            let who = access::signed_in(caller.0.as_ref())?;
            if !who.scopes.can_audit() {
                return Err(HistoryError::Forbidden("An export of every graph needs the audit scope; name a graph with id.".into()).into());
            }
        }
    }
    let name = format!("audit-{}.{}", filter.graph_id.as_deref().unwrap_or("all"), if format == Format::Csv { "csv" } else { "jsonl" });
    let (sender, receiver) = mpsc::channel::<Result<Bytes, io::Error>>(4);
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || {
        let mut sink = ChannelWriter { sender, buffer: Vec::with_capacity(CHUNK) };
        if let Err(e) = export::export_with(&store, &filter, format, csv, &mut sink) {
            // The status line is sent: end the body with an error, so the
            // client sees a broken transfer, never a short export.
            tracing::error!(error = ?e, "export failed");
            let _ = sink.sender.blocking_send(Err(io::Error::other("the export failed")));
        }
    });
    let stream = Body::from_stream(futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    }));
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", name.replace(['"', '\\'], "_")))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type())), (header::CONTENT_DISPOSITION, disposition)], stream)
        .into_response())
}

/// The filters of an export (those of `/getknowgraphaudit`, plus times).
pub fn export_filter(params: &HashMap<String, String>) -> Result<ExportFilter, ApiError> {
    let text = |name: &str| param(params, name).map(str::to_owned);
    Ok(ExportFilter {
        graph_id: text("id"),
        node_id: text("nodeId"),
        user: text("user"),
        run_id: text("runId"),
        from: param(params, "from").map(|t| parse_time("from", t)).transpose()?,
        to: param(params, "to").map(|t| parse_time("to", t)).transpose()?,
    })
}

/// Bytes sent per chunk of a streamed export.
const CHUNK: usize = 64 * 1024;

/// Hands what an export writes to the response body, a chunk at a time;
/// waits while the client is slower (the channel holds four chunks), and
/// stops the export when the client has gone.
struct ChannelWriter {
    sender: mpsc::Sender<Result<Bytes, io::Error>>,
    buffer: Vec<u8>,
}

impl io::Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK)));
        self.sender.blocking_send(Ok(chunk)).map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

/// `GET /getauditevents`: erasures and audit expiry, with the log's check.
#[utoipa::path(get, path = "/getauditevents", tag = "audit", summary = "The store-wide event log (erasures, audit expiry) and its chain check",
    responses((status = 200, description = "The events.", body = crate::openapi::Events), (status = 403, description = "Needs the audit scope.", body = crate::openapi::ErrorBody)),
    security(("apiToken" = []), ("bearer" = [])))]
pub(super) async fn get_events(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> Result<Response, ApiError> {
    let who = access::signed_in(caller.0.as_ref())?;
    if !who.scopes.can_audit() {
        return Err(HistoryError::Forbidden("The event log needs the audit scope.".into()).into());
    }
    let events = read_db(&state, |db| Ok(db.events()?)).await?;
    let check = events::verify(&events);
    let listed: Vec<_> = events
        .iter()
        .map(|e| {
            let detail: serde_json::Value = serde_json::from_str(&e.detail).unwrap_or(serde_json::Value::Null);
            json!({ "seq": e.seq, "at": e.at, "kind": e.kind, "actor": e.actor, "detail": detail, "hash": e.hash })
        })
        .collect();
    Ok(axum::Json(json!({ "events": listed, "verification": check })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EraseBody {
    user: String,
}

/// `POST /eraseUser {"user": "..."}` (admin scope): see [`kg_history::erase`].
#[utoipa::path(post, path = "/eraseUser", tag = "audit", summary = "Replace a person by their pseudonym everywhere",
    request_body(content = crate::openapi::EraseRequest, content_type = "application/json"),
    responses((status = 200, description = "What was rewritten.", body = Object),
        (status = 400, description = "A bad body.", body = crate::openapi::ErrorBody), (status = 403, description = "Needs the admin scope.", body = crate::openapi::ErrorBody), (status = 422, description = "Versions saved before pseudonyms name the person.", body = crate::openapi::ErrorBody)),
    security(("apiToken" = []), ("bearer" = [])))]
pub(super) async fn erase_user(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let who = access::signed_in(caller.0.as_ref())?.clone();
    if !who.scopes.admin {
        return Err(HistoryError::Forbidden("Erasing a person needs the admin scope.".into()).into());
    }
    let body: EraseBody = serde_json::from_slice(&body).map_err(|e| HistoryError::BadRequest(format!("body: {e}")))?;
    let store = state.store.clone();
    let log = state.request_log.clone();
    let erasure = blocking(move || {
        let records: &dyn erase::PersonalRecords = match log.as_deref() {
            Some(log) => log,
            None => &erase::NoRecords,
        };
        erase::erase(&store, &body.user, &who.user, records)
    })
    .await?;
    // For the alarms (an erasure is an alarm rule's).
    let done = crate::alarms::ErasureDone(erasure.event);
    Ok((Extension(done), axum::Json(erasure)).into_response())
}
