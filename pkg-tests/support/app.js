'use strict';
// The www/ app for the browser tests: served by the real server on graphs a
// test seeds, with a Chromium to open it in, and opened as a reviewer opens
// it (a fresh page on a graph, signed in once the graph is on screen).
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { repo } = require('./kg');
const { startServer } = require('./server');
const { launchBrowser } = require('./browser');

const DIST = path.join(repo, 'www', 'dist');

/**
 * Serves www/dist from a fresh server seeded with `graphs` ({file name: graph})
 * and launches Chromium; `serverArgs` go to the server (`--token ...`).
 * Returns `{ server, chromium, graphId(match), close() }`: `graphId` finds a
 * listed graph by its title or by a predicate, `close` stops both and removes
 * the seed folder.
 */
async function startApp(graphs, serverArgs = []) {
  assert.ok(fs.existsSync(path.join(DIST, 'index.html')), 'www/dist is built (npm run build in www/)');
  const seedDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kg-seed-'));
  for (const [file, graph] of Object.entries(graphs)) fs.writeFileSync(path.join(seedDir, file), JSON.stringify(graph));
  let server;
  let chromium;
  const close = async () => {
    await chromium?.close();
    await server?.close();
    fs.rmSync(seedDir, { recursive: true, force: true });
  };
  try {
    server = await startServer(['--www', DIST, '--seed', seedDir, ...serverArgs]);
    chromium = await launchBrowser();
  } catch (e) {
    await close();
    throw e;
  }
  const graphId = async (match) => {
    const { graphs: listed } = await (await fetch(`${server.url}/getknowgraphs`)).json();
    return listed.find(typeof match === 'function' ? match : (g) => g.title === match).id;
  };
  return { server, chromium, graphId, close };
}

/**
 * Opens `origin/?graph=graphId` in a new page of `browser`, signed in with `token`.
 * Page errors and native dialogs (the app asks inside the page, never with
 * window.confirm) are collected in `problems`, which a test asserts empty;
 * "Leave site?" prompts (beforeunload) are accepted and counted in `leaves`.
 */
async function openApp(browser, { origin, graphId, token, viewport = { width: 1280, height: 800 }, timeout = 10000, acceptDownloads = false }) {
  const page = await browser.newPage({ viewport, acceptDownloads });
  page.setDefaultTimeout(timeout);
  const problems = [];
  // "Leave site?" (beforeunload) is the one native dialog the app asks: counted in
  // `leaves` and answered "leave", as a reviewer who reloads on purpose does.
  const leaves = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('dialog', (d) => {
    if (d.type() === 'beforeunload') {
      leaves.push(page.url());
      d.accept().catch(() => {});
      return;
    }
    problems.push(`native ${d.type()} dialog: ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  await page.goto(`${origin}/?graph=${graphId}`);
  // The graph loads without signing in; the header settles once it is on screen
  // (signing in earlier raced its re-layout on a loaded machine).
  await page.waitForSelector('table.node-list tbody tr');
  await page.fill('input[aria-label="API token"]', token);
  await page.click('button:has-text("Sign in")');
  await page.waitForSelector('[data-test=user]');
  await page.waitForFunction((want) => document.querySelector('[data-test=graph-picker]')?.value === want, graphId);
  await page.waitForSelector('table.node-list tbody tr');
  return { page, problems, leaves };
}

/**
 * In the open review, accepts (or rejects) every change still undecided, by
 * its own Accept (or Reject) control as a reviewer would, and waits until
 * nothing is left to decide. Decisions are explicit: none is made for them.
 */
async function decideRest(page, accept = true) {
  await page.$$eval(`[role=dialog] [data-decision=undecided] input[data-${accept ? 'accept' : 'reject'}]`, (els) => els.forEach((el) => el.click()));
  await page.waitForFunction(() => !document.querySelector('[data-test=to-decide]'));
}

/** Accepts what is still undecided and clicks Approve & Save. */
async function approveRest(page) {
  await decideRest(page, true);
  await page.click('button:has-text("Approve & Save")');
}

/** A small graph of three planets (and, with `hidden`, a hidden note) titled `title`. */
function planets(title, { hidden = false } = {}) {
  return {
    metadata: { title },
    nodes: [
      { id: 'm1', label: 'Mercury', type: 'fulltext', info: 'The first planet. It is small and close to the sun, and its year is short.', position: { x: 0, y: 0 } },
      { id: 'm2', label: 'Venus', type: 'fulltext', info: 'The second planet.', position: { x: 100, y: 0 } },
      { id: 'm3', label: 'Earth', type: 'fulltext', info: 'Home.', position: { x: 200, y: 0 } },
      ...(hidden ? [{ id: 'h', label: 'A hidden note', type: 'fulltext', info: 'Not shown.', visible: false, position: { x: 300, y: 0 } }] : []),
    ],
    edges: [],
  };
}

module.exports = { startApp, openApp, decideRest, approveRest, planets };
