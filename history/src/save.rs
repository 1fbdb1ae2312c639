//! `POST /saveGraphWithHistory`: a whole graph posted (by other editors, or
//! by clients of a server that takes no deltas), stored as what it changed.
//!
//! Unlike the real service this never overwrites silently (a stale base
//! version is a 409 unless `override` is set), keeps edges whole, and records
//! who saved what and why. The server compares the posted graph with the
//! current rows part by part and writes only the parts that differ, so a
//! whole-graph save costs a parse of the graph but stores only its changes.

use std::collections::{HashMap, VecDeque};

use kg_approval::Graph;
use serde_json::{Map, Value, json};

use crate::access::WriteAccess;
use crate::entity::{self, Encoded, encode};
use crate::error::HistoryError;
use crate::idempotency;
use crate::store::{EntityRow, Kind, Store};
use crate::write::{Changes, ClientAudit, NewVersion, ORD_STEP, SaveContext, Saved, body_object, check_stamps, title_of, write_version};

/// `POST /saveGraphWithHistory` body: `{id, graphData, override, audit?}`.
#[derive(Debug)]
pub struct SaveBody {
    pub id: String,
    pub graph: Value,
    pub override_version: bool,
    /// The fingerprint of the request (see [`crate::idempotency`]).
    pub request_hash: String,
    pub audit: ClientAudit,
}

impl SaveBody {
    pub fn parse(bytes: &[u8]) -> Result<SaveBody, HistoryError> {
        let mut body = body_object(bytes, "{id, graphData, override}")?;
        let id = match body.remove("id") {
            Some(Value::String(id)) if !id.is_empty() => id,
            Some(_) => return Err(HistoryError::BadRequest("id must be a non-empty string".into())),
            None => return Err(HistoryError::BadRequest("Missing required fields: id and graphData".into())),
        };
        let graph = match body.remove("graphData") {
            Some(graph @ Value::Object(_)) => graph,
            Some(_) => return Err(HistoryError::BadRequest("graphData must be an object".into())),
            None => return Err(HistoryError::BadRequest("Missing required fields: id and graphData".into())),
        };
        let override_version = match body.remove("override") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => b,
            Some(_) => return Err(HistoryError::BadRequest("override must be a boolean".into())),
        };
        let audit = ClientAudit::take_from(&mut body)?;
        let request_hash = idempotency::request_hash(&audit, bytes);
        Ok(SaveBody { id, graph, override_version, audit, request_hash })
    }
}

/// Saves as `ctx.user`, who the caller has already decided may write (a
/// tool, a test). A request's save goes through [`save_checked`].
pub fn save(store: &Store, body: SaveBody, ctx: SaveContext<'_>) -> Result<Saved, HistoryError> {
    save_as(store, body, ctx, true, None)
}

/// Saves as `ctx.user` once `access` allows it, decided inside the write
/// transaction under the graph's lock (see [`WriteAccess`]).
pub fn save_checked(store: &Store, body: SaveBody, ctx: SaveContext<'_>, access: WriteAccess<'_>) -> Result<Saved, HistoryError> {
    save_as(store, body, ctx, true, Some(access))
}

/// An operator's import (`--seed`): like [`save`], but the graph's stamps
/// are kept as they were written where it came from (a graph created by
/// someone else, elsewhere), not checked against the importing user.
pub fn import(store: &Store, body: SaveBody, ctx: SaveContext<'_>) -> Result<Saved, HistoryError> {
    save_as(store, body, ctx, false, None)
}

