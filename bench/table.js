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
console.log(`\nHistory server, one-label approvals of a ${Math.round(s.graphBytes / 1024)} KB graph from N clients, each on its own graph, over loopback (\`bench/server.js\`); the ceiling is the same rows written straight into the store by N writers, without HTTP, parsing, checks or hashing:\n`);
console.log('| store | clients | sent as | saves/s | ceiling (versions/s) | share of ceiling | p50 | p99 | CPU per save: server | database | load generator |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const setup of s.setups) {
  setup.levels.forEach((l, i) => {
    const c = setup.ceilings[l.clients];
    const share = l.via === 'delta' && c ? `${Math.round((l.savesPerSecond / c) * 100)}%` : '—';
    console.log(`| ${i ? '' : setup.name} | ${l.clients} | ${l.via === 'full' ? 'whole graph' : 'delta'} (${Math.round(l.bodyBytes).toLocaleString('en')} B) | ${Math.round(l.savesPerSecond)} | ${c ? Math.round(c) : '—'} | ${share} | ${fmt(l.p50)} ms | ${fmt(l.p99)} ms | ${fmt(l.serverCpuMs)} ms | ${l.databaseCpuMs === null ? 'in the server' : `${fmt(l.databaseCpuMs)} ms`} | ${fmt(l.clientCpuMs)} ms |`);
  });
}
const reads = s.setups.filter((x) => x.readsWhileSaving);
if (reads.length) {
  console.log(`\nReads do not wait behind writes: ${reads.map((x) => { const w = x.readsWhileSaving; return `on ${x.name.split(',')[0]}, while a ${(w.bigBytes / 1048576).toFixed(1)} MB graph was being saved (${fmt(w.saveMs)} ms), the slowest of ${w.reads} reads of a small graph took ${fmt(w.worstDuringMs)} ms (${fmt(w.aloneMs)} ms alone)`; }).join('; ')}.`);
}
const st = r.storage;
if (st) {
  const size = (b) => (Number.isNaN(b) || b === null ? '—' : b >= 1048576 ? `${(b / 1048576).toFixed(1)} MB` : b >= 10240 ? `${Math.round(b / 1024)} KB` : `${Math.round(b).toLocaleString('en')} B`);
  console.log('\nWhat an approval costs after review (release server, SQLite file, bytes of its pages in use; `bench/storage.js`):\n');
  console.log('| graph | saved as | changes (JSON) | on the wire | database growth per version (pages in use) | server CPU per save | save | versions |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const g of [...st.graphs, st.oneLabel]) {
    for (const [how, c] of [['delta', g.delta], ['whole graph', g.full]]) {
      if (!c) continue;
      console.log(`| ${how === 'delta' ? g.label : ''} | ${how} | ${size(c.changedBytes)} | ${size(c.wireBytes)} | ${size(c.diskBytesPerVersion)} | ${fmt(c.serverCpuMs)} ms | ${fmt(c.saveMs)} ms | ${c.versions} |`);
    }
  }
  console.log('\n| graph | JSON | session load | first version: database | first version: save | propose | approve | newest reads back exactly |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const g of [...st.graphs, st.oneLabel]) {
    console.log(`| ${g.label} | ${size(g.graphBytes)} | ${fmt(g.loadMs)} ms | ${size(g.firstDisk)} | ${fmt(g.firstSaveMs)} ms | ${fmt(g.delta.proposeMs)} ms | ${fmt(g.delta.approveMs)} ms | ${g.exact === null ? 'not compared (JSON too long for one JS string)' : g.exact ? 'yes' : '**no**'} |`);
  }
  const rd = st.reads;
  console.log(`\nReads of a 1,000-node graph with ${rd.versions} versions (${size(rd.latest.bytes)}): newest ${fmt(rd.latest.ms)} ms, version 1 ${fmt(rd.first.ms)} ms, version ${Math.floor(rd.versions / 2)} ${fmt(rd.middle.ms)} ms.`);
}
if (r.browser) {
  const b = r.browser;
  const span = (ms) => `${fmt(Math.min(...ms))}–${fmt(Math.max(...ms))} ms`;
  console.log(`\nThe app in Chromium (release server, SQLite; \`bench/browser.js\`, ${b.pasteMs.length} runs, a fresh page each, timed in the page): a ${b.proposalChars.toLocaleString('en')}-character proposal (${b.reviewChanges} changes on a ${b.graphNodes}-node graph) pasted with Ctrl+V to its review on screen ${span(b.pasteMs)}${b.loadMs ? `, loaded from a file ${span(b.loadMs)}` : ''}; History's compare of ${b.compareChanges} changes, clicked as soon as both versions are picked, to first paint ${span(b.compareMs)}, picked and clicked in one go ${span(b.compareOneGoMs)}.`);
}
console.log(`\nWASM: ${Math.round(r.size.raw / 1024)} KB raw / ${Math.round(r.size.gzip / 1024)} KB gzipped as built; after wasm-opt -Oz ${Math.round(r.size.rawOpt / 1024)} KB / ${Math.round(r.size.gzipOpt / 1024)} KB gzipped.\n`);
console.log('| target | met | measured |');
console.log('|---|---|---|');
for (const t of r.targets) console.log(`| ${t.name} | ${t.met ? 'met' : '**not met**'} | ${t.detail} |`);
{
  // serde-wasm-bindgen against JSON text, boundary by boundary (bench/boundary.js).
  let b;
  try {
    b = require('./boundary.json');
  } catch (e) {
    b = null;
  }
  if (b) {
    const used = [
      [/^graph in/, 'neither since issue 28: packed by one JS walk straight into WASM memory (`src/bindings/packed.rs`; else JSON text, which names what is wrong); a graph given as JSON text is parsed as text'],
      [/^proposal in/, 'JSON text: the text is kept to hash `proposalId` when it is read, and the walk that checks it lists its long strings'],
      [/^options/, 'JSON text (microseconds either way)'],
      [/^review out, with every/, '— (texts are diffed when read)'],
      [/^review out, without/, 'serde-wasm-bindgen (JSON text if a key is `__proto__`: it would set a prototype)'],
      [/^decisions out/, "wasm-bindgen's own `Vec<String>`"],
      [/^approved graph out/, '`session.graph()`: serde-wasm-bindgen; `approved.graph` (read lazily) stays JSON text'],
    ];
    console.log(`\nserde-wasm-bindgen against JSON text at each boundary (\`node bench/boundary.js --build\`, ${b.date.slice(0, 10)}, on the shipped \`wasm-release\` build; medians; the JSON column is toJson + serde_json in, serde_json + JSON.parse out):\n`);
    console.log('| boundary | JSON ms | serde-wasm-bindgen ms | ratio | used now |');
    console.log('|---|---|---|---|---|');
    for (const row of b.rows) {
      const how = used.find(([re]) => re.test(row.boundary))?.[1] ?? '';
      const ms = (v) => (v < 0.1 ? v.toFixed(3) : fmt(v));
      const own = row.wasmBindgenMs === undefined ? '' : ` (Vec<String> ${ms(row.wasmBindgenMs)})`;
      console.log(`| ${row.boundary}${row.boundary.includes('nodes') || row.boundary.includes('graph') ? '' : ` (${row.nodes.toLocaleString('en')}-node bench)`} | ${ms(row.jsonMs)} | ${ms(row.swbMs)}${own} | ${(row.swbMs / row.jsonMs).toFixed(2)}× | ${how} |`);
    }
  }
}
