//! Who a request is made by: a static API token (`X-API-Token: TOKEN`, or
//! `Authorization: Bearer TOKEN`), or a JWT from a sign-in provider
//! (`Authorization: Bearer <JWT>`, see [`jwt`]).
//!
//! Static tokens come from `--token` and `--tokens FILE`; the file is read
//! again on SIGHUP ([`Auth::reload`]), so a token is revoked by removing it
//! from the file, without a restart. A file that no longer parses keeps the
//! tokens held (and the error is logged): a typo never locks everyone out
//! or lets a removed token back in.

pub mod jwt;

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use axum::http::HeaderMap;
use kg_history::principal::Principal;

use crate::tokens::Tokens;
use jwt::JwtVerifier;

/// The credentials a server accepts.
#[derive(Debug, Default)]
pub struct Auth {
    tokens: RwLock<Arc<Tokens>>,
    /// `--tokens FILE` and the `--token` pairs, to build the tokens again on reload.
    source: Option<(Option<PathBuf>, Vec<String>)>,
    jwt: Option<JwtVerifier>,
}

/// Why a request's credentials were refused (a 401).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

impl Auth {
    /// Static tokens only, never reloaded.
    pub fn new(tokens: Tokens) -> Auth {
        Auth { tokens: RwLock::new(Arc::new(tokens)), source: None, jwt: None }
    }

    /// The tokens of `--tokens FILE` and `--token` pairs, read again by [`Auth::reload`].
    pub fn from_sources(file: Option<PathBuf>, pairs: Vec<String>) -> Result<Auth, String> {
        let tokens = read_tokens(file.as_deref(), &pairs)?;
        Ok(Auth { tokens: RwLock::new(Arc::new(tokens)), source: Some((file, pairs)), jwt: None })
    }

    /// Also accepts JWTs that `verifier` verifies.
    pub fn with_jwt(mut self, verifier: JwtVerifier) -> Auth {
        self.jwt = Some(verifier);
        self
    }

    pub fn jwt(&self) -> Option<&JwtVerifier> {
        self.jwt.as_ref()
    }

    /// The static tokens now.
    pub fn tokens(&self) -> Arc<Tokens> {
        self.tokens.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Whether any way to sign in is configured.
    pub fn is_empty(&self) -> bool {
        self.tokens().is_empty() && self.jwt.is_none()
    }

    /// Reads the token file (and the JWKS) again; on an error the tokens
    /// (and keys) held are kept. Returns the number of static tokens.
    pub async fn reload(&self) -> Result<usize, String> {
        if let Some(jwt) = &self.jwt {
            jwt.reload().await?;
        }
        let Some((file, pairs)) = &self.source else { return Ok(self.tokens().len()) };
        let tokens = read_tokens(file.as_deref(), pairs)?;
        let count = tokens.len();
        *self.tokens.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(tokens);
        Ok(count)
    }

    /// The caller of a request: `None` without credentials, an error for
    /// credentials that are sent and not valid.
    pub async fn caller(&self, headers: &HeaderMap) -> Result<Option<Principal>, Refused> {
        let api_token = headers.get("x-api-token").map(|v| v.to_str().unwrap_or_default().trim()).filter(|t| !t.is_empty());
        if let Some(token) = api_token {
            return match self.tokens().principal(token) {
                Some(principal) => Ok(Some(principal.clone())),
                None => Err(Refused("Invalid API token.".into())),
            };
        }
        // Only the Bearer scheme is ours: another (Basic, from a proxy in
        // front) is not a credential of this server and is left alone.
        let bearer = headers.get(axum::http::header::AUTHORIZATION).and_then(|value| {
            let text = value.to_str().unwrap_or_default().trim();
            let (scheme, token) = text.split_once(' ').unwrap_or((text, ""));
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
        if bearer == Some("") {
            return Err(Refused("The Authorization header is 'Bearer' without a token.".into()));
        }
        let Some(token) = bearer else { return Ok(None) };
        if let Some(principal) = self.tokens().principal(token) {
            return Ok(Some(principal.clone()));
        }
        match &self.jwt {
            // Three base64url parts: a JWT (a static token never has dots in this shape).
            Some(jwt) if token.split('.').count() == 3 => jwt.verify(token).await.map(Some).map_err(Refused),
            _ => Err(Refused("Invalid bearer token.".into())),
        }
    }
}

fn read_tokens(file: Option<&std::path::Path>, pairs: &[String]) -> Result<Tokens, String> {
    let mut tokens = match file {
        Some(path) => Tokens::from_file(path)?,
        None => Tokens::default(),
    };
    for pair in pairs {
        tokens.add_pair(pair)?;
    }
    Ok(tokens)
}
