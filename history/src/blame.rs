//! Field-level blame: for every current field of one node, edge or the
//! metadata, the version that gave it its value — who, when, why, from
//! which run and model — and when the part was created.
//!
//! Every version that changed a part wrote a row for it (see
//! [`crate::store`]), so the part's rows are its whole history: blame reads
//! those rows (an index lookup) and the version rows they name, and costs
//! O(versions that touched the part), never a replay of the graph.
//!
//! ```json
//! { "graphId": "g", "target": "node", "id": "n1", "current": true, "complete": true,
//!   "created": { "version": 1, "at": "…", "user": "ann@example.com", "source": "ai", … },
//!   "fields": [ { "field": "label", "value": "New", "version": 7, "since": "…", "user": "…", "reason": "…", …,
//!                 "origin": "correction", "decidedBy": "change", "proposed": "Nwe", "comment": "typo",
//!                 "rationale": "the source spells it New" } ] }
//! ```
//!
//! `origin` traces each value to a rule, a model's inference, a person or a
//! reviewer's correction (see [`Origin`]); a correction names the AI's value
//! it replaced (`proposed`), from the version's record of decisions.

use serde::Serialize;
use serde_json::{Map, Value};

use kg_approval::change::{Target, change_id};
use kg_approval::decision::{DecidedBy, Decision, DecisionRecord, Decisions};
use kg_approval::error::ErrorCode;
use kg_approval::proposal::{RESERVED_ITEM_FIELDS, RESERVED_METADATA_FIELDS};

use crate::entity::{self, reference};
use crate::error::HistoryError;
use crate::export::provenance_of;
use crate::store::{EntityRow, Kind, Reader, VersionRow};

/// What to blame.
#[derive(Clone, Debug, PartialEq)]
pub enum Subject {
    Node(String),
    Edge(String),
    Metadata,
}

impl Subject {
    fn kind_and_key(&self) -> (Kind, &str) {
        match self {
            Subject::Node(id) => (Kind::Node, id),
            Subject::Edge(key) => (Kind::Edge, key),
            Subject::Metadata => (Kind::Metadata, ""),
        }
    }

    fn target(&self) -> &'static str {
        match self {
            Subject::Node(_) => "node",
            Subject::Edge(_) => "edge",
            Subject::Metadata => "metadata",
        }
    }
}

/// Who made a version, and why (`null`s once its record expired).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stamp {
    pub version: i64,
    pub at: String,
    pub user: Option<String>,
    pub source: Option<String>,
    pub model: Option<String>,
    pub model_version: Option<String>,
    pub reason: Option<String>,
    pub run_id: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub audit_expired: bool,
}

impl Stamp {
    pub fn of(row: &VersionRow) -> Stamp {
        let record = row.record().unwrap_or(Value::Null);
        let text = |key: &str| record.get(key).and_then(Value::as_str).map(str::to_owned);
        let present = |s: &str| (!row.audit_expired).then(|| s.to_owned());
        Stamp {
            version: row.version,
            at: row.saved_at.clone(),
            user: present(&row.user),
            source: present(&row.source),
            model: text("model"),
            model_version: text("modelVersion"),
            reason: row.reason.clone(),
            run_id: row.run_id.clone(),
            audit_expired: row.audit_expired,
        }
    }
}

/// The blame of one field.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldBlame {
    pub field: String,
    pub value: Value,
    /// When it got its value: `stamp.at`.
    pub since: String,
    #[serde(flatten)]
    pub stamp: Stamp,
    /// Where the value came from (see [`Origin`]).
    pub origin: Origin,
    /// How the reviewer decided the change that wrote it, when told.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<DecidedBy>,
    /// A correction's AI value: what the reviewer replaced by `value`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proposed: Option<Value>,
    /// The reviewer's comment on the change that wrote it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Why the AI suggested the change that wrote it: the rationale its
    /// node patch (or edge) carried in that version's proposal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rationale: Option<String>,
}

