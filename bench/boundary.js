'use strict';
// serde-wasm-bindgen against the JSON-text crossing, boundary by boundary
// (issue 15, item 5), on the bench's graphs and 25-edit proposals.
//
//   node bench/boundary.js [--build] [nodes...]
//
// --build first builds the module with the measurement exports (cargo
// feature `swb-bench`) into target/swb-bench/node; the shipped package has
// neither the exports nor serde-wasm-bindgen. Writes bench/boundary.json.
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const { generateGraph, generateProposal } = require('../pkg-tests/support/generate');

const root = path.join(__dirname, '..');
const out = path.join(root, 'target', 'swb-bench', 'node');
const args = process.argv.slice(2);
if (args.includes('--build')) {
  const run = (cmd, a) => execFileSync(cmd, a, { cwd: root, stdio: 'inherit' });
  run('cargo', ['build', '--lib', '--profile', 'wasm-release', '--target', 'wasm32-unknown-unknown', '--features', 'swb-bench']);
  const targetDir = process.env.CARGO_TARGET_DIR || path.join(root, 'target');
  run('wasm-bindgen', ['--target', 'nodejs', '--out-dir', out, path.join(targetDir, 'wasm32-unknown-unknown', 'wasm-release', 'kg_approval.wasm')]);
}
const kg = require(path.join(out, 'kg_approval.js'));

function median(fn, runs) {
  fn();
  const t = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)];
}

const rows = [];
function compare(boundary, json, swb, runs, extra) {
  const r = { boundary, jsonMs: median(json, runs), swbMs: median(swb, runs), ...extra };
  r.winner = r.swbMs < r.jsonMs ? 'serde-wasm-bindgen' : 'JSON';
  rows.push(r);
  console.log(`${boundary.padEnd(44)} JSON ${r.jsonMs.toFixed(3).padStart(9)} ms   serde-wasm-bindgen ${r.swbMs.toFixed(3).padStart(9)} ms   ${(r.swbMs / r.jsonMs).toFixed(2)}×`);
}

const sizes = args.filter((a) => /^\d+$/.test(a)).map(Number);
for (const n of sizes.length ? sizes : [1000, 10000]) {
  const graph = generateGraph(n, { seed: 1 });
  const proposal = generateProposal(graph, { seed: 2, edits: 25 });
  const runs = n >= 10000 ? 3 : 9;
  compare(`graph in (${n.toLocaleString()} nodes)`, () => kg.benchGraphIn(graph, false), () => kg.benchGraphIn(graph, true), runs, { nodes: n });
  compare(`proposal in (25 edits, ${n.toLocaleString()}-node graph)`, () => kg.benchProposalIn(proposal, false), () => kg.benchProposalIn(proposal, true), 25, { nodes: n });
  const context = { source: 'ai', model: 'gpt-x', reason: 'tidy labels', runId: 'run-7' };
  compare('options / context in', () => kg.benchOptionsIn(context, false), () => kg.benchOptionsIn(context, true), 200, { nodes: n });
  const session = new kg.ApprovalSession(graph);
  const review = session.propose(proposal);
  for (const c of review.changes) void c.text; // the review as before issue 17: texts and their diffs
  kg.benchHold(JSON.parse(JSON.stringify(review)));
  compare(`review out, with every text diff (${review.changes.length} changes)`, () => kg.benchHeldOut(false), () => kg.benchHeldOut(true), 25, { nodes: n });
  const list = JSON.parse(JSON.stringify(review, (k, v) => (k === 'text' ? undefined : v)));
  kg.benchHold(list);
  compare('review out, without text diffs (as now)', () => kg.benchHeldOut(false), () => kg.benchHeldOut(true), 25, { nodes: n });
  const ids = review.changes.length;
  const m = (how) => median(() => kg.benchIdsOut(ids, how), 200);
  const [own, json, swb] = [m(0), m(1), m(2)];
  rows.push({ boundary: `decisions out (${ids} ids)`, nodes: n, jsonMs: json, swbMs: swb, wasmBindgenMs: own, winner: own <= Math.min(json, swb) ? "wasm-bindgen's Vec<String>" : swb < json ? 'serde-wasm-bindgen' : 'JSON' });
  console.log(`${`decisions out (${ids} ids)`.padEnd(44)} JSON ${json.toFixed(3).padStart(9)} ms   serde-wasm-bindgen ${swb.toFixed(3).padStart(9)} ms   Vec<String> ${own.toFixed(3)} ms`);
  session.free();
  kg.benchHold(graph);
  compare(`approved graph out (${n.toLocaleString()} nodes)`, () => kg.benchHeldOut(false), () => kg.benchHeldOut(true), runs, { nodes: n });
  kg.benchHold(null);
}
fs.writeFileSync(path.join(__dirname, 'boundary.json'), JSON.stringify({ node: process.version, date: new Date().toISOString(), rows }, null, 2) + '\n');
