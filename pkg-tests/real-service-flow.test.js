'use strict';
// The package against the stand-in of the real knowledge-graph service
// (support/real-service.js), in Node: the whole flow (load, propose,
// approve, save, history, version, restore, 409 → rebase) and each problem
// of issue 14 as its own test — a lost answer, a legacy graph, rewritten
// edge ids, the two read shapes and the classifier, the editor's own
// sign-in. The same flow runs in Chromium across origins in browser.test.js.
const test = require('node:test');
const assert = require('node:assert/strict');
const { randomUUID } = require('crypto');
const { kg } = require('./support/kg');
const { startRealService } = require('./support/real-service');
const { startProxy } = require('./support/fault-proxy');

const TOKEN = 'write-token-0001';
const SESSION = 'magic-link-session-0003';
const ANN = 'ann@example.com';
const options = {
  tokens: { [TOKEN]: { user: ANN, scopes: ['graph:read', 'graph:write'] } },
  sessions: { [SESSION]: { email: 'carol@example.com', role: 'User' } },
};
const fast = { retries: 3, retryDelayMs: 5, maxRetryDelayMs: 20, timeoutMs: 2000 };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const start = (extra = {}) => startRealService({ ...options, classifierDelayMs: null, ...extra });
const clientOf = (srv, extra = {}) => new kg.HistoryClient({ baseUrl: srv.url, token: TOKEN, ...fast, ...extra });

function graph() {
  return {
    metadata: { title: 'Real service flow' },
    nodes: [
      { id: 'a', label: 'A', info: 'alpha text', type: 'fulltext' },
      { id: 'b', label: 'B', info: '' },
      { id: 'c', label: 'C' },
    ],
    edges: [{ source: 'a', target: 'b', label: 'ab' }],
  };
}

/** A graph saved as version 1 through the package; a session on it as loaded back. */
async function created(srv, client = clientOf(srv)) {
  const graphId = randomUUID();
  const first = new kg.ApprovalSession(graph(), { graphId, service: 'knowledge-graph-worker' });
  first.propose({ metadata: { description: 'v1' } }, { source: 'import' });
  const approved = first.approve({ user: ANN });
  assert.equal((await client.save(approved)).newVersion, 1);
  first.free();
  const { service } = await client.capabilities();
  const session = new kg.ApprovalSession(await client.load(graphId), { graphId, service });
  return { graphId, session, client };
}

/** Another editor's whole-graph save, as the real editor posts it. */
async function otherEditorSaves(srv, graphId, change) {
  const latest = await (await fetch(`${srv.url}/getknowgraph?id=${graphId}`)).json();
  change(latest);
  const response = await fetch(`${srv.url}/saveGraphWithHistory`, {
    method: 'POST',
    headers: { 'X-API-Token': TOKEN, 'Content-Type': 'application/json' },
    body: JSON.stringify({ id: graphId, graphData: latest, override: false }),
  });
  assert.equal(response.status, 200, await response.text());
}

const stored = (srv, graphId) => srv.state.graphs.get(graphId).data;
const versions = (srv, graphId) => srv.state.history.filter((r) => r.graph_id === graphId).map((r) => r.version);

test('the whole flow against the real service: load, propose, approve, save, history, version, restore, 409 → rebase', async () => {
  const srv = await start();
  try {
    const { graphId, session, client } = await created(srv);
    assert.deepEqual(await client.capabilities(), { service: 'knowledge-graph-worker', deltaSaves: false, idempotencyKeys: false });
    session.propose({ nodes: [{ id: 'a', label: 'A2' }] });
    const second = session.approve({ user: ANN, reason: 'rename' });
    const saved = await client.save(second);
    assert.deepEqual(saved, { id: graphId, newVersion: 2, via: 'full' });
    session.markSaved(second.audit.approvalId, saved.newVersion);
    assert.deepEqual((await client.history(graphId)).map((h) => h.version), [2, 1]);
    assert.equal((await client.version(graphId, 2)).nodes[0].label, 'A2');

    // Someone else saves version 3; our next save is stale → rebase → save.
    await otherEditorSaves(srv, graphId, (g) => (g.nodes[2].label = 'C by bob'));
    session.propose({ nodes: [{ id: 'b', label: 'B2' }] });
    const stale = session.approve({ user: ANN });
    await assert.rejects(client.save(stale), (e) => e instanceof kg.ConflictError && e.currentVersion === 3);
    const rebased = session.rebase(await client.load(graphId));
    assert.deepEqual(rebased.changes.map((c) => [c.id, !!c.conflict]), [['node/b/label', false]]);
    const third = session.approve({ user: ANN });
    const v4 = await client.save(third);
    session.markSaved(third.audit.approvalId, v4.newVersion);
    assert.deepEqual([stored(srv, graphId).nodes.map((n) => n.label), v4.newVersion], [['A2', 'B2', 'C by bob'], 4]);

    // Restore version 1: only what differs for a reader, not the service's shapes.
    const review = session.revertTo(await client.version(graphId, 1));
    assert.deepEqual(review.changes.map((c) => c.id).sort(), ['node/a/label', 'node/b/label', 'node/c/label']);
  } finally {
    await srv.close();
  }
});

