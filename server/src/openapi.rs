//! `GET /openapi.json`: the API as an OpenAPI 3.1 document, generated from
//! the code (utoipa).
//!
//! **Why it cannot drift.** Each route is registered through
//! [`crate::routes::api`] with `routes!(handler)`: the path, the method and
//! the description come from the `#[utoipa::path]` attribute on the handler
//! itself, so a route cannot exist without its description, nor a
//! description without its route. What a handler answers is checked the
//! other way: the HTTP tests' helpers (`server/tests/support`) validate
//! every response they receive against this document's schema for its
//! route and status, and schemathesis (`server/tests/openapi.rs`) calls
//! every operation of the real binary with generated requests.
//!
//! Every error body is [`ErrorBody`] (`{error}` plus fields some errors
//! add). Responses that every route can give (a refused credential, a
//! stalled body, too many headers, the database unavailable, a server
//! error) are added to every operation by [`CommonResponses`].

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, Ref, RefOr, ResponseBuilder};
use utoipa::{IntoParams, IntoResponses, Modify, OpenApi, ToSchema};

/// The error body of every refusal and failure (the optional members are
/// never null when present).
#[derive(Serialize, ToSchema)]
#[schema(as = Error)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// What went wrong, for a person.
    pub error: String,
    /// A 500's details.
    pub details: Option<String>,
    /// A 409: the graph's current version.
    pub current_version: Option<i64>,
    /// A 409 of `/patchGraph`: the version the patch was made on.
    pub expected_version: Option<i64>,
    /// A 400 of a patch or an invalid number: a machine-readable reason
    /// (`unknown_node`, `dangling_edge`, …).
    pub code: Option<String>,
    /// Where in the body the problem is.
    pub path: Option<String>,
    /// A 400 for a new graph id that is not a UUID v4.
    pub expected: Option<String>,
    pub received: Option<serde_json::Value>,
}

/// A stored version (`/saveGraphWithHistory`, `/patchGraph`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Saved {
    pub message: String,
    /// The graph id.
    pub id: String,
    pub new_version: i64,
    /// The version's hash (its link in the chain; the ETag of its reads).
    pub hash: String,
    /// `/patchGraph`: true.
    #[schema(nullable = false)]
    pub ok: Option<bool>,
    /// `/patchGraph`: the graph id again.
    #[schema(nullable = false)]
    pub graph_id: Option<String>,
}

/// `GET /whoami`.
#[derive(Serialize, ToSchema)]
pub struct WhoAmI {
    pub user: String,
    #[schema(inline)]
    pub scopes: Vec<ScopeName>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ScopeName {
    Read,
    Write,
    Audit,
    Admin,
}

/// One row of `/getknowgraphhistory`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryRow {
    pub version: i64,
    /// `YYYY-MM-DD HH:MM:SS` (UTC), as the real service.
    pub timestamp: String,
    /// RFC 3339.
    pub created_at: String,
    /// Null unless the caller may write or audit the graph.
    pub user: Option<String>,
    pub reason: Option<String>,
    pub source: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct HistoryMeta {
    pub count: i64,
}

#[derive(Serialize, ToSchema)]
pub struct HistoryResults {
    pub results: Vec<HistoryRow>,
    pub success: bool,
    pub meta: HistoryMeta,
}

/// `GET /getknowgraphhistory`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct History {
    pub graph_id: String,
    pub history: HistoryResults,
}

/// One graph of `/getknowgraphs`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GraphSummary {
    pub id: String,
    pub version: i64,
    pub title: Option<String>,
    pub nodes: i64,
    pub updated_at: String,
    /// Null unless the caller may write or audit the graph.
    pub updated_by: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Graphs {
    pub graphs: Vec<GraphSummary>,
}

/// `GET /capabilities`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Capabilities {
    pub service: String,
    pub delta_saves: String,
    pub idempotency_keys: bool,
    pub version_hashes: bool,
}

