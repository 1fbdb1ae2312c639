//! The TypeScript shapes of the JS API, emitted into the package's `.d.ts`.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** A JSON value as stored in a graph. Typed one level deep (arrays and objects hold
 *  `unknown`): a recursive type would make Vue's `ref<Review>()` and other deep mapped
 *  types fail with TS2589 ("excessively deep"). */
export type Json = null | boolean | number | string | unknown[] | { [key: string]: unknown };

/** A node: `id` plus any fields; unknown fields survive untouched, in order. */
export interface GraphNode {
  id: string;
  label?: string;
  type?: string | null;
  info?: string | null;
  color?: string;
  visible?: boolean;
  position?: { x: number; y: number; [key: string]: Json };
  bibl?: string[];
  imageWidth?: string | number | null;
  imageHeight?: string | number | null;
  updatedAt?: string;
  updatedBy?: string;
  createdAt?: string;
  createdBy?: string;
  [field: string]: Json | undefined;
}

/** An edge; endpoints spelled `source`/`target` or `from`/`to`. */
export interface GraphEdge {
  id?: string;
  source?: string;
  target?: string;
  from?: string;
  to?: string;
  label?: string;
  [field: string]: Json | undefined;
}

export interface GraphData {
  metadata?: { title?: string; version?: number | string; [key: string]: Json | undefined } | null;
  nodes: GraphNode[];
  edges?: GraphEdge[];
  /** Other top-level fields (`id`, `created_date`, ...) are kept as they are. */
  [key: string]: unknown;
}

export interface SearchReplaceOp {
  nodeId: string;
  /** Default `info`. */
  field?: string;
  search: string;
  replace: string;
  replaceAll?: boolean;
}

/** A node patch: `id` plus only the fields to change. `confidence`, `ruleId` and
 *  `rationale` are the patch's provenance, not fields: they are never written into the graph. */
export interface NodePatch {
  id: string;
  /** 0 to 1. */
  confidence?: number | null;
  ruleId?: string | null;
  /** Why the AI suggests this (at most 10,000 characters): shown beside the change, kept in the audit. */
  rationale?: string | null;
  [field: string]: Json | undefined;
}

/** What the AI tool `graph_update_current` returns, plus explicit operations. */
export interface Proposal {
  /** Patches. An unknown id adds a node. */
  nodes?: NodePatch[];
  /** Only when true are nodes not listed removed (never hidden ones). */
  replaceAllNodes?: boolean;
  preserveExistingFulltextImages?: boolean;
  removeNodeIds?: string[];
  /** Add or update; the id defaults to `${source}_${target}`. An edge may carry `rationale`
   *  (why the AI suggests it): provenance, never written into the graph. */
  edges?: GraphEdge[];
  removeEdgeIds?: string[];
  searchReplace?: SearchReplaceOp[];
  metadata?: { [key: string]: Json };
  /** Provenance, never written into the graph: the model that made the proposal
   *  (the caller's `ProposeContext.model` wins over it), its version, how sure it
   *  is (0 to 1) and the rule that made it. */
  model?: string | null;
  modelVersion?: string | null;
  confidence?: number | null;
  ruleId?: string | null;
}

export type Granularity = 'auto' | 'line' | 'word' | 'char';

/** Where graphs are saved: `faithful` (this project's history server, the
 *  default: graphs kept as sent) or `knowledge-graph-worker` (the real service:
 *  edge ids rewritten to source_target, two read shapes, classifier metadata).
 *  `HistoryClient.capabilities()` says which a server is. */
export type Service = 'faithful' | 'knowledge-graph-worker';

export interface DiffOptions {
  /** The service both graphs were read from: with `knowledge-graph-worker` they
   *  are compared in its read shape and its classifier's metadata is listed
   *  apart, in `serverWritten`. */
  service?: Service;
  granularity?: Granularity;
  /** Time budget per text diff in ms (default 100), for the whole call including
   *  building its result: past it, the rest stays line-level and `degraded` is true. */
  budgetMs?: number;
}

export interface SessionOptions extends DiffOptions {
  /** Defaults to the graph's top-level `id`. */
  graphId?: string;
  /** The service approvals are saved to. With `knowledge-graph-worker`, proposed
   *  edges are reviewed under the id it will store, saved edges take its ids
   *  (so a rebase never adds a second copy), and restores compare its two read
   *  shapes alike and leave its classifier's metadata alone. */
  service?: Service;
  /** How changes start: `accepted` (the default; the audit records them as
   *  `decidedBy: 'default'`) or `explicit` (every change starts undecided,
   *  `accepted: null`, and `approve()` refuses until each is decided). */
  decisions?: DecisionMode;
}

