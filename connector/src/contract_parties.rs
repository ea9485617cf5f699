//! Who signed a contract and who may see it, as the contract index keeps them.
//!
//! Reads answer only a party that may see the lineage's current contract, and a create may not continue a lineage
//! its acting party does not sign, so the index keeps both sets per contract. Many contracts share the same
//! parties, so the sets are interned: a contract pays one pointer, and each distinct set and party name is stored
//! once. Unused entries are swept once the table has doubled since the last sweep, so a long-running gateway keeps
//! only what its active lineages (and answers being built) still hold.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use ledger_port::{CreatedEvent, LedgerValue};

/// A sorted set of party ids, shared.
pub type PartySet = Arc<[Arc<str>]>;

/// A contract's signatories and stakeholders (signatories included).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ContractParties {
    signatories: PartySet,
    stakeholders: PartySet,
}

impl ContractParties {
    /// No signatories and no stakeholders: a contract whose parties are not known.
    pub fn none() -> Self {
        Self {
            signatories: Arc::from(Vec::<Arc<str>>::new()),
            stakeholders: Arc::from(Vec::<Arc<str>>::new()),
        }
    }

    /// Whether `party` signed the contract.
    pub fn is_signatory(&self, party: &str) -> bool {
        contains(&self.signatories, party)
    }

    /// Whether `party` may see the contract.
    pub fn is_stakeholder(&self, party: &str) -> bool {
        contains(&self.stakeholders, party)
    }

    /// The signatories, sorted.
    pub fn signatories(&self) -> impl Iterator<Item = &str> {
        self.signatories.iter().map(|p| &**p)
    }

    /// The stakeholders, sorted.
    pub fn stakeholders(&self) -> impl Iterator<Item = &str> {
        self.stakeholders.iter().map(|p| &**p)
    }
}

fn contains(set: &[Arc<str>], party: &str) -> bool {
    set.binary_search_by(|p| (**p).cmp(party)).is_ok()
}

/// Which parties count as a contract's stakeholders.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StakeholderRule {
    /// Its signatories and observers, as the ledger reports them (a Daml participant, `connector sandbox`
    /// included, reports the parties a template makes stakeholders).
    #[default]
    Declared,
    /// Also every party its payload names, at any depth: the embedded ledger records only the creating parties as
    /// signatories and no observers, while a Daml template's stakeholders are parties its payload names. This is
    /// `connector sandbox`'s rule (`daml-sandbox` `stakeholders::contract_stakeholders`), so a gateway sees the same
    /// stakeholders in process as through the sandbox.
    DeclaredAndPayload,
}

/// The interned party sets of a contract index.
#[derive(Debug)]
pub struct PartyInterner {
    rule: StakeholderRule,
    names: HashSet<Arc<str>>,
    sets: HashSet<PartySet>,
    contracts: HashSet<Arc<ContractParties>>,
    /// Unused entries are swept when `contracts` reaches this size.
    sweep_at: usize,
}

/// The smallest table worth sweeping.
const FIRST_SWEEP_AT: usize = 1024;

impl Default for PartyInterner {
    fn default() -> Self {
        Self::new(StakeholderRule::default())
    }
}

impl PartyInterner {
    /// Which parties count as stakeholders.
    pub fn rule(&self) -> StakeholderRule {
        self.rule
    }

    pub fn new(rule: StakeholderRule) -> Self {
        Self {
            rule,
            names: HashSet::new(),
            sets: HashSet::new(),
            contracts: HashSet::new(),
            sweep_at: FIRST_SWEEP_AT,
        }
    }

    /// The parties of a created contract, shared with every contract that has the same ones.
    pub fn parties_of(&mut self, created: &CreatedEvent) -> Arc<ContractParties> {
        let signatories: BTreeSet<&str> = created.signatories.iter().map(String::as_str).collect();
        let mut stakeholders = signatories.clone();
        stakeholders.extend(created.observers.iter().map(String::as_str));
        if self.rule == StakeholderRule::DeclaredAndPayload {
            for field in &created.arguments.fields {
                collect_payload_parties(&field.value, &mut stakeholders);
            }
        }
        let candidate = ContractParties {
            signatories: self.set(&signatories),
            stakeholders: self.set(&stakeholders),
        };
        if let Some(shared) = self.contracts.get(&candidate) {
            return Arc::clone(shared);
        }
        if self.contracts.len() >= self.sweep_at {
            self.sweep();
        }
        let shared = Arc::new(candidate);
        self.contracts.insert(Arc::clone(&shared));
        shared
    }

    /// How many distinct (signatories, stakeholders) pairs, party sets and party names are held.
    pub fn sizes(&self) -> (usize, usize, usize) {
        (self.contracts.len(), self.sets.len(), self.names.len())
    }

    fn set(&mut self, parties: &BTreeSet<&str>) -> PartySet {
        let names: Vec<Arc<str>> = parties.iter().map(|p| self.name(p)).collect();
        if let Some(shared) = self.sets.get(names.as_slice()) {
            return Arc::clone(shared);
        }
        let shared: PartySet = names.into();
        self.sets.insert(Arc::clone(&shared));
        shared
    }

    fn name(&mut self, party: &str) -> Arc<str> {
        if let Some(shared) = self.names.get(party) {
            return Arc::clone(shared);
        }
        let shared: Arc<str> = Arc::from(party);
        self.names.insert(Arc::clone(&shared));
        shared
    }

