// The history server's audit routes (this server's extras, not in
// HistoryClient): the trail with filters, field-level blame, runs, exports.
// Every one needs the X-API-Token header, which is why an export is fetched
// here and handed to the browser as a Blob rather than linked with <a href>.

/** The query string of `params`, leaving out empty values (the server reads
 *  an empty `runId=` as "no filter" anyway, but short URLs are easier to read
 *  in logs). */
function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && String(value).trim() !== '') search.set(key, String(value).trim());
  }
  return search.toString();
}

/** An Error carrying the server's own `{error}` text when it sent one. */
async function failure(response) {
  let text = '';
  try {
    text = (await response.json()).error ?? '';
  } catch {
    // Not JSON (a proxy's page, a broken stream): fall back to the status.
  }
  const error = new Error(text || `The server answered ${response.status} ${response.statusText}.`.replace(/ \.$/, '.'));
  error.status = response.status;
  return error;
}

export function auditApi({ baseUrl, token }) {
  const request = async (path, params) => {
    const response = await fetch(`${baseUrl}${path}?${query(params)}`, { headers: { 'X-API-Token': token } });
    if (!response.ok) throw await failure(response);
    return response;
  };
  return {
    /** GET /getknowgraphaudit: `{total, limit, offset, entries}`, newest first. */
    entries: async (graphId, filters, page) => (await request('/getknowgraphaudit', { id: graphId, ...filters, ...page })).json(),
    /** GET /getknowgraphblame: who last changed each field of a node. */
    blame: async (graphId, nodeId) => (await request('/getknowgraphblame', { id: graphId, nodeId })).json(),
    /** GET /getknowgraphrun: a run's approvals across the graphs. */
    run: async (runId, page) => (await request('/getknowgraphrun', { runId, ...page })).json(),
    /** GET /getauditstats: `{groupBy, bucket, timeZone, rows}` (see the README's reports). */
    stats: async (params) => (await request('/getauditstats', params)).json(),
    /** The same report as CSV, saved as a download. */
    async downloadStats(params, name) {
      const response = await request('/getauditstats', { ...params, format: 'csv' });
      saveBlob(await response.blob(), name);
    },
    /** GET /getalarms: `{alarms, verification}`, newest first. */
    alarms: async (limit = 200) => (await request('/getalarms', { limit })).json(),
    /** GET /exportknowgraphaudit, read whole (a broken stream rejects, so a
     *  short export is never offered) and saved under the server's name. */
    async download(format, graphId, filters) {
      const response = await request('/exportknowgraphaudit', { format, id: graphId, ...filters });
      const blob = await response.blob();
      const named = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '');
      saveBlob(blob, named?.[1] ?? `audit-${graphId}.${format}`);
    },
  };
}

/** Offers `blob` as a download named `name`. */
export function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = Object.assign(document.createElement('a'), { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  // Revoked later, not at once: some browsers still read the URL after click().
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
}

/** The instant a `YYYY-MM-DD` date input's day starts on the user's clock,
 *  `plusDays` later, as RFC 3339 for the server. Its `from`/`to` bounds are
 *  instants (a bare date would be a UTC day, hours off for most users):
 *  `from` is the picked day's start, `to` (exclusive) the next day's, so the
 *  "until" day is included. */
export function dayStart(date, plusDays = 0) {
  if (!date) return '';
  const [year, month, day] = date.split('-').map(Number);
  return new Date(year, month - 1, day + plusDays).toISOString();
}

/** A value as short plain text for a table cell (graph content is untrusted
 *  and rendered as text by the caller; this only shortens it). */
export function shortText(value, max = 80) {
  if (value === undefined) return '';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export const when = (iso) => (iso ? new Date(iso).toLocaleString() : '');

/**
 * A typed user filter matched against the people known to have saved the
 * graph, ignoring case: `{ match }` (the one person it names: exactly, or the
 * only one containing it), `{ several }` (more than one contains it) or
 * `{ none: true }`. An empty filter matches anyone (`{}`); a filter matching
 * nobody known is sent as typed (the server may know more).
 */
export function matchPerson(typed, people) {
  const text = String(typed ?? '').trim();
  if (!text) return { match: null, several: [], none: false };
  const lower = text.toLowerCase();
  const exact = people.find((p) => p.toLowerCase() === lower);
  if (exact) return { match: exact, several: [], none: false };
  const containing = people.filter((p) => p.toLowerCase().includes(lower));
  if (containing.length === 1) return { match: containing[0], several: [], none: false };
  if (containing.length > 1) return { match: null, several: containing, none: false };
  return { match: null, several: [], none: true };
}

const HOW = { change: 'one by one', node: 'by node', bulk: 'in bulk', dependency: 'with a change they depend on', default: 'by default (nobody decided)' };

/**
 * What an audit entry says of its decisions (`decisionMode`, `decisions`,
 * where the server or the local record has them): how many were made each
 * way (`ways`: [{ how, count, filters }]), which changes the reviewer
 * corrected (with the AI's value) and the comments. Null for an entry without
 * per-change decisions (saved before they were recorded).
 */
export function decisionsOf(entry) {
  const decisions = entry?.decisions;
  if (!decisions || typeof decisions !== 'object') return null;
  const byWay = new Map();
  const corrected = [];
  const comments = [];
  for (const [id, d] of Object.entries(decisions)) {
    const way = byWay.get(d.decidedBy) ?? { key: d.decidedBy, how: HOW[d.decidedBy] ?? d.decidedBy, count: 0, filters: new Set() };
    way.count++;
    if (d.filter) way.filters.add(d.filter);
    byWay.set(d.decidedBy, way);
    if (d.decision === 'corrected') corrected.push({ id, proposed: d.proposed });
    if (d.comment) comments.push({ id, decision: d.decision, comment: d.comment });
  }
  const ways = [...byWay.values()].map((w) => ({ ...w, filters: [...w.filters] }));
  return { mode: entry.decisionMode ?? null, ways, corrected, comments };
}
