//! `GET /metrics`, in Prometheus text format (0.0.4): what operators alert on.
//!
//! | metric | labels | what |
//! |---|---|---|
//! | `kg_http_requests_total` | `method`, `route`, `status` | requests answered, by route pattern (`(unmatched)` for other paths) |
//! | `kg_http_request_duration_seconds` | `method`, `route` | histogram of the time to answer (until the handler's response, not the body's last byte) |
//! | `kg_saves_total` | `path` (`whole`, `delta`), `result` (`saved`, `replayed`, `conflict`, `refused`, `failed`) | saves by route and outcome: `replayed` is an idempotent retry answered from the first result, `refused` a 4xx other than 409, `failed` a 5xx |
//! | `kg_store_errors_total` | `kind` (`unavailable`, `internal`) | requests the database failed: unreachable or timed out (503), or an error (500) |
//! | `kg_db_pool_connections` | `state` (`open`, `in_use`, `max`) | PostgreSQL's connection pool (absent on SQLite) |
//! | `kg_request_log_lines_total` | `result` (`written`, `failed`, `dropped`) | the request log's lines (absent without `--request-log`) |
//! | `kg_erasures_total` | — | people erased through `POST /eraseUser` |
//! | `kg_auth_refusals_total` | `reason` (`token`, `bearer`) | credentials sent and refused (401) |
//! | `kg_alarms_total` | `rule` | alarms fired (absent without `--alarms`) |
//! | `kg_alarm_webhook_total` | `result` (`delivered`, `failed`, `dropped`, `retried`) | the alarm webhook's deliveries and retries (absent without `--alarm-webhook`) |
//!
//! **Who counts what.** The history (`kg-history`) knows nothing of metrics:
//! this layer counts what the history returned, as the HTTP answer shows it
//! (the route, the status, the `Idempotent-Replayed` header) and, for store
//! failures, as [`crate::error::ApiError`] marks its responses
//! ([`StoreFailure`]). A new counter is a field here and one call where the
//! server sees the outcome.
//!
//! Metrics are per [`Metrics`] value (one per router), not process-global:
//! tests run many servers in one process.

use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics::{Key, Label, Metadata, Recorder, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

use kg_history::Store;

use crate::request_log::{RequestLog, UNMATCHED};
use crate::webhook;

/// The content type of the Prometheus text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Latency buckets (seconds): a cached read takes about a millisecond, a
/// save of a large graph about a second.
const BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// How often histogram samples are folded into their buckets between scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Set on a response by [`crate::error::ApiError`] when the store failed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreFailure {
    Unavailable,
    Internal,
}

/// The server's metrics.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    /// The alarm webhook's counters, read at each scrape (set once, when
    /// the webhook starts).
    webhook: OnceLock<Arc<webhook::Stats>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

static METADATA: Metadata<'static> = Metadata::new(module_path!(), metrics::Level::INFO, None);

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new_unshared()
    }
}

