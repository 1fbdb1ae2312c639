//! The server arrives at exactly the graph approve() produced, for generated
//! graphs, proposals and decisions (proptest): each approval goes to the
//! store as a delta, and the version read back equals the session's graph
//! byte for byte; the chain verifies. On SQLite and on PostgreSQL.

use std::collections::HashSet;

use kg_approval::{ApprovalSession, Approver, Change, Graph, Proposal, Provenance, Timestamp};
use kg_history::patch::{PatchBody, save_delta};
use kg_history::save::{SaveBody, save};
use kg_history::write::SaveContext;
use kg_history::{Store, read};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Value, json};

mod support;

const USER: &str = "ann@example.com";

/// One PostgreSQL store for all cases (each case on a graph of its own),
/// with the runtime its driver needs.
fn postgres() -> &'static (tokio::runtime::Runtime, Store) {
    static PG: std::sync::OnceLock<(tokio::runtime::Runtime, Store)> = std::sync::OnceLock::new();
    PG.get_or_init(|| {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let url = rt.block_on(support::postgres_database());
        let store = {
            let _inside = rt.enter();
            kg_history::open(&url).unwrap()
        };
        (rt, store)
    })
}

fn text() -> impl Strategy<Value = String> {
    const PIECES: [&str; 9] = ["a", " ", "\n", "é", "日本", "👩\u{200d}👩\u{200d}👧", "word ", "<p>", "\u{1}"];
    prop::collection::vec(prop::sample::select(&PIECES[..]), 0..60).prop_map(|v| v.concat())
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-3i64..3).prop_map(Value::from),
        text().prop_map(Value::from),
        (0i64..3, 0i64..3).prop_map(|(x, y)| json!({"y": y, "x": x})),
    ]
}

/// A graph (some edges without ids, one `from`/`to` edge) and a few proposals on it.
fn scenario() -> impl Strategy<Value = (Value, Vec<Value>, Vec<bool>)> {
    (2usize..8)
        .prop_flat_map(|n| {
            let nodes = prop::collection::vec((text(), value()), n);
            let edges = prop::collection::vec((0..n, 0..n, any::<bool>()), 0..n * 2);
            let proposals = prop::collection::vec(
                (
                    prop::collection::vec((0..n + 2, prop::option::of(text()), prop::option::of(value())), 0..4),
                    prop::option::of(0..n),
                    prop::option::of(text()),
                ),
                1..4,
            );
            (nodes, edges, proposals, prop::collection::vec(any::<bool>(), 0..12))
        })
        .prop_map(|(nodes, edges, proposals, rejects)| {
            let n = nodes.len();
            let nodes: Vec<Value> = nodes
                .into_iter()
                .enumerate()
                .map(|(i, (label, extra))| json!({"id": format!("n{i}"), "label": label, "extra": extra}))
                .collect();
            let mut seen = HashSet::new();
            let mut edges: Vec<Value> = edges
                .into_iter()
                .filter(|(a, b, _)| a != b && seen.insert((*a, *b)))
                .map(|(a, b, with_id)| {
                    if with_id {
                        json!({"id": format!("e{a}-{b}"), "source": format!("n{a}"), "target": format!("n{b}")})
                    } else {
                        json!({"source": format!("n{a}"), "target": format!("n{b}")})
                    }
                })
                .collect();
            edges.push(json!({"from": "n0", "to": format!("n{}", n - 1), "label": "old style"}));
            let proposals = proposals
                .into_iter()
                .map(|(patches, remove, title)| {
                    let mut patched = HashSet::new();
                    let nodes: Vec<Value> = patches
                        .into_iter()
                        .filter(|(i, _, _)| patched.insert(*i))
                        .map(|(i, label, extra)| {
                            let mut p = json!({"id": format!("n{i}")});
                            if let Some(label) = label {
                                p["label"] = json!(label);
                            }
                            if let Some(extra) = extra {
                                p["extra"] = extra;
                            }
                            p
                        })
                        .collect();
                    let remove: Vec<String> = remove.filter(|i| !patched.contains(i)).map(|i| format!("n{i}")).into_iter().collect();
                    let mut proposal =
                        json!({"nodes": nodes, "removeNodeIds": remove, "edges": [{"source": "n0", "target": "n1", "label": "added"}]});
                    if let Some(title) = title {
                        proposal["metadata"] = json!({"title": title});
                    }
                    proposal
                })
                .collect();
            (json!({"metadata": {"title": "T"}, "nodes": nodes, "edges": edges, "extra": "top"}), proposals, rejects)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 60, ..ProptestConfig::default() })]

    #[test]
    fn on_sqlite_every_version_saved_as_a_delta_reads_back_as_approve_made_it((graph, proposals, rejects) in scenario()) {
        replay(&kg_history::open_in_memory().unwrap(), graph, proposals, rejects)?;
    }

    #[test]
    fn on_postgres_every_version_saved_as_a_delta_reads_back_as_approve_made_it((graph, proposals, rejects) in scenario()) {
        let (rt, store) = postgres();
        let _inside = rt.enter();
        replay(store, graph, proposals, rejects)?;
    }
}

