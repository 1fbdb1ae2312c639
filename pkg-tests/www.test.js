'use strict';
// The www/ app in Debian's Chromium, served by the real history server
// (--www www/dist), seeded with generated graphs: the whole approve-and-save
// flow as a reviewer does it, plus XSS, conflict, failed save, restore.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { kg, repo } = require('./support/kg');
const { TOKENS, USERS } = require('./support/server');
const { startApp, openApp: openPage, approveRest } = require('./support/app');
const { generateGraph } = require('./support/generate');

const SHOTS = path.join(repo, 'test-output', 'screenshots');
const XSS = '<img src=x onerror="window.__pwned=1;alert(1)"><script>window.__pwned=2</script>';

let app;
let server;
let chromium;
test.before(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  const graphs = {
    'flow.json': { ...generateGraph(12, { seed: 4, infoBytes: [300, 900], htmlEvery: 0, hiddenEvery: 7 }), metadata: { title: 'Flow graph', version: 1 } },
    'conflict.json': { ...generateGraph(6, { seed: 5, infoBytes: [100, 300], htmlEvery: 0 }), metadata: { title: 'Conflict graph' } },
    'retry.json': { ...generateGraph(6, { seed: 6, infoBytes: [100, 300], htmlEvery: 0 }), metadata: { title: 'Retry graph' } },
    'restore.json': { ...generateGraph(6, { seed: 7, infoBytes: [100, 300], htmlEvery: 0 }), metadata: { title: 'Restore graph' } },
    'provenance.json': { ...generateGraph(4, { seed: 8, infoBytes: [100, 200], htmlEvery: 0, hiddenEvery: 0 }), metadata: { title: 'Provenance graph', version: 1 } },
    'xss.json': { metadata: { title: 'XSS graph' }, nodes: [{ id: 'x', label: 'Hostile <b>label</b>', type: 'fulltext', info: XSS, position: { x: 0, y: 0 } }], edges: [] },
  };
  app = await startApp(graphs);
  ({ server, chromium } = app);
});
test.after(() => app?.close());

const api = () => new kg.HistoryClient({ baseUrl: server.url, token: TOKENS.bob, retries: 1, retryDelayMs: 5 });

/** A page signed in as Ann with the graph titled `title` open. */
async function openApp(title, viewport = { width: 1280, height: 800 }) {
  const id = await app.graphId(title);
  const opened = await openPage(chromium.browser, { origin: server.url, graphId: id, token: TOKENS.ann, viewport });
  return { ...opened, id };
}

async function proposeJson(page, proposal) {
  await page.fill('[data-test=proposal-json]', JSON.stringify(proposal, null, 2));
  await page.click('[data-test=review]');
  await page.waitForSelector('[role=dialog]');
}

const saved = (page, version) => page.waitForSelector(`[data-test=save-status]:has-text("Saved as version ${version}")`, { timeout: 15000 });

test('the full flow: every changed node in the modal, one field rejected, approved with a reason, saved, in the history', async () => {
  const { page, id, problems } = await openApp('Flow graph');
  const graph = await api().load(id);
  const [a, b, c] = graph.nodes.filter((n) => n.visible !== false);
  const hidden = graph.nodes.find((n) => n.visible === false);
  assert.ok(await page.$(`tr.hidden[data-node="${hidden.id}"]`), 'hidden nodes are listed, as hidden');

  await proposeJson(page, { nodes: [{ id: a.id, label: 'A renamed' }, { id: b.id, label: 'B renamed', info: `${b.info} One more sentence.` }, { id: c.id, position: { x: 5, y: 5 } }] });
  const listed = await page.$$eval('[data-change]', (els) => els.map((e) => e.dataset.change));
  assert.deepEqual(listed, [`node/${a.id}/label`, `node/${b.id}/label`, `node/${b.id}/info`, `node/${c.id}/position`]);
  assert.match(await page.textContent('[data-test=summary]'), /3 nodes changed — 4 field changes/);
  assert.ok(await page.$(`[data-change="node/${b.id}/info"] ins`), 'the long text shows an inline diff');
  await page.screenshot({ path: path.join(SHOTS, 'modal.png') });

  await page.check(`[data-reject="node/${b.id}/info"]`);
  await page.fill('.reason input', 'labels and layout only');
  await approveRest(page);
  await saved(page, 2);

  const stored = await api().version(id, 2);
  const byId = new Map(stored.nodes.map((n) => [n.id, n]));
  assert.equal(byId.get(a.id).label, 'A renamed');
  assert.equal(byId.get(b.id).label, 'B renamed');
  assert.equal(byId.get(b.id).info, b.info, 'the rejected field is unchanged');
  for (const n of graph.nodes) {
    const changed = [a.id, b.id, c.id].includes(n.id);
    assert.equal(byId.get(n.id).updatedBy, changed ? USERS.ann : n.updatedBy, `stamps only on changed nodes (${n.id})`);
  }

  await page.click('[data-test=history-tab]');
  const row = await page.waitForSelector('tr[data-version="2"]');
  const text = await row.textContent();
  assert.ok(text.includes(USERS.ann) && text.includes('labels and layout only'), text);
  await page.check('[aria-label="compare from v1"]');
  await page.check('[aria-label="compare to v2"]');
  await page.click('[data-test=compare]');
  await page.waitForSelector(`.version-diff [data-change="node/${a.id}/label"]`);
  await page.screenshot({ path: path.join(SHOTS, 'history.png') });
  assert.deepEqual(problems, []);
  await page.close();
});

