'use strict';
// The package under test, required by its name as a user would (build-pkg.sh
// links node_modules/kg-approval to pkg/): the CommonJS entry.
const path = require('path');

const repo = path.resolve(__dirname, '..', '..');
let kg;
try {
  kg = require('kg-approval');
} catch (e) {
  throw new Error(`pkg/ is not built (run bash scripts/build-pkg.sh): ${e.message}`);
}

/** Calls fn, expects a KgApprovalError with `code`, returns it. */
function expectError(fn, code) {
  let thrown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  if (!thrown) throw new Error(`expected a ${code} error, but nothing was thrown`);
  if (!(thrown instanceof Error) || !(thrown instanceof kg.KgApprovalError)) {
    throw new Error(`expected a KgApprovalError, got ${thrown && thrown.constructor && thrown.constructor.name}: ${thrown}`);
  }
  if (thrown.code !== code) throw new Error(`expected code ${code}, got ${thrown.code}: ${thrown.message}`);
  return thrown;
}

/** A deep copy through JSON (graphs here are plain data). */
const clone = (v) => JSON.parse(JSON.stringify(v));

module.exports = { kg, repo, expectError, clone };
