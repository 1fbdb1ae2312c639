//! The history service's protocol as pure functions; the WASM client does
//! only the I/O around them.
//!
//! It speaks the real service's quirks: JSON bodies served without a JSON
//! content type (and sometimes not JSON at all), history rows in
//! `history.results` with SQLite timestamps (`2026-02-04 14:30:45`, UTC), and
//! a 409 body carrying `currentVersion`.

use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::delta::GraphDelta;
use crate::error::{Error, ErrorCode, Result};
use crate::timestamp::Timestamp;
use crate::value::type_name;

/// The body of `POST /saveGraphWithHistory` for an approval (`{graph, audit,
/// ...}` as `approve()` returns it): `graphData.metadata.version` is the
/// version the review was based on, so the server refuses a stale save, and
/// `override` is false.
///
/// ```
/// use kg_approval::history::save_body;
/// use serde_json::json;
/// let approved = json!({"graph": {"nodes": []}, "audit": {"graphId": "g1", "baseVersion": 3, "approvalId": "a1"}});
/// let save = save_body(&approved).unwrap();
/// let body: serde_json::Value = serde_json::from_str(&save.body).unwrap();
/// assert_eq!((save.graph_id.as_str(), save.idempotency_key.as_deref()), ("g1", Some("a1")));
/// assert_eq!((&body["graphData"]["metadata"]["version"], &body["override"]), (&json!(3), &json!(false)));
/// ```
pub fn save_body(approved: &Value) -> Result<SaveRequest> {
    let field = |name: &str| approved.get(name).ok_or_else(|| invalid(format!("approved.{name} is missing: pass what approve() returned")));
    let mut graph = field("graph")?.clone();
    let audit = field("audit")?;
    let Value::Object(root) = &mut graph else {
        return Err(invalid(format!("approved.graph must be an object, got {}", type_name(&graph))));
    };
    let id = match audit.get("graphId") {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        _ => return Err(invalid("approved.audit.graphId is missing: create the ApprovalSession with a graphId".to_owned())),
    };
    let meta = root.entry("metadata").or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    if let Value::Object(meta) = meta {
        meta.insert("version".to_owned(), sent_version(audit.get("baseVersion")));
    }
    let idempotency_key = audit.get("approvalId").and_then(Value::as_str).map(str::to_owned);
    let body = json!({ "id": id, "graphData": graph, "override": false, "audit": audit }).to_string();
    Ok(SaveRequest { graph_id: id, idempotency_key, body })
}

/// The `metadata.version` a whole-graph save carries: the version the review
/// was based on, or `0` for a graph that had none. The real service counts a
/// graph without history as version 0 and compares strictly, so a missing
/// version (`undefined !== 0`) would be a 409 on every save of a legacy
/// graph; a new graph's version is not checked at all.
pub fn sent_version(base_version: Option<&Value>) -> Value {
    base_version.filter(|v| !v.is_null()).cloned().unwrap_or_else(|| json!(0))
}

