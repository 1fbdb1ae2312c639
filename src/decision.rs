//! Decisions: what a reviewer decided on each change, and how.
//!
//! An audit entry must say what a person did, not what a default did. So a
//! change carries, besides `accepted`, **how** it was decided
//! ([`DecidedBy`]): by the reviewer on this change, on its node, by a bulk
//! action (and on which filter), because a change it depends on was decided,
//! or not at all (the session's default). A session in
//! [`DecisionMode::Explicit`] starts every change undecided (`accepted:
//! null`) and refuses to approve while any is.
//!
//! A reviewer may also **correct** a change — apply their own value instead
//! of the AI's — and **comment** on it. The audit entry keeps one
//! [`DecisionRecord`] per change: the decision, how it was made, the filter
//! of a bulk action, the comment, and for a correction the AI's proposed
//! value beside the final one (which is the change's `new`).
//!
//! ```
//! use kg_approval::decision::{DecidedBy, Decision, DecisionRecord};
//! let record = DecisionRecord { decision: Decision::Corrected, decided_by: DecidedBy::Change,
//!     filter: None, comment: Some("the AI misspelt it".into()), proposed: Some("Fjordd".into()) };
//! let json = serde_json::to_value(&record).unwrap();
//! assert_eq!(json["decision"], "corrected");
//! assert_eq!(json["proposed"], "Fjordd");
//! ```

use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::change::{Change, ChangeKind, Target};
use crate::error::{Error, ErrorCode, Result};
use crate::fields::Fields;
use crate::graph::{Edge, Node, endpoint};
use crate::proposal::{RESERVED_ITEM_FIELDS, RESERVED_METADATA_FIELDS};
use crate::value::json_eq;

/// How a session's changes start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DecisionMode {
    /// Every change starts accepted, decided by the default (the behaviour
    /// before explicit decisions; the audit says `decidedBy: "default"`).
    #[default]
    Accepted,
    /// Every change starts undecided; approval needs a decision on each.
    Explicit,
}

impl DecisionMode {
    pub const NAMES: [(&'static str, DecisionMode); 2] = [("accepted", DecisionMode::Accepted), ("explicit", DecisionMode::Explicit)];
}

/// How a change got its decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DecidedBy {
    /// Nobody decided: the session's default ([`DecisionMode::Accepted`]).
    Default,
    /// The reviewer decided (or corrected) this change.
    Change,
    /// The reviewer decided every change of its node at once.
    Node,
    /// A bulk action: every change (`filter: "all"`) or those a filter showed.
    Bulk,
    /// Decided because a change it depends on, or that depends on it, was:
    /// accepting an edge accepts the new node it ends at; rejecting a node's
    /// removal rejects the removal of its edges.
    Dependency,
}

impl DecidedBy {
    pub const NAMES: [(&'static str, DecidedBy); 5] = [
        ("default", DecidedBy::Default),
        ("change", DecidedBy::Change),
        ("node", DecidedBy::Node),
        ("bulk", DecidedBy::Bulk),
        ("dependency", DecidedBy::Dependency),
    ];
}

/// What was decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Accepted,
    Rejected,
    /// Accepted with the reviewer's value instead of the AI's.
    Corrected,
}

impl Decision {
    pub const NAMES: [(&'static str, Decision); 3] =
        [("accepted", Decision::Accepted), ("rejected", Decision::Rejected), ("corrected", Decision::Corrected)];
}

/// The audit's record of one change's decision.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DecisionRecord {
    pub decision: Decision,
    pub decided_by: DecidedBy,
    /// The filter of the bulk action that decided it, as the reviewer saw it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// A correction's AI value (absent when the AI proposed no value).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proposed: Option<Value>,
}

impl DecisionRecord {
    /// The record of a decided change (`None` while it is undecided).
    pub fn of(change: &Change) -> Option<DecisionRecord> {
        let accepted = change.accepted?;
        let decision = match (accepted, change.corrected) {
            (true, true) => Decision::Corrected,
            (true, false) => Decision::Accepted,
            (false, _) => Decision::Rejected,
        };
        Some(DecisionRecord {
            decision,
            decided_by: change.decided_by.unwrap_or(DecidedBy::Default),
            filter: change.bulk_filter.clone(),
            comment: change.comment.clone(),
            proposed: if change.corrected { change.proposed.clone() } else { None },
        })
    }

    /// A record as written by `Serialize`, at `path`.
    pub fn read(value: &Value, path: &str, code: ErrorCode) -> Result<DecisionRecord> {
        let f = Fields::of(value, path, code).only(&["decision", "decidedBy", "filter", "comment", "proposed"]);
        let record = DecisionRecord {
            decision: f.choice("decision", &Decision::NAMES),
            decided_by: f.choice("decidedBy", &DecidedBy::NAMES),
            filter: f.opt_string("filter"),
            comment: f.opt_string("comment"),
            proposed: f.present("proposed"),
        };
        if record.proposed.is_some() && record.decision != Decision::Corrected {
            f.fail("proposed", "is kept only for a corrected change");
        }
        f.finish(record)
    }
}

/// Change id → its decision, in review order (a JSON object when serialized).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decisions(pub Vec<(String, DecisionRecord)>);

impl Decisions {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, change_id: &str) -> Option<&DecisionRecord> {
        self.0.iter().find(|(id, _)| id == change_id).map(|(_, r)| r)
    }

    /// Decisions as written by `Serialize` (an object), at `path`.
    pub fn read(value: &Value, path: &str, code: ErrorCode) -> Result<Decisions> {
        let f = Fields::of(value, path, code);
        let entries = f.entries(|v, path| DecisionRecord::read(v, path, code));
        f.finish(Decisions(entries))
    }
}

impl Serialize for Decisions {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(id, record)| (id, record)))
    }
}

