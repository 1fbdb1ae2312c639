'use strict';
// The stand-in of the real knowledge-graph worker (support/real-service.js) reproduces the
// worker's quirks; these tests pin each one so the stand-in cannot drift into a nicer server.
const test = require('node:test');
const assert = require('node:assert/strict');
const { randomUUID } = require('crypto');
const { startRealService } = require('./support/real-service');

const WRITE = 'write-token-0001';
const READ = 'read-token-0002';
const SESSION = 'magic-link-session-0003';
const options = {
  tokens: { [WRITE]: { user: 'ann@example.com', scopes: ['graph:read', 'graph:write'] }, [READ]: { user: 'bob@example.com', scopes: ['graph:read'] } },
  sessions: { [SESSION]: { email: 'carol@example.com', role: 'Admin' } },
};
const AUTH = { 'X-API-Token': WRITE };
const SAVE_HEADERS = 'Content-Type, Authorization, x-user-role, x-user-id, x-user-email, x-plugin-authenticated, X-API-Token, X-Session-Token, X-Email, Accept, Origin, Cache-Control';
const TEXT = 'text/plain;charset=UTF-8';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function call(srv, method, path, { body, raw, headers = {} } = {}) {
  const init = { method, headers: { ...headers } };
  if (raw !== undefined) init.body = raw;
  else if (body !== undefined) { init.body = JSON.stringify(body); init.headers['Content-Type'] = 'application/json'; }
  const res = await fetch(srv.url + path, init);
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json };
}
const save = (srv, id, graphData, extra = {}, headers = AUTH) => call(srv, 'POST', '/saveGraphWithHistory', { body: { id, graphData, ...extra }, headers });
const history = async (srv, id) => (await call(srv, 'GET', `/getknowgraphhistory?id=${id}`)).json.history.results;
const graph = (version) => ({
  metadata: { title: 'T', ...(version !== undefined && { version }) },
  nodes: [{ id: 'a', label: 'A', info: 'alpha' }, { id: 'b', label: 'B' }],
  edges: [{ source: 'a', target: 'b', label: 'ab' }],
});

let srv;
test.before(async () => { srv = await startRealService({ ...options, classifierDelayMs: null }); });
test.after(() => srv.close());

