//! The `amqp:` configuration block.

use std::fmt;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::properties::SHORT_STRING_MAX_BYTES;
use crate::redact::redact;

/// `amqp.egress_queue: none`: no egress queue is declared (the operator binds their own).
pub const EGRESS_QUEUE_OFF: &str = "none";

/// Classic or quorum ingress queue.
// `JsonSchema` (here and below): the gateway's config schema describes `amqp:` from these types. The `length` and
// `range` attributes repeat what `invalid_setting` refuses, where a schema can say it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum QueueType {
    #[default]
    Classic,
    Quorum,
}

/// TLS for `amqps://`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// PEM file of the CA certificates to trust.
    pub ca_file: PathBuf,
}

/// Broker connection and topology.
///
/// `Debug` is written by hand and shows `url` through [`redact`], so any derived `Debug` that holds these settings
/// (the connector's `Config`, for one) never prints the broker password.
#[derive(Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AmqpSettings {
    /// The broker, `amqp://user:password@host:5672/%2f` (`amqps://` with `tls.ca_file`).
    pub url: String,
    /// The durable queue requests are read from; declared if absent.
    #[schemars(length(min = 1, max = SHORT_STRING_MAX_BYTES))]
    pub ingress_queue: String,
    /// The topic exchange egress is published to (routing key = `messageName`).
    #[schemars(length(max = SHORT_STRING_MAX_BYTES))]
    pub egress_exchange: String,
    /// Gets the originals of malformed and exhausted requests.
    #[schemars(length(max = SHORT_STRING_MAX_BYTES))]
    pub dead_letter_exchange: String,
    /// Defaults to `<dead_letter_exchange>.queue`.
    #[schemars(length(max = SHORT_STRING_MAX_BYTES))]
    pub dead_letter_queue: Option<String>,
    /// A durable queue bound to the egress exchange with `#`, so egress waits for its reader instead of being
    /// returned as unroutable. Defaults to `<egress_exchange>.queue`; `none` declares none.
    #[schemars(length(max = SHORT_STRING_MAX_BYTES))]
    pub egress_queue: Option<String>,
    /// The ingress queue's `x-queue-type`; `quorum` also gives it `x-delivery-limit` (see
    /// [`AmqpSettings::broker_delivery_limit`]). The dead-letter queue stays classic (`queue_arguments.rs` says why).
    pub queue_type: QueueType,
    /// Declare the ingress queue with `x-single-active-consumer`: the broker delivers to one consumer at a time.
    pub single_active_consumer: bool,
    /// Unacknowledged deliveries in flight.
    pub prefetch: u16,
    pub tls: Option<TlsSettings>,
    /// Shown by the broker (`rabbitmqctl list_connections client_properties`).
    pub connection_name: Option<String>,
    /// Deliveries of one message that may end without an outcome (the gateway stopped or lost its session while
    /// processing it) before it is dead-lettered with Failure 5000 instead of being processed again.
    #[schemars(range(min = 1))]
    pub max_redeliveries: u32,
    /// What the gateway does with a request's `reply_to`.
    pub reply_to: ReplyToSettings,
}

/// Copies of egress to the queue a request names in `reply_to` (best effort).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ReplyToSettings {
    /// When set, only queue names starting with one of these get copies; others are ignored (and counted).
    #[schemars(inner(length(min = 1)))]
    pub allowed_prefixes: Option<Vec<String>>,
}

impl ReplyToSettings {
    /// Whether a copy may go to `queue`.
    pub fn allows(&self, queue: &str) -> bool {
        match &self.allowed_prefixes {
            None => true,
            Some(prefixes) => prefixes.iter().any(|p| queue.starts_with(p.as_str())),
        }
    }
}

impl Default for AmqpSettings {
    fn default() -> Self {
        Self {
            url: "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned(),
            ingress_queue: "workbench.ingress".to_owned(),
            egress_exchange: "workbench.egress".to_owned(),
            dead_letter_exchange: "workbench.dead".to_owned(),
            dead_letter_queue: None,
            egress_queue: None,
            queue_type: QueueType::Classic,
            single_active_consumer: false,
            prefetch: 256,
            tls: None,
            connection_name: None,
            max_redeliveries: 5,
            reply_to: ReplyToSettings::default(),
        }
    }
}

