//! Reading stored versions back: a whole graph from its rows, exactly as it
//! was saved, and the field-level changes of one version from the rows it
//! wrote and ended (so audit entries need not store old and new values).

use std::collections::BTreeMap;

use kg_approval::change::{Change, ChangeKind, Target, diff_fields};
use kg_approval::decision::{Decision, Decisions};
use kg_approval::error::ErrorCode;
use serde_json::{Map, Value, json};

use crate::chain;
use crate::entity::{self, reference};
use crate::error::ApiError;
use crate::store::{AuditFilter, EntityRow, Kind, Reader, VersionRow};

/// The whole text of a graph's version (`None`: the newest), with its hash.
pub fn graph_text(db: &mut dyn Reader, id: &str, version: Option<i64>) -> Result<(String, String), ApiError> {
    let not_found = || match version {
        None => ApiError::NotFound("Graph not found.".into()),
        Some(v) => ApiError::NotFound(format!("No data found for graph ID: {id} and version: {v}.")),
    };
    let head = db.head(id)?.ok_or_else(not_found)?;
    let row = db.version(id, version.unwrap_or(head.version))?.ok_or_else(not_found)?;
    if let Some(text) = row.graph_json {
        return Ok((text, row.hash));
    }
    if row.pruned {
        return Err(ApiError::Gone(format!("Version {} of {id} was pruned by the retention setting.", row.version)));
    }
    // The newest version is read through the index of current rows.
    let rows = db.rows_at(head.gid, version.filter(|v| *v != head.version))?;
    let text = assemble_graph(&rows, |hash| db.blob(head.gid, hash).ok().flatten()).map_err(ApiError::Internal)?;
    Ok((text, row.hash))
}

/// Audit entries: the stored record, with the changes the version made
/// (stored in the record by the first schema; computed from its rows since).
pub fn audit_entries(db: &mut dyn Reader, id: &str, filter: &AuditFilter) -> Result<(i64, Vec<Value>), ApiError> {
    let gid = db.head(id)?.map(|h| h.gid);
    let (total, rows) = db.audit(id, gid, filter)?;
    let mut entries = Vec::with_capacity(rows.len());
    for row in rows {
        entries.push(audit_entry(db, gid, &row)?);
    }
    Ok((total, entries))
}

/// One version's audit entry (see [`audit_entries`]); `gid` is its graph's.
pub fn audit_entry(db: &mut dyn Reader, gid: Option<i64>, row: &VersionRow) -> Result<Value, ApiError> {
    let mut record = row.record().map_err(ApiError::Internal)?;
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
pub fn version_changes(db: &mut dyn Reader, gid: i64, row: &VersionRow) -> Result<Vec<Change>, ApiError> {
    if row.scheme == 1 {
        let record = row.record().map_err(ApiError::Internal)?;
        let changes = record
            .get("changes")
            .and_then(Value::as_array)
            .map(|items| items.iter().enumerate().map(|(i, c)| Change::read(c, &format!("changes[{i}]"))).collect::<Result<Vec<_>, _>>());
        return Ok(changes.and_then(Result::ok).unwrap_or_default());
    }
    let (opened, closed) = db.rows_changed_by(gid, row.version)?;
    changes_of(&opened, &closed, |hash| db.blob(gid, hash).ok().flatten()).map_err(ApiError::Internal)
}

/// Recomputes a graph's hash chain from everything stored about it.
pub fn verify(db: &mut dyn Reader, id: &str) -> Result<chain::Verification, ApiError> {
    let versions = db.all_versions(id)?;
    if versions.is_empty() {
        return Err(ApiError::NotFound("Graph not found.".into()));
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

/// The JSON text of a graph from its rows (ordered by kind and position):
/// the top level's fields in order, with `metadata`, `nodes` and `edges`
/// filled in from their rows.
pub fn assemble_graph(rows: &[EntityRow], mut blob: impl FnMut(&str) -> Option<String>) -> Result<String, String> {
    let size: usize = rows.iter().map(|r| r.body.len() + 1).sum();
    let mut out = String::with_capacity(size * 2);
    let root = rows.iter().find(|r| r.kind == Kind::Root).ok_or("the graph has no top-level row")?;
    let root_fields = entity::decode(&root.body)?;
    let part = |kind: Kind| rows.iter().filter(move |r| r.kind == kind);
    out.push('{');
    for (i, (key, value)) in root_fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(key).map_err(|e| e.to_string())?);
        out.push(':');
        match key.as_str() {
            "metadata" => match part(Kind::Metadata).next() {
                Some(meta) => entity::assemble(&meta.body, &mut out, &mut blob)?,
                None => out.push_str("null"),
            },
            "nodes" | "edges" => {
                out.push('[');
                let kind = if key == "nodes" { Kind::Node } else { Kind::Edge };
                for (j, row) in part(kind).enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    entity::assemble(&row.body, &mut out, &mut blob)?;
                }
                out.push(']');
            }
            _ => match reference(value) {
                Some(hash) => out.push_str(&blob(hash).ok_or_else(|| format!("blob {hash} is missing"))?),
                None => out.push_str(&value.to_string()),
            },
        }
    }
    out.push('}');
    Ok(out)
}

