// kg-approval/vue: the approval flow for Vue 3 — the composable and the review
// components (plain JavaScript compiled from single-file components).
export { useApprovalSession, forPeople } from './useApprovalSession';
export type {
  UseApprovalSessionOptions,
  ApprovalSessionApi,
  ApprovalSessionState,
  SaveState,
  SaveStatus,
  ReviewKind,
  ConflictInfo,
  KeptAuditEntry,
  KgModule,
} from './useApprovalSession';
export { memoryStore, indexedDbStore, fromWebStorage } from './storage';
export type { KeyValueStore, WebStorageLike, StorageOption } from './storage';
export { default as ReviewModal } from './components/ReviewModal.vue';
export { default as ChangeList } from './components/ChangeList.vue';
export { default as TextDiffView } from './components/TextDiffView.vue';
export { default as ValueView } from './components/ValueView.vue';
export { percent } from './percent';
export { isStamp } from './stamps';
