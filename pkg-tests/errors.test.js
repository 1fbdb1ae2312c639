'use strict';
// Malformed and hostile input: every case throws a KgApprovalError with a
// stable code and a path, and the module works normally right after.
const test = require('node:test');
const assert = require('node:assert/strict');
const { kg, expectError, clone } = require('./support/kg');

const graph = { metadata: { version: 2 }, nodes: [{ id: 'a', label: 'A', info: 'alpha beta' }, { id: 'b', visible: false }], edges: [{ id: 'a_b', source: 'a', target: 'b' }] };
const okProposal = { nodes: [{ id: 'a', label: 'A2' }] };

function stillWorks() {
  const review = kg.reviewProposal(graph, okProposal);
  assert.equal(review.changes[0].new, 'A2');
}

const badGraphs = [
  ['null', null, 'invalid_graph', ''],
  ['a string', 'graph', 'invalid_graph', ''],
  ['an array', [], 'invalid_graph', ''],
  ['a number', 42, 'invalid_graph', ''],
  ['no nodes', { edges: [] }, 'invalid_graph', 'nodes'],
  ['a save body', { id: 'x', graphData: graph }, 'invalid_graph', 'nodes'],
  ['nodes an object', { nodes: {} }, 'invalid_graph', 'nodes'],
  ['nodes a string', { nodes: 'a,b' }, 'invalid_graph', 'nodes'],
  ['a node not an object', { nodes: [{ id: 'a' }, 'b'] }, 'invalid_graph', 'nodes[1]'],
  ['a node null', { nodes: [null] }, 'invalid_graph', 'nodes[0]'],
  ['missing id', { nodes: [{ id: 'a' }, { label: 'x' }] }, 'invalid_graph', 'nodes[1].id'],
  ['empty id', { nodes: [{ id: '' }] }, 'invalid_graph', 'nodes[0].id'],
  ['numeric id', { nodes: [{ id: 7 }] }, 'invalid_graph', 'nodes[0].id'],
  ['null id', { nodes: [{ id: null }] }, 'invalid_graph', 'nodes[0].id'],
  ['object id', { nodes: [{ id: { v: 1 } }] }, 'invalid_graph', 'nodes[0].id'],
  ['duplicate ids', { nodes: [{ id: 'a' }, { id: 'b' }, { id: 'a' }] }, 'duplicate_node_id', 'nodes[2].id'],
  ['edges an object', { nodes: [], edges: {} }, 'invalid_graph', 'edges'],
  ['an edge without id or ends', { nodes: [], edges: [{ label: 'x' }] }, 'invalid_graph', 'edges[0].id'],
  ['an edge with a numeric source', { nodes: [], edges: [{ source: 1, target: 'b' }] }, 'invalid_graph', 'edges[0].source'],
  ['metadata an array', { metadata: [], nodes: [] }, 'invalid_graph', 'metadata'],
];

for (const [name, bad, code, path] of badGraphs) {
  test(`graph: ${name} → ${code}`, () => {
    for (const call of [() => kg.reviewProposal(bad, okProposal), () => new kg.ApprovalSession(bad), () => kg.diffGraphs(bad, graph)]) {
      const err = expectError(call, code);
      assert.equal(err.path ?? '', path);
      assert.ok(err.message.length > 10, err.message);
    }
    stillWorks();
  });
}

const badProposals = [
  ['null', null, 'invalid_proposal', undefined],
  ['an array', [okProposal], 'invalid_proposal', undefined],
  ['nodes an object', { nodes: { id: 'a' } }, 'invalid_proposal', 'nodes'],
  ['a node patch a string', { nodes: ['a'] }, 'invalid_proposal', 'nodes[0]'],
  ['a node patch an array', { nodes: [{ id: 'a' }, ['x']] }, 'invalid_proposal', 'nodes[1]'],
  ['a node patch null', { nodes: [null] }, 'invalid_proposal', 'nodes[0]'],
  ['a patch without id', { nodes: [{ label: 'x' }] }, 'invalid_proposal', 'nodes[0].id'],
  ['a patch with an empty id', { nodes: [{ id: '' }] }, 'invalid_proposal', 'nodes[0].id'],
  ['a patch with a numeric id', { nodes: [{ id: 1, label: 'x' }] }, 'invalid_proposal', 'nodes[0].id'],
  ['the same node twice', { nodes: [{ id: 'a', label: '1' }, { id: 'a', label: '2' }] }, 'duplicate_node_id', 'nodes[1].id'],
  ['replaceAllNodes a string', { replaceAllNodes: 'true' }, 'invalid_proposal', 'replaceAllNodes'],
  ['removeNodeIds with a number', { removeNodeIds: ['a', 3] }, 'invalid_proposal', 'removeNodeIds[1]'],
  ['an edge without ends', { edges: [{ label: 'x' }] }, 'invalid_proposal', 'edges[0]'],
  ['metadata a string', { metadata: 'title' }, 'invalid_proposal', 'metadata'],
  ['a confidence that is a word', { confidence: 'high' }, 'invalid_proposal', 'confidence'],
  ['a confidence above 1', { confidence: 2 }, 'invalid_proposal', 'confidence'],
  ['a model that is a number', { model: 5 }, 'invalid_proposal', 'model'],
  ['a node patch confidence above 1', { nodes: [{ id: 'a', label: 'x', confidence: 1.5 }] }, 'invalid_proposal', 'nodes[0].confidence'],
  ['a node patch rule id that is a number', { nodes: [{ id: 'a', ruleId: 7 }] }, 'invalid_proposal', 'nodes[0].ruleId'],
  ['search text missing', { searchReplace: [{ nodeId: 'a', search: 'nope', replace: 'x' }] }, 'search_not_found', 'searchReplace[0].search'],
  ['search in an unknown node', { searchReplace: [{ nodeId: 'zz', search: 'a', replace: 'x' }] }, 'unknown_node', 'searchReplace[0].nodeId'],
  ['patch and remove one node', { nodes: [{ id: 'a', label: 'x' }], removeNodeIds: ['a'] }, 'conflicting_operations', 'removeNodeIds[0]'],
  ['update a missing edge', { edges: [{ id: 'nope', label: 'x' }] }, 'unknown_edge', 'edges[0]'],
];

