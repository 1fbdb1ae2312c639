'use strict';
// The package's TypeScript declarations describe the real shapes: a strict
// compile of types/usage.ts, which also asserts that mistakes are errors.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('path');
const fs = require('fs');
const { spawnSync } = require('child_process');
const { repo } = require('./support/kg');

test('index.d.cts: a strict TypeScript compile of typical use passes and misuse fails', () => {
  const tsc = path.join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
  assert.ok(fs.existsSync(tsc), 'typescript is installed (npm ci)');
  const run = spawnSync(process.execPath, [tsc, '-p', path.join(__dirname, 'types', 'tsconfig.json')], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stdout + run.stderr);
});

test('index.d.ts (ESM) declares the same API plus the default init; JSON is typed shallowly', () => {
  const esm = fs.readFileSync(path.join(repo, 'pkg', 'index.d.ts'), 'utf8');
  const cjs = fs.readFileSync(path.join(repo, 'pkg', 'index.d.cts'), 'utf8');
  assert.match(esm, /^export default init;$/m);
  assert.doesNotMatch(cjs, /export default/);
  for (const dts of [esm, cjs]) {
    for (const name of ['reviewProposal', 'diffText', 'diffGraphs', 'class ApprovalSession', 'interface Review', 'interface AuditEntry', 'class KgApprovalError', 'function init(', "'not_initialized'"]) {
      assert.ok(dts.includes(name), name);
    }
    assert.doesNotMatch(dts, /: any\b/, 'no any in the public API');
    // A recursive Json would make Vue's ref<Review>() fail with TS2589.
    assert.doesNotMatch(dts.match(/export type Json = [^;]*;/)[0], /Json\[\]|: Json\b/);
  }
});
