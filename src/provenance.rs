//! Provenance: where a proposal came from, and how sure its author was.
//!
//! Two parties tell it. The caller of `propose` (the app that ran the AI
//! tool) passes a context: `source`, `model`, `reason`, `runId`. The proposal
//! may describe itself with top-level `model`, `modelVersion`, `confidence`
//! (a number from 0 to 1) and `ruleId`, and each node patch with its own
//! `confidence` and `ruleId`. All of it is shown to the reviewer and kept in
//! the audit entry; none of it is ever written into the graph — a node patch's
//! `confidence` and `ruleId` are taken out of its fields while parsing, so a
//! proposal cannot set graph fields of those names.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, ErrorCode, Result};
use crate::value::type_name;
use crate::warning::{Warning, WarningCode};

/// The provenance keys a node patch may carry; they are not graph fields.
pub const PATCH_PROVENANCE_KEYS: [&str; 3] = ["confidence", "ruleId", "rationale"];

/// The longest rationale a suggestion may carry, in characters.
pub const MAX_RATIONALE_CHARS: usize = 10_000;

/// The provenance keys at the top level of a proposal.
pub const PROPOSAL_PROVENANCE_KEYS: [&str; 4] = ["model", "modelVersion", "confidence", "ruleId"];

/// Where a proposal came from: what the caller of `propose` told, completed
/// with what the proposal says of itself (see [`Provenance::with_proposal`]).
/// Shown in the review as `provenance` (absent values left out) and recorded
/// in the audit entry.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    /// `ai` (the default), `user`, `revert`, `import`, ...
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The version of `model`, as the proposal gives it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_version: Option<String>,
    /// How sure the proposal's author is of the whole proposal, 0 to 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// The rule (of a rule engine, a prompt catalogue...) that made the proposal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<String>,
    /// Why the proposal was made (the AI's explanation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// When the proposal was made (RFC 3339): the caller's word, else the
    /// time `propose` was called. With the approval's `at`, the time a
    /// decision took.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proposed_at: Option<String>,
}

impl Default for Provenance {
    fn default() -> Self {
        Provenance {
            source: "ai".to_owned(),
            model: None,
            model_version: None,
            confidence: None,
            rule_id: None,
            reason: None,
            run_id: None,
            proposed_at: None,
        }
    }
}

impl Provenance {
    /// This provenance (the caller's) completed with what the proposal says
    /// of itself.
    ///
    /// The caller's `model` wins over the proposal's: the caller chose which
    /// model to run, while the proposal's `model` is text the model wrote
    /// about itself. So the proposal's `model` is used only when the caller
    /// gave none. When both are given and differ, the proposal's `model` and
    /// its `modelVersion` (a version of a model that is not the one recorded)
    /// are dropped, and the returned warning tells the reviewer, so nothing is
    /// replaced silently. `modelVersion`, `confidence` and `ruleId` come only
    /// from the proposal.
    ///
    /// ```
    /// use kg_approval::{Proposal, Provenance};
    /// use serde_json::json;
    /// let proposal = Proposal::from_value(json!({"model": "m-1", "modelVersion": "2024-06", "confidence": 0.8})).unwrap();
    /// let caller = Provenance { model: Some("m-1".into()), ..Provenance::default() };
    /// let (merged, warning) = caller.with_proposal(&proposal.provenance);
    /// assert_eq!((merged.model_version.as_deref(), merged.confidence, warning), (Some("2024-06"), Some(0.8), None));
    /// ```
    pub fn with_proposal(mut self, claimed: &ProposalProvenance) -> (Provenance, Option<Warning>) {
        let mut warning = None;
        match (&self.model, &claimed.model) {
            (Some(ours), Some(theirs)) if ours != theirs => {
                let version = claimed.model_version.as_deref().map(|v| format!(" (version '{v}')")).unwrap_or_default();
                let message = format!(
                    "the proposal says it was made by model '{theirs}'{version}, the caller says '{ours}': the caller's model is recorded and the proposal's was ignored"
                );
                warning = Some(Warning::new(WarningCode::ProvenanceOverridden, message).field("model"));
            }
            _ => {
                if self.model.is_none() {
                    self.model = claimed.model.clone();
                }
                self.model_version = claimed.model_version.clone();
            }
        }
        self.confidence = claimed.confidence;
        self.rule_id = claimed.rule_id.clone();
        (self, warning)
    }
}

