//! Exports of the audit trail for people who work in spreadsheets and `jq`:
//! one row (CSV) or line (JSONL) per changed field, read page by page so an
//! export of any size runs in constant memory.
//!
//! Columns, in order: `graphId, version, time, user, source, model, runId,
//! reason, target, id, field, old, new, accepted, decision, decidedBy,
//! proposed, comment, rationale`. An added or removed node or edge gives a row per
//! field; a change the reviewer rejected gives a row with `accepted` false
//! and no values (only accepted changes are stored). `decision` is
//! `accepted`, `rejected` or `corrected` (the reviewer's value is `new`, the
//! AI's `proposed`), `decidedBy` how (`change`, `node`, `bulk`, `dependency`,
//! `default`), `comment` the reviewer's on that change — all empty for
//! versions whose client told no decisions. `rationale` is why the AI
//! suggested the change: its node's or edge's, as the proposal gave it. In JSONL `old`, `new` and
//! `proposed` are JSON values (absent: omitted); in CSV a string is its
//! text, any other value its JSON, an absent one empty.
//!
//! CSV follows RFC 4180, with a `,` or `;` delimiter and an optional
//! byte-order mark, and is safe to open in a spreadsheet: no cell is ever
//! evaluated (see [`crate::csv`] for the rule).

use std::io::{self, Write};

use kg_approval::change::{Change, ChangeKind, Target};
use kg_approval::decision::{DecisionRecord, Decisions};
use kg_approval::error::ErrorCode;
use serde_json::{Value, json};

use crate::csv::CsvOptions;
use crate::error::HistoryError;
use crate::read::version_changes;
use crate::store::{ExportFilter, GraphVersion, Store};

/// The output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Jsonl,
}

impl Format {
    /// The `format` query parameter, named as the command line names it.
    pub fn parse(text: &str) -> Result<Format, HistoryError> {
        text.parse().map_err(HistoryError::BadRequest)
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Jsonl => "application/x-ndjson",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;

    /// `csv` or `jsonl`.
    fn from_str(text: &str) -> Result<Format, String> {
        match text {
            "csv" => Ok(Format::Csv),
            "jsonl" => Ok(Format::Jsonl),
            other => Err(format!("format must be csv or jsonl, got '{other}'.")),
        }
    }
}

pub const COLUMNS: [&str; 19] = [
    "graphId",
    "version",
    "time",
    "user",
    "source",
    "model",
    "runId",
    "reason",
    "target",
    "id",
    "field",
    "old",
    "new",
    "accepted",
    "decision",
    "decidedBy",
    "proposed",
    "comment",
    "rationale",
];

/// Versions read per page (each page is one read transaction).
const PAGE: i64 = 200;

/// One exported row.
#[derive(Clone, Debug, PartialEq)]
pub struct Row<'a> {
    pub version: &'a GraphVersion,
    pub model: Option<String>,
    pub target: &'static str,
    pub id: Option<String>,
    pub field: Option<String>,
    pub old: Option<Value>,
    pub new: Option<Value>,
    pub accepted: bool,
    /// The reviewer's decision on the change the row is of, if told
    /// (`proposed`: this field's AI value, for a correction).
    pub decision: Option<DecisionRecord>,
    /// Why the AI suggested the change (its node's or edge's rationale).
    pub rationale: Option<String>,
}

/// A time filter as stored (RFC 3339, UTC, milliseconds); a bare date
/// `YYYY-MM-DD` is its midnight UTC.
pub fn parse_time(name: &str, text: &str) -> Result<String, HistoryError> {
    let full = if text.len() == 10 { format!("{text}T00:00:00Z") } else { text.to_owned() };
    kg_approval::Timestamp::parse(&full)
        .map(|t| t.to_string())
        .map_err(|_| HistoryError::BadRequest(format!("{name} must be an RFC 3339 time or a date (YYYY-MM-DD), got '{text}'.")))
}

/// Writes the export of everything `filter` matches to `out`; returns the
/// number of rows. `out` sees the header first, then rows as they are read.
pub fn export(store: &Store, filter: &ExportFilter, format: Format, out: &mut dyn Write) -> Result<u64, HistoryError> {
    export_with(store, filter, format, CsvOptions::default(), out)
}

