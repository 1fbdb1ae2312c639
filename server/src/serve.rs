//! Serving the app on a TCP listener with limits against slow and greedy
//! clients, in place of `axum::serve` (which exposes none of them).
//!
//! - **Headers**: hyper's HTTP/1 `header_read_timeout` closes a connection
//!   whose request line and headers are not complete within
//!   [`Limits::header_read_timeout`] of the moment the server starts waiting
//!   for them: a connection that sends nothing, half a request or one byte
//!   at a time (slowloris), and an idle keep-alive connection. The close is
//!   silent (hyper sends no response).
//! - **Bodies**: tower-http's [`TimeoutBody`] ends a request whose body
//!   stalls (no bytes for [`Limits::body_read_timeout`]); the answer is a
//!   408 with a JSON `{"error"}` and the connection is closed. The timeout
//!   is between chunks, not for the whole body: a large upload on a slow
//!   but steady link is not cut off.
//! - **Connections**: at most [`Limits::max_connections`] are served at
//!   once. The server accepts no more until one ends: further clients wait
//!   in the kernel's accept backlog (their connect succeeds, their request
//!   is answered later) rather than being refused.
//! - **Header count**: more than [`Limits::max_headers`] headers get 431
//!   with a JSON `{"error"}` from a middleware around the app. hyper's own parser limit is
//!   raised to twice that ([`hyper_max_headers`]) so that ours answers
//!   first; beyond it hyper answers 431 itself, with an empty body, and
//!   closes the connection.
//! - **Shutdown**: when `shutdown` completes the listener is closed, idle
//!   connections are closed, requests in flight are finished, and
//!   [`serve`] returns once every connection has ended.

use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{BoxError, Router};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::{Layer, ServiceExt};
use tower_http::timeout::{TimeoutBody, TimeoutError};

use crate::request::{BodyTimedOut, REQUEST_ID};

/// The default of `--header-timeout-secs`.
pub const DEFAULT_HEADER_TIMEOUT_SECS: u64 = 10;
/// The default of `--body-timeout-secs`.
pub const DEFAULT_BODY_TIMEOUT_SECS: u64 = 30;
/// The default of `--max-connections`.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// The default header count limit (hyper's own default).
pub const DEFAULT_MAX_HEADERS: usize = 100;

/// What a client may take of the server.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Time to send a request line and all headers (also the longest a
    /// keep-alive connection may stay idle between requests).
    pub header_read_timeout: Duration,
    /// Longest pause while a request body arrives.
    pub body_read_timeout: Duration,
    /// Connections served at once; more wait in the accept backlog.
    pub max_connections: usize,
    /// Headers per request; more get 431.
    pub max_headers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(DEFAULT_HEADER_TIMEOUT_SECS),
            body_read_timeout: Duration::from_secs(DEFAULT_BODY_TIMEOUT_SECS),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_headers: DEFAULT_MAX_HEADERS,
        }
    }
}

/// hyper's parser limit: above ours, so that ours answers with a JSON body.
pub fn hyper_max_headers(max_headers: usize) -> usize {
    max_headers.saturating_mul(2).max(max_headers.saturating_add(1))
}

/// Serves `app` on `listener` within `limits` until `shutdown` completes,
/// then shuts down gracefully (see the module documentation).
pub async fn serve(listener: TcpListener, app: Router, limits: Limits, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
    if limits.max_connections == 0 || limits.max_headers == 0 {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "max_connections and max_headers must be at least 1"));
    }
    let app = middleware::from_fn_with_state(limits.clone(), guard).layer(app).map_request(|r: hyper::Request<Incoming>| r.map(Body::new));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout).max_headers(hyper_max_headers(limits.max_headers));
    let slots = Arc::new(Semaphore::new(limits.max_connections.min(Semaphore::MAX_PERMITS)));
    let graceful = GracefulShutdown::new();
    let mut shutdown = pin!(shutdown);
    loop {
        // A slot first, then accept: while all slots are taken, new
        // connections wait in the backlog instead of being read.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_error(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Who is at the other end (the alarms count failed sign-ins per address).
        let app = app.clone().map_request(move |mut r: hyper::Request<Incoming>| {
            r.extensions_mut().insert(ConnectInfo(remote));
            r
        });
        let connection = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%remote, error = %e, "connection ended");
            }
            drop(slot);
        });
    }
    drop(listener);
    tracing::info!(connections = graceful.count(), "shutting down: finishing open requests");
    graceful.shutdown().await;
    Ok(())
}

/// Per-connection accept errors (the client went away) are skipped; others
/// (out of file descriptors) are retried after a pause, as `axum::serve` does.
async fn accept_error(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(e.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset) {
        return;
    }
    tracing::error!(error = %e, "accept failed; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// The middleware around the whole app (outside its routing, so that every
/// request passes): the header count check and the body read timeout.
async fn guard(State(limits): State<Limits>, request: Request, next: Next) -> Response {
    let count = request.headers().len();
    if count > limits.max_headers {
        let message = format!("Too many request headers ({count}); at most {} are allowed.", limits.max_headers);
        return (StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, axum::Json(json!({ "error": message }))).into_response();
    }
    // tower-http's TimeoutBody fails the body when it stalls; the app sees
    // an ordinary body error (and would answer 400), so note that it was
    // the timeout and answer 408 instead.
    let timed_out = Arc::new(AtomicBool::new(false));
    let noted = timed_out.clone();
    let mut request = request.map(|body| {
        Body::new(TimeoutBody::new(limits.body_read_timeout, body).map_err(move |e: BoxError| {
            if e.is::<TimeoutError>() {
                noted.store(true, Ordering::Release);
            }
            e
        }))
    });
    request.extensions_mut().insert(BodyTimedOut(timed_out.clone()));
    let response = next.run(request).await;
    if !timed_out.load(Ordering::Acquire) {
        return response;
    }
    let secs = limits.body_read_timeout.as_secs_f64();
    tracing::info!(status = %response.status(), "request body stalled for {secs} s: answering 408");
    let message = format!("The request body stopped arriving (nothing for {secs} s).");
    let mut timeout = (StatusCode::REQUEST_TIMEOUT, axum::Json(json!({ "error": message }))).into_response();
    // Keep what CORS added, so that a browser can read the answer, and the
    // request log's id.
    for (name, value) in response.headers() {
        if name.as_str().starts_with("access-control-") || name == header::VARY || name == REQUEST_ID {
            timeout.headers_mut().append(name.clone(), value.clone());
        }
    }
    // The rest of the body is unread: the connection cannot be reused.
    timeout.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    timeout
}
