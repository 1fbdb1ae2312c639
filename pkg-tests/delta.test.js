'use strict';
// Approvals saved as what they changed (issue 10), client ↔ the real server
// binary: the server stores exactly the graph approve() produced, the wire
// carries the change and not the graph, the outbox keeps deltas, chained
// approvals and reloads work, a server without deltas gets whole graphs, and
// a graph over the body limit still takes edits.
const test = require('node:test');
const assert = require('node:assert/strict');
const { randomUUID } = require('crypto');
const { kg } = require('./support/kg');
const { startServer, TOKENS, USERS } = require('./support/server');
const { startProxy } = require('./support/fault-proxy');
const { startRealService } = require('./support/real-service');
const { fast, clientOf, savedSession, expectReject } = require('./support/history');
const { generateGraph } = require('./support/generate');

let server;
test.before(async () => {
  server = await startServer();
});
test.after(async () => {
  await server.close();
});

/** JSON text with object keys sorted: equal for equal JSON values. */
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The server's stored text of a graph version. */
async function storedText(graphId, version) {
  const path = version ? `/getknowgraphversion?id=${graphId}&version=${version}` : `/getknowgraph?id=${graphId}`;
  return (await fetch(`${server.url}${path}`)).text();
}

/** A generated graph saved as version 1, and a session on what the server holds. */
async function bigSaved(nodes, options = {}) {
  const graph = generateGraph(nodes, { seed: 11, ...options });
  delete graph.metadata.version;
  const graphId = randomUUID();
  const first = new kg.ApprovalSession(graph, { graphId });
  first.propose({ metadata: { category: 'generated' } });
  const approved = first.approve({ user: USERS.ann });
  await clientOf(server, 'ann', { timeoutMs: 60000 }).save(approved);
  first.free();
  const session = new kg.ApprovalSession(await clientOf(server).load(graphId), { graphId });
  return { graphId, session };
}

test('a delta save stores exactly the graph approve() produced, and the wire carries only the change', async () => {
  const { graphId, session } = await bigSaved(200);
  const nodes = session.graph().nodes;
  const proxy = await startProxy(server.url);
  try {
    const client = new kg.HistoryClient({ baseUrl: proxy.url, token: TOKENS.ann, ...fast });
    session.propose({
      nodes: [{ id: nodes[3].id, label: 'Renamed' }, { id: nodes[8].id, info: `${nodes[8].info}\n\nOne more paragraph.` }, { id: 'new-node', label: 'New' }],
      edges: [{ source: nodes[3].id, target: 'new-node', label: 'links' }],
      removeNodeIds: [nodes[20].id],
      removeEdgeIds: session.graph().edges.filter((e) => e.source === nodes[20].id || e.target === nodes[20].id).map((e) => e.id ?? `${e.source}_${e.target}`),
      metadata: { title: 'Delta title' },
    }, { source: 'ai', reason: 'tidy' });
    const approved = session.approve({ user: USERS.ann, reason: 'tidy up' });
    const saved = await client.save(approved);
    assert.deepEqual([saved.newVersion, saved.via], [2, 'delta']);
    session.markSaved(approved.audit.approvalId, saved.newVersion);

    // The server's version 2 is the session's graph, byte for byte and after canonical JSON.
    const text = await storedText(graphId, 2);
    assert.equal(text, JSON.stringify(session.graph()));
    assert.equal(canonical(JSON.parse(text)), canonical(session.graph()));

    // What travelled: the change, not the graph.
    const post = proxy.seen.find((r) => r.method === 'POST');
    assert.equal(post.url, '/patchGraph');
    const graphBytes = Buffer.byteLength(JSON.stringify(session.graph()));
    const changed = Buffer.byteLength(JSON.stringify(approved.delta));
    const wire = Buffer.byteLength(post.body);
    assert.ok(wire <= 2 * changed + 1024, `${wire} bytes on the wire for ${changed} bytes of changes`);
    assert.ok(wire * 50 < graphBytes, `${wire} bytes vs a ${graphBytes}-byte graph`);
    assert.deepEqual(JSON.parse(post.body).audit.approvalId, approved.audit.approvalId);

    // The server computed the audit entry from what it stored.
    const audit = await clientOf(server).audit(graphId, { limit: 1 });
    const entry = audit.entries[0];
    assert.deepEqual([entry.version, entry.reason, entry.via], [2, 'tidy up', 'delta']);
    const label = entry.changes.find((c) => c.id === `node/${nodes[3].id}/label`);
    assert.deepEqual([label.old, label.new], [nodes[3].label, 'Renamed']);
    assert.equal(entry.summary.nodesAdded, 1);
    assert.equal((await clientOf(server).verify(graphId)).ok, true);
  } finally {
    await proxy.close();
  }
});

