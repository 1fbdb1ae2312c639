//! Who a request is made by, and what they may do: a user and the scopes
//! their sign-in grants. How a request proves it (a token, a sign-in
//! provider) is the server's business; the history's rules ([`crate::access`])
//! take a [`Principal`].

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

    /// The scope names a token may list.
    pub const NAMES: [&'static str; 4] = ["read", "write", "audit", "admin"];

    /// Parses a scope list (any subset of [`Scopes::NAMES`], in any order);
    /// each name must be exactly one of them (`Read`, `wirte` and `read
    /// audit` are errors, not ignored).
    pub fn parse(list: &[&str]) -> Result<Scopes, String> {
        if list.is_empty() {
            return Err("an empty scope list".to_owned());
        }
        let mut scopes = Scopes::default();
        for name in list.iter().map(|s| s.trim()) {
            match name {
                "read" => scopes.read = true,
                "write" => scopes.write = true,
                "audit" => scopes.audit = true,
                "admin" => scopes.admin = true,
                other => {
                    return Err(format!("unknown scope '{other}' (scopes are {}, lowercase, comma-separated)", Scopes::NAMES.join(", ")));
                }
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
