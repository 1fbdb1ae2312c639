// Changes grouped by what they change (a node, an edge, the metadata), in
// review order: the cards of the change list and the rows of the navigator.

export const groupKey = (change) => `${change.target}:${change.nodeId ?? change.edgeId ?? ''}`;

export function groupChanges(changes) {
  const byKey = new Map();
  for (const change of changes) {
    const key = groupKey(change);
    if (!byKey.has(key)) byKey.set(key, { key, target: change.target, id: change.nodeId ?? change.edgeId, label: change.label, changes: [] });
    const group = byKey.get(key);
    group.changes.push(change);
    // Every change of a node carries its patch's confidence and rule id: show them once, by the node.
    if (typeof change.confidence === 'number') group.confidence = change.confidence;
    if (change.ruleId) group.ruleId = change.ruleId;
  }
  // After a rebase, what both editors changed comes first: the cards with a
  // conflict, and in each card its conflicting changes (the order does not
  // move once they are decided).
  const conflicted = (change) => (change.conflict ? 0 : 1);
  const groups = [...byKey.values()];
  for (const group of groups) group.changes.sort((a, b) => conflicted(a) - conflicted(b));
  return groups.sort((a, b) => conflicted(a.changes[0]) - conflicted(b.changes[0]));
}

/** What a reviewer calls the group: its label, else its id, else the target. */
export function groupName(group) {
  const label = group.label ?? group.id;
  return label === undefined || label === null || label === '' ? (group.target === 'metadata' ? 'the graph metadata' : group.target) : String(label);
}
