//! A command the ledger already committed, found by its command id without submitting anything: what a gateway
//! needs to answer a redelivered request exactly as the first time when its own record of the answer is gone.

use crate::model::{CreatedEvent, Transaction};

/// The transaction a command committed, with the contracts it consumed as they were created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedCommand {
    pub transaction: Transaction,
    /// The created events of the contracts the transaction's consuming exercises archived, those the ledger can
    /// still show (a participant that pruned them, or a compacted journal, no longer can). An answer about an
    /// archived contract quotes its last state, which only its created event holds.
    pub consumed: Vec<CreatedEvent>,
}

impl CommittedCommand {
    /// The created event of the contract `contract_id` this command consumed, if the ledger still showed it.
    pub fn consumed_contract(&self, contract_id: &str) -> Option<&CreatedEvent> {
        self.consumed.iter().find(|c| c.contract_id == contract_id)
    }

    /// The ids of the contracts the transaction's consuming exercises archived, in event order.
    pub fn consumed_ids(transaction: &Transaction) -> Vec<&str> {
        transaction
            .events
            .iter()
            .filter_map(|event| match event {
                crate::Event::Exercised(x) if x.consuming => Some(x.contract_id.as_str()),
                crate::Event::Archived(a) => Some(a.contract_id.as_str()),
                _ => None,
            })
            .fold(Vec::new(), |mut ids, id| {
                if !ids.contains(&id) {
                    ids.push(id);
                }
                ids
            })
    }
}
