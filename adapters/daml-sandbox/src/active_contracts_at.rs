//! The active contract set at an offset: at the ledger end straight from the ledger; at an earlier offset rebuilt
//! by replaying the transaction log up to it. After the embedded ledger compacted its journal the history before
//! its snapshot is gone: rebuilding then fails with the ledger's pruned-offset error (`PARTICIPANT_PRUNED_DATA_ACCESSED`).

use std::collections::{BTreeMap, HashMap};

use ledger_port::{
    CreatedEvent, Event, LedgerError, RejectionReason, ServableLedger, UpdateFilter,
};

/// An active contract with the effective time of the transaction that created it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveAt {
    pub created: CreatedEvent,
    pub created_at_micros: i64,
}

/// The contracts active at `offset` (0 means now), in creation order. `offset` must not be beyond the end.
pub async fn active_contracts_at(
    ledger: &dyn ServableLedger,
    offset: i64,
) -> Result<Vec<ActiveAt>, LedgerError> {
    let now = ledger.active_contracts(&UpdateFilter::default()).await?;
    if offset == 0 || offset == now.offset {
        let mut created_at: HashMap<String, i64> = HashMap::new();
        let mut contracts = Vec::with_capacity(now.contracts.len());
        for contract in now.contracts {
            let micros = match created_at.get(&contract.created_update_id) {
                Some(micros) => *micros,
                None => {
                    let tx = ledger
                        .transaction_by_update_id(&contract.created_update_id)
                        .await?
                        .ok_or_else(|| missing_transaction(&contract.created_update_id))?;
                    created_at.insert(contract.created_update_id.clone(), tx.effective_at_micros);
                    tx.effective_at_micros
                }
            };
            contracts.push(ActiveAt {
                created: contract.created,
                created_at_micros: micros,
            });
        }
        return Ok(contracts);
    }
    replay(ledger, offset).await
}

/// Replays transactions 1..=`offset`, keeping the creates not archived by then.
async fn replay(ledger: &dyn ServableLedger, offset: i64) -> Result<Vec<ActiveAt>, LedgerError> {
    let mut active: BTreeMap<(i64, i32), ActiveAt> = BTreeMap::new();
    let mut position: HashMap<String, (i64, i32)> = HashMap::new();
    for at in 1..=offset {
        let tx = ledger
            .transaction_by_offset(at)
            .await?
            .ok_or_else(|| missing_transaction(&format!("at offset {at}")))?;
        for event in tx.events {
            match event {
                Event::Created(created) => {
                    let key = (created.offset, created.node_id);
                    position.insert(created.contract_id.clone(), key);
                    active.insert(
                        key,
                        ActiveAt {
                            created,
                            created_at_micros: tx.effective_at_micros,
                        },
                    );
                }
                Event::Archived(archived) => {
                    if let Some(key) = position.remove(&archived.contract_id) {
                        active.remove(&key);
                    }
                }
                Event::Exercised(_) => {}
            }
        }
    }
    Ok(active.into_values().collect())
}

fn missing_transaction(which: &str) -> LedgerError {
    LedgerError::permanent(
        RejectionReason::Internal,
        format!("the ledger's log has no transaction {which}, though its contracts refer to it"),
    )
}
