'use strict';
// Several server processes on one PostgreSQL database (issue 11), as behind
// a load balancer: clients spread over three processes, on graphs of their
// own and shared ones, with and without override; then the same with one
// process killed (-9) mid-load, and with PostgreSQL itself restarted
// mid-load. Every time: every acknowledged save present as acknowledged,
// versions unique and contiguous, nothing stored twice, chains verifying.
// Runs on the cluster scripts/test.sh started, or one of its own.
const test = require('node:test');
const assert = require('node:assert/strict');
const { startServer } = require('./support/server');
const { postgresDatabase, postgresCluster, restartPostgres, psql } = require('./support/postgres');
const { runLoad, checkStored } = require('./support/load');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function threeProcesses() {
  const db = postgresDatabase();
  const servers = [];
  for (let i = 0; i < 3; i++) servers.push(await startServer([], { db }));
  return { db, servers };
}

test('three server processes on one PostgreSQL database', async (t) => {
  const { db, servers } = await threeProcesses();
  try {
    const run = await runLoad(() => servers.map((s) => s.url));
    for (const s of servers) await checkStored(s.url, run); // every process sees every version
    const [[versions]] = psql(db, 'SELECT COUNT(*) FROM versions');
    assert.equal(Number(versions), run.acked.length, 'the database holds exactly the acknowledged versions');
    t.diagnostic(run.summary);
  } finally {
    for (const s of servers) await s.close();
  }
});

test('one of three processes killed (-9) mid-load: the others carry on, nothing acknowledged is lost', async (t) => {
  const { servers } = await threeProcesses();
  let live = servers;
  try {
    const run = await runLoad(() => live.map((s) => s.url), {
      during: async () => {
        await sleep(400);
        await servers[0].stop(); // SIGKILL
        live = servers.slice(1);
      },
    });
    assert.equal(servers[0].child.signalCode, 'SIGKILL');
    await checkStored(servers[1].url, run);
    t.diagnostic(`${run.summary}; process 1 was killed after 400 ms`);
  } finally {
    for (const s of servers) await s.close();
  }
});

test('PostgreSQL restarted mid-load: 503s, then the servers recover by themselves, nothing acknowledged is lost', async (t) => {
  const { url } = postgresCluster();
  // What the tests before wrote is written out first: the restart is a
  // crash (-m immediate), and recovering hundreds of test databases' dirty
  // pages took longer than any client waits, which is not what this tests.
  psql(url, 'CHECKPOINT');
  const { servers } = await threeProcesses();
  try {
    const run = await runLoad(() => servers.map((s) => s.url), {
      savesPerClient: 10,
      during: async () => {
        await sleep(300);
        await restartPostgres(2); // down for 2 s, then up again
      },
    });
    assert.ok(servers.every((s) => s.child.exitCode === null && s.child.signalCode === null), 'no server process died');
    assert.ok(run.stats.unavailable > 0, 'requests while the database was down were answered 503');
    await checkStored(servers[2].url, run);
    t.diagnostic(`${run.summary}; PostgreSQL was down for 2 s`);
  } finally {
    for (const s of servers) await s.close();
  }
});