/// The body of `POST /saveGraphWithHistory` from an approved graph's JSON
/// text (its `metadata.version` already the base version) and its audit
/// entry, without parsing the graph.
pub fn save_body_text(graph_json: &str, audit: &crate::audit::AuditEntry) -> Result<SaveRequest> {
    let id = audit
        .graph_id
        .clone()
        .filter(|id| !id.is_empty())
        .ok_or_else(|| invalid("approved.audit.graphId is missing: create the ApprovalSession with a graphId".to_owned()))?;
    let audit_json = serde_json::to_string(audit).map_err(|e| invalid(e.to_string()))?;
    let body = format!(r#"{{"id":{},"graphData":{graph_json},"override":false,"audit":{audit_json}}}"#, json!(id));
    Ok(SaveRequest { graph_id: id, idempotency_key: Some(audit.approval_id.clone()), body })
}

/// The body of `POST /patchGraph` for an approval (`{delta, audit, ...}` as
/// `approve()` returns it): the delta's fields, `graphId`, `expectedVersion`
/// (the version the review was based on), `expectedHash` when the caller
/// knows that version's hash, and the audit's provenance (the server computes
/// the field changes itself, so the audit's own copy of them is not sent).
/// `None` when the approval cannot be sent as a delta: it has none (an
/// entry kept by an older version) or was based on no saved version.
///
/// ```
/// use kg_approval::history::delta_body;
/// use serde_json::json;
/// let approved = json!({
///     "delta": {"patchNodes": [{"nodeId": "a", "fields": {"label": "B"}}]},
///     "audit": {"graphId": "g1", "baseVersion": 3, "approvalId": "a1", "user": "ann", "changes": {"a": {}}}
/// });
/// let save = delta_body(&approved, Some("abc")).unwrap().unwrap();
/// let body: serde_json::Value = serde_json::from_str(&save.body).unwrap();
/// assert_eq!((&body["graphId"], &body["expectedVersion"], &body["expectedHash"]), (&json!("g1"), &json!(3), &json!("abc")));
/// assert_eq!(body["patchNodes"][0]["nodeId"], "a");
/// assert_eq!(body["audit"], json!({"approvalId": "a1", "user": "ann"}));
/// ```
pub fn delta_body(approved: &Value, expected_hash: Option<&str>) -> Result<Option<SaveRequest>> {
    let audit = approved.get("audit").ok_or_else(|| invalid("approved.audit is missing: pass what approve() returned".to_owned()))?;
    let id = match audit.get("graphId") {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        _ => return Err(invalid("approved.audit.graphId is missing: create the ApprovalSession with a graphId".to_owned())),
    };
    let (Some(Value::Object(delta)), Some(version)) = (approved.get("delta"), audit.get("baseVersion").and_then(Value::as_i64)) else {
        return Ok(None);
    };
    let mut body = Map::new();
    body.insert("graphId".to_owned(), json!(id));
    body.insert("expectedVersion".to_owned(), json!(version));
    if let Some(hash) = expected_hash {
        body.insert("expectedHash".to_owned(), json!(hash));
    }
    body.extend(delta.iter().map(|(k, v)| (k.clone(), v.clone())));
    let provenance: Map<String, Value> =
        SENT_AUDIT_FIELDS.iter().filter_map(|k| audit.get(*k).filter(|v| !v.is_null()).map(|v| ((*k).to_owned(), v.clone()))).collect();
    body.insert("audit".to_owned(), Value::Object(provenance));
    let idempotency_key = audit.get("approvalId").and_then(Value::as_str).map(str::to_owned);
    Ok(Some(SaveRequest { graph_id: id, idempotency_key, body: Value::Object(body).to_string() }))
}

/// The body of the real service's `POST /patchNode` for an approval that
/// changed the fields of one existing node and nothing else but the
/// approval's metadata stamps: `{graphId, nodeId, fields, expectedVersion}`
/// (one version, O(change)). `None` for any other approval, which must go
/// whole (one version per approval, never one per node), and for one that
/// removes a field (the route writes `null` instead). The route cannot
/// write the metadata stamps (`metadata.updated`/`updatedBy`): the node's own
/// `updatedAt`/`updatedBy` are what record the approval there.
///
/// ```
/// use kg_approval::history::patch_node_body;
/// use serde_json::json;
/// let audit = json!({"graphId": "g1", "baseVersion": 3, "approvalId": "a1"});
/// let stamps = json!({"fields": {"updated": "2026-02-04T14:30:45.123Z", "updatedBy": "ann"}});
/// let one = json!({"delta": {"patchNodes": [{"nodeId": "n1", "fields": {"label": "B"}}], "patchMetadata": stamps}, "audit": audit});
/// let body: serde_json::Value = serde_json::from_str(&patch_node_body(&one).unwrap().unwrap().body).unwrap();
/// assert_eq!(body, json!({"graphId": "g1", "nodeId": "n1", "fields": {"label": "B"}, "expectedVersion": 3}));
/// let two = json!({"delta": {"patchNodes": [{"nodeId": "n1", "fields": {}}, {"nodeId": "n2", "fields": {}}]}, "audit": audit});
/// assert!(patch_node_body(&two).unwrap().is_none());
/// ```
pub fn patch_node_body(approved: &Value) -> Result<Option<SaveRequest>> {
    let audit = approved.get("audit").ok_or_else(|| invalid("approved.audit is missing: pass what approve() returned".to_owned()))?;
    let (Some(Value::String(id)), Some(version)) = (audit.get("graphId"), audit.get("baseVersion").and_then(Value::as_i64)) else {
        return Ok(None);
    };
    let Some(delta) = approved.get("delta").and_then(|d| GraphDelta::from_value(d.clone()).ok()) else {
        return Ok(None);
    };
    let stamps_only = delta
        .patch_metadata
        .as_ref()
        .is_none_or(|m| m.remove_fields.is_empty() && m.fields.keys().all(|k| k == "updated" || k == "updatedBy"));
    let [patch] = delta.patch_nodes.as_slice() else { return Ok(None) };
    let alone = delta.add_nodes.is_empty()
        && delta.remove_node_ids.is_empty()
        && delta.patch_edges.is_empty()
        && delta.add_edges.is_empty()
        && delta.remove_edge_ids.is_empty();
    if !(alone && stamps_only && patch.remove_fields.is_empty() && !patch.fields.is_empty()) {
        return Ok(None);
    }
    let body = json!({ "graphId": id, "nodeId": patch.node_id, "fields": patch.fields, "expectedVersion": version });
    let idempotency_key = audit.get("approvalId").and_then(Value::as_str).map(str::to_owned);
    Ok(Some(SaveRequest { graph_id: id.clone(), idempotency_key, body: body.to_string() }))
}

/// The audit fields a delta save carries: who, when, why, from where (the
/// provenance, per node too), and the decisions (the server computes the
/// changes themselves).
const SENT_AUDIT_FIELDS: [&str; 18] = [
    "approvalId",
    "user",
    "at",
    "source",
    "model",
    "modelVersion",
    "confidence",
    "ruleId",
    "reason",
    "runId",
    "proposalId",
    "accepted",
    "rejected",
    "patchProvenance",
    "decisionMode",
    "decisions",
    "edgeProvenance",
    "proposedAt",
];

/// A save, ready to send.
#[derive(Clone, Debug, PartialEq)]
pub struct SaveRequest {
    pub graph_id: String,
    /// The approval id: a retried save is recognised and not stored twice.
    pub idempotency_key: Option<String>,
    pub body: String,
}

fn invalid(message: String) -> Error {
    Error::new(ErrorCode::InvalidArgument, message)
}

/// What a response means for the client.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// 2xx, with the body parsed (whatever the content type said).
    Success(Value),
    /// 409: someone saved first.
    Conflict { current_version: Option<Value>, message: String },
    /// Worth trying again: 429 and 5xx.
    Retry { status: u16, message: String, retry_after: Option<Duration> },
    /// Any other 4xx: trying again would not help.
    Fail { status: u16, message: String },
    /// A 2xx whose body is not JSON (cut off by a proxy, or an HTML error
    /// page): the request may have worked, but its answer was lost. Worth
    /// trying again, because saves carry an idempotency key.
    Unreadable { status: u16, message: String },
}

