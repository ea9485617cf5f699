//! RFC 3339 timestamps and ISO dates, to and from the ledger's microseconds and days since the Unix epoch.
//!
//! Written here (civil-date arithmetic after Howard Hinnant's algorithms) to keep the crate free of a time library
//! for four small functions.

/// The earliest time the ledger holds (Daml's `Timestamp`), 0001-01-01T00:00:00Z, in microseconds since the epoch.
pub const MIN_TIMESTAMP: i64 = -62_135_596_800_000_000;
/// The latest time the ledger holds, 9999-12-31T23:59:59.999999Z. Inside the range every time formats as RFC 3339.
pub const MAX_TIMESTAMP: i64 = 253_402_300_799_999_999;
/// The earliest date the ledger holds (Daml's `Date`), 0001-01-01, in days since the epoch.
pub const MIN_DATE: i32 = -719_162;
/// The latest date the ledger holds, 9999-12-31.
pub const MAX_DATE: i32 = 2_932_896;

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// The date of a day count.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    (year, month, day)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_ymd(s: &str) -> Option<(i64, u32, u32)> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = digits(&s[0..4])? as i64;
    let month = digits(&s[5..7])?;
    let day = digits(&s[8..10])?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some((year, month, day))
}

/// Parses `YYYY-MM-DD` into days since the epoch; dates before 0001-01-01 (year 0000) are refused.
///
/// ```
/// assert_eq!(message_schema::time::parse_date("1970-01-02"), Some(1));
/// assert_eq!(message_schema::time::parse_date("2026-02-30"), None);
/// ```
pub fn parse_date(s: &str) -> Option<i32> {
    let (y, m, d) = parse_ymd(s)?;
    i32::try_from(days_from_civil(y, m, d))
        .ok()
        .filter(|days| (MIN_DATE..=MAX_DATE).contains(days))
}

