//! Sign-in through a provider (issue 25): `Authorization: Bearer <JWT>`
//! verified against a JWKS, from a local file and a local HTTP endpoint,
//! with tokens signed by keys this test makes; every refusal is a 401.

#[path = "support/keys.rs"]
mod keys;
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use keys::{SigningKey, b64url, jwks};
use kg_approval_server::auth::Auth;
use kg_approval_server::auth::jwt::{JwksSource, JwtConfig, JwtVerifier};
use kg_approval_server::metrics::Metrics;
use kg_approval_server::{AppState, Settings, Tokens, router};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

const ISSUER: &str = "https://id.example.test/realms/kg";
const AUDIENCE: &str = "kg-approval";

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

fn claims(email: &str, scope: &str) -> Value {
    json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "u-1", "email": email, "scope": scope, "iat": now(), "exp": now() + 300})
}

struct JwtServer {
    url: String,
    http: Client,
    _dir: tempfile::TempDir,
}

/// A server on SQLite whose sign-in provider is `config`, with one static token.
async fn start(config: JwtConfig) -> JwtServer {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite").to_string_lossy().into_owned();
    let store = tokio::task::spawn_blocking(move || kg_history::open(&db)).await.unwrap().unwrap();
    let mut tokens = Tokens::default();
    tokens.add_pair("static-token-0001=static@example.com:read,write").unwrap();
    let auth = Auth::new(tokens).with_jwt(JwtVerifier::new(config).await.unwrap());
    let state = AppState {
        store: Arc::new(store),
        auth: Arc::new(auth),
        settings: Arc::new(Settings::default()),
        request_log: None,
        metrics: Metrics::new(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router(state)).await.unwrap() });
    JwtServer { url, http: Client::new(), _dir: dir }
}

impl JwtServer {
    /// `GET /whoami` with `Authorization: Bearer TOKEN`: the status, the body
    /// and the `WWW-Authenticate` header.
    async fn whoami(&self, token: &str) -> (StatusCode, Value, Option<String>) {
        let response = self.http.get(format!("{}/whoami", self.url)).bearer_auth(token).send().await.unwrap();
        let challenge = response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned());
        (response.status(), response.json().await.unwrap(), challenge)
    }

    async fn refused(&self, token: &str, why: &str) {
        let (status, body, challenge) = self.whoami(token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{why}: {body}");
        assert!(body["error"].as_str().unwrap().contains(why), "{why}: {body}");
        assert_eq!(challenge.as_deref(), Some("Bearer error=\"invalid_token\""));
    }
}

fn file_config(dir: &std::path::Path, keys: &[&SigningKey]) -> JwtConfig {
    let path = dir.join("jwks.json");
    std::fs::write(&path, jwks(keys).to_string()).unwrap();
    JwtConfig::new(JwksSource::File(path), ISSUER, AUDIENCE)
}

