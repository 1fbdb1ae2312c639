//! Tamper evidence: each version's hash covers the previous version's hash,
//! what the version changed and its audit record, so changing any stored row
//! breaks the version it belongs to.
//!
//! Two schemes, recorded per version:
//!
//! 1. (the first storage schema) `SHA-256(prev_hash \n canonical(graph) \n
//!    canonical(audit))` over the whole graph: a save hashed the whole graph.
//! 2. `SHA-256("kg-approval/2" \n prev_hash \n delta_hash \n
//!    canonical(audit))`, where `delta_hash` covers exactly the rows the
//!    version wrote and ended: one *leaf* per written row (its kind, key,
//!    position and stored body, whose blob references are content hashes)
//!    and one per ended row. A save hashes what it changed; since every
//!    version's graph is the rows of the versions before it, the chain still
//!    commits to every version's whole graph. `prev_hash` is the previous
//!    row's `hash` (not stored again), and the record includes the fields
//!    the row keeps in columns (who, when, source, reason, run, key).
//!
//! 3. (since the audit features) as 2, with people hashed by their
//!    pseudonyms (see [`crate::people`]), so that erasing a person keeps
//!    every hash: `SHA-256("kg-approval/3" \n prev_hash \n delta_hash \n
//!    record_digest)`, where each put leaf covers the body with its stamps
//!    renamed and `record_digest` is the SHA-256 of the canonical record with
//!    its `user` renamed. The digest is stored with the version when its
//!    record expires (`--keep-audit-days`), so the chain still verifies;
//!    until then the record implies it.
//!
//! Versions of schemes 1 and 2 hash people as written; they cannot be
//! erased without breaking their links (the erase command says so).

use std::collections::{HashMap, HashSet};
use std::io::Write;

use kg_approval::canonical::{HashWriter, write_canonical};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::entity::{self, hex, sha256_hex};
use crate::people::{self, Pseudonyms};
use crate::store::{EntityRow, Kind, VersionRow};

/// Scheme 1: SHA-256 (hex) of `prev_hash \n canonical(graph) \n canonical(audit)`.
pub fn version_hash(prev_hash: &str, graph: &Value, audit: &Value) -> String {
    let mut hasher = HashWriter::default();
    let written = (|| {
        hasher.write_all(prev_hash.as_bytes())?;
        hasher.write_all(b"\n")?;
        write_canonical(graph, &mut hasher)?;
        hasher.write_all(b"\n")?;
        write_canonical(audit, &mut hasher)
    })();
    written.expect("hashing cannot fail");
    hasher.hex()
}

/// Scheme 2: SHA-256 (hex) of `kg-approval/2 \n prev_hash \n delta_hash \n canonical(audit)`.
pub fn delta_version_hash(prev_hash: &str, delta_hash: &str, audit: &Value) -> String {
    let mut hasher = HashWriter::default();
    let written = (|| {
        hasher.write_all(b"kg-approval/2\n")?;
        hasher.write_all(prev_hash.as_bytes())?;
        hasher.write_all(b"\n")?;
        hasher.write_all(delta_hash.as_bytes())?;
        hasher.write_all(b"\n")?;
        write_canonical(audit, &mut hasher)
    })();
    written.expect("hashing cannot fail");
    hasher.hex()
}

/// The leaf of a row a version wrote: `["put", kind, key, dup, ord, body]`.
pub fn put_leaf(row: &EntityRow) -> String {
    sha256_hex(&json!(["put", row.kind as i64, row.key, row.dup, row.ord, row.body]).to_string())
}

/// Scheme 3: SHA-256 (hex) of `kg-approval/3 \n prev_hash \n delta_hash \n record_digest`.
pub fn named_version_hash(prev_hash: &str, delta_hash: &str, record_digest: &str) -> String {
    sha256_hex(&format!("kg-approval/3\n{prev_hash}\n{delta_hash}\n{record_digest}"))
}

