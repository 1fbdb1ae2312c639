//! The WebAssembly bindings: convert JS arguments to core types, forward,
//! convert results back. No logic of their own.
//!
//! Plain data crosses packed (`packed`: one JS walk writes it into WASM
//! memory); anything else as JSON text: `js/boundary.js` stringifies it with
//! a replacer that refuses what JSON would silently change (`undefined`,
//! NaN, `Map`, `Date`, cycles, lone surrogates) and names where. Results are
//! built with `JSON.parse`, which makes even a `__proto__` key an own
//! property instead of touching a prototype.

mod args;
mod client;
mod memory;
mod packed;
mod registry;
#[cfg(feature = "swb-bench")]
mod swb;
mod typescript;

use serde::Serialize;
use serde_json::Value;
use wasm_bindgen::prelude::*;

use crate::approval::Approver;
use crate::audit::AuditEntry;
use crate::change::Change;
use crate::error::{Error, ErrorCode};
use crate::graph::Graph;
use crate::graph_diff;
use crate::history::SaveRequest;
use crate::outbox::PendingSave;
use crate::proposal::Proposal;
use crate::review::{Review, ReviewOptions, review};
use crate::session::ApprovalSession as Session;
use crate::text_diff::{Granularity, OpKind, TextDiffOptions, diff_spans};
use crate::timestamp::Timestamp;
use std::collections::HashMap;

use args::{Approval, DiffOptions, SessionOptions};
pub use client::HistoryClient;
pub use memory::wasm_memory;
pub use typescript::*;

#[wasm_bindgen(module = "/js/boundary.js")]
extern "C" {
    #[wasm_bindgen(catch, js_name = toJson)]
    fn to_json(value: &JsValue, argument: &str, options: bool) -> Result<String, JsValue>;
    #[wasm_bindgen(js_name = makeError)]
    fn make_error(code: &str, message: &str, path: Option<String>, argument: &str, change_ids: Vec<String>) -> JsValue;
    #[wasm_bindgen(js_name = deepPath)]
    fn deep_path(value: &JsValue, argument: &str) -> JsValue;
    #[wasm_bindgen(catch, js_name = textArg)]
    fn text_arg(value: &JsValue, argument: &str) -> Result<String, JsValue>;
    #[wasm_bindgen(js_name = makeApproved)]
    fn make_approved(rest_text: &str, graph_source: &JsValue, session: u32, approval_id: &str, text: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = makePendingSaves)]
    fn make_pending_saves(text: &str, graph_source: &JsValue, session: u32, text_diffs: &JsValue) -> JsValue;
    /// A review (or anything with `changes`) from its JSON text; changes from
    /// one string to another get a `text` diffed when first read.
    #[wasm_bindgen(js_name = makeReview)]
    fn make_review(review: &JsValue, text_diffs: &JsValue, proposal_id: &JsValue, strings: &JsValue, moved: &[u32]) -> JsValue;
    /// A proposal's JSON text (a JS string) and, when it is plain data, its
    /// strings of 64 or more UTF-16 units in document order (else `null`):
    /// `[text, strings]`.
    #[wasm_bindgen(catch, js_name = proposalJson)]
    fn proposal_json(value: &JsValue, argument: &str) -> Result<js_sys::Array, JsValue>;
    /// What a lazy `proposalId` getter needs: the proposal's JSON text and
    /// the function that hashes it.
    #[wasm_bindgen(js_name = proposalIdSource)]
    fn proposal_id_source(source: &JsValue, text: &JsValue) -> JsValue;
    /// `{granularity, degraded, ops}` with each op's text sliced from `old`
    /// or `new`: `spans` is (kind, UTF-16 length) pairs, kind 0 equal, 1
    /// delete, 2 insert.
    #[wasm_bindgen(js_name = makeTextDiff)]
    fn make_text_diff(old: &JsValue, new: &JsValue, granularity: &str, degraded: bool, spans: &[u32]) -> JsValue;
    /// What lazy `text` getters need: the diff function and its options.
    #[wasm_bindgen(js_name = textDiffs)]
    fn text_diffs_js(source: &JsValue, granularity: &str, budget_ms: f64) -> JsValue;
    /// `[session, approvalId]` of an approval this module made whose graph
    /// the caller has not read (and so not edited), else `undefined`.
    #[wasm_bindgen(js_name = approvalRef)]
    fn approval_ref(approved: &JsValue) -> JsValue;
}

/// A save request of an approval: the session's own entry when the object
/// came from a live session, else built from the object.
fn held_approval(approved: &JsValue) -> Option<(u32, String)> {
    let pair = approval_ref(approved);
    let pair = pair.dyn_ref::<js_sys::Array>()?;
    Some((pair.get(0).as_f64()? as u32, pair.get(1).as_string()?))
}

/// The service of the live session an approval came from, if it is held by one.
pub(crate) fn held_service(approved: &JsValue) -> Option<crate::service::Service> {
    let (session, _) = held_approval(approved)?;
    registry::with(session, |s| s.service())
}