test('graph content is text: an XSS payload in info renders as text, runs nothing, injects nothing', async () => {
  const { page, problems } = await openApp('XSS graph');
  await proposeJson(page, { nodes: [{ id: 'x', info: `${XSS} <svg onload="window.__pwned=3">` }] });
  const modal = await page.$('[role=dialog]');
  assert.equal(await modal.$$eval('img, script, svg, b', (els) => els.length), 0, 'no element made from graph content');
  assert.ok((await modal.textContent()).includes('<img src=x onerror='), 'the payload shows as text');
  assert.ok((await page.textContent('table.node-list')).includes('Hostile <b>label</b>'));
  await page.keyboard.press('Escape');
  await page.waitForSelector('[role=dialog]', { state: 'detached' });
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.deepEqual(problems, []);
  await page.close();
});

test("the proposal's provenance is shown to the reviewer as text, and saved nowhere in the graph", async () => {
  const { page, id, problems } = await openApp('Provenance graph');
  const graph = await api().load(id);
  const [a, b] = graph.nodes;
  await proposeJson(page, {
    model: '<img src=x onerror="window.__pwned=4">',
    modelVersion: '2026-01',
    confidence: 0.8,
    ruleId: 'tidy-labels',
    nodes: [{ id: a.id, label: 'A told', confidence: 0.655, ruleId: '<b>r7</b>' }, { id: b.id, label: 'B plain' }],
  });
  const told = (key) => page.textContent(`[data-test=provenance] [data-provenance=${key}] dd`);
  assert.equal(await told('model'), '<img src=x onerror="window.__pwned=4"> (2026-01)');
  assert.equal(await told('confidence'), '80%');
  assert.equal(await told('rule'), 'tidy-labels');
  const node = (group) => page.$(`[data-group="node:${group}"] [data-test=node-provenance]`);
  const part = async (key) => (await (await node(a.id)).$eval(`[data-provenance=${key}]`, (e) => e.textContent)).replace(/\s+/g, ' ').trim();
  assert.deepEqual([await part('confidence'), await part('rule')], ['confidence 65.5%', 'rule <b>r7</b>']);
  assert.equal(await node(b.id), null, 'a patch without provenance shows none');
  assert.equal(await page.$$eval('[role=dialog] img, [role=dialog] b', (els) => els.length), 0, 'provenance is text, never markup');
  await page.screenshot({ path: path.join(SHOTS, 'modal-provenance.png') });

  await approveRest(page);
  await saved(page, 2);
  const stored = await api().version(id, 2);
  const byId = new Map(stored.nodes.map((n) => [n.id, n]));
  assert.equal(byId.get(a.id).label, 'A told');
  for (const n of stored.nodes) assert.ok(!('confidence' in n) && !('ruleId' in n), `no provenance in node ${n.id}`);
  assert.ok(!('confidence' in stored) && !('ruleId' in (stored.metadata ?? {})));
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.deepEqual(problems, []);
  await page.close();
});

