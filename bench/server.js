'use strict';
// The history server under load on loopback: one-label approvals of a ~50 KB
// graph from 1, 8 and 32 concurrent clients (each on its own graph, each save
// based on the version it got back), sent as deltas (what HistoryClient sends
// to this server) and, at 8 clients, as whole graphs (what other editors
// send), against the direct-SQLite ceiling for the same rows.
const fs = require('fs');
const http = require('http');
const path = require('path');
const { execFileSync } = require('child_process');
const { randomUUID } = require('crypto');
const { generateGraph } = require('../pkg-tests/support/generate');

const repo = path.join(__dirname, '..');
process.env.KG_SERVER_BIN ??= path.join(repo, 'target', 'release', 'kg-approval-server');
// Required lazily: it reads KG_SERVER_BIN when loaded.
const server = () => require('../pkg-tests/support/server');

// The load generator shares the machine with the server, so it should cost
// as little CPU as it can: node:http with keep-alive takes about half the CPU
// per request of fetch() (measured here: 1.0 vs 2.3 ms per save).
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
function post(url, body, headers) {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'POST', agent, headers: { ...headers, 'Content-Length': Buffer.byteLength(body) } }, (response) => {
      const parts = [];
      response.on('data', (c) => parts.push(c));
      response.on('end', () => resolve({ status: response.statusCode, text: Buffer.concat(parts).toString() }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(body);
  });
}

// User + system CPU seconds a process has used so far (Linux).
function cpuSeconds(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function benchServer({ smoke, target }) {
  const ceilingBin = path.join(repo, 'target', 'release', 'examples', 'store_ceiling');
  if (!fs.existsSync(process.env.KG_SERVER_BIN) || !fs.existsSync(ceilingBin)) {
    if (!smoke) throw new Error('build the release server first: cargo build --release -p kg-approval-server --bin kg-approval-server --example store_ceiling');
    // The test command's smoke run uses the debug server and skips the ceiling.
    process.env.KG_SERVER_BIN = path.join(repo, 'target', 'debug', 'kg-approval-server');
  }
  const { startServer, TOKENS, USERS } = server();
  const running = await startServer();
  try {
    const graph = generateGraph(12, { seed: 8, infoBytes: [3800, 4400], htmlEvery: 0 });
    const bytes = Buffer.byteLength(JSON.stringify(graph));
    const now = '2026-02-04T14:30:45.123Z';
    const who = { 'X-API-Token': TOKENS.ann, 'Content-Type': 'application/json' };
    const full = (id, version, label) => {
      const g = { ...graph, metadata: { title: 'bench', ...(version ? { version } : {}) }, nodes: graph.nodes.map((n, i) => (i === 0 ? { ...n, label } : n)) };
      return ['/saveGraphWithHistory', JSON.stringify({ id, graphData: g, override: false, audit: { user: USERS.ann, source: 'bench' } })];
    };
    // The body HistoryClient sends for a one-label approval (kg.deltaBody's shape).
    const delta = (id, version, label) => [
      '/patchGraph',
      JSON.stringify({
        graphId: id,
        expectedVersion: version,
        patchNodes: [{ nodeId: graph.nodes[0].id, fields: { label, updatedAt: now, updatedBy: USERS.ann } }],
        patchMetadata: { fields: { updated: now, updatedBy: USERS.ann } },
        audit: { user: USERS.ann, source: 'bench', accepted: [`node/${graph.nodes[0].id}/label`], rejected: [] },
      }),
    ];
    const save = async (id, version, label, how) => {
      const t0 = performance.now();
      const [route, body] = version === 0 ? full(id, 0, label) : how(id, version, label);
      const response = await post(`${running.url}${route}`, body, who);
      const answer = JSON.parse(response.text);
      if (response.status !== 200) throw new Error(`save failed: ${response.status} ${response.text}`);
      return { version: answer.newVersion, ms: performance.now() - t0, bytes: Buffer.byteLength(body) };
    };
    const levels = [];
    const plan = smoke ? [[1, 'delta', delta]] : [[1, 'delta', delta], [8, 'delta', delta], [32, 'delta', delta], [8, 'full', full]];
    for (const [clients, via, how] of plan) {
      const ids = Array.from({ length: clients }, () => randomUUID());
      const versions = await Promise.all(ids.map((id) => save(id, 0, 'v1').then((r) => r.version)));
      const latencies = [];
      const sizes = [];
      const until = performance.now() + (smoke ? 400 : 3000);
      const serverCpu = cpuSeconds(running.child.pid);
      const clientCpu = process.cpuUsage();
      const started = performance.now();
      await Promise.all(
        ids.map(async (id, c) => {
          let version = versions[c];
          for (let i = 0; performance.now() < until; i++) {
            const r = await save(id, version, `label ${i}`, how);
            version = r.version;
            latencies.push(r.ms);
            sizes.push(r.bytes);
          }
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      const n = latencies.length;
      const serverCpuMs = ((cpuSeconds(running.child.pid) - serverCpu) * 1000) / n;
      const used = process.cpuUsage(clientCpu);
      const clientCpuMs = (used.user + used.system) / 1000 / n;
      latencies.sort((a, b) => a - b);
      levels.push({ clients, via, saves: n, bodyBytes: sizes.reduce((a, b) => a + b, 0) / n, savesPerSecond: n / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), serverCpuMs, clientCpuMs });
    }
    const ceiling = fs.existsSync(ceilingBin) ? JSON.parse(execFileSync(ceilingBin, [smoke ? '50' : '500'], { encoding: 'utf8' })).insertsPerSecond : NaN;
    const eight = levels.find((l) => l.clients === 8 && l.via === 'delta');
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