fn save_as(
    store: &Store,
    body: SaveBody,
    ctx: SaveContext<'_>,
    check_stamps: bool,
    access: Option<WriteAccess<'_>>,
) -> Result<Saved, HistoryError> {
    let SaveBody { id, graph, override_version, audit, request_hash } = body;
    // The approval id is the natural idempotency key: one approval, one version.
    let key = idempotency::key_of(ctx.idempotency_key.clone(), audit.approval_id.as_deref());
    if let Some(user) = audit.user.as_deref().filter(|u| *u != ctx.user) {
        return Err(HistoryError::Forbidden(format!("the audit names '{user}', but the token belongs to '{}'", ctx.user)));
    }
    // Parsed before taking the write lock: only what needs the stored
    // history (the version number, the comparison, the hash) runs under it.
    let mut new = Graph::from_value(graph).map_err(|e| HistoryError::BadRequest(format!("graphData: {e}")))?;
    let sent_version = new.version().cloned();

    store.write(|tx| {
        tx.lock_graph(&id)?;
        let head = tx.head(&id)?;
        if let Some(access) = &access {
            access.check(tx, &id, head.is_some(), override_version)?;
        }
        if let Some(saved) = key.as_deref().map(|k| idempotency::replay(tx, &id, k, ctx.user, &request_hash)).transpose()?.flatten() {
            return Ok(saved);
        }
        let current = head.as_ref().map_or(0, |h| h.version);
        if current == 0 && !is_uuid_v4(&id) {
            return Err(HistoryError::InvalidNewId { received: id.clone() });
        }
        if !override_version && !matches_version(sent_version.as_ref(), current) {
            return Err(HistoryError::Conflict { current_version: current, expected_version: None });
        }
        new.set_version(json!(current + 1));
        let live = match &head {
            Some(h) => tx.rows_at(h.gid, None)?,
            None => Vec::new(),
        };
        let gid = head.as_ref().map(|h| h.gid);
        let stamper = check_stamps.then_some(ctx.user);
        let changes = compare(&live, &new, stamper, |hash| gid.and_then(|gid| tx.blob(gid, hash).ok().flatten()))?;
        let saved = NewVersion {
            graph_id: &id,
            head: head.as_ref(),
            ctx: &ctx,
            audit: &audit,
            key: key.as_deref(),
            request_hash: Some(&request_hash),
            override_version,
            via: "full",
            title: title_of(new.metadata()),
            nodes: new.nodes().len() as i64,
        };
        let saved = write_version(tx, saved, changes)?;
        Ok(saved)
    })
}

/// The real service's rule, strictly: `metadata.version` must be the current
/// version as a number (`"1"` never matches `1`). A new graph may omit it.
fn matches_version(sent: Option<&Value>, current: i64) -> bool {
    match sent {
        Some(Value::Number(n)) => n.as_i64() == Some(current),
        None | Some(Value::Null) => current == 0,
        Some(_) => false,
    }
}

/// The rows that turn the current rows `live` into `new`, checking the
/// stamps of every part that changes against `user` (unless `None`: the
/// migration replays versions that were checked when they were saved).
pub fn compare(
    live: &[EntityRow],
    new: &Graph,
    user: Option<&str>,
    mut blob: impl FnMut(&str) -> Option<String>,
) -> Result<Changes, HistoryError> {
    let mut changes = Changes::default();
    let old_of = |kind: Kind| live.iter().find(|r| r.kind == kind);

    let old_root = old_of(Kind::Root);
    let root = encode_root(new);
    if let Some(user) = user {
        // The graph's own fields are stamped like a part's: a changed top
        // level (placeholders of nodes, edges and metadata aside) names the user.
        let before = old_root.map(|o| entity::decode(&o.body)).transpose().map_err(HistoryError::Internal)?.map(top_level);
        let after = top_level(entity::decode(&root.body).map_err(HistoryError::Internal)?);
        if before.as_ref().is_none_or(|b| fields_differ(b, &after, &root, &mut blob)) {
            check_stamps("the graph", before.as_ref(), &top_level(new.root().clone()), user)?;
        }
    }
    changes.replace(old_root, Kind::Root, "", 0, 0, root);
    let old_meta = old_of(Kind::Metadata);
    match new.metadata() {
        Some(meta) => {
            let encoded = encode(meta);
            if let Some(user) = user.filter(|_| old_meta.is_none_or(|o| o.body != encoded.body)) {
                let before = old_meta.map(|o| entity::decode(&o.body)).transpose().map_err(HistoryError::Internal)?;
                // The server numbers versions: a new version number is no change of the sender's.
                let without_version = |m: &Map<String, Value>| {
                    m.iter().filter(|(k, _)| *k != "version").map(|(k, v)| (k.clone(), v.clone())).collect::<Map<_, _>>()
                };
                if before.as_ref().map(without_version) != Some(without_version(meta)) {
                    check_stamps("metadata", before.as_ref(), meta, user)?;
                }
            }
            changes.replace(old_meta, Kind::Metadata, "", 0, 0, encoded);
        }
        None => {
            if let Some(old) = old_meta {
                changes.end(old);
            }
        }
    }

    // Nodes pair up by id, edges by key (edges sharing a key in order).
    let mut old_nodes: HashMap<&str, &EntityRow> = live.iter().filter(|r| r.kind == Kind::Node).map(|r| (r.key.as_str(), r)).collect();
    let node_parts: Vec<(String, Option<&EntityRow>, &Map<String, Value>)> =
        new.nodes().iter().map(|n| (n.id().to_owned(), old_nodes.remove(n.id()), n.fields())).collect();
    place(&mut changes, Kind::Node, &node_parts, user, &mut blob, |_| 0)?;
    for old in old_nodes.values() {
        changes.end(old);
    }

    let mut old_edges: HashMap<&str, VecDeque<&EntityRow>> = HashMap::new();
    for row in live.iter().filter(|r| r.kind == Kind::Edge) {
        old_edges.entry(row.key.as_str()).or_default().push_back(row);
    }
    let edge_parts: Vec<(String, Option<&EntityRow>, &Map<String, Value>)> =
        new.edges().iter().map(|e| (e.key().to_owned(), old_edges.get_mut(e.key()).and_then(VecDeque::pop_front), e.fields())).collect();
    let mut next_dup: HashMap<String, i64> = HashMap::new();
    for row in live.iter().filter(|r| r.kind == Kind::Edge) {
        let slot = next_dup.entry(row.key.clone()).or_insert(0);
        *slot = (*slot).max(row.dup + 1);
    }
    place(&mut changes, Kind::Edge, &edge_parts, user, &mut blob, |key| {
        let slot = next_dup.entry(key.to_owned()).or_insert(0);
        *slot += 1;
        *slot - 1
    })?;
    for old in old_edges.values().flatten() {
        changes.end(old);
    }
    Ok(changes)
}

