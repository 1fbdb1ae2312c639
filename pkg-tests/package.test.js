'use strict';
// The package's shape and entries (issue 15): one package.json with
// conditional exports, `types` first in every condition; Node's ESM entry
// with static named exports sharing the CommonJS entry's instance; the
// browser entry refusing calls before init() with a KgApprovalError.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { pathToFileURL } = require('url');
const { kg, repo } = require('./support/kg');

const PKG = path.join(repo, 'pkg');
const manifest = JSON.parse(fs.readFileSync(path.join(PKG, 'package.json'), 'utf8'));

test('one package.json: exports with types first in every condition, README, LICENSE, sideEffects, repository, keywords, engines', () => {
  assert.equal(manifest.name, 'kg-approval');
  const conditions = (node, where) => {
    if (typeof node === 'string') return;
    const keys = Object.keys(node);
    if (keys.includes('types')) assert.equal(keys[0], 'types', `${where}: types first`);
    for (const [key, value] of Object.entries(node)) conditions(value, `${where}.${key}`);
  };
  conditions(manifest.exports, 'exports');
  for (const sub of ['.', './vue', './vue/components', './package.json', './kg_approval_bg.wasm']) assert.ok(manifest.exports[sub], sub);
  for (const file of ['README.md', 'LICENSE']) assert.ok(manifest.files.includes(file) && fs.existsSync(path.join(PKG, file)), file);
  // Only kg-approval/vue's entry runs code on import (it gives the components kg-approval's text diff).
  assert.deepEqual(manifest.sideEffects, ['./vue/index.js', './vue/index.cjs']);
  assert.ok(manifest.repository?.url && manifest.keywords?.length && manifest.engines?.node);
  assert.deepEqual(manifest.peerDependenciesMeta, { vue: { optional: true } });
  assert.ok(!fs.existsSync(path.join(PKG, 'node', 'package.json')) || JSON.parse(fs.readFileSync(path.join(PKG, 'node', 'package.json'), 'utf8')).name === undefined, 'no second package');
});

test('Node ESM: static named exports (no spread), the same classes as require()', async () => {
  const source = fs.readFileSync(path.join(PKG, 'index.node.js'), 'utf8');
  assert.doesNotMatch(source, /\.\.\./);
  const esm = await import('kg-approval');
  assert.equal(esm.ApprovalSession, kg.ApprovalSession);
  assert.equal(esm.KgApprovalError, kg.KgApprovalError);
  await esm.default();
  const review = esm.reviewProposal({ nodes: [{ id: 'a', label: 'A' }] }, { nodes: [{ id: 'a', label: 'B' }] });
  assert.equal(review.summary.fieldsChanged, 1);
});

test('the browser entry: any call before init() is a KgApprovalError not_initialized; initSync with the bytes loads it', async () => {
  const web = await import(pathToFileURL(path.join(PKG, 'index.js')).href);
  const calls = {
    reviewProposal: () => web.reviewProposal({ nodes: [] }, {}),
    'new ApprovalSession': () => new web.ApprovalSession({ nodes: [] }),
    'new HistoryClient': () => new web.HistoryClient({ baseUrl: 'http://127.0.0.1:1' }),
    diffText: () => web.diffText('a', 'b'),
    wasmMemory: () => web.wasmMemory(),
  };
  for (const [name, call] of Object.entries(calls)) {
    assert.throws(call, (e) => e instanceof web.KgApprovalError && e.code === 'not_initialized' && /await init\(\)/.test(e.message), name);
  }
  web.initSync({ module: fs.readFileSync(path.join(PKG, 'kg_approval_bg.wasm')) });
  assert.equal(web.diffText('a b', 'a c').ops.length, 3);
  await web.init(); // a second init resolves at once
  assert.throws(() => web.reviewProposal({ nodes: {} }, {}), (e) => e instanceof web.KgApprovalError && e.code === 'invalid_graph');
});
