//! The one place the benchmark writes the gateway's config file: the side's broker names and the shared knobs,
//! the ledger under test, and the `workflows:` block of the example mapping.
//!
//! The ledger is an enum: the embedded ledger, or a Daml ledger reached over the Ledger API (`connector sandbox`,
//! itself started with this same config rendered with the embedded ledger); everything else is the same for both.
//! The observer is off for the throughput benchmark and left at the gateway's default for the start-up benchmark.

use std::path::{Path, PathBuf};

use amqp_transport::{AmqpSettings, QueueType};

use crate::error::BenchError;
use crate::options::OrderingChoice;

/// The ledger the gateway runs against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerUnderTest {
    /// The embedded ledger with its journal (fsynced before a transaction is reported committed).
    EmbeddedJournal { journal: PathBuf },
    /// A Daml participant's Ledger API v2 at `url` (`connector sandbox`, its embedded ledger journaled).
    Daml { url: String },
}

impl LedgerUnderTest {
    /// As the report names it.
    pub fn label(&self) -> &'static str {
        match self {
            Self::EmbeddedJournal { .. } => "embedded+journal",
            Self::Daml { .. } => "daml (connector sandbox, embedded+journal)",
        }
    }

    /// The `ledger:` block.
    fn yaml(&self) -> String {
        match self {
            Self::EmbeddedJournal { journal } => {
                format!(
                    "ledger:\n  embedded: {{ journal: {} }}\n",
                    quoted(&journal.display().to_string())
                )
            }
            Self::Daml { url } => {
                format!(
                    "ledger:\n  daml: {{ url: {}, user_id: bench }}\n",
                    quoted(url)
                )
            }
        }
    }
}

/// The `observe:` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObserveSetting {
    /// `observe: off`: no observer, since it would only publish transactions no request caused and there are none.
    Off,
    /// No `observe:` key: the gateway's default (`external`), as an operator's config would leave it.
    Default,
}

/// Everything the config file says.
#[derive(Debug, Clone)]
pub struct GatewayConfig<'a> {
    pub amqp: &'a AmqpSettings,
    pub ledger: LedgerUnderTest,
    pub ordering: OrderingChoice,
    pub observe: ObserveSetting,
    pub state_dir: &'a Path,
    pub http_port: u16,
    /// The mapping's `workflows:` block, verbatim.
    pub workflows: &'a str,
}

impl GatewayConfig<'_> {
    /// The YAML text. The acting parties are the ones the workload uses (`workload.rs`).
    pub fn render(&self) -> String {
        let a = self.amqp;
        let queue_type = match a.queue_type {
            QueueType::Classic => "classic",
            QueueType::Quorum => "quorum",
        };
        // The benchmark binds its own capture queue; a default egress queue would store every message a second time.
        let mut text = format!(
            "amqp:\n  url: {}\n  ingress_queue: {}\n  egress_exchange: {}\n  dead_letter_exchange: {}\n  \
             dead_letter_queue: {}\n  queue_type: {queue_type}\n  prefetch: {}\n  connection_name: {}\n  \
             egress_queue: none\n",
            quoted(&a.url),
            quoted(&a.ingress_queue),
            quoted(&a.egress_exchange),
            quoted(&a.dead_letter_exchange),
            quoted(&a.dead_letter_queue_name()),
            a.prefetch,
            quoted(a.connection_name.as_deref().unwrap_or("bench-gateway")),
        );
        text.push_str(&self.ledger.yaml());
        text.push_str(&format!(
            "party: Operator\nuser_chain_identifier:\n  allowed_parties: [Operator, Device01, Carrier, Retailer]\n\
             ordering: {}\n",
            self.ordering.as_str(),
        ));
        if self.observe == ObserveSetting::Off {
            text.push_str("observe: \"off\"\n");
        }
        text.push_str(&format!(
            "state_dir: {}\nhttp: {{ listen: \"127.0.0.1:{}\" }}\n",
            quoted(&self.state_dir.display().to_string()),
            self.http_port,
        ));
        text.push_str(self.workflows);
        if !text.ends_with('\n') {
            text.push('\n');
        }
        text
    }
}

/// The mapping file's `workflows:` block and the `connector` binary, both checked before anything is started.
pub fn checked_inputs(mapping: &Path, connector: PathBuf) -> Result<(String, PathBuf), BenchError> {
    let text = std::fs::read_to_string(mapping).map_err(|e| BenchError::Mapping {
        path: mapping.to_owned(),
        message: e.to_string(),
    })?;
    let workflows = workflows_block(&text).ok_or_else(|| BenchError::Mapping {
        path: mapping.to_owned(),
        message: "no top-level `workflows:` block".to_owned(),
    })?;
    if !connector.is_file() {
        return Err(BenchError::GatewayStart {
            path: connector,
            message: "no such file".to_owned(),
        });
    }
    Ok((workflows.to_owned(), connector))
}

/// The `workflows:` block of a mapping file: from its top-level `workflows:` line to the end.
pub fn workflows_block(mapping: &str) -> Option<&str> {
    let mut offset = 0;
    for line in mapping.split_inclusive('\n') {
        if line.starts_with("workflows:") {
            return Some(&mapping[offset..]);
        }
        offset += line.len();
    }
    None
}