/// Writes the parts of one kind in their new order: a part that stays and
/// keeps its relative order keeps its position; the others get positions
/// between their neighbours. Changed and added parts have their stamps checked.
fn place(
    changes: &mut Changes,
    kind: Kind,
    parts: &[(String, Option<&EntityRow>, &Map<String, Value>)],
    user: Option<&str>,
    blob: &mut impl FnMut(&str) -> Option<String>,
    mut new_dup: impl FnMut(&str) -> i64,
) -> Result<(), HistoryError> {
    let olds: Vec<Option<i64>> = parts.iter().map(|(_, old, _)| old.map(|o| o.ord)).collect();
    let ords = positions(&olds);
    let what = if kind == Kind::Node { "node" } else { "edge" };
    for ((key, old, fields), ord) in parts.iter().zip(ords) {
        let encoded = encode(fields);
        if let Some(user) = user {
            if old.is_none_or(|o| o.body != encoded.body) && changed_fields(*old, &encoded, blob)? {
                let before = old.map(|o| entity::decode(&o.body)).transpose().map_err(HistoryError::Internal)?;
                check_stamps(&format!("{what} '{key}'"), before.as_ref(), fields, user)?;
            }
        }
        let dup = match old {
            Some(o) => o.dup,
            None => new_dup(key),
        };
        changes.replace(*old, kind, key, dup, ord, encoded);
    }
    Ok(())
}

/// Whether a part's fields differ as JSON values (not only in their text:
/// keys of a nested object in another order are the same value).
fn changed_fields(old: Option<&EntityRow>, new: &Encoded, blob: &mut impl FnMut(&str) -> Option<String>) -> Result<bool, HistoryError> {
    let Some(old) = old else { return Ok(true) };
    let before = entity::decode(&old.body).map_err(HistoryError::Internal)?;
    let after = entity::decode(&new.body).map_err(HistoryError::Internal)?;
    Ok(fields_differ(&before, &after, new, blob))
}

/// Whether two stored field maps (blob references in them resolved, from
/// the store or from `new`'s blobs) hold different JSON values.
fn fields_differ(
    before: &Map<String, Value>,
    after: &Map<String, Value>,
    new: &Encoded,
    blob: &mut impl FnMut(&str) -> Option<String>,
) -> bool {
    let mut resolve = |v: &Value| -> Option<Value> {
        match entity::reference(v) {
            Some(hash) => blob(hash)
                .or_else(|| new.blobs.iter().find(|(h, _)| h == hash).map(|(_, t)| t.clone()))
                .and_then(|t| serde_json::from_str(&t).ok()),
            None => Some(v.clone()),
        }
    };
    kg_approval::change::diff_fields(before, after).into_iter().any(|(_, b, a)| {
        !matches!((b.map(&mut resolve), a.map(&mut resolve)), (Some(Some(x)), Some(Some(y))) if kg_approval::value::json_eq(&x, &y))
    })
}

/// The top level's own fields: without `metadata`, `nodes` and `edges`.
fn top_level(mut fields: Map<String, Value>) -> Map<String, Value> {
    fields.retain(|k, _| !kg_approval::graph::is_structural(k));
    fields
}

