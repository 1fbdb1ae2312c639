'use strict';
// The package's declarations in strict TypeScript projects that check
// libraries too (skipLibCheck: false), in the shared consumer install
// (support/consumers.js): lib ES2022 + DOM (no ESNext.Disposable), ESNext,
// with and without @types/node; moduleResolution bundler and nodenext with
// verbatimModuleSyntax; and vue-tsc on a single-file component. Mistakes must
// still be errors (@ts-expect-error fails the compile when none is found).
const test = require('node:test');
const path = require('path');
const { consumerProject, run, files, timings } = require('./support/consumers');

let project;
test.before(() => {
  project = consumerProject();
});
test.after(() => project?.cleanup());

const STRICT = { strict: true, noEmit: true, skipLibCheck: false, target: 'ES2022', noUnusedLocals: true, exactOptionalPropertyTypes: true };

// Typical use of everything the package exports, in one file.
const USE = `const graph = { metadata: { version: 1 }, nodes: [{ id: 'a', label: 'A' }], edges: [] };
const session = new ApprovalSession(graph, { graphId: 'g', decisions: 'explicit' });
const review: Review = session.propose({ nodes: [{ id: 'a', label: 'B' }] }, { source: 'ai', model: 'm' });
session.acceptMany(review.changes.map((c) => c.id), { filter: 'all' });
session.comment('node/a/label', 'checked');
const draft: Draft = session.draft();
void session.resume(draft);
const approved: Approved = session.approve({ user: 'ann@example.com', reason: 'why' });
const body: string | null = deltaBody(approved);            // the hash is optional
const whole: string = saveBody(approved);
const withHash: string | null = deltaBody(approved, 'sha256-…');
const diff: TextDiff = diffText('a b', 'a c', { granularity: 'word' });
const versions: GraphDiff = diffGraphs(graph, approved.graph);
const memory = wasmMemory();
session[Symbol.dispose]();                                  // lib ES2022: TS2550 before
const client = new HistoryClient({ baseUrl: 'https://example.org', headers: { 'X-Session-Token': 't' } });
client[Symbol.dispose]();
const opened: Promise<InstanceType<typeof ApprovalSession>> = client.openSession('g', { decisions: 'explicit', version: 3 });
let code: ErrorCode = 'service_mismatch';
code = 'no_graph';
const error = new KgApprovalError('invalid_argument', 'mine', { path: 'x' });
void [body, whole, withHash, diff, versions, memory, opened, code, error, initSync, init];
// @ts-expect-error: approve needs a user
session.approve({});
// @ts-expect-error: openSession takes no service (the client knows it)
void client.openSession('g', { service: 'faithful' });
// @ts-expect-error: not an error code
code = 'no_such_code';
`;

const VUE = `const kg: ApprovalSessionApi = useApprovalSession({ user: 'ann@example.com' });   // no client: a graph in, approvals out
async function reviewGraph(graph: GraphData): Promise<Approved> {
  await kg.openGraph('g', { graph });
  kg.propose({ nodes: [{ id: 'a', label: 'B' }] });
  kg.decideMany(kg.state.review?.changes.map((c) => c.id) ?? [], true);
  return kg.approve('checked');
}
const saved = useApprovalSession({ client: { baseUrl: 'https://example.org' }, user: () => 'ann@example.com' });
const status: SaveStatus = saved.state.save.status;
const decisions: ReviewDecisions = { accepted: [], rejected: [] };
void [reviewGraph, status, decisions, ReviewModal, ChangeList, TextDiffView, ValueView, Only, forPeople('x'), percent(0.5), isStamp];
// @ts-expect-error: the user is required
useApprovalSession({});
`;