/// The whole-graph body `HistoryClient.save` posts for an approval.
pub(crate) fn save_request(approved: &JsValue) -> JsResult<SaveRequest> {
    if let Some((session, approval_id)) = held_approval(approved) {
        if let Some(request) = registry::with(session, |s| s.full_save_request(&approval_id).ok()).flatten() {
            return Ok(request);
        }
    }
    crate::history::save_body(&parse_value(approved, "approved")?).map_err(|e| js_error(e, "approved"))
}

/// The `/patchGraph` body for an approval, if it can go as a delta.
pub(crate) fn delta_request(approved: &JsValue, expected_hash: Option<&str>) -> JsResult<Option<SaveRequest>> {
    if let Some((session, approval_id)) = held_approval(approved) {
        if let Some(Ok(request)) = registry::with(session, |s| s.delta_save_request(&approval_id, expected_hash)) {
            return Ok(request);
        }
    }
    crate::history::delta_body(&delta_parts(approved)?, expected_hash).map_err(|e| js_error(e, "approved"))
}

/// `{delta, audit}` of an approval from JS. Only these are read: the graph
/// may be megabytes.
fn delta_parts(approved: &JsValue) -> JsResult<Value> {
    let field = |name: &str| -> JsResult<Value> {
        let value = js_sys::Reflect::get(approved, &name.into()).unwrap_or(JsValue::UNDEFINED);
        if value.is_undefined() { Ok(Value::Null) } else { parse_value(&value, &format!("approved.{name}")) }
    };
    Ok(serde_json::json!({ "delta": field("delta")?, "audit": field("audit")? }))
}

/// The real service's `/patchNode` body for an approval of one node's fields.
pub(crate) fn patch_node_request(approved: &JsValue) -> JsResult<Option<SaveRequest>> {
    if let Some((session, approval_id)) = held_approval(approved) {
        if let Some(Ok(request)) = registry::with(session, |s| s.patch_node_request(&approval_id)) {
            return Ok(request);
        }
    }
    crate::history::patch_node_body(&delta_parts(approved)?).map_err(|e| js_error(e, "approved"))
}

/// The JSON body `HistoryClient.save` would post to a server that takes
/// whole graphs, for callers who send it themselves: `{id, graphData,
/// override: false, audit}` with `graphData.metadata.version` set to the
/// version the review was based on.
#[wasm_bindgen(js_name = saveBody, unchecked_return_type = "string")]
pub fn save_body_js(approved: ApprovedArg) -> JsResult<String> {
    save_request(&approved).map(|r| r.body)
}

/// The JSON body `HistoryClient.save` posts to `POST /patchGraph` (a server
/// that takes deltas) for an approval: what it changed, `expectedVersion`,
/// and `expectedHash` if given. `null` if the approval cannot go as a delta
/// (it was based on no saved version).
#[wasm_bindgen(js_name = deltaBody, unchecked_return_type = "string | null")]
pub fn delta_body_js(approved: ApprovedArg, #[wasm_bindgen(js_name = "expectedHash")] expected_hash: Option<TextArg>) -> JsResult<JsValue> {
    let hash = expected_hash.map(|h| text_arg(&h, "expectedHash")).transpose()?;
    Ok(delta_request(&approved, hash.as_deref())?.map_or(JsValue::NULL, |r| JsValue::from_str(&r.body)))
}

type JsResult<T> = Result<T, JsValue>;

fn js_error(error: Error, argument: &str) -> JsValue {
    make_error(error.code().as_str(), &error.to_string(), error.path().map(str::to_owned), argument, error.change_ids().to_vec())
}

fn invalid_argument(argument: &str, message: impl std::fmt::Display) -> JsValue {
    make_error("invalid_argument", &format!("{argument}: {message}"), None, argument, Vec::new())
}

/// Data (graphs, proposals, approvals): every value must survive as JSON.
/// Plain data is packed straight into WASM memory by one walk in JS (about
/// half the time of `JSON.stringify` and a parse: see `packed`); anything
/// else goes through `toJson`, which refuses what JSON would change and
/// names where.
fn parse_value(value: &JsValue, argument: &str) -> JsResult<Value> {
    match packed::read(value) {
        Some(parsed) => Ok(parsed),
        None => parse_json(value, argument, false),
    }
}

/// Whether a value can be built in JS by serde-wasm-bindgen: it sets
/// properties by assignment, so a `__proto__` key would set a prototype
/// instead (`JSON.parse` makes it an own property).
fn objects_buildable(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.iter().all(|(k, v)| k != "__proto__" && objects_buildable(v)),
        Value::Array(items) => items.iter().all(objects_buildable),
        _ => true,
    }
}

