//! What every handler shares: the history's store, the credentials it
//! accepts, the settings that shape the service, the request log and the
//! metrics — one struct, built once by the command line and cloned into
//! each request.

use std::path::PathBuf;
use std::sync::Arc;

use kg_history::Store;
use kg_history::access::Policy;

use crate::alarms::AlarmService;
use crate::auth::Auth;
use crate::metrics::Metrics;
use crate::request_log::RequestLog;
use crate::tokens::Tokens;

/// Settings that shape the service.
#[derive(Clone, Debug)]
pub struct Settings {
    pub body_limit: usize,
    /// Keep the snapshots of only this many newest versions per graph (all if `None`).
    pub keep_versions: Option<i64>,
    /// Origins allowed by CORS; empty means any (the origin is echoed).
    pub allowed_origins: Vec<String>,
    /// The built `www/` app, served at `/`.
    pub www: Option<PathBuf>,
    /// Who may read and write what.
    pub access: Policy,
    /// Alarms on abnormal behaviour (`--alarms`), if on.
    pub alarms: Option<Arc<AlarmService>>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            body_limit: 10 * 1024 * 1024,
            keep_versions: None,
            allowed_origins: Vec::new(),
            www: None,
            access: Policy::default(),
            alarms: None,
        }
    }
}

/// Everything the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<Store>,
    /// Static tokens (reloaded on SIGHUP) and the sign-in provider's JWTs.
    pub auth: Arc<Auth>,
    pub settings: Arc<Settings>,
    /// One JSON line per request (`--request-log`), if on.
    pub request_log: Option<Arc<RequestLog>>,
    pub metrics: Arc<Metrics>,
}

impl AppState {
    /// A state with static `tokens` only and fresh metrics.
    pub fn new(store: Arc<Store>, tokens: Tokens, settings: Settings, request_log: Option<Arc<RequestLog>>) -> AppState {
        AppState { store, auth: Arc::new(Auth::new(tokens)), settings: Arc::new(settings), request_log, metrics: Metrics::new() }
    }
}