test('Types: [Symbol.dispose]() is not TS2550 and deltaBody(approved) type-checks, with skipLibCheck false and lib ES2022 + DOM, ESNext, @types/node; bundler and nodenext', () => {
  const dir = project.dir('types');
  const imports = `import init, { ApprovalSession, HistoryClient, KgApprovalError, deltaBody, diffGraphs, diffText, initSync, saveBody, wasmMemory } from 'kg-approval';
import type { Approved, Draft, ErrorCode, GraphData, GraphDiff, Review, TextDiff } from 'kg-approval';
import { useApprovalSession, forPeople, percent, isStamp, ReviewModal, ChangeList, TextDiffView, ValueView } from 'kg-approval/vue';
import type { ApprovalSessionApi, SaveStatus, ReviewDecisions } from 'kg-approval/vue';
import { ReviewModal as Only } from 'kg-approval/vue/components';
`;
  const config = (compilerOptions, include) => ({ compilerOptions: { ...STRICT, ...compilerOptions }, files: include });
  files(dir, {
    'package.json': { name: 'types-consumer', private: true, type: 'module' },
    'use.ts': `${imports}${USE}${VUE}`,
    'use.mts': `${imports}${USE}${VUE}`,
    // CommonJS (require's declarations, no default export), as verbatimModuleSyntax has it written.
    'use.cts': `import type { Approved, Draft, ErrorCode, GraphData, GraphDiff, Review, TextDiff } from 'kg-approval';
import type { ApprovalSessionApi, SaveStatus, ReviewDecisions } from 'kg-approval/vue';
import api = require('kg-approval');
import kgVue = require('kg-approval/vue');
import components = require('kg-approval/vue/components');
const { ApprovalSession, HistoryClient, KgApprovalError, deltaBody, diffGraphs, diffText, init, initSync, saveBody, wasmMemory } = api;
const { useApprovalSession, forPeople, percent, isStamp, ReviewModal, ChangeList, TextDiffView, ValueView } = kgVue;
const Only = components.ReviewModal;
${USE}${VUE}`,
    'using.ts': `import { ApprovalSession } from 'kg-approval';\n{\n  using session = new ApprovalSession({ nodes: [] });\n  void session.graph();\n}\n`,
    'tsconfig.es2022.json': config({ module: 'ESNext', moduleResolution: 'bundler', lib: ['ES2022', 'DOM'], types: [] }, ['use.ts']),
    'tsconfig.esnext.json': config({ module: 'ESNext', moduleResolution: 'bundler', lib: ['ESNext', 'DOM'], types: [] }, ['use.ts', 'using.ts']),
    'tsconfig.node.json': config({ module: 'ESNext', moduleResolution: 'bundler', lib: ['ES2022', 'DOM'], types: ['node'] }, ['use.ts']),
    'tsconfig.nodenext.json': config({ module: 'nodenext', moduleResolution: 'nodenext', verbatimModuleSyntax: true, lib: ['ES2022', 'DOM'], types: [] }, ['use.mts', 'use.cts']),
  });
  const tsc = path.join(project.root, 'node_modules', 'typescript', 'bin', 'tsc');
  // One process for the four (tsc --build): each still checked on its own.
  run(process.execPath, [tsc, '-b', ...['es2022', 'esnext', 'node', 'nodenext'].map((name) => `tsconfig.${name}.json`)], dir, 'tsc -b, four projects (skipLibCheck false)');
});

test('Types: a single-file component with the modal and the composable, vue-tsc strict without skipLibCheck', () => {
  const dir = project.dir('vue-types');
  files(dir, {
    'package.json': { name: 'vue-types-consumer', private: true, type: 'module' },
    'tsconfig.json': { compilerOptions: { ...STRICT, module: 'ESNext', moduleResolution: 'bundler', lib: ['ES2022', 'DOM'], types: [], jsx: 'preserve' }, include: ['*.vue', 'env.d.ts'] },
    'env.d.ts': "declare module '*.vue' {\n  import type { DefineComponent } from 'vue';\n  const component: DefineComponent;\n  export default component;\n}\n",
    'Review.vue': `<script setup lang="ts">
import { onMounted } from 'vue';
import { useApprovalSession, ReviewModal, type ReviewDecisions } from 'kg-approval/vue';

const props = defineProps<{ graphId: string }>();
const kg = useApprovalSession({ client: { baseUrl: 'https://example.org' }, user: () => 'ann@example.com' });
onMounted(() => kg.openGraph(props.graphId));
function approved(reason: string, decisions: ReviewDecisions) {
  void decisions.accepted.length;
  void kg.approveAndSave(reason);
}
</script>

<template>
  <ReviewModal v-if="kg.state.review" :review="kg.state.review" :kind="kg.state.reviewKind ?? 'proposal'"
    :decisions="kg.state.decisions" :reason="kg.state.reason" :notice="kg.state.resumed" @update:reason="kg.setReason"
    @decide="kg.decide" @decide-node="kg.decideNode" @decide-many="kg.decideMany"
    @correct="kg.correct" @comment="kg.comment" @approve="approved" @cancel="kg.cancel" />
</template>
`,
  });
  run(project.bin('vue-tsc'), ['--noEmit', '-p', '.'], dir, 'vue-tsc (skipLibCheck false)');
});

test('timings', (t) => {
  t.diagnostic(`timings (ms): ${JSON.stringify(timings)}`);
});