fn graph_buildable(graph: &Graph) -> bool {
    let map_ok = |m: &serde_json::Map<String, Value>| m.iter().all(|(k, v)| k != "__proto__" && objects_buildable(v));
    map_ok(graph.root())
        && graph.metadata().is_none_or(map_ok)
        && graph.nodes().iter().all(|n| map_ok(n.fields()))
        && graph.edges().iter().all(|e| map_ok(e.fields()))
}

fn changes_buildable(changes: &[Change]) -> bool {
    changes.iter().all(|c| [&c.old, &c.new, &c.conflict.as_ref().and_then(|k| k.base.clone())].into_iter().flatten().all(objects_buildable))
}

/// A JS value made directly (serde-wasm-bindgen) when `buildable`, else by
/// `JSON.parse` of serde_json's text.
fn to_js_direct<T: Serialize + ?Sized>(value: &T, buildable: bool) -> JsValue {
    if buildable {
        if let Ok(js) = value.serialize(&serde_wasm_bindgen::Serializer::json_compatible()) {
            return js;
        }
    }
    to_js(value)
}

/// An option object: `undefined` properties count as not given.
fn parse_option_value(value: &JsValue, argument: &str) -> JsResult<Value> {
    parse_json(value, argument, true)
}

fn parse_json(value: &JsValue, argument: &str, options: bool) -> JsResult<Value> {
    let text = to_json(value, argument, options)?;
    // The text is valid JSON; the parser refuses only nesting past its limit.
    text.parse().map_err(|_| deep_path(value, argument))
}

/// A graph argument, or its JSON text; `argument` names it in errors
/// (`graph`, `before`, `latest`...). Text skips `JSON.stringify` (with its
/// checks) on the way in: a caller who read the graph as text passes it as
/// it came.
fn parse_graph(value: &JsValue, argument: &str) -> JsResult<Graph> {
    missing(value, argument, ErrorCode::InvalidGraph, "a graph {nodes, edges}")?;
    let parsed = if value.is_string() {
        let text = text_arg(value, argument)?;
        memory::reserve(text.len());
        text.parse::<Value>().map_err(|e| {
            js_error(Error::new(ErrorCode::InvalidGraph, format!("{argument} is a string but not a graph's JSON text: {e}")), argument)
        })?
    } else {
        parse_value(value, argument)?
    };
    Graph::from_value(parsed).map_err(|e| js_error(e, argument))
}

/// A left-out argument is the wrong type for it, not an `undefined` value
/// inside data.
fn missing(value: &JsValue, argument: &str, code: ErrorCode, expected: &str) -> JsResult<()> {
    if value.is_undefined() {
        return Err(js_error(Error::new(code, format!("{argument} is missing (undefined): pass {expected}")), argument));
    }
    Ok(())
}

/// An options object read with `read`; `undefined` and `null` mean all
/// defaults (what `read` makes of an empty object).
fn parse_options<T>(value: Option<&JsValue>, argument: &str, read: fn(&Value, &str) -> Result<T, Error>) -> JsResult<T> {
    let value = match value {
        Some(v) if !(v.is_undefined() || v.is_null()) => parse_option_value(v, argument)?,
        _ => Value::Object(serde_json::Map::new()),
    };
    read(&value, argument).map_err(|e| js_error(e, argument))
}

thread_local! {
    /// `(old, new, granularity, budgetMs) → TextDiff`, for lazy `text` getters.
    static TEXT_SOURCE: JsValue =
        Closure::<dyn Fn(JsValue, JsValue, String, f64) -> JsValue>::new(lazy_text_diff).into_js_value();
    /// `(proposal JSON text) → proposal id`, for lazy `proposalId` getters.
    static PROPOSAL_ID: JsValue = Closure::<dyn Fn(String) -> String>::new(proposal_id_of).into_js_value();
}

fn proposal_id_of(text: String) -> String {
    // The text is what `toJson` made of a proposal this module parsed.
    text.parse::<Value>().map(|v| Proposal::id_of(&v)).unwrap_or_default()
}

/// A proposal argument whose id is computed when asked for, and its JSON
/// text (a JS string) to compute it from.
fn parse_proposal_unhashed(value: &JsValue) -> JsResult<(Proposal, JsValue, JsValue)> {
    missing(value, "proposal", ErrorCode::InvalidProposal, "a proposal object")?;
    let pair = proposal_json(value, "proposal")?;
    let (text, strings) = (pair.get(0), pair.get(1));
    let parsed = text.as_string().unwrap_or_default().parse().map_err(|_| deep_path(value, "proposal"))?;
    let proposal = Proposal::from_value_unhashed(parsed).map_err(|e| js_error(e, "proposal"))?;
    let id = PROPOSAL_ID.with(|source| proposal_id_source(source, &text));
    Ok((proposal, id, strings))
}

/// Strings this short cross back as part of the review's JSON.
const SHARED_STRING_UNITS: usize = 64;

