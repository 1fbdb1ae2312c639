'use strict';
// Review an AI proposal on a real graph with explicit decisions (every change
// starts undecided): reject one change with a comment, correct one, accept
// the rest, approve, and — given a running history server — save it and read
// the history back.
//   node examples/demo.js [--server URL --token TOKEN (--graph-id ID | --graph-title PREFIX)] [graph.json]
const fs = require('fs');
const path = require('path');
const kg = require('kg-approval');
const { generateGraph } = require('../pkg-tests/support/generate');

const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args.splice(i, 2)[1] : undefined;
};
const serverUrl = option('--server');
const token = option('--token');
const graphTitle = option('--graph-title');
let graphIdArg = option('--graph-id');

function loadLocalGraph() {
  const candidates = [
    args[0],
    path.resolve(__dirname, '..', '..', 'shared', 'fixtures', 'vegvisr', 'stine-oksvold-design-graf-dyp.json'),
    path.join(__dirname, 'graphs', 'kg-approval-demo.json'),
  ];
  for (const file of candidates) {
    if (file && fs.existsSync(file)) {
      const doc = JSON.parse(fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, ''));
      return { name: path.basename(file), graph: doc.graphData || doc };
    }
  }
  return { name: 'a generated graph (fixtures not found)', graph: generateGraph(20, { seed: 1, infoBytes: [200, 600], htmlEvery: 0 }) };
}

function proposalFor(graph) {
  const [first, second, third] = graph.nodes;
  const word = (second.info || 'text').split(/\s+/).find((w) => w.length > 5) || second.info;
  return {
    nodes: [
      { id: first.id, label: `${first.label} (AI)`, position: { ...first.position } },
      { id: 'ai-summary', label: 'Summary', type: 'fulltext', info: 'A short **summary** written by the AI.' },
      { id: third.id, color: '#ffeeaa', updatedAt: '1999-01-01T00:00:00Z' },
    ],
    searchReplace: [{ nodeId: second.id, search: word, replace: word.toUpperCase() }],
    edges: [{ source: first.id, target: 'ai-summary', label: 'summarised by' }],
  };
}

async function main() {
  const client = serverUrl && new kg.HistoryClient({ baseUrl: serverUrl, token });
  if (client && !graphIdArg) {
    // GET /getknowgraphs is this project's server's list of graphs.
    const { graphs } = await (await fetch(`${serverUrl}/getknowgraphs`)).json();
    const found = graphs.find((g) => String(g.title ?? '').startsWith(graphTitle ?? '')) || graphs[0];
    if (!found) throw new Error(`no graph on ${serverUrl}`);
    graphIdArg = found.id;
  }
  const { name, graph } = client ? { name: `graph ${graphIdArg} on ${serverUrl}`, graph: await client.load(graphIdArg) } : loadLocalGraph();
  const session = new kg.ApprovalSession(graph, { ...(graphIdArg ? { graphId: graphIdArg } : {}), decisions: 'explicit' });
  const review = session.propose(proposalFor(graph), { source: 'ai', model: 'demo-model', reason: 'tidy labels and add a summary', runId: 'demo-1' });

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
  session.comment(colour.id, 'The colours follow the course palette.');
  const label = review.changes.find((c) => c.field === 'label' && c.kind === 'changed');
  console.log(`and corrects ${label.id}: the AI proposed ${JSON.stringify(label.new)}`);
  session.correct(label.id, `${label.old} (reviewed)`);
  const rest = session.review().changes.filter((c) => c.accepted === null).map((c) => c.id);
  session.acceptMany(rest, { filter: 'the rest, one by one on screen' });
  const user = client ? 'demo@example.com' : 'reviewer@example.com';
  const approved = session.approve({ user, reason: 'label and summary are good; keep the colour' });
  console.log(`Approved at ${approved.audit.at} by ${approved.audit.user}: changed nodes ${JSON.stringify(approved.changedNodeIds)}`);
  for (const [id, d] of Object.entries(approved.audit.decisions)) {
    console.log(`  ${id}: ${d.decision} (${d.decidedBy}${d.filter ? `: ${d.filter}` : ''})${d.proposed !== undefined ? `, the AI proposed ${JSON.stringify(d.proposed)}` : ''}${d.comment ? ` — "${d.comment}"` : ''}`);
  }

  if (!client) {
    console.log('\nAudit entry:');
    console.log(JSON.stringify(approved.audit, null, 2));
    return;
  }
  const { newVersion } = await client.save(approved);
  session.markSaved(approved.audit.approvalId, newVersion);
  console.log(`Saved as version ${newVersion}. History:`);
  for (const h of await client.history(graphIdArg)) console.log(`  v${h.version} ${h.timestamp} ${h.user} [${h.source}] ${h.reason ?? ''}`);
  const verify = await client.verify(graphIdArg);
  console.log(`Hash chain: ${verify.ok ? 'intact' : `broken at version ${verify.firstBroken.version}`} over ${verify.versions} versions.`);
}

main().catch((e) => {
  console.error(`${e.code ?? 'error'}: ${e.message}`);
  process.exit(1);
});
