'use strict';
// The hostile-input corpus of the JS boundary (issue 6). Each case is one
// test that
//   1. calls the package with hostile input and asserts the thrown
//      KgApprovalError's `code` (and path), or checks a correct result;
//   2. asserts that no argument was mutated (compared with a deep copy made
//      before the call, property descriptors and holes included);
//   3. asserts that Object.prototype gained nothing;
//   4. makes a normal call, proving the module still works.
// errors.test.js has the per-field catalogue of malformed graphs and proposals.
const test = require('node:test');
const assert = require('node:assert/strict');
const { kg, expectError } = require('./support/kg');

const NOW = '2026-02-04T14:30:45.123Z';
const graph = () => ({
  metadata: { title: 'T', version: 2 },
  nodes: [
    { id: 'a', label: 'A', info: 'alpha beta gamma' },
    { id: 'b', label: 'B', visible: false },
  ],
  edges: [{ id: 'a_b', source: 'a', target: 'b' }],
});
const patch = (fields) => ({ nodes: [{ id: 'a', ...fields }] });

/** Propose then approve everything; returns approve()'s result. */
function approveAll(g, proposal, approval = { user: 'ann', now: NOW }) {
  const session = new kg.ApprovalSession(g);
  session.propose(proposal);
  return session.approve(approval);
}
/** A session with a pending review of a one-field patch. */
function pending() {
  const session = new kg.ApprovalSession(graph());
  session.propose(patch({ label: 'A2' }));
  return session;
}

// A deep copy that keeps what a mutation would change: own property
// descriptors (so getters are not called and `__proto__` stays an own key),
// prototypes, array holes, cycles. Leaves that are not plain data, and
// objects whose keys cannot be read (a throwing Proxy), are shared.
// Iterative, because the inputs nest 10,000 deep.
function snapshot(root) {
  const seen = new Map();
  const copyOf = (value, pending) => {
    if (value === null || typeof value !== 'object') return value;
    if (seen.has(value)) return seen.get(value);
    let keys;
    let proto;
    try {
      keys = Reflect.ownKeys(value);
      proto = Object.getPrototypeOf(value);
    } catch {
      return value;
    }
    const isArray = Array.isArray(value);
    if (!isArray && proto !== Object.prototype && proto !== null) return value;
    const copy = isArray ? new Array(value.length) : Object.create(proto);
    seen.set(value, copy);
    pending.push([value, copy, keys]);
    return copy;
  };
  const pending = [];
  const top = copyOf(root, pending);
  while (pending.length) {
    const [value, copy, keys] = pending.pop();
    for (const key of keys) {
      if (Array.isArray(value) && key === 'length') continue;
      const d = Object.getOwnPropertyDescriptor(value, key);
      if ('value' in d) d.value = copyOf(d.value, pending);
      Object.defineProperty(copy, key, d);
    }
  }
  return top;
}

// Compares what snapshot() kept, without calling getters.
function assertUnchanged(actualRoot, expectedRoot, name) {
  const seen = new Set();
  const stack = [[actualRoot, expectedRoot, name]];
  while (stack.length) {
    const [actual, expected, path] = stack.pop();
    if (expected === null || typeof expected !== 'object') {
      assert.ok(Object.is(actual, expected), `${path} changed`);
      continue;
    }
    // Same reference: a shared leaf (see snapshot), nothing to walk.
    if (actual === expected || seen.has(expected)) continue;
    seen.add(expected);
    const proto = Object.getPrototypeOf(expected);
    assert.ok(Array.isArray(expected) || proto === Object.prototype || proto === null, `${path} was replaced`);
    assert.equal(Object.getPrototypeOf(actual), proto, `${path}'s prototype changed`);
    assert.deepEqual(Reflect.ownKeys(actual), Reflect.ownKeys(expected), `${path}'s keys changed`);
    for (const key of Reflect.ownKeys(expected)) {
      const a = Object.getOwnPropertyDescriptor(actual, key);
      const e = Object.getOwnPropertyDescriptor(expected, key);
      if ('value' in e) stack.push([a.value, e.value, `${path}.${String(key)}`]);
      else assert.ok(a.get === e.get && a.set === e.set, `${path}.${String(key)}'s accessor changed`);
    }
  }
}

