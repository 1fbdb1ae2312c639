//! Approval times: ISO 8601 in UTC with milliseconds, `2026-02-04T14:30:45.123Z`.

use std::fmt;

use crate::error::{Error, ErrorCode, Result};

mod rfc3339;

/// An instant, printed as ISO 8601 UTC with exactly three fractional digits.
/// Parsed from RFC 3339 (see the `rfc3339` module for the forms taken).
///
/// ```
/// use kg_approval::Timestamp;
/// let t = Timestamp::parse("2026-02-04T15:30:45.1+01:00").unwrap();
/// assert_eq!(t.to_string(), "2026-02-04T14:30:45.100Z");
/// assert!(Timestamp::parse("yesterday").is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(i64);

impl Timestamp {
    /// Parses an RFC 3339 / ISO 8601 instant (with `Z` or an offset).
    pub fn parse(text: &str) -> Result<Timestamp> {
        rfc3339::parse_millis(text)
            .map(Timestamp)
            .map_err(|e| Error::new(ErrorCode::InvalidArgument, format!("'{text}' is not an ISO 8601 timestamp: {e}")))
    }

    /// From milliseconds since the Unix epoch (JavaScript's `Date.now()`).
    pub fn from_unix_millis(millis: i64) -> Result<Timestamp> {
        if (rfc3339::MIN_MILLIS..=rfc3339::MAX_MILLIS).contains(&millis) {
            Ok(Timestamp(millis))
        } else {
            Err(Error::new(ErrorCode::InvalidArgument, format!("{millis} ms is out of range (years 0000-9999)")))
        }
    }

    /// Milliseconds since the Unix epoch.
    pub fn unix_millis(&self) -> i64 {
        self.0
    }

    /// The current time. Not available in WASM, where the bindings read
    /// `Date.now()` and call [`Timestamp::from_unix_millis`].
    #[cfg(not(target_arch = "wasm32"))]
    pub fn now() -> Timestamp {
        let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Timestamp(since.as_millis() as i64)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&rfc3339::format_millis(self.0))
    }
}
