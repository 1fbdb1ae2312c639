'use strict';
// Prints bench/results.json as the README's Markdown tables.
const r = require('./results.json');
const fmt = (ms) => (Number.isNaN(ms) || ms === null ? '—' : ms >= 100 ? Math.round(ms).toLocaleString('en') : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));
console.log(`Run: ${r.machine.cores} cores (${r.machine.cpu}), ${r.machine.memoryGiB} GiB, Node ${r.machine.node}, ${r.machine.date.slice(0, 10)}.\n`);
console.log('| workload | contender | median ms | min–max ms | vs kg-approval | notes |');
console.log('|---|---|---|---|---|---|');
let last = '';
for (const row of r.rows) {
  const notes = [row.failed ? `**${row.failed}**` : '', row.exact === false ? '**not exact**' : row.exact ? 'exact' : '', row.degraded ? '**gave up / degraded**' : '', row.note ?? ''].filter(Boolean).join(', ');
  console.log(`| ${row.workload === last ? '' : row.workload} | ${row.contender} | ${fmt(row.median)} | ${row.runs ? `${fmt(row.min)}–${fmt(row.max)}` : '—'} | ${row.ratio ? `${row.ratio.toFixed(2)}×` : '—'} | ${notes} |`);
  last = row.workload;
}
const s = r.server;
console.log(`\nHistory server, ${Math.round(s.graphBytes / 1024)} KB graph, loopback: ${s.levels.map((l) => `${l.clients} client${l.clients > 1 ? 's' : ''} ${Math.round(l.savesPerSecond)} saves/s (p50 ${fmt(l.p50)} ms, p99 ${fmt(l.p99)} ms${l.serverCpuMs ? `, server CPU ${fmt(l.serverCpuMs)} ms/save` : ''})`).join('; ')}. Direct SQLite ceiling: ${Math.round(s.ceiling)} inserts/s.`);
console.log(`\nWASM: ${Math.round(r.size.raw / 1024)} KB raw / ${Math.round(r.size.gzip / 1024)} KB gzipped as built; after wasm-opt -Oz ${Math.round(r.size.rawOpt / 1024)} KB / ${Math.round(r.size.gzipOpt / 1024)} KB gzipped.\n`);
console.log('| target | met | measured |');
console.log('|---|---|---|');
for (const t of r.targets) console.log(`| ${t.name} | ${t.met ? 'met' : '**not met**'} | ${t.detail} |`);
