//! Who may see what: the sandbox's stand-in for Daml's stakeholder visibility.
//!
//! The embedded ledger records only the creating parties as signatories and has no observers, while a Daml
//! template's signatories, observers and controllers are the parties its payload names. So a contract's stakeholders
//! here are its signatories and observers plus every party value in its payload (at any depth); an exercise is seen
//! by the contract's stakeholders and the acting parties; an archive by the contract's stakeholders. Created events
//! on the wire list the stakeholders that are not signatories as `observers` (`transaction_view`), as a participant
//! reports a template's observers.
//!
//! Exercises and archives name only a contract id, so the index remembers the stakeholders of every contract it has
//! seen created (archived ones too: a reader may replay an old archive at any time). It reads the ledger's log in
//! order, each transaction once, as far as the transaction being asked about.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use ledger_port::{CreatedEvent, Event, LedgerError, LedgerValue, ServableLedger, Transaction};

/// The parties that may see a created contract.
pub fn contract_stakeholders(created: &CreatedEvent) -> BTreeSet<String> {
    let mut parties: BTreeSet<String> = created
        .signatories
        .iter()
        .chain(&created.observers)
        .cloned()
        .collect();
    for field in &created.arguments.fields {
        collect_parties(&field.value, &mut parties);
    }
    parties
}

fn collect_parties(value: &LedgerValue, into: &mut BTreeSet<String>) {
    match value {
        LedgerValue::Party(p) => {
            into.insert(p.clone());
        }
        LedgerValue::Optional(Some(inner)) => collect_parties(inner, into),
        LedgerValue::List(items) => items.iter().for_each(|v| collect_parties(v, into)),
        LedgerValue::TextMap(entries) => entries.iter().for_each(|(_, v)| collect_parties(v, into)),
        LedgerValue::Record(record) => record
            .fields
            .iter()
            .for_each(|f| collect_parties(&f.value, into)),
        LedgerValue::Variant { value, .. } => collect_parties(value, into),
        _ => {}
    }
}

/// Stakeholders of every contract created so far, by contract id.
pub struct StakeholderIndex {
    ledger: Arc<dyn ServableLedger>,
    indexed: tokio::sync::Mutex<Indexed>,
}

#[derive(Default)]
struct Indexed {
    /// Every transaction up to and including this offset has been read.
    through: i64,
    by_contract: HashMap<String, Arc<BTreeSet<String>>>,
}

impl Indexed {
    fn record(&mut self, tx: &Transaction) {
        for event in &tx.events {
            if let Event::Created(c) = event {
                self.by_contract
                    .insert(c.contract_id.clone(), Arc::new(contract_stakeholders(c)));
            }
        }
        self.through = self.through.max(tx.offset);
    }
}

impl StakeholderIndex {
    pub fn new(ledger: Arc<dyn ServableLedger>) -> Self {
        Self {
            ledger,
            indexed: tokio::sync::Mutex::new(Indexed::default()),
        }
    }

    /// For each event of `tx`, in order, the parties that may see it.
    pub async fn event_parties(
        &self,
        tx: &Transaction,
    ) -> Result<Vec<BTreeSet<String>>, LedgerError> {
        let mut indexed = self.indexed.lock().await;
        while indexed.through < tx.offset - 1 {
            let next = indexed.through + 1;
            match self.ledger.transaction_by_offset(next).await? {
                Some(earlier) => indexed.record(&earlier),
                // A gap cannot happen in a ledger whose offsets count transactions; stop rather than spin.
                None => break,
            }
        }
        if indexed.through == tx.offset - 1 {
            indexed.record(tx);
        }
        let of_contract = |contract_id: &str| {
            indexed
                .by_contract
                .get(contract_id)
                .map(|p| (**p).clone())
                .unwrap_or_default()
        };
        Ok(tx
            .events
            .iter()
            .map(|event| match event {
                Event::Created(c) => contract_stakeholders(c),
                Event::Exercised(x) => {
                    let mut parties = of_contract(&x.contract_id);
                    parties.extend(x.acting_parties.iter().cloned());
                    parties
                }
                Event::Archived(a) => of_contract(&a.contract_id),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_port::{Record, TemplateId};

    #[test]
    fn stakeholders_are_signatories_observers_and_payload_parties() {
        let created = CreatedEvent {
            node_id: 0,
            offset: 1,
            contract_id: "c".into(),
            template_id: TemplateId::parse("M:E").expect("valid"),
            arguments: Record::new()
                .with("device", LedgerValue::Party("Device01".into()))
                .with("note", LedgerValue::Text("Retailer".into()))
                .with(
                    "later",
                    LedgerValue::Optional(Some(Box::new(LedgerValue::List(vec![
                        LedgerValue::Party("Carrier".into()),
                    ])))),
                )
                .with(
                    "nested",
                    LedgerValue::Record(
                        Record::new().with("who", LedgerValue::Party("Auditor".into())),
                    ),
                ),
            signatories: vec!["Operator".into()],
            observers: vec!["Bank".into()],
        };
        let parties: Vec<String> = contract_stakeholders(&created).into_iter().collect();
        assert_eq!(
            parties,
            ["Auditor", "Bank", "Carrier", "Device01", "Operator"],
            "text that happens to look like a party is not one"
        );
    }
}
