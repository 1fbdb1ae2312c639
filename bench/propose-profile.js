'use strict';
// Where one ApprovalSession.propose call spends its time (bench's 25-edit
// proposal), without the full bench: node bench/propose-profile.js [nodes...]
const kg = require('../pkg/node');
const { generateGraph, generateProposal } = require('../pkg-tests/support/generate');

function median(fn, runs = 25) {
  fn();
  const t = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  // The minimum too: on a shared machine it is the steadiest figure.
  return `${t[Math.floor(t.length / 2)].toFixed(2)} (min ${t[0].toFixed(2)})`;
}

const sizes = process.argv.slice(2).map(Number);
for (const n of sizes.length ? sizes : [1000, 10000]) {
  const graph = generateGraph(n, { seed: 1 });
  const proposal = generateProposal(graph, { seed: 2, edits: 25 });
  const text = JSON.stringify(graph);
  let t0;
  const tParse = median(() => JSON.parse(text), n >= 100000 ? 1 : 5);
  t0 = performance.now();
  new kg.ApprovalSession(text).free();
  const loadText = performance.now() - t0;
  t0 = performance.now();
  const session = new kg.ApprovalSession(graph);
  const load = performance.now() - t0;
  const review = session.propose(proposal);
  const reviewText = JSON.stringify(review);
  const out = {
    nodes: n,
    graphJsonMB: +(text.length / 2 ** 20).toFixed(1),
    'JSON.parse(graph)': tParse,
    'session load (object)': load,
    'session load (text)': loadText,
    propose: median(() => session.propose(proposal), 60),
    'session.review() (review out only)': median(() => session.review()),
    'JSON.stringify(proposal)': median(() => JSON.stringify(proposal)),
    'JSON.parse(review text)': median(() => JSON.parse(reviewText)),
    reviewKB: Math.round(Buffer.byteLength(reviewText) / 1024),
    proposalKB: Math.round(Buffer.byteLength(JSON.stringify(proposal)) / 1024),
    changes: review.changes.length,
    'diffText of each string change': median(() => {
      for (const c of review.changes) if (typeof c.old === 'string' && typeof c.new === 'string') kg.diffText(c.old, c.new);
    }),
  };
  session.free();
  for (const [k, v] of Object.entries(out)) console.log(`${k.padEnd(36)} ${typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(2) : v}`);
  console.log();
}
