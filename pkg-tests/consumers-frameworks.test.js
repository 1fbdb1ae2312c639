'use strict';
// The packed tarball in the frameworks its users have (issue 27), each test
// named after the defect it guards against, in fresh projects of the shared
// consumer install (support/consumers.js):
//   Next.js 16 (App Router): a server component, a route handler and a client
//     component, built with Turbopack (the default) and with --webpack, no
//     serverExternalPackages, served by `next start` and opened in Chromium;
//   Nuxt 3 with server rendering: a page calling useApprovalSession and a
//     ReviewModal rendered on the server, styled before hydration, hydrated
//     without a mismatch;
//   jest 30 with testEnvironment jsdom: require('kg-approval') with no setup;
//   webpack 5: what it says about the .wasm, and what the README's setting
//     makes of it; Vite: no .wasm for a page that shows reviews only.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { consumerProject, run, files, timings } = require('./support/consumers');
const { startServer } = require('./support/serve');
const { launchBrowser } = require('./support/browser');

let project;
let chromium;

test.before(async () => {
  project = consumerProject();
  chromium = await launchBrowser();
});

test.after(async () => {
  await chromium?.close();
  project?.cleanup();
});

const GRAPH = `{ metadata: { title: 'T', version: 1 }, nodes: [{ id: 'a', label: 'Alpha', info: 'old text' }, { id: 'b', label: 'Beta' }], edges: [] }`;
const PROPOSAL = `{ nodes: [{ id: 'a', label: 'Alpha 2', info: 'new text' }, { id: 'b', label: 'Beta 2' }] }`;

