//! Canonical JSON: one text per value, for hashing.
//!
//! Object keys are sorted (by their UTF-8 bytes), there is no whitespace,
//! and numbers and strings are printed as `serde_json` prints them. Two
//! values that are [`json_eq`](crate::value::json_eq) up to key order have
//! the same canonical text.

use std::io::{self, Write};

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
    let mut out = Vec::new();
    write_canonical(value, &mut out).expect("writing to a Vec cannot fail");
    String::from_utf8(out).expect("JSON text is UTF-8")
}

/// Writes the canonical text of a value, e.g. straight into a hasher (see
/// [`HashWriter`]) without building the text first.
pub fn write_canonical<W: Write>(value: &Value, out: &mut W) -> io::Result<()> {
    match value {
        Value::Array(items) => {
            out.write_all(b"[")?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                write_canonical(item, out)?;
            }
            out.write_all(b"]")
        }
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.write_all(b"{")?;
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                serde_json::to_writer(&mut *out, key)?;
                out.write_all(b":")?;
                write_canonical(item, out)?;
            }
            out.write_all(b"}")
        }
        scalar => Ok(serde_json::to_writer(out, scalar)?),
    }
}

/// An [`io::Write`] that feeds a SHA-256.
#[derive(Default)]
pub struct HashWriter(pub Sha256);

impl Write for HashWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl HashWriter {
    /// The digest as lowercase hex.
    pub fn hex(self) -> String {
        self.0.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// SHA-256 of the canonical text, as lowercase hex.
pub fn canonical_sha256(value: &Value) -> String {
    let mut hasher = HashWriter::default();
    write_canonical(value, &mut hasher).expect("hashing cannot fail");
    hasher.hex()
}
