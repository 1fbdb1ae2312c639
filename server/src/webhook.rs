//! The alarm webhook (`--alarm-webhook URL --alarm-webhook-secret SECRET`):
//! each alarm is POSTed as JSON to URL, signed with HMAC-SHA256.
//!
//! **The request.** `POST URL` with `Content-Type: application/json` and
//!
//! - `X-KG-Signature: t=<unix seconds>,v1=<hex>` where `<hex>` is
//!   HMAC-SHA256, keyed with SECRET, of `<t>.<body>` — the decimal `t`, a
//!   dot, and the body's bytes exactly as sent (the convention of Stripe's
//!   webhooks: the time is signed with the body, so a captured request
//!   cannot be replayed later);
//! - `X-KG-Delivery: <uuid>`: the same on every retry of one alarm (a
//!   receiver that saw it already can answer 200 and ignore it);
//! - `X-KG-Event: alarm`.
//!
//! The body: `{"type": "alarm", "delivery", "at", "rule", "kind", "subject",
//! "figures", "event"}` (`event`: its number in the chained event log,
//! `/getauditevents`; `subject.user` names the person, where the event log
//! names their pseudonym).
//!
//! **To verify** (any language): split the header at `,` into `t=` and
//! `v1=`; compute HMAC-SHA256(SECRET, `t + "." + raw body`) in hex; compare
//! it with `v1` in constant time; refuse a `t` more than 5 minutes from now.
//!
//! **HTTPS.** `https://` URLs are verified against the system's CA
//! certificates (or `SSL_CERT_FILE`), host name included; a receiver whose
//! certificate does not verify gets nothing, and each try is counted as a
//! failure. `http://` is taken too, for a receiver on a trusted network:
//! the signature still proves who sent each alarm and that it was not
//! changed, but not who read it. Redirects are not followed.
//!
//! **Delivery.** Alarms wait in a bounded queue ([`QUEUE`]; when full, an
//! alarm's delivery is dropped, counted and said on stderr — the alarm is
//! still in the event log); at most [`IN_FLIGHT`] are sent at once. A
//! delivery that fails (no connection, a timeout of [`TIMEOUT`], a 5xx,
//! 408 or 429) is tried again after 1, 2, 4, 8... seconds, [`ATTEMPTS`]
//! times in all; another 4xx is not retried. None of this touches a
//! request: the queue is filled by the alarm task, after the answer.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{Request, Uri};
use hmac::{Hmac, Mac};
use http_body_util::Full;
use kg_approval::Timestamp;
use kg_history::alarms::Fired;
use kg_history::store::Event;
use serde_json::json;
use sha2::Sha256;
use tokio::sync::{Semaphore, mpsc};

/// Deliveries waiting at most.
pub const QUEUE: usize = 1024;
/// Deliveries sent at once at most.
pub const IN_FLIGHT: usize = 4;
/// Tries per delivery.
pub const ATTEMPTS: u32 = 6;
/// The longest one try may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// The signature header.
pub const SIGNATURE: &str = "x-kg-signature";

type Client = crate::https::HttpsClient<Full<Bytes>>;

/// `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
pub fn signature(secret: &[u8], unix_seconds: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(unix_seconds.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={unix_seconds},v1={}", kg_history::entity::hex(&mac.finalize().into_bytes()))
}

/// Whether `header` signs `body` with `secret` (the receiver's check; the
/// age of `t` is the caller's to judge).
pub fn verify(secret: &[u8], header: &str, body: &[u8]) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => t = value.parse::<i64>().ok(),
            Some(("v1", value)) => v1 = Some(value),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else { return false };
    let Some(given) =
        (0..v1.len() / 2).map(|i| v1.get(2 * i..2 * i + 2).and_then(|h| u8::from_str_radix(h, 16).ok())).collect::<Option<Vec<u8>>>()
    else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    // Constant time.
    mac.verify_slice(&given).is_ok()
}

struct Delivery {
    id: String,
    body: Vec<u8>,
}

/// Counters of the webhook.
#[derive(Debug, Default)]
pub struct Stats {
    pub delivered: AtomicU64,
    pub failed: AtomicU64,
    pub dropped: AtomicU64,
    pub retries: AtomicU64,
}

/// The webhook: a signed POST per alarm, from a queue (an alarm sink, see
/// `crate::alarms`).
pub struct Webhook {
    sender: mpsc::Sender<Delivery>,
    pub stats: Arc<Stats>,
}