/// The changes one version made, from the rows it wrote (`opened`) and
/// ended (`closed`), in the order `diff_graphs` lists them: node field
/// changes and removals, added nodes, then edges likewise, then metadata.
/// Values are whole (blob references resolved).
pub fn changes_of(opened: &[EntityRow], closed: &[EntityRow], mut blob: impl FnMut(&str) -> Option<String>) -> Result<Vec<Change>, String> {
    type Id = (Kind, String, i64);
    let mut pairs: BTreeMap<Id, (Option<&EntityRow>, Option<&EntityRow>)> = BTreeMap::new();
    for row in closed {
        pairs.entry((row.kind, row.key.clone(), row.dup)).or_default().0 = Some(row);
    }
    for row in opened {
        pairs.entry((row.kind, row.key.clone(), row.dup)).or_default().1 = Some(row);
    }
    // A stored value with its blob reference (if any) resolved.
    let mut value = |v: &Value| -> Result<Value, String> {
        match reference(v) {
            Some(hash) => {
                let text = blob(hash).ok_or_else(|| format!("blob {hash} is missing"))?;
                serde_json::from_str(&text).map_err(|e| format!("blob {hash}: {e}"))
            }
            None => Ok(v.clone()),
        }
    };
    // (kind, group: 0 changed/removed by old position, 1 added by new position, ord, changes)
    let mut listed: Vec<(Kind, u8, i64, Vec<Change>)> = Vec::new();
    for ((kind, key, _), (old, new)) in pairs {
        let target = match kind {
            Kind::Node => Target::Node,
            Kind::Edge => Target::Edge,
            Kind::Metadata => Target::Metadata,
            // Top-level fields besides nodes, edges and metadata (whose
            // placeholders the row holds).
            Kind::Root => Target::Graph,
        };
        let top_level = |fields: Map<String, Value>| -> Map<String, Value> {
            if kind == Kind::Root { fields.into_iter().filter(|(k, _)| !kg_approval::graph::is_structural(k)).collect() } else { fields }
        };
        let old_fields = old.map(|r| entity::decode(&r.body)).transpose()?.map(top_level);
        let new_fields = new.map(|r| entity::decode(&r.body)).transpose()?.map(top_level);
        match (old_fields, new_fields) {
            (Some(before), Some(after)) => {
                let label = label_of(target, &key, &after);
                let mut changes = Vec::new();
                for (field, b, a) in diff_fields(&before, &after) {
                    let (b, a) = (b.map(&mut value).transpose()?, a.map(&mut value).transpose()?);
                    // Different references may still hold equal JSON (keys in
                    // another order): compare the whole values.
                    if let (Some(x), Some(y)) = (&b, &a) {
                        if kg_approval::value::json_eq(x, y) {
                            continue;
                        }
                    }
                    changes.push(Change::field(target, &key, &label, field, b, a));
                }
                listed.push((kind, 0, old.map_or(0, |r| r.ord), changes));
            }
            (Some(before), None) => {
                let fields = resolve_all(before, &mut value)?;
                let label = label_of(target, &key, &fields);
                listed.push((
                    kind,
                    0,
                    old.map_or(0, |r| r.ord),
                    vec![Change::whole(target, ChangeKind::Removed, &key, &label, Value::Object(fields))],
                ));
            }
            (None, Some(after)) => {
                let fields = resolve_all(after, &mut value)?;
                let label = label_of(target, &key, &fields);
                let change = match target {
                    // Metadata (or the top level) appearing: each of its fields is added.
                    Target::Metadata | Target::Graph => {
                        let empty = Map::new();
                        let list = diff_fields(&empty, &fields)
                            .into_iter()
                            .map(|(f, b, a)| Change::field(target, &key, &label, f, b.cloned(), a.cloned()))
                            .collect();
                        listed.push((kind, 0, 0, list));
                        continue;
                    }
                    _ => Change::whole(target, ChangeKind::Added, &key, &label, Value::Object(fields)),
                };
                listed.push((kind, 1, new.map_or(0, |r| r.ord), vec![change]));
            }
            (None, None) => {}
        }
    }
    listed.sort_by_key(|(kind, group, ord, _)| (kind_order(*kind), *group, *ord));
    Ok(listed.into_iter().flat_map(|(_, _, _, c)| c).collect())
}

fn resolve_all(fields: Map<String, Value>, value: &mut impl FnMut(&Value) -> Result<Value, String>) -> Result<Map<String, Value>, String> {
    fields.into_iter().map(|(k, v)| Ok((k, value(&v)?))).collect()
}

/// The order of `diff_graphs`: nodes, edges, metadata.
fn kind_order(kind: Kind) -> u8 {
    match kind {
        Kind::Node => 0,
        Kind::Edge => 1,
        Kind::Metadata => 2,
        Kind::Root => 3,
    }
}

fn label_of(target: Target, key: &str, fields: &Map<String, Value>) -> String {
    match target {
        Target::Node => fields.get("label").and_then(Value::as_str).unwrap_or(key).to_owned(),
        Target::Edge => kg_approval::graph::edge_label(fields, |_| None),
        Target::Metadata => "metadata".to_owned(),
        Target::Graph => "graph".to_owned(),
    }
}
