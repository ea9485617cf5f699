//! "Did you mean …?": the closest valid name to a misspelt one, for every error that names something unknown (config
//! keys, workflows, functions, fields, parameter types, test-file keys, ingress names), so a mistake is answered with
//! the fix rather than only with the list to search.
//!
//! One rule everywhere, so users learn what to expect: a name that differs only in case, else the candidate within a
//! Damerau–Levenshtein distance of a third of the given name's length (at least 1: rustc's threshold, small enough
//! that `Teleport` is not taken for `Complete`), else a candidate the given name begins (`Ingest` →
//! `IngestTelemetry`: people type the start of a long name). Nothing is suggested when nothing is that close: a
//! wrong suggestion teaches the wrong thing.

/// The shortest prefix worth completing: a one- or two-letter start matches too many names to mean one of them.
const MIN_PREFIX_CHARS: usize = 3;

/// The candidate closest to `given`, if one is close enough to be what was meant; ties go to the earlier candidate.
///
/// ```
/// use connector::closest_name::did_you_mean;
/// let functions = ["IngestTelemetry", "TransferResponsibility", "Complete"];
/// assert_eq!(did_you_mean("Ingest", functions), Some("IngestTelemetry"));
/// assert_eq!(did_you_mean("Compleet", functions), Some("Complete"));
/// assert_eq!(did_you_mean("Teleport", functions), None);
/// ```
pub fn did_you_mean<'a>(
    given: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let given_lower = given.to_lowercase();
    let given_chars = given.chars().count();
    let threshold = (given_chars.max(3) / 3).max(1);
    let mut by_distance: Option<(usize, &'a str)> = None;
    let mut by_prefix: Option<&'a str> = None;
    for candidate in candidates {
        if candidate == given {
            // The name is valid; nothing to suggest (callers only ask about unknown names, but be safe).
            return None;
        }
        let candidate_lower = candidate.to_lowercase();
        if candidate_lower == given_lower {
            return Some(candidate);
        }
        // The distance is at least the difference in length, so most candidates are ruled out without the
        // quadratic comparison; that also bounds the work when `given` comes from a message (up to a megabyte).
        if given_chars.abs_diff(candidate.chars().count()) <= threshold {
            let distance = strsim::damerau_levenshtein(&given_lower, &candidate_lower);
            if distance <= threshold && by_distance.is_none_or(|(best, _)| distance < best) {
                by_distance = Some((distance, candidate));
            }
        }
        if given_chars >= MIN_PREFIX_CHARS
            && candidate_lower.starts_with(&given_lower)
            && by_prefix.is_none_or(|best| candidate.chars().count() < best.chars().count())
        {
            by_prefix = Some(candidate);
        }
    }
    by_distance.map(|(_, name)| name).or(by_prefix)
}

/// ` — did you mean "X"?` when a candidate is close, else nothing: appended to an "unknown …" message.
pub fn suggestion<'a>(given: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    did_you_mean(given, candidates)
        .map(|name| format!(" — did you mean {name:?}?"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FUNCTIONS: [&str; 4] = [
        "IngestTelemetry",
        "TransferResponsibility",
        "Complete",
        "Archive",
    ];

    #[test]
    fn a_typo_within_a_third_of_the_length_is_suggested() {
        assert_eq!(
            did_you_mean("IngestTelemtry", FUNCTIONS),
            Some("IngestTelemetry")
        );
        // A transposition counts as one edit (Damerau), so two swapped letters in a short name still match.
        assert_eq!(did_you_mean("Arhcive", FUNCTIONS), Some("Archive"));
        assert_eq!(
            did_you_mean("prefetsh", ["url", "prefetch"]),
            Some("prefetch")
        );
    }

    #[test]
    fn case_differences_and_prefixes_are_suggested() {
        assert_eq!(
            did_you_mean("ingesttelemetry", FUNCTIONS),
            Some("IngestTelemetry")
        );
        assert_eq!(did_you_mean("Ingest", FUNCTIONS), Some("IngestTelemetry"));
        assert_eq!(
            did_you_mean("token", ["url", "user_id", "token_file"]),
            Some("token_file")
        );
        // The shortest completion wins: it needs the fewest letters added.
        assert_eq!(
            did_you_mean("comp", ["compact_min_transactions", "compact"]),
            Some("compact")
        );
    }

    #[test]
    fn nothing_is_suggested_when_nothing_is_close() {
        assert_eq!(did_you_mean("Teleport", FUNCTIONS), None);
        assert_eq!(
            did_you_mean("FrozenTransportation", ["RefrigeratedTransportation"]),
            None
        );
        // Two letters begin too many names to mean one.
        assert_eq!(did_you_mean("In", FUNCTIONS), None);
        assert_eq!(did_you_mean("x", Vec::<&str>::new()), None);
        assert_eq!(did_you_mean("Complete", FUNCTIONS), None);
    }

    /// A name from an ingress message may be megabytes long: it must not cost a name-by-megabytes comparison (one
    /// takes about two seconds and 800 MB here; skipping it, a few milliseconds).
    #[test]
    fn a_huge_name_is_ruled_out_by_its_length() {
        let huge = "IngestTelemetry".repeat(280_000);
        let started = std::time::Instant::now();
        assert_eq!(did_you_mean(&huge, FUNCTIONS), None);
        assert!(
            started.elapsed() < std::time::Duration::from_millis(250),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn the_closest_of_several_wins_and_ties_keep_the_given_order() {
        assert_eq!(
            did_you_mean("quorom", ["classic", "quorum"]),
            Some("quorum")
        );
        assert_eq!(did_you_mean("abd", ["abc", "abe"]), Some("abc"));
        assert_eq!(
            suggestion("Compleet", FUNCTIONS),
            " — did you mean \"Complete\"?"
        );
        assert_eq!(suggestion("Teleport", FUNCTIONS), "");
    }
}
