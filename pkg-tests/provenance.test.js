'use strict';
// Provenance from the proposal (model, modelVersion, confidence, ruleId; per
// node patch confidence and ruleId) through the built package: shown in the
// review, recorded in the audit entry and the save bodies, never in the graph.
const test = require('node:test');
const assert = require('node:assert/strict');
const { kg, expectError } = require('./support/kg');

const NOW = '2026-02-04T14:30:45.123Z';
const graph = {
  id: 'g-prov',
  metadata: { title: 'Provenance', version: 3 },
  nodes: [
    { id: 'a', label: 'A', info: 'alpha' },
    { id: 'b', label: 'B' },
  ],
  edges: [],
};
const proposal = {
  model: 'graph-assistant',
  modelVersion: '2026-01',
  confidence: 0.8,
  ruleId: 'r7',
  nodes: [
    { id: 'a', label: 'A2', info: 'alpha two', confidence: 0.65, ruleId: 'r7/case' },
    { id: 'b', label: 'B2', ruleId: 'r8' },
    { id: 'n', label: 'New', confidence: 1 },
  ],
};
const PROVENANCE_KEYS = ['confidence', 'ruleId', 'model', 'modelVersion'];

test('the review carries the provenance and each change of a node its patch provenance', () => {
  const session = new kg.ApprovalSession(graph);
  const review = session.propose(proposal, { reason: 'tidy up', runId: 'run-1', proposedAt: NOW });
  assert.deepEqual(review.provenance, {
    source: 'ai', model: 'graph-assistant', modelVersion: '2026-01', confidence: 0.8, ruleId: 'r7', reason: 'tidy up', runId: 'run-1', proposedAt: NOW,
  });
  assert.deepEqual(
    review.changes.map((c) => [c.id, c.confidence, c.ruleId]),
    [
      ['node/a/label', 0.65, 'r7/case'],
      ['node/a/info', 0.65, 'r7/case'],
      ['node/b/label', undefined, 'r8'],
      ['node/n', 1, undefined],
    ],
  );
  assert.ok(!('confidence' in review.changes[2]), 'absent provenance is left out, not null');
  assert.deepEqual(review.changes[3].new, { id: 'n', label: 'New' }, 'an added node does not get the provenance as fields');
  assert.deepEqual(review.warnings, []);
  assert.deepEqual(kg.reviewProposal(graph, proposal).provenance, { source: 'ai', model: 'graph-assistant', modelVersion: '2026-01', confidence: 0.8, ruleId: 'r7' });
  assert.deepEqual(kg.reviewProposal(graph, { nodes: [{ id: 'a', label: 'x' }] }).provenance, { source: 'ai' });
});

test('approve records the provenance in the audit entry and the approved graph has none of it', () => {
  const session = new kg.ApprovalSession(graph);
  session.propose(proposal, { runId: 'run-1' });
  session.reject('node/b/label');
  const approved = session.approve({ user: 'ann@example.com', now: NOW });
  const { audit } = approved;
  assert.deepEqual(
    { model: audit.model, modelVersion: audit.modelVersion, confidence: audit.confidence, ruleId: audit.ruleId, runId: audit.runId },
    { model: 'graph-assistant', modelVersion: '2026-01', confidence: 0.8, ruleId: 'r7', runId: 'run-1' },
  );
  assert.deepEqual(audit.patchProvenance, { a: { confidence: 0.65, ruleId: 'r7/case' }, b: { ruleId: 'r8' }, n: { confidence: 1 } });
  assert.deepEqual(audit.rejected, ['node/b/label']);
  for (const node of approved.graph.nodes) {
    for (const key of PROVENANCE_KEYS) assert.ok(!(key in node), `node ${node.id} has no ${key}`);
  }
  assert.deepEqual(approved.graph.nodes.find((n) => n.id === 'n'), { id: 'n', label: 'New', createdAt: NOW, createdBy: 'ann@example.com', updatedAt: NOW, updatedBy: 'ann@example.com' });
  for (const key of PROVENANCE_KEYS) assert.ok(!(key in approved.graph) && !(key in approved.graph.metadata), `graph has no ${key}`);
  assert.ok(!JSON.stringify(approved.delta).includes('confidence'), 'the delta carries no provenance');
  assert.ok(!JSON.stringify(session.graph()).includes('r7'), 'nor does the session graph');

  // Both save bodies carry it to the server.
  const delta = JSON.parse(kg.deltaBody(approved));
  assert.deepEqual(
    [delta.audit.modelVersion, delta.audit.confidence, delta.audit.ruleId, delta.audit.patchProvenance],
    ['2026-01', 0.8, 'r7', audit.patchProvenance],
  );
  const whole = JSON.parse(kg.saveBody(approved));
  assert.deepEqual(whole.audit.patchProvenance, audit.patchProvenance);
  assert.equal(whole.audit.confidence, 0.8);

  const [pending] = session.pendingSaves();
  const saved = session.markSaved(pending.audit.approvalId, 4);
  assert.deepEqual([saved.modelVersion, saved.ruleId, saved.patchProvenance.a.ruleId], ['2026-01', 'r7', 'r7/case']);
});

