'use strict';
// The www/ app's Audit tab in Debian's Chromium, on the real history server
// (--www www/dist): the trail with filters, blame, the run view and the CSV
// export, for a token with the audit scope; no tab for a token without it.
// Approvals are seeded with the package (as an AI tool's caller would save
// them, with run ids) and one is made through the app itself.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { kg, repo } = require('./support/kg');
const { TOKENS, USERS } = require('./support/server');
const { startApp, openApp: openPage, approveRest } = require('./support/app');

const SHOTS = path.join(repo, 'test-output', 'screenshots');
const AUDITOR = { token: 'carol-audit-0003', user: 'carol@example.com' };
const HOSTILE = 'second pass <img src=x onerror="window.__pwned=1">';

const graph = (title) => ({
  metadata: { title, version: 1 },
  nodes: [
    { id: 'a', label: 'Alpha', type: 'fulltext', info: 'The first node.', position: { x: 0, y: 0 } },
    { id: 'b', label: 'Beta', type: 'fulltext', info: 'The second node.', position: { x: 100, y: 0 } },
    { id: 'c', label: 'Gamma', type: 'fulltext', info: 'The third node.', position: { x: 200, y: 0 } },
  ],
  edges: [{ id: 'a_b', source: 'a', target: 'b', label: 'links' }],
});

let app;
let server;
let chromium;
const ids = {};

/** Saves one approval of `proposal` on graph `id` as `who`, through the package. */
async function approve(who, id, proposal, context, reason) {
  const client = new kg.HistoryClient({ baseUrl: server.url, token: TOKENS[who], retries: 1, retryDelayMs: 5 });
  const session = new kg.ApprovalSession(await client.load(id), { graphId: id });
  session.propose(proposal, context);
  const { newVersion } = await client.save(session.approve({ user: USERS[who], reason }));
  session.free();
  return newVersion;
}

test.before(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  const seeded = { 'audited.json': graph('Audited graph'), 'other.json': graph('Other graph'), 'long.json': graph('Long graph') };
  app = await startApp(seeded, ['--token', `${AUDITOR.token}=${AUDITOR.user}:read,write,audit`]);
  ({ server, chromium } = app);

  const { graphs } = await (await fetch(`${server.url}/getknowgraphs`)).json();
  for (const g of graphs) ids[g.title] = g.id;
  // run-a spans both graphs; run-b is one approval with a reason that is markup.
  const ai = { source: 'ai', model: 'm1' };
  assert.equal(await approve('bob', ids['Audited graph'], { nodes: [{ id: 'a', label: 'Alpha, checked' }] }, { ...ai, runId: 'run-a' }, 'first pass'), 2);
  assert.equal(await approve('ann', ids['Audited graph'], { nodes: [{ id: 'b', label: 'Beta 2' }] }, { ...ai, runId: 'run-b' }, HOSTILE), 3);
  assert.equal(await approve('bob', ids['Other graph'], { nodes: [{ id: 'c', label: 'Gamma 2' }] }, { ...ai, runId: 'run-a' }, 'other graph'), 2);
});
test.after(() => app?.close());

/** A page signed in with `token`, the graph titled `title` open. */
async function openApp(token, title, viewport = { width: 1280, height: 800 }) {
  const id = ids[title];
  const opened = await openPage(chromium.browser, { origin: server.url, graphId: id, token, viewport, acceptDownloads: true });
  return { ...opened, id };
}

const rows = (page) => page.$$eval('[data-test=audit-entry]', (els) => els.map((e) => ({ version: Number(e.dataset.version), text: e.textContent })));

/** Waits until the trail lists exactly `versions` (newest first). */
async function listed(page, versions) {
  await page.waitForFunction(
    (want) => JSON.stringify([...document.querySelectorAll('[data-test=audit-entry]')].map((e) => Number(e.dataset.version))) === want,
    JSON.stringify(versions),
  );
  return rows(page);
}