impl Webhook {
    /// Starts the sender for `url` (call it inside the Tokio runtime).
    /// `first_retry` is the pause before the first retry (doubled each time).
    pub fn start(url: &str, secret: &str, first_retry: Duration) -> Result<Arc<Webhook>, String> {
        let parsed: Uri = url.parse().map_err(|e| format!("--alarm-webhook {url}: {e}"))?;
        match parsed.scheme_str() {
            Some("http" | "https") if parsed.host().is_some() => {}
            _ => return Err(format!("--alarm-webhook {url}: an http:// or https:// URL with a host")),
        }
        if secret.len() < 16 {
            return Err("--alarm-webhook-secret: at least 16 characters".to_owned());
        }
        let client = crate::https::client().map_err(|e| format!("--alarm-webhook: {e}"))?;
        let (sender, receiver) = mpsc::channel(QUEUE);
        let stats = Arc::new(Stats::default());
        tokio::spawn(send_all(receiver, client, parsed, secret.as_bytes().to_vec(), first_retry, stats.clone()));
        Ok(Arc::new(Webhook { sender, stats }))
    }
}

impl Webhook {
    /// Queues the delivery of an alarm (never waits: a full queue drops it).
    pub fn send(&self, alarm: &Fired, event: Option<&Event>) {
        let id = uuid::Uuid::new_v4().to_string();
        let body = json!({
            "type": "alarm", "delivery": id, "at": Timestamp::now().to_string(), "rule": alarm.rule, "kind": alarm.kind,
            "subject": alarm.subject, "figures": alarm.figures, "event": event.map(|e| e.seq),
        });
        if self.sender.try_send(Delivery { id, body: body.to_string().into_bytes() }).is_err() {
            let dropped = self.stats.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::warn!(dropped, rule = %alarm.rule, "alarm webhook: the queue is full; this alarm is not delivered (it is in the event log)");
        }
    }
}

async fn send_all(
    mut receiver: mpsc::Receiver<Delivery>,
    client: Client,
    url: Uri,
    secret: Vec<u8>,
    first_retry: Duration,
    stats: Arc<Stats>,
) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    let secret = Arc::new(secret);
    while let Some(delivery) = receiver.recv().await {
        let slot = slots.clone().acquire_owned().await.expect("the semaphore is never closed");
        let (client, url, secret, stats) = (client.clone(), url.clone(), secret.clone(), stats.clone());
        tokio::spawn(async move {
            deliver(&client, &url, &secret, &delivery, first_retry, &stats).await;
            drop(slot);
        });
    }
}

async fn deliver(client: &Client, url: &Uri, secret: &[u8], delivery: &Delivery, first_retry: Duration, stats: &Stats) {
    let mut pause = first_retry;
    for attempt in 1..=ATTEMPTS {
        // Signed anew each time: `t` is when this try was sent.
        let t = Timestamp::now().unix_millis() / 1000;
        let request = Request::post(url.clone())
            .header("content-type", "application/json")
            .header(SIGNATURE, signature(secret, t, &delivery.body))
            .header("x-kg-delivery", &delivery.id)
            .header("x-kg-event", "alarm")
            .body(Full::new(Bytes::from(delivery.body.clone())))
            .expect("the URI and headers were checked");
        let sent = match tokio::time::timeout(TIMEOUT, client.request(request)).await {
            Ok(Ok(response)) => Ok(response.status()),
            Ok(Err(e)) => Err(kg_history_store::with_causes(&e)),
            Err(_) => Err(format!("no answer within {} s", TIMEOUT.as_secs())),
        };
        let retry = match &sent {
            Ok(status) if status.is_success() => {
                stats.delivered.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Ok(status) => status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429,
            Err(_) => true,
        };
        let why = match &sent {
            Ok(status) => format!("status {status}"),
            Err(e) => e.clone(),
        };
        if !retry || attempt == ATTEMPTS {
            stats.failed.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(delivery = %delivery.id, attempts = attempt, %why, "alarm webhook: not delivered");
            return;
        }
        stats.retries.fetch_add(1, Ordering::Relaxed);
        tracing::info!(delivery = %delivery.id, attempt, %why, retry_in_ms = pause.as_millis() as u64, "alarm webhook: will retry");
        tokio::time::sleep(pause).await;
        pause = pause.saturating_mul(2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_with_its_secret_and_body_only() {
        let header = signature(b"s3cret-s3cret-s3cret", 1_700_000_000, br#"{"a":1}"#);
        assert!(header.starts_with("t=1700000000,v1=") && header.len() == "t=1700000000,v1=".len() + 64, "{header}");
        assert!(verify(b"s3cret-s3cret-s3cret", &header, br#"{"a":1}"#));
        assert!(!verify(b"another-secret-xxxx", &header, br#"{"a":1}"#));
        assert!(!verify(b"s3cret-s3cret-s3cret", &header, br#"{"a":2}"#));
        assert!(!verify(b"s3cret-s3cret-s3cret", &header.replace("t=1700000000", "t=1700000001"), br#"{"a":1}"#));
        assert!(!verify(b"s3cret-s3cret-s3cret", "v1=zz", b""));
    }
}
