// kg-approval/vue: the approval flow for Vue 3 — the composable and the review
// components (plain JavaScript compiled from single-file components). The
// components alone, without the WebAssembly module: kg-approval/vue/components.
import { diffText } from 'kg-approval';
import { setTextDiffer } from './differ';

// The correction editor's live diff is kg-approval's (once the page has loaded the module).
setTextDiffer(diffText);

export { useApprovalSession, forPeople } from './useApprovalSession';
export type {
  UseApprovalSessionOptions,
  ApprovalSessionApi,
  ApprovalSessionState,
  OpenGraphOptions,
  SaveState,
  SaveStatus,
  ReviewKind,
  ConflictInfo,
  KeptAuditEntry,
  KgModule,
} from './useApprovalSession';
export { memoryStore, indexedDbStore, fromWebStorage } from './storage';
export type { KeyValueStore, WebStorageLike, StorageOption } from './storage';
export * from './components';
