//! Saving a version: the checks, the server-computed diff, the audit record
//! and the hash, in one write transaction.
//!
//! Unlike the real service this never overwrites silently (a stale base
//! version is a 409 unless `override` is set), keeps edges whole, and records
//! who saved what and why — computing the field-level diff itself, with the
//! same core the client uses, instead of trusting the client's.

use std::sync::Arc;

use kg_approval::{Graph, Timestamp, diff_graphs};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::chain::version_hash;
use crate::error::ApiError;
use crate::store::{self, Store, VersionRow};

/// `POST /saveGraphWithHistory` body: `{id, graphData, override, audit?}`.
#[derive(Debug)]
pub struct SaveBody {
    pub id: String,
    pub graph: Value,
    pub override_version: bool,
    pub audit: ClientAudit,
}

/// The provenance a client sends (kg-approval sends its whole audit entry;
/// other editors send nothing, and every field is optional).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClientAudit {
    pub approval_id: Option<String>,
    pub user: Option<String>,
    pub at: Option<String>,
    pub source: Option<String>,
    pub model: Option<String>,
    pub reason: Option<String>,
    pub run_id: Option<String>,
    pub proposal_id: Option<String>,
    pub accepted: Vec<String>,
    pub rejected: Vec<String>,
}

impl SaveBody {
    pub fn parse(bytes: &[u8]) -> Result<SaveBody, ApiError> {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| ApiError::BadRequest(format!("body is not valid JSON: {e}")))?;
        let Value::Object(mut body) = value else {
            return Err(ApiError::BadRequest("body must be a JSON object {id, graphData, override}".into()));
        };
        let id = match body.remove("id") {
            Some(Value::String(id)) if !id.is_empty() => id,
            Some(_) => return Err(ApiError::BadRequest("id must be a non-empty string".into())),
            None => return Err(ApiError::BadRequest("Missing required fields: id and graphData".into())),
        };
        let graph = match body.remove("graphData") {
            Some(graph @ Value::Object(_)) => graph,
            Some(_) => return Err(ApiError::BadRequest("graphData must be an object".into())),
            None => return Err(ApiError::BadRequest("Missing required fields: id and graphData".into())),
        };
        let override_version = match body.remove("override") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => b,
            Some(_) => return Err(ApiError::BadRequest("override must be a boolean".into())),
        };
        let audit = match body.remove("audit") {
            None | Some(Value::Null) => ClientAudit::default(),
            Some(audit) => serde_json::from_value(audit).map_err(|e| ApiError::BadRequest(format!("audit: {e}")))?,
        };
        Ok(SaveBody { id, graph, override_version, audit })
    }
}

/// The result of a save.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Saved {
    pub version: i64,
    /// True when the idempotency key had been seen: nothing new was stored.
    pub replayed: bool,
}

/// Who saves, and the settings that shape a save.
pub struct SaveContext<'a> {
    pub user: &'a str,
    pub idempotency_key: Option<String>,
    pub now: Timestamp,
    /// Keep the snapshots of only this many newest versions.
    pub keep_versions: Option<i64>,
}

