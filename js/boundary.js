// The JS side of the boundary: plain data crosses into WASM packed
// (`packData`), anything else as JSON text, and errors come back as
// `KgApprovalError`s with a stable `code`.
//
// JSON.stringify alone would silently change data: `undefined` keys vanish,
// NaN becomes null, a Map becomes {}, a Date becomes a string, and lone
// surrogates would be replaced by U+FFFD on the way into Rust. The replacer
// refuses all of those, and on refusal `locate` finds the path to name.

export class KgApprovalError extends Error {
  constructor(code, message, details) {
    super(message);
    this.name = 'KgApprovalError';
    this.code = code;
    if (details) Object.assign(this, details);
  }
}

/** A save refused because someone saved first; `currentVersion` says which version won. */
export class ConflictError extends KgApprovalError {
  constructor(message, details) {
    super('version_conflict', message, details);
    this.name = 'ConflictError';
  }
}

/** An error with extra fields (`status`, `serverError`, `currentVersion`, `attempts`) given as JSON text. */
export function makeDetailedError(code, message, detailsJson) {
  const details = detailsJson ? JSON.parse(detailsJson) : {};
  return code === 'version_conflict' ? new ConflictError(message, details) : new KgApprovalError(code, message, details);
}

export function makeError(code, message, path, argument, changeIds) {
  const details = {};
  if (path != null) details.path = path;
  if (argument) details.argument = argument;
  if (changeIds && changeIds.length) details.changeIds = changeIds;
  return new KgApprovalError(code, message, details);
}

const isWellFormed = typeof String.prototype.isWellFormed === 'function'
  ? (s) => s.isWellFormed()
  : (s) => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);

// Why a value cannot be carried as JSON, or null if it can.
function refusal(value) {
  switch (typeof value) {
    case 'string':
      return isWellFormed(value) ? null : 'contains a lone UTF-16 surrogate, which is not text';
    case 'number':
      return Number.isFinite(value) ? null : `is ${value}, which JSON cannot hold`;
    case 'boolean':
      return null;
    case 'undefined':
      return 'is undefined: use null, or leave the key out';
    case 'bigint':
      return 'is a BigInt: use a number or a string';
    case 'function':
    case 'symbol':
      return `is a ${typeof value}, which is not data`;
    default: {
      if (value === null) return null;
      if (Array.isArray(value)) return symbolKeys(value);
      const proto = Object.getPrototypeOf(value);
      if (proto === Object.prototype || proto === null) {
        // JSON.stringify would call toJSON and send its result instead.
        if (typeof value.toJSON === 'function') return 'has a toJSON method: pass the data it stands for';
        return symbolKeys(value);
      }
      const name = (proto && proto.constructor && proto.constructor.name) || 'object';
      const hint = value instanceof Date ? ': pass date.toISOString()' : ': pass a plain object';
      return `is a ${name}, not plain data${hint}`;
    }
  }
}

// JSON.stringify drops enumerable Symbol keys without a word; refuse them
// instead. (Non-enumerable ones, like non-enumerable string keys, are not data.)
const isEnumerable = Object.prototype.propertyIsEnumerable;
function symbolKeys(value) {
  const symbols = Object.getOwnPropertySymbols(value);
  if (symbols.length === 0 || !symbols.some((s) => isEnumerable.call(value, s))) return null;
  return 'has a Symbol key, which JSON would drop';
}

const MAX_DEPTH = 128;

function segment(key) {
  if (typeof key === 'number') return `[${key}]`;
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

// The first offending value in depth-first order: {path, reason}.
function locate(value) {
  const ancestors = new Set();
  const stack = [{ value, path: '', depth: 0 }];
  while (stack.length) {
    const item = stack.pop();
    if (item.leave) {
      ancestors.delete(item.leave);
      continue;
    }
    const reason = refusal(item.value);
    if (reason) return { path: item.path, reason };
    const v = item.value;
    if (v === null || typeof v !== 'object') continue;
    if (ancestors.has(v)) return { path: item.path, reason: 'refers back to an object that contains it (a cycle)' };
    if (item.depth >= MAX_DEPTH) return { path: item.path, reason: `nests deeper than ${MAX_DEPTH} levels` };
    ancestors.add(v);
    stack.push({ leave: v });
    // Holes of sparse arrays are visited too: they read as undefined.
    const keys = Array.isArray(v) ? Array.from({ length: v.length }, (_, i) => i) : Object.keys(v);
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i];
      const path = item.path + segment(key);
      if (typeof key === 'string' && !isWellFormed(key)) return { path, reason: 'is a key with a lone UTF-16 surrogate' };
      let child;
      try {
        child = v[key];
      } catch (e) {
        return { path, reason: `cannot be read (its getter threw: ${e && e.message})` };
      }
      stack.push({ value: child, path, depth: item.depth + 1 });
    }
  }
  return { path: '', reason: 'cannot be converted to JSON' };
}

