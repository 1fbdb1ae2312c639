//! What the server's fuzz target checks. Shared by
//! `fuzz_targets/save_request.rs` (libFuzzer) and
//! `server/tests/fuzz_regressions.rs` (`cargo test` replays the corpus).
//!
//! The input is a raw `POST /saveGraphWithHistory` body. Parsing may refuse
//! it (a 4xx), never panic; a body that parses is saved into an in-memory
//! store twice (a new graph, then an override) and replayed once, and the
//! stored history must stay contiguous, whole and chained.
#![allow(dead_code)]

use kg_approval::{Graph, Timestamp};
use kg_approval_server::error::ApiError;
use kg_history::HistoryError;
use kg_history::read;
use kg_history::save::{SaveBody, save};
use kg_history::write::SaveContext;

const USER: &str = "fuzz@example.com";
const GRAPH_ID: &str = "6f1c2a7e-3b1d-4c8e-9a2f-0d5e7b8c9a10";

pub fn save_request(data: &[u8]) {
    if let Err(e) = SaveBody::parse(data) {
        let e = ApiError::from(e);
        assert!(e.status().is_client_error(), "a bad body is a 4xx, not {}", e.status());
        let _ = e.body();
        return;
    }
    let store = kg_history::open_in_memory().expect("in-memory SQLite");
    let ctx = |key: &str| SaveContext {
        user: USER,
        idempotency_key: Some(key.to_owned()),
        now: Timestamp::parse("2026-02-04T14:30:45.123Z").unwrap(),
        keep_versions: None,
    };
    let with_id = |override_version: bool| {
        let mut again = SaveBody::parse(data).expect("parsed once, parses again");
        again.id = GRAPH_ID.to_owned();
        again.override_version = override_version;
        again
    };
    let first = save(&store, with_id(false), ctx("first"));
    match &first {
        Ok(saved) => assert_eq!(saved.version, 1),
        Err(e) => {
            let status = kg_approval_server::error::status_of(e);
            assert!(status.is_client_error(), "refused with {status}");
            if !matches!(e, HistoryError::Conflict { .. }) {
                return;
            }
        }
    }
    let second = save(&store, with_id(true), ctx("second")).expect("an override save of a valid graph is stored");
    let replay = save(&store, with_id(true), ctx("second")).expect("a replay answers");
    assert_eq!((replay.version, replay.replayed), (second.version, true), "one approval, one version");

    let rows = store.read(|c| c.all_versions(GRAPH_ID)).expect("history reads");
    assert_eq!(rows.len() as i64, second.version, "versions are contiguous");
    for row in &rows {
        let (text, hash) = store.read(|c| read::graph_text(c, GRAPH_ID, Some(row.version))).expect("every version reads back");
        Graph::from_json(&text).expect("a stored version is a graph");
        assert_eq!((row.user.as_str(), hash.as_str()), (USER, row.hash.as_str()));
    }
    // The posted graph comes back exactly as stored, version number aside.
    let mut sent = Graph::from_value(SaveBody::parse(data).expect("parses").graph).expect("it was saved");
    sent.set_version(serde_json::json!(second.version));
    let (latest, _) = store.read(|c| read::graph_text(c, GRAPH_ID, None)).expect("the newest reads back");
    assert_eq!(latest, sent.to_json());
    let verification = store.read(|c| read::verify(c, GRAPH_ID)).expect("verifies");
    assert!(verification.ok, "the chain verifies: {:?}", verification.first_broken);
}
