'use strict';
// Putting a proposal into the app (issue 28), in Debian's Chromium against
// the real history server: a big proposal pasted with the keyboard, as a
// reviewer pastes it, or loaded from a file, is taken whole (said in a line,
// not laid out in the text box) and reviewed; small pastes, and big ones that
// are not a whole proposal, are edits of the text as before.
const test = require('node:test');
const assert = require('node:assert/strict');
const { TOKENS } = require('./support/server');
const { startApp, openApp: openPage, planets } = require('./support/app');
const { generateGraph, generateProposal } = require('./support/generate');

const big = generateGraph(500, { seed: 16 });
// 836,714 characters of JSON (947 KB as UTF-8) on one line, as an AI's tool call returns it.
const bigText = JSON.stringify(generateProposal(big, { seed: 16, edits: 300 }));

let app;
test.before(async () => {
  app = await startApp({ 'big.json': { ...big, metadata: { title: 'Big graph' } }, 'small.json': planets('Small graph') });
});
test.after(() => app?.close());

async function openApp(title) {
  const id = await app.graphId(title);
  const opened = await openPage(app.chromium.browser, { origin: app.server.url, graphId: id, token: TOKENS.ann, timeout: 30000 });
  await opened.page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: app.server.url });
  return opened;
}

/** Pastes `text` into the proposal box with Ctrl+V, over what the box holds (`all`) or at its end. */
async function paste(page, text, { all = true } = {}) {
  await page.evaluate((t) => navigator.clipboard.writeText(t), text);
  await page.focus('[data-test=proposal-json]');
  await page.keyboard.press(all ? 'Control+A' : 'Control+End');
  await page.keyboard.press('Control+V');
}

test('a big proposal pasted is taken whole: said in a line, reviewed change by change, and put in the box only when asked', async () => {
  const { page, problems } = await openApp('Big graph');
  await paste(page, bigText);
  const taken = await page.waitForSelector('[data-test=proposal-taken]');
  const kb = Math.round(Buffer.byteLength(bigText) / 1024);
  assert.match((await taken.textContent()).replace(/\s+/g, ' '), new RegExp(`Pasted proposal, ${kb} KB: 301 node patches, 1 edge, 1 node removal\\.`));
  assert.equal(await page.$('[data-test=proposal-json]'), null, 'the text is not laid out in the box');
  await page.click('[data-test=review]');
  await page.waitForSelector('[role=dialog] [data-change]');
  assert.match(await page.textContent('[data-test=accepted-count]'), /of 907\b/);
  await page.click('button:has-text("Cancel")');
  await page.waitForSelector('[role=dialog]', { state: 'detached' });
  // Still taken after the review was cancelled; "Edit as text" puts it in the box, a field a line.
  await page.click('[data-test=edit-as-text]');
  const boxed = await page.inputValue('[data-test=proposal-json]');
  assert.deepEqual(JSON.parse(boxed), JSON.parse(bigText));
  assert.ok(boxed.split('\n').length > 1000, 'one field a line');
  assert.equal(await page.$('[data-test=proposal-taken]'), null);
  assert.deepEqual(problems, []);
  await page.close();
});

test('a small paste is an edit where the cursor is; so is a big paste that is not a whole proposal', async () => {
  const { page, problems } = await openApp('Small graph');
  const small = JSON.stringify({ nodes: [{ id: 'm1', label: 'Mercury, pasted' }] });
  await paste(page, small);
  assert.equal(await page.inputValue('[data-test=proposal-json]'), small);
  await paste(page, ' and more', { all: false });
  assert.equal(await page.inputValue('[data-test=proposal-json]'), `${small} and more`);
  // 70 KB of lines that are not JSON: pasted as text, to be fixed where it is wrong.
  const fragment = Array.from({ length: 2000 }, (_, i) => `  { "id": "n${i}", "label": "node ${i} of many" },`).join('\n');
  assert.ok(fragment.length > 64 * 1024);
  await paste(page, fragment);
  assert.equal(await page.inputValue('[data-test=proposal-json]'), fragment);
  assert.equal(await page.$('[data-test=proposal-taken]'), null);
  await page.click('[data-test=review]');
  assert.match(await page.textContent('[role=alert]'), /Not valid JSON/);
  assert.equal(await page.$('[role=dialog]'), null);
  assert.deepEqual(problems, []);
  await page.close();
});

test('a proposal loaded from a file is taken whole and reviewed; a file that is not a proposal is named in the error', async () => {
  const { page, problems } = await openApp('Small graph');
  const file = (name, text) => ({ name, mimeType: 'application/json', buffer: Buffer.from(text) });
  // A file is read asynchronously: wait for the alert that names it (the one
  // before it may still be on screen).
  const alertFor = async (name) => {
    await page.waitForFunction((n) => document.querySelector('[role=alert]')?.textContent.startsWith(`${n}:`), name);
    return page.textContent('[role=alert]');
  };
  await page.setInputFiles('[data-test=proposal-file]', file('broken.json', '{"nodes": ['));
  assert.match(await alertFor('broken.json'), /^broken\.json: Not valid JSON/);
  await page.setInputFiles('[data-test=proposal-file]', file('list.json', '[1, 2]'));
  assert.match(await alertFor('list.json'), /^list\.json: Not a proposal/);
  assert.ok(await page.$('[data-test=proposal-json]'), 'the box is left as it was');
  await page.setInputFiles('[data-test=proposal-file]', file('venus.json', JSON.stringify({ nodes: [{ id: 'm2', label: 'Venus, from a file' }], removeNodeIds: ['m3'] })));
  assert.match((await page.textContent('[data-test=proposal-taken]')).replace(/\s+/g, ' '), /venus\.json, \d+ bytes: 1 node patch, 1 node removal\./);
  assert.equal(await page.$('[role=alert]'), null, 'the error is gone');
  await page.click('[data-test=review]');
  await page.waitForSelector('[role=dialog] [data-change="node/m2/label"]');
  assert.ok(await page.$('[role=dialog] [data-change^="node/m3"]'), 'the removal is in the review');
  // Another canned proposal picked: the box holds it again.
  await page.click('button:has-text("Cancel")');
  await page.selectOption('[data-test=canned]', { index: 1 });
  assert.match(await page.inputValue('[data-test=proposal-json]'), /renamed/);
  assert.deepEqual(problems, []);
  await page.close();
});
