//! Properties of review, approval, graph diff, rebase and text diff over
//! generated graphs and proposals (proptest), not only hand-picked cases.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::HashSet;

use kg_approval::rebase::rebase_changes;
use kg_approval::text_diff::{Granularity, TextDiffOptions, diff_text};
use kg_approval::{Approver, Change, ChangeKind, Graph, Proposal, ReviewOptions, Target, Timestamp, apply_accepted, diff_graphs, review};
use proptest::prelude::*;
use serde_json::{Value, json};

const AT: &str = "2026-02-04T14:30:45.123Z";

/// Text with the pieces that break naive diffs: combining marks, ZWJ emoji,
/// flags, CJK, newlines, markup.
fn text() -> impl Strategy<Value = String> {
    const PIECES: [&str; 11] = ["a", " ", "\n", "é", "e\u{301}", "日本", "👩\u{200d}👩\u{200d}👧", "🇳🇴", "word", "<p>", ""];
    prop::collection::vec(prop::sample::select(&PIECES[..]), 0..24).prop_map(|v| v.concat())
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-3i64..3).prop_map(Value::from),
        text().prop_map(Value::from),
        (0i64..3, 0i64..3).prop_map(|(x, y)| json!({"x": x, "y": y})),
        prop::collection::vec(text(), 0..3).prop_map(Value::from),
    ]
}

fn graph() -> impl Strategy<Value = Value> {
    (1usize..7)
        .prop_flat_map(|n| (prop::collection::vec((text(), value(), any::<bool>()), n), prop::collection::vec((0..n, 0..n), 0..n * 2)))
        .prop_map(|(nodes, pairs)| {
            let nodes: Vec<Value> = nodes
                .into_iter()
                .enumerate()
                .map(|(i, (label, extra, visible))| json!({"id": format!("n{i}"), "label": label, "extra": extra, "visible": visible, "position": {"x": i, "y": 0}}))
                .collect();
            let mut seen = HashSet::new();
            let edges: Vec<Value> = pairs
                .into_iter()
                .filter(|(a, b)| a != b && seen.insert((*a, *b)))
                .map(|(a, b)| json!({"id": format!("n{a}_n{b}"), "source": format!("n{a}"), "target": format!("n{b}")}))
                .collect();
            json!({"metadata": {"title": "T", "version": 1}, "nodes": nodes, "edges": edges})
        })
}

/// A graph and a proposal on it: patches (some to new ids), removals, a metadata edit.
fn graph_and_proposal() -> impl Strategy<Value = (Value, Value)> {
    graph()
        .prop_flat_map(|g| {
            let n = g["nodes"].as_array().map_or(0, Vec::len);
            let patches = prop::collection::vec((0..n + 2, prop::option::of(text()), prop::option::of(value())), 0..4);
            let removals = prop::collection::vec(0..n, 0..2);
            (Just(g), patches, removals, prop::option::of(text()))
        })
        .prop_map(|(g, patches, removals, title)| {
            let mut patched = HashSet::new();
            let nodes: Vec<Value> = patches
                .into_iter()
                .filter(|(i, _, _)| patched.insert(*i))
                .map(|(i, label, extra)| {
                    let mut patch = json!({"id": format!("n{i}")});
                    if let Some(label) = label {
                        patch["label"] = json!(label);
                    }
                    if let Some(extra) = extra {
                        patch["extra"] = extra;
                    }
                    patch
                })
                .collect();
            let remove: Vec<String> = removals.into_iter().filter(|i| !patched.contains(i)).map(|i| format!("n{i}")).collect();
            let mut proposal = json!({"nodes": nodes, "removeNodeIds": remove});
            if let Some(title) = title {
                proposal["metadata"] = json!({"title": title});
            }
            (g, proposal)
        })
}

fn reviewed(g: &Value, p: &Value) -> (Graph, Vec<Change>) {
    let graph = Graph::from_value(g.clone()).unwrap();
    let changes = review(&graph, &Proposal::from_value(p.clone()).unwrap(), &ReviewOptions::default()).unwrap().changes;
    (graph, changes)
}

