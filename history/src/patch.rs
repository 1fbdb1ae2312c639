//! `POST /patchGraph`: an approval saved as the changes it made — one
//! atomic version, whatever it touches.
//!
//! The body is the real service's `/patchNode` idea for a whole approval:
//! `{graphId, expectedVersion, expectedHash?, patchNodes: [{nodeId, fields,
//! removeFields?}], addNodes, removeNodeIds, patchEdges: [{edgeId, fields}],
//! addEdges, removeEdgeIds, patchMetadata: {fields, removeFields?}, audit}`.
//! A stale `expectedVersion` (or a base hash this server does not hold) is a
//! 409 `{error, currentVersion, expectedVersion}`. The delta is checked and
//! applied with the same core code the client ran (`kg_approval::delta`),
//! on the rows it touches only: the server's work is the size of the change.

use std::collections::HashMap;

use kg_approval::delta::{DeltaBase, FieldPatch, GraphDelta};
use kg_approval::graph::{EdgeLookup, default_edge_id};
use kg_approval::{Edge, Node};
use serde_json::{Map, Value, json};

use crate::access::WriteAccess;
use crate::entity::{self, encode, encode_with};
use crate::error::HistoryError;
use crate::idempotency;
use crate::store::{EntityRow, Head, Kind, Reader, Store, StoreResult, Writer};
use crate::write::{Changes, ClientAudit, NewVersion, ORD_STEP, SaveContext, Saved, body_object, check_stamps, title_of, write_version};

/// A parsed `POST /patchGraph` body.
#[derive(Debug)]
pub struct PatchBody {
    pub graph_id: String,
    pub expected_version: i64,
    pub expected_hash: Option<String>,
    pub delta: GraphDelta,
    pub audit: ClientAudit,
    /// The fingerprint of the request (see [`crate::idempotency`]).
    pub request_hash: String,
}

impl PatchBody {
    pub fn parse(bytes: &[u8]) -> Result<PatchBody, HistoryError> {
        let mut body = body_object(bytes, "{graphId, expectedVersion, ...}")?;
        let graph_id = match body.remove("graphId") {
            Some(Value::String(id)) if !id.is_empty() => id,
            _ => {
                return Err(HistoryError::BadRequest("graphId (a non-empty string) and expectedVersion (an integer) are required.".into()));
            }
        };
        let expected_version = match body.remove("expectedVersion") {
            Some(Value::Number(n)) if n.as_i64().is_some_and(|v| v >= 0) => n.as_i64().unwrap_or_default(),
            _ => {
                return Err(HistoryError::BadRequest("graphId (a non-empty string) and expectedVersion (an integer) are required.".into()));
            }
        };
        let expected_hash = match body.remove("expectedHash") {
            None | Some(Value::Null) => None,
            Some(Value::String(h)) => Some(h),
            Some(_) => return Err(HistoryError::BadRequest("expectedHash must be a string".into())),
        };
        let audit = ClientAudit::take_from(&mut body)?;
        let delta = GraphDelta::from_value(Value::Object(body)).map_err(HistoryError::from_core)?;
        let request_hash = idempotency::request_hash(&audit, bytes);
        Ok(PatchBody { graph_id, expected_version, expected_hash, delta, audit, request_hash })
    }
}

/// The current rows the delta touches, loaded once: the base the core checks
/// the delta against, and what the new rows are made from.
struct Touched {
    nodes: HashMap<String, EntityRow>,
    edges: HashMap<String, Vec<EntityRow>>,
    edges_at: HashMap<String, Vec<String>>,
}

impl Touched {
    fn load(conn: &mut dyn Reader, gid: i64, delta: &GraphDelta) -> StoreResult<Touched> {
        let mut touched = Touched { nodes: HashMap::new(), edges: HashMap::new(), edges_at: HashMap::new() };
        let node_ids = delta
            .patch_nodes
            .iter()
            .map(|p| p.node_id.as_str())
            .chain(delta.remove_node_ids.iter().map(String::as_str))
            .chain(delta.add_nodes.iter().filter_map(|n| n.get("id").and_then(Value::as_str)));
        for id in node_ids {
            if let Some(row) = conn.live(gid, Kind::Node, id)?.into_iter().next() {
                touched.nodes.insert(id.to_owned(), row);
            }
        }
        let added_keys: Vec<String> =
            delta.add_edges.iter().filter_map(|e| Edge::from_fields(e.clone()).ok()).map(|e| e.key().to_owned()).collect();
        let keys = delta
            .patch_edges
            .iter()
            .map(|p| p.edge_id.as_str())
            .chain(delta.remove_edge_ids.iter().map(String::as_str))
            .chain(added_keys.iter().map(String::as_str));
        for key in keys {
            touched.edges.insert(key.to_owned(), conn.live(gid, Kind::Edge, key)?);
        }
        for id in &delta.remove_node_ids {
            touched.edges_at.insert(id.clone(), conn.edges_at(gid, id)?);
        }
        Ok(touched)
    }
}