impl AmqpSettings {
    /// The dead-letter queue's name.
    pub fn dead_letter_queue_name(&self) -> String {
        self.dead_letter_queue
            .clone()
            .unwrap_or_else(|| format!("{}.queue", self.dead_letter_exchange))
    }

    /// The egress queue to declare and bind, if any.
    pub fn egress_queue_name(&self) -> Option<String> {
        match self.egress_queue.as_deref() {
            None => Some(format!("{}.queue", self.egress_exchange)),
            Some(EGRESS_QUEUE_OFF) => None,
            Some(name) => Some(name.to_owned()),
        }
    }

    /// `x-delivery-limit` of a quorum ingress queue: four times `max_redeliveries` (at most `i32::MAX`), always.
    ///
    /// The gateway counts only the deliveries it began processing and dead-letters with Failure 5000 once a message
    /// had `max_redeliveries` of them; the broker counts every return, including those the message did not cause
    /// (back-pressure, lost connections, prefetched messages handed back when a gateway stops). So the broker's
    /// limit is set well above, and the broker only dead-letters (without a Failure) what the gateway could not.
    /// One fixed rule rather than a setting of its own, so two instances with the same `max_redeliveries` declare
    /// the same queue, and a queue declared with another limit is explained as another `max_redeliveries`.
    pub fn broker_delivery_limit(&self) -> i32 {
        i32::try_from(self.max_redeliveries.saturating_mul(4)).unwrap_or(i32::MAX)
    }

    /// The first setting that cannot work, as `(path, why)`: names the broker takes must fit an AMQP short string.
    pub fn invalid_setting(&self) -> Option<(String, String)> {
        let dead_letter_queue = self.dead_letter_queue_name();
        let egress_queue = self.egress_queue_name().unwrap_or_default();
        let names = [
            ("egress_queue", egress_queue.as_str()),
            ("ingress_queue", self.ingress_queue.as_str()),
            ("egress_exchange", self.egress_exchange.as_str()),
            ("dead_letter_exchange", self.dead_letter_exchange.as_str()),
            ("dead_letter_queue", dead_letter_queue.as_str()),
        ];
        for (key, value) in names {
            if value.len() > SHORT_STRING_MAX_BYTES {
                return Some((
                    format!("amqp.{key}"),
                    format!(
                        "{} bytes long (expected at most {} bytes: the broker takes names as AMQP short strings)",
                        value.len(),
                        SHORT_STRING_MAX_BYTES
                    ),
                ));
            }
        }
        if self.ingress_queue.is_empty() {
            return Some((
                "amqp.ingress_queue".to_owned(),
                "empty (expected a queue name)".to_owned(),
            ));
        }
        if self.max_redeliveries == 0 {
            return Some((
                "amqp.max_redeliveries".to_owned(),
                "expected at least 1 (a message the gateway stopped on once is tried again)"
                    .to_owned(),
            ));
        }
        if let Some(prefixes) = &self.reply_to.allowed_prefixes
            && let Some(i) = prefixes.iter().position(String::is_empty)
        {
            return Some((
                format!("amqp.reply_to.allowed_prefixes[{i}]"),
                "empty (it would allow every queue; omit allowed_prefixes for that)".to_owned(),
            ));
        }
        None
    }

    /// The URL with its password replaced by `***`, for logs and `/status`.
    pub fn redacted_url(&self) -> String {
        redact(&self.url)
    }
}

