'use strict';
// The main job until the history server and the Vue app exist: review an
// AI proposal on a real graph, reject one change, approve, print the audit.
//   node examples/demo.js [graph.json]
const fs = require('fs');
const path = require('path');
const kg = require('../pkg/node');
const { generateGraph } = require('../pkg-tests/support/generate');

function loadGraph() {
  const candidates = [process.argv[2], path.resolve(__dirname, '..', '..', 'shared', 'fixtures', 'vegvisr', 'stine-oksvold-design-graf-dyp.json')];
  for (const file of candidates) {
    if (file && fs.existsSync(file)) {
      const doc = JSON.parse(fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, ''));
      return { name: path.basename(file), graph: doc.graphData || doc };
    }
  }
  return { name: 'a generated graph (fixtures not found)', graph: generateGraph(20, { seed: 1, infoBytes: [200, 600], htmlEvery: 0 }) };
}

const { name, graph } = loadGraph();
const [first, second, third] = graph.nodes;
const word = (second.info || 'text').split(/\s+/).find((w) => w.length > 5) || second.info;
const proposal = {
  nodes: [
    { id: first.id, label: `${first.label} (AI)`, position: { ...first.position } },
    { id: 'ai-summary', label: 'Summary', type: 'fulltext', info: 'A short **summary** written by the AI.' },
    { id: third.id, color: '#ffeeaa', updatedAt: '1999-01-01T00:00:00Z' },
  ],
  searchReplace: [{ nodeId: second.id, search: word, replace: word.toUpperCase() }],
  edges: [{ source: first.id, target: 'ai-summary', label: 'summarised by' }],
};

const session = new kg.ApprovalSession(graph);
const review = session.propose(proposal, { source: 'ai', model: 'demo-model', reason: 'tidy labels and add a summary', runId: 'demo-1' });

console.log(`Graph: ${name} — ${graph.nodes.length} nodes, ${(graph.edges || []).length} edges, version ${session.baseVersion}`);
console.log(`\nReview of proposal ${review.proposalId}:`, JSON.stringify(review.summary));
for (const c of review.changes) {
  const show = (v) => (v === undefined ? '(absent)' : JSON.stringify(v).slice(0, 70));
  console.log(`  [${c.id}] ${c.kind} ${c.target} "${c.label}"${c.field ? ` .${c.field}` : ''}: ${show(c.old)} → ${show(c.new)}`);
  if (c.text && c.field === 'info') {
    const edits = c.text.ops.filter((o) => o.op !== 'equal').map((o) => `${o.op === 'insert' ? '+' : '-'}${JSON.stringify(o.text)}`);
    console.log(`      ${c.text.granularity} diff: ${edits.join(' ')}`);
  }
}
for (const w of review.warnings) console.log(`  warning ${w.code}: ${w.message}`);

const colour = review.changes.find((c) => c.field === 'color');
console.log(`\nThe reviewer rejects ${colour.id}; it changes: ${JSON.stringify(session.reject(colour.id))}`);
const approved = session.approve({ user: 'reviewer@example.com', reason: 'label and summary are good; keep the colour' });
console.log(`Approved at ${approved.audit.at} by ${approved.audit.user}: changed nodes ${JSON.stringify(approved.changedNodeIds)}`);
console.log('\nAudit entry:');
console.log(JSON.stringify(approved.audit, null, 2));
