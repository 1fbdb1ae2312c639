'use strict';
// A stand-in for the real knowledge-graph HTTP service (vegvisr `knowledge-graph-worker`,
// dev-worker/index.js + graph-service.js @ 3e171df1), written from the behaviour notes in
// /tmp/work-notes/realservice.md and /work/shared/CONTRACT.md ("Newer facts"). It keeps the
// real service's quirks on purpose: tests of kg-approval run against it to prove the module
// copes with what the real worker does, not with what it ought to do.
//
// The D1 tables become in-memory state: `graphs` (knowledge_graphs) and `history`
// (knowledge_graph_history). Each "query" awaits `db()`, so requests interleave like they do
// against D1 (nothing is serialised; two saves on one base can get the same version).
const http = require('http');
const crypto = require('crypto');

const TRUSTED_ORIGINS = [
  'https://www.vegvisr.org', 'https://vegvisr.org', 'https://hello.vegvisr.org',
  'https://dashboard.vegvisr.org', 'https://mystmkra.io', 'https://www.mystmkra.io',
];
// The newest Access-Control-Allow-Headers list (note: no Idempotency-Key / If-Match).
const ALLOW_HEADERS = 'Content-Type, Authorization, x-user-role, x-user-id, x-user-email, x-plugin-authenticated, X-API-Token, X-Session-Token, X-Email, Accept, Origin, Cache-Control';
const UUID_V4_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
// Workers give a string body `text/plain;charset=UTF-8` when no Content-Type is set [inferred].
const TEXT = 'text/plain;charset=UTF-8';
const JSON_TYPE = 'application/json';

const clone = (v) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));
const nowIso = () => new Date().toISOString();
// SQLite CURRENT_TIMESTAMP text: 'YYYY-MM-DD HH:MM:SS', UTC.
const sqliteNow = () => nowIso().replace('T', ' ').slice(0, 19);
// A header counts only when it is not missing, 'null', 'undefined' or blank (validateAuth).
const present = (v) => typeof v === 'string' && v.trim() !== '' && v !== 'null' && v !== 'undefined';
const hasScope = (scopes, s) => scopes.includes('all') || scopes.includes(s);
const sha256 = (s) => crypto.createHash('sha256').update(s).digest('hex');

// SQLite's CAST(x AS INTEGER) of a json_extract result (used by the patch routes' guard).
// COALESCE(..., 0); text keeps its leading integer ("1.0" → 1); objects → 0.
function castInt(v) {
  if (typeof v === 'boolean' || typeof v === 'number') return Math.trunc(Number(v));
  const m = typeof v === 'string' && v.trim().match(/^[+-]?\d+/);
  return m ? Number(m[0]) : 0;
}
// `version = ?` bound as a string against an INTEGER column: SQLite converts well-formed
// numeric text ("3", "03", "3.0") to a number, anything else never matches [inferred].
function sqliteNumber(text) {
  return /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/.test(text) ? Number(text) : NaN;
}

// graph-service enrichGraphData: what /saveGraphWithHistory stores.
function enrichGraphData(graphData) {
  return {
    ...graphData,
    nodes: graphData.nodes.map((node) => ({
      ...node,
      bibl: Array.isArray(node.bibl) ? node.bibl : [],
      type: node.type || null, // falsy ('' / 0) → null
      info: node.info || null,
      position: node.position || { x: 0, y: 0 },
      imageWidth: node.imageWidth || null,
      imageHeight: node.imageHeight || null,
      visible: node.visible !== false, // only boolean false stays hidden
      path: node.path || null,
    })),
    // Every edge field kept, but the id is always rewritten (from/to → 'undefined_undefined').
    edges: graphData.edges.map((edge) => ({ ...edge, id: `${edge.source}_${edge.target}`, source: edge.source, target: edge.target })),
  };
}

// sanitizeGraphData's sanitize(): drop null-valued keys recursively in plain objects; arrays untouched.
function stripNulls(v) {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
  const out = {};
  for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = stripNulls(x);
  return out;
}