/// A graph as saved: `metadata`, `nodes`, `edges` and any other field.
#[derive(Serialize, ToSchema)]
pub struct Graph {
    #[schema(nullable = false)]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    #[schema(nullable = false)]
    pub nodes: Option<Vec<serde_json::Value>>,
    #[schema(nullable = false)]
    pub edges: Option<Vec<serde_json::Value>>,
}

/// `GET /getknowgraphaudit`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditPage {
    pub graph_id: String,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
    /// Newest first: provenance and the field-level changes.
    pub entries: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// `GET /verifyknowgraph`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    pub graph_id: String,
    /// Whether every version's hash is recomputed from what is stored.
    pub ok: bool,
}

/// `GET /getauditevents`.
#[derive(Serialize, ToSchema)]
pub struct Events {
    pub events: Vec<serde_json::Map<String, serde_json::Value>>,
    pub verification: serde_json::Map<String, serde_json::Value>,
}

/// `GET /getgraphaccess`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Access {
    pub graph_id: String,
    /// `open` or `owned`.
    pub graph_access: String,
    pub owner: Option<String>,
    pub grants: Vec<GrantRow>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GrantRow {
    pub user: String,
    pub role: String,
    pub granted_by: String,
    pub granted_at: String,
}

/// `POST /grantGraphAccess`'s answer.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Granted {
    pub ok: bool,
    pub graph_id: String,
    pub user: String,
    pub role: Option<String>,
    pub changed: bool,
}

/// `POST /grantGraphAccess`'s body.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GrantRequest {
    #[schema(min_length = 1)]
    pub graph_id: String,
    #[schema(min_length = 1)]
    pub user: String,
    /// null takes the role away.
    #[schema(inline)]
    pub role: Option<GrantRole>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum GrantRole {
    Editor,
    Viewer,
}

/// `POST /eraseUser`'s body.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EraseRequest {
    /// The user id to erase.
    #[schema(min_length = 1)]
    pub user: String,
}

/// `POST /saveGraphWithHistory`'s body.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SaveRequest {
    /// The graph id: a UUID v4 (the server also takes any id of a graph it already holds).
    #[schema(pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")]
    pub id: String,
    /// The graph; `metadata.version` is the version it was loaded at (absent or null for a new graph).
    pub graph_data: Graph,
    /// Save over a newer version (`--graph-access owned`: owners and admins only).
    #[serde(rename = "override")]
    #[schema(nullable = false)]
    pub override_version: Option<bool>,
    /// Provenance of an approval: user, source, model, reason, runId, approvalId, decisions.
    #[schema(nullable = false)]
    pub audit: Option<serde_json::Map<String, serde_json::Value>>,
}

/// A part's changes in a delta: fields set and fields removed.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FieldChanges {
    pub fields: serde_json::Map<String, serde_json::Value>,
    #[schema(nullable = false)]
    pub remove_fields: Option<Vec<String>>,
}

/// `POST /patchGraph`'s body: one approval's changes.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PatchRequest {
    #[schema(min_length = 1)]
    pub graph_id: String,
    /// The version the delta was made on.
    pub expected_version: i64,
    /// That version's hash (its ETag), if the client has it.
    #[schema(nullable = false)]
    pub expected_hash: Option<String>,
    /// `[{nodeId, fields, removeFields?}]`.
    #[schema(nullable = false)]
    pub patch_nodes: Option<Vec<serde_json::Map<String, serde_json::Value>>>,
    #[schema(nullable = false)]
    pub add_nodes: Option<Vec<serde_json::Map<String, serde_json::Value>>>,
    #[schema(nullable = false)]
    pub remove_node_ids: Option<Vec<String>>,
    /// `[{edgeId, fields, removeFields?}]`.
    #[schema(nullable = false)]
    pub patch_edges: Option<Vec<serde_json::Map<String, serde_json::Value>>>,
    #[schema(nullable = false)]
    pub add_edges: Option<Vec<serde_json::Map<String, serde_json::Value>>>,
    #[schema(nullable = false)]
    pub remove_edge_ids: Option<Vec<String>>,
    #[schema(nullable = false)]
    pub patch_metadata: Option<FieldChanges>,
    /// Top-level fields besides nodes, edges and metadata.
    #[schema(nullable = false)]
    pub patch_graph: Option<FieldChanges>,
    #[schema(nullable = false)]
    pub audit: Option<serde_json::Map<String, serde_json::Value>>,
}

