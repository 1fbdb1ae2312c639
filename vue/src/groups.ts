// Changes grouped by what they change (a node, an edge, the metadata), in
// review order: the cards of the change list and the rows of the navigator.
import type { Change } from 'kg-approval';

export interface ChangeGroup {
  key: string;
  target: Change['target'];
  id: string | undefined;
  label: string;
  changes: Change[];
  confidence?: number;
  ruleId?: string;
}

export const groupKey = (change: Change): string => `${change.target}:${change.nodeId ?? change.edgeId ?? ''}`;

/** A conflict still to decide (after a rebase): both editors changed it. */
export const isOpenConflict = (change: Change): boolean => Boolean(change.conflict && !change.conflict.resolved);

export function groupChanges(changes: readonly Change[]): ChangeGroup[] {
  const byKey = new Map<string, ChangeGroup>();
  for (const change of changes) {
    const key = groupKey(change);
    let group = byKey.get(key);
    if (!group) {
      group = { key, target: change.target, id: change.nodeId ?? change.edgeId, label: change.label, changes: [] };
      byKey.set(key, group);
    }
    group.changes.push(change);
    // Every change of a node carries its patch's confidence and rule id: show them once, by the node.
    if (typeof change.confidence === 'number') group.confidence = change.confidence;
    if (change.ruleId) group.ruleId = change.ruleId;
  }
  // After a rebase, what both editors changed comes first: the cards with a
  // conflict, and in each card its conflicting changes (the order does not
  // move once they are decided).
  const conflicted = (change: Change) => (change.conflict ? 0 : 1);
  const groups = [...byKey.values()];
  for (const group of groups) group.changes.sort((a, b) => conflicted(a) - conflicted(b));
  return groups.sort((a, b) => conflicted(a.changes[0]) - conflicted(b.changes[0]));
}

/** What a reviewer calls the group: its label, else its id, else the target. */
export function groupName(group: Pick<ChangeGroup, 'label' | 'id' | 'target'>): string {
  const label = group.label ?? group.id;
  return label === undefined || label === null || label === '' ? (group.target === 'metadata' ? 'the graph metadata' : group.target) : String(label);
}