/// Where a field's value came from: every value traces back to a rule, a
/// model's inference or a person (the municipal requirement's "origin").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// A reviewer's own value in place of the AI's.
    Correction,
    /// A proposal made by a rule (`ruleId`, of the proposal or its node patch).
    Rule,
    /// A proposal made by a model (`source: ai`, or a `model` named).
    Model,
    /// Written by a person (`source: user`).
    Person,
    /// Restored from an older version.
    Revert,
    /// Imported (`--seed`, `source: import`).
    Import,
    /// An audit stamp (`updatedAt`, `updatedBy`...) the approval wrote.
    Stamp,
    /// Not told, or the record expired under retention.
    Unknown,
}

/// The origin of `field` of `subject`, as written by the version whose
/// record is `record` (`created`: the version added the part), and the
/// reviewer's decision on the change that wrote it — for a correction, with
/// this field's AI value as `proposed`.
fn trace(record: &Value, subject: &Subject, field: &str, created: bool) -> (Origin, Option<DecisionRecord>) {
    let reserved: &[&str] = if *subject == Subject::Metadata { &RESERVED_METADATA_FIELDS } else { &RESERVED_ITEM_FIELDS };
    if reserved.contains(&field) {
        return (Origin::Stamp, None);
    }
    let (target, key) = match subject {
        Subject::Node(id) => (Target::Node, id.as_str()),
        Subject::Edge(key) => (Target::Edge, key.as_str()),
        Subject::Metadata => (Target::Metadata, ""),
    };
    let id = if created && *subject != Subject::Metadata { change_id(target, key, None) } else { change_id(target, key, Some(field)) };
    let decisions = record.get("decisions").and_then(|d| Decisions::read(d, "decisions", ErrorCode::InvalidArgument).ok());
    let mut decision = decisions.and_then(|d| d.0.into_iter().find(|(i, _)| *i == id)).map(|(_, d)| d);
    if let Some(d) = decision.as_mut().filter(|d| d.decision == Decision::Corrected) {
        if created {
            // An added part's correction keeps the AI's whole part: this field of it.
            d.proposed = d.proposed.as_ref().and_then(|p| p.get(field)).cloned();
        }
        return (Origin::Correction, decision);
    }
    let text = |key: &str| record.get(key).and_then(Value::as_str);
    let patch_rule = match subject {
        Subject::Node(id) => record.get("patchProvenance").and_then(|p| p.get(id)).and_then(|p| p.get("ruleId")).is_some(),
        _ => false,
    };
    let origin = match text("source") {
        _ if text("ruleId").is_some() || patch_rule => Origin::Rule,
        _ if text("model").is_some() => Origin::Model,
        Some("ai") => Origin::Model,
        Some("user") => Origin::Person,
        Some("revert") => Origin::Revert,
        Some("import") => Origin::Import,
        _ => Origin::Unknown,
    };
    (origin, decision)
}

/// The blame of one part.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Blame {
    pub graph_id: String,
    pub target: &'static str,
    pub id: Option<String>,
    /// False when the part was removed: `removed` says by which version,
    /// and the fields are those it had last.
    pub current: bool,
    /// False when older versions were pruned by retention: the earliest
    /// versions named may then be later than the true ones.
    pub complete: bool,
    pub created: Stamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed: Option<Stamp>,
    pub fields: Vec<FieldBlame>,
}