/// What a proposal says of itself at its top level (see the [module docs](self)).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProposalProvenance {
    pub model: Option<String>,
    pub model_version: Option<String>,
    pub confidence: Option<f64>,
    pub rule_id: Option<String>,
}

impl ProposalProvenance {
    /// Reads the provenance keys of a proposal's top level. `null` counts as
    /// not given, like the proposal's other optional keys.
    pub fn read(root: &Map<String, Value>) -> Result<ProposalProvenance> {
        Ok(ProposalProvenance {
            model: text(root.get("model"), "model")?,
            model_version: text(root.get("modelVersion"), "modelVersion")?,
            confidence: confidence(root.get("confidence"), "confidence")?,
            rule_id: text(root.get("ruleId"), "ruleId")?,
        })
    }
}

/// What a proposal says of one node patch (or edge): how sure it is, which
/// rule made it, and why it suggests it (its `rationale`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PatchProvenance {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<String>,
    /// Why the AI suggests this change, in its words (at most
    /// [`MAX_RATIONALE_CHARS`]): shown beside it and kept in the audit, never
    /// written into the graph.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rationale: Option<String>,
}

impl PatchProvenance {
    /// Takes `confidence`, `ruleId` and `rationale` out of a node patch's
    /// fields (`path` is the patch's, `nodes[3]`), so they are never merged
    /// into the graph.
    pub fn take(fields: &mut Map<String, Value>, path: &str) -> Result<PatchProvenance> {
        let confidence = confidence(fields.shift_remove("confidence").as_ref(), &format!("{path}.confidence"))?;
        let rule_id = text(fields.shift_remove("ruleId").as_ref(), &format!("{path}.ruleId"))?;
        let rationale = take_rationale(fields, path)?;
        Ok(PatchProvenance { confidence, rule_id, rationale })
    }

    pub fn is_empty(&self) -> bool {
        self.confidence.is_none() && self.rule_id.is_none() && self.rationale.is_none()
    }
}

/// Takes `rationale` out of a patch's fields (a node's or an edge's): a
/// non-empty string of at most [`MAX_RATIONALE_CHARS`].
pub fn take_rationale(fields: &mut Map<String, Value>, path: &str) -> Result<Option<String>> {
    let path = format!("{path}.rationale");
    let rationale = text(fields.shift_remove("rationale").as_ref(), &path)?;
    if let Some(n) = rationale.as_ref().map(|r| r.chars().count()).filter(|n| *n > MAX_RATIONALE_CHARS) {
        return Err(invalid(&path, format!("must be at most {MAX_RATIONALE_CHARS} characters, got {n}")));
    }
    Ok(rationale)
}

/// Per node id: the provenance of the node patches whose changes were
/// decided (the audit entry's `patchProvenance`).
pub type PatchProvenanceMap = BTreeMap<String, PatchProvenance>;

fn invalid(path: &str, message: String) -> Error {
    Error::at(ErrorCode::InvalidProposal, path, message)
}

fn text(value: Option<&Value>, path: &str) -> Result<Option<String>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
        Some(Value::String(_)) => Err(invalid(path, "must be a non-empty string, got an empty string".to_owned())),
        Some(other) => Err(invalid(path, format!("must be a non-empty string, got {}", type_name(other)))),
    }
}

