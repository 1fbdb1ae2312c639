//! Drafts: a review in progress as plain JSON, so that a reload, a crash or a
//! closed tab does not lose a reviewer's work.
//!
//! A draft holds what the reviewer cannot get back by asking again: the
//! proposal (for a proposal review), and per change the decision, how it was
//! made, a correction and a comment, plus the reason typed so far. It is
//! about the size of the proposal. [`crate::ApprovalSession::resume`] puts it
//! back: each change's decision is restored only if the change is still the
//! one decided on — same id, same current value, same proposed value (its
//! fingerprint) — so a draft resumed on a graph that moved never applies a
//! decision to a change the reviewer did not see; those are dropped with a
//! `draft_decision_dropped` warning.
//!
//! ```
//! use kg_approval::{ApprovalSession, Graph, Proposal, Provenance};
//! use kg_approval::decision::DecisionMode;
//! use serde_json::json;
//! let graph = || Graph::from_value(json!({"metadata": {"version": 3}, "nodes": [{"id": "a", "label": "A"}]})).unwrap();
//! let mut session = ApprovalSession::new(graph(), Some("g1".into()));
//! session.set_decision_mode(DecisionMode::Explicit);
//! session.propose(&Proposal::from_value(json!({"nodes": [{"id": "a", "label": "B"}]})).unwrap(), Provenance::default()).unwrap();
//! session.reject("node/a/label").unwrap();
//! let draft = session.draft(Some("not yet")).unwrap().to_value();
//!
//! // After a reload: a new session on the same version.
//! let mut again = ApprovalSession::new(graph(), Some("g1".into()));
//! again.set_decision_mode(DecisionMode::Explicit);
//! let review = again.resume(&kg_approval::Draft::read(&draft, "draft").unwrap()).unwrap();
//! assert_eq!(review.changes[0].accepted, Some(false));
//! assert_eq!(draft["reason"], "not yet");
//! ```

use serde::{Serialize, Serializer};
use serde_json::{Value, json};

use crate::canonical::canonical_sha256;
use crate::change::Change;
use crate::decision::{DecidedBy, DecisionMode};
use crate::error::{Error, ErrorCode, Result};
use crate::fields::Fields;
use crate::provenance::Provenance;
use crate::review::ReviewKind;

/// The draft format this library writes (`draft` in the JSON).
pub const DRAFT_FORMAT: u32 = 1;

/// A review in progress. See the [module docs](self).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Draft {
    /// The format of the draft (see [`DRAFT_FORMAT`]).
    pub draft: u32,
    pub kind: ReviewKind,
    pub graph_id: Option<String>,
    /// The version the review was based on.
    pub base_version: Option<Value>,
    pub proposal_id: String,
    /// The proposal as given (a proposal review).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proposal: Option<Value>,
    /// Where the proposal came from, as the session recorded it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
    pub decision_mode: DecisionMode,
    /// Change id → what the reviewer did to it (only changes they touched).
    pub changes: DraftChanges,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What the reviewer did to one change.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DraftChange {
    /// The change's fingerprint: its current and proposed values (see [`fingerprint`]).
    pub seen: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<DecidedBy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// The reviewer's value, if they corrected the change (`null` is a value).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correction: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// Change id → [`DraftChange`], in review order (an object in JSON).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DraftChanges(pub Vec<(String, DraftChange)>);

impl Serialize for DraftChanges {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(id, change)| (id, change)))
    }
}

impl DraftChange {
    /// What the reviewer did to `change`, or `None` if they did nothing.
    pub fn of(change: &Change) -> Option<DraftChange> {
        let decided = change.decided_by.is_some_and(|by| by != DecidedBy::Default);
        if !decided && change.comment.is_none() {
            return None;
        }
        Some(DraftChange {
            seen: fingerprint(change),
            accepted: change.accepted.filter(|_| decided),
            decided_by: change.decided_by.filter(|_| decided),
            filter: change.bulk_filter.clone().filter(|_| decided),
            correction: if change.corrected { Some(change.new.clone().unwrap_or(Value::Null)) } else { None },
            comment: change.comment.clone(),
        })
    }

    fn read(value: &Value, path: &str) -> Result<DraftChange> {
        let f =
            Fields::of(value, path, ErrorCode::InvalidDraft).only(&["seen", "accepted", "decidedBy", "filter", "correction", "comment"]);
        let change = DraftChange {
            seen: f.string("seen"),
            accepted: f.opt_bool("accepted"),
            decided_by: f.opt_choice("decidedBy", &DecidedBy::NAMES),
            filter: f.opt_string("filter"),
            correction: f.present("correction"),
            comment: f.opt_string("comment"),
        };
        f.finish(change)
    }
}

/// A change's fingerprint: the first 16 hex digits of the SHA-256 of its
/// current value and the AI's value (before any correction). A decision
/// applies to a change only while both are what the reviewer saw.
pub fn fingerprint(change: &Change) -> String {
    let absent = || json!({"absent": true});
    let proposed = if change.corrected { change.proposed.clone() } else { change.new.clone() };
    let seen = json!([change.id, change.old.clone().unwrap_or_else(absent), proposed.unwrap_or_else(absent)]);
    canonical_sha256(&seen)[..16].to_owned()
}

impl Draft {
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// A draft as [`Draft::to_value`] wrote it, at `path`.
    pub fn read(value: &Value, path: &str) -> Result<Draft> {
        let f = Fields::of(value, path, ErrorCode::InvalidDraft).must_have(&["draft", "kind", "proposalId", "changes"]);
        let format = f.opt_u32("draft").unwrap_or(0);
        if format != DRAFT_FORMAT && f.get("draft").is_some() {
            f.fail("draft", format!("format {format} is not one this version reads (it reads {DRAFT_FORMAT})"));
        }
        let provenance = f.read("provenance", read_provenance);
        let changes = f.read("changes", |v, path| {
            let map = Fields::of(v, path, ErrorCode::InvalidDraft);
            let entries = map.entries(DraftChange::read);
            map.finish(DraftChanges(entries))
        });
        let draft = Draft {
            draft: format,
            kind: f.choice("kind", &ReviewKind::NAMES),
            graph_id: f.opt_string("graphId"),
            base_version: f.opt_value("baseVersion"),
            proposal_id: f.string("proposalId"),
            proposal: f.opt_value("proposal"),
            provenance,
            decision_mode: f.opt_choice("decisionMode", &DecisionMode::NAMES).unwrap_or_default(),
            changes: changes.unwrap_or_default(),
            reason: f.opt_string("reason"),
        };
        if draft.kind == ReviewKind::Proposal && draft.proposal.is_none() && f.get("kind").is_some() {
            f.fail("proposal", "is missing: a proposal review's draft carries its proposal");
        }
        f.finish(draft)
    }
}

fn read_provenance(value: &Value, path: &str) -> Result<Provenance> {
    let f = Fields::of(value, path, ErrorCode::InvalidDraft);
    let provenance = Provenance {
        source: f.opt_string("source").unwrap_or_else(|| Provenance::default().source),
        model: f.opt_string("model"),
        model_version: f.opt_string("modelVersion"),
        confidence: f.opt_f64("confidence"),
        rule_id: f.opt_string("ruleId"),
        reason: f.opt_string("reason"),
        run_id: f.opt_string("runId"),
        proposed_at: f.opt_string("proposedAt"),
    };
    f.finish(provenance)
}

/// An error about a draft that does not fit the session it is resumed on.
pub(crate) fn mismatch(path: &str, message: impl Into<String>) -> Error {
    Error::at(ErrorCode::InvalidDraft, path, message)
}