#[tokio::test(flavor = "multi_thread")]
async fn rs256_es256_and_eddsa_tokens_sign_in_their_user_with_the_scopes_they_carry() {
    let dir = tempfile::tempdir().unwrap();
    let (rsa, ec, ed) = (
        SigningKey::new(dir.path(), "rsa-1", Algorithm::RS256),
        SigningKey::new(dir.path(), "ec-1", Algorithm::ES256),
        SigningKey::new(dir.path(), "ed-1", Algorithm::EdDSA),
    );
    let s = start(file_config(dir.path(), &[&rsa, &ec, &ed])).await;
    for key in [&rsa, &ec, &ed] {
        let (status, body, _) = s.whoami(&key.sign(&claims("ann@example.com", "openid email read write"))).await;
        assert_eq!((status, &body), (StatusCode::OK, &json!({"user": "ann@example.com", "scopes": ["read", "write"]})), "{:?}", key.alg);
    }
    // Without a kid: the only key of the token's algorithm.
    let (status, body, _) = s.whoami(&ec.sign_without_kid(&claims("bob@example.com", "audit"))).await;
    assert_eq!((status, &body["scopes"]), (StatusCode::OK, &json!(["audit"])), "{body}");

    // A save as the token's user.
    let id = support::new_id();
    let response = s
        .http
        .post(format!("{}/saveGraphWithHistory", s.url))
        .bearer_auth(rsa.sign(&claims("ann@example.com", "write")))
        .body(json!({"id": id, "graphData": support::graph(None, "A"), "override": false}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let history: Value = s
        .http
        .get(format!("{}/getknowgraphhistory?id={id}", s.url))
        .bearer_auth(rsa.sign(&claims("ann@example.com", "write")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(history["history"]["results"][0]["user"], json!("ann@example.com"));

    // Static tokens keep working, as X-API-Token and as a bearer token.
    let (status, body, _) = s.whoami("static-token-0001").await;
    assert_eq!((status, &body["user"]), (StatusCode::OK, &json!("static@example.com")));
    let response = s.http.get(format!("{}/whoami", s.url)).header("X-API-Token", "static-token-0001").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // A proxy's Basic credentials beside the token are not ours: left alone.
    let response = s
        .http
        .get(format!("{}/whoami", s.url))
        .header("X-API-Token", "static-token-0001")
        .header("Authorization", "Basic cHJveHk6c2VjcmV0")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_bad_token_is_a_401() {
    let dir = tempfile::tempdir().unwrap();
    let (rsa, ec) = (SigningKey::new(dir.path(), "rsa-1", Algorithm::RS256), SigningKey::new(dir.path(), "ec-1", Algorithm::ES256));
    let stranger = SigningKey::new(dir.path(), "rsa-1-forged", Algorithm::RS256);
    let s = start(file_config(dir.path(), &[&rsa, &ec])).await;
    let good = claims("ann@example.com", "read write");
    let with = |change: Value| {
        let mut c = good.clone();
        for (k, v) in change.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c
    };

    // alg: none, with and without a kid.
    for header in [json!({"alg": "none", "typ": "JWT"}), json!({"alg": "none", "kid": "rsa-1"})] {
        let token = format!("{}.{}.", b64url(header.to_string().as_bytes()), b64url(good.to_string().as_bytes()));
        s.refused(&token, "Invalid bearer token").await;
    }
    // Algorithm confusion: HS256 "signed" with the RSA and EC public keys.
    for key in [&rsa, &ec] {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(key.kid.clone());
        let token = jsonwebtoken::encode(&header, &good, &EncodingKey::from_secret(&key.public_pem)).unwrap();
        s.refused(&token, "Invalid bearer token").await;
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(key.kid.clone());
        let jwk_text = key.jwk.to_string();
        let token = jsonwebtoken::encode(&header, &good, &EncodingKey::from_secret(jwk_text.as_bytes())).unwrap();
        s.refused(&token, "Invalid bearer token").await;
    }
    // An RSA key's token claiming another RSA algorithm (PS256) for the same key.
    let mut header = Header::new(Algorithm::PS256);
    header.kid = Some(rsa.kid.clone());
    let token = jsonwebtoken::encode(&header, &good, &EncodingKey::from_rsa_pem(&rsa.private_pem).unwrap()).unwrap();
    s.refused(&token, "its key is for RS256").await;
    // Signed by another key under a known kid; a changed payload.
    let forged = SigningKey { kid: "rsa-1".into(), ..stranger };
    s.refused(&forged.sign(&good), "signature does not verify").await;
    let token = rsa.sign(&good);
    let parts: Vec<&str> = token.split('.').collect();
    let tampered = format!("{}.{}.{}", parts[0], b64url(with(json!({"scope": "admin"})).to_string().as_bytes()), parts[2]);
    s.refused(&tampered, "signature does not verify").await;

    // Time: expired beyond the leeway (30 s), not yet valid, no exp at all.
    s.refused(&rsa.sign(&with(json!({"exp": now() - 120}))), "expired").await;
    s.refused(&rsa.sign(&with(json!({"nbf": now() + 120}))), "not valid yet").await;
    s.refused(&rsa.sign(&with(json!({"exp": null}))), "'exp'").await;
    // Within the leeway: accepted.
    assert_eq!(s.whoami(&rsa.sign(&with(json!({"exp": now() - 5, "nbf": now() + 5})))).await.0, StatusCode::OK);

    // Another audience, another issuer, none of either.
    s.refused(&rsa.sign(&with(json!({"aud": "another-app"}))), "another audience").await;
    s.refused(&rsa.sign(&with(json!({"aud": ["another-app", "a-third"]}))), "another audience").await;
    s.refused(&rsa.sign(&with(json!({"iss": "https://evil.example.test"}))), "another issuer").await;
    s.refused(&rsa.sign(&with(json!({"aud": null}))), "'aud'").await;
    s.refused(&rsa.sign(&with(json!({"iss": null}))), "'iss'").await;
    // No user claim; an unknown kid; not a JWT; a malformed header.
    s.refused(&rsa.sign(&with(json!({"email": null}))), "no 'email' claim").await;
    let unknown = SigningKey { kid: "nobody".into(), ..SigningKey::new(dir.path(), "rsa-2", Algorithm::RS256) };
    s.refused(&unknown.sign(&good), "no key 'nobody'").await;
    s.refused("not-a-jwt-and-no-static-token", "Invalid bearer token").await;
    s.refused("a.b.c", "Invalid bearer token").await;
    let response = s.http.get(format!("{}/whoami", s.url)).header("Authorization", "Basic YTpi").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // A write with a bad token is refused before its body is read, as with static tokens.
    let response = s
        .http
        .post(format!("{}/saveGraphWithHistory", s.url))
        .bearer_auth(rsa.sign(&with(json!({"exp": now() - 999}))))
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_verified_before_is_refused_once_it_expires() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::new(dir.path(), "ed-1", Algorithm::EdDSA);
    let mut config = file_config(dir.path(), &[&key]);
    config.leeway = Duration::ZERO;
    let s = start(config).await;
    let token = key.sign(&json!({"iss": ISSUER, "aud": AUDIENCE, "exp": now() + 2, "email": "ann@example.com"}));
    for _ in 0..3 {
        assert_eq!(s.whoami(&token).await.0, StatusCode::OK, "verified, then from the cache");
    }
    tokio::time::sleep(Duration::from_millis(3100)).await;
    s.refused(&token, "expired").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn roles_in_an_array_claim_map_onto_scopes() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::new(dir.path(), "ed-1", Algorithm::EdDSA);
    let mut config = file_config(dir.path(), &[&key]);
    config.user_claim = "preferred_username".into();
    config.scope_claim = "realm_access.roles".into();
    config.add_scope_map("kg-editor=read,write").unwrap();
    config.add_scope_map("kg-auditor=read,audit").unwrap();
    assert!(config.add_scope_map("kg-x=wirte").is_err(), "a mistyped scope is an error");
    let s = start(config).await;
    let token = key.sign(&json!({"iss": ISSUER, "aud": [AUDIENCE, "account"], "exp": now() + 60, "preferred_username": "carol",
        "realm_access": {"roles": ["offline_access", "kg-editor", "kg-auditor"]}}));
    let (status, body, _) = s.whoami(&token).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"user": "carol", "scopes": ["read", "write", "audit"]})));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_rotated_into_the_jwks_file_is_picked_up_at_most_once_per_interval() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (SigningKey::new(dir.path(), "k-old", Algorithm::ES256), SigningKey::new(dir.path(), "k-new", Algorithm::ES256));
    let mut config = file_config(dir.path(), &[&old]);
    config.refetch_interval = Duration::from_millis(800);
    let path = dir.path().join("jwks.json");
    let s = start(config).await;
    let token = new.sign(&claims("ann@example.com", "read"));
    tokio::time::sleep(Duration::from_millis(900)).await;
    s.refused(&token, "no key 'k-new'").await; // read again: not there yet
    std::fs::write(&path, jwks(&[&old, &new]).to_string()).unwrap();
    s.refused(&token, "no key 'k-new'").await; // within the interval: not read again
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(s.whoami(&token).await.0, StatusCode::OK, "read again after the interval");
    assert_eq!(s.whoami(&old.sign(&claims("ann@example.com", "read"))).await.0, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_jwks_served_over_http_is_fetched_again_on_an_unknown_kid_rate_limited() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (SigningKey::new(dir.path(), "a", Algorithm::RS256), SigningKey::new(dir.path(), "b", Algorithm::RS256));
    let served = Arc::new(std::sync::Mutex::new(jwks(&[&a])));
    let hits = Arc::new(AtomicUsize::new(0));
    let app = axum::Router::new().route(
        "/jwks",
        axum::routing::get({
            let (served, hits) = (served.clone(), hits.clone());
            move || async move {
                hits.fetch_add(1, Ordering::SeqCst);
                axum::Json(served.lock().unwrap().clone())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let jwks_url = format!("http://{}/jwks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let mut config = JwtConfig::new(JwksSource::Url(jwks_url), ISSUER, AUDIENCE);
    config.refetch_interval = Duration::from_secs(1);
    let s = start(config).await;
    assert_eq!(hits.load(Ordering::SeqCst), 1, "fetched at start");
    assert_eq!(s.whoami(&a.sign(&claims("ann@example.com", "read"))).await.0, StatusCode::OK);
    // The provider rotates b in; tokens signed by b arrive at once, many of them.
    *served.lock().unwrap() = jwks(&[&a, &b]);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let token = b.sign(&claims("ann@example.com", "read"));
    let answers = futures_util_join(&s, &token, 20).await;
    assert!(answers.iter().all(|s| *s == StatusCode::OK), "{answers:?}");
    assert_eq!(hits.load(Ordering::SeqCst), 2, "one fetch for twenty tokens");
    // Forged kids do not make the server fetch more than once per interval.
    let mut forged = SigningKey::new(dir.path(), "f", Algorithm::ES256);
    for i in 0..20 {
        forged.kid = format!("forged-{i}");
        s.refused(&forged.sign(&claims("ann@example.com", "read")), "no key").await;
    }
    assert!(hits.load(Ordering::SeqCst) <= 3, "{} fetches", hits.load(Ordering::SeqCst));
}

/// `n` concurrent `/whoami` calls with `token`: their statuses.
async fn futures_util_join(s: &JwtServer, token: &str, n: usize) -> Vec<StatusCode> {
    let mut tasks = Vec::new();
    for _ in 0..n {
        let (http, url, token) = (s.http.clone(), s.url.clone(), token.to_owned());
        tasks.push(tokio::spawn(async move { http.get(format!("{url}/whoami")).bearer_auth(token).send().await.unwrap().status() }));
    }
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn cors_lets_a_browser_send_authorization() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::new(dir.path(), "ed-1", Algorithm::EdDSA);
    let s = start(file_config(dir.path(), &[&key])).await;
    let response = s
        .http
        .request(reqwest::Method::OPTIONS, format!("{}/saveGraphWithHistory", s.url))
        .header("Origin", "http://editor.test")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "authorization,content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let allowed = response.headers().get("access-control-allow-headers").unwrap().to_str().unwrap().to_lowercase();
    assert!(allowed.contains("authorization"), "{allowed}");
}

/// The real binary: `--jwt-*` flags, and the token file read again on SIGHUP.
#[tokio::test(flavor = "multi_thread")]
async fn the_binary_takes_the_jwt_flags_and_reloads_its_token_file_on_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::new(dir.path(), "rsa-1", Algorithm::RS256);
    let jwks_file = dir.path().join("jwks.json");
    std::fs::write(&jwks_file, jwks(&[&key]).to_string()).unwrap();
    let tokens = dir.path().join("tokens.json");
    std::fs::write(&tokens, r#"{"revoked-token-01": "ann@example.com", "kept-token-0001": "bob@example.com:read"}"#).unwrap();
    let db = dir.path().join("h.sqlite");
    let (mut child, url) = support::spawn_binary(&[
        "--db",
        db.to_str().unwrap(),
        "--tokens",
        tokens.to_str().unwrap(),
        "--jwt-jwks",
        jwks_file.to_str().unwrap(),
        "--jwt-issuer",
        ISSUER,
        "--jwt-audience",
        AUDIENCE,
        "--jwt-scope-map",
        "kg-admin=admin",
    ]);
    let http = Client::new();
    let status = |token: &'static str| {
        let (http, url) = (http.clone(), url.clone());
        async move { http.get(format!("{url}/whoami")).header("X-API-Token", token).send().await.unwrap().status() }
    };
    let token = key.sign(&claims("dora@example.com", "openid kg-admin"));
    let body: Value = http.get(format!("{url}/whoami")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(body, json!({"user": "dora@example.com", "scopes": ["admin"]}));
    assert_eq!(status("revoked-token-01").await, StatusCode::OK);

    let hup = || assert!(std::process::Command::new("kill").args(["-HUP", &child.id().to_string()]).status().unwrap().success());
    // A broken file keeps the tokens held.
    std::fs::write(&tokens, r#"{"revoked-token-01": "ann@example.com:wirte"}"#).unwrap();
    hup();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(status("revoked-token-01").await, StatusCode::OK);
    assert_eq!(status("kept-token-0001").await, StatusCode::OK);
    // The token removed from the file stops working, without a restart.
    std::fs::write(&tokens, r#"{"kept-token-0001": "bob@example.com:read", "new-token-00001": "eve@example.com"}"#).unwrap();
    hup();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while status("revoked-token-01").await != StatusCode::UNAUTHORIZED {
        assert!(std::time::Instant::now() < deadline, "the token file was not read again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status("new-token-00001").await, StatusCode::OK);
    assert_eq!(status("kept-token-0001").await, StatusCode::OK);

    // A key taken out of the JWKS: its tokens (verified before, so cached) are refused after SIGHUP.
    let other = SigningKey::new(dir.path(), "rsa-2", Algorithm::RS256);
    std::fs::write(&jwks_file, jwks(&[&other]).to_string()).unwrap();
    hup();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while http.get(format!("{url}/whoami")).bearer_auth(&token).send().await.unwrap().status() != StatusCode::UNAUTHORIZED {
        assert!(std::time::Instant::now() < deadline, "the JWKS was not read again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(child.try_wait().unwrap().is_none(), "SIGHUP does not stop the server");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_refuses_jwt_flags_that_do_not_hold_together() {
    let out =
        std::process::Command::new(env!("CARGO_BIN_EXE_kg-approval-server")).args(["--jwt-jwks", "/nonexistent.json"]).output().unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("--jwt-issuer") && text.contains("--jwt-audience"), "{text}");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kg-approval-server"))
        .args([
            "--addr",
            "127.0.0.1:0",
            "--db",
            db.to_str().unwrap(),
            "--jwt-jwks",
            "/nonexistent.json",
            "--jwt-issuer",
            ISSUER,
            "--jwt-audience",
            AUDIENCE,
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent.json"), "{}", String::from_utf8_lossy(&out.stderr));
}
