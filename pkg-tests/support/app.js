'use strict';
// The www/ app opened in Chromium as a reviewer opens it, for the browser
// tests: a fresh page on a graph, signed in once the graph is on screen.

/**
 * Opens `origin/?graph=graphId` in a new page of `browser`, signed in with `token`.
 * Page errors and native dialogs (the app asks inside the page, never with
 * window.confirm) are collected in `problems`, which a test asserts empty.
 */
async function openApp(browser, { origin, graphId, token, viewport = { width: 1280, height: 800 }, timeout = 10000, acceptDownloads = false }) {
  const page = await browser.newPage({ viewport, acceptDownloads });
  page.setDefaultTimeout(timeout);
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('dialog', (d) => {
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
  return { page, problems };
}

module.exports = { openApp };
