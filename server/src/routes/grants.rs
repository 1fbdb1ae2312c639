//! Not in the real service: who the caller is, and the rights on a graph
//! (its owner and the editors and viewers it granted; see [`kg_history::access`]).

use kg_history::HistoryError;
use std::collections::HashMap;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::blocking::{blocking, read_db, role_on};
use crate::error::ApiError;
use crate::request::Caller;
use crate::state::AppState;
use kg_history::access::{self, Role};

/// The user and scopes of the `X-API-Token`, so an app stamps approvals as
/// that user (the only one the server will accept).
#[utoipa::path(get, path = "/whoami", tag = "access", summary = "The caller's user and scopes",
    responses((status = 200, description = "The caller.", body = crate::openapi::WhoAmI)),
    security(("apiToken" = []), ("bearer" = [])))]
pub(super) async fn whoami(Extension(caller): Extension<Caller>) -> Result<Response, ApiError> {
    let who = caller.0.ok_or_else(|| HistoryError::Unauthorized("Missing X-API-Token header.".into()))?;
    Ok(axum::Json(json!({ "user": who.user, "scopes": who.scopes.names() })).into_response())
}

/// `GET /getgraphaccess?id=`: the owner and the grants of a graph, for its
/// owner and admins.
#[utoipa::path(get, path = "/getgraphaccess", tag = "access", summary = "The owner and the grants of a graph",
    params(crate::openapi::GraphIdQuery),
    responses((status = 200, description = "The graph's access.", body = crate::openapi::Access),
        (status = 400, description = "No id.", body = crate::openapi::ErrorBody), (status = 403, description = "Needs the graph's owner or an admin.", body = crate::openapi::ErrorBody), (status = 404, description = "No such graph.", body = crate::openapi::ErrorBody)),
    security(("apiToken" = []), ("bearer" = [])))]
pub(super) async fn get_access(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let id = params.get("id").filter(|v| !v.is_empty()).cloned().ok_or_else(|| HistoryError::BadRequest("Missing id parameter.".into()))?;
    let (exists, role) = role_on(&state, &caller, &id).await?;
    access::may_grant(caller.0.as_ref(), &id, role)?;
    if !exists {
        return Err(HistoryError::NotFound("Graph not found.".into()).into());
    }
    let owned = id.clone();
    let (owner, grants) = read_db(&state, move |db| Ok((db.owner(&owned)?, db.grants(&owned)?))).await?;
    let grants: Vec<_> =
        grants.iter().map(|g| json!({ "user": g.user, "role": g.role, "grantedBy": g.granted_by, "grantedAt": g.granted_at })).collect();
    Ok(axum::Json(json!({ "graphId": id, "graphAccess": format!("{:?}", state.settings.access.graph_access).to_lowercase(), "owner": owner, "grants": grants }))
        .into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct GrantBody {
    graph_id: String,
    user: String,
    /// `editor`, `viewer`, or null to take the right away.
    role: Option<String>,
}

/// `POST /grantGraphAccess {graphId, user, role}`: the owner or an admin
/// grants `editor` or `viewer`, or takes it away (`role: null`).
#[utoipa::path(post, path = "/grantGraphAccess", tag = "access", summary = "Grant or take away a role on a graph",
    request_body(content = crate::openapi::GrantRequest, content_type = "application/json"),
    responses((status = 200, description = "Done.", body = crate::openapi::Granted),
        (status = 400, description = "A bad body.", body = crate::openapi::ErrorBody), (status = 403, description = "Needs the graph's owner or an admin.", body = crate::openapi::ErrorBody), (status = 404, description = "No such graph.", body = crate::openapi::ErrorBody)),
    security(("apiToken" = []), ("bearer" = [])))]
pub(super) async fn grant_access(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body: GrantBody =
        serde_json::from_slice(&body).map_err(|e| HistoryError::BadRequest(format!("body must be {{graphId, user, role}}: {e}")))?;
    let role = match body.role.as_deref() {
        None => None,
        Some(name) => Some(
            Role::grantable(name).ok_or_else(|| HistoryError::BadRequest(format!("role must be editor, viewer or null, got '{name}'")))?,
        ),
    };
    if body.user.trim().is_empty() {
        return Err(HistoryError::BadRequest("user must be a user id".into()).into());
    }
    let who = access::signed_in(caller.0.as_ref())?.clone();
    let (store, graph_id, user) = (state.store.clone(), body.graph_id.clone(), body.user.clone());
    let changed = blocking(move || access::grant(&store, &who, &graph_id, &user, role)).await?;
    tracing::info!(graph = %body.graph_id, user = %body.user, role = ?body.role, "access changed");
    Ok(axum::Json(json!({ "ok": true, "graphId": body.graph_id, "user": body.user, "role": role.map(Role::as_str), "changed": changed }))
        .into_response())
}
