//! Writing one version, whichever way it arrived (a delta or a whole graph):
//! the rows it adds, the rows it ends, its blobs, its audit record, its link
//! in the hash chain and the graph's head, in the caller's transaction.

use std::collections::HashMap;

use kg_approval::Timestamp;
use kg_approval::decision::{Decision, DecisionMode, Decisions, MAX_COMMENT_CHARS};
use kg_approval::error::ErrorCode;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::chain::{delta_hash, end_leaf, named_put_leaf, named_version_hash, record_digest};
use crate::entity::Encoded;
use crate::error::HistoryError;
use crate::people::{self, Pseudonyms};
use crate::store::{EntityRow, GraphSummary, Head, Kind, StoreResult, VersionRow, Writer, entity_patch};

/// Positions are spaced this far apart, so that parts inserted between two
/// others rarely force their neighbours to move.
pub const ORD_STEP: i64 = 1 << 32;

/// The provenance a client sends (kg-approval sends its whole audit entry;
/// other editors send nothing, and every field is optional).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClientAudit {
    pub approval_id: Option<String>,
    pub user: Option<String>,
    pub at: Option<String>,
    pub source: Option<String>,
    pub model: Option<String>,
    pub model_version: Option<String>,
    /// The proposal's confidence, 0 to 1.
    pub confidence: Option<f64>,
    pub rule_id: Option<String>,
    pub reason: Option<String>,
    pub run_id: Option<String>,
    pub proposal_id: Option<String>,
    pub accepted: Vec<String>,
    pub rejected: Vec<String>,
    /// Node id → `{confidence?, ruleId?}` of the patches that carried them.
    pub patch_provenance: Option<Map<String, Value>>,
    /// Edge id → `{rationale}` of the proposed edges that carried one.
    pub edge_provenance: Option<Map<String, Value>>,
    /// When the proposal was made (RFC 3339): with the approval's time, how
    /// long the decision took.
    pub proposed_at: Option<String>,
    /// `accepted` (changes started accepted) or `explicit` (each was decided).
    pub decision_mode: Option<String>,
    /// Change id → how it was decided, the reviewer's comment, a correction's
    /// AI value (see `kg_approval::decision`); checked by [`ClientAudit::take_from`].
    pub decisions: Option<Value>,
}

impl ClientAudit {
    /// The `audit` field of a save body (absent or null: nothing told).
    pub fn take_from(body: &mut Map<String, Value>) -> Result<ClientAudit, HistoryError> {
        match body.remove("audit") {
            None | Some(Value::Null) => Ok(ClientAudit::default()),
            Some(audit) => {
                let audit: ClientAudit = serde_json::from_value(audit).map_err(|e| HistoryError::BadRequest(format!("audit: {e}")))?;
                audit.check_decisions()?;
                Ok(audit)
            }
        }
    }

    /// The decisions, read as the core writes them: one per accepted or
    /// rejected change, agreeing with those lists, a correction's AI value
    /// only on a corrected change.
    pub fn decisions(&self) -> Result<Decisions, HistoryError> {
        match &self.decisions {
            None | Some(Value::Null) => Ok(Decisions::default()),
            Some(value) => Decisions::read(value, "audit.decisions", ErrorCode::InvalidArgument).map_err(HistoryError::from_core),
        }
    }

    fn check_decisions(&self) -> Result<(), HistoryError> {
        if let Some(at) = self.proposed_at.as_deref().filter(|at| Timestamp::parse(at).is_err()) {
            return Err(invalid("audit.proposedAt", format!("must be an RFC 3339 time, got '{at}'")));
        }
        if let Some(mode) = self.decision_mode.as_deref().filter(|m| !DecisionMode::NAMES.iter().any(|(name, _)| name == m)) {
            return Err(invalid("audit.decisionMode", format!("must be one of: accepted, explicit, got '{mode}'")));
        }
        for (id, record) in &self.decisions()?.0 {
            let path = format!("audit.decisions.{id}");
            let listed = match record.decision {
                Decision::Rejected => self.rejected.contains(id),
                Decision::Accepted | Decision::Corrected => self.accepted.contains(id),
            };
            if !listed {
                let list = if record.decision == Decision::Rejected { "rejected" } else { "accepted" };
                return Err(invalid(&path, format!("a decision on a change that audit.{list} does not list")));
            }
            if record.comment.as_ref().is_some_and(|c| c.chars().count() > MAX_COMMENT_CHARS) {
                return Err(invalid(&format!("{path}.comment"), format!("a comment is at most {MAX_COMMENT_CHARS} characters")));
            }
        }
        Ok(())
    }
}

