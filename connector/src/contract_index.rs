//! The linear id → active contract index: how a `contractLedgerIdentifier` finds the contract to exercise or read.
//!
//! A lineage's contract id changes with every consuming choice; the linear id, a payload field, does not. The index
//! is loaded from the ledger's active contract set at start and kept current from every transaction the gateway
//! sees (its own and, through the observer, everyone else's).
//!
//! A lineage changes only through an archive of its current contract (an exercise archives it and creates the
//! successor in one transaction). A create whose linear id is already an active lineage, by another contract, is
//! left out: nobody takes over a lineage by creating a contract with its linear id. Loading an active contract set,
//! the first contract of a linear id (in ledger order) wins.
//!
//! Two writers keep it current: the processor applies its own transactions as soon as they are sequenced, and the
//! index follower (`gateway/index_follower.rs`) applies every transaction of the ledger's update stream in offset
//! order. Each transaction is applied once, by whichever comes first ([`AppliedOffsets`]): applying one again could
//! bring back a lineage archived since.
//!
//! It is sized for 100,000 and more lineages: payloads are kept postcard-encoded ([`CompactRecord`]), a contract id
//! is stored once for both maps, and template ids and party sets are shared.

use std::collections::HashMap;
use std::sync::Arc;

use futures::StreamExt;
use futures::stream::BoxStream;
use ledger_port::{ActiveContract, CreatedEvent, Event, LedgerError, TemplateId, Transaction};
use message_schema::value::{LedgerValue, Record};
use uuid::Uuid;

use crate::applied_offsets::AppliedOffsets;
use crate::compact_record::CompactRecord;
use crate::contract_parties::{ContractParties, PartyInterner, StakeholderRule};
use crate::mapping::WorkflowMapping;

/// The current contract of one lineage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedContract {
    pub linear_id: Uuid,
    pub contract_id: Arc<str>,
    pub template_id: Arc<TemplateId>,
    pub payload: CompactRecord,
    /// The update id of the transaction that created this contract.
    pub update_id: String,
    /// Who signed it and who may see it (shared by every contract with the same parties).
    pub parties: Arc<ContractParties>,
}

impl IndexedContract {
    /// A created event as the index would hold it (`None` when no mapped workflow has its template, or its payload
    /// holds no linear id).
    pub fn of_created(
        created: &CreatedEvent,
        mapping: &WorkflowMapping,
        rule: StakeholderRule,
    ) -> Option<Self> {
        let mut index = ContractIndex::new(rule);
        index.insert_created(created, "", mapping);
        index.by_linear_id.into_values().next()
    }

    /// A contract known only by its ids (its created event no longer readable): an empty payload and no parties.
    pub fn without_payload(linear_id: Uuid, contract_id: &str, template_id: &TemplateId) -> Self {
        Self {
            linear_id,
            contract_id: Arc::from(contract_id),
            template_id: Arc::new(template_id.clone()),
            payload: CompactRecord::empty(),
            update_id: String::new(),
            parties: Arc::new(ContractParties::none()),
        }
    }
}

/// Linear id → current contract, and contract id → linear id for archives.
#[derive(Debug, Default)]
pub struct ContractIndex {
    by_linear_id: HashMap<Uuid, IndexedContract>,
    linear_by_contract: HashMap<Arc<str>, Uuid>,
    /// The distinct template ids seen, shared by every contract of a template.
    templates: Vec<Arc<TemplateId>>,
    /// The distinct party sets, shared by every contract with the same parties.
    parties: PartyInterner,
    /// Which transactions are in the index already (see the module's comment).
    applied: AppliedOffsets,
}

impl ContractIndex {
    /// An empty index whose contracts' stakeholders are taken by `rule`.
    pub fn new(rule: StakeholderRule) -> Self {
        Self {
            parties: PartyInterner::new(rule),
            ..Self::default()
        }
    }

    /// An index of an active contract set, read as it streams in (the set is never held whole).
    pub async fn from_active_contracts(
        mut contracts: BoxStream<'static, Result<ActiveContract, LedgerError>>,
        mapping: &WorkflowMapping,
        rule: StakeholderRule,
    ) -> Result<Self, LedgerError> {
        let mut index = Self::new(rule);
        while let Some(active) = contracts.next().await {
            let active = active?;
            index.insert_created(&active.created, &active.created_update_id, mapping);
        }
        Ok(index)
    }

    /// Marks every transaction up to `offset` as in the index (the offset its active contract set was read at).
    pub fn loaded_at(&mut self, offset: i64) {
        self.applied = AppliedOffsets::loaded_at(offset);
    }

    /// From now on a follower applies the update stream: the processor's own transactions applied ahead of it are
    /// remembered so that the follower skips them.
    pub fn start_following(&mut self) {
        self.applied.start_following();
    }

    /// Whether a follower applies the update stream to this index.
    pub fn is_following(&self) -> bool {
        self.applied.is_following()
    }

    /// The offset up to which the index holds every transaction.
    pub fn followed_through(&self) -> i64 {
        self.applied.through()
    }

