//! What the server learns about a request besides its HTTP: who made it, the
//! id it is logged under, and whether its body stalled. The router sets
//! them, serving and the request log read them; kept here so that none of
//! those imports another for them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::http::HeaderName;
use kg_history::principal::Principal;

/// Who made the request, if anyone (set by the router's authentication on
/// the request, and on the response for the request log).
#[derive(Clone, Debug)]
pub struct Caller(pub Option<Principal>);

/// The response header that carries the request id.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Set (in the request's extensions) once the request body stalled: the
/// app's answer is then replaced by a 408, which the request log reports.
#[derive(Clone, Debug, Default)]
pub struct BodyTimedOut(pub Arc<AtomicBool>);

impl BodyTimedOut {
    pub fn get(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}
