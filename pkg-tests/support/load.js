'use strict';
// Concurrent clients against one or several server processes (the load
// tests): clients on graphs of their own and on shared graphs, through the
// package (ApprovalSession + HistoryClient, rebasing on a conflict, as the app
// does) and as raw whole-graph posts with override (as another editor would).
// A client spreads over the processes it is given the way a load balancer
// would, and when its process is gone it retries the same approval on the
// next one (the approval id makes that safe). Afterwards `checkStored`
// asserts: versions unique and contiguous, the head each process serves the
// newest, every acknowledged save stored as acknowledged, nothing stored that
// was not acknowledged, every chain verifying.
const assert = require('node:assert/strict');
const { randomUUID } = require('crypto');
const { kg } = require('./kg');
const { TOKENS, USERS } = require('./server');
const { fast } = require('./history');
const { generateGraph } = require('./generate');

const who = (i) => (i % 2 ? 'bob' : 'ann');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/**
 * Runs the load against `urls()` (the live server URLs; a client uses
 * urls()[(index + attempt) % n]) and calls `during()` once the clients are
 * under way. Options: savesPerClient, ownGraphClients, sharedGraphs,
 * clientsPerShared.
 */
async function runLoad(urls, options = {}) {
  const { savesPerClient = 8, ownGraphClients = 8, sharedGraphs = 3, clientsPerShared = 6, during } = options;
  const base = generateGraph(40, { seed: 5, infoBytes: [300, 1500], htmlEvery: 20 });
  delete base.metadata.version; // new graphs start unversioned
  const latencies = [];
  const acked = []; // { graphId, version, marker, nodeId }
  const stats = { conflicts: 0, decided: 0, failovers: 0, unavailable: 0 };
  const url = (index, attempt) => urls()[(index + attempt) % urls().length];
  // Retries cover a database that is down for a while (a restart takes longer on a
  // loaded machine): up to 20 attempts, within the client's own 30 s budget.
  const client = (index, attempt, user = who(index)) => new kg.HistoryClient({ baseUrl: url(index, attempt), token: TOKENS[user], ...fast, retries: 20, maxRetryDelayMs: 1500, timeoutMs: 10000 });

  const timed = async (call) => {
    const started = performance.now();
    try {
      return await call();
    } finally {
      latencies.push(performance.now() - started);
    }
  };

  /** Calls `call(client)`, moving to the next process while one is unreachable. */
  async function anywhere(index, call, user = who(index)) {
    for (let attempt = 0; ; attempt++) {
      try {
        return await call(client(index, attempt, user));
      } catch (e) {
        if (e.code !== 'network_error' || attempt > urls().length * 3) throw e;
        stats.failovers++;
      }
    }
  }
  const saveAnywhere = (index, approved, user) => anywhere(index, (c) => timed(() => c.save(approved)), user);
  const loadAnywhere = (index, graphId) => anywhere(index, (c) => c.load(graphId));

  async function createGraph(index) {
    const graphId = randomUUID();
    const session = new kg.ApprovalSession(base, { graphId });
    session.propose({ metadata: { title: `load ${graphId}` } }, { source: 'import' });
    const approved = session.approve({ user: USERS.ann });
    const { newVersion } = await saveAnywhere(index, approved, 'ann');
    acked.push({ graphId, version: newVersion, marker: null });
    return graphId;
  }

  // The app's way: review, approve, save; on a conflict load the latest,
  // rebase (each client edits its own node, so nothing overlaps) and save again.
  async function appClient(graphId, index) {
    const session = new kg.ApprovalSession(await loadAnywhere(index, graphId), { graphId });
    const nodeId = base.nodes[index % base.nodes.length].id;
    for (let i = 0; i < savesPerClient; i++) {
      const marker = `client ${index} save ${i}`;
      session.propose({ nodes: [{ id: nodeId, label: marker }] });
      let approved = session.approve({ user: USERS[who(index)], reason: marker });
      for (;;) {
        try {
          const { newVersion } = await saveAnywhere(index, approved);
          session.markSaved(approved.audit.approvalId, newVersion);
          acked.push({ graphId, version: newVersion, marker, nodeId });
          break;
        } catch (e) {
          if (!(e instanceof kg.ConflictError)) throw e;
          stats.conflicts++;
          const review = session.rebase(await loadAnywhere(index, graphId));
          // Only an override save (which posts a whole graph, our node's old
          // label included) overlaps our edit; the reviewer keeps ours.
          for (const change of review.changes.filter((c) => c.conflict)) {
            assert.equal(change.nodeId, nodeId, 'only our own node can conflict');
            session.accept(change.id);
            stats.decided++;
          }
          approved = session.approve({ user: USERS[who(index)], reason: marker });
        }
      }
    }
  }

  // Another editor's way: whole graphs with override (last writer wins, but
  // every write is a new version). Each post carries an approval id, so a
  // repost after a lost answer or on another process stores nothing twice.
  async function overrideClient(graphId, index) {
    const nodeId = base.nodes[index % base.nodes.length].id;
    for (let i = 0; i < savesPerClient; i++) {
      const marker = `override ${index} save ${i}`;
      const graphData = { ...base, nodes: base.nodes.map((n) => (n.id === nodeId ? { ...n, label: marker } : n)) };
      const body = JSON.stringify({ id: graphId, graphData, override: true, audit: { approvalId: randomUUID() } });
      for (let attempt = 0; ; attempt++) {
        let response;
        try {
          response = await timed(() =>
            fetch(`${url(index, attempt)}/saveGraphWithHistory`, { method: 'POST', headers: { 'X-API-Token': TOKENS[who(index)], 'Content-Type': 'application/json' }, body }),
          );
        } catch {
          stats.failovers++;
          if (attempt > 30) throw new Error(`${marker}: no server answered`);
          continue;
        }
        if (response.status === 503) {
          stats.unavailable++;
          await sleep(Number(response.headers.get('retry-after') || 1) * 200);
          continue;
        }
        assert.equal(response.status, 200, await response.clone().text());
        acked.push({ graphId, version: (await response.json()).newVersion, marker, nodeId });
        break;
      }
      await sleep(20); // spread over the app clients' run, to overlap their edits
    }
  }

  const own = await Promise.all(Array.from({ length: ownGraphClients }, (_, i) => createGraph(i)));
  const shared = await Promise.all(Array.from({ length: sharedGraphs }, (_, i) => createGraph(ownGraphClients + i)));
  latencies.length = 0;
  const started = performance.now();
  const running = Promise.all([
    ...own.map((g, i) => appClient(g, i)),
    ...shared.flatMap((g, s) =>
      Array.from({ length: clientsPerShared }, (_, k) => {
        const index = ownGraphClients + s * clientsPerShared + k;
        return k % 2 ? overrideClient(g, index) : appClient(g, index);
      }),
    ),
  ]);
  if (during) await during();
  await running;
  const seconds = (performance.now() - started) / 1000;
  const clients = ownGraphClients + sharedGraphs * clientsPerShared;
  assert.equal(acked.length - ownGraphClients - sharedGraphs, clients * savesPerClient, 'every save was acknowledged');
  const sorted = [...latencies].sort((a, b) => a - b);
  const summary =
    `${clients} clients over ${urls().length} server process(es), ${latencies.length} save requests ` +
    `(${stats.conflicts} answered 409 and were rebased, ${stats.decided} with a conflict decided, ${stats.failovers} moved to another process, ${stats.unavailable} raw posts answered 503) ` +
    `in ${seconds.toFixed(2)} s = ${(latencies.length / seconds).toFixed(0)}/s; latency p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, max ${sorted[sorted.length - 1].toFixed(1)} ms`;
  return { graphs: [...own, ...shared], acked, base, stats, summary };
}

