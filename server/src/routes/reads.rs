//! The read routes: the contract's (a graph, its history, one version), the
//! listing, the audit trail and chain verification.

use kg_history::HistoryError;
use std::collections::HashMap;

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::blocking::{Need, read_as, read_db, read_with_role, role_on};
use crate::error::ApiError;
use crate::request::Caller;
use crate::state::AppState;
use kg_history::access::{self, Role};
use kg_history::read;
use kg_history::store::AuditFilter;

type Params = Query<HashMap<String, String>>;

pub(super) fn param<'a>(params: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    params.get(name).map(String::as_str).filter(|v| !v.is_empty())
}

pub(super) fn required<'a>(params: &'a HashMap<String, String>, name: &str) -> Result<&'a str, ApiError> {
    param(params, name).ok_or_else(|| HistoryError::BadRequest(format!("Missing {name} parameter.")).into())
}

/// An integer query parameter from 0 to `max`, `default` when absent.
pub(super) fn number(params: &HashMap<String, String>, name: &str, default: i64, max: i64) -> Result<i64, ApiError> {
    match param(params, name) {
        None => Ok(default),
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|n| (0..=max).contains(n))
            .ok_or_else(|| HistoryError::BadRequest(format!("{name} must be an integer from 0 to {max}.")).into()),
    }
}

/// The graph id of an audit read, once the caller may see who did what (for
/// a read that is not one transaction: the streamed export; the others
/// check in theirs, see [`read_as`]).
pub(super) async fn auditable(state: &AppState, caller: &Caller, params: &HashMap<String, String>) -> Result<String, ApiError> {
    let id = required(params, "id")?.to_owned();
    let (_, role) = role_on(state, caller, &id).await?;
    access::may_audit(caller.0.as_ref(), &id, role)?;
    Ok(id)
}

/// Not in the real service: what this server takes beyond the real
/// contract, so a client can use it and fall back where it is missing.
#[utoipa::path(get, path = "/capabilities", tag = "graphs", summary = "What this server takes beyond the real contract",
    responses((status = 200, description = "Capabilities.", body = crate::openapi::Capabilities)))]
pub(super) async fn capabilities() -> Response {
    axum::Json(json!({
        "service": "kg-approval-server",
        "deltaSaves": "/patchGraph",
        "idempotencyKeys": true,
        "versionHashes": true,
    }))
    .into_response()
}

/// Not in the real service: the graphs this server holds (that the caller
/// may read), for a picker, from the `graphs` index (no graph is read).
#[utoipa::path(get, path = "/getknowgraphs", tag = "graphs", summary = "The graphs held (that the caller may read)",
    responses((status = 200, description = "The graphs.", body = crate::openapi::Graphs)))]
pub(super) async fn list_graphs(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> Result<Response, ApiError> {
    let policy = state.settings.access;
    let user = caller.0.as_ref().map(|p| p.user.clone());
    let (rows, roles) = read_db(&state, move |db| {
        let rows = db.graphs()?;
        let mut roles: HashMap<String, Role> = HashMap::new();
        if let Some(user) = &user {
            for (graph_id, role) in db.granted_to(user)? {
                if let Some(role) = Role::grantable(&role) {
                    roles.insert(graph_id, role);
                }
            }
            for graph_id in db.owned_by(user)? {
                roles.insert(graph_id, Role::Owner);
            }
        }
        Ok((rows, roles))
    })
    .await?;
    let graphs: Vec<Value> = rows
        .iter()
        .filter(|g| policy.lists(caller.0.as_ref(), roles.get(&g.graph_id).copied()))
        .map(|g| {
            // Who saved the newest version is the trail's (see `Policy::shows_people`).
            let by = policy.shows_people(caller.0.as_ref(), &g.graph_id, roles.get(&g.graph_id).copied()).then_some(&g.saved_by);
            json!({ "id": g.graph_id, "version": g.version, "title": g.title, "nodes": g.nodes, "updatedAt": g.saved_at,
                    "updatedBy": by.filter(|by| !by.is_empty()) })
        })
        .collect();
    Ok(axum::Json(json!({ "graphs": graphs })).into_response())
}

/// A graph as JSON text, with its version's hash as the ETag (a client sends
/// it back as the base of its next delta).
fn graph_response(text: String, hash: &str) -> Response {
    let etag = HeaderValue::from_str(&format!("\"{hash}\"")).unwrap_or_else(|_| HeaderValue::from_static("\"\""));
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json")), (header::ETAG, etag)], text).into_response()
}

#[utoipa::path(get, path = "/getknowgraph", tag = "contract", summary = "The current version of a graph",
    params(crate::openapi::GraphIdQuery),
    responses(
        (status = 200, description = "The graph as saved, metadata.version set.", body = crate::openapi::Graph,
            headers(("ETag" = String, description = "The version's hash, quoted"))),
        (status = 400, description = "No id.", body = crate::openapi::ErrorBody), (status = 403, description = "No read right (--private-reads).", body = crate::openapi::ErrorBody), (status = 404, description = "No such graph.", body = crate::openapi::ErrorBody), (status = 410, description = "Pruned (--keep-versions).", body = crate::openapi::ErrorBody)))]
pub(super) async fn get_graph(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let id = required(&params, "id")?.to_owned();
    let (text, hash) = read_as(&state, &caller, id, Need::Read, |c, id| read::graph_text(c, id, None)).await?;
    Ok(graph_response(text, &hash))
}

