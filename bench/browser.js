'use strict';
// The app as a reviewer feels it (issue 28), in Debian's Chromium against the
// release history server on SQLite, timed inside the page (performance.now,
// from the reviewer's act to the frame that shows its result):
//
// - paste: an 836 K-character proposal on one line (300 node patches on a
//   500-node graph) pasted with Ctrl+V, to a usable review: from the paste
//   event until Review is enabled, clicked, and the first changes of the
//   review are painted;
// - load: the same proposal loaded from a file, from the input's change event
//   to the same painted review;
// - compare: History's comparison of versions 1 and 2 (about 600 changes),
//   "Show differences" clicked as soon as both are picked (the versions are
//   still being read), to the first frame with changes on screen; and picked
//   and clicked in one go (nothing read before: the worst case).
//
// Each run opens a fresh page (nothing read or kept yet). Graphs and proposals
// are generated (pkg-tests/support/generate.js). `node bench/browser.js
// [--smoke] [--www=dir]` runs it alone; bench/run.js runs it with the rest.
const fs = require('fs');
const path = require('path');
const { generateGraph, generateProposal } = require('../pkg-tests/support/generate');

const repo = path.join(__dirname, '..');
process.env.KG_SERVER_BIN ??= path.join(repo, 'target', 'release', 'kg-approval-server');

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (ms) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));

/** Resolves, in the page, once the review of the proposal put in is on screen: Review
 *  clicked as soon as it can be (the proposal taken, or the box holding all of it),
 *  then the frame after the first change appears. Starts from `event`'s time stamp. */
function armReview({ event, chars }) {
  window.__reviewed = new Promise((resolve) => {
    document.addEventListener(
      event,
      (e) => {
        const t0 = e.timeStamp;
        let clicked = false;
        const step = () => {
          const button = document.querySelector('[data-test=review]');
          const put = document.querySelector('[data-test=proposal-taken]') || document.querySelector('[data-test=proposal-json]')?.value.length >= chars;
          if (!clicked && put && button && !button.disabled) {
            clicked = true;
            button.click();
          }
          if (document.querySelector('[role=dialog] [data-change]')) requestAnimationFrame(() => resolve(performance.now() - t0));
          else requestAnimationFrame(step);
        };
        requestAnimationFrame(step);
      },
      { capture: true, once: true },
    );
  });
}

/** In the page: clicks Show differences and resolves with the time to the first frame with
 *  changes; with `pick`, picks versions 1 and 2 first, in the same task (the clock starts
 *  at the pick: nothing is read before the click). */
function compareNow({ pick }) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    if (pick) {
      document.querySelector('[aria-label="compare from v1"]').click();
      document.querySelector('[aria-label="compare to v2"]').click();
    }
    const painted = () => {
      if (document.querySelector('.version-diff [data-change]')) requestAnimationFrame(() => resolve(performance.now() - t0));
      else requestAnimationFrame(painted);
    };
    // The button is enabled once Vue has rendered the picks (a microtask away).
    const click = () => {
      const button = document.querySelector('[data-test=compare]');
      if (button.disabled) return void queueMicrotask(click);
      button.click();
      requestAnimationFrame(painted);
    };
    click();
  });
}

/**
 * Runs the three measures on the app built in `www` (default www/dist);
 * `target(name, met, detail)` records a target. Returns the figures.
 */
