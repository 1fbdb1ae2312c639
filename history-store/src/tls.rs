//! PostgreSQL over TLS, configured as libpq spells it in the URL:
//! `postgres://USER@HOST:PORT/DB?sslmode=verify-full&sslrootcert=/path/ca.pem`.
//!
//! | `sslmode` | encrypted | the server's certificate |
//! |---|---|---|
//! | `disable` | never | — |
//! | `prefer` (default, as libpq) | if the server offers TLS | not checked (checked as `verify-ca` when `sslrootcert` is given) |
//! | `require` | always; a server without TLS is a start-up error | as `prefer` |
//! | `verify-ca` | always | signed by a CA of `sslrootcert` |
//! | `verify-full` | always | signed by a CA of `sslrootcert` and issued for the URL's host |
//!
//! `sslrootcert` is a PEM file of CA certificates, or `system` for the
//! machine's trust store (`SSL_CERT_FILE`, else the usual bundle paths).
//! Without it, `PGSSLROOTCERT` and then `~/.postgresql/root.crt` are used as
//! libpq does; `verify-ca` and `verify-full` without any of them are a
//! start-up error. Client certificates (`sslcert`, `sslkey`) are not
//! supported and are refused at start rather than ignored.
//!
//! The driver (tokio-postgres) knows only `disable|prefer|require`: the
//! two verifying modes are given to it as `require`, and the checks are
//! rustls's (ring as the crypto provider), on a connector made here.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres::config::SslMode as DriverMode;
use tokio_postgres_rustls::MakeRustlsConnect;

/// libpq's `sslmode` values (`allow` is taken as `prefer`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub fn parse(text: &str) -> Result<SslMode, String> {
        Ok(match text {
            "disable" => SslMode::Disable,
            "allow" | "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => return Err(format!("sslmode '{other}' is not one of disable, prefer, require, verify-ca, verify-full")),
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// What a database URL asks of TLS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsSettings {
    pub mode: SslMode,
    /// The CA certificates' file (`None`: none given), or `system`.
    pub root_cert: Option<PathBuf>,
}

/// Splits a database URL into the driver's configuration (everything but
/// the TLS parameters) and the TLS settings.
pub fn parse_url(url: &str) -> Result<(tokio_postgres::Config, TlsSettings), String> {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, query),
        None => (url, ""),
    };
    let (mut mode, mut root_cert) = (None, None);
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "sslmode" => mode = Some(SslMode::parse(&decode(value))?),
            "sslrootcert" => root_cert = Some(PathBuf::from(decode(value))),
            "sslcert" | "sslkey" | "sslpassword" | "sslcrl" | "sslcrldir" => {
                return Err(format!("{key} is not supported (client certificates and revocation lists): remove it from the URL"));
            }
            _ => kept.push(pair),
        }
    }
    let rest = if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) };
    let mut config: tokio_postgres::Config = rest.parse().map_err(|e| format!("{e}"))?;
    let mode = mode.unwrap_or(SslMode::Prefer);
    config.ssl_mode(match mode {
        SslMode::Disable => DriverMode::Disable,
        SslMode::Prefer => DriverMode::Prefer,
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => DriverMode::Require,
    });
    Ok((config, TlsSettings { mode, root_cert }))
}

