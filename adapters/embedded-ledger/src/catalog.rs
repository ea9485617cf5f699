//! The template catalog: what the embedded ledger's templates and choices do. On a Daml ledger this is Daml code;
//! here it comes from the workflow mapping.

use ledger_port::TemplateId;
use message_schema::value::LedgerValue;

use crate::condition::Condition;

/// All templates the ledger knows.
#[derive(Debug, Clone, Default)]
pub struct TemplateCatalog {
    pub templates: Vec<TemplateSpec>,
}

/// One template.
#[derive(Debug, Clone)]
pub struct TemplateSpec {
    pub id: TemplateId,
    /// Create preconditions; a failing one rejects the create (Rejected, 4220).
    pub ensure: Vec<Condition>,
    pub choices: Vec<ChoiceSpec>,
}

/// What exercising a choice does to the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChoiceKind {
    /// Archives the contract and creates its successor (same linear id, updated payload).
    #[default]
    Consuming,
    /// Archives the contract; the lineage ends.
    Archive,
    /// Changes nothing.
    NonConsuming,
}

/// A value set on the successor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    Constant(LedgerValue),
    /// The first acting party.
    ActingParty,
}

/// A conditional field update.
#[derive(Debug, Clone)]
pub struct Rule {
    pub condition: Condition,
    pub set_fields: Vec<(String, FieldValue)>,
}

/// One choice.
#[derive(Debug, Clone)]
pub struct ChoiceSpec {
    pub name: String,
    pub kind: ChoiceKind,
    /// Payload field → allowed rendered values; a violation is a Conflict (4090).
    pub when: Vec<(String, Vec<String>)>,
    /// Payload fields holding the parties allowed to exercise; empty = anyone. Otherwise Forbidden (4030).
    pub controllers: Vec<String>,
    /// Must hold before the choice; a violation is Rejected (4220).
    pub assert: Vec<Condition>,
    /// Applied to the successor after the argument's fields.
    pub set_fields: Vec<(String, FieldValue)>,
    /// The first rule whose condition holds also applies its fields (after `set_fields`).
    pub rules: Vec<Rule>,
}

impl TemplateCatalog {
    /// The template with this id (an empty package matches any).
    pub fn template(&self, id: &TemplateId) -> Option<&TemplateSpec> {
        self.templates.iter().find(|t| t.id.matches(id))
    }
}

impl TemplateSpec {
    /// The choice with this name.
    pub fn choice(&self, name: &str) -> Option<&ChoiceSpec> {
        self.choices.iter().find(|c| c.name == name)
    }
}