test('without provenance the audit fields are null and patchProvenance is absent', () => {
  const session = new kg.ApprovalSession(graph);
  session.propose({ nodes: [{ id: 'a', label: 'A2' }] });
  const { audit } = session.approve({ user: 'ann', now: NOW });
  assert.deepEqual([audit.modelVersion, audit.confidence, audit.ruleId], [null, null, null]);
  assert.ok(!('patchProvenance' in audit));
});

test("the caller's model wins over the proposal's, and the reviewer is told", () => {
  const session = new kg.ApprovalSession(graph);
  const review = session.propose(proposal, { model: 'caller-model' });
  assert.equal(review.provenance.model, 'caller-model');
  assert.equal(review.provenance.modelVersion, undefined, "a version of another model is not attached to the caller's");
  assert.equal(review.provenance.confidence, 0.8);
  assert.deepEqual(review.warnings.map((w) => [w.code, w.field]), [['provenance_overridden', 'model']]);
  assert.match(review.warnings[0].message, /graph-assistant/);
  assert.deepEqual(session.propose(proposal, { model: 'graph-assistant' }).warnings, [], 'the same model twice is no conflict');
});

test('the proposal id counts the provenance; ids of proposals without it are unchanged', () => {
  const plain = { nodes: [{ id: 'a', label: 'A2' }], removeNodeIds: ['c'], metadata: { title: 'T' } };
  assert.equal(kg.reviewProposal(graph, plain).proposalId, '61f69d4fa1d3354d');
  assert.notEqual(kg.reviewProposal(graph, { ...plain, confidence: 0.5 }).proposalId, '61f69d4fa1d3354d');
});

const bad = [
  ['a confidence that is a word', { confidence: 'high' }, 'confidence', /must be a number between 0 and 1, got a string/],
  ['a confidence above 1', { confidence: 2 }, 'confidence', /must be between 0 and 1, got 2/],
  ['a negative confidence', { confidence: -0.1 }, 'confidence', /must be between 0 and 1/],
  ['a model that is a number', { model: 5 }, 'model', /must be a non-empty string, got a number/],
  ['an empty model version', { modelVersion: '' }, 'modelVersion', /non-empty string/],
  ['a rule id that is an object', { ruleId: { id: 'r' } }, 'ruleId', /non-empty string, got an object/],
  ['a node confidence that is a word', { nodes: [{ id: 'a' }, { id: 'b', label: 'x', confidence: 'high' }] }, 'nodes[1].confidence', /number between 0 and 1/],
  ['a node confidence above 1', { nodes: [{ id: 'a', confidence: 80 }] }, 'nodes[0].confidence', /got 80/],
  ['a node rule id that is a number', { nodes: [{ id: 'a', ruleId: 7 }] }, 'nodes[0].ruleId', /non-empty string/],
];
for (const [name, value, path, message] of bad) {
  test(`provenance: ${name} → invalid_proposal at ${path}`, () => {
    const err = expectError(() => kg.reviewProposal(graph, value), 'invalid_proposal');
    assert.equal(err.path, path);
    assert.match(err.message, message);
    const session = new kg.ApprovalSession(graph);
    assert.equal(expectError(() => session.propose(value), 'invalid_proposal').path, path);
    assert.equal(session.review(), undefined);
  });
}

test('a rationale per suggestion: validated, beside its change, in the audit (nodes and edges), never in the graph; proposedAt from the clock or the caller', () => {
  const session = new kg.ApprovalSession(graph, { decisions: 'explicit' });
  const review = session.propose(
    {
      nodes: [{ id: 'a', label: 'A2', rationale: 'the cited source spells it A2' }, { id: 'n', label: 'New', rationale: 'named in a' }],
      edges: [{ source: 'a', target: 'n', label: 'cites', rationale: 'a cites n' }],
    },
    { source: 'ai', proposedAt: '2026-02-04T14:00:00Z' },
  );
  const why = Object.fromEntries(review.changes.map((c) => [c.id, c.rationale]));
  assert.equal(why['node/a/label'], 'the cited source spells it A2');
  assert.equal(why['node/n'], 'named in a');
  assert.equal(why['edge/a_n'], 'a cites n');
  assert.equal(review.provenance.proposedAt, '2026-02-04T14:00:00.000Z');
  session.acceptAll();
  const approved = session.approve({ user: 'ann', now: NOW });
  assert.equal(approved.audit.patchProvenance.a.rationale, 'the cited source spells it A2');
  assert.equal(approved.audit.edgeProvenance.a_n.rationale, 'a cites n');
  assert.equal(approved.audit.proposedAt, '2026-02-04T14:00:00.000Z');
  assert.ok(!JSON.stringify(approved.graph).includes('rationale'));

  const before = Date.now();
  const clocked = new kg.ApprovalSession(graph);
  const at = Date.parse(clocked.propose({ nodes: [{ id: 'a', label: 'A3' }] }).provenance.proposedAt);
  assert.ok(at >= before - 1 && at <= Date.now() + 1, 'told nothing: the time propose was called');
  for (const [bad, path] of [
    [{ nodes: [{ id: 'a', rationale: 5 }] }, 'nodes[0].rationale'],
    [{ edges: [{ id: 'a_b', rationale: '' }] }, 'edges[0].rationale'],
  ]) {
    assert.equal(expectError(() => clocked.propose(bad), 'invalid_proposal').path, path);
  }
  expectError(() => clocked.propose({ nodes: [] }, { proposedAt: 'soon' }), 'invalid_argument');
});
