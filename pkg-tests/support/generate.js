'use strict';
// Deterministic, seeded graphs shaped like the fixtures: nodes with label,
// type, color, position, bibl, visible and a markdown `info`, some HTML
// nodes, some hidden ones, about two edges per node. Also used by benchmarks.

/** mulberry32: a small seeded PRNG. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ('graph knowledge node edge review approve merge field change history version audit ' +
  'strikk design kurs håndverk læring 日本語 テキスト café naïve 👩‍👩‍👧 résumé data model system value').split(' ');
const TYPES = ['fulltext', 'title', 'data-node', 'image', 'link', 'mermaid-diagram', 'css-node'];
const COLORS = ['#e8f4fd', '#f9f9f9', '#dbeafe', '#fde68a', 'lightblue', '#8b5a8c'];

function sentence(r, words) {
  const out = [];
  for (let i = 0; i < words; i++) out.push(WORDS[Math.floor(r() * WORDS.length)]);
  return out.join(' ');
}

function markdown(r, bytes) {
  const parts = [`## ${sentence(r, 3)}`];
  let size = parts[0].length;
  while (size < bytes) {
    const p = r() < 0.2 ? `- ${sentence(r, 6)}\n- ${sentence(r, 5)}` : sentence(r, 12 + Math.floor(r() * 30)) + '.';
    parts.push(p);
    size += p.length + 2;
  }
  return parts.join('\n\n');
}

function html(r, bytes) {
  const rows = ['<!DOCTYPE html>', '<html>', '<head><style>body { color: #333; }</style></head>', '<body>'];
  let size = 0;
  let i = 0;
  while (size < bytes) {
    const row = `  <div class="row-${i++}" data-x="${Math.floor(r() * 1000)}"><p>${sentence(r, 10)}</p></div>`;
    rows.push(row);
    size += row.length + 1;
  }
  rows.push('</body>', '</html>');
  return rows.join('\n');
}

/**
 * A graph of `nodes` nodes. Options: seed, infoBytes [min, max], htmlEvery,
 * htmlBytes [min, max], hiddenEvery, edgesPerNode.
 */
function generateGraph(nodes, opts = {}) {
  const r = rng(opts.seed ?? 1);
  const [infoMin, infoMax] = opts.infoBytes || [300, 5000];
  const [htmlMin, htmlMax] = opts.htmlBytes || [20000, 40000];
  const htmlEvery = opts.htmlEvery ?? 20;
  const hiddenEvery = opts.hiddenEvery ?? 13;
  const graph = {
    // No createdBy: a server checks that it names whoever saves the graph first.
    metadata: { title: `Generated graph ${nodes}`, description: sentence(r, 12), version: 1 },
    nodes: [],
    edges: [],
  };
  for (let i = 0; i < nodes; i++) {
    const isHtml = htmlEvery > 0 && i % htmlEvery === htmlEvery - 1;
    const node = {
      id: i % 3 === 0 ? `node-${i}` : `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      label: `${sentence(r, 3)} ${i}`,
      type: isHtml ? 'html-node' : TYPES[i % TYPES.length],
      color: COLORS[i % COLORS.length],
      info: isHtml ? html(r, htmlMin + r() * (htmlMax - htmlMin)) : markdown(r, infoMin + r() * (infoMax - infoMin)),
      bibl: r() < 0.3 ? [`ref ${i}`] : [],
      visible: !(hiddenEvery > 0 && i % hiddenEvery === 5),
      position: { x: Math.round(r() * 2000 - 1000), y: Math.round(r() * 2000 - 1000) },
    };
    if (i % 7 === 0) node.imageWidth = i % 2 ? '100%' : 400;
    if (i % 11 === 0) node.customField = { nested: [i, null, false, ''] };
    graph.nodes.push(node);
  }
  const edgesPerNode = opts.edgesPerNode ?? 2;
  const seen = new Set();
  for (let i = 0; i < nodes && nodes > 1; i++) {
    for (let k = 0; k < edgesPerNode; k++) {
      const j = Math.floor(r() * nodes);
      if (j === i) continue;
      const source = graph.nodes[i].id;
      const target = graph.nodes[j].id;
      const id = `${source}_${target}`;
      if (seen.has(id)) continue;
      seen.add(id);
      graph.edges.push(r() < 0.5 ? { id, source, target, label: sentence(r, 2) } : { id, source, target });
    }
  }
  return graph;
}

/**
 * A proposal like the AI's: `edits` visible nodes renamed, a paragraph of
 * their info rewritten, moved; one node added with an edge; one removed.
 */
function generateProposal(graph, opts = {}) {
  const r = rng(opts.seed ?? 7);
  const edits = opts.edits ?? 25;
  const visible = graph.nodes.filter((n) => n.visible !== false && n.type !== 'html-node');
  const picked = new Set();
  while (picked.size < Math.min(edits, visible.length - 1)) picked.add(visible[Math.floor(r() * visible.length)]);
  const nodes = [...picked].map((n) => {
    const paragraphs = n.info.split('\n\n');
    paragraphs[paragraphs.length - 1] = sentence(r, 15) + '.';
    return { id: n.id, label: `${n.label} (edited)`, info: paragraphs.join('\n\n'), position: { x: n.position.x + 10 } };
  });
  const anchor = visible.find((n) => !picked.has(n));
  const removed = visible.filter((n) => !picked.has(n) && n !== anchor).pop();
  nodes.push({ id: 'new-node-1', label: 'A new node', type: 'fulltext', info: sentence(r, 20), visible: true, position: { x: 0, y: 0 } });
  return {
    nodes,
    edges: [{ source: anchor.id, target: 'new-node-1', label: 'relates to' }],
    removeNodeIds: removed ? [removed.id] : [],
  };
}

module.exports = { rng, generateGraph, generateProposal, markdown, html };
