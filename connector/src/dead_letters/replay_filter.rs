//! Which dead letters a replay moves.

use super::LetterSummary;

/// Each filter given must hold (codes and ids each match any of theirs); `all` moves every letter. An empty filter
/// moves nothing: callers refuse it rather than guess.
#[derive(Debug, Default, Clone)]
pub struct ReplayFilter {
    pub codes: Vec<u16>,
    pub request_ids: Vec<String>,
    pub all: bool,
}

impl ReplayFilter {
    /// No code, no request id and not `all`.
    pub fn is_empty(&self) -> bool {
        !self.all && self.codes.is_empty() && self.request_ids.is_empty()
    }

    /// Whether the letter is chosen.
    pub fn matches(&self, summary: &LetterSummary) -> bool {
        if self.all {
            return true;
        }
        if self.is_empty() {
            return false;
        }
        let code_ok = self.codes.is_empty()
            || summary
                .error_code
                .as_deref()
                .and_then(|c| c.trim().parse::<u16>().ok())
                .is_some_and(|c| self.codes.contains(&c));
        let id_ok = self.request_ids.is_empty()
            || summary
                .request_id
                .as_ref()
                .is_some_and(|id| self.request_ids.contains(id));
        code_ok && id_ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(code: Option<&str>, id: Option<&str>) -> LetterSummary {
        LetterSummary {
            request_id: id.map(str::to_owned),
            error_code: code.map(str::to_owned),
            error_reason: None,
            when_unix_seconds: None,
            size_bytes: 0,
            message_id: None,
        }
    }

    #[test]
    fn an_empty_filter_matches_nothing_and_all_matches_everything() {
        let empty = ReplayFilter::default();
        assert!(empty.is_empty());
        assert!(!empty.matches(&summary(Some("5030"), Some("a"))));
        let all = ReplayFilter {
            all: true,
            ..Default::default()
        };
        assert!(!all.is_empty());
        assert!(all.matches(&summary(None, None)));
    }

    #[test]
    fn filters_combine_and_bad_values_never_match() {
        let f = ReplayFilter {
            codes: vec![5030],
            request_ids: vec!["a".to_owned()],
            all: false,
        };
        assert!(f.matches(&summary(Some("5030"), Some("a"))));
        assert!(!f.matches(&summary(Some("5030"), Some("b"))));
        assert!(!f.matches(&summary(Some("4000"), Some("a"))));
        assert!(!f.matches(&summary(Some("50x30"), Some("a"))));
        assert!(!f.matches(&summary(None, None)));
    }
}
