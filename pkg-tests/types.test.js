'use strict';
// The package's TypeScript declarations describe the real shapes: a strict
// compile of types/usage.ts, which also asserts that mistakes are errors.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('path');
const fs = require('fs');
const { spawnSync } = require('child_process');
const { repo } = require('./support/kg');

test('pkg/node .d.ts: a strict TypeScript compile of typical use passes and misuse fails', () => {
  const tsc = path.join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
  assert.ok(fs.existsSync(tsc), 'typescript is installed (npm ci)');
  const run = spawnSync(process.execPath, [tsc, '-p', path.join(__dirname, 'types', 'tsconfig.json')], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stdout + run.stderr);
});

test('pkg/web .d.ts declares the same API plus the default init', () => {
  const web = fs.readFileSync(path.join(repo, 'pkg', 'web', 'index.d.ts'), 'utf8');
  assert.match(web, /export \{ default \} from '\.\/kg_approval'/);
  const dts = fs.readFileSync(path.join(repo, 'pkg', 'web', 'kg_approval.d.ts'), 'utf8');
  for (const name of ['reviewProposal', 'diffText', 'diffGraphs', 'class ApprovalSession', 'interface Review', 'interface AuditEntry']) {
    assert.ok(dts.includes(name), name);
  }
  assert.doesNotMatch(dts.split('export type InitInput')[0], /: any\b/, 'no any in the public API');
});