/// Classifies a response by status and body text.
pub fn read_reply(status: u16, body: &str, retry_after: Option<&str>) -> Reply {
    let parsed = body.parse::<Value>().ok();
    let message = parsed
        .as_ref()
        .and_then(|v| v.get("error"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| body.chars().take(200).collect());
    match status {
        200..=299 => match parsed {
            Some(value) => Reply::Success(value),
            None => Reply::Unreadable { status, message: format!("the server answered {status} with a body that is not JSON: {message}") },
        },
        409 => Reply::Conflict { current_version: parsed.as_ref().and_then(|v| v.get("currentVersion")).cloned(), message },
        429 | 500..=599 => Reply::Retry { status, message, retry_after: retry_after.and_then(parse_retry_after) },
        _ => Reply::Fail { status, message },
    }
}

/// `Retry-After` in seconds (the HTTP-date form is not used by these servers):
/// whole seconds as RFC 9110 says, a decimal fraction accepted too. Read as
/// digits, not as an `f64`: float parsing costs the .wasm 10 KB of tables,
/// and `Duration::from_secs_f64` panics on a value too large for it.
fn parse_retry_after(value: &str) -> Option<Duration> {
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let (whole, fraction) = value.trim().split_once('.').unwrap_or((value.trim(), ""));
    if whole.is_empty() || !digits(whole) || !digits(fraction) {
        return None;
    }
    let nanos = fraction.bytes().chain(std::iter::repeat(b'0')).take(9).fold(0, |n, b| n * 10 + u32::from(b - b'0'));
    Some(Duration::new(whole.parse().ok()?, nanos))
}

/// How often and how long to retry.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub retries: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// No retry starts after this much time since the first attempt.
    pub max_total: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retries: 4,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            max_total: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `attempt` (0-based): exponential backoff
    /// with full jitter (`random` in [0, 1)) up to `max_delay`, but at least
    /// a server's `Retry-After` (the server knows best when it can take the
    /// request again).
    ///
    /// ```
    /// use kg_approval::history::RetryPolicy;
    /// use std::time::Duration;
    /// let policy = RetryPolicy::default();
    /// assert_eq!(policy.delay(2, 0.5, None), Duration::from_millis(400));
    /// assert_eq!(policy.delay(0, 0.0, Some(Duration::from_secs(1))), Duration::from_secs(1));
    /// assert_eq!(policy.delay(0, 0.0, Some(Duration::from_secs(9))), Duration::from_secs(9));
    /// ```
    pub fn delay(&self, attempt: u32, random: f64, retry_after: Option<Duration>) -> Duration {
        let ceiling = self.base_delay.saturating_mul(1u32 << attempt.min(16)).min(self.max_delay);
        let jittered = ceiling.mul_f64(random.clamp(0.0, 1.0));
        jittered.max(retry_after.unwrap_or_default())
    }

    /// Whether to retry after failed attempt number `attempt` (0-based),
    /// `elapsed` after the first began, and after what wait: `None` once the
    /// retries are used up or the retry would start past `max_total` (a
    /// `Retry-After` of an hour fails now, so the caller can say so, instead
    /// of hanging).
    ///
    /// ```
    /// use kg_approval::history::RetryPolicy;
    /// use std::time::Duration;
    /// let policy = RetryPolicy::default();
    /// assert_eq!(policy.next(0, Duration::ZERO, 0.5, None), Some(Duration::from_millis(100)));
    /// assert_eq!(policy.next(4, Duration::ZERO, 0.5, None), None);
    /// assert_eq!(policy.next(0, Duration::ZERO, 0.5, Some(Duration::from_secs(3600))), None);
    /// ```
    pub fn next(&self, attempt: u32, elapsed: Duration, random: f64, retry_after: Option<Duration>) -> Option<Duration> {
        let wait = self.delay(attempt, random, retry_after);
        (attempt < self.retries && elapsed + wait <= self.max_total).then_some(wait)
    }
}

