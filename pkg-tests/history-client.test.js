'use strict';
// HistoryClient against the real history server (the Rust binary) on a
// loopback port, with a fault-injecting proxy between them where a test needs
// one. CONTRACT.md bugs 7–9: no silent overwrite, no lost approval, the new
// version is read.
const test = require('node:test');
const assert = require('node:assert/strict');
const { randomUUID } = require('crypto');
const { kg } = require('./support/kg');
const { startServer, TOKENS, USERS } = require('./support/server');
const { startProxy } = require('./support/fault-proxy');
const { fast, clientOf, savedSession: savedFor, expectReject } = require('./support/history');

let server;
test.before(async () => {
  server = await startServer();
});
test.after(async () => {
  await server.close();
});

const client = (who, options) => clientOf(server, who, options);
const savedSession = (who) => savedFor(server, who);

test('bug 9: save reads newVersion, and the session is based on it afterwards', async () => {
  const { graphId, session } = await savedSession();
  assert.equal(session.baseVersion, 1);
  session.propose({ nodes: [{ id: 'a', label: 'A2' }] }, { source: 'ai', model: 'm', reason: 'clearer', runId: 'r1' });
  const approved = session.approve({ user: USERS.ann, reason: 'ok' });
  assert.equal(session.pendingSaves().length, 1);
  const saved = await client().save(approved);
  assert.deepEqual(saved, { id: graphId, newVersion: 2, via: 'delta' }, 'our server takes deltas');
  session.markSaved(approved.audit.approvalId, saved.newVersion);
  assert.deepEqual(session.pendingSaves(), []);
  assert.equal(session.baseVersion, 2);

  const loaded = await client().load(graphId);
  assert.equal(loaded.metadata.version, 2);
  assert.deepEqual(loaded.nodes, session.graph().nodes);
  assert.deepEqual(loaded.edges[0], { id: 'a_b', source: 'a', target: 'b', label: 'kept' });

  const history = await client().history(graphId);
  assert.deepEqual(history.map((h) => h.version), [2, 1]);
  assert.match(history[0].timestamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  assert.deepEqual([history[0].user, history[0].reason, history[0].source], [USERS.ann, 'ok', 'ai']);
  assert.equal((await client().version(graphId, 1)).nodes[0].label, 'A');
});

test('bug 7: a stale save is refused with ConflictError, and a rebase without overlap merges', async () => {
  const { graphId, session } = await savedSession();
  // Bob saves version 2 first: he changes c's label.
  const bob = new kg.ApprovalSession(await client('bob').load(graphId), { graphId });
  bob.propose({ nodes: [{ id: 'c', label: 'C by Bob' }] });
  const bobs = bob.approve({ user: USERS.bob });
  assert.equal((await client('bob').save(bobs)).newVersion, 2);

  session.propose({ nodes: [{ id: 'a', info: 'alpha text, edited' }] });
  const mine = session.approve({ user: USERS.ann });
  const err = await expectReject(client().save(mine), 'version_conflict');
  assert.ok(err instanceof kg.ConflictError);
  assert.equal(err.currentVersion, 2);
  assert.equal(session.pendingSaves().length, 1, 'the approval is not lost');

  const review = session.rebase(await client().load(graphId));
  assert.deepEqual(review.changes.map((c) => [c.id, c.accepted, Boolean(c.conflict)]), [['node/a/info', true, false]]);
  const rebased = session.approve({ user: USERS.ann });
  assert.equal(rebased.audit.baseVersion, 2);
  const saved = await client().save(rebased);
  assert.equal(saved.newVersion, 3);
  session.markSaved(rebased.audit.approvalId, saved.newVersion);
  const final = await client().load(graphId);
  assert.equal(final.nodes.find((n) => n.id === 'c').label, 'C by Bob', "Bob's edit survives");
  assert.equal(final.nodes.find((n) => n.id === 'a').info, 'alpha text, edited', 'ours too');
});

test('a real conflict must be decided before approval; accepting keeps ours', async () => {
  const { graphId, session } = await savedSession();
  const bob = new kg.ApprovalSession(await client('bob').load(graphId), { graphId });
  bob.propose({ nodes: [{ id: 'a', label: 'Bob label' }] });
  await client('bob').save(bob.approve({ user: USERS.bob }));

  session.propose({ nodes: [{ id: 'a', label: 'Ann label' }] });
  await expectReject(client().save(session.approve({ user: USERS.ann })), 'version_conflict');
  const review = session.rebase(await client().load(graphId));
  const [change] = review.changes;
  assert.deepEqual([change.old, change.new, change.conflict], ['Bob label', 'Ann label', { base: 'A', resolved: false }]);
  assert.throws(() => session.approve({ user: USERS.ann }), (e) => e.code === 'unresolved_conflict');
  session.accept(change.id);
  const approved = session.approve({ user: USERS.ann, reason: 'mine is right' });
  assert.equal((await client().save(approved)).newVersion, 3);
  const history = await client().history(graphId);
  assert.deepEqual(history.map((h) => [h.version, h.user]), [[3, USERS.ann], [2, USERS.bob], [1, USERS.ann]]);
});

test('5xx and network resets are retried; a lost answer does not create a second version', async () => {
  const { graphId, session } = await savedSession();
  const proxy = await startProxy(server.url);
  try {
    const viaProxy = new kg.HistoryClient({ baseUrl: proxy.url, token: TOKENS.ann, ...fast, deltaSaves: 'always' });
    // 503, then a reset, then the server stores it but the answer is lost, then it goes through.
    proxy.inject({ status: 503, body: '{"error":"busy"}' }, { reset: true }, { after: { status: 502 } });
    session.propose({ nodes: [{ id: 'a', label: 'retried' }] });
    const approved = session.approve({ user: USERS.ann });
    const saved = await viaProxy.save(approved);
    assert.equal(saved.newVersion, 2);
    assert.equal(proxy.seen.length, 4);
    assert.ok(proxy.seen.every((r) => JSON.parse(r.body).audit.approvalId === approved.audit.approvalId), 'the key travels in the body');
    const history = await client().history(graphId);
    assert.deepEqual(history.map((h) => h.version), [2, 1], 'exactly one version for the approval');
  } finally {
    await proxy.close();
  }
});

test('429 with Retry-After is retried; other 4xx are not', async () => {
  const { session } = await savedSession();
  const proxy = await startProxy(server.url);
  try {
    const viaProxy = new kg.HistoryClient({ baseUrl: proxy.url, token: TOKENS.ann, ...fast, deltaSaves: 'always' });
    proxy.inject({ status: 429, headers: { 'retry-after': '0' }, body: '{"error":"slow down"}' });
    session.propose({ nodes: [{ id: 'a', label: 'after 429' }] });
    const approved = session.approve({ user: USERS.ann });
    assert.equal((await viaProxy.save(approved)).newVersion, 2);

    const wrongToken = new kg.HistoryClient({ baseUrl: server.url, token: 'not-a-real-token', ...fast });
    const err = await expectReject(wrongToken.save(approved), 'http_error');
    assert.deepEqual([err.status, err.attempts, err.serverError], [401, 1, 'Invalid API token.']);
    await expectReject(client().load(randomUUID()), 'http_error').then((e) => assert.equal(e.status, 404));
  } finally {
    await proxy.close();
  }
});

test('bug 8: a save that fails stays pending, survives a reload, and succeeds on retry', async () => {
  const { graphId, session } = await savedSession();
  session.propose({ nodes: [{ id: 'b', label: 'B while offline' }] });
  const approved = session.approve({ user: USERS.ann });
  await server.stop();
  const err = await expectReject(client('ann', { retries: 1 }).save(approved), 'network_error');
  assert.equal(err.attempts, 2);

  // The page reloads: the outbox was kept (e.g. in localStorage) and comes back.
  const stored = JSON.stringify(session.pendingSaves());
  await server.restart();
  const reloaded = new kg.ApprovalSession(await client().load(graphId), { graphId });
  reloaded.restorePendingSaves(JSON.parse(stored));
  assert.equal(reloaded.graph().nodes.find((n) => n.id === 'b').label, 'B while offline');
  const [pending] = reloaded.pendingSaves();
  const saved = await client().save(pending);
  reloaded.markSaved(pending.audit.approvalId, saved.newVersion);
  assert.equal(saved.newVersion, 2);
  assert.equal((await client().load(graphId)).nodes.find((n) => n.id === 'b').label, 'B while offline');
});

test('a server slower than the timeout gives a timeout error', async () => {
  const { graphId } = await savedSession();
  const proxy = await startProxy(server.url);
  try {
    proxy.inject({ delayMs: 400 }, { delayMs: 400 });
    const impatient = new kg.HistoryClient({ baseUrl: proxy.url, timeoutMs: 100, retries: 1, retryDelayMs: 1 });
    const err = await expectReject(impatient.load(graphId), 'timeout');
    assert.equal(err.attempts, 2);
  } finally {
    await proxy.close();
  }
});

test('revertTo reviews a restore and saves it as a new version with source revert', async () => {
  const { graphId, session } = await savedSession();
  session.propose({ nodes: [{ id: 'a', label: 'A changed' }], removeNodeIds: ['c'] });
  let approved = session.approve({ user: USERS.ann });
  session.markSaved(approved.audit.approvalId, (await client().save(approved)).newVersion);

  const review = session.revertTo(await client().version(graphId, 1));
  assert.deepEqual(review.changes.map((c) => c.id), ['node/a/label', 'node/c']);
  approved = session.approve({ user: USERS.ann, reason: 'undo the rename' });
  assert.equal(approved.audit.source, 'revert');
  assert.equal((await client().save(approved)).newVersion, 3);
  const [latest] = await client().history(graphId);
  assert.deepEqual([latest.version, latest.source, latest.reason], [3, 'revert', 'undo the rename']);
  const now = await client().load(graphId);
  assert.equal(now.nodes.find((n) => n.id === 'a').label, 'A');
  assert.ok(now.nodes.some((n) => n.id === 'c'));
});

test('the audit trail and the hash chain are readable through the client', async () => {
  const { graphId, session } = await savedSession();
  session.propose({ nodes: [{ id: 'b', label: 'B2' }] }, { runId: 'run-42', model: 'model-x' });
  const approved = session.approve({ user: USERS.ann });
  await client().save(approved);
  const page = await client().audit(graphId, { nodeId: 'b' });
  assert.deepEqual(page.entries.map((e) => e.version), [2, 1], 'version 1 created b, version 2 renamed it');
  assert.deepEqual((await client().audit(graphId, { runId: 'run-42' })).entries.map((e) => e.version), [2]);
  const [entry] = page.entries;
  assert.deepEqual([entry.runId, entry.model, entry.approvalId, entry.user], ['run-42', 'model-x', approved.audit.approvalId, USERS.ann]);
  assert.ok(entry.changes.some((c) => c.id === 'node/b/label' && c.old === 'B' && c.new === 'B2'));
  assert.deepEqual(await client().verify(graphId), { graphId, versions: 2, pruned: 0, ok: true, firstBroken: null });
});

test('a save as someone else is refused by the server', async () => {
  const { session } = await savedSession();
  session.propose({ nodes: [{ id: 'a', label: 'forged' }] });
  const approved = session.approve({ user: USERS.ann });
  const err = await expectReject(client('bob').save(approved), 'http_error');
  assert.equal(err.status, 403);
});

test('bad client arguments are errors, not traps', async () => {
  assert.throws(() => new kg.HistoryClient({ baseUrl: '/relative' }), (e) => e.code === 'invalid_argument');
  assert.throws(() => new kg.HistoryClient({ baseUrl: server.url, timeoutMs: 0 }), (e) => e.code === 'invalid_argument');
  assert.throws(() => new kg.HistoryClient({ baseUrl: server.url, retrys: 2 }), (e) => e.code === 'invalid_argument');
  await expectReject(client().save({ graph: { nodes: [] }, audit: {} }), 'invalid_argument');
  await expectReject(client().load(42), 'invalid_argument');
});

test("the real service's quirks: JSON without a JSON content type, SQLite timestamps", async () => {
  // The proxy answers the way the real service does (CONTRACT.md), instead of our server.
  const proxy = await startProxy(server.url);
  try {
    const real = new kg.HistoryClient({ baseUrl: proxy.url, token: TOKENS.ann, ...fast });
    proxy.inject(
      { status: 200, headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ graphId: 'g', history: { results: [{ version: 2, timestamp: '2026-02-04 14:30:45' }, { version: 1, timestamp: '2026-02-03 09:00:00' }], success: true, meta: {} } }) },
      // It has no /capabilities: the client saves whole graphs there.
      { status: 404, body: JSON.stringify({ success: false, message: 'Not found.', pathname: '/capabilities' }) },
      { status: 200, body: JSON.stringify({ message: 'Graph with history saved successfully', id: 'g', newVersion: 3 }) },
      { status: 400, body: JSON.stringify({ error: 'A new graph id must be a UUID v4.', expected: 'uuid', received: 'g' }) },
    );
    const history = await real.history('g');
    assert.deepEqual(history, [
      { version: 2, timestamp: '2026-02-04T14:30:45.000Z', user: null, reason: null, source: null },
      { version: 1, timestamp: '2026-02-03T09:00:00.000Z', user: null, reason: null, source: null },
    ]);
    const approved = { graph: { nodes: [] }, audit: { graphId: 'g', baseVersion: 2, approvalId: 'x' } };
    assert.deepEqual(await real.save(approved), { id: 'g', newVersion: 3, via: 'full' });
    assert.deepEqual(proxy.seen.slice(1).map((r) => `${r.method} ${r.url.split('?')[0]}`), ['GET /capabilities', 'POST /saveGraphWithHistory']);
    const sent = JSON.parse(JSON.stringify(proxy.seen[2].headers));
    assert.equal(sent['x-api-token'], TOKENS.ann);
    const err = await expectReject(real.save(approved), 'http_error');
    assert.deepEqual([err.status, err.serverError], [400, 'A new graph id must be a UUID v4.']);
  } finally {
    await proxy.close();
  }
});
