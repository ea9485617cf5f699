//! A redelivered action whose lineage its own command archived before a crash lost the answer: the ledger's memory
//! of the command answers it with the original egress, never a false 4040, and a ledger that is costly to ask is
//! asked only for redelivered messages.

use std::sync::atomic::{AtomicUsize, Ordering};

use ledger_port::{ActiveContractStream, CommittedCommand, UpdateStream};

use super::*;
use crate::contract_index::IndexedContract;

/// The embedded ledger seen as a remote one: counts the `committed_command` questions and can forget the consumed
/// contracts (a pruned participant) or fail to answer.
struct Remote {
    ledger: Arc<EmbeddedLedger>,
    asked: AtomicUsize,
    pruned: bool,
    unavailable: bool,
}

impl Remote {
    fn over(ledger: Arc<EmbeddedLedger>) -> Self {
        Self {
            ledger,
            asked: AtomicUsize::new(0),
            pruned: false,
            unavailable: false,
        }
    }
}

#[async_trait::async_trait]
impl Ledger for Remote {
    async fn submit(&self, submission: Submission) -> Result<Transaction, LedgerError> {
        self.ledger.submit(submission).await
    }
    async fn active_contract_stream(
        &self,
        filter: &UpdateFilter,
    ) -> Result<ActiveContractStream, LedgerError> {
        self.ledger.active_contract_stream(filter).await
    }
    async fn ledger_end(&self) -> Result<i64, LedgerError> {
        self.ledger.ledger_end().await
    }
    async fn updates(
        &self,
        begin: i64,
        filter: &UpdateFilter,
    ) -> Result<UpdateStream, LedgerError> {
        self.ledger.updates(begin, filter).await
    }
    async fn committed_command(
        &self,
        command_id: &str,
        act_as: &[String],
        filter: &UpdateFilter,
    ) -> Result<Option<CommittedCommand>, LedgerError> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        if self.unavailable {
            return Err(LedgerError::transient("participant unavailable"));
        }
        let found = self
            .ledger
            .committed_command(command_id, act_as, filter)
            .await?;
        Ok(found.map(|mut committed| {
            if self.pruned {
                committed.consumed.clear();
            }
            committed
        }))
    }
    fn ledger_type(&self) -> &'static str {
        "daml"
    }
}

const REDELIVERED: Sender = Sender {
    amqp_user_id: None,
    redelivered: true,
};

/// A ledger holding shipment c1, archived by request x1, and x1's original egress.
async fn archived_by_x1() -> (Arc<EmbeddedLedger>, Processed) {
    let (ledger, _, cancel) = history_of_c1().await;
    (ledger, cancel)
}

fn transfer_t1() -> Vec<u8> {
    action(
        "t1",
        &linear_id_for("c1").to_string(),
        "Transfer",
        &[("newCounterparty", "Carrier")],
        None,
    )
}

/// Shipment c1 created, transferred by t1 and archived by x1: the ledger, and t1's and x1's original answers.
async fn history_of_c1() -> (Arc<EmbeddedLedger>, Processed, Processed) {
    let f = fixture();
    f.processor.process(&create("c1", "20", "60")).await;
    let lid = linear_id_for("c1").to_string();
    let transfer = f.processor.process(&transfer_t1()).await;
    let cancel = f
        .processor
        .process(&action("x1", &lid, "Cancel", &[], None))
        .await;
    assert_eq!(cancel.disposition, Disposition::Completed);
    (f.ledger, transfer, cancel)
}

/// A processor that lost every outcome (a crash before they were durable), over `ledger`.
async fn after_crash(ledger: Arc<dyn Ledger>) -> Processor {
    let (mapping, _) = compiled();
    let processor = Processor::new(
        ledger,
        mapping,
        Arc::new(MemoryOutcomeStore::new()),
        settings(),
    );
    processor.load_index().await.expect("index");
    processor
}

fn cancel_x1() -> Vec<u8> {
    action("x1", &linear_id_for("c1").to_string(), "Cancel", &[], None)
}

