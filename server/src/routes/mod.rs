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
mod reports;
mod saves;

use std::sync::OnceLock;

use kg_history::HistoryError;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Refused;
use crate::error::ApiError;
use crate::metrics::{self, AuthRefused};
use crate::request::{Caller, REQUEST_ID};
use crate::request_log;
use crate::state::{AppState, Settings};

/// Every route, each with its OpenAPI description (the `#[utoipa::path]`
/// on its handler): see [`crate::openapi`].
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(crate::openapi::ApiDoc::openapi())
        .routes(routes!(saves::save_graph))
        .routes(routes!(saves::patch_graph))
        .routes(routes!(reads::capabilities))
        .routes(routes!(reads::list_graphs))
        .routes(routes!(grants::whoami))
        .routes(routes!(reads::get_graph))
        .routes(routes!(reads::get_history))
        .routes(routes!(reads::get_version))
        .routes(routes!(reads::get_audit))
        .routes(routes!(reads::verify_graph))
        .routes(routes!(audit::get_blame))
        .routes(routes!(audit::get_run))
        .routes(routes!(audit::export_audit))
        .routes(routes!(audit::get_events))
        .routes(routes!(reports::get_stats))
        .routes(routes!(reports::get_alarms))
        .routes(routes!(audit::erase_user))
        .routes(routes!(grants::get_access))
        .routes(routes!(grants::grant_access))
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(health::metrics))
        .routes(routes!(openapi_json))
}

/// The OpenAPI 3.1 document of [`api`].
pub fn document() -> &'static serde_json::Value {
    static DOCUMENT: OnceLock<serde_json::Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| crate::openapi::finish(api()))
}

/// `GET /openapi.json`.
#[utoipa::path(get, path = "/openapi.json", tag = "meta",
    responses((status = 200, description = "This API's OpenAPI 3.1 document.", content_type = "application/json", body = Object)))]
async fn openapi_json() -> Response {
    crate::openapi::response(document())
}

pub fn router(state: AppState) -> Router {
    let settings = state.settings.clone();
    let (api, _) = api().split_for_parts();
    let api = api.method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed });
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
    // Alarms see what authentication refused, and what the routes answered.
    let app = match &settings.alarms {
        Some(alarms) => app.layer(middleware::from_fn_with_state(alarms.clone(), crate::alarms::middleware)),
        None => app,
    };
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
