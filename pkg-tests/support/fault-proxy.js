'use strict';
// A fault-injecting HTTP proxy of our own, between the client and the real
// server. Faults are queued per request: each request takes the next one.
//   { status, headers, body }      answer instead of forwarding
//   { after: { status, body } }    forward, then lose the server's answer and send this
//   { reset: true }                destroy the connection once the request is read, unforwarded
//   { resetRequest: true }         destroy the connection while the request is still arriving
//   { resetResponse: true }        forward, send the headers and half the body, then destroy
//   { truncate: true }             forward, then end the answer cleanly after half its body
//   { delayMs }                    forward after a delay
//   { holdMs }                     forward at once, hold the server's answer this long
//   { duplicate: true }            forward the request twice at once, answer with the first reply
const http = require('http');

function forward(target, req, body) {
  return new Promise((resolve, reject) => {
    const upstream = http.request(new URL(req.url, target), { method: req.method, headers: req.headers }, (answer) => {
      const parts = [];
      answer.on('data', (c) => parts.push(c));
      answer.on('end', () => resolve({ status: answer.statusCode, headers: answer.headers, body: Buffer.concat(parts) }));
      answer.on('error', reject);
    });
    upstream.on('error', reject);
    upstream.end(body);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function startProxy(target) {
  const faults = [];
  const seen = [];
  const server = http.createServer((req, res) => {
    const fault = faults.shift() || {};
    const entry = { method: req.method, url: req.url, headers: req.headers, fault, body: null };
    seen.push(entry);
    if (fault.resetRequest) return req.socket.destroy();
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      entry.body = body.toString();
      if (fault.reset) return req.socket.destroy();
      if (fault.status) {
        res.writeHead(fault.status, fault.headers || {});
        return res.end(fault.body ?? '');
      }
      if (fault.delayMs) await sleep(fault.delayMs);
      let answer;
      try {
        const replies = await Promise.all(Array.from({ length: fault.duplicate ? 2 : 1 }, () => forward(target, req, body)));
        answer = replies[0];
      } catch {
        return req.socket.destroy();
      }
      if (fault.holdMs) await sleep(fault.holdMs);
      if (res.destroyed) return;
      if (fault.after) {
        res.writeHead(fault.after.status, {});
        return res.end(fault.after.body ?? 'lost');
      }
      const half = answer.body.subarray(0, Math.floor(answer.body.length / 2));
      if (fault.resetResponse) {
        res.writeHead(answer.status, { ...answer.headers, 'content-length': answer.body.length });
        res.write(half);
        return setTimeout(() => req.socket.destroy(), 10);
      }
      if (fault.truncate) {
        const { 'content-length': _, ...headers } = answer.headers;
        res.writeHead(answer.status, headers);
        return res.end(half);
      }
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    inject: (...list) => faults.push(...list),
    seen,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(resolve);
    }),
  };
}

/** A loopback URL where nothing listens: connections are refused. */
async function refusingUrl() {
  const probe = http.createServer();
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return `http://127.0.0.1:${port}`;
}

module.exports = { startProxy, refusingUrl };
