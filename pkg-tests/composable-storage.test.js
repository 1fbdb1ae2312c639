'use strict';
// The composable's local storage and its answers (issue 23, items 5 and 8),
// headless in Node against the real history server: a save the server
// acknowledged is never reported lost, whatever this device fails to keep;
// the outbox is kept before a save is sent and a reload sends it again and
// finds the version it made; late answers are dropped; the WASM session is
// freed with the component's scope; inputs may be refs.
const test = require('node:test');
const assert = require('node:assert/strict');
const { kg } = require('./support/kg');
const { startServer, TOKENS, USERS } = require('./support/server');

let server;
test.before(async () => {
  server = await startServer();
});
test.after(() => server?.close());

const vue = () => import('vue');
const composable = async () => (await import('kg-approval/vue')).useApprovalSession;
/** The reviewer accepts every change still to decide (decisions are explicit: none is accepted for them). */
const acceptRest = (app) => app.decideMany(app.state.review.changes.filter((c) => c.accepted === null || (c.conflict && !c.conflict.resolved)).map((c) => c.id), true);
const client = () => new kg.HistoryClient({ baseUrl: server.url, token: TOKENS.ann, retries: 0, timeoutMs: 5000 });

/** A graph saved as version 1 by Ann; its id. */
async function seed(label = 'A') {
  const id = crypto.randomUUID();
  const session = new kg.ApprovalSession({ metadata: { title: label }, nodes: [{ id: 'a', label }, { id: 'b', label: 'B' }], edges: [] }, { graphId: id });
  const r = await fetch(`${server.url}/saveGraphWithHistory`, {
    method: 'POST',
    headers: { 'X-API-Token': TOKENS.ann, 'content-type': 'application/json' },
    body: JSON.stringify({ id, graphData: session.graph(), override: false }),
  });
  assert.equal(r.status, 200, await r.text());
  session.free();
  return id;
}

/** A HistoryClient in front of `inner`, whose methods `around` may replace. */
function wrap(inner, around = {}) {
  const methods = ['capabilities', 'load', 'version', 'history', 'save'];
  return Object.fromEntries(methods.map((m) => [m, around[m] ? (...args) => around[m](inner, ...args) : (...args) => inner[m](...args)]));
}

test('a save the server acknowledged is reported saved even when this device cannot keep its record of it', async () => {
  const { memoryStore } = await import('kg-approval/vue');
  const useApprovalSession = await composable();
  const inner = memoryStore();
  // A store that is full for the saved-approval records (as localStorage was, at 5 MB).
  const storage = {
    get: (k) => inner.get(k),
    del: (k) => inner.del(k),
    set: async (k, v) => {
      if (k.startsWith('kg-approval:audit:')) throw Object.assign(new Error("Failed to execute 'put': the quota has been exceeded."), { name: 'QuotaExceededError' });
      return inner.set(k, v);
    },
  };
  const id = await seed();
  const app = useApprovalSession({ kg, client: client(), user: USERS.ann, storage });
  await app.openGraph(id);
  app.propose({ nodes: [{ id: 'a', label: 'A2' }] });
  acceptRest(app);
  await app.approveAndSave('kept or not');
  assert.deepEqual([app.state.save.status, app.state.save.version, app.state.pending], ['saved', 2, 0]);
  assert.match(app.state.localError, /^Saved as version 2, but this device could not keep its record of the approval: .*quota/);
  assert.equal(await inner.get(`kg-approval:outbox:${id}`), undefined, 'the outbox is empty: nothing left to send');
});

test('the outbox is kept before the save is sent; after a reload it is sent again and finds the version it made', async () => {
  const { memoryStore } = await import('kg-approval/vue');
  const useApprovalSession = await composable();
  const storage = memoryStore();
  const id = await seed();
  let keptWhenSent = null;
  // The save lands, and its answer is lost on the way back.
  const lossy = wrap(client(), {
    save: async (inner, pending) => {
      keptWhenSent = await storage.get(`kg-approval:outbox:${id}`);
      await inner.save(pending);
      throw Object.assign(new Error('network error: connection reset'), { code: 'network_error' });
    },
  });
  const first = useApprovalSession({ kg, client: lossy, user: USERS.ann, storage });
  await first.openGraph(id);
  first.propose({ nodes: [{ id: 'a', label: 'landed' }] });
  acceptRest(first);
  await first.approveAndSave('answer lost');
  assert.equal(first.state.save.status, 'failed');
  assert.equal(keptWhenSent?.length, 1, 'the approval was in storage before it was sent');

  // A reload: a new composable on the same storage.
  const again = useApprovalSession({ kg, client: client(), user: USERS.ann, storage });
  await again.openGraph(id);
  assert.deepEqual([again.state.save.status, again.state.save.version, again.state.pending], ['saved', 2, 0], again.state.save.message);
  assert.equal(again.state.graph.nodes[0].label, 'landed');
  assert.deepEqual((await client().history(id)).map((h) => h.version), [2, 1], 'stored once');
  assert.equal(await storage.get(`kg-approval:outbox:${id}`), undefined);
  assert.deepEqual((await again.savedApprovals()).map((r) => [r.savedVersion, r.reason]), [[2, 'answer lost']]);
});

test('switching graphs quickly: an older load that finishes last changes nothing, and history is the open graph\'s', async () => {
  const { memoryStore } = await import('kg-approval/vue');
  const useApprovalSession = await composable();
  const [a, b] = [await seed('Graph A'), await seed('Graph B')];
  let release;
  const held = new Promise((r) => (release = r));
  const slowA = wrap(client(), {
    load: async (inner, id) => {
      if (id === a) await held;
      return inner.load(id);
    },
  });
  const app = useApprovalSession({ kg, client: slowA, user: USERS.ann, storage: memoryStore() });
  const openingA = app.openGraph(a);
  await app.openGraph(b);
  release();
  await openingA;
  assert.equal(app.state.graphId, b);
  assert.equal(app.state.graph.metadata.title, 'Graph B');
  assert.deepEqual(app.state.history.map((h) => h.version), [1]);
});

test('inputs as refs, the session freed with the scope, and no storage touched until it is needed', async () => {
  const { effectScope, shallowRef, ref } = await vue();
  const useApprovalSession = await composable();
  const id = await seed();
  const touched = [];
  const spy = new Proxy({}, { get: (_, key) => (touched.push(key), async () => undefined) });
  const scope = effectScope();
  const who = ref(null);
  const app = scope.run(() => useApprovalSession({ kg, client: shallowRef(client()), user: who, storage: spy }));
  assert.deepEqual(touched, [], 'setting up (and server rendering) reads no storage');
  await app.openGraph(id);
  app.propose({ nodes: [{ id: 'b', label: 'B2' }] });
  await assert.rejects(app.approveAndSave(), /Sign in/, 'the user ref is read at approval');
  who.value = USERS.ann;
  app.propose({ nodes: [{ id: 'b', label: 'B2' }] });
  const before = kg.wasmMemory().heapBytes;
  scope.stop();
  assert.ok(kg.wasmMemory().heapBytes < before, 'the WASM session is freed when the scope is disposed');
  assert.throws(() => app.propose({ nodes: [] }), /unmounted/);
});
