// useApprovalSession: kg-approval for Vue (`import { useApprovalSession } from 'kg-approval/vue'`).
//
// Wraps one ApprovalSession (the graph kept in WASM, the pending review, the
// outbox of unsaved approvals) around a HistoryClient, and exposes reactive
// plain data for templates. It needs nothing but the history contract
// (load, save, history, version; /capabilities is optional), so it works
// against the real knowledge-graph service as well as this project's server:
// signing in and picking graphs are the app's business, not the composable's.
//
//   import { useApprovalSession } from 'kg-approval/vue';
//   const kg = useApprovalSession({
//     client: { baseUrl, headers: kgAuthHeaders(userStore) },   // HistoryClient options, or a client
//     user: () => userStore.email,
//   });
//   await kg.openGraph(id);                          // loads the WebAssembly module first if needed
//   kg.propose(proposal, { source: 'ai', model });   // → kg.state.review
//   kg.decide(changeId, false);                      // reject one change
//   await kg.approveAndSave('reason');               // → kg.state.save
//   kg.exportAudit();                                // who approved what, as JSONL
//
// `client` and `user` may be getters (the signed-in user changes); `client`
// is a HistoryClient or the options to make one. Unsaved approvals are kept
// in `storage`, so a failed save or a reload never loses one; so are the
// audit entries of saved ones, since the real service keeps no record of who
// approved what or why. `kg` (optional) is the kg-approval module to use
// instead of the one this package imports.
import { reactive, markRaw } from 'vue';
import * as kgApproval from 'kg-approval';
import { isStamp } from './stamps.js';

const outboxKey = (graphId) => `kg-approval:outbox:${graphId}`;
const auditKey = (graphId) => `kg-approval:audit:${graphId}`;
const read = (value) => (typeof value === 'function' ? value() : value);