/// A confidence is a number from 0 to 1 inclusive: a percentage (`80`) or a
/// word (`"high"`) is refused rather than guessed at.
fn confidence(value: Option<&Value>, path: &str) -> Result<Option<f64>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(c) if (0.0..=1.0).contains(&c) => Ok(Some(c)),
            _ => Err(invalid(path, format!("must be between 0 and 1, got {n}"))),
        },
        Some(other) => Err(invalid(path, format!("must be a number between 0 and 1, got {}", type_name(other)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claimed(model: Option<&str>, version: Option<&str>) -> ProposalProvenance {
        ProposalProvenance {
            model: model.map(str::to_owned),
            model_version: version.map(str::to_owned),
            confidence: Some(0.5),
            rule_id: Some("r1".to_owned()),
        }
    }

    fn caller(model: Option<&str>) -> Provenance {
        Provenance { model: model.map(str::to_owned), run_id: Some("run".to_owned()), ..Provenance::default() }
    }

    #[test]
    fn the_proposal_fills_in_what_the_caller_did_not_tell() {
        let (p, warning) = caller(None).with_proposal(&claimed(Some("m"), Some("v2")));
        assert_eq!(warning, None);
        assert_eq!(
            p,
            Provenance {
                model: Some("m".into()),
                model_version: Some("v2".into()),
                confidence: Some(0.5),
                rule_id: Some("r1".into()),
                run_id: Some("run".into()),
                ..Provenance::default()
            }
        );
    }

    #[test]
    fn the_callers_model_wins_and_a_different_claim_is_reported() {
        let (p, warning) = caller(Some("ours")).with_proposal(&claimed(Some("theirs"), Some("v2")));
        assert_eq!((p.model.as_deref(), p.model_version.as_deref()), (Some("ours"), None), "a version of another model is not kept");
        assert_eq!((p.confidence, p.rule_id.as_deref()), (Some(0.5), Some("r1")));
        let warning = warning.unwrap();
        assert_eq!((warning.code, warning.field.as_deref()), (WarningCode::ProvenanceOverridden, Some("model")));
        assert!(warning.message.contains("'theirs' (version 'v2')"), "{}", warning.message);
    }

    #[test]
    fn the_same_model_from_both_keeps_the_version() {
        let (p, warning) = caller(Some("m")).with_proposal(&claimed(Some("m"), Some("v2")));
        assert_eq!((p.model.as_deref(), p.model_version.as_deref(), warning), (Some("m"), Some("v2"), None));
        let (p, _) = caller(Some("m")).with_proposal(&claimed(None, Some("v2")));
        assert_eq!(p.model_version.as_deref(), Some("v2"), "a version without a model qualifies the caller's");
    }

    #[test]
    fn confidence_bounds_are_inclusive() {
        for ok in [json!(0), json!(1), json!(0.0), json!(1.0), json!(0.25)] {
            assert!(confidence(Some(&ok), "confidence").unwrap().is_some(), "{ok}");
        }
        for bad in [json!(-0.01), json!(1.0001), json!(80), json!(-1)] {
            let e = confidence(Some(&bad), "confidence").unwrap_err();
            assert_eq!((e.code(), e.path()), (ErrorCode::InvalidProposal, Some("confidence")), "{bad}");
        }
        assert_eq!(confidence(Some(&Value::Null), "confidence").unwrap(), None);
    }

    #[test]
    fn patch_provenance_leaves_the_other_fields_in_order() {
        let mut fields = json!({"label": "x", "confidence": 0.7, "info": "y", "ruleId": "r"}).as_object().unwrap().clone();
        let p = PatchProvenance::take(&mut fields, "nodes[0]").unwrap();
        assert_eq!(p, PatchProvenance { confidence: Some(0.7), rule_id: Some("r".into()), rationale: None });
        assert_eq!(fields.keys().collect::<Vec<_>>(), ["label", "info"]);
        assert_eq!(serde_json::to_value(&p).unwrap(), json!({"confidence": 0.7, "ruleId": "r"}));
    }
}
