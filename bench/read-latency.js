'use strict';
// How long a read of a graph's newest version takes on SQLite and on
// PostgreSQL, for one or more builds of the server side by side (issue 28:
// PostgreSQL's should be at most 1.5× SQLite's). Every build × backend holds
// the same graphs (each server a database of its own, PostgreSQL's on the
// cluster of KG_TEST_POSTGRES or one started here); reads go round the
// servers in turn, over keep-alive HTTP, so machine noise falls on all alike.
//
//   KG_BINS=old=/path/to/server,new=target/release/kg-approval-server \
//     node bench/read-latency.js [--reads=200] [--versions=20]
//
// Two graphs: the server bench's small one (12 nodes with 4 KB infos, every
// info a blob: what bench/server.js reads alone) and the storage bench's
// 1,000 nodes. Prints each server's median read and PostgreSQL / SQLite.
const http = require('http');
const { randomUUID } = require('crypto');
const { generateGraph } = require('../pkg-tests/support/generate');
const { startServer, TOKENS } = require('../pkg-tests/support/server');
const { median } = require('./storage');

const arg = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback;
const reads = Number(arg('reads', 200));
const versions = Number(arg('versions', 20));
const builds = (process.env.KG_BINS || 'current=target/release/kg-approval-server').split(',').map((b) => {
  const [name, bin] = b.split('=');
  return { name, bin };
});
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function request(method, url, body) {
  return new Promise((resolve, reject) => {
    const headers = { 'X-API-Token': TOKENS.ann, 'Content-Type': 'application/json' };
    const t = performance.now();
    const req = http.request(url, { method, headers, agent }, (res) => {
      const parts = [];
      res.on('data', (c) => parts.push(c));
      res.on('end', () => {
        const ms = performance.now() - t;
        const text = Buffer.concat(parts).toString();
        if (res.statusCode !== 200) reject(new Error(`${method} ${url}: ${res.statusCode} ${text.slice(0, 300)}`));
        else resolve({ ms, text });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The graph saved, then `versions` one-label deltas on it; its id. */
async function populate(url, graph, id) {
  await request('POST', `${url}/saveGraphWithHistory`, JSON.stringify({ id, graphData: graph, override: false }));
  for (let v = 1; v <= versions; v++) {
    const node = graph.nodes[(v * 13) % graph.nodes.length].id;
    const delta = { graphId: id, expectedVersion: v, patchNodes: [{ nodeId: node, fields: { label: `v${v}` } }] };
    await request('POST', `${url}/patchGraph`, JSON.stringify(delta));
  }
}

(async () => {
  const graphs = [
    { name: '12 nodes, 4 KB infos', graph: generateGraph(12, { seed: 8, infoBytes: [3800, 4400], htmlEvery: 0 }) },
    { name: '1,000 nodes', graph: generateGraph(1000, { seed: 4 }) },
  ];
  for (const g of graphs) {
    delete g.graph.metadata.version;
    g.id = randomUUID();
  }
  const servers = [];
  try {
    for (const b of builds) {
      for (const backend of ['sqlite', 'postgres']) {
        const running = await startServer(['--body-limit', String(1 << 30)], { bin: b.bin, backend });
        servers.push({ build: b.name, backend, running, times: graphs.map(() => []) });
        for (const g of graphs) await populate(running.url, g.graph, g.id);
      }
    }
    for (const [gi, g] of graphs.entries()) {
      const texts = new Set();
      for (let i = 0; i < reads + 10; i++) {
        const order = i % 2 ? [...servers].reverse() : servers;
        for (const s of order) {
          const r = await request('GET', `${s.running.url}/getknowgraph?id=${g.id}`);
          if (i >= 10) s.times[gi].push(r.ms);
          if (i === 0) texts.add(r.text);
        }
      }
      if (texts.size !== 1) throw new Error(`${g.name}: the servers answer different texts`);
      for (const b of builds) {
        const [lite, pg] = ['sqlite', 'postgres'].map((backend) => median(servers.find((s) => s.build === b.name && s.backend === backend).times[gi]));
        console.log(`${g.name}: ${b.name.padEnd(8)} SQLite ${lite.toFixed(2)} ms, PostgreSQL ${pg.toFixed(2)} ms: ${(pg / lite).toFixed(2)}× (median of ${reads})`);
      }
    }
  } finally {
    agent.destroy();
    for (const s of servers) await s.running.close();
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