const protoKeys = Object.getOwnPropertyNames(Object.prototype).join();

function stillWorks() {
  const review = kg.reviewProposal(graph(), patch({ label: 'ok' }));
  assert.equal(review.changes.length, 1);
  assert.equal(kg.diffText('a b', 'a c').ops.length, 3);
}

const cases = [];
/** A case that must throw `code` (at `path`, if given). */
const refuses = (category, name, code, args, call, path) => cases.push({ category, name, code, args, call, path });
/** A case that must work; `check` asserts the result. */
const works = (category, name, args, call, check) => cases.push({ category, name, args, call, check });

// --- wrong types where objects, strings and arrays belong --------------------
const W = 'wrong type';
refuses(W, 'reviewProposal(undefined, p)', 'invalid_graph', () => [undefined, patch({ x: 1 })], (g, p) => kg.reviewProposal(g, p));
refuses(W, 'reviewProposal(g, undefined)', 'invalid_proposal', () => [graph(), undefined], (g, p) => kg.reviewProposal(g, p));
refuses(W, 'a proposal that is a string', 'invalid_proposal', () => [graph(), 'nodes'], (g, p) => kg.reviewProposal(g, p));
refuses(W, 'a proposal that is a number', 'invalid_proposal', () => [graph(), 42], (g, p) => kg.reviewProposal(g, p));
refuses(W, 'a proposal that is true', 'invalid_proposal', () => [graph(), true], (g, p) => kg.reviewProposal(g, p));
refuses(W, 'a proposal that is a function', 'invalid_value', () => [() => 1], (p) => new kg.ApprovalSession(graph()).propose(p));
refuses(W, 'a graph that is a Symbol', 'invalid_value', () => [Symbol('g')], (g) => new kg.ApprovalSession(g));
refuses(W, 'session options that are a string', 'invalid_argument', () => [graph(), 'opts'], (g, o) => new kg.ApprovalSession(g, o));
refuses(W, 'a graphId that is an object', 'invalid_argument', () => [graph(), { graphId: {} }], (g, o) => new kg.ApprovalSession(g, o));
refuses(W, 'diffText(1, "b")', 'invalid_argument', () => [1, 'b'], (a, b) => kg.diffText(a, b));
refuses(W, 'diffText("a", null)', 'invalid_argument', () => ['a', null], (a, b) => kg.diffText(a, b));
refuses(W, 'diffText options that are a string', 'invalid_argument', () => ['word'], (o) => kg.diffText('a', 'b', o));
refuses(W, 'a granularity that is a number', 'invalid_argument', () => [{ granularity: 3 }], (o) => kg.diffText('a', 'b', o));
refuses(W, 'diffGraphs(g, [])', 'invalid_graph', () => [graph(), []], (a, b) => kg.diffGraphs(a, b));
refuses(W, 'diffGraphs(g, "x")', 'invalid_graph', () => [graph(), 'x'], (a, b) => kg.diffGraphs(a, b));
refuses(W, 'accept(null)', 'invalid_argument', () => [null], (id) => pending().accept(id));
refuses(W, 'accept({})', 'invalid_argument', () => [{}], (id) => pending().accept(id));
refuses(W, 'approve("ann")', 'invalid_argument', () => ['ann'], (a) => pending().approve(a));
refuses(W, 'approve({ user: 7 })', 'invalid_argument', () => [{ user: 7 }], (a) => pending().approve(a));
refuses(W, 'restorePendingSaves({})', 'invalid_argument', () => [{}], (s) => new kg.ApprovalSession(graph()).restorePendingSaves(s));
refuses(W, 'restorePendingSaves([{}])', 'invalid_argument', () => [[{}]], (s) => new kg.ApprovalSession(graph()).restorePendingSaves(s));
refuses(W, 'markSaved(1, 2)', 'invalid_argument', () => [1, 2], (id, v) => new kg.ApprovalSession(graph()).markSaved(id, v));
refuses(W, 'rebase("x")', 'invalid_graph', () => ['x'], (g) => new kg.ApprovalSession(graph()).rebase(g));
refuses(W, 'new HistoryClient(null)', 'invalid_argument', () => [null], (o) => new kg.HistoryClient(o));
refuses(W, 'a baseUrl that is a number', 'invalid_argument', () => [{ baseUrl: 5 }], (o) => new kg.HistoryClient(o));
refuses(W, 'saveBody(5)', 'invalid_argument', () => [5], (a) => kg.saveBody(a));

