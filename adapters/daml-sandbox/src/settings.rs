//! What a sandbox is configured with: the access token it demands, the latency it adds to submissions, the
//! templates its ledger knows, and where it records the trace context calls arrive with.

use std::fmt;
use std::time::Duration;

use ledger_port::TemplateId;

use crate::trace_context_log::TraceContextLog;

/// Sandbox settings. `Default` is an open sandbox (no token), no added latency, no template check.
#[derive(Debug, Clone, Default)]
pub struct SandboxSettings {
    /// When set, every call must carry `authorization: Bearer <token>`; any other call gets UNAUTHENTICATED.
    pub token: Option<AccessToken>,
    /// Waited before each command submission, to stand in for a participant's round trip in benchmarks.
    pub submission_latency: Duration,
    /// The templates the ledger knows. A filter naming any other template is answered with INVALID_ARGUMENT /
    /// `TEMPLATES_OR_INTERFACES_NOT_FOUND`, as a participant does. `None` accepts every template in filters.
    pub known_templates: Option<Vec<TemplateId>>,
    /// What `PartyManagementService.GetParticipantId` answers (`sandbox::<ledger id>`); empty: `sandbox`.
    pub participant_id: String,
    /// Where the trace context of every call is written down, for tests (`--record-trace-context`).
    pub trace_context_log: Option<TraceContextLog>,
}

/// The bearer token a sandbox accepts. Its text never appears in `Debug` output, logs or errors.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(String);

/// Why a token text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the access token is empty; expected one line of printable ASCII (e.g. a JWT)")]
    Empty,
    #[error(
        "the access token contains whitespace or non-printable characters inside it; expected one line of printable ASCII (e.g. a JWT)"
    )]
    NotPrintable,
}

impl AccessToken {
    /// A token from the text of a token file: surrounding whitespace (a trailing newline) is dropped; what is left
    /// must be printable ASCII without spaces, as an HTTP header value needs.
    pub fn new(text: &str) -> Result<Self, TokenError> {
        let token = text.trim();
        if token.is_empty() {
            return Err(TokenError::Empty);
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(TokenError::NotPrintable);
        }
        Ok(Self(token.to_owned()))
    }

    /// Whether `presented` is this token. Compares every byte whatever the first difference, so the time taken does
    /// not tell an attacker how much of a guess was right.
    pub fn matches(&self, presented: &[u8]) -> bool {
        let expected = self.0.as_bytes();
        if expected.len() != presented.len() {
            return false;
        }
        expected
            .iter()
            .zip(presented)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_trimmed_checked_and_never_shown() {
        let token = AccessToken::new("eyJhbGciOi.secret-part.sig\n").expect("valid");
        assert!(token.matches(b"eyJhbGciOi.secret-part.sig"));
        assert!(!token.matches(b"eyJhbGciOi.secret-part.sih"));
        assert!(!token.matches(b"eyJhbGciOi.secret-part"));
        let settings = SandboxSettings {
            token: Some(token),
            ..SandboxSettings::default()
        };
        let shown = format!("{settings:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("<redacted>"));

        assert_eq!(AccessToken::new(" \n"), Err(TokenError::Empty));
        assert_eq!(AccessToken::new("a b"), Err(TokenError::NotPrintable));
        assert_eq!(AccessToken::new("a\u{e9}"), Err(TokenError::NotPrintable));
    }
}
