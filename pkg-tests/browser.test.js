'use strict';
// The web build in real Chromium: the page comes from one origin and the
// history server is another, so every save goes through CORS (a preflight
// for X-API-Token and Content-Type) and WASM's fetch is the browser's. Both
// servers: ours, and the stand-in of the real service, whose CORS rules
// allow only its own list of headers.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('path');
const { randomUUID } = require('crypto');
const { repo } = require('./support/kg');
const { startServer, TOKENS, USERS } = require('./support/server');
const { launchBrowser, serveStatic } = require('./support/browser');
const { startRealService } = require('./support/real-service');

const SESSION = 'magic-link-session-0003';
let api;
let real;
let pages;
let chromium;
test.before(async () => {
  api = await startServer();
  real = await startRealService({
    tokens: { [TOKENS.ann]: { user: USERS.ann, scopes: ['graph:read', 'graph:write'] } },
    sessions: { [SESSION]: { email: 'carol@example.com', role: 'User' } },
    // The service's classifier rewrites the graph 20 ms after a save and can undo a save
    // that lands in its gap (a race of the real service, covered by real-service-flow.test.js);
    // on a loaded machine it hit this flow's back-to-back saves.
    classifierDelayMs: null,
  });
  pages = await serveStatic({ '/pkg/': path.join(repo, 'pkg'), '/t/': path.join(__dirname, 'browser') });
  chromium = await launchBrowser();
});
test.after(async () => {
  await chromium?.close();
  await pages?.close();
  await api?.close();
  await real?.close();
});

