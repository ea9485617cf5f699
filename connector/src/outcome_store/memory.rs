//! An in-memory outcome store, for `connector process` and tests: idempotent within one process.

use std::collections::HashMap;
use std::sync::Mutex;

use super::memory_history::MemoryHistory;
use super::{DeliveryAttempts, DeliveryKey, OutcomeRecord, OutcomeStore, StoreError};
use crate::encoded_egress::EncodedEgress;

/// Each request id's outcome with the unix ms it was recorded at.
type RecordedOutcomes = HashMap<String, (u64, Vec<EncodedEgress>)>;

/// Outcomes in a hash map.
#[derive(Debug, Default)]
pub struct MemoryOutcomeStore {
    outcomes: Mutex<RecordedOutcomes>,
    checkpoint: Mutex<Option<i64>>,
    attempts: Mutex<HashMap<DeliveryKey, u32>>,
    /// The run history (`memory_history.rs`).
    pub(super) history: Mutex<MemoryHistory>,
}

impl MemoryOutcomeStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, RecordedOutcomes>, StoreError> {
        self.outcomes
            .lock()
            .map_err(|_| StoreError::new("in-memory store poisoned by an earlier panic".to_owned()))
    }
}

impl OutcomeStore for MemoryOutcomeStore {
    fn get(&self, request_id: &str) -> Result<Option<Vec<EncodedEgress>>, StoreError> {
        Ok(self
            .lock()?
            .get(request_id)
            .map(|(_, egress)| egress.clone()))
    }

    fn recorded(&self, request_id: &str) -> Result<Option<OutcomeRecord>, StoreError> {
        Ok(self
            .lock()?
            .get(request_id)
            .map(|(at, egress)| OutcomeRecord {
                recorded_at_ms: Some(*at),
                egress: egress.clone(),
            }))
    }

    fn put(&self, request_id: &str, egress: &[EncodedEgress]) -> Result<(), StoreError> {
        self.lock()?
            .insert(request_id.to_owned(), (super::now_ms(), egress.to_vec()));
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn count(&self) -> Result<u64, StoreError> {
        Ok(self.lock()?.len() as u64)
    }

    fn checkpoint(&self) -> Result<Option<i64>, StoreError> {
        Ok(*self.checkpoint.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn set_checkpoint(&self, offset: i64) -> Result<(), StoreError> {
        *self.checkpoint.lock().unwrap_or_else(|e| e.into_inner()) = Some(offset);
        Ok(())
    }

    fn remove_recorded_before(&self, cutoff_ms: u64, limit: usize) -> Result<usize, StoreError> {
        let mut outcomes = self.lock()?;
        let mut expired: Vec<(u64, String)> = outcomes
            .iter()
            .filter(|(_, (at, _))| *at < cutoff_ms)
            .map(|(id, (at, _))| (*at, id.clone()))
            .collect();
        expired.sort();
        expired.truncate(limit);
        for (_, id) in &expired {
            outcomes.remove(id);
        }
        outcomes.shrink_to_fit();
        Ok(expired.len())
    }

    fn compact(&self) -> Result<bool, StoreError> {
        // Removal already gave the memory back (shrink_to_fit); there is no file.
        Ok(true)
    }
}

impl DeliveryAttempts for MemoryOutcomeStore {
    fn begin_attempt(&self, key: &DeliveryKey) -> Result<u32, StoreError> {
        let mut attempts = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        let count = attempts.entry(*key).or_default();
        *count = count.saturating_add(1);
        Ok(*count)
    }

    fn forgive_attempt(&self, key: &DeliveryKey) -> Result<(), StoreError> {
        let mut attempts = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = attempts.get_mut(key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                attempts.remove(key);
            }
        }
        Ok(())
    }

    fn settled(&self, key: &DeliveryKey) -> Result<(), StoreError> {
        self.attempts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
        Ok(())
    }
}
