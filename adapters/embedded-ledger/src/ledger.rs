//! The embedded ledger: transactions with SHA-256 update ids and int64 offsets, an active contract set, an update
//! stream with a live tail, command deduplication, and (with a journal) durability.
//!
//! All state sits behind one mutex; a submission checks deduplication first (so a resubmission after a crash gets
//! its original transaction even if the contract is gone), then injected faults, then interprets the command, writes
//! and fsyncs the journal record, and only then makes the transaction visible.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use ledger_port::{
    ActiveContract, ActiveContracts, CreatedEvent, Event, Ledger, LedgerError, RejectionReason,
    ServableLedger, Submission, SubmitOutcome, Transaction, UpdateFilter, UpdateStream,
};
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use crate::catalog::TemplateCatalog;
use crate::faults::FaultPlan;
use crate::interpret::interpret;
use crate::journal::{self, JournalWriter, OpenError, RecoveryReport};

/// Where effective times come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The system clock.
    System,
    /// Deterministic: the transaction at offset N gets this instant plus N microseconds.
    Fixed(i64),
}

#[derive(Default)]
struct State {
    /// Active contracts: contract id → (the transaction that created it, the event's index in it).
    active: HashMap<String, (Arc<Transaction>, usize)>,
    log: Vec<Arc<Transaction>>,
    by_command: HashMap<String, usize>,
    by_update: HashMap<String, usize>,
    fault_attempts: HashMap<String, u32>,
    /// Set when a journal write failed: the in-memory state can no longer be trusted to match the file.
    broken: Option<String>,
}

impl State {
    fn apply(&mut self, tx: Arc<Transaction>) {
        let index = self.log.len();
        for (i, event) in tx.events.iter().enumerate() {
            match event {
                Event::Created(c) => {
                    self.active.insert(c.contract_id.clone(), (tx.clone(), i));
                }
                Event::Archived(a) => {
                    self.active.remove(&a.contract_id);
                }
                Event::Exercised(_) => {}
            }
        }
        self.by_command.insert(tx.command_id.clone(), index);
        self.by_update.insert(tx.update_id.clone(), index);
        self.log.push(tx);
    }
}

/// The embedded ledger.
pub struct EmbeddedLedger {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    journal: Option<Mutex<JournalWriter>>,
    catalog: TemplateCatalog,
    clock: Clock,
    faults: Mutex<FaultPlan>,
    end: watch::Sender<i64>,
}

impl EmbeddedLedger {
    /// An in-memory ledger.
    pub fn in_memory(catalog: TemplateCatalog, clock: Clock) -> Self {
        Self::from_parts(catalog, clock, None, Vec::new())
    }

    /// A durable ledger over the journal at `path` (created if absent), replaying what it holds.
    pub async fn open(
        path: &Path,
        catalog: TemplateCatalog,
        clock: Clock,
    ) -> Result<(Self, RecoveryReport), OpenError> {
        let path = path.to_owned();
        let opened = tokio::task::spawn_blocking(move || journal::open(&path))
            .await
            .map_err(|e| OpenError::Io {
                path: Default::default(),
                source: std::io::Error::other(e.to_string()),
            })??;
        let (writer, transactions, report) = opened;
        Ok((
            Self::from_parts(catalog, clock, Some(writer), transactions),
            report,
        ))
    }

