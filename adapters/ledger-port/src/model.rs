//! Commands, transactions and events: the ledger's side of the conversation, shaped like Daml's Ledger API v2.

use std::fmt;

use serde::{Deserialize, Serialize};

use message_schema::value::{LedgerValue, Record};

/// A template identifier: `Module:Entity` (embedded ledger), `<package-id>:Module:Entity` or
/// `#<package-name>:Module:Entity` (Daml). `package` is empty when the text named only module and entity.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TemplateId {
    pub package: String,
    pub module: String,
    pub entity: String,
}

/// Why a template id text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "template id {text:?}: expected \"Module:Entity\", \"<package-id>:Module:Entity\" or \"#<package-name>:Module:Entity\""
)]
pub struct TemplateIdError {
    pub text: String,
}

impl TemplateId {
    /// Parses the textual forms listed on [`TemplateId`].
    pub fn parse(text: &str) -> Result<Self, TemplateIdError> {
        let err = || TemplateIdError {
            text: text.to_owned(),
        };
        let parts: Vec<&str> = text.split(':').collect();
        let (package, module, entity) = match parts.as_slice() {
            [module, entity] => ("", *module, *entity),
            [package, module, entity] if !package.is_empty() && *package != "#" => {
                (*package, *module, *entity)
            }
            _ => return Err(err()),
        };
        let is_name = |s: &str| {
            !s.is_empty()
                && s.split('.').all(|seg| {
                    !seg.is_empty()
                        && seg
                            .chars()
                            .all(|c| c.is_alphanumeric() || c == '_' || c == '\'')
                })
        };
        if !is_name(module) || !is_name(entity) {
            return Err(err());
        }
        Ok(Self {
            package: package.to_owned(),
            module: module.to_owned(),
            entity: entity.to_owned(),
        })
    }

    /// Whether `other` names the same template, treating an empty package on either side as "any package".
    pub fn matches(&self, other: &TemplateId) -> bool {
        self.module == other.module
            && self.entity == other.entity
            && (self.package.is_empty()
                || other.package.is_empty()
                || self.package == other.package)
    }
}

impl fmt::Display for TemplateId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.package.is_empty() {
            write!(f, "{}:{}", self.module, self.entity)
        } else {
            write!(f, "{}:{}:{}", self.package, self.module, self.entity)
        }
    }
}

/// One ledger command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    Create {
        template_id: TemplateId,
        arguments: Record,
    },
    Exercise {
        template_id: TemplateId,
        contract_id: String,
        choice: String,
        argument: LedgerValue,
    },
}

/// A command with the identity the ledger deduplicates on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submission {
    /// Deterministic per request: the same request always yields the same command id.
    pub command_id: String,
    pub act_as: Vec<String>,
    pub command: Command,
}

/// A contract creation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedEvent {
    /// Position of the event in its transaction, from 0.
    pub node_id: i32,
    pub offset: i64,
    pub contract_id: String,
    pub template_id: TemplateId,
    pub arguments: Record,
    pub signatories: Vec<String>,
    pub observers: Vec<String>,
}

/// A contract archival (by a consuming exercise).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchivedEvent {
    pub node_id: i32,
    pub offset: i64,
    pub contract_id: String,
    pub template_id: TemplateId,
}

/// A choice exercise; in a transaction its consequences (archive of the old contract, create of the successor)
/// follow it with higher node ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExercisedEvent {
    pub node_id: i32,
    pub offset: i64,
    pub contract_id: String,
    pub template_id: TemplateId,
    pub choice: String,
    pub argument: LedgerValue,
    pub acting_parties: Vec<String>,
    pub consuming: bool,
}

/// A transaction event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    Created(CreatedEvent),
    Archived(ArchivedEvent),
    Exercised(ExercisedEvent),
}

/// A committed transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    /// The ledger's update id (embedded: SHA-256 hex of the transaction's canonical content).
    pub update_id: String,
    /// The submitting command's id; empty when the submitter is not visible to the reader.
    pub command_id: String,
    pub offset: i64,
    /// Ledger effective time, microseconds since the Unix epoch.
    pub effective_at_micros: i64,
    pub events: Vec<Event>,
}

/// An active contract, with the update id of the transaction that created it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveContract {
    pub created: CreatedEvent,
    pub created_update_id: String,
}

/// The active contract set at an offset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveContracts {
    pub offset: i64,
    pub contracts: Vec<ActiveContract>,
}

/// Which templates (and as which parties) a reader wants to see. Empty `templates` means every template.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateFilter {
    pub templates: Vec<TemplateId>,
    pub parties: Vec<String>,
}

impl UpdateFilter {
    /// Whether an event on `template` passes the filter.
    pub fn admits(&self, template: &TemplateId) -> bool {
        self.templates.is_empty() || self.templates.iter().any(|t| t.matches(template))
    }
}
