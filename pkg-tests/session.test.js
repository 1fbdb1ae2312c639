'use strict';
// Selective approval: decisions, their cascades, stamps and the audit entry.
const test = require('node:test');
const assert = require('node:assert/strict');
const { kg, clone } = require('./support/kg');

const NOW = '2026-02-04T14:30:45.123Z';
const base = {
  id: 'graph-1',
  metadata: { title: 'Base', version: 7 },
  nodes: [
    { id: 'a', label: 'A', info: 'alpha', position: { x: 0, y: 0 } },
    { id: 'b', label: 'B', info: 'beta', visible: false },
    { id: 'c', label: 'C' },
  ],
  edges: [
    { id: 'a_b', source: 'a', target: 'b', label: 'ab' },
    { id: 'b_c', source: 'b', target: 'c' },
  ],
};

const proposal = {
  nodes: [
    { id: 'a', label: 'A2', info: 'alpha two' },
    { id: 'n', label: 'New', type: 'fulltext' },
  ],
  edges: [{ source: 'a', target: 'n', label: 'to new' }, { id: 'a_b', label: 'ab2' }],
  removeNodeIds: ['c'],
  metadata: { title: 'Edited' },
};

test('the review lists every change with a stable id, in proposal order', () => {
  const review = kg.reviewProposal(base, proposal);
  assert.deepEqual(review.changes.map((c) => c.id), [
    'node/a/label', 'node/a/info', 'node/n', 'node/c', 'edge/a_n', 'edge/a_b/label', 'edge/b_c', 'metadata/title',
  ]);
  assert.deepEqual(review.summary, {
    nodesAdded: 1, nodesRemoved: 1, nodesChanged: 1, edgesAdded: 1, edgesRemoved: 1, edgesChanged: 1, metadataChanged: 1, graphChanged: 0, fieldsChanged: 4,
  });
  assert.ok(review.changes.every((c) => c.accepted === true));
  assert.deepEqual(kg.reviewProposal(base, proposal), review, 'same proposal, same graph: same review');
  assert.equal(review.changes.find((c) => c.id === 'edge/a_n').label, 'to new');
  assert.equal(review.changes.find((c) => c.id === 'edge/b_c').label, 'B → C');
});

test('rejecting a new node also rejects the edge that needs it, and accepting the edge brings it back', () => {
  const session = new kg.ApprovalSession(base);
  session.propose(proposal);
  assert.deepEqual(session.reject('node/n').sort(), ['edge/a_n', 'node/n']);
  assert.deepEqual(session.accept('edge/a_n').sort(), ['edge/a_n', 'node/n']);
});

test('a node removal needs its edges removed: rejecting one keeps the node', () => {
  const session = new kg.ApprovalSession(base);
  session.propose(proposal);
  assert.deepEqual(session.reject('edge/b_c').sort(), ['edge/b_c', 'node/c']);
  const approved = session.approve({ user: 'ann', now: NOW });
  assert.ok(approved.graph.nodes.some((n) => n.id === 'c'));
  assert.ok(approved.graph.edges.some((e) => e.id === 'b_c'));
});

test('rejectNode and acceptNode decide every change of one node', () => {
  const session = new kg.ApprovalSession(base);
  session.propose(proposal);
  assert.deepEqual(session.rejectNode('a'), ['node/a/info', 'node/a/label']);
  assert.deepEqual(session.review().changes.filter((c) => !c.accepted).map((c) => c.id).sort(), ['node/a/info', 'node/a/label']);
  assert.deepEqual(session.acceptNode('a').sort(), ['node/a/info', 'node/a/label']);
});