test('the outbox keeps deltas: small in localStorage, restored on its base version after a reload', async () => {
  const { graphId, session } = await bigSaved(100);
  const client = clientOf(server);
  const graphBytes = Buffer.byteLength(JSON.stringify(session.graph()));
  session.propose({ nodes: [{ id: session.graph().nodes[0].id, label: 'offline edit' }] });
  const approved = session.approve({ user: USERS.ann });
  const stored = JSON.stringify(session.pendingSaves());
  assert.ok(stored.length * 20 < graphBytes, `the outbox holds the change (${stored.length} bytes), not the ${graphBytes}-byte graph`);
  assert.equal(JSON.parse(stored)[0].graph, undefined);
  assert.equal(session.pendingSaves()[0].graph.nodes[0].label, 'offline edit', 'the graph is still there to read');

  // The save landed, but the answer was lost; the page reloads.
  await client.save(approved);
  const latest = await client.load(graphId);
  const onLatest = new kg.ApprovalSession(latest, { graphId });
  assert.throws(() => onLatest.restorePendingSaves(JSON.parse(stored)), (e) => e.code === 'invalid_argument' && /approved on version 1, but the session holds version 2/.test(e.message));
  // The app restores on the version the approval was based on, and retries.
  const reloaded = new kg.ApprovalSession(await client.version(graphId, 1), { graphId });
  reloaded.restorePendingSaves(JSON.parse(stored));
  const [pending] = reloaded.pendingSaves();
  const again = await client.save(pending);
  assert.equal(again.newVersion, 2, 'answered from the approval id: not stored twice');
  reloaded.markSaved(pending.audit.approvalId, again.newVersion);
  assert.equal(JSON.stringify(reloaded.graph()), JSON.stringify(latest));
  assert.equal((await client.history(graphId)).length, 2);
});

test('two approvals before saving go in order, each as its own delta, and each keeps its graph', async () => {
  const { graphId, session } = await bigSaved(50);
  const id = session.graph().nodes[1].id;
  session.propose({ nodes: [{ id, label: 'one' }] });
  const first = session.approve({ user: USERS.ann });
  session.propose({ nodes: [{ id, label: 'two' }] });
  const second = session.approve({ user: USERS.ann });
  assert.equal(first.graph.nodes[1].label, 'one', "the first approval's graph is kept when the second changes the session's");
  assert.equal(second.graph.nodes[1].label, 'two');
  for (const pending of session.pendingSaves()) {
    const saved = await clientOf(server).save(pending);
    assert.equal(saved.via, 'delta');
    session.markSaved(pending.audit.approvalId, saved.newVersion);
  }
  assert.deepEqual((await clientOf(server).history(graphId)).map((h) => h.version), [3, 2, 1]);
  assert.equal(JSON.parse(await storedText(graphId, 2)).nodes[1].label, 'one');
  assert.equal(await storedText(graphId), JSON.stringify(session.graph()));
});

test('deltaBody and saveBody give the two bodies; a freed session says so instead of trapping', async () => {
  const { session } = await bigSaved(20);
  session.propose({ nodes: [{ id: session.graph().nodes[0].id, label: 'x' }] });
  const approved = session.approve({ user: USERS.ann });
  const delta = JSON.parse(kg.deltaBody(approved, 'abc'));
  assert.deepEqual([delta.expectedVersion, delta.expectedHash, delta.patchNodes.length], [1, 'abc', 1]);
  assert.equal(delta.graphId, approved.audit.graphId);
  const full = JSON.parse(kg.saveBody(approved));
  assert.deepEqual([full.graphData.metadata.version, full.graphData.nodes.length], [1, 20]);
  const unsaved = new kg.ApprovalSession({ nodes: [{ id: 'a' }] }, { graphId: randomUUID() });
  unsaved.propose({ nodes: [{ id: 'a', label: 'A' }] });
  assert.equal(kg.deltaBody(unsaved.approve({ user: 'ann' })), null, 'a graph never saved has no base to patch');
  session.free();
  assert.throws(() => approved.graph, (e) => e instanceof kg.KgApprovalError && e.code === 'graph_unavailable');
});

