//! How one part of a graph is stored: a node, an edge, the metadata, or the
//! graph's top level.
//!
//! A part is stored as its exact JSON text (fields in order), except that
//! every top-level value longer than [`INLINE_LIMIT`] bytes is moved out to
//! a content-addressed blob and replaced by a *reference*: the JSON string
//! `"\u0001<sha-256 of the value's text>"`. A version that changes one label
//! of a node with a 4 KB `info` then stores the node's small fields again and
//! a 72-byte reference, not the 4 KB; restoring an old text costs nothing,
//! since its blob is still there.
//!
//! A value that merely *looks* like a reference can never be mistaken for
//! one: such a value goes to a blob itself, so the only top-level
//! `"\u0001<64 hex digits>"` strings in a stored body are references.
//! Identity fields (`id`, and an edge's `source`, `target`, `from`, `to`)
//! stay inline however long, so the database can index them.
//!
//! ```
//! use kg_history_store::entity::{assemble, encode};
//! use serde_json::json;
//! let node = json!({"id": "a", "info": "x".repeat(300), "label": "A"});
//! let stored = encode(node.as_object().unwrap());
//! assert!(stored.body.len() < 120);
//! let blobs: std::collections::HashMap<_, _> = stored.blobs.into_iter().collect();
//! let mut text = String::new();
//! assemble(&stored.body, &mut text, |hash| blobs.get(hash).cloned()).unwrap();
//! assert_eq!(text, node.to_string());
//! ```

use std::borrow::Cow;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Values whose JSON text is longer than this many bytes are stored as blobs.
/// Below it the 72-byte reference would save little.
pub const INLINE_LIMIT: usize = 160;

/// Fields that always stay inline: they identify a part, its ends, or the
/// people who wrote it (an erasure rewrites those in place).
const IDENTITY_FIELDS: [&str; 7] = ["id", "source", "target", "from", "to", "updatedBy", "createdBy"];

/// The first character of a reference string.
const MARK: char = '\u{1}';
/// A reference as JSON text: `"\u0001` + 64 hex digits + `"`.
const REF_TEXT_LEN: usize = 1 + 6 + 64 + 1;

/// A part, ready to store: its body and the blobs the body refers to.
#[derive(Clone, Debug, PartialEq)]
pub struct Encoded {
    pub body: String,
    /// `(hash, value text)` of every blob the body refers to that was encoded
    /// here (not those kept from an earlier body).
    pub blobs: Vec<(String, String)>,
}

/// SHA-256 of a text, as lowercase hex.
pub fn sha256_hex(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

/// Encodes a part from its fields: every value is data.
pub fn encode(fields: &Map<String, Value>) -> Encoded {
    encode_with(fields, |_| false)
}

/// Encodes a part whose fields came from [`decode`] and were then patched:
/// a field for which `is_kept(key)` is true still holds the value decoded
/// from the stored body, so a reference there stays a reference; every other
/// field is data (a client's value that looks like a reference is data).
pub fn encode_with(fields: &Map<String, Value>, is_kept: impl Fn(&str) -> bool) -> Encoded {
    let mut body = String::with_capacity(64 * fields.len());
    let mut blobs = Vec::new();
    body.push('{');
    for (i, (key, value)) in fields.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&serde_json::to_string(key).expect("a string serializes"));
        body.push(':');
        if is_kept(key) && reference(value).is_some() {
            body.push_str(&serde_json::to_string(value).expect("a string serializes"));
            continue;
        }
        let text = serde_json::to_string(value).expect("JSON values serialize");
        if (text.len() > INLINE_LIMIT && !IDENTITY_FIELDS.contains(&key.as_str())) || raw_reference(&text).is_some() {
            let hash = sha256_hex(&text);
            body.push('"');
            body.push_str("\\u0001");
            body.push_str(&hash);
            body.push('"');
            blobs.push((hash, text));
        } else {
            body.push_str(&text);
        }
    }
    body.push('}');
    Encoded { body, blobs }
}

