//! RFC 3339 instants without a date-time library: what the WASM module uses
//! (jiff was 63 KB of its code). Natively, `Timestamp` uses jiff, and the
//! tests below check that both agree.
//!
//! Accepted: `YYYY-MM-DD`, then `T`, `t` or a space, `HH:MM[:SS[.fraction]]`
//! (up to 9 digits; a leap second `:60` counts as `:59`), then `Z`, `z` or
//! an offset `±HH[:MM]` / `±HHMM`. Years 0000–9999.

/// Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number (inverse of [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Earliest and latest milliseconds printed with a four-digit year.
pub(crate) const MIN_MILLIS: i64 = -62_167_219_200_000; // 0000-01-01T00:00:00Z
pub(crate) const MAX_MILLIS: i64 = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn digits(&mut self, n: usize) -> Option<i64> {
        let (head, rest) = (self.0.get(..n)?, &self.0[n..]);
        let mut v = 0;
        for &b in head {
            if !b.is_ascii_digit() {
                return None;
            }
            v = v * 10 + i64::from(b - b'0');
        }
        self.0 = rest;
        Some(v)
    }

    fn eat(&mut self, options: &[u8]) -> Option<u8> {
        let b = *self.0.first()?;
        if options.contains(&b) {
            self.0 = &self.0[1..];
            Some(b)
        } else {
            None
        }
    }
}

