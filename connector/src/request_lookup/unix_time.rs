//! Times as the request lookup shows and accepts them: unix milliseconds, and RFC 3339 UTC with milliseconds
//! (`2026-11-30T04:39:23.123Z`).

/// Unix milliseconds as RFC 3339 UTC, always with three fractional digits.
pub fn rfc3339_ms(unix_ms: u64) -> String {
    let secs = i64::try_from(unix_ms / 1000).unwrap_or(i64::MAX / 1_000_000);
    let whole = message_schema::time::format_timestamp(secs.saturating_mul(1_000_000));
    // `format_timestamp` ends a whole second with `Z`; the milliseconds go before it.
    let stem = whole.strip_suffix('Z').unwrap_or(&whole);
    format!("{stem}.{:03}Z", unix_ms % 1000)
}

/// A time given as unix milliseconds (digits only) or RFC 3339; none when it is neither or before 1970.
pub fn parse_unix_ms_or_rfc3339(text: &str) -> Option<u64> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok();
    }
    let micros = message_schema::time::parse_timestamp_rfc3339(text)?;
    u64::try_from(micros.div_euclid(1000)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_are_shown_in_rfc3339_and_read_back_in_both_forms() {
        assert_eq!(rfc3339_ms(1_796_013_563_123), "2026-11-30T04:39:23.123Z");
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            parse_unix_ms_or_rfc3339("2026-11-30T04:39:23.123Z"),
            Some(1_796_013_563_123)
        );
        assert_eq!(
            parse_unix_ms_or_rfc3339("2026-11-30T05:39:23.123+01:00"),
            Some(1_796_013_563_123)
        );
        assert_eq!(
            parse_unix_ms_or_rfc3339("1796013563123"),
            Some(1_796_013_563_123)
        );
        for bad in [
            "",
            "yesterday",
            "-5",
            "1969-12-31T23:59:59Z",
            "99999999999999999999999",
        ] {
            assert_eq!(parse_unix_ms_or_rfc3339(bad), None, "{bad:?}");
        }
    }
}