fn approve(graph: &Graph, changes: &[Change]) -> Graph {
    let mut after = graph.clone();
    apply_accepted(&mut after, changes, &Approver::new("ann", Timestamp::parse(AT).unwrap()).unwrap()).unwrap();
    after
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn text_diff_ops_rebuild_both_texts(a in text(), b in text(), g in prop::sample::select(vec![Granularity::Auto, Granularity::Line, Granularity::Word, Granularity::Char])) {
        let d = diff_text(&a, &b, &TextDiffOptions { granularity: g, ..TextDiffOptions::default() });
        prop_assert_eq!(d.old_text(), a);
        prop_assert_eq!(d.new_text(), b);
    }

    #[test]
    fn text_diff_rebuilds_arbitrary_unicode(a in any::<String>(), b in any::<String>()) {
        let d = diff_text(&a, &b, &TextDiffOptions::default());
        prop_assert_eq!(d.old_text(), a);
        prop_assert_eq!(d.new_text(), b);
    }

    #[test]
    fn rejecting_everything_gives_the_graph_back_byte_for_byte((g, p) in graph_and_proposal()) {
        let (graph, mut changes) = reviewed(&g, &p);
        changes.iter_mut().for_each(|c| c.accepted = Some(false));
        prop_assert_eq!(approve(&graph, &changes).to_json(), graph.to_json());
    }

    #[test]
    fn approving_everything_applies_the_proposal_and_only_it((g, p) in graph_and_proposal()) {
        let (graph, changes) = reviewed(&g, &p);
        let after = approve(&graph, &changes);
        let touched: HashSet<&str> = changes.iter().filter(|c| c.target == Target::Node).filter_map(|c| c.node_id.as_deref()).collect();
        for node in graph.nodes().iter().filter(|n| !touched.contains(n.id())) {
            prop_assert_eq!(after.node(node.id()), Some(node), "untouched nodes are identical");
        }
        for c in changes.iter().filter(|c| c.target == Target::Node && c.kind == ChangeKind::Changed) {
            let node = after.node(c.node_id.as_deref().unwrap()).unwrap();
            prop_assert_eq!(node.fields().get(c.field.as_deref().unwrap()), c.new.as_ref());
        }
        // diffGraphs(before, approved) is exactly the accepted changes plus the stamps.
        let mut expected: HashSet<String> = changes.iter().map(|c| c.id.clone()).collect();
        for c in changes.iter().filter(|c| c.kind == ChangeKind::Changed && c.target == Target::Node) {
            let id = c.node_id.as_deref().unwrap();
            expected.insert(format!("node/{id}/updatedAt"));
            expected.insert(format!("node/{id}/updatedBy"));
        }
        if !changes.is_empty() {
            expected.insert("metadata/updated".into());
            expected.insert("metadata/updatedBy".into());
        }
        let actual: HashSet<String> = diff_graphs(&graph, &after, None).changes.into_iter().map(|c| c.id).collect();
        prop_assert_eq!(actual, expected);
    }

    #[test]
    fn an_approvals_delta_applied_to_its_base_gives_the_approved_graph_byte_for_byte((g, p) in graph_and_proposal(), reject in prop::collection::vec(any::<bool>(), 0..8)) {
        let (graph, mut changes) = reviewed(&g, &p);
        // Some decisions rejected; requirements kept consistent by rejecting
        // whatever requires a rejected change.
        for (c, r) in changes.iter_mut().zip(&reject) {
            c.accepted = Some(!r);
        }
        loop {
            let rejected: HashSet<String> = changes.iter().filter(|c| !c.is_accepted()).map(|c| c.id.clone()).collect();
            let mut changed = false;
            for c in changes.iter_mut().filter(|c| c.is_accepted() && c.requires.iter().any(|r| rejected.contains(r))) {
                c.accepted = Some(false);
                changed = true;
            }
            if !changed { break; }
        }
        let mut after = graph.clone();
        let applied = apply_accepted(&mut after, &changes, &Approver::new("ann", Timestamp::parse(AT).unwrap()).unwrap()).unwrap();
        let mut replayed = graph.clone();
        applied.delta.apply_to(&mut replayed).unwrap();
        prop_assert_eq!(replayed.to_json(), after.to_json());
        // And through JSON, as it travels.
        let wire = kg_approval::GraphDelta::from_value(serde_json::to_value(&applied.delta).unwrap()).unwrap();
        prop_assert_eq!(wire, applied.delta);
    }

    #[test]
    fn a_rebase_without_overlap_never_conflicts((g, p) in graph_and_proposal(), other in text()) {
        let (graph, changes) = reviewed(&g, &p);
        let ours = approve(&graph, &changes);
        // Another editor changed only a field no proposal touches.
        let mut latest = g.clone();
        latest["metadata"]["other"] = json!(other);
        let latest = Graph::from_value(latest).unwrap();
        let rebased = rebase_changes(&latest, &ours, &changes, &TextDiffOptions::default());
        prop_assert!(rebased.iter().all(|c| c.conflict.is_none() && c.is_accepted()), "{:?}", rebased);
        // And re-applied on the newer graph, it gives ours plus their field.
        let merged = approve(&latest, &rebased);
        for node in ours.nodes() {
            let fields = |n: &kg_approval::Node| n.fields().iter().filter(|(k, _)| !k.starts_with("updated") && !k.starts_with("created")).map(|(k, v)| (k.clone(), v.clone())).collect::<Vec<_>>();
            prop_assert_eq!(merged.node(node.id()).map(fields), Some(fields(node)));
        }
        prop_assert_eq!(merged.nodes().len(), ours.nodes().len());
    }
}