impl fmt::Debug for AmqpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Destructured without `..`: a field added later fails to compile here until it is shown (or left out on
        // purpose), instead of silently missing from the output or slipping past the redaction.
        let Self {
            url,
            ingress_queue,
            egress_exchange,
            dead_letter_exchange,
            dead_letter_queue,
            egress_queue,
            queue_type,
            single_active_consumer,
            prefetch,
            tls,
            connection_name,
            max_redeliveries,
            reply_to,
        } = self;
        f.debug_struct("AmqpSettings")
            .field("url", &redact(url))
            .field("ingress_queue", ingress_queue)
            .field("egress_exchange", egress_exchange)
            .field("dead_letter_exchange", dead_letter_exchange)
            .field("dead_letter_queue", dead_letter_queue)
            .field("egress_queue", egress_queue)
            .field("queue_type", queue_type)
            .field("single_active_consumer", single_active_consumer)
            .field("prefetch", prefetch)
            .field("tls", tls)
            .field("connection_name", connection_name)
            .field("max_redeliveries", max_redeliveries)
            .field("reply_to", reply_to)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("amqp://guest:s3cret@10.0.0.1:5672/%2f"),
            "amqp://guest:***@10.0.0.1:5672/%2f"
        );
        assert_eq!(
            redact("amqps://u:p@ss:w@rd@host/vh"),
            "amqps://u:***@host/vh"
        );
        assert_eq!(redact("amqp://host:5672"), "amqp://host:5672");
        // Malformed, as lapin quotes it back in its parse error.
        assert_eq!(redact("amqp:guest:s3cret@host"), "amqp:guest:***@host");
        assert!(!redact("Invalid URL: 'amqp:guest:s3cret@host'").contains("s3cret"));
        let s = AmqpSettings {
            url: "amqp://a:b@c".into(),
            ..Default::default()
        };
        assert!(!s.redacted_url().contains(":b@"));
    }

    #[test]
    fn the_broker_delivery_limit_stays_above_the_gateways_own() {
        for max_redeliveries in [1, 2, 5, 1000, u32::MAX / 4, u32::MAX] {
            let s = AmqpSettings {
                max_redeliveries,
                ..Default::default()
            };
            let limit = i64::from(s.broker_delivery_limit());
            assert!(
                limit > i64::from(max_redeliveries) || limit == i64::from(i32::MAX),
                "{max_redeliveries} → {limit}"
            );
        }
        let five = AmqpSettings::default();
        assert_eq!(five.broker_delivery_limit(), 20);
    }

    #[test]
    fn defaults_and_dead_letter_queue_name() {
        let s: AmqpSettings = serde_json::from_str("{}").unwrap();
        assert_eq!(s, AmqpSettings::default());
        assert_eq!(s.dead_letter_queue_name(), "workbench.dead.queue");
        assert_eq!(
            s.egress_queue_name().as_deref(),
            Some("workbench.egress.queue")
        );
        let off: AmqpSettings = serde_json::from_str(r#"{"egress_queue": "none"}"#).unwrap();
        assert_eq!(off.egress_queue_name(), None);
        let named: AmqpSettings =
            serde_json::from_str(r#"{"egress_queue": "audit.egress", "egress_exchange": "x"}"#)
                .unwrap();
        assert_eq!(named.egress_queue_name().as_deref(), Some("audit.egress"));
        assert!(serde_json::from_str::<AmqpSettings>(r#"{"prefetsh": 1}"#).is_err());
    }

    #[test]
    fn debug_output_redacts_the_password_and_shows_the_rest() {
        let s = AmqpSettings {
            url: "amqps://gateway:Tr0ub4dor&3-amqp@broker.example.com:5671/prod".into(),
            tls: Some(TlsSettings {
                ca_file: "/etc/broker-ca.pem".into(),
            }),
            connection_name: Some("gateway-7".into()),
            ..Default::default()
        };
        for text in [format!("{s:?}"), format!("{s:#?}")] {
            assert!(!text.contains("Tr0ub4dor"), "{text}");
            for shown in [
                "amqps://gateway:***@broker.example.com:5671/prod",
                "workbench.ingress",
                "workbench.egress",
                "workbench.dead",
                "Classic",
                "256",
                "/etc/broker-ca.pem",
                "gateway-7",
            ] {
                assert!(text.contains(shown), "{shown} missing from {text}");
            }
        }
    }
}
