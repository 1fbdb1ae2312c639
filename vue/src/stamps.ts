// The fields every approval (or the service) writes by itself — who and when,
// and the graph's version — as opposed to what a reviewer decided. Lists of
// changes hide them unless asked (a 298-edit version otherwise reads as "897
// changes").
const NODE_STAMPS = new Set(['updatedAt', 'updatedBy', 'createdAt', 'createdBy']);
const METADATA_STAMPS = new Set(['version', 'updated', 'updatedAt', 'updatedBy', 'created', 'createdAt', 'createdBy']);

/** Whether a change is to a stamp field (of a node or edge, or of the metadata). */
export const isStamp = (change: { target: string; field?: string | null }): boolean =>
  change.field != null && (change.target === 'metadata' ? METADATA_STAMPS : NODE_STAMPS).has(change.field);
