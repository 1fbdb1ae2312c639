'use strict';
// A real PostgreSQL for the tests: the cluster scripts/test.sh started
// (KG_TEST_POSTGRES, KG_TEST_PG_DIR), else one started here with
// scripts/pg.sh that stops when this process exits. Each server gets a fresh
// database of its own.
const { execFile, execFileSync } = require('child_process');
const { promisify } = require('util');
const { randomUUID } = require('crypto');
const path = require('path');
const { repo } = require('./kg');

const script = path.join(repo, 'scripts', 'pg.sh');
let cluster;

/** `{ url, dir }` of the test cluster (its `postgres` database). */
function postgresCluster() {
  if (cluster) return cluster;
  if (process.env.KG_TEST_POSTGRES) {
    cluster = { url: process.env.KG_TEST_POSTGRES, dir: process.env.KG_TEST_PG_DIR };
  } else {
    const [url, dir] = execFileSync('bash', [script, 'start', '--owner', String(process.pid)], { encoding: 'utf8' }).trim().split('\n');
    cluster = { url, dir };
  }
  return cluster;
}

/** A fresh, empty database on the test cluster; its URL. */
function postgresDatabase() {
  const { url } = postgresCluster();
  const name = `kg_test_${randomUUID().replace(/-/g, '')}`;
  execFileSync('psql', [url, '-qc', `CREATE DATABASE ${name}`]);
  return url.replace(/\/[^/]*$/, `/${name}`);
}

/**
 * Stops the cluster abruptly and starts it again after `seconds`; resolves
 * once it is up. Asynchronous, so the clients keep running meanwhile.
 */
async function restartPostgres(seconds) {
  const { dir } = postgresCluster();
  if (!dir) throw new Error('KG_TEST_PG_DIR is not set: cannot restart the cluster');
  await promisify(execFile)('bash', [script, 'restart', dir, String(seconds)]);
}

/** Runs SQL on a database; rows as arrays of text. */
function psql(url, sql) {
  return execFileSync('psql', [url, '-qAtF', '\t', '-c', sql], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split('\t'));
}

module.exports = { postgresCluster, postgresDatabase, restartPostgres, psql };