/// The hash a decoded field value refers to, if it is a reference.
pub fn reference(value: &Value) -> Option<&str> {
    let text = value.as_str()?.strip_prefix(MARK)?;
    (text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())).then_some(text)
}

/// An edge's ends as its stored body names them (`source`/`target`, or
/// `from`/`to`); they are always inline.
pub fn edge_ends(body: &str) -> (Option<String>, Option<String>) {
    let Ok(fields) = decode(body) else { return (None, None) };
    let end = |a: &str, b: &str| fields.get(a).or_else(|| fields.get(b)).and_then(Value::as_str).map(str::to_owned);
    (end("source", "from"), end("target", "to"))
}

/// The fields of a stored body, references left as `"\u0001<hash>"` strings.
pub fn decode(body: &str) -> Result<Map<String, Value>, String> {
    serde_json::from_str(body).map_err(|e| format!("stored body is not a JSON object: {e}"))
}

/// The hashes of the blobs a stored body refers to.
pub fn references(body: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for_each_field(body, |_, raw| {
        if let Some(hash) = raw_reference(raw) {
            out.push(hash.to_owned());
        }
        Ok(())
    })?;
    Ok(out)
}

/// Appends the exact JSON text of a stored part to `out`, with each
/// reference replaced by the blob text `blob(hash)` returns (owned or
/// borrowed: a caller holding the texts need not copy them).
pub fn assemble<B: AsRef<str>>(body: &str, out: &mut String, mut blob: impl FnMut(&str) -> Option<B>) -> Result<(), String> {
    if !body.contains("\\u0001") {
        out.push_str(body);
        return Ok(());
    }
    out.push('{');
    let mut first = true;
    for_each_field(body, |key, raw| {
        if !first {
            out.push(',');
        }
        first = false;
        push_key(out, key);
        out.push(':');
        match raw_reference(raw) {
            Some(hash) => out.push_str(blob(hash).ok_or_else(|| format!("blob {hash} is missing"))?.as_ref()),
            None => out.push_str(raw),
        }
        Ok(())
    })?;
    out.push('}');
    Ok(())
}

/// The hash of a reference given as raw JSON text.
fn raw_reference(raw: &str) -> Option<&str> {
    let hash = raw.strip_prefix("\"\\u0001")?.strip_suffix('"')?;
    (raw.len() == REF_TEXT_LEN && hash.bytes().all(|b| b.is_ascii_hexdigit())).then_some(hash)
}

/// Calls `f(key, raw value text)` for each top-level field, in order,
/// without parsing the values.
pub fn for_each_field(body: &str, mut f: impl FnMut(&str, &str) -> Result<(), String>) -> Result<(), String> {
    for (key, raw) in fields(body)? {
        f(&key, raw)?;
    }
    Ok(())
}

/// The fields of a body, in order, as `(key, raw JSON text of the value)`,
/// both borrowed from the body unless the key has escapes.
pub fn fields(body: &str) -> Result<Vec<(Cow<'_, str>, &str)>, String> {
    struct Fields;
    impl<'de> Visitor<'de> for Fields {
        type Value = Vec<(Cow<'de, str>, &'de str)>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::with_capacity(map.size_hint().unwrap_or(12));
            while let Some(key) = map.next_key::<BorrowedKey<'de>>()? {
                let raw: &'de RawValue = map.next_value()?;
                out.push((key.0, raw.get()));
            }
            Ok(out)
        }
    }
    let mut de = serde_json::Deserializer::from_str(body);
    let out = de.deserialize_map(Fields).map_err(|e| format!("stored body: {e}"))?;
    de.end().map_err(|e| format!("stored body: {e}"))?;
    Ok(out)
}

/// A key, borrowed from the text when it has no escapes.
struct BorrowedKey<'a>(Cow<'a, str>);

