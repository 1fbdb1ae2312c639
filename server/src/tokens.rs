//! API tokens: the user each stands for and what it may do (its scopes).
//!
//! One rule for both ways of giving tokens: a token's text is `USER` (read
//! and write) or `USER:SCOPES`, where everything after the **last** `:` is
//! the scope list — always, so a mistyped list can never become part of the
//! user id and fail open. `SCOPES` is comma-separated, each exactly `read`,
//! `write`, `audit` or `admin` (surrounding spaces ignored). A user id that
//! itself holds a `:` (a URN) therefore spells its scopes out:
//! `TOKEN=urn:kg:carol:read,write`.
//!
//! - `--token TOKEN=USER[:SCOPES]` (repeatable);
//! - a token file, JSON: `{"<token>": "USER[:SCOPES]"}` or `{"<token>":
//!   {"user": "<user id, taken whole>", "scopes": ["read", "audit"]}}`.
//!
//! An unknown or empty scope, an empty user, a token shorter than 8
//! characters or a token given twice stops the server at start with an
//! error that names the token's user — never the token, which is a secret.
//! A save is made as the token's user and no one else (see
//! `kg_history::access` for what each scope allows).

use std::collections::HashMap;
use std::path::Path;

use kg_history::principal::{Principal, Scopes};
use serde::Deserialize;

#[derive(Clone, Debug, Default)]
pub struct Tokens(HashMap<String, Principal>);

#[derive(Deserialize)]
#[serde(untagged)]
enum FileEntry {
    User(String),
    Scoped { user: String, scopes: Vec<String> },
}

impl Tokens {
    pub fn from_file(path: &Path) -> Result<Tokens, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let map: HashMap<String, FileEntry> = serde_json::from_str(&text).map_err(|e| {
            format!("{}: expected {{\"token\": \"user\"}} or {{\"token\": {{\"user\": ..., \"scopes\": [...]}}}}: {e}", path.display())
        })?;
        let mut tokens = Tokens::default();
        // Sorted by user, so that errors come in the same order every time.
        let mut entries: Vec<(String, FileEntry)> = map.into_iter().collect();
        entries.sort_by(|a, b| a.1.user().cmp(b.1.user()));
        for (token, entry) in entries {
            let (user, scopes) = match &entry {
                FileEntry::User(text) => user_and_scopes(text),
                FileEntry::Scoped { user, scopes } => (user.as_str(), Some(scopes.iter().map(String::as_str).collect())),
            };
            tokens.insert(&token, user, scopes).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Ok(tokens)
    }

    /// Parses `TOKEN=USER` (read and write) or `TOKEN=USER:SCOPE,SCOPE`.
    pub fn add_pair(&mut self, pair: &str) -> Result<(), String> {
        // The value is never echoed: it holds the token.
        let (token, rest) = pair.split_once('=').ok_or("a --token value has no '=' (expected TOKEN=USER or TOKEN=USER:SCOPES)")?;
        let (user, scopes) = user_and_scopes(rest);
        self.insert(token, user, scopes).map_err(|e| format!("--token: {e}"))
    }

    /// Adds a token of `user` with `scopes` (`None`: read and write). Errors
    /// name the user, never the token.
    fn insert(&mut self, token: &str, user: &str, scopes: Option<Vec<&str>>) -> Result<(), String> {
        if user.trim().is_empty() {
            return Err("a token has an empty user".to_owned());
        }
        let scopes = match scopes {
            None => Scopes::READ_WRITE,
            Some(list) => Scopes::parse(&list).map_err(|e| format!("the token of '{user}': {e}"))?,
        };
        if token.len() < 8 {
            return Err(format!("the token of '{user}' is shorter than 8 characters"));
        }
        if let Some(first) = self.0.get(token) {
            return Err(format!("the token of '{user}' is also the token of '{}': each token must be different", first.user));
        }
        self.0.insert(token.to_owned(), Principal { user: user.to_owned(), scopes });
        Ok(())
    }

    pub fn principal(&self, token: &str) -> Option<&Principal> {
        self.0.get(token)
    }

