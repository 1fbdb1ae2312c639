//! Canonical JSON: one text per value, for hashing.
//!
//! Object keys are sorted (by their UTF-8 bytes), there is no whitespace,
//! and numbers and strings are printed as `serde_json` prints them. Two
//! values that are [`json_eq`](crate::value::json_eq) up to key order have
//! the same canonical text.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// The canonical text of a value.
///
/// ```
/// use kg_approval::canonical::canonical_json;
/// use serde_json::json;
/// assert_eq!(canonical_json(&json!({"b": [1, {"d": 0, "c": null}], "a": "x"})), r#"{"a":"x","b":[1,{"c":null,"d":0}]}"#);
/// ```
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write(value, &mut out);
    out
}

fn write(value: &Value, out: &mut String) {
    match value {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write(item, out);
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// SHA-256 of the canonical text, as lowercase hex.
pub fn canonical_sha256(value: &Value) -> String {
    let digest = Sha256::digest(canonical_json(value).as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
