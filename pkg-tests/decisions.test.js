'use strict';
// Decisions people can stand behind, through the package as JS users call it:
// explicit decisions, bulk actions recorded as such, corrections that keep the
// AI's value, comments, drafts that survive a reload, and kept pending saves
// that cost what their delta costs.
const test = require('node:test');
const assert = require('node:assert/strict');
const { kg, expectError } = require('./support/kg');

const NOW = '2026-02-04T14:30:45.123Z';
const graph = () => ({
  id: 'g-decisions',
  metadata: { title: 'Fjords', version: 3 },
  nodes: [
    { id: 'a', label: 'Geirangerfjord', info: 'A fjord in Sunnmøre.' },
    { id: 'b', label: 'Nærøyfjord', info: 'Narrow.' },
    { id: 'c', label: 'Old note' },
  ],
  edges: [{ id: 'a_b', source: 'a', target: 'b', label: 'near' }],
});
const proposal = () => ({
  nodes: [
    { id: 'a', label: 'Geirangerfjorden', info: 'A fjord in Sunnmøre, Norway.', confidence: 0.9 },
    { id: 'b', label: 'Nærøyfjorden' },
    { id: 'n', label: 'Sognefjord' },
  ],
  edges: [{ id: 'a_n', source: 'a', target: 'n', label: 'same county' }],
  removeNodeIds: ['c'],
});
const explicit = (g = graph()) => new kg.ApprovalSession(g, { decisions: 'explicit' });

test('explicit decisions: every change starts undecided, and approve() names the undecided ones', () => {
  const session = explicit();
  const review = session.propose(proposal(), { source: 'ai', model: 'gpt-x' });
  assert.ok(review.changes.length >= 6);
  for (const c of review.changes) {
    assert.equal(c.accepted, null, c.id);
    assert.equal('decidedBy' in c, false, c.id);
  }
  session.accept('node/a/label');
  const e = expectError(() => session.approve({ user: 'ann@example.com', now: NOW }), 'undecided_changes');
  assert.deepEqual(e.changeIds, review.changes.map((c) => c.id).filter((id) => id !== 'node/a/label'));
  assert.match(e.message, /^\d+ changes are not decided yet/);
  assert.equal(session.pendingSaves().length, 0, 'a refused approval keeps nothing');
  expectError(() => new kg.ApprovalSession(graph(), { decisions: 'implicit' }), 'invalid_argument');
});

test('the audit tells one change, a node, a bulk action on a filter, a dependency and the default apart', () => {
  const session = explicit();
  session.propose(proposal());
  assert.deepEqual(session.accept('edge/a_n').sort(), ['edge/a_n', 'node/n']);
  session.rejectNode('a');
  session.acceptMany(['node/b/label'], { filter: 'field: label · search: fjord' });
  session.rejectMany(['node/c']);
  const { audit } = session.approve({ user: 'ann@example.com', now: NOW });
  assert.equal(audit.decisionMode, 'explicit');
  assert.deepEqual(audit.decisions['edge/a_n'], { decision: 'accepted', decidedBy: 'change' });
  assert.deepEqual(audit.decisions['node/n'], { decision: 'accepted', decidedBy: 'dependency' }, 'the node the edge needs');
  assert.deepEqual(audit.decisions['node/a/info'], { decision: 'rejected', decidedBy: 'node' });
  assert.deepEqual(audit.decisions['node/b/label'], { decision: 'accepted', decidedBy: 'bulk', filter: 'field: label · search: fjord' });
  assert.deepEqual(audit.decisions['node/c'], { decision: 'rejected', decidedBy: 'bulk' }, 'a bulk action without a filter');
  assert.deepEqual(Object.keys(audit.decisions).sort(), [...audit.accepted, ...audit.rejected].sort());

  const byDefault = new kg.ApprovalSession(graph());
  byDefault.propose(proposal());
  byDefault.reject('node/b/label');
  const entry = byDefault.approve({ user: 'ann@example.com', now: NOW }).audit;
  assert.equal(entry.decisionMode, 'accepted');
  assert.deepEqual(entry.decisions['node/a/label'], { decision: 'accepted', decidedBy: 'default' }, 'a default is not a decision');
  assert.deepEqual(entry.decisions['node/b/label'], { decision: 'rejected', decidedBy: 'change' });
});

