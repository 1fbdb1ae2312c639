//! The store-wide audit log: what was done to the trail itself (a person
//! erased, audit records expired), chained like versions — each event's
//! hash covers the previous one's — so that removing or changing an event
//! shows when the log is verified.

use kg_approval::canonical::{HashWriter, write_canonical};
use serde::Serialize;
use serde_json::Value;

use crate::store::{Event, StoreResult, Writer};

/// The lock (see [`Writer::lock_graph`]) that orders appends.
const LOCK: &str = "\u{1}events";

/// Appends an event; `actor` is a pseudonym or `cli`, never a person.
pub fn append(tx: &mut dyn Writer, kind: &str, actor: &str, detail: &Value, at: &str) -> StoreResult<Event> {
    tx.lock_graph(LOCK)?;
    let last = tx.events()?.pop();
    let (seq, prev) = last.map_or((1, String::new()), |e| (e.seq + 1, e.hash));
    let detail = detail.to_string();
    let hash = event_hash(&prev, seq, at, kind, actor, &detail);
    let event = Event { seq, at: at.to_owned(), kind: kind.to_owned(), actor: actor.to_owned(), detail, hash };
    tx.append_event(&event)?;
    Ok(event)
}

/// SHA-256 (hex) of `kg-approval/event \n prev \n seq \n at \n kind \n actor \n canonical(detail)`.
fn event_hash(prev: &str, seq: i64, at: &str, kind: &str, actor: &str, detail: &str) -> String {
    let mut hasher = HashWriter::default();
    let detail: Value = serde_json::from_str(detail).unwrap_or(Value::String(detail.to_owned()));
    let written = (|| {
        use std::io::Write;
        write!(hasher, "kg-approval/event\n{prev}\n{seq}\n{at}\n{kind}\n{actor}\n")?;
        write_canonical(&detail, &mut hasher)
    })();
    written.expect("hashing cannot fail");
    hasher.hex()
}

/// The outcome of checking the log.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogCheck {
    pub events: usize,
    pub ok: bool,
    /// The first event whose hash or number does not follow.
    pub first_broken: Option<i64>,
}

pub fn verify(events: &[Event]) -> LogCheck {
    let mut prev = String::new();
    for (expected, e) in (1..).zip(events) {
        if e.seq != expected || e.hash != event_hash(&prev, e.seq, &e.at, &e.kind, &e.actor, &e.detail) {
            return LogCheck { events: events.len(), ok: false, first_broken: Some(expected) };
        }
        prev = e.hash.clone();
    }
    LogCheck { events: events.len(), ok: true, first_broken: None }
}