/// `%XX` escapes of a URL's query value.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl TlsSettings {
    /// The CA file to check the server against: `sslrootcert`, else
    /// `PGSSLROOTCERT`, else `~/.postgresql/root.crt` if it exists.
    fn root_file(&self) -> Option<PathBuf> {
        if let Some(path) = &self.root_cert {
            return Some(path.clone());
        }
        if let Some(path) = std::env::var_os("PGSSLROOTCERT") {
            return Some(PathBuf::from(path));
        }
        let home = std::env::var_os("HOME")?;
        Some(Path::new(&home).join(".postgresql/root.crt")).filter(|p| p.is_file())
    }

    /// The rustls connector these settings call for.
    pub fn connector(&self) -> Result<MakeRustlsConnect, String> {
        // ring, not aws-lc-rs: a fraction of the build, and what the rest of
        // the server uses. (Deprecated in rustls 0.23.48 for lacking
        // post-quantum key exchange; the PostgreSQL link does not need it yet.)
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = match self.root_file() {
            Some(path) => Some(load_roots(&path)?),
            None if matches!(self.mode, SslMode::VerifyCa | SslMode::VerifyFull) => {
                return Err(format!(
                    "sslmode={} needs the CA certificate: add sslrootcert=/path/to/ca.pem (or sslrootcert=system) to the URL",
                    self.mode.as_str()
                ));
            }
            None => None,
        };
        let verifier: Arc<dyn ServerCertVerifier> = match roots {
            // As libpq: a root certificate makes prefer and require check the CA too.
            Some(roots) => {
                let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .map_err(|e| format!("sslrootcert: {e}"))?;
                Arc::new(Verifier { webpki: Some(webpki), check_name: self.mode == SslMode::VerifyFull, provider: provider.clone() })
            }
            None => Arc::new(Verifier { webpki: None, check_name: false, provider: provider.clone() }),
        };
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(MakeRustlsConnect::new(config))
    }

    /// A connection error at start, said plainly: what TLS refused and what
    /// to change.
    pub fn explain(&self, host: &str, error: &str) -> Option<String> {
        let mode = self.mode.as_str();
        if error.contains("server does not support TLS") {
            return Some(format!(
                "the database at {host} does not accept TLS connections, and sslmode={mode} requires TLS (turn on ssl on the server, or use sslmode=prefer or disable)"
            ));
        }
        if error.contains("NotValidForName") || error.contains("not valid for name") {
            return Some(format!(
                "the database's TLS certificate is not issued for the host name '{host}' (sslmode=verify-full checks it): connect with the name the certificate names, or fix the certificate"
            ));
        }
        if error.contains("UnknownIssuer") || error.contains("invalid peer certificate") {
            return Some(format!("the database's TLS certificate was refused (sslmode={mode}): {error}"));
        }
        None
    }
}

/// The CA certificates of a PEM file, or of the system (`system`).
fn load_roots(path: &Path) -> Result<RootCertStore, String> {
    let path = if path == Path::new("system") { system_bundle()? } else { path.to_owned() };
    let mut roots = RootCertStore::empty();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&path)
        .map_err(|e| format!("sslrootcert {}: {e}", path.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
    let (added, _) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(format!("sslrootcert {}: no CA certificate in it (PEM expected)", path.display()));
    }
    Ok(roots)
}

/// The system's CA bundle (`sslrootcert=system`).
fn system_bundle() -> Result<PathBuf, String> {
    if let Some(file) = std::env::var_os("SSL_CERT_FILE") {
        return Ok(PathBuf::from(file));
    }
    ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or_else(|| "sslrootcert=system: no CA bundle found (set SSL_CERT_FILE)".to_owned())
}

/// Checks the server's certificate as the mode asks: its chain against the
/// roots (if any), its name (verify-full only). The handshake's signatures
/// are always checked: an unchecked certificate is still the one whose key
/// the server holds.
#[derive(Debug)]
struct Verifier {
    webpki: Option<Arc<WebPkiServerVerifier>>,
    check_name: bool,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(webpki) = &self.webpki else { return Ok(ServerCertVerified::assertion()) };
        match webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }))
                if !self.check_name =>
            {
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tls_parameters_are_taken_out_of_the_url_as_libpq_spells_them() {
        let (config, tls) =
            parse_url("postgres://kg@db.example.com:5432/kg?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&application_name=x").unwrap();
        assert_eq!(tls, TlsSettings { mode: SslMode::VerifyFull, root_cert: Some(PathBuf::from("/etc/ca.pem")) });
        assert_eq!(config.get_ssl_mode(), DriverMode::Require);
        assert_eq!(config.get_application_name(), Some("x"));
        let (config, tls) = parse_url("postgres://kg@127.0.0.1:5432/kg").unwrap();
        assert_eq!((tls.mode, config.get_ssl_mode()), (SslMode::Prefer, DriverMode::Prefer));
        assert_eq!(parse_url("postgres://kg@h/kg?sslmode=disable").unwrap().0.get_ssl_mode(), DriverMode::Disable);
        assert!(parse_url("postgres://kg@h/kg?sslmode=verify_full").unwrap_err().contains("verify_full"));
        assert!(parse_url("postgres://kg@h/kg?sslcert=/c.pem").unwrap_err().contains("sslcert"));
    }

    #[test]
    fn verifying_without_a_ca_is_a_start_up_error() {
        let tls = TlsSettings { mode: SslMode::VerifyFull, root_cert: Some(PathBuf::from("/nonexistent/ca.pem")) };
        assert!(tls.connector().err().unwrap().contains("/nonexistent/ca.pem"));
    }
}
