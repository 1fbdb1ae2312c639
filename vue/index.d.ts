// kg-approval/vue: types of the composable and the review components.
import type { DefineComponent } from 'vue';
import type {
  ApprovalSession,
  AuditEntry,
  Change,
  ClientOptions,
  GraphData,
  GraphDiff,
  HistoryClient,
  HistoryEntry,
  Proposal,
  ProposeContext,
  Review,
  Service,
  TextDiff,
} from 'kg-approval';

/** A value, or a function giving the current one (the signed-in user changes). */
export type MaybeGetter<T> = T | (() => T);

/** Where unsaved approvals and saved audit entries are kept (localStorage by default). */
export interface ApprovalStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface UseApprovalSessionOptions {
  /** A HistoryClient, or the options to make one (`{ baseUrl, token | headers, ... }`); null until signed in. */
  client: MaybeGetter<HistoryClient | ClientOptions | null | undefined>;
  /** Who approves: stamped on every approval (`updatedBy`, the audit entry). */
  user: MaybeGetter<string | null | undefined>;
  /** Default `globalThis.localStorage`. */
  storage?: ApprovalStorage;
  /** The kg-approval module to use (default: the one `kg-approval` resolves to). */
  kg?: {
    ApprovalSession: typeof ApprovalSession;
    HistoryClient: typeof HistoryClient;
    ConflictError: new (...args: never[]) => Error;
    diffGraphs: (...args: never[]) => GraphDiff;
    init?: () => Promise<void>;
  };
}

export type SaveStatus = 'idle' | 'saving' | 'saved' | 'failed' | 'cancelled' | 'conflict';
export type ReviewKind = 'proposal' | 'rebase' | 'revert';

/** Reactive state for templates (read it; change it through the functions). */
export interface ApprovalSessionState {
  graphId: string | null;
  graph: GraphData | null;
  version: number | null;
  /** `faithful` (this project's server) or `knowledge-graph-worker` (the real service). */
  service: Service | null;
  /** The review on screen: a proposal's, a rebase's after a conflict, or a restore's. */
  review: Review | null;
  reviewKind: ReviewKind | null;
  save: SaveState;
  /** Approvals not saved yet (kept in storage). */
  pending: number;
  history: HistoryEntry[];
  error: string;
}

/** Where the latest save stands. */
export interface SaveState {
  status: SaveStatus;
  version: number | null;
  /** For people: what happened and what to do. */
  message: string;
  /** While saving: when it started (ms since the epoch), to show how long it takes. */
  startedAt?: number;
  /** On a failure: the error itself, for support. */
  detail?: string;
  /** On a conflict: who saved which version first, when, why, and what they changed. */
  conflict?: {
    version: number | null;
    user: string | null;
    at: string | null;
    reason: string | null;
    changes: { id: string; label: string; field: string | null; kind: string }[];
  };
}

/** A saved approval's audit entry as kept in storage. */
export type KeptAuditEntry = AuditEntry & { savedVersion?: number; savedVia: string; savedAt: string; [key: string]: unknown };

export interface ApprovalSessionApi {
  state: ApprovalSessionState;
  /** Loads the graph (and the WebAssembly module in browsers), restores unsaved approvals, reads its history. */
  openGraph(graphId: string): Promise<void>;
  propose(proposal: Proposal, context?: ProposeContext): void;
  decide(changeId: string, accept: boolean): void;
  decideNode(nodeId: string, accept: boolean): void;
  /** Accepts or rejects many changes at once (one new review, not one per change). */
  decideMany(changeIds: string[], accept: boolean): void;
  cancel(): void;
  approveAndSave(reason?: string): Promise<void>;
  /** Saves the pending approvals again (after a failure). */
  retry(): Promise<void>;
  /** Stops waiting for the save in flight; the approval stays pending (Retry sends it again, stored once). */
  cancelSave(): void;
  loadHistory(): Promise<void>;
  compareVersions(older: number, newer: number): Promise<GraphDiff>;
  restore(version: number): Promise<void>;
  savedApprovals(graphId?: string): KeptAuditEntry[];
  /** The saved approvals' audit entries, as JSON Lines. */
  exportAudit(graphId?: string): string;
}

export declare function useApprovalSession(options: UseApprovalSessionOptions): ApprovalSessionApi;

/** Whether a change is to a stamp field every approval writes by itself (`updatedAt`, `updatedBy`, …; metadata `version`, `updated`, …). */
export declare function isStamp(change: { target: string; field?: string | null }): boolean;

/** A save failure in words a reviewer can act on. */
export declare function forPeople(error: unknown): string;

/** A confidence (0 to 1) as a percentage: 0.8 → "80%", never rounded up to "100%". */
export declare function percent(confidence: number): string;

/** The approval modal: every change, accept or reject each change or node, approve with a reason.
 *  Big reviews get a navigator (filters, bulk accept/reject, j/k to the next undecided node);
 *  listen for `decide-many` to apply a bulk decision in one go (else it emits `decide` per change). */
export declare const ReviewModal: DefineComponent<
  { review: Review; kind?: ReviewKind; conflict?: SaveState['conflict'] | null },
  {},
  {},
  {},
  {},
  {},
  {},
  {
    decide: (changeId: string, accept: boolean) => void;
    'decide-node': (nodeId: string, accept: boolean) => void;
    'decide-many': (changeIds: string[], accept: boolean) => void;
    approve: (reason: string) => void;
    cancel: () => void;
  }
>;

/** Changes grouped by node, edge and metadata; `editable` adds the accept/reject controls;
 *  `virtual` renders only the cards near the viewport, in a scroll box of its own. */
export declare const ChangeList: DefineComponent<
  { changes: Change[]; editable?: boolean; virtual?: boolean; decided?: Set<string> | null },
  {},
  {},
  {},
  {},
  {},
  {},
  {
    decide: (changeId: string, accept: boolean) => void;
    'decide-node': (nodeId: string, accept: boolean) => void;
  }
>;

/** An inline text diff (text only, never HTML); long unchanged runs collapsed. */
export declare const TextDiffView: DefineComponent<{ diff: TextDiff }>;

/** A field value shown exactly: false, 0, "", null and absent all look different. */
export declare const ValueView: DefineComponent<{ value?: unknown; present?: boolean }>;
