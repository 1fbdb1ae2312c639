//! API tokens: the user each stands for and what it may do (its scopes).
//!
//! `--token TOKEN=USER` gives `read` and `write`; `--token
//! TOKEN=USER:read,write,audit` gives exactly the scopes listed. A token file
//! is JSON, `{"<token>": "<user>"}` (read and write) or `{"<token>": {"user":
//! "...", "scopes": ["read", "audit"]}}`. A save is made as the token's user
//! and no one else (see [`crate::access`] for what each scope allows).

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

/// What a token may do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scopes {
    /// Read graphs and their history (needed only with `--private-reads`).
    pub read: bool,
    /// Save versions.
    pub write: bool,
    /// Read audit trails and verify hash chains (they name people).
    pub audit: bool,
    /// Everything, on every graph: grant rights, save with override.
    pub admin: bool,
}

impl Scopes {
    /// What `--token TOKEN=USER` and `{"<token>": "<user>"}` give.
    pub const READ_WRITE: Scopes = Scopes { read: true, write: true, audit: false, admin: false };

    /// Parses `read,write,audit,admin` (any subset, in any order).
    pub fn parse(list: &[&str]) -> Result<Scopes, String> {
        let mut scopes = Scopes::default();
        for name in list.iter().map(|s| s.trim()) {
            match name {
                "read" => scopes.read = true,
                "write" => scopes.write = true,
                "audit" => scopes.audit = true,
                "admin" => scopes.admin = true,
                other => return Err(format!("unknown scope '{other}' (read, write, audit, admin)")),
            }
        }
        Ok(scopes)
    }

    pub fn can_read(self) -> bool {
        self.read || self.admin
    }

    pub fn can_write(self) -> bool {
        self.write || self.admin
    }

    pub fn can_audit(self) -> bool {
        self.audit || self.admin
    }

    /// The scope names, for answers (`/whoami`).
    pub fn names(self) -> Vec<&'static str> {
        [("read", self.read), ("write", self.write), ("audit", self.audit), ("admin", self.admin)]
            .into_iter()
            .filter_map(|(name, on)| on.then_some(name))
            .collect()
    }
}

/// Who a request is made by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub user: String,
    pub scopes: Scopes,
}

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
        for (token, entry) in map {
            match entry {
                FileEntry::User(user) => tokens.insert(&token, &user, Scopes::READ_WRITE)?,
                FileEntry::Scoped { user, scopes } => {
                    let names: Vec<&str> = scopes.iter().map(String::as_str).collect();
                    tokens.insert(&token, &user, Scopes::parse(&names).map_err(|e| format!("token for {user}: {e}"))?)?
                }
            }
        }
        Ok(tokens)
    }

    /// Parses `TOKEN=USER` (read and write) or `TOKEN=USER:SCOPE,SCOPE`.
    pub fn add_pair(&mut self, pair: &str) -> Result<(), String> {
        let (token, rest) = pair.split_once('=').ok_or_else(|| format!("'{pair}' is not TOKEN=USER or TOKEN=USER:SCOPES"))?;
        // A user id may contain ':' (a URN); only a valid scope list after the last one counts.
        let scoped =
            rest.rsplit_once(':').and_then(|(user, list)| Scopes::parse(&list.split(',').collect::<Vec<_>>()).ok().map(|s| (user, s)));
        match scoped {
            Some((user, scopes)) => self.insert(token, user, scopes),
            None => self.insert(token, rest, Scopes::READ_WRITE),
        }
    }

    fn insert(&mut self, token: &str, user: &str, scopes: Scopes) -> Result<(), String> {
        if token.len() < 8 || user.trim().is_empty() {
            return Err(format!("token '{token}': tokens need 8+ characters and a user"));
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pair_gives_read_and_write_unless_it_lists_scopes() {
        let mut tokens = Tokens::default();
        tokens.add_pair("token-0001=ann@example.com").unwrap();
        tokens.add_pair("token-0002=urn:kg:bob:read,audit").unwrap();
        tokens.add_pair("token-0003=urn:kg:carol").unwrap();
        assert_eq!(tokens.principal("token-0001").unwrap().scopes, Scopes::READ_WRITE);
        let bob = tokens.principal("token-0002").unwrap();
        assert_eq!((bob.user.as_str(), bob.scopes.names()), ("urn:kg:bob", vec!["read", "audit"]));
        assert_eq!(tokens.user("token-0003"), Some("urn:kg:carol"), "a URN keeps its colons");
        assert!(tokens.add_pair("short=ann").is_err());
        assert!(Scopes::parse(&["read", "owner"]).is_err());
    }
}
