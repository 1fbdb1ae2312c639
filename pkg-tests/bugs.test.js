'use strict';
// CONTRACT.md lists nine bugs of today's approval flow; 1–6 belong to the
// approval engine. Each test shows the bug cannot happen here.
const test = require('node:test');
const assert = require('node:assert/strict');
const { kg, clone } = require('./support/kg');
const { generateGraph } = require('./support/generate');

const NOW = '2026-02-04T14:30:45.123Z';
const graph = generateGraph(30, { seed: 11, infoBytes: [200, 600], htmlEvery: 0 });
const visible = graph.nodes.filter((n) => n.visible !== false);
const hidden = graph.nodes.filter((n) => n.visible === false);

test('bug 1: a patch with label, info, type and position never replaces the other nodes', () => {
  const target = visible[0];
  const proposal = { nodes: [{ id: target.id, label: 'L', info: 'I', type: 'title', position: { x: 1, y: 2 } }] };
  const review = kg.reviewProposal(graph, proposal);
  assert.equal(review.summary.nodesRemoved, 0);
  assert.deepEqual(new Set(review.changes.map((c) => c.nodeId)), new Set([target.id]));
  const session = new kg.ApprovalSession(graph);
  session.propose(proposal);
  const { graph: after } = session.approve({ user: 'ann', now: NOW });
  assert.equal(after.nodes.length, graph.nodes.length);
  assert.deepEqual(after.nodes.map((n) => n.id), graph.nodes.map((n) => n.id));
});

test('bug 2: every changed node is in the review, not only the first', () => {
  const patched = visible.slice(0, 5);
  const review = kg.reviewProposal(graph, { nodes: patched.map((n) => ({ id: n.id, label: `${n.label}!`, color: '#000' })) });
  assert.equal(review.summary.nodesChanged, 5);
  assert.equal(review.changes.length, 10);
  assert.deepEqual([...new Set(review.changes.map((c) => c.nodeId))], patched.map((n) => n.id));
});

test('bug 3: position and bibl compare by value, not by reference', () => {
  const n = visible.find((x) => x.bibl.length > 0) || visible[0];
  const same = { id: n.id, position: { y: n.position.y, x: n.position.x }, bibl: [...n.bibl], label: n.label };
  const review = kg.reviewProposal(graph, { nodes: [same] });
  assert.deepEqual(review.changes, []);
  assert.equal(review.warnings[0].code, 'no_change');
  const moved = kg.reviewProposal(graph, { nodes: [{ id: n.id, position: { x: n.position.x + 1 } }] });
  assert.equal(moved.changes.length, 1);
  assert.deepEqual(moved.changes[0].new, { x: n.position.x + 1, y: n.position.y });
  const typed = kg.reviewProposal(graph, { nodes: [{ id: n.id, position: { x: String(n.position.x), y: n.position.y } }] });
  assert.equal(typed.changes.length, 1, 'a number and its string are different values');
});

test('bug 4: false, 0, empty string and null are shown exactly', () => {
  const g = { nodes: [{ id: 'a', visible: true, order: 1, label: 'x', info: 'text' }] };
  const review = kg.reviewProposal(g, { nodes: [{ id: 'a', visible: false, order: 0, label: '', info: null, extra: false }] });
  const byField = Object.fromEntries(review.changes.map((c) => [c.field, c]));
  assert.equal(byField.visible.new, false);
  assert.equal(byField.order.new, 0);
  assert.equal(byField.label.new, '');
  assert.equal(byField.info.new, null);
  assert.equal(byField.extra.new, false);
  assert.ok(!('old' in byField.extra), 'a field that did not exist has no old value, not a null one');
  const back = kg.reviewProposal({ nodes: [{ id: 'a', visible: false, order: 0, label: '' }] }, { nodes: [{ id: 'a', visible: true, order: 1, label: 'y' }] });
  assert.deepEqual(back.changes.map((c) => c.old), [false, 0, '']);
});

test('bug 5: stamps are written at approval time, only on nodes with an accepted change', async () => {
  const [changed, unchanged, rejected] = visible;
  const session = new kg.ApprovalSession(graph);
  const review = session.propose({
    nodes: [
      { id: changed.id, label: 'changed' },
      { id: unchanged.id, label: unchanged.label },
      { id: rejected.id, label: 'rejected' },
    ],
  });
  assert.ok(review.changes.every((c) => c.field !== 'updatedAt' && c.field !== 'updatedBy'), 'no stamps at proposal time');
  session.reject(`node/${rejected.id}/label`);
  const proposedAt = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 25));
  const approved = session.approve({ user: 'ann@example.com' });
  const stampedAt = Date.parse(approved.audit.at);
  assert.ok(stampedAt >= proposedAt + 20, 'stamped when approved, not when proposed');
  const byId = new Map(approved.graph.nodes.map((n) => [n.id, n]));
  assert.equal(byId.get(changed.id).updatedAt, approved.audit.at);
  assert.equal(byId.get(changed.id).updatedBy, 'ann@example.com');
  assert.deepEqual(byId.get(unchanged.id), unchanged);
  assert.deepEqual(byId.get(rejected.id), rejected);
  assert.deepEqual(approved.changedNodeIds, [changed.id]);
});

test('bug 6: hidden nodes the AI never saw survive its save', () => {
  assert.ok(hidden.length > 0, 'the generated graph has hidden nodes');
  // The AI saw only the visible nodes and sends them all back, replacing.
  const proposal = { replaceAllNodes: true, nodes: visible.map((n) => ({ ...n, label: `${n.label}.` })) };
  const session = new kg.ApprovalSession(graph);
  const review = session.propose(proposal);
  assert.equal(review.summary.nodesRemoved, 0);
  assert.deepEqual(review.warnings.filter((w) => w.code === 'hidden_node_kept').map((w) => w.nodeId), hidden.map((n) => n.id));
  const { graph: after } = session.approve({ user: 'ann', now: NOW });
  for (const h of hidden) assert.deepEqual(after.nodes.find((n) => n.id === h.id), h);
  assert.equal(after.nodes.length, graph.nodes.length);
  // Without replaceAllNodes, nothing the proposal does not name is touched.
  const plain = kg.reviewProposal(graph, { nodes: [{ id: visible[0].id, label: 'x' }] });
  assert.equal(plain.changes.length, 1);
});

test('the input graph and proposal are never mutated', () => {
  const g = clone(graph);
  const p = { replaceAllNodes: true, nodes: [{ id: visible[0].id, label: 'z', position: { x: 0 } }], metadata: { title: 'T' } };
  const pCopy = clone(p);
  kg.reviewProposal(g, p);
  const session = new kg.ApprovalSession(g);
  session.propose(p);
  session.approve({ user: 'ann', now: NOW });
  assert.deepEqual(g, graph);
  assert.deepEqual(p, pCopy);
});