/** Options of `HistoryClient.openSession`: a session's own, but `graphId` and `service`,
 *  which the client sets (the graph it opens; the service it talks to). */
export interface OpenSessionOptions extends Omit<DiffOptions, 'service'> {
  /** How changes start (see `SessionOptions.decisions`). */
  decisions?: DecisionMode;
  /** Open this stored version instead of the current one (e.g. the base of kept pending saves). */
  version?: number;
}

export type DecisionMode = 'accepted' | 'explicit';

/** How a change got its decision: the reviewer on this `change`, on its `node`,
 *  a `bulk` action (see `bulkFilter`), a `dependency` (a change it needs, or that
 *  needs it, was decided), or nobody (`default`). */
export type DecidedBy = 'default' | 'change' | 'node' | 'bulk' | 'dependency';

/** A bulk decision's description of what it covered, as the reviewer saw it. */
export interface BulkOptions {
  /** E.g. `kind: changed · field: label · search: fjord`. */
  filter?: string;
}

export interface ProposeContext {
  /** `ai` by default; also `user`, `revert`, `import`... */
  source?: string;
  model?: string;
  reason?: string;
  runId?: string;
  /** When the proposal was made (ISO 8601); default: now. Kept as the audit's `proposedAt`. */
  proposedAt?: string;
}

export interface ApproveOptions {
  user: string;
  /** ISO 8601; defaults to the current time. */
  now?: string;
  reason?: string;
}

export interface TextOp { op: 'equal' | 'insert' | 'delete'; text: string }

export interface TextDiff {
  granularity: Exclude<Granularity, 'auto'>;
  /** True when the time budget ran out: some hunks stayed line-level, or (the
   *  ops exact, but late) building the result took the call past budget + 10%. */
  degraded: boolean;
  ops: TextOp[];
}

export interface Change {
  /** Stable: `node/<id>/<field>`, `node/<id>`, `edge/<id>[/<field>]`, `metadata/<field>`. */
  id: string;
  /** `graph`: a top-level field besides nodes, edges and metadata (`description`, `license`...). */
  target: 'node' | 'edge' | 'metadata' | 'graph';
  kind: 'added' | 'removed' | 'changed';
  nodeId?: string;
  edgeId?: string;
  label: string;
  field?: string;
  /** Absent (not null) when there was no value. */
  old?: Json;
  /** What will be applied: the AI's value, or the reviewer's if `corrected`. */
  new?: Json;
  /** `true` accepted, `false` rejected, `null` not decided yet (explicit decisions). */
  accepted: boolean | null;
  /** How it was decided (absent while undecided). */
  decidedBy?: DecidedBy;
  /** The filter of the bulk action that decided it. */
  bulkFilter?: string;
  /** The reviewer replaced the AI's value (`session.correct`): `new` is theirs. */
  corrected?: true;
  /** The AI's value of a corrected change (absent if it proposed none). */
  proposed?: Json;
  /** The reviewer's comment (`session.comment`). */
  comment?: string;
  /** An inline diff, present when `old` and `new` are both strings. Computed
   *  (with the session's or call's granularity and budget) when first read:
   *  reading it costs the diff; a review's list needs only `old` and `new`. */
  text?: TextDiff;
  /** Changes that must be accepted for this one to apply. */
  requires?: string[];
  /** After a rebase: both editors changed this. `old` is theirs, `new` ours; accept or reject to decide. */
  conflict?: { base?: Json; resolved: boolean };
  /** The `confidence` of the node patch this change comes from (absent if it had none). */
  confidence?: number;
  /** The `ruleId` of the node patch this change comes from. */
  ruleId?: string;
  /** Why the AI suggests it: its node patch's or edge's `rationale`. */
  rationale?: string;
}

export interface Summary {
  nodesAdded: number;
  nodesRemoved: number;
  nodesChanged: number;
  edgesAdded: number;
  edgesRemoved: number;
  edgesChanged: number;
  metadataChanged: number;
  graphChanged: number;
  fieldsChanged: number;
}

export type WarningCode =
  | 'reserved_field_ignored' | 'unknown_proposal_key' | 'node_not_found' | 'edge_not_found'
  | 'hidden_node_kept' | 'dangling_edge' | 'images_preserved' | 'no_change' | 'edge_id_rewritten'
  | 'provenance_overridden' | 'draft_decision_dropped';

