'use strict';
// The history server under load on loopback: one-label approvals of a ~50 KB
// graph from 1, 8 and 32 concurrent clients (each on its own graph, each save
// based on the version it got back), sent as deltas (what HistoryClient sends
// to this server) and, at 8 clients on SQLite, as whole graphs (what other
// editors send). Three setups: SQLite (one process), PostgreSQL (one
// process) and PostgreSQL (three processes on one database, clients spread
// over them), each beside its direct-insert ceiling (store_ceiling: the same
// rows written by the same store code without HTTP, parsing or hashing).
// Then how long an unrelated read waits while a ~3.8 MB graph is being saved.
const fs = require('fs');
const http = require('http');
const path = require('path');
const { execFileSync } = require('child_process');
const { randomUUID } = require('crypto');
const { generateGraph } = require('../pkg-tests/support/generate');

const repo = path.join(__dirname, '..');
process.env.KG_SERVER_BIN ??= path.join(repo, 'target', 'release', 'kg-approval-server');
// Required lazily: they read KG_SERVER_BIN when loaded.
const server = () => require('../pkg-tests/support/server');
const postgres = () => require('../pkg-tests/support/postgres');

// The load generator shares the machine with the server, so it should cost
// as little CPU as it can: node:http with keep-alive takes about half the CPU
// per request of fetch() (measured here: 1.0 vs 2.3 ms per save).
const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
function request(method, url, body, headers) {
  return new Promise((resolve, reject) => {
    const sent = http.request(url, { method, agent, headers: { ...headers, ...(body ? { 'Content-Length': Buffer.byteLength(body) } : {}) } }, (response) => {
      const parts = [];
      response.on('data', (c) => parts.push(c));
      response.on('end', () => resolve({ status: response.statusCode, text: Buffer.concat(parts).toString() }));
      response.on('error', reject);
    });
    sent.on('error', reject);
    sent.end(body);
  });
}

// User + system CPU seconds a process has used so far (Linux).
function cpuSeconds(pid) {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0; // gone meanwhile
  }
}

