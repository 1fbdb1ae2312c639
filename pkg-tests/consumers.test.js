'use strict';
// The package as its users get it: `npm pack pkg`, the tarball installed with
// npm into a fresh project (support/consumers.js: one install of the tools,
// from pkg-tests/consumers/package-lock.json, shared by every consumer test),
// and five consumers of it, each asserting a real result:
//   (a) Vite + Vue 3 + TypeScript: `vue-tsc -b && vite build`, the build
//       served and opened in Chromium — a review in the package's modal, one
//       change rejected, an approval, asserted on the page;
//   (b) Node ESM with named imports;   (c) Node CommonJS require;
//   (d) TypeScript with moduleResolution node16 (ESM and CommonJS files);
//   (e) vitest with no config.
// Frameworks (Next.js, Nuxt, jest + jsdom, webpack) are in
// consumers-frameworks.test.js, strict types in consumers-types.test.js, the
// READMEs' samples in consumers-readme.test.js.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { consumerProject, run, files, timings } = require('./support/consumers');
const { launchBrowser, serveStatic } = require('./support/browser');

let project;
let dir;

const GRAPH = `{ metadata: { title: 'T' }, nodes: [{ id: 'a', label: 'Alpha', info: 'old text' }, { id: 'b', label: 'Beta' }, { id: 'h', visible: false }], edges: [] }`;
const PROPOSAL = `{ nodes: [{ id: 'a', label: 'Alpha 2', info: 'new text' }, { id: 'b', label: 'Beta 2' }] }`;

test.before(() => {
  project = consumerProject();
  dir = project.dir('consumers');
});

test.after(() => project?.cleanup());

test('the tarball: one package with README, LICENSE, both entries, types, the .wasm and kg-approval/vue', () => {
  const installed = path.join(project.root, 'node_modules', 'kg-approval');
  const pkg = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8'));
  assert.equal(pkg.name, 'kg-approval');
  for (const file of ['README.md', 'LICENSE', 'index.js', 'index.node.js', 'index.node.cjs', 'index.d.ts', 'index.d.cts', 'kg_approval_bg.wasm', 'node/wasm.cjs', 'vue/index.js', 'vue/index.cjs', 'vue/index.d.ts', 'vue/components.js', 'vue/components.cjs', 'vue/components.d.ts']) {
    assert.ok(fs.existsSync(path.join(installed, file)), file);
  }
  assert.match(fs.readFileSync(path.join(installed, 'LICENSE'), 'utf8'), /MIT License[\s\S]*Apache License/);
  assert.deepEqual(pkg.sideEffects, ['./vue/index.js', './vue/index.cjs']);
  assert.deepEqual(pkg.peerDependenciesMeta, { vue: { optional: true } });
});

test('(b) Node ESM: named imports, the same instance as require, kg-approval/vue without a .vue loader', () => {
  files(dir, {
    'esm/package.json': { type: 'module' },
    'esm/main.js': `import { createRequire } from 'node:module';
import init, { ApprovalSession, reviewProposal, KgApprovalError } from 'kg-approval';
import { useApprovalSession, ReviewModal } from 'kg-approval/vue';
await init();
const session = new ApprovalSession(${GRAPH}, { graphId: 'g' });
const review = session.propose(${PROPOSAL});
let code;
try { reviewProposal({ nodes: {} }, {}); } catch (e) { code = e instanceof KgApprovalError && e.code; }
const same = createRequire(import.meta.url)('kg-approval').ApprovalSession === ApprovalSession;
console.log(JSON.stringify({ fields: review.summary.fieldsChanged, code, same, vue: typeof useApprovalSession + ' ' + typeof ReviewModal }));
`,
  });
  const out = JSON.parse(run(process.execPath, ['main.js'], path.join(dir, 'esm'), 'node ESM'));
  assert.deepEqual(out, { fields: 3, code: 'invalid_graph', same: true, vue: 'function object' });
});

