//! The arguments the gateway declares its queues with, and which configuration key each one comes from, so a queue
//! the broker already holds with other arguments can be explained in terms of the config (`declare_mismatch.rs`).
//!
//! The ingress queue carries every setting below. The dead-letter queue is classic whatever `amqp.queue_type` says:
//! `connector dead-letters` (and `POST /dead-letters/replay`) read letters unacked and hand back the ones they keep by
//! closing their channel, and only a classic queue puts returned messages back at their positions — a quorum queue
//! (RabbitMQ 3.10, `tests/broker_topology.rs`) appends them at its tail, so a `list --limit 2` would move the first two
//! letters to the back. A quorum queue also counts each return as a delivery, and RabbitMQ 4 gives quorum queues a
//! delivery limit by default, past which a letter would be dropped. The price: dead letters are not replicated. It
//! is declared `x-queue-type: classic` explicitly, so a dead-letter queue someone made quorum is refused by name
//! instead of silently reordered. The egress queue carries no arguments: its type is the broker's default.

use lapin::types::{AMQPValue, FieldTable, ShortString};

use crate::settings::{AmqpSettings, QueueType};

pub(crate) const QUEUE_TYPE: &str = "x-queue-type";
pub(crate) const SINGLE_ACTIVE_CONSUMER: &str = "x-single-active-consumer";
pub(crate) const DEAD_LETTER_EXCHANGE: &str = "x-dead-letter-exchange";
pub(crate) const DELIVERY_LIMIT: &str = "x-delivery-limit";

/// The arguments the ingress queue is declared with, each owed to one config key (see [`ARGUMENT_KEYS`]).
pub(crate) const INGRESS_ARGUMENTS: &[&str] = &[
    QUEUE_TYPE,
    SINGLE_ACTIVE_CONSUMER,
    DEAD_LETTER_EXCHANGE,
    DELIVERY_LIMIT,
];

/// Which config key sets which queue argument.
pub(crate) const ARGUMENT_KEYS: &[(&str, &str)] = &[
    (QUEUE_TYPE, "amqp.queue_type"),
    (SINGLE_ACTIVE_CONSUMER, "amqp.single_active_consumer"),
    (DEAD_LETTER_EXCHANGE, "amqp.dead_letter_exchange"),
    (DELIVERY_LIMIT, "amqp.max_redeliveries"),
];

/// The config key behind a queue argument the gateway declares.
pub(crate) fn config_key(argument: &str) -> Option<&'static str> {
    ARGUMENT_KEYS
        .iter()
        .find(|(a, _)| *a == argument)
        .map(|(_, key)| *key)
}

fn queue_type_name(queue_type: QueueType) -> &'static str {
    match queue_type {
        QueueType::Classic => "classic",
        QueueType::Quorum => "quorum",
    }
}

/// `x-queue-type`, a dead-letter exchange, and on a quorum queue the broker's delivery limit; single active consumer
/// when configured.
pub(crate) fn ingress_arguments(s: &AmqpSettings) -> FieldTable {
    let mut args = FieldTable::default();
    args.insert(
        ShortString::from(QUEUE_TYPE),
        AMQPValue::LongString(queue_type_name(s.queue_type).into()),
    );
    args.insert(
        ShortString::from(DEAD_LETTER_EXCHANGE),
        AMQPValue::LongString(s.dead_letter_exchange.as_str().into()),
    );
    if s.queue_type == QueueType::Quorum {
        // The broker's own poison limit, a backstop behind the gateway's `max_redeliveries`: it also counts returns
        // the message did not cause (broker back-pressure, lost connections, a prefetched message handed back when a
        // gateway stops), so it is set well above (`AmqpSettings::broker_delivery_limit`).
        args.insert(
            ShortString::from(DELIVERY_LIMIT),
            AMQPValue::LongInt(s.broker_delivery_limit()),
        );
    }
    if s.single_active_consumer {
        args.insert(
            ShortString::from(SINGLE_ACTIVE_CONSUMER),
            AMQPValue::Boolean(true),
        );
    }
    args
}

/// Always classic (see the module comment for why). A queue declared without arguments, as every dead-letter queue
/// was before the type was named, is classic too, so existing deployments' queues stay equivalent.
pub(crate) fn dead_letter_queue_arguments() -> FieldTable {
    let mut args = FieldTable::default();
    args.insert(
        ShortString::from(QUEUE_TYPE),
        AMQPValue::LongString(queue_type_name(QueueType::Classic).into()),
    );
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quorum() -> AmqpSettings {
        AmqpSettings {
            queue_type: QueueType::Quorum,
            single_active_consumer: true,
            max_redeliveries: 3,
            ..Default::default()
        }
    }

    fn text(args: &FieldTable, key: &str) -> Option<String> {
        match args.inner().get(key)? {
            AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
            AMQPValue::LongInt(i) => Some(i.to_string()),
            AMQPValue::Boolean(b) => Some(b.to_string()),
            other => Some(format!("{other:?}")),
        }
    }

    #[test]
    fn a_quorum_setup_declares_every_argument_and_a_classic_dead_letter_queue() {
        let s = quorum();
        let ingress = ingress_arguments(&s);
        assert_eq!(text(&ingress, QUEUE_TYPE).as_deref(), Some("quorum"));
        assert_eq!(
            text(&ingress, SINGLE_ACTIVE_CONSUMER).as_deref(),
            Some("true")
        );
        assert_eq!(
            text(&ingress, DEAD_LETTER_EXCHANGE).as_deref(),
            Some("workbench.dead")
        );
        assert_eq!(text(&ingress, DELIVERY_LIMIT).as_deref(), Some("12"));
        let dead = dead_letter_queue_arguments();
        assert_eq!(text(&dead, QUEUE_TYPE).as_deref(), Some("classic"));
        assert_eq!(dead.inner().len(), 1, "no delivery limit, nothing else");
        for argument in INGRESS_ARGUMENTS {
            assert!(config_key(argument).is_some(), "{argument}");
        }
    }

    #[test]
    fn a_classic_setup_declares_no_limit_and_no_single_active_consumer() {
        let s = AmqpSettings::default();
        let ingress = ingress_arguments(&s);
        assert_eq!(text(&ingress, QUEUE_TYPE).as_deref(), Some("classic"));
        assert_eq!(text(&ingress, DELIVERY_LIMIT), None);
        assert_eq!(text(&ingress, SINGLE_ACTIVE_CONSUMER), None);
    }
}
