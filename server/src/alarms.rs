//! Alarms (`--alarms FILE`, see [`kg_history::alarms`] for the rules): what
//! the server sees — refused credentials, saves, reads of graphs, erasures —
//! is handed to a background task that runs the rules, writes each alarm
//! that fires to the chained event log, and tells every [`AlarmSink`]: a log
//! line (stderr, and the request log when on), the webhook
//! (`--alarm-webhook`, see [`crate::webhook`]), and whatever else is plugged
//! in (a metrics counter).
//!
//! Nothing of this is in a request's way: the middleware ([`middleware`])
//! looks at the request and its answer and hands a note to a bounded queue
//! without waiting ([`DEFAULT_QUEUE`] notes; when full the note is dropped
//! and counted, and said on stderr); reading what a save did, writing the
//! event and delivering happen after the answer, on the task. A save is
//! never slowed or failed by an alarm, nor by a receiver that is down.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{ConnectInfo, MatchedPath, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use kg_approval::Timestamp;
use kg_history::Store;
use kg_history::alarms::{self, Alarms, Fired, Observation, Rule, Watches};
use kg_history::store::Event;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use crate::request_log::{LoggedSave, RequestLog};

/// Notes the queue to the alarm task holds; more are dropped (and counted).
pub const DEFAULT_QUEUE: usize = 10_000;

/// Where a fired alarm is told, besides the event log. Implement it to
/// count alarms in metrics (`/metrics`), page someone, ...: `fired` runs on
/// the alarm task, after the event was written; it must not block for long.
pub trait AlarmSink: Send + Sync {
    /// `event` is the alarm's entry in the chained event log (`None` if
    /// writing it failed: the alarm is told all the same).
    fn fired(&self, alarm: &Fired, event: Option<&Event>);
}

/// What the middleware saw, for the task.
#[derive(Clone, Debug, PartialEq)]
pub enum Seen {
    SignInFailed { token: Option<String>, address: Option<String> },
    Saved { graph_id: String, version: i64 },
    GraphRead { token: Option<String>, address: Option<String>, graph_id: String },
    Erased { event: i64 },
}

/// Set on an erasure's answer (its event), for the middleware.
#[derive(Clone, Copy, Debug)]
pub struct ErasureDone(pub i64);

/// The alarm service: its queue, and what it dropped.
pub struct AlarmService {
    sender: mpsc::Sender<Seen>,
    dropped: AtomicU64,
    watches: Watches,
}

impl std::fmt::Debug for AlarmService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlarmService").field("dropped", &self.dropped.load(Ordering::Relaxed)).finish_non_exhaustive()
    }
}

impl AlarmService {
    /// Starts the task that runs `rules` (call it inside the Tokio runtime).
    pub fn start(rules: Vec<Rule>, store: Arc<Store>, sinks: Vec<Arc<dyn AlarmSink>>) -> Arc<AlarmService> {
        AlarmService::with_queue(rules, store, sinks, DEFAULT_QUEUE)
    }

    pub fn with_queue(rules: Vec<Rule>, store: Arc<Store>, sinks: Vec<Arc<dyn AlarmSink>>, queue: usize) -> Arc<AlarmService> {
        let alarms = Arc::new(Alarms::new(rules));
        let (sender, receiver) = mpsc::channel(queue.max(1));
        let service = Arc::new(AlarmService { sender, dropped: AtomicU64::new(0), watches: alarms.watches() });
        tokio::spawn(run(receiver, alarms, store, sinks));
        service
    }

    /// Hands a note to the task, never waiting.
    pub fn note(&self, seen: Seen) {
        if self.sender.try_send(seen).is_err() {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if dropped.is_power_of_two() {
                tracing::warn!(dropped, "alarms: the queue is full; notes were dropped");
            }
        }
    }

    /// Notes dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// Reads a rules file (`--alarms FILE`).
pub fn read_rules(path: &std::path::Path) -> Result<Vec<Rule>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    alarms::parse_rules(&text).map_err(|e| format!("{}: {e}", path.display()))
}