    fn from_parts(
        catalog: TemplateCatalog,
        clock: Clock,
        journal: Option<JournalWriter>,
        replay: Vec<Transaction>,
    ) -> Self {
        let mut state = State::default();
        for tx in replay {
            state.apply(Arc::new(tx));
        }
        let (end, _) = watch::channel(state.log.len() as i64);
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(state),
                journal: journal.map(Mutex::new),
                catalog,
                clock,
                faults: Mutex::new(FaultPlan::default()),
                end,
            }),
        }
    }

    /// Replaces the injected faults.
    pub fn set_fault_plan(&self, plan: FaultPlan) {
        *self.inner.faults.lock().unwrap_or_else(|e| e.into_inner()) = plan;
    }

    /// Number of committed transactions.
    pub fn transaction_count(&self) -> u64 {
        self.inner.lock().log.len() as u64
    }

    /// Number of active contracts.
    pub fn active_count(&self) -> usize {
        self.inner.lock().active.len()
    }

    /// Every committed transaction in offset order (for tests and tools).
    pub fn transactions(&self) -> Vec<Arc<Transaction>> {
        self.inner.lock().log.clone()
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn now(&self, offset: i64) -> i64 {
        match self.clock {
            Clock::Fixed(t) => t.saturating_add(offset),
            Clock::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_micros() as i64)
                .unwrap_or(0),
        }
    }

    fn submit_blocking(&self, submission: Submission) -> Result<SubmitOutcome, LedgerError> {
        let mut state = self.lock();
        if let Some(why) = &state.broken {
            return Err(LedgerError::permanent(
                RejectionReason::Internal,
                format!("ledger stopped after a journal failure: {why}"),
            ));
        }
        if submission.command_id.is_empty() {
            return Err(LedgerError::permanent(
                RejectionReason::InvalidArgument,
                "command_id: expected a non-empty command id",
            )
            .with_ledger_error("MISSING_FIELD"));
        }
        if let Some(&index) = state.by_command.get(&submission.command_id) {
            return Ok(SubmitOutcome {
                transaction: (*state.log[index]).clone(),
                duplicate: true,
            });
        }
        let fault = {
            let plan = self.faults.lock().unwrap_or_else(|e| e.into_inner());
            plan.rules
                .iter()
                .find(|r| r.matches(&submission.command))
                .cloned()
        };
        if let Some(rule) = fault {
            let attempts = state
                .fault_attempts
                .entry(submission.command_id.clone())
                .or_insert(0);
            *attempts += 1;
            if rule.times.is_none_or(|n| *attempts <= n) {
                return Err(rule.error(*attempts));
            }
        }
        let offset = state.log.len() as i64 + 1;
        let target: Option<&CreatedEvent> = match &submission.command {
            ledger_port::Command::Exercise { contract_id, .. } => state
                .active
                .get(contract_id)
                .and_then(|(tx, i)| match &tx.events[*i] {
                    Event::Created(c) => Some(c),
                    _ => None,
                }),
            ledger_port::Command::Create { .. } => None,
        };
        let events = interpret(
            &self.catalog,
            target,
            &submission.command,
            &submission.act_as,
            &submission.command_id,
            offset,
        )?;
        let mut tx = Transaction {
            update_id: String::new(),
            command_id: submission.command_id.clone(),
            offset,
            effective_at_micros: self.now(offset),
            events,
        };
        tx.update_id = update_id(&tx);
        if let Some(journal) = &self.journal {
            let mut writer = journal.lock().unwrap_or_else(|e| e.into_inner());
            if let Err(e) = writer.append(&[&tx]) {
                let why = format!("cannot write the journal: {e}");
                state.broken = Some(why.clone());
                return Err(LedgerError::transient(why));
            }
        }
        let tx = Arc::new(tx);
        state.apply(tx.clone());
        drop(state);
        self.end.send_replace(offset);
        Ok(SubmitOutcome {
            transaction: (*tx).clone(),
            duplicate: false,
        })
    }
}

/// SHA-256 hex over the transaction's canonical content (its JSON without the update id).
fn update_id(tx: &Transaction) -> String {
    let canonical = serde_json::to_vec(tx).unwrap_or_default();
    let digest = Sha256::digest(&canonical);
    message_schema::ids::lower_hex(&digest)
}

/// The transaction as `filter` sees it: only admitted events; `None` when none is.
fn filtered(tx: &Transaction, filter: &UpdateFilter) -> Option<Transaction> {
    if filter.templates.is_empty() {
        return Some(tx.clone());
    }
    let events: Vec<Event> = tx
        .events
        .iter()
        .filter(|e| {
            let template = match e {
                Event::Created(c) => &c.template_id,
                Event::Archived(a) => &a.template_id,
                Event::Exercised(x) => &x.template_id,
            };
            filter.admits(template)
        })
        .cloned()
        .collect();
    (!events.is_empty()).then(|| Transaction {
        events,
        ..tx.clone()
    })
}

