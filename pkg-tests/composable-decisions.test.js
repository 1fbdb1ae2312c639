'use strict';
// The composable's decisions (issue 23, items 1 to 4) headless in Node against
// the real history server: every change starts undecided, a bulk decision is
// recorded with its filter, corrections and comments reach the audit entry,
// and the review in progress (its draft) survives a reload — a proposal's, a
// restore's and a conflict's.
const test = require('node:test');
const assert = require('node:assert/strict');
const { kg } = require('./support/kg');
const { startServer, TOKENS, USERS } = require('./support/server');

let server;
test.before(async () => {
  server = await startServer();
});
test.after(() => server?.close());

const mod = () => import('kg-approval/vue');
const client = (who = 'ann') => new kg.HistoryClient({ baseUrl: server.url, token: TOKENS[who], retries: 0, timeoutMs: 5000 });
const GRAPH = {
  metadata: { title: 'Decisions' },
  nodes: [
    { id: 'a', label: 'Alpha', info: 'The first node, about alpha.' },
    { id: 'b', label: 'Beta', info: 'The second node.' },
    { id: 'c', label: 'Gamma', info: 'The third node.' },
  ],
  edges: [],
};
const PROPOSAL = { nodes: [{ id: 'a', label: 'Alpha (AI)', info: 'The first node, about alpha, rewritten.' }, { id: 'b', label: 'Beta (AI)' }, { id: 'c', label: 'Gamma (AI)' }] };

async function seed() {
  const id = crypto.randomUUID();
  const r = await fetch(`${server.url}/saveGraphWithHistory`, {
    method: 'POST',
    headers: { 'X-API-Token': TOKENS.ann, 'content-type': 'application/json' },
    body: JSON.stringify({ id, graphData: GRAPH, override: false }),
  });
  assert.equal(r.status, 200, await r.text());
  return id;
}

async function open(storage, id, options = {}) {
  const { useApprovalSession } = await mod();
  const app = useApprovalSession({ kg, client: client(), user: USERS.ann, storage, draftDelayMs: 0, ...options });
  await app.openGraph(id);
  return app;
}
const tick = () => new Promise((r) => setTimeout(r, 10));
const byId = (review) => Object.fromEntries(review.changes.map((c) => [c.id, c]));

test('explicit by default: every change starts undecided, approving waits, and the audit says how each was decided', async () => {
  const { memoryStore } = await mod();
  const id = await seed();
  const app = await open(memoryStore(), id);
  assert.equal(app.state.decisions, 'explicit');
  app.propose(PROPOSAL, { source: 'ai', model: 'm1', runId: 'run-9' });
  assert.ok(app.state.review.changes.every((c) => c.accepted === null), 'nothing decided for the reviewer');
  await assert.rejects(app.approveAndSave('too early'), (e) => e.code === 'undecided_changes' && e.changeIds.length === 4);

  app.decideMany(['node/b/label', 'node/c/label'], true, { filter: 'field: label · search: a' });
  app.decide('node/a/label', false);
  app.correct('node/a/info', 'The first node, about alpha, as the reviewer wrote it.');
  app.comment('node/a/label', 'The old name is the official one');
  await tick();
  const changes = byId(app.state.review);
  assert.deepEqual([changes['node/b/label'].decidedBy, changes['node/b/label'].bulkFilter], ['bulk', 'field: label · search: a']);
  assert.equal(changes['node/a/info'].corrected, true);
  assert.equal(changes['node/a/info'].proposed, 'The first node, about alpha, rewritten.');
  assert.throws(() => app.correct('node/a/label', undefined), /./, 'what cannot be a value is refused');

  await app.approveAndSave('labels in bulk, alpha corrected');
  assert.deepEqual([app.state.save.status, app.state.save.version], ['saved', 2]);
  const saved = await client().load(id);
  assert.equal(saved.nodes[0].info, 'The first node, about alpha, as the reviewer wrote it.');
  assert.equal(saved.nodes[0].label, 'Alpha');
  const [record] = await app.savedApprovals();
  assert.equal(record.decisionMode, 'explicit');
  assert.deepEqual(record.decisions['node/a/info'], { decision: 'corrected', decidedBy: 'change', proposed: 'The first node, about alpha, rewritten.' });
  assert.deepEqual(record.decisions['node/a/label'], { decision: 'rejected', decidedBy: 'change', comment: 'The old name is the official one' });
  assert.deepEqual(record.decisions['node/c/label'], { decision: 'accepted', decidedBy: 'bulk', filter: 'field: label · search: a' });
});

