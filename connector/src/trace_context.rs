//! W3C Trace Context (level 1) as it crosses the gateway: `traceparent` and `tracestate` read from an ingress
//! message's headers, validated strictly, and written back out for egress messages and ledger calls.
//!
//! The headers come from whoever can publish to the ingress queue, so reading them never fails and never panics:
//! anything that is not exactly a version-00 `traceparent` (32 lowercase hex trace id not all zero, 16 lowercase hex
//! parent id not all zero, 2 lowercase hex flags) counts as absent, and the gateway starts a new trace. A
//! `tracestate` is kept only beside a valid `traceparent` and only when every list member is well formed; nothing
//! from the sender is ever copied out unvalidated.

use std::fmt::Write;

/// The sampled flag, the only flag level 1 defines.
pub const SAMPLED: u8 = 0x01;

/// The `tracestate` length the gateway passes on; the spec asks vendors to propagate at least 512 characters.
const TRACESTATE_MAX_BYTES: usize = 512;
/// Most list members in a `tracestate`; with more, the whole header is discarded.
const TRACESTATE_MAX_MEMBERS: usize = 32;
/// Members at least this long are the first dropped when the list is too long to pass on.
const TRACESTATE_LONG_MEMBER: usize = 128;

/// A trace context: which trace, which span is the parent, the flags, and the vendors' `tracestate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    pub trace_id: [u8; 16],
    /// The span the next hop is a child of: the sender's span on ingress, the gateway's on egress.
    pub parent_id: [u8; 8],
    pub flags: u8,
    /// A validated `tracestate`, as it is to be sent on.
    pub trace_state: Option<String>,
}

impl TraceContext {
    /// The trace context of an ingress message's `traceparent` and `tracestate` header values; None when the
    /// `traceparent` is absent or invalid (then its `tracestate` is ignored too, as the spec requires).
    pub fn from_headers(traceparent: Option<&str>, tracestate: Option<&str>) -> Option<Self> {
        let (trace_id, parent_id, flags) = parse_traceparent(traceparent?)?;
        Some(Self {
            trace_id,
            parent_id,
            flags,
            trace_state: tracestate.and_then(parse_tracestate),
        })
    }

    /// The `traceparent` header value: `00-<trace id>-<parent id>-<flags>`.
    pub fn traceparent(&self) -> String {
        let mut out = String::with_capacity(55);
        out.push_str("00-");
        push_hex(&mut out, &self.trace_id);
        out.push('-');
        push_hex(&mut out, &self.parent_id);
        let _ = write!(out, "-{:02x}", self.flags);
        out
    }

    /// The trace id as 32 lowercase hex digits (what logs and spans show).
    pub fn trace_id_hex(&self) -> String {
        hex(&self.trace_id)
    }

