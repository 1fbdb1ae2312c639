'use strict';
// The real graphs in ../shared/fixtures/vegvisr (read in place, never copied
// into the repo). Under CI they must be there; elsewhere tests that need them
// are skipped, visibly, and the generated-graph tests still run.
const fs = require('fs');
const path = require('path');
const { repo } = require('./kg');

const dir = process.env.KG_FIXTURES || path.resolve(repo, '..', 'shared', 'fixtures', 'vegvisr');
const present = fs.existsSync(dir);
if (!present && process.env.CI) {
  throw new Error(`fixtures not found at ${dir}; CI must have ../shared beside the clone`);
}

/** [{name, graph}] for every fixture; save bodies are unwrapped to graphData. */
function loadFixtures() {
  if (!present) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((name) => {
      const text = fs.readFileSync(path.join(dir, name), 'utf8').replace(/^\uFEFF/, '');
      const doc = JSON.parse(text);
      return { name, graph: doc.graphData || doc };
    });
}

const skip = present ? false : `fixtures not found at ${dir}`;

module.exports = { loadFixtures, fixturesSkip: skip, fixturesDir: dir };