async fn run(mut receiver: mpsc::Receiver<Seen>, alarms: Arc<Alarms>, store: Arc<Store>, sinks: Vec<Arc<dyn AlarmSink>>) {
    while let Some(seen) = receiver.recv().await {
        // Sign-ins and reads are counted here, at once; only an alarm they
        // fire goes on to the database.
        let counted = match &seen {
            Seen::SignInFailed { token, address } => Some(Observation::SignInFailed { token: token.clone(), address: address.clone() }),
            Seen::GraphRead { token, address, graph_id } => {
                Some(Observation::GraphRead { token: token.clone(), address: address.clone(), graph_id: graph_id.clone() })
            }
            Seen::Saved { .. } | Seen::Erased { .. } => None,
        }
        .map(|observation| alarms.observe(&observation, Timestamp::now().unix_millis()));
        if counted.as_ref().is_some_and(Vec::is_empty) {
            continue;
        }
        let (store, alarms) = (store.clone(), alarms.clone());
        // Reads of what a save or an erasure did, and the events' writes,
        // are the database's: off the async workers.
        let done = tokio::task::spawn_blocking(move || -> Result<Vec<(Fired, Option<Event>)>, String> {
            let fired = match (counted, seen) {
                (Some(fired), _) => fired,
                (None, Seen::Saved { graph_id, version }) => {
                    match store.read(|db| alarms::saved(db, &graph_id, version)).map_err(|e| e.to_string())? {
                        Some(saved) => alarms.observe(&Observation::Saved(saved), Timestamp::now().unix_millis()),
                        None => Vec::new(),
                    }
                }
                (None, Seen::Erased { event }) => match store.read(|db| alarms::erasure(db, event)).map_err(|e| e.to_string())? {
                    Some(detail) => alarms.observe(&Observation::Erased { event, detail }, Timestamp::now().unix_millis()),
                    None => Vec::new(),
                },
                (None, _) => Vec::new(),
            };
            let at = Timestamp::now().to_string();
            Ok(fired
                .into_iter()
                .map(|fired| {
                    let event = alarms::record(&store, &fired, &at)
                        .map_err(|e| tracing::error!(rule = %fired.rule, error = %e, "alarm: the event was not written"))
                        .ok();
                    (fired, event)
                })
                .collect())
        })
        .await;
        match done {
            Ok(Ok(fired)) => {
                for (alarm, event) in &fired {
                    for sink in &sinks {
                        sink.fired(alarm, event.as_ref());
                    }
                }
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "alarm: what happened could not be read"),
            Err(e) => tracing::warn!(error = %e, "alarm: the task failed"),
        }
    }
}

/// The fingerprint a credential is known by in alarms: the first 16 hex
/// digits of its SHA-256 (never the credential itself).
pub fn fingerprint(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    kg_history::entity::hex(&digest)[..16].to_owned()
}

/// The credential a request sends (`X-API-Token`, or a bearer token).
fn credential(headers: &HeaderMap) -> Option<String> {
    let token = headers.get("x-api-token").and_then(|v| v.to_str().ok()).map(str::trim).filter(|t| !t.is_empty());
    let bearer = || {
        let value = headers.get("authorization")?.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
    };
    token.or_else(bearer).map(fingerprint)
}

/// Routes that read one graph's content or trail (`?id=`).
const GRAPH_READS: [&str; 6] =
    ["/getknowgraph", "/getknowgraphversion", "/getknowgraphhistory", "/getknowgraphaudit", "/getknowgraphblame", "/exportknowgraphaudit"];

/// The middleware (outside authentication, so that refused credentials
/// are seen): notes what the rules watch, from the request and its answer.
pub async fn middleware(State(service): State<Arc<AlarmService>>, request: Request, next: Next) -> Response {
    let token = credential(request.headers());
    let address = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string());
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let read = (request.method() == Method::GET && route.as_deref().is_some_and(|r| GRAPH_READS.contains(&r)))
        .then(|| Query::<HashMap<String, String>>::try_from_uri(request.uri()).ok().and_then(|q| q.0.get("id").cloned()))
        .flatten()
        .filter(|id| !id.is_empty());
    let response = next.run(request).await;
    let status = response.status();
    let watches = service.watches;
    if status == StatusCode::UNAUTHORIZED && token.is_some() && watches.sign_ins {
        service.note(Seen::SignInFailed { token, address });
    } else if status.is_success() {
        let replayed = response.headers().get("idempotent-replayed").is_some_and(|v| v == "true");
        if let (Some(saved), false, true) = (response.extensions().get::<LoggedSave>(), replayed, watches.saves) {
            service.note(Seen::Saved { graph_id: saved.graph_id.clone(), version: saved.version });
        }
        if let (Some(ErasureDone(event)), true) = (response.extensions().get::<ErasureDone>(), watches.erasures) {
            service.note(Seen::Erased { event: *event });
        }
        if let (Some(graph_id), true) = (read, watches.reads) {
            service.note(Seen::GraphRead { token, address, graph_id });
        }
    }
    response
}