function refuse(value, argument) {
  let found;
  try {
    found = locate(value);
  } catch (e) {
    // A Proxy whose traps throw: there is no path to name.
    found = { path: '', reason: `cannot be read (${e && e.message})` };
  }
  const { path, reason } = found;
  const where = path ? `${argument}${path.startsWith('[') ? '' : '.'}${path.replace(/^\./, '')}` : argument;
  return makeError('invalid_value', `${where} ${reason}`, path.replace(/^\./, ''), argument);
}

// A number JSON carries exactly as serde_json reads it back: finite, and an
// integer only if it is safe (JSON's digits past 2^53 read as an integer,
// not as the float JS holds).
function exactNumber(v) {
  return Number.isFinite(v) && (Number.isSafeInteger(v) || !Number.isInteger(v));
}

// An object JSON.stringify carries key by key: a plain prototype, no toJSON
// (whose result it would send instead) and no Symbol keys (it would drop them).
function plainRecord(v) {
  const proto = Object.getPrototypeOf(v);
  if ((proto !== Object.prototype && proto !== null) || typeof v.toJSON === 'function') return false;
  return Object.getOwnPropertySymbols(v).length === 0;
}

// True if JSON.stringify carries `value` exactly: finite numbers, well-formed
// strings and keys, plain objects and dense arrays without toJSON or Symbol
// keys, no `undefined`, nested at most MAX_DEPTH deep (so no cycles). False
// means "not sure", never "refused": the caller then takes the careful path.
function plainData(v, depth, strings) {
  switch (typeof v) {
    case 'string':
      if (strings !== undefined && v.length >= LONG_STRING) strings.push(v);
      return isWellFormed(v);
    case 'number':
      return exactNumber(v);
    case 'boolean':
      return true;
    case 'object': {
      if (v === null) return true;
      if (depth >= MAX_DEPTH) return false;
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) if (!plainData(v[i], depth + 1, strings)) return false;
        return Object.getOwnPropertySymbols(v).length === 0;
      }
      if (!plainRecord(v)) return false;
      const keys = Object.keys(v);
      for (let i = 0; i < keys.length; i++) {
        if (!isWellFormed(keys[i]) || !plainData(v[keys[i]], depth + 1, strings)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

// Plain data (by plainData's rules: the same exactNumber and plainRecord)
// written into WASM memory in the layout src/bindings/packed.rs reads: one
// walk, where the JSON path takes JSON.stringify's text, the copy into WASM and
// serde_json's parse of it. `next(used, more)` says the current chunk holds
// `used` bytes and returns a view of a new chunk in WASM memory with room
// for at least `more`. Returns the bytes written in the last chunk, or -1
// for "not plain data" (the caller then takes the JSON path, which names
// what is wrong).
export function packData(value, next) {
  const packer = new Packer(next);
  try {
    return packer.value(value, 0) ? packer.pos : -1;
  } catch (e) {
    // A throwing getter or Proxy trap: not plain data.
    return -1;
  }
}

const utf8 = new TextEncoder();
const SHORT_TEXT = 32;
const PACKED = { null: 0, false: 1, true: 2, number: 3, string: 4, array: 5, object: 6 };

class Packer {
  constructor(next) {
    this.next = next;
    this.pos = 0;
    this.view(next(0, 0));
  }

  view(bytes) {
    this.bytes = bytes;
    this.data = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  // Every write asks for room first, and what it asks for (a tag with its
  // count, a text with its length) stays in one chunk. A getter that calls
  // into WASM can grow its memory, which detaches the view (its length
  // becomes 0): the next write then gets a new chunk, and no byte is
  // written to a stale view.
  room(more) {
    if (this.pos + more <= this.bytes.length) return;
    this.view(this.next(this.pos, more));
    this.pos = 0;
  }

  // False if `s` is not well-formed (a lone surrogate, which UTF-8 cannot
  // carry: encodeInto would write U+FFFD instead).
  text(s) {
    const length = s.length;
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    this.room(4 + 3 * length);
    const bytes = this.bytes;
    const at = this.pos + 4;
    if (length <= SHORT_TEXT) {
      // Keys and short values, mostly ASCII: a loop beats encodeInto's call.
      let i = 0;
      for (; i < length; i++) {
        const unit = s.charCodeAt(i);
        if (unit >= 0x80) break;
        bytes[at + i] = unit;
      }
      if (i === length) {
        this.data.setUint32(this.pos, length, true);
        this.pos = at + length;
        return true;
      }
    }
    const { written } = utf8.encodeInto(s, bytes.subarray(at));
    // As many bytes as units: all ASCII, so no surrogate to check for.
    if (written !== length && !isWellFormed(s)) return false;
    this.data.setUint32(this.pos, written, true);
    this.pos = at + written;
    return true;
  }

  tag(tag, count) {
    this.room(5);
    this.bytes[this.pos] = tag;
    this.data.setUint32(this.pos + 1, count, true);
    this.pos += 5;
  }

  value(v, depth) {
    switch (typeof v) {
      case 'string':
        this.room(1);
        this.bytes[this.pos++] = PACKED.string;
        return this.text(v);
      case 'number':
        if (!exactNumber(v)) return false;
        this.room(9);
        this.bytes[this.pos] = PACKED.number;
        this.data.setFloat64(this.pos + 1, v, true);
        this.pos += 9;
        return true;
      case 'boolean':
        this.room(1);
        this.bytes[this.pos++] = v ? PACKED.true : PACKED.false;
        return true;
      case 'object': {
        if (v === null) {
          this.room(1);
          this.bytes[this.pos++] = PACKED.null;
          return true;
        }
        if (depth >= MAX_DEPTH) return false;
        if (Array.isArray(v)) {
          if (Object.getOwnPropertySymbols(v).length !== 0) return false;
          // The count is written first, so a getter that grows the array cannot add items.
          const length = v.length;
          this.tag(PACKED.array, length);
          for (let i = 0; i < length; i++) if (!this.value(v[i], depth + 1)) return false;
          return true;
        }
        if (!plainRecord(v)) return false;
        const keys = Object.keys(v);
        this.tag(PACKED.object, keys.length);
        for (let i = 0; i < keys.length; i++) {
          const key = keys[i];
          if (!this.text(key) || !this.value(v[key], depth + 1)) return false;
        }
        return true;
      }
      default:
        return false;
    }
  }
}

// Strings at least this long (UTF-16 units) in a proposal are listed by
// proposalJson; Rust's SHARED_STRING_UNITS is the same.
const LONG_STRING = 64;

// `[text, strings]`: a proposal's JSON text, and its strings of LONG_STRING
// or more units in document order (JSON.stringify's, and serde_json's, order
// of values), or null if the proposal took the careful path. A review then
// refers to these strings instead of carrying copies of them.
export function proposalJson(value, argument) {
  try {
    const strings = [];
    if (plainData(value, 0, strings)) {
      const text = JSON.stringify(value);
      if (text !== undefined) return [text, strings];
    }
  } catch (e) {
    // As in toJson.
  }
  return [toJson(value, argument, false), null];
}

// JSON text of `value`, or a thrown `invalid_value` error naming the path.
// For option objects (`options`), an `undefined` property means "not given",
// as JS callers expect; in graphs and proposals it is refused, because it
// could mean "delete" or "null" and JSON would silently drop it.
export function toJson(value, argument, options) {
  // Plain data (the common case) is checked by a walk that builds nothing
  // and then stringified without a replacer, about twice as fast; anything
  // else takes the replacer's path, which finds and names the problem.
  try {
    if (plainData(value, 0)) {
      const text = JSON.stringify(value);
      if (text !== undefined) return text;
    }
  } catch (e) {
    // A throwing getter or Proxy trap: the path below says where.
  }
  let refused = false;
  let text;
  try {
    text = JSON.stringify(value, function (key, v) {
      if (options && v === undefined && key !== '' && !Array.isArray(this)) return undefined;
      // `this[key]` is the value before toJSON (a Date, not its string).
      if (refusal(this[key]) !== null || !isWellFormed(key)) {
        refused = true;
        throw refuse;
      }
      return v;
    });
  } catch (e) {
    // A cycle (TypeError) or our own refusal: either way, say where.
    refused = true;
  }
  if (refused || text === undefined) throw refuse(value, argument);
  return text;
}

// The path of the first value nested deeper than the core's limit.
export function deepPath(value, argument) {
  return refuse(value, argument);
}

// Which session and approval an object handed out by approve() or
// pendingSaves() came from, so its graph can be read from the session when
// needed instead of crossing into JS at approval time.
const APPROVAL = Symbol('kg-approval: session and approval');

// `graph`, read on demand: `source(session, approvalId)` gives the approved
// graph's JSON text (or an error to throw). Once read, the object's graph is
// the caller's to edit, and saves build their body from it.
function lazyGraph(target, source, session, approvalId, enumerable) {
  let graph;
  Object.defineProperty(target, 'graph', {
    enumerable,
    configurable: true,
    get() {
      if (graph === undefined) {
        const text = source(session, approvalId);
        if (typeof text !== 'string') throw text;
        graph = JSON.parse(text);
      }
      return graph;
    },
    set(value) {
      graph = value;
    },
  });
  Object.defineProperty(target, APPROVAL, { value: () => (graph === undefined ? [session, approvalId] : undefined) });
}

// approve()'s result: `graph` first (as before), read from the session on demand.
export function makeApproved(restText, source, session, approvalId, textDiffs) {
  const approved = {};
  lazyGraph(approved, source, session, approvalId, true);
  Object.assign(approved, JSON.parse(restText));
  lazyTexts(approved.changes, textDiffs);
  return approved;
}

// pendingSaves(): plain entries for localStorage. An entry without a kept
// copy of its graph gets a non-enumerable `graph`, so JSON.stringify keeps
// the outbox the size of its deltas.
export function makePendingSaves(text, source, session, textDiffs) {
  const entries = JSON.parse(text);
  for (const entry of entries) {
    if (entry.graph === undefined) lazyGraph(entry, source, session, entry.audit.approvalId, false);
    // Not enumerable either: kept in localStorage, an entry stays the size of its changes.
    lazyTexts(entry.changes, textDiffs, false);
  }
  return entries;
}

// The diff function and options lazy `text` getters call.
export function textDiffs(source, granularity, budgetMs) {
  return { source, granularity, budgetMs };
}

// A change from one string to another has an inline diff, `text`, computed
// from its `old` and `new` when first read (a review's list needs none of
// them, and a long review would otherwise carry every text three times).
// It is an enumerable property like any other: JSON.stringify and spreading
// include it (computing it).
function lazyTexts(changes, textDiffs, enumerable = true) {
  if (!Array.isArray(changes)) return;
  const { source, granularity, budgetMs } = textDiffs;
  for (const change of changes) {
    const { old, new: neu } = change;
    if (typeof old !== 'string' || typeof neu !== 'string') continue;
    let diff;
    let known = false;
    Object.defineProperty(change, 'text', {
      enumerable,
      configurable: true,
      get() {
        if (!known) {
          diff = source(old, neu, granularity, budgetMs);
          known = true;
        }
        return diff;
      },
      set(value) {
        diff = value;
        known = true;
      },
    });
  }
}

export function proposalIdSource(source, text) {
  return { source, text };
}

// A review, or a graph diff (built by serde-wasm-bindgen or JSON.parse):
// `{changes, ...}` with lazy text diffs. A
// review's `proposalId` (a SHA-256 of the whole proposal) is computed when
// first read if `proposalId` (from proposalIdSource) is given.
export function makeReview(review, textDiffs, proposalId, strings, moved) {
  if (review !== null) {
    // Changes whose `new` is one of the proposal's long strings: that string
    // (see proposalJson), not a copy decoded from WASM.
    for (let i = 0; i < moved.length; i += 2) review.changes[moved[i]].new = strings[moved[i + 1]];
    lazyTexts(review.changes, textDiffs);
    lazyTexts(review.serverWritten, textDiffs);
    if (proposalId !== undefined && review.proposalId === '') lazyProposalId(review, proposalId);
  }
  return review;
}

function lazyProposalId(review, { source, text }) {
  let id;
  Object.defineProperty(review, 'proposalId', {
    enumerable: true,
    configurable: true,
    get() {
      if (id === undefined) {
        id = source(text);
        text = undefined;
      }
      return id;
    },
    set(value) {
      id = value;
      text = undefined;
    },
  });
}

const OPS = ['equal', 'delete', 'insert'];

// A text diff whose ops are slices of the two texts: `spans` holds (kind,
// UTF-16 length) pairs; equal and delete runs follow each other through
// `oldText`, equal and insert runs through `newText`.
export function makeTextDiff(oldText, newText, granularity, degraded, spans) {
  const ops = new Array(spans.length >> 1);
  let o = 0;
  let n = 0;
  for (let i = 0, j = 0; i < spans.length; i += 2, j++) {
    const kind = spans[i];
    const len = spans[i + 1];
    let text;
    if (kind === 2) {
      text = newText.slice(n, n + len);
      n += len;
    } else {
      text = oldText.slice(o, o + len);
      o += len;
      if (kind === 0) n += len;
    }
    ops[j] = { op: OPS[kind], text };
  }
  return { granularity, degraded, ops };
}

export function approvalRef(approved) {
  const ref = approved !== null && typeof approved === 'object' ? approved[APPROVAL] : undefined;
  return typeof ref === 'function' ? ref() : undefined;
}

// A string argument (not JSON-encoded), checked so that it reaches Rust intact.
export function textArg(value, argument) {
  if (typeof value !== 'string') {
    const what = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
    throw makeError('invalid_argument', `${argument} must be a string, got ${what}`, null, argument);
  }
  if (!isWellFormed(value)) {
    throw makeError('invalid_value', `${argument} contains a lone UTF-16 surrogate, which is not text`, null, argument);
  }
  return value;
}