/// One row of a graph's history.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HistoryEntry {
    pub version: i64,
    /// ISO 8601 UTC, whatever format the server sent.
    pub timestamp: String,
    pub user: Option<String>,
    pub reason: Option<String>,
    pub source: Option<String>,
}

/// Reads `GET /getknowgraphhistory`: rows from `history.results` (or a bare
/// `results`, as the real service's own documentation wrongly says), newest first.
pub fn read_history(body: &Value) -> Result<Vec<HistoryEntry>> {
    let rows = body
        .pointer("/history/results")
        .or_else(|| body.get("results"))
        .and_then(Value::as_array)
        .ok_or_else(|| Error::new(ErrorCode::InvalidValue, "history response has no history.results list"))?;
    let text = |row: &Value, key: &str| row.get(key).and_then(Value::as_str).map(str::to_owned);
    let mut entries = rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let version = row
                .get("version")
                .and_then(Value::as_i64)
                .ok_or_else(|| Error::at(ErrorCode::InvalidValue, format!("history.results[{i}].version"), "is not an integer"))?;
            let stamp = text(row, "createdAt").or_else(|| text(row, "timestamp")).or_else(|| text(row, "created_at")).unwrap_or_default();
            let timestamp = iso_timestamp(&stamp)
                .map_err(|e| Error::at(ErrorCode::InvalidValue, format!("history.results[{i}].timestamp"), e.detail()))?;
            Ok(HistoryEntry { version, timestamp, user: text(row, "user"), reason: text(row, "reason"), source: text(row, "source") })
        })
        .collect::<Result<Vec<_>>>()?;
    entries.sort_by_key(|e| std::cmp::Reverse(e.version));
    Ok(entries)
}