/// [`export`] with CSV written as `csv` says (delimiter, byte-order mark).
pub fn export_with(
    store: &Store,
    filter: &ExportFilter,
    format: Format,
    csv: CsvOptions,
    out: &mut dyn Write,
) -> Result<u64, HistoryError> {
    if format == Format::Csv {
        csv.start(out, &COLUMNS).map_err(io_error)?;
    }
    let mut after: (String, i64) = (String::new(), 0);
    let mut count = 0;
    loop {
        // A page of versions (their rows only), then each version's changes,
        // read and written one version at a time: memory holds one version's
        // changes, whatever the export's size.
        let page = store.read(|db| db.export_page(filter, (&after.0, after.1), PAGE))?;
        let Some(last) = page.last() else { break };
        after = (last.row.graph_id.clone(), last.row.version);
        for version in &page {
            let changes = store.read(|db| version_changes(db, version.gid, &version.row))?;
            for row in rows_of(version, &changes, filter.node_id.as_deref()) {
                match format {
                    Format::Csv => write_csv(out, &csv, &row),
                    Format::Jsonl => write_jsonl(out, &row),
                }
                .map_err(io_error)?;
                count += 1;
            }
        }
        if (page.len() as i64) < PAGE {
            break;
        }
    }
    out.flush().map_err(io_error)?;
    Ok(count)
}

fn io_error(e: io::Error) -> HistoryError {
    HistoryError::Internal(format!("writing the export: {e}"))
}

/// The rows of one version: a row per changed field, then one per rejected change.
pub fn rows_of<'a>(version: &'a GraphVersion, changes: &[Change], node: Option<&str>) -> Vec<Row<'a>> {
    let record = version.row.record().unwrap_or(Value::Null);
    let model = record.get("model").and_then(Value::as_str).map(str::to_owned);
    let decisions =
        record.get("decisions").and_then(|d| Decisions::read(d, "decisions", ErrorCode::InvalidArgument).ok()).unwrap_or_default();
    let mut rows = Vec::new();
    let row = |target,
               id: Option<&str>,
               field: Option<&str>,
               old: Option<Value>,
               new: Option<Value>,
               decision: (bool, Option<DecisionRecord>)| Row {
        version,
        model: model.clone(),
        target,
        id: id.map(str::to_owned),
        field: field.map(str::to_owned),
        old,
        new,
        accepted: decision.0,
        decision: decision.1,
        rationale: id.and_then(|id| provenance_of(&record, target, id, "rationale")),
    };
    for change in changes {
        let id = change.node_id.as_deref().or(change.edge_id.as_deref());
        if node.is_some() && (change.target != Target::Node || id != node) {
            continue;
        }
        let target = target_name(change.target);
        let decided = decisions.get(&change.id);
        // A whole part's correction keeps the AI's whole part: each row its field of it.
        let of_field = |field: &str| {
            (
                true,
                decided.cloned().map(|mut d| {
                    d.proposed = d.proposed.as_ref().and_then(|p| p.get(field)).cloned();
                    d
                }),
            )
        };
        match (change.kind, &change.field) {
            (ChangeKind::Changed, field) => {
                rows.push(row(target, id, field.as_deref(), change.old.clone(), change.new.clone(), (true, decided.cloned())))
            }
            (ChangeKind::Added, _) => {
                for (field, value) in change.new.as_ref().and_then(Value::as_object).into_iter().flatten() {
                    rows.push(row(target, id, Some(field), None, Some(value.clone()), of_field(field)));
                }
            }
            (ChangeKind::Removed, _) => {
                for (field, value) in change.old.as_ref().and_then(Value::as_object).into_iter().flatten() {
                    rows.push(row(target, id, Some(field), Some(value.clone()), None, of_field(field)));
                }
            }
        }
    }
    for rejected in record.get("rejected").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
        let (target, id, field) = parse_change_id(rejected);
        if node.is_some() && (target != "node" || id.as_deref() != node) {
            continue;
        }
        rows.push(row(target, id.as_deref(), field.as_deref(), None, None, (false, decisions.get(rejected).cloned())));
    }
    rows
}

fn target_name(target: Target) -> &'static str {
    match target {
        Target::Node => "node",
        Target::Edge => "edge",
        Target::Metadata => "metadata",
        Target::Graph => "graph",
    }
}

