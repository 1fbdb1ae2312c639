'use strict';
// Which pages one delta save writes, by table and index (issue 28: why a save
// at 100,000 nodes costs more CPU than at 1,000). A graph of `n` nodes gets
// its first version and six 25-edit approvals; the server restarts (the
// write-ahead log folded in and emptied); then each of five more saves is
// read back from the log: the page number in every frame header, mapped to
// its B-tree through SQLite's `dbstat` (needs the sqlite3 shell).
//
//   node bench/save-pages.js [--nodes=1000] [--bin=target/release/kg-approval-server]
//
// Prints each save's frames and distinct pages, then the mean distinct pages
// per save by B-tree ("new" for pages the file did not have before).
const fs = require('fs');
const { execFileSync } = require('child_process');
const { generateGraph } = require('../pkg-tests/support/generate');
const { startServer } = require('../pkg-tests/support/server');
const { deltaSession, proposals } = require('./storage');

const arg = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback;
const nodes = Number(arg('nodes', 1000));
const bin = arg('bin', require('path').join(__dirname, '..', 'target', 'release', 'kg-approval-server'));
const before = 6;
const measured = 5;

/** The page numbers of the frames in a write-ahead log, from frame `skip` on, and the log's salt. */
function walPages(file, skip) {
  const wal = fs.readFileSync(file);
  const frame = 24 + wal.readUInt32BE(8);
  const salt = wal.toString('hex', 16, 24);
  const pages = [];
  for (let at = 32 + skip * frame; at + frame <= wal.length; at += frame) pages.push(wal.readUInt32BE(at));
  return { pages, salt };
}

(async () => {
  const running = await startServer(['--body-limit', String(1 << 30)], { bin, backend: 'sqlite' });
  const graph = generateGraph(nodes, { seed: 1 });
  delete graph.metadata.version;
  const { session, approve } = deltaSession(running, graph);
  try {
    const list = proposals(graph, before + measured, 500);
    await approve({ metadata: { category: 'bench' } });
    for (const p of list.slice(0, before)) await approve(p);
    await running.stopGracefully();
    await running.restart();
    const btree = new Map();
    const stat = execFileSync('sqlite3', ['-readonly', running.db, 'SELECT pageno, name, pagetype FROM dbstat'], { encoding: 'utf8', maxBuffer: 1 << 28 });
    for (const line of stat.trim().split('\n')) {
      const [page, name, type] = line.split('|');
      btree.set(Number(page), `${name} (${type})`);
    }
    const totals = new Map();
    let seen = 0;
    let log = null;
    for (const [i, p] of list.slice(before).entries()) {
      await approve(p);
      const { pages, salt } = walPages(`${running.db}-wal`, seen);
      // A checkpoint that restarts the log changes its salt: frames counted so far are gone.
      if (log && salt !== log) throw new Error('the write-ahead log restarted mid-run: use fewer saves');
      log = salt;
      seen += pages.length;
      const distinct = new Set(pages);
      console.log(`save ${i + 1}: ${pages.length} frames, ${distinct.size} distinct pages`);
      for (const page of distinct) {
        const name = btree.get(page) || 'new';
        totals.set(name, (totals.get(name) || 0) + 1);
      }
    }
    console.log(`${nodes} nodes, distinct pages per save by B-tree (mean of ${measured}):`);
    for (const [name, count] of [...totals].sort((a, b) => b[1] - a[1])) console.log(`  ${name.padEnd(40)} ${(count / measured).toFixed(1)}`);
  } finally {
    session.free();
    await running.close();
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
