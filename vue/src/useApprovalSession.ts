// useApprovalSession: kg-approval for Vue (`import { useApprovalSession } from 'kg-approval/vue'`).
//
// Wraps one ApprovalSession (the graph kept in WASM, the pending review, the
// outbox of unsaved approvals) around a HistoryClient, and exposes reactive
// plain data for templates. It needs nothing but the history contract
// (load, save, history, version; /capabilities is optional), so it works
// against the real knowledge-graph service as well as this project's server:
// signing in and picking graphs are the app's business, not the composable's.
//
//   const kg = useApprovalSession({
//     client: { baseUrl, headers: kgAuthHeaders(userStore) },   // HistoryClient options, a client, a ref or a getter
//     user: () => userStore.email,                              // a value, a ref or a getter
//   });
//   await kg.openGraph(id);                          // loads the WebAssembly module first if needed
//   kg.propose(proposal, { source: 'ai', model });   // → kg.state.review
//   kg.decide(changeId, false);                      // reject one change
//   await kg.approveAndSave('reason');               // → kg.state.save
//
// Without a history server (no `client`): `openGraph(id, { graph })` reviews
// against the graph the editor holds, and `approve(reason)` returns the
// approval (its graph, delta and audit entry) for the editor to save.
//
// Every misuse is a KgApprovalError with a stable code: `no_graph` (a review
// before openGraph), `no_client` (a call that needs the history service),
// `no_user`, `disposed`, `invalid_argument`.
//
// Inputs are read with `toValue` whenever they are needed (the signed-in user
// changes). Unsaved approvals are kept in `storage` (IndexedDB by default)
// before they are sent, so a failed save or a reload never loses one; so are
// the audit entries of saved ones, since the real service keeps none. The
// WASM session is freed when the calling scope (component) is disposed.
import { getCurrentScope, markRaw, onScopeDispose, reactive, toValue } from 'vue';
import type { MaybeRefOrGetter } from 'vue';
import * as kgApproval from 'kg-approval';
import type {
  ApprovalSession,
  Approved,
  ClientOptions,
  DecisionMode,
  Draft,
  ErrorCode,
  GraphData,
  GraphDiff,
  Granularity,
  HistoryClient,
  HistoryEntry,
  Json,
  PendingSave,
  Proposal,
  ProposeContext,
  Review,
  SavedApproval,
  Service,
} from 'kg-approval';
import { isStamp } from './stamps';
import { setTextDiffer, type DiffText } from './differ';
import { resolveStore, type KeyValueStore, type StorageOption } from './storage';

/** The parts of the kg-approval module the composable uses (default: the one `kg-approval` resolves to). */
export interface KgModule {
  ApprovalSession: typeof ApprovalSession;
  HistoryClient: typeof HistoryClient;
  ConflictError: abstract new (...args: never[]) => Error & { currentVersion: number };
  diffGraphs: (before: GraphData, after: GraphData, options?: { service?: Service }) => GraphDiff;
  init?: () => Promise<unknown>;
  /** The correction editor's live diff (default: kg-approval's). */
  diffText?: DiffText;
  /** The class of the errors the composable throws (default: kg-approval's). */
  KgApprovalError?: new (code: ErrorCode, message: string) => Error;
}

export interface UseApprovalSessionOptions {
  /** A HistoryClient, or the options to make one (`{ baseUrl, token | headers, ... }`); null until signed in.
   *  A ref or a getter is read each time a client is needed. Left out: no history server — the
   *  editor gives the graph (`openGraph(id, { graph })`) and saves what `approve()` returns. */
  client?: MaybeRefOrGetter<HistoryClient | ClientOptions | null | undefined>;
  /** Who approves: stamped on every approval (`updatedBy`, the audit entry). A ref or a getter is read at approval. */
  user: MaybeRefOrGetter<string | null | undefined>;
  /** Where unsaved approvals and saved approvals' records are kept: an async `{ get, set, del }`
   *  store, or `localStorage`'s shape (`getItem/setItem/removeItem`). Default: IndexedDB in
   *  browsers, memory elsewhere. */
  storage?: StorageOption | null;
  /** The kg-approval module to use (default: the one `kg-approval` resolves to). */
  kg?: KgModule;
  /** Inline diffs of text changes (default `word`: reads best in a modal, even for one-line HTML). */
  granularity?: Exclude<Granularity, 'auto'> | 'auto';
  /** `explicit` (the default): every change starts undecided and approving waits until each is
   *  decided, so the audit records what a person did; `accepted`: changes start accepted. */
  decisions?: DecisionMode;
  /** The review in progress is kept (its draft) this long after the last decision, correction,
   *  comment or keystroke of the reason, and restored when the graph is opened again. Default 400 ms. */
  draftDelayMs?: number;
}