#[async_trait::async_trait]
impl Ledger for EmbeddedLedger {
    async fn submit(&self, submission: Submission) -> Result<Transaction, LedgerError> {
        self.submit_reporting_duplicates(submission)
            .await
            .map(|o| o.transaction)
    }

    async fn active_contracts(
        &self,
        filter: &UpdateFilter,
    ) -> Result<ActiveContracts, LedgerError> {
        let state = self.inner.lock();
        let mut contracts: Vec<ActiveContract> = state
            .active
            .values()
            .filter_map(|(tx, i)| match &tx.events[*i] {
                Event::Created(c) if filter.admits(&c.template_id) => Some(ActiveContract {
                    created: c.clone(),
                    created_update_id: tx.update_id.clone(),
                }),
                _ => None,
            })
            .collect();
        contracts.sort_by_key(|c| (c.created.offset, c.created.node_id));
        Ok(ActiveContracts {
            offset: state.log.len() as i64,
            contracts,
        })
    }

    async fn ledger_end(&self) -> Result<i64, LedgerError> {
        Ok(self.inner.lock().log.len() as i64)
    }

    async fn updates(
        &self,
        begin_exclusive: i64,
        filter: &UpdateFilter,
    ) -> Result<UpdateStream, LedgerError> {
        let end = self.inner.lock().log.len() as i64;
        if begin_exclusive < 0 || begin_exclusive > end {
            return Err(LedgerError::permanent(
                RejectionReason::InvalidArgument,
                format!("begin_exclusive {begin_exclusive} is outside the ledger (0 to {end})"),
            )
            .with_ledger_error("OFFSET_OUT_OF_RANGE"));
        }
        let inner = self.inner.clone();
        let receiver = self.inner.end.subscribe();
        let filter = filter.clone();
        let stream = futures::stream::unfold(
            (
                inner,
                receiver,
                begin_exclusive,
                filter,
                std::collections::VecDeque::new(),
            ),
            |(inner, mut receiver, mut cursor, filter, mut buffer)| async move {
                loop {
                    if let Some(tx) = buffer.pop_front() {
                        return Some((Ok(tx), (inner, receiver, cursor, filter, buffer)));
                    }
                    {
                        let state = inner.lock();
                        let end = state.log.len() as i64;
                        // Read a bounded chunk at a time so a large backlog does not hold the lock long.
                        let upto = end.min(cursor + 1024);
                        for tx in &state.log[cursor as usize..upto as usize] {
                            if let Some(t) = filtered(tx, &filter) {
                                buffer.push_back(t);
                            }
                        }
                        cursor = upto;
                    }
                    if buffer.is_empty() {
                        let caught_up = *receiver.borrow_and_update() <= cursor;
                        if caught_up && receiver.changed().await.is_err() {
                            return None;
                        }
                    }
                }
            },
        );
        Ok(stream.boxed())
    }

    fn ledger_type(&self) -> &'static str {
        "embedded"
    }
}

#[async_trait::async_trait]
impl ServableLedger for EmbeddedLedger {
    async fn submit_reporting_duplicates(
        &self,
        submission: Submission,
    ) -> Result<SubmitOutcome, LedgerError> {
        if self.inner.journal.is_some() {
            // The journal's fsync blocks: keep it off the async workers.
            let inner = self.inner.clone();
            tokio::task::spawn_blocking(move || inner.submit_blocking(submission))
                .await
                .map_err(|e| LedgerError::transient(format!("ledger task failed: {e}")))?
        } else {
            self.inner.submit_blocking(submission)
        }
    }

    async fn transaction_by_update_id(
        &self,
        update_id: &str,
    ) -> Result<Option<Transaction>, LedgerError> {
        let state = self.inner.lock();
        Ok(state
            .by_update
            .get(update_id)
            .map(|&i| (*state.log[i]).clone()))
    }

    async fn transaction_by_offset(&self, offset: i64) -> Result<Option<Transaction>, LedgerError> {
        let state = self.inner.lock();
        Ok(usize::try_from(offset - 1)
            .ok()
            .and_then(|i| state.log.get(i))
            .map(|tx| (**tx).clone()))
    }
}
