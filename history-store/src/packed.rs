//! Short JSON texts stored deflated against a dictionary of their usual
//! words: a version's audit record, and the body a row ended by a later
//! version keeps, usually a patch (issue 28).
//!
//! After [`crate::stored_record`] leaves out what a row can give back, a
//! one-label record is still about 180 bytes of JSON, and most of them are
//! its keys and usual values (`"proposalId"`, `"decisionMode":"accepted"`,
//! `"accepted/default"`). A patch (see [`crate::entity_patch`]) is about 70
//! bytes, half of them its brackets and field names. Alone, such a text
//! deflates badly (a record to about 70 %: it is too short to repeat
//! itself); against a preset dictionary that holds those words, a record
//! shrinks to about a quarter (50 bytes with random node ids) and a patch
//! to two thirds. Only the ids, times and values are left to say.
//!
//! The packed form is one byte naming the dictionary, then raw deflate
//! (RFC 1951) made with that dictionary preset. A dictionary never changes
//! once texts were packed with it; a better one would get the next number
//! and [`unpack`] would keep reading both. A stored text that is JSON (older
//! rows, or one that did not get shorter) is read as it is: it starts with
//! `{` or `[`, never with a dictionary's number.
//!
//! ```
//! use kg_history_store::packed::{Dictionary, pack, unpack};
//! let text = r#"{"approvalId":true,"proposalId":"eea0a639d6e5c28c","approvedAt":-1,"proposedAt":true,"decisionMode":"accepted","decisions":{"node/7f0c2a9e-61d4-4b8a-9c53-2f1e8d6b0a47/label":"accepted/default"}}"#;
//! let packed = pack(text, Dictionary::Record).unwrap();
//! assert!(packed.len() * 3 < text.len(), "{} bytes", packed.len());
//! assert_eq!(unpack(&packed).unwrap(), text);
//! ```

use std::cell::RefCell;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// What a text is packed against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dictionary {
    /// The words of a version's audit record.
    Record,
    /// The words of an ended row's body, a patch or whole: the fields of
    /// nodes, edges and metadata, and a patch's own brackets.
    Part,
}

impl Dictionary {
    /// The first byte of a text packed against it, and its words.
    fn tag_and_words(self) -> (u8, &'static [u8]) {
        match self {
            Dictionary::Record => (RECORD_1, RECORD_WORDS_1.as_bytes()),
            Dictionary::Part => (PART_1, PART_WORDS_1.as_bytes()),
        }
    }

    fn of_tag(tag: u8) -> Option<Dictionary> {
        [Dictionary::Record, Dictionary::Part].into_iter().find(|d| d.tag_and_words().0 == tag)
    }
}

const RECORD_1: u8 = 1;
const PART_1: u8 = 2;

/// The words of a record, most usual last (deflate reaches those with the
/// shortest distances). Never edit it: records are stored against it.
const RECORD_WORDS_1: &str = concat!(
    r#"{"model":"","modelVersion":"","confidence":0.9,"ruleId":"","patchProvenance":{},"edgeProvenance":{},"override":true,"#,
    r#""reason":"","via":"full","accepted":[],"rejected":[],"#,
    r#""decisions":{"graph/","edge/","metadata/":{"decision":"rejected","decidedBy":"change","comment":"","filter":"","proposed":"#,
    r#""rejected/default","rejected/bulk","accepted/bulk","accepted/node","rejected/node","accepted/change","rejected/change"},"#,
    r#"{"approvalId":true,"proposalId":"","approvedAt":-1,"proposedAt":true,"decisionMode":"accepted","decisions":{"node//label":"accepted/default"}}"#,
);

/// The words of an ended row's body, most usual last. Never edit it:
/// bodies are stored against it.
const PART_WORDS_1: &str = concat!(
    r#"["color",""],["bibl",[]],["imageWidth",""],["imageHeight",""],["visible",true],["position",{"x":0,"y":0}],["path",""],"#,
    r#"["type","fulltext"],["info",""],["source",""],["target",""],["title",""],["description",""],["createdBy",""],"#,
    r#"["category",""],["createdAt",""],["updatedBy",""],["version",1],["updated",""],[1,1,["label",""],1,["updatedAt",""],1]"#,
);

/// The window: 1 KB holds either dictionary; a record longer than that still
/// packs, against its own last kilobyte.
const WINDOW_BITS: u8 = 10;

thread_local! {
    // A deflate stream allocates its tables when made: one per thread, reset per record.
    static DEFLATE: RefCell<Compress> = RefCell::new(Compress::new_with_window_bits(Compression::best(), false, WINDOW_BITS));
    static INFLATE: RefCell<Decompress> = RefCell::new(Decompress::new_with_window_bits(false, WINDOW_BITS));
}

