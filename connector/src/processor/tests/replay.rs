//! Idempotency: a repeated request is answered from the outcome store, and a lost outcome is rebuilt from the
//! ledger's command deduplication, without a second effect.

use super::*;

#[tokio::test]
async fn a_repeated_request_is_replayed_without_a_second_effect() {
    let f = fixture();
    let first = f.processor.process(&create("c1", "20", "60")).await;
    let count = f.ledger.transaction_count();
    let second = f.processor.process(&create("c1", "20", "60")).await;
    assert_eq!(second.disposition, Disposition::Replayed);
    assert_eq!(first.egress, second.egress);
    assert_eq!(f.ledger.transaction_count(), count);
}

#[tokio::test]
async fn a_lost_outcome_is_rebuilt_from_ledger_deduplication() {
    // The outcome store forgot (a crash before it was durable): the ledger's command deduplication still yields the
    // original transaction, so the egress is identical and there is no second effect.
    let ledger_side = fixture();
    let first = ledger_side
        .processor
        .process(&create("c1", "20", "60"))
        .await;
    let lid = linear_id_for("c1").to_string();
    let act = ledger_side
        .processor
        .process(&action(
            "a1",
            &lid,
            "Transfer",
            &[("newCounterparty", "Carrier")],
            None,
        ))
        .await;
    let count = ledger_side.ledger.transaction_count();
    let fresh = Processor::new(
        ledger_side.ledger.clone(),
        ledger_side.processor.mapping().clone(),
        Arc::new(MemoryOutcomeStore::new()),
        ledger_side.processor.settings.clone(),
    );
    fresh.load_index().await.unwrap();
    assert_eq!(
        fresh.process(&create("c1", "20", "60")).await.egress,
        first.egress
    );
    assert_eq!(
        fresh
            .process(&action(
                "a1",
                &lid,
                "Transfer",
                &[("newCounterparty", "Carrier")],
                None
            ))
            .await
            .egress,
        act.egress
    );
    assert_eq!(ledger_side.ledger.transaction_count(), count);
}
