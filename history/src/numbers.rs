//! Numbers are stored exactly as sent, or refused. serde_json reads an
//! integer beyond 64 bits (`18446744073709551616`) as the nearest double, so
//! it would come back as `1.8446744073709552e19`: another value, silently.
//! Such integers are refused with the path of the first one.

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::error::HistoryError;

/// Refuses `bytes` (already parsed as `parsed`) if it holds an integer that
/// does not fit 64 bits. Only bodies with a double that could be such an
/// integer are read a second time.
pub fn refuse_inexact_integers(bytes: &[u8], parsed: &Value) -> Result<(), HistoryError> {
    if !has_large_integral_double(parsed) {
        return Ok(());
    }
    let text = std::str::from_utf8(bytes).map_err(|e| HistoryError::BadRequest(format!("body is not UTF-8: {e}")))?;
    let raw: &RawValue = serde_json::from_str(text).map_err(|e| HistoryError::BadRequest(format!("body is not valid JSON: {e}")))?;
    match find_inexact(raw, "") {
        Some(path) => Err(HistoryError::Invalid {
            code: "invalid_value",
            path: Some(path.clone()),
            message: format!("{path}: an integer beyond 64 bits cannot be stored exactly; send it as a string"),
        }),
        None => Ok(()),
    }
}

fn has_large_integral_double(value: &Value) -> bool {
    match value {
        Value::Number(n) => n.as_f64().is_some_and(|f| n.is_f64() && f.fract() == 0.0 && f.abs() >= 9.2e18),
        Value::Array(items) => items.iter().any(has_large_integral_double),
        Value::Object(fields) => fields.values().any(has_large_integral_double),
        _ => false,
    }
}

/// The path (`graphData.nodes[3].size`) of the first integer literal that
/// fits neither `i64` nor `u64`.
fn find_inexact(raw: &RawValue, path: &str) -> Option<String> {
    let text = raw.get().trim_start();
    let join = |key: &str| if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") };
    match text.as_bytes().first()? {
        b'{' => {
            let fields: Vec<(String, &RawValue)> = Entries::parse(text)?;
            fields.iter().find_map(|(key, value)| find_inexact(value, &join(key)))
        }
        b'[' => {
            let items: Vec<&RawValue> = serde_json::from_str(text).ok()?;
            items.iter().enumerate().find_map(|(i, item)| find_inexact(item, &format!("{path}[{i}]")))
        }
        b'-' | b'0'..=b'9' => {
            let literal = text.trim_end();
            let integer = !literal.contains(['.', 'e', 'E']);
            (integer && literal.parse::<i64>().is_err() && literal.parse::<u64>().is_err()).then(|| path.to_owned())
        }
        _ => None,
    }
}

/// An object's entries in order, values left raw.
struct Entries;

impl Entries {
    fn parse(text: &str) -> Option<Vec<(String, &RawValue)>> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Vec<(String, &'de RawValue)>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
                    entries.push(entry);
                }
                Ok(entries)
            }
        }
        struct Wrapper<'de>(Vec<(String, &'de RawValue)>);
        impl<'de> Deserialize<'de> for Wrapper<'de> {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_map(Visitor).map(Wrapper)
            }
        }
        serde_json::from_str::<Wrapper<'_>>(text).ok().map(|w| w.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<(), String> {
        let parsed: Value = serde_json::from_str(text).unwrap();
        refuse_inexact_integers(text.as_bytes(), &parsed).map_err(|e| match e {
            HistoryError::Invalid { path, .. } => path.unwrap_or_default(),
            other => panic!("{other}"),
        })
    }

    #[test]
    fn integers_beyond_64_bits_are_refused_with_their_path_and_everything_else_passes() {
        assert_eq!(
            check(r#"{"graphData":{"nodes":[{"id":"a"},{"id":"b","size":18446744073709551616}]}}"#),
            Err("graphData.nodes[1].size".into())
        );
        assert_eq!(check(r#"{"a":[-9223372036854775809]}"#), Err("a[0]".into()));
        assert_eq!(
            check(r#"{"max":18446744073709551615,"min":-9223372036854775808,"big":1e19,"f":1.5e300,"s":"18446744073709551616"}"#),
            Ok(())
        );
        assert_eq!(check(r#"{"k\"ey":{"x":99999999999999999999999}}"#), Err("k\"ey.x".into()));
    }
}