    /// Drops the entries only the tables still hold: pairs first, then the sets they held, then the names.
    fn sweep(&mut self) {
        self.contracts.retain(|c| Arc::strong_count(c) > 1);
        self.sets.retain(|s| Arc::strong_count(s) > 1);
        self.names.retain(|n| Arc::strong_count(n) > 1);
        self.sweep_at = (2 * self.contracts.len()).max(FIRST_SWEEP_AT);
    }
}

/// Every party value in `value`, at any depth (as `daml-sandbox`'s `contract_stakeholders` collects them).
fn collect_payload_parties<'a>(value: &'a LedgerValue, into: &mut BTreeSet<&'a str>) {
    match value {
        LedgerValue::Party(p) => {
            into.insert(p);
        }
        LedgerValue::Optional(Some(inner)) => collect_payload_parties(inner, into),
        LedgerValue::List(items) => items.iter().for_each(|v| collect_payload_parties(v, into)),
        LedgerValue::TextMap(entries) => entries
            .iter()
            .for_each(|(_, v)| collect_payload_parties(v, into)),
        LedgerValue::Record(record) => record
            .fields
            .iter()
            .for_each(|f| collect_payload_parties(&f.value, into)),
        LedgerValue::Variant { value, .. } => collect_payload_parties(value, into),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_port::{Record, TemplateId};

    fn created(signatories: &[&str], observers: &[&str], arguments: Record) -> CreatedEvent {
        CreatedEvent {
            node_id: 0,
            offset: 1,
            contract_id: "c".into(),
            template_id: TemplateId::parse("M:E").expect("a valid template id"),
            arguments,
            signatories: signatories.iter().map(|p| (*p).to_owned()).collect(),
            observers: observers.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    fn payload() -> Record {
        Record::new()
            .with("device", LedgerValue::Party("Device01".into()))
            .with("note", LedgerValue::Text("Retailer".into()))
            .with(
                "later",
                LedgerValue::Optional(Some(Box::new(LedgerValue::List(vec![LedgerValue::Party(
                    "Carrier".into(),
                )])))),
            )
            .with(
                "byRole",
                LedgerValue::TextMap(vec![("audit".into(), LedgerValue::Party("Auditor".into()))]),
            )
            .with(
                "nested",
                LedgerValue::Record(Record::new().with(
                    "who",
                    LedgerValue::Variant {
                        constructor: "Some".into(),
                        value: Box::new(LedgerValue::Party("Insurer".into())),
                    },
                )),
            )
    }

    #[test]
    fn payload_parties_count_only_under_the_embedded_rule() {
        let event = created(&["Operator"], &["Bank"], payload());
        let mut embedded = PartyInterner::new(StakeholderRule::DeclaredAndPayload);
        let parties = embedded.parties_of(&event);
        assert_eq!(
            parties.stakeholders().collect::<Vec<_>>(),
            [
                "Auditor", "Bank", "Carrier", "Device01", "Insurer", "Operator"
            ],
            "text that happens to look like a party is not one"
        );
        assert_eq!(parties.signatories().collect::<Vec<_>>(), ["Operator"]);
        assert!(parties.is_signatory("Operator") && !parties.is_signatory("Device01"));

        let mut declared = PartyInterner::new(StakeholderRule::Declared);
        let parties = declared.parties_of(&event);
        assert_eq!(
            parties.stakeholders().collect::<Vec<_>>(),
            ["Bank", "Operator"]
        );
        assert!(!parties.is_stakeholder("Device01"));
    }

    #[test]
    fn contracts_with_the_same_parties_share_one_entry() {
        let mut interner = PartyInterner::new(StakeholderRule::DeclaredAndPayload);
        let a = interner.parties_of(&created(&["Operator"], &[], payload()));
        let b = interner.parties_of(&created(&["Operator"], &[], payload()));
        assert!(Arc::ptr_eq(&a, &b));
        let c = interner.parties_of(&created(&["Device01"], &["Operator"], payload()));
        assert!(!Arc::ptr_eq(&a, &c));
        assert!(
            Arc::ptr_eq(&a.stakeholders, &c.stakeholders),
            "the same stakeholders, other signatories: the stakeholder set is shared"
        );
        assert_eq!(interner.sizes(), (2, 3, 5));
    }

    #[test]
    fn entries_no_contract_holds_are_swept_as_the_table_grows() {
        let mut interner = PartyInterner::new(StakeholderRule::Declared);
        let kept = interner.parties_of(&created(&["Operator"], &[], Record::new()));
        for i in 0..10 * FIRST_SWEEP_AT {
            // Each is dropped at once, as an archived contract's parties are.
            interner.parties_of(&created(&[&format!("Party{i}")], &[], Record::new()));
        }
        let (contracts, sets, names) = interner.sizes();
        assert!(
            contracts <= FIRST_SWEEP_AT + 1,
            "{contracts} pairs held for one live contract"
        );
        assert!(sets <= FIRST_SWEEP_AT + 1 && names <= FIRST_SWEEP_AT + 1);
        let again = interner.parties_of(&created(&["Operator"], &[], Record::new()));
        assert!(
            Arc::ptr_eq(&kept, &again),
            "what a contract still holds survives every sweep"
        );
    }
}
