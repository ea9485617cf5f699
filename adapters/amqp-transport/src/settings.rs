//! The `amqp:` configuration block.

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
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
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
}