fn invalid(path: &str, message: String) -> HistoryError {
    HistoryError::Invalid { code: "invalid_argument", path: Some(path.to_owned()), message: format!("{path}: {message}") }
}

/// A save body as a JSON object (`what` names its fields in the error).
pub fn body_object(bytes: &[u8], what: &str) -> Result<Map<String, Value>, HistoryError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| HistoryError::BadRequest(format!("body is not valid JSON: {e}")))?;
    crate::numbers::refuse_inexact_integers(bytes, &value)?;
    match value {
        Value::Object(body) => Ok(body),
        _ => Err(HistoryError::BadRequest(format!("body must be a JSON object {what}"))),
    }
}

/// Who saves, and the settings that shape a save.
pub struct SaveContext<'a> {
    pub user: &'a str,
    pub idempotency_key: Option<String>,
    pub now: Timestamp,
    /// Keep the newest N versions readable whole (all if `None`).
    pub keep_versions: Option<i64>,
}

/// The result of a save.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Saved {
    pub version: i64,
    pub hash: String,
    /// True when the idempotency key had been seen: nothing new was stored.
    pub replayed: bool,
}

/// What one version changes: the rows to write and to end.
#[derive(Debug, Default)]
pub struct Changes {
    pub puts: Vec<Put>,
    pub ends: Vec<End>,
    pub blobs: Vec<(String, String)>,
}

/// A current row to end: the row as stored, whose body the way back from
/// its replacement is made from (see [`kg_history_store::entity_patch`]).
pub type End = EntityRow;

/// How a version ends one of its current rows.
#[derive(Debug, PartialEq)]
pub struct Ending {
    /// The row replacing it (an index into the version's puts), if the
    /// version writes the same part again; `None`: the part is removed.
    pub by: Option<usize>,
    /// The body the ended row keeps instead of its own: the way back from
    /// its replacement, if that is smaller and not deeper than allowed.
    pub patch: Option<String>,
}

/// How each ended row goes (in the order of `ends`): replaced by the put
/// (kind, key, dup, body; in the order of `puts`) of the same part, if any,
/// with its patch. See [`entity_patch`].
pub fn endings<'a>(
    tx: &mut dyn Writer,
    gid: i64,
    ends: &[End],
    puts: impl IntoIterator<Item = (Kind, &'a str, i64, &'a str)>,
) -> StoreResult<Vec<Ending>> {
    let newer: HashMap<(Kind, &str, i64), (usize, &str)> =
        puts.into_iter().enumerate().map(|(at, (kind, key, dup, body))| ((kind, key, dup), (at, body))).collect();
    let mut out = Vec::with_capacity(ends.len());
    for end in ends {
        let ending = match newer.get(&(end.kind, end.key.as_str(), end.dup)) {
            Some(&(at, newer)) => {
                let depth = tx.patch_depth(gid, end.kind, &end.key, end.dup, end.from_version)? + 1;
                Ending { by: Some(at), patch: entity_patch::encode(&end.body, newer, depth) }
            }
            None => Ending { by: None, patch: None },
        };
        out.push(ending);
    }
    Ok(out)
}

/// A row to write (valid from the new version on).
#[derive(Debug)]
pub struct Put {
    pub kind: Kind,
    pub key: String,
    pub dup: i64,
    pub ord: i64,
    pub body: String,
}

impl Changes {
    /// Replaces `old` (if any) by a part with `encoded` as its body.
    pub fn replace(&mut self, old: Option<&EntityRow>, kind: Kind, key: &str, dup: i64, ord: i64, encoded: Encoded) {
        if let Some(old) = old {
            if old.body == encoded.body && old.ord == ord && old.key == key && old.dup == dup {
                return;
            }
            self.ends.push(old.clone());
        }
        self.blobs.extend(encoded.blobs);
        self.puts.push(Put { kind, key: key.to_owned(), dup, ord, body: encoded.body });
    }

