'use strict';
// The network fault matrix (issue 6): HistoryClient.save against the real
// server through the fault proxy, on both ways a save travels — as a delta
// (POST /patchGraph) and as the whole graph (POST /saveGraphWithHistory).
// For every fault, the save either succeeds (after retries) or fails with a
// typed error; in both cases
//   - the approval is in the outbox until it is marked saved (nothing lost),
//   - a retry after a failure succeeds, and
//   - the server holds exactly one new version for the approval,
//   - every request carried the approval id (in its body) as its idempotency key.
const test = require('node:test');
const assert = require('node:assert/strict');
const { kg } = require('./support/kg');
const { startServer, TOKENS, USERS } = require('./support/server');
const { startProxy, refusingUrl } = require('./support/fault-proxy');
const { fast, clientOf, savedSession, expectReject } = require('./support/history');

let server;
test.before(async () => {
  server = await startServer();
});
test.after(async () => {
  await server.close();
});

const TIMEOUT_MS = 300;
// [name, faults for successive requests, expected outcome, client options]
const matrix = [
  ['refused connection', 'refused', { code: 'network_error', attempts: 4 }],
  ['reset while the request is sent', [{ resetRequest: true }], { version: 2, requests: 2 }],
  ['reset on every attempt while the request is sent', Array(4).fill({ resetRequest: true }), { code: 'network_error', attempts: 4 }],
  ['reset after the request, before forwarding', [{ reset: true }], { version: 2, requests: 2 }],
  ['reset halfway through the answer (the save landed)', [{ resetResponse: true }], { version: 2, requests: 2 }],
  ['an answer slower than the timeout (the save landed)', [{ holdMs: TIMEOUT_MS * 2 }], { version: 2, requests: 2 }],
  ['every answer slower than the timeout', Array(2).fill({ holdMs: TIMEOUT_MS * 2 }), { code: 'timeout', attempts: 2 }, { retries: 1 }],
  ['500, then success', [{ status: 500, body: '{"error":"boom"}' }], { version: 2, requests: 2 }],
  ['503 on every attempt', Array(4).fill({ status: 503, body: 'down' }), { code: 'http_error', status: 503, attempts: 4 }],
  ['429 with Retry-After: 1, then success', [{ status: 429, headers: { 'retry-after': '1' }, body: '{"error":"slow down"}' }], { version: 2, requests: 2, waitedMs: 900 }],
  ['429 with Retry-After past the 30 s budget fails at once', [{ status: 429, headers: { 'retry-after': '3600' }, body: '{"error":"later"}' }], { code: 'http_error', status: 429, attempts: 1 }],
  ['a truncated JSON answer (the save landed)', [{ truncate: true }], { version: 2, requests: 2 }],
  ['an HTML page instead of JSON (the save landed)', [{ after: { status: 200, body: '<html>gateway</html>' } }], { version: 2, requests: 2 }],
  ['non-JSON on every attempt', Array(4).fill({ after: { status: 200, body: 'ok' } }), { code: 'invalid_response', attempts: 4 }],
  ['the request duplicated on the way', [{ duplicate: true }], { version: 2, requests: 1 }],
  ['duplicated, and the answer lost', [{ duplicate: true, after: { status: 502 } }], { version: 2, requests: 2 }],
  ['a 400 is final, not retried', [{ status: 400, body: '{"error":"bad"}' }], { code: 'http_error', status: 400, attempts: 1 }],
];

for (const [via, deltaSaves, route] of [['delta', 'always', '/patchGraph'], ['full', 'never', '/saveGraphWithHistory']])
for (const [name, faults, expected, options = {}] of matrix) {
  test(`fault (${via}): ${name} → ${expected.code ?? `version ${expected.version}`}`, async () => {
    const { graphId, session } = await savedSession(server);
    session.propose({ nodes: [{ id: 'a', label: `after: ${name}` }] });
    const approved = session.approve({ user: USERS.ann });
    const approvalId = approved.audit.approvalId;
    const proxy = faults === 'refused' ? null : await startProxy(server.url);
    const baseUrl = proxy ? proxy.url : await refusingUrl();
    try {
      if (proxy) proxy.inject(...faults);
      const viaFaults = new kg.HistoryClient({ baseUrl, token: TOKENS.ann, ...fast, timeoutMs: TIMEOUT_MS, deltaSaves, ...options });
      const started = Date.now();
      const outcome = await viaFaults.save(approved).then((saved) => ({ saved }), (error) => ({ error }));
      assert.deepEqual(session.pendingSaves().map((p) => p.audit.approvalId), [approvalId], 'the approval waits in the outbox');

      if (expected.code) {
        assert.ok(outcome.error, `expected ${expected.code}, got version ${outcome.saved?.newVersion}`);
        const err = await expectReject(Promise.reject(outcome.error), expected.code);
        assert.equal(err.attempts, expected.attempts);
        if (expected.status) assert.equal(err.status, expected.status);
        // The retry (e.g. the app's Retry button) goes straight to the server.
        const retried = await clientOf(server).save(session.pendingSaves()[0]);
        assert.equal(retried.newVersion, 2);
        session.markSaved(approvalId, retried.newVersion);
      } else {
        assert.ok(outcome.saved, `expected a save, got ${outcome.error}`);
        assert.equal(outcome.saved.newVersion, expected.version);
        assert.equal(outcome.saved.via, via);
        if (expected.waitedMs) assert.ok(Date.now() - started >= expected.waitedMs, 'Retry-After was honoured');
        session.markSaved(approvalId, outcome.saved.newVersion);
      }
      assert.deepEqual(session.pendingSaves(), [], 'saved approvals leave the outbox');
      if (proxy && expected.requests) assert.equal(proxy.seen.length, expected.requests);
      if (proxy) {
        assert.ok(proxy.seen.every((r) => r.url === route && r.method === 'POST'), 'every attempt went the same way');
        // resetRequest cuts the body short: those attempts have no body to read.
        const bodies = proxy.seen.filter((r) => !r.fault.resetRequest).map((r) => JSON.parse(r.body));
        assert.ok(bodies.every((b) => b.audit.approvalId === approvalId), 'one key, in the body, for every attempt');
        assert.ok(proxy.seen.every((r) => r.headers['idempotency-key'] === undefined), 'no header a CORS rule could refuse');
      }

      const history = await clientOf(server).history(graphId);
      assert.deepEqual(history.map((h) => h.version), [2, 1], 'exactly one version for the approval');
      const stored = await clientOf(server).load(graphId);
      assert.equal(stored.nodes.find((n) => n.id === 'a').label, `after: ${name}`);
      assert.equal((await clientOf(server).verify(graphId)).ok, true);
    } finally {
      if (proxy) await proxy.close();
    }
  });
}

test('the matrix covers every fault the proxy can inject', () => {
  const kinds = new Set(matrix.flatMap(([, faults]) => (faults === 'refused' ? ['refused'] : faults.flatMap((f) => Object.keys(f)))));
  for (const kind of ['refused', 'resetRequest', 'reset', 'resetResponse', 'holdMs', 'status', 'truncate', 'after', 'duplicate']) {
    assert.ok(kinds.has(kind), kind);
  }
});
