'use strict';
// Server CPU per delta save at two graph sizes, for two builds of the server
// side by side (issue 28: a save at 100,000 nodes should cost about what it
// costs at 1,000). One session makes each approval; its delta is posted, as
// the same bytes, to every build in turn (the order alternating), each
// holding the same graph in a SQLite file of its own, so machine noise falls
// on all builds alike. CPU is read from /proc around each request.
//
//   KG_BINS=old=/path/to/server,new=target/release/kg-approval-server \
//     node bench/save-cpu.js [--sizes=1000,100000] [--saves=60] [--edits=25]
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
const saves = Number(arg('saves', 60));
const edits = Number(arg('edits', 25));
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

async function atSize(n) {
  const graph = generateGraph(n, { seed: 1 });
  delete graph.metadata.version;
  const graphId = randomUUID();
  const session = new kg.ApprovalSession(graph, { graphId });
  const servers = [];
  try {
    for (const b of builds) servers.push({ ...b, running: await startServer(['--body-limit', String(1 << 30)], { bin: b.bin, backend: 'sqlite' }), cpu: 0, wall: [] });
    session.propose({ metadata: { category: 'bench' } });
    const first = session.approve({ user: 'ann@example.com' });
    let version;
    for (const s of servers) {
      const client = new kg.HistoryClient({ baseUrl: s.running.url, token: 'ann-token-0001', timeoutMs: 600000, retries: 0 });
      version = (await client.save(first)).newVersion;
    }
    session.markSaved(first.audit.approvalId, version);
    // As in bench/storage.js (which restarts the server to read the file's
    // size), the measured saves start on a freshly started server: caches
    // cold, the heap new. Each server's first save after that is left out.
    for (const s of servers) {
      await s.running.stopGracefully();
      await s.running.restart();
    }
    const warm = 1;
    const list =
      edits === 1
        ? Array.from({ length: warm + saves }, (_, i) => ({ nodes: [{ id: graph.nodes[(i * 37) % n].id, label: `label ${i}` }] }))
        : proposals(graph, warm + saves, 500);
    for (const [i, p] of list.entries()) {
      if (i === warm && process.env.KG_PERF) for (const s of servers) s.perf = record(s.running.child.pid, `${process.env.KG_PERF}-${s.name}-${n}.data`);
      session.propose(p);
      const approved = session.approve({ user: 'ann@example.com' });
      const body = kg.deltaBody(approved, undefined);
      const order = i % 2 ? [...servers].reverse() : servers;
      const versions = new Set();
      for (const s of order) {
        const pid = s.running.child.pid;
        const cpu = cpuSeconds(pid);
        const t = performance.now();
        versions.add((await post(s.running.url, '/patchGraph', body)).newVersion);
        if (i >= warm) {
          s.wall.push(performance.now() - t);
          s.cpu += cpuSeconds(pid) - cpu;
        }
      }
      if (versions.size !== 1) throw new Error(`the builds disagree on the version: ${[...versions]}`);
      session.markSaved(approved.audit.approvalId, [...versions][0]);
    }
    for (const s of servers.filter((x) => x.perf)) await s.perf.stop();
    return servers.map((s) => ({ build: s.name, nodes: n, saves, cpuMs: (s.cpu * 1000) / saves, wallMs: median(s.wall) }));
  } finally {
    session.free();
    for (const s of servers) await s.running.close();
  }
}

(async () => {
  const results = [];
  for (const n of sizes) {
    process.stderr.write(`save-cpu: ${n} nodes\n`);
    for (const r of await atSize(n)) {
      results.push(r);
      console.log(`${r.build.padEnd(10)} ${String(n).padStart(7)} nodes: CPU ${r.cpuMs.toFixed(2)} ms per save, wall ${r.wallMs.toFixed(2)} ms (median of ${r.saves})`);
    }
  }
  for (const b of builds) {
    const [small, large] = [sizes[0], sizes[sizes.length - 1]].map((n) => results.find((r) => r.build === b.name && r.nodes === n));
    console.log(`${b.name}: ${large.nodes} vs ${small.nodes} nodes: ${(large.cpuMs / small.cpuMs).toFixed(2)}×`);
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