/// What the proposal told of the node or edge `id` (`target`: `node` or
/// `edge`): its `key` (`ruleId`, `rationale`, `confidence`) in the record's
/// `patchProvenance` or `edgeProvenance`, if a string.
pub fn provenance_of(record: &Value, target: &str, id: &str, key: &str) -> Option<String> {
    let map = match target {
        "node" => "patchProvenance",
        "edge" => "edgeProvenance",
        _ => return None,
    };
    record.get(map)?.get(id)?.get(key)?.as_str().map(str::to_owned)
}

/// `(target, id, field)` of a change id (see `kg_approval::change::change_id`).
pub fn parse_change_id(id: &str) -> (&'static str, Option<String>, Option<String>) {
    let unescape = |part: &str| percent_encoding::percent_decode_str(part).decode_utf8_lossy().into_owned();
    let mut parts = id.split('/');
    match parts.next() {
        Some("node") => ("node", parts.next().map(unescape), parts.next().map(unescape)),
        Some("edge") => ("edge", parts.next().map(unescape), parts.next().map(unescape)),
        Some("metadata") => ("metadata", None, parts.next().map(unescape)),
        Some("graph") => ("graph", None, parts.next().map(unescape)),
        _ => ("unknown", Some(id.to_owned()), None),
    }
}

fn value_cell(value: Option<&Value>) -> String {
    match value {
        None => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// An enum's name as it is serialized (`corrected`, `bulk`).
fn name(value: &impl serde::Serialize) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn write_csv(out: &mut dyn Write, csv: &CsvOptions, row: &Row<'_>) -> io::Result<()> {
    let v = &row.version.row;
    let who = |s: &str| if v.audit_expired { String::new() } else { s.to_owned() };
    let cells = [
        v.graph_id.clone(),
        v.version.to_string(),
        v.saved_at.clone(),
        who(&v.user),
        who(&v.source),
        row.model.clone().unwrap_or_default(),
        v.run_id.clone().unwrap_or_default(),
        v.reason.clone().unwrap_or_default(),
        row.target.to_owned(),
        row.id.clone().unwrap_or_default(),
        row.field.clone().unwrap_or_default(),
        value_cell(row.old.as_ref()),
        value_cell(row.new.as_ref()),
        row.accepted.to_string(),
        row.decision.as_ref().map(|d| name(&d.decision)).unwrap_or_default(),
        row.decision.as_ref().map(|d| name(&d.decided_by)).unwrap_or_default(),
        value_cell(row.decision.as_ref().and_then(|d| d.proposed.as_ref())),
        row.decision.as_ref().and_then(|d| d.comment.clone()).unwrap_or_default(),
        row.rationale.clone().unwrap_or_default(),
    ];
    csv.line(out, &cells)
}

fn write_jsonl(out: &mut dyn Write, row: &Row<'_>) -> io::Result<()> {
    let v = &row.version.row;
    let who = |s: &str| if v.audit_expired { Value::Null } else { json!(s) };
    let mut line = json!({
        "graphId": v.graph_id,
        "version": v.version,
        "time": v.saved_at,
        "user": who(&v.user),
        "source": who(&v.source),
        "model": row.model,
        "runId": v.run_id,
        "reason": v.reason,
        "target": row.target,
        "id": row.id,
        "field": row.field,
    });
    if let Value::Object(fields) = &mut line {
        if let Some(old) = &row.old {
            fields.insert("old".to_owned(), old.clone());
        }
        if let Some(new) = &row.new {
            fields.insert("new".to_owned(), new.clone());
        }
        fields.insert("accepted".to_owned(), json!(row.accepted));
        if let Some(decision) = &row.decision {
            fields.insert("decision".to_owned(), json!(decision.decision));
            fields.insert("decidedBy".to_owned(), json!(decision.decided_by));
            if let Some(proposed) = &decision.proposed {
                fields.insert("proposed".to_owned(), proposed.clone());
            }
            if let Some(comment) = &decision.comment {
                fields.insert("comment".to_owned(), json!(comment));
            }
        }
        if let Some(rationale) = &row.rationale {
            fields.insert("rationale".to_owned(), json!(rationale));
        }
    }
    serde_json::to_writer(&mut *out, &line)?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_ids_split_back_into_their_parts() {
        assert_eq!(parse_change_id("node/a%2Fb/info"), ("node", Some("a/b".to_owned()), Some("info".to_owned())));
        assert_eq!(parse_change_id("edge/x_y"), ("edge", Some("x_y".to_owned()), None));
        assert_eq!(parse_change_id("metadata/title"), ("metadata", None, Some("title".to_owned())));
    }
}
