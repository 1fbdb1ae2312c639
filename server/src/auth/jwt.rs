//! Sign-in through an identity provider: `Authorization: Bearer <JWT>`,
//! checked against the provider's published keys (a JWKS, from a file or a
//! URL).
//!
//! - **Keys decide the algorithm, never the token.** Each key of the JWKS
//!   admits one algorithm: its `alg` if it names one, else what its type
//!   implies (RSA → RS256, EC P-256 → ES256, P-384 → ES384, OKP Ed25519 →
//!   EdDSA). A token whose header names another algorithm is refused, so an
//!   HMAC token "signed" with a public key (algorithm confusion) and `alg:
//!   none` never verify; symmetric (`oct`) keys in a JWKS are ignored.
//! - **Which key**: the token's `kid`; without one, the only key of its
//!   algorithm. An unknown `kid` makes the server fetch the JWKS again (a key
//!   the provider has just rotated in), at most once per
//!   [`JwtConfig::refetch_interval`]; a file is read again the same way.
//! - **Claims**: `iss` must be `--jwt-issuer`, `aud` must hold
//!   `--jwt-audience`, `exp` is required and `exp`/`nbf` are checked with
//!   [`JwtConfig::leeway`] of slack for clocks. The user is the claim
//!   `--jwt-user-claim` (default `email`; a dotted path such as
//!   `realm_access.roles` reaches into objects). Scopes come from the claim
//!   `--jwt-scope-claim` (default `scope`): a space-separated string or an
//!   array of names, each mapped through `--jwt-scope-map NAME=SCOPES`
//!   (the names `read`, `write`, `audit`, `admin` map to themselves); names
//!   that map to nothing are ignored (a provider's tokens carry `openid`,
//!   `email` and others).
//!
//! A refusal is a message for the 401; it names what failed, never the
//! token.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use kg_history::principal::{Principal, Scopes};
use serde_json::Value;
use tokio::sync::{Mutex, RwLock};

/// Where the provider's keys are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JwksSource {
    File(PathBuf),
    Url(String),
}

impl JwksSource {
    /// `http://…` or `https://…` is a URL; anything else a file.
    pub fn parse(text: &str) -> JwksSource {
        if text.starts_with("https://") || text.starts_with("http://") {
            JwksSource::Url(text.to_owned())
        } else {
            JwksSource::File(PathBuf::from(text))
        }
    }
}

/// How bearer tokens are checked.
#[derive(Clone, Debug)]
pub struct JwtConfig {
    pub jwks: JwksSource,
    pub issuer: String,
    pub audience: String,
    /// The claim that names the user (a dotted path).
    pub user_claim: String,
    /// The claim that lists the scopes or roles (a dotted path).
    pub scope_claim: String,
    /// A name in the scope claim → the scopes it gives.
    pub scope_map: HashMap<String, Scopes>,
    /// Slack for `exp` and `nbf`.
    pub leeway: Duration,
    /// The shortest time between two fetches of the JWKS on unknown `kid`s.
    pub refetch_interval: Duration,
}

impl JwtConfig {
    pub fn new(jwks: JwksSource, issuer: &str, audience: &str) -> JwtConfig {
        JwtConfig {
            jwks,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            user_claim: "email".to_owned(),
            scope_claim: "scope".to_owned(),
            scope_map: HashMap::new(),
            leeway: Duration::from_secs(DEFAULT_LEEWAY_SECS),
            refetch_interval: Duration::from_secs(DEFAULT_REFETCH_SECS),
        }
    }

    /// Adds `NAME=SCOPE[,SCOPE]` (`--jwt-scope-map`).
    pub fn add_scope_map(&mut self, pair: &str) -> Result<(), String> {
        let (name, list) = pair.split_once('=').ok_or_else(|| format!("--jwt-scope-map '{pair}': expected NAME=SCOPE[,SCOPE]"))?;
        let scopes = Scopes::parse(&list.split(',').collect::<Vec<_>>()).map_err(|e| format!("--jwt-scope-map '{name}': {e}"))?;
        if name.trim().is_empty() {
            return Err(format!("--jwt-scope-map '{pair}': an empty name"));
        }
        self.scope_map.insert(name.trim().to_owned(), scopes);
        Ok(())
    }
}

