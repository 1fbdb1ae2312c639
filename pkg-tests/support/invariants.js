'use strict';
// What must hold for any approval: checked on real fixtures and on
// generated graphs alike.
const assert = require('node:assert/strict');
const { kg } = require('./kg');

const USER = 'reviewer@example.com';
const NOW = '2026-02-04T14:30:45.123Z';

const byId = (items, key = (x) => x.id) => new Map(items.map((x) => [key(x), x]));
const edgeKey = (e) => e.id ?? `${e.source ?? e.from}_${e.target ?? e.to}`;

/**
 * Proposes, rejects every `rejectEvery`-th change (0: none), approves, and
 * checks the result against the graph before. Returns {review, approved}.
 */
function approveAndCheck(before, proposal, { rejectEvery = 0 } = {}) {
  const frozen = JSON.stringify(before);
  const session = new kg.ApprovalSession(before);
  const review = session.propose(proposal);
  if (rejectEvery) {
    review.changes.forEach((c, i) => {
      if (i % rejectEvery === 1) session.reject(c.id);
    });
  }
  const decided = session.review().changes;
  const accepted = decided.filter((c) => c.accepted);
  const approved = session.approve({ user: USER, now: NOW });
  const after = approved.graph;
  assert.equal(JSON.stringify(before), frozen, 'the input graph is not mutated');

  // Accepted changes depend only on accepted changes.
  const acceptedIds = new Set(accepted.map((c) => c.id));
  for (const c of accepted) for (const r of c.requires ?? []) assert.ok(acceptedIds.has(r), `${c.id} requires ${r}`);

  const oldNodes = byId(before.nodes);
  const newNodes = byId(after.nodes);
  const touched = new Set(accepted.filter((c) => c.target === 'node' && c.kind !== 'removed').map((c) => c.nodeId));
  const removed = new Set(accepted.filter((c) => c.target === 'node' && c.kind === 'removed').map((c) => c.nodeId));
  const added = accepted.filter((c) => c.target === 'node' && c.kind === 'added');

  // No node is lost or invented; untouched nodes are byte for byte the same.
  assert.equal(after.nodes.length, before.nodes.length + added.length - removed.size);
  for (const node of before.nodes) {
    if (removed.has(node.id)) {
      assert.ok(!newNodes.has(node.id), `${node.id} was removed`);
      continue;
    }
    assert.ok(newNodes.has(node.id), `${node.id} survives`);
    if (!touched.has(node.id)) assert.equal(JSON.stringify(newNodes.get(node.id)), JSON.stringify(node), `${node.id} untouched`);
    if (node.visible === false && !removed.has(node.id)) assert.equal(newNodes.get(node.id).visible, false);
  }
  // Surviving nodes keep their relative order; added ones come last.
  const order = after.nodes.map((n) => n.id);
  const kept = before.nodes.filter((n) => !removed.has(n.id)).map((n) => n.id);
  assert.deepEqual(order.slice(0, kept.length), kept);

  // Accepted field changes are applied with stamps; rejected ones are not.
  for (const c of decided.filter((x) => x.target === 'node' && x.kind === 'changed')) {
    const node = newNodes.get(c.nodeId);
    if (c.accepted) {
      assert.deepEqual(node[c.field], c.new, `${c.id} applied`);
      assert.equal(node.updatedAt, NOW);
      assert.equal(node.updatedBy, USER);
    } else if (!removed.has(c.nodeId)) {
      assert.deepEqual(node[c.field], oldNodes.get(c.nodeId)[c.field], `${c.id} not applied`);
    }
  }

  // diffGraphs(before, after) is exactly the accepted changes plus stamps.
  const expected = new Set(acceptedIds);
  const stamp = (prefix, old, fields) => {
    for (const [field, value] of fields) if (!old || old[field] !== value) expected.add(`${prefix}/${field}`);
  };
  const oldEdges = byId(before.edges ?? [], edgeKey);
  for (const c of accepted) {
    if (c.kind !== 'changed') continue;
    if (c.target === 'node') stamp(`node/${c.nodeId}`, oldNodes.get(c.nodeId), [['updatedAt', NOW], ['updatedBy', USER]]);
    if (c.target === 'edge') stamp(`edge/${c.edgeId}`, oldEdges.get(c.edgeId), [['updatedAt', NOW], ['updatedBy', USER]]);
  }
  if (accepted.length) stamp('metadata', before.metadata, [['updated', NOW], ['updatedBy', USER]]);
  const diff = kg.diffGraphs(before, after);
  assert.deepEqual(new Set(diff.changes.map((c) => c.id)), expected);

  return { review, approved };
}

/** Rejecting everything gives back the graph, byte for byte. */
function rejectAllIsIdentity(before, proposal) {
  const session = new kg.ApprovalSession(before);
  session.propose(proposal);
  session.rejectAll();
  const { graph } = session.approve({ user: USER, now: NOW });
  assert.equal(JSON.stringify(graph), JSON.stringify(before));
}

module.exports = { approveAndCheck, rejectAllIsIdentity, USER, NOW };
