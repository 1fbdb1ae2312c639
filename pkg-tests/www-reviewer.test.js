'use strict';
// The reviewer's experience (issue 16) in Debian's Chromium against the real
// history server: each bug found while reviewing as reviewers do is a test here.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('path');
const { kg, repo } = require('./support/kg');
const { TOKENS, USERS } = require('./support/server');
const { startApp, openApp: openPage, decideRest, approveRest } = require('./support/app');
const { startProxy } = require('./support/fault-proxy');

const AXE = require.resolve('axe-core/axe.min.js');

/** axe-core's serious and critical findings on the page as it is. */
async function seriousA11y(page) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.addScriptTag({ path: AXE });
  return page.evaluate(async () =>
    (await window.axe.run(document, { resultTypes: ['violations'] })).violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`),
  );
}
const AUDITOR = 'auditor-token-reviewer-0003';

let app;
let server;
let chromium;
test.before(async () => {
  const graphs = {
    // Untitled, and its first node is also the one with the longest text.
    'untitled.json': {
      nodes: [
        { id: 'n1', label: 'First and longest', type: 'fulltext', info: 'A long paragraph about the first node, written to be the longest text of this graph by far.', position: { x: 0, y: 0 } },
        { id: 'n2', label: 'Second', type: 'fulltext', info: 'Short.', position: { x: 100, y: 0 } },
        { id: 'n3', label: 'Third', type: 'fulltext', info: 'Also short.', position: { x: 200, y: 0 } },
      ],
      edges: [],
    },
    'picker.json': { metadata: { title: 'Picker graph' }, nodes: [{ id: 'p', label: 'P', type: 'fulltext', info: 'p', position: { x: 0, y: 0 } }], edges: [] },
    'history.json': { metadata: { title: 'History at phone width' }, nodes: [{ id: 'h', label: 'H', type: 'fulltext', info: 'h', position: { x: 0, y: 0 } }], edges: [] },
    'hang.json': { metadata: { title: 'Hanging server' }, nodes: [{ id: 'g', label: 'G', type: 'fulltext', info: 'g', position: { x: 0, y: 0 } }], edges: [] },
    'conflict-who.json': { metadata: { title: 'Conflict who' }, nodes: [{ id: 'c1', label: 'C1', type: 'fulltext', info: 'one' }, { id: 'c2', label: 'C2', type: 'fulltext', info: 'two' }], edges: [] },
    'readable.json': {
      metadata: { title: 'Readable diffs' },
      nodes: [
        { id: 'r1', label: 'Mercury orbit', type: 'fulltext', info: 'r', position: { x: -420, y: 20 } },
        { id: 'page', label: 'Page', type: 'html-node', info: '<!DOCTYPE html><html><body><h1>Old page</h1></body></html>', position: { x: 0, y: 0 } },
      ],
      edges: [],
    },
    'cards.json': { metadata: { title: 'Cards and conflicts' }, nodes: [{ id: 'k1', label: 'K1', type: 'fulltext', info: 'one' }, { id: 'k2', label: 'K2', type: 'fulltext', info: 'two' }, { id: 'gone', label: 'Gone soon', type: 'fulltext', info: 'bye' }], edges: [] },
    'paragraphs.json': {
      metadata: { title: 'Paragraphs' },
      nodes: [{ id: 'essay', label: 'Essay', type: 'fulltext', info: 'Alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu.\n\nThe second paragraph stays almost the same, with one word changed here.\n\nA third paragraph that nobody touches at all, kept as it was.' }],
      edges: [],
    },
    'decisions.json': { metadata: { title: 'Decisions' }, nodes: [{ id: 'd', label: 'D', type: 'fulltext', info: 'd' }], edges: [] },
    'conflict.json': { metadata: { title: 'Conflict words' }, nodes: [{ id: 'c1', label: 'C1', type: 'fulltext', info: 'one' }, { id: 'c2', label: 'C2', type: 'fulltext', info: 'two' }], edges: [] },
  };
  app = await startApp(graphs, ['--token', `${AUDITOR}=auditor@example.com:read,audit`]);
  ({ server, chromium } = app);
});
test.after(() => app?.close());

const openApp = (id, viewport = { width: 1280, height: 800 }, origin = server.url, token = TOKENS.ann) =>
  openPage(chromium.browser, { origin, graphId: id, token, viewport });

const saved = (page, version) => page.waitForSelector(`[data-test=save-status]:has-text("Saved as version ${version}")`, { timeout: 15000 });

test('bug 5: the canned multi-node edit reviews on a graph whose first node has the longest text', async () => {
  const id = await app.graphId((g) => g.title === null || g.title === undefined);
  const { page, problems } = await openApp(id);
  await page.selectOption('[data-test=canned]', { label: 'Multi-node edit: rename, rewrite, move' });
  await page.click('[data-test=review]');
  await page.waitForSelector('[role=dialog]');
  const listed = await page.$$eval('[data-change]', (els) => els.map((e) => e.dataset.change));
  assert.ok(listed.includes('node/n1/label') && listed.includes('node/n1/info'), `one patch renames and rewrites n1: ${listed}`);
  assert.equal(await page.$('.proposal-panel .error'), null, 'no duplicate_node_id');
  assert.deepEqual(problems, []);
  await page.close();
});

test('bug 4: the graph picker shows the version just saved', async () => {
  const id = await app.graphId('Picker graph');
  const { page, problems } = await openApp(id);
  const option = () => page.$eval(`[data-test=graph-picker] option[value="${id}"]`, (o) => o.textContent);
  assert.match(await option(), /\(v1\)/);
  for (const [label, version] of [['P2', 2], ['P3', 3]]) {
    await page.fill('[data-test=proposal-json]', JSON.stringify({ nodes: [{ id: 'p', label }] }));
    await page.click('[data-test=review]');
    await page.waitForSelector('[role=dialog]');
    await approveRest(page);
    await saved(page, version);
    await page.waitForFunction(
      ({ id, version }) => document.querySelector(`[data-test=graph-picker] option[value="${id}"]`)?.textContent.includes(`(v${version})`),
      { id, version },
    );
  }
  assert.match(await option(), /\(v3\)/);
  assert.deepEqual(problems, []);
  await page.close();
});

test('bug 1: a conflict keeps the reason the reviewer typed and the changes they rejected', async () => {
  const id = await app.graphId('Conflict words');
  const { page, problems } = await openApp(id);
  await page.fill('[data-test=proposal-json]', JSON.stringify({ nodes: [{ id: 'c1', label: 'C1 mine' }, { id: 'c2', info: 'two, rewritten' }] }));
  await page.click('[data-test=review]');
  await page.waitForSelector('[role=dialog]');
  // Someone else saves first.
  const other = new kg.ApprovalSession(await new kg.HistoryClient({ baseUrl: server.url }).load(id), { graphId: id });
  other.propose({ nodes: [{ id: 'c1', label: 'C1 theirs' }] });
  await new kg.HistoryClient({ baseUrl: server.url, token: TOKENS.bob }).save(other.approve({ user: USERS.bob }));

  await page.check('[data-reject="node/c2/info"]');
  await page.fill('.reason input', 'conflict test overlap');
  await approveRest(page);
  // The rebased review: the reason box still holds what was typed.
  await page.waitForSelector('[role=dialog] [data-change="node/c1/label"]');
  assert.equal(await page.inputValue('.reason input'), 'conflict test overlap');
  assert.equal(await page.$('[data-change="node/c2/info"]'), null, 'the rejected change is not proposed again');
  // Keep ours for the conflicting label, then approve without retyping.
  await page.click('[data-change="node/c1/label"] [data-test=keep-mine]');
  await approveRest(page);
  await saved(page, 3);
  const audit = await (await fetch(`${server.url}/getknowgraphaudit?id=${id}&limit=1`, { headers: { 'X-API-Token': AUDITOR } })).json();
  const entry = audit.entries[0];
  assert.equal(entry.reason, 'conflict test overlap');
  assert.deepEqual(entry.rejected, ['node/c2/info']);
  assert.deepEqual(problems, []);
  await page.close();
});

test('bug 6 and history for people: controls on screen at 390 px, current marked, restore titled, stamps hidden', async () => {
  const id = await app.graphId('History at phone width');
  const client = new kg.HistoryClient({ baseUrl: server.url, token: TOKENS.bob });
  for (const label of ['H2', 'H3 with a much longer label that makes the row wide']) {
    const session = new kg.ApprovalSession(await client.load(id), { graphId: id });
    session.propose({ nodes: [{ id: 'h', label }] }, { reason: 'a reason long enough to take some room in the table' });
    await client.save(session.approve({ user: USERS.bob }));
  }
  const { page, problems } = await openApp(id, { width: 390, height: 800 });
  await page.click('[data-test=history-tab]');
  await page.waitForSelector('tr[data-version="3"]');
  const pageWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(pageWidth <= 390, `the page does not scroll sideways (${pageWidth} px)`);
  for (const selector of ['[aria-label="compare from v1"]', '[aria-label="compare to v3"]', 'tr[data-version="1"] button']) {
    const box = await page.locator(selector).boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `${selector} is on screen: ${JSON.stringify(box)}`);
  }
  assert.match(await page.textContent('tr[data-version="3"]'), /current/);
  assert.equal(await page.$('tr[data-version="3"] button'), null, 'the current version has nothing to restore');
  assert.equal(await page.getAttribute('tr[data-version="1"] button', 'title'), 'Restore v1: current → v1');

  // A comparison lists what the reviewers changed; the stamps are behind a toggle.
  await page.check('[aria-label="compare from v1"]');
  await page.check('[aria-label="compare to v3"]');
  await page.click('[data-test=compare]');
  await page.waitForSelector('[data-test=compare-summary]');
  const listed = () => page.$$eval('.version-diff [data-change]', (els) => els.map((e) => e.dataset.change));
  assert.deepEqual(await listed(), ['node/h/label']);
  assert.match(await page.textContent('[data-test=compare-summary]'), /1 change from v1 to v3, and \d+ stamps? \(who and when\)/);
  await page.check('[data-test=show-stamps]');
  const all = await listed();
  assert.ok(all.includes('node/h/updatedBy') && all.includes('metadata/version'), `stamps shown on request: ${all}`);
  await page.screenshot({ path: path.join(repo, 'test-output', 'screenshots', 'history-390.png') });
  assert.deepEqual(problems, []);
  await page.close();
});

test('bug 7: a hanging save shows its progress, can be stopped, says the graph is unsaved, and Retry stores it once', async () => {
  const id = await app.graphId('Hanging server');
  const proxy = await startProxy(server.url);
  try {
    const { page, problems } = await openApp(id, undefined, proxy.url);
    await page.fill('[data-test=proposal-json]', JSON.stringify({ nodes: [{ id: 'g', label: 'G while the server hangs' }] }));
    await page.click('[data-test=review]');
    await page.waitForSelector('[role=dialog]');
    // The next request (the save) is forwarded at once, but its answer is held back.
    await decideRest(page);
    proxy.inject({ holdMs: 60000 });
    await page.click('button:has-text("Approve & Save")');
    await page.waitForSelector('[data-test=save-status]:has-text("the server is slow to answer")', { timeout: 15000 });
    assert.match(await page.textContent('[data-test=save-status]'), /Saving… \d+ s/);
    assert.ok(await page.$('[data-test=unsaved]'), 'the graph says its content is not saved yet');
    await page.click('[data-test=cancel-save]');
    await page.waitForSelector('[data-test=save-status]:has-text("You stopped waiting")');
    assert.ok(await page.$('[data-test=unsaved]'), 'still unsaved');
    await page.click('[data-test=retry]');
    await page.waitForSelector('[data-test=save-status]:has-text("Saved as version 2")', { timeout: 20000 });
    await page.waitForFunction(() => !document.querySelector('[data-test=unsaved]'));
    const history = await new kg.HistoryClient({ baseUrl: server.url }).history(id);
    assert.deepEqual(history.map((h) => h.version), [2, 1], 'the held save and the retry are one version');
    assert.deepEqual(problems, []);
    await page.close();
  } finally {
    await proxy.close();
  }
});

test('the conflict says who saved first, which version, when, and what they changed', async () => {
  const id = await app.graphId('Conflict who');
  const client = new kg.HistoryClient({ baseUrl: server.url, token: TOKENS.bob });
  const { page, problems } = await openApp(id);
  const before = (await client.load(id)).metadata.version;
  await page.fill('[data-test=proposal-json]', JSON.stringify({ nodes: [{ id: 'c2', label: 'C2 mine' }] }));
  await page.click('[data-test=review]');
  await page.waitForSelector('[role=dialog]');
  const other = new kg.ApprovalSession(await client.load(id), { graphId: id });
  other.propose({ nodes: [{ id: 'c2', label: 'C2 theirs' }, { id: 'c1', info: 'one, by Bob' }] });
  await client.save(other.approve({ user: USERS.bob, reason: 'tidying up' }));
  await approveRest(page);
  const who = await (await page.waitForSelector('[data-test=conflict-who]')).textContent();
  // Said in the modal too, where the reviewer is looking.
  const inModal = await (await page.waitForSelector('[role=dialog] [data-test=modal-conflict-who]')).textContent();
  assert.match(inModal, new RegExp(`Version ${before + 1} was saved by ${USERS.bob}.*tidying up`));
  assert.match(who, new RegExp(`Version ${before + 1} was saved by ${USERS.bob}`));
  assert.match(who, /tidying up/);
  assert.match(who, /C2 theirs · label/);
  assert.match(who, /C1 · info/);
  assert.deepEqual(problems, []);
  await page.close();
});

test('diffs people can read: compact positions, the changed part of a short label, HTML rendered without scripts or network', async () => {
  const id = await app.graphId('Readable diffs');
  // Anything the preview tried to load would arrive here.
  const http = require('http');
  const hits = [];
  const tracker = http.createServer((req, res) => {
    hits.push(req.url);
    res.end('x');
  });
  await new Promise((r) => tracker.listen(0, '127.0.0.1', r));
  const port = tracker.address().port;
  try {
    const { page, problems } = await openApp(id);
    const hostile = `<!DOCTYPE html><html><head><link rel="stylesheet" href="http://127.0.0.1:${port}/css"></head><body><h1>New page</h1><img src="http://127.0.0.1:${port}/img"><script>parent.__pwned = 1; fetch('http://127.0.0.1:${port}/script')</script></body></html>`;
    await page.fill('[data-test=proposal-json]', JSON.stringify({ nodes: [{ id: 'r1', label: 'Mercury orbits', position: { x: -380, y: 20 } }, { id: 'page', info: hostile }] }));
    await page.click('[data-test=review]');
    await page.waitForSelector('[role=dialog]');
    const position = await page.textContent('[data-change="node/r1/position"] [data-test=position]');
    assert.equal(position.replace(/\s+/g, ' ').trim(), 'x −420 → −380 · y 20');
    const label = await page.$('[data-change="node/r1/label"] [data-test=short-diff]');
    assert.equal(await label.$eval('ins', (e) => e.textContent), 's', 'only the added letter is marked');
    assert.equal(await label.$('del'), null, 'nothing was deleted');
    await page.click('[data-change="node/page/info"] [data-test=html-preview]');
    const frames = await page.$$('[data-change="node/page/info"] iframe');
    assert.equal(frames.length, 2);
    for (const frame of frames) assert.equal(await frame.getAttribute('sandbox'), '', 'no scripts, no same origin');
    const newFrame = await frames[1].contentFrame();
    await newFrame.waitForSelector('h1');
    assert.equal(await newFrame.textContent('h1'), 'New page');
    await page.waitForTimeout(500);
    assert.deepEqual(hits, [], 'the preview loaded nothing');
    assert.equal(await page.evaluate(() => window.__pwned), undefined, 'no script ran');
    assert.deepEqual(problems, []);
    await page.close();
  } finally {
    tracker.close();
  }
});

test('added and removed nodes read as cards; after a conflict, what both changed comes first, with nothing chosen for the reviewer', async () => {
  const id = await app.graphId('Cards and conflicts');
  const { page, problems } = await openApp(id);
  await page.fill('[data-test=proposal-json]', JSON.stringify({ nodes: [{ id: 'k1', info: 'one, mine' }, { id: 'k2', label: 'K2 mine' }, { id: 'fresh', label: 'Fresh node', type: 'fulltext', info: 'new here' }], removeNodeIds: ['gone'] }));
  await page.click('[data-test=review]');
  await page.waitForSelector('[role=dialog]');
  const added = await page.$$eval('[data-change="node/fresh"] [data-test=whole] dt', (els) => els.map((e) => e.textContent));
  assert.equal(added[0], 'label', 'the label first');
  assert.ok(added.includes('info') && added.includes('type'), `${added}`);
  assert.match(await page.textContent('[data-change="node/gone"] [data-test=whole]'), /Gone soon/);
  // Someone else changes K2's label first.
  const client = new kg.HistoryClient({ baseUrl: server.url, token: TOKENS.bob });
  const other = new kg.ApprovalSession(await client.load(id), { graphId: id });
  other.propose({ nodes: [{ id: 'k2', label: 'K2 theirs' }] });
  await client.save(other.approve({ user: USERS.bob }));
  await approveRest(page);
  await page.waitForSelector('[role=dialog] [data-change="node/k2/label"].conflict');
  const first = await page.$eval('[role=dialog] [data-change]', (e) => e.dataset.change);
  assert.equal(first, 'node/k2/label', 'the conflicting change is listed first');
  assert.equal(await page.$('[data-change="node/k2/label"] [data-accept], [data-change="node/k2/label"] [aria-pressed=true]'), null, 'nothing preselected');
  assert.equal(await page.$eval('[data-change="node/k2/label"]', (e) => getComputedStyle(e).opacity), '1', 'not greyed out');
  await page.screenshot({ path: path.join(repo, 'test-output', 'screenshots', 'conflict.png') });
  assert.deepEqual(await seriousA11y(page), [], 'axe on the conflict screen');
  await page.click('[data-change="node/k2/label"] [data-test=keep-theirs]');
  await page.waitForSelector('[data-change="node/k2/label"] [data-test=keep-theirs][aria-pressed=true]');
  await approveRest(page);
  await page.waitForSelector('[data-test=save-status]:has-text("Saved as version 3")', { timeout: 15000 });
  const saved = await client.load(id);
  const byId = new Map(saved.nodes.map((n) => [n.id, n]));
  assert.equal(byId.get('k2').label, 'K2 theirs', 'theirs kept');
  assert.equal(byId.get('k1').info, 'one, mine');
  assert.ok(byId.has('fresh') && !byId.has('gone'));
  assert.deepEqual(problems, []);
  await page.close();
});

test('a paragraph rewritten whole reads as replaced; long fields step from change to change and show side by side', async () => {
  const id = await app.graphId('Paragraphs');
  const { page, problems } = await openApp(id);
  const info = 'Completely new words now say something else in this opening paragraph instead.\n\nThe second paragraph stays almost the same, with one word altered here.\n\nA third paragraph that nobody touches at all, kept as it was.';
  await page.fill('[data-test=proposal-json]', JSON.stringify({ nodes: [{ id: 'essay', info }] }));
  await page.click('[data-test=review]');
  await page.waitForSelector('[role=dialog] [data-change="node/essay/info"] .text-diff');
  const diff = '[data-change="node/essay/info"] .text-diff';
  const blocks = await page.$$eval(`${diff} del.block, ${diff} ins.block`, (els) => els.map((e) => `${e.tagName} ${e.textContent}`));
  assert.deepEqual(blocks, [
    'DEL Alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu.',
    'INS Completely new words now say something else in this opening paragraph instead.',
  ], 'the first paragraph is shown replaced whole');
  const words = await page.$$eval(`${diff} ins:not(.block)`, (els) => els.map((e) => e.textContent));
  assert.deepEqual(words, ['altered'], 'the second keeps its word-level diff');
  // Stepping through the changes.
  await page.click(`${diff} [data-test=next-hunk]`);
  assert.equal(await page.$eval(`${diff} [data-hunk-current]`, (e) => e.textContent), 'Alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu.');
  await page.click(`${diff} [data-test=next-hunk]`);
  assert.match(await page.$eval(`${diff} [data-hunk-current]`, (e) => e.textContent), /^Completely new words/);
  assert.match(await page.textContent(`${diff} .where`), /^2 of \d+ changes/);
  // Side by side: the old text with its deletions, the new with its insertions.
  await page.check(`${diff} [data-test=side-by-side]`);
  assert.match(await page.textContent(`${diff} [data-test=columns] .old`), /Alpha beta gamma[\s\S]*one word changed here/);
  assert.match(await page.textContent(`${diff} [data-test=columns] .new`), /Completely new words[\s\S]*one word altered here/);
  assert.deepEqual(problems, []);
  await page.close();
});

test('History shows what each version accepted and rejected, for a reader of the audit trail', async () => {
  const id = await app.graphId('Decisions');
  const client = new kg.HistoryClient({ baseUrl: server.url, token: TOKENS.bob });
  const session = new kg.ApprovalSession(await client.load(id), { graphId: id });
  session.propose({ nodes: [{ id: 'd', label: 'D2', info: 'changed' }] });
  session.reject('node/d/info');
  await client.save(session.approve({ user: USERS.bob, reason: 'label only' }));
  const { page, problems } = await openApp(id, undefined, server.url, AUDITOR);
  await page.click('[data-test=history-tab]');
  await page.waitForSelector('tr[data-version="2"] [data-test=decisions]:has-text("accepted")');
  assert.match(await page.textContent('tr[data-version="2"] [data-test=decisions]'), /✓ 1 accepted · ✗ 1 rejected/);
  assert.match(await page.textContent('tr[data-version="2"]'), /label only/);
  assert.deepEqual(problems, []);
  await page.close();
});

test('an edge is named by its end nodes\' labels, not their ids', async () => {
  const id = await app.graphId('Readable diffs');
  const { page, problems } = await openApp(id);
  await page.fill('[data-test=proposal-json]', JSON.stringify({ edges: [{ source: 'r1', target: 'page' }] }));
  await page.click('[data-test=review]');
  await page.waitForSelector('[role=dialog] [data-change^="edge/"]');
  const heading = await page.$eval('[role=dialog] [data-group^="edge:"] h3', (e) => e.textContent);
  assert.match(heading, /Mercury orbits? → Page/, heading);
  assert.deepEqual(problems, []);
  await page.close();
});
