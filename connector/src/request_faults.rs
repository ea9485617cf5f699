//! Injected gateway faults, for testing only: what happens when processing one request panics, or when the
//! gateway loses its broker session on one request, every time it sees it. They let the tests prove poison
//! containment end to end on the real binary (beside `ledger.embedded.faults`, which makes the ledger misbehave).
//! Never set this in production.

use schemars::JsonSchema;
use serde::Deserialize;

/// The `faults:` section.
// `JsonSchema` (here and below): the config schema describes `faults:` from these types.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestFaultPlan {
    #[serde(default)]
    pub rules: Vec<RequestFaultRule>,
}

/// One fault: which requests it hits and what happens.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestFaultRule {
    /// Hits the request with this requestId; none = any.
    #[serde(default)]
    pub request_id: Option<String>,
    /// Hits actions whose function maps to this choice; none = any request.
    #[serde(default)]
    pub choice: Option<String>,
    pub kind: RequestFaultKind,
}

/// What an injected gateway fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestFaultKind {
    /// Panics while the request is mapped, before the ledger sees it.
    Panic,
    /// Panics once the request's transaction is committed, before its outcome is recorded.
    PanicAfterCommit,
    /// Aborts the whole process once the request's transaction is committed, before its outcome is recorded: a
    /// crash at the worst moment, on cue. A redelivery the ledger answers by deduplication aborts again, so aim it
    /// at a request whose redelivery is answered without a new commit (an archiving choice).
    AbortAfterCommit,
    /// Ends the broker session as if the connection were lost, before the ledger sees the request.
    EndSession,
}

impl RequestFaultPlan {
    /// The fault that hits a request, if any. `choice` is the mapped choice of an action (none for other requests).
    pub fn fault_for(&self, request_id: &str, choice: Option<&str>) -> Option<RequestFaultKind> {
        self.rules
            .iter()
            .find(|rule| {
                rule.request_id.as_deref().is_none_or(|id| id == request_id)
                    && rule.choice.as_deref().is_none_or(|c| Some(c) == choice)
            })
            .map(|rule| rule.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_match_on_request_id_and_choice() {
        let plan: RequestFaultPlan = serde_json::from_value(serde_json::json!({"rules": [
            {"request_id": "poison", "kind": "panic"},
            {"choice": "Complete", "kind": "end_session"},
        ]}))
        .unwrap();
        assert_eq!(
            plan.fault_for("poison", None),
            Some(RequestFaultKind::Panic)
        );
        assert_eq!(
            plan.fault_for("other", Some("Complete")),
            Some(RequestFaultKind::EndSession)
        );
        assert_eq!(plan.fault_for("other", Some("Transfer")), None);
        assert_eq!(plan.fault_for("other", None), None);
        assert!(
            serde_json::from_value::<RequestFaultPlan>(
                serde_json::json!({"rules": [{"kind": "explode"}]})
            )
            .is_err()
        );
    }
}
