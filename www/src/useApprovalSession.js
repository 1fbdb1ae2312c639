// useApprovalSession: the kg-approval WASM package for Vue.
//
// Wraps one ApprovalSession (the graph kept in WASM, the pending review, the
// outbox of unsaved approvals) and one HistoryClient, and exposes reactive
// plain data for templates. Unsaved approvals are kept in localStorage, so a
// failed save or a reload never loses an approval.
//
//   const kg = useApprovalSession({ baseUrl: location.origin });
//   await kg.signIn(token);           // the server says whose token it is
//   await kg.openGraph(id);
//   kg.propose(proposal, { source: 'ai', model });   // → kg.state.review
//   kg.decide(changeId, false);                      // reject one change
//   await kg.approveAndSave('reason');               // → kg.state.save
import { reactive, markRaw } from 'vue';
import init, { ApprovalSession, HistoryClient, ConflictError, diffGraphs } from 'kg-approval';

const ready = init();
const outboxKey = (graphId) => `kg-approval:outbox:${graphId}`;

export function useApprovalSession({ baseUrl = location.origin, storage = globalThis.localStorage } = {}) {
  const state = reactive({
    user: null,
    graphs: [],
    graphId: null,
    graph: null,
    version: null,
    /** The review on screen: a proposal's, a rebase's after a conflict, or a restore's. */
    review: null,
    reviewKind: null,
    /** idle | saving | saved | failed | conflict */
    save: { status: 'idle', version: null, message: '' },
    pending: 0,
    history: [],
    error: '',
  });
  let session = null;
  let client = null;
  let token = '';

  const api = (path, init = {}) =>
    fetch(`${baseUrl}${path}`, { ...init, headers: { ...(init.headers || {}), ...(token ? { 'X-API-Token': token } : {}) } });

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

  async function signIn(newToken) {
    await ready;
    token = newToken.trim();
    const response = await api('/whoami');
    if (!response.ok) {
      state.user = null;
      throw new Error(response.status === 401 ? 'That token is not known to the server.' : `Sign-in failed (${response.status}).`);
    }
    state.user = (await response.json()).user;
    client = new HistoryClient({ baseUrl, token, timeoutMs: 8000, retries: 2 });
  }

  async function listGraphs() {
    const response = await api('/getknowgraphs');
    state.graphs = (await response.json()).graphs;
  }

  async function openGraph(graphId) {
    await ready;
    client ??= new HistoryClient({ baseUrl, timeoutMs: 8000, retries: 2 });
    const kept = storage.getItem(outboxKey(graphId));
    const outbox = kept ? JSON.parse(kept) : [];
    let graph = await client.load(graphId);
    // Unsaved approvals are kept as deltas: they are restored on the version
    // they were approved on (which is not the newest if a save landed and
    // its answer was lost; the retry is then answered from its approval id).
    const base = outbox[0]?.graph === undefined ? outbox[0]?.audit?.baseVersion : undefined;
    if (Number.isInteger(base) && base !== graph.metadata?.version) graph = await client.version(graphId, base);
    session?.free();
    // Word-level inline diffs read best in a modal, even for one-line HTML
    // ('auto' would show such a field as one replaced line).
    session = new ApprovalSession(graph, { graphId, granularity: 'word' });
    state.graphId = graphId;
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

  function cancel() {
    session.discard();
    state.review = null;
  }

  async function approveAndSave(reason) {
    if (!state.user) throw new Error('Sign in to approve: approvals are stamped with your user id.');
    session.approve({ user: state.user, reason: reason || undefined });
    state.review = null;
    persistOutbox();
    refresh();
    await flush();
  }

  /** Saves the pending approvals, oldest first; stops at the first failure. */
  async function flush() {
    for (const pending of session.pendingSaves()) {
      state.save = { status: 'saving', version: null, message: '' };
      try {
        const { newVersion } = await client.save(pending);
        session.markSaved(pending.audit.approvalId, newVersion);
        persistOutbox();
        refresh();
        state.save = { status: 'saved', version: newVersion, message: '' };
      } catch (e) {
        if (e instanceof ConflictError) {
          state.save = { status: 'conflict', version: e.currentVersion, message: `Someone else saved version ${e.currentVersion} first.` };
          show(session.rebase(await client.load(state.graphId)), 'rebase');
          refresh();
        } else {
          state.save = { status: 'failed', version: null, message: `${e.message} (${e.code})` };
        }
        return;
      }
    }
    await loadHistory();
  }

  async function loadHistory() {
    state.history = await client.history(state.graphId);
  }

  async function compareVersions(older, newer) {
    const [a, b] = await Promise.all([client.version(state.graphId, older), client.version(state.graphId, newer)]);
    return diffGraphs(a, b);
  }

  async function restore(version) {
    show(session.revertTo(await client.version(state.graphId, version)), 'revert');
  }

  return { state, signIn, listGraphs, openGraph, propose, decide, decideNode, cancel, approveAndSave, retry: flush, loadHistory, compareVersions, restore };
}
