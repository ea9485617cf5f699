//! Delivery attempt counts in the PostgreSQL state store: each change is one statement, committed before it
//! returns (a count must be durable before its message is processed). Forgetting a settled message's count is
//! committed at once too: PostgreSQL has no unsynced commit to defer it to, and only counted redeliveries settle
//! one, which are rare.

use super::postgres_errors::from_db;
use super::{DeliveryAttempts, DeliveryKey, PostgresOutcomeStore, StoreError};

impl DeliveryAttempts for PostgresOutcomeStore {
    fn begin_attempt(&self, key: &DeliveryKey) -> Result<u32, StoreError> {
        let key = key.to_vec();
        self.run(move |backend| async move {
            let client = backend.client().await?;
            let row = client
                .query_one(
                    "INSERT INTO delivery_attempts (delivery_key, attempts) VALUES ($1, 1)
                     ON CONFLICT (delivery_key) DO UPDATE
                     SET attempts = LEAST(delivery_attempts.attempts::int8 + 1, 2147483647)::int4
                     RETURNING attempts",
                    &[&key],
                )
                .await
                .map_err(|e| from_db("count a delivery attempt", e))?;
            Ok(u32::try_from(row.get::<_, i32>(0)).unwrap_or(0))
        })
    }

    fn forgive_attempt(&self, key: &DeliveryKey) -> Result<(), StoreError> {
        let key = key.to_vec();
        self.run(move |backend| async move {
            let client = backend.client().await?;
            // Both parts see the same row: the last attempt removes it, a later one is decremented.
            client
                .execute(
                    "WITH gone AS (
                         DELETE FROM delivery_attempts WHERE delivery_key = $1 AND attempts <= 1)
                     UPDATE delivery_attempts SET attempts = attempts - 1
                     WHERE delivery_key = $1 AND attempts > 1",
                    &[&key],
                )
                .await
                .map_err(|e| from_db("give back a delivery attempt", e))?;
            Ok(())
        })
    }

    fn settled(&self, key: &DeliveryKey) -> Result<(), StoreError> {
        let key = key.to_vec();
        self.run(move |backend| async move {
            let client = backend.client().await?;
            client
                .execute(
                    "DELETE FROM delivery_attempts WHERE delivery_key = $1",
                    &[&key],
                )
                .await
                .map_err(|e| from_db("forget a settled delivery", e))?;
            Ok(())
        })
    }
}