// --- values JSON cannot carry, each in a different place --------------------
const V = 'not data';
class Point {
  constructor() {
    this.x = 1;
  }
}
const session = (g) => new kg.ApprovalSession(g);
const review = (p) => kg.reviewProposal(graph(), p);
refuses(V, 'undefined in a graph node', 'invalid_value', () => [{ nodes: [{ id: 'a', x: undefined }] }], session, 'nodes[0].x');
refuses(V, 'NaN in graph metadata', 'invalid_value', () => [{ metadata: { n: NaN }, nodes: [] }], session, 'metadata.n');
refuses(V, 'Infinity in proposal metadata', 'invalid_value', () => [{ metadata: { n: Infinity } }], review, 'metadata.n');
refuses(V, '-Infinity in an edge patch', 'invalid_value', () => [{ edges: [{ id: 'a_b', w: -Infinity }] }], review, 'edges[0].w');
refuses(V, 'a BigInt in a graph edge', 'invalid_value', () => [{ nodes: [], edges: [{ source: 'a', target: 'b', w: 1n }] }], session, 'edges[0].w');
refuses(V, 'a Symbol in a patch', 'invalid_value', () => [patch({ x: Symbol('s') })], review, 'nodes[0].x');
refuses(V, 'a function in the after graph of diffGraphs', 'invalid_value', () => [graph(), { nodes: [{ id: 'a', f() {} }] }], kg.diffGraphs, 'nodes[0].f');
refuses(V, 'a Date in proposal metadata', 'invalid_value', () => [{ metadata: { at: new Date(0) } }], review, 'metadata.at');
refuses(V, 'a Map in a graph node', 'invalid_value', () => [{ nodes: [{ id: 'a', m: new Map() }] }], session, 'nodes[0].m');
refuses(V, 'a Set in a patch', 'invalid_value', () => [patch({ s: new Set([1]) })], review, 'nodes[0].s');
refuses(V, 'a class instance in a graph', 'invalid_value', () => [{ nodes: [{ id: 'a', p: new Point() }] }], session, 'nodes[0].p');
refuses(V, 'a RegExp in a patch', 'invalid_value', () => [patch({ r: /x/ })], review, 'nodes[0].r');
refuses(V, 'a Uint8Array in a patch', 'invalid_value', () => [patch({ b: new Uint8Array(2) })], review, 'nodes[0].b');
refuses(V, 'a Promise in a patch', 'invalid_value', () => [patch({ p: Promise.resolve(1) })], review, 'nodes[0].p');
refuses(V, 'an object with toJSON', 'invalid_value', () => [patch({ t: { toJSON: () => 'sneaky' } })], review, 'nodes[0].t');
refuses(V, 'a Symbol key', 'invalid_value', () => [patch({ [Symbol('k')]: 1, x: 1 })], review, 'nodes[0]');
refuses(V, 'a getter that throws', 'invalid_value', () => [{ nodes: [{ id: 'a', get x() { throw new Error('boom'); } }] }], review, 'nodes[0].x');
refuses(V, 'a Proxy whose traps throw', 'invalid_value', () => [new Proxy({}, { ownKeys() { throw new Error('trap'); } })], review, '');
refuses(V, 'a hole in a sparse array', 'invalid_value', () => [patch({ list: [1, , 3] })], review, 'nodes[0].list[1]'); // eslint-disable-line no-sparse-arrays
works(V, 'a Proxy that reads like its target (Vue reactive)', () => [new Proxy(patch({ label: 'via proxy' }), {})], review, (r) => assert.equal(r.changes[0].new, 'via proxy'));
works(V, 'a null-prototype object', () => [{ nodes: [Object.assign(Object.create(null), { id: 'a', label: 'np' })] }], review, (r) => assert.equal(r.changes[0].new, 'np'));
works(V, '-0 and 2^60 are numbers', () => [patch({ z: -0, big: 2 ** 60 })], review, (r) => assert.deepEqual(r.changes.map((c) => c.new), [0, 2 ** 60]));

