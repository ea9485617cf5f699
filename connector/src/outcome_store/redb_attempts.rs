//! Delivery attempt counts in the redb state store: a count is committed with an fsync before its message is
//! processed (so a crash while processing it cannot lose it), and forgotten without one once the message settles
//! (the next outcome flush makes that durable; until then a crash only leaves a stale count of a settled message).

use redb::{Durability, ReadableTable};

use super::redb_store::{ATTEMPTS, err};
use super::{DeliveryAttempts, DeliveryKey, RedbOutcomeStore, StoreError};

impl RedbOutcomeStore {
    /// Changes the count of `key` by `change` in one write transaction; 0 removes it.
    fn change_attempts(
        &self,
        key: &DeliveryKey,
        change: impl FnOnce(u32) -> u32,
        durability: Durability,
    ) -> Result<u32, StoreError> {
        let mut txn = self
            .db()
            .begin_write()
            .map_err(|e| err("begin write")(e.to_string()))?;
        txn.set_durability(durability)
            .map_err(|e| err("set durability")(e.to_string()))?;
        let count = {
            let mut table = txn
                .open_table(ATTEMPTS)
                .map_err(|e| err("open table")(e.to_string()))?;
            let before = table
                .get(key.as_slice())
                .map_err(|e| err("read")(e.to_string()))?
                .map(|v| v.value())
                .unwrap_or(0);
            let after = change(before);
            if after == 0 {
                table
                    .remove(key.as_slice())
                    .map_err(|e| err("remove")(e.to_string()))?;
            } else {
                table
                    .insert(key.as_slice(), after)
                    .map_err(|e| err("insert")(e.to_string()))?;
            }
            after
        };
        txn.commit().map_err(|e| err("commit")(e.to_string()))?;
        Ok(count)
    }
}

impl DeliveryAttempts for RedbOutcomeStore {
    fn begin_attempt(&self, key: &DeliveryKey) -> Result<u32, StoreError> {
        self.change_attempts(key, |n| n.saturating_add(1), Durability::Immediate)
    }

    fn forgive_attempt(&self, key: &DeliveryKey) -> Result<(), StoreError> {
        self.change_attempts(key, |n| n.saturating_sub(1), Durability::Immediate)
            .map(|_| ())
    }

    fn settled(&self, key: &DeliveryKey) -> Result<(), StoreError> {
        self.change_attempts(key, |_| 0, Durability::None)
            .map(|_| ())
    }
}
