// Compiled with `tsc --strict --noEmit` by types.test.js. The package's
// .d.ts must accept what users write and reject mistakes: each line marked
// below as an expected error must be one, or tsc fails ("unused directive").
import { ApprovalSession, reviewProposal, diffText, diffGraphs, KgApprovalError } from 'kg-approval';
import type { GraphData, Proposal, Review, Change, Approved, TextDiff, ErrorCode } from 'kg-approval';

const graph: GraphData = {
  metadata: { title: 'T', version: 1 },
  nodes: [{ id: 'a', label: 'A', position: { x: 1, y: 2 }, visible: false, custom: { any: ['json', 1, null] } }],
  edges: [{ id: 'a_a', from: 'a', to: 'a' }],
};
const proposal: Proposal = { nodes: [{ id: 'a', label: 'B' }], searchReplace: [{ nodeId: 'a', search: 'A', replace: 'B' }] };

const review: Review = reviewProposal(graph, proposal, { granularity: 'word', budgetMs: 50 });
const first: Change = review.changes[0];
const kind: 'added' | 'removed' | 'changed' = first.kind;
const count: number = review.summary.fieldsChanged;

const session = new ApprovalSession(graph, { graphId: 'g' });
session.propose(proposal, { source: 'ai', model: 'm', reason: 'r', runId: '1' });
const changed: string[] = session.reject(first.id);
const approved: Approved = session.approve({ user: 'ann', reason: 'ok' });
const stamp: string | undefined = approved.graph.nodes[0].updatedAt;
const rejected: string[] = approved.audit.rejected;

const diff: TextDiff = diffText('a', 'b');
const op: 'equal' | 'insert' | 'delete' = diff.ops[0].op;
const graphDiff = diffGraphs(graph, approved.graph);
const ids: string[] = graphDiff.changes.map((c) => c.id);

try {
  reviewProposal(graph, proposal);
} catch (e) {
  if (e instanceof KgApprovalError) {
    const code: ErrorCode = e.code;
    const path: string | undefined = e.path;
    void code, path;
  }
}

// @ts-expect-error: nodes is required in a graph
reviewProposal({ edges: [] }, proposal);
// @ts-expect-error: a proposal's nodes need ids
reviewProposal(graph, { nodes: [{ label: 'x' }] });
// @ts-expect-error: no such granularity
diffText('a', 'b', { granularity: 'sentence' });
// @ts-expect-error: approve needs a user
session.approve({ reason: 'x' });
// @ts-expect-error: kind is a union of three strings, not any string
const wrongKind: 'edited' = first.kind;
// @ts-expect-error: accept takes a change id string
session.accept(3);

// Provenance: on the proposal, per node patch, in the review and the audit entry.
const told: Proposal = { model: 'm', modelVersion: '2024-06', confidence: 0.8, ruleId: 'r7', nodes: [{ id: 'a', label: 'B', confidence: 0.5, ruleId: 'r8' }] };
const toldReview: Review = reviewProposal(graph, told);
const toldModel: string | undefined = toldReview.provenance.model;
const changeConfidence: number | undefined = toldReview.changes[0].confidence;
const auditConfidence: number | null = approved.audit.confidence;
const nodeRule: string | undefined = approved.audit.patchProvenance?.a?.ruleId;
// @ts-expect-error: a confidence is a number, not a word
reviewProposal(graph, { confidence: 'high' });
// @ts-expect-error: a node patch's confidence is a number too
reviewProposal(graph, { nodes: [{ id: 'a', confidence: 'high' }] });

void kind, count, changed, stamp, rejected, op, ids, wrongKind, toldModel, changeConfidence, auditConfidence, nodeRule;