test('a server without deltas (the real service) gets whole graphs from the same client', async () => {
  const real = await startRealService({ tokens: { [TOKENS.ann]: { user: USERS.ann, scopes: ['graph:write'] } }, classifierDelayMs: null });
  try {
    const client = new kg.HistoryClient({ baseUrl: real.url, token: TOKENS.ann, ...fast });
    const graphId = randomUUID();
    // A session made for that service (a session made for ours is refused: service_mismatch).
    const session = new kg.ApprovalSession({ metadata: { title: 'R' }, nodes: [{ id: 'a', label: 'A' }], edges: [] }, { graphId, service: 'knowledge-graph-worker' });
    session.propose({ nodes: [{ id: 'a', label: 'A1' }] });
    const first = session.approve({ user: USERS.ann });
    const saved = await client.save(first);
    session.markSaved(first.audit.approvalId, saved.newVersion);
    session.propose({ nodes: [{ id: 'a', label: 'A2' }] });
    const second = session.approve({ user: USERS.ann });
    assert.deepEqual(await client.save(second), { id: graphId, newVersion: 2, via: 'full' });
    const paths = real.state.requests.map((r) => `${r.method} ${r.path}`);
    assert.equal(paths.filter((p) => p === 'GET /capabilities').length, 1, 'asked once per client');
    assert.ok(!paths.includes('POST /patchGraph'));
  } finally {
    await real.close();
  }
});

test('a graph over the body limit takes edits: 10,000 nodes, the first version under a higher limit, then deltas under the default', async () => {
  const big = await startServer(['--body-limit', String(64 << 20)]);
  let small;
  try {
    const graph = generateGraph(10000, { seed: 3, infoBytes: [1000, 2000], htmlEvery: 0 });
    delete graph.metadata.version;
    const bytes = Buffer.byteLength(JSON.stringify(graph));
    assert.ok(bytes > 10 * 1024 * 1024, `the graph (${bytes} bytes) is over the default 10 MB limit`);
    const graphId = randomUUID();
    const session = new kg.ApprovalSession(graph, { graphId });
    session.propose({ metadata: { title: 'Ten thousand' } });
    const first = session.approve({ user: USERS.ann });
    const v1 = await clientOf(big, 'ann', { timeoutMs: 120000 }).save(first);
    session.markSaved(first.audit.approvalId, v1.newVersion);
    await big.stop();

    small = await startServer([], { db: big.db });
    const client = clientOf(small);
    for (let i = 0; i < 3; i++) {
      session.propose({ nodes: [{ id: graph.nodes[i * 997].id, label: `edit ${i}` }, { id: `added-${i}`, label: 'added' }] });
      const approved = session.approve({ user: USERS.ann });
      const saved = await client.save(approved);
      assert.deepEqual([saved.newVersion, saved.via], [i + 2, 'delta']);
      session.markSaved(approved.audit.approvalId, saved.newVersion);
    }
    const loaded = await clientOf(small, 'ann', { timeoutMs: 60000 }).load(graphId);
    assert.equal(loaded.nodes.length, 10003);
    assert.equal(JSON.stringify(loaded), JSON.stringify(session.graph()));
    // The same edit as a whole graph is over the limit.
    session.propose({ nodes: [{ id: graph.nodes[5].id, label: 'whole' }] });
    const whole = session.approve({ user: USERS.ann });
    const err = await expectReject(clientOf(small, 'ann', { deltaSaves: 'never', timeoutMs: 60000 }).save(whole), 'http_error');
    assert.equal(err.status, 413);
    assert.equal((await clientOf(small, 'ann', { timeoutMs: 60000 }).verify(graphId)).ok, true);
  } finally {
    await big.close();
    await small?.close();
  }
});
