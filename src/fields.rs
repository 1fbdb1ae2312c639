//! Records (options, deltas, audit entries, pending saves) read out of JSON
//! objects field by field, each mistake reported with its path and a code.
//!
//! Why by hand rather than `#[derive(Deserialize)]`: a derive is generic
//! over the deserializer, and in the `.wasm` each record read that way cost
//! serde's visitor code for it plus serde's float printing for its messages
//! (issue 17 measured 19 KB gzipped for the records). These readers are
//! plain functions over a [`Value`], shared by the bindings and the server.
//! Records are still written with `Serialize`.
//!
//! ```
//! use kg_approval::error::ErrorCode;
//! use kg_approval::fields::Fields;
//! use serde_json::json;
//!
//! let value = json!({"user": "ann", "limit": 5, "colour": "red"});
//! let fields = Fields::of(&value, "options", ErrorCode::InvalidArgument).unwrap();
//! assert_eq!(fields.string("user").unwrap(), "ann");
//! assert_eq!(fields.opt_u32("limit").unwrap(), Some(5));
//! assert_eq!(fields.string("reason").unwrap_err().to_string(), "options.reason: is missing");
//! let typo = fields.only(&["user", "limit"]).unwrap_err();
//! assert_eq!(typo.to_string(), "options.colour: unknown field, expected one of: user, limit");
//! ```

use serde_json::{Map, Value};

use crate::error::{Error, ErrorCode, Result};
use crate::value::type_name;

/// The fields of one JSON object, with the path that names it in errors.
#[derive(Clone, Debug)]
pub struct Fields<'a> {
    map: &'a Map<String, Value>,
    path: String,
    code: ErrorCode,
}

/// An error at `path`, or about the whole input when `path` is empty.
fn at(code: ErrorCode, path: &str, message: impl Into<String>) -> Error {
    if path.is_empty() { Error::new(code, message) } else { Error::at(code, path, message) }
}

/// `path.key`, or `key` at the root.
pub fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

impl<'a> Fields<'a> {
    /// `value` as an object; `path` names it in errors (`""` at the root) and
    /// `code` is the code of every error about it.
    pub fn of(value: &'a Value, path: &str, code: ErrorCode) -> Result<Fields<'a>> {
        match value {
            Value::Object(map) => Ok(Fields { map, path: path.to_owned(), code }),
            other => Err(at(code, path, format!("must be an object, got {}", type_name(other)))),
        }
    }

    /// Refuses a key not in `known`: a typo (`budgetMS`) is an error rather
    /// than a setting silently ignored.
    pub fn only(self, known: &[&str]) -> Result<Fields<'a>> {
        match self.map.keys().find(|k| !known.contains(&k.as_str())) {
            Some(key) => Err(self.error(key, format!("unknown field, expected one of: {}", known.join(", ")))),
            None => Ok(self),
        }
    }