test('item 2: a save that landed with its answer lost is recognised on the 409 of its retry, not reported as a conflict', async () => {
  const srv = await start();
  const proxy = await startProxy(srv.url);
  try {
    const { graphId, session } = await created(srv);
    const client = new kg.HistoryClient({ baseUrl: proxy.url, token: TOKEN, ...fast });
    session.propose({ nodes: [{ id: 'a', label: 'landed' }] });
    const approved = session.approve({ user: ANN });
    proxy.inject({}, { after: { status: 502, body: 'Bad Gateway' } }); // capabilities, then the save lands but its answer is lost
    const result = await client.save(approved);
    assert.deepEqual(result, { id: graphId, newVersion: 2, via: 'full', answerLost: true });
    assert.deepEqual(versions(srv, graphId), [1, 2], 'one version for the approval');
    const paths = proxy.seen.map((r) => `${r.method} ${new URL(r.url, 'http://x').pathname}`);
    assert.deepEqual(paths, ['GET /capabilities', 'POST /saveGraphWithHistory', 'POST /saveGraphWithHistory', 'GET /getknowgraphversion']);
    session.markSaved(approved.audit.approvalId, result.newVersion);
    assert.equal(session.pendingSaves().length, 0);
  } finally {
    await proxy.close();
    await srv.close();
  }
});

test('item 2: when the version after ours is someone else\'s, the 409 stays a conflict', async () => {
  const srv = await start();
  const proxy = await startProxy(srv.url);
  try {
    const { graphId, session } = await created(srv);
    const client = new kg.HistoryClient({ baseUrl: proxy.url, token: TOKEN, ...fast });
    session.propose({ nodes: [{ id: 'a', label: 'never landed' }] });
    const approved = session.approve({ user: ANN });
    await otherEditorSaves(srv, graphId, (g) => (g.nodes[0].label = 'bob was first'));
    proxy.inject({}, { reset: true }); // our first attempt never reaches the service
    await assert.rejects(client.save(approved), (e) => e instanceof kg.ConflictError && e.currentVersion === 2);
    assert.equal(proxy.seen.at(-1).url.split('?')[0], '/getknowgraphversion', 'it looked before deciding');
    assert.equal(stored(srv, graphId).nodes[0].label, 'bob was first');
  } finally {
    await proxy.close();
    await srv.close();
  }
});

test('item 3: a legacy graph with no history saves as version 1 (sent as version 0, not left out)', async () => {
  const srv = await start();
  try {
    const graphId = randomUUID();
    // Written by /saveknowgraph long ago: no history row, no metadata.version.
    srv.state.graphs.set(graphId, { data: graph(), created_date: '2024-01-01T00:00:00.000Z', updated_at: '2024-01-01T00:00:00.000Z' });
    const client = clientOf(srv);
    const loaded = await client.load(graphId);
    assert.equal(loaded.metadata.version, undefined);
    const session = new kg.ApprovalSession(loaded, { graphId, service: 'knowledge-graph-worker' });
    session.propose({ nodes: [{ id: 'c', label: 'C2' }] });
    const approved = session.approve({ user: ANN });
    assert.equal(JSON.parse(kg.saveBody(approved)).graphData.metadata.version, 0);
    assert.deepEqual(await client.save(approved), { id: graphId, newVersion: 1, via: 'full' });
    assert.equal(stored(srv, graphId).nodes[2].label, 'C2');
  } finally {
    await srv.close();
  }
});

