'use strict';
// What one one-label version costs on disk, for one or more builds of the
// server side by side (issue 28): the storage bench's workload (500 nodes
// with 4 KB infos, then one-label approvals as deltas), the database's pages
// in use after a clean stop (SQLite) or its size after a checkpoint
// (PostgreSQL, --postgres: KG_TEST_POSTGRES or a throwaway cluster), per
// version. With the sqlite3 shell at hand, each table's and index's share
// too (its `dbstat` table: pages, and the bytes rows take in them).
//
//   KG_BINS=old=/path/to/server,new=target/release/kg-approval-server \
//     node bench/disk-per-version.js [--versions=1000] [--postgres]
const fs = require('fs');
const { execFileSync } = require('child_process');
const { generateGraph } = require('../pkg-tests/support/generate');
const { startServer } = require('../pkg-tests/support/server');
const { deltaSession } = require('./storage');

const arg = (name, fallback) => (process.argv.find((a) => a.startsWith(`--${name}=`)) || `=${fallback}`).split('=')[1];
const versions = Number(arg('versions', 1000));
const postgres = process.argv.includes('--postgres');
const builds = (process.env.KG_BINS || 'this=target/release/kg-approval-server').split(',').map((b) => b.split('='));

/** SQLite: pages in use (the header's page count less its free pages) and `dbstat` by table, if the shell has it. */
function sqliteUse(file) {
  const header = Buffer.alloc(100);
  const fd = fs.openSync(file, 'r');
  fs.readSync(fd, header, 0, 100, 0);
  fs.closeSync(fd);
  const pageSize = header.readUInt16BE(16) === 1 ? 65536 : header.readUInt16BE(16);
  const total = (header.readUInt32BE(28) - header.readUInt32BE(36)) * pageSize;
  let tables = {};
  try {
    const out = execFileSync('sqlite3', ['-readonly', file, 'SELECT name, sum(pgsize), sum(payload) FROM dbstat GROUP BY name'], { encoding: 'utf8' });
    tables = Object.fromEntries(out.trim().split('\n').map((l) => l.split('|')).map(([name, pages, payload]) => [name, { pages: +pages, payload: +payload }]));
  } catch (_) {
    // No sqlite3 shell, or one without dbstat: totals only.
  }
  return { total, tables };
}

async function measure(label, bin) {
  const running = await startServer([], { bin, ...(postgres ? { backend: 'postgres' } : {}) });
  const use = () => {
    if (!postgres) return sqliteUse(running.db);
    const out = execFileSync('psql', [running.db, '-tAc', 'CHECKPOINT; SELECT pg_database_size(current_database())'], { encoding: 'utf8' });
    return { total: Number(out.trim().split('\n').pop()), tables: {} };
  };
  try {
    const graph = generateGraph(500, { infoBytes: [3800, 4400], htmlEvery: 0, seed: 8 });
    delete graph.metadata.version;
    const { session, approve } = deltaSession(running, graph);
    await approve({ metadata: { category: 'bench' } });
    await running.stopGracefully();
    const before = use();
    await running.restart();
    for (let i = 0; i < versions; i++) await approve({ nodes: [{ id: graph.nodes[(i * 37) % 500].id, label: `label ${500 + i}` }] });
    await running.stopGracefully();
    const after = use();
    session.free();
    console.log(`${label}: ${((after.total - before.total) / versions).toFixed(0)} B per version over ${versions} (${postgres ? 'PostgreSQL' : 'SQLite'})`);
    for (const [name, t] of Object.entries(after.tables)) {
      const b = before.tables[name] || { pages: 0, payload: 0 };
      const pages = (t.pages - b.pages) / versions;
      const payload = (t.payload - b.payload) / versions;
      if (pages || payload) console.log(`  ${name.padEnd(28)} pages ${pages.toFixed(1).padStart(6)} B, rows ${payload.toFixed(1).padStart(6)} B`);
    }
  } finally {
    await running.close();
  }
}

(async () => {
  for (const [label, bin] of builds) await measure(label, bin);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
