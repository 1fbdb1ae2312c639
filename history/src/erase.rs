//! Erasure: a person asks to be forgotten. Every place the trail names them
//! — who saved a version, the `updatedBy`/`createdBy` stamps of every stored
//! version of every part, graph heads and owners, grants, request logs — is
//! replaced by their pseudonym, the table that said who the pseudonym was
//! forgets it, and the erasure is recorded in the store-wide audit log.
//!
//! The hash chain already names people by their pseudonyms (scheme 3, see
//! [`crate::people`]), so nothing it hashed changes and every chain still
//! verifies. Versions saved before pseudonyms existed (schemes 1 and 2)
//! hash people as written: if any of those name the person, erasing would
//! break their chain, and the erasure is refused (422) with their count.
//!
//! Erased means erased in the bytes: once the erasure has committed, the
//! store is scrubbed ([`crate::store::Store::scrub`]: SQLite rebuilt and its
//! write-ahead log emptied, PostgreSQL's tables rewritten), so the old row
//! versions that named the person are in no file of the database, nor in a
//! bundle or export made afterwards. The request log is rewritten before the
//! erasure commits (after it, nothing would remember whom to look for there)
//! and names the pseudonym from then on, for the rest of the process.
//!
//! A scrub is recorded in the store-wide log as a `scrub` event covering the
//! erasures before it. One that did not happen — the process stopped between
//! the commit and the scrub, or readers held old pages — is owed, and
//! [`finish_scrubs`] does it: an erasure calls it, and the server calls it
//! when it starts and every few minutes after.
//!
//! What it cannot reach: free text that mentions the person (a reason, a
//! node's label), the server's token configuration, backups and bundles
//! made before, and PostgreSQL's write-ahead log (and its archives and
//! replicas) until it is recycled.

use serde::Serialize;
use serde_json::json;

use crate::error::HistoryError;
use crate::events;
use crate::people::{self, Pseudonyms};
use crate::store::{Erased, Event, Store};

/// What an erasure did.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Erasure {
    /// What the trail now names the person.
    pub pseudonym: String,
    #[serde(flatten)]
    pub erased: Erased,
    /// Request log lines rewritten.
    pub request_log_lines: u64,
    /// The event recording the erasure.
    pub event: i64,
    /// Whether the files were scrubbed. If not (readers held old pages, see
    /// the server's log), the erasure stands and the scrub is owed: the
    /// server does it within minutes, or when it next starts.
    pub scrubbed: bool,
}

/// The store-wide log's kind for a scrub; its detail's `through` is the
/// newest erasure event it covers.
pub const SCRUB: &str = "scrub";

/// Records kept outside the store that name people — the server's request
/// log — which an erasure must rewrite too. The layer that keeps them
/// provides this; the history never reads them itself.
pub trait PersonalRecords {
    /// Replaces `person` by `pseudonym` everywhere; returns how many records changed.
    fn rename_person(&self, person: &str, pseudonym: &str) -> std::io::Result<u64>;
}

/// No records outside the store.
pub struct NoRecords;

impl PersonalRecords for NoRecords {
    fn rename_person(&self, _person: &str, _pseudonym: &str) -> std::io::Result<u64> {
        Ok(0)
    }
}