const doubles = [0.1 + 0.2, 2 ** 53 + 2, 1e300 / 3, 5e-324, Number.MAX_VALUE, 1.1111111111111111e44, -1e-7, 123456789.12345679];
works(V, 'numbers come back as the same doubles, bit for bit', () => [{ nodes: [{ id: 'a', n: doubles, position: { x: 0.1 + 0.7, y: 1 / 3 } }] }], (g) => approveAll(g, patch({ label: 'x' })), (r, g) => {
  const node = r.graph.nodes[0];
  node.n.forEach((v, i) => assert.ok(Object.is(v, g.nodes[0].n[i]), `${v} came back for ${g.nodes[0].n[i]}`));
  assert.deepEqual(node.position, g.nodes[0].position);
});

// --- cycles -------------------------------------------------------------------
const C = 'cycle';
refuses(C, 'a graph node that contains itself', 'invalid_value', () => {
  const node = { id: 'a' };
  node.self = node;
  return [{ nodes: [node] }];
}, session, 'nodes[0].self');
refuses(C, 'an array that contains itself', 'invalid_value', () => {
  const list = [1];
  list.push(list);
  return [patch({ list })];
}, review, 'nodes[0].list[1]');
refuses(C, 'graph metadata that loops through two objects', 'invalid_value', () => {
  const a = {};
  const b = { a };
  a.b = b;
  return [{ metadata: { a }, nodes: [] }, graph()];
}, kg.diffGraphs, 'metadata.a.b.a');
works(C, 'one object used twice is not a cycle', () => {
  const shared = { x: 1 };
  return [{ nodes: [{ id: 'a', p: shared, q: shared }] }];
}, (p) => kg.reviewProposal(graph(), p), (r) => assert.deepEqual(r.changes.map((c) => c.new), [{ x: 1 }, { x: 1 }]));

// --- deep nesting -----------------------------------------------------------------
const D = 'nesting';
const nested = (depth, make) => {
  let root = 1;
  for (let i = 0; i < depth; i++) root = make(root);
  return root;
};
refuses(D, '10,000 nested objects in a graph', 'invalid_value', () => [{ nodes: [{ id: 'a', deep: nested(10000, (v) => ({ v })) }] }], session);
refuses(D, '10,000 nested arrays in a patch', 'invalid_value', () => [patch({ deep: nested(10000, (v) => [v]) })], review);
refuses(D, '10,000 nested objects in diffGraphs', 'invalid_value', () => [graph(), { nodes: [], metadata: nested(10000, (v) => ({ v })) }], kg.diffGraphs);
works(D, '100 levels round-trip exactly', () => [patch({ deep: nested(100, (v) => ({ v })) })], (p) => approveAll(graph(), p), (r, p) =>
  assert.deepEqual(r.graph.nodes[0].deep, p.nodes[0].deep));