export interface Warning { code: WarningCode; message: string; nodeId?: string; edgeId?: string; field?: string }

/** Where a proposal came from: the caller's `ProposeContext` completed with what
 *  the proposal says of itself. Absent values are left out. */
export interface ReviewProvenance {
  source: string;
  model?: string;
  modelVersion?: string;
  /** 0 to 1. */
  confidence?: number;
  ruleId?: string;
  reason?: string;
  runId?: string;
  /** When the proposal was made (ISO 8601). */
  proposedAt?: string;
}

/** A node patch's (or a proposed edge's) own provenance, as the audit entry keeps it. */
export interface PatchProvenance { confidence?: number; ruleId?: string; rationale?: string }

export interface Review {
  /** The first 16 hex digits of the SHA-256 of the proposal's canonical JSON;
   *  computed when first read. */
  proposalId: string;
  provenance: ReviewProvenance;
  changes: Change[];
  summary: Summary;
  warnings: Warning[];
  /** A rebased review: the reason and rejections of the approval it replaces (a conflict never loses them). */
  carried?: { reason: string | null; rejected: string[]; decisions?: { [changeId: string]: DecisionRecord } };
}

/** The audit's record of one change's decision. */
export interface DecisionRecord {
  decision: 'accepted' | 'rejected' | 'corrected';
  decidedBy: DecidedBy;
  /** The filter of the bulk action that decided it. */
  filter?: string;
  comment?: string;
  /** A correction's AI value (the final value is the change's `new`). */
  proposed?: Json;
}

/** A review in progress (`session.draft()`), plain JSON about the size of its
 *  proposal: keep it, and `session.resume(draft)` it after a reload. */
export interface Draft {
  /** The draft format (1). */
  draft: number;
  kind: 'proposal' | 'revert' | 'rebase';
  graphId: string | null;
  baseVersion: number | string | null;
  proposalId: string;
  /** A proposal review's proposal, as given. */
  proposal?: Proposal;
  provenance?: ReviewProvenance;
  decisionMode: DecisionMode;
  /** Change id → what the reviewer did to it (`seen`: the values they saw). */
  changes: { [changeId: string]: { seen: string; accepted?: boolean; decidedBy?: DecidedBy; filter?: string; correction?: Json; comment?: string } };
  /** The reason typed so far. */
  reason?: string;
}

export interface DraftOptions {
  /** The reason typed so far, kept with the draft. */
  reason?: string;
}

export interface GraphDiff {
  changes: Change[];
  summary: Summary;
  /** Metadata the service wrote by itself (its classifier), not part of any approval. */
  serverWritten?: Change[];
}

export interface AuditEntry {
  approvalId: string;
  graphId: string | null;
  baseVersion: number | string | null;
  user: string;
  at: string;
  source: string;
  model: string | null;
  modelVersion: string | null;
  /** The proposal's confidence, 0 to 1. */
  confidence: number | null;
  ruleId: string | null;
  reason: string | null;
  proposalReason: string | null;
  runId: string | null;
  proposalId: string;
  /** nodeId → field → [old, new] */
  changes: { [nodeId: string]: { [field: string]: [Json, Json] } };
  edgeChanges: { [edgeId: string]: { [field: string]: [Json, Json] } };
  metadataChanges: { [field: string]: [Json, Json] };
  graphChanges?: { [field: string]: [Json, Json] };
  /** nodeId → its patch's provenance, for decided nodes whose patch had some. */
  patchProvenance?: { [nodeId: string]: PatchProvenance };
  /** edgeId → a proposed edge's `rationale`, for decided edges that had one. */
  edgeProvenance?: { [edgeId: string]: PatchProvenance };
  /** When the proposal was made (ISO 8601): with `at`, the time the decision took. */
  proposedAt?: string;
  nodesAdded: string[];
  nodesRemoved: string[];
  edgesAdded: string[];
  edgesRemoved: string[];
  accepted: string[];
  rejected: string[];
  /** How the session started its changes. */
  decisionMode: DecisionMode;
  /** Change id → its decision, how it was made, the comment, a correction's AI value. */
  decisions?: { [changeId: string]: DecisionRecord };
}

/** Field changes of one node, edge or the metadata: values to set (an existing
 *  field keeps its place, a new one goes last), fields to remove. */