/// The long strings of a proposal, in document order (as JS listed them in
/// `proposalJson`): each text → its first position.
fn long_strings(proposal: &Value) -> HashMap<&str, u32, foldhash::fast::RandomState> {
    fn walk<'a>(value: &'a Value, count: &mut u32, out: &mut HashMap<&'a str, u32, foldhash::fast::RandomState>) {
        match value {
            // A UTF-16 unit is at most 3 bytes of UTF-8: only short texts need counting.
            Value::String(s)
                if s.len() >= SHARED_STRING_UNITS && (s.len() >= 3 * SHARED_STRING_UNITS || utf16_len(s) >= SHARED_STRING_UNITS) =>
            {
                out.entry(s.as_str()).or_insert(*count);
                *count += 1;
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, count, out)),
            Value::Object(map) => map.values().for_each(|v| walk(v, count, out)),
            _ => {}
        }
    }
    let mut out = HashMap::default();
    walk(proposal, &mut 0, &mut out);
    out
}

/// A review just made from a proposal JS still holds: a change's `new`
/// that is one of the proposal's long strings is not copied back (nor
/// decoded, nor parsed); JS puts the proposal's own string in its place.
fn proposed_review_to_js(
    review: &mut Review,
    source: Option<&Value>,
    options: &TextDiffOptions,
    id: &JsValue,
    strings: &JsValue,
) -> JsValue {
    let mut moved: Vec<u32> = Vec::new();
    let mut taken: Vec<(usize, Value)> = Vec::new();
    if let (Some(source), true) = (source, strings.is_array()) {
        let index = long_strings(source);
        for (i, change) in review.changes.iter_mut().enumerate() {
            let at = match &change.new {
                Some(Value::String(s)) if s.len() >= SHARED_STRING_UNITS => index.get(s.as_str()).copied(),
                _ => None,
            };
            if let (Some(at), Some(value)) = (at, at.and_then(|_| change.new.take())) {
                moved.extend([i as u32, at]);
                taken.push((i, value));
            }
        }
    }
    let js = to_js_direct(&*review, review.buildable());
    for (i, value) in taken {
        review.changes[i].new = Some(value);
    }
    make_review(&js, &text_diffs(options), id, strings, &moved)
}

fn lazy_text_diff(old: JsValue, new: JsValue, granularity: String, budget_ms: f64) -> JsValue {
    let started = similar::Instant::now();
    let options = TextDiffOptions {
        granularity: Granularity::parse(&granularity).unwrap_or(Granularity::Auto),
        budget: std::time::Duration::from_secs_f64(budget_ms.max(0.0) / 1000.0),
    };
    match (old.as_string(), new.as_string()) {
        (Some(o), Some(n)) => text_diff_to_js(started, &old, &new, &o, &n, &options),
        _ => JsValue::UNDEFINED,
    }
}

/// The lazy-diff handle for reviews made with these text options.
fn text_diffs(options: &TextDiffOptions) -> JsValue {
    TEXT_SOURCE.with(|source| text_diffs_js(source, options.granularity.name(), options.budget.as_secs_f64() * 1000.0))
}

/// UTF-16 code units of a text: JS string offsets.
fn utf16_len(text: &str) -> usize {
    let bytes = text.as_bytes();
    let continuation = bytes.iter().filter(|&&b| b & 0xC0 == 0x80).count();
    let four_byte = bytes.iter().filter(|&&b| b >= 0xF0).count();
    bytes.len() - continuation + four_byte
}

/// A text diff as JS, its ops sliced from the JS strings `old_js`/`new_js`
/// (the same texts as `old`/`new`): no op text is copied out of WASM.
///
/// The budget covers the whole call from `started`, when it entered WASM
/// (the texts' copy into WASM memory included): the diff gets 85% of it
/// less what went before, the rest is for building the JS result, and a
/// call that still ends past budget + 10% says `degraded: true` (its ops
/// are exact, but it overran).
fn text_diff_to_js(
    started: similar::Instant,
    old_js: &JsValue,
    new_js: &JsValue,
    old: &str,
    new: &str,
    options: &TextDiffOptions,
) -> JsValue {
    let budget = options.budget.mul_f64(0.85).saturating_sub(started.elapsed());
    let diff = diff_spans(old, new, &TextDiffOptions { budget, ..*options });
    let mut spans = Vec::with_capacity(diff.spans.len() * 2);
    for (op, range) in &diff.spans {
        let (kind, text) = match op {
            OpKind::Equal => (0, &old[range.clone()]),
            OpKind::Delete => (1, &old[range.clone()]),
            OpKind::Insert => (2, &new[range.clone()]),
        };
        spans.push(kind);
        spans.push(utf16_len(text) as u32);
    }
    let result = make_text_diff(old_js, new_js, diff.granularity.name(), diff.degraded, &spans);
    if !diff.degraded && started.elapsed() > options.budget.mul_f64(1.1) {
        let _ = js_sys::Reflect::set(&result, &"degraded".into(), &JsValue::TRUE);
    }
    result
}

