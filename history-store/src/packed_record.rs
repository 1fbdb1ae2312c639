//! The audit record's bytes: deflated against a dictionary of the words
//! every record uses.
//!
//! After [`crate::stored_record`] leaves out what a row can give back, a
//! one-label record is still about 180 bytes of JSON, and most of them are
//! its keys and usual values (`"proposalId"`, `"decisionMode":"accepted"`,
//! `"accepted/default"`). A record alone deflates badly (to about 70 %: it
//! is too short to repeat itself), but against a preset dictionary that
//! holds those words it shrinks to about a quarter: 50 bytes with random
//! node ids (issue 28). Only the ids and times are left to say.
//!
//! The packed form is one byte naming the dictionary, then raw deflate
//! (RFC 1951) made with that dictionary preset. A dictionary never changes
//! once records were packed with it; a better one would get the next
//! number and [`unpack`] would keep reading both. A stored record that is
//! text (older rows, or one that did not get shorter) is read as it is.
//!
//! ```
//! use kg_history_store::packed_record::{pack, unpack};
//! let text = r#"{"approvalId":true,"proposalId":"eea0a639d6e5c28c","approvedAt":-1,"proposedAt":true,"decisionMode":"accepted","decisions":{"node/7f0c2a9e-61d4-4b8a-9c53-2f1e8d6b0a47/label":"accepted/default"}}"#;
//! let packed = pack(text).unwrap();
//! assert!(packed.len() * 3 < text.len(), "{} bytes", packed.len());
//! assert_eq!(unpack(&packed).unwrap(), text);
//! ```

use std::cell::RefCell;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The first byte of a record packed with [`DICTIONARY_1`].
const WITH_DICTIONARY_1: u8 = 1;

/// The words of a record, most usual last (deflate reaches those with the
/// shortest distances). Never edit it: records are stored against it.
const DICTIONARY_1: &str = concat!(
    r#"{"model":"","modelVersion":"","confidence":0.9,"ruleId":"","patchProvenance":{},"edgeProvenance":{},"override":true,"#,
    r#""reason":"","via":"full","accepted":[],"rejected":[],"#,
    r#""decisions":{"graph/","edge/","metadata/":{"decision":"rejected","decidedBy":"change","comment":"","filter":"","proposed":"#,
    r#""rejected/default","rejected/bulk","accepted/bulk","accepted/node","rejected/node","accepted/change","rejected/change"},"#,
    r#"{"approvalId":true,"proposalId":"","approvedAt":-1,"proposedAt":true,"decisionMode":"accepted","decisions":{"node//label":"accepted/default"}}"#,
);

/// The window: 1 KB holds the dictionary; a record longer than that still
/// packs, against its own last kilobyte.
const WINDOW_BITS: u8 = 10;

thread_local! {
    // A deflate stream allocates its tables when made: one per thread, reset per record.
    static DEFLATE: RefCell<Compress> = RefCell::new(Compress::new_with_window_bits(Compression::best(), false, WINDOW_BITS));
    static INFLATE: RefCell<Decompress> = RefCell::new(Decompress::new_with_window_bits(false, WINDOW_BITS));
}

/// The packed bytes of a stored record, if they are shorter than its text
/// and give it back byte for byte.
pub fn pack(text: &str) -> Option<Vec<u8>> {
    let mut packed = Vec::with_capacity(text.len() + 16);
    packed.push(WITH_DICTIONARY_1);
    let done = DEFLATE.with_borrow_mut(|deflate| {
        deflate.reset();
        deflate.set_dictionary(DICTIONARY_1.as_bytes()).ok()?;
        loop {
            let read = deflate.total_in() as usize;
            if packed.len() == packed.capacity() {
                packed.reserve(64);
            }
            match deflate.compress_vec(&text.as_bytes()[read..], &mut packed, FlushCompress::Finish).ok()? {
                Status::StreamEnd => return Some(()),
                Status::Ok | Status::BufError => {}
            }
        }
    });
    done?;
    (packed.len() < text.len() && unpack(&packed).is_ok_and(|back| back == text)).then_some(packed)
}

/// A stored record's bytes where a column holds bytes only (PostgreSQL's
/// `bytea`): packed if that is shorter, else its UTF-8 text. Text is a JSON
/// object, so it starts with `{`, never with a dictionary's number.
pub fn stored_bytes(text: &str) -> Vec<u8> {
    pack(text).unwrap_or_else(|| text.as_bytes().to_vec())
}