// --- huge ---------------------------------------------------------------------------
const B = 'size';
const MB50 = 50 * 1024 * 1024;
const big = (tail) => 'x'.repeat(MB50 - 1) + tail;
works(B, 'a 50 MB info edited by one letter', () => [{ nodes: [{ id: 'a', info: big('a') }] }, patch({ info: big('b') })], (g, p) => kg.reviewProposal(g, p), (r) => {
  const [change] = r.changes;
  assert.equal(change.text.ops.filter((o) => o.op === 'equal').reduce((n, o) => n + o.text.length, 0), MB50 - 1);
  assert.deepEqual(change.text.ops.filter((o) => o.op !== 'equal').map((o) => [o.op, o.text]), [['delete', 'a'], ['insert', 'b']]);
});
works(B, 'diffText of two 50 MB strings', () => [big('a'), big('b')], (a, b) => kg.diffText(a, b), (d, a, b) => {
  assert.equal(d.ops.filter((o) => o.op !== 'insert').map((o) => o.text).join(''), a);
  assert.equal(d.ops.filter((o) => o.op !== 'delete').map((o) => o.text).join(''), b);
});
works(B, 'a 50 MB metadata title', () => [{ metadata: { title: big('t') } }], (p) => approveAll(graph(), p), (r) => assert.equal(r.graph.metadata.title.length, MB50));
const manyNodes = (n) => ({ nodes: Array.from({ length: n }, (_, i) => ({ id: `n${i}`, label: `Node ${i}`, visible: i % 7 !== 0 })), edges: [] });
works(B, 'a 100k-node graph: three patches', () => [manyNodes(100000)], (g) => approveAll(g, { nodes: [{ id: 'n5', label: 'x' }, { id: 'n99999', label: 'y' }, { id: 'new', label: 'z' }] }), (r, g) => {
  assert.equal(r.graph.nodes.length, 100001);
  assert.equal(r.graph.nodes.filter((n) => n.visible === false).length, g.nodes.filter((n) => n.visible === false).length, 'hidden nodes kept');
  assert.deepEqual(r.graph.nodes[6], g.nodes[6]);
});
works(B, 'diffGraphs of 100k-node graphs, one change', () => {
  const a = manyNodes(100000);
  const b = manyNodes(100000);
  b.nodes[50000].label = 'moved';
  return [a, b];
}, kg.diffGraphs, (d) => assert.deepEqual(d.changes.map((c) => c.id), ['node/n50000/label']));
works(B, 'a proposal patching all 100k nodes', () => [manyNodes(100000), { nodes: Array.from({ length: 100000 }, (_, i) => ({ id: `n${i}`, label: `L${i}` })) }], (g, p) => kg.reviewProposal(g, p), (r) =>
  assert.equal(r.summary.nodesChanged, 100000));

// --- lone UTF-16 surrogates ---------------------------------------------------------
const S = 'lone surrogate';
refuses(S, 'in a graph node id', 'invalid_value', () => [{ nodes: [{ id: 'a\uD800' }] }], session, 'nodes[0].id');
refuses(S, 'in a graph node key', 'invalid_value', () => [{ nodes: [{ id: 'a', ['k\uDC00']: 1 }] }], session, 'nodes[0]["k\\udc00"]');
refuses(S, 'in proposal metadata', 'invalid_value', () => [{ metadata: { title: '\uDBFF!' } }], review, 'metadata.title');
refuses(S, 'in an edge source', 'invalid_value', () => [{ edges: [{ source: 'a', target: 'b\uD83D' }] }], review, 'edges[0].target');
refuses(S, 'in diffText', 'invalid_value', () => ['ok', 'bad\uDE00'], (a, b) => kg.diffText(a, b));
refuses(S, 'in an approval reason', 'invalid_value', () => [{ user: 'ann', reason: 'because\uD800' }], (a) => pending().approve(a), 'reason');
refuses(S, 'in a graphId option', 'invalid_value', () => [graph(), { graphId: '\uD800' }], (g, o) => new kg.ApprovalSession(g, o), 'graphId');
refuses(S, 'in markSaved', 'invalid_value', () => ['\uDC00', 2], (id, v) => new kg.ApprovalSession(graph()).markSaved(id, v));
works(S, 'a surrogate pair (an emoji) in ids and keys is text', () => [{ nodes: [{ id: 'a😀', ['k😀']: '👩‍👩‍👧' }] }], (g) => approveAll(g, { nodes: [{ id: 'a😀', ['k😀']: '🇳🇴' }] }), (r) =>
  assert.equal(r.graph.nodes[0]['k😀'], '🇳🇴'));