/// Milliseconds since the Unix epoch of an RFC 3339 instant (the fraction
/// past milliseconds truncated), or why it is not one.
pub(crate) fn parse_millis(text: &str) -> Result<i64, &'static str> {
    let mut c = Cursor(text.as_bytes());
    let year = c.digits(4).ok_or("expected a four-digit year")?;
    c.eat(b"-").ok_or("expected '-' after the year")?;
    let month = c.digits(2).filter(|m| (1..=12).contains(m)).ok_or("expected a month 01-12")?;
    c.eat(b"-").ok_or("expected '-' after the month")?;
    let day = c.digits(2).filter(|&d| d >= 1 && d <= days_in_month(year, month)).ok_or("expected a day of that month")?;
    c.eat(b"Tt ").ok_or("expected 'T' and a time after the date")?;
    let hour = c.digits(2).filter(|h| *h < 24).ok_or("expected an hour 00-23")?;
    c.eat(b":").ok_or("expected ':' after the hour")?;
    let minute = c.digits(2).filter(|m| *m < 60).ok_or("expected minutes 00-59")?;
    let (mut second, mut nanos) = (0, 0);
    if c.eat(b":").is_some() {
        second = c.digits(2).filter(|s| *s <= 60).ok_or("expected seconds 00-59")?.min(59);
        if c.eat(b".").is_some() {
            let mut n = 0;
            while let Some(d) = c.digits(1) {
                if n == 9 {
                    return Err("more than 9 fractional digits");
                }
                nanos = nanos * 10 + d;
                n += 1;
            }
            if n == 0 {
                return Err("expected digits after '.'");
            }
            nanos *= 10_i64.pow(9 - n);
        }
    }
    let offset_seconds = match c.eat(b"Zz+-") {
        Some(b'Z' | b'z') => 0,
        Some(sign) => {
            let hours = c.digits(2).filter(|h| *h < 24).ok_or("expected offset hours")?;
            let colon = c.eat(b":").is_some();
            let minutes = if c.0.is_empty() && !colon { 0 } else { c.digits(2).filter(|m| *m < 60).ok_or("expected offset minutes")? };
            let s = hours * 3600 + minutes * 60;
            if sign == b'-' { -s } else { s }
        }
        _ => return Err("expected 'Z' or an offset like +01:00"),
    };
    if !c.0.is_empty() {
        return Err("unexpected text after the offset");
    }
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset_seconds;
    let millis = seconds * 1000 + nanos / 1_000_000;
    if !(MIN_MILLIS..=MAX_MILLIS).contains(&millis) {
        return Err("out of range (years 0000-9999 in UTC)");
    }
    Ok(millis)
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub(crate) fn format_millis(millis: i64) -> String {
    let (days, ms) = (millis.div_euclid(86_400_000), millis.rem_euclid(86_400_000));
    let (year, month, day) = civil_from_days(days);
    let parts = [(None, year, 4), (Some('-'), month, 2), (Some('-'), day, 2), (Some('T'), ms / 3_600_000, 2)];
    let rest = [(Some(':'), ms / 60_000 % 60, 2), (Some(':'), ms / 1000 % 60, 2), (Some('.'), ms % 1000, 3)];
    let mut out = String::with_capacity(24);
    for (separator, value, width) in parts.into_iter().chain(rest) {
        out.extend(separator);
        for place in (0..width).rev() {
            out.push(char::from(b'0' + (value / 10_i64.pow(place) % 10) as u8));
        }
    }
    out.push('Z');
    out
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn jiff_millis(text: &str) -> Option<i64> {
        text.parse::<jiff::Timestamp>().ok().map(|t| t.as_millisecond())
    }

    #[test]
    fn agrees_with_jiff_on_the_forms_we_see() {
        for text in [
            "2026-02-04T14:30:45.123Z",
            "2026-02-04T15:30:45.1+01:00",
            "2026-02-04t14:30:45z",
            "2026-02-04 14:30:45Z",
            "2026-02-04T14:30Z",
            "2026-02-04T14:30:45.123456789-05:30",
            "2026-02-04T14:30:45+0100",
            "2026-02-04T14:30:45-08",
            "2024-02-29T00:00:00Z",
            "1969-12-31T23:59:59.999Z",
            "1900-03-01T00:00:00Z",
            "0000-01-01T00:00:00Z",
            "2016-12-31T23:59:60Z",
        ] {
            assert_eq!(parse_millis(text).ok(), jiff_millis(text), "{text}");
        }
        // The last instant of year 9999, which jiff's range leaves out.
        assert_eq!(format_millis(parse_millis("9999-12-31T23:59:59.999Z").unwrap()), "9999-12-31T23:59:59.999Z");
        for text in [
            "yesterday",
            "",
            "2026-02-04",
            "2026-02-30T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-02-04T24:00:00Z",
            "2026-02-04T14:30:45",
            "2026-02-04T14:30:45.Z",
            "2026-02-04T14:30:45Z trailing",
            "2026-2-04T14:30:45Z",
            "2026-02-04T14:30:45.1234567891Z",
        ] {
            assert!(parse_millis(text).is_err(), "{text}");
            assert!(jiff_millis(text).is_none(), "jiff accepts {text}");
        }
    }

    proptest! {
        #[test]
        // jiff's own range ends a day or so short of ours at both ends.
        fn prints_as_jiff_does(millis in MIN_MILLIS + 86_400_000..=MAX_MILLIS - 2 * 86_400_000) {
            let t = jiff::Timestamp::from_millisecond(millis).unwrap();
            prop_assert_eq!(format_millis(millis), format!("{t:.3}"));
            prop_assert_eq!(parse_millis(&format_millis(millis)), Ok(millis));
        }

        #[test]
        fn parses_as_jiff_does(millis in MIN_MILLIS + 86_400_000..=MAX_MILLIS - 2 * 86_400_000, offset in -1439i64..=1439, digits in 0usize..=9, colon: bool) {
            let t = jiff::Timestamp::from_millisecond(millis).unwrap();
            let base = format!("{t:.9}");
            let (stamp, fraction) = base.trim_end_matches('Z').split_at(19);
            let fraction = if digits == 0 { String::new() } else { fraction[..=digits].to_owned() };
            let (h, m) = (offset.abs() / 60, offset.abs() % 60);
            let sign = if offset < 0 { '-' } else { '+' };
            // The same wall-clock text read with an offset: a different instant, the same for both.
            let text = if colon { format!("{stamp}{fraction}{sign}{h:02}:{m:02}") } else { format!("{stamp}{fraction}{sign}{h:02}{m:02}") };
            prop_assert_eq!(parse_millis(&text).ok(), jiff_millis(&text), "{}", text);
        }
    }
}