impl<'de> serde::Deserialize<'de> for BorrowedKey<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Key;
        impl<'de> Visitor<'de> for Key {
            type Value = BorrowedKey<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(BorrowedKey(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(BorrowedKey(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(BorrowedKey(Cow::Owned(v)))
            }
        }
        d.deserialize_str(Key)
    }
}

/// Writes `key` as a JSON string, as serde_json writes it.
pub fn push_key(out: &mut String, key: &str) {
    if key.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\' && b < 0x7f) {
        out.push('"');
        out.push_str(key);
        out.push('"');
    } else {
        out.push_str(&serde_json::to_string(key).expect("a string serializes"));
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use serde_json::json;

    use super::*;

    fn round_trip(value: Value) -> (Encoded, String) {
        let encoded = encode(value.as_object().unwrap());
        let blobs: HashMap<_, _> = encoded.blobs.iter().cloned().collect();
        let mut text = String::new();
        assemble(&encoded.body, &mut text, |h| blobs.get(h).cloned()).unwrap();
        (encoded, text)
    }

    #[test]
    fn small_parts_are_stored_as_they_are() {
        let node = json!({"z": 1, "id": "a", "position": {"y": 2, "x": 1}, "visible": false});
        let (encoded, text) = round_trip(node.clone());
        assert_eq!(encoded.body, node.to_string());
        assert!(encoded.blobs.is_empty());
        assert_eq!(text, node.to_string());
    }

    #[test]
    fn large_values_go_to_blobs_and_come_back_in_place() {
        let big = "é😀 ".repeat(100);
        let node = json!({"id": "a", "info": big, "bibl": ["x".repeat(200)], "label": "A"});
        let (encoded, text) = round_trip(node.clone());
        assert_eq!(encoded.blobs.len(), 2);
        assert_eq!(text, node.to_string());
        assert_eq!(references(&encoded.body).unwrap().len(), 2);
        assert_eq!(encoded.blobs[0].0, sha256_hex(&serde_json::to_string(&big).unwrap()));
    }

    #[test]
    fn data_that_looks_like_a_reference_is_data() {
        let fake = format!("\u{1}{}", "a".repeat(64));
        let node = json!({"id": "a", "label": fake, "nested": {"k": fake}, "\u{1}key": fake, "near": format!("\u{1}{}", "a".repeat(63))});
        let (encoded, text) = round_trip(node.clone());
        assert_eq!(text, node.to_string());
        // The two top-level values that look like references went to blobs;
        // the nested one, the key and the near miss stay inline.
        assert_eq!(encoded.blobs.len(), 2);
        let decoded = decode(&encoded.body).unwrap();
        assert!(reference(&decoded["label"]).is_some(), "the fake became a real reference to a blob holding it");
        assert_eq!(encoded.blobs[0].1, serde_json::to_string(&fake).unwrap());
    }

    #[test]
    fn kept_references_stay_and_patched_values_are_encoded() {
        let node = json!({"id": "a", "info": "i".repeat(400), "label": "A"});
        let first = encode(node.as_object().unwrap());
        let mut fields = decode(&first.body).unwrap();
        fields.insert("label".into(), json!("B"));
        let second = encode_with(&fields, |k| k != "label");
        assert!(second.blobs.is_empty(), "the info blob is reused");
        assert_eq!(references(&second.body).unwrap(), references(&first.body).unwrap());
        // A patched field holding a reference-looking string is stored as data.
        fields.insert("label".into(), fields["info"].clone());
        let third = encode_with(&fields, |k| k != "label");
        assert_eq!(third.blobs.len(), 1);
    }

    #[test]
    fn identity_fields_stay_inline_however_long() {
        let long = "x".repeat(400);
        let (encoded, _) = round_trip(json!({"id": long, "source": long, "target": long, "label": long}));
        assert_eq!(encoded.blobs.len(), 1, "only the label");
    }

    #[test]
    fn a_missing_blob_is_an_error_not_a_silent_gap() {
        let encoded = encode(json!({"info": "x".repeat(500)}).as_object().unwrap());
        let mut out = String::new();
        assert!(assemble(&encoded.body, &mut out, |_| None::<String>).unwrap_err().contains("missing"));
    }
}