test('item 4: edges take the ids the service stores, so a rebase never adds a second copy', async () => {
  const srv = await start();
  try {
    const { graphId, session, client } = await created(srv);
    const review = session.propose({ edges: [{ id: 'my-edge', source: 'a', target: 'c', label: 'ac' }] });
    assert.deepEqual(review.changes.map((c) => c.id), ['edge/a_c']);
    assert.ok(review.warnings.some((w) => w.code === 'edge_id_rewritten'));
    const first = session.approve({ user: ANN });
    session.markSaved(first.audit.approvalId, (await client.save(first)).newVersion);
    assert.deepEqual(session.graph().edges.map((e) => e.id), ['a_b', 'a_c']);

    // Our next approval relabels that edge; another editor saved first.
    session.propose({ edges: [{ id: 'a_c', label: 'ac, relabelled' }] });
    const ours = session.approve({ user: ANN });
    await otherEditorSaves(srv, graphId, (g) => (g.nodes[1].label = 'B by bob'));
    await assert.rejects(client.save(ours), kg.ConflictError);
    const rebased = session.rebase(await client.load(graphId));
    assert.deepEqual(rebased.changes.map((c) => c.id), ['edge/a_c/label']);
    const merged = session.approve({ user: ANN });
    session.markSaved(merged.audit.approvalId, (await client.save(merged)).newVersion);
    const edges = stored(srv, graphId).edges.map((e) => `${e.id}:${e.label}`);
    assert.deepEqual(edges, ['a_b:ab', 'a_c:ac, relabelled'], 'one a→c edge, with our label');

    // An edge the service would store as undefined_undefined is refused at review.
    assert.throws(() => session.propose({ edges: [{ from: 'a', to: 'b' }] }), (e) => e.code === 'invalid_proposal' && e.path === 'edges[0]');
  } finally {
    await srv.close();
  }
});

test('item 5: restore and compare show neither the two read shapes nor the classifier as changes', async () => {
  const srv = await start({ classifierDelayMs: 5, classifierCategory: 'EDUCATION' });
  try {
    const { graphId, client } = await created(srv);
    await sleep(50); // the classifier writes semantic* into the current graph, outside history
    const { service } = await client.capabilities();
    const session = new kg.ApprovalSession(await client.load(graphId), { graphId, service });
    assert.equal(session.graph().metadata.semanticPrimary, 'EDUCATION');
    session.propose({ nodes: [{ id: 'a', label: 'A2' }] });
    const approved = session.approve({ user: ANN });
    session.markSaved(approved.audit.approvalId, (await client.save(approved)).newVersion);
    await sleep(50);

    const [v1, v2] = [await client.version(graphId, 1), await client.version(graphId, 2)];
    const restore = session.revertTo(v1);
    assert.deepEqual(restore.changes.map((c) => c.id), ['node/a/label']);
    const plain = new kg.ApprovalSession(await client.load(graphId), { graphId });
    const noisy = plain.revertTo(v1).changes.map((c) => c.id);
    assert.ok(noisy.length > 4 && noisy.some((id) => id.startsWith('metadata/semantic')), `without the service option: ${noisy.join(', ')}`);

    const compare = kg.diffGraphs(v1, v2, { service });
    assert.deepEqual(compare.changes.map((c) => c.id), ['node/a/label', 'node/a/updatedAt', 'node/a/updatedBy', 'metadata/updated', 'metadata/version']);
    // (Version 2 was saved from a loaded graph, which carried the read's created_date and updated_at.)
    assert.deepEqual(compare.serverWritten.map((c) => c.id), [
      'metadata/semanticPrimary', 'metadata/semanticSecondary', 'metadata/semanticConfidence', 'metadata/classifiedAt', 'graph/created_date', 'graph/updated_at',
    ]);
  } finally {
    await srv.close();
  }
});

test("the editor's own sign-in: X-Session-Token and x-user-role instead of an API token", async () => {
  const srv = await start();
  try {
    const client = new kg.HistoryClient({ baseUrl: srv.url, headers: { 'X-Session-Token': SESSION, 'x-user-role': 'User' }, ...fast });
    const graphId = randomUUID();
    const session = new kg.ApprovalSession(graph(), { graphId, service: 'knowledge-graph-worker' });
    session.propose({ metadata: { description: 'by carol' } });
    const approved = session.approve({ user: 'carol@example.com' });
    assert.equal((await client.save(approved)).newVersion, 1);
    const save = srv.state.requests.find((r) => r.path === '/saveGraphWithHistory');
    assert.deepEqual([save.headers['x-session-token'], save.headers['x-user-role'], save.headers['x-api-token']], [SESSION, 'User', undefined]);
    const stale = new kg.HistoryClient({ baseUrl: srv.url, headers: { 'X-Session-Token': 'expired', 'x-user-role': 'User' }, ...fast });
    await assert.rejects(stale.save(approved), (e) => e.code === 'http_error' && e.status === 401);
  } finally {
    await srv.close();
  }
});

