//! Idempotency keys: a retried save gets the first answer and stores
//! nothing new. The key is the one the request names (the server reads the
//! `Idempotency-Key` header) or, without one, the body's approval id (one approval, one version). Approval ids are not
//! secret — the audit trail shows them — so a key is bound to the user and
//! the request that first used it: the same key from another user, or for
//! another request, is refused (`Unprocessable`) instead of being answered "saved"
//! while its content is dropped.
//!
//! "The same request" is the same approval when the body records one (its
//! approval id, instant, proposal, decisions and provenance), so a client
//! may retry an approval as a delta after sending it whole; without an
//! approval it is the same body.

use sha2::{Digest, Sha256};

use crate::error::HistoryError;
use crate::store::Writer;
use crate::write::{ClientAudit, Saved};

/// The key a save is recognised by: the header's, else the approval id
/// (an empty one is none).
pub fn key_of(header: Option<String>, approval_id: Option<&str>) -> Option<String> {
    header.or_else(|| approval_id.filter(|id| !id.trim().is_empty()).map(str::to_owned))
}

/// The fingerprint of a request: of the approval it records, else of its
/// bytes. The first 16 bytes of a SHA-256 (hex): another request with the
/// same fingerprint would take 2^128 tries to find, and each version with a
/// key stores one (versions saved before issue 28 kept all 32 bytes).
pub fn request_hash(audit: &ClientAudit, body: &[u8]) -> String {
    let digest = match audit.approval_id.as_deref().filter(|id| !id.trim().is_empty()) {
        Some(_) => {
            let approval = serde_json::json!([
                audit.approval_id,
                audit.user,
                audit.at,
                audit.proposal_id,
                audit.accepted,
                audit.rejected,
                audit.reason,
                audit.source,
                audit.model,
                audit.run_id,
            ]);
            Sha256::digest(approval.to_string().as_bytes())
        }
        None => Sha256::digest(body),
    };
    crate::entity::hex(&digest[..FINGERPRINT_BYTES])
}

/// The bytes of a request's fingerprint.
const FINGERPRINT_BYTES: usize = 16;

/// Whether a stored fingerprint is that of `request_hash`: the same, or
/// (kept whole before issue 28) the digest it was cut from.
fn same_request(stored: &str, request_hash: &str) -> bool {
    stored == request_hash || (stored.len() == 64 && stored.starts_with(request_hash))
}

/// Inside the write transaction, before anything is written: the first
/// answer if `key` was used before by this user for this request, a 422 if
/// by someone else or for another request, `None` if never.
pub fn replay(tx: &mut dyn Writer, graph_id: &str, key: &str, user: &str, request_hash: &str) -> Result<Option<Saved>, HistoryError> {
    let Some(first) = tx.by_idempotency_key(graph_id, key)? else { return Ok(None) };
    if first.user != user {
        return Err(HistoryError::Unprocessable(format!(
            "The idempotency key (approval id) '{key}' was already used by another user for version {}; a new save needs a new key.",
            first.version
        )));
    }
    if first.request_hash.as_deref().is_some_and(|h| !same_request(h, request_hash)) {
        return Err(HistoryError::Unprocessable(format!(
            "The idempotency key (approval id) '{key}' was already used for version {} with a different request; a new save needs a new key.",
            first.version
        )));
    }
    let hash = tx.version(graph_id, first.version)?.map(|v| v.hash).unwrap_or_default();
    Ok(Some(Saved { version: first.version, hash, replayed: true }))
}

#[cfg(test)]
mod tests {
    use super::{request_hash, same_request};
    use crate::write::ClientAudit;

    #[test]
    fn a_fingerprint_is_16_bytes_and_matches_one_kept_whole_before() {
        let audit = ClientAudit { approval_id: Some("a1".into()), ..ClientAudit::default() };
        let hash = request_hash(&audit, b"{}");
        assert_eq!(hash.len(), 32);
        let other = request_hash(&ClientAudit { approval_id: Some("a2".into()), ..ClientAudit::default() }, b"{}");
        assert_ne!(hash, other);
        let whole = format!("{hash}{}", "0".repeat(32));
        assert!(same_request(&hash, &hash) && same_request(&whole, &hash));
        assert!(
            !same_request(&other, &hash)
                && !same_request(&whole[..48], &hash)
                && !same_request(&format!("{other}{}", "0".repeat(32)), &hash)
        );
    }
}
