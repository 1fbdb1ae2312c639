'use strict';
// The www/ app's Reports and Alarms views (issue 26) in Debian's Chromium, on
// the real history server with alarm rules (--alarms): approvals by two
// models in three versions, with rules, corrections and rejections, by two
// reviewers, seeded over HTTP; the three reports' data tables read and
// compared with the server's own figures (GET /getauditstats), their charts
// drawn as SVG, a CSV download; the alarms an override and refused sign-ins
// fired, listed with their rule, subject and figures.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { repo } = require('./support/kg');
const { TOKENS, USERS } = require('./support/server');
const { startApp, openApp, approveRest } = require('./support/app');

const SHOTS = path.join(repo, 'test-output', 'screenshots');
const AUDITOR = { token: 'carol-audit-0003', user: 'carol@example.com' };
const HOSTILE = '<img src=x onerror="window.__pwned=1">';

const graph = (title) => ({
  metadata: { title, version: 1 },
  nodes: ['a', 'b', 'c'].map((id) => ({ id, label: id.toUpperCase(), info: `${id} info`, position: { x: 0, y: 0 } })),
  edges: [],
});

let app;
let rulesDir;
const ids = {};

async function post(token, route, body) {
  const response = await fetch(`${app.server.url}${route}`, { method: 'POST', headers: { 'X-API-Token': token, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = await response.json();
  assert.equal(response.status, 200, JSON.stringify(json));
  return json;
}

async function get(token, route) {
  const response = await fetch(`${app.server.url}${route}`, { headers: { 'X-API-Token': token } });
  return { status: response.status, body: await response.json() };
}

/** One approval on graph `id` at `version`: `changes` are [node, field, 'accepted' | 'rejected' | 'corrected']. */
async function approve(who, id, version, audit, changes) {
  const patchNodes = [];
  const accepted = [];
  const rejected = [];
  const decisions = {};
  for (const [node, field, decision] of changes) {
    const change = `node/${node}/${field}`;
    decisions[change] = { decision, decidedBy: 'change', ...(decision === 'corrected' ? { proposed: 'the AI said so' } : {}) };
    if (decision === 'rejected') {
      rejected.push(change);
      continue;
    }
    accepted.push(change);
    const patch = patchNodes.find((p) => p.nodeId === node) ?? patchNodes[patchNodes.push({ nodeId: node, fields: {} }) - 1];
    patch.fields[field] = `${field} ${version}`;
  }
  const body = { graphId: id, expectedVersion: version, patchNodes, audit: { source: 'ai', accepted, rejected, decisions, decisionMode: 'explicit', ...audit } };
  return post(TOKENS[who], '/patchGraph', body);
}

test.before(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  rulesDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kg-alarms-'));
  const rules = path.join(rulesDir, 'alarms.json');
  fs.writeFileSync(rules, JSON.stringify({ rules: [{ rule: 'override' }, { id: 'sign-in-storm', rule: 'failedSignIns', per: 'address', max: 2, windowSeconds: 60 }] }));
  app = await startApp({ 'one.json': graph('One'), 'two.json': graph('Two') }, ['--token', `${AUDITOR.token}=${AUDITOR.user}:read,write,audit`, '--alarms', rules]);
  for (const title of ['One', 'Two']) ids[title] = await app.graphId(title);
  const at = new Date().toISOString();
  const minutesBefore = (m) => new Date(Date.parse(at) - m * 60_000).toISOString();
  const gpt = (modelVersion, wait) => ({ model: 'gpt', modelVersion, at, proposedAt: minutesBefore(wait) });
  await approve('ann', ids.One, 1, gpt('v1', 10), [['a', 'label', 'accepted'], ['b', 'label', 'rejected'], ['c', 'info', 'accepted']]);
  await approve('bob', ids.One, 2, gpt('v2', 20), [['a', 'label', 'corrected'], ['b', 'info', 'rejected'], ['c', 'label', 'accepted']]);
  await approve('bob', ids.Two, 1, { model: 'claude', modelVersion: '3', ruleId: 'r-dates' }, [['a', 'date', 'rejected'], ['b', 'label', 'rejected']]);
  await approve('ann', ids.Two, 2, gpt('v2', 40), [['a', 'label', 'accepted'], ['b', 'label', 'corrected'], ['c', HOSTILE, 'rejected']]);
  // An override, and three refused sign-ins: two alarms.
  await post(TOKENS.ann, '/saveGraphWithHistory', { id: ids.Two, override: true, graphData: { ...graph('Two'), metadata: { title: 'Two', version: 1 } } });
  for (let i = 0; i < 3; i++) assert.equal((await fetch(`${app.server.url}/getknowgraphs`, { headers: { 'X-API-Token': 'not-a-token-123' } })).status, 401);
});
test.after(async () => {
  await app?.close();
  fs.rmSync(rulesDir, { recursive: true, force: true });
});

/** A table's body rows as arrays of cell texts. */
const table = (page, name) =>
  page.$$eval(`[data-test=${name}] tbody tr`, (rows) => rows.map((r) => [...r.querySelectorAll('th, td')].map((c) => c.textContent.trim())));
const pct = (rate) => (rate === null ? '–' : `${(rate * 100).toFixed(1)} %`);

test('the Reports view: each chart drawn as SVG beside its data table, which holds the server\'s figures; CSV download', async () => {
  const { page, problems } = await openApp(app.chromium.browser, { origin: app.server.url, graphId: ids.One, token: AUDITOR.token, acceptDownloads: true });
  await page.click('[data-test=audit-tab]');
  await page.click('[data-test=audit-reports-view]');
  await page.waitForSelector('[data-test=report-reviewers-table] tbody tr');

  // 1. Acceptance rate per model version and week, as the server counts it.
  const { body: versions } = await get(AUDITOR.token, '/getauditstats?groupBy=model,modelVersion&bucket=week');
  const shownVersions = await table(page, 'report-versions-table');
  assert.equal(shownVersions.length, versions.rows.length, JSON.stringify(shownVersions));
  for (const r of versions.rows) {
    const name = `${r.model} ${r.modelVersion}`;
    const row = shownVersions.find((cells) => cells[1] === name && cells[0] === r.bucket);
    assert.ok(row, `${name} ${r.bucket} in ${JSON.stringify(shownVersions)}`);
    assert.deepEqual(row.slice(2, 8), [r.approvals, r.proposed, r.accepted, r.corrected, r.rejected].map(String).concat(pct(r.acceptanceRate)));
  }
  // gpt v1: 2 of 3 accepted; gpt v2: 2 accepted, 2 corrected, 2 rejected of 6 over two approvals; claude 3: none of 2.
  const byName = Object.fromEntries(shownVersions.map((cells) => [cells[1], cells]));
  assert.deepEqual(byName['gpt v1'].slice(2, 8), ['1', '3', '2', '0', '1', '66.7 %']);
  assert.deepEqual(byName['gpt v2'].slice(2, 8), ['2', '6', '2', '2', '2', '33.3 %']);
  assert.deepEqual(byName['claude 3'].slice(2, 8), ['1', '2', '0', '0', '2', '0.0 %']);
  assert.equal(byName['gpt v2'][8], '30 min', 'the median of 20 and 40 minutes');

  // 2. The most rejected and corrected fields: label first (4 of them), the markup field shown as text.
  const fields = await table(page, 'report-fields-table');
  assert.deepEqual(fields[0], ['label', '7', '2', '2', '28.6 %', '28.6 %']);
  assert.ok(fields.some((cells) => cells[0] === HOSTILE), JSON.stringify(fields));
  // 3. Decisions per reviewer.
  const reviewers = await table(page, 'report-reviewers-table');
  assert.deepEqual(reviewers, [
    [USERS.ann, '2', '3', '1', '2', '50.0 %', '25 min'],
    [USERS.bob, '2', '1', '1', '3', '20.0 %', '20 min'],
  ]);

  // Each report's chart is an SVG drawn from its table's rows.
  for (const report of ['report-versions', 'report-fields', 'report-reviewers']) {
    await page.waitForSelector(`[data-test=${report}] [data-test=chart] svg`);
    const marks = await page.$$eval(`[data-test=${report}] [data-test=chart] svg .ct-line, [data-test=${report}] [data-test=chart] svg .ct-bar`, (els) => els.length);
    assert.ok(marks > 0, `${report}: ${marks} lines or bars`);
  }
  assert.equal(await page.$$eval('[data-test=reports-view] [data-test=chart]', (els) => els.every((e) => e.getAttribute('aria-hidden') === 'true')), true, 'the tables speak for the charts');
  assert.equal(await page.evaluate(() => window.__pwned), undefined);

  // CSV: the server's report, as a download.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-test=report-reviewers-csv]')]);
  assert.equal(download.suggestedFilename(), 'report-reviewers.csv');
  const csv = fs.readFileSync(await download.path(), 'utf8').trim().split('\r\n');
  assert.equal(csv[0], 'user,approvals,proposed,accepted,rejected,corrected,acceptanceRate,medianMsToApproval');
  assert.ok(csv.some((l) => l.startsWith(`${USERS.bob},2,5,1,3,1,0.2,`)), csv.join('\n'));

  // This graph only.
  await page.selectOption('[data-test=report-scope]', 'graph');
  await page.click('[data-test=report-apply]');
  await page.waitForFunction(() => document.querySelectorAll('[data-test=report-reviewers-table] tbody tr').length === 2 && !document.body.textContent.includes('claude 3'));
  await page.screenshot({ path: path.join(SHOTS, 'reports.png'), fullPage: true });
  assert.deepEqual(problems, []);
  await page.close();
});

test('the Alarms view lists what the rules fired, newest first, with rule, subject and figures', async () => {
  const { page, problems } = await openApp(app.chromium.browser, { origin: app.server.url, graphId: ids.Two, token: AUDITOR.token });
  await page.click('[data-test=audit-tab]');
  // The alarms are written after the answers: wait for both.
  for (let tries = 0; tries < 50; tries++) {
    const { body } = await get(AUDITOR.token, '/getalarms');
    if (body.alarms.length >= 2) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await page.click('[data-test=audit-alarms-view]');
  await page.waitForSelector('[data-test=alarms-table]');
  const alarms = await page.$$eval('[data-test=alarm]', (rows) =>
    rows.map((r) => ({ kind: r.dataset.kind, cells: [...r.querySelectorAll('th, td')].map((c) => c.textContent.trim()) })),
  );
  assert.deepEqual(alarms.map((a) => a.kind).sort(), ['failedSignIns', 'override']);
  const storm = alarms.find((a) => a.kind === 'failedSignIns');
  assert.equal(storm.cells[1], 'sign-in-storm');
  assert.match(storm.cells[3], /address 127\.0\.0\.1/);
  assert.match(storm.cells[4], /count 3/);
  const override = alarms.find((a) => a.kind === 'override');
  assert.match(override.cells[3], new RegExp(`user ${USERS.ann.replace('.', '\\.')}.*graph ${ids.Two}.*version 4`));
  await page.screenshot({ path: path.join(SHOTS, 'alarms.png') });
  // Without the audit scope the server refuses the list.
  assert.equal((await get(TOKENS.ann, '/getalarms')).status, 403);
  assert.deepEqual(problems, []);
  await page.close();
});

test('a suggestion\'s rationale: beside its change in the review, then in blame and in the export, as text', async () => {
  const { page, problems } = await openApp(app.chromium.browser, { origin: app.server.url, graphId: ids.One, token: AUDITOR.token, acceptDownloads: true });
  const why = `The register spells it so ${HOSTILE}`;
  await page.fill('[data-test=proposal-json]', JSON.stringify({ model: 'gpt', modelVersion: 'v3', nodes: [{ id: 'a', label: 'Alpha, per the register', rationale: why }] }));
  await page.click('[data-test=review]');
  await page.waitForSelector('[role=dialog]');
  const shown = await page.textContent('[role=dialog] [data-change="node/a/label"] [data-test=rationale]');
  assert.equal(shown.trim(), `AI's reason ${why}`);
  await approveRest(page);
  await page.waitForSelector('[data-test=save-status]:has-text("Saved as version")', { timeout: 15000 });

  await page.click('[data-test=audit-tab]');
  await page.click('[data-test=audit-blame-view]');
  await page.selectOption('[data-test=blame-node]', 'a');
  const rationale = await page.waitForSelector('tr[data-field=label] [data-test=blame-rationale]');
  assert.equal((await rationale.textContent()).trim(), `the AI's reason: ${why}`);
  await page.click('[data-test=audit-trail-view]');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-test=export-jsonl]')]);
  const lines = fs.readFileSync(await download.path(), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const label = lines.find((l) => l.id === 'a' && l.field === 'label' && l.new === 'Alpha, per the register');
  assert.equal(label?.rationale, why, JSON.stringify(lines.slice(0, 3)));
  assert.equal(await page.evaluate(() => window.__pwned), undefined, 'markup in a rationale is never run');
  assert.deepEqual(problems, []);
  await page.close();
});
