'use strict';
// Server CPU per delta save at two graph sizes, for one or more builds of the
// server side by side (issue 28: a save at 100,000 nodes should cost about
// what it costs at 1,000). One session per size makes each approval; its
// delta is posted, as the same bytes, to every build in turn, each holding
// the same graph in a SQLite file of its own; sizes and builds take turns
// (the order alternating), so machine noise falls on all alike. A server's
// CPU is read from /proc (in 10 ms ticks) when the measured saves begin and
// when they end: it serves nothing else meanwhile, and one reading's tick is
// about 1 % of 200 saves' CPU. (Summed over each request instead, every
// reading's tick adds its own error: about 7 % over 200 saves.)
//
//   KG_BINS=old=/path/to/server,new=target/release/kg-approval-server \
//     node bench/save-cpu.js [--sizes=1000,100000] [--saves=200] [--edits=25]
//
// Prints, per size and build, CPU per save (mean) and the save's median wall
// time, then each build's ratio of the largest size to the smallest. With
// KG_PERF=PREFIX, `perf record` samples each server during the measured
// saves into PREFIX-BUILD-NODES.data.
const http = require('http');
const { spawn } = require('child_process');
const { randomUUID } = require('crypto');
const kg = require('kg-approval');
const { generateGraph } = require('../pkg-tests/support/generate');
const { startServer } = require('../pkg-tests/support/server');
const { cpuSeconds, median, proposals } = require('./storage');

const arg = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback;
const sizes = arg('sizes', '1000,100000').split(',').map(Number);
const saves = Number(arg('saves', 200));
const edits = Number(arg('edits', 25));
// The first save after the restart (connections, statements) is left out.
const warm = 1;
const builds = (process.env.KG_BINS || 'current=target/release/kg-approval-server').split(',').map((b) => {
  const [name, bin] = b.split('=');
  return { name, bin };
});

function post(url, path, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ann-token-0001' } }, (res) => {
      const parts = [];
      res.on('data', (c) => parts.push(c));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString();
        if (res.statusCode !== 200) reject(new Error(`${path}: ${res.statusCode} ${text.slice(0, 300)}`));
        else resolve(JSON.parse(text));
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** `perf record` of a running process (call graphs from the unwind tables) until `stop()`. */
function record(pid, file) {
  const perf = spawn('perf', ['record', '-q', '-F', '2000', '-g', '--call-graph', 'dwarf,16384', '-p', String(pid), '-o', file], { stdio: 'ignore' });
  const exited = new Promise((resolve) => perf.on('exit', resolve));
  return {
    stop: async () => {
      perf.kill('SIGINT');
      await exited;
    },
  };
}

/**
 * One graph of `n` nodes on a server of each build: the session, its first
 * version saved to each, then every server restarted. As in
 * bench/storage.js (which restarts the server to read the file's size), the
 * measured saves run on a freshly started server: caches cold, the heap new.
 */
async function setUp(n) {
  const graph = generateGraph(n, { seed: 1 });
  delete graph.metadata.version;
  const session = new kg.ApprovalSession(graph, { graphId: randomUUID() });
  const servers = [];
  for (const b of builds) servers.push({ ...b, nodes: n, running: await startServer(['--body-limit', String(1 << 30)], { bin: b.bin, backend: 'sqlite' }), cpu: 0, wall: [] });
  session.propose({ metadata: { category: 'bench' } });
  const first = session.approve({ user: 'ann@example.com' });
  let version;
  for (const s of servers) {
    const client = new kg.HistoryClient({ baseUrl: s.running.url, token: 'ann-token-0001', timeoutMs: 600000, retries: 0 });
    version = (await client.save(first)).newVersion;
  }
  session.markSaved(first.audit.approvalId, version);
  for (const s of servers) {
    await s.running.stopGracefully();
    await s.running.restart();
  }
  const count = warm + saves;
  const list =
    edits === 1
      ? Array.from({ length: count }, (_, i) => ({ nodes: [{ id: graph.nodes[(i * 37) % n].id, label: `label ${i}` }] }))
      : proposals(graph, count, 500);
  return { n, session, servers, list };
}

/** The `i`-th approval of a graph, its delta posted to each build in turn (the order alternating). */
async function step(g, i) {
  const { session, servers } = g;
  session.propose(g.list[i]);
  const approved = session.approve({ user: 'ann@example.com' });
  const body = kg.deltaBody(approved, undefined);
  const order = i % 2 ? [...servers].reverse() : servers;
  const versions = new Set();
  for (const s of order) {
    const t = performance.now();
    versions.add((await post(s.running.url, '/patchGraph', body)).newVersion);
    if (i >= warm) {
      s.wall.push(performance.now() - t);
    }
  }
  if (versions.size !== 1) throw new Error(`the builds disagree on the version: ${[...versions]}`);
  session.markSaved(approved.audit.approvalId, [...versions][0]);
}

(async () => {
  const graphs = [];
  try {
    for (const n of sizes) {
      process.stderr.write(`save-cpu: ${n} nodes\n`);
      graphs.push(await setUp(n));
    }
    // The sizes take turns too, so that the ratio between them is measured
    // under the same load (run one size after the other, it swung from 1.2×
    // to 1.7× between runs on this shared machine).
    for (let i = 0; i < warm + saves; i++) {
      if (i === warm) {
        for (const s of graphs.flatMap((g) => g.servers)) {
          s.cpu = cpuSeconds(s.running.child.pid);
          if (process.env.KG_PERF) s.perf = record(s.running.child.pid, `${process.env.KG_PERF}-${s.name}-${s.nodes}.data`);
        }
      }
      for (const g of i % 2 ? [...graphs].reverse() : graphs) await step(g, i);
    }
    for (const s of graphs.flatMap((g) => g.servers)) s.cpu = cpuSeconds(s.running.child.pid) - s.cpu;
    for (const s of graphs.flatMap((g) => g.servers).filter((x) => x.perf)) await s.perf.stop();
    const cpuMs = (s) => (s.cpu * 1000) / saves;
    for (const s of graphs.flatMap((g) => g.servers)) {
      console.log(`${s.name.padEnd(10)} ${String(s.nodes).padStart(7)} nodes: CPU ${cpuMs(s).toFixed(2)} ms per save, wall ${median(s.wall).toFixed(2)} ms (median of ${saves})`);
    }
    const [small, large] = [graphs[0], graphs[graphs.length - 1]];
    for (const [k, b] of builds.entries()) {
      console.log(`${b.name}: ${large.n} vs ${small.n} nodes: ${(cpuMs(large.servers[k]) / cpuMs(small.servers[k])).toFixed(2)}×`);
    }
  } finally {
    for (const g of graphs) {
      g.session.free();
      for (const s of g.servers) await s.running.close();
    }
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