/// Scheme 3: the leaf of a written row, with people renamed.
pub fn named_put_leaf(row: &EntityRow, names: &Pseudonyms) -> Result<String, String> {
    let body = people::renamed(&row.body, names)?;
    Ok(sha256_hex(&json!(["put", row.kind as i64, row.key, row.dup, row.ord, body]).to_string()))
}

/// Scheme 3: SHA-256 (hex) of the canonical record with its `user` renamed.
pub fn record_digest(record: &Value, names: &Pseudonyms) -> String {
    let mut hasher = HashWriter::default();
    let renamed = match record.get("user").and_then(Value::as_str) {
        Some(user) if names.name(user) != user => {
            let mut copy = record.clone();
            copy["user"] = json!(names.name(user));
            std::borrow::Cow::Owned(copy)
        }
        _ => std::borrow::Cow::Borrowed(record),
    };
    write_canonical(&renamed, &mut hasher).expect("hashing cannot fail");
    hasher.hex()
}

/// The leaf a row of a version of `scheme` has.
pub fn leaf_of(row: &EntityRow, scheme: i64, names: &Pseudonyms) -> Result<String, String> {
    if scheme >= 3 { named_put_leaf(row, names) } else { Ok(put_leaf(row)) }
}

/// The leaf of a row a version ended: `["end", kind, key, dup]`.
pub fn end_leaf(kind: Kind, key: &str, dup: i64) -> String {
    sha256_hex(&json!(["end", kind as i64, key, dup]).to_string())
}

/// The hash of a version's changes: SHA-256 over its leaves, sorted.
pub fn delta_hash(mut leaves: Vec<String>) -> String {
    leaves.sort_unstable();
    let mut hasher = Sha256::new();
    for leaf in &leaves {
        hasher.update(leaf.as_bytes());
        hasher.update(b"\n");
    }
    hex(&hasher.finalize())
}

/// The outcome of checking a graph's chain.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    pub versions: usize,
    /// Versions that can no longer be read whole (retention); their changes
    /// and links are still checked.
    pub pruned: usize,
    pub ok: bool,
    pub first_broken: Option<Broken>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Broken {
    pub version: i64,
    pub reason: String,
}

/// Edge ends a backend keeps beside the bodies, by (kind, key, dup, from_version).
pub type StoredEnds = HashMap<(i64, String, i64, i64), (Option<String>, Option<String>)>;

/// Everything stored about one graph, for verification.
pub struct Stored<'a> {
    pub versions: &'a [VersionRow],
    pub rows: &'a [EntityRow],
    pub ends: &'a StoredEnds,
    /// Leaves of rows removed by retention, by version.
    pub pruned_leaves: &'a HashMap<i64, Vec<String>>,
    /// The head `graphs` records, if any.
    pub head: Option<(i64, String)>,
    /// The people known, with their pseudonyms (scheme 3).
    pub names: &'a Pseudonyms,
}

