'use strict';
// Issue 27, item 7, with the packed tarball in the shared consumer install
// (support/consumers.js), as a program of the editor's would use it:
//   - the composable without a history server: a graph in, approvals out,
//     saving left to the caller, and every misuse a KgApprovalError with a
//     stable code;
//   - against the stand-in of the real service (support/real-service.js): a
//     session made for another service is refused at save (service_mismatch),
//     and a session opened through the client (client.openSession) keeps one
//     copy of an edge it added and edited after a conflict, and restores
//     without listing the service's reshaping as changes.
const test = require('node:test');
const assert = require('node:assert/strict');
const { randomUUID } = require('crypto');
const { consumerProject, run, runAsync, files, timings } = require('./support/consumers');
const { startRealService } = require('./support/real-service');

let project;
test.before(() => {
  project = consumerProject();
});
test.after(() => project?.cleanup());

const GRAPH = `{ metadata: { title: 'T', version: 4 }, nodes: [{ id: 'a', label: 'Alpha', info: 'old text' }, { id: 'b', label: 'Beta' }], edges: [] }`;

test('the composable without a history server: a graph in, approvals out, saving left to the caller; every misuse a KgApprovalError with a stable code', () => {
  const dir = project.dir('memory');
  files(dir, {
    'package.json': { name: 'memory-consumer', private: true, type: 'module' },
    'main.js': `import { effectScope } from 'vue';
import { KgApprovalError, saveBody, deltaBody } from 'kg-approval';
import { useApprovalSession } from 'kg-approval/vue';

/** The code of the KgApprovalError \`work\` throws (or rejects with). */
async function codeOf(work) {
  try {
    await work();
  } catch (e) {
    if (!(e instanceof KgApprovalError)) return \`not a KgApprovalError: \${e}\`;
    return e.code;
  }
  return 'no error';
}

let user = 'ann@example.com';
const kg = useApprovalSession({ user: () => user });   // no client: nothing is loaded or saved by the composable
const graph = ${GRAPH};
const codes = {
  proposeBeforeOpen: await codeOf(() => kg.propose({ nodes: [{ id: 'a', label: 'x' }] })),
  decideBeforeOpen: await codeOf(() => kg.decide('node/a/label', true)),
  approveBeforeOpen: await codeOf(() => kg.approve()),
  saveWithoutClient: await codeOf(() => kg.approveAndSave()),
  openWithoutGraph: await codeOf(() => kg.openGraph('g')),
  openWithoutId: await codeOf(() => kg.openGraph('', { graph })),
  historyWithoutClient: await codeOf(() => kg.loadHistory()),
  compareWithoutClient: await codeOf(() => kg.compareVersions(1, 2)),
};
await kg.openGraph('g', { graph });
codes.decideWithoutReview = await codeOf(() => kg.decide('node/a/label', true));
const review = kg.propose({ nodes: [{ id: 'a', label: 'Alpha 2', info: 'new text' }, { id: 'b', label: 'Beta 2' }] }, { source: 'ai', model: 'm' });
codes.approveUndecided = await codeOf(() => kg.approve());
kg.decideMany(kg.state.review.changes.map((c) => c.id), true, { filter: 'all' });
kg.decide('node/b/label', false);
user = null;
codes.approveSignedOut = await codeOf(() => kg.approve());
user = 'ann@example.com';
const approved = kg.approve('labels checked');
const body = JSON.parse(saveBody(approved));   // the caller saves it
const again = kg.propose({ nodes: [{ id: 'b', label: 'Beta 3' }] });
kg.decideMany(again.changes.map((c) => c.id), true);
const second = kg.approve();

const scope = effectScope();
const gone = scope.run(() => useApprovalSession({ user: 'ann@example.com' }));
await gone.openGraph('g', { graph });
scope.stop();
codes.afterUnmount = await codeOf(() => gone.propose({ nodes: [] }));
codes.badKg = await codeOf(() => useApprovalSession({ kg: {}, user: 'ann' }));

console.log(JSON.stringify({
  codes,
  changes: review.changes.map((c) => c.accepted),
  approved: { labels: approved.graph.nodes.map((n) => n.label), rejected: approved.audit.rejected, base: approved.audit.baseVersion, delta: Boolean(deltaBody(approved)) },
  body: { id: body.id, version: body.graphData.metadata.version, override: body.override },
  state: { graph: kg.state.graph.nodes.map((n) => n.label), review: kg.state.review, pending: kg.state.pending, save: kg.state.save.status },
  second: { old: again.changes[0].old, labels: second.graph.nodes.map((n) => n.label) },
}));
`,
  });
  const out = JSON.parse(run(process.execPath, ['main.js'], dir, 'node: the composable without a server'));
  assert.deepEqual(out.codes, {
    proposeBeforeOpen: 'no_graph',
    decideBeforeOpen: 'no_graph',
    approveBeforeOpen: 'no_graph',
    saveWithoutClient: 'no_client',
    openWithoutGraph: 'no_client',
    openWithoutId: 'invalid_argument',
    historyWithoutClient: 'no_client',
    compareWithoutClient: 'no_client',
    decideWithoutReview: 'no_pending_review',
    approveUndecided: 'undecided_changes',
    approveSignedOut: 'no_user',
    afterUnmount: 'disposed',
    badKg: 'invalid_argument',
  });
  assert.deepEqual(out.changes, [null, null, null], 'explicit decisions: nothing accepted for the reviewer');
  assert.deepEqual(out.approved, { labels: ['Alpha 2', 'Beta'], rejected: ['node/b/label'], base: 4, delta: true });
  assert.deepEqual(out.body, { id: 'g', version: 4, override: false });
  assert.deepEqual(out.state, { graph: ['Alpha 2', 'Beta 3'], review: null, pending: 0, save: 'idle' }, 'the composable goes on from the approved graph, holding nothing to send');
  assert.deepEqual(out.second, { old: 'Beta', labels: ['Alpha 2', 'Beta 3'] });
});