impl Metrics {
    /// Metrics with a thread that folds histogram samples every few seconds
    /// (it ends when the metrics are dropped).
    pub fn new() -> Arc<Metrics> {
        let metrics = Arc::new(Metrics::new_unshared());
        let weak: Weak<Metrics> = Arc::downgrade(&metrics);
        let _ = std::thread::Builder::new().name("metrics-upkeep".into()).spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_EVERY);
                match weak.upgrade() {
                    Some(metrics) => metrics.handle.run_upkeep(),
                    None => return,
                }
            }
        });
        metrics
    }

    fn new_unshared() -> Metrics {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full("kg_http_request_duration_seconds".into()), BUCKETS)
            .expect("the buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        let describe = |name: &'static str, unit: Option<Unit>, help: &'static str| (name, unit, help);
        for (name, unit, help) in [
            describe("kg_http_requests_total", None, "HTTP requests answered, by method, route pattern and status."),
            describe("kg_http_request_duration_seconds", Some(Unit::Seconds), "Time to answer an HTTP request, by method and route."),
            describe("kg_saves_total", None, "Saves by path (whole, delta) and result (saved, replayed, conflict, refused, failed)."),
            describe("kg_store_errors_total", None, "Requests the database failed: unavailable (503) or internal (500)."),
            describe("kg_erasures_total", None, "People erased through POST /eraseUser."),
            describe("kg_auth_refusals_total", None, "Credentials sent and refused (401), by kind (token, bearer)."),
            describe("kg_db_pool_connections", None, "PostgreSQL connection pool: open, in_use and max connections."),
            describe("kg_request_log_lines_total", None, "Request log lines: written, failed and dropped."),
            describe("kg_alarms_total", None, "Alarms fired, by rule."),
            describe("kg_alarm_webhook_total", None, "The alarm webhook: deliveries delivered, failed and dropped, and retries."),
        ] {
            let name = metrics::KeyName::from(name);
            if name.as_str().ends_with("_seconds") {
                recorder.describe_histogram(name, unit, help.into());
            } else if name.as_str() == "kg_db_pool_connections" {
                recorder.describe_gauge(name, unit, help.into());
            } else {
                recorder.describe_counter(name, unit, help.into());
            }
        }
        Metrics { recorder, handle, webhook: OnceLock::new() }
    }

    /// Reports the alarm webhook's counters from now on.
    pub fn watch_webhook(&self, stats: Arc<webhook::Stats>) {
        let _ = self.webhook.set(stats);
    }

    fn key(name: &'static str, labels: &[(&'static str, &str)]) -> Key {
        Key::from_parts(name, labels.iter().map(|(k, v)| Label::new(*k, v.to_string())).collect::<Vec<_>>())
    }

    /// Adds one to counter `name` with `labels`.
    pub fn count(&self, name: &'static str, labels: &[(&'static str, &str)]) {
        self.recorder.register_counter(&Metrics::key(name, labels), &METADATA).increment(1);
    }

    fn counter_at(&self, name: &'static str, labels: &[(&'static str, &str)], value: u64) {
        self.recorder.register_counter(&Metrics::key(name, labels), &METADATA).absolute(value);
    }

    fn gauge(&self, name: &'static str, labels: &[(&'static str, &str)], value: f64) {
        self.recorder.register_gauge(&Metrics::key(name, labels), &METADATA).set(value);
    }

    fn observe(&self, name: &'static str, labels: &[(&'static str, &str)], value: f64) {
        self.recorder.register_histogram(&Metrics::key(name, labels), &METADATA).record(value);
    }

    /// Records one answered request.
    pub fn request(&self, method: &Method, route: &str, response: &Response, took: Duration) {
        let status = response.status();
        let code = status.as_str();
        self.count("kg_http_requests_total", &[("method", method.as_str()), ("route", route), ("status", code)]);
        self.observe("kg_http_request_duration_seconds", &[("method", method.as_str()), ("route", route)], took.as_secs_f64());
        match response.extensions().get::<StoreFailure>() {
            Some(StoreFailure::Unavailable) => self.count("kg_store_errors_total", &[("kind", "unavailable")]),
            Some(StoreFailure::Internal) => self.count("kg_store_errors_total", &[("kind", "internal")]),
            None => {}
        }
        if status.as_u16() == 401 && response.extensions().get::<AuthRefused>().is_some() {
            let kind = response.extensions().get::<AuthRefused>().map(|r| r.0).unwrap_or("token");
            self.count("kg_auth_refusals_total", &[("reason", kind)]);
        }
        if method != Method::POST {
            return;
        }
        let path = match route {
            "/saveGraphWithHistory" => "whole",
            "/patchGraph" => "delta",
            "/eraseUser" => {
                if status.is_success() {
                    self.count("kg_erasures_total", &[]);
                }
                return;
            }
            _ => return,
        };
        let replayed = response.headers().get("idempotent-replayed").is_some_and(|v| v == "true");
        let result = match status.as_u16() {
            200..=299 if replayed => "replayed",
            200..=299 => "saved",
            409 => "conflict",
            400..=499 => "refused",
            _ => "failed",
        };
        self.count("kg_saves_total", &[("path", path), ("result", result)]);
    }

    /// The text of a scrape: the counters, and the gauges read now.
    pub fn render(&self, store: &Store, request_log: Option<&RequestLog>) -> String {
        if let Some(pool) = store.pool_status() {
            self.gauge("kg_db_pool_connections", &[("state", "open")], pool.open as f64);
            self.gauge("kg_db_pool_connections", &[("state", "in_use")], pool.in_use as f64);
            self.gauge("kg_db_pool_connections", &[("state", "max")], pool.max as f64);
        }
        if let Some(log) = request_log {
            let status = log.status();
            self.counter_at("kg_request_log_lines_total", &[("result", "written")], status.written);
            self.counter_at("kg_request_log_lines_total", &[("result", "failed")], status.failed);
            self.counter_at("kg_request_log_lines_total", &[("result", "dropped")], status.dropped);
        }
        if let Some(stats) = self.webhook.get() {
            for (result, counter) in
                [("delivered", &stats.delivered), ("failed", &stats.failed), ("dropped", &stats.dropped), ("retried", &stats.retries)]
            {
                self.counter_at("kg_alarm_webhook_total", &[("result", result)], counter.load(Ordering::Relaxed));
            }
        }
        self.handle.render()
    }
}

/// Set on a 401 response by the authentication: which kind of credential was refused.
#[derive(Clone, Copy, Debug)]
pub struct AuthRefused(pub &'static str);

/// The middleware that counts every request (outermost, inside the routing).
pub async fn middleware(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let response = next.run(request).await;
    metrics.request(&method, route.as_deref().unwrap_or(UNMATCHED), &response, started.elapsed());
    response
}

/// The scrape's response.
pub fn response(text: String) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))], text).into_response()
}

/// The router of `--metrics-addr`: `GET /metrics`, no token.
pub fn router(metrics: Arc<Metrics>, store: Arc<Store>, request_log: Option<Arc<RequestLog>>) -> axum::Router {
    let scrape = move || async move { response(metrics.render(&store, request_log.as_deref())) };
    axum::Router::new().route("/metrics", axum::routing::get(scrape))
}