/// Blames the current fields of `subject` in graph `graph_id`.
pub fn blame(db: &mut dyn Reader, graph_id: &str, subject: &Subject) -> Result<Blame, HistoryError> {
    let head = db.head(graph_id)?.ok_or_else(|| HistoryError::NotFound("Graph not found.".into()))?;
    let (kind, key) = subject.kind_and_key();
    let rows = db.entity_history(head.gid, kind, key)?;
    let not_found = || HistoryError::NotFound(format!("{} {key} was never in graph {graph_id}.", subject.target()));
    // The part as it is now (the first current copy, if an edge key is
    // shared), else as it was last.
    let last = rows.iter().find(|r| r.to_version.is_none()).or_else(|| rows.iter().max_by_key(|r| r.to_version)).ok_or_else(not_found)?;
    // Its history: the rows of that copy back to where it last appeared
    // (a part removed and added again starts anew).
    let mut run: Vec<&EntityRow> = rows.iter().filter(|r| r.dup == last.dup && r.from_version <= last.from_version).collect();
    run.sort_by_key(|r| r.from_version);
    let start = run.windows(2).rposition(|w| w[0].to_version != Some(w[1].from_version)).map_or(0, |i| i + 1);
    let run = &run[start..];

    let current = entity::decode(&last.body).map_err(HistoryError::Internal)?;
    let history: Vec<Map<String, Value>> =
        run.iter().map(|r| entity::decode(&r.body)).collect::<Result<_, _>>().map_err(HistoryError::Internal)?;
    // For each field, the oldest row of the run from which it kept its value.
    let mut since: Vec<(String, usize)> = Vec::with_capacity(current.len());
    for (field, value) in &current {
        let mut from = history.len() - 1;
        while from > 0 && history[from - 1].get(field).is_some_and(|v| kg_approval::value::json_eq(v, value)) {
            from -= 1;
        }
        since.push((field.clone(), from));
    }
    let mut wanted: Vec<i64> = run.iter().map(|r| r.from_version).collect();
    wanted.extend(last.to_version);
    if let Some(first) = run.first() {
        wanted.push((first.from_version - 1).max(1));
    }
    wanted.sort_unstable();
    wanted.dedup();
    let versions = db.versions_in(graph_id, &wanted)?;
    let stamp = |version: i64| -> Result<Stamp, HistoryError> {
        versions
            .iter()
            .find(|v| v.version == version)
            .map(Stamp::of)
            .ok_or_else(|| HistoryError::Internal(format!("version {version} of {graph_id} is missing")))
    };
    let first = run[0];
    let complete = first.from_version == 1 || !versions.iter().any(|v| v.version == first.from_version - 1 && v.pruned);
    let mut fields = Vec::with_capacity(since.len());
    for (field, from) in since {
        let raw = &current[&field];
        let value = match reference(raw) {
            Some(hash) => {
                let text = db.blob(head.gid, hash)?.ok_or_else(|| HistoryError::Internal(format!("blob {hash} is missing")))?;
                serde_json::from_str(&text).map_err(|e| HistoryError::Internal(format!("blob {hash}: {e}")))?
            }
            None => raw.clone(),
        };
        let version = run[from].from_version;
        let stamp = stamp(version)?;
        let record = versions.iter().find(|v| v.version == version).and_then(|v| v.record().ok()).unwrap_or(Value::Null);
        let (origin, decision) = trace(&record, subject, &field, from == 0);
        let rationale = match subject {
            Subject::Node(id) => provenance_of(&record, "node", id, "rationale"),
            Subject::Edge(key) => provenance_of(&record, "edge", key, "rationale"),
            Subject::Metadata => None,
        }
        .filter(|_| origin != Origin::Stamp);
        let (decided_by, proposed, comment) = match decision {
            Some(d) => (Some(d.decided_by), d.proposed, d.comment),
            None => (None, None, None),
        };
        fields.push(FieldBlame { field, value, since: stamp.at.clone(), stamp, origin, decided_by, proposed, comment, rationale });
    }
    Ok(Blame {
        graph_id: graph_id.to_owned(),
        target: subject.target(),
        id: match subject {
            Subject::Metadata => None,
            Subject::Node(id) | Subject::Edge(id) => Some(id.clone()),
        },
        current: last.to_version.is_none(),
        complete,
        created: stamp(first.from_version)?,
        removed: last.to_version.map(stamp).transpose()?,
        fields,
    })
}