/// The default of `--jwt-leeway-secs`.
pub const DEFAULT_LEEWAY_SECS: u64 = 30;
/// The default of `--jwt-refetch-secs`.
pub const DEFAULT_REFETCH_SECS: u64 = 30;

/// One usable key of the JWKS.
struct Key {
    kid: Option<String>,
    algorithm: Algorithm,
    key: DecodingKey,
}

struct Keys {
    keys: Vec<Key>,
}

/// Verifies bearer JWTs against a JWKS it keeps (and refreshes).
pub struct JwtVerifier {
    config: JwtConfig,
    keys: RwLock<Keys>,
    /// When the last fetch of the JWKS (or a try) ended; held while fetching.
    fetched: Mutex<Instant>,
    http: Http,
    /// Tokens verified already (see [`Verified`]).
    verified: Verified,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier").field("config", &self.config).finish_non_exhaustive()
    }
}

impl JwtVerifier {
    /// Loads the JWKS. A file that cannot be read or holds no usable key is
    /// an error; a URL that does not answer is logged and fetched again on
    /// the first token (a provider down at start does not stop the server).
    pub async fn new(config: JwtConfig) -> Result<JwtVerifier, String> {
        let http = crate::https::client()?;
        let verifier = JwtVerifier {
            config,
            keys: RwLock::new(Keys { keys: Vec::new() }),
            fetched: Mutex::new(Instant::now()),
            http,
            verified: Verified::default(),
        };
        match (verifier.load().await, &verifier.config.jwks) {
            (Ok(keys), _) => *verifier.keys.write().await = keys,
            (Err(e), JwksSource::File(_)) => return Err(e),
            (Err(e), JwksSource::Url(_)) => {
                tracing::error!(error = %e, "the JWKS could not be fetched at start; retried on the first token")
            }
        }
        Ok(verifier)
    }

    pub fn config(&self) -> &JwtConfig {
        &self.config
    }

    /// Reads the JWKS from its source.
    async fn load(&self) -> Result<Keys, String> {
        let text = match &self.config.jwks {
            JwksSource::File(path) => tokio::fs::read_to_string(path).await.map_err(|e| format!("--jwt-jwks {}: {e}", path.display()))?,
            JwksSource::Url(url) => fetch(&self.http, url).await.map_err(|e| format!("--jwt-jwks {url}: {e}"))?,
        };
        let set: JwkSet = serde_json::from_str(&text).map_err(|e| format!("--jwt-jwks: not a JWKS ({{\"keys\": [...]}}): {e}"))?;
        let keys: Vec<Key> = set.keys.iter().filter_map(usable).collect();
        if keys.is_empty() {
            return Err("--jwt-jwks: no usable key (RSA, EC P-256/P-384 or Ed25519 signing keys)".to_owned());
        }
        Ok(Keys { keys })
    }