/// A YAML double-quoted scalar (JSON string syntax is valid YAML).
fn quoted(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use connector::config::{Config, LedgerChoice, ObserveMode, Ordering};

    use super::*;

    const EXAMPLE: &str = include_str!("../../examples/refrigerated-transportation/connector.yaml");

    #[test]
    fn the_rendered_config_is_one_the_gateway_accepts() {
        let amqp = AmqpSettings {
            ingress_queue: "bench.r.mixed.gateway.ingress".into(),
            egress_exchange: "bench.r.mixed.gateway.egress".into(),
            dead_letter_exchange: "bench.r.mixed.gateway.dead".into(),
            dead_letter_queue: Some("bench.r.mixed.gateway.dead.queue".into()),
            queue_type: QueueType::Quorum,
            prefetch: 64,
            connection_name: Some("bench-r-mixed-gateway".into()),
            ..AmqpSettings::default()
        };
        let state_dir = Path::new("/tmp/bench state");
        let config = GatewayConfig {
            amqp: &amqp,
            ledger: LedgerUnderTest::EmbeddedJournal {
                journal: state_dir.join("ledger.log"),
            },
            ordering: OrderingChoice::PerContract,
            observe: ObserveSetting::Off,
            state_dir,
            http_port: 18080,
            workflows: workflows_block(EXAMPLE).expect("the example has workflows"),
        };
        let parsed = Config::from_yaml_with_env(&config.render(), std::iter::empty())
            .expect("a valid gateway config");
        // The benchmark counts egress from its own capture queue, so the gateway's default egress queue is off.
        assert_eq!(parsed.amqp.egress_queue_name(), None);
        let expected = AmqpSettings {
            egress_queue: Some("none".into()),
            ..amqp.clone()
        };
        assert_eq!(parsed.amqp, expected);
        assert_eq!(parsed.ordering, Ordering::PerContract);
        assert_eq!(parsed.observe, ObserveMode::Off);
        assert_eq!(parsed.state_dir, state_dir);
        assert_eq!(parsed.http.listen.port(), 18080);
        let Ok(LedgerChoice::Embedded(embedded)) = parsed.ledger_choice() else {
            panic!("expected the embedded ledger");
        };
        assert_eq!(embedded.journal, Some(state_dir.join("ledger.log")));
        assert!(parsed.workflows.contains_key("RefrigeratedTransportation"));
    }

    #[test]
    fn on_a_daml_ledger_only_the_ledger_block_differs() {
        let amqp = AmqpSettings::default();
        let state_dir = Path::new("/tmp/bench");
        let embedded = GatewayConfig {
            amqp: &amqp,
            ledger: LedgerUnderTest::EmbeddedJournal {
                journal: state_dir.join("ledger.log"),
            },
            ordering: OrderingChoice::Strict,
            observe: ObserveSetting::Off,
            state_dir,
            http_port: 18081,
            workflows: workflows_block(EXAMPLE).expect("the example has workflows"),
        };
        let daml = GatewayConfig {
            ledger: LedgerUnderTest::Daml {
                url: "http://127.0.0.1:4001".into(),
            },
            ..embedded.clone()
        };
        assert_eq!(
            daml.ledger.label(),
            "daml (connector sandbox, embedded+journal)"
        );
        let parsed = Config::from_yaml_with_env(&daml.render(), std::iter::empty())
            .expect("a valid gateway config");
        let Ok(LedgerChoice::Daml(settings)) = parsed.ledger_choice() else {
            panic!("expected a Daml ledger");
        };
        assert_eq!(settings.url, "http://127.0.0.1:4001");
        assert_eq!(settings.user_id, "bench");
        let other_lines = |text: &str| -> Vec<String> {
            text.lines()
                .filter(|l| !l.starts_with("  embedded:") && !l.starts_with("  daml:"))
                .map(str::to_owned)
                .collect()
        };
        assert_eq!(other_lines(&daml.render()), other_lines(&embedded.render()));
    }

    #[test]
    fn the_default_observe_setting_leaves_the_key_out() {
        let amqp = AmqpSettings::default();
        let state_dir = Path::new("/tmp/bench");
        let config = GatewayConfig {
            amqp: &amqp,
            ledger: LedgerUnderTest::EmbeddedJournal {
                journal: state_dir.join("ledger.log"),
            },
            ordering: OrderingChoice::Strict,
            observe: ObserveSetting::Default,
            state_dir,
            http_port: 18082,
            workflows: workflows_block(EXAMPLE).expect("the example has workflows"),
        };
        let text = config.render();
        assert!(!text.contains("observe:"), "{text}");
        let parsed =
            Config::from_yaml_with_env(&text, std::iter::empty()).expect("a valid gateway config");
        assert_eq!(parsed.observe, ObserveMode::External);
        let off = GatewayConfig {
            observe: ObserveSetting::Off,
            ..config
        };
        let parsed = Config::from_yaml_with_env(&off.render(), std::iter::empty())
            .expect("a valid gateway config");
        assert_eq!(parsed.observe, ObserveMode::Off);
    }

    #[test]
    fn the_workflows_block_starts_at_the_top_level_key() {
        assert_eq!(
            workflows_block("a: 1\n  workflows: no\nworkflows:\n  X: {}\n"),
            Some("workflows:\n  X: {}\n")
        );
        assert_eq!(workflows_block("a: 1\n"), None);
    }
}
