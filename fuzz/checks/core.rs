//! What the core fuzz targets check. Shared by `fuzz_targets/*.rs` (libFuzzer)
//! and `tests/fuzz_regressions.rs` (`cargo test` replays every committed
//! corpus file), so a crash found once stays a test forever.
//!
//! Inputs are byte strings cut at `0xFF` (a byte that never occurs in UTF-8,
//! so JSON seeds stay readable): `graph ∥ proposal ∥ decisions`, `old ∥ new`.
//! Every check must return normally: an `Err` is a fine answer to bad input,
//! a panic (including a broken invariant below) is a bug.
#![allow(dead_code)]

use std::time::Duration;

use kg_approval::canonical::canonical_json;
use kg_approval::text_diff::{Granularity, TextDiffOptions, diff_text};
use kg_approval::{ApprovalSession, Approver, ChangeKind, Graph, Proposal, ReviewOptions, Target, Timestamp, apply_accepted, diff_graphs};
use serde_json::Value;

const AT: &str = "2026-02-04T14:30:45.123Z";

fn parts(data: &[u8]) -> Vec<&[u8]> {
    data.split(|b| *b == 0xFF).collect()
}

fn graph(bytes: Option<&&[u8]>) -> Option<Graph> {
    let text = std::str::from_utf8(bytes?).ok()?;
    Graph::from_json(text).ok()
}

fn proposal(bytes: Option<&&[u8]>) -> Option<Proposal> {
    let value: Value = serde_json::from_slice(bytes?).ok()?;
    Proposal::from_value(value).ok()
}

fn approver() -> Approver {
    Approver::new("fuzz@example.com", Timestamp::parse(AT).unwrap()).unwrap()
}

/// A text budget that keeps one input fast under sanitizers.
fn options() -> ReviewOptions {
    ReviewOptions { text: TextDiffOptions { budget: Duration::from_millis(20), ..TextDiffOptions::default() }, ..ReviewOptions::default() }
}

/// Parsing never panics, and what parses serializes to JSON that parses back
/// to the same graph: the same values (numbers to the bit) as the input.
pub fn parse(data: &[u8]) {
    let p = parts(data);
    if let Some(value) = p.first().and_then(|b| serde_json::from_slice::<Value>(b).ok()) {
        if let Ok(g) = Graph::from_value(value.clone()) {
            let text = g.to_json();
            let again = Graph::from_json(&text).expect("a serialized graph parses");
            assert_eq!(again.to_json(), text, "serialization is stable");
            assert_eq!(again.nodes().len(), g.nodes().len(), "no node lost");
            let back: Value = serde_json::from_str(&text).expect("JSON");
            assert_eq!(canonical_json(&back), canonical_json(&value), "the graph holds exactly the input");
        }
    }
    let _ = proposal(p.get(1));
    if let Some(first) = p.first() {
        let _ = serde_json::from_slice::<Value>(first).map(Proposal::from_value);
    }
}

/// Review never panics; rejecting everything gives the graph back byte for
/// byte; approving everything puts every new value in place.
pub fn review(data: &[u8]) {
    let p = parts(data);
    let (Some(g), Some(prop)) = (graph(p.first()), proposal(p.get(1))) else { return };
    let Ok(reviewed) = kg_approval::review(&g, &prop, &options()) else { return };
    for change in &reviewed.changes {
        if let Some(text) = &change.text {
            let (old, new) = (change.old.as_ref().and_then(Value::as_str), change.new.as_ref().and_then(Value::as_str));
            assert_eq!(Some(text.old_text().as_str()), old, "inline diff rebuilds the old text of {}", change.id);
            assert_eq!(Some(text.new_text().as_str()), new, "inline diff rebuilds the new text of {}", change.id);
        }
    }
    let mut rejected = reviewed.changes.clone();
    rejected.iter_mut().for_each(|c| c.accepted = Some(false));
    let mut after = g.clone();
    apply_accepted(&mut after, &rejected, &approver()).expect("rejecting everything is always possible");
    assert_eq!(after.to_json(), g.to_json(), "reject-all is the identity");

    let mut after = g.clone();
    apply_accepted(&mut after, &reviewed.changes, &approver()).expect("approving a whole review is always possible");
    check_fields(&g, &after, &reviewed.changes);
}

