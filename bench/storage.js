'use strict';
// What an approval costs after review, against the real history server
// (release build, SQLite file on disk): bytes on the wire, bytes the file
// grows by, server CPU; at 1k, 10k and 100k nodes with the review bench's
// 25-edit proposals, as deltas and (where it fits) as whole graphs side by
// side; one-label approvals on a 2 MB graph; reading version 1 and the
// newest of a graph with 1,000 versions. The client is the package's own
// HistoryClient; a pass-through proxy of our own counts the request bytes.
const fs = require('fs');
const http = require('http');
const path = require('path');
const { execFileSync } = require('child_process');
const { randomUUID } = require('crypto');
const kg = require('kg-approval');
const { generateGraph, generateProposal } = require('../pkg-tests/support/generate');
const { startProxy } = require('../pkg-tests/support/fault-proxy');

const server = () => require('../pkg-tests/support/server');

// User + system CPU seconds a process has used so far (Linux).
function cpuSeconds(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const bytes = (text) => Buffer.byteLength(text);
const avg = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * The bytes of the database in use once the server has stopped cleanly (its
 * log folded in): the file's pages less its free ones, read from the SQLite
 * header. Not the file's size: a file that earlier work left with free pages
 * does not grow while they are filled, which measured a first version as 0 KB.
 */
async function usedBytes(running) {
  await running.stopGracefully();
  const header = Buffer.alloc(100);
  const fd = fs.openSync(running.db, 'r');
  fs.readSync(fd, header, 0, 100, 0);
  fs.closeSync(fd);
  const pageSize = header.readUInt16BE(16) === 1 ? 65536 : header.readUInt16BE(16);
  const used = (header.readUInt32BE(28) - header.readUInt32BE(36)) * pageSize;
  await running.restart();
  return used;
}

/** Proposals like the review bench's, never naming a node an earlier one removed. */
function proposals(graph, count, seed) {
  const removed = new Set();
  return Array.from({ length: count }, (_, i) => {
    const p = generateProposal(graph, { seed: seed + i, edits: 25 });
    p.removeNodeIds = p.removeNodeIds.filter((id) => !removed.has(id));
    p.nodes = p.nodes.filter((n) => !removed.has(n.id));
    p.edges = p.edges.filter((e) => !removed.has(e.source));
    p.removeNodeIds.forEach((id) => removed.add(id));
    return p;
  });
}

/**
 * A session on `graph` under a new id, and `approve(proposal)`: proposes,
 * approves as Ann and saves the approval on `running` as a delta.
 */
function deltaSession(running, graph) {
  const session = new kg.ApprovalSession(graph, { graphId: randomUUID() });
  const client = new kg.HistoryClient({ baseUrl: running.url, token: 'ann-token-0001', timeoutMs: 600000, retries: 0, deltaSaves: 'always' });
  const approve = async (proposal) => {
    session.propose(proposal);
    const approved = session.approve({ user: 'ann@example.com' });
    session.markSaved(approved.audit.approvalId, (await client.save(approved)).newVersion);
  };
  return { session, approve };
}

/**
 * One graph of `n` nodes: load, first version, then `versions` approvals as
 * deltas and `fullVersions` as whole graphs; what each cost.
 */
async function graphCosts(running, proxy, { n, versions, fullVersions, edits, graphOptions, label }) {
  const t0 = performance.now();
  const graph = generateGraph(n, { seed: 1, ...graphOptions });
  delete graph.metadata.version;
  const graphBytes = n >= 100000 ? NaN : bytes(JSON.stringify(graph));
  const generatedMs = performance.now() - t0;
  const graphId = randomUUID();
  let t = performance.now();
  const session = new kg.ApprovalSession(graph, { graphId });
  const loadMs = performance.now() - t;
  const direct = new kg.HistoryClient({ baseUrl: running.url, token: 'ann-token-0001', timeoutMs: 600000, retries: 0 });
  const viaProxy = (deltaSaves) => new kg.HistoryClient({ baseUrl: proxy.url, token: 'ann-token-0001', timeoutMs: 600000, retries: 0, deltaSaves });

  const empty = await usedBytes(running);
  session.propose({ metadata: { category: 'bench' } });
  const first = session.approve({ user: 'ann@example.com' });
  let cpu = cpuSeconds(running.child.pid);
  t = performance.now();
  const v1 = await direct.save(first);
  const firstSaveMs = performance.now() - t;
  const firstCpuMs = (cpuSeconds(running.child.pid) - cpu) * 1000;
  session.markSaved(first.audit.approvalId, v1.newVersion);
  const afterFirst = await usedBytes(running);
  const firstDisk = afterFirst - empty;

  const run = async (count, deltaSaves, seed) => {
    const list = edits === 1 ? Array.from({ length: count }, (_, i) => ({ nodes: [{ id: graph.nodes[(i * 37) % n].id, label: `label ${seed + i}` }] })) : proposals(graph, count, seed);
    const client = viaProxy(deltaSaves);
    const before = await usedBytes(running);
    const stats = { propose: [], approve: [], save: [], wire: [], changed: [] };
    const cpuStart = cpuSeconds(running.child.pid);
    for (const p of list) {
      let s = performance.now();
      session.propose(p);
      stats.propose.push(performance.now() - s);
      s = performance.now();
      const approved = session.approve({ user: 'ann@example.com' });
      stats.approve.push(performance.now() - s);
      const seen = proxy.seen.length;
      s = performance.now();
      const saved = await client.save(approved);
      stats.save.push(performance.now() - s);
      session.markSaved(approved.audit.approvalId, saved.newVersion);
      const post = proxy.seen.slice(seen).find((r) => r.method === 'POST');
      stats.wire.push(bytes(post.body));
      stats.changed.push(bytes(JSON.stringify(approved.delta)));
      proxy.seen.length = 0;
    }
    const serverCpuMs = ((cpuSeconds(running.child.pid) - cpuStart) * 1000) / count;
    const growth = ((await usedBytes(running)) - before) / count;
    return {
      versions: count,
      proposeMs: median(stats.propose),
      approveMs: median(stats.approve),
      saveMs: median(stats.save),
      wireBytes: avg(stats.wire),
      changedBytes: avg(stats.changed),
      diskBytesPerVersion: growth,
      serverCpuMs,
    };
  };
  const delta = await run(versions, 'always', 500);
  const full = fullVersions ? await run(fullVersions, 'never', 900) : null;
  // The newest version reads back exactly as the session holds it (checked, not assumed).
  const stored = await new Promise((resolve, reject) => http.get(`${running.url}/getknowgraph?id=${graphId}`, (res) => {
    const parts = [];
    res.on('data', (c) => parts.push(c));
    res.on('end', () => resolve(Buffer.concat(parts)));
  }).on('error', reject));
  const exact = n >= 100000 ? null : stored.toString() === JSON.stringify(session.graph());
  session.free();
  return { label, nodes: n, graphBytes, generatedMs, loadMs, firstSaveMs, firstCpuMs, firstDisk, delta, full, exact, storedBytes: stored.length };
}

/** Reading version 1 and the newest of a graph with `count` versions, over keep-alive HTTP. */
async function reads(running, count) {
  const graph = generateGraph(1000, { seed: 4 });
  delete graph.metadata.version;
  const graphId = randomUUID();
  const session = new kg.ApprovalSession(graph, { graphId });
  const client = new kg.HistoryClient({ baseUrl: running.url, token: 'ann-token-0001', timeoutMs: 600000, retries: 0 });
  for (let v = 1; v <= count; v++) {
    session.propose({ nodes: [{ id: graph.nodes[(v * 13) % graph.nodes.length].id, label: `v${v}` }] });
    const approved = session.approve({ user: 'ann@example.com' });
    session.markSaved(approved.audit.approvalId, (await client.save(approved)).newVersion);
  }
  session.free();
  const agent = new http.Agent({ keepAlive: true });
  const get = (path) => new Promise((resolve, reject) => {
    const t = performance.now();
    http.get(`${running.url}${path}`, { agent }, (res) => {
      let size = 0;
      res.on('data', (c) => (size += c.length));
      res.on('end', () => resolve({ ms: performance.now() - t, size, status: res.statusCode }));
    }).on('error', reject);
  });
  const time = async (path) => {
    const runs = [];
    for (let i = 0; i < 11; i++) runs.push(await get(path));
    if (runs.some((r) => r.status !== 200)) throw new Error(`${path}: ${runs[0].status}`);
    return { ms: median(runs.slice(1).map((r) => r.ms)), bytes: runs[0].size };
  };
  const latest = await time(`/getknowgraph?id=${graphId}`);
  const first = await time(`/getknowgraphversion?id=${graphId}&version=1`);
  const middle = await time(`/getknowgraphversion?id=${graphId}&version=${Math.floor(count / 2)}`);
  agent.destroy();
  return { versions: count, latest, first, middle };
}

/**
 * Issue 28's CPU ratio as `bench/save-cpu.js` measures it, in a child
 * process: both sizes taking turns, so that the machine's noise falls on
 * both alike (run one after the other, the ratio swung from 1.2× to 1.7×
 * between runs). CPU is read in 10 ms ticks: over 200 saves one tick is about
 * 1 % of the total at either size (over 60, 4 %).
 */
function saveCpuInTurns(small, large, saves = 200) {
  process.stderr.write(`storage: server CPU per save, ${small} and ${large} nodes taking turns\n`);
  const out = execFileSync(process.execPath, [path.join(__dirname, 'save-cpu.js'), `--sizes=${small},${large}`, `--saves=${saves}`], {
    encoding: 'utf8',
    env: { ...process.env, KG_BINS: `current=${path.join(__dirname, '..', 'target', 'release', 'kg-approval-server')}` },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const cpu = (n) => Number(new RegExp(`\\s${n} nodes: CPU ([0-9.]+) ms`).exec(out)?.[1]);
  const result = { small: cpu(small), large: cpu(large), saves };
  if (!(result.small > 0 && result.large > 0)) throw new Error(`bench/save-cpu.js printed no CPU figures:\n${out}`);
  return result;
}

async function benchStorage({ smoke, target }) {
  const { startServer } = server();
  const running = await startServer(['--body-limit', String(1 << 30)]);
  const proxy = await startProxy(running.url);
  try {
    const sizes = smoke
      ? [{ n: 300, versions: 3, fullVersions: 2 }]
      : [{ n: 1000, versions: 40, fullVersions: 5 }, { n: 10000, versions: 40, fullVersions: 3 }, { n: 100000, versions: 40, fullVersions: 0 }];
    const graphs = [];
    for (const s of sizes) {
      process.stderr.write(`storage: ${s.n} nodes\n`);
      graphs.push(await graphCosts(running, proxy, { ...s, edits: 25, label: `${s.n.toLocaleString('en')} nodes, 25-edit approvals` }));
    }
    // The issue's own setting: a new user's database holding this one graph.
    // (In the shared database above, holding the other graphs too, random
    // B-tree inserts fill pages less: about 1.9 KB per one-label version.)
    process.stderr.write('storage: one-label approvals on a 2 MB graph, in a database of its own\n');
    const own = await startServer();
    const ownProxy = await startProxy(own.url);
    let oneLabel;
    try {
      // 1,000 versions: the file grows in whole pages, and each of a dozen
      // tables and indexes takes a new page now and then. Over 200, the
      // small ones still fitted in their first page: the same build measured
      // 1,229 B per version there and 1,556 B over 1,000.
      oneLabel = await graphCosts(own, ownProxy, {
        n: smoke ? 50 : 500,
        versions: smoke ? 3 : 1000,
        fullVersions: smoke ? 2 : 5,
        edits: 1,
        graphOptions: { infoBytes: [3800, 4400], htmlEvery: 0, seed: 8 },
        label: `${smoke ? 50 : 500} nodes with 4 KB infos, one-label approvals`,
      });
    } finally {
      await ownProxy.close();
      await own.close();
    }
    process.stderr.write('storage: reads with many versions\n');
    const readBench = await reads(running, smoke ? 20 : 1000);

    for (const g of [...graphs, oneLabel]) {
      const d = g.delta;
      target(`wire bytes per approval ≤ 2 × changes + 1 KB (${g.label})`, d.wireBytes <= 2 * d.changedBytes + 1024, `${Math.round(d.wireBytes)} bytes for ${Math.round(d.changedBytes)} bytes of changes${g.full ? `; whole graph: ${Math.round(g.full.wireBytes)} bytes` : ''}`);
      target(`disk bytes per version ≤ 2 × changes + 1 KB (${g.label}, ${d.versions} versions)`, d.diskBytesPerVersion <= 2 * d.changedBytes + 1024, `${Math.round(d.diskBytesPerVersion)} bytes per version for ${Math.round(d.changedBytes)} bytes of changes`);
      if (!Number.isNaN(g.graphBytes)) {
        target(`first version ≤ 1.2 × the graph's JSON (${g.label})`, g.firstDisk <= 1.2 * g.graphBytes, `${Math.round(g.firstDisk / 1024)} KB for ${Math.round(g.graphBytes / 1024)} KB of JSON (${(g.firstDisk / g.graphBytes).toFixed(2)}×)`);
      }
      if (g.exact === false) target(`the newest version reads back exactly (${g.label})`, false, 'it does not');
    }
    target(`disk bytes per one-label version ≤ 600 (issue 28; ${oneLabel.delta.versions} versions)`, oneLabel.delta.diskBytesPerVersion <= 600, `${Math.round(oneLabel.delta.diskBytesPerVersion)} bytes per version`);
    const [smallest, largest] = [graphs[0], graphs[graphs.length - 1]];
    const inTurns = smoke ? null : saveCpuInTurns(smallest.nodes, largest.nodes);
    const sequential = `one size after the other, in the database above holding all three: ${largest.delta.serverCpuMs.toFixed(2)} vs ${smallest.delta.serverCpuMs.toFixed(2)} ms (${(largest.delta.serverCpuMs / smallest.delta.serverCpuMs).toFixed(2)}×, ${largest.delta.versions} saves)`;
    if (inTurns) {
      target(`server CPU per delta save at ${largest.nodes.toLocaleString('en')} nodes ≤ 1.5× at ${smallest.nodes.toLocaleString('en')}`, inTurns.large <= 1.5 * inTurns.small, `${inTurns.large.toFixed(2)} vs ${inTurns.small.toFixed(2)} ms (${(inTurns.large / inTurns.small).toFixed(2)}×; bench/save-cpu.js: the sizes taking turns, a database each, ${inTurns.saves} saves); ${sequential}`);
    } else {
      target(`server CPU per delta save at ${largest.nodes.toLocaleString('en')} nodes ≤ 1.5× at ${smallest.nodes.toLocaleString('en')}`, largest.delta.serverCpuMs <= 1.5 * smallest.delta.serverCpuMs, sequential);
    }
    target(`reading version 1 ≤ 2× reading the newest (${readBench.versions} versions)`, readBench.first.ms <= 2 * readBench.latest.ms, `${readBench.first.ms.toFixed(1)} vs ${readBench.latest.ms.toFixed(1)} ms (middle version ${readBench.middle.ms.toFixed(1)} ms)`);
    return { graphs, oneLabel, reads: readBench };
  } finally {
    await proxy.close();
    await running.close();
  }
}

module.exports = { benchStorage, cpuSeconds, deltaSession, median, proposals };
