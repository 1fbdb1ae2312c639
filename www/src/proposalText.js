// A proposal taken whole, from a paste or a file: parsed once, and said in a
// line (how big, what it touches) instead of being shown as text.

/** Pastes of this many characters or more that are a whole JSON object are
 *  taken as the proposal, not put in the text box: Chromium lays out a pasted
 *  line in a textarea in time that grows much faster than its length (an
 *  836 KB proposal on one line took 26–36 s before the box answered). A
 *  proposal this big is pasted whole, not typed around. */
export const LARGE_PASTE = 64 * 1024;

// What each list of a graph_update_current proposal holds, in words.
const LISTS = [
  ['nodes', 'node patch', 'node patches'],
  ['edges', 'edge', 'edges'],
  ['removeNodeIds', 'node removal', 'node removals'],
  ['removeEdgeIds', 'edge removal', 'edge removals'],
  ['searchReplace', 'search and replace', 'searches and replaces'],
];

/** `text` read as a proposal: `{ proposal, summary }`, or `{ error }` when it
 *  is not JSON or not an object (a proposal is one JSON object). */
export function readProposal(text) {
  let proposal;
  try {
    proposal = JSON.parse(text);
  } catch (e) {
    return { error: `Not valid JSON: ${e.message}` };
  }
  if (proposal === null || typeof proposal !== 'object' || Array.isArray(proposal)) return { error: 'Not a proposal: the JSON is not an object.' };
  const parts = LISTS.filter(([key]) => Array.isArray(proposal[key])).map(([key, one, many]) => `${proposal[key].length} ${proposal[key].length === 1 ? one : many}`);
  if (proposal.metadata && typeof proposal.metadata === 'object') parts.push('metadata');
  const size = new Blob([text]).size;
  const bytes = size >= 1024 ? `${Math.round(size / 1024)} KB` : `${size} bytes`;
  return { proposal, summary: `${bytes}: ${parts.length ? parts.join(', ') : 'nothing to change'}` };
}
