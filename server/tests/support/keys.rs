//! Keys and certificates the deployment tests make for themselves, with the
//! `openssl` command (scripts/setup.sh installs it): signing keys of a
//! sign-in provider (RSA, P-256, Ed25519) as PEM and as JWKs, and a CA with
//! a server certificate for PostgreSQL over TLS.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// Runs `openssl ARGS` in `dir`; its stdout.
pub fn openssl(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl").current_dir(dir).args(args).output().expect("the openssl command (apt-get install openssl)");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// base64url without padding (JWK members, JWT parts).
pub fn b64url(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (*b as u32) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

/// A provider's signing key.
pub struct SigningKey {
    pub kid: String,
    pub alg: Algorithm,
    /// The private key, PKCS#8 PEM.
    pub private_pem: Vec<u8>,
    /// The public key, SPKI PEM (what an attacker has).
    pub public_pem: Vec<u8>,
    /// The public key as a JWK.
    pub jwk: Value,
}

impl SigningKey {
    /// A new key of `alg` (RS256, ES256 or EdDSA), made in `dir`.
    pub fn new(dir: &Path, kid: &str, alg: Algorithm) -> SigningKey {
        let file = format!("{kid}.pem");
        let spec: &[&str] = match alg {
            Algorithm::RS256 => &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
            Algorithm::ES256 => &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
            Algorithm::EdDSA => &["-algorithm", "ED25519"],
            other => panic!("no test key for {other:?}"),
        };
        openssl(dir, &[&["genpkey", "-out", &file][..], spec].concat());
        let private_pem = std::fs::read(dir.join(&file)).unwrap();
        let public_pem = openssl(dir, &["pkey", "-in", &file, "-pubout"]);
        let der = openssl(dir, &["pkey", "-in", &file, "-pubout", "-outform", "DER"]);
        let jwk = match alg {
            Algorithm::RS256 => {
                let text = String::from_utf8(openssl(dir, &["rsa", "-in", &file, "-noout", "-modulus"])).unwrap();
                let modulus = hex(text.trim().strip_prefix("Modulus=").unwrap());
                json!({"kty": "RSA", "kid": kid, "use": "sig", "n": b64url(&modulus), "e": "AQAB"})
            }
            // The SPKI ends with the point 04 || x || y.
            Algorithm::ES256 => {
                let point = &der[der.len() - 64..];
                json!({"kty": "EC", "kid": kid, "crv": "P-256", "x": b64url(&point[..32]), "y": b64url(&point[32..])})
            }
            _ => json!({"kty": "OKP", "kid": kid, "crv": "Ed25519", "x": b64url(&der[der.len() - 32..])}),
        };
        SigningKey { kid: kid.to_owned(), alg, private_pem, public_pem, jwk }
    }

    fn encoding_key(&self) -> EncodingKey {
        match self.alg {
            Algorithm::RS256 => EncodingKey::from_rsa_pem(&self.private_pem).unwrap(),
            Algorithm::ES256 => EncodingKey::from_ec_pem(&self.private_pem).unwrap(),
            _ => EncodingKey::from_ed_pem(&self.private_pem).unwrap(),
        }
    }

    /// A JWT of `claims` signed with this key, its `kid` in the header.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding_key()).unwrap()
    }

    /// The same, without a `kid`.
    pub fn sign_without_kid(&self, claims: &Value) -> String {
        jsonwebtoken::encode(&Header::new(self.alg), claims, &self.encoding_key()).unwrap()
    }
}

/// A JWKS of `keys`.
pub fn jwks(keys: &[&SigningKey]) -> Value {
    json!({ "keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() })
}

/// A CA and a certificate it signed for `names` (DNS names), in `dir`:
/// (ca.pem, server.pem, server.key).
pub fn ca_and_server_cert(dir: &Path, names: &[&str]) -> (PathBuf, PathBuf, PathBuf) {
    openssl(
        dir,
        &["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem"]
            .into_iter()
            .chain([
                "-days",
                "2",
                "-subj",
                "/CN=kg test CA",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ])
            .collect::<Vec<_>>(),
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=kg test database",
        ],
    );
    let san = names.iter().map(|n| format!("DNS:{n}")).collect::<Vec<_>>().join(",");
    std::fs::write(dir.join("ext.cnf"), format!("subjectAltName={san}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n")).unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
    (dir.join("ca.pem"), dir.join("server.pem"), dir.join("server.key"))
}
