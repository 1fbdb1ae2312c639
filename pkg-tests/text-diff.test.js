'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { kg } = require('./support/kg');
const { rng, markdown, html } = require('./support/generate');

const rebuild = (diff, keep) => diff.ops.filter((o) => o.op === 'equal' || o.op === keep).map((o) => o.text).join('');

function exact(a, b, options) {
  const diff = kg.diffText(a, b, options);
  assert.equal(rebuild(diff, 'delete'), a);
  assert.equal(rebuild(diff, 'insert'), b);
  return diff;
}

test('ops rebuild both texts exactly for any Unicode, at every granularity', () => {
  const r = rng(3);
  const alphabet = ['a', ' ', '\n', 'é', 'e\u0301', '日本', '👩‍👩‍👧', '🇳🇴', 'ß', '\t', '<p>', 'ﷺ', '\u200d', '𝔸'];
  for (let i = 0; i < 200; i++) {
    const pick = () => Array.from({ length: Math.floor(r() * 40) }, () => alphabet[Math.floor(r() * alphabet.length)]).join('');
    for (const granularity of ['auto', 'line', 'word', 'char']) exact(pick(), pick(), { granularity });
  }
});

test('auto picks words for prose and lines for HTML, CSS and mermaid', () => {
  assert.equal(exact('The cat sat.', 'The dog sat.').granularity, 'word');
  assert.equal(exact('<div>\n<p>a</p>\n</div>', '<div>\n<p>b</p>\n</div>').granularity, 'line');
  assert.equal(exact('body {\n  color: red;\n}\n', 'body {\n  color: blue;\n}\n').granularity, 'line');
  assert.equal(exact('graph TD\n  A-->B', 'graph TD\n  A-->C').granularity, 'line');
});

test('a word edit in long markdown is reported as that word', () => {
  const text = markdown(rng(5), 20000);
  const words = text.split(' ');
  const i = Math.floor(words.length / 2);
  const edited = [...words.slice(0, i), 'CHANGED', ...words.slice(i + 1)].join(' ');
  const diff = exact(text, edited);
  assert.deepEqual(diff.ops.filter((o) => o.op === 'insert').map((o) => o.text), ['CHANGED']);
  assert.equal(diff.degraded, false);
});

test('an exhausted budget gives a coarser but exact diff, marked degraded', () => {
  const a = markdown(rng(1), 100000);
  const b = markdown(rng(2), 100000);
  const diff = exact(a, b, { granularity: 'word', budgetMs: 0 });
  assert.equal(diff.degraded, true);
  assert.ok(diff.ops.length > 0);
});

test('a full rewrite of 100 KB finishes within a 100 ms budget and stays exact', () => {
  const a = markdown(rng(1), 100000);
  const b = markdown(rng(2), 100000);
  const diff = exact(a, b, { budgetMs: 100 });
  // Exactness is the assertion; the time is measured by the benchmarks.
  assert.ok(diff.ops.some((o) => o.op === 'equal'), 'a rewrite of shared vocabulary still finds equal runs');
});

test('HTML with one attribute changed shows only the changed line', () => {
  const page = html(rng(9), 30000);
  const edited = page.replace('class="row-17"', 'class="row-17 highlighted"');
  const diff = exact(page, edited);
  const deleted = diff.ops.filter((o) => o.op === 'delete');
  assert.equal(deleted.length, 1);
  assert.ok(deleted[0].text.includes('row-17') && deleted[0].text.split('\n').length <= 2);
});

test('string field changes in a review carry the text diff', () => {
  const review = kg.reviewProposal({ nodes: [{ id: 'a', info: 'one two three' }] }, { nodes: [{ id: 'a', info: 'one 2 three' }] });
  const { text } = review.changes[0];
  assert.deepEqual(text.ops, [{ op: 'equal', text: 'one ' }, { op: 'delete', text: 'two' }, { op: 'insert', text: '2' }, { op: 'equal', text: ' three' }]);
  const numeric = kg.reviewProposal({ nodes: [{ id: 'a', order: 1 }] }, { nodes: [{ id: 'a', order: 2 }] });
  assert.equal(numeric.changes[0].text, undefined);
});

test('a review carries text diffs and its proposal id lazily, as plain enumerable data', () => {
  const graph = { nodes: [{ id: 'a', info: 'one two three', label: 'A' }] };
  const proposal = { nodes: [{ id: 'a', info: 'one 2 three', label: 'B' }] };
  const session = new kg.ApprovalSession(graph);
  const review = session.propose(proposal);
  const info = review.changes.find((c) => c.field === 'info');
  assert.ok(Object.keys(info).includes('text'), 'text is an own enumerable key before it is read');
  // The same diff as diffText of old and new, and the same id as a stateless review's.
  assert.deepEqual(info.text, kg.diffText('one two three', 'one 2 three'));
  assert.equal(review.proposalId, kg.reviewProposal(graph, proposal).proposalId);
  assert.match(review.proposalId, /^[0-9a-f]{16}$/);
  // JSON and a later review() agree with the object.
  const copy = JSON.parse(JSON.stringify(review));
  assert.deepEqual(copy.changes.find((c) => c.field === 'info').text, info.text);
  assert.equal(session.review().proposalId, review.proposalId);
  // A review replaced by a newer one still answers for itself.
  const older = session.propose(proposal);
  session.propose({ nodes: [{ id: 'a', label: 'C' }] });
  assert.equal(older.proposalId, review.proposalId);
  assert.equal(older.changes.find((c) => c.field === 'info').text.ops[1].text, 'two');
  const approved = session.approve({ user: 'ann', now: '2026-02-04T14:30:45.123Z' });
  assert.equal(approved.audit.proposalId, kg.reviewProposal(graph, { nodes: [{ id: 'a', label: 'C' }] }).proposalId);
  // An outbox entry stays the size of its delta: no list of changes, no diffs.
  session.propose(proposal);
  session.approve({ user: 'ann', now: '2026-02-04T14:30:46.123Z' });
  const entry = session.pendingSaves().at(-1);
  assert.ok(!('changes' in entry));
  assert.ok(!JSON.stringify(entry).includes('"ops"'));
  session.free();
});

test('a graph may be passed as its JSON text', () => {
  const graph = { metadata: { version: 3 }, nodes: [{ id: 'a', label: 'A' }], edges: [] };
  const session = new kg.ApprovalSession(JSON.stringify(graph));
  assert.deepEqual(session.graph(), graph);
  assert.equal(session.baseVersion, 3);
  session.free();
  assert.equal(kg.reviewProposal(JSON.stringify(graph), { nodes: [{ id: 'a', label: 'B' }] }).changes[0].new, 'B');
  for (const bad of ['not json', '"a string"', '[]', '{"nodes": {}}']) {
    assert.throws(() => new kg.ApprovalSession(bad), (e) => e.code === 'invalid_graph', bad);
  }
});

test('diffText budgets cover the whole call: within budget + 10%, or degraded', () => {
  const a = markdown(rng(1), 100000);
  const b = markdown(rng(2), 100000);
  for (const budgetMs of [5, 20]) {
    const t0 = performance.now();
    const diff = exact(a, b, { budgetMs });
    const took = performance.now() - t0;
    assert.ok(took <= budgetMs * 1.1 || diff.degraded, `${took.toFixed(1)} ms for a ${budgetMs} ms budget, not degraded`);
  }
});