/// Formats days since the epoch as `YYYY-MM-DD`.
///
/// ```
/// assert_eq!(message_schema::time::format_date(20416), "2025-11-24");
/// ```
pub fn format_date(days: i32) -> String {
    let (y, m, d) = civil_from_days(days as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Parses an RFC 3339 timestamp (`2026-11-24T10:00:00Z`, fractions up to microseconds, `Z` or `±hh:mm`) into
/// microseconds since the epoch. More than 6 fractional digits are refused rather than rounded, and so is a time
/// outside [`MIN_TIMESTAMP`]..=[`MAX_TIMESTAMP`] (an offset can move `0000-…` or `9999-12-31T23:…` out of it).
///
/// ```
/// assert_eq!(message_schema::time::parse_timestamp_rfc3339("1970-01-01T00:00:01.5Z"), Some(1_500_000));
/// assert_eq!(message_schema::time::parse_timestamp_rfc3339("1970-01-01T01:00:00+01:00"), Some(0));
/// ```
pub fn parse_timestamp_rfc3339(s: &str) -> Option<i64> {
    if s.len() < 20 || !s.is_ascii() {
        return None;
    }
    let (y, mo, d) = parse_ymd(&s[..10])?;
    if !matches!(s.as_bytes()[10], b'T' | b't' | b' ') {
        return None;
    }
    let time = &s[11..];
    let b = time.as_bytes();
    if b.len() < 9 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let hour = digits(&time[0..2])?;
    let minute = digits(&time[3..5])?;
    let second = digits(&time[6..8])?;
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &time[8..];
    let mut micros = 0i64;
    if let Some(frac) = rest.strip_prefix('.') {
        let len = frac.bytes().take_while(u8::is_ascii_digit).count();
        if len == 0 || len > 6 {
            return None;
        }
        micros = digits(&frac[..len])? as i64 * 10i64.pow(6 - len as u32);
        rest = &frac[len..];
    }
    let offset_secs: i64 = match rest {
        "Z" | "z" => 0,
        _ => {
            let rb = rest.as_bytes();
            if rb.len() != 6 || rb[3] != b':' || !matches!(rb[0], b'+' | b'-') {
                return None;
            }
            let oh = digits(&rest[1..3])? as i64;
            let om = digits(&rest[4..6])? as i64;
            if oh > 23 || om > 59 {
                return None;
            }
            let sign = if rb[0] == b'-' { -1 } else { 1 };
            sign * (oh * 3600 + om * 60)
        }
    };
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + hour as i64 * 3600 + minute as i64 * 60 + second.min(59) as i64
        - offset_secs;
    secs.checked_mul(1_000_000)?
        .checked_add(micros)
        .filter(|t| (MIN_TIMESTAMP..=MAX_TIMESTAMP).contains(t))
}

/// Formats microseconds since the epoch as RFC 3339 UTC, with a fraction only when it is not zero.
///
/// ```
/// assert_eq!(message_schema::time::format_timestamp(0), "1970-01-01T00:00:00Z");
/// assert_eq!(message_schema::time::format_timestamp(123), "1970-01-01T00:00:00.000123Z");
/// ```
pub fn format_timestamp(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let (h, mi, s) = (sod / 3600, (sod % 3600) / 60, sod % 60);
    if frac == 0 {
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    } else {
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{frac:06}Z")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_across_eras() {
        for days in [-700_000, -1, 0, 1, 59, 60, 10_957, 20_416, 2_932_896] {
            assert_eq!(parse_date(&format_date(days)), Some(days), "{days}");
        }
        assert_eq!(parse_date("2000-02-29"), Some(11_016));
        assert_eq!(parse_date("1900-02-29"), None);
        assert_eq!(parse_date("2026-13-01"), None);
        assert_eq!(parse_date("2026-1-01"), None);
    }

    #[test]
    fn timestamps_round_trip_and_refuse_bad_text() {
        for micros in [0, 1, 1_764_000_000_000_000, -1, 1_000_000_123_456] {
            assert_eq!(
                parse_timestamp_rfc3339(&format_timestamp(micros)),
                Some(micros),
                "{micros}"
            );
        }
        assert_eq!(
            parse_timestamp_rfc3339("2026-11-24T10:00:00-02:30"),
            parse_timestamp_rfc3339("2026-11-24T12:30:00Z")
        );
        for bad in [
            "2026-11-24",
            "2026-11-24T10:00:00",
            "2026-11-24T25:00:00Z",
            "2026-11-24T10:00:00.1234567Z",
            "2026-11-24T10:00:00+1:00",
            "2026-11-24X10:00:00Z",
            "yesterday at noon",
        ] {
            assert_eq!(parse_timestamp_rfc3339(bad), None, "{bad}");
        }
    }

    /// Found probing the process_message fuzz target: an offset could move a time out of years 0000–9999, which
    /// was accepted and rendered as `-001-12-31T23:59:00Z` (not RFC 3339, and refused by this very parser); and year
    /// 0000, which Daml's Timestamp and Date (0001-01-01 to 9999-12-31) do not have, was accepted too.
    #[test]
    fn times_outside_the_ledger_range_are_refused() {
        for bad in [
            "0000-01-01T00:00:00+00:01",
            "0000-12-31T23:59:59.999999Z",
            "9999-12-31T23:59:59-01:00",
        ] {
            assert_eq!(parse_timestamp_rfc3339(bad), None, "{bad}");
        }
        assert_eq!(parse_date("0000-02-29"), None);
        assert_eq!(
            parse_timestamp_rfc3339("0001-01-01T00:00:00Z"),
            Some(-62_135_596_800_000_000)
        );
        assert_eq!(
            parse_timestamp_rfc3339("9999-12-31T23:59:59.999999Z"),
            Some(253_402_300_799_999_999)
        );
        assert_eq!(
            parse_timestamp_rfc3339("0000-12-31T23:00:00-01:00"),
            Some(-62_135_596_800_000_000),
            "an offset may move a time into the range"
        );
        assert_eq!(parse_date("0001-01-01"), Some(-719_162));
        assert_eq!(parse_date("9999-12-31"), Some(2_932_896));
    }
}
