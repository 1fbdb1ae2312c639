#!/usr/bin/env node
// The history server's layers, checked: storage (history-store) <- the
// history's rules (history) <- HTTP and the command line (server). Reads
// every .rs file's imports (`use` lines and paths in code, comments and test
// modules left out) and fails if a file imports from a layer above its own,
// if two files import each other through any chain (an import cycle), or if
// `cargo tree` shows the storage crate depending on the history crate or the
// history crate on axum, hyper or clap.
//   node scripts/check-layers.js
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const repo = path.resolve(__dirname, '..');
const LAYERS = [
  { name: 'store', crate: 'kg_history_store', dir: 'history-store/src' },
  { name: 'history', crate: 'kg_history', dir: 'history/src' },
  { name: 'server', crate: 'kg_approval_server', dir: 'server/src' },
];
const rank = Object.fromEntries(LAYERS.map((l, i) => [l.name, i]));

function rustFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? rustFiles(p) : e.name.endsWith('.rs') ? [p] : [];
  });
}

// Module path of a file: `lib`, `routes`, `routes::saves`.
const nodes = new Map();
for (const layer of LAYERS) {
  const dir = path.join(repo, layer.dir);
  for (const file of rustFiles(dir)) {
    const mod = path.relative(dir, file).replace(/\.rs$/, '').replace(/\/mod$/, '').split(path.sep).join('::');
    nodes.set(`${layer.name}/${mod}`, { layer: layer.name, mod, file });
  }
}

function code(file) {
  const text = fs.readFileSync(file, 'utf8').split('#[cfg(test)]')[0];
  return text.split('\n').filter((l) => !l.trim().startsWith('//')).join('\n');
}

const edges = new Map([...nodes.keys()].map((k) => [k, new Set()]));
for (const [key, { layer, mod, file }] of nodes) {
  const s = code(file);
  const add = (target) => target !== key && nodes.has(target) && edges.get(key).add(target);
  for (const m of s.matchAll(/\bcrate::([a-z_]+)(?:::([a-z_]+))?/g)) {
    if (nodes.has(`${layer}/${m[1]}::${m[2]}`)) add(`${layer}/${m[1]}::${m[2]}`);
    else add(`${layer}/${m[1]}`);
  }
  for (const m of s.matchAll(/\b(kg_history_store|kg_history|kg_approval_server)::([a-z_]+)/g)) {
    let target = { kg_history: 'history', kg_history_store: 'store', kg_approval_server: 'server' }[m[1]];
    let name = m[2];
    if (target === 'history' && name === 'store') [target, name] = ['store', 'lib'];
    add(nodes.has(`${target}/${name}`) ? `${target}/${name}` : `${target}/lib`);
  }
  const base = mod === 'lib' || mod === 'main' ? '' : `${mod}::`;
  for (const m of s.matchAll(/^\s*(?:pub(?:\([a-z]+\))? )?mod ([a-z_]+);/gm)) {
    if (new RegExp(`\\b${m[1]}::`).test(s)) add(`${layer}/${base}${m[1]}`);
  }
  const parent = mod.includes('::') ? mod.slice(0, mod.lastIndexOf('::')) : null;
  if (parent) {
    for (const m of s.matchAll(/\bsuper::(\{[^}]*\}|[A-Za-z_]+)/g)) {
      const names = m[1].match(/[A-Za-z_]+/g) ?? [];
      for (const n of names) if (nodes.has(`${layer}/${parent}::${n}`)) add(`${layer}/${parent}::${n}`);
      if (names.some((n) => !nodes.has(`${layer}/${parent}::${n}`))) add(`${layer}/${parent}`);
    }
  }
}

const problems = [];
for (const [from, targets] of edges) {
  for (const to of targets) {
    if (rank[nodes.get(to).layer] > rank[nodes.get(from).layer]) problems.push(`${from} imports ${to}, a layer above it`);
  }
}

// Tarjan's strongly connected components: any of more than one file is a cycle.
let index = 0;
const idx = new Map();
const low = new Map();
const stack = [];
const on = new Set();
function visit(v) {
  idx.set(v, index);
  low.set(v, index++);
  stack.push(v);
  on.add(v);
  for (const w of edges.get(v)) {
    if (!idx.has(w)) {
      visit(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
  }
  if (low.get(v) === idx.get(v)) {
    const component = [];
    let w;
    do {
      w = stack.pop();
      on.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1) problems.push(`import cycle: ${component.join(', ')}`);
  }
}
for (const v of edges.keys()) if (!idx.has(v)) visit(v);

const tree = (pkg) => execFileSync('cargo', ['tree', '-p', pkg, '-e', 'normal', '--prefix', 'none'], { cwd: repo, encoding: 'utf8' });
if (/^kg-history v/m.test(tree('kg-history-store'))) problems.push('cargo tree: kg-history-store depends on kg-history');
for (const crate of ['axum', 'hyper', 'clap', 'tower']) {
  if (new RegExp(`^${crate} v`, 'm').test(tree('kg-history'))) problems.push(`cargo tree: kg-history depends on ${crate}`);
}

const count = [...edges.values()].reduce((n, e) => n + e.size, 0);
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`layers hold: ${nodes.size} files, ${count} imports, none upward, no cycle; kg-history-store without kg-history, kg-history without axum, hyper, tower or clap`);
