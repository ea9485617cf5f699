//! A declare the broker refuses because the queue or exchange already exists with other arguments, explained in the
//! config's terms: which argument, the value the broker has, the value the config asks for, and the key to change.
//!
//! RabbitMQ closes the channel with PRECONDITION_FAILED and a text such as `inequivalent arg 'x-queue-type' for
//! queue 'q' in vhost '/': received 'quorum' but current is 'classic'` ("received" is what the declare sent,
//! "current" what the broker has; a value is `'v'`, `the value 'v' of type 't'`, or `none`). That text is the
//! broker's, not a contract, so it is read leniently: anything not in that shape is passed on whole, never panicked
//! on.

use crate::queue_arguments::{
    DEAD_LETTER_EXCHANGE, DELIVERY_LIMIT, QUEUE_TYPE, SINGLE_ACTIVE_CONSUMER, config_key,
};

/// A queue or exchange as the topology declares it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DeclaredObject<'a> {
    /// `queue` or `exchange`.
    pub kind: &'static str,
    pub name: &'a str,
    /// The config key that names it (`amqp.ingress_queue`).
    pub name_key: &'static str,
    /// The arguments the gateway declares it with because of a config key (`queue_arguments.rs`); a mismatch on
    /// any other argument is blamed on the object itself.
    pub config_arguments: &'a [&'static str],
    /// Said after "delete or rename it" when the mismatch is not one of `config_arguments`.
    pub other_remedy: Option<&'static str>,
}

/// One argument the broker found different.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InequivalentArg {
    pub argument: String,
    /// What the declare sent (the config); `None` when it sent none.
    pub asked: Option<String>,
    /// What the existing object has; `None` when it has none.
    pub existing: Option<String>,
}

/// The argument and both values, when `text` holds the broker's inequivalent-argument sentence.
pub(crate) fn parse_inequivalent_arg(text: &str) -> Option<InequivalentArg> {
    const ARG: &str = "inequivalent arg '";
    const RECEIVED: &str = ": received ";
    const CURRENT: &str = " but current is ";
    let rest = &text[text.find(ARG)? + ARG.len()..];
    let argument = &rest[..rest.find('\'')?];
    let rest = &rest[argument.len()..];
    let rest = &rest[rest.find(RECEIVED)? + RECEIVED.len()..];
    let split = rest.find(CURRENT)?;
    let asked = value(&rest[..split])?;
    let existing = value(&rest[split + CURRENT.len()..])?;
    if argument.is_empty() {
        return None;
    }
    Some(InequivalentArg {
        argument: argument.to_owned(),
        asked,
        existing,
    })
}

/// `none` → no value; `'v'` or `the value 'v' of type 't'` → `v`. Text may follow the value (the error's own
/// closing punctuation), so a quoted value ends at its last quote.
fn value(text: &str) -> Option<Option<String>> {
    let text = text.trim_start();
    if text.starts_with("none") {
        return Some(None);
    }
    if let Some(typed) = text.strip_prefix("the value '") {
        let end = typed.rfind("' of type '")?;
        return Some(Some(typed[..end].to_owned()));
    }
    let quoted = text.strip_prefix('\'')?;
    let end = quoted.rfind('\'')?;
    Some(Some(quoted[..end].to_owned()))
}

/// The operator's error for a refused declare of `object`; `broker_text` is the whole error as lapin gave it.
pub(crate) fn explain(object: &DeclaredObject<'_>, broker_text: &str) -> String {
    let DeclaredObject {
        kind,
        name,
        name_key,
        ..
    } = *object;
    let Some(mismatch) = parse_inequivalent_arg(broker_text) else {
        return format!(
            "{name_key}: cannot declare the {kind} {name:?}: it already exists with different arguments, and the \
             broker said: {} — delete or rename the {kind}, or make the configuration match it",
            broker_text.trim()
        );
    };
    let argument = mismatch.argument.as_str();
    let from_config = object.config_arguments.contains(&argument);
    match config_key(argument).filter(|_| from_config) {
        Some(key) => explain_config_argument(object, key, &mismatch),
        None => {
            let remedy = object
                .other_remedy
                .map(|r| format!(", or {r}"))
                .unwrap_or_default();
            format!(
                "{name_key}: the {kind} {name:?} exists {}; the gateway declares it with {} — delete or rename the \
                 {kind}{remedy}",
                existing_phrase(argument, mismatch.existing.as_deref()),
                asked_phrase(argument, mismatch.asked.as_deref()),
            )
        }
    }
}