export function useApprovalSession({ kg = kgApproval, client, user, storage = globalThis.localStorage } = {}) {
  if (!kg?.ApprovalSession || !kg?.ConflictError) throw new TypeError('useApprovalSession: `kg` must be the kg-approval module');
  if (!storage) throw new TypeError('useApprovalSession: no localStorage here: pass `storage` ({ getItem, setItem, removeItem })');
  const state = reactive({
    graphId: null,
    graph: null,
    version: null,
    /** `faithful` (this project's server) or `knowledge-graph-worker` (the real service). */
    service: null,
    /** The review on screen: a proposal's, a rebase's after a conflict, or a restore's. */
    review: null,
    reviewKind: null,
    /** idle | saving | saved | failed | cancelled | conflict. While saving, `startedAt` (ms since
     *  the epoch); on a failure, `message` for people and `detail` (the error) for support; on a
     *  conflict, `conflict`: who saved which version when, and what they changed. */
    save: { status: 'idle', version: null, message: '' },
    pending: 0,
    history: [],
    error: '',
  });
  let session = null;
  // Clients made from options, one per options object (a getter may return a new one when the user signs in).
  const made = new WeakMap();
  const history = () => {
    const c = read(client);
    if (!c) throw new Error('No history client: sign in first.');
    if (typeof c.save === 'function') return c;
    if (!made.has(c)) made.set(c, new kg.HistoryClient(c));
    return made.get(c);
  };

  function refresh() {
    state.graph = markRaw(session.graph());
    state.version = session.baseVersion;
    state.pending = session.pendingSaves().length;
  }

  function persistOutbox() {
    const pending = session.pendingSaves();
    if (pending.length) storage.setItem(outboxKey(state.graphId), JSON.stringify(pending));
    else storage.removeItem(outboxKey(state.graphId));
    state.pending = pending.length;
  }

  /** The audit entries of this graph's saved approvals, oldest first. */
  function savedApprovals(graphId = state.graphId) {
    const kept = storage.getItem(auditKey(graphId));
    return kept ? kept.split('\n').filter(Boolean).map((line) => JSON.parse(line)) : [];
  }

  function keepAudit(record, via) {
    const line = JSON.stringify({ ...record, savedVia: via, savedAt: new Date().toISOString() });
    const kept = storage.getItem(auditKey(state.graphId));
    storage.setItem(auditKey(state.graphId), kept ? `${kept}\n${line}` : line);
  }

  async function openGraph(graphId) {
    // Browsers and bundlers: load the module once (in Node it is loaded already).
    if (typeof kg.init === 'function') await kg.init();
    const c = history();
    const { service } = await c.capabilities();
    const kept = storage.getItem(outboxKey(graphId));
    const outbox = kept ? JSON.parse(kept) : [];
    let graph = await c.load(graphId);
    // Unsaved approvals are kept as deltas: they are restored on the version
    // they were approved on (which is not the newest if a save landed and
    // its answer was lost; the retry then recognises its own version).
    const base = outbox[0]?.graph === undefined ? outbox[0]?.audit?.baseVersion : undefined;
    if (Number.isInteger(base) && base !== graph.metadata?.version) graph = await c.version(graphId, base);
    session?.free();
    // Word-level inline diffs read best in a modal, even for one-line HTML
    // ('auto' would show such a field as one replaced line).
    session = new kg.ApprovalSession(graph, { graphId, granularity: 'word', service });
    state.graphId = graphId;
    state.service = service;
    state.review = null;
    state.save = { status: 'idle', version: null, message: '' };
    if (outbox.length) {
      try {
        session.restorePendingSaves(outbox);
        state.save = { status: 'failed', version: null, message: 'An approval from an earlier visit has not been saved yet.' };
      } catch (e) {
        state.error = `Could not restore unsaved approvals: ${e.message}`;
      }
    }
    refresh();
    await loadHistory();
  }

  function show(review, kind) {
    state.review = review;
    state.reviewKind = kind;
  }

  function propose(proposal, context = { source: 'ai' }) {
    show(session.propose(proposal, context), 'proposal');
  }

  function decide(changeId, accept) {
    accept ? session.accept(changeId) : session.reject(changeId);
    state.review = session.review();
  }

  function decideNode(nodeId, accept) {
    accept ? session.acceptNode(nodeId) : session.rejectNode(nodeId);
    state.review = session.review();
  }

  /** Accepts or rejects many changes at once: one new review, not one per change. */
  function decideMany(changeIds, accept) {
    for (const id of changeIds) accept ? session.accept(id) : session.reject(id);
    state.review = session.review();
  }

  function cancel() {
    session.discard();
    state.review = null;
  }

  async function approveAndSave(reason) {
    const who = read(user);
    if (!who) throw new Error('Sign in to approve: approvals are stamped with your user id.');
    session.approve({ user: who, reason: reason || undefined });
    state.review = null;
    persistOutbox();
    refresh();
    await flush();
  }

  // The save being waited for; `cancelSave` stops waiting for it.
  let waiting = null;

  /** Saves the pending approvals, oldest first; stops at the first failure. */
  async function flush() {
    const c = history();
    for (const pending of session.pendingSaves()) {
      const attempt = {};
      waiting = attempt;
      state.save = { status: 'saving', version: null, message: '', startedAt: Date.now() };
      try {
        const { newVersion, via } = await c.save(pending);
        // Landed, even if the reviewer stopped waiting: it is saved (once: a retry
        // sent meanwhile got the same version under the same idempotency key).
        const id = pending.audit.approvalId;
        if (session.pendingSaves().some((p) => p.audit.approvalId === id)) keepAudit(session.markSaved(id, newVersion), via);
        persistOutbox();
        refresh();
        state.save = { status: 'saved', version: newVersion, message: '' };
      } catch (e) {
        if (waiting !== attempt) return; // cancelled: the reviewer was told already
        if (e instanceof kg.ConflictError) {
          const base = pending.audit.baseVersion;
          const latest = await c.load(state.graphId);
          state.save = { status: 'conflict', version: e.currentVersion, message: `Someone else saved version ${e.currentVersion} first.`, conflict: await whoSavedFirst(c, base, latest) };
          show(session.rebase(latest), 'rebase');
          refresh();
        } else {
          state.save = { status: 'failed', version: null, message: forPeople(e), detail: `${e.message} (${e.code})` };
        }
        return;
      } finally {
        if (waiting === attempt) waiting = null;
      }
      if (waiting !== null && waiting !== attempt) return;
    }
    await loadHistory();
  }

  /** Stops waiting for the save in flight: the approval stays in the outbox (Retry sends it
   *  again, under the same idempotency key, so it is never stored twice). */
  function cancelSave() {
    if (state.save.status !== 'saving') return;
    waiting = null;
    state.save = { status: 'cancelled', version: null, message: 'You stopped waiting for the server. Your approval is kept: Retry sends it again, and it is stored once even if the first attempt arrives.' };
  }

  /** Who saved the version that beat ours, when, and what they changed since our base. */
  async function whoSavedFirst(c, base, latest) {
    const theirs = latest?.metadata?.version ?? null;
    const entry = (await c.history(state.graphId).catch(() => [])).find((h) => h.version === theirs) ?? {};
    let changed = [];
    if (Number.isInteger(base)) {
      const before = await c.version(state.graphId, base).catch(() => null);
      if (before) changed = kg.diffGraphs(before, latest, { service: state.service }).changes;
    }
    return {
      version: theirs,
      user: entry.user ?? latest?.metadata?.updatedBy ?? null,
      at: entry.createdAt ?? entry.timestamp ?? latest?.metadata?.updated ?? null,
      reason: entry.reason ?? null,
      changes: changed.filter((ch) => !isStamp(ch)).map((ch) => ({ id: ch.id, label: ch.label, field: ch.field ?? null, kind: ch.kind })),
    };
  }

  async function loadHistory() {
    state.history = await history().history(state.graphId);
  }

  /** The differences between two versions; what the service wrote by itself in `serverWritten`. */
  async function compareVersions(older, newer) {
    const c = history();
    const [a, b] = await Promise.all([c.version(state.graphId, older), c.version(state.graphId, newer)]);
    return kg.diffGraphs(a, b, { service: state.service });
  }

  async function restore(version) {
    show(session.revertTo(await history().version(state.graphId, version)), 'revert');
  }

  /** The saved approvals of the open graph (or `graphId`) as JSON Lines, for auditors. */
  function exportAudit(graphId = state.graphId) {
    return savedApprovals(graphId).map((r) => `${JSON.stringify(r)}\n`).join('');
  }

  return { state, openGraph, propose, decide, decideNode, decideMany, cancel, approveAndSave, retry: flush, cancelSave, loadHistory, compareVersions, restore, savedApprovals, exportAudit };
}

/** A save failure in words a reviewer can act on (the error itself goes to `detail`). */
export function forPeople(e) {
  const status = e?.status;
  switch (e?.code) {
    case 'network_error':
      return 'Could not reach the history server (is it running, and are you online?).';
    case 'timeout':
      return 'The history server did not answer in time.';
    case 'invalid_response':
      return 'The history server sent an answer that could not be read.';
    case 'http_error':
      if (status === 401) return 'The server does not know your sign-in: sign in again.';
      if (status === 403) return `You may not save this graph: ${e.serverError ?? 'the server refused it'}.`;
      if (status === 413) return 'This approval is larger than the server accepts.';
      if (status >= 500) return `The history server failed (HTTP ${status}); it may be restarting.`;
      return `The history server refused the save (HTTP ${status}): ${e.serverError ?? e.message}`;
    default:
      return e?.message ?? String(e);
  }
}