pub fn save(store: &Store, body: SaveBody, ctx: SaveContext<'_>) -> Result<Saved, ApiError> {
    let SaveBody { id, mut graph, override_version, audit } = body;
    // The approval id is the natural idempotency key: one approval, one version.
    let key = ctx.idempotency_key.clone().or_else(|| audit.approval_id.clone());
    if let Some(user) = audit.user.as_deref().filter(|u| *u != ctx.user) {
        return Err(ApiError::Forbidden(format!("the audit names '{user}', but the token belongs to '{}'", ctx.user)));
    }
    // Parsed before taking the write lock: only what needs the stored
    // history (the version number, the diff, the hash) runs under it.
    let mut new = Graph::from_value(graph.clone()).map_err(|e| ApiError::BadRequest(format!("graphData: {e}")))?;

    let written = store.write(|tx| {
        if let Some(version) = key.as_deref().map(|k| store::by_idempotency_key(tx, &id, k)).transpose()?.flatten() {
            return Ok(Written::Replayed(version));
        }
        let head = store::head(tx, &id)?;
        let current = head.as_ref().map_or(0, |(version, _)| *version);
        if current == 0 && !is_uuid_v4(&id) {
            return Err(ApiError::InvalidNewId { received: id.clone() });
        }
        if !override_version && !matches_version(&graph, current) {
            return Err(ApiError::Conflict { current_version: current });
        }
        let version = current + 1;
        set_version(&mut graph, version);
        new.set_version(json!(version));
        let previous = match &head {
            Some((v, hash)) => match store.latest.get(&id, *v, hash) {
                Some(cached) => cached,
                None => Arc::new(stored_graph(tx, &id, *v)?),
            },
            None => Arc::new(empty_graph()?),
        };
        let diff = diff_graphs(&previous, &new, None);
        check_stamps(&new, &diff.changes, ctx.user)?;

        let record = json!({
            "version": version,
            "savedAt": ctx.now.to_string(),
            "user": ctx.user,
            "source": audit.source.as_deref().unwrap_or("unknown"),
            "model": audit.model,
            "reason": audit.reason,
            "runId": audit.run_id,
            "approvalId": audit.approval_id,
            "proposalId": audit.proposal_id,
            "approvedAt": audit.at,
            "baseVersion": current,
            "override": override_version,
            "accepted": audit.accepted,
            "rejected": audit.rejected,
            "summary": diff.summary,
            "changes": diff.changes,
        });
        let prev_hash = head.map(|(_, hash)| hash).unwrap_or_default();
        let touched: Vec<String> = diff.changes.iter().filter_map(|c| c.node_id.clone()).collect();
        let graph_json = new.to_json();
        let bytes = graph_json.len();
        let row = VersionRow {
            graph_id: id.clone(),
            version,
            saved_at: ctx.now.to_string(),
            user: ctx.user.to_owned(),
            source: audit.source.clone().unwrap_or_else(|| "unknown".to_owned()),
            reason: audit.reason.clone(),
            run_id: audit.run_id.clone(),
            idempotency_key: key.clone(),
            hash: version_hash(&prev_hash, &graph, &record),
            graph_json: Some(graph_json),
            audit_json: record.to_string(),
            prev_hash,
        };
        store::insert(tx, &row, &touched)?;
        if let Some(keep) = ctx.keep_versions {
            store::prune(tx, &id, version, keep)?;
        }
        Ok(Written::New { version, hash: row.hash, bytes })
    })?;
    match written {
        Written::Replayed(version) => Ok(Saved { version, replayed: true }),
        Written::New { version, hash, bytes } => {
            // Committed: the next save of this graph can diff against it as is.
            store.latest.put(&id, version, hash, Arc::new(new), bytes);
            Ok(Saved { version, replayed: false })
        }
    }
}

/// What the write transaction did.
enum Written {
    Replayed(i64),
    New { version: i64, hash: String, bytes: usize },
}

/// A stored version's snapshot, parsed (an empty graph if it was pruned).
fn stored_graph(tx: &rusqlite::Transaction<'_>, id: &str, version: i64) -> Result<Graph, ApiError> {
    let row = store::version(tx, id, version)?;
    match row.and_then(|r| r.graph_json) {
        Some(text) => Graph::from_json(&text).map_err(|e| ApiError::Internal(format!("stored version {version} of {id}: {e}"))),
        None => empty_graph(),
    }
}

fn empty_graph() -> Result<Graph, ApiError> {
    Graph::from_value(json!({"nodes": [], "edges": []})).map_err(|e| ApiError::Internal(e.to_string()))
}

/// The real service's rule, strictly: `metadata.version` must be the current
/// version as a number (`"1"` never matches `1`). A new graph may omit it.
fn matches_version(graph: &Value, current: i64) -> bool {
    match graph.get("metadata").and_then(|m| m.get("version")) {
        Some(Value::Number(n)) => n.as_i64() == Some(current),
        None | Some(Value::Null) => current == 0,
        Some(_) => false,
    }
}

fn set_version(graph: &mut Value, version: i64) {
    if let Value::Object(root) = graph {
        let meta = root.entry("metadata").or_insert_with(|| Value::Object(Map::new()));
        if !meta.is_object() {
            *meta = Value::Object(Map::new());
        }
        if let Value::Object(meta) = meta {
            meta.insert("version".to_owned(), json!(version));
        }
    }
}

/// Stamps on what this save changed must name the token's user: nobody
/// writes as someone else.
fn check_stamps(graph: &Graph, changes: &[kg_approval::Change], user: &str) -> Result<(), ApiError> {
    let forged =
        |what: String, by: &str| ApiError::Forbidden(format!("{what} is stamped updatedBy '{by}', but the token belongs to '{user}'"));
    for change in changes {
        let stamp = match (change.node_id.as_deref(), change.edge_id.as_deref()) {
            (Some(id), _) => graph.node(id).and_then(|n| n.fields().get("updatedBy")).map(|by| (format!("node '{id}'"), by)),
            (_, Some(id)) => graph.edge(id).and_then(|e| e.fields().get("updatedBy")).map(|by| (format!("edge '{id}'"), by)),
            _ if change.field.as_deref() == Some("updatedBy") => change.new.as_ref().map(|by| ("metadata".to_owned(), by)),
            _ => None,
        };
        if let Some((what, by)) = stamp {
            if by.as_str() != Some(user) {
                return Err(forged(what, &by.to_string()));
            }
        }
    }
    Ok(())
}

/// A canonical, hyphenated UUID of version 4 (the real service's rule for new ids).
pub fn is_uuid_v4(id: &str) -> bool {
    id.len() == 36 && uuid::Uuid::try_parse(id).is_ok_and(|u| u.get_version_num() == 4 && u.get_variant() == uuid::Variant::RFC4122)
}
