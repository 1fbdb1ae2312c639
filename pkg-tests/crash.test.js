'use strict';
// kill -9 the real server in the middle of concurrent saves, restart it on
// the same SQLite file: every acknowledged save is there, versions are
// contiguous, no version is half-written, and every hash chain verifies.
const test = require('node:test');
const assert = require('node:assert/strict');
const { randomUUID } = require('crypto');
const { startServer, TOKENS, USERS } = require('./support/server');
const { generateGraph } = require('./support/generate');

test('kill -9 mid-load loses no acknowledged save and leaves no half-written version', async (t) => {
  const server = await startServer();
  try {
    const graph = generateGraph(10, { seed: 21, infoBytes: [2000, 3000], htmlEvery: 0 });
    const ids = Array.from({ length: 8 }, () => randomUUID());
    const acknowledged = new Map(ids.map((id) => [id, 0]));
    const labels = new Map(ids.map((id) => [id, new Map()])); // version → the label it was acknowledged with
    let attempted = 0;
    const save = async (id, version, i) => {
      const graphData = { ...graph, metadata: { title: 'crash', ...(version ? { version } : {}) }, nodes: graph.nodes.map((n, k) => (k === 0 ? { ...n, label: `save ${i}` } : n)) };
      const response = await fetch(`${server.url}/saveGraphWithHistory`, {
        method: 'POST',
        headers: { 'X-API-Token': TOKENS.ann, 'Content-Type': 'application/json' },
        body: JSON.stringify({ id, graphData, override: false, audit: { user: USERS.ann, source: 'crash-test' } }),
      });
      assert.equal(response.status, 200, await response.clone().text());
      return (await response.json()).newVersion;
    };
    const clients = ids.map(async (id) => {
      for (let i = 0; ; i++) {
        attempted++;
        try {
          const version = await save(id, acknowledged.get(id), i);
          acknowledged.set(id, version);
          labels.get(id).set(version, `save ${i}`);
        } catch {
          return; // the server is gone
        }
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 700));
    await server.stop(); // SIGKILL, mid-load
    await Promise.all(clients);
    const total = [...acknowledged.values()].reduce((a, b) => a + b, 0);
    assert.ok(total >= 16, `enough saves were acknowledged before the kill (${total} of ${attempted} attempts)`);
    t.diagnostic(`${total} saves acknowledged over ${ids.length} graphs before SIGKILL (${attempted} attempted)`);

    await server.restart();
    for (const [id, acked] of acknowledged) {
      const history = await (await fetch(`${server.url}/getknowgraphhistory?id=${id}`)).json();
      const versions = history.history.results.map((r) => r.version).reverse();
      assert.ok(versions.length >= acked, `${id}: all ${acked} acknowledged versions survive (found ${versions.length})`);
      assert.deepEqual(versions, versions.map((_, i) => i + 1), `${id}: contiguous from 1`);
      for (const v of versions) {
        const stored = await (await fetch(`${server.url}/getknowgraphversion?id=${id}&version=${v}`)).json();
        assert.equal(stored.metadata.version, v, `${id} v${v} is whole`);
        assert.equal(stored.nodes.length, graph.nodes.length);
        if (labels.get(id).has(v)) assert.equal(stored.nodes[0].label, labels.get(id).get(v), `${id} v${v} is what was acknowledged`);
      }
      // The graphs are Ann's: their owner may verify them.
      const verify = await (await fetch(`${server.url}/verifyknowgraph?id=${id}`, { headers: { 'X-API-Token': TOKENS.ann } })).json();
      assert.deepEqual([verify.ok, verify.versions], [true, versions.length], `${id}: ${JSON.stringify(verify.firstBroken)}`);
    }
  } finally {
    await server.close();
  }
});
