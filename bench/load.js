'use strict';
// A session from the editor's object, alone in a fresh process (issue 28,
// target 1: ≤ 1.5× JSON.parse of the same graph's text). bench/run.js runs
// this once per size and reads the JSON line it prints; by hand:
//
//   node --max-old-space-size=16384 bench/load.js 10000
//
// Rounds alternate JSON.parse, a session from the object and one from the
// text, so machine noise falls on all three. The first object load of the
// process is reported apart: it grows WASM memory to hold the graph and
// runs the packing walk before V8 has optimised it.
const kg = require('kg-approval');
const { generateGraph } = require('../pkg-tests/support/generate');
const { median } = require('./storage');

const nodes = Number(process.argv[2] || 10000);
const rounds = Number(process.argv[3] || 5);
const graph = generateGraph(nodes, { seed: 1 });
const text = JSON.stringify(graph);

function time(fn) {
  const t0 = performance.now();
  const result = fn();
  const ms = performance.now() - t0;
  result?.free?.();
  return ms;
}

const first = time(() => new kg.ApprovalSession(graph));
const parse = [];
const object = [];
const fromText = [];
for (let i = 0; i < rounds; i++) {
  parse.push(time(() => JSON.parse(text)));
  object.push(time(() => new kg.ApprovalSession(graph)));
  fromText.push(time(() => new kg.ApprovalSession(text)));
}
console.log(JSON.stringify({ nodes, jsonBytes: Buffer.byteLength(text), firstObjectMs: first, objectMs: median(object), textMs: median(fromText), jsonParseMs: median(parse), object, fromText, parse }));
