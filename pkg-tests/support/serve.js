'use strict';
// A production server of a consumer project (next start, Nuxt's .output),
// started on a free loopback port in its own process group, waited for, and
// stopped by its process id.
const http = require('http');
const { spawn } = require('child_process');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = http.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts `cmd args` in `cwd` with PORT in its environment (and `portArgs(port)` appended),
 * and resolves once `GET /` answers at all: `{ url, output(), stop() }`.
 */
async function startServer(cmd, args, cwd, { env = {}, portArgs = () => [], timeoutMs = 60_000 } = {}) {
  const port = await freePort();
  const child = spawn(cmd, [...args, ...portArgs(port)], {
    cwd,
    env: { ...process.env, NO_COLOR: '1', NEXT_TELEMETRY_DISABLED: '1', PORT: String(port), HOST: '127.0.0.1', HOSTNAME: '127.0.0.1', NITRO_HOST: '127.0.0.1', NITRO_PORT: String(port), ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const url = `http://127.0.0.1:${port}`;
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', resolve);
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        resolve();
      }
    });
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${cmd} ${args.join(' ')} exited (${child.exitCode}):\n${log}`);
    try {
      await fetch(url, { signal: AbortSignal.timeout(2000) });
      break;
    } catch {
      if (Date.now() - started > timeoutMs) {
        await stop();
        throw new Error(`${cmd} ${args.join(' ')} did not answer on ${url} in ${timeoutMs} ms:\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return { url, output: () => log, stop };
}

module.exports = { startServer, freePort };