    /// Fetches the JWKS again unless that was done less than
    /// `refetch_interval` ago; true if the keys may have changed since
    /// `looked` (this fetch, or another that ran while this one waited).
    async fn refetch(&self, looked: Instant) -> bool {
        let mut fetched = self.fetched.lock().await;
        if *fetched > looked {
            return true;
        }
        if fetched.elapsed() < self.config.refetch_interval {
            return false;
        }
        let loaded = self.load().await;
        let changed = match loaded {
            Ok(keys) => {
                tracing::info!(keys = keys.keys.len(), "JWKS fetched again");
                *self.keys.write().await = keys;
                self.verified.clear();
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "JWKS fetch failed; the keys held are kept");
                false
            }
        };
        // When it ended: requests that looked at the keys before then try again.
        *fetched = Instant::now();
        changed
    }

    /// Reads the JWKS again now (SIGHUP), whatever the rate limit.
    pub async fn reload(&self) -> Result<usize, String> {
        let mut fetched = self.fetched.lock().await;
        *fetched = Instant::now();
        let keys = self.load().await?;
        let count = keys.keys.len();
        *self.keys.write().await = keys;
        self.verified.clear();
        Ok(count)
    }

    /// The principal a bearer JWT stands for, or why it is refused.
    pub async fn verify(&self, token: &str) -> Result<Principal, String> {
        if let Some(principal) = self.verified.get(token, self.config.leeway) {
            return Ok(principal);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|e| format!("Invalid bearer token: {e}."))?;
        let looked = Instant::now();
        let claims = match self.verify_with_keys(token, &header).await {
            Err(Refusal::NoKey) if self.refetch(looked).await => self.verify_with_keys(token, &header).await,
            other => other,
        }
        .map_err(|r| r.message(&header))?;
        let principal = self.principal(&claims)?;
        if let Some(exp) = claims.get("exp").and_then(Value::as_u64) {
            self.verified.put(token, &principal, exp);
        }
        Ok(principal)
    }

    async fn verify_with_keys(&self, token: &str, header: &jsonwebtoken::Header) -> Result<Value, Refusal> {
        let keys = self.keys.read().await;
        let key = match &header.kid {
            Some(kid) => keys.keys.iter().find(|k| k.kid.as_deref() == Some(kid)).ok_or(Refusal::NoKey)?,
            None => {
                let mut of_alg = keys.keys.iter().filter(|k| k.algorithm == header.alg);
                match (of_alg.next(), of_alg.next()) {
                    (Some(key), None) => key,
                    (None, _) => return Err(Refusal::NoKey),
                    (Some(_), Some(_)) => return Err(Refusal::Other("the token names no key (kid) and several keys fit".into())),
                }
            }
        };
        if header.alg != key.algorithm {
            return Err(Refusal::Other(format!("the token is signed with {:?}, its key is for {:?}", header.alg, key.algorithm)));
        }
        let mut validation = Validation::new(key.algorithm);
        validation.algorithms = vec![key.algorithm];
        validation.leeway = self.config.leeway.as_secs();
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        jsonwebtoken::decode::<Value>(token, &key.key, &validation).map(|data| data.claims).map_err(|e| Refusal::Other(describe(&e)))
    }

    fn principal(&self, claims: &Value) -> Result<Principal, String> {
        let user = match claim(claims, &self.config.user_claim) {
            Some(Value::String(user)) if !user.trim().is_empty() => user.clone(),
            _ => return Err(format!("The bearer token has no '{}' claim to name its user.", self.config.user_claim)),
        };
        let names: Vec<&str> = match claim(claims, &self.config.scope_claim) {
            Some(Value::String(list)) => list.split_whitespace().collect(),
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let mut scopes = Scopes::default();
        for name in names {
            let given = match self.config.scope_map.get(name) {
                Some(scopes) => *scopes,
                None => Scopes::parse(&[name]).unwrap_or_default(),
            };
            scopes = Scopes {
                read: scopes.read || given.read,
                write: scopes.write || given.write,
                audit: scopes.audit || given.audit,
                admin: scopes.admin || given.admin,
            };
        }
        Ok(Principal { user, scopes })
    }
}

/// The tokens verified lately and whom they stand for, until their `exp`:
/// a client sends the same access token for minutes, and checking its
/// signature again each time costs 40–500 µs (EdDSA to ES256, measured with
/// `examples/deploy_costs.rs`) where this costs a lookup. Keyed by the whole
/// token (a changed byte is another token); emptied whenever the key set
/// changes (a key removed from the JWKS revokes its tokens at once); at most
/// [`VERIFIED_MAX`] entries (then the expired ones go, or all).
#[derive(Default)]
struct Verified(std::sync::Mutex<HashMap<String, (Principal, u64)>>);

const VERIFIED_MAX: usize = 4096;