#[tokio::test]
async fn an_archive_whose_answer_was_lost_is_answered_with_its_original_egress() {
    let (ledger, original) = archived_by_x1().await;
    let count = ledger.transaction_count();
    let processor = after_crash(ledger.clone()).await;
    let again = processor.process(&cancel_x1()).await;
    assert_eq!(again.disposition, Disposition::Completed);
    let names: Vec<Value> = json_of(&again)
        .iter()
        .map(|m| m["messageName"].clone())
        .collect();
    assert_eq!(
        names,
        [
            "CreateContractActionUpdate",
            "CreateContractActionUpdate",
            "EventMessage",
            "ContractMessage"
        ]
    );
    assert_eq!(again.egress, original.egress, "byte-identical egress");
    assert_eq!(ledger.transaction_count(), count, "no second effect");
    // The answer is recorded: the next copy is a replay.
    assert_eq!(
        processor.process(&cancel_x1()).await.disposition,
        Disposition::Replayed
    );
}

#[tokio::test]
async fn an_action_on_a_lineage_that_never_existed_is_still_4040() {
    let f = fixture();
    let unknown = linear_id_for("never-created").to_string();
    let p = f
        .processor
        .process_from(&action("a9", &unknown, "Cancel", &[], None), &REDELIVERED)
        .await;
    assert_eq!(error_code(&json_of(&p)[0]), 4040);
}

#[tokio::test]
async fn a_request_reusing_an_archiving_request_id_on_a_live_lineage_is_not_confused() {
    // x1 archived c1; c2 is live. A fresh request "x1" naming c2 finds c2 in the index, so it goes to the ledger,
    // whose deduplication answers with x1's original transaction: the recovery path is not involved.
    let (ledger, _) = archived_by_x1().await;
    let processor = after_crash(ledger.clone()).await;
    processor.process(&create("c2", "20", "60")).await;
    let c2 = linear_id_for("c2").to_string();
    let count = ledger.transaction_count();
    processor
        .process(&action("x1", &c2, "Cancel", &[], None))
        .await;
    assert_eq!(
        ledger.transaction_count(),
        count,
        "x1's command id is spent"
    );
}

#[tokio::test]
async fn a_remote_ledger_is_asked_only_for_a_redelivered_message() {
    let (ledger, original) = archived_by_x1().await;
    let remote = Arc::new(Remote::over(ledger));
    let processor = after_crash(remote.clone()).await;
    let fresh = processor.process(&cancel_x1()).await;
    assert_eq!(error_code(&json_of(&fresh)[0]), 4040);
    assert_eq!(remote.asked.load(Ordering::SeqCst), 0, "not asked");

    let processor = after_crash(remote.clone()).await;
    let again = processor.process_from(&cancel_x1(), &REDELIVERED).await;
    assert_eq!(remote.asked.load(Ordering::SeqCst), 1);
    assert_eq!(again.egress, original.egress);
}

#[tokio::test]
async fn a_pruned_prior_state_leaves_out_only_the_contract_message() {
    let (ledger, original) = archived_by_x1().await;
    let mut remote = Remote::over(ledger);
    remote.pruned = true;
    let processor = after_crash(Arc::new(remote)).await;
    let again = processor.process_from(&cancel_x1(), &REDELIVERED).await;
    assert_eq!(again.disposition, Disposition::Completed);
    assert_eq!(again.egress.len(), 3);
    assert_eq!(
        again.egress[..],
        original.egress[..3],
        "Submitted, Committed, Event as before"
    );
}

#[tokio::test]
async fn a_ledger_that_cannot_answer_gets_5030_not_a_recorded_4040() {
    let (ledger, _) = archived_by_x1().await;
    let mut remote = Remote::over(ledger);
    remote.unavailable = true;
    let remote = Arc::new(remote);
    let store = Arc::new(MemoryOutcomeStore::new());
    let (mapping, _) = compiled();
    let processor = Processor::new(remote.clone(), mapping, store.clone(), settings());
    processor.load_index().await.expect("index");
    let p = processor.process_from(&cancel_x1(), &REDELIVERED).await;
    assert!(
        matches!(p.disposition, Disposition::Exhausted { .. }),
        "{:?}",
        p.disposition
    );
    let failure = &json_of(&p)[0];
    assert_eq!(error_code(failure), 5030, "{failure}");
    assert!(
        failure
            .to_string()
            .contains("could not determine whether command"),
        "{failure}"
    );
    assert_eq!(
        remote.asked.load(Ordering::SeqCst),
        3,
        "retried like any ledger call"
    );
    assert_eq!(store.count().expect("count"), 0, "nothing recorded");
}

