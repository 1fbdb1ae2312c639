//! The server's one outbound HTTP(S) client: rustls with the ring provider
//! and the system's CA certificates (`SSL_CERT_FILE`/`SSL_CERT_DIR` are
//! honoured, as rustls-native-certs reads them). The sign-in provider's
//! JWKS is fetched with it, and alarms are posted to a webhook with it.
//!
//! The provider is given to each `ClientConfig` rather than installed for
//! the process, so nothing else in the process (a test's own clients, say)
//! depends on which crypto provider was installed first.

use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// A client for `http://` and `https://` URLs, sending bodies of type `B`.
/// It follows no redirects (a hyper client never does): a redirected
/// webhook or JWKS is an error to look at, not a hop to take silently.
pub type HttpsClient<B> = Client<HttpsConnector<HttpConnector>, B>;

/// Builds the client (call it inside the Tokio runtime).
pub fn client<B>() -> Result<HttpsClient<B>, String>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
{
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    #[allow(deprecated)] // ring: see kg_history_store::tls.
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let https = HttpsConnectorBuilder::new().with_tls_config(tls).https_or_http().enable_http1().build();
    Ok(Client::builder(TokioExecutor::new()).build(https))
}