impl Verified {
    fn now() -> u64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
    }

    fn get(&self, token: &str, leeway: Duration) -> Option<Principal> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let (principal, exp) = map.get(token)?;
        (Verified::now() <= exp.saturating_add(leeway.as_secs())).then(|| principal.clone())
    }

    fn put(&self, token: &str, principal: &Principal, exp: u64) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= VERIFIED_MAX {
            let now = Verified::now();
            map.retain(|_, (_, exp)| *exp > now);
            if map.len() >= VERIFIED_MAX {
                map.clear();
            }
        }
        map.insert(token.to_owned(), (principal.clone(), exp));
    }

    fn clear(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

enum Refusal {
    /// No key of the JWKS fits the token's `kid` (or its algorithm).
    NoKey,
    Other(String),
}

impl Refusal {
    fn message(self, header: &jsonwebtoken::Header) -> String {
        match self {
            Refusal::NoKey => match &header.kid {
                Some(kid) => format!("Invalid bearer token: no key '{kid}' in the sign-in provider's key set."),
                None => format!("Invalid bearer token: no key for {:?} in the sign-in provider's key set.", header.alg),
            },
            Refusal::Other(why) => format!("Invalid bearer token: {why}."),
        }
    }
}

/// What failed, in words (jsonwebtoken's errors are terse).
fn describe(e: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind;
    match e.kind() {
        ErrorKind::ExpiredSignature => "it has expired".into(),
        ErrorKind::ImmatureSignature => "it is not valid yet (nbf)".into(),
        ErrorKind::InvalidAudience => "it is for another audience".into(),
        ErrorKind::InvalidIssuer => "it is from another issuer".into(),
        ErrorKind::InvalidSignature => "its signature does not verify".into(),
        ErrorKind::InvalidAlgorithm => "its algorithm is not its key's".into(),
        ErrorKind::MissingRequiredClaim(claim) => format!("it has no '{claim}' claim"),
        _ => e.to_string(),
    }
}

type Http = crate::https::HttpsClient<Empty<Bytes>>;

/// The longest a JWKS fetch may take, and the largest JWKS taken.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_JWKS_BYTES: usize = 1 << 20;

/// GETs a JWKS's text.
async fn fetch(http: &Http, url: &str) -> Result<String, String> {
    let uri: axum::http::Uri = url.parse().map_err(|e| format!("{e}"))?;
    let response = tokio::time::timeout(FETCH_TIMEOUT, http.get(uri))
        .await
        .map_err(|_| format!("no answer within {} s", FETCH_TIMEOUT.as_secs()))?
        .map_err(|e| format!("{e}"))?;
    if !response.status().is_success() {
        return Err(format!("HTTP {}", response.status()));
    }
    let body = tokio::time::timeout(FETCH_TIMEOUT, Limited::new(response.into_body(), MAX_JWKS_BYTES).collect())
        .await
        .map_err(|_| format!("no body within {} s", FETCH_TIMEOUT.as_secs()))?
        .map_err(|e| format!("{e}"))?;
    String::from_utf8(body.to_bytes().to_vec()).map_err(|_| "the JWKS is not UTF-8".to_owned())
}

/// A claim by dotted path (`realm_access.roles`).
fn claim<'a>(claims: &'a Value, path: &str) -> Option<&'a Value> {
    if let Some(value) = claims.get(path) {
        return Some(value);
    }
    path.split('.').try_fold(claims, |value, part| value.get(part))
}

/// The key a JWK gives, with the one algorithm it admits; `None` for keys
/// that cannot verify a signature here (symmetric, encryption-only, or of
/// an unsupported kind).
fn usable(jwk: &Jwk) -> Option<Key> {
    if jwk.common.public_key_use.as_ref().is_some_and(|u| *u == jsonwebtoken::jwk::PublicKeyUse::Encryption) {
        return None;
    }
    let implied = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => Algorithm::ES256,
            EllipticCurve::P384 => Algorithm::ES384,
            _ => return None,
        },
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => Algorithm::EdDSA,
        _ => return None,
    };
    let algorithm = match jwk.common.key_algorithm {
        None => implied,
        Some(declared) => {
            let declared = match declared {
                KeyAlgorithm::RS256 => Algorithm::RS256,
                KeyAlgorithm::RS384 => Algorithm::RS384,
                KeyAlgorithm::RS512 => Algorithm::RS512,
                KeyAlgorithm::PS256 => Algorithm::PS256,
                KeyAlgorithm::PS384 => Algorithm::PS384,
                KeyAlgorithm::PS512 => Algorithm::PS512,
                KeyAlgorithm::ES256 => Algorithm::ES256,
                KeyAlgorithm::ES384 => Algorithm::ES384,
                KeyAlgorithm::EdDSA => Algorithm::EdDSA,
                _ => return None,
            };
            // The declared algorithm must fit the key (its type and curve).
            if !same_family(declared, implied) {
                return None;
            }
            declared
        }
    };
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some(Key { kid: jwk.common.key_id.clone(), algorithm, key })
}