/// A review (or graph diff) as JS: its changes' `text` is diffed when read.
fn review_to_js<T: Serialize + ?Sized + HasChanges>(value: &T, options: &TextDiffOptions) -> JsValue {
    review_with_id_to_js(value, options, &JsValue::UNDEFINED)
}

/// A review whose empty `proposalId` is computed when read, from `id` (see
/// [`parse_proposal_unhashed`]).
fn review_with_id_to_js<T: Serialize + ?Sized + HasChanges>(value: &T, options: &TextDiffOptions, id: &JsValue) -> JsValue {
    make_review(&to_js_direct(value, value.buildable()), &text_diffs(options), id, &JsValue::NULL, &[])
}

/// Reviews and graph diffs: whether serde-wasm-bindgen may build them.
trait HasChanges {
    fn buildable(&self) -> bool;
}

impl HasChanges for Review {
    fn buildable(&self) -> bool {
        changes_buildable(&self.changes)
    }
}

impl HasChanges for graph_diff::GraphDiff {
    fn buildable(&self) -> bool {
        changes_buildable(&self.changes) && changes_buildable(&self.server_written)
    }
}

/// A plain JS value built by `JSON.parse` from the serialized result.
fn to_js<T: Serialize + ?Sized>(value: &T) -> JsValue {
    let text = serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned());
    js_sys::JSON::parse(&text).unwrap_or(JsValue::NULL)
}

/// Lists every change `proposal` would make to `graph`, without changing it.
#[wasm_bindgen(js_name = reviewProposal, unchecked_return_type = "Review")]
pub fn review_proposal(graph: GraphArg, proposal: ProposalArg, options: Option<DiffOptionsArg>) -> JsResult<JsValue> {
    let options = parse_options(options.as_deref(), "options", DiffOptions::read)?;
    let graph = parse_graph(&graph, "graph")?;
    let (proposal, id, strings) = parse_proposal_unhashed(&proposal)?;
    let options = ReviewOptions { text: options.text, inline_diffs: false };
    let mut review = review(&graph, &proposal, &options).map_err(|e| js_error(e, "proposal"))?;
    Ok(proposed_review_to_js(&mut review, proposal.source(), &options.text, &id, &strings))
}

/// An inline diff of two texts whose ops rebuild both exactly.
#[wasm_bindgen(js_name = diffText, unchecked_return_type = "TextDiff")]
pub fn diff_text_js(
    #[wasm_bindgen(js_name = "oldText", unchecked_param_type = "string")] old: JsValue,
    #[wasm_bindgen(js_name = "newText", unchecked_param_type = "string")] new: JsValue,
    options: Option<DiffOptionsArg>,
) -> JsResult<JsValue> {
    let started = similar::Instant::now();
    let old_text = text_arg(&old, "old")?;
    let new_text = text_arg(&new, "new")?;
    let options = parse_options(options.as_deref(), "options", DiffOptions::read)?;
    Ok(text_diff_to_js(started, &old, &new, &old_text, &new_text, &options.text))
}

/// Every difference between two graphs, as review changes.
#[wasm_bindgen(js_name = diffGraphs, unchecked_return_type = "GraphDiff")]
pub fn diff_graphs_js(before: GraphArg, after: GraphArg, options: Option<DiffOptionsArg>) -> JsResult<JsValue> {
    let options = parse_options(options.as_deref(), "options", DiffOptions::read)?;
    let before = parse_graph(&before, "before")?;
    let after = parse_graph(&after, "after")?;
    let text = options.text;
    let diff: graph_diff::GraphDiff = options.service.diff_versions(&before, &after, None);
    Ok(review_to_js(&diff, &text))
}

/// A graph kept in WASM memory, one pending review, the reviewer's
/// decisions, and approval.
#[wasm_bindgen]
pub struct ApprovalSession {
    inner: std::rc::Rc<std::cell::RefCell<Session>>,
    /// Its number in the registry, so approvals can read their graph later.
    id: u32,
}

impl ApprovalSession {
    /// A session on `graph` (also `HistoryClient.openSession`'s).
    fn open(graph: Graph, options: SessionOptions) -> ApprovalSession {
        let mut inner = Session::new(graph, options.graph_id);
        inner.set_review_options(ReviewOptions { text: options.text, inline_diffs: false });
        inner.set_service(options.service);
        inner.set_decision_mode(options.decisions);
        let (inner, id) = registry::register(inner);
        ApprovalSession { inner, id }
    }
}

impl Drop for ApprovalSession {
    fn drop(&mut self) {
        registry::forget(self.id);
    }
}

#[wasm_bindgen]
impl ApprovalSession {
    #[wasm_bindgen(constructor)]
    pub fn new(graph: GraphArg, options: Option<SessionOptionsArg>) -> JsResult<ApprovalSession> {
        let options = parse_options(options.as_deref(), "options", SessionOptions::read)?;
        Ok(ApprovalSession::open(parse_graph(&graph, "graph")?, options))
    }