test("the real service: a session made without the service is refused at save (service_mismatch); one opened through the client keeps one copy of an edge edited after a conflict, and restores without the service's reshaping", async () => {
  const TOKEN = 'write-token-0001';
  const srv = await startRealService({ tokens: { [TOKEN]: { user: 'ann@example.com', scopes: ['graph:read', 'graph:write'] } }, classifierDelayMs: 5 });
  try {
    const graphId = randomUUID();
    const seed = { metadata: { title: 'Sessions' }, nodes: [{ id: 'a', label: 'A' }, { id: 'b', label: 'B' }, { id: 'c', label: 'C' }], edges: [] };
    const r = await fetch(`${srv.url}/saveGraphWithHistory`, { method: 'POST', headers: { 'X-API-Token': TOKEN }, body: JSON.stringify({ id: graphId, graphData: seed, override: false }) });
    assert.equal(r.status, 200, await r.text());
    const dir = project.dir('sessions');
    files(dir, {
      'package.json': { name: 'sessions-consumer', private: true, type: 'module' },
      'main.js': `import { ApprovalSession, HistoryClient, ConflictError } from 'kg-approval';
const [baseUrl, token, graphId] = process.argv.slice(2);
const user = 'ann@example.com';
const client = new HistoryClient({ baseUrl, token, retries: 1, retryDelayMs: 5, timeoutMs: 3000 });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const stored = async () => (await (await fetch(\`\${baseUrl}/getknowgraph?id=\${graphId}\`)).json());
await sleep(30); // the service's classifier writes its metadata after each save

// A session made the old way, without { service }: refused before anything is sent.
const plain = new ApprovalSession(await client.load(graphId), { graphId });
plain.propose({ edges: [{ id: 'mine', source: 'a', target: 'b', label: 'ab' }] });
const refused = await client.save(plain.approve({ user })).then(() => 'saved', (e) => ({ code: e.code, message: e.message }));

// Through the client: the session is made for the service it talks to.
const session = await client.openSession(graphId);
const added = session.propose({ edges: [{ id: 'mine', source: 'a', target: 'b', label: 'ab' }] });
const first = session.approve({ user });
session.markSaved(first.audit.approvalId, (await client.save(first)).newVersion);
session.propose({ edges: [{ id: 'a_b', label: 'ab, relabelled' }] });
const ours = session.approve({ user });
// Another editor saves first (as the editor posts: the whole graph).
const theirs = await stored();
theirs.nodes[2].label = 'C by bob';
await fetch(\`\${baseUrl}/saveGraphWithHistory\`, { method: 'POST', headers: { 'X-API-Token': token }, body: JSON.stringify({ id: graphId, graphData: theirs, override: false }) });
const conflict = await client.save(ours).then(() => 'saved', (e) => e instanceof ConflictError);
const rebased = session.rebase(await client.load(graphId));
const merged = session.approve({ user });
session.markSaved(merged.audit.approvalId, (await client.save(merged)).newVersion);
await sleep(30);
const edges = (await stored()).edges.map((e) => \`\${e.id}:\${e.label}\`);
// Restoring version 1 lists what differs for a reader, not the service's read shapes or classifier.
const restore = session.revertTo(await client.version(graphId, 1));
const again = await client.openSession(graphId, { version: 1 });
console.log(JSON.stringify({
  refused,
  added: added.changes.map((c) => c.id),
  conflict,
  rebased: rebased.changes.map((c) => c.id),
  edges,
  restore: restore.changes.map((c) => c.id),
  version1: again.baseVersion,
}));
`,
    });
    const out = JSON.parse(await runAsync(process.execPath, ['main.js', srv.url, TOKEN, graphId], dir, 'node: sessions against the real service'));
    assert.equal(out.refused.code, 'service_mismatch');
    assert.match(out.refused.message, /made for the 'faithful' service, but the server is 'knowledge-graph-worker': open sessions with client\.openSession\(graphId\)/);
    assert.deepEqual(out.added, ['edge/a_b'], 'reviewed under the id the service stores');
    assert.equal(out.conflict, true);
    assert.deepEqual(out.rebased, ['edge/a_b/label']);
    assert.deepEqual(out.edges, ['a_b:ab, relabelled'], 'one a→b edge, with our label');
    assert.deepEqual(out.restore, ['node/c/label', 'edge/a_b'], "version 1's differences only");
    assert.equal(out.version1, 1);
    const posts = srv.state.requests.filter((q) => q.method === 'POST' && q.path === '/saveGraphWithHistory').length;
    assert.equal(posts, 1 + 4, 'the seed and the four saves of the program (the refused one never sent)');
  } finally {
    await srv.close();
  }
});

test('timings', (t) => {
  t.diagnostic(`timings (ms): ${JSON.stringify(timings)}`);
});
