//! Reading stored versions back: a graph's text and hash, a version's audit
//! entry with the changes it made (computed from the rows, see
//! [`crate::assemble`]), and the verification of a graph's chain.

use std::borrow::Cow;
use std::collections::HashMap;

use kg_approval::change::Change;
use kg_approval::decision::{Decision, Decisions};
use kg_approval::error::ErrorCode;
use serde_json::{Value, json};

use crate::assemble::{assemble_graph, changes_of};
use crate::chain;
use crate::error::HistoryError;
use crate::store::{AuditFilter, Reader, VersionRow};

/// The whole text of a graph's version (`None`: the newest), with its hash.
pub fn graph_text(db: &mut dyn Reader, id: &str, version: Option<i64>) -> Result<(String, String), HistoryError> {
    let not_found = || match version {
        None => HistoryError::NotFound("Graph not found.".into()),
        Some(v) => HistoryError::NotFound(format!("No data found for graph ID: {id} and version: {v}.")),
    };
    // The newest version (the read every client makes) comes in one call,
    // its rows through the index of current rows, with the blobs the
    // backend fetches together with them (see `Reader::newest`).
    let (gid, row, rows, fetched) = match version {
        None => {
            let newest = db.newest(id)?.ok_or_else(not_found)?;
            (newest.head.gid, newest.version, newest.rows, newest.blobs)
        }
        Some(v) => {
            let head = db.head(id)?.ok_or_else(not_found)?;
            let row = db.version(id, v)?.ok_or_else(not_found)?;
            let whole = row.graph_json.is_none() && !row.pruned;
            let rows = if whole { db.rows_at(head.gid, Some(v).filter(|v| *v != head.version))? } else { Vec::new() };
            (head.gid, row, rows, HashMap::new())
        }
    };
    if let Some(text) = row.graph_json {
        return Ok((text, row.hash));
    }
    if row.pruned {
        return Err(HistoryError::Gone(format!("Version {} of {id} was pruned by the retention setting.", row.version)));
    }
    // The fetched texts are lent, not copied (a 1,000-node graph's are 3 MB).
    let blob = |hash: &str| match fetched.get(hash) {
        Some(text) => Some(Cow::Borrowed(text.as_str())),
        None => db.blob(gid, hash).ok().flatten().map(Cow::Owned),
    };
    let text = assemble_graph(&rows, blob).map_err(HistoryError::Internal)?;
    Ok((text, row.hash))
}

/// Audit entries: the stored record, with the changes the version made
/// (stored in the record by the first schema; computed from its rows since).
pub fn audit_entries(db: &mut dyn Reader, id: &str, filter: &AuditFilter) -> Result<(i64, Vec<Value>), HistoryError> {
    let gid = db.head(id)?.map(|h| h.gid);
    let (total, rows) = db.audit(id, gid, filter)?;
    let mut entries = Vec::with_capacity(rows.len());
    for row in rows {
        entries.push(audit_entry(db, gid, &row)?);
    }
    Ok((total, entries))
}

/// One version's audit entry (see [`audit_entries`]); `gid` is its graph's.
pub fn audit_entry(db: &mut dyn Reader, gid: Option<i64>, row: &VersionRow) -> Result<Value, HistoryError> {
    let mut record = row.record().map_err(HistoryError::Internal)?;
    if let (2.., Some(gid), Value::Object(fields)) = (row.scheme, gid, &mut record) {
        // Fields a version does not store because they are implied.
        fields.insert("baseVersion".to_owned(), json!(row.version - 1));
        if !row.audit_expired {
            for (key, implied) in [
                ("override", json!(false)),
                ("model", Value::Null),
                ("modelVersion", Value::Null),
                ("confidence", Value::Null),
                ("ruleId", Value::Null),
                ("approvalId", Value::Null),
                ("proposalId", Value::Null),
                ("approvedAt", Value::Null),
            ] {
                fields.entry(key).or_insert(implied);
            }
        }
        let mut changes = version_changes(db, gid, row)?;
        annotate(&mut changes, fields.get("decisions"));
        fields.insert("summary".to_owned(), json!(kg_approval::Summary::of(&changes)));
        fields.insert("changes".to_owned(), json!(changes));
    }
    Ok(record)
}

/// The server computes a version's changes from the rows it wrote; the
/// reviewer's decisions on them (how each was decided, a correction's AI
/// value, a comment) come from the version's record, so an audit entry's
/// changes read as the reviewer's review did.
pub fn annotate(changes: &mut [Change], decisions: Option<&Value>) {
    let Some(decisions) = decisions.and_then(|d| Decisions::read(d, "decisions", ErrorCode::InvalidArgument).ok()) else { return };
    for change in changes {
        if let Some(record) = decisions.get(&change.id) {
            change.decided_by = Some(record.decided_by);
            change.bulk_filter = record.filter.clone();
            change.comment = record.comment.clone();
            change.corrected = record.decision == Decision::Corrected;
            change.proposed = record.proposed.clone().filter(|_| change.corrected);
        }
    }
}

/// The changes a version made: computed from the rows it wrote and ended
/// (schemes 2 and 3), or as the first schema recorded them.
pub fn version_changes(db: &mut dyn Reader, gid: i64, row: &VersionRow) -> Result<Vec<Change>, HistoryError> {
    if row.scheme == 1 {
        let record = row.record().map_err(HistoryError::Internal)?;
        let changes = record
            .get("changes")
            .and_then(Value::as_array)
            .map(|items| items.iter().enumerate().map(|(i, c)| Change::read(c, &format!("changes[{i}]"))).collect::<Result<Vec<_>, _>>());
        return Ok(changes.and_then(Result::ok).unwrap_or_default());
    }
    let (opened, closed) = db.rows_changed_by(gid, row.version)?;
    changes_of(&opened, &closed, |hash| db.blob(gid, hash).ok().flatten()).map_err(HistoryError::Internal)
}

/// Recomputes a graph's hash chain from everything stored about it.
pub fn verify(db: &mut dyn Reader, id: &str) -> Result<chain::Verification, HistoryError> {
    let versions = db.all_versions(id)?;
    if versions.is_empty() {
        return Err(HistoryError::NotFound("Graph not found.".into()));
    }
    let head = db.head(id)?;
    let gid = head.as_ref().map(|h| h.gid);
    let (rows, ends) = match gid {
        Some(gid) => (db.all_rows(gid)?, db.stored_ends(gid)?),
        None => (Vec::new(), Default::default()),
    };
    let pruned_leaves = db.pruned_leaves(id)?;
    let names = crate::people::Pseudonyms::from(db.pseudonyms()?);
    let stored = chain::Stored {
        names: &names,
        versions: &versions,
        rows: &rows,
        ends: &ends,
        pruned_leaves: &pruned_leaves,
        head: head.map(|h| (h.version, h.hash)),
    };
    Ok(chain::verify(&stored, &mut |hash| gid.and_then(|gid| db.blob(gid, hash).ok().flatten())))
}
