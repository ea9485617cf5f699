//! What the gateway tells the embedded ledger's journal compaction to keep: every transaction after the observer's
//! checkpoint, so the observer can always resume (a pruned checkpoint would stop it, see `observer`).
//!
//! The checkpoint is read through `Health::observer_offset`, which the observer sets at start and after every
//! confirmed batch: reading it costs an atomic load, and it is 0 until the observer starts, so nothing is pruned
//! before then. With `observe: off` there is no reader to wait for and no floor.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use embedded_ledger::EmbeddedLedger;

use super::health::Health;
use crate::config::ObserveMode;

/// Sets `ledger`'s compaction floor to the observer's checkpoint (unless `observe` is off).
pub fn keep_what_the_observer_has_not_published(
    ledger: &EmbeddedLedger,
    observe: ObserveMode,
    health: Arc<Health>,
) {
    if observe == ObserveMode::Off {
        return;
    }
    ledger.set_compaction_floor(Arc::new(move || {
        health.observer_offset.load(Ordering::Relaxed) as i64
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_ledger::{ChoiceKind, ChoiceSpec, TemplateCatalog, TemplateSpec};
    use ledger_port::{
        Clock, Command, Event, Ledger, LedgerValue, Record, Submission, TemplateId, Transaction,
    };

    fn created_id(tx: &Transaction) -> String {
        tx.events
            .iter()
            .find_map(|e| match e {
                Event::Created(c) => Some(c.contract_id.clone()),
                _ => None,
            })
            .unwrap_or_default()
    }

    async fn ledger_with_history(dir: &std::path::Path) -> EmbeddedLedger {
        let template = TemplateId::parse("Cold:Shipment").expect("template");
        let catalog = TemplateCatalog {
            templates: vec![TemplateSpec {
                id: template.clone(),
                ensure: vec![],
                choices: vec![ChoiceSpec {
                    name: "Move".into(),
                    kind: ChoiceKind::Consuming,
                    when: vec![],
                    controllers: vec![],
                    assert: vec![],
                    set_fields: vec![],
                    rules: vec![],
                }],
            }],
        };
        let (ledger, _) =
            EmbeddedLedger::open(&dir.join("ledger.journal"), catalog, Clock::Fixed(0))
                .await
                .expect("journal");
        let submit = |command_id: String, command| Submission {
            command_id,
            act_as: vec!["Op".into()],
            command,
        };
        let created = ledger
            .submit(submit(
                "c".into(),
                Command::Create {
                    template_id: template.clone(),
                    arguments: Record::new(),
                },
            ))
            .await
            .expect("create");
        let mut id = created_id(&created);
        for i in 0..9 {
            let moved = ledger
                .submit(submit(
                    format!("m{i}"),
                    Command::Exercise {
                        template_id: template.clone(),
                        contract_id: id.clone(),
                        choice: "Move".into(),
                        argument: LedgerValue::Record(Record::new()),
                    },
                ))
                .await
                .expect("move");
            id = created_id(&moved);
        }
        ledger.set_deduplication_window(std::time::Duration::ZERO);
        ledger
    }

    #[tokio::test]
    async fn compaction_keeps_what_the_observer_has_not_published() {
        let dir = tempfile::tempdir().expect("temp dir");
        let ledger = ledger_with_history(dir.path()).await;
        let health = Arc::new(Health::default());
        health.observer_offset.store(4, Ordering::Relaxed);
        keep_what_the_observer_has_not_published(&ledger, ObserveMode::External, health.clone());
        let report = ledger.compact().await.expect("compact");
        assert_eq!(
            report.readable_from, 4,
            "kept after the observer's checkpoint"
        );
        health.observer_offset.store(7, Ordering::Relaxed);
        let report = ledger.compact().await.expect("compact again");
        assert_eq!(report.readable_from, 7, "the floor follows the checkpoint");
    }

    #[tokio::test]
    async fn without_an_observer_compaction_prunes_to_the_end() {
        let dir = tempfile::tempdir().expect("temp dir");
        let ledger = ledger_with_history(dir.path()).await;
        let health = Arc::new(Health::default());
        keep_what_the_observer_has_not_published(&ledger, ObserveMode::Off, health);
        let report = ledger.compact().await.expect("compact");
        assert_eq!(report.readable_from, 10);
    }
}
