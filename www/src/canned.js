// Canned AI proposals for any graph, shaped like graph_update_current output:
// a multi-node edit, a rename, a long-text rewrite, a new node with an edge, a
// removal, a search/replace, one that tells its provenance (model, confidence,
// rule id) and one that tries to write a reserved field.
export function cannedProposals(graph) {
  const visible = graph.nodes.filter((n) => n.visible !== false);
  const first = visible[0] ?? graph.nodes[0];
  if (!first) return [{ name: 'Add a first node', proposal: { nodes: [{ id: 'ai-node-1', label: 'A first node', type: 'fulltext', info: 'Written by the AI.' }] } }];
  const name = (n) => String(n.label ?? n.id);
  const long = visible.filter((n) => typeof n.info === 'string' && n.info.length > 40).sort((a, b) => b.info.length - a.info.length)[0];
  const word = long?.info.split(/\s+/).find((w) => /^\p{L}{5,}$/u.test(w));
  const second = visible.find((n) => n !== first && n !== long);
  const last = [...visible].reverse().find((n) => n !== first && n !== long);
  const moved = (n) => ({ x: (n.position?.x ?? 0) + 40, y: (n.position?.y ?? 0) + 20 });
  const list = [];
  list.push({
    name: 'Multi-node edit: rename, rewrite, move',
    // One patch per node: the first node may also be the one with the longest text.
    proposal: { nodes: onePatchPerNode([{ id: first.id, label: `${name(first)} — revised` }, long && { id: long.id, info: rewrite(long.info) }, second && { id: second.id, position: moved(second) }]) },
  });
  list.push({ name: 'Rename a node', proposal: { nodes: [{ id: first.id, label: `${name(first)} (renamed)` }] } });
  if (long) list.push({ name: 'Rewrite a long text', proposal: { nodes: [{ id: long.id, info: rewrite(long.info) }] } });
  list.push({
    name: 'New node with an edge',
    proposal: { nodes: [{ id: 'ai-summary', label: 'Summary', type: 'fulltext', info: 'A short **summary** written by the AI.', visible: true, position: moved(first) }], edges: [{ source: first.id, target: 'ai-summary', label: 'summarised by' }] },
  });
  if (last) list.push({ name: 'Remove a node', proposal: { removeNodeIds: [last.id] } });
  if (word) list.push({ name: 'Search and replace', proposal: { searchReplace: [{ nodeId: long.id, field: 'info', search: word, replace: word.toUpperCase(), replaceAll: false }] } });
  list.push({
    name: 'Tells its model and confidence',
    proposal: {
      model: 'graph-assistant',
      modelVersion: '2026-01',
      confidence: 0.8,
      ruleId: 'tidy-labels',
      nodes: [{ id: first.id, label: `${name(first)} (tidied)`, confidence: 0.65, ruleId: 'tidy-labels/case' }],
    },
  });
  list.push({ name: 'Touch a reserved field', proposal: { nodes: [{ id: first.id, label: `${name(first)}!`, updatedAt: '1999-01-01T00:00:00Z', updatedBy: 'the-ai' }] } });
  return list;
}

/** One paragraph of a markdown text rewritten. */
function rewrite(info) {
  const paragraphs = info.split('\n\n');
  const i = Math.floor(paragraphs.length / 2);
  paragraphs[i] = paragraphs.length > 1 ? 'This paragraph was rewritten by the AI: shorter, clearer, and with the same meaning.' : `${info} (Clarified by the AI.)`;
  return paragraphs.join('\n\n');
}

/** Patches merged by node id (a proposal may name a node once). */
function onePatchPerNode(patches) {
  const byId = new Map();
  for (const patch of patches.filter(Boolean)) byId.set(patch.id, { ...byId.get(patch.id), ...patch });
  return [...byId.values()];
}
