//! An ended row stored as the way back from the row that replaced it.
//!
//! A version that changes one label of a node writes the node's new row and
//! ends the old one. Both bodies are nearly the same text, so the ended row
//! keeps only what differs from its successor (the next row of the same
//! part, valid from the version that ended it): the newest rows stay whole,
//! and a label change costs the label and the stamps, not the node.
//!
//! A stored body is a JSON object, always; a patch is a JSON array, so the
//! two never mix up. Its first item is its depth: 1, or one more than the
//! depth of the part's row before it if that one is a patch too. A row that
//! would be deeper than [`MAX_DEPTH`] is stored whole, so reading any row
//! applies at most that many patches (an export that reads every version
//! of a part rewritten by every version stays linear). The other items,
//! read in turn against the successor's fields with a cursor at its first
//! field:
//!
//! - `n > 0`: the next `n` fields of the successor, as they are;
//! - `n < 0`: skip the next `-n` fields of the successor (they are not in
//!   the older row, or come later);
//! - `[key, value]`: a field of the older row, with its exact JSON text;
//!   the cursor skips the successor's field under the same key if it is
//!   the one there.
//!
//! Field order and every value's exact text come back: [`encode`] applies
//! what it wrote and keeps the patch only if that gives the older body byte
//! for byte, and only if it is smaller.
//!
//! ```
//! use kg_history_store::entity_patch::{apply, depth, encode};
//! let old = r#"{"id":"a","label":"Old","type":"fulltext","updatedBy":"ann"}"#;
//! let new = r#"{"id":"a","label":"New","type":"fulltext","updatedBy":"bob"}"#;
//! let patch = encode(old, new, 1).unwrap();
//! assert_eq!(patch, r#"[1,1,["label","Old"],1,["updatedBy","ann"]]"#);
//! assert_eq!((apply(&patch, new).unwrap().as_str(), depth(&patch)), (old, 1));
//! ```

use std::collections::{HashMap, HashSet};

use serde_json::value::RawValue;

use crate::entity::{fields, push_key};
use crate::{EntityRow, Kind, Reader, StoreError, StoreResult};

/// The most patches read through to read one row.
pub const MAX_DEPTH: u32 = 8;

/// A patch's depth (see the module's text); 0 for a whole body.
pub fn depth(body: &str) -> u32 {
    let Some(rest) = body.strip_prefix('[') else { return 0 };
    rest.split([',', ']']).next().and_then(|n| n.parse().ok()).unwrap_or(0)
}

/// Whether a stored body is a patch (see the module's text) rather than
/// the part's whole JSON object.
pub fn is_patch(body: &str) -> bool {
    body.starts_with('[')
}

/// The patch of depth `depth` that turns `newer` (a whole body) back into
/// `older`, if one gives `older` exactly and is shorter than it, and
/// `depth` is at most [`MAX_DEPTH`]; `None`: store `older` whole.
pub fn encode(older: &str, newer: &str, depth: u32) -> Option<String> {
    if !older.starts_with('{') || !newer.starts_with('{') || !(1..=MAX_DEPTH).contains(&depth) {
        return None;
    }
    let (old, new) = (fields(older).ok()?, fields(newer).ok()?);
    let mut out = format!("[{depth}");
    let mut run = 0usize;
    let mut cursor = 0usize;
    let push = |out: &mut String, item: &str| {
        out.push(',');
        out.push_str(item);
    };
    let flush = |out: &mut String, run: &mut usize| {
        if *run > 0 {
            push(out, &run.to_string());
            *run = 0;
        }
    };
    for (key, raw) in &old {
        match new.get(cursor).filter(|(k, _)| k == key) {
            Some((_, same)) if same == raw => {
                run += 1;
                cursor += 1;
                continue;
            }
            Some(_) => cursor += 1,
            None => {
                let ahead = new[cursor..].iter().position(|(k, _)| k == key).filter(|p| new[cursor + p].1 == *raw);
                if let Some(skip) = ahead {
                    flush(&mut out, &mut run);
                    push(&mut out, &format!("-{skip}"));
                    cursor += skip + 1;
                    run = 1;
                    continue;
                }
            }
        }
        flush(&mut out, &mut run);
        out.push_str(",[");
        push_key(&mut out, key);
        out.push(',');
        out.push_str(raw);
        out.push(']');
    }
    flush(&mut out, &mut run);
    out.push(']');
    (out.len() < older.len() && apply(&out, newer).ok().as_deref() == Some(older)).then_some(out)
}

