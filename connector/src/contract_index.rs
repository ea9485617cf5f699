//! The linear id → active contract index: how a `contractLedgerIdentifier` finds the contract to exercise or read.
//!
//! A lineage's contract id changes with every consuming choice; the linear id, a payload field, does not. The index
//! is loaded from the ledger's active contract set at start and kept current from every transaction the gateway
//! sees (its own and, through the observer, everyone else's).
//!
//! It is sized for 100,000 and more lineages: payloads are kept postcard-encoded ([`CompactRecord`]), a contract id
//! is stored once for both maps, and template ids are shared.

use std::collections::HashMap;
use std::sync::Arc;

use futures::StreamExt;
use futures::stream::BoxStream;
use ledger_port::{ActiveContract, CreatedEvent, Event, LedgerError, TemplateId, Transaction};
use message_schema::value::{LedgerValue, Record};
use uuid::Uuid;

use crate::compact_record::CompactRecord;
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
}

/// Linear id → current contract, and contract id → linear id for archives.
#[derive(Debug, Default)]
pub struct ContractIndex {
    by_linear_id: HashMap<Uuid, IndexedContract>,
    linear_by_contract: HashMap<Arc<str>, Uuid>,
    /// The distinct template ids seen, shared by every contract of a template.
    templates: Vec<Arc<TemplateId>>,
}

impl ContractIndex {
    /// An index of an active contract set, read as it streams in (the set is never held whole).
    pub async fn from_active_contracts(
        mut contracts: BoxStream<'static, Result<ActiveContract, LedgerError>>,
        mapping: &WorkflowMapping,
    ) -> Result<Self, LedgerError> {
        let mut index = Self::default();
        while let Some(active) = contracts.next().await {
            let active = active?;
            index.insert_created(&active.created, &active.created_update_id, mapping);
        }
        Ok(index)
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
        let payload = match CompactRecord::encode(&created.arguments) {
            Ok(payload) => payload,
            Err(e) => {
                tracing::error!(contract_id = %created.contract_id, error = %e, "contract left out of the index");
                return;
            }
        };
        if let Some(previous) = self.by_linear_id.get(&linear_id) {
            self.linear_by_contract.remove(&previous.contract_id);
        }
        let contract_id: Arc<str> = Arc::from(created.contract_id.as_str());
        self.linear_by_contract
            .insert(Arc::clone(&contract_id), linear_id);
        let template_id = self.shared_template(&created.template_id);
        self.by_linear_id.insert(
            linear_id,
            IndexedContract {
                linear_id,
                contract_id,
                template_id,
                payload,
                update_id: update_id.to_owned(),
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