    /// The user a token stands for.
    pub fn user(&self, token: &str) -> Option<&str> {
        self.principal(token).map(|p| p.user.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl FileEntry {
    fn user(&self) -> &str {
        match self {
            FileEntry::User(text) => text,
            FileEntry::Scoped { user, .. } => user,
        }
    }
}

/// `USER` or `USER:SCOPES`: everything after the last `:` is a scope list
/// (see the module's rule), split at commas.
fn user_and_scopes(text: &str) -> (&str, Option<Vec<&str>>) {
    match text.rsplit_once(':') {
        Some((user, list)) => (user, Some(list.split(',').collect())),
        None => (text, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pair_gives_read_and_write_unless_it_lists_scopes() {
        let mut tokens = Tokens::default();
        tokens.add_pair("token-0001=ann@example.com").unwrap();
        tokens.add_pair("token-0002=urn:kg:bob:read,audit").unwrap();
        tokens.add_pair("token-0003=urn:kg:carol:read, write").unwrap();
        assert_eq!(tokens.principal("token-0001").unwrap().scopes, Scopes::READ_WRITE);
        let bob = tokens.principal("token-0002").unwrap();
        assert_eq!((bob.user.as_str(), bob.scopes.names()), ("urn:kg:bob", vec!["read", "audit"]));
        assert_eq!(tokens.user("token-0003"), Some("urn:kg:carol"), "a URN spells its scopes out and keeps its colons");
        assert!(Scopes::parse(&["read", "owner"]).is_err());
    }

    #[test]
    fn a_mistyped_scope_list_is_an_error_naming_the_user_never_the_token() {
        for (pair, scope) in [
            ("secret-0001=frank@example.com:read,wirte", "'wirte'"),
            ("secret-0001=frank@example.com:Read", "'Read'"),
            ("secret-0001=frank@example.com:read audit", "'read audit'"),
            ("secret-0001=frank@example.com:read,", "''"),
            ("secret-0001=frank@example.com:", "''"),
            // A URN without scopes: its last part is read as a scope list, and refused.
            ("secret-0001=urn:kg:frank", "'frank'"),
        ] {
            let error = Tokens::default().add_pair(pair).unwrap_err();
            assert!(error.contains(scope) && !error.contains("secret-0001"), "{pair}: {error}");
        }
        let error = Tokens::default().add_pair("secret-0001=frank@example.com:wirte").unwrap_err();
        assert!(error.contains("'frank@example.com'"), "the user is named: {error}");
        for pair in ["short=ann", "secret-0001=", "secret-0001= :read", "no-equals-sign-secret"] {
            let error = Tokens::default().add_pair(pair).unwrap_err();
            assert!(!error.contains("short=") && !error.contains("secret-0001") && !error.contains("no-equals"), "{pair}: {error}");
        }
        let mut twice = Tokens::default();
        twice.add_pair("secret-0001=ann@example.com").unwrap();
        let error = twice.add_pair("secret-0001=bob@example.com:read").unwrap_err();
        assert!(error.contains("ann@example.com") && error.contains("bob@example.com") && !error.contains("secret"), "{error}");
    }

    #[test]
    fn a_token_file_follows_the_same_rule() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tokens.json");
        let read = |json: &str| {
            std::fs::write(&file, json).unwrap();
            Tokens::from_file(&file)
        };
        let tokens = read(
            r#"{"secret-0001": "ann@example.com", "secret-0002": "urn:kg:bob:read,audit",
                              "secret-0003": {"user": "urn:kg:carol", "scopes": ["read"]}}"#,
        )
        .unwrap();
        assert_eq!(tokens.principal("secret-0002").unwrap().scopes.names(), ["read", "audit"]);
        assert_eq!(tokens.user("secret-0003"), Some("urn:kg:carol"), "the object form takes the user whole");
        for json in [
            r#"{"secret-0001": {"user": "frank@example.com", "scopes": ["Read"]}}"#,
            r#"{"secret-0001": {"user": "frank@example.com", "scopes": ["read audit"]}}"#,
            r#"{"secret-0001": {"user": "frank@example.com", "scopes": []}}"#,
            r#"{"secret-0001": "frank@example.com:read,wirte"}"#,
        ] {
            let error = read(json).unwrap_err();
            assert!(error.contains("frank@example.com") && !error.contains("secret-0001"), "{json}: {error}");
        }
    }
}