test('the Audit tab: the trail with reasons and users, a run filter, CSV export, blame of a node, the run view', async () => {
  const { page, problems } = await openApp(AUDITOR.token, 'Audited graph');

  // One approval through the app itself: it is in the trail when the tab opens.
  await page.fill('[data-test=proposal-json]', JSON.stringify({ nodes: [{ id: 'c', label: 'Gamma, by the app' }] }));
  await page.click('[data-test=review]');
  await page.waitForSelector('[role=dialog]');
  await page.fill('.reason input', 'via the app');
  await approveRest(page);
  await page.waitForSelector('[data-test=save-status]:has-text("Saved as version 4")', { timeout: 15000 });

  await page.click('[data-test=audit-tab]');
  const all = await listed(page, [4, 3, 2, 1]);
  const text = Object.fromEntries(all.map((r) => [r.version, r.text]));
  assert.ok(text[4].includes('via the app') && text[4].includes(AUDITOR.user), text[4]);
  assert.ok(text[2].includes('first pass') && text[2].includes(USERS.bob) && text[2].includes('run-a') && text[2].includes('m1'), text[2]);
  assert.ok(text[2].includes('Alpha, checked · label'), `the changed field is listed: ${text[2]}`);
  assert.ok(text[3].includes(HOSTILE), 'a reason that is markup shows as text');
  assert.equal(await page.$$eval('[data-test=audit-panel] img', (els) => els.length), 0, 'no element made from audit content');
  await page.screenshot({ path: path.join(SHOTS, 'audit.png') });

  // Filtering by run id narrows the trail; the export carries the same filters.
  await page.fill('[data-test=filter-run]', 'run-b');
  await page.click('[data-test=filter-apply]');
  const narrowed = await listed(page, [3]);
  assert.ok(narrowed[0].text.includes(USERS.ann));
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-test=export-csv]')]);
  assert.match(download.suggestedFilename(), /^audit-.*\.csv$/);
  const csv = fs.readFileSync(await download.path(), 'utf8');
  assert.ok(csv.startsWith('graphId,version,time,user,'), csv.slice(0, 200));
  const lines = csv.trim().split('\n').slice(1);
  assert.ok(lines.length >= 1 && lines.every((l) => l.includes('run-b') && !l.includes('run-a')), csv);
  const [jsonl] = await Promise.all([page.waitForEvent('download'), page.click('[data-test=export-jsonl]')]);
  const records = fs.readFileSync(await jsonl.path(), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(records.length >= 1 && records.every((r) => r.runId === 'run-b' && r.version === 3), JSON.stringify(records).slice(0, 300));

  // The user filter takes part of a name or address, in any case: one match is used, several are offered.
  await page.fill('[data-test=filter-run]', '');
  await page.fill('[data-test=filter-user]', 'BOB');
  await page.click('[data-test=filter-apply]');
  await listed(page, [2]);
  assert.match(await page.textContent('[data-test=user-matched]'), /Showing bob@example\.com/);
  await page.fill('[data-test=filter-user]', 'Example.COM');
  await page.click('[data-test=filter-apply]');
  await page.waitForSelector('[data-test=user-matches]');
  assert.match(await page.textContent('[data-test=user-matches]'), /matches 3 people/);
  await page.click('[data-test=user-match]:has-text("ann@example.com")');
  await listed(page, [3]);

  // Blame: who last changed each field of node a, and why.
  await page.click('[data-test=audit-blame-view]');
  await page.selectOption('[data-test=blame-node]', 'a');
  const label = await page.waitForSelector('tr[data-field=label]');
  const blamed = await label.textContent();
  for (const part of ['Alpha, checked', 'v2', USERS.bob, 'first pass', 'run-a']) assert.ok(blamed.includes(part), `${part} in ${blamed}`);
  assert.ok((await page.textContent('tr[data-field=info]')).includes('v1'), 'info was never changed after v1');
  // A node id that never existed: the server's own words.
  await page.fill('[data-test=blame-id]', 'never-there');
  await page.click('[data-test=blame-show]');
  assert.match(await page.textContent('[data-test=blame-error]'), /never-there was never in graph/);
  assert.equal(await page.$('tr[data-field=label]'), null);

  // The run view, opened from the trail: both graphs' approvals of run-a.
  await page.click('[data-test=audit-trail-view]');
  await page.click('[data-test=filter-clear]');
  await listed(page, [4, 3, 2, 1]);
  await page.click('[data-test=audit-entry][data-version="2"] [data-test=run-link]');
  await page.waitForSelector('[data-test=run-count]');
  assert.equal(await page.textContent('[data-test=run-count]'), '2');
  const runText = await page.textContent('[data-test=run-view]');
  assert.ok(runText.includes('Audited graph') && runText.includes('Other graph') && runText.includes('other graph'), runText);
  assert.equal(await page.$$eval('[data-test=run-view] [data-test=audit-entry]', (els) => els.length), 2);
  await page.click('[data-test=run-close]');
  await listed(page, [4, 3, 2, 1]);

  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.deepEqual(problems, []);
  await page.close();
});