    /// Reviews a proposal against the session's graph (replacing any pending
    /// review). Every change starts accepted, or undecided with `decisions: 'explicit'`.
    #[wasm_bindgen(unchecked_return_type = "Review")]
    pub fn propose(&mut self, proposal: ProposalArg, context: Option<ProposeContextArg>) -> JsResult<JsValue> {
        let context = parse_options(context.as_deref(), "context", args::propose_context)?;
        let (proposal, id, strings) = parse_proposal_unhashed(&proposal)?;
        let mut inner = self.inner.borrow_mut();
        let text = inner.review_options().text;
        inner.propose_unhashed(proposal, context).map_err(|e| js_error(e, "proposal"))?;
        let (review, source) = inner.pending_review_mut().expect("propose set a pending review");
        Ok(proposed_review_to_js(review, source, &text, &id, &strings))
    }

    /// The pending review with the current decisions, or `undefined`.
    #[wasm_bindgen(unchecked_return_type = "Review | undefined")]
    pub fn review(&self) -> JsValue {
        let mut inner = self.inner.borrow_mut();
        inner.proposal_id();
        inner.review().map_or(JsValue::UNDEFINED, |r| review_to_js(r, &inner.review_options().text))
    }

    /// Accepts a change and those it requires; returns the ids whose decision changed.
    pub fn accept(&mut self, #[wasm_bindgen(js_name = "changeId", unchecked_param_type = "string")] id: JsValue) -> JsResult<Vec<String>> {
        let id = text_arg(&id, "changeId")?;
        self.inner.borrow_mut().accept(&id).map_err(|e| js_error(e, "changeId"))
    }

    /// Rejects a change and those that require it; returns the ids whose decision changed.
    pub fn reject(&mut self, #[wasm_bindgen(js_name = "changeId", unchecked_param_type = "string")] id: JsValue) -> JsResult<Vec<String>> {
        let id = text_arg(&id, "changeId")?;
        self.inner.borrow_mut().reject(&id).map_err(|e| js_error(e, "changeId"))
    }

    #[wasm_bindgen(js_name = acceptNode)]
    pub fn accept_node(
        &mut self,
        #[wasm_bindgen(js_name = "nodeId", unchecked_param_type = "string")] id: JsValue,
    ) -> JsResult<Vec<String>> {
        let id = text_arg(&id, "nodeId")?;
        self.inner.borrow_mut().accept_node(&id).map_err(|e| js_error(e, "nodeId"))
    }

    #[wasm_bindgen(js_name = rejectNode)]
    pub fn reject_node(
        &mut self,
        #[wasm_bindgen(js_name = "nodeId", unchecked_param_type = "string")] id: JsValue,
    ) -> JsResult<Vec<String>> {
        let id = text_arg(&id, "nodeId")?;
        self.inner.borrow_mut().reject_node(&id).map_err(|e| js_error(e, "nodeId"))
    }

    #[wasm_bindgen(js_name = acceptAll)]
    pub fn accept_all(&mut self) -> JsResult<Vec<String>> {
        self.inner.borrow_mut().accept_all().map_err(|e| js_error(e, "session"))
    }

    #[wasm_bindgen(js_name = rejectAll)]
    pub fn reject_all(&mut self) -> JsResult<Vec<String>> {
        self.inner.borrow_mut().reject_all().map_err(|e| js_error(e, "session"))
    }

    /// Accepts these changes at once (and those they require): a bulk action,
    /// recorded with `options.filter`, the filter that showed them.
    #[wasm_bindgen(js_name = acceptMany)]
    pub fn accept_many(&mut self, ids: ChangeIdsArg, options: Option<BulkOptionsArg>) -> JsResult<Vec<String>> {
        self.decide_many(&ids, options.as_deref(), true)
    }

    /// Rejects these changes at once (and those that require them): a bulk action.
    #[wasm_bindgen(js_name = rejectMany)]
    pub fn reject_many(&mut self, ids: ChangeIdsArg, options: Option<BulkOptionsArg>) -> JsResult<Vec<String>> {
        self.decide_many(&ids, options.as_deref(), false)
    }

    /// Accepts a change with the reviewer's `value` instead of the AI's (any
    /// JSON value); the AI's stays beside it as `proposed`, in the review and
    /// the audit. Returns the ids whose decision changed.
    pub fn correct(
        &mut self,
        #[wasm_bindgen(js_name = "changeId", unchecked_param_type = "string")] id: JsValue,
        value: JsonArg,
    ) -> JsResult<Vec<String>> {
        let id = text_arg(&id, "changeId")?;
        if value.is_undefined() {
            let e = Error::at(
                ErrorCode::InvalidCorrection,
                "value",
                "is missing (undefined): pass the corrected value (any JSON value; null is one)",
            );
            return Err(js_error(e, "value"));
        }
        let value = parse_value(&value, "value")?;
        self.inner.borrow_mut().correct(&id, value).map_err(|e| js_error(e, "value"))
    }

