'use strict';
// Writes the seed corpora (corpus/<target>/seed-*) from small graphs made
// here — never from ../shared, whose fixtures stay out of the repo.
// Parts of one input are joined with the byte 0xFF (see checks/core.rs).
const fs = require('fs');
const path = require('path');

const SEP = Buffer.from([0xff]);
const join = (...parts) => Buffer.concat(parts.flatMap((p, i) => (i ? [SEP] : []).concat([Buffer.from(typeof p === 'string' ? p : JSON.stringify(p))])));

const graphs = [
  { metadata: { title: 'T', version: 1 }, nodes: [{ id: 'a', label: 'A', type: 'fulltext', info: '# Title\n\nalpha beta\n\ngamma', position: { x: 1, y: 2 }, visible: true }, { id: 'b', label: 'B', visible: false, bibl: [] }], edges: [{ id: 'a_b', source: 'a', target: 'b', label: 'x' }] },
  { nodes: [{ id: 'n1', label: 'ü e\u0301 日本 👩‍👩‍👧 🇳🇴', info: '<p class="a">x</p>\n<p>y</p>' }, JSON.parse('{"id":"n2","__proto__":{"x":1},"constructor":"c","prototype":1}')], edges: [{ source: 'n1', target: 'n2' }, { source: 'n1', target: 'n2' }] },
  { metadata: { version: '1.0' }, nodes: [{ id: 'x', type: 'html-node', info: '<div>'.repeat(20) }], edges: [] },
  { nodes: [], edges: [] },
];
const proposals = [
  { nodes: [{ id: 'a', label: 'A2', info: '# Title\n\nalpha BETA\n\ngamma', position: { x: 3, y: 2 } }] },
  { nodes: [{ id: 'new', label: 'New' }], edges: [{ source: 'a', target: 'new' }], removeNodeIds: ['b'] },
  { searchReplace: [{ nodeId: 'a', search: 'alpha', replace: 'omega' }], metadata: { title: 'T2' } },
  { nodes: [{ id: 'n1', label: null, updatedBy: 'mallory', extra: { deep: [1, { x: false }] } }], removeEdgeIds: ['n1_n2'] },
  { replaceAllNodes: true, nodes: [{ id: 'a' }] },
  { nodes: [{ id: 'x', info: '<div>'.repeat(19) + '<span>' }], preserveExistingFulltextImages: true },
];
const texts = [
  ['alpha beta gamma', 'alpha BETA gamma'],
  ['line one\nline two\nline three\n', 'line one\nline 2\nline three\n'],
  ['e\u0301 👩‍👩‍👧 🇳🇴 日本語', 'é 👩‍👩‍👦 🇸🇪 日本'],
  ['<p class="a" id="x">text</p>', '<p class="b" id="x">text</p>'],
  ['', 'all new'],
];
const bodies = [
  { id: 'x', graphData: graphs[0], override: false },
  { id: 'x', graphData: { ...graphs[1], metadata: { version: 0 } }, audit: { approvalId: 'k1', user: 'fuzz@example.com', reason: "'; DROP TABLE versions; --" } },
  { id: 'x', graphData: graphs[0], audit: { user: 'mallory@example.com' } },
  { id: '', graphData: [] },
  '{"id":"x","graphData":{"nodes":[{"id":"a","updatedBy":"fuzz@example.com","updatedAt":"2026-02-04T14:30:45.123Z"}]},"override":true}',
];

const out = (target, name, data) => {
  const dir = path.join(__dirname, 'corpus', target);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, name), data);
};
graphs.forEach((g, i) => proposals.forEach((p, j) => {
  for (const target of ['parse', 'review']) out(target, `seed-g${i}-p${j}`, join(g, p));
  out('approve', `seed-g${i}-p${j}`, join(g, p, Buffer.from([0b10101010, 0x0f])));
}));
graphs.forEach((a, i) => graphs.forEach((b, j) => out('graph_diff', `seed-g${i}-g${j}`, join(a, b))));
texts.forEach(([a, b], i) => out('text_diff', `seed-t${i}`, join(a, b)));
bodies.forEach((b, i) => out('save_request', `seed-b${i}`, typeof b === 'string' ? b : JSON.stringify(b)));