for (const [name, bad, code, path] of badProposals) {
  test(`proposal: ${name} → ${code}`, () => {
    const err = expectError(() => kg.reviewProposal(graph, bad), code);
    if (path !== undefined) assert.equal(err.path, path);
    const session = new kg.ApprovalSession(graph);
    expectError(() => session.propose(bad), code);
    assert.equal(session.review(), undefined, 'a refused proposal leaves no pending review');
    assert.equal(session.propose(okProposal).changes.length, 1);
    stillWorks();
  });
}

class Point { constructor() { this.x = 1; } }
const cyclic = { id: 'a', meta: {} };
cyclic.meta.self = cyclic.meta;
let deep = {};
const deepRoot = deep;
for (let i = 0; i < 10000; i++) deep = deep.next = {};

const hostileValues = [
  ['undefined', undefined, 'nodes[0].label'],
  ['NaN', NaN, 'nodes[0].label'],
  ['Infinity', Infinity, 'nodes[0].label'],
  ['a BigInt', 10n, 'nodes[0].label'],
  ['a Symbol', Symbol('s'), 'nodes[0].label'],
  ['a function', () => 1, 'nodes[0].label'],
  ['a Date', new Date(0), 'nodes[0].label'],
  ['a Map', new Map([['x', 1]]), 'nodes[0].label'],
  ['a class instance', new Point(), 'nodes[0].label'],
  ['a lone surrogate', 'bad \uD800 text', 'nodes[0].label'],
  ['undefined inside an array', [1, undefined], 'nodes[0].label[1]'],
];

for (const [name, value, path] of hostileValues) {
  test(`value: ${name} in a patch → invalid_value at ${path}`, () => {
    const err = expectError(() => kg.reviewProposal(graph, { nodes: [{ id: 'a', label: value }] }), 'invalid_value');
    assert.equal(err.path, path);
    stillWorks();
  });
}

test('value: a cycle → invalid_value naming where it closes', () => {
  const err = expectError(() => kg.reviewProposal(graph, { nodes: [cyclic] }), 'invalid_value');
  assert.equal(err.path, 'nodes[0].meta.self');
  stillWorks();
});

test('value: 10,000 levels of nesting → invalid_value, no stack overflow', () => {
  const err = expectError(() => kg.reviewProposal(graph, { nodes: [{ id: 'a', deep: deepRoot }] }), 'invalid_value');
  assert.match(err.message, /deeper than 128/);
  stillWorks();
});

test('value: a lone surrogate in an id or a key is refused', () => {
  expectError(() => kg.reviewProposal(graph, { nodes: [{ id: '\uDC00' }] }), 'invalid_value');
  expectError(() => kg.reviewProposal(graph, { nodes: [{ id: 'a', ['k\uD800']: 1 }] }), 'invalid_value');
  expectError(() => new kg.ApprovalSession({ nodes: [{ id: 'a\uD83D' }] }), 'invalid_value');
  expectError(() => kg.diffText('\uD800', 'x'), 'invalid_value');
  stillWorks();
});

test('keys __proto__, constructor and prototype round-trip as own data', () => {
  const node = JSON.parse('{"id":"a","__proto__":{"polluted":true},"constructor":"c","prototype":1}');
  const g = { nodes: [node] };
  const session = new kg.ApprovalSession(g);
  const patch = JSON.parse('{"id":"a","__proto__":{"polluted":false},"label":"x"}');
  const review = session.propose({ nodes: [patch] });
  assert.deepEqual(review.changes.map((c) => c.field), ['__proto__', 'label']);
  const { graph: after } = session.approve({ user: 'ann', now: '2026-02-04T14:30:45.123Z' });
  const out = after.nodes[0];
  assert.ok(Object.prototype.hasOwnProperty.call(out, '__proto__'));
  assert.deepEqual(Object.getOwnPropertyDescriptor(out, '__proto__').value, { polluted: false });
  assert.equal(out.constructor, 'c');
  assert.equal({}.polluted, undefined, 'Object.prototype untouched');
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
});

