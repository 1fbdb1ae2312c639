'use strict';
// The review modal at real scale (issue 16, the modal part) in Debian's
// Chromium against the real history server: discarding asks first and gives
// focus back, nothing accepted is a deliberate "Reject all", a 300-node
// review is navigable (virtualised, filtered, j/k), changes are not shown by
// colour alone, and axe-core finds nothing serious or critical.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { repo } = require('./support/kg');
const { TOKENS } = require('./support/server');
const { startApp, openApp: openPage, planets } = require('./support/app');
const { generateGraph, generateProposal } = require('./support/generate');

const SHOTS = path.join(repo, 'test-output', 'screenshots');
const AXE = require.resolve('axe-core/axe.min.js');

const big = generateGraph(500, { seed: 16 });
const bigProposal = generateProposal(big, { seed: 16, edits: 300 });

let app;
let server;
let chromium;
test.before(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  const graphs = { 'discard.json': planets('Discard graph'), 'reject.json': planets('Reject graph'), 'a11y.json': planets('Accessible graph'), 'big.json': { ...big, metadata: { title: 'Big graph' } } };
  app = await startApp(graphs);
  ({ server, chromium } = app);
});
test.after(() => app?.close());

async function openApp(title, viewport = { width: 1280, height: 800 }) {
  const id = await app.graphId(title);
  const opened = await openPage(chromium.browser, { origin: server.url, graphId: id, token: TOKENS.ann, viewport, timeout: 15000 });
  return { ...opened, id };
}

async function proposeJson(page, proposal) {
  await page.fill('[data-test=proposal-json]', JSON.stringify(proposal));
  await page.click('[data-test=review]');
  await page.waitForSelector('[role=dialog]');
}

const focused = (page) => page.evaluate(() => {
  const el = document.activeElement;
  return el ? `${el.tagName.toLowerCase()}${el.dataset.test ? `[data-test=${el.dataset.test}]` : ''}` : null;
});

/** axe-core's serious and critical violations on the page as it is. */
async function axe(page) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, target: v.nodes.slice(0, 3).map((n) => n.target.join(' ')), summary: v.nodes[0]?.failureSummary?.slice(0, 200) }));
  });
  return { all: result, bad: result.filter((v) => v.impact === 'serious' || v.impact === 'critical') };
}

const SMALL = { nodes: [{ id: 'm1', label: 'Mercury (planet)', info: 'The first planet. It is small and very close to the sun, and its year is brief: eighty-eight days. It has almost no air, so its nights are very cold.' }, { id: 'm2', label: 'Venus (planet)' }] };

test('bug 2: Escape asks before discarding decisions, closes at once when none changed, and gives focus back', async () => {
  const { page, id, problems } = await openApp('Discard graph');
  // Untouched: Escape closes at once, focus returns to the opener.
  await proposeJson(page, SMALL);
  await page.keyboard.press('Escape');
  await page.waitForSelector('[role=dialog]', { state: 'detached' });
  assert.equal(await focused(page), 'button[data-test=review]', 'focus goes back to "Review proposal"');

  // A decision changed: Escape asks, in the page.
  await proposeJson(page, SMALL);
  await page.check('[data-reject="node/m2/label"]');
  await page.keyboard.press('Escape');
  await page.waitForSelector('[data-test=discard-confirm]');
  assert.match(await page.textContent('[data-test=discard-confirm]'), /Discard your decisions\?/);
  assert.equal(await focused(page), 'button[data-test=keep-reviewing]', 'the safe choice has focus');
  // Tab stays in the question.
  for (let i = 0; i < 3; i++) await page.keyboard.press('Tab');
  assert.ok(await page.evaluate(() => document.querySelector('[data-test=discard-confirm]').contains(document.activeElement)));
  await page.click('[data-test=keep-reviewing]');
  await page.waitForSelector('[data-test=discard-confirm]', { state: 'detached' });
  assert.equal(await page.isChecked('[data-reject="node/m2/label"]'), true, 'the decision is kept');
  // Escape on the question is "keep reviewing" too.
  await page.keyboard.press('Escape');
  await page.waitForSelector('[data-test=discard-confirm]');
  await page.keyboard.press('Escape');
  await page.waitForSelector('[data-test=discard-confirm]', { state: 'detached' });
  assert.ok(await page.$('[role=dialog]'));
  // Cancel asks the same; Discard closes and saves nothing.
  await page.click('[data-test=cancel]');
  await page.click('[data-test=discard]');
  await page.waitForSelector('[role=dialog]', { state: 'detached' });
  assert.equal(await focused(page), 'button[data-test=review]');
  const { versions } = await (await fetch(`${server.url}/getknowgraphhistory?id=${id}`)).json().catch(() => ({}));
  if (versions) assert.equal(versions.length, 1, 'nothing saved');
  assert.deepEqual(problems, []);
  await page.close();
});

