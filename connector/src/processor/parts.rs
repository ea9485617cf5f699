//! The processor's parts as the gateway, the observer and the rooms see them: the ledger, the mapping, the contract
//! index (loaded from the ledger's active set), the settings.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use ledger_port::{Ledger, LedgerError, UpdateFilter};
use message_schema::egress::LedgerInfo;
use message_schema::limits::Limits;

use super::in_flight::InFlight;
use super::{Processor, ProcessorSettings, RecentlyConsumed};
use crate::contract_index::{ContractIndex, IndexedContract};
use crate::contract_parties::StakeholderRule;
use crate::mapping::WorkflowMapping;
use crate::outcome_store::OutcomeStore;

impl Processor {
    /// A processor over a ledger; call [`Processor::load_index`] before the first message.
    pub fn new(
        ledger: Arc<dyn Ledger>,
        mapping: Arc<WorkflowMapping>,
        outcomes: Arc<dyn OutcomeStore>,
        settings: ProcessorSettings,
    ) -> Self {
        // The embedded ledger records no observers; a Daml ledger (`connector sandbox` included) reports them.
        let stakeholder_rule = if ledger.ledger_type() == "embedded" {
            StakeholderRule::DeclaredAndPayload
        } else {
            StakeholderRule::Declared
        };
        Self {
            ledger,
            mapping,
            index: Arc::new(RwLock::new(ContractIndex::new(stakeholder_rule))),
            outcomes,
            settings,
            stakeholder_rule,
            failure_pending_flush: AtomicBool::new(false),
            in_flight: InFlight::default(),
            recently_consumed: RecentlyConsumed::default(),
        }
    }

    /// Loads the linear id index from the ledger's active contracts on mapped templates; returns their offset.
    pub async fn load_index(&self) -> Result<i64, LedgerError> {
        let acs = self
            .ledger
            .active_contract_stream(&self.update_filter())
            .await?;
        let index = ContractIndex::from_active_contracts(
            acs.contracts,
            &self.mapping,
            self.stakeholder_rule,
        )
        .await?;
        let mut index = index;
        index.loaded_at(acs.offset);
        let mut shared = self.index_write();
        if shared.is_following() {
            index.start_following();
        }
        *shared = index;
        Ok(acs.offset)
    }

    /// Which parties the index counts as a contract's stakeholders.
    pub fn stakeholder_rule(&self) -> StakeholderRule {
        self.stakeholder_rule
    }

    /// The contract with this id as it was when a recent action of this gateway exercised it (the observer names
    /// the gateway's own archives with it; see `recently_consumed.rs`).
    pub fn recently_consumed(&self, contract_id: &str) -> Option<IndexedContract> {
        self.recently_consumed.get(contract_id)
    }

    /// Remembers a contract a transaction archived, as the index held it, for the observer (the index follower
    /// applies others' archives, possibly before the observer publishes them).
    pub fn remember_consumed(&self, contract: &IndexedContract) {
        self.recently_consumed.remember(contract);
    }

    /// The filter matching every mapped template, as the acting party.
    pub fn update_filter(&self) -> UpdateFilter {
        let mut parties = vec![self.settings.party.clone()];
        if let Some(extra) = &self.settings.allowed_request_parties {
            parties.extend(extra.iter().cloned());
        }
        parties.dedup();
        UpdateFilter {
            templates: self.mapping.templates(),
            parties,
        }
    }

    /// The shared linear id index (the observer keeps it current with others' transactions).
    pub fn index(&self) -> Arc<RwLock<ContractIndex>> {
        Arc::clone(&self.index)
    }

    /// The workflow mapping.
    pub fn mapping(&self) -> &Arc<WorkflowMapping> {
        &self.mapping
    }

    /// The ledger info written into egress.
    pub fn info(&self) -> &LedgerInfo {
        &self.settings.info
    }

    /// The ledger.
    pub fn ledger(&self) -> &Arc<dyn Ledger> {
        &self.ledger
    }

    pub(in crate::processor) fn index_read(&self) -> RwLockReadGuard<'_, ContractIndex> {
        // A poisoned lock only means another task panicked mid-update of a plain map; the data is still usable.
        self.index.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(in crate::processor) fn index_write(&self) -> RwLockWriteGuard<'_, ContractIndex> {
        self.index.write().unwrap_or_else(|e| e.into_inner())
    }

    /// What one message may hold.
    pub fn limits(&self) -> &Limits {
        &self.settings.limits
    }
}