/** Opens `url` in Chromium, waits for `selector` to hold `text`; returns the page's errors. */
async function inBrowser(url, checks) {
  const page = await chromium.browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
  page.on('response', (r) => {
    if (r.status() >= 400) errors.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  try {
    await page.goto(url);
    await checks(page);
  } finally {
    await page.close();
  }
  return errors;
}

function nextApp() {
  const app = project.dir('next');
  files(app, {
    'package.json': { name: 'next-consumer', private: true },
    // Nothing about kg-approval: no serverExternalPackages, no webpack or Turbopack rules.
    'next.config.mjs': 'export default {};\n',
    'tsconfig.json': {
      compilerOptions: {
        target: 'ES2022', lib: ['dom', 'dom.iterable', 'ES2022'], strict: true, noEmit: true, skipLibCheck: true, module: 'esnext',
        moduleResolution: 'bundler', jsx: 'react-jsx', isolatedModules: true, esModuleInterop: true, resolveJsonModule: true, incremental: true,
        plugins: [{ name: 'next' }],
      },
      include: ['**/*.ts', '**/*.tsx', '.next/types/**/*.ts'],
      exclude: ['node_modules'],
    },
    'public/favicon.ico': '',
    'app/layout.tsx': `export default function RootLayout({ children }: { children: React.ReactNode }) {
  return <html lang="en"><body>{children}</body></html>;
}
`,
    // A server component: the Node entry, bundled into .next/server.
    'app/page.tsx': `import { ApprovalSession } from 'kg-approval';
import Client from './client';

export const dynamic = 'force-dynamic';

export default function Page() {
  const session = new ApprovalSession(${GRAPH}, { graphId: 'g' });
  const review = session.propose(${PROPOSAL});
  session.reject('node/b/label');
  const approved = session.approve({ user: 'ann@example.com' });
  const labels = approved.graph.nodes.map((n) => n.label).join(', ');
  session.free();
  return (
    <main>
      <p id="server">server: {review.summary.fieldsChanged} field changes, rejected {approved.audit.rejected.join(' ')}, labels {labels}</p>
      <Client />
    </main>
  );
}
`,
    // A route handler: the same entry in another server bundle.
    'app/review/route.ts': `import { reviewProposal } from 'kg-approval';

export const dynamic = 'force-dynamic';

export function GET() {
  const review = reviewProposal(${GRAPH}, ${PROPOSAL});
  return Response.json({ ids: review.changes.map((c) => c.id) });
}
`,
    // A client component: the browser entry, server-rendered with the Node entry first.
    'app/client.tsx': `'use client';
import { useEffect, useState } from 'react';
import init, { ApprovalSession, diffText } from 'kg-approval';

export default function Client() {
  const [text, setText] = useState('loading');
  useEffect(() => {
    init().then(
      () => {
        const session = new ApprovalSession(${GRAPH}, { graphId: 'g' });
        const review = session.propose(${PROPOSAL});
        session.free();
        setText(\`browser: \${review.summary.fieldsChanged} field changes, \${diffText('a b', 'a c').ops.length} ops\`);
      },
      (e) => setText(String(e)),
    );
  }, []);
  return <p id="client">{text}</p>;
}
`,
  });
  return app;
}

async function nextBuildAndRun(app, bundler) {
  const next = path.join(project.root, 'node_modules', 'next', 'dist', 'bin', 'next');
  fs.rmSync(path.join(app, '.next'), { recursive: true, force: true });
  run(process.execPath, [next, 'build', ...(bundler === 'webpack' ? ['--webpack'] : [])], app, `next build (${bundler})`);
  const server = await startServer(process.execPath, [next, 'start', '-H', '127.0.0.1'], app, { portArgs: (port) => ['-p', String(port)] });
  try {
    const html = await (await fetch(server.url)).text();
    assert.match(html, /server: <!-- -->3<!-- --> field changes, rejected <!-- -->node\/b\/label<!-- -->, labels <!-- -->Alpha 2, Beta/, `${bundler}: the server component's HTML`);
    assert.deepEqual(await (await fetch(`${server.url}/review`)).json(), { ids: ['node/a/label', 'node/a/info', 'node/b/label'] }, `${bundler}: the route handler`);
    const errors = await inBrowser(server.url, async (page) => {
      await page.waitForFunction(() => document.querySelector('#client')?.textContent.startsWith('browser:'), null, { timeout: 15_000 });
      assert.equal(await page.textContent('#client'), 'browser: 3 field changes, 3 ops', `${bundler}: the client component`);
    });
    assert.deepEqual(errors, [], `${bundler}: errors in the browser`);
    const wasm = fs.readdirSync(path.join(app, '.next', 'static', 'media')).filter((f) => f.endsWith('.wasm'));
    assert.equal(wasm.length, 1, `${bundler}: the browser's .wasm is emitted once`);
    assert.equal(server.output().match(/error/i), null, `${bundler}: next start said:\n${server.output()}`);
  } finally {
    await server.stop();
  }
}

test('Next.js 16 fails to build by default: a server component, a route handler and a client component build and run with Turbopack, no serverExternalPackages', async () => {
  await nextBuildAndRun(nextApp(), 'turbopack');
});

test('Next.js 16 fails to build by default: the same app builds and runs with --webpack', async () => {
  await nextBuildAndRun(nextApp(), 'webpack');
});

function nuxtApp() {
  const app = project.dir('nuxt');
  files(app, {
    'package.json': { name: 'nuxt-consumer', private: true, type: 'module' },
    // (A hydration mismatch says what differs: the test prints it.)
    'nuxt.config.ts': "export default defineNuxtConfig({ ssr: true, devtools: { enabled: false }, telemetry: false, compatibilityDate: '2025-07-15', vite: { define: { __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'true' } } });\n",
    'app.vue': '<template><NuxtPage /></template>\n',
    // The composable made during server rendering, with a store that says when it is used;
    // a review computed on the server (the Node entry in Nitro's bundle) shown in ReviewModal.
    'pages/index.vue': `<script setup lang="ts">
import { onMounted, ref } from 'vue';
import { useApprovalSession, ReviewModal } from 'kg-approval/vue';

const calls: string[] = [];
const storage = {
  get: async (key: string) => void calls.push(\`get \${key}\`),
  set: async (key: string) => void calls.push(\`set \${key}\`),
  del: async (key: string) => void calls.push(\`del \${key}\`),
};
const kg = useApprovalSession({ user: 'ann@example.com', storage });
const storageOnServer = useState('storage-on-server', () => String(calls.length));
const browser = ref('not yet');

const { data: review } = await useAsyncData('review', async () => {
  const { reviewProposal } = await import('kg-approval');
  return JSON.parse(JSON.stringify(reviewProposal(${GRAPH}, ${PROPOSAL})));
});

onMounted(async () => {
  await kg.openGraph('g', { graph: ${GRAPH} });
  kg.propose(${PROPOSAL});
  browser.value = \`\${kg.state.review?.changes.length} changes to decide, storage used \${calls.length > 0}\`;
});
</script>

<template>
  <main>
    <p id="server">status {{ kg.state.save.status }}, storage calls while rendering on the server: {{ storageOnServer }}</p>
    <p id="browser">{{ browser }}</p>
    <ReviewModal v-if="review" :review="review" kind="proposal" />
  </main>
</template>
`,
    // The composable with a history client's options, made on the server: nothing is asked of it there.
    'pages/client.vue': `<script setup lang="ts">
import { useApprovalSession } from 'kg-approval/vue';
const kg = useApprovalSession({ client: { baseUrl: 'http://127.0.0.1:9' }, user: () => 'ann@example.com' });
</script>

<template>
  <p id="client">{{ kg.state.save.status }} {{ kg.state.graphId ?? 'no graph' }}</p>
</template>
`,
  });
  return app;
}

test('Nuxt 3 SSR: a page calling useApprovalSession renders on the server (no 500, storage reached only in the browser) and ReviewModal\'s server HTML carries its styles', async () => {
  const app = nuxtApp();
  run(process.execPath, [path.join(project.root, 'node_modules', 'nuxt', 'bin', 'nuxt.mjs'), 'build'], app, 'nuxt build');
  const server = await startServer(process.execPath, [path.join(app, '.output', 'server', 'index.mjs')], app);
  try {
    const page = await fetch(server.url);
    const html = await page.text();
    assert.equal(page.status, 200, html);
    assert.match(html, /status <!--\[-->idle|status idle/, 'the composable rendered on the server');
    assert.match(html, /storage calls while rendering on the server: 0/);
    // The modal's styles are in its own HTML, before any script runs: one <style>, inside the dialog.
    const styles = html.match(/<style data-kg-approval-ssr[^>]*>[\s\S]*?<\/style>/g) ?? [];
    assert.equal(styles.length, 1, 'one inline <style> for the modal');
    assert.match(styles[0], /\.backdrop\[data-v-[\w-]+\] \{ position: fixed;/);
    assert.match(styles[0], /\.change-group > header/, 'CSS is not HTML-escaped');
    assert.match(html, /class="kg-approval backdrop"[^>]*><style data-kg-approval-ssr/);
    const other = await fetch(`${server.url}/client`);
    assert.equal(other.status, 200);
    assert.match(await other.text(), /idle no graph/);

    // No JavaScript: the server's HTML alone is styled.
    const context = await chromium.browser.newContext({ javaScriptEnabled: false });
    try {
      const bare = await context.newPage();
      await bare.goto(server.url);
      assert.equal(await bare.evaluate(() => getComputedStyle(document.querySelector('.backdrop')).position), 'fixed');
      assert.match(await bare.textContent('[data-test=summary]'), /2 nodes changed/);
    } finally {
      await context.close();
    }
    // With it: hydrated without a mismatch, the styles moved to <head>, the composable at work.
    const errors = await inBrowser(server.url, async (p) => {
      await p.waitForFunction(() => document.querySelector('#browser')?.textContent !== 'not yet', null, { timeout: 15_000 });
      assert.equal(await p.textContent('#browser'), '3 changes to decide, storage used true');
      assert.equal(await p.locator('style[data-kg-approval-ssr]').count(), 0, 'the inline styles are dropped once mounted');
      assert.equal(await p.locator('head style[data-kg-approval]').count(), 1);
      assert.equal(await p.evaluate(() => getComputedStyle(document.querySelector('.backdrop')).position), 'fixed');
    });
    assert.deepEqual(errors, []);
  } finally {
    await server.stop();
  }
});

test("jest with testEnvironment 'jsdom': require('kg-approval') works with no setup (TextDecoder is not defined)", () => {
  const dir = project.dir('jest');
  files(dir, {
    'package.json': { name: 'jest-consumer', private: true },
    'jest.config.js': "module.exports = { testEnvironment: 'jsdom' };\n",
    'review.test.js': `const { ApprovalSession, diffText, KgApprovalError } = require('kg-approval');
const { useApprovalSession, ReviewModal } = require('kg-approval/vue');
const { createApp, h, nextTick } = require('vue');

test('a review, an approval and a text diff in jsdom', () => {
  expect(typeof window.document).toBe('object');
  const session = new ApprovalSession(${GRAPH}, { graphId: 'g' });
  expect(session.propose(${PROPOSAL}).summary.fieldsChanged).toBe(3);
  session.reject('node/b/label');
  const approved = session.approve({ user: 'ann@example.com' });
  expect(approved.audit.rejected).toEqual(['node/b/label']);
  expect(approved.graph.nodes.map((n) => n.label)).toEqual(['Alpha 2', 'Beta']);
  expect(diffText('a b', 'a c').ops.map((o) => o.op)).toEqual(['equal', 'delete', 'insert']);
  expect(() => new ApprovalSession({ nodes: {} })).toThrow(KgApprovalError);
});

test('the composable without a server, and the review modal mounted in jsdom', async () => {
  const kg = useApprovalSession({ user: 'ann@example.com' });
  await kg.openGraph('g', { graph: ${GRAPH} });
  kg.propose(${PROPOSAL});
  kg.decideMany(kg.state.review.changes.map((c) => c.id), true);
  await nextTick();
  const el = document.createElement('div');
  document.body.append(el);
  const app = createApp({ render: () => h(ReviewModal, { review: kg.state.review }) });
  app.mount(el);
  expect(el.querySelector('[data-test=summary]').textContent).toMatch(/2 nodes changed/);
  app.unmount();
  const approved = kg.approve('checked');
  expect(approved.audit.accepted.length).toBe(3);
  expect(kg.state.graph.nodes[0].label).toBe('Alpha 2');
});
`,
  });
  const out = run(path.join(project.root, 'node_modules', '.bin', 'jest'), ['--ci', '--colors=false'], dir, 'jest (jsdom)');
  void out;
});

test('Vite emits the 620 KB .wasm when only ReviewModal is imported: kg-approval/vue/components builds without it, and the modal keeps its own decisions without a @decide handler', async () => {
  const { kg } = require('./support/kg');
  const review = JSON.stringify(kg.reviewProposal(eval(`(${GRAPH})`), eval(`(${PROPOSAL})`)));
  const app = project.dir('vite-modal');
  const main = (from) => `import { createApp, h, ref } from 'vue';
import { ReviewModal } from '${from}';

// A review computed elsewhere (on a server, say): shown, decided in the modal, approved.
const review = ${review};
const result = ref('');
createApp({
  setup: () => () => [
    h(ReviewModal, { review, onApprove: (reason, decisions) => (result.value = JSON.stringify({ reason, decisions })) }),
    h('p', { 'data-test': 'result' }, result.value),
  ],
}).mount('#app');
`;
  files(app, {
    'package.json': { name: 'vite-modal', private: true, type: 'module' },
    'index.html': '<!doctype html><html><head><meta charset="utf-8"><title>modal</title><link rel="icon" href="data:,"></head><body><div id="app"></div><script type="module" src="/main.js"></script></body></html>\n',
    'main.js': main('kg-approval/vue/components'),
  });
  const vite = project.bin('vite');
  run(vite, ['build', '--logLevel', 'warn'], app, 'vite build (components only)');
  const emitted = (dir) => fs.readdirSync(path.join(app, dir, 'assets')).filter((f) => f.endsWith('.wasm'));
  assert.deepEqual(emitted('dist'), [], 'no .wasm in a build of kg-approval/vue/components');

  const { serveStatic } = require('./support/browser');
  const pages = await serveStatic({ '/': path.join(app, 'dist') });
  try {
    const errors = await inBrowser(`${pages.url}/index.html`, async (page) => {
      await page.waitForSelector('input[data-accept="node/b/label"]');
      assert.equal(await page.evaluate(() => getComputedStyle(document.querySelector('.backdrop')).position), 'fixed', 'styled');
      await page.uncheck('input[data-accept="node/b/label"]');
      // Uncontrolled: the decision stays (it used to flip back a frame later).
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(r, 50)))));
      assert.equal(await page.isChecked('input[data-accept="node/b/label"]'), false);
      await page.fill('input[placeholder="Why approve this?"]', 'labels checked');
      await page.click('button:has-text("Approve & Save")');
      assert.deepEqual(JSON.parse(await page.textContent('[data-test=result]')), {
        reason: 'labels checked',
        decisions: { accepted: ['node/a/label', 'node/a/info'], rejected: ['node/b/label'] },
      });
    });
    assert.deepEqual(errors, []);
  } finally {
    await pages.close();
  }
  // kg-approval/vue (the composable too) for comparison: Vite emits the .wasm of the module it loads.
  files(app, { 'main.js': main('kg-approval/vue') });
  run(vite, ['build', '--logLevel', 'warn', '--outDir', 'dist-vue'], app, 'vite build (kg-approval/vue)');
  timings['.wasm files from kg-approval/vue (ReviewModal only)'] = emitted('dist-vue').length;
});