    /// Whether the sender asked for this trace to be recorded.
    pub fn sampled(&self) -> bool {
        self.flags & SAMPLED != 0
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    push_hex(&mut out, bytes);
    out
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
}

/// A version-00 `traceparent`: exactly 55 bytes, lowercase hex fields separated by `-`, neither id all zero.
/// Level 1 would let a parser read future versions leniently; the gateway does not, so nothing it does not fully
/// understand is passed on.
pub fn parse_traceparent(value: &str) -> Option<([u8; 16], [u8; 8], u8)> {
    let bytes = value.as_bytes();
    if bytes.len() != 55 || bytes[2] != b'-' || bytes[35] != b'-' || bytes[52] != b'-' {
        return None;
    }
    let version = lower_hex::<1>(&bytes[0..2])?;
    if version != [0] {
        return None;
    }
    let trace_id = lower_hex::<16>(&bytes[3..35])?;
    let parent_id = lower_hex::<8>(&bytes[36..52])?;
    let [flags] = lower_hex::<1>(&bytes[53..55])?;
    if trace_id == [0; 16] || parent_id == [0; 8] {
        return None;
    }
    Some((trace_id, parent_id, flags))
}

/// `N` bytes from `2N` lowercase hex digits.
fn lower_hex<const N: usize>(digits: &[u8]) -> Option<[u8; N]> {
    if digits.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (i, pair) in digits.chunks_exact(2).enumerate() {
        out[i] = (digit(pair[0])? << 4) | digit(pair[1])?;
    }
    Some(out)
}

fn digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// A `tracestate` as it may be passed on: every list member `key=value` well formed (empty members, i.e. runs of
/// commas and spaces, are allowed and dropped), at most 32 members, no key twice; else None (the whole header is
/// discarded). A list longer than 512 bytes loses its members of 128 bytes or more first, then members from the end.
pub fn parse_tracestate(value: &str) -> Option<String> {
    let mut members: Vec<&str> = Vec::new();
    for member in value.split(',') {
        let member = member.trim_matches([' ', '\t']);
        if member.is_empty() {
            continue;
        }
        let (key, val) = member.split_once('=')?;
        if !valid_key(key) || !valid_value(val) {
            return None;
        }
        if members
            .iter()
            .any(|m| m.split_once('=').map(|(k, _)| k) == Some(key))
        {
            return None;
        }
        members.push(member);
        if members.len() > TRACESTATE_MAX_MEMBERS {
            return None;
        }
    }
    let joined_len = |members: &[&str]| {
        members.iter().map(|m| m.len()).sum::<usize>() + members.len().saturating_sub(1)
    };
    while joined_len(&members) > TRACESTATE_MAX_BYTES {
        match members
            .iter()
            .rposition(|m| m.len() >= TRACESTATE_LONG_MEMBER)
        {
            Some(long) => members.remove(long),
            None => members.remove(members.len() - 1),
        };
    }
    if members.is_empty() {
        None
    } else {
        Some(members.join(","))
    }
}

/// `simple-key` (a lowercase letter, then up to 255 of `a-z0-9_-*/`) or `tenant-id@system-id` (up to 241 and 14
/// of them, the tenant starting with a letter or digit, the system with a letter).
fn valid_key(key: &str) -> bool {
    let allowed = |c: u8| matches!(c, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'*' | b'/');
    match key.split_once('@') {
        None => {
            let b = key.as_bytes();
            !b.is_empty()
                && b.len() <= 256
                && b[0].is_ascii_lowercase()
                && b.iter().all(|&c| allowed(c))
        }
        Some((tenant, system)) => {
            let (t, s) = (tenant.as_bytes(), system.as_bytes());
            !t.is_empty()
                && t.len() <= 241
                && (t[0].is_ascii_lowercase() || t[0].is_ascii_digit())
                && t.iter().all(|&c| allowed(c))
                && !s.is_empty()
                && s.len() <= 14
                && s[0].is_ascii_lowercase()
                && s.iter().all(|&c| allowed(c))
        }
    }
}

/// Up to 256 printable ASCII characters other than `,` and `=`, not ending in a space.
fn valid_value(value: &str) -> bool {
    let b = value.as_bytes();
    !b.is_empty()
        && b.len() <= 256
        && b.iter()
            .all(|&c| (0x20..=0x7e).contains(&c) && c != b',' && c != b'=')
        && b.last() != Some(&b' ')
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_valid_traceparent_is_read_and_written_back_unchanged() {
        let context = TraceContext::from_headers(
            Some(VALID),
            Some("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"),
        )
        .expect("valid");
        assert_eq!(context.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(hex(&context.parent_id), "00f067aa0ba902b7");
        assert!(context.sampled());
        assert_eq!(context.traceparent(), VALID);
        assert_eq!(
            context.trace_state.as_deref(),
            Some("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7")
        );
        let unsampled = VALID.replace("-01", "-00");
        assert!(
            !TraceContext::from_headers(Some(&unsampled), None)
                .expect("valid")
                .sampled()
        );
    }

    #[test]
    fn invalid_traceparents_are_absent() {
        let junk = "x".repeat(10 * 1024);
        let cases = [
            "",
            "00",
            &VALID[..54],                                              // one short
            &format!("{VALID}0"),                                      // one long
            &format!("{VALID}-"), // a future version's extra field
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", // uppercase trace id
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01", // uppercase parent id
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A", // uppercase flags
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01", // all-zero trace id
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", // all-zero parent id
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", // version ff
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", // a version other than 00
            "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01", // wrong separators
            "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01", // not hex
            " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0", // leading space
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-+1", // a sign
            "00-4bf92f3577b34da6a3ce929d0e0e47é-00f067aa0ba902b7-01", // multi-byte
            &junk,
        ];
        for case in cases {
            assert_eq!(
                TraceContext::from_headers(Some(case), Some("congo=t61rcWkgMzE")),
                None,
                "{case:?}"
            );
        }
        assert_eq!(
            TraceContext::from_headers(None, Some("congo=t61rcWkgMzE")),
            None
        );
    }

    #[test]
    fn tracestate_is_kept_only_when_every_member_is_well_formed() {
        assert_eq!(
            parse_tracestate("a=1, b@vendor=2 ,,"),
            Some("a=1,b@vendor=2".to_owned())
        );
        assert_eq!(parse_tracestate(""), None);
        assert_eq!(parse_tracestate(" , "), None);
        for bad in [
            "A=1",        // uppercase key
            "1a=1",       // a simple key starting with a digit
            "a",          // no value
            "a=",         // empty value
            "a=x\u{7f}",  // not printable
            "a=é",        // not ASCII
            "a=1,a=2",    // a key twice
            "a@=1",       // empty system id
            "a@Vendor=1", // uppercase system id
            "a=b=c",      // `=` in a value
        ] {
            assert_eq!(parse_tracestate(bad), None, "{bad:?}");
        }
        assert_eq!(
            parse_tracestate("a=1 \t").as_deref(),
            Some("a=1"),
            "spaces around members are list whitespace"
        );
        let many: Vec<String> = (0..33).map(|i| format!("k{i}=v")).collect();
        assert_eq!(parse_tracestate(&many.join(",")), None, "33 members");
        assert!(
            parse_tracestate(&many[..32].join(",")).is_some(),
            "32 members"
        );
    }

    #[test]
    fn a_long_tracestate_loses_long_members_first_then_the_last_ones() {
        let long = format!("big={}", "x".repeat(200));
        let small: Vec<String> = (0..30)
            .map(|i| format!("k{i:02}={}", "y".repeat(12)))
            .collect();
        let header = format!("{},{long},{}", small[..15].join(","), small[15..].join(","));
        let kept = parse_tracestate(&header).expect("kept");
        assert!(kept.len() <= TRACESTATE_MAX_BYTES, "{}", kept.len());
        assert!(!kept.contains("big="), "the long member goes first");
        assert!(kept.starts_with("k00="), "{kept}");
    }

    proptest! {
        /// Whatever a sender puts in the headers: no panic, and whatever is accepted is written back exactly as a
        /// valid header would be (so nothing unvalidated is ever passed on).
        #[test]
        fn hostile_headers_never_panic_and_what_passes_is_canonical(
            traceparent in prop_oneof![
                ".{0,80}",
                "[0-9a-fA-F-]{50,60}",
                "0[0-9a-f]-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}",
                proptest::collection::vec(any::<u8>(), 0..120)
                    .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
            ],
            tracestate in ".{0,600}",
        ) {
            if let Some(context) = TraceContext::from_headers(Some(&traceparent), Some(&tracestate)) {
                prop_assert_eq!(context.traceparent(), traceparent.clone());
                prop_assert!(context.trace_id != [0; 16] && context.parent_id != [0; 8]);
                if let Some(state) = &context.trace_state {
                    prop_assert!(state.len() <= TRACESTATE_MAX_BYTES);
                    prop_assert_eq!(parse_tracestate(state), Some(state.clone()));
                    prop_assert!(state.bytes().all(|c| (0x20..=0x7e).contains(&c)));
                }
            }
        }

        #[test]
        fn every_well_formed_traceparent_round_trips(
            trace_id in any::<[u8; 16]>(),
            parent_id in any::<[u8; 8]>(),
            flags in any::<u8>(),
        ) {
            prop_assume!(trace_id != [0; 16] && parent_id != [0; 8]);
            let context = TraceContext { trace_id, parent_id, flags, trace_state: None };
            let text = context.traceparent();
            prop_assert_eq!(TraceContext::from_headers(Some(&text), None), Some(context));
        }
    }
}