// --- __proto__, constructor, prototype ----------------------------------------------
const P = 'prototype keys';
const own = (json) => JSON.parse(json);
works(P, '__proto__ in a graph node, a patch, graph and proposal metadata and an edge', () => [
  own('{"metadata":{"__proto__":{"g":1}},"nodes":[{"id":"a","__proto__":{"polluted":1}}],"edges":[{"source":"a","target":"a","__proto__":{"e":1}}]}'),
  own('{"metadata":{"__proto__":{"g":2}},"nodes":[{"id":"a","__proto__":{"polluted":2},"constructor":"c","prototype":"p"}]}'),
], approveAll, (r) => {
  const node = r.graph.nodes[0];
  assert.deepEqual(Object.getOwnPropertyDescriptor(node, '__proto__').value, { polluted: 2 });
  assert.deepEqual([node.constructor, node.prototype], ['c', 'p']);
  assert.deepEqual(Object.getOwnPropertyDescriptor(r.graph.metadata, '__proto__').value, { g: 2 });
  assert.deepEqual(Object.getOwnPropertyDescriptor(r.graph.edges[0], '__proto__').value, { e: 1 });
  assert.equal(Object.getPrototypeOf(node), Object.prototype);
  assert.deepEqual(Object.keys(r.audit.changes.a).sort(), ['__proto__', 'constructor', 'prototype']);
});
works(P, 'nodes with the ids __proto__ and constructor', () => [{ nodes: [{ id: '__proto__' }, { id: 'constructor' }] }], (g) => approveAll(g, { nodes: [{ id: '__proto__', label: 'x' }, { id: 'constructor', label: 'y' }] }), (r) => {
  assert.deepEqual(r.graph.nodes.map((n) => [n.id, n.label]), [['__proto__', 'x'], ['constructor', 'y']]);
  assert.ok(Object.prototype.hasOwnProperty.call(r.audit.changes, '__proto__'));
});
works(P, 'a top-level __proto__ key in a proposal is an unknown key, not a prototype', () => [own('{"__proto__":{"nodes":[{"id":"a","label":"evil"}]}}')], review, (r) => {
  assert.equal(r.changes.length, 0);
  assert.deepEqual(r.warnings.map((w) => w.code), ['unknown_proposal_key']);
});
works(P, 'diffGraphs names __proto__ fields as data', () => [own('{"nodes":[{"id":"a","__proto__":1}]}'), own('{"nodes":[{"id":"a","__proto__":2}]}')], kg.diffGraphs, (d) =>
  assert.deepEqual(d.changes.map((c) => [c.id, c.old, c.new]), [['node/a/__proto__', 1, 2]]));