test('session calls out of order or with unknown ids are errors, not traps', () => {
  const session = new kg.ApprovalSession(graph);
  expectError(() => session.accept('node/a/label'), 'no_pending_review');
  expectError(() => session.approve({ user: 'ann' }), 'no_pending_review');
  session.propose(okProposal);
  expectError(() => session.reject('node/zz/label'), 'unknown_change');
  expectError(() => session.rejectNode('zz'), 'unknown_node');
  expectError(() => session.accept(42), 'invalid_argument');
  expectError(() => session.approve({}), 'invalid_argument');
  expectError(() => session.approve({ user: '' }), 'invalid_argument');
  expectError(() => session.approve({ user: 'ann', now: 'yesterday' }), 'invalid_argument');
  expectError(() => session.approve({ user: 'ann', when: 'typo' }), 'invalid_argument');
  expectError(() => session.approve({ user: 'ann', now: new Date() }), 'invalid_value');
  const approved = session.approve({ user: 'ann', now: '2026-02-04T14:30:45.123Z' });
  assert.equal(approved.graph.nodes[0].label, 'A2');
});

test('undefined in an option object means "not given"; in data it is refused', () => {
  const session = new kg.ApprovalSession(graph, { graphId: undefined, granularity: undefined });
  session.propose(okProposal, { source: 'ai', model: undefined });
  const approved = session.approve({ user: 'ann', reason: undefined, now: '2026-02-04T14:30:45.123Z' });
  assert.equal(approved.audit.reason, null);
  assert.equal(kg.diffText('a', 'b', { budgetMs: undefined }).ops.length, 2);
  expectError(() => kg.reviewProposal(graph, { nodes: [{ id: 'a', label: undefined }] }), 'invalid_value');
  session.propose(okProposal);
  const err = expectError(() => session.approve({ user: undefined }), 'invalid_argument');
  assert.match(err.message, /^approval\.user: is missing$/);
});

test('bad options are refused by name', () => {
  const named = (fn, message) => assert.equal(expectError(fn, 'invalid_argument').message, message);
  named(() => kg.diffText('a', 'b', { granularity: 'sentence' }), "options.granularity: must be one of: auto, line, word, char, got 'sentence'");
  named(() => kg.diffText('a', 'b', { budgetMs: -1 }), 'options.budgetMs: must be between 0 and 60000, got -1');
  named(() => kg.diffText('a', 'b', { budgetMS: 5 }), 'options.budgetMS: unknown field, expected one of: granularity, budgetMs, service');
  named(() => new kg.ApprovalSession(graph, { graphId: 5 }), 'options.graphId: must be a string, got a number');
  named(() => new kg.ApprovalSession(graph).propose(okProposal, { source: 1 }), 'context.source: must be a string, got a number');
  named(() => new kg.HistoryClient({ baseUrl: 'http://x', retries: -2 }), 'options.retries: must be a whole number from 0 to 4294967295, got -2');
  named(() => new kg.HistoryClient({ baseUrl: 'http://x', headers: { 'X-A': 1 } }), 'options.headers.X-A: must be a string, got a number');
  const session = new kg.ApprovalSession(graph);
  session.propose(okProposal);
  session.approve({ user: 'ann', now: '2026-02-04T14:30:45.123Z' });
  const kept = JSON.parse(JSON.stringify(session.pendingSaves()));
  kept[0].audit.decisions[Object.keys(kept[0].audit.decisions)[0]].decidedBy = 'robot';
  const err = expectError(() => new kg.ApprovalSession(graph).restorePendingSaves(kept), 'invalid_argument');
  const id = Object.keys(kept[0].audit.decisions)[0];
  assert.equal(err.message, `saves[0].audit.decisions.${id}.decidedBy: must be one of: default, change, node, bulk, dependency, got 'robot'`);
  assert.equal(err.path, `saves[0].audit.decisions.${id}.decidedBy`);
  assert.equal(kg.diffText('a', 'b', null).ops.length, 2);
});

test('a failed approval changes nothing', () => {
  const g = { nodes: [{ id: 'a' }], edges: [] };
  const session = new kg.ApprovalSession(g);
  session.propose({ nodes: [{ id: 'n', label: 'N' }], edges: [{ source: 'a', target: 'n' }] });
  const before = JSON.stringify(session.graph());
  expectError(() => session.approve({ user: ' ann' }), 'invalid_argument');
  assert.equal(JSON.stringify(session.graph()), before);
  assert.ok(session.review(), 'the review is still pending after a refused approval');
  const approved = session.approve({ user: 'ann', now: '2026-02-04T14:30:45.123Z' });
  assert.equal(approved.graph.edges.length, 1);
  assert.deepEqual(clone(approved.graph.nodes.map((n) => n.id)), ['a', 'n']);
});