/// A session with per-change decisions taken from the third part's bits:
/// decisions (with their cascades) never panic, approval either is refused or
/// leaves accepted values new and rejected values old.
pub fn approve(data: &[u8]) {
    let p = parts(data);
    let (Some(g), Some(prop)) = (graph(p.first()), proposal(p.get(1))) else { return };
    let bits = p.get(2).copied().unwrap_or_default();
    let mut session = ApprovalSession::new(g.clone(), Some("fuzz-graph".into()));
    session.set_review_options(options());
    let Ok(review) = session.propose(&prop, Default::default()) else { return };
    let ids: Vec<String> = review.changes.iter().map(|c| c.id.clone()).collect();
    for (i, id) in ids.iter().enumerate() {
        let bit = bits.get(i / 8).is_some_and(|b| b >> (i % 8) & 1 == 1);
        let decided = if bit { session.reject(id) } else { session.accept(id) };
        decided.expect("deciding a change of the pending review works");
    }
    let changes = session.review().expect("still pending").changes.clone();
    let Ok(approved) = session.approve(&approver(), Some("fuzz")) else { return };
    assert_eq!(approved.queued, changes.iter().any(|c| c.is_accepted()));
    let after = session.graph().clone();
    check_fields(&g, &after, &changes);
    assert!(session.review().is_none(), "approval ends the review");
}

/// Node fields hold the new value where accepted and the old one where not.
fn check_fields(before: &Graph, after: &Graph, changes: &[kg_approval::Change]) {
    for c in changes.iter().filter(|c| c.target == Target::Node) {
        let id = c.node_id.as_deref().expect("node changes name their node");
        match (&c.field, c.kind) {
            (Some(field), _) => {
                let Some(node) = after.node(id) else { continue };
                let expected = if c.is_accepted() { c.new.as_ref() } else { c.old.as_ref() };
                assert_eq!(node.fields().get(field), expected, "{} after approval", c.id);
            }
            (None, ChangeKind::Added) => assert_eq!(after.node(id).is_some(), c.is_accepted(), "{}", c.id),
            (None, ChangeKind::Removed) => assert_eq!(after.node(id).is_none(), c.is_accepted(), "{}", c.id),
            (None, ChangeKind::Changed) => {}
        }
    }
    let touched = |id: &str| changes.iter().any(|c| c.is_accepted() && c.node_id.as_deref() == Some(id));
    for node in before.nodes().iter().filter(|n| !touched(n.id())) {
        assert_eq!(after.node(node.id()), Some(node), "untouched node {} is identical", node.id());
    }
}

/// Every granularity rebuilds both texts exactly, and gives up only by
/// marking the result degraded.
pub fn text_diff(data: &[u8]) {
    let p = parts(data);
    let (Some(old), Some(new)) = (p.first().and_then(|b| std::str::from_utf8(b).ok()), p.get(1).and_then(|b| std::str::from_utf8(b).ok()))
    else {
        return;
    };
    for granularity in [Granularity::Auto, Granularity::Line, Granularity::Word, Granularity::Char] {
        let d = diff_text(old, new, &TextDiffOptions { granularity, budget: Duration::from_millis(20) });
        assert_eq!(d.old_text(), old);
        assert_eq!(d.new_text(), new);
        assert!(d.ops.iter().all(|op| !op.text.is_empty()), "no empty ops");
    }
}

/// diffGraphs never panics, a graph has no changes against itself, and the
/// diff in one direction mirrors the other (same change ids, added ↔ removed).
pub fn graph_diff(data: &[u8]) {
    let p = parts(data);
    let (Some(a), Some(b)) = (graph(p.first()), graph(p.get(1))) else { return };
    let text = TextDiffOptions { budget: Duration::from_millis(20), ..TextDiffOptions::default() };
    assert!(diff_graphs(&a, &a, Some(&text)).changes.is_empty(), "a graph equals itself");
    let forward = diff_graphs(&a, &b, Some(&text));
    let backward = diff_graphs(&b, &a, None);
    let ids = |d: &kg_approval::GraphDiff| {
        let mut ids: Vec<String> = d.changes.iter().map(|c| c.id.clone()).collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&forward), ids(&backward), "the diff is symmetric in what it names");
    assert_eq!(forward.summary.nodes_added, backward.summary.nodes_removed);
}
