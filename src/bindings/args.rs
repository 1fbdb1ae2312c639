//! Option objects accepted from JS. Unknown keys are refused, so a typo
//! (`budgetMS`) is an error rather than a silently ignored setting.

use std::time::Duration;

use serde::Deserialize;
use wasm_bindgen::JsValue;

use super::invalid_argument;
use crate::service::Service;
use crate::text_diff::{DEFAULT_BUDGET, Granularity, TextDiffOptions};

/// Longest text-diff budget a caller may ask for.
const MAX_BUDGET_MS: f64 = 60_000.0;

fn text_options(granularity: Option<Granularity>, budget_ms: Option<f64>) -> Result<TextDiffOptions, JsValue> {
    let budget = match budget_ms {
        None => DEFAULT_BUDGET,
        Some(ms) if (0.0..=MAX_BUDGET_MS).contains(&ms) => Duration::from_secs_f64(ms / 1000.0),
        Some(ms) => return Err(invalid_argument("options.budgetMs", format!("must be between 0 and {MAX_BUDGET_MS}, got {ms}"))),
    };
    Ok(TextDiffOptions { granularity: granularity.unwrap_or(Granularity::Auto), budget })
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct DiffOptions {
    granularity: Option<Granularity>,
    budget_ms: Option<f64>,
    /// The service both graphs were read from (see `crate::Service`).
    pub(super) service: Option<Service>,
}

impl DiffOptions {
    pub(super) fn text(&self) -> Result<TextDiffOptions, JsValue> {
        text_options(self.granularity, self.budget_ms)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct SessionOptions {
    pub(super) graph_id: Option<String>,
    granularity: Option<Granularity>,
    budget_ms: Option<f64>,
    /// The service approvals are saved to (see `crate::Service`).
    pub(super) service: Option<Service>,
}

impl SessionOptions {
    pub(super) fn text(&self) -> Result<TextDiffOptions, JsValue> {
        text_options(self.granularity, self.budget_ms)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct ProposeContext {
    pub(super) source: Option<String>,
    pub(super) model: Option<String>,
    pub(super) reason: Option<String>,
    pub(super) run_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct Approval {
    pub(super) user: String,
    pub(super) now: Option<String>,
    pub(super) reason: Option<String>,
}