test('a correction applies the reviewer value; the review and the audit keep the AI value beside it', () => {
  const session = explicit();
  session.propose(proposal());
  session.rejectAll();
  assert.deepEqual(session.correct('node/a/info', 'A fjord in Sunnmøre, western Norway.'), ['node/a/info']);
  session.comment('node/a/info', 'The AI left out where in Norway.');
  session.comment('node/b/label', 'Keep the short name.');
  const change = session.review().changes.find((c) => c.id === 'node/a/info');
  assert.equal(change.accepted, true);
  assert.equal(change.corrected, true);
  assert.equal(change.proposed, 'A fjord in Sunnmøre, Norway.');
  assert.equal(change.new, 'A fjord in Sunnmøre, western Norway.');
  assert.deepEqual(
    change.text.ops.filter((op) => op.op !== 'equal').map((op) => [op.op, op.text.trim()]),
    [['insert', ', western Norway']],
    'the inline diff is against the old value',
  );
  const approved = session.approve({ user: 'ann@example.com', now: NOW, reason: 'only the description' });
  assert.deepEqual(approved.audit.decisions['node/a/info'], {
    decision: 'corrected',
    decidedBy: 'change',
    comment: 'The AI left out where in Norway.',
    proposed: 'A fjord in Sunnmøre, Norway.',
  });
  assert.deepEqual(approved.audit.changes.a.info, ['A fjord in Sunnmøre.', 'A fjord in Sunnmøre, western Norway.']);
  assert.equal(approved.audit.decisions['node/b/label'].comment, 'Keep the short name.');
  assert.equal(approved.graph.nodes[0].info, 'A fjord in Sunnmøre, western Norway.');
  assert.equal(approved.graph.nodes[0].label, 'Geirangerfjord', 'rejected stays');
  assert.equal(JSON.parse(kg.deltaBody(approved)).patchNodes[0].fields.info, 'A fjord in Sunnmøre, western Norway.');
});

test('corrections and comments are refused with a code and a path, and nothing changes', () => {
  const session = explicit();
  session.propose(proposal());
  for (const [id, value, code] of [
    ['node/c', { id: 'c' }, 'invalid_correction'],
    ['node/n', { id: 'zz', label: 'x' }, 'invalid_correction'],
    ['node/n', { id: 'n', createdBy: 'mallory@example.com' }, 'invalid_correction'],
    ['node/a/label', 'Geirangerfjord', 'invalid_correction'],
    ['node/a/label', undefined, 'invalid_correction'],
    ['node/a/label', Number.NaN, 'invalid_value'],
    ['node/nope/label', 'x', 'unknown_change'],
  ]) {
    const e = expectError(() => session.correct(id, value), code);
    if (code === 'invalid_correction') assert.equal(e.path, 'value', e.message);
  }
  expectError(() => session.comment('node/a/label', 42), 'invalid_argument');
  expectError(() => session.comment('node/a/label', 'x'.repeat(10001)), 'invalid_argument');
  expectError(() => session.acceptMany('node/a/label'), 'invalid_argument');
  expectError(() => session.acceptMany(['node/a/label'], { filtre: 'x' }), 'invalid_argument');
  assert.ok(session.review().changes.every((c) => c.accepted === null && !c.comment));
});

test('a draft survives a reload: decisions, corrections, comments and the reason come back', () => {
  const session = explicit();
  session.propose(proposal(), { source: 'ai', model: 'gpt-x', runId: 'run-9' });
  session.rejectNode('a');
  session.correct('node/b/label', 'Nærøyfjorden (UNESCO)');
  session.comment('node/c', 'ask the editor first');
  const draft = JSON.parse(JSON.stringify(session.draft({ reason: 'half way through' })));
  assert.ok(JSON.stringify(draft).length < 2.5 * JSON.stringify(proposal()).length + 1500, 'about the size of the proposal');
  const before = session.review();

  const reloaded = explicit();
  const review = reloaded.resume(draft);
  assert.deepEqual(review.changes, before.changes);
  assert.equal(review.provenance.runId, 'run-9');
  assert.deepEqual(review.warnings, before.warnings);
  assert.equal(draft.reason, 'half way through');

  // The graph moved meanwhile: a's label was changed by someone else.
  const moved = graph();
  moved.metadata.version = 4;
  moved.nodes[0].label = 'Geiranger';
  const later = explicit(moved).resume(draft);
  assert.equal(later.changes.find((c) => c.id === 'node/a/label').accepted, null, 'not the change the reviewer rejected');
  assert.equal(later.changes.find((c) => c.id === 'node/b/label').new, 'Nærøyfjorden (UNESCO)');
  assert.deepEqual(later.warnings.filter((w) => w.code === 'draft_decision_dropped').map((w) => w.field), ['label']);

  expectError(() => explicit({ ...graph(), id: 'another' }).resume(draft), 'invalid_draft');
  expectError(() => explicit().resume({ draft: 1, kind: 'proposal', proposalId: 'x', changes: {} }), 'invalid_draft');
});

