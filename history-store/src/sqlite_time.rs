//! A version's time as the SQLite backend stores it (schema 11).

use kg_approval::Timestamp;

/// A version's time as stored since schema 11 (issue 28): 8 bytes, its
/// milliseconds since 1970 with the sign bit flipped, big-endian, so that
/// the bytes sort as the times do; 24 characters of text before. Only a
/// time that reads back as the same text is stored so (every time the
/// server writes); any other stays text. Also what a time compared with it
/// in SQL is bound as, so that both are bytes.
///
/// Bytes, not an integer: `saved_at` is declared `TEXT`, whose affinity
/// turns an integer into its digits (changing the declared type means
/// copying the table), but keeps bytes as they are.
pub(crate) fn stored_time(text: &str) -> rusqlite::types::Value {
    match Timestamp::parse(text).ok().filter(|t| t.to_string() == text) {
        Some(t) => rusqlite::types::Value::Blob(((t.unix_millis() as u64) ^ (1 << 63)).to_be_bytes().to_vec()),
        None => rusqlite::types::Value::Text(text.to_owned()),
    }
}

/// A stored time back as its text (see [`stored_time`]).
pub(crate) fn time_at(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<String> {
    use rusqlite::types::{Type, ValueRef};
    match r.get_ref(at)? {
        ValueRef::Blob(bytes) => <[u8; 8]>::try_from(bytes)
            .map_err(|_| format!("a stored time of {} bytes", bytes.len()))
            .and_then(|b| Timestamp::from_unix_millis((u64::from_be_bytes(b) ^ (1 << 63)) as i64).map_err(|e| e.to_string()))
            .map(|t| t.to_string())
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(at, Type::Blob, e.into())),
        _ => r.get(at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::types::Value;

    #[test]
    fn times_sort_as_their_bytes_and_come_back_as_text() {
        let times = ["0001-01-01T00:00:00.000Z", "1969-12-31T23:59:59.999Z", "1970-01-01T00:00:00.000Z", "2026-12-07T06:00:00.123Z"];
        let stored: Vec<Vec<u8>> = times
            .iter()
            .map(|t| match stored_time(t) {
                Value::Blob(b) => b,
                other => panic!("{t} stored as {other:?}"),
            })
            .collect();
        assert!(stored.windows(2).all(|w| w[0] < w[1]), "bytes sort as the times do");
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        for (text, bytes) in times.iter().zip(&stored) {
            assert_eq!(conn.query_row("SELECT ?1", [bytes], |r| time_at(r, 0)).unwrap(), *text);
        }
        // Text that would not come back the same stays text.
        for other in ["2026-12-07T07:00:00.123+01:00", "2026-12-07T06:00:00.12Z", "yesterday"] {
            assert_eq!(stored_time(other), Value::Text(other.to_owned()));
        }
        assert!(conn.query_row("SELECT x'0102'", [], |r| time_at(r, 0)).unwrap_err().to_string().contains("2 bytes"));
    }
}