/// Whether two signing algorithms take the same kind of key (RSA, P-256,
/// P-384, Ed25519).
fn same_family(a: Algorithm, b: Algorithm) -> bool {
    use Algorithm::*;
    let family = |x: Algorithm| match x {
        RS256 | RS384 | RS512 | PS256 | PS384 | PS512 => Some(0),
        ES256 => Some(1),
        ES384 => Some(2),
        EdDSA => Some(3),
        _ => None,
    };
    family(a).is_some() && family(a) == family(b)
}

/// The command line's sign-in flags.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct JwtArgs {
    /// Accept `Authorization: Bearer <JWT>` from a sign-in provider (OpenID
    /// Connect): its key set (JWKS), a file or an http(s) URL (the provider's
    /// `jwks_uri`). Needs --jwt-issuer and --jwt-audience.
    #[arg(long, value_name = "FILE|URL", requires_all = ["jwt_issuer", "jwt_audience"])]
    pub jwt_jwks: Option<String>,
    /// The `iss` a token must carry (the provider's issuer URL).
    #[arg(long, value_name = "ISSUER", requires = "jwt_jwks")]
    pub jwt_issuer: Option<String>,
    /// The `aud` a token must hold (this service's client id or API audience).
    #[arg(long, value_name = "AUDIENCE", requires = "jwt_jwks")]
    pub jwt_audience: Option<String>,
    /// The claim that names the user (a dotted path reaches into objects).
    #[arg(long, value_name = "CLAIM", default_value = "email")]
    pub jwt_user_claim: String,
    /// The claim with the scopes or roles: a space-separated string (`scope`)
    /// or an array (`roles`, `realm_access.roles`).
    #[arg(long, value_name = "CLAIM", default_value = "scope")]
    pub jwt_scope_claim: String,
    /// A name in the scope claim and the scopes it gives, NAME=SCOPE[,SCOPE]
    /// with scopes from read, write, audit, admin (repeatable); the names
    /// read, write, audit and admin give themselves.
    #[arg(long = "jwt-scope-map", value_name = "NAME=SCOPES")]
    pub jwt_scope_map: Vec<String>,
    /// Seconds of clock slack for a token's exp and nbf.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_LEEWAY_SECS)]
    pub jwt_leeway_secs: u64,
    /// The fewest seconds between two fetches of the JWKS for a token whose
    /// key (kid) is unknown (a rotated key).
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_REFETCH_SECS)]
    pub jwt_refetch_secs: u64,
}

impl JwtArgs {
    /// The configuration the flags give (`None`: no sign-in provider).
    pub fn config(&self) -> Result<Option<JwtConfig>, String> {
        let Some(jwks) = &self.jwt_jwks else { return Ok(None) };
        let (Some(issuer), Some(audience)) = (&self.jwt_issuer, &self.jwt_audience) else {
            return Err("--jwt-jwks needs --jwt-issuer and --jwt-audience".to_owned());
        };
        let mut config = JwtConfig::new(JwksSource::parse(jwks), issuer, audience);
        config.user_claim = self.jwt_user_claim.clone();
        config.scope_claim = self.jwt_scope_claim.clone();
        config.leeway = Duration::from_secs(self.jwt_leeway_secs);
        config.refetch_interval = Duration::from_secs(self.jwt_refetch_secs);
        for pair in &self.jwt_scope_map {
            config.add_scope_map(pair)?;
        }
        Ok(Some(config))
    }
}
