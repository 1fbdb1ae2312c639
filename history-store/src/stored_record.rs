//! A version's audit record as stored in `audit_json`, and back.
//!
//! The chain hashes the whole record (see `kg_history::chain`), but a row
//! need not store what it can give back exactly: every byte is paid once per
//! version. So the stored text leaves out
//!
//! - the fields the row keeps in columns (scheme 2 on: who, when, why, …);
//! - a field that repeats another's text, and a list of changes that
//!   `decisions` implies, stored as `true` (scheme 3 on);
//! - approval and proposal times as milliseconds from `savedAt`; a decision
//!   that carries nothing but its outcome and how it was reached as the text
//!   `"accepted/default"`; `via`, `accepted` and `rejected` when they are
//!   `"delta"`, what `decisions` implies and `[]` (since issue 28's third
//!   target: a one-label record went from 311 to 163 bytes).
//!
//! Every stand-in is a value no client can send in its place (a client's
//! times and ids are strings, its decisions objects), or the absence of a
//! field every record of scheme 3 has, so a record stored before a rule
//! existed reads back as it was stored; and a value goes short only when it
//! comes back as the same text, or it is stored as sent.
//!
//! ```
//! # use kg_history_store::stored_record::{stored, whole};
//! use serde_json::json;
//! let columns = json!({"version": 2, "savedAt": "2026-12-07T06:00:01.000Z", "user": "ann@example.com",
//!                      "source": "ai", "reason": null, "runId": null, "idempotencyKey": null});
//! let mut record = columns.clone();
//! record["via"] = json!("delta");
//! record["accepted"] = json!(["node/a/label"]);
//! record["rejected"] = json!([]);
//! record["approvedAt"] = json!("2026-12-07T06:00:00.750Z");
//! record["decisions"] = json!({"node/a/label": {"decision": "accepted", "decidedBy": "default"}});
//! let text = stored(&record);
//! assert_eq!(text, r#"{"approvedAt":-250,"decisions":{"node/a/label":"accepted/default"}}"#);
//! assert_eq!(whole(&text, 3, &columns).unwrap(), record);
//! ```

use kg_approval::Timestamp;
use serde_json::{Map, Value};

/// The record fields a version row keeps in columns (for listing and
/// filtering); scheme 2 stores them there only, not again in `audit_json`.
pub const RECORD_COLUMNS: [&str; 7] = ["version", "savedAt", "user", "source", "reason", "runId", "idempotencyKey"];

/// Record fields that usually repeat another field's text (the approval id
/// is the idempotency key kg-approval sends; a proposal approved as it came
/// has one time for both), as (field, the field it repeats). Since scheme 3
/// such a field is stored as `true`, which no client can send for either
/// (both are strings), and read back as the text it repeats.
const REPEATS: [(&str, &str); 2] = [("approvalId", "idempotencyKey"), ("proposedAt", "approvedAt")];

/// The record's lists of decided changes: `accepted` names the changes
/// accepted or corrected, `rejected` those rejected. When one names exactly
/// the changes `decisions` gives that decision, in its order (as every
/// review in kg-approval's modal does), it is stored as `true` since
/// scheme 3: the change ids were stored twice.
const DECIDED: [(&str, &[&str]); 2] = [("accepted", &["accepted", "corrected"]), ("rejected", &["rejected"])];

/// Times a client sends, stored as a whole number of milliseconds from
/// `savedAt` (a number: clients send them as text) when that gives the same
/// text back, which it does for every time kg-approval sends.
const TIMES: [&str; 2] = ["approvedAt", "proposedAt"];