/// `2026-02-04 14:30:45` (SQLite, UTC) or any ISO 8601 instant →
/// `2026-02-04T14:30:45.000Z`.
pub fn iso_timestamp(text: &str) -> Result<String> {
    let sqlite = text.len() == 19 && text.as_bytes().get(10) == Some(&b' ');
    let candidate = if sqlite { format!("{}Z", text.replacen(' ', "T", 1)) } else { text.to_owned() };
    Timestamp::parse(&candidate).map(|t| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_read_whatever_the_content_type() {
        assert_eq!(read_reply(200, r#"{"newVersion": 3}"#, None), Reply::Success(json!({"newVersion": 3})));
        assert_eq!(
            read_reply(409, r#"{"error": "Version mismatch.", "currentVersion": 7}"#, None),
            Reply::Conflict { current_version: Some(json!(7)), message: "Version mismatch.".into() }
        );
        assert_eq!(
            read_reply(503, "upstream down", Some("2")),
            Reply::Retry { status: 503, message: "upstream down".into(), retry_after: Some(Duration::from_secs(2)) }
        );
        assert_eq!(read_reply(429, "{}", Some("soon")), Reply::Retry { status: 429, message: "{}".into(), retry_after: None });
        assert_eq!(read_reply(403, r#"{"error": "no scope"}"#, None), Reply::Fail { status: 403, message: "no scope".into() });
        assert!(matches!(read_reply(200, "<html>", None), Reply::Unreadable { status: 200, .. }));
        assert!(matches!(read_reply(200, r#"{"newVersion": 3"#, None), Reply::Unreadable { status: 200, .. }));
    }

    #[test]
    fn retry_after_is_read_as_seconds_without_floats() {
        let read = |v: &str| parse_retry_after(v);
        assert_eq!(read(" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(read("1.5"), Some(Duration::from_millis(1500)));
        assert_eq!(read("0.0000000019"), Some(Duration::from_nanos(1)));
        assert_eq!(read("2."), Some(Duration::from_secs(2)));
        // Not delay-seconds: none of these may wait (or panic, as from_secs_f64 did on the last).
        for bad in ["", ".5", "-1", "1e3", "soon", "1.2.3", "٣", "99999999999999999999999"] {
            assert_eq!(read(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn backoff_grows_is_jittered_and_capped() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay(0, 0.99, None), Duration::from_millis(198));
        assert_eq!(p.delay(3, 1.0, None), Duration::from_millis(1600));
        assert_eq!(p.delay(30, 1.0, None), Duration::from_secs(5));
        assert_eq!(p.delay(1, 0.0, None), Duration::ZERO);
        assert_eq!(p.delay(0, 0.5, Some(Duration::from_secs(60))), Duration::from_secs(60), "Retry-After wins over our own cap");
    }

    #[test]
    fn retries_stop_at_the_count_or_the_total_budget() {
        let p = RetryPolicy::default();
        assert_eq!(p.next(3, Duration::from_secs(1), 1.0, None), Some(Duration::from_millis(1600)));
        assert_eq!(p.next(4, Duration::from_secs(1), 1.0, None), None, "retries used up");
        assert_eq!(p.next(0, Duration::from_secs(29), 1.0, Some(Duration::from_secs(2))), None, "would start past 30 s");
        assert_eq!(p.next(0, Duration::from_secs(20), 0.0, Some(Duration::from_secs(10))), Some(Duration::from_secs(10)));
    }

    #[test]
    fn history_rows_are_normalised_and_sorted() {
        let body = json!({"graphId": "g", "history": {"results": [
            {"version": 1, "timestamp": "2026-02-04 14:30:45"},
            {"version": 3, "timestamp": "2026-02-05 08:00:00", "user": "ann", "reason": "r", "source": "ai"},
            {"version": 2, "createdAt": "2026-02-04T15:00:00.5+01:00"}
        ], "success": true}});
        let rows = read_history(&body).unwrap();
        assert_eq!(
            rows.iter().map(|r| (r.version, r.timestamp.as_str())).collect::<Vec<_>>(),
            [(3, "2026-02-05T08:00:00.000Z"), (2, "2026-02-04T14:00:00.500Z"), (1, "2026-02-04T14:30:45.000Z"),]
        );
        assert_eq!(rows[0].user.as_deref(), Some("ann"));
        assert_eq!(read_history(&json!({"results": [{"version": 1, "created_at": "2026-01-01 00:00:00"}]})).unwrap().len(), 1);
        assert!(read_history(&json!({"history": {}})).is_err());
        assert!(read_history(&json!({"history": {"results": [{"version": 1, "timestamp": "yesterday"}]}})).is_err());
    }

    #[test]
    fn a_delta_save_carries_the_provenance_and_leaves_nulls_out() {
        let approved = json!({
            "delta": {"patchNodes": [{"nodeId": "a", "fields": {"label": "B"}}]},
            "audit": {"graphId": "g", "baseVersion": 3, "approvalId": "a1", "model": "m", "modelVersion": "v2", "confidence": 0.8,
                      "ruleId": null, "patchProvenance": {"a": {"confidence": 0.5, "ruleId": "r7"}}, "changes": {"a": {}}}
        });
        let body: Value = serde_json::from_str(&delta_body(&approved, None).unwrap().unwrap().body).unwrap();
        assert_eq!(
            body["audit"],
            json!({"approvalId": "a1", "model": "m", "modelVersion": "v2", "confidence": 0.8, "patchProvenance": {"a": {"confidence": 0.5, "ruleId": "r7"}}})
        );
    }

    #[test]
    fn the_save_body_carries_the_base_version_and_refuses_without_a_graph_id() {
        let approved =
            json!({"graph": {"metadata": {"version": 99, "title": "T"}, "nodes": []}, "audit": {"graphId": "g", "baseVersion": null}});
        let body: Value = serde_json::from_str(&save_body(&approved).unwrap().body).unwrap();
        assert_eq!(
            serde_json::to_string(&body["graphData"]["metadata"]).unwrap(),
            r#"{"version":0,"title":"T"}"#,
            "no base version is sent as 0 (a legacy graph on the real service), in the field's place"
        );
        let legacy = json!({"graph": {"metadata": {"title": "T"}}, "audit": {"graphId": "g"}});
        let body: Value = serde_json::from_str(&save_body(&legacy).unwrap().body).unwrap();
        assert_eq!(serde_json::to_string(&body["graphData"]["metadata"]).unwrap(), r#"{"title":"T","version":0}"#);
        assert_eq!(save_body(&json!({"graph": {}, "audit": {}})).unwrap_err().code(), ErrorCode::InvalidArgument);
        assert_eq!(save_body(&json!({"audit": {"graphId": "g"}})).unwrap_err().code(), ErrorCode::InvalidArgument);
    }
}
