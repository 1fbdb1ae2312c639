'use strict';
// The five real graphs from the editor this package serves.
const test = require('node:test');
const assert = require('node:assert/strict');
const { kg, clone } = require('./support/kg');
const { loadFixtures, fixturesSkip } = require('./support/fixtures');
const { approveAndCheck, rejectAllIsIdentity } = require('./support/invariants');

const fixtures = loadFixtures();

/** An AI-like proposal made from the graph itself. */
function proposalFor(graph) {
  const nodes = graph.nodes;
  const first = nodes[0];
  const longest = nodes.filter((n) => n !== first && typeof n.info === 'string' && n.info.length > 20).sort((a, b) => b.info.length - a.info.length)[0];
  const word = longest.info.split(/\s+/).find((w) => w.length > 4);
  const last = nodes[nodes.length - 1];
  return {
    nodes: [
      { id: first.id, label: `${first.label ?? first.id} (revised)`, position: { x: 5 } },
      { id: 'ai-added-node', label: 'Added by the AI', type: 'fulltext', info: 'New **markdown**.' },
    ],
    searchReplace: [{ nodeId: longest.id, search: word, replace: word.toUpperCase() }],
    edges: [{ source: first.id, target: 'ai-added-node', label: 'see also' }],
    removeNodeIds: last.id !== first.id && last.id !== longest.id ? [last.id] : [],
    metadata: { title: 'Revised title' },
  };
}

test('the five fixture graphs are all there', { skip: fixturesSkip }, () => {
  assert.equal(fixtures.length, 5);
});

for (const { name, graph } of fixtures) {
  test(`${name}: loads and round-trips every field in order`, () => {
    const session = new kg.ApprovalSession(graph);
    assert.equal(JSON.stringify(session.graph()), JSON.stringify(graph));
  });

  test(`${name}: approve all keeps every untouched node and edge intact`, () => {
    const { review, approved } = approveAndCheck(graph, proposalFor(graph));
    assert.ok(review.summary.nodesChanged >= 2, 'a rename and a search/replace');
    assert.equal(review.summary.nodesAdded, 1);
    assert.equal(approved.graph.edges.length, (graph.edges ?? []).length + 1 - review.summary.edgesRemoved);
  });

  test(`${name}: selective approval (every other change rejected) stays consistent`, () => {
    approveAndCheck(graph, proposalFor(graph), { rejectEvery: 2 });
  });

  test(`${name}: reject all leaves the graph byte for byte`, () => {
    rejectAllIsIdentity(graph, proposalFor(graph));
  });

  test(`${name}: a hidden node survives an AI that replaces all the nodes it saw`, () => {
    const g = clone(graph);
    g.nodes[1].visible = false;
    const seen = g.nodes.filter((n) => n.visible !== false);
    const { review, approved } = approveAndCheck(g, { replaceAllNodes: true, nodes: seen.map((n) => ({ id: n.id, label: `${n.label ?? ''}!` })) });
    assert.equal(review.summary.nodesRemoved, 0);
    assert.deepEqual(approved.graph.nodes[1], g.nodes[1]);
  });
}

test('frontpage: edges spelled from/to stay from/to when updated', { skip: fixturesSkip }, () => {
  const { graph } = fixtures.find((f) => f.name.startsWith('frontpage'));
  const edge = graph.edges[0];
  const session = new kg.ApprovalSession(graph);
  const review = session.propose({ edges: [{ source: edge.from, target: edge.to, id: edge.id, label: 'relabelled' }] });
  assert.deepEqual(review.changes.map((c) => c.id), [`edge/${edge.id}/label`]);
  const out = session.approve({ user: 'ann', now: '2026-02-04T14:30:45.123Z' }).graph.edges[0];
  assert.deepEqual(Object.keys(out), [...Object.keys(edge), 'updatedAt', 'updatedBy']);
  assert.equal(out.from, edge.from);
});

test('ai-use-realism: a string version "1.0" is kept as the base version', { skip: fixturesSkip }, () => {
  const { graph } = fixtures.find((f) => f.name.startsWith('ai-use-realism'));
  const session = new kg.ApprovalSession(graph);
  assert.equal(session.baseVersion, '1.0');
  session.propose({ nodes: [{ id: graph.nodes[0].id, label: 'x' }] });
  assert.equal(session.approve({ user: 'ann' }).audit.baseVersion, '1.0');
});

test('autorag: the graph id defaults to the top-level id and mojibake text is kept as is', { skip: fixturesSkip }, () => {
  const { graph } = fixtures.find((f) => f.name.startsWith('autorag'));
  const session = new kg.ApprovalSession(graph);
  assert.equal(session.graphId, graph.id);
  assert.equal(session.graph().metadata.createdBy, graph.metadata.createdBy);
});

test('node-example: a graph without metadata gets metadata stamps only when something is approved', { skip: fixturesSkip }, () => {
  const { graph } = fixtures.find((f) => f.name.startsWith('node-example'));
  assert.equal(graph.metadata, undefined);
  const session = new kg.ApprovalSession(graph);
  assert.equal(session.propose({ nodes: [{ id: graph.nodes[0].id, type: 'title' }] }).changes.length, 1);
  const approved = session.approve({ user: 'ann', now: '2026-02-04T14:30:45.123Z' });
  assert.deepEqual(approved.graph.metadata, { updated: '2026-02-04T14:30:45.123Z', updatedBy: 'ann' });
  assert.deepEqual(Object.keys(approved.graph), ['metadata', 'nodes', 'edges']);
});
