//! What the gateway does with a delivery before processing it: a first delivery is processed; a redelivered one is
//! processed until `amqp.max_redeliveries` is spent (each attempt counted durably), then answered with Failure 5000
//! and dead-lettered, and, should even that not get it settled, rejected so the broker dead-letters it.

/// What to do with a delivery.
pub enum Plan {
    Process,
    /// Spent its redeliveries: answer with Failure 5000 and dead-letter it, without processing it.
    Poisoned(String),
    /// Even that did not get it settled: reject it so the broker dead-letters it; publish nothing.
    RejectOnly(String),
}

impl Plan {
    /// The plan for a redelivered message on its `attempt`-th counted attempt.
    pub fn for_attempt(attempt: u32, max_redeliveries: u32) -> Self {
        let reason = format!(
            "it was delivered {} times without an outcome: each time the gateway stopped or lost its broker session \
             while processing it (amqp.max_redeliveries is {max_redeliveries})",
            u64::from(attempt) + 1
        );
        if attempt > max_redeliveries.saturating_add(1) {
            Plan::RejectOnly(reason)
        } else if attempt > max_redeliveries {
            Plan::Poisoned(reason)
        } else {
            Plan::Process
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redelivered_messages_are_processed_until_their_redeliveries_are_spent() {
        assert!(matches!(Plan::for_attempt(1, 5), Plan::Process));
        assert!(matches!(Plan::for_attempt(5, 5), Plan::Process));
        match Plan::for_attempt(6, 5) {
            Plan::Poisoned(reason) => {
                assert!(reason.contains("delivered 7 times"), "{reason}");
                assert!(reason.contains("amqp.max_redeliveries is 5"), "{reason}");
            }
            _ => panic!("the sixth redelivery is dead-lettered"),
        }
        assert!(matches!(Plan::for_attempt(7, 5), Plan::RejectOnly(_)));
    }
}