    pub fn end(&mut self, old: &EntityRow) {
        self.ends.push(old.clone());
    }
}

/// The version being written and the provenance recorded with it.
pub struct NewVersion<'a> {
    pub graph_id: &'a str,
    pub head: Option<&'a Head>,
    pub ctx: &'a SaveContext<'a>,
    pub audit: &'a ClientAudit,
    pub key: Option<&'a str>,
    /// The fingerprint of the request (see [`crate::idempotency`]), kept
    /// with the version when it has a `key`, which is bound to it.
    pub request_hash: Option<&'a str>,
    pub override_version: bool,
    /// `full` (a whole graph was posted) or `delta`.
    pub via: &'static str,
    pub title: Option<String>,
    pub nodes: i64,
}

/// Writes the version and returns its number and hash.
pub fn write_version(tx: &mut dyn Writer, new: NewVersion<'_>, changes: Changes) -> Result<Saved, HistoryError> {
    let version = new.head.map_or(0, |h| h.version) + 1;
    let saved_at = new.ctx.now.to_string();
    let audit = new.audit;
    let mut record = json!({
        "version": version,
        "savedAt": saved_at,
        "user": new.ctx.user,
        "source": audit.source.as_deref().unwrap_or("unknown"),
        "reason": audit.reason,
        "runId": audit.run_id,
        "idempotencyKey": new.key,
        "via": new.via,
        "accepted": audit.accepted,
        "rejected": audit.rejected,
    });
    // What the client told that has a value (a version stores no nulls it
    // can do without: every byte is paid per version).
    for (key, value) in
        [("model", &audit.model), ("approvalId", &audit.approval_id), ("proposalId", &audit.proposal_id), ("approvedAt", &audit.at)]
    {
        if let (Some(value), Value::Object(fields)) = (value, &mut record) {
            fields.insert(key.to_owned(), json!(value));
        }
    }
    if let Value::Object(fields) = &mut record {
        for (key, value) in [
            ("modelVersion", audit.model_version.as_ref().map(|v| json!(v))),
            ("confidence", audit.confidence.map(|c| json!(c))),
            ("ruleId", audit.rule_id.as_ref().map(|v| json!(v))),
            ("patchProvenance", audit.patch_provenance.as_ref().filter(|p| !p.is_empty()).map(|p| json!(p))),
            ("edgeProvenance", audit.edge_provenance.as_ref().filter(|p| !p.is_empty()).map(|p| json!(p))),
            ("proposedAt", audit.proposed_at.as_ref().and_then(|at| Timestamp::parse(at).ok()).map(|at| json!(at.to_string()))),
            ("decisionMode", audit.decision_mode.as_ref().map(|m| json!(m))),
            ("decisions", Some(json!(audit.decisions()?)).filter(|d| d.as_object().is_some_and(|d| !d.is_empty()))),
        ] {
            if let Some(value) = value {
                fields.insert(key.to_owned(), value);
            }
        }
    }
    if new.override_version {
        record["override"] = json!(true);
    }
    let summary = GraphSummary {
        graph_id: new.graph_id.to_owned(),
        version,
        title: new.title,
        nodes: new.nodes,
        saved_at: saved_at.clone(),
        saved_by: new.ctx.user.to_owned(),
    };
    let prev_hash = new.head.map(|h| h.hash.clone()).unwrap_or_default();
    let mut leaves = Vec::with_capacity(changes.puts.len() + changes.ends.len());
    for end in &changes.ends {
        leaves.push(end_leaf(end.kind, &end.key, end.dup));
    }
    let rows: Vec<EntityRow> = changes
        .puts
        .into_iter()
        .map(|p| EntityRow { kind: p.kind, key: p.key, dup: p.dup, from_version: version, to_version: None, ord: p.ord, body: p.body })
        .collect();
    // People are hashed by their pseudonyms (see `crate::people`): learn
    // those of everyone this version names.
    let mut names = Pseudonyms::default();
    let named: Vec<String> = rows.iter().flat_map(|r| people::named_in(&r.body)).collect();
    names.learn(tx, std::iter::once(new.ctx.user).chain(named.iter().map(String::as_str)), &saved_at)?;
    for row in &rows {
        leaves.push(named_put_leaf(row, &names).map_err(HistoryError::Internal)?);
    }
    let digest = record_digest(&record, &names);
    let hash = named_version_hash(&prev_hash, &delta_hash(leaves), &digest);

    let gid = match new.head {
        Some(head) => {
            tx.update_graph(head.gid, &summary, &hash)?;
            head.gid
        }
        None => tx.insert_graph(new.graph_id, &summary, &hash)?,
    };
    for (blob_hash, text) in &changes.blobs {
        tx.insert_blob(gid, blob_hash, text)?;
    }
    let endings = endings(tx, gid, &changes.ends, rows.iter().map(|r| (r.kind, r.key.as_str(), r.dup, r.body.as_str())))?;
    let mut written = vec![false; rows.len()];
    for (end, ending) in changes.ends.iter().zip(endings) {
        let found = match ending.by {
            Some(at) => {
                written[at] = true;
                tx.replace_entity(gid, end, &rows[at], ending.patch.as_deref())?
            }
            None => tx.close_entity(gid, end.kind, &end.key, end.dup, version, None)?,
        };
        if !found {
            let End { kind, key, dup, .. } = end;
            return Err(HistoryError::Internal(format!("no current row for {kind:?} '{key}' ({dup}) to end")));
        }
    }
    for (row, written) in rows.iter().zip(written) {
        if !written {
            tx.insert_entity(gid, row)?;
        }
    }
    let row = VersionRow {
        graph_id: new.graph_id.to_owned(),
        version,
        saved_at,
        user: new.ctx.user.to_owned(),
        source: audit.source.clone().unwrap_or_else(|| "unknown".to_owned()),
        reason: audit.reason.clone(),
        run_id: audit.run_id.clone(),
        idempotency_key: new.key.map(str::to_owned),
        graph_json: None,
        audit_json: Ok(VersionRow::stored_record(&record)),
        // The link is the previous row's hash; it is not stored twice.
        prev_hash: String::new(),
        hash: hash.clone(),
        scheme: 3,
        pruned: false,
        // Implied by the record while it is there (see `retention::expire_audit`).
        record_digest: None,
        audit_expired: false,
    };
    tx.insert_version(&row, new.key.and(new.request_hash))?;
    // Its decisions, countable by reports (issue 26).
    crate::stats::record(tx, gid, &row)?;
    if let Some(keep) = new.ctx.keep_versions {
        crate::retention::prune(tx, new.graph_id, gid, version, keep)?;
    }
    Ok(Saved { version, hash, replayed: false })
}

