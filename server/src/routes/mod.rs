//! The HTTP API: the real service's routes, bodies and status codes, plus
//! the audit trail, chain verification and access grants. Handlers parse,
//! check access, call the store or the save logic, and respond.
//!
//! Every request passes [`authenticate`] first: credentials that are sent
//! (`X-API-Token`, or `Authorization: Bearer` with a static token or a
//! sign-in provider's JWT) must be valid (401), and a write without them is
//! refused before its body is read.

mod audit;
mod blocking;
mod grants;
mod health;
mod reads;
mod saves;

use kg_history::HistoryError;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::TraceLayer;

use crate::auth::Refused;
use crate::error::ApiError;
use crate::metrics::{self, AuthRefused};
use crate::request::{Caller, REQUEST_ID};
use crate::request_log;
use crate::state::{AppState, Settings};

pub fn router(state: AppState) -> Router {
    let settings = state.settings.clone();
    let api = Router::new()
        .route("/saveGraphWithHistory", post(saves::save_graph))
        .route("/patchGraph", post(saves::patch_graph))
        .route("/capabilities", get(reads::capabilities))
        .route("/getknowgraphs", get(reads::list_graphs))
        .route("/whoami", get(grants::whoami))
        .route("/getknowgraph", get(reads::get_graph))
        .route("/getknowgraphhistory", get(reads::get_history))
        .route("/getknowgraphversion", get(reads::get_version))
        .route("/getknowgraphaudit", get(reads::get_audit))
        .route("/verifyknowgraph", get(reads::verify_graph))
        .route("/getknowgraphblame", get(audit::get_blame))
        .route("/getknowgraphrun", get(audit::get_run))
        .route("/exportknowgraphaudit", get(audit::export_audit))
        .route("/getauditevents", get(audit::get_events))
        .route("/eraseUser", post(audit::erase_user))
        .route("/getgraphaccess", get(grants::get_access))
        .route("/grantGraphAccess", post(grants::grant_access))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed });
    let app = match &settings.www {
        Some(dir) => api.fallback_service(crate::www::service(dir.clone())),
        None => api.fallback(|| async { ApiError::from(HistoryError::NotFound("Not found.".into())) }),
    };
    let app = app
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .layer(DefaultBodyLimit::max(settings.body_limit))
        .layer(cors(&settings))
        .layer(middleware::from_fn(preflight_no_content))
        .layer(TraceLayer::new_for_http());
    // Outermost (but inside the routing, where the matched route is known):
    // requests refused by any layer above are logged and counted too.
    let app = match &state.request_log {
        Some(log) => app.layer(middleware::from_fn_with_state(log.clone(), request_log::middleware)),
        None => app,
    };
    let app = app.layer(middleware::from_fn_with_state(state.metrics.clone(), metrics::middleware));
    app.with_state(state)
}

fn cors(settings: &Settings) -> CorsLayer {
    let origins = if settings.allowed_origins.is_empty() {
        AllowOrigin::mirror_request()
    } else {
        AllowOrigin::list(settings.allowed_origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    let headers = ["authorization", "content-type", "x-api-token", "x-user-id", "x-user-email", "x-user-role", "idempotency-key"];
    CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([Method::GET, Method::POST, Method::DELETE, Method::OPTIONS])
        .allow_headers(headers.map(HeaderName::from_static))
        // A browser client reads the version hash of what it loaded.
        .expose_headers([header::ETAG, HeaderName::from_static("idempotent-replayed"), REQUEST_ID])
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

/// Finds the caller from its credentials before anything else is read
/// (see [`crate::auth`]): credentials that are not valid are a 401 on any
/// route, and a write without any is a 401 before its body is read (a body
/// that keeps coming cannot hold a connection, or memory, without
/// credentials). A refused bearer token's 401 carries `WWW-Authenticate`.
async fn authenticate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let caller = match state.auth.caller(request.headers()).await {
        Ok(caller) => caller,
        Err(Refused(message)) => {
            let bearer = !request.headers().contains_key("x-api-token");
            let mut response = ApiError::from(HistoryError::Unauthorized(message)).into_response();
            response.extensions_mut().insert(AuthRefused(if bearer { "bearer" } else { "token" }));
            if bearer {
                response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer error=\"invalid_token\""));
            }
            return response;
        }
    };
    if caller.is_none() && request.method() == Method::POST {
        return ApiError::from(HistoryError::Unauthorized("Missing X-API-Token header.".into())).into_response();
    }
    request.extensions_mut().insert(Caller(caller.clone()));
    let mut response = next.run(request).await;
    response.extensions_mut().insert(Caller(caller));
    response
}