/// Recomputes the chain and reports the first version that does not match;
/// `blob(hash)` reads a blob's text.
pub fn verify(stored: &Stored<'_>, blob: &mut dyn FnMut(&str) -> Option<String>) -> Verification {
    let versions = stored.versions;
    let mut opened: HashMap<i64, Vec<&EntityRow>> = HashMap::new();
    let mut ended: HashMap<i64, Vec<&EntityRow>> = HashMap::new();
    for row in stored.rows {
        opened.entry(row.from_version).or_default().push(row);
        if let Some(to) = row.to_version {
            ended.entry(to).or_default().push(row);
        }
    }
    let mut checked_blobs = HashSet::new();
    let mut prev_hash = String::new();
    let mut pruned = 0;
    // A row can only belong to a version that exists: one that claims a
    // later version is reported at the first version it could have changed.
    let newest = versions.last().map_or(0, |v| v.version);
    if let Some(stray) = opened.keys().chain(ended.keys()).copied().filter(|v| *v > newest || *v < 1).min() {
        let at = stray.clamp(1, newest.max(1));
        return broken(versions.len(), pruned, at, format!("a stored part claims version {stray}, which does not exist"));
    }
    for (expected, row) in (1..).zip(versions) {
        let counted = pruned + usize::from(row.pruned);
        let fail = |reason: String| broken(versions.len(), counted, row.version, reason);
        if row.version != expected {
            return broken(
                versions.len(),
                pruned,
                row.version.min(expected),
                format!("version {expected} is missing (the next stored is {})", row.version),
            );
        }
        // Schemes 2 and 3 store no copy of the link: it is the previous row's hash.
        let linked = match row.scheme {
            1 => row.prev_hash == prev_hash,
            _ => row.prev_hash.is_empty(),
        };
        if !linked {
            return fail("its link to the previous version does not match".to_owned());
        }
        let record = match row.record() {
            Ok(record) => record,
            Err(e) => return fail(format!("its {e}")),
        };
        if let Some(reason) = columns_disagree(row, &record).filter(|_| row.scheme == 1) {
            return fail(reason);
        }
        let computed = match row.scheme {
            1 => {
                let text = match &row.graph_json {
                    Some(text) => Some(text.clone()),
                    None if row.pruned => None,
                    None => match graph_at(stored, row.version, blob) {
                        Ok(text) => Some(text),
                        Err(e) => return fail(format!("its graph cannot be rebuilt: {e}")),
                    },
                };
                match text.map(|t| serde_json::from_str::<Value>(&t)) {
                    Some(Ok(graph)) => version_hash(&prev_hash, &graph, &record),
                    Some(Err(_)) => return fail("its stored graph is unreadable".to_owned()),
                    // Pruned by the first schema: only the link can be checked.
                    None => row.hash.clone(),
                }
            }
            2 => {
                let mut leaves: Vec<String> = stored.pruned_leaves.get(&row.version).cloned().unwrap_or_default();
                for put in opened.get(&row.version).into_iter().flatten() {
                    if let Some(reason) = check_put(put, stored.ends, blob, &mut checked_blobs) {
                        return fail(reason);
                    }
                    leaves.push(put_leaf(put));
                }
                for end in ended.get(&row.version).into_iter().flatten() {
                    leaves.push(end_leaf(end.kind, &end.key, end.dup));
                }
                delta_version_hash(&prev_hash, &delta_hash(leaves), &record)
            }
            3 => {
                let mut leaves: Vec<String> = stored.pruned_leaves.get(&row.version).cloned().unwrap_or_default();
                for put in opened.get(&row.version).into_iter().flatten() {
                    if let Some(reason) = check_put(put, stored.ends, blob, &mut checked_blobs) {
                        return fail(reason);
                    }
                    match named_put_leaf(put, stored.names) {
                        Ok(leaf) => leaves.push(leaf),
                        Err(e) => return fail(format!("a stored part is unreadable: {e}")),
                    }
                }
                for end in ended.get(&row.version).into_iter().flatten() {
                    leaves.push(end_leaf(end.kind, &end.key, end.dup));
                }
                let digest = match (row.audit_expired, &row.record_digest) {
                    (true, Some(kept)) => kept.clone(),
                    (true, None) => return fail("its audit record expired without its digest".to_owned()),
                    (false, kept) => {
                        let digest = record_digest(&record, stored.names);
                        // Stored by versions saved before issue 28 (and by
                        // an expiry that was undone): it must agree.
                        if kept.as_deref().is_some_and(|kept| kept != digest) {
                            return fail("its audit record or its stored digest was changed after it was saved".to_owned());
                        }
                        digest
                    }
                };
                named_version_hash(&prev_hash, &delta_hash(leaves), &digest)
            }
            other => return fail(format!("unknown hash scheme {other}")),
        };
        if computed != row.hash {
            return fail("its graph, its changes or its audit record was changed after it was saved".to_owned());
        }
        prev_hash = row.hash.clone();
        pruned = counted;
    }
    if let (Some((version, hash)), Some(last)) = (&stored.head, versions.last()) {
        if *version != last.version || *hash != last.hash {
            return broken(versions.len(), pruned, last.version.min(*version), "the recorded head is not the newest version".to_owned());
        }
    }
    Verification { versions: versions.len(), pruned, ok: true, first_broken: None }
}