    /// Sets the reviewer's comment on a change (`null` or `''` clears it).
    pub fn comment(
        &mut self,
        #[wasm_bindgen(js_name = "changeId", unchecked_param_type = "string")] id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string | null")] text: JsValue,
    ) -> JsResult<()> {
        let id = text_arg(&id, "changeId")?;
        let text = if text.is_null() || text.is_undefined() { None } else { Some(text_arg(&text, "text")?) };
        self.inner.borrow_mut().comment(&id, text.as_deref()).map_err(|e| js_error(e, "text"))
    }

    /// The review in progress as plain JSON (the proposal, every decision,
    /// correction and comment, the reason typed so far): keep it, and
    /// `resume` it after a reload.
    #[wasm_bindgen(unchecked_return_type = "Draft")]
    pub fn draft(&mut self, options: Option<DraftOptionsArg>) -> JsResult<JsValue> {
        let reason = parse_options(options.as_deref(), "options", args::draft_reason)?;
        let draft = self.inner.borrow_mut().draft(reason.as_deref()).map_err(|e| js_error(e, "session"))?;
        Ok(to_js(&draft))
    }

    /// Puts a draft back and returns the review: a proposal draft is proposed
    /// again; a revert or rebase draft applies to the same review made again.
    /// A decision whose change moved is dropped, with a `draft_decision_dropped` warning.
    #[wasm_bindgen(unchecked_return_type = "Review")]
    pub fn resume(&mut self, draft: DraftArg) -> JsResult<JsValue> {
        missing(&draft, "draft", ErrorCode::InvalidDraft, "a draft from session.draft()")?;
        let draft = crate::draft::Draft::read(&parse_value(&draft, "draft")?, "draft").map_err(|e| js_error(e, "draft"))?;
        let mut inner = self.inner.borrow_mut();
        let text = inner.review_options().text;
        inner.resume(&draft).map_err(|e| js_error(e, "draft"))?;
        inner.proposal_id();
        Ok(inner.review().map_or(JsValue::UNDEFINED, |r| review_to_js(r, &text)))
    }

    fn decide_many(&mut self, ids: &JsValue, options: Option<&JsValue>, accept: bool) -> JsResult<Vec<String>> {
        let ids = args::change_ids(&parse_json(ids, "ids", false)?).map_err(|e| js_error(e, "ids"))?;
        let filter = parse_options(options, "options", args::bulk_filter)?;
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let mut inner = self.inner.borrow_mut();
        let decided = if accept { inner.accept_many(&ids, filter.as_deref()) } else { inner.reject_many(&ids, filter.as_deref()) };
        decided.map_err(|e| js_error(e, "ids"))
    }

    /// Drops the pending review without approving anything.
    pub fn discard(&mut self) {
        self.inner.borrow_mut().discard();
    }

    /// Applies the accepted changes with stamps for `user` at `now` (default:
    /// the current time), and returns the new graph and the audit entry.
    #[wasm_bindgen(unchecked_return_type = "Approved")]
    pub fn approve(&mut self, approval: ApproveArg) -> JsResult<JsValue> {
        let approval = Approval::read(&parse_option_value(&approval, "approval")?, "approval").map_err(|e| js_error(e, "approval"))?;
        let at = match &approval.now {
            Some(now) => Timestamp::parse(now),
            None => Timestamp::from_unix_millis(js_sys::Date::now() as i64),
        }
        .map_err(|e| js_error(e, "approval.now"))?;
        let approver = Approver::new(&approval.user, at).map_err(|e| js_error(e, "approval"))?;
        let approved = self.inner.borrow_mut().approve(&approver, approval.reason.as_deref()).map_err(|e| js_error(e, "approval"))?;
        // The graph is not sent across: `approved.graph` asks the session for
        // it when (and only if) it is read.
        let changes: Vec<Change> = match self.inner.borrow().pending_saves().last() {
            Some(p) if approved.queued && p.approval_id() == approved.audit.approval_id => p.changes.clone(),
            _ => Vec::new(),
        };
        let rest = ApprovedRest {
            audit: &approved.audit,
            delta: &approved.applied.delta,
            changed_node_ids: &approved.applied.changed_node_ids,
            removed_node_ids: &approved.applied.removed_node_ids,
            changes: &changes,
            queued: approved.queued,
        };
        let rest = serde_json::to_string(&rest).map_err(|e| invalid_argument("approval", e))?;
        let text = text_diffs(&self.inner.borrow().review_options().text);
        Ok(make_approved(&rest, &registry::graph_source(), self.id, &approved.audit.approval_id, &text))
    }