/// The answers both save routes share.
#[derive(IntoResponses)]
pub enum SaveAnswers {
    /// Stored (or, with `Idempotent-Replayed: true`, stored before by the same request).
    #[response(status = 200, headers(("Idempotent-Replayed" = String, description = "true when the answer is the first one of an idempotent retry")))]
    Saved(Saved),
    /// No write right on the graph, or a stamp naming someone else.
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// The body is larger than --body-limit.
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// The Idempotency-Key was used by another user or request.
    #[response(status = 422)]
    KeyReused(ErrorBody),
}

/// The `Idempotency-Key` header of the save routes.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKey {
    /// A retry with the same key (and user and request) gets the first answer and stores nothing.
    #[param(rename = "Idempotency-Key")]
    pub key: Option<String>,
}

/// `?id=`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GraphIdQuery {
    /// The graph id.
    #[param(min_length = 1)]
    pub id: String,
}

/// `?id=&version=`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VersionQuery {
    /// The graph id.
    #[param(min_length = 1)]
    pub id: String,
    /// The version number.
    pub version: i64,
}

/// The audit trail's filters (its route and the export's).
#[derive(IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct AuditFilters {
    /// Only this node's changes.
    pub node_id: Option<String>,
    /// Only this user's versions.
    pub user: Option<String>,
    /// Only this AI run's versions.
    pub run_id: Option<String>,
    /// Saved at or after (a date, or an RFC 3339 time).
    #[param(format = Date)]
    pub from: Option<String>,
    /// Saved before (a date, or an RFC 3339 time).
    #[param(format = Date)]
    pub to: Option<String>,
}

/// A page of a long answer.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// At most this many entries (default 50).
    #[param(minimum = 0, maximum = 500)]
    pub limit: Option<i64>,
    /// Skip this many.
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

/// `?runId=`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct RunQuery {
    /// The run.
    #[param(min_length = 1)]
    pub run_id: String,
}

/// Blame's subject: a node, an edge, or (neither) the metadata.
#[derive(IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct BlameQuery {
    /// The graph id.
    #[param(min_length = 1)]
    pub id: String,
    /// A node (not with edgeId).
    pub node_id: Option<String>,
    /// An edge (not with nodeId).
    pub edge_id: Option<String>,
}

/// An export's graph and format (its filters: [`AuditFilters`]).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// csv (default) or jsonl.
    #[param(inline)]
    pub format: Option<ExportFormat>,
    /// One graph (without it: every graph, which needs the audit scope).
    pub id: Option<String>,
    /// CSV only: the cell separator.
    #[param(inline)]
    pub delimiter: Option<Delimiter>,
    /// CSV only: start with a UTF-8 byte-order mark.
    pub bom: Option<bool>,
}

/// A report's grouping and format (its filters: [`AuditFilters`]).
#[derive(IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct StatsQuery {
    /// What to group by (see the README's reports).
    pub group_by: Option<String>,
    /// Time buckets (UTC): day, week or month.
    pub bucket: Option<String>,
    /// One graph (without it: the graphs the caller may audit).
    pub id: Option<String>,
    /// json (default), csv or jsonl.
    pub format: Option<String>,
    /// CSV only: the cell separator.
    #[param(inline)]
    pub delimiter: Option<Delimiter>,
    /// CSV only: start with a UTF-8 byte-order mark.
    pub bom: Option<bool>,
}