test('approve applies only accepted changes, stamps what changed and records the decision', () => {
  const session = new kg.ApprovalSession(base, { graphId: 'g-42' });
  session.propose(proposal, { source: 'ai', model: 'model-x', reason: 'tidy up', runId: 'run-9' });
  session.reject('node/a/info');
  session.reject('metadata/title');
  const approved = session.approve({ user: 'ann@example.com', now: NOW, reason: 'looks right' });
  const nodes = Object.fromEntries(approved.graph.nodes.map((n) => [n.id, n]));

  assert.deepEqual(nodes.a, { id: 'a', label: 'A2', info: 'alpha', position: { x: 0, y: 0 }, updatedAt: NOW, updatedBy: 'ann@example.com' });
  assert.deepEqual(nodes.n, { id: 'n', label: 'New', type: 'fulltext', createdAt: NOW, createdBy: 'ann@example.com', updatedAt: NOW, updatedBy: 'ann@example.com' });
  assert.deepEqual(nodes.b, base.nodes[1], 'untouched hidden node is identical');
  assert.equal(nodes.c, undefined);
  assert.deepEqual(approved.graph.edges, [
    { id: 'a_b', source: 'a', target: 'b', label: 'ab2', updatedAt: NOW, updatedBy: 'ann@example.com' },
    { id: 'a_n', source: 'a', target: 'n', label: 'to new', createdAt: NOW, createdBy: 'ann@example.com', updatedAt: NOW, updatedBy: 'ann@example.com' },
  ]);
  assert.deepEqual(approved.graph.metadata, { title: 'Base', version: 7, updated: NOW, updatedBy: 'ann@example.com' });
  assert.deepEqual(approved.changedNodeIds, ['a', 'n']);
  assert.deepEqual(approved.removedNodeIds, ['c']);

  const audit = approved.audit;
  assert.match(audit.approvalId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.deepEqual(
    { graphId: audit.graphId, baseVersion: audit.baseVersion, user: audit.user, at: audit.at, source: audit.source, model: audit.model, reason: audit.reason, proposalReason: audit.proposalReason, runId: audit.runId },
    { graphId: 'g-42', baseVersion: 7, user: 'ann@example.com', at: NOW, source: 'ai', model: 'model-x', reason: 'looks right', proposalReason: 'tidy up', runId: 'run-9' },
  );
  assert.equal(audit.proposalId, kg.reviewProposal(base, proposal).proposalId);
  assert.deepEqual(audit.changes.a, { label: ['A', 'A2'] });
  assert.deepEqual(audit.changes.n, { id: [null, 'n'], label: [null, 'New'], type: [null, 'fulltext'] });
  assert.deepEqual(audit.edgeChanges.a_b, { label: ['ab', 'ab2'] });
  assert.deepEqual(audit.metadataChanges, {});
  assert.deepEqual(audit.rejected, ['node/a/info', 'metadata/title']);
  assert.equal(audit.accepted.length, 6);
  assert.deepEqual([audit.nodesAdded, audit.nodesRemoved, audit.edgesAdded, audit.edgesRemoved], [['n'], ['c'], ['a_n'], ['b_c']]);
});

test('rejecting everything leaves the graph byte for byte as it was', () => {
  const session = new kg.ApprovalSession(base);
  session.propose(proposal);
  session.rejectAll();
  const approved = session.approve({ user: 'ann', now: NOW });
  assert.equal(JSON.stringify(approved.graph), JSON.stringify(base));
  assert.deepEqual(approved.changedNodeIds, []);
  assert.equal(approved.audit.accepted.length, 0);
});

test('after approve the session holds the new graph, ready for the next proposal', () => {
  const session = new kg.ApprovalSession(base);
  session.propose({ nodes: [{ id: 'a', label: 'first' }] });
  session.approve({ user: 'ann', now: NOW });
  assert.equal(session.review(), undefined);
  const second = session.propose({ nodes: [{ id: 'a', label: 'second' }] });
  assert.equal(second.changes[0].old, 'first');
  const later = '2026-02-05T09:00:00.000Z';
  const approved = session.approve({ user: 'bob', now: later });
  const a = approved.graph.nodes[0];
  assert.deepEqual([a.label, a.updatedAt, a.updatedBy], ['second', later, 'bob']);
  assert.deepEqual(session.graph(), approved.graph);
  assert.equal(session.baseVersion, 7);
  assert.equal(session.graphId, 'graph-1', 'graph id defaults to the top-level id');
});

test('discard drops the pending review; a new proposal replaces the old one', () => {
  const session = new kg.ApprovalSession(base);
  session.propose({ nodes: [{ id: 'a', label: 'x' }] });
  session.propose({ nodes: [{ id: 'c', label: 'y' }] });
  assert.deepEqual(session.review().changes.map((c) => c.id), ['node/c/label']);
  session.discard();
  assert.equal(session.review(), undefined);
  assert.deepEqual(session.graph(), clone(base));
});

test('approving without now stamps the current time in ISO 8601 with milliseconds and Z', () => {
  const session = new kg.ApprovalSession(base);
  session.propose({ nodes: [{ id: 'a', label: 'x' }] });
  const before = Date.now();
  const { audit } = session.approve({ user: 'ann' });
  const after = Date.now();
  assert.match(audit.at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  assert.ok(Date.parse(audit.at) >= before && Date.parse(audit.at) <= after);
});

test('a proposal cannot write audit fields; it gets a warning instead', () => {
  const review = kg.reviewProposal(base, {
    nodes: [{ id: 'a', label: 'x', updatedAt: '1999-01-01T00:00:00Z', createdBy: 'mallory' }],
    metadata: { version: 99, updatedBy: 'mallory', title: 'T' },
  });
  assert.deepEqual(review.changes.map((c) => c.id), ['node/a/label', 'metadata/title']);
  assert.deepEqual(review.warnings.map((w) => `${w.code}:${w.field}`), [
    'reserved_field_ignored:updatedAt', 'reserved_field_ignored:createdBy', 'reserved_field_ignored:version', 'reserved_field_ignored:updatedBy',
  ]);
});

test('search and replace changes one occurrence, or all, and composes with a patch', () => {
  const g = { nodes: [{ id: 'a', info: 'x x x' }] };
  assert.equal(kg.reviewProposal(g, { searchReplace: [{ nodeId: 'a', search: 'x', replace: 'y' }] }).changes[0].new, 'y x x');
  assert.equal(kg.reviewProposal(g, { searchReplace: [{ nodeId: 'a', search: 'x', replace: 'y', replaceAll: true }] }).changes[0].new, 'y y y');
  const composed = kg.reviewProposal(g, { nodes: [{ id: 'a', info: 'x z' }], searchReplace: [{ nodeId: 'a', search: 'z', replace: 'w' }] });
  assert.equal(composed.changes[0].new, 'x w');
});

test('saveBody: the body client.save posts, from the kept text or from an edited graph', () => {
  const session = new kg.ApprovalSession(base, { graphId: 'g-1' });
  session.propose({ nodes: [{ id: 'a', label: 'fast' }] });
  const approved = session.approve({ user: 'ann', now: NOW });
  const fast = JSON.parse(kg.saveBody(approved));
  assert.deepEqual(Object.keys(fast), ['id', 'graphData', 'override', 'audit']);
  assert.deepEqual([fast.id, fast.override, fast.graphData.metadata.version], ['g-1', false, 7]);
  assert.deepEqual(fast.audit, approved.audit);
  // Reading the graph switches to building the body from the object, so an edit counts.
  assert.deepEqual(fast.graphData, approved.graph);
  approved.graph.nodes[0].label = 'edited by the caller';
  assert.equal(JSON.parse(kg.saveBody(approved)).graphData.nodes[0].label, 'edited by the caller');
  // JSON.stringify of an approval still carries the graph.
  assert.equal(JSON.parse(JSON.stringify(approved)).graph.nodes[0].label, 'edited by the caller');
});

test('saveBody of a chained approval carries the version its predecessor was saved as', () => {
  const session = new kg.ApprovalSession(base, { graphId: 'g-2' });
  session.propose({ nodes: [{ id: 'a', label: 'one' }] });
  const first = session.approve({ user: 'ann', now: NOW });
  session.propose({ nodes: [{ id: 'a', label: 'two' }] });
  session.approve({ user: 'ann', now: NOW });
  assert.equal(JSON.parse(kg.saveBody(first)).graphData.metadata.version, 7);
  session.markSaved(first.audit.approvalId, 8);
  const [second] = session.pendingSaves();
  assert.equal(JSON.parse(kg.saveBody(second)).graphData.metadata.version, 8);
});