fn explain_config_argument(
    object: &DeclaredObject<'_>,
    key: &str,
    mismatch: &InequivalentArg,
) -> String {
    let DeclaredObject { kind, name, .. } = *object;
    let argument = mismatch.argument.as_str();
    let existing = mismatch.existing.as_deref();
    let asked = mismatch.asked.as_deref();
    let setting = setting_that_matches(argument, existing).map(|v| format!(", or set {key}: {v}"));
    let remedy = format!("delete or rename the {kind}{}", setting.unwrap_or_default());
    if argument == QUEUE_TYPE {
        return format!(
            "{key}: the queue {name:?} exists as a {} queue; the config asks for {} ({argument}) — {remedy}",
            existing.unwrap_or("classic"),
            asked.unwrap_or("classic"),
        );
    }
    let asked = if argument == DELIVERY_LIMIT {
        format!(
            "{} ({argument} = 4 × amqp.max_redeliveries)",
            asked.unwrap_or("none")
        )
    } else {
        asked_phrase(argument, asked)
    };
    format!(
        "{key}: the {kind} {name:?} exists {}; the config asks for {asked} — {remedy}",
        existing_phrase(argument, existing),
    )
}

/// The value of the argument's config key that would declare what the broker has, when one would.
fn setting_that_matches(argument: &str, existing: Option<&str>) -> Option<String> {
    match (argument, existing) {
        (QUEUE_TYPE, None) => Some("classic".to_owned()),
        (QUEUE_TYPE, Some(t @ ("classic" | "quorum"))) => Some(t.to_owned()),
        (SINGLE_ACTIVE_CONSUMER, None | Some("false")) => Some("false".to_owned()),
        (SINGLE_ACTIVE_CONSUMER, Some("true")) => Some("true".to_owned()),
        (DEAD_LETTER_EXCHANGE, Some(exchange)) => Some(exchange.to_owned()),
        // The limit is always 4 × max_redeliveries (`AmqpSettings::broker_delivery_limit`).
        (DELIVERY_LIMIT, Some(limit)) => match limit.parse::<u32>() {
            Ok(n) if n > 0 && n % 4 == 0 => Some((n / 4).to_string()),
            _ => None,
        },
        _ => None,
    }
}

fn shown(argument: &str, value: &str) -> String {
    if argument == DEAD_LETTER_EXCHANGE {
        format!("{value:?}")
    } else {
        value.to_owned()
    }
}

fn existing_phrase(argument: &str, existing: Option<&str>) -> String {
    match existing {
        Some(v) => format!("with {argument} {}", shown(argument, v)),
        None => format!("without {argument}"),
    }
}