test('in Chromium: review, approve, save across origins, conflict, history', async () => {
  const page = await chromium.browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${pages.url}/t/client.html`);
  const result = await page.evaluate(
    async ({ baseUrl, token, user, graphId }) => {
      const kg = await window.kgReady;
      const client = new kg.HistoryClient({ baseUrl, token, retries: 1, retryDelayMs: 5 });
      const graph = { metadata: { title: 'In the browser' }, nodes: [{ id: 'a', label: 'A', info: '<img src=x onerror=alert(1)>' }, { id: 'h', visible: false }], edges: [] };
      const session = new kg.ApprovalSession(graph, { graphId });
      session.propose({ nodes: [{ id: 'a', label: 'A2', info: 'safe text' }] });
      session.reject('node/a/info');
      const approved = session.approve({ user });
      const first = await client.save(approved);
      session.markSaved(approved.audit.approvalId, first.newVersion);

      // A stale save from a second session is refused with a ConflictError.
      const stale = new kg.ApprovalSession(graph, { graphId });
      stale.propose({ nodes: [{ id: 'a', label: 'stale' }] });
      let conflict;
      try {
        await client.save(stale.approve({ user }));
      } catch (e) {
        conflict = { isConflict: e instanceof kg.ConflictError, isBase: e instanceof kg.KgApprovalError, code: e.code, currentVersion: e.currentVersion };
      }
      const loaded = await client.load(graphId);
      const history = await client.history(graphId);
      return { first, conflict, loaded, history, pending: session.pendingSaves().length };
    },
    { baseUrl: api.url, token: TOKENS.ann, user: USERS.ann, graphId: randomUUID() },
  );
  assert.deepEqual(errors, []);
  assert.equal(result.first.newVersion, 1);
  assert.deepEqual(result.conflict, { isConflict: true, isBase: true, code: 'version_conflict', currentVersion: 1 });
  assert.equal(result.loaded.nodes[0].label, 'A2');
  assert.equal(result.loaded.nodes[0].info, '<img src=x onerror=alert(1)>', 'the rejected field kept its old value');
  assert.equal(result.loaded.nodes[1].visible, false);
  assert.deepEqual(result.history.map((h) => [h.version, h.user]), [[1, USERS.ann]]);
  assert.equal(result.pending, 0);
  await page.close();
});

test('in Chromium: a save to a stopped server is reported and kept for retry', async () => {
  const page = await chromium.browser.newPage();
  await page.goto(`${pages.url}/t/client.html`);
  const result = await page.evaluate(async ({ token, user }) => {
    const kg = await window.kgReady;
    const client = new kg.HistoryClient({ baseUrl: 'http://127.0.0.1:9', token, retries: 1, retryDelayMs: 5 });
    const session = new kg.ApprovalSession({ nodes: [{ id: 'a', label: 'A' }] }, { graphId: crypto.randomUUID() });
    session.propose({ nodes: [{ id: 'a', label: 'B' }] });
    const approved = session.approve({ user });
    try {
      await client.save(approved);
      return { saved: true };
    } catch (e) {
      return { code: e.code, attempts: e.attempts, pending: session.pendingSaves().length };
    }
  }, { token: TOKENS.ann, user: USERS.ann });
  assert.deepEqual(result, { code: 'network_error', attempts: 2, pending: 1 });
  await page.close();
});

test('in Chromium: the whole flow against the real service across origins, signed in as the editor signs in', async () => {
  const page = await chromium.browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${pages.url}/t/client.html`);
  const result = await page.evaluate(
    async ({ baseUrl, session: sessionToken, user, graphId }) => {
      const kg = await window.kgReady;
      // The editor's own sign-in (src/utils/kgAuth.js), no API token.
      const client = new kg.HistoryClient({ baseUrl, headers: { 'X-Session-Token': sessionToken, 'x-user-role': 'User' }, retries: 0 });
      const { service } = await client.capabilities();
      const graph = { metadata: { title: 'Real' }, nodes: [{ id: 'a', label: 'A' }, { id: 'b', label: 'B' }], edges: [] };
      const first = new kg.ApprovalSession(graph, { graphId, service });
      first.propose({ nodes: [{ id: 'a', label: 'A1' }] });
      const v1 = await client.save(first.approve({ user }));
      const session = new kg.ApprovalSession(await client.load(graphId), { graphId, service });
      session.propose({ nodes: [{ id: 'a', label: 'A2' }], edges: [{ id: 'mine', source: 'a', target: 'b' }] });
      const approved = session.approve({ user });
      try {
        const v2 = await client.save(approved);
        session.markSaved(approved.audit.approvalId, v2.newVersion);
        // Another tab saves first; ours is stale → rebase → save.
        const other = new kg.ApprovalSession(await client.load(graphId), { graphId, service });
        other.propose({ nodes: [{ id: 'b', label: 'B by the other tab' }] });
        await client.save(other.approve({ user }));
        session.propose({ nodes: [{ id: 'a', label: 'A3' }] });
        const stale = session.approve({ user });
        let conflict = null;
        try {
          await client.save(stale);
        } catch (e) {
          conflict = e instanceof kg.ConflictError ? e.currentVersion : `${e.code}`;
        }
        const rebased = session.rebase(await client.load(graphId));
        const merged = session.approve({ user });
        const v4 = await client.save(merged);
        session.markSaved(merged.audit.approvalId, v4.newVersion);
        const history = (await client.history(graphId)).map((h) => h.version);
        const restore = session.revertTo(await client.version(graphId, 1)).changes.map((c) => c.id);
        const latest = await client.load(graphId);
        return { versions: [v1.newVersion, v2.newVersion, v4.newVersion], via: v2.via, conflict, rebased: rebased.changes.map((c) => c.id), history, restore, labels: latest.nodes.map((n) => n.label), edges: latest.edges.map((e) => e.id) };
      } catch (e) {
        return { error: `${e.code}: ${e.message}` };
      }
    },
    { baseUrl: real.url, session: SESSION, user: 'carol@example.com', graphId: randomUUID() },
  );
  assert.deepEqual(errors, []);
  assert.equal(result.error, undefined);
  assert.deepEqual(result.versions, [1, 2, 4]);
  assert.equal(result.via, 'full');
  assert.equal(result.conflict, 3);
  assert.deepEqual(result.rebased, ['node/a/label']);
  assert.deepEqual(result.history, [4, 3, 2, 1]);
  assert.deepEqual(result.restore.sort(), ['edge/a_b', 'node/a/label', 'node/b/label']);
  assert.deepEqual(result.labels, ['A3', 'B by the other tab']);
  assert.deepEqual(result.edges, ['a_b'], 'one edge, under the id the service gave it');
  const preflights = real.state.requests.filter((r) => r.method === 'OPTIONS');
  assert.ok(preflights.length >= 1, 'the browser asked first');
  assert.ok(preflights.every((r) => !/idempotency-key/i.test(r.headers['access-control-request-headers'] || '')), 'no header the real service refuses');
  await page.close();
});
