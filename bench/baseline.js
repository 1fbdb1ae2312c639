'use strict';
// What the JavaScript alternatives need as input, and the plain-JS baseline:
// the real editor's merge-and-compare, made correct (every patched node,
// deep typed comparison, no node lost).

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

function deepEqual(a, b) {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual(a[k], b[k]));
}

function merge(old, patch) {
  if (!isObject(old) || !isObject(patch)) return patch;
  const out = { ...old };
  for (const [k, v] of Object.entries(patch)) out[k] = merge(old[k], v);
  return out;
}

/** The graph after the proposal (nodes patched or added, removals, new edges); unchanged nodes are shared. */
function applyProposal(graph, proposal) {
  const patches = new Map((proposal.nodes || []).map((p) => [p.id, p]));
  const removed = new Set(proposal.removeNodeIds || []);
  const nodes = [];
  for (const node of graph.nodes) {
    if (removed.has(node.id)) continue;
    const patch = patches.get(node.id);
    nodes.push(patch ? merge(node, patch) : node);
    patches.delete(node.id);
  }
  nodes.push(...patches.values());
  const edges = (graph.edges || []).filter((e) => !removed.has(e.source) && !removed.has(e.target));
  for (const e of proposal.edges || []) edges.push({ id: e.id ?? `${e.source}_${e.target}`, ...e });
  return { ...graph, nodes, edges };
}

/** Per node and field: old and new, for every patched node, compared deeply. */
function plainReview(graph, proposal) {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const changes = [];
  for (const patch of proposal.nodes || []) {
    const old = byId.get(patch.id);
    if (!old) {
      changes.push({ nodeId: patch.id, kind: 'added', new: patch });
      continue;
    }
    const merged = merge(old, patch);
    for (const field of Object.keys(patch)) {
      if (field !== 'id' && !deepEqual(old[field], merged[field])) changes.push({ nodeId: patch.id, field, old: old[field], new: merged[field] });
    }
  }
  for (const id of proposal.removeNodeIds || []) if (byId.has(id)) changes.push({ nodeId: id, kind: 'removed', old: byId.get(id) });
  return changes;
}

module.exports = { applyProposal, plainReview };