fn replay(store: &Store, graph: Value, proposals: Vec<Value>, rejects: Vec<bool>) -> Result<(), TestCaseError> {
    let id = uuid::Uuid::new_v4().to_string();
    let id = id.as_str();
    let ctx = || SaveContext {
        user: USER,
        idempotency_key: None,
        now: Timestamp::parse("2026-02-04T14:30:45.123Z").unwrap(),
        keep_versions: None,
    };
    save(store, SaveBody::parse(json!({"id": id, "graphData": graph}).to_string().as_bytes()).unwrap(), ctx()).unwrap();
    let (text, mut hash) = store.read(|c| read::graph_text(c, id, None)).unwrap();
    let mut session = ApprovalSession::new(Graph::from_json(&text).unwrap(), Some(id.into()));
    let who = Approver::new(USER, Timestamp::parse("2026-02-04T14:30:45.123Z").unwrap()).unwrap();
    let mut version = 1;
    let mut decisions = rejects.iter().cycle();
    for proposal in proposals {
        // A proposal may name what an earlier one removed: then it is refused, as a reviewer would see.
        let Ok(review) = session.propose(&Proposal::from_value(proposal).unwrap(), Provenance::default()) else { continue };
        let ids: Vec<String> = review.changes.iter().map(|c| c.id.clone()).collect();
        for id in ids {
            if *decisions.next().unwrap_or(&false) {
                let _ = session.reject(&id);
            }
        }
        let approved = session.approve(&who, None).unwrap();
        if !approved.queued {
            continue;
        }
        let mut body = serde_json::to_value(&approved.applied.delta).unwrap();
        body["graphId"] = json!(id);
        body["expectedVersion"] = json!(version);
        body["expectedHash"] = json!(hash);
        let saved = save_delta(store, PatchBody::parse(body.to_string().as_bytes()).unwrap(), ctx()).unwrap();
        version = saved.version;
        hash = saved.hash;
        session.mark_saved(&approved.audit.approval_id, json!(version)).unwrap();
        let (stored, _) = store.read(|c| read::graph_text(c, id, None)).unwrap();
        prop_assert_eq!(&stored, &session.graph().to_json());
        // What the store says this version changed, from the rows it wrote
        // and ended (on SQLite found through `born`, issue 28), is what lies
        // between it and the version before, read whole.
        let (before, _) = store.read(|c| read::graph_text(c, id, Some(version - 1))).unwrap();
        let listed = store
            .read(|c| -> Result<_, kg_history::HistoryError> {
                let gid = c.head(id)?.expect("saved").gid;
                let row = c.version(id, version)?.expect("saved");
                read::version_changes(c, gid, &row)
            })
            .unwrap();
        let diff = kg_approval::diff_graphs(&Graph::from_json(&before).unwrap(), &Graph::from_json(&stored).unwrap(), None);
        let ids = |changes: &[Change]| changes.iter().map(|c| c.id.clone()).collect::<HashSet<_>>();
        let expected: HashSet<String> = ids(&diff.changes).union(&ids(&diff.server_written)).cloned().collect();
        prop_assert_eq!(ids(&listed), expected, "version {}", version);
    }
    let verification = store.read(|c| read::verify(c, id)).unwrap();
    prop_assert!(verification.ok, "{:?}", verification);
    Ok(())
}