fn broken(versions: usize, pruned: usize, version: i64, reason: String) -> Verification {
    Verification { versions, pruned, ok: false, first_broken: Some(Broken { version, reason }) }
}

/// The listing columns of a first-schema version repeat fields of its
/// hashed record; they must agree with it. (Scheme 2 builds its record from
/// the columns, so they are hashed directly.)
fn columns_disagree(row: &VersionRow, record: &Value) -> Option<String> {
    let text = |key: &str| record.get(key).and_then(Value::as_str);
    let same = row.user.as_str() == text("user").unwrap_or_default()
        && row.saved_at.as_str() == text("savedAt").unwrap_or_default()
        && row.source.as_str() == text("source").unwrap_or("unknown")
        && row.reason.as_deref() == text("reason")
        && row.run_id.as_deref() == text("runId")
        && (row.scheme == 1 || row.idempotency_key.as_deref() == text("idempotencyKey"))
        && record.get("version").and_then(Value::as_i64) == Some(row.version);
    // (Always true for scheme 2, whose record is built from these columns.)
    (!same).then(|| "its listed user, time, source, reason, run or key differ from its audit record".to_owned())
}

/// A written row must be readable, refer only to blobs that hash to their
/// names, and (where the backend keeps an edge's ends beside its body) list
/// the ends its body names.
fn check_put(
    row: &EntityRow,
    ends: &StoredEnds,
    blob: &mut dyn FnMut(&str) -> Option<String>,
    checked: &mut HashSet<String>,
) -> Option<String> {
    let hashes = match entity::references(&row.body) {
        Ok(h) => h,
        Err(e) => return Some(format!("a stored part is unreadable: {e}")),
    };
    for hash in hashes {
        if checked.contains(&hash) {
            continue;
        }
        match blob(&hash) {
            Some(text) if sha256_hex(&text) == hash => {
                checked.insert(hash);
            }
            Some(_) => return Some(format!("blob {hash} was changed after it was saved")),
            None => return Some(format!("blob {hash} is missing")),
        }
    }
    if let Some(kept) = ends.get(&(row.kind as i64, row.key.clone(), row.dup, row.from_version)) {
        let body = if row.kind == Kind::Edge { entity::edge_ends(&row.body) } else { (None, None) };
        if *kept != body {
            return Some("a part's listed edge ends differ from its stored body".to_owned());
        }
    }
    None
}

/// The whole graph at `version`, rebuilt from the stored rows.
fn graph_at(stored: &Stored<'_>, version: i64, blob: &mut dyn FnMut(&str) -> Option<String>) -> Result<String, String> {
    let mut rows: Vec<EntityRow> =
        stored.rows.iter().filter(|r| r.from_version <= version && r.to_version.is_none_or(|t| t > version)).cloned().collect();
    rows.sort_unstable_by_key(|r| (r.kind, r.ord));
    crate::assemble::assemble_graph(&rows, blob)
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use sha2::{Digest, Sha256};

    use super::version_hash;

    /// The streamed hash is the hash of the documented text, so chains
    /// stored by earlier builds keep verifying.
    #[test]
    fn the_hash_covers_the_documented_text() {
        let text = "prev\n{\"a\":\"x\",\"b\":[1,{\"c\":null}]}\n{\"k\":\"\\u0000é\"}";
        let expected: String = Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(version_hash("prev", &json!({"b": [1, {"c": null}], "a": "x"}), &json!({"k": "\u{0}é"})), expected);
    }

    #[test]
    fn the_delta_hash_does_not_depend_on_leaf_order() {
        let a = super::delta_hash(vec!["b".into(), "a".into()]);
        assert_eq!(a, super::delta_hash(vec!["a".into(), "b".into()]));
        assert_ne!(a, super::delta_hash(vec!["a".into()]));
    }
}
