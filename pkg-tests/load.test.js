'use strict';
// A bounded load test of the real server on loopback (issue 6): concurrent
// clients saving to their own graphs and to shared ones, with and without
// override, through the package (ApprovalSession + HistoryClient, rebasing on
// a conflict, as the app does) and as raw override posts (as another editor
// would). Afterwards: versions unique and contiguous, every acknowledged save
// stored as acknowledged, nothing stored that was not acknowledged, every
// hash chain verifying. Latency percentiles are printed as diagnostics.
const test = require('node:test');
const assert = require('node:assert/strict');
const { randomUUID } = require('crypto');
const { kg } = require('./support/kg');
const { startServer, TOKENS, USERS } = require('./support/server');
const { clientOf } = require('./support/history');
const { generateGraph } = require('./support/generate');

const SAVES_PER_CLIENT = Number(process.env.KG_LOAD_SAVES || 8);
const OWN_GRAPH_CLIENTS = 8;
const SHARED_GRAPHS = 3;
const CLIENTS_PER_SHARED = 6; // half of them override
const who = (i) => (i % 2 ? 'bob' : 'ann');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

test('concurrent saves to own and shared graphs, with and without override', async (t) => {
  const server = await startServer();
  try {
    const base = generateGraph(40, { seed: 5, infoBytes: [300, 1500], htmlEvery: 20 });
    delete base.metadata.version; // new graphs start unversioned
    const latencies = [];
    const acked = []; // { graphId, version, marker }
    let conflicts = 0;
    let decided = 0;

    const timed = async (call) => {
      const started = performance.now();
      try {
        return await call();
      } finally {
        latencies.push(performance.now() - started);
      }
    };

    async function createGraph() {
      const graphId = randomUUID();
      const session = new kg.ApprovalSession(base, { graphId });
      session.propose({ metadata: { title: `load ${graphId}` } }, { source: 'import' });
      const approved = session.approve({ user: USERS.ann });
      const { newVersion } = await clientOf(server).save(approved);
      acked.push({ graphId, version: newVersion, marker: null });
      return graphId;
    }

    // The app's way: review, approve, save; on a conflict load the latest,
    // rebase (each client edits its own node, so nothing overlaps) and save again.
    async function appClient(graphId, index) {
      const client = clientOf(server, who(index));
      const session = new kg.ApprovalSession(await client.load(graphId), { graphId });
      const nodeId = base.nodes[index % base.nodes.length].id;
      for (let i = 0; i < SAVES_PER_CLIENT; i++) {
        const marker = `client ${index} save ${i}`;
        session.propose({ nodes: [{ id: nodeId, label: marker }] });
        let approved = session.approve({ user: USERS[who(index)], reason: marker });
        for (;;) {
          try {
            const { newVersion } = await timed(() => client.save(approved));
            session.markSaved(approved.audit.approvalId, newVersion);
            acked.push({ graphId, version: newVersion, marker, nodeId });
            break;
          } catch (e) {
            if (!(e instanceof kg.ConflictError)) throw e;
            conflicts++;
            const review = session.rebase(await client.load(graphId));
            // Only an override save (which posts a whole graph, our node's old
            // label included) overlaps our edit; the reviewer keeps ours.
            for (const change of review.changes.filter((c) => c.conflict)) {
              assert.equal(change.nodeId, nodeId, 'only our own node can conflict');
              session.accept(change.id);
              decided++;
            }
            approved = session.approve({ user: USERS[who(index)], reason: marker });
          }
        }
      }
    }

    // Another editor's way: post whole graphs with override (last writer wins,
    // but every write is a new version).
    async function overrideClient(graphId, index) {
      const nodeId = base.nodes[index % base.nodes.length].id;
      for (let i = 0; i < SAVES_PER_CLIENT; i++) {
        const marker = `override ${index} save ${i}`;
        const graphData = { ...base, nodes: base.nodes.map((n) => (n.id === nodeId ? { ...n, label: marker } : n)) };
        const response = await timed(() =>
          fetch(`${server.url}/saveGraphWithHistory`, {
            method: 'POST',
            headers: { 'X-API-Token': TOKENS[who(index)], 'Content-Type': 'application/json' },
            body: JSON.stringify({ id: graphId, graphData, override: true }),
          }),
        );
        assert.equal(response.status, 200, await response.clone().text());
        acked.push({ graphId, version: (await response.json()).newVersion, marker, nodeId });
        await sleep(20); // spread over the app clients' run, to overlap their edits
      }
    }

    const own = await Promise.all(Array.from({ length: OWN_GRAPH_CLIENTS }, createGraph));
    const shared = await Promise.all(Array.from({ length: SHARED_GRAPHS }, createGraph));
    const started = performance.now();
    await Promise.all([
      ...own.map((g, i) => appClient(g, i)),
      ...shared.flatMap((g, s) =>
        Array.from({ length: CLIENTS_PER_SHARED }, (_, k) => {
          const index = OWN_GRAPH_CLIENTS + s * CLIENTS_PER_SHARED + k;
          return k % 2 ? overrideClient(g, index) : appClient(g, index);
        }),
      ),
    ]);
    const seconds = (performance.now() - started) / 1000;

    for (const graphId of [...own, ...shared]) {
      const mine = acked.filter((a) => a.graphId === graphId).sort((a, b) => a.version - b.version);
      assert.deepEqual(mine.map((a) => a.version), mine.map((_, i) => i + 1), `${graphId}: acknowledged versions are unique and contiguous`);
      const history = await clientOf(server).history(graphId);
      assert.equal(history.length, mine.length, `${graphId}: nothing stored that was not acknowledged`);
      for (const a of mine.filter((m) => m.marker)) {
        const stored = await clientOf(server).version(graphId, a.version);
        assert.equal(stored.nodes.find((n) => n.id === a.nodeId).label, a.marker, `${graphId} v${a.version} holds what was acknowledged`);
        assert.equal(stored.nodes.length, base.nodes.length, 'no node lost');
      }
      const verify = await clientOf(server).verify(graphId);
      assert.deepEqual([verify.ok, verify.versions], [true, mine.length]);
    }

    const saves = latencies.length;
    const sorted = [...latencies].sort((a, b) => a - b);
    const clients = OWN_GRAPH_CLIENTS + SHARED_GRAPHS * CLIENTS_PER_SHARED;
    t.diagnostic(
      `${clients} clients, ${saves} save requests (${conflicts} answered 409 and were rebased, ${decided} with a conflict decided) in ${seconds.toFixed(2)} s = ${(saves / seconds).toFixed(0)}/s; ` +
        `latency p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, max ${sorted[saves - 1].toFixed(1)} ms`,
    );
    assert.equal(acked.length - OWN_GRAPH_CLIENTS - SHARED_GRAPHS, clients * SAVES_PER_CLIENT);
  } finally {
    await server.close();
  }
});