test('a conflict: someone saves first, the reviewer decides the rebased change, and saves', async () => {
  const { page, id, problems } = await openApp('Conflict graph');
  const graph = await api().load(id);
  const target = graph.nodes[0];
  // Bob saves version 2 with a different label while Ann reviews.
  const bob = new kg.ApprovalSession(graph, { graphId: id });
  bob.propose({ nodes: [{ id: target.id, label: 'Bob label' }] });
  await api().save(bob.approve({ user: USERS.bob }));

  await proposeJson(page, { nodes: [{ id: target.id, label: 'Ann label' }] });
  await approveRest(page);
  await page.waitForSelector('[data-test=save-status]:has-text("Someone else saved version 2 first")');
  await page.waitForSelector(`[role=dialog] [data-change="node/${target.id}/label"].conflict`);
  assert.equal(await page.isDisabled('button:has-text("Approve & Save")'), true, 'a conflict must be decided first');
  // Nothing is chosen for the reviewer: two buttons, neither pressed.
  assert.equal(await page.$(`[data-change="node/${target.id}/label"] [data-accept], [data-change="node/${target.id}/label"] [aria-pressed=true]`), null, 'nothing chosen beforehand');
  await page.click(`[data-change="node/${target.id}/label"] [data-test=keep-mine]`);
  await page.waitForSelector(`[data-change="node/${target.id}/label"] [data-test=keep-mine][aria-pressed=true]`);
  await approveRest(page);
  await saved(page, 3);
  assert.equal((await api().load(id)).nodes[0].label, 'Ann label');
  assert.deepEqual(problems, []);
  await page.close();
});

test('a save that fails keeps the approval (in IndexedDB), the browser asks before leaving, and a reload sends it again once the server is back', async () => {
  const { page, id, leaves } = await openApp('Retry graph');
  const graph = await api().load(id);
  await server.stop();
  await proposeJson(page, { nodes: [{ id: graph.nodes[1].id, label: 'Saved later' }] });
  await approveRest(page);
  await page.waitForSelector('[data-test=retry]', { timeout: 30000 });
  assert.match(await page.textContent('[data-test=save-status]'), /Not saved: Could not reach the history server.*kept/);
  assert.match(await page.textContent('[data-test=save-status] details'), /network_error/, 'the error itself, for support');
  assert.ok(await page.$('[data-test=unsaved]'), 'the graph says it shows an unsaved approval');
  await server.restart();
  // The reviewer reloads the page: the approval comes back from IndexedDB and is sent again.
  await page.reload();
  await page.waitForSelector('[data-test=user]');
  await saved(page, 2);
  assert.equal(leaves.length, 1, 'leaving with an unsaved approval asked first');
  assert.ok((await page.textContent('table.node-list')).includes('Saved later'), 'the approved change is shown');
  assert.equal((await api().load(id)).nodes[1].label, 'Saved later');
  await page.close();
});

test('restore an old version through the same review and approve flow', async () => {
  const { page, id } = await openApp('Restore graph');
  const original = await api().load(id);
  const first = original.nodes[0];
  await proposeJson(page, { nodes: [{ id: first.id, label: 'Changed' }] });
  await approveRest(page);
  await saved(page, 2);
  await page.click('[data-test=history-tab]');
  await page.click('tr[data-version="1"] button:has-text("Restore")');
  await page.waitForSelector(`[role=dialog] [data-change="node/${first.id}/label"]`);
  assert.match(await page.textContent('[role=dialog] h2'), /restoring an old version/);
  await approveRest(page);
  await saved(page, 3);
  const [latest] = await api().history(id);
  assert.deepEqual([latest.version, latest.source], [3, 'revert']);
  assert.equal((await api().load(id)).nodes[0].label, first.label);
  await page.close();
});

test('keyboard and a 390 px wide screen', async () => {
  const { page } = await openApp('Flow graph', { width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.scrollingElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `no horizontal scrolling at 390 px (overflow ${overflow})`);
  await page.selectOption('[data-test=canned]', { index: 1 });
  await page.focus('[data-test=review]');
  await page.keyboard.press('Enter');
  await page.waitForSelector('[role=dialog]');
  const inside = () => page.evaluate(() => document.querySelector('[role=dialog]').contains(document.activeElement));
  assert.ok(await inside(), 'focus moves into the modal');
  for (let i = 0; i < 12; i++) await page.keyboard.press('Tab');
  assert.ok(await inside(), 'Tab stays inside the modal');
  await page.screenshot({ path: path.join(SHOTS, 'modal-390.png') });
  await page.keyboard.press('Escape');
  await page.waitForSelector('[role=dialog]', { state: 'detached' });
  await page.close();
});

test('no v-html anywhere in the app source', () => {
  const files = [];
  const walk = (dir) => fs.readdirSync(dir, { withFileTypes: true }).forEach((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : files.push(path.join(dir, e.name))));
  walk(path.join(repo, 'www', 'src'));
  assert.ok(files.length > 5);
  for (const file of files) assert.doesNotMatch(fs.readFileSync(file, 'utf8'), /v-html|innerHTML/, file);
});
