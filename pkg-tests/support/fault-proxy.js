'use strict';
// A fault-injecting HTTP proxy of our own, between the client and the real
// server. Faults are queued per request: each request takes the next one.
//   { status, headers, body }      answer instead of forwarding
//   { after: { status } }          forward, then lose the server's answer and send this
//   { reset: true }                destroy the connection without answering
//   { delayMs }                    forward after a delay
const http = require('http');

async function startProxy(target) {
  const faults = [];
  const seen = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const fault = faults.shift() || {};
      seen.push({ method: req.method, url: req.url, headers: req.headers, fault });
      if (fault.reset) return req.socket.destroy();
      if (fault.status) {
        res.writeHead(fault.status, fault.headers || {});
        return res.end(fault.body ?? '');
      }
      if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
      const upstream = http.request(new URL(req.url, target), { method: req.method, headers: req.headers }, (answer) => {
        const parts = [];
        answer.on('data', (c) => parts.push(c));
        answer.on('end', () => {
          if (res.destroyed) return;
          if (fault.after) {
            res.writeHead(fault.after.status, {});
            return res.end(fault.after.body ?? 'lost');
          }
          res.writeHead(answer.statusCode, answer.headers);
          res.end(Buffer.concat(parts));
        });
      });
      upstream.on('error', () => !res.destroyed && req.socket.destroy());
      upstream.end(body);
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

module.exports = { startProxy };