/// `?limit=` of the alarms.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlarmsQuery {
    /// At most this many (default 200).
    #[param(minimum = 0, maximum = 5000)]
    pub limit: Option<i64>,
}

/// `GET /getalarms`.
#[derive(Serialize, ToSchema)]
pub struct Alarms {
    pub alarms: Vec<serde_json::Map<String, serde_json::Value>>,
    pub verification: serde_json::Map<String, serde_json::Value>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    Csv,
    Jsonl,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Delimiter {
    Comma,
    Semicolon,
}

/// `GET /healthz`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// True: the process serves.
    pub ok: bool,
    #[schema(inline)]
    pub database: DatabaseState,
    /// Null without `--request-log`; `{ok}`, or everything for admins.
    pub request_log: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DatabaseState {
    Ok,
    Unavailable,
}

/// `GET /readyz`, ready.
#[derive(Serialize, ToSchema)]
pub struct Ready {
    pub ready: bool,
    #[schema(inline)]
    pub database: DatabaseState,
    /// The schema version the database holds.
    pub schema: Option<i64>,
}

/// `GET /readyz`, not ready (503).
#[derive(Serialize, ToSchema)]
pub struct NotReady {
    pub error: String,
    pub ready: bool,
    #[schema(inline)]
    pub database: DatabaseState,
    pub schema: Option<i64>,
}

/// The document's frame: info, security schemes, and the schemas no
/// handler names directly.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "kg-approval history server",
        description = "Keeps every version of a knowledge graph with an audit trail and a hash chain. Speaks the real editor's contract (saveGraphWithHistory, getknowgraph, getknowgraphhistory, getknowgraphversion) and adds delta saves, the audit trail, verification and access grants."
    ),
    components(schemas(ErrorBody, Saved)),
    modifiers(&CommonResponses)
)]
pub struct ApiDoc;

/// Adds the security schemes and, to every operation, the responses any
/// route can give.
pub struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme("apiToken", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Token"))));
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("A static API token, or a JWT of the sign-in provider (--jwt-jwks)"))
                    .build(),
            ),
        );
    }
}

/// The error responses every operation may give, added after the routes
/// are collected.
fn add_common(operation: &mut Operation) {
    let error = || ContentBuilder::new().schema(Some(RefOr::Ref(Ref::from_schema_name("Error")))).build();
    for (status, why) in [
        ("401", "Credentials were sent and are not valid (or a write sent none)."),
        ("408", "The request body stopped arriving."),
        ("431", "Too many request headers."),
        ("500", "A server error."),
        ("503", "The history database is unavailable; retry (see Retry-After)."),
    ] {
        if !operation.responses.responses.contains_key(status) {
            let response = ResponseBuilder::new().description(why).content("application/json", error()).build();
            operation.responses.responses.insert(status.to_owned(), RefOr::T(response));
        }
    }
    if operation.security.is_none() {
        use utoipa::openapi::security::SecurityRequirement;
        operation.security = Some(vec![
            SecurityRequirement::default(),
            SecurityRequirement::new("apiToken", Vec::<String>::new()),
            SecurityRequirement::new("bearer", Vec::<String>::new()),
        ]);
    }
}

/// The document of the routes `api` collected, as JSON: this crate's
/// version, and every operation with the common responses.
pub fn finish<S: Clone + Send + Sync + 'static>(api: utoipa_axum::router::OpenApiRouter<S>) -> serde_json::Value {
    let (_, mut doc) = api.split_for_parts();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    for item in doc.paths.paths.values_mut() {
        for operation in
            [&mut item.get, &mut item.post, &mut item.put, &mut item.delete, &mut item.patch, &mut item.options, &mut item.head]
                .into_iter()
                .flatten()
        {
            add_common(operation);
        }
    }
    serde_json::to_value(&doc).expect("the document serializes")
}

/// The response of `GET /openapi.json`.
pub fn response(document: &serde_json::Value) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], axum::Json(document)).into_response()
}
