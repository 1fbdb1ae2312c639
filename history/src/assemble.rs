//! Rows back into what they store: a whole graph's JSON text from the rows
//! valid at a version (exactly as it was saved), and the field-level
//! changes of one version from the rows it wrote and ended (so audit
//! entries need not store old and new values). Used by reads, the chain's
//! verification and the first schema's conversion alike.

use std::collections::BTreeMap;

use kg_approval::change::{Change, ChangeKind, Target, diff_fields};
use serde_json::{Map, Value};

use crate::entity::{self, reference};
use crate::store::{EntityRow, Kind};

/// The JSON text of a graph from its rows (ordered by kind and position):
/// the top level's fields in order, with `metadata`, `nodes` and `edges`
/// filled in from their rows.
/// `blob(hash)` gives a blob's text, owned or borrowed (`B`: `String`,
/// `&str`, `Cow<str>`), so texts a caller already holds are not copied.
pub fn assemble_graph<B: AsRef<str>>(rows: &[EntityRow], mut blob: impl FnMut(&str) -> Option<B>) -> Result<String, String> {
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
                Some(hash) => out.push_str(blob(hash).ok_or_else(|| format!("blob {hash} is missing"))?.as_ref()),
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