// GET /getknowgraph shape (sanitizeGraphData, then getGraph's edge-id rewrite).
function shapeCurrent(data) {
  const nodes = data.nodes.map((raw) => {
    const n = stripNulls(raw);
    return { ...n, visible: n.visible !== false, position: n.position || { x: 0, y: 0 },
      imageWidth: n.imageWidth || null, imageHeight: n.imageHeight || null, path: n.path || null };
  });
  const edges = data.edges.map((raw) => {
    const e = stripNulls(raw);
    const reduced = { id: e.id || `${e.source}_${e.target}`, source: e.source, target: e.target,
      ...(e.label !== undefined && { label: e.label }), ...(e.type !== undefined && { type: e.type }),
      ...(e.info !== undefined && { info: e.info }) };
    return { ...reduced, id: `${reduced.source}_${reduced.target}`, source: reduced.source, target: reduced.target };
  });
  return { ...data, nodes, edges }; // top-level metadata is NOT sanitised
}

// GET /getknowgraphversion shape: node defaults without `position`, no null stripping, all edge fields.
function shapeVersion(data) {
  return {
    ...data,
    nodes: data.nodes.map((n) => ({ ...n, visible: n.visible !== false, imageWidth: n.imageWidth || null,
      imageHeight: n.imageHeight || null, path: n.path || null })),
    edges: data.edges.map((e) => ({ ...e, id: `${e.source}_${e.target}`, source: e.source, target: e.target })),
  };
}

