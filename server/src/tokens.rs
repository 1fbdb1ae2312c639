//! Who may write: API tokens and the user each one stands for.
//!
//! A token file is JSON, `{"<token>": "<user id>"}`; `--token TOKEN=USER` adds
//! one from the command line. A save is made as the token's user and no one
//! else.

use std::collections::HashMap;
use std::path::Path;

#[derive(Clone, Debug, Default)]
pub struct Tokens(HashMap<String, String>);

impl Tokens {
    pub fn from_file(path: &Path) -> Result<Tokens, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let map: HashMap<String, String> =
            serde_json::from_str(&text).map_err(|e| format!("{}: expected {{\"token\": \"user\"}}: {e}", path.display()))?;
        let mut tokens = Tokens::default();
        for (token, user) in map {
            tokens.insert(&token, &user)?;
        }
        Ok(tokens)
    }

    /// Parses `TOKEN=USER`.
    pub fn add_pair(&mut self, pair: &str) -> Result<(), String> {
        let (token, user) = pair.split_once('=').ok_or_else(|| format!("'{pair}' is not TOKEN=USER"))?;
        self.insert(token, user)
    }

    fn insert(&mut self, token: &str, user: &str) -> Result<(), String> {
        if token.len() < 8 || user.trim().is_empty() {
            return Err(format!("token '{token}': tokens need 8+ characters and a user"));
        }
        self.0.insert(token.to_owned(), user.to_owned());
        Ok(())
    }

    pub fn user(&self, token: &str) -> Option<&str> {
        self.0.get(token).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
