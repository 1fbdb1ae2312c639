//! Typed deep equality and merging of JSON values.
//!
//! The editor today compares fields with `!==`, so `position` and `bibl`
//! always look changed (CONTRACT.md bug 3). Here equality is structural:
//! objects compare key by key regardless of order, arrays element by element,
//! numbers by value, and nothing is coerced (`1` is not `"1"`).

use serde_json::{Map, Value};

/// Deep, typed equality.
///
/// ```
/// use kg_approval::value::json_eq;
/// use serde_json::json;
/// assert!(json_eq(&json!({"x": 1, "y": 2}), &json!({"y": 2, "x": 1})));
/// assert!(!json_eq(&json!(1), &json!("1")));
/// assert!(json_eq(&json!(1), &json!(1.0)));
/// ```
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => {
            // serde_json keeps 1 and 1.0 apart; a JSON document read from a
            // file may carry either, and they are the same number.
            match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
                (Some(i), Some(j), _, _) => i == j,
                (_, _, Some(i), Some(j)) => i == j,
                _ => x.as_f64() == y.as_f64(),
            }
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b)),
        (Value::Object(x), Value::Object(y)) => x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w))),
        _ => false,
    }
}

/// The new value of a field given its old value and a patch.
///
/// Plain objects merge key by key (recursively), so a patch
/// `{position: {x: 5}}` keeps `y`; arrays and scalars replace; `null` is a
/// value like any other. Keys keep their old order; new keys go last.
///
/// ```
/// use kg_approval::value::merge_value;
/// use serde_json::json;
/// let merged = merge_value(Some(&json!({"x": 1, "y": 2})), &json!({"x": 5}));
/// assert_eq!(merged, json!({"x": 5, "y": 2}));
/// assert_eq!(merge_value(Some(&json!([1, 2])), &json!([3])), json!([3]));
/// ```
pub fn merge_value(old: Option<&Value>, patch: &Value) -> Value {
    match (old, patch) {
        (Some(Value::Object(old)), Value::Object(patch)) => {
            let mut merged = old.clone();
            for (key, value) in patch {
                let next = merge_value(old.get(key), value);
                merged.insert(key.clone(), next);
            }
            Value::Object(merged)
        }
        _ => patch.clone(),
    }
}

/// The JSON type of a value, for error messages.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Sets `key` in `map`, keeping its position if it is already there.
pub(crate) fn set_field(map: &mut Map<String, Value>, key: &str, value: Value) {
    match map.get_mut(key) {
        Some(slot) => *slot = value,
        None => {
            map.insert(key.to_owned(), value);
        }
    }
}

/// A string value as `&str`, if it is one.
pub(crate) fn as_text<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    map.get(key).and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn arrays_compare_in_order_and_by_type() {
        assert!(json_eq(&json!(["a", "b"]), &json!(["a", "b"])));
        assert!(!json_eq(&json!(["a", "b"]), &json!(["b", "a"])));
        assert!(!json_eq(&json!([1]), &json!(["1"])));
    }

    #[test]
    fn falsy_values_are_distinct() {
        let values = [json!(null), json!(false), json!(0), json!(""), json!([]), json!({})];
        for (i, a) in values.iter().enumerate() {
            for (j, b) in values.iter().enumerate() {
                assert_eq!(json_eq(a, b), i == j, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn nested_objects_merge_recursively_and_null_is_a_value() {
        let old = json!({"style": {"color": "red", "size": 2}, "x": 1});
        let merged = merge_value(Some(&old), &json!({"style": {"size": null}}));
        assert_eq!(merged, json!({"style": {"color": "red", "size": null}, "x": 1}));
    }

    #[test]
    fn object_replaces_scalar() {
        assert_eq!(merge_value(Some(&json!("x")), &json!({"a": 1})), json!({"a": 1}));
        assert_eq!(merge_value(None, &json!({"a": 1})), json!({"a": 1}));
    }
}