fn asked_phrase(argument: &str, asked: Option<&str>) -> String {
    match asked {
        Some(v) => format!("{} ({argument})", shown(argument, v)),
        None => format!("no {argument}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue_arguments::INGRESS_ARGUMENTS;
    use proptest::prelude::*;

    const INGRESS: DeclaredObject<'static> = DeclaredObject {
        kind: "queue",
        name: "wb.in",
        name_key: "amqp.ingress_queue",
        config_arguments: INGRESS_ARGUMENTS,
        other_remedy: None,
    };

    /// As lapin prints a channel the broker closed (the shape seen from RabbitMQ 3.10).
    fn lapin_text(sentence: &str) -> String {
        format!(
            "protocol error: AMQPError {{ kind: Soft(PRECONDITIONFAILED), message: ShortString(\"PRECONDITION_FAILED - {sentence}\") }}"
        )
    }

    #[test]
    fn the_three_value_shapes_are_read() {
        let text = lapin_text(
            "inequivalent arg 'x-queue-type' for queue 'q' in vhost '/': received 'quorum' but current is 'classic'",
        );
        assert_eq!(
            parse_inequivalent_arg(&text),
            Some(InequivalentArg {
                argument: "x-queue-type".into(),
                asked: Some("quorum".into()),
                existing: Some("classic".into()),
            })
        );
        let text = lapin_text(
            "inequivalent arg 'x-single-active-consumer' for queue 'q' in vhost '/': received the value 'true' of type 'bool' but current is none",
        );
        assert_eq!(
            parse_inequivalent_arg(&text),
            Some(InequivalentArg {
                argument: "x-single-active-consumer".into(),
                asked: Some("true".into()),
                existing: None,
            })
        );
        let text = "inequivalent arg 'x-delivery-limit' for queue 'q' in vhost '/': received none but current is the value '12' of type 'signedint'";
        assert_eq!(
            parse_inequivalent_arg(text).and_then(|m| m.existing),
            Some("12".into())
        );
    }

    #[test]
    fn each_argument_names_its_key_both_values_and_the_setting_that_matches() {
        let cases = [
            (
                "inequivalent arg 'x-queue-type' for queue 'wb.in' in vhost '/': received 'quorum' but current is 'classic'",
                "amqp.queue_type: the queue \"wb.in\" exists as a classic queue; the config asks for quorum (x-queue-type) — delete or rename the queue, or set amqp.queue_type: classic",
            ),
            (
                "inequivalent arg 'x-single-active-consumer' for queue 'wb.in' in vhost '/': received the value 'true' of type 'bool' but current is none",
                "amqp.single_active_consumer: the queue \"wb.in\" exists without x-single-active-consumer; the config asks for true (x-single-active-consumer) — delete or rename the queue, or set amqp.single_active_consumer: false",
            ),
            (
                "inequivalent arg 'x-dead-letter-exchange' for queue 'wb.in' in vhost '/': received the value 'wb.dead' of type 'longstr' but current is the value 'old.dead' of type 'longstr'",
                "amqp.dead_letter_exchange: the queue \"wb.in\" exists with x-dead-letter-exchange \"old.dead\"; the config asks for \"wb.dead\" (x-dead-letter-exchange) — delete or rename the queue, or set amqp.dead_letter_exchange: old.dead",
            ),
            (
                "inequivalent arg 'x-delivery-limit' for queue 'wb.in' in vhost '/': received the value '8' of type 'signedint' but current is the value '12' of type 'signedint'",
                "amqp.max_redeliveries: the queue \"wb.in\" exists with x-delivery-limit 12; the config asks for 8 (x-delivery-limit = 4 × amqp.max_redeliveries) — delete or rename the queue, or set amqp.max_redeliveries: 3",
            ),
            (
                "inequivalent arg 'x-delivery-limit' for queue 'wb.in' in vhost '/': received the value '8' of type 'signedint' but current is the value '10' of type 'signedint'",
                "amqp.max_redeliveries: the queue \"wb.in\" exists with x-delivery-limit 10; the config asks for 8 (x-delivery-limit = 4 × amqp.max_redeliveries) — delete or rename the queue",
            ),
        ];
        for (sentence, want) in cases {
            assert_eq!(explain(&INGRESS, &lapin_text(sentence)), want);
        }
    }

    #[test]
    fn an_argument_the_config_does_not_set_is_blamed_on_the_object() {
        let egress = DeclaredObject {
            kind: "queue",
            name: "wb.out.queue",
            name_key: "amqp.egress_queue",
            config_arguments: &[],
            other_remedy: Some("set amqp.egress_queue: none and bind your own"),
        };
        assert_eq!(
            explain(
                &egress,
                "inequivalent arg 'x-queue-type' for queue 'wb.out.queue' in vhost '/': received none but current is the value 'quorum' of type 'longstr'"
            ),
            "amqp.egress_queue: the queue \"wb.out.queue\" exists with x-queue-type quorum; the gateway declares it with no x-queue-type — delete or rename the queue, or set amqp.egress_queue: none and bind your own"
        );
        let dead = DeclaredObject {
            kind: "queue",
            name: "wb.dead.queue",
            name_key: "amqp.dead_letter_queue",
            config_arguments: &[],
            other_remedy: None,
        };
        assert_eq!(
            explain(
                &dead,
                "inequivalent arg 'x-queue-type' for queue 'wb.dead.queue' in vhost '/': received 'classic' but current is 'quorum'"
            ),
            "amqp.dead_letter_queue: the queue \"wb.dead.queue\" exists with x-queue-type quorum; the gateway declares it with classic (x-queue-type) — delete or rename the queue"
        );
    }

    #[test]
    fn an_unexpected_text_is_passed_on_whole() {
        for text in [
            "PRECONDITION_FAILED - something new",
            "inequivalent arg 'x-queue-type",
            "inequivalent arg '' for queue 'q': received 'a' but current is 'b'",
            "inequivalent arg 'x-queue-type' for queue 'q': received 'a' but current is 'b",
            "inequivalent arg 'durable' for queue 'q': received 'x' and more",
        ] {
            let said = explain(&INGRESS, text);
            assert!(
                said.starts_with("amqp.ingress_queue: cannot declare the queue \"wb.in\"")
                    && said.contains(text),
                "{said}"
            );
        }
    }

    proptest! {
        #[test]
        fn no_text_makes_it_panic(text in ".{0,200}", cut in 0usize..200) {
            let sentence = "inequivalent arg 'x-delivery-limit' for queue 'q' in vhost '/': received the value '8' of type 'signedint' but current is none";
            let end = sentence.char_indices().map(|(i, _)| i).nth(cut).unwrap_or(sentence.len());
            let _ = explain(&INGRESS, &text);
            let _ = explain(&INGRESS, &format!("{}{text}", &sentence[..end]));
            let _ = explain(&INGRESS, &format!("inequivalent arg '{text}"));
        }
    }
}