/// The text of a record stored by [`stored_bytes`].
pub fn text_of_bytes(stored: &[u8]) -> Result<String, String> {
    match stored.first() {
        Some(b'{') => String::from_utf8(stored.to_vec()).map_err(|e| format!("audit record: {e}")),
        _ => unpack(stored),
    }
}

/// The text of a packed record (see [`pack`]).
pub fn unpack(packed: &[u8]) -> Result<String, String> {
    let Some((&WITH_DICTIONARY_1, deflated)) = packed.split_first() else {
        return Err(format!("audit record: packed with an unknown dictionary ({:?})", packed.first()));
    };
    let mut text = Vec::with_capacity(deflated.len() * 4 + 64);
    INFLATE.with_borrow_mut(|inflate| {
        inflate.reset(false);
        inflate.set_dictionary(DICTIONARY_1.as_bytes()).map_err(|e| format!("audit record: {e}"))?;
        loop {
            let read = inflate.total_in() as usize;
            if text.len() == text.capacity() {
                text.reserve(text.capacity());
            }
            let before = (inflate.total_in(), inflate.total_out());
            match inflate.decompress_vec(&deflated[read..], &mut text, FlushDecompress::Finish) {
                Ok(Status::StreamEnd) => return Ok(()),
                Ok(_) if (inflate.total_in(), inflate.total_out()) == before && text.len() < text.capacity() => {
                    return Err("audit record: the packed bytes end early".to_owned());
                }
                Ok(_) => {}
                Err(e) => return Err(format!("audit record: {e}")),
            }
        }
    })?;
    String::from_utf8(text).map_err(|e| format!("audit record: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_comes_back_byte_for_byte_in_fewer_bytes() {
        let one_label = r#"{"approvalId":true,"proposalId":"26f9aa26ae5248d6","approvedAt":-5,"proposedAt":true,"decisionMode":"accepted","decisions":{"node/3b7e9c1d-0a2f-4e6b-8d5c-71f4a9e2b6c0/label":"accepted/default"}}"#;
        let packed = pack(one_label).expect("packs");
        assert_eq!(packed[0], WITH_DICTIONARY_1);
        assert!(packed.len() * 3 < one_label.len(), "{} bytes for {}", packed.len(), one_label.len());
        assert_eq!(unpack(&packed).unwrap(), one_label);
    }

    #[test]
    fn long_and_unusual_records_come_back_too() {
        let long = format!(r#"{{"reason":"{}","decisions":{{"edge/a→b/label":"rejected/bulk"}},"n":1.0e-7}}"#, "ø ".repeat(3000));
        for text in [long.as_str(), r#"{"x":"\u0000","y":[1,2,3],"z":-0.0}"#] {
            if let Some(packed) = pack(text) {
                assert_eq!(unpack(&packed).unwrap(), text);
            }
        }
        assert!(pack(&long).is_some_and(|p| p.len() < long.len() / 10), "a record longer than the window packs");
    }

    #[test]
    fn a_record_that_would_not_shrink_stays_text() {
        assert_eq!(pack("{}"), None);
        assert_eq!(pack(""), None);
        assert_eq!(stored_bytes("{}"), b"{}");
        assert_eq!(text_of_bytes(b"{}").unwrap(), "{}");
    }

    #[test]
    fn stored_bytes_tell_packed_from_text() {
        let text = r#"{"approvalId":true,"approvedAt":-1,"decisionMode":"accepted","decisions":{"node/n1/label":"accepted/default"}}"#;
        let stored = stored_bytes(text);
        assert_eq!(stored[0], WITH_DICTIONARY_1);
        assert_eq!(text_of_bytes(&stored).unwrap(), text);
        assert_eq!(text_of_bytes(text.as_bytes()).unwrap(), text, "a record stored as text before packing");
        assert!(text_of_bytes(b"").is_err());
    }

    #[test]
    fn bytes_that_are_not_a_packed_record_are_an_error() {
        let packed = pack(r#"{"approvalId":true,"decisionMode":"accepted","decisions":{}}"#).unwrap();
        assert!(unpack(&[]).unwrap_err().contains("unknown dictionary"));
        assert!(unpack(&[7, 1, 2]).unwrap_err().contains("unknown dictionary (Some(7))"));
        assert!(unpack(&packed[..packed.len() - 3]).is_err(), "cut short");
        let mut wrong = packed.clone();
        wrong[1] ^= 0xff;
        assert!(unpack(&wrong).is_err_and(|e| e.starts_with("audit record:")) || unpack(&wrong).unwrap() != unpack(&packed).unwrap());
    }
}