test('webpack prints two size warnings for the .wasm by default: what they are, and the README setting that answers them', () => {
  const dir = project.dir('webpack');
  files(dir, {
    'package.json': { name: 'webpack-consumer', private: true },
    'src/main.js': "import init, { diffText } from 'kg-approval';\ninit().then(() => { document.body.textContent = String(diffText('a b', 'a c').ops.length); });\n",
    'src/modal.js': "import { createApp, h } from 'vue';\nimport { ReviewModal } from 'kg-approval/vue';\ncreateApp({ render: () => h(ReviewModal, { review: window.REVIEW }) }).mount('#app');\n",
    'build.cjs': `const path = require('path');
const webpack = require('webpack');
const [entry, quiet] = process.argv.slice(2);
// README: webpack's size hints are for JavaScript; the .wasm is fetched and compiled as it streams.
const performance = { assetFilter: (file) => !/\\.(map|wasm)$/.test(file) };
webpack({ mode: 'production', context: __dirname, entry: \`./src/\${entry}.js\`, output: { path: path.join(__dirname, \`dist-\${entry}-\${quiet}\`) }, ...(quiet === 'quiet' ? { performance } : {}) }, (err, stats) => {
  if (err) throw err;
  const s = stats.toJson({ all: false, warnings: true, errors: true, assets: true });
  console.log(JSON.stringify({ warnings: s.warnings.map((w) => w.message.split('\\n')[0]), errors: s.errors.map((e) => e.message), assets: s.assets.map((a) => a.name) }));
});
`,
  });
  const build = (entry, quiet) => JSON.parse(run(process.execPath, ['build.cjs', entry, quiet], dir, `webpack ${entry} ${quiet}`));
  const plain = build('main', 'default');
  assert.deepEqual(plain.errors, []);
  assert.equal(plain.assets.filter((a) => a.endsWith('.wasm')).length, 1);
  assert.deepEqual(plain.warnings.map((w) => w.split(':')[0]), ['asset size limit', 'webpack performance recommendations'], 'the two warnings, about the .wasm');
  const quiet = build('main', 'quiet');
  assert.deepEqual([quiet.errors, quiet.warnings], [[], []], "with the README's performance.assetFilter: none");
  // webpack leaves the .wasm out of a page that shows reviews only, even from kg-approval/vue.
  const modal = build('modal', 'default');
  assert.deepEqual([modal.errors, modal.assets.filter((a) => a.endsWith('.wasm'))], [[], []]);
});

test('timings', (t) => {
  t.diagnostic(`timings (ms): ${JSON.stringify(timings)}`);
});
