//! The one place the benchmark writes the gateway's config file: the side's broker names and the shared knobs,
//! the ledger under test, and the `workflows:` block of the example mapping.
//!
//! The ledger is an enum: the embedded ledger, or a Daml ledger reached over the Ledger API (`connector sandbox`,
//! itself started with this same config rendered with the embedded ledger); everything else is the same for both.
//! The observer is off for the throughput benchmark and left at the gateway's default for the start-up benchmark.
//! The state store is the gateway's default redb file unless a run asks for PostgreSQL (`state_under_test.rs`).

use std::path::{Path, PathBuf};

use amqp_transport::{AmqpSettings, QueueType};

use crate::error::BenchError;
use crate::options::OrderingChoice;
use crate::state_under_test::StateUnderTest;

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
    pub state: StateUnderTest,
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
        text.push_str(&self.state.yaml());
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
pub(crate) fn quoted(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workflows_block_starts_at_the_top_level_key() {
        assert_eq!(
            workflows_block("a: 1\n  workflows: no\nworkflows:\n  X: {}\n"),
            Some("workflows:\n  X: {}\n")
        );
        assert_eq!(workflows_block("a: 1\n"), None);
    }
}