test('OPTIONS preflight: 204, empty body, exact CORS headers, no Idempotency-Key, before auth and routing', async () => {
  for (const path of ['/saveGraphWithHistory', '/no/such/route']) {
    const r = await call(srv, 'OPTIONS', path, { headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type, idempotency-key' } });
    assert.equal(r.status, 204);
    assert.equal(r.text, '');
    assert.equal(r.headers.get('access-control-allow-origin'), 'https://app.example');
    assert.equal(r.headers.get('access-control-allow-methods'), 'GET, POST, DELETE, OPTIONS');
    assert.equal(r.headers.get('access-control-allow-headers'), SAVE_HEADERS);
    assert.ok(!/idempotency-key|if-match/i.test(r.headers.get('access-control-allow-headers')));
    assert.equal(r.headers.get('access-control-allow-credentials'), 'true');
    assert.equal(r.headers.get('access-control-max-age'), '86400');
    assert.equal(r.headers.get('access-control-expose-headers'), null);
    assert.equal(r.headers.get('vary'), null);
  }
});

test('unknown route and wrong method: 404 JSON {success:false, message, pathname} with CORS', async () => {
  const r = await call(srv, 'GET', '/nope?x=1');
  assert.equal(r.status, 404);
  assert.deepEqual(r.json, { success: false, message: 'Not found.', pathname: '/nope' });
  assert.equal(r.headers.get('content-type'), 'application/json');
  assert.equal(r.headers.get('access-control-allow-origin'), '*'); // no Origin → '*'
  assert.equal(r.headers.get('access-control-allow-headers'), SAVE_HEADERS);
  const wrong = await call(srv, 'GET', '/saveGraphWithHistory');
  assert.equal(wrong.status, 404);
  assert.equal(wrong.json.pathname, '/saveGraphWithHistory');
  const put = await call(srv, 'PUT', '/patchNode', { body: {}, headers: AUTH });
  assert.equal(put.status, 404);
  // Errors carry CORS too (echoed origin), but no JSON content type.
  const unauth = await call(srv, 'POST', '/saveGraphWithHistory', { body: {}, headers: { Origin: 'https://evil.example' } });
  assert.equal(unauth.status, 401);
  assert.equal(unauth.headers.get('access-control-allow-origin'), 'https://evil.example');
  assert.equal(unauth.headers.get('content-type'), TEXT);
});

test('save: new graph ignores sent version; stale, string and missing versions get 409 with currentVersion', async () => {
  const id = randomUUID();
  let r = await save(srv, id, graph(41));
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, { message: 'Graph with history saved successfully', id, newVersion: 1 });
  assert.equal((await save(srv, id, graph(1))).json.newVersion, 2);
  r = await save(srv, id, graph(1));
  assert.equal(r.status, 409);
  assert.deepEqual(r.json, { error: 'Version mismatch. Please reload the latest version of the graph.', currentVersion: 2 });
  assert.equal((await save(srv, id, graph('2'))).status, 409, 'strict !==: "2" is not 2');
  r = await save(srv, id, graph(undefined)); // metadata present, version missing
  assert.equal(r.status, 409);
  assert.equal(r.json.currentVersion, 2);
  r = await save(srv, id, { nodes: [], edges: [] }); // metadata absent → no check
  assert.equal(r.json.newVersion, 3);
  r = await save(srv, id, graph(1), { override: 'false' }); // Boolean("false") === true
  assert.equal(r.json.newVersion, 4);
  const stored = srv.state.graphs.get(id).data;
  assert.equal(stored.metadata.version, 4, 'server overwrites metadata.version');
  assert.deepEqual((await history(srv, id)).map((h) => h.version), [4, 3, 2, 1]);
});

test('save: text/plain content type on success and errors; UUID rule; 400/500 order', async () => {
  const id = randomUUID();
  const r = await save(srv, id, graph());
  assert.equal(r.headers.get('content-type'), TEXT);
  const conflict = await save(srv, id, graph(9));
  assert.equal(conflict.headers.get('content-type'), TEXT);
  const get = await call(srv, 'GET', `/getknowgraph?id=${id}`);
  assert.equal(get.headers.get('content-type'), 'application/json');
  const bad = await save(srv, 'not-a-uuid', graph());
  assert.equal(bad.status, 400);
  assert.equal(bad.headers.get('content-type'), TEXT);
  assert.equal(bad.json.expected, 'UUID v4 (e.g., 550e8400-e29b-41d4-a716-446655440000)');
  assert.equal(bad.json.received, 'not-a-uuid');
  assert.match(bad.json.error, /^New graph IDs must be a valid UUID v4\./);
  assert.deepEqual((await save(srv, id, undefined)).json, { error: 'Graph ID and graph data are required.' });
  const malformed = await call(srv, 'POST', '/saveGraphWithHistory', { raw: '{"id":', headers: AUTH });
  assert.equal(malformed.status, 500);
  assert.equal(malformed.json.error, 'Server error');
  assert.equal(typeof malformed.json.details, 'string');
  const empty = await call(srv, 'POST', '/saveGraphWithHistory', { raw: '', headers: AUTH });
  assert.deepEqual([empty.status, empty.json.error], [500, 'Server error'], 'an empty body is malformed JSON too');
  // The body's audit field is ignored: only graphData is stored, history rows carry no provenance field for it.
  await save(srv, id, graph(1), { audit: { reason: 'x' } });
  assert.equal(JSON.stringify(srv.state.graphs.get(id).data).includes('reason'), false);
  assert.deepEqual(Object.keys(srv.state.history.find((h) => h.graph_id === id)).sort(), ['data', 'graph_id', 'source_app', 'timestamp', 'user_id', 'version']);
});

test('edge ids are rewritten to source_target; from/to edges become undefined_undefined', async () => {
  const id = randomUUID();
  const g = graph();
  g.edges = [{ id: 'custom', source: 'a', target: 'b', label: 'L', weight: 3, info: null }, { id: 'ft', from: 'a', to: 'b' }];
  await save(srv, id, g);
  const stored = srv.state.graphs.get(id).data.edges;
  assert.deepEqual(stored[0], { id: 'a_b', source: 'a', target: 'b', label: 'L', weight: 3, info: null });
  assert.deepEqual(stored[1], { id: 'undefined_undefined', from: 'a', to: 'b' });
  const current = (await call(srv, 'GET', `/getknowgraph?id=${id}`)).json.edges;
  assert.deepEqual(current, [{ id: 'a_b', source: 'a', target: 'b', label: 'L' }, { id: 'undefined_undefined' }]);
  const version = (await call(srv, 'GET', `/getknowgraphversion?id=${id}&version=1`)).json.edges;
  assert.deepEqual(version, stored, 'the version read keeps every stored field, nulls included');
});

test('two read shapes: getknowgraph strips nulls and re-adds defaults; getknowgraphversion does not', async () => {
  const id = randomUUID();
  await save(srv, id, {
    metadata: { title: 'Shapes', description: null },
    nodes: [
      { id: 'a', label: 'A', info: '', type: '', imageWidth: 0, visible: 'false', position: { x: 1, y: null }, metadata: { k: null, j: 1 }, bibl: [null] },
      { id: 'b', label: 'B', visible: false, path: '/p' },
    ],
    edges: [],
  });
  // Stored form (enrichGraphData): falsy → null, visible only false when boolean false.
  const a = srv.state.graphs.get(id).data.nodes[0];
  assert.deepEqual(a, { id: 'a', label: 'A', info: null, type: null, imageWidth: null, visible: true, position: { x: 1, y: null }, metadata: { k: null, j: 1 }, bibl: [null], imageHeight: null, path: null });
  // /addNode stores the node as sent: no position, type null.
  assert.equal((await call(srv, 'POST', '/addNode', { body: { graphId: id, node: { id: 'c', type: null, info: 'x' } }, headers: AUTH })).status, 200);

  const cur = (await call(srv, 'GET', `/getknowgraph?id=${id}`)).json;
  assert.deepEqual(cur.nodes[0], { id: 'a', label: 'A', imageWidth: null, visible: true, position: { x: 1 }, metadata: { j: 1 }, bibl: [null], imageHeight: null, path: null });
  assert.deepEqual(cur.nodes[1].visible, false);
  assert.deepEqual(cur.nodes[2], { id: 'c', info: 'x', visible: true, position: { x: 0, y: 0 }, imageWidth: null, imageHeight: null, path: null });
  assert.equal(cur.metadata.description, null, 'top-level metadata is not sanitised');
  assert.deepEqual(Object.keys(cur).slice(-2), ['created_date', 'updated_at']);
  assert.match(cur.created_date, /^\d{4}-\d\d-\d\dT.*Z$/);

  const ver = (await call(srv, 'GET', `/getknowgraphversion?id=${id}&version=2`)).json;
  assert.deepEqual(ver.nodes[2], { id: 'c', type: null, info: 'x', visible: true, imageWidth: null, imageHeight: null, path: null }, 'no position default, nulls kept');
  assert.equal(ver.nodes[0].type, null);
  assert.deepEqual(ver.nodes[0].position, { x: 1, y: null });
  assert.equal('created_date' in ver, false);
  assert.equal('updated_at' in ver, false);

  assert.deepEqual((await call(srv, 'GET', `/getknowgraphversion?id=${id}`)).json, { error: 'Graph ID and version are required.' });
  const missing = await call(srv, 'GET', `/getknowgraphversion?id=${id}&version=7`);
  assert.equal(missing.status, 404);
  assert.deepEqual(missing.json, { error: `No data found for graph ID: ${id} and version: 7.` });
  assert.equal((await call(srv, 'GET', `/getknowgraph?id=${randomUUID()}`)).status, 404);
  assert.deepEqual((await call(srv, 'GET', '/getknowgraph')).json, { error: 'Graph ID is required.' });
});

test('classifier writes semantic metadata after a delay, outside history and versions, on the current data', async () => {
  const cs = await startRealService({ ...options, classifierDelayMs: 150 });
  try {
    const id = randomUUID();
    await save(cs, id, graph());
    const early = (await call(cs, 'GET', `/getknowgraph?id=${id}`)).json;
    assert.equal(early.metadata.semanticPrimary, undefined);
    // A patch landing before the classifier runs survives (it re-reads the current row).
    const p = await call(cs, 'POST', '/patchNode', { body: { graphId: id, nodeId: 'a', fields: { label: 'A2' }, expectedVersion: 1 }, headers: AUTH });
    assert.equal(p.json.newVersion, 2);
    const updatedAt = cs.state.graphs.get(id).updated_at;
    for (let i = 0; i < 50 && cs.state.classifierRuns.length === 0; i++) await sleep(20);
    const late = (await call(cs, 'GET', `/getknowgraph?id=${id}`)).json;
    assert.equal(late.metadata.semanticPrimary, 'OTHER');
    assert.deepEqual(late.metadata.semanticSecondary, []);
    assert.equal(late.metadata.semanticConfidence, 0.7);
    assert.match(late.metadata.classifiedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(late.metadata.version, 2, 'no version bump');
    assert.equal(late.nodes[0].label, 'A2');
    assert.equal(late.updated_at, updatedAt, 'no updated_at');
    assert.deepEqual((await history(cs, id)).map((h) => h.version), [2, 1], 'no history row');
    for (const v of [1, 2]) {
      const snap = (await call(cs, 'GET', `/getknowgraphversion?id=${id}&version=${v}`)).json;
      assert.equal(snap.metadata.semanticPrimary, undefined);
    }
  } finally {
    await cs.close();
  }
  const dflt = await startRealService(options); // default delay is 20 ms
  try {
    const id = randomUUID();
    await save(dflt, id, graph());
    await sleep(150);
    assert.equal(dflt.state.graphs.get(id).data.metadata.semanticPrimary, 'OTHER');
  } finally {
    await dflt.close();
  }
});

test('history keeps only the last 20 versions, newest first, SQLite timestamps', async () => {
  const id = randomUUID();
  for (let i = 0; i < 25; i++) assert.equal((await save(srv, id, graph(), { override: true })).json.newVersion, i + 1);
  const h = await history(srv, id);
  assert.equal(h.length, 20);
  assert.deepEqual(h.map((x) => x.version), Array.from({ length: 20 }, (_, i) => 25 - i));
  for (const row of h) assert.match(row.timestamp, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  assert.equal((await call(srv, 'GET', `/getknowgraphversion?id=${id}&version=5`)).status, 404);
  assert.equal((await call(srv, 'GET', `/getknowgraphversion?id=${id}&version=6`)).status, 200);
  assert.equal((await call(srv, 'GET', `/getknowgraphversion?id=${id}&version=006`)).json.metadata.version, 6, 'version bound as text, INTEGER affinity [inferred]');
  const full = (await call(srv, 'GET', `/getknowgraphhistory?id=${id}`)).json;
  assert.deepEqual(Object.keys(full), ['graphId', 'history']);
  assert.deepEqual(Object.keys(full.history), ['results', 'success', 'meta']);
  assert.equal(full.history.success, true);
  const unknown = await call(srv, 'GET', `/getknowgraphhistory?id=${randomUUID()}`);
  assert.equal(unknown.status, 200);
  assert.deepEqual(unknown.json.history.results, []);
});

test('no idempotency: the same body (and Idempotency-Key) twice makes two versions', async () => {
  const id = randomUUID();
  await save(srv, id, graph());
  const body = { nodes: [{ id: 'x' }], edges: [] }; // no metadata → no version check
  const headers = { ...AUTH, 'Idempotency-Key': 'same-key' };
  assert.equal((await save(srv, id, body, {}, headers)).json.newVersion, 2);
  assert.equal((await save(srv, id, body, {}, headers)).json.newVersion, 3);
  assert.equal((await history(srv, id)).length, 3);
  assert.equal(srv.state.requests.filter((r) => r.headers['idempotency-key'] === 'same-key').length, 2);
});

test('no unique (graph, version): two concurrent saves on one base both get the same version', async () => {
  const slow = await startRealService({ ...options, classifierDelayMs: null, dbLatencyMs: 25 });
  try {
    const id = randomUUID();
    await save(slow, id, graph());
    const [r1, r2] = await Promise.all([save(slow, id, graph(1)), save(slow, id, graph(1))]);
    assert.equal(r1.status, 200);
    assert.equal(r2.status, 200);
    assert.equal(r1.json.newVersion, 2);
    assert.equal(r2.json.newVersion, 2);
    assert.deepEqual((await history(slow, id)).map((h) => h.version), [2, 2, 1]);
  } finally {
    await slow.close();
  }
});

test('auth: validateAuth order, scopes checked before the body is parsed', async () => {
  const id = randomUUID();
  let r = await save(srv, id, graph(), {}, {});
  assert.equal(r.status, 401);
  assert.deepEqual(r.json, { error: 'Authentication required. Provide X-API-Token header or log in.' });
  r = await call(srv, 'POST', '/saveGraphWithHistory', { raw: 'not json' });
  assert.equal(r.status, 401, 'auth before parsing');
  r = await call(srv, 'POST', '/saveGraphWithHistory', { raw: 'not json', headers: { 'X-API-Token': READ } });
  assert.equal(r.status, 403);
  assert.deepEqual(r.json, { error: 'Insufficient permissions. Required scope: graph:write' });
  r = await save(srv, id, graph(), {}, { Origin: 'https://www.vegvisr.org' });
  assert.equal(r.status, 403, 'trusted origin is read-only');
  assert.deepEqual((await save(srv, id, graph(), {}, { 'X-API-Token': 'nope' })).json, { error: 'Invalid API token' });
  assert.equal((await save(srv, id, graph(), {}, { 'X-API-Token': 'null' })).status, 401);
  r = await save(srv, id, graph(), {}, { 'x-user-role': 'Admin' });
  assert.equal(r.status, 401);
  assert.deepEqual(r.json, { error: 'Session authentication requires a session token (X-Session-Token) — a role header alone is not sufficient. Log in again to obtain one.' });
  r = await save(srv, id, graph(), {}, { 'x-user-role': 'Admin', 'X-Session-Token': 'stale' });
  assert.deepEqual(r.json, { error: 'Invalid or expired session token.' });
  assert.equal((await save(srv, id, graph(), {}, { 'X-Session-Token': SESSION })).status, 401, 'session token without x-user-role');
  assert.equal((await save(srv, id, graph(), {}, { 'x-user-role': 'User', 'X-Session-Token': SESSION })).json.newVersion, 1);
  assert.equal((await save(srv, id, graph(1), {}, { 'X-API-Token': SESSION })).json.newVersion, 2, 'magic-link token as X-API-Token');
  r = await save(srv, id, graph(2), {}, { 'X-API-Token': 'nope', 'x-user-role': 'User', 'X-Session-Token': SESSION });
  assert.equal(r.status, 401, 'X-API-Token wins, no fallback');
  assert.equal((await save(srv, id, graph(2), {}, { 'X-API-Token': 'constructor' })).status, 401);
  // Reads: getknowgraph checks only a sent X-API-Token; history and versions need nothing.
  assert.equal((await call(srv, 'GET', `/getknowgraph?id=${id}`)).status, 200);
  assert.equal((await call(srv, 'GET', `/getknowgraph?id=${id}`, { headers: { 'x-user-role': 'Admin' } })).status, 200);
  assert.equal((await call(srv, 'GET', `/getknowgraph?id=${id}`, { headers: { 'X-API-Token': 'nope' } })).status, 401);
  assert.equal((await call(srv, 'GET', `/getknowgraph?id=${id}`, { headers: { 'X-API-Token': READ } })).status, 200);
  assert.equal((await call(srv, 'GET', `/getknowgraphhistory?id=${id}`)).status, 200);
  assert.equal((await call(srv, 'GET', `/getknowgraphversion?id=${id}&version=1`)).status, 200);
});

test('patchNode: shallow merge, id kept, own version + history row; 409 and 400 bodies', async () => {
  const id = randomUUID();
  const g = graph();
  g.nodes[0].position = { x: 1, y: 2 };
  await save(srv, id, g);
  let r = await call(srv, 'POST', '/patchNode', { body: { graphId: id, nodeId: 'a', fields: { id: 'zzz', label: 'A2', position: { x: 5 }, info: null }, expectedVersion: 1 }, headers: AUTH });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), TEXT);
  assert.deepEqual(r.json, { ok: true, graphId: id, nodeId: 'a', newVersion: 2 });
  const node = srv.state.graphs.get(id).data.nodes[0];
  assert.equal(node.id, 'a');
  assert.equal(node.label, 'A2');
  assert.deepEqual(node.position, { x: 5 }, 'replaced wholesale');
  assert.equal(node.info, null, 'null is written, not deleted');
  assert.equal(srv.state.graphs.get(id).data.metadata.version, 2);
  assert.deepEqual((await history(srv, id)).map((h) => h.version), [2, 1]);

  r = await call(srv, 'POST', '/patchNode', { body: { graphId: id, nodeId: 'a', fields: { label: 'late' }, expectedVersion: 1 }, headers: AUTH });
  assert.equal(r.status, 409);
  assert.deepEqual(Object.keys(r.json), ['error', 'currentVersion', 'expectedVersion']);
  assert.deepEqual(r.json, { error: 'Version mismatch. Reload the graph and retry the patch.', currentVersion: 2, expectedVersion: 1 });
  r = await call(srv, 'POST', '/patchNode', { body: { graphId: id, nodeId: 'a', fields: { label: 'x' }, expectedVersion: '2' }, headers: AUTH });
  assert.deepEqual([r.status, r.json], [400, { error: 'graphId, nodeId, fields (object), and expectedVersion (integer) are required.' }]);
  r = await call(srv, 'POST', '/patchNode', { body: { graphId: id, nodeId: 'q', fields: {}, expectedVersion: 2 }, headers: AUTH });
  assert.deepEqual([r.status, r.json], [404, { error: `Node q not found in graph ${id}.` }]);
  r = await call(srv, 'POST', '/patchNode', { raw: '{', headers: AUTH });
  assert.equal(r.status, 500);
});

test('other partial writes: patchGraphMetadata, addNode (Norwegian 409), addEdge, removeEdge, removeNode', async () => {
  const id = randomUUID();
  await save(srv, id, graph());
  const post = (path, body) => call(srv, 'POST', path, { body: { graphId: id, ...body }, headers: AUTH });
  let r = await post('/patchGraphMetadata', { fields: { title: 'New', createdBy: 'x', version: 99 }, expectedVersion: 1 });
  assert.deepEqual(r.json, { ok: true, graphId: id, newVersion: 2, updatedFields: ['title', 'createdBy', 'version'] });
  assert.equal(srv.state.graphs.get(id).data.metadata.version, 2);
  r = await post('/addNode', { node: { id: 'c' }, expectedVersion: 1 });
  assert.deepEqual([r.status, r.json], [409, { error: 'Grafen er endret siden den ble lest.', currentVersion: 2 }]);
  r = await post('/addNode', { node: { id: 'c' }, expectedVersion: '1' }); // non-integer → no check
  assert.deepEqual(r.json, { ok: true, graphId: id, nodeId: 'c', newVersion: 3 });
  assert.equal((await post('/addNode', { node: { id: 'c' } })).status, 409);
  r = await post('/addEdge', { edge: { id: 'mine', source: 'b', target: 'c' } });
  assert.deepEqual(r.json, { ok: true, graphId: id, edgeId: 'mine', newVersion: 4 });
  assert.equal((await post('/addEdge', { edge: { source: 'b', target: 'c' } })).json.error, `Edge b_c already exists in graph ${id}.`);
  r = await post('/removeEdge', { edgeId: 'nope' });
  assert.equal(r.status, 404);
  assert.deepEqual(r.json.edgeIdsInGraph, ['a_b', 'mine']);
  r = await post('/removeEdge', { source: 'a', target: 'b' });
  assert.equal(r.json.removedCount, 1);
  assert.equal(r.json.newVersion, 5);
  r = await post('/removeNode', { nodeId: 'c' });
  assert.deepEqual(r.json, { ok: true, graphId: id, nodeId: 'c', newVersion: 6 });
  assert.deepEqual(srv.state.graphs.get(id).data.edges, []);
  assert.deepEqual((await history(srv, id)).map((h) => h.version), [6, 5, 4, 3, 2, 1]);
  // Partial writes skip enrichGraphData: the added node has no defaults in storage.
  assert.equal((await call(srv, 'GET', `/getknowgraphversion?id=${id}&version=3`)).json.nodes[2].position, undefined);
});
