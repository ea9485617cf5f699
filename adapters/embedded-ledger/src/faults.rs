//! Fault injection, for testing how the gateway copes with an unavailable or rejecting ledger. Configured through
//! `ledger.embedded.faults`; never set in production.

use ledger_port::{Command, LedgerError, RejectionReason};
use schemars::JsonSchema;
use serde::Deserialize;

/// The faults to inject.
// `JsonSchema` (here and below): the gateway's config schema describes `ledger.embedded.faults` from these types.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultPlan {
    #[serde(default)]
    pub rules: Vec<FaultRule>,
}

/// One fault: which commands it hits, what it returns, how often.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// The choice it hits; none = every command, creates included.
    #[serde(default)]
    pub choice: Option<String>,
    /// The template entity it hits (`Shipment`); none = any.
    #[serde(default)]
    pub template: Option<String>,
    pub kind: FaultKind,
    /// Fail the first N attempts of each command id; none = always.
    #[serde(default)]
    pub times: Option<u32>,
}

/// What an injected fault returns.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// A transient fault (the gateway retries).
    Transient,
    /// A permanent rejection with this reason.
    Permanent(RejectionReason),
}

impl FaultRule {
    /// Whether the rule applies to a command.
    pub fn matches(&self, command: &Command) -> bool {
        let (template, choice) = match command {
            Command::Create { template_id, .. } => (template_id, None),
            Command::Exercise {
                template_id,
                choice,
                ..
            } => (template_id, Some(choice.as_str())),
        };
        self.template
            .as_deref()
            .is_none_or(|t| t == template.entity)
            && self.choice.as_deref().is_none_or(|c| Some(c) == choice)
    }

    /// The error to return.
    pub fn error(&self, attempt: u32) -> LedgerError {
        match &self.kind {
            FaultKind::Transient => {
                LedgerError::transient(format!("injected transient fault (attempt {attempt})"))
                    .with_ledger_error("INJECTED_FAULT")
            }
            FaultKind::Permanent(reason) => {
                LedgerError::permanent(*reason, format!("injected permanent fault ({reason:?})"))
                    .with_ledger_error("INJECTED_FAULT")
            }
        }
    }
}