/// The top level with `metadata`, `nodes` and `edges` as placeholders (their
/// content is stored in their own rows).
fn encode_root(graph: &Graph) -> Encoded {
    let root: Map<String, Value> = graph
        .root()
        .iter()
        .map(|(k, v)| match k.as_str() {
            "metadata" | "nodes" | "edges" => (k.clone(), json!(0)),
            _ => (k.clone(), v.clone()),
        })
        .collect();
    encode(&root)
}

/// Positions for parts in their new order, given their current positions
/// (`None` for new parts): the longest run already in increasing order keeps
/// its positions; the others get positions spread between their neighbours,
/// or after the last one. Only when no gap is left does everything move.
pub fn positions(old: &[Option<i64>]) -> Vec<i64> {
    let keep = longest_increasing(old);
    let mut out = vec![0i64; old.len()];
    let mut i = 0;
    let mut prev: Option<i64> = None;
    while i < old.len() {
        if keep[i] {
            out[i] = old[i].unwrap_or_default();
            prev = Some(out[i]);
            i += 1;
            continue;
        }
        let start = i;
        while i < old.len() && !keep[i] {
            i += 1;
        }
        let next = (i < old.len()).then(|| old[i].unwrap_or_default());
        let run = (i - start) as i64;
        let (lo, hi) = match (prev, next) {
            (Some(lo), Some(hi)) => (lo, hi),
            (Some(lo), None) => (lo, lo.saturating_add(ORD_STEP.saturating_mul(run + 1))),
            (None, Some(hi)) => (hi.saturating_sub(ORD_STEP.saturating_mul(run + 1)), hi),
            (None, None) => (-ORD_STEP, ORD_STEP.saturating_mul(run)),
        };
        let gap = (hi - lo) / (run + 1);
        if gap == 0 {
            // No room between the neighbours: number everything afresh.
            return (0..old.len() as i64).map(|k| k * ORD_STEP).collect();
        }
        for (j, slot) in out[start..i].iter_mut().enumerate() {
            *slot = lo + gap * (j as i64 + 1);
        }
        prev = Some(out[i - 1]);
    }
    out
}

/// Marks the longest strictly increasing subsequence of the known positions.
fn longest_increasing(old: &[Option<i64>]) -> Vec<bool> {
    // Patience sorting: tails[k] = index of the smallest tail of a run of length k+1.
    let mut tails: Vec<usize> = Vec::new();
    let mut parent: Vec<Option<usize>> = vec![None; old.len()];
    for (i, value) in old.iter().enumerate() {
        let Some(v) = value else { continue };
        let k = tails.partition_point(|&t| old[t].unwrap_or_default() < *v);
        parent[i] = k.checked_sub(1).map(|p| tails[p]);
        if k == tails.len() {
            tails.push(i);
        } else {
            tails[k] = i;
        }
    }
    let mut keep = vec![false; old.len()];
    let mut at = tails.last().copied();
    while let Some(i) = at {
        keep[i] = true;
        at = parent[i];
    }
    keep
}

/// A canonical, hyphenated UUID of version 4 (the real service's rule for new ids).
pub fn is_uuid_v4(id: &str) -> bool {
    id.len() == 36 && uuid::Uuid::try_parse(id).is_ok_and(|u| u.get_version_num() == 4 && u.get_variant() == uuid::Variant::RFC4122)
}

#[cfg(test)]
mod tests {
    use super::positions;
    use crate::write::ORD_STEP;

    #[test]
    fn parts_that_stay_in_order_keep_their_positions() {
        let s = ORD_STEP;
        assert_eq!(positions(&[Some(0), Some(s), Some(2 * s)]), [0, s, 2 * s]);
        assert_eq!(positions(&[Some(0), Some(s), None, None]), [0, s, 2 * s, 3 * s], "appended");
        assert_eq!(positions(&[None, Some(0)]), [-s, 0], "prepended");
        let moved = positions(&[Some(2 * s), Some(0), Some(s)]);
        assert_eq!(&moved[1..], [0, s], "the longest ordered run stays");
        assert!(moved[0] < moved[1], "the moved part goes before it");
        let between = positions(&[Some(0), None, Some(s)]);
        assert!(0 < between[1] && between[1] < s);
        assert_eq!(positions(&[None, None]), [0, s]);
    }

    #[test]
    fn when_no_gap_is_left_everything_is_renumbered() {
        let tight = positions(&[Some(0), None, Some(1)]);
        assert_eq!(tight, [0, ORD_STEP, 2 * ORD_STEP]);
    }
}