/// The older body: `patch` applied to `newer`, its successor's whole body.
pub fn apply(patch: &str, newer: &str) -> Result<String, String> {
    let damaged = |e: serde_json::Error| format!("stored patch: {e}");
    let items: Vec<&RawValue> = serde_json::from_str(patch).map_err(damaged)?;
    let Some((_, items)) = items.split_first().filter(|_| depth(patch) > 0) else {
        return Err("stored patch: no depth".to_owned());
    };
    let new = fields(newer)?;
    let mut out = String::with_capacity(newer.len() + patch.len());
    out.push('{');
    let mut cursor = 0usize;
    let field = |out: &mut String, key: &str, raw: &str| {
        if out.len() > 1 {
            out.push(',');
        }
        push_key(out, key);
        out.push(':');
        out.push_str(raw);
    };
    for item in items {
        // An item is a count or a `[key, value]` pair (serde's untagged
        // enums cannot hold a borrowed raw value, so it is told by hand).
        if item.get().starts_with('[') {
            let (key, raw): (String, &RawValue) = serde_json::from_str(item.get()).map_err(damaged)?;
            if new.get(cursor).is_some_and(|(k, _)| *k == key) {
                cursor += 1;
            }
            field(&mut out, &key, raw.get());
            continue;
        }
        match serde_json::from_str::<i64>(item.get()).map_err(damaged)? {
            n if n > 0 => {
                let end = cursor.checked_add(n as usize);
                let taken = end.and_then(|end| new.get(cursor..end)).ok_or("stored patch: copies past the newer row's fields")?;
                for (key, raw) in taken {
                    field(&mut out, key, raw);
                }
                cursor += n as usize;
            }
            n => cursor = cursor.saturating_add(n.unsigned_abs() as usize),
        }
    }
    out.push('}');
    Ok(out)
}

/// A part of a graph (its kind, key and `dup`) and the version a row of it
/// starts at.
type RowKey = (Kind, String, i64, i64);

/// `rows` of graph `gid` with every patch replaced by the whole body it
/// stands for, read through the part's newer rows (which `db` fetches
/// unless `rows` holds them all: `complete`). What a backend returns from
/// every query that can meet an ended row.
pub(crate) fn whole_rows<R: Reader + ?Sized>(
    db: &mut R,
    gid: i64,
    mut rows: Vec<EntityRow>,
    complete: bool,
) -> StoreResult<Vec<EntityRow>> {
    if !rows.iter().any(|r| is_patch(&r.body)) {
        return Ok(rows);
    }
    let newer = if complete {
        Vec::new()
    } else {
        let patched: Vec<&EntityRow> = rows.iter().filter(|r| is_patch(&r.body)).collect();
        // Many patches (an old version of a graph much edited since): the
        // current rows, read in one pass, replace most of them, and are
        // whole. (Version 1 of a 1,000-node graph with each node edited
        // once since: 23 ms looked up part by part, the newest read 3 ms.)
        let mut newer = if patched.len() * 4 >= rows.len() { db.rows_at(gid, None)? } else { Vec::new() };
        let current: HashSet<(Kind, &str, i64, i64)> = newer.iter().map(|r| (r.kind, r.key.as_str(), r.dup, r.from_version)).collect();
        // For every other patch, the rows of its part from the one that
        // replaced it on: at most `MAX_DEPTH` of them reach a whole body.
        let mut parts: Vec<RowKey> = patched
            .iter()
            .map(|r| (r.kind, r.key.as_str(), r.dup, r.to_version.unwrap_or(r.from_version)))
            .filter(|part| !current.contains(part))
            .map(|(kind, key, dup, since)| (kind, key.to_owned(), dup, since))
            .collect();
        drop(current);
        parts.sort_unstable();
        parts.dedup();
        newer.extend(db.newer_rows(gid, &parts)?);
        newer
    };
    resolve(&mut rows, &newer, false).map_err(StoreError::Failed)?;
    Ok(rows)
}

/// All the rows of a graph whole, for checking them against the hash
/// chain: a patch that cannot be read (damaged behind the server's back)
/// stays as stored, so that its leaf no longer matches and verification
/// names its version, rather than the check failing as a whole.
pub(crate) fn rows_to_verify(mut rows: Vec<EntityRow>) -> Vec<EntityRow> {
    if rows.iter().any(|r| is_patch(&r.body)) {
        let _ = resolve(&mut rows, &[], true);
    }
    rows
}