function startRealService(options = {}) {
  // api_tokens is keyed by sha256(token), the config table by the raw session token. Maps
  // (not object lookups) so that a token like 'constructor' cannot match a prototype key.
  const tokens = new Map(Object.entries(options.tokens || {}).map(([t, v]) => [sha256(t), v]));
  const sessions = new Map(Object.entries(options.sessions || {}));
  const classifierDelayMs = options.classifierDelayMs === undefined ? 20 : options.classifierDelayMs; // null/false: off
  const historyCap = options.historyCap ?? 20;
  const trustedOrigins = options.trustedOrigins || TRUSTED_ORIGINS;
  const dbLatencyMs = options.dbLatencyMs || 0;
  const classifierCategory = options.classifierCategory || 'OTHER';

  // graphs: id → {data, created_date, updated_at}; history rows: {graph_id, version, data, timestamp, user_id, source_app}.
  const state = { graphs: new Map(), history: [], requests: [], classifierRuns: [] };
  const timers = new Set();
  const db = () => new Promise((r) => (dbLatencyMs ? setTimeout(r, dbLatencyMs) : setImmediate(r)));

  // --- "SQL" --------------------------------------------------------------------------
  const maxVersion = (id) => state.history.reduce((m, r) => (r.graph_id === id && r.version > m ? r.version : m), 0);
  function insertHistory(id, version, data) {
    const md = (data && data.metadata) || {};
    state.history.push({ graph_id: id, version, data: clone(data), timestamp: sqliteNow(),
      user_id: md.userId ?? null, source_app: md.createdBy ?? null });
    // trimHistory: when count > cap, delete every row with the MIN version (one per write).
    const rows = state.history.filter((r) => r.graph_id === id);
    if (rows.length > historyCap) {
      const min = Math.min(...rows.map((r) => r.version));
      const kept = state.history.filter((r) => !(r.graph_id === id && r.version === min));
      state.history.splice(0, state.history.length, ...kept); // in place: tests may hold the array
    }
  }
  function writeGraph(id, data) { // UPDATE (updated_at = now) or INSERT (created_date = updated_at = now)
    const row = state.graphs.get(id);
    if (row) Object.assign(row, { data: clone(data), updated_at: nowIso() });
    else state.graphs.set(id, { data: clone(data), created_date: nowIso(), updated_at: nowIso() });
  }

  // --- validateAuth (order as in index.js; service binding / plugin proxy cannot be forged) --
  async function validateAuth(req) {
    const h = req.headers;
    const apiToken = h['x-api-token'];
    if (present(apiToken)) {
      await db();
      const t = tokens.get(sha256(apiToken));
      if (t) {
        if (t.active === false) return { valid: false, status: 401, error: 'API token is inactive' };
        if (t.expiresAt && Date.parse(t.expiresAt) < Date.now()) return { valid: false, status: 401, error: 'API token has expired' };
        return { valid: true, scopes: t.scopes || [], user: t.user, authMethod: 'api_token' };
      }
      const s = sessions.get(apiToken); // magic-link session token sent as X-API-Token
      if (s) return { valid: true, scopes: ['all'], user: s.email, role: s.role, authMethod: 'session_token' };
      return { valid: false, status: 401, error: 'Invalid API token' }; // no fallback to Origin ("F2 FIX")
    }
    if (h['x-user-role']) { // its value is ignored, but it gates the session branch
      const st = h['x-session-token'];
      if (!present(st)) return { valid: false, status: 401, error: 'Session authentication requires a session token (X-Session-Token) — a role header alone is not sufficient. Log in again to obtain one.' };
      await db();
      const s = sessions.get(st);
      if (!s) return { valid: false, status: 401, error: 'Invalid or expired session token.' };
      return { valid: true, scopes: ['all'], user: s.email, role: s.role, authMethod: 'session' }; // role/email from the row
    }
    if (trustedOrigins.includes(h.origin)) return { valid: true, scopes: ['graph:read'], authMethod: 'origin' };
    return { valid: false, status: 401, error: 'Authentication required. Provide X-API-Token header or log in.' };
  }

  // --- route handlers: each returns [status, body, contentType] ---------------------------
  const fail = (status, body) => [status, body, TEXT]; // errors carry no JSON content type
  const ok = (body) => [200, body, TEXT]; // write successes neither
  const okJson = (body) => [200, body, JSON_TYPE]; // successful GETs are application/json

  async function saveGraphWithHistory(body) {
    const { id, graphData, override: rawOverride } = body; // JSON null → TypeError → 500
    if (!id || !graphData) return fail(400, { error: 'Graph ID and graph data are required.' });
    const override = Boolean(rawOverride); // the string "false" overrides
    const key = String(id);
    await db();
    const graphExists = state.graphs.has(key);
    if (!graphExists && !UUID_V4_RE.test(key)) {
      return fail(400, { error: 'New graph IDs must be a valid UUID v4. Existing graphs with non-UUID ids may still update at their current id.',
        expected: 'UUID v4 (e.g., 550e8400-e29b-41d4-a716-446655440000)', received: id });
    }
    await db();
    const current = maxVersion(key);
    let newVersion;
    if (!graphExists && current === 0) {
      newVersion = 1; // new graph: the sent version is not checked at all
    } else {
      // Strict !==; an absent metadata object skips the check; a missing version (undefined) fails it.
      if (!override && graphData.metadata && graphData.metadata.version !== current) {
        return fail(409, { error: 'Version mismatch. Please reload the latest version of the graph.', currentVersion: current });
      }
      newVersion = current + 1; // MAX(history)+1, even with override
    }
    if (!graphData.metadata) graphData.metadata = { title: null, description: null, createdBy: null }; // throws on a primitive → 500
    graphData.metadata.version = newVersion;
    if (!Array.isArray(graphData.nodes)) graphData.nodes = [];
    if (!Array.isArray(graphData.edges)) graphData.edges = [];
    const enriched = enrichGraphData(graphData); // the body's `audit` (or anything else) is just stored/ignored
    await db();
    writeGraph(key, enriched);
    await db();
    insertHistory(key, newVersion, enriched); // no unique (graph_id, version), no idempotency
    scheduleClassifier(key);
    return ok({ message: 'Graph with history saved successfully', id, newVersion });
  }

  // classifyAndStore via ctx.waitUntil: re-reads the CURRENT data, sets semantic metadata and
  // writes it back with no version bump, no history row, no updated_at and no guard.
  function scheduleClassifier(id) {
    if (classifierDelayMs === null || classifierDelayMs === false) return;
    const timer = setTimeout(async () => {
      timers.delete(timer);
      const row = state.graphs.get(id);
      const data = row && clone(row.data);
      await db(); // gap between SELECT and UPDATE: a write landing here is undone
      if (!data || typeof data !== 'object') return;
      data.metadata = { ...(data.metadata || {}), semanticPrimary: classifierCategory, semanticSecondary: [],
        semanticConfidence: 0.7, classifiedAt: nowIso() };
      const live = state.graphs.get(id);
      if (!live) return;
      live.data = data;
      state.classifierRuns.push({ graphId: id, at: data.metadata.classifiedAt });
    }, classifierDelayMs);
    timers.add(timer);
  }

  async function getknowgraph(req, q) {
    // Optional auth: validated only when X-API-Token is sent.
    if (req.headers['x-api-token']) {
      const auth = await validateAuth(req);
      if (!auth.valid) return fail(auth.status, { error: auth.error });
      if (!hasScope(auth.scopes, 'graph:read')) return fail(403, { error: 'Insufficient permissions. Required scope: graph:read' });
    }
    const id = q.get('id');
    if (!id) return fail(400, { error: 'Graph ID is required.' });
    await db();
    const row = state.graphs.get(id);
    if (!row) return fail(404, { error: 'Graph not found.' });
    const data = clone(row.data);
    if (!data || !Array.isArray(data.nodes) || !Array.isArray(data.edges)) throw new Error('Invalid graph data structure');
    const shaped = shapeCurrent(data);
    // Filters: nodeId (exact String(id)) / nodeTitle (case-insensitive substring); edges need both ends.
    const [nodeId, title] = [q.get('nodeId'), q.get('nodeTitle')];
    if (nodeId || title) {
      shaped.nodes = shaped.nodes.filter((n) => (nodeId ? String(n.id) === nodeId
        : String(n.label || n.title || n.name || '').toLowerCase().includes(title.toLowerCase())));
      const ids = new Set(shaped.nodes.map((n) => n.id));
      shaped.edges = shaped.edges.filter((e) => ids.has(e.source) && ids.has(e.target));
    }
    return okJson({ ...shaped, created_date: row.created_date, updated_at: row.updated_at });
  }

  async function getknowgraphhistory(q) {
    const id = q.get('id');
    if (!id) return fail(400, { error: 'Graph ID is required.' });
    const results = state.history.filter((r) => r.graph_id === id)
      .sort((a, b) => b.version - a.version).map((r) => ({ version: r.version, timestamp: r.timestamp }));
    // The D1 envelope; an unknown graph is 200 with results [] (the 404 branch is dead code).
    return okJson({ graphId: id, history: { results, success: true, meta: {} } });
  }

  async function getknowgraphversion(q) {
    const [id, version] = [q.get('id'), q.get('version')];
    if (!id || !version) return fail(400, { error: 'Graph ID and version are required.' });
    await db();
    const wanted = sqliteNumber(version);
    const row = state.history.find((r) => r.graph_id === id && r.version === wanted); // .first(): oldest row
    if (!row) return fail(404, { error: `No data found for graph ID: ${id} and version: ${version}.` });
    const data = clone(row.data);
    if (!data || !Array.isArray(data.nodes) || !Array.isArray(data.edges)) throw new Error('Invalid graph data structure');
    return okJson(shapeVersion(data));
  }

  // Shared tail of the partial writes: metadata.version, graph row, one history row. No
  // enrichGraphData and no classifier — the JSON is stored as edited.
  async function commitPartial(id, data, newVersion) {
    data.metadata = data.metadata || {}; // [guess] the notes do not say what a missing metadata does
    data.metadata.version = newVersion;
    await db();
    writeGraph(id, data);
    await db();
    insertHistory(id, newVersion, data);
  }
  async function loadGraph(id) {
    await db();
    const row = state.graphs.get(String(id));
    return row ? clone(row.data) : null;
  }

  // /patchNode and /patchGraphMetadata: version read from data.metadata.version, required
  // integer expectedVersion, then a conditional UPDATE on the stored version.
  async function patch(body, withNode) {
    const { graphId, nodeId, fields, expectedVersion } = body;
    if (!graphId || (withNode && !nodeId) || !fields || typeof fields !== 'object' || !Number.isInteger(expectedVersion)) {
      return fail(400, { error: withNode ? 'graphId, nodeId, fields (object), and expectedVersion (integer) are required.'
        : 'graphId, fields (object), and expectedVersion (integer) are required.' });
    }
    const data = await loadGraph(graphId);
    if (!data) return fail(404, { error: 'Graph not found.' });
    const idx = withNode ? data.nodes.findIndex((n) => n.id === nodeId) : -1;
    if (withNode && idx === -1) return fail(404, { error: `Node ${nodeId} not found in graph ${graphId}.` });
    const current = Number((data.metadata && data.metadata.version) || 0); // "1.0" counts as 1
    if (current !== expectedVersion) {
      return fail(409, { error: 'Version mismatch. Reload the graph and retry the patch.', currentVersion: current, expectedVersion });
    }
    if (withNode) {
      const { id: _ignoreId, ...safeFields } = fields; // shallow; id cannot change; null is written
      Object.assign(data.nodes[idx], safeFields);
    } else {
      data.metadata = data.metadata || {};
      Object.assign(data.metadata, fields); // every field accepted; version overwritten below
    }
    await db();
    const stored = state.graphs.get(String(graphId));
    const storedVersion = castInt(stored && stored.data && stored.data.metadata && stored.data.metadata.version);
    if (!stored || storedVersion !== expectedVersion) {
      return fail(409, { error: 'Version mismatch. Graph was updated by another request.',
        currentVersion: Number((stored && stored.data.metadata && stored.data.metadata.version) || 0), expectedVersion });
    }
    const newVersion = current + 1;
    await commitPartial(String(graphId), data, newVersion);
    return withNode ? ok({ ok: true, graphId, nodeId, newVersion })
      : ok({ ok: true, graphId, newVersion, updatedFields: Object.keys(fields) });
  }

  async function addNode(body) {
    const { graphId, node, expectedVersion } = body;
    if (!graphId || !node || typeof node !== 'object' || !node.id) return fail(400, { error: 'graphId and node (with id) are required.' });
    const data = await loadGraph(graphId);
    if (!data) return fail(404, { error: 'Graph not found.' });
    const current = maxVersion(String(graphId)); // MAX(history), unlike /patchNode
    const expected = Number.isInteger(expectedVersion) ? expectedVersion : null; // non-integer = no check
    if (expected !== null && expected !== current) return fail(409, { error: 'Grafen er endret siden den ble lest.', currentVersion: current });
    if (data.nodes.some((n) => n.id === node.id)) return fail(409, { error: `Node with id ${node.id} already exists in graph ${graphId}.` });
    data.nodes.push(node); // pushed as sent, no defaults
    await commitPartial(String(graphId), data, current + 1);
    return ok({ ok: true, graphId, nodeId: node.id, newVersion: current + 1 });
  }

  async function addEdge(body) {
    const { graphId, edge } = body;
    if (!graphId || !edge || !edge.source || !edge.target) return fail(400, { error: 'graphId and edge (with source and target) are required.' });
    const data = await loadGraph(graphId);
    if (!data) return fail(404, { error: 'Graph not found.' });
    const ids = new Set(data.nodes.map((n) => n.id));
    if (!ids.has(edge.source) || !ids.has(edge.target)) return fail(404, { error: 'Both edge.source and edge.target must reference existing nodes.' });
    const edgeId = edge.id || `${edge.source}_${edge.target}`; // a custom id is stored (reads rewrite it)
    if (data.edges.some((e) => e.id === edgeId || (e.source === edge.source && e.target === edge.target))) {
      return fail(409, { error: `Edge ${edgeId} already exists in graph ${graphId}.` });
    }
    data.edges.push({ ...edge, id: edgeId });
    const newVersion = maxVersion(String(graphId)) + 1;
    await commitPartial(String(graphId), data, newVersion);
    return ok({ ok: true, graphId, edgeId, newVersion });
  }

  async function removeEdge(body) {
    const { graphId, edgeId, source, target } = body;
    const byId = edgeId !== undefined && edgeId !== null && String(edgeId) !== ''; // wins over the pair
    if (!graphId || (!byId && !(source && target))) return fail(400, { error: 'graphId and either edgeId or both source and target are required.' });
    const data = await loadGraph(graphId);
    if (!data) return fail(404, { error: 'Graph not found.' });
    const hit = (e) => (byId ? String(e.id) === String(edgeId) : String(e.source) === String(source) && String(e.target) === String(target));
    const removedEdges = data.edges.filter(hit);
    if (removedEdges.length === 0) {
      return fail(404, { error: byId ? `No edge with id "${edgeId}" in graph ${graphId}.` : `No edge ${source} -> ${target} in graph ${graphId}.`,
        edgeIdsInGraph: data.edges.map((e) => e.id) });
    }
    data.edges = data.edges.filter((e) => !hit(e)); // removes all matches
    const newVersion = maxVersion(String(graphId)) + 1;
    await commitPartial(String(graphId), data, newVersion);
    return ok({ ok: true, graphId, removedCount: removedEdges.length, removedEdges, newVersion });
  }

  async function removeNode(body) {
    const { graphId, nodeId, removeEdges = true } = body;
    if (!graphId || !nodeId) return fail(400, { error: 'graphId and nodeId are required.' });
    const data = await loadGraph(graphId);
    if (!data) return fail(404, { error: 'Graph not found.' });
    if (!data.nodes.some((n) => n.id === nodeId)) return fail(404, { error: `Node ${nodeId} not found in graph ${graphId}.` });
    data.nodes = data.nodes.filter((n) => n.id !== nodeId);
    if (removeEdges) data.edges = data.edges.filter((e) => ![e.source, e.target, e.from, e.to].includes(nodeId));
    const newVersion = maxVersion(String(graphId)) + 1;
    await commitPartial(String(graphId), data, newVersion);
    return ok({ ok: true, graphId, nodeId, newVersion });
  }

  // /updateknowgraph: NO auth, overwrites data without history or version (never use).
  async function updateknowgraph(body) {
    const { id, graphData } = body;
    if (!id || !graphData) return fail(400, { error: 'Graph ID and graph data are required.' });
    await db();
    const row = state.graphs.get(String(id));
    if (row) row.data = clone(graphData); // UPDATE … WHERE id = ? (0 rows changed is still 200)
    return ok({ message: 'Graph updated successfully', id });
  }

  // Write routes: validateAuth + graph:write BEFORE the body is parsed; malformed JSON → 500.
  const WRITES = {
    '/saveGraphWithHistory': saveGraphWithHistory,
    '/patchNode': (b) => patch(b, true),
    '/patchGraphMetadata': (b) => patch(b, false),
    '/addNode': addNode, '/addEdge': addEdge, '/removeEdge': removeEdge, '/removeNode': removeNode,
  };

  async function route(req, url, raw) {
    const p = url.pathname;
    if (req.method === 'GET' && p === '/getknowgraph') return getknowgraph(req, url.searchParams);
    if (req.method === 'GET' && p === '/getknowgraphhistory') return getknowgraphhistory(url.searchParams);
    if (req.method === 'GET' && p === '/getknowgraphversion') return getknowgraphversion(url.searchParams);
    if (req.method === 'POST' && p === '/updateknowgraph') return updateknowgraph(JSON.parse(raw));
    if (req.method === 'POST' && Object.prototype.hasOwnProperty.call(WRITES, p)) {
      const auth = await validateAuth(req);
      if (!auth.valid) return fail(auth.status, { error: auth.error });
      if (!hasScope(auth.scopes, 'graph:write')) return fail(403, { error: 'Insufficient permissions. Required scope: graph:write' });
      return WRITES[p](JSON.parse(raw));
    }
    // Unknown route or wrong method: the only error with a JSON content type.
    return [404, { success: false, message: 'Not found.', pathname: p }, JSON_TYPE];
  }

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const url = new URL(req.url, 'http://127.0.0.1');
      state.requests.push({ method: req.method, path: url.pathname, url: req.url, headers: { ...req.headers } });
      // corsHeaders on every restHandler response: Origin echoed (or '*') with credentials,
      // no Vary, no Expose-Headers.
      const cors = {
        'Access-Control-Allow-Origin': req.headers.origin || '*',
        'Access-Control-Allow-Methods': 'GET, POST, DELETE, OPTIONS',
        'Access-Control-Allow-Headers': ALLOW_HEADERS,
        'Access-Control-Allow-Credentials': 'true',
        'Access-Control-Max-Age': '86400',
      };
      // OPTIONS on any path: 204, empty body, before routing and auth.
      if (req.method === 'OPTIONS') { res.writeHead(204, cors); res.end(); return; }
      let result;
      try {
        result = await route(req, url, Buffer.concat(chunks).toString('utf8'));
      } catch (e) {
        result = fail(500, { error: 'Server error', details: e.message }); // per-route / outer catch
      }
      const [status, body, type] = result;
      const text = JSON.stringify(body);
      res.writeHead(status, { ...cors, 'Content-Type': type, 'Content-Length': Buffer.byteLength(text) });
      res.end(req.method === 'HEAD' ? undefined : text);
    });
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolve({
        url: `http://127.0.0.1:${port}`,
        port,
        state,
        close: () => new Promise((done) => {
          for (const t of timers) clearTimeout(t);
          timers.clear();
          server.close(() => done());
          server.closeAllConnections();
        }),
      });
    });
  });
}

module.exports = { startRealService, TRUSTED_ORIGINS, ALLOW_HEADERS };