    /// Approvals not yet acknowledged by the server, oldest first. Plain data:
    /// keep it (e.g. in localStorage) and `restorePendingSaves` it after a
    /// reload. Each holds its delta; `graph` is read from the session on
    /// demand and is not part of the JSON unless the entry keeps a copy.
    #[wasm_bindgen(js_name = pendingSaves, unchecked_return_type = "PendingSave[]")]
    pub fn pending_saves(&self) -> JsValue {
        let inner = self.inner.borrow();
        let text = serde_json::to_string(inner.pending_saves()).unwrap_or_else(|_| "[]".to_owned());
        make_pending_saves(&text, &registry::graph_source(), self.id, &text_diffs(&inner.review_options().text))
    }

    /// Puts back pending saves kept across a reload. An entry holding only
    /// its delta is applied to the session's graph, which must then be the
    /// version it was approved on (`entry.audit.baseVersion`).
    #[wasm_bindgen(js_name = restorePendingSaves)]
    pub fn restore_pending_saves(&mut self, saves: PendingSavesArg) -> JsResult<()> {
        let saves = PendingSave::read_all(&parse_json(&saves, "saves", false)?, "saves").map_err(|e| js_error(e, "saves"))?;
        self.inner.borrow_mut().restore_pending_saves(saves).map_err(|e| js_error(e, "saves"))
    }

    /// Acknowledges the oldest pending save, stored by the server as
    /// `version`. Returns its audit entry with `savedVersion`: the record of
    /// who approved what and why, to keep where the service keeps none.
    #[wasm_bindgen(js_name = markSaved, unchecked_return_type = "SavedApproval")]
    pub fn mark_saved(
        &mut self,
        #[wasm_bindgen(js_name = "approvalId", unchecked_param_type = "string")] approval_id: JsValue,
        version: f64,
    ) -> JsResult<JsValue> {
        let approval_id = text_arg(&approval_id, "approvalId")?;
        if !(version.is_finite() && version.fract() == 0.0 && version >= 1.0) {
            return Err(invalid_argument("version", format!("must be a positive integer, got {version}")));
        }
        let audit =
            self.inner.borrow_mut().mark_saved(&approval_id, serde_json::json!(version as i64)).map_err(|e| js_error(e, "approvalId"))?;
        let mut record = serde_json::to_value(audit).unwrap_or_default();
        if let Some(fields) = record.as_object_mut() {
            fields.insert("savedVersion".to_owned(), serde_json::json!(version as i64));
        }
        Ok(to_js(&record))
    }

    /// After a `ConflictError`: re-applies the pending approval on the newer
    /// graph (version `latestVersion`, default its metadata.version). Fields
    /// only we changed merge; fields both changed become conflicts to decide.
    #[wasm_bindgen(unchecked_return_type = "Review")]
    pub fn rebase(
        &mut self,
        latest: GraphArg,
        #[wasm_bindgen(js_name = "latestVersion")] latest_version: Option<f64>,
    ) -> JsResult<JsValue> {
        let latest = parse_graph(&latest, "latest")?;
        let version = latest_version.filter(|v| v.is_finite() && v.fract() == 0.0).map(|v| serde_json::json!(v as i64));
        let mut inner = self.inner.borrow_mut();
        let text = inner.review_options().text;
        let review = inner.rebase(latest, version).map_err(|e| js_error(e, "latest"))?;
        Ok(review_to_js(review, &text))
    }

    /// Reviews restoring an old version: what it would change now. Approving
    /// it records `source: "revert"`; saving it makes a new version.
    #[wasm_bindgen(js_name = revertTo, unchecked_return_type = "Review")]
    pub fn revert_to(&mut self, version: GraphArg) -> JsResult<JsValue> {
        let target = parse_graph(&version, "version")?;
        let mut inner = self.inner.borrow_mut();
        let text = inner.review_options().text;
        let review = inner.revert_to(&target).map_err(|e| js_error(e, "version"))?;
        Ok(review_to_js(review, &text))
    }

    /// A copy of the session's current graph.
    #[wasm_bindgen(unchecked_return_type = "GraphData")]
    pub fn graph(&self) -> JsValue {
        let inner = self.inner.borrow();
        let graph = inner.graph();
        to_js_direct(graph, graph_buildable(graph))
    }

    #[wasm_bindgen(getter, js_name = graphId)]
    pub fn graph_id(&self) -> Option<String> {
        self.inner.borrow().graph_id().map(str::to_owned)
    }

    /// `metadata.version` of the graph the next approval is based on.
    #[wasm_bindgen(getter, js_name = baseVersion, unchecked_return_type = "number | string | null")]
    pub fn base_version(&self) -> JsValue {
        self.inner.borrow().base_version().map_or(JsValue::NULL, to_js)
    }
}

/// Everything of approve()'s result but the graph (which travels as text).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApprovedRest<'a> {
    audit: &'a AuditEntry,
    delta: &'a crate::delta::GraphDelta,
    changed_node_ids: &'a [String],
    removed_node_ids: &'a [String],
    changes: &'a [Change],
    queued: bool,
}