/// [`whole_rows`] for rows of any graph, each with its gid and one more
/// number (the parts an erasure looks for).
pub(crate) fn whole_parts<R: Reader + ?Sized>(db: &mut R, parts: Vec<(i64, i64, EntityRow)>) -> StoreResult<Vec<(i64, i64, EntityRow)>> {
    if !parts.iter().any(|(_, _, r)| is_patch(&r.body)) {
        return Ok(parts);
    }
    let mut by_graph: HashMap<i64, (Vec<i64>, Vec<EntityRow>)> = HashMap::new();
    for (gid, n, row) in parts {
        let (numbers, rows) = by_graph.entry(gid).or_default();
        numbers.push(n);
        rows.push(row);
    }
    let mut out = Vec::new();
    for (gid, (numbers, rows)) in by_graph {
        let rows = whole_rows(db, gid, rows, false)?;
        out.extend(numbers.into_iter().zip(rows).map(|(n, row)| (gid, n, row)));
    }
    Ok(out)
}

/// A row, by its part and the version it starts at, borrowed from the rows.
type RowRef<'a> = (Kind, &'a str, i64, i64);

/// Replaces each patch among `rows` by its whole body, reading the chain of
/// newer rows of the same part from `rows` and `newer`; a part's rows are
/// unpatched once each, newest first. With `keep_damaged`, a row that cannot
/// be read whole keeps its stored body instead of failing the whole call.
fn resolve(rows: &mut [EntityRow], newer: &[EntityRow], keep_damaged: bool) -> Result<(), String> {
    let done: Vec<(usize, String)> = {
        let stored: HashMap<RowRef<'_>, (Option<i64>, &str)> = newer
            .iter()
            .chain(rows.iter())
            .map(|r| ((r.kind, r.key.as_str(), r.dup, r.from_version), (r.to_version, r.body.as_str())))
            .collect();
        // Bodies made whole so far, and where each row's is.
        let (mut bodies, mut whole): (Vec<String>, HashMap<RowRef<'_>, usize>) = (Vec::new(), HashMap::new());
        let mut made = Vec::new();
        for (i, row) in rows.iter().enumerate().filter(|(_, r)| is_patch(&r.body)) {
            match unpatch((row.kind, row.key.as_str(), row.dup, row.from_version), &stored, &mut bodies, &mut whole) {
                Ok(at) => made.push((i, at)),
                Err(_) if keep_damaged => {}
                Err(e) => return Err(e),
            }
        }
        // Each row's own body moves out of the arena, once all are made.
        made.into_iter().map(|(i, at)| (i, std::mem::take(&mut bodies[at]))).collect()
    };
    for (i, body) in done {
        rows[i].body = body;
    }
    Ok(())
}

/// Makes `row` (a patch) whole: forward through its part's newer rows to
/// the first one whole (stored so, or made so before), then back, applying
/// each patch and keeping each result in `bodies` (its index in `whole`)
/// for the part's older rows. Returns the index of `row`'s body.
fn unpatch<'a>(
    row: RowRef<'a>,
    stored: &HashMap<RowRef<'a>, (Option<i64>, &'a str)>,
    bodies: &mut Vec<String>,
    whole: &mut HashMap<RowRef<'a>, usize>,
) -> Result<usize, String> {
    let missing = |at: &RowRef<'_>, what: &str| format!("stored part {:?} '{}' from version {}: {what}", at.0, at.1, at.3);
    let mut chain = vec![row];
    let mut base: Option<usize> = loop {
        let at = *chain.last().expect("not empty");
        if let Some(index) = whole.get(&at) {
            break Some(*index);
        }
        let (to, body) = stored.get(&at).ok_or_else(|| missing(&at, "missing"))?;
        if !is_patch(body) {
            break None;
        }
        chain.push((at.0, at.1, at.2, to.ok_or_else(|| missing(&at, "a current row is a patch"))?));
    };
    let top = chain.pop().expect("not empty");
    for at in chain.into_iter().rev() {
        let newer = match base {
            Some(index) => bodies[index].as_str(),
            None => stored[&top].1,
        };
        let older = apply(stored[&at].1, newer).map_err(|e| missing(&at, &e))?;
        bodies.push(older);
        base = Some(bodies.len() - 1);
        whole.insert(at, bodies.len() - 1);
    }
    base.ok_or_else(|| missing(&row, "not a patch"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn round_trip(older: &serde_json::Value, newer: &serde_json::Value) -> Option<String> {
        let (older, newer) = (older.to_string(), newer.to_string());
        let patch = encode(&older, &newer, 1)?;
        assert!(is_patch(&patch));
        assert_eq!(apply(&patch, &newer).unwrap(), older);
        Some(patch)
    }

    #[test]
    fn a_label_change_keeps_only_the_label_and_stamps() {
        let older = json!({"id": "n1", "label": "Old", "type": "fulltext", "info": "\u{1}abc", "position": {"x": 1, "y": 2},
                           "updatedAt": "2026-01-01T00:00:00.000Z", "updatedBy": "ann"});
        let mut newer = older.clone();
        newer["label"] = json!("New");
        newer["updatedAt"] = json!("2026-02-01T00:00:00.000Z");
        newer["updatedBy"] = json!("bob");
        let patch = round_trip(&older, &newer).unwrap();
        assert_eq!(patch, r#"[1,1,["label","Old"],3,["updatedAt","2026-01-01T00:00:00.000Z"],["updatedBy","ann"]]"#);
        // Deeper than MAX_DEPTH: stored whole.
        let (older, newer) = (older.to_string(), newer.to_string());
        assert_eq!(depth(&encode(&older, &newer, MAX_DEPTH).unwrap()), MAX_DEPTH);
        assert_eq!(encode(&older, &newer, MAX_DEPTH + 1), None);
        assert_eq!(encode(&older, &newer, 0), None);
    }

    #[test]
    fn added_removed_and_moved_fields_come_back_in_order() {
        let older = json!({"a": 1, "b": [1, 2], "c": "x", "d": null, "e": {"k": 1}});
        // `c` removed, `z` added, `e` moved before `d`.
        let newer = json!({"a": 1, "z": true, "b": [1, 2], "e": {"k": 1}, "d": null, "y": 0});
        round_trip(&older, &newer);
        // Nothing in common: no patch is shorter than the body.
        assert_eq!(round_trip(&json!({"a": "long value here"}), &json!({"b": "other"})), None);
    }

    #[test]
    fn exact_text_of_numbers_and_strings_is_kept() {
        // Keys with escapes, non-ASCII and a control character come back as written.
        let same = r#""t":"a value long enough that a patch pays","u":"another one, the same in both","k\"ey\\":1,"ké":2,"\u0007":3"#;
        let older = format!(r#"{{"n":1.0,"m":-0,"big":12345678901234567890123,"s":"é\u0001\"",{same}}}"#);
        let newer = format!(r#"{{"n":1,"m":0,"big":12345678901234567890124,"s":"e",{same}}}"#);
        let patch = encode(&older, &newer, 3).unwrap();
        assert!(patch.starts_with("[3,") && patch.ends_with(",5]"), "{patch}");
        assert_eq!(apply(&patch, &newer).unwrap(), older);
    }

    #[test]
    fn duplicate_keys_and_non_objects_are_stored_whole() {
        // A body is an object; anything else is never patched.
        assert_eq!(encode("[1]", r#"{"a":1}"#, 1), None);
        assert_eq!(encode(r#"{"a":1}"#, "null", 1), None);
        // A key the newer body holds twice cannot be told apart: the round
        // trip check refuses what would not come back exactly.
        let older = r#"{"k":1,"pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx","k":2}"#;
        let newer = r#"{"k":2,"pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx","k":1}"#;
        if let Some(patch) = encode(older, newer, 1) {
            assert_eq!(apply(&patch, newer).unwrap(), older);
        }
    }

    #[test]
    fn a_damaged_patch_is_an_error() {
        assert!(apply("[1,5]", r#"{"a":1}"#).unwrap_err().contains("past"));
        assert!(apply(&format!("[1,{}]", i64::MAX), r#"{"a":1}"#).unwrap_err().contains("past"));
        assert!(apply("[1,true]", r#"{"a":1}"#).is_err());
        assert!(apply("[[\"a\",1]]", r#"{"a":1}"#).unwrap_err().contains("depth"), "the depth comes first");
        assert!(apply("[1,1]", "not json").is_err());
    }
}