/// The longest comment a change may carry, in characters.
pub const MAX_COMMENT_CHARS: usize = 10_000;

/// Checks that `value` may replace the AI's value of `change` (see
/// [`crate::ApprovalSession::correct`]): a correction is a change like any
/// other, so it may not write what a proposal may not.
pub fn check_correction(change: &Change, value: &Value) -> Result<()> {
    let refuse = |message: String| Err(Error::at(ErrorCode::InvalidCorrection, "value", format!("change '{}': {message}", change.id)));
    let reserved: &[&str] = if change.target == Target::Metadata { &RESERVED_METADATA_FIELDS } else { &RESERVED_ITEM_FIELDS };
    match change.kind {
        ChangeKind::Removed => refuse("a removal cannot be corrected: accept or reject it".to_owned()),
        ChangeKind::Changed => {
            let field = change.field.as_deref().unwrap_or_default();
            if reserved.contains(&field) {
                return refuse(format!("'{field}' is an audit field, written only at approval"));
            }
            if change.old.as_ref().is_some_and(|old| json_eq(old, value)) {
                return refuse("the value is the current one: reject the change instead".to_owned());
            }
            Ok(())
        }
        ChangeKind::Added => {
            let Value::Object(fields) = value else {
                return refuse(format!("an added {} is corrected with an object of its fields", what(change)));
            };
            if let Some(field) = reserved.iter().find(|f| fields.contains_key(**f)) {
                return refuse(format!("'{field}' is an audit field, written only at approval"));
            }
            let proposed = change.proposed.as_ref().or(change.new.as_ref()).and_then(Value::as_object);
            let id = change.entity().unwrap_or_default();
            if fields.get("id").and_then(Value::as_str) != Some(id) {
                return refuse(format!("the corrected {} must keep its id '{id}'", what(change)));
            }
            match change.target {
                Target::Node => Node::from_fields(fields.clone()).map(|_| ()).map_err(|e| correction_error(change, e)),
                _ => {
                    Edge::from_fields(fields.clone()).map_err(|e| correction_error(change, e))?;
                    let ends = |f: &serde_json::Map<String, Value>| {
                        (endpoint(f, "source", "from").map(str::to_owned), endpoint(f, "target", "to").map(str::to_owned))
                    };
                    if proposed.map(ends) != Some(ends(fields)) {
                        return refuse("the ends of an added edge cannot be corrected: reject it and add the edge you mean".to_owned());
                    }
                    Ok(())
                }
            }
        }
    }
}

fn what(change: &Change) -> &'static str {
    if change.target == Target::Node { "node" } else { "edge" }
}

fn correction_error(change: &Change, e: Error) -> Error {
    Error::at(ErrorCode::InvalidCorrection, "value", format!("change '{}': {}", change.id, e.detail()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field_change() -> Change {
        Change::field(Target::Node, "a", "A", "label", Some(json!("Old")), Some(json!("New")))
    }

    #[test]
    fn a_record_round_trips_and_refuses_a_proposed_value_without_a_correction() {
        let mut change = field_change();
        change.accepted = Some(true);
        change.decided_by = Some(DecidedBy::Bulk);
        change.bulk_filter = Some("field: label".into());
        let record = DecisionRecord::of(&change).unwrap();
        let back = DecisionRecord::read(&serde_json::to_value(&record).unwrap(), "r", ErrorCode::InvalidArgument).unwrap();
        assert_eq!(back, record);
        let bad = json!({"decision": "accepted", "decidedBy": "change", "proposed": 1});
        let err = DecisionRecord::read(&bad, "r", ErrorCode::InvalidArgument).unwrap_err();
        assert_eq!(err.to_string(), "r.proposed: is kept only for a corrected change");
    }

    #[test]
    fn an_undecided_change_has_no_record() {
        let mut change = field_change();
        change.accepted = None;
        assert_eq!(DecisionRecord::of(&change), None);
    }

    #[test]
    fn corrections_follow_the_rules_of_a_proposal() {
        let change = field_change();
        assert!(check_correction(&change, &json!("Mine")).is_ok());
        assert!(check_correction(&change, &json!({"any": ["json"]})).is_ok());
        let same = check_correction(&change, &json!("Old")).unwrap_err();
        assert_eq!(same.code(), ErrorCode::InvalidCorrection);
        let stamp = Change::field(Target::Node, "a", "A", "updatedBy", None, Some(json!("x")));
        assert!(check_correction(&stamp, &json!("me")).unwrap_err().to_string().contains("audit field"));
        let removal = Change::whole(Target::Node, ChangeKind::Removed, "a", "A", json!({"id": "a"}));
        assert!(check_correction(&removal, &json!({"id": "a"})).unwrap_err().to_string().contains("removal"));
        let added = Change::whole(Target::Node, ChangeKind::Added, "n", "N", json!({"id": "n", "label": "N"}));
        assert!(check_correction(&added, &json!({"id": "n", "label": "Mine"})).is_ok());
        assert!(check_correction(&added, &json!({"id": "m", "label": "N"})).unwrap_err().to_string().contains("keep its id"));
        assert!(check_correction(&added, &json!({"id": "n", "createdBy": "me"})).is_err());
        let edge = Change::whole(Target::Edge, ChangeKind::Added, "e", "E", json!({"id": "e", "source": "a", "target": "b"}));
        assert!(check_correction(&edge, &json!({"id": "e", "source": "a", "target": "b", "label": "x"})).is_ok());
        assert!(check_correction(&edge, &json!({"id": "e", "source": "a", "target": "c"})).unwrap_err().to_string().contains("ends"));
    }
}