/// The packed bytes of `text`, if they are shorter than it and give it
/// back byte for byte.
pub fn pack(text: &str, dictionary: Dictionary) -> Option<Vec<u8>> {
    let (tag, words) = dictionary.tag_and_words();
    let mut packed = Vec::with_capacity(text.len() + 16);
    packed.push(tag);
    let done = DEFLATE.with_borrow_mut(|deflate| {
        deflate.reset();
        deflate.set_dictionary(words).ok()?;
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

/// JSON text's bytes where a column holds bytes only (PostgreSQL's
/// `bytea`): packed if that is shorter, else its UTF-8 text.
pub fn stored_bytes(text: &str, dictionary: Dictionary) -> Vec<u8> {
    pack(text, dictionary).unwrap_or_else(|| text.as_bytes().to_vec())
}

/// The text stored by [`stored_bytes`].
pub fn text_of_bytes(stored: &[u8]) -> Result<String, String> {
    match stored.first() {
        Some(b'{' | b'[') => String::from_utf8(stored.to_vec()).map_err(|e| format!("packed text: {e}")),
        _ => unpack(stored),
    }
}

/// The text of packed bytes (see [`pack`]).
pub fn unpack(packed: &[u8]) -> Result<String, String> {
    let Some((words, deflated)) = packed.split_first().and_then(|(&tag, rest)| Some((Dictionary::of_tag(tag)?.tag_and_words().1, rest)))
    else {
        return Err(format!("packed text: packed with an unknown dictionary ({:?})", packed.first()));
    };
    let mut text = Vec::with_capacity(deflated.len() * 4 + 64);
    INFLATE.with_borrow_mut(|inflate| {
        inflate.reset(false);
        inflate.set_dictionary(words).map_err(|e| format!("packed text: {e}"))?;
        loop {
            let read = inflate.total_in() as usize;
            if text.len() == text.capacity() {
                text.reserve(text.capacity());
            }
            let before = (inflate.total_in(), inflate.total_out());
            match inflate.decompress_vec(&deflated[read..], &mut text, FlushDecompress::Finish) {
                Ok(Status::StreamEnd) => return Ok(()),
                Ok(_) if (inflate.total_in(), inflate.total_out()) == before && text.len() < text.capacity() => {
                    return Err("packed text: the packed bytes end early".to_owned());
                }
                Ok(_) => {}
                Err(e) => return Err(format!("packed text: {e}")),
            }
        }
    })?;
    String::from_utf8(text).map_err(|e| format!("packed text: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_comes_back_byte_for_byte_in_fewer_bytes() {
        let one_label = r#"{"approvalId":true,"proposalId":"26f9aa26ae5248d6","approvedAt":-5,"proposedAt":true,"decisionMode":"accepted","decisions":{"node/3b7e9c1d-0a2f-4e6b-8d5c-71f4a9e2b6c0/label":"accepted/default"}}"#;
        let packed = pack(one_label, Dictionary::Record).expect("packs");
        assert_eq!(packed[0], RECORD_1);
        assert!(packed.len() * 3 < one_label.len(), "{} bytes for {}", packed.len(), one_label.len());
        assert_eq!(unpack(&packed).unwrap(), one_label);
    }

    #[test]
    fn a_patch_comes_back_byte_for_byte_in_fewer_bytes() {
        for patch in [
            r#"[2,1,["label","Fjord"],6,["updatedAt","2026-12-07T15:36:50.189Z"],1]"#,
            r#"[5,3,["updated","2026-12-07T15:36:50.187Z"],1,["version",499]]"#,
        ] {
            let packed = pack(patch, Dictionary::Part).expect("packs");
            assert_eq!(packed[0], PART_1);
            assert!(packed.len() * 4 < patch.len() * 3, "{} bytes for {}", packed.len(), patch.len());
            assert_eq!(unpack(&packed).unwrap(), patch);
            assert_ne!(pack(patch, Dictionary::Record), Some(packed), "each dictionary packs its own way");
        }
    }

    #[test]
    fn long_and_unusual_texts_come_back_too() {
        let long = format!(r#"{{"reason":"{}","decisions":{{"edge/a→b/label":"rejected/bulk"}},"n":1.0e-7}}"#, "ø ".repeat(3000));
        for text in [long.as_str(), r#"{"x":"\u0000","y":[1,2,3],"z":-0.0}"#, r#"[1,-2,["info","\"quoted\" ø"],3]"#] {
            for dictionary in [Dictionary::Record, Dictionary::Part] {
                if let Some(packed) = pack(text, dictionary) {
                    assert_eq!(unpack(&packed).unwrap(), text);
                }
            }
        }
        assert!(pack(&long, Dictionary::Record).is_some_and(|p| p.len() < long.len() / 10), "a text longer than the window packs");
    }

    #[test]
    fn a_text_that_would_not_shrink_stays_text() {
        assert_eq!(pack("{}", Dictionary::Record), None);
        assert_eq!(pack("", Dictionary::Part), None);
        assert_eq!(stored_bytes("{}", Dictionary::Record), b"{}");
        assert_eq!(text_of_bytes(b"{}").unwrap(), "{}");
    }

    #[test]
    fn stored_bytes_tell_packed_from_text() {
        let text = r#"{"approvalId":true,"approvedAt":-1,"decisionMode":"accepted","decisions":{"node/n1/label":"accepted/default"}}"#;
        let stored = stored_bytes(text, Dictionary::Record);
        assert_eq!(stored[0], RECORD_1);
        assert_eq!(text_of_bytes(&stored).unwrap(), text);
        assert_eq!(text_of_bytes(text.as_bytes()).unwrap(), text, "a record stored as text before packing");
        assert_eq!(text_of_bytes(b"[1,2]").unwrap(), "[1,2]");
        assert!(text_of_bytes(b"").is_err());
    }

    #[test]
    fn bytes_that_are_not_packed_text_are_an_error() {
        let packed = pack(r#"{"approvalId":true,"decisionMode":"accepted","decisions":{}}"#, Dictionary::Record).unwrap();
        assert!(unpack(&[]).unwrap_err().contains("unknown dictionary"));
        assert!(unpack(&[7, 1, 2]).unwrap_err().contains("unknown dictionary (Some(7))"));
        assert!(unpack(&packed[..packed.len() - 3]).is_err(), "cut short");
        let mut other = packed.clone();
        other[0] = PART_1;
        assert_ne!(unpack(&other).ok(), unpack(&packed).ok(), "read against the wrong dictionary");
    }
}
