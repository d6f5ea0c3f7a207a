//! Times as every API answer and CLI line shows them: RFC 3339, UTC, millisecond precision.
//!
//! The store and the queues keep Unix milliseconds (cheap to compare and index); nothing a user
//! reads shows them raw.

use serde::Serializer;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// `ms` (Unix milliseconds) as RFC 3339, e.g. `2026-12-01T16:35:39.123Z`; an instant outside
/// what RFC 3339 can write (before year 0, after 9999) is clamped to the nearest end.
pub fn from_ms(ms: i64) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    let at = OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(if ms < 0 {
        OffsetDateTime::UNIX_EPOCH
    } else {
        time::macros::datetime!(9999-12-31 23:59:59.999 UTC)
    });
    at.format(&Rfc3339).unwrap_or_else(|_| {
        OffsetDateTime::UNIX_EPOCH
            .format(&Rfc3339)
            .unwrap_or_default()
    })
}

/// Unix milliseconds of `at`.
pub fn to_ms(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// Parses an RFC 3339 time, saying what is wrong (for `400` answers and CLI errors).
pub fn parse(text: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text.trim(), &Rfc3339)
        .map_err(|e| format!("{text:?} is not an RFC 3339 time such as 2026-12-01T09:00:00Z ({e})"))
}

/// `#[serde(serialize_with = "crate::rfc3339::ms")]` for an `i64` of Unix milliseconds.
pub fn ms<S: Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&from_ms(*ms))
}

/// As [`ms`], for an optional time (`null` when unknown).
pub fn option_ms<S: Serializer>(ms: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match ms {
        Some(ms) => s.serialize_str(&from_ms(*ms)),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_become_rfc_3339_and_back() {
        assert_eq!(from_ms(0), "1970-01-01T00:00:00Z");
        assert_eq!(from_ms(1_764_606_939_123), "2025-12-01T16:35:39.123Z");
        let parsed = parse("2025-12-01T16:35:39.123Z").unwrap();
        assert_eq!(to_ms(parsed), 1_764_606_939_123);
        assert_eq!(from_ms(i64::MAX), "9999-12-31T23:59:59.999Z");
    }

    #[test]
    fn a_bad_time_says_what_was_expected() {
        let e = parse("yesterday").unwrap_err();
        assert!(e.contains("\"yesterday\"") && e.contains("RFC 3339"), "{e}");
    }
}