test('a kept pending save costs at most 1.5x its delta + 2 KB, and restores whole', () => {
  const big = graph();
  for (let i = 0; i < 300; i++) big.nodes.push({ id: `n${i}`, label: `Node ${i}`, info: `Old text of node ${i}. `.repeat(20) });
  const p = { nodes: big.nodes.slice(3).map((n, i) => ({ id: n.id, label: `${n.label}!`, info: `New text of node ${i}. `.repeat(20) })) };
  const session = explicit(big);
  session.propose(p);
  session.acceptAll();
  session.correct('node/n7/label', 'Node seven');
  session.approve({ user: 'ann@example.com', now: NOW });
  const kept = JSON.stringify(session.pendingSaves());
  const delta = JSON.stringify(session.pendingSaves()[0].delta);
  assert.ok(kept.length <= 1.5 * delta.length + 2048, `kept ${kept.length} for a delta of ${delta.length}`);

  const reloaded = explicit(big);
  reloaded.restorePendingSaves(JSON.parse(kept));
  assert.equal(JSON.stringify(reloaded.pendingSaves()), kept);
  const record = reloaded.markSaved(JSON.parse(kept)[0].audit.approvalId, 4);
  assert.deepEqual(record.changes.n7.label, ['Node 7', 'Node seven'], 'the field changes are rebuilt for the local audit record');
  assert.equal(record.decisions['node/n7/label'].proposed, 'Node 7!');
  assert.equal(Object.keys(record.changes).length, 300);
});

test('through the real server: the decisions, corrections and comments reach its audit trail, as a delta and whole', async (t) => {
  const { startServer, TOKENS, USERS } = require('./support/server');
  const { randomUUID } = require('crypto');
  const server = await startServer();
  t.after(() => server.close());
  for (const deltaSaves of ['always', 'never']) {
    const client = new kg.HistoryClient({ baseUrl: server.url, token: TOKENS.ann, deltaSaves, retries: 0 });
    const graphId = randomUUID();
    const fresh = graph();
    delete fresh.metadata.version; // a new graph: version 1 is the server's
    const first = new kg.ApprovalSession(fresh, { graphId });
    first.propose({ metadata: { description: 'v1' } }, { source: 'import' });
    const v1 = first.approve({ user: USERS.ann });
    await new kg.HistoryClient({ baseUrl: server.url, token: TOKENS.ann, retries: 0 }).save(v1);

    const session = new kg.ApprovalSession(await client.load(graphId), { graphId, decisions: 'explicit' });
    session.propose(proposal(), { source: 'ai', model: 'gpt-x', runId: `run-${deltaSaves}` });
    session.acceptMany(session.review().changes.map((c) => c.id), { filter: 'all shown' });
    session.correct('node/a/label', 'Geirangerfjorden (UNESCO)');
    session.reject('node/c');
    session.comment('node/c', 'Still cited by the course page.');
    const approved = session.approve({ user: USERS.ann, reason: `saved ${deltaSaves}` });
    const { newVersion, via } = await client.save(approved);
    assert.equal(via, deltaSaves === 'always' ? 'delta' : 'full');
    session.markSaved(approved.audit.approvalId, newVersion);

    const { entries } = await client.audit(graphId, {}); // Ann owns the graph: she may read its trail
    const entry = entries.find((e) => e.version === newVersion);
    assert.equal(entry.decisionMode, 'explicit', via);
    assert.deepEqual(entry.decisions, approved.audit.decisions, via);
    const label = entry.changes.find((c) => c.id === 'node/a/label');
    assert.deepEqual([label.new, label.proposed, label.corrected, label.decidedBy], ['Geirangerfjorden (UNESCO)', 'Geirangerfjorden', true, 'change'], via);
    assert.equal(entry.decisions['node/c'].comment, 'Still cited by the course page.');
    assert.equal(entry.decisions['node/b/label'].filter, 'all shown');
    assert.equal((await client.load(graphId)).nodes.find((n) => n.id === 'a').label, 'Geirangerfjorden (UNESCO)');
  }
});
