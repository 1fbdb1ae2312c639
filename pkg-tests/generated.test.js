'use strict';
// Generated graphs, so a fresh clone without ../shared still tests on
// realistic data: many seeds, sizes and decision patterns.
const test = require('node:test');
const assert = require('node:assert/strict');
const { kg } = require('./support/kg');
const { generateGraph, generateProposal } = require('./support/generate');
const { approveAndCheck, rejectAllIsIdentity } = require('./support/invariants');

const cases = [
  { nodes: 40, seed: 1, edits: 10 },
  { nodes: 200, seed: 2, edits: 25 },
  { nodes: 1000, seed: 3, edits: 25, infoBytes: [100, 400], htmlEvery: 50, htmlBytes: [2000, 4000] },
];

for (const c of cases) {
  const graph = generateGraph(c.nodes, { seed: c.seed, infoBytes: c.infoBytes ?? [200, 1200], htmlEvery: c.htmlEvery ?? 20, htmlBytes: c.htmlBytes ?? [2000, 6000] });
  const proposal = generateProposal(graph, { seed: c.seed + 100, edits: c.edits });

  test(`generated ${c.nodes} nodes: the review covers the whole proposal`, () => {
    const review = kg.reviewProposal(graph, proposal);
    assert.equal(review.summary.nodesChanged, c.edits);
    assert.equal(review.summary.fieldsChanged, c.edits * 3, 'label, info and position of each edited node');
    assert.equal(review.summary.nodesAdded, 1);
    assert.equal(review.summary.nodesRemoved, 1);
    assert.equal(review.summary.edgesAdded, 1);
    const removedId = proposal.removeNodeIds[0];
    const touching = graph.edges.filter((e) => e.source === removedId || e.target === removedId).length;
    assert.equal(review.summary.edgesRemoved, touching);
    for (const change of review.changes.filter((x) => x.field === 'info')) {
      const rebuilt = (keep) => change.text.ops.filter((o) => o.op === 'equal' || o.op === keep).map((o) => o.text).join('');
      assert.equal(rebuilt('delete'), change.old);
      assert.equal(rebuilt('insert'), change.new);
    }
  });

  for (const rejectEvery of [0, 2, 3]) {
    test(`generated ${c.nodes} nodes: approve with every ${rejectEvery || 'no'}th change rejected`, () => {
      approveAndCheck(graph, proposal, { rejectEvery });
    });
  }

  test(`generated ${c.nodes} nodes: reject all is the identity`, () => {
    rejectAllIsIdentity(graph, proposal);
  });
}

test('a session reviews proposal after proposal on a 5,000-node graph without copying it back', () => {
  const graph = generateGraph(5000, { seed: 9, infoBytes: [100, 300], htmlEvery: 0 });
  const session = new kg.ApprovalSession(graph);
  for (let round = 0; round < 5; round++) {
    const node = graph.nodes[round * 7];
    const review = session.propose({ nodes: [{ id: node.id, label: `round ${round}` }] });
    assert.equal(review.changes.length, 1);
    const approved = session.approve({ user: 'ann', now: `2026-02-0${round + 1}T00:00:00.000Z` });
    assert.equal(approved.graph.nodes.length, 5000);
  }
  const final = session.graph();
  assert.equal(final.nodes[14].label, 'round 2');
  assert.equal(final.nodes[14].updatedAt, '2026-02-03T00:00:00.000Z');
});