test('the trail in pages of 20, and the date filters as days on the reviewer\'s clock', async () => {
  const id = ids['Long graph'];
  for (let i = 2; i <= 23; i++) assert.equal(await approve('bob', id, { nodes: [{ id: 'a', label: `Alpha ${i}` }] }, { source: 'ai' }, `step ${i}`), i);
  const { page, problems } = await openApp(AUDITOR.token, 'Long graph');
  await page.click('[data-test=audit-tab]');
  const newest = Array.from({ length: 20 }, (_, i) => 23 - i);
  await listed(page, newest);
  await page.click('[data-test=page-older]');
  await listed(page, [3, 2, 1]);
  assert.match(await page.textContent('[data-test=audit-panel] .pages'), /21–23 of 23/);
  await page.click('[data-test=page-newer]');
  await listed(page, newest);

  // Local dates, as the date inputs give them.
  const day = (offset) => page.evaluate((n) => {
    const d = new Date();
    d.setDate(d.getDate() + n);
    return [d.getFullYear(), d.getMonth() + 1, d.getDate()].map((x) => String(x).padStart(2, '0')).join('-');
  }, offset);
  const filterDates = async (from, to) => {
    await page.fill('[data-test=filter-from]', from);
    await page.fill('[data-test=filter-to]', to);
    await page.click('[data-test=filter-apply]');
  };
  await filterDates(await day(1), '');
  await page.waitForSelector('text=No approvals match these filters.');
  await filterDates('', await day(-1));
  await page.waitForSelector('text=No approvals match these filters.');
  await filterDates(await day(0), await day(0));
  await listed(page, newest);
  assert.match(await page.textContent('[data-test=audit-panel] [role=status]'), /23 approvals match the filters/);
  assert.deepEqual(problems, []);
  await page.close();
});

test('a token without the audit scope sees no Audit tab', async () => {
  const { page, problems } = await openApp(TOKENS.ann, 'Audited graph');
  assert.ok(await page.$('[data-test=history-tab]'), 'the other tabs are there');
  assert.equal(await page.$('[data-test=audit-tab]'), null, 'no Audit tab for read,write');
  assert.equal(await page.$('[data-test=audit-panel]'), null);
  assert.deepEqual(problems, []);
  await page.close();
});

test('the Audit tab at 390 px: no sideways page scroll, tables scroll in their own box', async () => {
  const { page, problems } = await openApp(AUDITOR.token, 'Audited graph', { width: 390, height: 844 });
  const overflow = () => page.evaluate(() => document.scrollingElement.scrollWidth - window.innerWidth);
  await page.click('[data-test=audit-tab]');
  await page.waitForSelector('[data-test=audit-entry]');
  assert.ok((await overflow()) <= 1, `trail: no horizontal page scroll (overflow ${await overflow()})`);
  await page.click('[data-test=audit-blame-view]');
  await page.selectOption('[data-test=blame-node]', 'b');
  await page.waitForSelector('tr[data-field=label]');
  assert.ok((await overflow()) <= 1, `blame: no horizontal page scroll (overflow ${await overflow()})`);
  await page.screenshot({ path: path.join(SHOTS, 'audit-390.png') });
  assert.deepEqual(problems, []);
  await page.close();
});