export type SaveStatus = 'idle' | 'saving' | 'saved' | 'failed' | 'cancelled' | 'conflict';
export type ReviewKind = 'proposal' | 'rebase' | 'revert';

/** Who saved first, when a save met a newer version. */
export interface ConflictInfo {
  version: number | null;
  user: string | null;
  at: string | null;
  reason: string | null;
  changes: { id: string; label: string; field: string | null; kind: string }[];
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
  conflict?: ConflictInfo;
}

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
  /** What could not be kept on this device (storage full, private mode...), apart from the
   *  save itself: a save the server acknowledged is saved even when this is set. Empty when fine. */
  localError: string;
  /** How the session starts its changes (`explicit`: undecided until the reviewer decides). */
  decisions: DecisionMode;
  /** The reason typed so far for the review on screen (kept in its draft; `setReason`). */
  reason: string;
  /** Said when a review in progress was restored from its draft (what came back, what did not). */
  resumed: string;
}

/** A saved approval's audit entry as kept in storage. */
export type KeptAuditEntry = SavedApproval & { savedVia: string; savedAt: string };

/** How `openGraph` opens a graph. */
export interface OpenGraphOptions {
  /** The graph as the editor holds it: reviewed against as it is, not loaded (without a
   *  `client`, required). With a client it stands for the current version the client would load. */
  graph?: GraphData;
  /** Without a client: the service the graph was read from (default: this project's, `faithful`);
   *  with one, the client asks the server. */
  service?: Service;
}

export interface ApprovalSessionApi {
  state: ApprovalSessionState;
  /** Loads the WebAssembly module (in browsers), then the graph — or takes `options.graph` as
   *  it is — restores unsaved approvals and sends them again, puts back the review in progress,
   *  reads the history. An older call finishing last changes nothing. */
  openGraph(graphId: string, options?: OpenGraphOptions): Promise<void>;
  /** Reviews a proposal against the open graph: the review (also `state.review`). */
  propose(proposal: Proposal, context?: ProposeContext): Review;
  decide(changeId: string, accept: boolean): void;
  decideNode(nodeId: string, accept: boolean): void;
  /** Accepts or rejects many changes at once: one bulk decision, recorded with `filter` (the filter
   *  as the reviewer saw it, in words: "field: label · search: fjord"; default "all"). */
  decideMany(changeIds: string[], accept: boolean, how?: { filter?: string }): void;
  /** Accepts a change with the reviewer's value instead of the AI's (throws `invalid_correction`
   *  for what cannot be a correction: a removal, a stamp field...). */
  correct(changeId: string, value: Json): void;
  /** The reviewer's comment on one change (empty clears it). */
  comment(changeId: string, text: string): void;
  /** The reason typed so far: kept with the review's draft. */
  setReason(text: string): void;
  /** Keeps the draft of the review on screen now (it is kept by itself a moment after each change). */
  keepDraft(): Promise<void>;
  /** Discards the review on screen (and its draft). */
  cancel(): void;
  /** Approves the review on screen (with `reason`, default the reason typed) and returns the
   *  approval: `graph` (the new graph, also `state.graph`), `delta`, `audit`. Nothing is sent: for
   *  editors that save it themselves. With a client the approval is kept in the outbox, and the
   *  next `approveAndSave` or `retry` sends it. */
  approve(reason?: string): Approved;
  /** Approves the review on screen (with `reason`, default the reason typed) and saves it (needs a client). */
  approveAndSave(reason?: string): Promise<void>;
  /** Saves the pending approvals again (after a failure). */
  retry(): Promise<void>;
  /** Stops waiting for the save in flight; the approval stays pending (Retry sends it again, stored once). */
  cancelSave(): void;
  loadHistory(): Promise<void>;
  compareVersions(older: number, newer: number): Promise<GraphDiff>;
  /** One stored version of the open graph (kept: a version never changes). Reading it ahead (when the
   *  reviewer picks it) makes the comparison that follows quicker. */
  readVersion(version: number): Promise<GraphData>;
  restore(version: number): Promise<void>;
  /** The audit entries of this graph's (or `graphId`'s) saved approvals, oldest first. */
  savedApprovals(graphId?: string): Promise<KeptAuditEntry[]>;
  /** The saved approvals' audit entries, as JSON Lines. */
  exportAudit(graphId?: string): Promise<string>;
}

