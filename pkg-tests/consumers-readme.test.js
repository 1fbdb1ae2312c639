'use strict';
// The READMEs' samples, run as written with the packed tarball in the shared
// consumer install (support/consumers.js; extraction: support/samples.js):
// every `js` and `vue` block of the package's README (as shipped in the
// tarball) and the blocks of the repository's README marked `js sample` /
// `vue sample`.
//   - js: an ES module run by Node; each `// →` is checked against what the
//     line prints. The history server samples talk to the real server binary
//     (KG_URL, KG_TOKEN, KG_USER; as written they default to the one
//     `bash scripts/run.sh` serves).
//   - vue: a single-file component, type-checked (vue-tsc, strict, no
//     skipLibCheck), built with Vite, mounted with the props it declares, and
//     used in Chromium: the review it shows is decided, approved and saved.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { randomUUID } = require('crypto');
const { consumerProject, run, files, timings } = require('./support/consumers');
const { extractSamples, checkedScript } = require('./support/samples');
const { startServer, TOKENS, USERS } = require('./support/server');
const { launchBrowser, serveStatic } = require('./support/browser');
const { kg, repo } = require('./support/kg');

let project;
let server;
let samples;

test.before(async () => {
  project = consumerProject();
  server = await startServer();
  const shipped = fs.readFileSync(path.join(project.root, 'node_modules', 'kg-approval', 'README.md'), 'utf8');
  assert.equal(shipped, fs.readFileSync(path.join(repo, 'npm', 'README.md'), 'utf8'), 'the tarball ships npm/README.md');
  samples = [
    ...extractSamples(shipped, { all: true }).map((s) => ({ ...s, where: `npm/README.md:${s.line}` })),
    ...extractSamples(fs.readFileSync(path.join(repo, 'README.md'), 'utf8'), { all: false }).map((s) => ({ ...s, where: `README.md:${s.line}` })),
  ];
});

test.after(async () => {
  await server?.stop();
  project?.cleanup();
});

test("the READMEs' js samples run as written and print what they say", () => {
  const js = samples.filter((s) => s.lang === 'js');
  assert.ok(js.filter((s) => s.where.startsWith('npm')).length >= 12, 'the package README has its samples');
  assert.ok(js.some((s) => s.where.startsWith('README.md')), 'README.md marks some as samples');
  const dir = project.dir('readme-js');
  files(dir, { 'package.json': { name: 'readme-js', private: true, type: 'module' } });
  const env = { KG_URL: server.url, KG_TOKEN: TOKENS.ann, KG_USER: USERS.ann };
  let checks = 0;
  for (const sample of js) {
    const name = `${sample.where.replace(/[^\w]+/g, '-')}.mjs`;
    const { script, checks: n } = checkedScript(sample.code, sample.where);
    checks += n;
    fs.writeFileSync(path.join(dir, name), script);
    run(process.execPath, [name], dir, `node ${sample.where}`, env);
  }
  timings['js samples'] = js.length;
  timings['printed lines checked'] = checks;
  assert.ok(checks >= 40, `${checks} printed lines checked`);
});