    /// The processor's own transaction, as soon as it is sequenced: applied unless the index already holds it (its
    /// offset was loaded or followed: a redelivered request's original, returned by the ledger's deduplication).
    pub fn apply_own(&mut self, tx: &Transaction, mapping: &WorkflowMapping) -> bool {
        if !self.applied.take_own(tx.offset) {
            return false;
        }
        self.apply(tx, mapping);
        true
    }

    /// The next transaction of the update stream, in offset order: applied unless the processor already applied it.
    /// Returns the contracts it archived as the index held them (the observer names archived contracts with them).
    pub fn apply_followed(
        &mut self,
        tx: &Transaction,
        mapping: &WorkflowMapping,
    ) -> Option<Vec<IndexedContract>> {
        if !self.applied.take_followed(tx.offset) {
            return None;
        }
        let consumed = tx
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Archived(a) => self
                    .linear_by_contract
                    .get(a.contract_id.as_str())
                    .and_then(|l| self.by_linear_id.get(l))
                    .filter(|c| *c.contract_id == *a.contract_id)
                    .cloned(),
                _ => None,
            })
            .collect();
        self.apply(tx, mapping);
        Some(consumed)
    }

    /// Which parties this index counts as a contract's stakeholders.
    pub fn stakeholder_rule(&self) -> StakeholderRule {
        self.parties.rule()
    }

    /// The current contract of a lineage.
    pub fn get(&self, linear_id: &Uuid) -> Option<&IndexedContract> {
        self.by_linear_id.get(linear_id)
    }

    /// The lineage a contract id belongs to, while it is active.
    pub fn linear_id_of(&self, contract_id: &str) -> Option<Uuid> {
        self.linear_by_contract.get(contract_id).copied()
    }

    /// Number of active lineages.
    pub fn len(&self) -> usize {
        self.by_linear_id.len()
    }

    /// Whether no lineage is active.
    pub fn is_empty(&self) -> bool {
        self.by_linear_id.is_empty()
    }

    /// Applies a committed transaction, event by event in ledger order (an exercise's archive comes before the
    /// successor it creates).
    pub fn apply(&mut self, tx: &Transaction, mapping: &WorkflowMapping) {
        for event in &tx.events {
            match event {
                Event::Archived(archived) => {
                    if let Some(linear_id) = self
                        .linear_by_contract
                        .remove(archived.contract_id.as_str())
                        && self
                            .by_linear_id
                            .get(&linear_id)
                            .is_some_and(|c| *c.contract_id == *archived.contract_id)
                    {
                        self.by_linear_id.remove(&linear_id);
                    }
                }
                Event::Created(created) => self.insert_created(created, &tx.update_id, mapping),
                Event::Exercised(_) => {}
            }
        }
    }

    fn insert_created(
        &mut self,
        created: &CreatedEvent,
        update_id: &str,
        mapping: &WorkflowMapping,
    ) {
        let Some(workflow) = mapping.workflow_for_template(&created.template_id) else {
            return;
        };
        let Some(linear_id) = linear_id_of_payload(&created.arguments, &workflow.linear_id_field)
        else {
            return;
        };
        if let Some(current) = self.by_linear_id.get(&linear_id)
            && *current.contract_id != *created.contract_id
        {
            // Ledger data, but not ours: every value is logged escaped (`?`).
            tracing::warn!(
                %linear_id,
                contract_id = ?created.contract_id,
                current_contract_id = ?&*current.contract_id,
                signatories = ?created.signatories,
                "a created contract's linear id is already an active lineage; the contract is left out of the index (a lineage changes only through an archive of its current contract)"
            );
            return;
        }
        let payload = match CompactRecord::encode(&created.arguments) {
            Ok(payload) => payload,
            Err(e) => {
                tracing::error!(contract_id = ?created.contract_id, error = %e, "contract left out of the index");
                return;
            }
        };
        let contract_id: Arc<str> = Arc::from(created.contract_id.as_str());
        self.linear_by_contract
            .insert(Arc::clone(&contract_id), linear_id);
        let template_id = self.shared_template(&created.template_id);
        let parties = self.parties.parties_of(created);
        self.by_linear_id.insert(
            linear_id,
            IndexedContract {
                linear_id,
                contract_id,
                template_id,
                payload,
                update_id: update_id.to_owned(),
                parties,
            },
        );
    }

    fn shared_template(&mut self, template_id: &TemplateId) -> Arc<TemplateId> {
        if let Some(shared) = self.templates.iter().find(|t| ***t == *template_id) {
            return Arc::clone(shared);
        }
        let shared = Arc::new(template_id.clone());
        self.templates.push(Arc::clone(&shared));
        shared
    }
}

