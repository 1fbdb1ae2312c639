'use strict';
// Plain objects cross into WASM packed (src/bindings/packed.rs), not as
// JSON text. The graph a session holds must be exactly the one the JSON
// text of the same object gives: every number, string, key and key order.
const test = require('node:test');
const assert = require('node:assert/strict');
const { kg } = require('./support/kg');

/** The graph a session keeps, as the JSON text approve() hands back. */
function held(graph) {
  const session = new kg.ApprovalSession(graph);
  try {
    session.propose({});
    return JSON.stringify(session.approve({ user: 'ann', now: '2026-12-07T00:00:00Z' }).graph);
  } finally {
    session.free();
  }
}

const NUMBERS = [0, -0, 1, -1, 0.1, -2.5, 1e-7, 5e-324, 1.7976931348623157e308, 2 ** 53 - 1, -(2 ** 53 - 1), 123.456, 1e21, 2 ** 53, 1 / 3, 4.35, 0.000001];
const TEXTS = ['', 'plain', 'é', 'e\u0301', '😀 emoji', '\u0000 nul', 'tab\tquote"back\\slash', '中文'.repeat(5000), 'ü'.repeat(70000)];

function tricky() {
  const keysInOrder = JSON.parse('{"b":1,"a":2,"2":3,"1":4,"__proto__":5,"constructor":6,"ключ":7}');
  const bare = Object.create(null);
  bare.z = 'null prototype';
  bare.y = [null, true, false];
  let deep = { leaf: 'bottom' };
  for (let i = 0; i < 55; i++) deep = { level: i, deep: [deep] };
  return {
    id: 'g',
    metadata: { version: 3, title: 'Packed' },
    nodes: [
      { id: 'numbers', label: 'N', values: NUMBERS },
      { id: 'texts', label: 'T', values: TEXTS, info: TEXTS.join('|') },
      { id: 'keys', label: 'K', fields: keysInOrder, bare },
      { id: 'deep', label: 'D', deep },
      { id: '😀', label: 'emoji id', empty: {}, none: [] },
    ],
    edges: [{ id: 'e', source: 'numbers', target: '😀', weight: 0.30000000000000004 }],
  };
}

test('a session from an object holds exactly the graph its JSON text gives', () => {
  const graph = tricky();
  const text = JSON.stringify(graph);
  assert.equal(held(graph), held(text));
  // And that is the text itself: nothing was changed on the way in or out.
  assert.equal(held(graph), text);
});

test('numbers keep their value and their kind (integer or float) across the boundary', () => {
  for (const n of NUMBERS) {
    const graph = { nodes: [{ id: 'a', n }] };
    assert.equal(held(graph), JSON.stringify(graph), `number ${Object.is(n, -0) ? '-0' : n}`);
  }
});

test('every string survives, at every length and script', () => {
  for (const s of TEXTS) {
    const graph = { nodes: [{ id: s || 'empty', [s]: s }] };
    assert.equal(held(graph), JSON.stringify(graph), `string of ${s.length} units`);
  }
});

test('a getter that grows WASM memory mid-walk leaves the graph whole', () => {
  // The getter calls into the module with a graph bigger than its memory,
  // so the memory grows while the walk is writing into it.
  const grow = () => {
    const big = { nodes: Array.from({ length: 200 }, (_, i) => ({ id: `n${i}`, info: 'x'.repeat(4096 + i) })) };
    const before = kg.wasmMemory().linearBytes;
    for (let i = 0; i < 40 && kg.wasmMemory().linearBytes === before; i++) {
      big.nodes.push(...big.nodes.map((n, j) => ({ id: `${n.id}-${i}-${j}`, info: n.info })));
      new kg.ApprovalSession(big).free();
    }
    return kg.wasmMemory().linearBytes > before;
  };
  let grew = false;
  const node = { id: 'b', info: 'y'.repeat(100000) };
  Object.defineProperty(node, 'label', {
    enumerable: true,
    get() {
      if (!grew) grew = grow();
      return 'read during growth';
    },
  });
  const graph = { nodes: [{ id: 'a', info: 'z'.repeat(100000) }, node, { id: 'c', label: 'after' }] };
  const out = JSON.parse(held(graph));
  assert.equal(grew, true, 'the getter grew WASM memory');
  assert.deepEqual(out.nodes.map((n) => [n.id, n.label, n.info?.length]), [
    ['a', undefined, 100000],
    ['b', 'read during growth', 100000],
    ['c', 'after', undefined],
  ]);
  assert.equal(out.nodes[1].info, 'y'.repeat(100000));
});

test('what is not plain data is still refused with its path', () => {
  const graph = { nodes: [{ id: 'a', when: new Date(0) }] };
  assert.throws(() => new kg.ApprovalSession(graph), (e) => e.code === 'invalid_value' && /nodes\[0\]\.when/.test(e.message));
  const sparse = { nodes: [{ id: 'a', list: [1, , 3] }] }; // eslint-disable-line no-sparse-arrays
  assert.throws(() => new kg.ApprovalSession(sparse), (e) => e.code === 'invalid_value' && /list\[1\]/.test(e.message));
});