test("the READMEs' Vue samples render as pasted (no top-level await; the composable loads the module itself), and a review is decided, approved and saved", async () => {
  const vue = samples.filter((s) => s.lang === 'vue');
  assert.ok(vue.length >= 3, 'the package README has its Vue samples');
  for (const sample of vue) assert.doesNotMatch(sample.code, /^await /m, `${sample.where}: no top-level await`);

  // What the samples' props are given: our server, a graph saved as version 1 there (one per
  // sample, in the page's URL), an AI proposal, and its review.
  const client = new kg.HistoryClient({ baseUrl: server.url, token: TOKENS.ann });
  const graph = { metadata: { title: 'Samples' }, nodes: [{ id: 'a', label: 'Alpha' }, { id: 'b', label: 'Beta' }], edges: [] };
  async function seeded() {
    const graphId = randomUUID();
    const seed = new kg.ApprovalSession(graph, { graphId });
    seed.propose({ metadata: { description: 'seeded' } }, { source: 'import' });
    assert.equal((await client.save(seed.approve({ user: USERS.ann }))).newVersion, 1);
    return graphId;
  }
  const proposal = { nodes: [{ id: 'a', label: 'Alpha 2' }, { id: 'b', label: 'Beta 2' }] };
  const review = JSON.parse(JSON.stringify(kg.reviewProposal(graph, proposal)));
  const props = { baseUrl: server.url, token: TOKENS.ann, user: USERS.ann, proposal, review };

  const app = project.dir('readme-vue');
  const names = vue.map((s, i) => `Sample${i}`);
  files(app, {
    'package.json': { name: 'readme-vue', private: true, type: 'module' },
    'tsconfig.json': {
      compilerOptions: { strict: true, noEmit: true, skipLibCheck: false, target: 'ES2022', module: 'ESNext', moduleResolution: 'bundler', lib: ['ES2022', 'DOM', 'DOM.Iterable'], types: ['vite/client'], jsx: 'preserve' },
      include: ['src/**/*.ts', 'src/**/*.vue'],
    },
    'vite.config.ts': "import { defineConfig } from 'vite';\nimport vue from '@vitejs/plugin-vue';\nexport default defineConfig({ plugins: [vue()] });\n",
    'index.html': '<!doctype html><html><head><meta charset="utf-8"><title>samples</title><link rel="icon" href="data:,"></head><body><div id="app"></div><script type="module" src="/src/main.ts"></script></body></html>\n',
    'src/props.json': props,
    // Each sample mounted alone, with the props it declares (the others are left out).
    'src/main.ts': `import { createApp, type Component } from 'vue';
import props from './props.json';
${names.map((n) => `import ${n} from './${n}.vue';`).join('\n')}

const samples: Component[] = [${names.join(', ')}];
const [index, graphId] = location.hash.slice(1).split('/');
const sample = samples[Number(index)] as Component & { props?: Record<string, unknown> };
const given = Object.fromEntries(Object.entries({ ...props, graphId }).filter(([key]) => key in (sample.props ?? {})));
createApp(sample, given).mount('#app');
`,
    ...Object.fromEntries(vue.map((s, i) => [`src/${names[i]}.vue`, s.code])),
  });
  run(project.bin('vue-tsc'), ['--noEmit', '-p', '.'], app, 'vue-tsc (the Vue samples)');
  run(project.bin('vite'), ['build', '--logLevel', 'warn'], app, 'vite build (the Vue samples)');

  const pages = await serveStatic({ '/': path.join(app, 'dist') });
  const chromium = await launchBrowser();
  const saved = [];
  try {
    for (const [i, sample] of vue.entries()) {
      const graphId = await seeded();
      const page = await chromium.browser.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => ['error', 'warning'].includes(m.type()) && errors.push(m.text()));
      await page.goto(`${pages.url}/index.html#${i}/${graphId}`);
      if (!sample.code.includes('<ReviewModal')) {
        // The parts alone: each shows what it is given.
        await page.waitForSelector('.text-diff ins', { timeout: 15_000 });
        assert.equal(await page.textContent('.text-diff ins'), 'western ', sample.where);
        assert.ok(await page.locator('[data-change]').count() >= 2, `${sample.where}: the change list`);
        assert.match(await page.textContent('#app'), /15 km/);
        assert.deepEqual(errors, [], sample.where);
        await page.close();
        continue;
      }
      await page.waitForSelector('[data-test=summary]', { timeout: 15_000 }).catch(async () => {
        assert.fail(`${sample.where}: no review shown; the page says ${JSON.stringify(await page.textContent('#app'))}; errors: ${errors.join(' | ')}`);
      });
      // The reviewer's keys: \`a\` accepts the change in focus and moves on to the next one.
      const changes = await page.locator('[data-change]').count();
      for (let n = 0; n < changes; n++) await page.keyboard.press('a');
      await page.waitForSelector('button[data-test=approve]:not([disabled])', { timeout: 5_000 }).catch(async () => {
        assert.fail(`${sample.where}: still to decide after ${changes} presses of a: ${await page.textContent('.modal-foot')}; errors: ${errors.join(' | ')}`);
      });
      await page.fill('input[placeholder="Why approve this?"]', 'checked against the sources');
      await page.click('button:has-text("Approve & Save")');
      await page.waitForFunction(() => /Saved as version \d|\d+ accepted, \d+ rejected/.test(document.querySelector('#app').textContent), null, { timeout: 15_000 });
      const said = (await page.textContent('#app')).trim();
      assert.match(said, /^(Saved as version 2|2 accepted, 0 rejected: checked against the sources)$/, sample.where);
      if (said.startsWith('Saved')) saved.push(graphId);
      assert.deepEqual(errors, [], sample.where);
      await page.close();
    }
  } finally {
    await chromium.close();
    await pages.close();
  }
  assert.ok(saved.length >= 2, 'both READMEs have a sample that saves');
  for (const graphId of saved) assert.deepEqual((await client.load(graphId)).nodes.map((n) => n.label), ['Alpha 2', 'Beta 2'], 'the approval saved');
});

test('timings', (t) => {
  t.diagnostic(`timings (ms): ${JSON.stringify(timings)}`);
});