test('bug 3: with nothing accepted the modal says so and offers "Reject all and close", which saves nothing', async () => {
  const { page, id, problems } = await openApp('Reject graph');
  const before = await (await fetch(`${server.url}/getknowgraph?id=${id}`)).json();
  await proposeJson(page, SMALL);
  assert.equal(await page.$('[data-test=nothing-accepted]'), null);
  for (const change of ['node/m1/label', 'node/m1/info', 'node/m2/label']) await page.check(`[data-reject="${change}"]`);
  await page.waitForSelector('[data-test=nothing-accepted]');
  assert.match(await page.textContent('[data-test=nothing-accepted]'), /nothing will be saved/i);
  assert.equal(await page.$('button:has-text("Approve & Save")'), null, 'no approve button that saves nothing');
  assert.equal((await page.textContent('[data-test=reject-all]')).trim(), 'Reject all and close');
  await page.click('[data-test=reject-all]');
  await page.waitForSelector('[role=dialog]', { state: 'detached' });
  assert.equal(await focused(page), 'button[data-test=review]');
  const after = await (await fetch(`${server.url}/getknowgraph?id=${id}`)).json();
  assert.equal(after.metadata?.version, before.metadata?.version, 'nothing was saved');
  assert.deepEqual(problems, []);
  await page.close();
});

test('not colour alone, headings, names, inert background, and axe on the graph view, the small modal and History', async (t) => {
  const { page, problems } = await openApp('Accessible graph');
  const graphView = await axe(page);
  t.diagnostic(`axe, graph view: ${JSON.stringify(graphView.all.map((v) => `${v.id} (${v.impact}, ${v.nodes})`))}`);
  assert.deepEqual(graphView.bad, [], 'graph view');

  // The tabs: one tab stop, arrow keys move.
  await page.focus('[role=tab][aria-selected=true]');
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.evaluate(() => document.activeElement.textContent.trim()), 'History');
  await page.waitForSelector('[role=tabpanel] .history-panel, .history-panel');
  await page.keyboard.press('ArrowLeft');
  assert.equal(await page.evaluate(() => document.activeElement.textContent.trim()), 'Graph');
  await page.waitForSelector('[data-test=review]');

  await proposeJson(page, SMALL);
  await page.check('[data-reject="node/m2/label"]');
  // Headings: the title, then one per node.
  const headings = await page.$$eval('[role=dialog] h2, [role=dialog] h3', (els) => els.map((e) => `${e.tagName} ${e.querySelector('.name')?.textContent ?? e.textContent}`));
  assert.deepEqual(headings, ['H2 Review the AI proposal', 'H3 Mercury', 'H3 Venus']);
  // Controls named by label and field.
  assert.equal(await page.getAttribute('[data-change="node/m1/info"] [role=radiogroup]', 'aria-label'), 'Decision on info of node “Mercury”');
  assert.equal(await page.getAttribute('[data-group="node:m2"] [data-test=reject-node]', 'aria-label'), 'Reject node “Venus”');
  // The page behind is inert.
  assert.equal(await page.evaluate(() => document.querySelector('.proposal-panel').closest('[inert]') !== null), true);
  // Not colour alone: underlined insertions, struck deletions, a marker between them.
  const looks = await page.evaluate(() => {
    const deco = (el) => el && getComputedStyle(el).textDecorationLine;
    const ins = document.querySelector('[data-change="node/m1/info"] ins');
    const del = document.querySelector('[data-change="node/m1/info"] del');
    const marked = document.querySelector('[data-change="node/m1/info"] del + ins');
    return {
      ins: deco(ins),
      del: deco(del),
      marker: marked ? getComputedStyle(marked, '::before').content : null,
      // A short label: only what was added is marked (FieldChange), underlined.
      now: deco(document.querySelector('[data-change="node/m2/label"] .new ins')),
      added: document.querySelector('[data-change="node/m2/label"] .new ins')?.textContent,
      rejectedOpacity: getComputedStyle(document.querySelector('[data-change="node/m2/label"]')).opacity,
    };
  });
  assert.equal(looks.ins, 'underline');
  assert.equal(looks.del, 'line-through');
  assert.equal(looks.marker, '"→"');
  assert.deepEqual([looks.now, looks.added], ['underline', ' (planet)']);
  assert.equal(looks.rejectedOpacity, '1', 'a rejected row is not faded below contrast');
  const modal = await axe(page);
  t.diagnostic(`axe, small modal (one change rejected): ${JSON.stringify(modal.all.map((v) => `${v.id} (${v.impact}, ${v.nodes})`))}`);
  assert.deepEqual(modal.bad, [], 'small modal');
  await page.keyboard.press('Escape');
  await page.click('[data-test=discard]');
  await page.waitForSelector('[role=dialog]', { state: 'detached' });
  assert.equal(await page.evaluate(() => document.querySelector('[inert]')), null, 'nothing inert once closed');

  await page.click('[data-test=history-tab]');
  await page.waitForSelector('tr[data-version="1"]');
  const history = await axe(page);
  t.diagnostic(`axe, History: ${JSON.stringify(history.all.map((v) => `${v.id} (${v.impact}, ${v.nodes})`))}`);
  assert.deepEqual(history.bad, [], 'History');
  assert.deepEqual(problems, []);
  await page.close();
});

