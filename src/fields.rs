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
//! struct Options { user: String, limit: Option<u32> }
//! fn read(value: &serde_json::Value) -> kg_approval::Result<Options> {
//!     let f = Fields::of(value, "options", ErrorCode::InvalidArgument).only(&["user", "limit"]);
//!     let options = Options { user: f.string("user"), limit: f.opt_u32("limit") };
//!     f.finish(options)
//! }
//! assert_eq!(read(&json!({"user": "ann", "limit": 5})).unwrap().limit, Some(5));
//! assert_eq!(read(&json!({"limit": 5})).err().unwrap().to_string(), "options.user: is missing");
//! let typo = read(&json!({"user": "ann", "limt": 5})).err().unwrap();
//! assert_eq!(typo.to_string(), "options.limt: unknown field, expected one of: user, limit");
//! ```

use std::cell::RefCell;

use serde_json::{Map, Value};

use crate::error::{Error, ErrorCode, Result};
use crate::value::type_name;

/// The fields of one JSON object, with the path that names it in errors.
///
/// Reads never fail on the spot: a mistake is noted (the first one is kept)
/// and a placeholder returned, and [`Fields::finish`] reports it. So a reader
/// is one flat struct literal, with no early return per field (each of which
/// cost the `.wasm` the code to drop what was read before it).
#[derive(Debug)]
pub struct Fields<'a> {
    map: Option<&'a Map<String, Value>>,
    path: String,
    code: ErrorCode,
    error: RefCell<Option<Error>>,
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
    pub fn of(value: &'a Value, path: &str, code: ErrorCode) -> Fields<'a> {
        let (map, error) = match value {
            Value::Object(map) => (Some(map), None),
            other => (None, Some(at(code, path, format!("must be an object, got {}", type_name(other))))),
        };
        Fields { map, path: path.to_owned(), code, error: RefCell::new(error) }
    }

    /// `value` read as a `T` if no mistake was noted, else the first mistake.
    pub fn finish<T>(self, value: T) -> Result<T> {
        match self.error.into_inner() {
            Some(error) => Err(error),
            None => Ok(value),
        }
    }

    /// Notes a mistake about `key` (only the first one is reported).
    pub fn fail(&self, key: &str, message: impl Into<String>) {
        self.note(Error::at(self.code, self.path_of(key), message));
    }

    fn note(&self, error: Error) {
        self.error.borrow_mut().get_or_insert(error);
    }

    /// The value of a result, or `None` with its error noted.
    pub fn take<T>(&self, result: Result<T>) -> Option<T> {
        result.map_err(|e| self.note(e)).ok()
    }

    fn wrong(&self, key: &str, expected: &str, got: &Value) {
        self.fail(key, format!("must be {expected}, got {}", type_name(got)));
    }

    /// Refuses a key not in `known`: a typo (`budgetMS`) is an error rather
    /// than a setting silently ignored.
    pub fn only(self, known: &[&str]) -> Fields<'a> {
        if let Some(key) = self.map.into_iter().flat_map(Map::keys).find(|k| !known.contains(&k.as_str())) {
            self.fail(key, format!("unknown field, expected one of: {}", known.join(", ")));
        }
        self
    }

    /// Refuses the record if one of `keys` is absent (`null` is there).
    pub fn must_have(self, keys: &[&str]) -> Fields<'a> {
        if let Some(key) = keys.iter().find(|k| self.value(k).is_none()) {
            self.fail(key, "is missing");
        }
        self
    }

    /// The path of `key` in errors.
    pub fn path_of(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// The value of `key`, `null` included; `None` when absent.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.value(key)
    }

    fn value(&self, key: &str) -> Option<&'a Value> {
        self.map.and_then(|m| m.get(key))
    }

    /// The value of `key` where absent and `null` differ: `None` when
    /// absent, `Some(Value::Null)` for `null` (an old value that was `null`).
    pub fn present(&self, key: &str) -> Option<Value> {
        self.value(key).cloned()
    }

    /// The value of `key`, absent and `null` both `None`.
    pub fn opt_value(&self, key: &str) -> Option<Value> {
        self.value(key).filter(|v| !v.is_null()).cloned()
    }

    /// A string that must be there.
    pub fn string(&self, key: &str) -> String {
        self.opt_string(key).unwrap_or_else(|| {
            self.missing(key);
            String::new()
        })
    }

    fn missing(&self, key: &str) {
        if self.value(key).is_none_or(Value::is_null) {
            self.fail(key, "is missing");
        }
    }

    /// A string, or `None` when absent or `null`.
    pub fn opt_string(&self, key: &str) -> Option<String> {
        match self.value(key)? {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => {
                self.wrong(key, "a string", other);
                None
            }
        }
    }

    /// A boolean that must be there.
    pub fn bool(&self, key: &str) -> bool {
        self.opt_bool(key).unwrap_or_else(|| {
            self.missing(key);
            false
        })
    }

    /// A boolean, or `None` when absent or `null`.
    pub fn opt_bool(&self, key: &str) -> Option<bool> {
        match self.value(key)? {
            Value::Null => None,
            Value::Bool(b) => Some(*b),
            other => {
                self.wrong(key, "a boolean", other);
                None
            }
        }
    }

    /// A number, or `None` when absent or `null`.
    pub fn opt_f64(&self, key: &str) -> Option<f64> {
        match self.value(key)? {
            Value::Null => None,
            Value::Number(n) => n.as_f64(),
            other => {
                self.wrong(key, "a number", other);
                None
            }
        }
    }

    /// A whole number from 0 to 2³² − 1, or `None` when absent or `null`.
    pub fn opt_u32(&self, key: &str) -> Option<u32> {
        match self.value(key)? {
            Value::Null => None,
            Value::Number(n) => {
                let whole = n.as_u64().and_then(|n| u32::try_from(n).ok());
                if whole.is_none() {
                    self.fail(key, format!("must be a whole number from 0 to {}, got {n}", u32::MAX));
                }
                whole
            }
            other => {
                self.wrong(key, "a number", other);
                None
            }
        }
    }

    /// One of `choices` (by name) that must be there; the first choice
    /// stands in when it is not.
    pub fn choice<T: Copy>(&self, key: &str, choices: &[(&str, T)]) -> T {
        self.opt_choice(key, choices).unwrap_or_else(|| {
            self.missing(key);
            choices[0].1
        })
    }

    /// One of `choices` (by name), or `None` when absent or `null`.
    pub fn opt_choice<T: Copy>(&self, key: &str, choices: &[(&str, T)]) -> Option<T> {
        let name = self.opt_string(key)?;
        let found = choices.iter().find(|(n, _)| *n == name).map(|(_, choice)| *choice);
        if found.is_none() {
            let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
            self.fail(key, format!("must be one of: {}, got '{name}'", names.join(", ")));
        }
        found
    }

    /// An object (a copy), or an empty one when absent or `null`.
    pub fn map(&self, key: &str) -> Map<String, Value> {
        match self.value(key) {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(other) => {
                self.wrong(key, "an object", other);
                Map::new()
            }
        }
    }

    /// A nested record read with `read` (at `path.key`), or `None` when
    /// absent or `null`.
    pub fn read<T>(&self, key: &str, read: impl FnOnce(&'a Value, &str) -> Result<T>) -> Option<T> {
        match self.value(key)? {
            Value::Null => None,
            value => self.take(read(value, &self.path_of(key))),
        }
    }

    /// An array read item by item with `read` (at `path.key[i]`), empty when
    /// absent or `null`; items after a mistake are skipped.
    pub fn list<T>(&self, key: &str, read: impl Fn(&'a Value, &str) -> Result<T>) -> Vec<T> {
        match self.value(key) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => {
                let path = self.path_of(key);
                let read = items.iter().enumerate().map(|(i, v)| read(v, &format!("{path}[{i}]"))).collect();
                self.take(read).unwrap_or_default()
            }
            Some(other) => {
                self.wrong(key, "an array", other);
                Vec::new()
            }
        }
    }

    /// An array of strings, empty when absent or `null`.
    pub fn strings(&self, key: &str) -> Vec<String> {
        let code = self.code;
        self.list(key, |value, path| match value {
            Value::String(s) => Ok(s.clone()),
            other => Err(at(code, path, format!("must be a string, got {}", type_name(other)))),
        })
    }

    /// An array of objects (copies), empty when absent or `null`.
    pub fn objects(&self, key: &str) -> Vec<Map<String, Value>> {
        let code = self.code;
        self.list(key, |value, path| match value {
            Value::Object(m) => Ok(m.clone()),
            other => Err(at(code, path, format!("must be an object, got {}", type_name(other)))),
        })
    }

    /// The object's entries, each read with `read` (at `path.key`).
    pub fn entries<T>(&self, read: impl Fn(&'a Value, &str) -> Result<T>) -> Vec<(String, T)> {
        let read = self.map.into_iter().flatten().map(|(k, v)| Ok((k.clone(), read(v, &self.path_of(k))?))).collect();
        self.take(read).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// What `read` notes about `value` (at path `o`).
    fn error_of(value: Value, read: impl Fn(&Fields<'_>)) -> String {
        let f = Fields::of(&value, "o", ErrorCode::InvalidArgument);
        read(&f);
        f.finish(()).unwrap_err().to_string()
    }

    #[test]
    fn absent_and_null_differ_only_where_asked() {
        let v = json!({"a": null, "s": "x"});
        let f = Fields::of(&v, "o", ErrorCode::InvalidArgument);
        assert_eq!(f.present("a"), Some(Value::Null));
        assert_eq!(f.present("b"), None);
        assert_eq!(f.opt_value("a"), None);
        assert_eq!(f.opt_string("a"), None);
        assert_eq!(f.strings("a"), Vec::<String>::new());
        assert_eq!(f.string("s"), "x");
        assert!(f.finish(()).is_ok());
        assert_eq!(
            error_of(json!({"a": null}), |f| {
                f.string("a");
            }),
            "o.a: is missing"
        );
    }

    #[test]
    fn wrong_types_name_the_path_and_what_came() {
        assert_eq!(
            error_of(json!({"n": "5"}), |f| {
                f.opt_f64("n");
            }),
            "o.n: must be a number, got a string"
        );
        assert_eq!(
            error_of(json!({"l": ["a", 1]}), |f| {
                f.strings("l");
            }),
            "o.l[1]: must be a string, got a number"
        );
        assert_eq!(
            error_of(json!({"m": []}), |f| {
                f.map("m");
            }),
            "o.m: must be an object, got an array"
        );
        for bad in [json!(4294967296u64), json!(-1), json!(1.5)] {
            assert!(
                error_of(json!({ "k": bad }), |f| {
                    f.opt_u32("k");
                })
                .starts_with("o.k: must be a whole number")
            );
        }
        let loud = error_of(json!({"c": "loud"}), |f| {
            f.opt_choice("c", &[("quiet", 0), ("soft", 1)]);
        });
        assert_eq!(loud, "o.c: must be one of: quiet, soft, got 'loud'");
    }

    #[test]
    fn the_first_mistake_is_the_one_reported() {
        let v = json!({"a": 1, "b": 2});
        let f = Fields::of(&v, "o", ErrorCode::InvalidDelta);
        assert_eq!(f.string("a"), "");
        assert!(!f.bool("b"));
        let err = f.finish(()).unwrap_err();
        assert_eq!(
            (err.code(), err.path(), err.to_string().as_str()),
            (ErrorCode::InvalidDelta, Some("o.a"), "o.a: must be a string, got a number")
        );
    }

    #[test]
    fn nested_paths_and_the_root() {
        let v = json!({"inner": {"x": true}});
        let root = Fields::of(&v, "", ErrorCode::InvalidDelta);
        root.read("inner", |v, path| {
            let f = Fields::of(v, path, ErrorCode::InvalidDelta);
            let x = f.string("x");
            f.finish(x)
        });
        assert_eq!(root.finish(()).unwrap_err().to_string(), "inner.x: must be a string, got a boolean");
        assert_eq!(
            Fields::of(&json!(3), "", ErrorCode::InvalidDelta).finish(()).unwrap_err().to_string(),
            "must be an object, got a number"
        );
    }
}