/** The checks after a load, against the server at `url`. */
async function checkStored(url, { graphs, acked, base }) {
  const reader = new kg.HistoryClient({ baseUrl: url, token: TOKENS.ann, ...fast, timeoutMs: 20000 });
  for (const graphId of graphs) {
    const mine = acked.filter((a) => a.graphId === graphId).sort((a, b) => a.version - b.version);
    assert.deepEqual(mine.map((a) => a.version), mine.map((_, i) => i + 1), `${graphId}: acknowledged versions are unique and contiguous`);
    const latest = await reader.load(graphId);
    assert.equal(latest.metadata.version, mine.length, `${graphId}: the head read back is the newest acknowledged version`);
    const history = await reader.history(graphId);
    assert.equal(history.length, mine.length, `${graphId}: nothing stored that was not acknowledged`);
    for (const a of mine.filter((m) => m.marker)) {
      const stored = await reader.version(graphId, a.version);
      assert.equal(stored.nodes.find((n) => n.id === a.nodeId).label, a.marker, `${graphId} v${a.version} holds what was acknowledged`);
      assert.equal(stored.nodes.length, base.nodes.length, 'no node lost');
    }
    const verify = await reader.verify(graphId);
    assert.deepEqual([verify.ok, verify.versions], [true, mine.length], `${graphId}: ${JSON.stringify(verify.firstBroken)}`);
  }
}

module.exports = { runLoad, checkStored };
