'use strict';
// The real history server (the Rust binary), started on a free loopback port
// with a fresh SQLite file, for end-to-end tests.
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { repo } = require('./kg');

const BIN = process.env.KG_SERVER_BIN || path.join(repo, 'target', 'debug', 'kg-approval-server');
const TOKENS = { ann: 'ann-token-0001', bob: 'bob-token-0002' };
const USERS = { ann: 'ann@example.com', bob: 'bob@example.com' };

/** The database the tests run on: `sqlite` (default) or `postgres` (KG_TEST_DB). */
const BACKEND = process.env.KG_TEST_DB === 'postgres' ? 'postgres' : 'sqlite';

// Each server's directory goes when it is closed, or at the latest when
// this process exits: a test that only stops its server (or fails before
// closing it) leaves no database behind in the temp folder.
const dirs = new Set();
process.once('exit', () => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** Starts the server; `stop()` kills it, `restart()` starts it again on the same port and database.
 *  `options.db`: an existing database (a SQLite file or a PostgreSQL URL) to use; by default a
 *  fresh one on `options.backend` (default KG_TEST_DB, else SQLite). `options.bin`: another
 *  build of the server (benchmarks run two builds side by side). */
async function startServer(extraArgs = [], options = {}) {
  const bin = options.bin || BIN;
  if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: cargo build -p kg-approval-server`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kg-server-'));
  dirs.add(dir);
  const backend = options.backend || BACKEND;
  const db = options.db || (backend === 'postgres' ? require('./postgres').postgresDatabase() : path.join(dir, 'history.sqlite'));
  const tokens = Object.entries(TOKENS).flatMap(([who, token]) => ['--token', `${token}=${USERS[who]}`]);
  const server = { db, dir, url: null, child: null, backend: db.startsWith('postgres') ? 'postgres' : 'sqlite' };

  const launch = (addr) =>
    new Promise((resolve, reject) => {
      const child = spawn(bin, ['--addr', addr, '--db', db, ...tokens, ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      const timer = setTimeout(() => reject(new Error(`server did not start: ${err}`)), 15000);
      const onData = (chunk) => {
        out += chunk;
        const match = out.match(/listening on (http:\/\/[\d.:]+)/);
        if (match) {
          clearTimeout(timer);
          // From here on the log (a line per request) is drained unread,
          // not collected and searched for the life of the server.
          child.stdout.off('data', onData);
          child.stdout.resume();
          resolve({ child, url: match[1] });
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', (chunk) => (err = (err + chunk).slice(-4000)));
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`server exited with ${code}: ${err}`));
      });
    });

  const up = async (addr) => {
    const { child, url } = await launch(addr);
    child.removeAllListeners('exit');
    server.child = child;
    server.url = url;
  };
  await up('127.0.0.1:0');
  server.port = Number(new URL(server.url).port);
  server.stop = () =>
    new Promise((resolve) => {
      const child = server.child;
      // A killed process has a signalCode and no exitCode.
      if (!child || child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  /** Stops with SIGTERM: the server shuts down cleanly and SQLite folds its log into the file. */
  server.stopGracefully = () =>
    new Promise((resolve) => {
      const child = server.child;
      if (!child || child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  server.restart = async () => {
    await server.stop();
    await up(`127.0.0.1:${server.port}`);
  };
  server.close = async () => {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    dirs.delete(dir);
  };
  return server;
}

module.exports = { startServer, TOKENS, USERS, BACKEND };
