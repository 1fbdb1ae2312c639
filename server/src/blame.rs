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
//!   "fields": [ { "field": "label", "value": "New", "version": 7, "since": "…", "user": "…", "reason": "…", … } ] }
//! ```

use serde::Serialize;
use serde_json::{Map, Value};

use crate::entity::{self, reference};
use crate::error::ApiError;
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
        let record: Value = serde_json::from_str(&row.audit_json).unwrap_or(Value::Null);
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
pub fn blame(db: &mut dyn Reader, graph_id: &str, subject: &Subject) -> Result<Blame, ApiError> {
    let head = db.head(graph_id)?.ok_or_else(|| ApiError::NotFound("Graph not found.".into()))?;
    let (kind, key) = subject.kind_and_key();
    let rows = db.entity_history(head.gid, kind, key)?;
    let not_found = || ApiError::NotFound(format!("{} {key} was never in graph {graph_id}.", subject.target()));
    // The part as it is now (the first current copy, if an edge key is
    // shared), else as it was last.
    let last = rows.iter().find(|r| r.to_version.is_none()).or_else(|| rows.iter().max_by_key(|r| r.to_version)).ok_or_else(not_found)?;
    // Its history: the rows of that copy back to where it last appeared
    // (a part removed and added again starts anew).
    let mut run: Vec<&EntityRow> = rows.iter().filter(|r| r.dup == last.dup && r.from_version <= last.from_version).collect();
    run.sort_by_key(|r| r.from_version);
    let start = run.windows(2).rposition(|w| w[0].to_version != Some(w[1].from_version)).map_or(0, |i| i + 1);
    let run = &run[start..];

    let current = entity::decode(&last.body).map_err(ApiError::Internal)?;
    let history: Vec<Map<String, Value>> =
        run.iter().map(|r| entity::decode(&r.body)).collect::<Result<_, _>>().map_err(ApiError::Internal)?;
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
    let stamp = |version: i64| -> Result<Stamp, ApiError> {
        versions
            .iter()
            .find(|v| v.version == version)
            .map(Stamp::of)
            .ok_or_else(|| ApiError::Internal(format!("version {version} of {graph_id} is missing")))
    };
    let first = run[0];
    let complete = first.from_version == 1 || !versions.iter().any(|v| v.version == first.from_version - 1 && v.pruned);
    let mut fields = Vec::with_capacity(since.len());
    for (field, from) in since {
        let raw = &current[&field];
        let value = match reference(raw) {
            Some(hash) => {
                let text = db.blob(head.gid, hash)?.ok_or_else(|| ApiError::Internal(format!("blob {hash} is missing")))?;
                serde_json::from_str(&text).map_err(|e| ApiError::Internal(format!("blob {hash}: {e}")))?
            }
            None => raw.clone(),
        };
        let stamp = stamp(run[from].from_version)?;
        fields.push(FieldBlame { field, value, since: stamp.at.clone(), stamp });
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