test('(c) Node CommonJS: require gives the whole API synchronously', () => {
  files(dir, {
    'cjs/package.json': { type: 'commonjs' },
    'cjs/main.js': `const { ApprovalSession, diffText, KgApprovalError } = require('kg-approval');
const { useApprovalSession } = require('kg-approval/vue');
const session = new ApprovalSession(${GRAPH}, { graphId: 'g' });
const review = session.propose(${PROPOSAL});
session.reject('node/b/label');
const approved = session.approve({ user: 'ann@example.com' });
console.log(JSON.stringify({ fields: review.summary.fieldsChanged, rejected: approved.audit.rejected, ops: diffText('a b', 'a c').ops.length, error: typeof KgApprovalError, vue: typeof useApprovalSession }));
`,
  });
  const out = JSON.parse(run(process.execPath, ['main.js'], path.join(dir, 'cjs'), 'node CJS'));
  assert.deepEqual(out, { fields: 3, rejected: ['node/b/label'], ops: 3, error: 'function', vue: 'function' });
});

test('(d) TypeScript, moduleResolution node16: ESM and CommonJS files type-check, mistakes do not', () => {
  const use = `const session = new ApprovalSession(${GRAPH}, { graphId: 'g' });
const review: Review = session.propose(${PROPOSAL});
const fields: number = review.summary.fieldsChanged;
const code: ErrorCode = 'not_initialized';
// @ts-expect-error: approve needs a user
session.approve({});
void fields, code, KgApprovalError;
`;
  files(dir, {
    'ts16/package.json': { type: 'module' },
    'ts16/tsconfig.json': {
      compilerOptions: { strict: true, noEmit: true, module: 'node16', moduleResolution: 'node16', target: 'ES2022', lib: ['ES2022', 'ESNext.Disposable'], types: [], skipLibCheck: false },
      files: ['esm.mts', 'cjs.cts'],
    },
    'ts16/esm.mts': `import init, { ApprovalSession, KgApprovalError, type Review, type ErrorCode } from 'kg-approval';\nawait init();\n${use}`,
    'ts16/cjs.cts': `import { ApprovalSession, KgApprovalError, init, type Review, type ErrorCode } from 'kg-approval';\nvoid init;\n${use}`,
  });
  run(process.execPath, [path.join(project.root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], path.join(dir, 'ts16'), 'tsc node16');
});

test('(e) vitest with no config: the package and kg-approval/vue just work', () => {
  files(dir, {
    'vt/package.json': { type: 'module' },
    'vt/review.test.js': `import { test, expect } from 'vitest';
import { ApprovalSession } from 'kg-approval';
import { useApprovalSession } from 'kg-approval/vue';
test('a review', () => {
  const session = new ApprovalSession(${GRAPH}, { graphId: 'g' });
  expect(session.propose(${PROPOSAL}).summary.fieldsChanged).toBe(3);
  const storage = { getItem: () => null, setItem() {}, removeItem() {} };
  expect(useApprovalSession({ client: { baseUrl: 'http://127.0.0.1:1' }, user: 'ann', storage }).state.save.status).toBe('idle');
});
`,
  });
  const out = run(process.execPath, [path.join(project.root, 'node_modules', 'vitest', 'vitest.mjs'), 'run'], path.join(dir, 'vt'), 'vitest run');
  assert.match(out, /1 passed/);
});

test('(a) Vite + Vue 3 + TypeScript: vue-tsc -b, vite build, a review and an approval in Chromium', async () => {
  const app = path.join(dir, 'app');
  files(app, {
    'package.json': { type: 'module', private: true },
    'tsconfig.json': {
      compilerOptions: {
        strict: true, noEmit: true, target: 'ES2022', module: 'ESNext', moduleResolution: 'bundler', lib: ['ES2022', 'DOM', 'DOM.Iterable', 'ESNext.Disposable'],
        jsx: 'preserve', types: ['vite/client'], skipLibCheck: true, tsBuildInfoFile: './node_modules/.tmp/tsconfig.tsbuildinfo',
      },
      include: ['src/**/*.ts', 'src/**/*.vue'],
    },
    'vite.config.ts': `import { defineConfig } from 'vite';\nimport vue from '@vitejs/plugin-vue';\nexport default defineConfig({ plugins: [vue()] });\n`,
    'index.html': '<!doctype html><html><head><meta charset="utf-8"><title>consumer</title></head><body><div id="app"></div><script type="module" src="/src/main.ts"></script></body></html>\n',
    'src/main.ts': `import { createApp } from 'vue';\nimport App from './App.vue';\ncreateApp(App).mount('#app');\n`,
    'src/App.vue': `<script setup lang="ts">
import { ref, shallowRef } from 'vue';
import init, { ApprovalSession, KgApprovalError, type Review, type Approved } from 'kg-approval';
import { ReviewModal } from 'kg-approval/vue';

// Deep refs of the package's types: no TS2589 (JSON values are typed shallowly).
const review = ref<Review | null>(null);
const approved = shallowRef<Approved | null>(null);
const labels = ref<string[]>([]);
const beforeInit = ref('');
let session: ApprovalSession | undefined;

try {
  new ApprovalSession({ nodes: [] });
  beforeInit.value = 'no error';
} catch (e) {
  beforeInit.value = e instanceof KgApprovalError ? e.code : String(e);
}

init().then(() => {
  session = new ApprovalSession(${GRAPH}, { graphId: 'g' });
  review.value = session.propose(${PROPOSAL}, { source: 'ai', model: 'consumer-model' });
});

function decide(id: string, ok: boolean) {
  if (ok) session!.accept(id);
  else session!.reject(id);
  review.value = session!.review() ?? null;
}
function decideNode(id: string, ok: boolean) {
  if (ok) session!.acceptNode(id);
  else session!.rejectNode(id);
  review.value = session!.review() ?? null;
}
function approve(reason: string) {
  approved.value = session!.approve({ user: 'ann@example.com', reason });
  labels.value = approved.value.graph.nodes.map((n) => n.label ?? '(none)');
  review.value = null;
}
</script>

<template>
  <p data-test="before-init">{{ beforeInit }}</p>
  <ReviewModal v-if="review" :review="review" kind="proposal" @decide="decide" @decide-node="decideNode" @approve="approve" @cancel="review = null" />
  <p v-if="approved" data-test="approved">{{ approved.audit.accepted.length }} accepted, {{ approved.audit.rejected.length }} rejected by {{ approved.audit.user }} ({{ approved.audit.reason }}): {{ labels.join(', ') }}</p>
</template>
`,
    'src/typed.ts': `// Only type-checked: the composable's types, with HistoryClient options or a client.
import { HistoryClient } from 'kg-approval';
import { useApprovalSession, type ApprovalSessionApi, type SaveStatus } from 'kg-approval/vue';

export function fromOptions(): ApprovalSessionApi {
  const kg = useApprovalSession({ client: { baseUrl: 'https://example.org', token: 't' }, user: () => 'ann@example.com' });
  const status: SaveStatus = kg.state.save.status;
  const fields: number | undefined = kg.state.review?.summary.fieldsChanged;
  void status, fields;
  return kg;
}
export const fromClient = () => useApprovalSession({ client: () => new HistoryClient({ baseUrl: 'https://example.org' }), user: 'ann' });
export function mistakes() {
  // @ts-expect-error: the user is required
  useApprovalSession({ client: null });
}
`,
  });
  run(project.bin('vue-tsc'), ['-b'], app, 'vue-tsc -b');
  run(project.bin('vite'), ['build', '--logLevel', 'warn'], app, 'vite build');
  const wasm = fs.readdirSync(path.join(app, 'dist', 'assets')).filter((f) => f.endsWith('.wasm'));
  assert.equal(wasm.length, 1, 'the .wasm is emitted as an asset');

  const pages = await serveStatic({ '/': path.join(app, 'dist') });
  const chromium = await launchBrowser();
  try {
    const started = Date.now();
    const page = await chromium.browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${pages.url}/index.html`);
    await page.waitForSelector('[data-change="node/b/label"]');
    assert.equal(await page.textContent('[data-test=before-init]'), 'not_initialized');
    assert.match(await page.textContent('[data-test=summary]'), /2 nodes changed — 3 field changes/);
    // The modal's own scoped styles, with no CSS from the app.
    assert.equal(await page.evaluate(() => getComputedStyle(document.querySelector('.backdrop')).position), 'fixed');
    assert.equal(await page.locator('style[data-kg-approval]').count(), 1);
    await page.uncheck('input[data-accept="node/b/label"]');
    await page.fill('input[placeholder="Why approve this?"]', 'labels checked');
    await page.click('button:has-text("Approve & Save")');
    const text = await page.textContent('[data-test=approved]');
    assert.equal(text, '2 accepted, 1 rejected by ann@example.com (labels checked): Alpha 2, Beta, (none)');
    assert.deepEqual(errors, []);
    timings['chromium page'] = Date.now() - started;
  } finally {
    await chromium.close();
    await pages.close();
  }
});

test('timings', (t) => {
  t.diagnostic(`timings (ms): ${JSON.stringify(timings)}`);
});
