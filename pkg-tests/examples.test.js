'use strict';
// The main job's demo data on any clone: the project's own graphs in
// examples/graphs, seeded with --seed as scripts/run.sh does (with ../shared
// nowhere in sight), load whole — hidden node, html and mermaid nodes,
// labelled edges, Norwegian, Japanese, Arabic and emoji — and examples/demo.js
// reviews, approves and saves one of them.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { kg, repo } = require('./support/kg');
const { startServer, TOKENS } = require('./support/server');

const GRAPHS = path.join(repo, 'examples', 'graphs');

test('examples/graphs: seeded, read back as written, and the demo saves an approval on one', async () => {
  // The token and user scripts/run.sh gives the demo.
  const srv = await startServer(['--seed', GRAPHS, '--token', 'demo-token-0001=demo@example.com:read,write,audit']);
  try {
    const { graphs } = await (await fetch(`${srv.url}/getknowgraphs`)).json();
    const files = fs.readdirSync(GRAPHS).filter((f) => f.endsWith('.json')).sort();
    assert.equal(graphs.length, files.length);
    const client = new kg.HistoryClient({ baseUrl: srv.url, token: TOKENS.ann, retries: 1 });
    const demo = graphs.find((g) => g.title.startsWith('Kunnskapsgraf: gjennomgang'));
    const graph = await client.load(demo.id);
    const written = JSON.parse(fs.readFileSync(path.join(GRAPHS, 'kg-approval-demo.json'), 'utf8'));
    assert.deepEqual(graph.nodes, written.nodes);
    assert.deepEqual(graph.edges, written.edges);
    const types = new Set(graph.nodes.map((n) => n.type));
    for (const t of ['html-node', 'mermaid-diagram', 'fulltext']) assert.ok(types.has(t), t);
    assert.ok(graph.nodes.some((n) => n.visible === false), 'a hidden node');
    const text = JSON.stringify(graph);
    for (const sample of ['Gjennomgang før lagring', '監査ログ', 'مراجعة التعديلات', '🌍']) assert.ok(text.includes(sample), sample);
    assert.ok(graph.edges.every((e) => e.label), 'every edge is labelled');

    const run = spawnSync(process.execPath, [path.join(repo, 'examples', 'demo.js'), '--server', srv.url, '--token', 'demo-token-0001', '--graph-title', 'Kunnskapsgraf: gjennomgang'], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /Saved as version 2\./);
    assert.match(run.stdout, /Hash chain: intact over 2 versions\./);
    assert.match(run.stdout, /: corrected \(change\), the AI proposed "/, 'the correction and the AI value beside it');
    assert.match(run.stdout, /color: rejected \(change\) — "The colours follow the course palette\."/);
    const after = await client.load(demo.id);
    assert.equal(after.nodes.find((n) => n.id === 'n-hidden').visible, false, 'the hidden node survives the save');
  } finally {
    await srv.close();
  }
});