#[tokio::test]
async fn redelivered_requests_before_the_archive_neither_revive_the_lineage_nor_fail() {
    // Every outcome was lost: the create comes back through deduplication (its original transaction is older than
    // the active set the index was loaded from, so it must not bring the archived lineage back), the transfer on
    // the now archived lineage is answered from the ledger, and so is the archive.
    let (ledger, transfer, cancel) = history_of_c1().await;
    let count = ledger.transaction_count();
    let processor = after_crash(ledger.clone()).await;
    let lid = linear_id_for("c1").to_string();
    processor
        .process_from(&create("c1", "20", "60"), &REDELIVERED)
        .await;
    let read = json_of(&processor.process(&read("r1", &lid)).await);
    assert_eq!(
        error_code(&read[0]),
        4040,
        "the archived lineage stays archived"
    );
    let again = processor.process_from(&transfer_t1(), &REDELIVERED).await;
    assert_eq!(
        again.egress, transfer.egress,
        "the transfer's original answer"
    );
    let again = processor.process_from(&cancel_x1(), &REDELIVERED).await;
    assert_eq!(again.egress, cancel.egress, "the archive's original answer");
    assert_eq!(ledger.transaction_count(), count, "no second effect");
}

#[tokio::test]
async fn the_observer_names_an_own_archive_from_the_consumed_contract() {
    // The processor dropped the lineage when it committed x1's archive, so the observer (publishing every
    // transaction) cannot name it from the index; the created event the ledger gives back can.
    let f = fixture();
    f.processor.process(&create("c1", "20", "60")).await;
    f.processor.process(&cancel_x1()).await;
    let transactions = f.ledger.transactions().expect("transactions");
    let archive = transactions.last().expect("the archive");
    let mapping = f.processor.mapping().clone();
    let info = f.processor.info().clone();
    let consumed = f
        .ledger
        .committed_command(
            &archive.command_id,
            &["Operator".to_owned()],
            &f.processor.update_filter(),
        )
        .await
        .expect("asked")
        .expect("committed")
        .consumed
        .iter()
        .filter_map(|c| IndexedContract::of_created(c, &mapping, f.processor.stakeholder_rule()))
        .collect::<Vec<_>>();
    assert_eq!(
        consumed.len(),
        1,
        "the ledger gives the archived contract back"
    );
    let remembered = f
        .processor
        .recently_consumed(&consumed[0].contract_id)
        .expect("the processor remembers the contract its own action exercised");
    assert_eq!(remembered.payload, consumed[0].payload);
    let index = f.processor.index();
    let index = index.read().expect("index");
    assert_eq!(
        crate::observer::unknown_archived_contracts(&mapping, &index, archive).len(),
        1
    );
    let without = crate::observer::transaction_egress(&info, &mapping, &index, archive, &[]);
    assert!(without.is_empty(), "nothing names the lineage");
    let with = crate::observer::transaction_egress(&info, &mapping, &index, archive, &consumed);
    let names: Vec<String> = with
        .iter()
        .map(|m| {
            serde_json::to_value(m).expect("json")["messageName"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(names, ["EventMessage", "ContractMessage"]);
    let lid = linear_id_for("c1").to_string();
    assert!(
        serde_json::to_string(&with[1])
            .expect("json")
            .contains(&lid)
    );
    // A transaction whose contracts the index still knows needs no question.
    let create_tx = &transactions[0];
    assert!(crate::observer::unknown_archived_contracts(&mapping, &index, create_tx).is_empty());
}
