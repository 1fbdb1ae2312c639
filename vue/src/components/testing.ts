// Changes shaped as the core gives them, for the components' tests.
import type { Change, Review, Warning } from 'kg-approval';

export function change(id: string, over: Partial<Change> = {}): Change {
  const [target, owner, field] = id.split('/');
  return {
    id,
    target: target as Change['target'],
    kind: 'changed',
    nodeId: target === 'node' ? owner : undefined,
    label: `Label ${owner}`,
    field,
    old: `old ${id}`,
    new: `new ${id}`,
    accepted: null as unknown as boolean,
    ...over,
  };
}

export function review(changes: Change[], warnings: Warning[] = []): Review {
  const nodes = new Set(changes.map((c) => c.nodeId)).size;
  return {
    proposalId: 'p',
    provenance: { source: 'ai' },
    changes,
    warnings,
    summary: { nodesAdded: 0, nodesRemoved: 0, nodesChanged: nodes, edgesAdded: 0, edgesRemoved: 0, edgesChanged: 0, metadataChanged: 0, graphChanged: 0, fieldsChanged: changes.length },
  };
}