export interface FieldPatch { fields: { [field: string]: Json }; removeFields?: string[] }

/** What one approval changed, as the new values of exactly what changed
 *  (`POST /patchGraph` takes it with `graphId` and `expectedVersion`). */
export interface GraphDelta {
  patchNodes?: Array<FieldPatch & { nodeId: string }>;
  addNodes?: GraphNode[];
  removeNodeIds?: string[];
  /** By edge id, or `${source}_${target}` for an edge without one. */
  patchEdges?: Array<FieldPatch & { edgeId: string }>;
  addEdges?: GraphEdge[];
  removeEdgeIds?: string[];
  patchMetadata?: FieldPatch;
  /** Top-level fields besides nodes, edges and metadata. */
  patchGraph?: FieldPatch;
}

export interface Approved {
  /** The approved graph. Read from the session when first read (it does not
   *  cross into JS at approval); after that it is a plain object you may edit. */
  graph: GraphData;
  audit: AuditEntry;
  /** What the approval changed: what a delta save sends. */
  delta: GraphDelta;
  changedNodeIds: string[];
  removedNodeIds: string[];
  /** The accepted changes (kept so a stale save can be rebased). */
  changes: Change[];
  /** False when nothing was accepted: there is nothing to save. */
  queued: boolean;
}

/** What `markSaved` returns: the approval's audit entry and the version it became. */
export type SavedApproval = AuditEntry & { savedVersion: number };

/** An approval waiting in the outbox: save it with `HistoryClient.save`, keep it
 *  as it is (JSON) and `restorePendingSaves` it after a reload. It holds each
 *  value once: its delta, and the audit entry without its per-field `[old, new]`
 *  maps (rebuilt on restore from the version it was approved on). `graph` is
 *  read from the session on demand and left out of JSON unless the entry keeps
 *  a copy (when a later approval changed the session's graph). */
export type PendingSave = Omit<Approved, 'queued' | 'delta' | 'changes' | 'audit'> & {
  delta?: GraphDelta;
  audit: Omit<AuditEntry, 'changes' | 'edgeChanges' | 'metadataChanges' | 'graphChanges'> & Partial<Pick<AuditEntry, 'changes' | 'edgeChanges' | 'metadataChanges'>>;
};

export interface ClientOptions {
  /** Absolute URL of the history service, e.g. http://127.0.0.1:8787 */
  baseUrl: string;
  /** Sent as X-API-Token on every request. */
  token?: string;
  /** Sent as `Authorization: Bearer <bearer>` on every request: a sign-in provider's JWT (the server's --jwt-jwks), or a static token. Not with `token`. */
  bearer?: string;
  /** Per attempt, reading the body included (default 10000). */
  timeoutMs?: number;
  /** Retries after the first attempt for network errors, timeouts, 429, 5xx (default 4). */
  retries?: number;
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** `auto` (default): saves go as deltas to a server whose `/capabilities` says
   *  it takes them, as whole graphs to others (the real service). */
  deltaSaves?: 'auto' | 'always' | 'never';
  /** Also send the approval id as an `Idempotency-Key` header (default false: it
   *  travels in the body, since the real service's CORS rules refuse that header). */
  idempotencyHeader?: boolean;
  /** Extra headers on every request, e.g. an editor's own sign-in
   *  (`X-Session-Token`, `x-user-role`). */
  headers?: { [name: string]: string };
  /** `never` (default): servers without deltas get whole graphs. `one-node`: an
   *  approval that changed one existing node's fields and nothing else goes to
   *  the real service's `/patchNode` (a few hundred bytes instead of the graph;
   *  that route cannot store `metadata.updated`/`updatedBy`, the node's own
   *  stamps record the approval). */
  granularSaves?: 'never' | 'one-node';
}

export interface SaveResult {
  id: string;
  newVersion: number;
  via: 'delta' | 'full' | 'patchNode';
  /** True when the save had landed but its answer was lost, and the retry's 409
   *  was recognised as this approval's own version by reading it back. */
  answerLost?: true;
}

export interface Capabilities {
  service: Service;
  /** The server takes `POST /patchGraph` (saves cost what they change). */
  deltaSaves: boolean;
  /** A retried save is answered from its approval id. */
  idempotencyKeys: boolean;
}

export interface HistoryEntry {
  version: number;
  /** ISO 8601 UTC. */
  timestamp: string;
  user: string | null;
  reason: string | null;
  source: string | null;
}