/// The linear id held in a payload's linear id field (text holding a UUID).
pub fn linear_id_of_payload(payload: &Record, linear_id_field: &str) -> Option<Uuid> {
    match payload.get(linear_id_field)? {
        LedgerValue::Text(text) => Uuid::parse_str(text).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_port::{ArchivedEvent, ExercisedEvent};

    use crate::config::Config;

    const CONFIG: &str = r#"
party: Operator
workflows:
  Shipment:
    template: Cold:Shipment
    create: { parameters: { device: party } }
    functions: { Transfer: { parameters: { to: party } } }
"#;
    const LINEAR_ID: &str = "9b81be37-d434-569a-8807-4a3e3a029f63";

    fn mapping() -> WorkflowMapping {
        let config = Config::from_yaml_with_env(CONFIG, std::iter::empty()).expect("valid");
        WorkflowMapping::compile(&config.workflows).expect("compiles")
    }

    fn template() -> TemplateId {
        TemplateId::parse("Cold:Shipment").expect("valid")
    }

    fn created(contract_id: &str, signatory: &str, device: &str) -> Event {
        Event::Created(CreatedEvent {
            node_id: 0,
            offset: 0,
            contract_id: contract_id.into(),
            template_id: template(),
            arguments: Record::new()
                .with("linearId", LedgerValue::Text(LINEAR_ID.into()))
                .with("device", LedgerValue::Party(device.into())),
            signatories: vec![signatory.into()],
            observers: vec![],
        })
    }

    fn transaction(update_id: &str, events: Vec<Event>) -> Transaction {
        Transaction {
            update_id: update_id.into(),
            command_id: String::new(),
            offset: 0,
            effective_at_micros: 0,
            events,
        }
    }

    fn exercise(contract_id: &str, successor: Event) -> Transaction {
        transaction(
            "u-exercise",
            vec![
                Event::Exercised(ExercisedEvent {
                    node_id: 0,
                    offset: 0,
                    contract_id: contract_id.into(),
                    template_id: template(),
                    choice: "Transfer".into(),
                    argument: LedgerValue::Unit,
                    acting_parties: vec!["Operator".into()],
                    consuming: true,
                }),
                Event::Archived(ArchivedEvent {
                    node_id: 1,
                    offset: 0,
                    contract_id: contract_id.into(),
                    template_id: template(),
                }),
                successor,
            ],
        )
    }

    fn current(index: &ContractIndex) -> Option<&str> {
        index
            .get(&Uuid::parse_str(LINEAR_ID).expect("a uuid"))
            .map(|c| &*c.contract_id)
    }

    #[test]
    fn a_create_on_an_active_lineage_does_not_take_it_over_and_a_consuming_exercise_moves_it_on() {
        let mapping = mapping();
        let mut index = ContractIndex::new(StakeholderRule::Declared);
        index.apply(
            &transaction("u1", vec![created("c1", "Operator", "Device01")]),
            &mapping,
        );
        assert_eq!(current(&index), Some("c1"));

        index.apply(
            &transaction("u2", vec![created("c2", "Mallory", "Mallory")]),
            &mapping,
        );
        assert_eq!(
            current(&index),
            Some("c1"),
            "another party's create is left out"
        );
        assert_eq!(index.linear_id_of("c2"), None);
        assert_eq!(index.len(), 1);

        index.apply(
            &exercise("c1", created("c3", "Operator", "Carrier")),
            &mapping,
        );
        assert_eq!(
            current(&index),
            Some("c3"),
            "the exercise archived c1 first"
        );
        assert_eq!(index.linear_id_of("c1"), None);
        assert!(index.linear_id_of("c3").is_some());

        // Applying the lineage's own current contract again changes nothing.
        index.apply(
            &transaction("u3", vec![created("c3", "Operator", "Carrier")]),
            &mapping,
        );
        assert_eq!(current(&index), Some("c3"));
    }

    #[tokio::test]
    async fn loading_an_active_contract_set_the_first_contract_of_a_linear_id_wins() {
        let active = |contract_id: &str, signatory: &str| {
            let Event::Created(created) = created(contract_id, signatory, "Device01") else {
                unreachable!("a create");
            };
            Ok(ActiveContract {
                created,
                created_update_id: format!("u-{contract_id}"),
            })
        };
        let contracts =
            futures::stream::iter(vec![active("c1", "Operator"), active("c2", "Mallory")]);
        let index = ContractIndex::from_active_contracts(
            Box::pin(contracts),
            &mapping(),
            StakeholderRule::Declared,
        )
        .await
        .expect("loads");
        assert_eq!(current(&index), Some("c1"));
        assert_eq!(index.len(), 1);
    }

    #[test]
    fn stakeholders_include_payload_parties_only_under_the_embedded_rule() {
        let mapping = mapping();
        let tx = transaction("u1", vec![created("c1", "Operator", "Device01")]);
        let lineage = Uuid::parse_str(LINEAR_ID).expect("a uuid");
        let mut embedded = ContractIndex::new(StakeholderRule::DeclaredAndPayload);
        embedded.apply(&tx, &mapping);
        let parties = &embedded.get(&lineage).expect("indexed").parties;
        assert!(parties.is_stakeholder("Device01") && parties.is_stakeholder("Operator"));
        assert!(parties.is_signatory("Operator") && !parties.is_signatory("Device01"));
        let mut declared = ContractIndex::new(StakeholderRule::Declared);
        declared.apply(&tx, &mapping);
        let parties = &declared.get(&lineage).expect("indexed").parties;
        assert!(!parties.is_stakeholder("Device01") && parties.is_stakeholder("Operator"));
    }
}