impl DeltaBase for Touched {
    fn has_node(&self, id: &str) -> bool {
        self.nodes.contains_key(id)
    }

    fn edge_lookup(&self, key: &str) -> EdgeLookup {
        match self.edges.get(key).map_or(0, Vec::len) {
            0 => EdgeLookup::Missing,
            // The position is not used by the checks.
            1 => EdgeLookup::Found(0),
            _ => EdgeLookup::Ambiguous,
        }
    }

    fn edges_at(&self, node_id: &str) -> Vec<String> {
        self.edges_at.get(node_id).cloned().unwrap_or_default()
    }
}

/// Saves the delta as `ctx.user`, who the caller has already decided may
/// write (a tool, a test). A request's delta goes through [`save_delta_checked`].
pub fn save_delta(store: &Store, body: PatchBody, ctx: SaveContext<'_>) -> Result<Saved, HistoryError> {
    save_delta_as(store, body, ctx, None)
}

/// Saves the delta once `access` allows it, decided inside the write
/// transaction under the graph's lock (see [`WriteAccess`]).
pub fn save_delta_checked(store: &Store, body: PatchBody, ctx: SaveContext<'_>, access: WriteAccess<'_>) -> Result<Saved, HistoryError> {
    save_delta_as(store, body, ctx, Some(access))
}

fn save_delta_as(store: &Store, body: PatchBody, ctx: SaveContext<'_>, access: Option<WriteAccess<'_>>) -> Result<Saved, HistoryError> {
    let PatchBody { graph_id, expected_version, expected_hash, delta, audit, request_hash } = body;
    let key = idempotency::key_of(ctx.idempotency_key.clone(), audit.approval_id.as_deref());
    if let Some(user) = audit.user.as_deref().filter(|u| *u != ctx.user) {
        return Err(HistoryError::Forbidden(format!("the audit names '{user}', but the token belongs to '{}'", ctx.user)));
    }
    store.write(|tx| {
        tx.lock_graph(&graph_id)?;
        let head = tx.head(&graph_id)?;
        if let Some(access) = &access {
            access.check(tx, &graph_id, head.is_some(), false)?;
        }
        if let Some(saved) = key.as_deref().map(|k| idempotency::replay(tx, &graph_id, k, ctx.user, &request_hash)).transpose()?.flatten() {
            return Ok(saved);
        }
        let head = head.ok_or_else(|| HistoryError::NotFound("Graph not found.".into()))?;
        let conflict = || HistoryError::Conflict { current_version: head.version, expected_version: Some(expected_version) };
        if expected_version != head.version || expected_hash.as_deref().is_some_and(|h| h != head.hash) {
            return Err(conflict());
        }
        let touched = Touched::load(tx, head.gid, &delta)?;
        delta.check(&touched).map_err(HistoryError::from_core)?;
        let (changes, title, nodes) = changes_of(tx, &head, &touched, &delta, ctx.user)?;
        let new = NewVersion {
            graph_id: &graph_id,
            head: Some(&head),
            ctx: &ctx,
            audit: &audit,
            key: key.as_deref(),
            request_hash: Some(&request_hash),
            override_version: false,
            via: "delta",
            title,
            nodes,
        };
        let saved = write_version(tx, new, changes)?;
        Ok(saved)
    })
}