    /// Refuses the record if one of `keys` is absent (`null` is there).
    pub fn must_have(self, keys: &[&str]) -> Result<Fields<'a>> {
        match keys.iter().find(|k| !self.map.contains_key(**k)) {
            Some(key) => Err(self.error(key, "is missing")),
            None => Ok(self),
        }
    }

    /// The path of `key` in errors.
    pub fn path_of(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// An error about `key`.
    pub fn error(&self, key: &str, message: impl Into<String>) -> Error {
        Error::at(self.code, self.path_of(key), message)
    }

    fn wrong(&self, key: &str, expected: &str, got: &Value) -> Error {
        self.error(key, format!("must be {expected}, got {}", type_name(got)))
    }

    /// The value of `key`, `null` included; `None` when absent.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    /// The value of `key` where absent and `null` differ: `None` when
    /// absent, `Some(Value::Null)` for `null` (an old value that was `null`).
    pub fn present(&self, key: &str) -> Option<Value> {
        self.map.get(key).cloned()
    }

    /// The value of `key`, absent and `null` both `None`.
    pub fn opt_value(&self, key: &str) -> Option<Value> {
        self.map.get(key).filter(|v| !v.is_null()).cloned()
    }

    /// A string that must be there.
    pub fn string(&self, key: &str) -> Result<String> {
        self.opt_string(key)?.ok_or_else(|| self.error(key, "is missing"))
    }

    /// A string, or `None` when absent or `null`.
    pub fn opt_string(&self, key: &str) -> Result<Option<String>> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.wrong(key, "a string", other)),
        }
    }

    /// A boolean that must be there.
    pub fn bool(&self, key: &str) -> Result<bool> {
        self.opt_bool(key)?.ok_or_else(|| self.error(key, "is missing"))
    }

    /// A boolean, or `None` when absent or `null`.
    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(self.wrong(key, "a boolean", other)),
        }
    }

    /// A number, or `None` when absent or `null`.
    pub fn opt_f64(&self, key: &str) -> Result<Option<f64>> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(other) => Err(self.wrong(key, "a number", other)),
        }
    }

    /// A whole number from 0 to 2³² − 1, or `None` when absent or `null`.
    pub fn opt_u32(&self, key: &str) -> Result<Option<u32>> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => match n.as_u64().and_then(|n| u32::try_from(n).ok()) {
                Some(n) => Ok(Some(n)),
                None => Err(self.error(key, format!("must be a whole number from 0 to {}, got {n}", u32::MAX))),
            },
            Some(other) => Err(self.wrong(key, "a number", other)),
        }
    }

    /// One of `choices` (by name), or `None` when absent or `null`.
    pub fn opt_choice<T: Copy>(&self, key: &str, choices: &[(&str, T)]) -> Result<Option<T>> {
        let Some(name) = self.opt_string(key)? else { return Ok(None) };
        match choices.iter().find(|(n, _)| *n == name) {
            Some((_, choice)) => Ok(Some(*choice)),
            None => {
                let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
                Err(self.error(key, format!("must be one of: {}, got '{name}'", names.join(", "))))
            }
        }
    }

    /// An object (a copy), or an empty one when absent or `null`.
    pub fn map(&self, key: &str) -> Result<Map<String, Value>> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(Map::new()),
            Some(Value::Object(m)) => Ok(m.clone()),
            Some(other) => Err(self.wrong(key, "an object", other)),
        }
    }

    /// An object that must be there (a copy).
    pub fn required_map(&self, key: &str) -> Result<Map<String, Value>> {
        match self.map.get(key) {
            None => Err(self.error(key, "is missing")),
            _ => self.map(key),
        }
    }

    /// The fields of a nested object, or `None` when absent or `null`.
    pub fn opt_fields(&self, key: &str) -> Result<Option<Fields<'a>>> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => Fields::of(value, &self.path_of(key), self.code).map(Some),
        }
    }

    /// The items of an array with their paths (`changes[3]`), none when
    /// absent or `null`.
    pub fn items(&self, key: &str) -> Result<Vec<(String, &'a Value)>> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => {
                let path = self.path_of(key);
                Ok(items.iter().enumerate().map(|(i, v)| (format!("{path}[{i}]"), v)).collect())
            }
            Some(other) => Err(self.wrong(key, "an array", other)),
        }
    }

    /// An array read item by item with `read`, empty when absent or `null`.
    pub fn list<T>(&self, key: &str, read: impl Fn(&'a Value, &str) -> Result<T>) -> Result<Vec<T>> {
        self.items(key)?.into_iter().map(|(path, value)| read(value, &path)).collect()
    }

    /// An array of strings, empty when absent or `null`.
    pub fn strings(&self, key: &str) -> Result<Vec<String>> {
        let code = self.code;
        self.list(key, |value, path| match value {
            Value::String(s) => Ok(s.clone()),
            other => Err(at(code, path, format!("must be a string, got {}", type_name(other)))),
        })
    }

    /// An array of objects (copies), empty when absent or `null`.
    pub fn objects(&self, key: &str) -> Result<Vec<Map<String, Value>>> {
        let code = self.code;
        self.list(key, |value, path| Fields::of(value, path, code).map(|f| f.map.clone()))
    }

    /// The object's entries, each read with `read` (its path is `path.key`).
    pub fn entries<T>(&self, read: impl Fn(&'a Value, &str) -> Result<T>) -> Result<Vec<(String, T)>> {
        self.map.iter().map(|(k, v)| Ok((k.clone(), read(v, &self.path_of(k))?))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(value: &Value) -> Fields<'_> {
        Fields::of(value, "o", ErrorCode::InvalidArgument).unwrap()
    }

    #[test]
    fn absent_and_null_differ_only_where_asked() {
        let v = json!({"a": null, "s": "x"});
        let f = fields(&v);
        assert_eq!(f.present("a"), Some(Value::Null));
        assert_eq!(f.present("b"), None);
        assert_eq!(f.opt_value("a"), None);
        assert_eq!(f.opt_string("a").unwrap(), None);
        assert_eq!(f.string("a").unwrap_err().to_string(), "o.a: is missing");
        assert_eq!(f.strings("a").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn wrong_types_name_the_path_and_what_came() {
        let v = json!({"n": "5", "list": ["a", 1], "m": [], "big": 4294967296u64, "neg": -1, "frac": 1.5, "c": "loud"});
        let f = fields(&v);
        assert_eq!(f.opt_f64("n").unwrap_err().to_string(), "o.n: must be a number, got a string");
        assert_eq!(f.strings("list").unwrap_err().to_string(), "o.list[1]: must be a string, got a number");
        assert_eq!(f.map("m").unwrap_err().to_string(), "o.m: must be an object, got an array");
        for key in ["big", "neg", "frac"] {
            assert!(f.opt_u32(key).unwrap_err().to_string().starts_with(&format!("o.{key}: must be a whole number")));
        }
        let err = f.opt_choice("c", &[("quiet", 0), ("soft", 1)]).unwrap_err();
        assert_eq!(err.to_string(), "o.c: must be one of: quiet, soft, got 'loud'");
        assert_eq!(err.code(), ErrorCode::InvalidArgument);
        assert_eq!(err.path(), Some("o.c"));
    }

    #[test]
    fn nested_paths_and_the_root() {
        let v = json!({"inner": {"x": true}});
        let root = Fields::of(&v, "", ErrorCode::InvalidDelta).unwrap();
        let inner = root.opt_fields("inner").unwrap().unwrap();
        assert_eq!(inner.string("x").unwrap_err().to_string(), "inner.x: must be a string, got a boolean");
        assert_eq!(Fields::of(&json!(3), "", ErrorCode::InvalidDelta).unwrap_err().to_string(), "must be an object, got a number");
    }
}