/// Fields every record of scheme 3 has (`write_version` always writes
/// them), left out when they hold their usual value and given back with it:
/// a save sent as a delta, the accepted changes those `decisions` gives
/// (`true`, see `DECIDED`), nothing rejected.
const USUAL: [(&str, &str); 3] = [("via", r#""delta""#), ("accepted", "true"), ("rejected", "[]")];

/// A usual value, from its JSON text above.
fn usual(json: &str) -> Value {
    serde_json::from_str(json).expect("the usual values are JSON")
}

/// The two fields every decision has; one with nothing else is stored as
/// the text `"<decision>/<decidedBy>"` (a client's decisions are objects).
const DECISION_FIELDS: [&str; 2] = ["decision", "decidedBy"];

/// `audit_json` for a record of scheme 3: the record without what the row
/// gives back (see the module's documentation).
pub fn stored(record: &Value) -> String {
    let Some(whole) = record.as_object() else { return record.to_string() };
    let mut rest = whole.clone();
    for (field, decisions) in DECIDED {
        let listed = whole.get(field).and_then(Value::as_array).filter(|ids| !ids.is_empty());
        if listed.is_some_and(|ids| decided(whole, decisions).as_ref() == Some(ids)) {
            rest[field] = Value::Bool(true);
        }
    }
    for (field, repeated) in REPEATS {
        if rest.get(field).is_some_and(|v| v.is_string() && Some(v) == whole.get(repeated)) {
            rest[field] = Value::Bool(true);
        }
    }
    let saved_at = whole.get("savedAt").and_then(Value::as_str);
    for field in TIMES {
        if let Some(offset) = rest.get(field).and_then(Value::as_str).zip(saved_at).and_then(|(at, saved)| offset_of(at, saved)) {
            rest[field] = Value::from(offset);
        }
    }
    if let Some(Value::Object(decisions)) = rest.get_mut("decisions") {
        for decision in decisions.values_mut() {
            if let Some(short) = short_decision(decision) {
                *decision = Value::String(short);
            }
        }
    }
    for (field, value) in USUAL {
        if rest.get(field) == Some(&usual(value)) {
            rest.shift_remove(field);
        }
    }
    for key in RECORD_COLUMNS {
        rest.shift_remove(key);
    }
    Value::Object(rest).to_string()
}

/// The whole record from `audit_json` as stored by a version of `scheme`,
/// given the fields the row keeps in columns (`columns`, in the record's
/// order: see `VersionRow::record`).
pub fn whole(audit_json: &str, scheme: i64, columns: &Value) -> Result<Value, String> {
    let mut record: Value = serde_json::from_str(audit_json).map_err(|e| format!("audit record: {e}"))?;
    if scheme < 2 {
        return Ok(record);
    }
    let Value::Object(fields) = &mut record else { return Err("audit record is not an object".to_owned()) };
    for (key, value) in columns.as_object().into_iter().flatten() {
        if fields.contains_key(key) {
            return Err(format!("audit record repeats the column {key}"));
        }
        fields.insert(key.clone(), value.clone());
    }
    if scheme < 3 {
        return Ok(record);
    }
    // Undone in the reverse order of `stored`: the usual values, decisions
    // and times first, which the lists and the repeats are read from.
    for (field, value) in USUAL {
        if !fields.contains_key(field) {
            fields.insert(field.to_owned(), usual(value));
        }
    }
    if let Some(Value::Object(decisions)) = fields.get_mut("decisions") {
        for (id, decision) in decisions.iter_mut() {
            if let Value::String(short) = decision {
                *decision = long_decision(short).ok_or_else(|| format!("audit record: the decision on {id} reads '{short}'"))?;
            }
        }
    }
    for field in TIMES {
        if let Some(offset) = fields.get(field).filter(|v| v.is_number()) {
            let text = offset.as_i64().zip(fields.get("savedAt").and_then(Value::as_str)).and_then(|(ms, saved)| time_at(saved, ms));
            fields[field] = Value::String(text.ok_or_else(|| format!("audit record: {field} is {offset} ms from an unreadable savedAt"))?);
        }
    }
    for (field, decisions) in DECIDED {
        if fields.get(field) == Some(&Value::Bool(true)) {
            let ids = decided(fields, decisions).ok_or_else(|| format!("audit record: {field} is implied by decisions, which it lacks"))?;
            fields[field] = Value::Array(ids);
        }
    }
    for (field, repeated) in REPEATS {
        if fields.get(field) == Some(&Value::Bool(true)) {
            let text = fields.get(repeated).filter(|v| v.is_string()).cloned();
            fields[field] = text.ok_or_else(|| format!("audit record: {field} repeats {repeated}, which it lacks"))?;
        }
    }
    Ok(record)
}

/// The ids `record.decisions` gives one of `decisions`, in its order.
fn decided(record: &Map<String, Value>, decisions: &[&str]) -> Option<Vec<Value>> {
    let map = record.get("decisions")?.as_object()?;
    let given = |d: &Value| d.get("decision").and_then(Value::as_str).is_some_and(|name| decisions.contains(&name));
    Some(map.iter().filter(|(_, d)| given(d)).map(|(id, _)| Value::String(id.clone())).collect())
}

/// `at` as milliseconds from `saved`, if both are times printed the way
/// they are read back (ISO 8601 UTC with milliseconds).
fn offset_of(at: &str, saved: &str) -> Option<i64> {
    let canonical = |text: &str| Timestamp::parse(text).ok().filter(|t| t.to_string() == text);
    Some(canonical(at)?.unix_millis() - canonical(saved)?.unix_millis())
}

/// The time `ms` milliseconds from `saved`.
fn time_at(saved: &str, ms: i64) -> Option<String> {
    let saved = Timestamp::parse(saved).ok()?.unix_millis();
    Timestamp::from_unix_millis(saved.checked_add(ms)?).ok().map(|t| t.to_string())
}

/// `"accepted/default"` for `{"decision": "accepted", "decidedBy": "default"}`
/// (those two fields, in that order, without a `/` in them), else `None`.
fn short_decision(decision: &Value) -> Option<String> {
    let fields = decision.as_object()?;
    let keys: Vec<&str> = fields.keys().map(String::as_str).collect();
    let [decision, by] = [fields.get("decision")?.as_str()?, fields.get("decidedBy")?.as_str()?];
    (keys == DECISION_FIELDS && !decision.contains('/')).then(|| format!("{decision}/{by}"))
}

fn long_decision(short: &str) -> Option<Value> {
    let (decision, by) = short.split_once('/')?;
    let mut fields = Map::new();
    fields.insert(DECISION_FIELDS[0].to_owned(), Value::String(decision.to_owned()));
    fields.insert(DECISION_FIELDS[1].to_owned(), Value::String(by.to_owned()));
    Some(Value::Object(fields))
}

#[cfg(test)]
mod tests {
    use super::{stored, whole};
    use serde_json::{Value, json};

    const SAVED_AT: &str = "2026-12-07T06:00:01.000Z";

    /// The row's columns as `VersionRow::record` gives them.
    fn columns(key: Option<&str>) -> Value {
        json!({"version": 2, "savedAt": SAVED_AT, "user": "ann@example.com", "source": "ai",
               "reason": null, "runId": null, "idempotencyKey": key})
    }

    /// The record as `write_version` makes it: the columns' fields first.
    fn record(key: Option<&str>, approval: &str, approved: &str, proposed: &str) -> Value {
        let mut record = columns(key);
        for (field, value) in
            [("via", json!("delta")), ("accepted", json!(["node/a/label"])), ("rejected", json!([])), ("approvalId", json!(approval))]
        {
            record[field] = value;
        }
        record["approvedAt"] = json!(approved);
        record["proposedAt"] = json!(proposed);
        record
    }

    fn back(text: &str, key: Option<&str>) -> Value {
        whole(text, 3, &columns(key)).unwrap()
    }

    #[test]
    fn repeated_fields_are_stored_once_and_read_back_whole() {
        let at = "2026-12-07T06:00:00.000Z";
        let cases = [
            (record(Some("k1"), "k1", at, at), 2),
            (record(Some("k1"), "other", at, at), 1),
            (record(Some("k1"), "k1", at, "2026-12-07T05:59:00.000Z"), 1),
            (record(None, "k1", at, "2026-12-07T05:59:00.000Z"), 0),
        ];
        for (record, repeats) in cases {
            let text = stored(&record);
            assert_eq!(text.matches(":true").count(), repeats, "{text}");
            assert_eq!(back(&text, record["idempotencyKey"].as_str()), record, "{text}");
            assert!(text.len() < record.to_string().len());
        }
    }

    #[test]
    fn lists_that_decisions_imply_are_stored_once_and_read_back_whole() {
        let decided = |decision: &str| json!({"decision": decision, "decidedBy": "change"});
        let mut with = record(Some("k1"), "k1", "2026-12-07T06:00:00.000Z", "2026-12-07T06:00:00.000Z");
        with["decisions"] =
            json!({"node/a/label": decided("corrected"), "node/b/info": decided("rejected"), "node/c/x": decided("accepted")});
        let cases = [
            // As the modal records a review: both lists implied.
            (json!(["node/a/label", "node/c/x"]), json!(["node/b/info"]), 2),
            // Another order, or a change without a decision: stored as sent.
            (json!(["node/c/x", "node/a/label"]), json!(["node/b/info"]), 1),
            (json!(["node/a/label", "node/c/x", "node/d/y"]), json!([]), 0),
        ];
        for (accepted, rejected, implied) in cases {
            let mut record = with.clone();
            record["accepted"] = accepted;
            record["rejected"] = rejected;
            let text = stored(&record);
            let implied_accepted = !text.contains("\"accepted\":");
            let lists = usize::from(implied_accepted) + usize::from(text.contains("\"rejected\":true"));
            assert_eq!(lists, implied, "{text}");
            assert_eq!(back(&text, Some("k1")), record, "{text}");
        }
        for broken in [r#"{"accepted":true}"#, "{}"] {
            let broken = whole(broken, 3, &columns(None));
            assert!(broken.unwrap_err().contains("accepted is implied by decisions"));
        }
    }

    #[test]
    fn times_go_short_only_when_they_come_back_as_the_same_text() {
        let cases = [
            // (sent, stored as)
            ("2026-12-07T06:00:00.750Z", json!(-250)),
            ("2026-12-07T06:00:01.000Z", json!(0)),
            ("2026-12-08T06:00:01.001Z", json!(86_400_001)),
            // Not as kg-approval prints times: kept as sent.
            ("2026-12-07T07:00:00.750+01:00", json!("2026-12-07T07:00:00.750+01:00")),
            ("2026-12-07T06:00:00.75Z", json!("2026-12-07T06:00:00.75Z")),
            ("2026-12-07T06:00:00.750123Z", json!("2026-12-07T06:00:00.750123Z")),
            ("not a time", json!("not a time")),
        ];
        for (sent, as_stored) in cases {
            let record = record(None, "a1", sent, "2026-12-07T05:00:00.000Z");
            let text = stored(&record);
            let kept: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(kept["approvedAt"], as_stored, "{sent}");
            assert_eq!(kept["proposedAt"], json!(-3_601_000));
            assert_eq!(back(&text, None), record, "{text}");
        }
        let unreadable = whole(r#"{"approvedAt":5}"#, 3, &json!({"savedAt": "yesterday"}));
        assert!(unreadable.unwrap_err().contains("approvedAt is 5 ms from an unreadable savedAt"));
    }

    #[test]
    fn decisions_with_nothing_but_an_outcome_go_short() {
        let mut record = record(None, "a1", SAVED_AT, SAVED_AT);
        record["decisions"] = json!({
            "node/a/label": {"decision": "accepted", "decidedBy": "default"},
            "node/b/label": {"decision": "rejected", "decidedBy": "bulk", "filter": "all"},
            "node/c/label": {"decision": "corrected", "decidedBy": "change", "comment": "typo", "proposed": "Teh"},
            "node/d/label": {"decidedBy": "change", "decision": "accepted"},
            "node/e/label": {"decision": "a/b", "decidedBy": "change"},
        });
        let text = stored(&record);
        let kept: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(kept["decisions"]["node/a/label"], json!("accepted/default"));
        for id in ["node/b/label", "node/c/label", "node/d/label", "node/e/label"] {
            assert_eq!(kept["decisions"][id], record["decisions"][id], "{id} is stored as sent");
        }
        assert_eq!(back(&text, None), record, "{text}");
        let broken = whole(r#"{"decisions":{"node/a/label":"accepted"}}"#, 3, &columns(None));
        assert!(broken.unwrap_err().contains("the decision on node/a/label reads 'accepted'"));
    }

    #[test]
    fn usual_values_are_left_out_and_given_back() {
        let mut record = record(None, "a1", SAVED_AT, SAVED_AT);
        let text = stored(&record);
        assert!(!text.contains("via") && !text.contains("rejected"), "{text}");
        assert!(text.contains(r#""accepted":["node/a/label"]"#), "not implied: no decisions");
        assert_eq!(back(&text, None), record);
        record["via"] = json!("full");
        record["rejected"] = json!(["node/b/label"]);
        let text = stored(&record);
        assert!(text.contains(r#""via":"full""#) && text.contains(r#""rejected":["node/b/label"]"#), "{text}");
        assert_eq!(back(&text, None), record);
    }

    #[test]
    fn only_scheme_3_reads_stand_ins() {
        let text = r#"{"approvalId":true,"approvedAt":5,"decisions":{"x":"accepted/default"}}"#;
        let older = whole(text, 2, &columns(Some("k1"))).unwrap();
        assert_eq!(older["approvalId"], json!(true), "older schemes stored what the client sent");
        assert_eq!(older["approvedAt"], json!(5));
        assert_eq!(older["decisions"]["x"], json!("accepted/default"));
        let broken = whole(r#"{"accepted":[],"approvalId":true}"#, 3, &columns(None));
        assert!(broken.unwrap_err().contains("approvalId repeats idempotencyKey"));
    }
}