test('a 300-node review on a 500-node graph: quick to open, navigable, virtualised, one frame per toggle', async (t) => {
  const { page, problems } = await openApp('Big graph', { width: 1280, height: 900 });
  // 0.8 MB of JSON: set directly (typing it in takes Playwright too long).
  await page.$eval('[data-test=proposal-json]', (el, text) => {
    el.value = text;
    el.dispatchEvent(new Event('input'));
  }, JSON.stringify(bigProposal));
  // From the click to the first change on screen, measured in the page.
  const openMs = await page.evaluate(
    () =>
      new Promise((resolve) => {
        const t0 = performance.now();
        document.querySelector('[data-test=review]').click();
        const check = () => (document.querySelector('[role=dialog] [data-change]') ? setTimeout(() => resolve(performance.now() - t0)) : requestAnimationFrame(check));
        requestAnimationFrame(check);
      }),
  );
  await page.waitForSelector('[data-test=navigator]');
  const shape = await page.evaluate(() => {
    const dialog = document.querySelector('[role=dialog]');
    const scroller = dialog.querySelector('.changes');
    return {
      focusable: dialog.querySelectorAll('button, input, select, textarea, [tabindex]:not([tabindex="-1"])').length,
      cards: dialog.querySelectorAll('[data-group]').length,
      scrollHeight: scroller.scrollHeight,
      pageScroll: document.scrollingElement.scrollHeight,
    };
  });
  t.diagnostic(`300-node review: open ${openMs.toFixed(0)} ms (click to first change visible); ${shape.focusable} focusable elements, ${shape.cards} cards rendered, list scroll height ${shape.scrollHeight} px`);
  assert.ok(shape.cards < 60, `only the cards near the viewport are rendered (${shape.cards})`);
  assert.ok(shape.focusable < 250, `focusable elements: ${shape.focusable}`);

  const summary = await page.textContent('[data-test=field-summary]');
  t.diagnostic(summary.trim());
  for (const field of ['label', 'info', 'position']) assert.match(summary, new RegExp(`${field}\\s+300`));
  // 301 patched nodes, the removed one, the new edge and the removed node's 4 edges.
  assert.match(await page.textContent('[data-test=shown-count]'), /^\s*307 nodes/);

  // One decision: from the click to the next animation frame, measured in the page (reject, accept, ...).
  const first = await page.$eval('[role=dialog] [data-accept]', (el) => el.dataset.accept);
  const toggles = [];
  for (let i = 0; i < 5; i++) {
    toggles.push(
      await page.evaluate(
        ({ change, side }) =>
          new Promise((resolve) => {
            const radio = document.querySelector(`[data-${side}="${change}"]`);
            const t0 = performance.now();
            radio.click();
            requestAnimationFrame(() => resolve(performance.now() - t0));
          }),
        { change: first, side: i % 2 ? 'accept' : 'reject' },
      ),
    );
  }
  t.diagnostic(`toggle one change, click to next frame: ${toggles.map((x) => x.toFixed(0)).join(', ')} ms (median ${[...toggles].sort((a, b) => a - b)[2].toFixed(0)} ms)`);
  assert.equal(await page.isChecked(`[data-reject="${first}"]`), true, 'five decisions, the last a rejection, leave it rejected');
  await page.check(`[data-accept="${first}"]`);
  // The navigator as a reviewer first meets it, with a few changes decided.
  await page.click('[data-nav] >> nth=1');
  await page.check(`[data-reject="node/${bigProposal.nodes[1].id}/position"]`);
  await page.evaluate(() => document.querySelector('.changes').scrollTo(0, 0));
  await page.waitForTimeout(150);
  await page.screenshot({ path: path.join(SHOTS, 'modal-large.png') });

  // Filter by field: only position changes; reject them all in one go.
  await page.selectOption('[data-test=filter-field]', 'position');
  await page.waitForFunction(() => [...document.querySelectorAll('[role=dialog] [data-change]')].every((e) => e.dataset.change.endsWith('/position')));
  assert.match(await page.textContent('[data-test=shown-count]'), /300 changes shown/);
  const rejectMs = await page.evaluate(
    () =>
      new Promise((resolve) => {
        const t0 = performance.now();
        document.querySelector('[data-test=reject-shown]').click();
        requestAnimationFrame(() => resolve(performance.now() - t0));
      }),
  );
  t.diagnostic(`reject the 300 shown position changes: ${rejectMs.toFixed(0)} ms to the next frame`);
  await page.waitForFunction(() => / 300 rejected/.test(document.querySelector('[data-test=accepted-count]').textContent));
  const count = await page.textContent('[data-test=accepted-count]');
  assert.match(count, /^\s*1 of 907 accepted, 300 rejected/, `every position change rejected, in one bulk decision: ${count}`);
  // Kind and search.
  await page.selectOption('[data-test=filter-field]', 'all');
  await page.selectOption('[data-test=filter-kind]', 'removed');
  await page.waitForFunction(() => [...document.querySelectorAll('[role=dialog] [data-change]')].every((e) => e.matches('.removed')));
  await page.selectOption('[data-test=filter-kind]', 'all');
  const target = bigProposal.nodes[150];
  await page.fill('[data-test=filter-query]', target.id);
  await page.waitForSelector(`[role=dialog] [data-group="node:${target.id}"]`);
  assert.match(await page.textContent('[data-test=shown-count]'), /^\s*1 node/);
  await page.fill('[data-test=filter-query]', '');

  // j / k: the next change still to decide (the position filter decided every position change).
  await page.click('.changes h3 >> nth=0');
  await page.keyboard.press('j');
  await page.waitForFunction(() => document.activeElement?.matches('[data-change].undecided'));
  const firstJ = await page.evaluate(() => document.activeElement.dataset.change);
  t.diagnostic(`j went to ${firstJ}`);
  assert.ok(!firstJ.endsWith('/position'), `j skips what is decided: ${firstJ}`);
  // Next / previous buttons exist and are named.
  assert.ok(await page.$('[data-test=next-undecided][aria-keyshortcuts=j]'));
  assert.ok(await page.$('[data-test=prev-undecided][aria-keyshortcuts=k]'));

  // A node far down, through the navigator: rendered on demand and focused.
  await page.fill('[data-test=filter-query]', bigProposal.nodes[280].id);
  await page.click(`[data-nav="node:${bigProposal.nodes[280].id}"]`);
  await page.waitForFunction((key) => document.activeElement?.closest('[data-group]')?.dataset.group === key, `node:${bigProposal.nodes[280].id}`);
  await page.fill('[data-test=filter-query]', '');

  const modal = await axe(page);
  t.diagnostic(`axe, 300-node modal: ${JSON.stringify(modal.all.map((v) => `${v.id} (${v.impact}, ${v.nodes})`))}`);
  assert.deepEqual(modal.bad, [], '300-node modal');

  assert.deepEqual(problems, []);
  await page.close();
});
