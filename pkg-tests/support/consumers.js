'use strict';
// One temporary project for every consumer test (pkg-tests/consumers*.test.js):
// the tools from pkg-tests/consumers/package-lock.json (Vite, Vue, TypeScript,
// vitest, Next.js, Nuxt, jest, webpack), installed once with `npm ci
// --prefer-offline`, and the package as its users get it: `npm pack pkg`,
// installed with npm. Each test writes its own consumer project in a
// directory of its own under it (node_modules is found one level up), so one
// install serves them all.
//
// The project is kept in the system's temporary directory between runs, keyed
// by this repository's path and the lockfile: a second run reinstalls only the
// tarball (when it changed). Test files running at once take turns through a
// lock directory. KG_CONSUMERS_DIR puts the project elsewhere.
const assert = require('node:assert/strict');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn, spawnSync } = require('child_process');
const { repo } = require('./kg');

const TOOLS = path.join(repo, 'pkg-tests', 'consumers');
const sha = (data) => crypto.createHash('sha256').update(data).digest('hex');
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** How long each step took (ms), per test file: the tests print it. */
const timings = {};

/** Runs a command; fails the test with its output if it fails. Returns stdout. */
function run(cmd, args, cwd, what = `${path.basename(cmd)} ${args.join(' ')}`, env = {}) {
  const started = Date.now();
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', CI: '1', NEXT_TELEMETRY_DISABLED: '1', NUXT_TELEMETRY_DISABLED: '1', ...env },
    maxBuffer: 256 << 20,
  });
  timings[what] = (timings[what] ?? 0) + (Date.now() - started);
  assert.equal(r.status, 0, `${what} in ${cwd} failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** `run`, without blocking this process (for a program that talks to a server running here). */
function runAsync(cmd, args, cwd, what = `${path.basename(cmd)} ${args.join(' ')}`) {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (status) => {
      timings[what] = (timings[what] ?? 0) + (Date.now() - started);
      if (status === 0) resolve(out);
      else reject(new Error(`${what} in ${cwd} failed (exit ${status}):\n${out}\n${err}`));
    });
  });
}

/** Writes files (`{ 'src/a.js': text, 'package.json': object }`) under `root`. */
function files(root, tree) {
  for (const [name, text] of Object.entries(tree)) {
    const file = path.join(root, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, typeof text === 'string' ? text : `${JSON.stringify(text, null, 2)}\n`);
  }
}

function withLock(dir, work) {
  const lock = `${dir}.lock`;
  const started = Date.now();
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      // A lock left by a killed run is taken over after 20 minutes.
      const age = Date.now() - fs.statSync(lock, { throwIfNoEntry: false })?.mtimeMs;
      if (age > 20 * 60_000) fs.rmSync(lock, { recursive: true, force: true });
      else if (Date.now() - started > 25 * 60_000) throw new Error(`${lock}: held too long`);
      else sleep(500);
    }
  }
  try {
    return work();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

let prepared = null;

/**
 * The shared consumer project: `{ root, tarball, bin(name), dir(prefix), run, files, timings }`.
 * `dir(prefix)` makes a fresh directory for one consumer project (removed by `cleanup()`).
 */
function consumerProject() {
  if (prepared) return prepared;
  assert.ok(fs.existsSync(path.join(repo, 'pkg', 'package.json')), 'pkg/ is built (bash scripts/build-pkg.sh)');
  const lockfile = fs.readFileSync(path.join(TOOLS, 'package-lock.json'));
  const root = process.env.KG_CONSUMERS_DIR || path.join(os.tmpdir(), `kg-approval-consumers-${sha(`${repo}\n`).slice(0, 10)}`);
  fs.mkdirSync(path.dirname(root), { recursive: true });
  const tarball = withLock(root, () => {
    fs.mkdirSync(root, { recursive: true });
    const toolsMark = path.join(root, '.tools.sha256');
    const want = sha(Buffer.concat([lockfile, fs.readFileSync(path.join(TOOLS, 'package.json'))]));
    if (!fs.existsSync(toolsMark) || fs.readFileSync(toolsMark, 'utf8') !== want) {
      for (const entry of fs.readdirSync(root)) fs.rmSync(path.join(root, entry), { recursive: true, force: true });
      fs.copyFileSync(path.join(TOOLS, 'package.json'), path.join(root, 'package.json'));
      fs.copyFileSync(path.join(TOOLS, 'package-lock.json'), path.join(root, 'package-lock.json'));
      run('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], root, 'npm ci (the tools, once)');
      fs.writeFileSync(toolsMark, want);
    }
    const packed = JSON.parse(run('npm', ['pack', path.join(repo, 'pkg'), '--json', '--pack-destination', root], repo, 'npm pack'));
    const name = packed[0].filename;
    const mark = path.join(root, '.kg-approval.sha256');
    const digest = sha(fs.readFileSync(path.join(root, name)));
    if (!fs.existsSync(mark) || fs.readFileSync(mark, 'utf8') !== digest || !fs.existsSync(path.join(root, 'node_modules', 'kg-approval'))) {
      run('npm', ['install', '--no-save', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', `./${name}`], root, 'npm install kg-approval (the tarball)');
      fs.writeFileSync(mark, digest);
    }
    return { name, size: packed[0].size, unpackedSize: packed[0].unpackedSize, files: packed[0].files.map((f) => f.path) };
  });
  const made = [];
  prepared = {
    root,
    tarball,
    timings,
    run,
    files,
    bin: (name) => path.join(root, 'node_modules', '.bin', name),
    dir(prefix) {
      const d = fs.mkdtempSync(path.join(root, `${prefix}-`));
      made.push(d);
      return d;
    },
    cleanup() {
      for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
    },
  };
  return prepared;
}

module.exports = { consumerProject, run, runAsync, files, timings };