const outboxKey = (graphId: string) => `kg-approval:outbox:${graphId}`;
const auditKey = (graphId: string) => `kg-approval:audit:${graphId}`;
const draftKey = (graphId: string) => `kg-approval:draft:${graphId}`;

/** A draft as kept: the session's draft, and for a restore the version it restores. */
interface KeptDraft {
  draft: Draft;
  revertTo?: number;
}
/** What JSON.stringify keeps: plain data (no lazy getters, no Vue proxies) for any store. */
const plain = <T>(value: T): T => JSON.parse(JSON.stringify(value));
const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** An operation dropped because a newer one started (a late answer). */
class Superseded extends Error {}

export function useApprovalSession({
  kg = kgApproval as unknown as KgModule,
  client = undefined,
  user,
  storage = null,
  granularity = 'word',
  decisions = 'explicit',
  draftDelayMs = 400,
}: UseApprovalSessionOptions): ApprovalSessionApi {
  const KgError = kg?.KgApprovalError ?? (kgApproval.KgApprovalError as NonNullable<KgModule['KgApprovalError']>);
  /** Every misuse: a KgApprovalError with a stable code. */
  const fail = (code: ErrorCode, text: string): never => {
    throw new KgError(code, `useApprovalSession: ${text}`);
  };
  if (!kg?.ApprovalSession || !kg?.ConflictError) fail('invalid_argument', '`kg` must be the kg-approval module');
  setTextDiffer(kg.diffText);
  const state = reactive<ApprovalSessionState>({
    graphId: null,
    graph: null,
    version: null,
    service: null,
    review: null,
    reviewKind: null,
    save: { status: 'idle', version: null, message: '' },
    pending: 0,
    history: [],
    error: '',
    localError: '',
    decisions,
    reason: '',
    resumed: '',
  }) as ApprovalSessionState;
  let session: ApprovalSession | null = null;
  let disposed = false;
  // The store is made when first needed: server rendering never touches storage.
  let store: KeyValueStore | null = null;
  const kept = () => (store ??= resolveStore(storage));
  let draftTimer: ReturnType<typeof setTimeout> | undefined;
  /** The version the restore on screen restores (kept with its draft). */
  let revertTarget: number | null = null;

  // Clients made from options, one per options object (a getter may return a new one when the user signs in).
  const made = new WeakMap<object, HistoryClient>();
  /** The history client now, or null when there is none (no `client` option, or not signed in). */
  function maybeHistory(): HistoryClient | null {
    const c = toValue(client);
    if (!c) return null;
    if (typeof (c as HistoryClient).save === 'function') return c as HistoryClient;
    if (!made.has(c)) made.set(c, new kg.HistoryClient(c as ClientOptions));
    return made.get(c) as HistoryClient;
  }
  function history(): HistoryClient {
    return (
      maybeHistory() ??
      fail(
        'no_client',
        client === undefined
          ? 'this needs a history server, and no `client` was given (without one: openGraph(id, { graph }) and approve())'
          : 'no history client: Sign in first',
      )
    );
  }
  /** The id of the open graph. */
  function openId(): string {
    if (disposed) fail('disposed', 'used after its component was unmounted');
    return state.graphId ?? fail('no_graph', 'open a graph first (await openGraph(graphId))');
  }
  function live(): ApprovalSession {
    if (disposed) fail('disposed', 'used after its component was unmounted');
    return session ?? fail('no_graph', 'open a graph first (await openGraph(graphId))');
  }

  // The WebAssembly module, loaded once (browsers and bundlers; in Node it is loaded already).
  // Started at once in a browser, so it loads while the page renders: openGraph waits for it.
  let loading: Promise<unknown> | null = null;
  const ready = () => (loading ??= typeof kg.init === 'function' ? kg.init() : Promise.resolve());
  if (typeof document !== 'undefined') ready().catch(() => undefined);

  // Late answers are dropped: each load takes a ticket, and only the latest one's answer is used.
  let opening = 0;
  let historyTicket = 0;

  if (getCurrentScope()) {
    onScopeDispose(() => {
      disposed = true;
      opening++;
      historyTicket++;
      waiting = null;
      clearTimeout(draftTimer);
      session?.free();
      session = null;
    });
  }

  function refresh() {
    const s = live();
    state.graph = markRaw(s.graph());
    state.version = typeof s.baseVersion === 'number' ? s.baseVersion : null;
    state.pending = s.pendingSaves().length;
  }

  /** Something could not be kept on this device: said apart from the save, never as "not saved". */
  let troubleWith = '';
  function localTrouble(what: string, e: unknown, about = 'record') {
    state.localError = `${what}: ${message(e)}`;
    troubleWith = about;
  }

  /** Writes the outbox of `graphId` as the session has it now; false (and `localError`) if it could not. */
  async function persistOutbox(): Promise<boolean> {
    const graphId = state.graphId as string;
    const pending = live().pendingSaves();
    state.pending = pending.length;
    try {
      if (pending.length) await kept().set(outboxKey(graphId), plain(pending));
      else await kept().del(outboxKey(graphId));
      if (troubleWith === 'outbox') state.localError = '';
      return true;
    } catch (e) {
      localTrouble(pending.length ? 'This device could not keep a copy of the unsaved approval' : 'This device could not clear its copy of the saved approval', e, 'outbox');
      return false;
    }
  }

  async function savedApprovals(graphId = openId()): Promise<KeptAuditEntry[]> {
    const records = await kept().get(auditKey(graphId));
    return Array.isArray(records) ? (records as KeptAuditEntry[]) : [];
  }

  async function keepRecord(graphId: string, record: SavedApproval, via: string) {
    try {
      const records = await savedApprovals(graphId);
      records.push(plain({ ...record, savedVia: via, savedAt: new Date().toISOString() }));
      await kept().set(auditKey(graphId), records);
    } catch (e) {
      localTrouble(`Saved as version ${record.savedVersion}, but this device could not keep its record of the approval`, e);
    }
  }

  async function readOutbox(graphId: string): Promise<PendingSave[]> {
    try {
      const outbox = await kept().get(outboxKey(graphId));
      return Array.isArray(outbox) ? (outbox as PendingSave[]) : [];
    } catch (e) {
      localTrouble('Could not read the approvals kept on this device', e);
      return [];
    }
  }

  async function openGraph(graphId: string, { graph: given, service: told }: OpenGraphOptions = {}) {
    if (typeof graphId !== 'string' || !graphId) fail('invalid_argument', `openGraph(graphId): graphId must be a non-empty string, got ${JSON.stringify(graphId)}`);
    if (disposed) fail('disposed', 'used after its component was unmounted');
    if (given !== undefined && (given === null || typeof given !== 'object')) fail('invalid_argument', 'openGraph(graphId, { graph }): graph must be a graph object { nodes, edges }');
    if (client === undefined && given === undefined) fail('no_client', 'openGraph without a client needs the graph: openGraph(graphId, { graph })');
    // Without a client, the editor's graph is the graph; a client that is not there yet (signed out) is a mistake.
    if (client !== undefined && !toValue(client)) history();
    const ticket = ++opening;
    state.localError = '';
    const current = () => {
      if (ticket !== opening) throw new Superseded();
    };
    try {
      await ready();
      current();
      // Made once the module is loaded (a HistoryClient is a WebAssembly object).
      const c = client === undefined ? null : history();
      const [{ service }, outbox] = c ? await Promise.all([c.capabilities(), readOutbox(graphId)]) : [{ service: told ?? 'faithful' }, []];
      current();
      let graph = given ?? (await (c as HistoryClient).load(graphId));
      // Unsaved approvals are kept as deltas: they are restored on the version
      // they were approved on (not the newest if a save landed and its answer
      // was lost: sending it again then recognises its own version).
      const base = outbox[0]?.graph === undefined ? outbox[0]?.audit?.baseVersion : undefined;
      if (c && Number.isInteger(base) && base !== graph.metadata?.version) graph = await c.version(graphId, base as number);
      current();
      const next = new kg.ApprovalSession(graph, { graphId, granularity, service, decisions });
      if (ticket !== opening) {
        next.free();
        throw new Superseded();
      }
      session?.free();
      session = next;
      state.graphId = graphId;
      state.service = service;
      state.review = null;
      state.reviewKind = null;
      state.error = '';
      state.reason = '';
      state.resumed = '';
      state.save = { status: 'idle', version: null, message: '' };
      let restored = false;
      if (outbox.length) {
        try {
          session.restorePendingSaves(outbox);
          restored = true;
        } catch (e) {
          state.error = `Could not restore unsaved approvals: ${message(e)}`;
        }
      }
      refresh();
      if (restored) {
        // Sent again at once: if it landed before the reload, the server (or the client's
        // read-back of the real service) answers with the version it made, stored once.
        if (toValue(user)) await flush();
        else state.save = { status: 'failed', version: null, message: 'An approval from an earlier visit is waiting to be sent: sign in and Retry.' };
        current();
      }
      // The review in progress before a reload comes back (a rebase's came back with its conflict).
      if (!state.review) await resumeDraft(graphId, c);
      current();
      if (c) await loadHistory();
    } catch (e) {
      if (e instanceof Superseded) return;
      throw e;
    }
  }

  function show(review: Review | undefined, kind: ReviewKind) {
    state.review = review ? markRaw(review) : null;
    state.reviewKind = review ? kind : null;
  }

  function propose(proposal: Proposal, context: ProposeContext = { source: 'ai' }): Review {
    const review = live().propose(proposal, context);
    show(review, 'proposal');
    state.reason = '';
    state.resumed = '';
    keepDraftSoon();
    return review;
  }

  // The review in progress is kept as the reviewer works (its draft: the proposal, every
  // decision, correction and comment, the reason typed), a moment after the last change.
  // A reviewer working without pause still gets a draft at least every few delays.
  let draftDue = 0;
  function keepDraftSoon() {
    clearTimeout(draftTimer);
    const now = Date.now();
    if (!draftDue) draftDue = now + 4 * draftDelayMs;
    draftTimer = setTimeout(() => void keepDraft(), Math.max(0, Math.min(draftDelayMs, draftDue - now)));
  }

  /** Writes the draft of the review on screen now (the composable does it by itself). */
  async function keepDraft() {
    clearTimeout(draftTimer);
    draftDue = 0;
    const graphId = state.graphId;
    if (!session || !state.review || !graphId) return;
    let record: KeptDraft;
    try {
      record = { draft: plain(session.draft({ reason: state.reason || undefined })) };
      if (state.reviewKind === 'revert' && revertTarget !== null) record.revertTo = revertTarget;
    } catch (e) {
      localTrouble('Could not keep the review in progress', e, 'draft');
      return;
    }
    try {
      await kept().set(draftKey(graphId), record);
      if (troubleWith === 'draft') state.localError = '';
    } catch (e) {
      localTrouble('This device could not keep the review in progress (it is lost if the page is closed)', e, 'draft');
    }
  }

  async function dropDraft(graphId: string | null) {
    clearTimeout(draftTimer);
    draftDue = 0;
    if (!graphId) return;
    try {
      await kept().del(draftKey(graphId));
    } catch (e) {
      localTrouble('This device could not forget the review in progress', e, 'draft');
    }
  }

  /** Puts back the review in progress kept for `graphId` (of `kind`, or any), saying what came back. */
  async function resumeDraft(graphId: string, c: HistoryClient | null, kind?: Draft['kind']) {
    let record: KeptDraft | undefined;
    try {
      record = (await kept().get(draftKey(graphId))) as KeptDraft | undefined;
    } catch (e) {
      localTrouble('Could not read the review in progress kept on this device', e, 'draft');
      return;
    }
    const draft = record?.draft;
    if (!draft || (kind && draft.kind !== kind)) return;
    // A conflict's decisions with no conflict to put them on (the approval landed after all).
    if (draft.kind === 'rebase' && state.reviewKind !== 'rebase') return dropDraft(graphId);
    try {
      if (draft.kind === 'revert') {
        if (!c) throw new Error('restoring a version needs the history server');
        if (!Number.isInteger(record?.revertTo)) throw new Error('the version it restores is not known');
        revertTarget = record?.revertTo as number;
        live().revertTo(await c.version(graphId, revertTarget));
      }
      const review = live().resume(draft);
      show(review, draft.kind === 'rebase' ? 'rebase' : draft.kind);
      state.reason = draft.reason ?? '';
      const decided = Object.values(draft.changes ?? {}).filter((d) => d.accepted !== undefined || d.correction !== undefined).length;
      const dropped = review.warnings.filter((w) => w.code === 'draft_decision_dropped').length;
      state.resumed =
        `Your review in progress is back: ${decided} decision${decided === 1 ? '' : 's'} kept` +
        (dropped ? `; ${dropped} dropped because the graph changed since (see the warnings).` : '.');
    } catch (e) {
      state.error = `Could not restore the review in progress: ${message(e)}`;
      await dropDraft(graphId);
    }
  }

  // Decisions reach the session at once; the review on screen is rebuilt once per tick,
  // however many decisions arrive in it (a keyboard burst, a bulk action sent change by change).
  let reviewQueued = false;
  function reviewChanged() {
    if (reviewQueued) return;
    reviewQueued = true;
    queueMicrotask(() => {
      reviewQueued = false;
      if (session && state.review) show(session.review(), state.reviewKind as ReviewKind);
    });
  }

  /** The review changed (a decision, a correction, a comment): shown within the tick, kept soon. */
  function changed() {
    reviewChanged();
    keepDraftSoon();
  }

  function decide(changeId: string, accept: boolean) {
    if (accept) live().accept(changeId);
    else live().reject(changeId);
    changed();
  }

  function decideNode(nodeId: string, accept: boolean) {
    if (accept) live().acceptNode(nodeId);
    else live().rejectNode(nodeId);
    changed();
  }

  function decideMany(changeIds: string[], accept: boolean, { filter = 'all' }: { filter?: string } = {}) {
    if (accept) live().acceptMany(changeIds, { filter });
    else live().rejectMany(changeIds, { filter });
    changed();
  }

  function correct(changeId: string, value: Json) {
    live().correct(changeId, value);
    changed();
  }

  function comment(changeId: string, text: string) {
    live().comment(changeId, text || null);
    changed();
  }

  function setReason(text: string) {
    state.reason = text;
    if (state.review) keepDraftSoon();
  }

  function cancel() {
    const wasRebase = state.reviewKind === 'rebase';
    live().discard();
    show(undefined, 'proposal');
    state.reason = '';
    state.resumed = '';
    void dropDraft(state.graphId);
    // A rebased approval discarded is gone: so is its copy kept for a reload.
    if (wasRebase) void persistOutbox();
  }

  /** Approves the review on screen: the approval, and what this device keeps of it. */
  function approveOnScreen(reason: string | undefined): { approved: Approved; kept: Promise<unknown> } {
    const s = live();
    const who = toValue(user);
    if (!who) fail('no_user', 'Sign in to approve: approvals are stamped with your user id');
    const approved = s.approve({ user: who as string, reason: reason || undefined });
    show(undefined, 'proposal');
    state.reason = '';
    state.resumed = '';
    const graphId = state.graphId;
    if (client === undefined) {
      // Saving is the editor's: the session goes on from the approved graph, holding no outbox.
      void approved.graph; // read now, while the session that made it is alive
      const next = new kg.ApprovalSession(approved.graph, { graphId: graphId ?? undefined, granularity, service: state.service ?? undefined, decisions });
      s.free();
      session = next;
      refresh();
      return { approved, kept: dropDraft(graphId) };
    }
    refresh();
    // Kept on this device before it is sent: a reload while it travels loses nothing.
    return { approved, kept: dropDraft(graphId).then(persistOutbox) };
  }

  function approve(reason: string | undefined = state.reason): Approved {
    const { approved, kept } = approveOnScreen(reason);
    void kept;
    return approved;
  }

  async function approveAndSave(reason: string | undefined = state.reason) {
    history(); // no client: refused before anything is approved
    await approveOnScreen(reason).kept;
    await flush();
  }

  // The save being waited for; `cancelSave` stops waiting for it.
  let waiting: object | null = null;

  /** Saves the pending approvals, oldest first; stops at the first failure. */
  async function flush() {
    const c = history();
    const graphId = state.graphId as string;
    const s = live();
    for (const pending of s.pendingSaves()) {
      const attempt = {};
      waiting = attempt;
      state.save = { status: 'saving', version: null, message: '', startedAt: Date.now() };
      let result;
      try {
        result = await c.save(pending);
      } catch (e) {
        if (waiting !== attempt || session !== s) return; // stopped waiting, or another graph is open: told already
        waiting = null;
        await failed(c, pending, e);
        return;
      }
      // Another graph was opened meanwhile: this one's outbox still holds the approval, and
      // opening it again sends it once more, which finds the version it made.
      if (session !== s) return;
      // Landed, even if the reviewer stopped waiting: it is saved (once: a retry sent
      // meanwhile got the same version under the same idempotency key). Said at once;
      // what this device keeps of it comes after, and its trouble is said apart.
      const id = pending.audit.approvalId;
      const still = s.pendingSaves().some((p) => p.audit.approvalId === id);
      const record = still ? s.markSaved(id, result.newVersion) : null;
      refresh();
      if (waiting === attempt || waiting === null) state.save = { status: 'saved', version: result.newVersion, message: '' };
      if (waiting === attempt) waiting = null;
      if (record) await keepRecord(graphId, record, result.via);
      await persistOutbox();
      if (waiting !== null) return; // a retry took over
    }
    await loadHistory();
  }

  async function failed(c: HistoryClient, pending: PendingSave, e: unknown) {
    if (e instanceof kg.ConflictError) {
      const base = pending.audit.baseVersion;
      const latest = await c.load(state.graphId as string);
      state.save = {
        status: 'conflict',
        version: e.currentVersion,
        message: `Someone else saved version ${e.currentVersion} first.`,
        conflict: await whoSavedFirst(c, base, latest),
      };
      show(live().rebase(latest), 'rebase');
      refresh();
      // A reload in the middle of this conflict: the decisions made on it come back.
      await resumeDraft(state.graphId as string, c, 'rebase');
    } else {
      const err = e as { message?: string; code?: string };
      state.save = { status: 'failed', version: null, message: forPeople(e), detail: `${err.message} (${err.code})` };
    }
  }

  /** Stops waiting for the save in flight: the approval stays in the outbox (Retry sends it
   *  again, under the same idempotency key, so it is never stored twice). */
  function cancelSave() {
    if (state.save.status !== 'saving') return;
    waiting = null;
    state.save = {
      status: 'cancelled',
      version: null,
      message: 'You stopped waiting for the server. Your approval is kept: Retry sends it again, and it is stored once even if the first attempt arrives.',
    };
  }

  /** Who saved the version that beat ours, when, and what they changed since our base. */
  async function whoSavedFirst(c: HistoryClient, base: unknown, latest: GraphData): Promise<ConflictInfo> {
    const graphId = state.graphId as string;
    const theirs = (latest?.metadata?.version as number | undefined) ?? null;
    const entries = (await c.history(graphId).catch(() => [])) as (HistoryEntry & { createdAt?: string })[];
    const entry = entries.find((h) => h.version === theirs);
    let changed: GraphDiff['changes'] = [];
    if (Number.isInteger(base)) {
      const before = await c.version(graphId, base as number).catch(() => null);
      if (before) changed = kg.diffGraphs(before, latest, { service: state.service ?? undefined }).changes;
    }
    const meta = (latest?.metadata ?? {}) as Record<string, unknown>;
    return {
      version: theirs,
      user: entry?.user ?? (meta.updatedBy as string | undefined) ?? null,
      at: entry?.createdAt ?? entry?.timestamp ?? (meta.updated as string | undefined) ?? null,
      reason: entry?.reason ?? null,
      changes: changed.filter((ch) => !isStamp(ch)).map((ch) => ({ id: ch.id, label: ch.label, field: ch.field ?? null, kind: ch.kind })),
    };
  }

  async function loadHistory() {
    const c = history();
    const graphId = openId();
    const ticket = ++historyTicket;
    const entries = await c.history(graphId);
    // Only the latest request's answer, and only for the graph still open.
    if (ticket === historyTicket && graphId === state.graphId) state.history = entries;
  }

  // Stored versions never change: the last few read are kept (a comparison often reuses one).
  const versions = new Map<string, Promise<GraphData>>();
  function version(c: HistoryClient, graphId: string, n: number): Promise<GraphData> {
    // The open graph's current version is the session's graph while nothing is waiting to be saved.
    if (n === state.version && graphId === state.graphId && !state.pending && state.graph) return Promise.resolve(state.graph);
    const key = `${graphId}@${n}`;
    let read = versions.get(key);
    if (!read) {
      read = c.version(graphId, n);
      read.catch(() => versions.delete(key));
      versions.set(key, read);
      if (versions.size > 4) versions.delete(versions.keys().next().value as string);
    }
    return read;
  }

  /** The differences between two versions; what the service wrote by itself in `serverWritten`. */
  async function compareVersions(older: number, newer: number) {
    const c = history();
    const graphId = openId();
    const [a, b] = await Promise.all([version(c, graphId, older), version(c, graphId, newer)]);
    return kg.diffGraphs(a, b, { service: state.service ?? undefined });
  }

  async function restore(version: number) {
    const c = history();
    const graphId = openId();
    const old = await c.version(graphId, version);
    if (graphId !== state.graphId) return;
    revertTarget = version;
    show(live().revertTo(old), 'revert');
    state.reason = '';
    state.resumed = '';
    keepDraftSoon();
  }

  /** The saved approvals of the open graph (or `graphId`) as JSON Lines, for auditors. */
  async function exportAudit(graphId = openId()) {
    return (await savedApprovals(graphId)).map((r) => `${JSON.stringify(r)}\n`).join('');
  }

  return {
    state,
    openGraph,
    propose,
    decide,
    decideNode,
    decideMany,
    correct,
    comment,
    setReason,
    keepDraft,
    cancel,
    approve,
    approveAndSave,
    retry: () => flush(),
    cancelSave,
    loadHistory,
    compareVersions,
    readVersion: (n: number) => version(history(), openId(), n),
    restore,
    savedApprovals,
    exportAudit,
  };
}

/** A save failure in words a reviewer can act on (the error itself goes to `detail`). */
export function forPeople(e: unknown): string {
  const err = (e ?? {}) as { code?: string; status?: number; serverError?: string; message?: string };
  const status = err.status ?? 0;
  switch (err.code) {
    case 'network_error':
      return 'Could not reach the history server (is it running, and are you online?).';
    case 'timeout':
      return 'The history server did not answer in time.';
    case 'invalid_response':
      return 'The history server sent an answer that could not be read.';
    case 'http_error':
      if (status === 401) return 'The server does not know your sign-in: sign in again.';
      if (status === 403) return `You may not save this graph: ${err.serverError ?? 'the server refused it'}.`;
      if (status === 413) return 'This approval is larger than the server accepts.';
      if (status >= 500) return `The history server failed (HTTP ${status}); it may be restarting.`;
      return `The history server refused the save (HTTP ${status}): ${err.serverError ?? err.message}`;
    default:
      return err.message ?? String(e);
  }
}
