//! Option objects accepted from JS, read with [`Fields`]. Unknown keys are
//! refused, so a typo (`budgetMS`) is an error rather than a silently
//! ignored setting; every error names the option (`options.budgetMs`).

use std::time::Duration;

use serde_json::Value;

use crate::decision::DecisionMode;
use crate::error::{ErrorCode, Result};
use crate::fields::Fields;
use crate::provenance::Provenance;
use crate::service::Service;
use crate::text_diff::{DEFAULT_BUDGET, Granularity, TextDiffOptions};

/// Longest text-diff budget a caller may ask for, in milliseconds.
const MAX_BUDGET_MS: f64 = 60_000.0;

/// The fields of an options object named `argument`, refusing unknown keys.
pub(super) fn fields<'a>(value: &'a Value, argument: &str, known: &[&str]) -> Fields<'a> {
    Fields::of(value, argument, ErrorCode::InvalidArgument).only(known)
}

/// `granularity` and `budgetMs`.
fn text_options(f: &Fields<'_>) -> TextDiffOptions {
    let budget = match f.opt_f64("budgetMs") {
        Some(ms) if (0.0..=MAX_BUDGET_MS).contains(&ms) => Duration::from_secs_f64(ms / 1000.0),
        Some(_) => {
            let got = f.get("budgetMs").map(Value::to_string).unwrap_or_default();
            f.fail("budgetMs", format!("must be between 0 and {MAX_BUDGET_MS}, got {got}"));
            DEFAULT_BUDGET
        }
        None => DEFAULT_BUDGET,
    };
    TextDiffOptions { granularity: f.opt_choice("granularity", &Granularity::NAMES).unwrap_or(Granularity::Auto), budget }
}

fn service(f: &Fields<'_>) -> Service {
    f.opt_choice("service", &Service::NAMES).unwrap_or_default()
}

/// Options of `reviewProposal`, `diffText` and `diffGraphs`.
#[derive(Debug, Default)]
pub(super) struct DiffOptions {
    pub(super) text: TextDiffOptions,
    /// The service both graphs were read from (see `crate::Service`).
    pub(super) service: Service,
}

impl DiffOptions {
    pub(super) fn read(value: &Value, argument: &str) -> Result<DiffOptions> {
        let f = fields(value, argument, &["granularity", "budgetMs", "service"]);
        let options = DiffOptions { text: text_options(&f), service: service(&f) };
        f.finish(options)
    }
}

/// Options of `new ApprovalSession`.
#[derive(Debug, Default)]
pub(super) struct SessionOptions {
    pub(super) graph_id: Option<String>,
    pub(super) text: TextDiffOptions,
    /// The service approvals are saved to (see `crate::Service`).
    pub(super) service: Service,
    /// Whether changes start accepted or undecided.
    pub(super) decisions: DecisionMode,
}

impl SessionOptions {
    pub(super) fn read(value: &Value, argument: &str) -> Result<SessionOptions> {
        let f = fields(value, argument, &["graphId", "granularity", "budgetMs", "service", "decisions"]);
        let options = SessionOptions {
            graph_id: f.opt_string("graphId"),
            text: text_options(&f),
            service: service(&f),
            decisions: f.opt_choice("decisions", &DecisionMode::NAMES).unwrap_or_default(),
        };
        f.finish(options)
    }
}

/// Options of `HistoryClient.openSession`: the session's own (the client
/// sets `graphId` and `service`, from the server it talks to) and the
/// `version` to open (default: the current one).
pub(super) struct OpenOptions {
    pub(super) session: SessionOptions,
    pub(super) version: Option<u32>,
}

impl OpenOptions {
    pub(super) fn read(value: &Value, argument: &str) -> Result<OpenOptions> {
        let f = Fields::of(value, argument, ErrorCode::InvalidArgument);
        for key in ["graphId", "service"] {
            if f.get(key).is_some() {
                f.fail(key, "is the client's to set (the graph it opens, the service it talks to): leave it out");
            }
        }
        let f = f.only(&["graphId", "service", "granularity", "budgetMs", "decisions", "version"]);
        let options = OpenOptions {
            session: SessionOptions {
                graph_id: None,
                text: text_options(&f),
                service: Service::default(),
                decisions: f.opt_choice("decisions", &DecisionMode::NAMES).unwrap_or_default(),
            },
            version: f.opt_u32("version"),
        };
        f.finish(options)
    }
}

/// The ids of `acceptMany`/`rejectMany`: an array of strings.
pub(super) fn change_ids(value: &Value) -> Result<Vec<String>> {
    let Value::Array(items) = value else {
        return Err(crate::error::Error::at(
            ErrorCode::InvalidArgument,
            "ids",
            format!("must be an array of change ids, got {}", crate::value::type_name(value)),
        ));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::String(id) => Ok(id.clone()),
            other => Err(crate::error::Error::at(
                ErrorCode::InvalidArgument,
                format!("ids[{i}]"),
                format!("must be a string, got {}", crate::value::type_name(other)),
            )),
        })
        .collect()
}

/// `{filter}` of `acceptMany`/`rejectMany`.
pub(super) fn bulk_filter(value: &Value, argument: &str) -> Result<Option<String>> {
    let f = fields(value, argument, &["filter"]);
    let filter = f.opt_string("filter");
    f.finish(filter)
}

/// `{reason}` of `draft`.
pub(super) fn draft_reason(value: &Value, argument: &str) -> Result<Option<String>> {
    let f = fields(value, argument, &["reason"]);
    let reason = f.opt_string("reason");
    f.finish(reason)
}

/// The context of `propose`: where the proposal came from, and when
/// (`proposedAt`, RFC 3339; default: now, by the JS clock).
pub(super) fn propose_context(value: &Value, argument: &str) -> Result<Provenance> {
    let f = fields(value, argument, &["source", "model", "reason", "runId", "proposedAt"]);
    let default = Provenance::default();
    let proposed_at = match f.opt_string("proposedAt") {
        Some(text) => match crate::timestamp::Timestamp::parse(&text) {
            Ok(at) => Some(at.to_string()),
            Err(e) => {
                f.fail("proposedAt", e.detail().to_owned());
                None
            }
        },
        None => crate::timestamp::Timestamp::from_unix_millis(js_sys::Date::now() as i64).ok().map(|t| t.to_string()),
    };
    let context = Provenance {
        source: f.opt_string("source").unwrap_or(default.source),
        model: f.opt_string("model"),
        reason: f.opt_string("reason"),
        run_id: f.opt_string("runId"),
        proposed_at,
        ..default
    };
    f.finish(context)
}

/// The argument of `approve`.
#[derive(Debug)]
pub(super) struct Approval {
    pub(super) user: String,
    pub(super) now: Option<String>,
    pub(super) reason: Option<String>,
}

impl Approval {
    pub(super) fn read(value: &Value, argument: &str) -> Result<Approval> {
        let f = fields(value, argument, &["user", "now", "reason"]);
        let approval = Approval { user: f.string("user"), now: f.opt_string("now"), reason: f.opt_string("reason") };
        f.finish(approval)
    }
}
