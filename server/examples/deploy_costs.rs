//! What issue 25's additions cost a request, measured: verifying a bearer
//! JWT (RS256, ES256, EdDSA) against a JWKS, and counting a request in the
//! metrics. Release build:
//!
//! ```sh
//! cargo run --release -p kg-approval-server --example deploy_costs
//! ```

#[path = "../tests/support/keys.rs"]
mod keys;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::{Method, StatusCode};
use axum::response::IntoResponse;
use jsonwebtoken::Algorithm;
use kg_approval_server::auth::jwt::{JwksSource, JwtConfig, JwtVerifier};
use kg_approval_server::metrics::Metrics;
use serde_json::json;

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let keys: Vec<keys::SigningKey> = [("rsa", Algorithm::RS256), ("ec", Algorithm::ES256), ("ed", Algorithm::EdDSA)]
        .into_iter()
        .map(|(kid, alg)| keys::SigningKey::new(dir.path(), kid, alg))
        .collect();
    let jwks = dir.path().join("jwks.json");
    std::fs::write(&jwks, keys::jwks(&keys.iter().collect::<Vec<_>>()).to_string()).unwrap();
    let verifier = JwtVerifier::new(JwtConfig::new(JwksSource::File(jwks), "https://id.test", "kg")).await.unwrap();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let claims =
        json!({"iss": "https://id.test", "aud": "kg", "exp": now + 3600, "email": "ann@example.com", "scope": "openid read write"});
    for key in &keys {
        // A new token each time (its jti differs): the signature is checked.
        let n = 1000;
        let tokens: Vec<String> = (0..n).map(|i| key.sign(&json!({"jti": i, "iss": "https://id.test", "aud": "kg", "exp": now + 3600, "email": "ann@example.com", "scope": "read write"}))).collect();
        let started = Instant::now();
        for token in &tokens {
            std::hint::black_box(verifier.verify(token).await.unwrap());
        }
        let first = started.elapsed().as_secs_f64() * 1e6 / n as f64;
        // The same token again (a client's next requests): from the cache.
        let token = key.sign(&claims);
        verifier.verify(&token).await.unwrap();
        let started = Instant::now();
        for _ in 0..100_000 {
            std::hint::black_box(verifier.verify(&token).await.unwrap());
        }
        let again = started.elapsed().as_secs_f64() * 1e6 / 100_000.0;
        println!("verify {:?}: {first:.1} µs a new token, {again:.2} µs the same token again", key.alg);
    }

    let metrics = Metrics::new();
    let response = (StatusCode::OK, "ok").into_response();
    let n = 200_000;
    let started = Instant::now();
    for i in 0..n {
        let route = if i % 2 == 0 { "/getknowgraph" } else { "/saveGraphWithHistory" };
        metrics.request(&Method::POST, route, &response, Duration::from_micros(800));
    }
    println!("metrics: {:.0} ns per request counted", started.elapsed().as_secs_f64() * 1e9 / n as f64);
}