test("granular saves: a one-node approval goes to /patchNode (one version, bytes of the change), anything more goes whole", async (t) => {
  const { generateGraph } = require('./support/generate');
  const srv = await start();
  const proxy = await startProxy(srv.url);
  try {
    const big = generateGraph(500, { seed: 4, infoBytes: [4000, 5000], htmlEvery: 0 });
    delete big.metadata.version;
    const graphId = randomUUID();
    const plain = clientOf(srv);
    const seed = new kg.ApprovalSession(big, { graphId, service: 'knowledge-graph-worker' });
    seed.propose({ metadata: { title: 'Big' } }, { source: 'import' });
    await plain.save(seed.approve({ user: ANN }));
    const client = new kg.HistoryClient({ baseUrl: proxy.url, token: TOKEN, granularSaves: 'one-node', ...fast });
    const session = new kg.ApprovalSession(await client.load(graphId), { graphId, service: 'knowledge-graph-worker' });
    const bodyOf = (path) => proxy.seen.filter((r) => r.url.startsWith(path)).at(-1).body;
    const node = big.nodes[7].id;

    session.propose({ nodes: [{ id: node, label: 'one label' }] });
    const one = session.approve({ user: ANN });
    assert.deepEqual(await client.save(one), { id: graphId, newVersion: 2, via: 'patchNode' });
    session.markSaved(one.audit.approvalId, 2);
    const patchBytes = Buffer.byteLength(bodyOf('/patchNode'));
    const stored2 = stored(srv, graphId);
    const saved = stored2.nodes.find((n) => n.id === node);
    assert.deepEqual([saved.label, saved.updatedBy, saved.updatedAt], ['one label', ANN, one.audit.at]);
    assert.notEqual(stored2.metadata.updated, one.audit.at, '/patchNode cannot store the metadata stamps');
    assert.deepEqual(versions(srv, graphId), [1, 2]);

    // Two nodes: one version, whole.
    session.propose({ nodes: [{ id: node, label: 'again' }, { id: big.nodes[8].id, label: 'and this' }] });
    const two = session.approve({ user: ANN });
    assert.equal((await client.save(two)).via, 'full');
    session.markSaved(two.audit.approvalId, 3);
    const fullBytes = Buffer.byteLength(bodyOf('/saveGraphWithHistory'));
    assert.deepEqual(versions(srv, graphId), [1, 2, 3], 'never one version per node');
    assert.ok(patchBytes < 1024 && fullBytes > 2_000_000, `${patchBytes} vs ${fullBytes} bytes`);
    t.diagnostic(`one-label approval on a ${(Buffer.byteLength(JSON.stringify(big)) / 1048576).toFixed(1)} MB graph: /patchNode ${patchBytes} bytes, whole graph ${fullBytes} bytes`);

    // A new field goes through /patchNode; removing it again cannot (the
    // route would store null), so that approval goes whole.
    session.propose({ nodes: [{ id: node, reviewNote: 'temporary' }] });
    const colour = session.approve({ user: ANN });
    assert.equal((await client.save(colour)).via, 'patchNode');
    session.markSaved(colour.audit.approvalId, 4);
    const review = session.revertTo(await client.version(graphId, 3));
    assert.deepEqual(review.changes.map((c) => [c.id, c.new]), [[`node/${node}/reviewNote`, undefined]]);
    const uncolour = session.approve({ user: ANN });
    assert.equal((await client.save(uncolour)).via, 'full');
    session.markSaved(uncolour.audit.approvalId, 5);
    assert.equal('reviewNote' in stored(srv, graphId).nodes.find((n) => n.id === node), false);

    // A lost answer on /patchNode is recognised by the node's stamps.
    session.propose({ nodes: [{ id: node, label: 'lost answer' }] });
    const lost = session.approve({ user: ANN });
    proxy.inject({ after: { status: 504, body: 'Gateway Timeout' } });
    assert.deepEqual(await client.save(lost), { id: graphId, newVersion: 6, via: 'patchNode', answerLost: true });
    assert.deepEqual(versions(srv, graphId), [1, 2, 3, 4, 5, 6]);
  } finally {
    await proxy.close();
    await srv.close();
  }
});