#[utoipa::path(get, path = "/getknowgraphversion", tag = "contract", summary = "One version of a graph, exactly as saved",
    params(crate::openapi::VersionQuery),
    responses(
        (status = 200, description = "The version's graph.", body = crate::openapi::Graph,
            headers(("ETag" = String, description = "The version's hash, quoted"))),
        (status = 400, description = "No id or version, or a version that is not an integer.", body = crate::openapi::ErrorBody), (status = 403, description = "No read right (--private-reads).", body = crate::openapi::ErrorBody),
        (status = 404, description = "No such graph or version.", body = crate::openapi::ErrorBody), (status = 410, description = "Pruned (--keep-versions).", body = crate::openapi::ErrorBody)))]
pub(super) async fn get_version(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let (Some(_), Some(version)) = (param(&params, "id"), param(&params, "version")) else {
        return Err(HistoryError::BadRequest("Missing id or version parameter.".into()).into());
    };
    let number: i64 = version.parse().map_err(|_| HistoryError::BadRequest(format!("version must be an integer, got '{version}'.")))?;
    let id = required(&params, "id")?.to_owned();
    let (text, hash) = read_as(&state, &caller, id, Need::Read, move |c, id| read::graph_text(c, id, Some(number))).await?;
    Ok(graph_response(text, &hash))
}

#[utoipa::path(get, path = "/getknowgraphhistory", tag = "contract", summary = "Every version of a graph, newest first",
    params(crate::openapi::GraphIdQuery),
    responses((status = 200, description = "The versions; user and reason are null unless the caller may write or audit the graph.", body = crate::openapi::History),
        (status = 400, description = "No id.", body = crate::openapi::ErrorBody), (status = 403, description = "No read right (--private-reads).", body = crate::openapi::ErrorBody)))]
pub(super) async fn get_history(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let id = required(&params, "id")?.to_owned();
    let (who, policy) = (caller.0.clone(), state.settings.access);
    let (rows, shown) = read_with_role(&state, &caller, id.clone(), Need::Read, move |db, id, role| {
        Ok((db.history(id)?, policy.shows_people(who.as_ref(), id, role)))
    })
    .await?;
    // Who saved each version and why are the trail's: shown to the graph's
    // writers and auditors, null for everyone else (see `Policy::shows_people`).
    let text = |t: Option<&String>| t.filter(|t| shown && !t.is_empty()).cloned();
    let results: Vec<Value> = rows
        .iter()
        .map(|v| {
            json!({ "version": v.version, "timestamp": sqlite_time(&v.saved_at), "createdAt": v.saved_at,
                         "user": text(Some(&v.user)), "reason": text(v.reason.as_ref()), "source": v.source })
        })
        .collect();
    let count = results.len();
    Ok(axum::Json(json!({ "graphId": id, "history": { "results": results, "success": true, "meta": { "count": count } } })).into_response())
}

#[utoipa::path(get, path = "/getknowgraphaudit", tag = "audit", summary = "The audit trail of a graph",
    params(crate::openapi::GraphIdQuery, crate::openapi::AuditFilters, crate::openapi::Page),
    responses((status = 200, description = "The entries, newest first.", body = crate::openapi::AuditPage),
        (status = 400, description = "A bad parameter.", body = crate::openapi::ErrorBody), (status = 403, description = "Needs the audit scope or ownership of the graph.", body = crate::openapi::ErrorBody)))]
pub(super) async fn get_audit(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let filter = AuditFilter {
        node_id: param(&params, "nodeId").map(str::to_owned),
        user: param(&params, "user").map(str::to_owned),
        run_id: param(&params, "runId").map(str::to_owned),
        from: param(&params, "from").map(|t| kg_history::export::parse_time("from", t)).transpose()?,
        to: param(&params, "to").map(|t| kg_history::export::parse_time("to", t)).transpose()?,
        limit: number(&params, "limit", 50, 500)?,
        offset: number(&params, "offset", 0, i64::MAX)?,
    };
    let id = required(&params, "id")?.to_owned();
    let page = filter.clone();
    let (total, entries) = read_as(&state, &caller, id.clone(), Need::Audit, move |c, id| read::audit_entries(c, id, &page)).await?;
    Ok(axum::Json(json!({ "graphId": id, "total": total, "limit": filter.limit, "offset": filter.offset, "entries": entries }))
        .into_response())
}

#[utoipa::path(get, path = "/verifyknowgraph", tag = "audit", summary = "Recompute a graph's hash chain",
    params(crate::openapi::GraphIdQuery),
    responses((status = 200, description = "The verification (ok, or the first broken version).", body = crate::openapi::Verification),
        (status = 400, description = "No id.", body = crate::openapi::ErrorBody), (status = 403, description = "Needs the audit scope or ownership of the graph.", body = crate::openapi::ErrorBody), (status = 404, description = "No such graph.", body = crate::openapi::ErrorBody)))]
pub(super) async fn verify_graph(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let id = required(&params, "id")?.to_owned();
    let verification = read_as(&state, &caller, id.clone(), Need::Audit, |c, id| read::verify(c, id)).await?;
    let mut body = serde_json::to_value(&verification).map_err(|e| HistoryError::Internal(e.to_string()))?;
    body["graphId"] = json!(id);
    Ok(axum::Json(body).into_response())
}

/// `2026-02-04T14:30:45.123Z` → `2026-02-04 14:30:45`, the real service's format.
fn sqlite_time(iso: &str) -> String {
    iso.get(..19).map(|s| s.replacen('T', " ", 1)).unwrap_or_else(|| iso.to_owned())
}
