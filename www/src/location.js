// The app's place in the URL: ?graph=<id>&tab=<graph|history|audit>&v=<from>-<to>
// (`v=3` alone: version 3 against the current one). Read at start; written
// as the reviewer moves, so a reload comes back to the same graph, tab and
// comparison.
const TABS = ['graph', 'history', 'audit'];

/** `{ graph, tab, compare: { from, to } | null }` from a query string. */
export function readLocation(search) {
  const q = new URLSearchParams(search);
  const tab = TABS.includes(q.get('tab')) ? q.get('tab') : 'graph';
  const m = /^(\d+)(?:-(\d+))?$/.exec(q.get('v') ?? '');
  const compare = m ? { from: Number(m[1]), to: m[2] ? Number(m[2]) : null } : null;
  return { graph: q.get('graph') || null, tab, compare };
}

/** The URL (path, query, hash) of `place` on `location`, other parameters kept. */
export function writeLocation(location, { graph, tab, compare }) {
  const q = new URLSearchParams(location.search);
  q.set('graph', graph);
  if (tab && tab !== 'graph') q.set('tab', tab);
  else q.delete('tab');
  if (compare?.from) q.set('v', compare.to ? `${compare.from}-${compare.to}` : String(compare.from));
  else q.delete('v');
  return `${location.pathname}?${q}${location.hash}`;
}