test('a review in progress survives a reload: decisions, the correction, the comment and the reason come back; approving clears it', async () => {
  const { memoryStore } = await mod();
  const storage = memoryStore();
  const id = await seed();
  const first = await open(storage, id);
  first.propose(PROPOSAL);
  first.decide('node/b/label', false);
  first.correct('node/a/info', 'Mine.');
  first.comment('node/b/label', 'no');
  first.setReason('half done');
  await first.keepDraft();

  const again = await open(storage, id);
  assert.equal(again.state.reviewKind, 'proposal');
  const changes = byId(again.state.review);
  assert.equal(changes['node/b/label'].accepted, false);
  assert.equal(changes['node/b/label'].comment, 'no');
  assert.equal(changes['node/a/info'].new, 'Mine.');
  assert.equal(changes['node/c/label'].accepted, null);
  assert.equal(again.state.reason, 'half done');
  assert.match(again.state.resumed, /^Your review in progress is back: 2 decisions kept\.$/);

  again.decideMany(['node/a/label', 'node/c/label'], true);
  await again.approveAndSave();
  assert.equal(again.state.save.status, 'saved');
  assert.equal((await client().history(id))[0].reason, 'half done');
  assert.equal(await storage.get(`kg-approval:draft:${id}`), undefined, 'the draft is gone once approved');
  const third = await open(storage, id);
  assert.equal(third.state.review, null, 'nothing comes back after approving');
});

test('a restore in progress and a conflict in progress survive a reload too; discarding forgets the draft', async () => {
  const { memoryStore } = await mod();
  const storage = memoryStore();
  const id = await seed();
  const app = await open(storage, id);
  app.propose({ nodes: [{ id: 'c', label: 'Gamma 2' }] });
  app.decide('node/c/label', true);
  await app.approveAndSave();
  await app.restore(1);
  app.decide('node/c/label', false);
  await app.keepDraft();
  const back = await open(storage, id);
  assert.equal(back.state.reviewKind, 'revert');
  assert.equal(byId(back.state.review)['node/c/label'].accepted, false);
  back.cancel();
  await tick();
  assert.equal(await storage.get(`kg-approval:draft:${id}`), undefined);

  // A conflict: Bob saves version 3 first; Ann's save is rebased, she decides, the page reloads.
  const mine = await open(storage, id);
  mine.propose({ nodes: [{ id: 'a', label: 'Alpha, Ann' }, { id: 'b', label: 'Beta, Ann' }] });
  mine.decideMany(['node/a/label', 'node/b/label'], true);
  const bob = new kg.ApprovalSession(await client().load(id), { graphId: id });
  bob.propose({ nodes: [{ id: 'a', label: 'Alpha, Bob' }] });
  await client('bob').save(bob.approve({ user: USERS.bob }));
  await mine.approveAndSave('ann wants hers');
  assert.equal(mine.state.save.status, 'conflict');
  const conflicted = byId(mine.state.review)['node/a/label'];
  assert.deepEqual([conflicted.old, conflicted.new, conflicted.conflict.base], ['Alpha, Bob', 'Alpha, Ann', 'Alpha']);
  mine.decide('node/a/label', true);
  await mine.keepDraft();
  const reloaded = await open(storage, id);
  assert.equal(reloaded.state.save.status, 'conflict', 'the reload says what happened: someone saved first');
  assert.equal(reloaded.state.reviewKind, 'rebase');
  assert.equal(byId(reloaded.state.review)['node/a/label'].accepted, true, 'the conflict decided before the reload stays decided');
  await reloaded.approveAndSave();
  assert.equal(reloaded.state.save.status, 'saved');
  assert.equal((await client().load(id)).nodes[0].label, 'Alpha, Ann');
});