/// The title a graph is listed under: its `metadata.title`, if a string.
pub fn title_of(metadata: Option<&Map<String, Value>>) -> Option<String> {
    metadata.and_then(|m| m.get("title")).and_then(Value::as_str).map(str::to_owned)
}

/// Stamps on what a save changes must name the token's user: nobody writes
/// as someone else. A changed part's `updatedBy`, if it has one, names the
/// user; an added part's `createdBy`, if any, too; an existing part's
/// `createdBy` never changes. `old` is the part before (`None`: added);
/// `what` names it in the error. Call it for every part whose values change.
pub fn check_stamps(what: &str, old: Option<&Map<String, Value>>, new: &Map<String, Value>, user: &str) -> Result<(), HistoryError> {
    let forged =
        |field: &str, by: &Value| HistoryError::Forbidden(format!("{what} is stamped {field} {by}, but the token belongs to '{user}'"));
    if let Some(by) = new.get("updatedBy").filter(|by| by.as_str() != Some(user)) {
        return Err(forged("updatedBy", by));
    }
    match old {
        None => match new.get("createdBy").filter(|by| by.as_str() != Some(user)) {
            Some(by) => Err(forged("createdBy", by)),
            None => Ok(()),
        },
        Some(old) if old.get("createdBy") != new.get("createdBy") => {
            Err(HistoryError::Forbidden(format!("{what}: createdBy records who created it and cannot change")))
        }
        Some(_) => Ok(()),
    }
}
