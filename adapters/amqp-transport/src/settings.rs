//! The `amqp:` configuration block.

use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;

/// Classic or quorum ingress queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueType {
    #[default]
    Classic,
    Quorum,
}

/// TLS for `amqps://`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// PEM file of the CA certificates to trust.
    pub ca_file: PathBuf,
}

/// Broker connection and topology.
///
/// `Debug` is written by hand and shows `url` through [`redact`], so any derived `Debug` that holds these settings
/// (the connector's `Config`, for one) never prints the broker password.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AmqpSettings {
    pub url: String,
    pub ingress_queue: String,
    pub egress_exchange: String,
    pub dead_letter_exchange: String,
    /// Defaults to `<dead_letter_exchange>.queue`.
    pub dead_letter_queue: Option<String>,
    pub queue_type: QueueType,
    pub single_active_consumer: bool,
    pub prefetch: u16,
    pub tls: Option<TlsSettings>,
    /// Shown by the broker (`rabbitmqctl list_connections client_properties`).
    pub connection_name: Option<String>,
}

impl Default for AmqpSettings {
    fn default() -> Self {
        Self {
            url: "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned(),
            ingress_queue: "workbench.ingress".to_owned(),
            egress_exchange: "workbench.egress".to_owned(),
            dead_letter_exchange: "workbench.dead".to_owned(),
            dead_letter_queue: None,
            queue_type: QueueType::Classic,
            single_active_consumer: false,
            prefetch: 256,
            tls: None,
            connection_name: None,
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

    /// The URL with its password replaced by `***`, for logs and `/status`.
    pub fn redacted_url(&self) -> String {
        redact(&self.url)
    }
}

/// Replaces the password of an `amqp(s)://user:password@host` URL with `***`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
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
            queue_type,
            single_active_consumer,
            prefetch,
            tls,
            connection_name,
        } = self;
        f.debug_struct("AmqpSettings")
            .field("url", &redact(url))
            .field("ingress_queue", ingress_queue)
            .field("egress_exchange", egress_exchange)
            .field("dead_letter_exchange", dead_letter_exchange)
            .field("dead_letter_queue", dead_letter_queue)
            .field("queue_type", queue_type)
            .field("single_active_consumer", single_active_consumer)
            .field("prefetch", prefetch)
            .field("tls", tls)
            .field("connection_name", connection_name)
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
        let s = AmqpSettings {
            url: "amqp://a:b@c".into(),
            ..Default::default()
        };
        assert!(!s.redacted_url().contains(":b@"));
    }

    #[test]
    fn defaults_and_dead_letter_queue_name() {
        let s: AmqpSettings = serde_json::from_str("{}").unwrap();
        assert_eq!(s, AmqpSettings::default());
        assert_eq!(s.dead_letter_queue_name(), "workbench.dead.queue");
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