export interface AuditFilter { nodeId?: string; user?: string; runId?: string; limit?: number; offset?: number }

export interface AuditRecord {
  version: number;
  savedAt: string;
  user: string;
  source: string;
  model: string | null;
  reason: string | null;
  runId: string | null;
  approvalId: string | null;
  proposalId: string | null;
  baseVersion: number;
  override: boolean;
  /** How the version arrived: as the changes (`delta`) or as a whole graph (`full`). */
  via?: 'delta' | 'full';
  idempotencyKey?: string | null;
  accepted: string[];
  rejected: string[];
  /** As the client told: how its changes started, and each change's decision. */
  decisionMode?: DecisionMode;
  decisions?: { [changeId: string]: DecisionRecord };
  summary: Summary;
  /** Computed by the server from the previous version, with the client's
   *  decisions on them (`decidedBy`, `corrected`/`proposed`, `comment`). */
  changes: Change[];
}

export interface AuditPage { graphId: string; total: number; limit: number; offset: number; entries: AuditRecord[] }

export interface Verification {
  graphId: string;
  versions: number;
  pruned: number;
  ok: boolean;
  firstBroken: { version: number; reason: string } | null;
}

export type ErrorCode =
  | 'invalid_graph' | 'invalid_proposal' | 'duplicate_node_id' | 'unknown_node' | 'unknown_edge'
  | 'ambiguous_edge_id' | 'conflicting_operations' | 'search_not_found' | 'field_not_text'
  | 'unknown_change' | 'no_pending_review' | 'inconsistent_decision' | 'invalid_argument' | 'invalid_value'
  | 'unknown_approval' | 'unresolved_conflict' | 'invalid_delta' | 'dangling_edge' | 'graph_unavailable'
  | 'undecided_changes' | 'invalid_correction' | 'invalid_draft'
  | 'network_error' | 'timeout' | 'http_error' | 'invalid_response' | 'version_conflict'
  /** `HistoryClient.save` of an approval from a session made for another service than the server's. */
  | 'service_mismatch'
  /** The browser build was called before `await init()`. */
  | 'not_initialized'
  /** kg-approval/vue's composable: a call that needs an open graph before `openGraph`. */
  | 'no_graph'
  /** kg-approval/vue's composable: a call that needs the history service, made without a `client`. */
  | 'no_client'
  /** kg-approval/vue's composable: approving with no signed-in `user`. */
  | 'no_user'
  /** kg-approval/vue's composable: used after its component was unmounted. */
  | 'disposed';
"#;

#[wasm_bindgen]
extern "C" {
    /// A graph, or its JSON text (taken as it is: no `JSON.stringify` on the way in).
    #[wasm_bindgen(typescript_type = "GraphData | string")]
    pub type GraphArg;
    #[wasm_bindgen(typescript_type = "Proposal")]
    pub type ProposalArg;
    #[wasm_bindgen(typescript_type = "DiffOptions")]
    pub type DiffOptionsArg;
    #[wasm_bindgen(typescript_type = "SessionOptions")]
    pub type SessionOptionsArg;
    #[wasm_bindgen(typescript_type = "ProposeContext")]
    pub type ProposeContextArg;
    #[wasm_bindgen(typescript_type = "ApproveOptions")]
    pub type ApproveArg;
    #[wasm_bindgen(typescript_type = "ClientOptions")]
    pub type ClientOptionsArg;
    #[wasm_bindgen(typescript_type = "Approved | PendingSave")]
    pub type ApprovedArg;
    #[wasm_bindgen(typescript_type = "AuditFilter")]
    pub type AuditFilterArg;
    #[wasm_bindgen(typescript_type = "PendingSave[]")]
    pub type PendingSavesArg;
    #[wasm_bindgen(typescript_type = "string[]")]
    pub type ChangeIdsArg;
    #[wasm_bindgen(typescript_type = "BulkOptions")]
    pub type BulkOptionsArg;
    #[wasm_bindgen(typescript_type = "Json")]
    pub type JsonArg;
    #[wasm_bindgen(typescript_type = "DraftOptions")]
    pub type DraftOptionsArg;
    #[wasm_bindgen(typescript_type = "Draft")]
    pub type DraftArg;
    #[wasm_bindgen(typescript_type = "OpenSessionOptions")]
    pub type OpenSessionOptionsArg;
    /// A string argument that may be left out (checked by `text_arg`).
    #[wasm_bindgen(typescript_type = "string")]
    pub type TextArg;
}