impl AlarmSink for crate::webhook::Webhook {
    fn fired(&self, alarm: &Fired, event: Option<&Event>) {
        self.send(alarm, event);
    }
}

/// Counts each alarm by its rule (`kg_alarms_total` on /metrics).
impl AlarmSink for crate::metrics::Metrics {
    fn fired(&self, alarm: &Fired, _event: Option<&Event>) {
        self.count("kg_alarms_total", &[("rule", &alarm.rule)]);
    }
}

/// Tells of an alarm on stderr and, when on, in the request log: a line
/// `{ts, alarm, kind, user?, subject, figures, event}` (the user at the top
/// level, where an erasure renames it).
pub struct LogSink {
    pub request_log: Option<Arc<RequestLog>>,
}

impl AlarmSink for LogSink {
    fn fired(&self, alarm: &Fired, event: Option<&Event>) {
        let mut subject = alarm.subject.clone();
        let user = subject.shift_remove("user");
        let (told, figures) = (json!(alarm.subject), json!(alarm.figures));
        tracing::warn!(rule = %alarm.rule, kind = alarm.kind, subject = %told, figures = %figures, "alarm");
        if let Some(log) = &self.request_log {
            let mut line = json!({"ts": Timestamp::now().to_string(), "alarm": alarm.rule, "kind": alarm.kind});
            if let Some(user) = user {
                line["user"] = user;
            }
            line["subject"] = Value::Object(subject);
            line["figures"] = Value::Object(alarm.figures.clone());
            line["event"] = json!(event.map(|e| e.seq));
            log.note(&line);
        }
    }
}

/// The command line's alarm flags.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct AlarmArgs {
    /// Alarm rules, a JSON file `{"rules": [...]}` (see the README): failed
    /// sign-ins, large removals, bulk accepts, overrides, saves per user,
    /// graphs read per token, erasures. A rule that fires writes an event
    /// to the event log, a log line and (with --alarm-webhook) a signed POST.
    #[arg(long, value_name = "FILE")]
    pub alarms: Option<std::path::PathBuf>,
    /// POST each alarm as JSON to this URL, signed with HMAC-SHA256 in
    /// X-KG-Signature (see the README), retried with backoff.
    #[arg(long, value_name = "URL", requires_all = ["alarms", "alarm_webhook_secret"])]
    pub alarm_webhook: Option<String>,
    /// The webhook's signing secret (at least 16 characters).
    #[arg(long, value_name = "SECRET", requires = "alarm_webhook")]
    pub alarm_webhook_secret: Option<String>,
}

/// Starts the alarms the flags ask for (none without `--alarms`), telling
/// the log (and `request_log`), `metrics` and the webhook of each.
pub fn start_from(
    args: &AlarmArgs,
    store: Arc<Store>,
    request_log: Option<Arc<RequestLog>>,
    metrics: Arc<crate::metrics::Metrics>,
) -> Result<Option<Arc<AlarmService>>, String> {
    let Some(path) = &args.alarms else { return Ok(None) };
    let rules = read_rules(path)?;
    let mut sinks: Vec<Arc<dyn AlarmSink>> = vec![Arc::new(LogSink { request_log }), metrics.clone()];
    if let (Some(url), Some(secret)) = (&args.alarm_webhook, &args.alarm_webhook_secret) {
        let webhook = crate::webhook::Webhook::start(url, secret, std::time::Duration::from_secs(1))?;
        metrics.watch_webhook(webhook.stats.clone());
        sinks.push(webhook);
    }
    tracing::info!(rules = rules.len(), webhook = args.alarm_webhook.is_some(), "alarms on");
    Ok(Some(AlarmService::start(rules, store, sinks)))
}
