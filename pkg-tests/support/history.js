'use strict';
// Helpers of the tests that run HistoryClient against the real server.
const assert = require('node:assert/strict');
const { randomUUID } = require('crypto');
const { kg } = require('./kg');
const { TOKENS, USERS } = require('./server');

/** Retries without long waits. */
const fast = { retries: 3, retryDelayMs: 5, maxRetryDelayMs: 20, timeoutMs: 2000 };

/** A client of `server` for `who`, with `fast` retries unless overridden. */
const clientOf = (server, who = 'ann', options = {}) => new kg.HistoryClient({ baseUrl: server.url, token: TOKENS[who], ...fast, ...options });

function graph() {
  return {
    metadata: { title: 'Client test' },
    nodes: [
      { id: 'a', label: 'A', info: 'alpha text', position: { x: 0, y: 0 } },
      { id: 'b', label: 'B', info: 'beta', visible: false },
      { id: 'c', label: 'C' },
    ],
    edges: [{ id: 'a_b', source: 'a', target: 'b', label: 'kept' }],
  };
}

/** A session on a new graph saved as version 1 on `server`. */
async function savedSession(server, who = 'ann') {
  const graphId = randomUUID();
  const session = new kg.ApprovalSession(graph(), { graphId });
  session.propose({ metadata: { description: 'first version' } }, { source: 'import' });
  const approved = session.approve({ user: USERS[who] });
  const { newVersion } = await clientOf(server, who).save(approved);
  session.markSaved(approved.audit.approvalId, newVersion);
  return { graphId, session };
}

/** Awaits `promise`, expects a KgApprovalError with `code`, returns it. */
async function expectReject(promise, code) {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof kg.KgApprovalError, `${e}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected ${code}`);
}

module.exports = { fast, clientOf, graph, savedSession, expectReject };