// --- duplicates and look-alike ids --------------------------------------------------
const U = 'duplicates';
refuses(U, 'two nodes with one id', 'duplicate_node_id', () => [{ nodes: [{ id: 'a' }, { id: 'a' }] }], session, 'nodes[1].id');
refuses(U, 'a patch of the same node twice', 'duplicate_node_id', () => [{ nodes: [{ id: 'a', label: '1' }, { id: 'a', info: '2' }] }], review, 'nodes[1].id');
refuses(U, 'updating an edge id that two edges share', 'ambiguous_edge_id', () => [
  { nodes: [{ id: 'a' }, { id: 'b' }], edges: [{ id: 'e', source: 'a', target: 'b' }, { id: 'e', source: 'b', target: 'a' }] },
  { edges: [{ id: 'e', label: 'x' }] },
], (g, p) => kg.reviewProposal(g, p));
works(U, 'duplicate edge ids are kept, never merged', () => [{ nodes: [{ id: 'a' }, { id: 'b' }], edges: [{ id: 'e', source: 'a', target: 'b' }, { id: 'e', source: 'b', target: 'a' }] }], (g) => approveAll(g, { nodes: [{ id: 'a', label: 'x' }] }), (r) =>
  assert.deepEqual(r.graph.edges.map((e) => e.source), ['a', 'b']));
const nfc = '\u00e9'; // é
const nfd = 'e\u0301'; // e + combining acute: looks the same
works(U, 'ids equal after NFC normalisation stay two nodes', () => [{ nodes: [{ id: nfc, label: 'composed' }, { id: nfd, label: 'decomposed' }] }], (g) => approveAll(g, { nodes: [{ id: nfd, label: 'changed' }] }), (r) =>
  assert.deepEqual(r.graph.nodes.map((n) => [n.id, n.label]), [[nfc, 'composed'], [nfd, 'changed']]));
works(U, 'a patch with a look-alike id is shown as a new node, not applied to the other', () => [{ nodes: [{ id: nfc, label: 'composed' }] }, { nodes: [{ id: nfd, label: 'x' }] }], (g, p) => kg.reviewProposal(g, p), (r) => {
  assert.deepEqual(r.changes.map((c) => [c.kind, c.nodeId]), [['added', nfd]]);
  assert.equal(r.summary.nodesAdded, 1);
});
works(U, 'removing a look-alike id removes nothing and warns', () => [{ nodes: [{ id: nfc }] }, { removeNodeIds: [nfd] }], (g, p) => kg.reviewProposal(g, p), (r) => {
  assert.equal(r.changes.length, 0);
  assert.deepEqual(r.warnings.map((w) => w.code), ['node_not_found']);
});

// --- empty ---------------------------------------------------------------------------
const E = 'empty';
works(E, 'an empty proposal', () => [{}], review, (r) => assert.deepEqual([r.changes.length, r.summary.nodesChanged], [0, 0]));
works(E, 'a proposal of empty lists', () => [{ nodes: [], edges: [], removeNodeIds: [], removeEdgeIds: [] }], review, (r) => assert.equal(r.changes.length, 0));
works(E, 'approving an empty review stores nothing new', () => [graph()], (g) => approveAll(g, {}), (r, g) => {
  assert.deepEqual(r.graph, g);
  assert.equal(r.queued, false);
});
works(E, 'an empty graph', () => [{ nodes: [] }], (g) => approveAll(g, { nodes: [{ id: 'first', label: 'F' }] }), (r) => assert.deepEqual(r.graph.nodes.map((n) => n.id), ['first']));

for (const c of cases) {
  test(`${c.category}: ${c.name}${c.code ? ` → ${c.code}` : ''}`, () => {
    const args = c.args();
    const before = args.map((a) => snapshot(a));
    if (c.code) {
      const err = expectError(() => c.call(...args), c.code);
      if (c.path !== undefined) assert.equal(err.path ?? '', c.path);
      assert.ok(err.message.length > 10, err.message);
    } else {
      c.check(c.call(...args), ...args);
    }
    args.forEach((a, i) => assertUnchanged(a, before[i], `argument ${i}`));
    assert.equal(Object.getOwnPropertyNames(Object.prototype).join(), protoKeys, 'Object.prototype untouched');
    assert.equal({}.polluted, undefined);
    stillWorks();
  });
}

test('the corpus has at least 60 cases', () => {
  assert.ok(cases.length >= 60, `${cases.length} cases`);
});
