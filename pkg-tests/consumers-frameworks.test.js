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

test('timings', (t) => {
  t.diagnostic(`timings (ms): ${JSON.stringify(timings)}`);
});
