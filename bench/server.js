'use strict';
// The history server under load on loopback: saves of a ~50 KB graph from
// 1, 8 and 32 concurrent clients (each on its own graph, each save based on
// the version it got back), against the direct-SQLite ceiling.
const path = require('path');
const { execFileSync } = require('child_process');
const { randomUUID } = require('crypto');
const { generateGraph } = require('../pkg-tests/support/generate');

const repo = path.join(__dirname, '..');
process.env.KG_SERVER_BIN ??= path.join(repo, 'target', 'release', 'kg-approval-server');
// Required lazily: it reads KG_SERVER_BIN when loaded.
const server = () => require('../pkg-tests/support/server');

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function benchServer({ smoke, target }) {
  const ceilingBin = path.join(repo, 'target', 'release', 'examples', 'sqlite_ceiling');
  const fs = require('fs');
  if (!fs.existsSync(process.env.KG_SERVER_BIN) || !fs.existsSync(ceilingBin)) {
    if (!smoke) throw new Error('build the release server first: cargo build --release -p kg-approval-server --bin kg-approval-server --example sqlite_ceiling');
    // The test command's smoke run uses the debug server and skips the ceiling.
    process.env.KG_SERVER_BIN = path.join(repo, 'target', 'debug', 'kg-approval-server');
  }
  const { startServer, TOKENS, USERS } = server();
  const running = await startServer();
  try {
    const graph = generateGraph(12, { seed: 8, infoBytes: [3800, 4400], htmlEvery: 0 });
    const bytes = Buffer.byteLength(JSON.stringify(graph));
    const save = async (id, version, label) => {
      const g = { ...graph, metadata: { title: 'bench', ...(version ? { version } : {}) }, nodes: graph.nodes.map((n, i) => (i === 0 ? { ...n, label } : n)) };
      const t0 = performance.now();
      const response = await fetch(`${running.url}/saveGraphWithHistory`, {
        method: 'POST',
        headers: { 'X-API-Token': TOKENS.ann, 'Content-Type': 'application/json' },
        body: JSON.stringify({ id, graphData: g, override: false, audit: { user: USERS.ann, source: 'bench' } }),
      });
      const body = await response.json();
      if (!response.ok) throw new Error(`save failed: ${response.status} ${JSON.stringify(body)}`);
      return { version: body.newVersion, ms: performance.now() - t0 };
    };
    const levels = [];
    for (const clients of smoke ? [1] : [1, 8, 32]) {
      const ids = Array.from({ length: clients }, () => randomUUID());
      const versions = await Promise.all(ids.map((id) => save(id, 0, 'v1').then((r) => r.version)));
      const latencies = [];
      const until = performance.now() + (smoke ? 400 : 3000);
      const started = performance.now();
      await Promise.all(
        ids.map(async (id, c) => {
          let version = versions[c];
          for (let i = 0; performance.now() < until; i++) {
            const r = await save(id, version, `label ${i}`);
            version = r.version;
            latencies.push(r.ms);
          }
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      latencies.sort((a, b) => a - b);
      levels.push({ clients, saves: latencies.length, savesPerSecond: latencies.length / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) });
    }
    const ceiling = fs.existsSync(ceilingBin) ? JSON.parse(execFileSync(ceilingBin, [smoke ? '50' : '500', String(bytes)], { encoding: 'utf8' })).insertsPerSecond : NaN;
    const eight = levels.find((l) => l.clients === 8);
    if (eight) {
      target('server at 8 clients ≥ 1/3 of the SQLite ceiling', eight.savesPerSecond >= ceiling / 3, `${eight.savesPerSecond.toFixed(0)} saves/s vs ${ceiling.toFixed(0)} inserts/s (${((eight.savesPerSecond / ceiling) * 100).toFixed(0)}%)`);
      target('server p99 at 8 clients < 50 ms', eight.p99 < 50, `${eight.p99.toFixed(1)} ms`);
    }
    return { graphBytes: bytes, levels, ceiling };
  } finally {
    await running.close();
  }
}

module.exports = { benchServer };