/// The rows the delta writes and ends; also the graph's new title and node count.
fn changes_of(
    tx: &mut dyn Writer,
    head: &Head,
    touched: &Touched,
    delta: &GraphDelta,
    user: &str,
) -> Result<(Changes, Option<String>, i64), HistoryError> {
    let gid = head.gid;
    let version = head.version + 1;
    let mut changes = Changes::default();
    for p in &delta.patch_nodes {
        let old = &touched.nodes[&p.node_id];
        let before = entity::decode(&old.body).map_err(HistoryError::Internal)?;
        let mut fields = before.clone();
        p.apply(&mut fields);
        check_stamps(&format!("node '{}'", p.node_id), Some(&before), &fields, user)?;
        changes.replace(Some(old), Kind::Node, &p.node_id, 0, old.ord, encode_with(&fields, |k| !p.touches(k)));
    }
    let mut next_dup: HashMap<String, i64> = HashMap::new();
    for p in &delta.patch_edges {
        let old = &touched.edges[&p.edge_id][0];
        let before = entity::decode(&old.body).map_err(HistoryError::Internal)?;
        let mut fields = before.clone();
        p.apply(&mut fields);
        check_stamps(&format!("edge '{}'", p.edge_id), Some(&before), &fields, user)?;
        let encoded = encode_with(&fields, |k| !p.touches(k));
        let key = edge_key(&fields).unwrap_or_else(|| p.edge_id.clone());
        if key == old.key {
            changes.replace(Some(old), Kind::Edge, &key, old.dup, old.ord, encoded);
        } else {
            // An edge without an id moved: it is now found by its new ends.
            changes.end(old);
            let dup = free_dup(tx, gid, &key, &mut next_dup)?;
            changes.replace(None, Kind::Edge, &key, dup, old.ord, encoded);
        }
    }

    let mut root_keys_added: Vec<(&str, bool)> = Vec::new();
    let old_meta = tx.live(gid, Kind::Metadata, "")?.into_iter().next();
    let mut meta = match &old_meta {
        Some(row) => entity::decode(&row.body).map_err(HistoryError::Internal)?,
        None => {
            // Like Graph::metadata_mut: metadata is created as the first field.
            root_keys_added.push(("metadata", true));
            Map::new()
        }
    };
    if let Some(patch) = &delta.patch_metadata {
        let before = meta.clone();
        patch.apply(&mut meta);
        if before != meta {
            check_stamps("metadata", old_meta.is_some().then_some(&before), &meta, user)?;
        }
    }
    // The server numbers versions: metadata.version is always the version's own.
    meta.insert("version".to_owned(), json!(version));
    let title = title_of(Some(&meta));
    let kept = |k: &str| k != "version" && !delta.patch_metadata.as_ref().is_some_and(|p| p.touches(k));
    changes.replace(old_meta.as_ref(), Kind::Metadata, "", 0, 0, encode_with(&meta, kept));

    let mut ord = tx.max_ord(gid, Kind::Node)?.unwrap_or(-ORD_STEP);
    for fields in &delta.add_nodes {
        let node = Node::from_fields(fields.clone()).map_err(HistoryError::from_core)?;
        check_stamps(&format!("node '{}'", node.id()), None, fields, user)?;
        ord += ORD_STEP;
        changes.replace(None, Kind::Node, node.id(), 0, ord, encode(fields));
    }
    let mut ord = tx.max_ord(gid, Kind::Edge)?.unwrap_or(-ORD_STEP);
    for fields in &delta.add_edges {
        let edge = Edge::from_fields(fields.clone()).map_err(HistoryError::from_core)?;
        check_stamps(&format!("edge '{}'", edge.key()), None, fields, user)?;
        ord += ORD_STEP;
        let dup = free_dup(tx, gid, edge.key(), &mut next_dup)?;
        changes.replace(None, Kind::Edge, edge.key(), dup, ord, encode(fields));
        root_keys_added.push(("edges", false));
    }
    for id in &delta.remove_node_ids {
        changes.end(&touched.nodes[id]);
    }
    for key in &delta.remove_edge_ids {
        for row in &touched.edges[key] {
            changes.end(row);
        }
    }
    if !root_keys_added.is_empty() || delta.patch_graph.is_some() {
        update_root(tx, gid, &root_keys_added, delta.patch_graph.as_ref(), user, &mut changes)?;
    }
    let nodes = head.nodes + delta.add_nodes.len() as i64 - delta.remove_node_ids.len() as i64;
    Ok((changes, title, nodes))
}

/// An edge's key from its fields: its id, or `${source}_${target}`.
fn edge_key(fields: &Map<String, Value>) -> Option<String> {
    let text = |a: &str, b: &str| fields.get(a).or_else(|| fields.get(b)).and_then(Value::as_str);
    match fields.get("id").and_then(Value::as_str) {
        Some(id) => Some(id.to_owned()),
        None => Some(default_edge_id(text("source", "from")?, text("target", "to")?)),
    }
}

/// A `dup` not used by a current edge with `key` (nor by one added in this version).
fn free_dup(tx: &mut dyn Writer, gid: i64, key: &str, next: &mut HashMap<String, i64>) -> Result<i64, HistoryError> {
    let slot = match next.get_mut(key) {
        Some(slot) => slot,
        None => next.entry(key.to_owned()).or_insert(tx.max_dup(gid, key)?.map_or(0, |d| d + 1)),
    };
    let dup = *slot;
    *slot += 1;
    Ok(dup)
}

/// Updates the top level: adds `metadata` (first) or `edges` (last) when a
/// graph that lacked them gets them, as `Graph` does, and applies the
/// delta's changes to the other top-level fields.
fn update_root(
    tx: &mut dyn Writer,
    gid: i64,
    keys: &[(&str, bool)],
    patch: Option<&FieldPatch>,
    user: &str,
    changes: &mut Changes,
) -> Result<(), HistoryError> {
    let old = tx.live(gid, Kind::Root, "")?.into_iter().next();
    let mut root = match &old {
        Some(row) => entity::decode(&row.body).map_err(HistoryError::Internal)?,
        None => Map::new(),
    };
    for (key, first) in keys {
        if !root.contains_key(*key) {
            if *first {
                root.shift_insert(0, (*key).to_owned(), json!(0));
            } else {
                root.insert((*key).to_owned(), json!(0));
            }
        }
    }
    if let Some(patch) = patch {
        // GraphDelta::from_value refused nodes, edges and metadata here.
        let before = root.clone();
        patch.apply(&mut root);
        // The graph's own fields are stamped like a part's.
        if before != root {
            check_stamps("the graph", Some(&before), &root, user)?;
        }
    }
    let kept = |k: &str| !patch.is_some_and(|p| p.touches(k));
    changes.replace(old.as_ref(), Kind::Root, "", 0, 0, encode_with(&root, kept));
    Ok(())
}