async function benchBrowser({ smoke = false, target = () => {}, www = path.join(repo, 'www', 'dist') } = {}) {
  if (!fs.existsSync(process.env.KG_SERVER_BIN)) {
    if (!smoke) throw new Error('build the release server first: cargo build --release -p kg-approval-server --bin kg-approval-server');
    // The test command's smoke run uses the debug server.
    process.env.KG_SERVER_BIN = path.join(repo, 'target', 'debug', 'kg-approval-server');
  }
  // Required here: support/server reads KG_SERVER_BIN when loaded.
  const { kg } = require('../pkg-tests/support/kg');
  const { TOKENS, USERS, startServer } = require('../pkg-tests/support/server');
  const { launchBrowser } = require('../pkg-tests/support/browser');
  const { openApp } = require('../pkg-tests/support/app');
  const graph = generateGraph(smoke ? 40 : 500, { seed: 16 });
  const text = JSON.stringify(generateProposal(graph, { seed: 16, edits: smoke ? 20 : 300 }));
  const runs = smoke ? 1 : 5;

  const seed = fs.mkdtempSync(path.join(require('os').tmpdir(), 'kg-bench-www-'));
  fs.writeFileSync(path.join(seed, 'paste.json'), JSON.stringify({ ...graph, metadata: { title: 'Paste graph' } }));
  fs.writeFileSync(path.join(seed, 'compare.json'), JSON.stringify({ ...graph, metadata: { title: 'Compare graph' } }));
  const server = await startServer(['--www', www, '--seed', seed]);
  const chromium = await launchBrowser();
  try {
    const { graphs } = await (await fetch(`${server.url}/getknowgraphs`)).json();
    const idOf = (title) => graphs.find((g) => g.title === title).id;
    // Version 2 of the compared graph: 200 nodes edited (about 600 changes from version 1).
    const api = new kg.HistoryClient({ baseUrl: server.url, token: TOKENS.bob });
    const session = await api.openSession(idOf('Compare graph'));
    session.propose(generateProposal(graph, { seed: 23, edits: smoke ? 10 : 200 }));
    await api.save(session.approve({ user: USERS.bob, reason: 'many edits' }));
    session.free();

    const open = async (title) => {
      const opened = await openApp(chromium.browser, { origin: server.url, graphId: idOf(title), token: TOKENS.ann, timeout: 120000 });
      return opened.page;
    };
    const paste = [];
    const load = [];
    const compare = [];
    const oneGo = [];
    let changes = null;
    let compared = null;
    let loadable = true;
    for (let i = 0; i < runs; i++) {
      let page = await open('Paste graph');
      await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
      await page.evaluate((t) => navigator.clipboard.writeText(t), text);
      await page.focus('[data-test=proposal-json]');
      await page.keyboard.press('Control+A');
      await page.evaluate(armReview, { event: 'paste', chars: text.length });
      await page.keyboard.press('Control+V');
      paste.push(await page.evaluate(() => window.__reviewed));
      changes = Number((await page.textContent('[data-test=accepted-count]')).match(/of (\d+)/)?.[1]);
      await page.close();

      page = await open('Paste graph');
      loadable = loadable && Boolean(await page.$('[data-test=proposal-file]'));
      if (loadable) {
        await page.evaluate(armReview, { event: 'change', chars: text.length });
        await page.setInputFiles('[data-test=proposal-file]', { name: 'proposal.json', mimeType: 'application/json', buffer: Buffer.from(text) });
        load.push(await page.evaluate(() => window.__reviewed));
      }
      await page.close();

      // As the tests pick (pkg-tests/www-decisions.test.js): Playwright checks both
      // versions, then the click; the versions are being read meanwhile.
      page = await open('Compare graph');
      await page.click('[data-test=history-tab]');
      await page.waitForSelector('tr[data-version="2"]');
      await page.check('[aria-label="compare from v1"]');
      await page.check('[aria-label="compare to v2"]');
      compare.push(await page.evaluate(compareNow, { pick: false }));
      compared = Number((await page.textContent('[data-test=compare-summary]')).match(/\d+/)[0]);
      await page.close();
      // Picked and clicked in one go: both reads, the diff and the paint all after the click.
      page = await open('Compare graph');
      await page.click('[data-test=history-tab]');
      await page.waitForSelector('tr[data-version="2"]');
      oneGo.push(await page.evaluate(compareNow, { pick: true }));
      await page.close();
      process.stderr.write(`  browser run ${i + 1}: paste ${fmt(paste[i])} ms, load ${loadable ? `${fmt(load[i])} ms` : '—'}, compare ${fmt(compare[i])} ms, picked and clicked in one go ${fmt(oneGo[i])} ms (${compared} changes)\n`);
    }
    const figures = {
      proposalChars: text.length,
      proposalBytes: Buffer.byteLength(text),
      graphNodes: graph.nodes.length,
      reviewChanges: changes,
      compareChanges: compared,
      pasteMs: paste,
      loadMs: loadable ? load : null,
      compareMs: compare,
      compareOneGoMs: oneGo,
    };
    const what = `${Math.round(text.length / 1000)} K characters (${Math.round(figures.proposalBytes / 1024)} KB UTF-8), ${changes} changes on a ${graph.nodes.length}-node graph`;
    target(
      'app: paste of the big proposal to a usable review < 1 s',
      Math.max(...paste) < 1000,
      `median ${fmt(median(paste))} ms, max ${fmt(Math.max(...paste))} ms of ${runs} (${what})`,
    );
    target(
      'app: load of the big proposal from a file to a usable review < 1 s',
      loadable && Math.max(...load) < 1000,
      loadable ? `median ${fmt(median(load))} ms, max ${fmt(Math.max(...load))} ms of ${runs}` : 'the app loads no file',
    );
    target(
      `app: History compare of ${compared} changes to first paint, clicked at once, < 300 ms`,
      Math.max(...compare) < 300,
      `median ${fmt(median(compare))} ms, max ${fmt(Math.max(...compare))} ms of ${runs}`,
    );
    target(
      `app: History compare of ${compared} changes to first paint, versions picked and clicked in one go, < 300 ms`,
      Math.max(...oneGo) < 300,
      `median ${fmt(median(oneGo))} ms, max ${fmt(Math.max(...oneGo))} ms of ${runs}`,
    );
    return figures;
  } finally {
    await chromium.close();
    await server.close();
    fs.rmSync(seed, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const www = args.find((a) => a.startsWith('--www='))?.slice('--www='.length);
  const targets = [];
  benchBrowser({ smoke: args.includes('--smoke'), www: www && path.resolve(www), target: (name, met, detail) => targets.push({ name, met, detail }) })
    .then((figures) => {
      console.log(JSON.stringify(figures));
      for (const t of targets) console.log(`  [${t.met ? 'met' : 'NOT MET'}] ${t.name}: ${t.detail}`);
    })
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
}

module.exports = { benchBrowser };
