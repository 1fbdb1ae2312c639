'use strict';
// The Vue composable (kg-approval/vue, imported by name as an app does)
// headless in Node, with the editor's own HistoryClient (or its options), against the
// stand-in of the real knowledge-graph service: it must need none of this
// project's extra routes (/whoami, /getknowgraphs, /patchGraph), and keep
// the audit entries the real service does not store.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('path');
const { randomUUID } = require('crypto');
const { kg } = require('./support/kg');
const { startRealService } = require('./support/real-service');

const SESSION = 'magic-link-session-0003';
const CAROL = 'carol@example.com';
const fast = { retries: 1, retryDelayMs: 5, maxRetryDelayMs: 20, timeoutMs: 2000 };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** localStorage for Node. */
function memoryStorage() {
  const items = new Map();
  return { getItem: (k) => (items.has(k) ? items.get(k) : null), setItem: (k, v) => items.set(k, String(v)), removeItem: (k) => items.delete(k) };
}

/** The reviewer accepts every change still to decide (decisions are explicit: none is accepted for them). */
const acceptRest = (app) => app.decideMany(app.state.review.changes.filter((c) => c.accepted === null || (c.conflict && !c.conflict.resolved)).map((c) => c.id), true);

async function composable() {
  return (await import('kg-approval/vue')).useApprovalSession;
}

async function seeded(srv) {
  const graphId = randomUUID();
  const body = {
    id: graphId,
    override: false,
    graphData: { metadata: { title: 'Composable' }, nodes: [{ id: 'a', label: 'A', info: 'alpha' }, { id: 'b', label: 'B' }], edges: [{ source: 'a', target: 'b' }] },
  };
  const r = await fetch(`${srv.url}/saveGraphWithHistory`, { method: 'POST', headers: { 'X-Session-Token': SESSION, 'x-user-role': 'User' }, body: JSON.stringify(body) });
  assert.equal(r.status, 200);
  return graphId;
}

test('the composable on the real service: open, review, approve and save, conflict and rebase, restore, compare, audit export', async () => {
  const srv = await startRealService({ sessions: { [SESSION]: { email: CAROL, role: 'User' } }, classifierDelayMs: 5 });
  try {
    const useApprovalSession = await composable();
    const storage = memoryStorage();
    const client = new kg.HistoryClient({ baseUrl: srv.url, headers: { 'X-Session-Token': SESSION, 'x-user-role': 'User' }, ...fast });
    let signedIn = CAROL;
    const app = useApprovalSession({ kg, client, user: () => signedIn, storage });
    const graphId = await seeded(srv);
    await sleep(30); // the classifier runs after each save

    await app.openGraph(graphId);
    assert.deepEqual([app.state.service, app.state.version, app.state.history.map((h) => h.version)], ['knowledge-graph-worker', 1, [1]]);
    app.propose({ nodes: [{ id: 'a', label: 'A2' }], edges: [{ id: 'mine', source: 'b', target: 'a' }] }, { source: 'ai', model: 'm1', runId: 'run-7' });
    assert.deepEqual(app.state.review.changes.map((c) => c.id), ['node/a/label', 'edge/b_a']);
    acceptRest(app);
    await app.approveAndSave('clearer label');
    assert.deepEqual([app.state.save.status, app.state.save.version], ['saved', 2]);
    assert.deepEqual(app.state.graph.edges.map((e) => e.id), ['a_b', 'b_a']);

    // Another editor saves version 3; ours conflicts, is rebased and saved.
    const latest = await client.load(graphId);
    latest.nodes[1].label = 'B by bob';
    assert.equal((await fetch(`${srv.url}/saveGraphWithHistory`, { method: 'POST', headers: { 'X-Session-Token': SESSION, 'x-user-role': 'User' }, body: JSON.stringify({ id: graphId, graphData: latest }) })).status, 200);
    app.propose({ nodes: [{ id: 'a', label: 'A3' }] });
    acceptRest(app);
    await app.approveAndSave();
    assert.deepEqual([app.state.save.status, app.state.reviewKind], ['conflict', 'rebase']);
    acceptRest(app);
    await app.approveAndSave('rebased');
    assert.deepEqual([app.state.save.status, app.state.save.version], ['saved', 4]);
    assert.deepEqual(srv.state.graphs.get(graphId).data.nodes.map((n) => n.label), ['A3', 'B by bob']);

    // Restore and compare show what a person changed, the classifier apart.
    await app.restore(1);
    assert.deepEqual(app.state.review.changes.map((c) => c.id).sort(), ['edge/b_a', 'node/a/label', 'node/b/label']);
    app.cancel();
    const diff = await app.compareVersions(3, 4);
    assert.deepEqual(diff.changes.map((c) => c.id).sort(), ['metadata/updated', 'metadata/version', 'node/a/label', 'node/a/updatedAt']);
    assert.ok(diff.serverWritten.some((c) => c.id === 'metadata/classifiedAt'), 'the classifier is shown as the service');

    // The audit trail the real service does not keep: one JSON line per saved approval.
    const lines = (await app.exportAudit()).trimEnd().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => [l.savedVersion, l.user, l.reason, l.savedVia]), [[2, CAROL, 'clearer label', 'full'], [4, CAROL, 'rebased', 'full']]);
    assert.deepEqual([lines[0].model, lines[0].runId, lines[0].accepted], ['m1', 'run-7', ['node/a/label', 'edge/b_a']]);
    // Kept across a reload (a new composable on the same storage).
    const again = useApprovalSession({ kg, client, user: () => signedIn, storage });
    assert.equal(await again.exportAudit(graphId), await app.exportAudit());

    // Signed out: approving is refused before anything changes.
    signedIn = null;
    app.propose({ nodes: [{ id: 'a', label: 'nobody' }] });
    await assert.rejects(app.approveAndSave(), /Sign in/);

    const paths = new Set(srv.state.requests.map((r) => `${r.method} ${r.path}`));
    for (const extra of ['GET /whoami', 'GET /getknowgraphs', 'POST /patchGraph']) assert.ok(!paths.has(extra), `${extra} was not needed`);
  } finally {
    await srv.close();
  }
});

test('the composable refuses a `kg` that is not the package, with a clear message', async () => {
  const useApprovalSession = await composable();
  assert.throws(() => useApprovalSession({ kg: {}, client: null }), /must be the kg-approval module/);
});

test('the composable with no `kg` and HistoryClient options: it uses the package it imports and makes the client', async () => {
  const srv = await startRealService({ sessions: { [SESSION]: { email: CAROL, role: 'User' } }, classifierDelayMs: 5 });
  try {
    const useApprovalSession = await composable();
    const app = useApprovalSession({ client: { baseUrl: srv.url, headers: { 'X-Session-Token': SESSION, 'x-user-role': 'User' }, ...fast }, user: CAROL, storage: memoryStorage() });
    const graphId = await seeded(srv);
    await sleep(30);
    await app.openGraph(graphId);
    app.propose({ nodes: [{ id: 'b', label: 'B2' }] });
    assert.equal(app.state.review.summary.fieldsChanged, 1);
    acceptRest(app);
    await app.approveAndSave('from options');
    assert.deepEqual([app.state.save.status, app.state.save.version], ['saved', 2]);
    // One ApprovalSession class whether the package is required or imported.
    const { ApprovalSession } = await import('kg-approval');
    assert.equal(ApprovalSession, kg.ApprovalSession);
  } finally {
    await srv.close();
  }
});
