'use strict';
// A bounded load test of the real server on loopback (issue 6): concurrent
// clients saving to their own graphs and to shared ones, with and without
// override, through the package and as raw posts (see support/load.js).
// Afterwards: versions unique and contiguous, every acknowledged save stored
// as acknowledged, nothing stored that was not acknowledged, every hash
// chain verifying. Latency percentiles are printed as diagnostics.
const test = require('node:test');
const { startServer } = require('./support/server');
const { runLoad, checkStored } = require('./support/load');

test('concurrent saves to own and shared graphs, with and without override', async (t) => {
  const server = await startServer();
  try {
    const run = await runLoad(() => [server.url], { savesPerClient: Number(process.env.KG_LOAD_SAVES || 8) });
    await checkStored(server.url, run);
    t.diagnostic(run.summary);
  } finally {
    await server.close();
  }
});
