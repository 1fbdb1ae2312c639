//! Approval times: ISO 8601 in UTC with milliseconds, `2026-02-04T14:30:45.123Z`.

use std::fmt;

use crate::error::{Error, ErrorCode, Result};

/// An instant, printed as ISO 8601 UTC with exactly three fractional digits.
///
/// ```
/// use kg_approval::Timestamp;
/// let t = Timestamp::parse("2026-02-04T15:30:45.1+01:00").unwrap();
/// assert_eq!(t.to_string(), "2026-02-04T14:30:45.100Z");
/// assert!(Timestamp::parse("yesterday").is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(jiff::Timestamp);

impl Timestamp {
    /// Parses an RFC 3339 / ISO 8601 instant (with `Z` or an offset).
    pub fn parse(text: &str) -> Result<Timestamp> {
        text.parse::<jiff::Timestamp>()
            .map(|t| Timestamp(round_to_millis(t)))
            .map_err(|e| Error::new(ErrorCode::InvalidArgument, format!("'{text}' is not an ISO 8601 timestamp: {e}")))
    }

    /// From milliseconds since the Unix epoch (JavaScript's `Date.now()`).
    pub fn from_unix_millis(millis: i64) -> Result<Timestamp> {
        jiff::Timestamp::from_millisecond(millis)
            .map(Timestamp)
            .map_err(|e| Error::new(ErrorCode::InvalidArgument, format!("{millis} ms is out of range: {e}")))
    }

    /// Milliseconds since the Unix epoch.
    pub fn unix_millis(&self) -> i64 {
        self.0.as_millisecond()
    }

    /// The current time. Not available in WASM, where the bindings read
    /// `Date.now()` and call [`Timestamp::from_unix_millis`].
    #[cfg(not(target_arch = "wasm32"))]
    pub fn now() -> Timestamp {
        Timestamp(round_to_millis(jiff::Timestamp::now()))
    }
}

fn round_to_millis(t: jiff::Timestamp) -> jiff::Timestamp {
    jiff::Timestamp::from_millisecond(t.as_millisecond()).unwrap_or(t)
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // RFC 3339 in UTC with exactly three fractional digits (jiff's own
        // printer; strftime would add a second formatting engine to the WASM).
        write!(f, "{:.3}", self.0)
    }
}
