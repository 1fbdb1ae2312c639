//! Runs: every approval made from one AI run (the `runId` a proposal was
//! tagged with), across graphs — how many, over how long, by whom, on which
//! graphs, and how many proposed changes were accepted and rejected.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

use crate::error::HistoryError;
use crate::read::audit_entry;
use crate::store::{GraphVersion, Reader};

/// A run, as [`run`] reports it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    pub run_id: String,
    /// Approvals (versions) of the run.
    pub count: usize,
    pub first_at: Option<String>,
    pub last_at: Option<String>,
    /// From the first approval to the last.
    pub duration_ms: i64,
    pub users: Vec<String>,
    pub graphs: Vec<String>,
    pub models: Vec<String>,
    /// Proposed changes accepted and rejected, over all its approvals.
    pub accepted: usize,
    pub rejected: usize,
    pub limit: usize,
    pub offset: usize,
    /// The approvals, oldest first, paged; each an audit entry with its `graphId`.
    pub entries: Vec<Value>,
}

/// The run `run_id`, counting only versions `visible(graph_id)` allows.
pub fn run(
    db: &mut dyn Reader,
    run_id: &str,
    limit: usize,
    offset: usize,
    visible: &mut dyn FnMut(&mut dyn Reader, &str) -> Result<bool, HistoryError>,
) -> Result<Run, HistoryError> {
    // Whether a graph is visible is asked once per graph, not per version.
    let mut seen: std::collections::HashMap<String, bool> = std::collections::HashMap::new();
    let mut versions: Vec<GraphVersion> = Vec::new();
    for v in db.run_versions(run_id)? {
        let shown = match seen.get(&v.row.graph_id) {
            Some(shown) => *shown,
            None => {
                let shown = visible(db, &v.row.graph_id)?;
                seen.insert(v.row.graph_id.clone(), shown);
                shown
            }
        };
        if shown {
            versions.push(v);
        }
    }
    let (mut users, mut graphs, mut models) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    let (mut accepted, mut rejected) = (0, 0);
    for v in &versions {
        let record = v.row.record().unwrap_or(Value::Null);
        let count = |key: &str| record.get(key).and_then(Value::as_array).map_or(0, Vec::len);
        accepted += count("accepted");
        rejected += count("rejected");
        if let Some(model) = record.get("model").and_then(Value::as_str) {
            models.insert(model.to_owned());
        }
        users.insert(v.row.user.clone());
        graphs.insert(v.row.graph_id.clone());
    }
    let first_at = versions.first().map(|v| v.row.saved_at.clone());
    let last_at = versions.last().map(|v| v.row.saved_at.clone());
    let millis = |t: &Option<String>| t.as_deref().and_then(|t| kg_approval::Timestamp::parse(t).ok()).map(|t| t.unix_millis());
    let duration_ms = match (millis(&first_at), millis(&last_at)) {
        (Some(a), Some(b)) => b - a,
        _ => 0,
    };
    let mut entries = Vec::new();
    for v in versions.iter().skip(offset).take(limit) {
        let mut entry = audit_entry(db, Some(v.gid), &v.row)?;
        if let Value::Object(fields) = &mut entry {
            fields.insert("graphId".to_owned(), Value::String(v.row.graph_id.clone()));
        }
        entries.push(entry);
    }
    Ok(Run {
        run_id: run_id.to_owned(),
        count: versions.len(),
        first_at,
        last_at,
        duration_ms,
        users: users.into_iter().collect(),
        graphs: graphs.into_iter().collect(),
        models: models.into_iter().collect(),
        accepted,
        rejected,
        limit,
        offset,
        entries,
    })
}