/// Erases `person`; `actor` is who asked (a user id, or `cli`), and
/// `records` what else names people (the request log).
pub fn erase(store: &Store, person: &str, actor: &str, records: &dyn PersonalRecords) -> Result<Erasure, HistoryError> {
    if person.is_empty() || person.starts_with(people::PREFIX) || person == "cli" {
        return Err(HistoryError::BadRequest(format!("'{person}' is not a person that can be erased.")));
    }
    let at = kg_approval::Timestamp::now().to_string();
    let needle = serde_json::to_string(person).map_err(|e| HistoryError::Internal(e.to_string()))?;
    let (pseudonym, erased, event, request_log_lines) = store.write(|tx| {
        let mut names = Pseudonyms::default();
        names.learn(tx, [person], &at)?;
        let pseudonym = names.name(person).to_owned();
        // The actor is named now, before anyone is cleared: learning them
        // afterwards wrote an admin who erased themself straight back into
        // `people`. Erasing yourself, you are named by the pseudonym that no
        // longer says who you were. (Not in `names`, which renames stamps.)
        let actor = match actor {
            "cli" => "cli".to_owned(),
            _ if actor == person => pseudonym.clone(),
            _ => {
                let mut actors = Pseudonyms::default();
                actors.learn(tx, [actor], &at)?;
                actors.name(actor).to_owned()
            }
        };
        // Parts whose stamps name the person, with their new bodies.
        let mut rewrites = Vec::new();
        let mut old = tx.old_versions_by(person)?;
        for (gid, scheme, row) in tx.parts_containing(&needle)? {
            let body = people::renamed(&row.body, &names).map_err(HistoryError::Internal)?;
            if body == row.body {
                continue;
            }
            if scheme < 3 {
                old += 1;
                continue;
            }
            let body = body.into_owned();
            rewrites.push((gid, row, body));
        }
        if old > 0 {
            return Err(HistoryError::Unprocessable(format!(
                "{old} stored versions or parts naming this person were saved before people were pseudonymised \
                 (hash schemes 1-2): erasing them would break their chains. Nothing was erased."
            )));
        }
        for (gid, row, body) in &rewrites {
            tx.set_body(*gid, row, body)?;
        }
        let mut erased = tx.erase_person(person, &pseudonym, &at)?;
        erased.parts = rewrites.len() as u64;
        let detail = json!({ "pseudonym": pseudonym, "versions": erased.versions, "parts": erased.parts,
                             "graphs": erased.graphs, "grants": erased.grants });
        let event = events::append(tx, "erasure", &actor, &detail, &at)?;
        // Before the commit: once it is done, the person is named nowhere
        // that says whom to look for in the log. (Should the commit fail,
        // the log names the pseudonym of someone not erased: nothing lost.)
        let lines = records.rename_person(person, &pseudonym).map_err(|e| HistoryError::Internal(format!("request log: {e}")))?;
        Ok::<_, HistoryError>((pseudonym, erased, event.seq, lines))
    })?;
    // Committed: now out of the files' bytes too.
    let scrubbed = match finish_scrubs(store) {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(error = %e, event, "the erasure is committed, its scrub is owed (retried in minutes)");
            false
        }
    };
    Ok(Erasure { pseudonym, erased, request_log_lines, event, scrubbed })
}

/// Scrubs the store if an erasure committed after the last scrub recorded,
/// and records this one (`scrub`, covering the erasures up to the newest);
/// returns that erasure's event number, or `None` if no scrub was owed.
/// Erasures in a store older than this record are scrubbed once more.
pub fn finish_scrubs(store: &Store) -> Result<Option<i64>, HistoryError> {
    let Some(through) = store.read(|db| Ok::<_, HistoryError>(owed(&db.events()?)))? else { return Ok(None) };
    store.scrub()?;
    let at = kg_approval::Timestamp::now().to_string();
    store.write(|tx| events::append(tx, SCRUB, "server", &json!({ "through": through }), &at))?;
    Ok(Some(through))
}

/// The newest erasure no scrub covers, if any.
fn owed(log: &[Event]) -> Option<i64> {
    let erased = log.iter().filter(|e| e.kind == "erasure").map(|e| e.seq).max()?;
    let through = |e: &Event| serde_json::from_str::<serde_json::Value>(&e.detail).ok()?.get("through")?.as_i64();
    let scrubbed = log.iter().filter(|e| e.kind == SCRUB).filter_map(through).max().unwrap_or(0);
    (erased > scrubbed).then_some(erased)
}

#[cfg(test)]
mod tests {
    use super::{SCRUB, owed};
    use crate::store::Event;

    fn event(seq: i64, kind: &str, detail: &str) -> Event {
        Event { seq, at: String::new(), kind: kind.to_owned(), actor: "cli".to_owned(), detail: detail.to_owned(), hash: String::new() }
    }

    #[test]
    fn a_scrub_is_owed_for_an_erasure_no_scrub_covers() {
        let erasure = |seq| event(seq, "erasure", "{}");
        let scrub = |seq, through: i64| event(seq, SCRUB, &format!("{{\"through\":{through}}}"));
        assert_eq!(owed(&[]), None);
        assert_eq!(owed(&[event(1, "audit-expiry", "{}")]), None);
        assert_eq!(owed(&[erasure(1)]), Some(1), "an erasure before scrubs were recorded");
        assert_eq!(owed(&[erasure(1), scrub(2, 1)]), None);
        assert_eq!(owed(&[erasure(1), scrub(2, 1), erasure(3)]), Some(3));
        assert_eq!(owed(&[erasure(1), erasure(2), scrub(3, 1)]), Some(2), "a scrub covers the erasures before it only");
        assert_eq!(owed(&[erasure(1), event(2, SCRUB, "not json")]), Some(1));
    }
}
