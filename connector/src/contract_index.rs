//! The linear id → active contract index: how a `contractLedgerIdentifier` finds the contract to exercise or read.
//!
//! A lineage's contract id changes with every consuming choice; the linear id, a payload field, does not. The index
//! is loaded from the ledger's active contract set at start and kept current from every transaction the gateway
//! sees (its own and, through the observer, everyone else's).

use std::collections::HashMap;
use std::sync::Arc;

use ledger_port::{ActiveContracts, CreatedEvent, Event, TemplateId, Transaction};
use message_schema::value::{LedgerValue, Record};
use uuid::Uuid;

use crate::mapping::WorkflowMapping;

/// The current contract of one lineage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedContract {
    pub linear_id: Uuid,
    pub contract_id: String,
    pub template_id: TemplateId,
    pub payload: Arc<Record>,
    /// The update id of the transaction that created this contract.
    pub update_id: String,
}

/// Linear id → current contract, and contract id → linear id for archives.
#[derive(Debug, Default)]
pub struct ContractIndex {
    by_linear_id: HashMap<Uuid, IndexedContract>,
    linear_by_contract: HashMap<String, Uuid>,
}

impl ContractIndex {
    /// An index of the given active contract set.
    pub fn from_active_contracts(acs: &ActiveContracts, mapping: &WorkflowMapping) -> Self {
        let mut index = Self::default();
        for active in &acs.contracts {
            index.insert_created(&active.created, &active.created_update_id, mapping);
        }
        index
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

    /// Applies a committed transaction: archives first, then creates, in event order.
    pub fn apply(&mut self, tx: &Transaction, mapping: &WorkflowMapping) {
        for event in &tx.events {
            match event {
                Event::Archived(archived) => {
                    if let Some(linear_id) = self.linear_by_contract.remove(&archived.contract_id)
                        && self
                            .by_linear_id
                            .get(&linear_id)
                            .is_some_and(|c| c.contract_id == archived.contract_id)
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
        if let Some(previous) = self.by_linear_id.get(&linear_id) {
            self.linear_by_contract.remove(&previous.contract_id);
        }
        self.linear_by_contract
            .insert(created.contract_id.clone(), linear_id);
        self.by_linear_id.insert(
            linear_id,
            IndexedContract {
                linear_id,
                contract_id: created.contract_id.clone(),
                template_id: created.template_id.clone(),
                payload: Arc::new(created.arguments.clone()),
                update_id: update_id.to_owned(),
            },
        );
    }
}

/// The linear id held in a payload's linear id field (text holding a UUID).
pub fn linear_id_of_payload(payload: &Record, linear_id_field: &str) -> Option<Uuid> {
    match payload.get(linear_id_field)? {
        LedgerValue::Text(text) => Uuid::parse_str(text).ok(),
        _ => None,
    }
}
