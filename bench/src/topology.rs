//! The broker names of one side (relay or gateway) of one workload, and their `amqp:` settings.
//!
//! Every run, workload and side gets its own queues and exchanges under a unique prefix, so runs never share state
//! with each other or with tests on the same broker; everything here is deleted when the side is done.

use amqp_transport::AmqpSettings;

use crate::options::Options;

/// Queue and exchange names of one side.
#[derive(Debug, Clone)]
pub struct Names {
    pub ingress_queue: String,
    pub egress_exchange: String,
    pub dead_letter_exchange: String,
    pub dead_letter_queue: String,
    /// Bound to the egress exchange with `#`: where the benchmark counts egress.
    pub capture_queue: String,
    pub connection_name: String,
}

impl Names {
    /// Names under `bench.<run>.<mix>.<side>.`.
    pub fn new(run_id: &str, mix: &str, side: &str) -> Self {
        let prefix = format!("bench.{run_id}.{mix}.{side}");
        Self {
            ingress_queue: format!("{prefix}.ingress"),
            egress_exchange: format!("{prefix}.egress"),
            dead_letter_exchange: format!("{prefix}.dead"),
            dead_letter_queue: format!("{prefix}.dead.queue"),
            capture_queue: format!("{prefix}.capture"),
            connection_name: format!("bench-{run_id}-{mix}-{side}"),
        }
    }

    /// Every queue, for deletion.
    pub fn queues(&self) -> [&str; 3] {
        [
            &self.ingress_queue,
            &self.dead_letter_queue,
            &self.capture_queue,
        ]
    }

    /// Every exchange, for deletion.
    pub fn exchanges(&self) -> [&str; 2] {
        [&self.egress_exchange, &self.dead_letter_exchange]
    }
}

/// The `amqp:` settings of a side: the same prefetch and queue type for the relay and the gateway.
pub fn settings(names: &Names, options: &Options) -> AmqpSettings {
    AmqpSettings {
        url: options.target.amqp_url.clone(),
        ingress_queue: names.ingress_queue.clone(),
        egress_exchange: names.egress_exchange.clone(),
        dead_letter_exchange: names.dead_letter_exchange.clone(),
        dead_letter_queue: Some(names.dead_letter_queue.clone()),
        queue_type: options.queue_type.transport(),
        prefetch: options.prefetch,
        connection_name: Some(names.connection_name.clone()),
        ..AmqpSettings::default()
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn names_are_unique_per_run_mix_and_side_and_settings_carry_the_shared_knobs() {
        let a = Names::new("r1", "mixed", "relay");
        let b = Names::new("r1", "mixed", "gateway");
        let c = Names::new("r2", "mixed", "relay");
        assert_ne!(a.ingress_queue, b.ingress_queue);
        assert_ne!(a.ingress_queue, c.ingress_queue);
        assert_eq!(a.capture_queue, "bench.r1.mixed.relay.capture");
        let options = Options::parse_from(["b", "--prefetch", "32", "--queue-type", "quorum"]);
        let s = settings(&b, &options);
        assert_eq!(s.prefetch, 32);
        assert_eq!(s.queue_type, amqp_transport::QueueType::Quorum);
        assert_eq!(s.dead_letter_queue_name(), b.dead_letter_queue);
        assert_eq!(s.connection_name.as_deref(), Some("bench-r1-mixed-gateway"));
    }
}
