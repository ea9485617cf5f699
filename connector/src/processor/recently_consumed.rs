//! The contracts the gateway's own recent actions exercised, as the index knew them before: the observer (with
//! `observe: all`) publishes the gateway's own transactions after the processor has already moved the index past
//! them, and an archive leaves nothing in the index to name its lineage or its last state. Bounded: the oldest
//! entries go first; after a restart (or past the bound) the observer asks the ledger instead, where that is cheap.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use crate::contract_index::IndexedContract;

/// How many exercised contracts are remembered: far more than the observer ever trails the processor by.
pub const REMEMBERED: usize = 10_000;

/// Contract id → the contract as it was when the gateway's own command exercised it.
#[derive(Debug, Default)]
pub struct RecentlyConsumed {
    inner: Mutex<Remembered>,
}

#[derive(Debug, Default)]
struct Remembered {
    by_contract: HashMap<Arc<str>, IndexedContract>,
    order: VecDeque<Arc<str>>,
}

impl RecentlyConsumed {
    /// Remembers `contract`, forgetting the oldest entry beyond [`REMEMBERED`].
    pub fn remember(&self, contract: &IndexedContract) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let id = Arc::clone(&contract.contract_id);
        if inner
            .by_contract
            .insert(Arc::clone(&id), contract.clone())
            .is_none()
        {
            inner.order.push_back(id);
        }
        while inner.order.len() > REMEMBERED {
            if let Some(oldest) = inner.order.pop_front() {
                inner.by_contract.remove(&oldest);
            }
        }
    }

    /// The contract with this id, if a recent action of the gateway exercised it.
    pub fn get(&self, contract_id: &str) -> Option<IndexedContract> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.by_contract.get(contract_id).cloned()
    }

    /// How many are remembered.
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .order
            .len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract_parties::ContractParties;
    use ledger_port::TemplateId;

    fn contract(n: usize) -> IndexedContract {
        let template = TemplateId::parse("M:T").expect("template");
        let mut c =
            IndexedContract::without_payload(uuid::Uuid::nil(), &format!("c{n}"), &template);
        c.parties = Arc::new(ContractParties::none());
        c
    }

    #[test]
    fn the_oldest_are_forgotten_beyond_the_bound() {
        let recent = RecentlyConsumed::default();
        for n in 0..REMEMBERED + 5 {
            recent.remember(&contract(n));
        }
        assert_eq!(recent.len(), REMEMBERED);
        assert!(recent.get("c0").is_none(), "the oldest went first");
        assert!(recent.get("c4").is_none());
        assert!(recent.get("c5").is_some());
        assert!(recent.get(&format!("c{}", REMEMBERED + 4)).is_some());
        recent.remember(&contract(REMEMBERED + 4));
        assert_eq!(recent.len(), REMEMBERED, "remembering again adds nothing");
    }
}