// CPU seconds of a PostgreSQL cluster: the postmaster and its children (the
// connections' backends, which the servers' pools keep open, and the writer,
// WAL writer and checkpointer).
function clusterCpuSeconds(dir) {
  const postmaster = Number(fs.readFileSync(path.join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
  let total = cpuSeconds(postmaster);
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = fs.readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1].split(' ');
      if (Number(fields[1]) === postmaster) total += (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      // exited meanwhile
    }
  }
  return total;
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const now = '2026-02-04T14:30:45.123Z';

/** Saves against `urls` (client c always talks to urls[c % n]). */
function saver(graph, urls) {
  const { TOKENS, USERS } = server();
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
  const save = async (client, id, version, label, how) => {
    const t0 = performance.now();
    const [route, body] = version === 0 ? full(id, 0, label) : how(id, version, label);
    const response = await request('POST', `${urls[client % urls.length]}${route}`, body, who);
    if (response.status !== 200) throw new Error(`save failed: ${response.status} ${response.text}`);
    return { version: JSON.parse(response.text).newVersion, ms: performance.now() - t0, bytes: Buffer.byteLength(body) };
  };
  return { save, full, delta };
}

/** One load level: `clients` clients saving for `ms` milliseconds. */
async function level({ save }, clients, how, ms, cpu) {
  const ids = Array.from({ length: clients }, () => randomUUID());
  const versions = await Promise.all(ids.map((id, c) => save(c, id, 0, 'v1').then((r) => r.version)));
  const latencies = [];
  const sizes = [];
  const until = performance.now() + ms;
  const serverCpu = cpu.servers();
  const databaseCpu = cpu.database();
  const clientCpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    ids.map(async (id, c) => {
      let version = versions[c];
      for (let i = 0; performance.now() < until; i++) {
        const r = await save(c, id, version, `label ${i}`, how);
        version = r.version;
        latencies.push(r.ms);
        sizes.push(r.bytes);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const n = latencies.length;
  const used = process.cpuUsage(clientCpu);
  latencies.sort((a, b) => a - b);
  return {
    clients,
    saves: n,
    bodyBytes: sizes.reduce((a, b) => a + b, 0) / n,
    savesPerSecond: n / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    serverCpuMs: ((cpu.servers() - serverCpu) * 1000) / n,
    databaseCpuMs: databaseCpu === null ? null : ((cpu.database() - databaseCpu) * 1000) / n,
    clientCpuMs: (used.user + used.system) / 1000 / n,
  };
}

/** The store's own ceiling: `writers` writers inserting a save's rows directly. */
function ceiling(bin, db, writers, smoke) {
  if (!fs.existsSync(bin)) return NaN;
  const versions = Math.max(smoke ? 5 : 40, Math.round((smoke ? 50 : 2400) / writers));
  const args = [String(versions), '--writers', String(writers), ...(db ? ['--db', db] : [])];
  return JSON.parse(execFileSync(bin, args, { encoding: 'utf8' })).insertsPerSecond;
}

/**
 * How long a read of a small graph takes alone, and while a ~3.8 MB graph is
 * being saved to the same server (reads are polled back to back until the
 * save answers).
 */
async function readBehindWrite(url, small, big) {
  const { TOKENS } = server();
  const headers = { 'X-API-Token': TOKENS.ann, 'Content-Type': 'application/json' };
  const read = async () => {
    const t0 = performance.now();
    const r = await request('GET', `${url}/getknowgraph?id=${small}`, null, headers);
    if (r.status !== 200) throw new Error(`read failed: ${r.status}`);
    return performance.now() - t0;
  };
  const alone = [];
  for (let i = 0; i < 20; i++) alone.push(await read());
  const body = JSON.stringify({ id: randomUUID(), graphData: big, override: false });
  let saving = true;
  const t0 = performance.now();
  const saved = request('POST', `${url}/saveGraphWithHistory`, body, headers).then((r) => {
    if (r.status !== 200) throw new Error(`big save failed: ${r.status} ${r.text.slice(0, 200)}`);
    saving = false;
    return performance.now() - t0;
  });
  const during = [];
  while (saving) during.push(await read());
  const saveMs = await saved;
  alone.sort((a, b) => a - b);
  return { bigBytes: Buffer.byteLength(body), saveMs, aloneMs: percentile(alone, 50), reads: during.length, worstDuringMs: Math.max(...during) };
}

async function benchServer({ smoke, target }) {
  const ceilingBin = path.join(repo, 'target', 'release', 'examples', 'store_ceiling');
  if (!fs.existsSync(process.env.KG_SERVER_BIN) || !fs.existsSync(ceilingBin)) {
    if (!smoke) throw new Error('build the release server first: cargo build --release -p kg-approval-server --bin kg-approval-server --example store_ceiling');
    // The test command's smoke run uses the debug server and skips the ceilings.
    process.env.KG_SERVER_BIN = path.join(repo, 'target', 'debug', 'kg-approval-server');
  }
  const { startServer } = server();
  const graph = generateGraph(12, { seed: 8, infoBytes: [3800, 4400], htmlEvery: 0 });
  const big = generateGraph(1000, { seed: 9, infoBytes: [3100, 3500], htmlEvery: 0 });
  delete big.metadata.version; // a new graph
  const ms = smoke ? 300 : 3000;
  const cluster = smoke ? null : postgres().postgresCluster();
  const setups = [
    { name: 'SQLite, 1 process', backend: 'sqlite', processes: 1, plan: smoke ? [[1, 'delta']] : [[1, 'delta'], [8, 'delta'], [32, 'delta'], [8, 'full']] },
    ...(smoke
      ? []
      : [
          { name: 'PostgreSQL, 1 process', backend: 'postgres', processes: 1, plan: [[8, 'delta'], [32, 'delta']] },
          { name: 'PostgreSQL, 3 processes', backend: 'postgres', processes: 3, plan: [[8, 'delta'], [32, 'delta']] },
        ]),
  ];
  const results = [];
  for (const setup of setups) {
    const db = setup.backend === 'postgres' ? postgres().postgresDatabase() : undefined;
    const servers = [];
    try {
      for (let i = 0; i < setup.processes; i++) servers.push(await startServer([], { backend: setup.backend, ...(db ? { db } : {}) }));
      const s = saver(graph, servers.map((r) => r.url));
      const cpu = {
        servers: () => servers.reduce((sum, r) => sum + cpuSeconds(r.child.pid), 0),
        database: () => (setup.backend === 'postgres' ? clusterCpuSeconds(cluster.dir) : null),
      };
      const levels = [];
      for (const [clients, via] of setup.plan) levels.push({ via, ...(await level(s, clients, s[via], ms, cpu)) });
      const readsWhileSaving = setup.processes === 1 && !smoke ? await readBehindWrite(servers[0].url, await firstGraph(s), big) : null;
      results.push({ name: setup.name, backend: setup.backend, processes: setup.processes, levels, readsWhileSaving });
    } finally {
      for (const r of servers) await r.close();
    }
    // The ceiling runs alone, on a fresh database of the same backend.
    const last = results[results.length - 1];
    last.ceilings = {};
    for (const writers of [...new Set(setup.plan.map(([c]) => c))]) {
      last.ceilings[writers] = ceiling(ceilingBin, setup.backend === 'postgres' ? postgres().postgresDatabase() : null, writers, smoke);
    }
  }

  const find = (name, clients) => results.find((r) => r.name === name)?.levels.find((l) => l.clients === clients && l.via === 'delta');
  const sqlite8 = find('SQLite, 1 process', 8);
  if (sqlite8) {
    const c = results[0].ceilings[8];
    target('server at 8 clients ≥ 1/3 of the SQLite ceiling', sqlite8.savesPerSecond >= c / 3, `${sqlite8.savesPerSecond.toFixed(0)} saves/s vs ${c.toFixed(0)} inserts/s (${((sqlite8.savesPerSecond / c) * 100).toFixed(0)}%)`);
    target('server p99 at 8 clients < 50 ms', sqlite8.p99 < 50, `${sqlite8.p99.toFixed(1)} ms`);
  }
  for (const r of results.filter((x) => x.readsWhileSaving)) {
    const w = r.readsWhileSaving;
    target(`${r.name}: a read does not wait behind a ${(w.bigBytes / 1048576).toFixed(1)} MB save (worst read < 1/4 of the save)`, w.worstDuringMs < w.saveMs / 4, `worst of ${w.reads} reads ${w.worstDuringMs.toFixed(1)} ms (alone ${w.aloneMs.toFixed(1)} ms) during a ${w.saveMs.toFixed(0)} ms save`);
  }
  return { graphBytes: Buffer.byteLength(JSON.stringify(graph)), setups: results };
}

/** A small graph to read (saved once). */
async function firstGraph({ save }) {
  const id = randomUUID();
  await save(0, id, 0, 'read me');
  return id;
}

module.exports = { benchServer };
