//! The gateway's configuration: one YAML file, every scalar overridable from the environment, validated at load
//! with errors that name the offending path.
//!
//! Loading is three steps: YAML → a JSON tree (so env overrides can be applied to any path without knowing the
//! schema), the env overrides, then typed deserialisation through `serde_path_to_error` so every error carries the
//! path (`workflows.Shipment.functions.Ingest.parameters.temp: unknown type "integer" …`).

mod duration;
mod env_overrides;
mod error;
mod instance_rules;
mod json_schema;
mod leadership;
mod ledger;
mod observe_mode;
mod state;
mod state_postgres;
mod telemetry;
mod unknown_key;
mod workflow;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;

pub use duration::HumanDuration;
pub use env_overrides::{InferredOverride, apply_env_overrides};
pub use error::ConfigError;
pub use instance_rules::check_instance_rules;
pub use json_schema::{config_schema, draft07_generator, headed};
pub use leadership::{LeadershipConfig, ObserverLeadership};
pub use ledger::{EmbeddedConfig, LedgerChoice, LedgerConfig};
pub use observe_mode::ObserveMode;
pub use state::{StateBackend, StateConfig};
pub use state_postgres::{
    PASSWORD_ENV as STATE_POSTGRES_PASSWORD_ENV, StatePostgresConfig, StatePostgresError,
};
pub use telemetry::TelemetryConfig;
pub use unknown_key::teach_unknown_name;
pub use workflow::{
    CreateConfig, FieldConstant, FunctionConfig, ParameterSpec, RuleConfig, WorkflowConfig,
};

use amqp_transport::AmqpSettings;
use message_schema::limits::Limits;

use crate::request_faults::RequestFaultPlan;

/// The whole configuration file.
//
// The derived `Debug` is safe to log: the secret-holding leaves redact themselves (`AmqpSettings` masks the broker
// password, `DamlSettings` drops URL userinfo), and the access token is never held, only its file's path.
//
// `JsonSchema` (here and on every type below it): `connector schema config` is derived from the types that parse the
// file, so it cannot drift from them; the attributes repeat what `validate` refuses where a schema can say it, and
// the types parsed by hand describe themselves by hand (`HumanDuration`, `ObserveMode`, `ParameterSpec`, …).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub amqp: AmqpSettings,
    #[serde(default)]
    pub ledger: LedgerConfig,
    /// The default acting party.
    #[schemars(regex(pattern = r"\S"))]
    pub party: String,
    /// When present, a request's `userChainIdentifier` names the acting party, if it is on this allow-list; and
    /// parties may be bound to the broker users that send requests.
    #[serde(default)]
    pub user_chain_identifier: Option<UserChainIdentifierConfig>,
    #[serde(default)]
    pub ordering: Ordering,
    /// Upper bound of requests in flight at once in `per-contract` ordering.
    #[serde(default = "default_max_in_flight")]
    #[schemars(range(min = 1))]
    pub max_in_flight: usize,
    /// Where the embedded ledger's journal, the idempotency store and the observer checkpoint live.
    #[serde(default = "default_state_dir")]
    pub state_dir: PathBuf,
    /// How long the state store keeps outcomes, and how it is swept.
    #[serde(default)]
    pub state: StateConfig,
    #[serde(default)]
    pub http: HttpConfig,
    /// Written as `connectionId` into every egress message.
    #[serde(default = "default_connection_id")]
    pub connection_id: u64,
    /// Which ledger transactions the observer publishes.
    #[serde(default)]
    pub observe: ObserveMode,
    /// With no observer checkpoint yet, publish the active contracts once before following the stream.
    #[serde(default)]
    pub sweep: bool,
    /// Which instance publishes observer egress when several run one deployment.
    #[serde(default)]
    pub leadership: LeadershipConfig,
    #[serde(default)]
    pub retry: RetryConfig,
    #[serde(default)]
    pub log: LogConfig,
    /// Export of the gateway's spans over OTLP (none unless `telemetry.otlp_endpoint` is set).
    #[serde(default)]
    pub telemetry: TelemetryConfig,
    /// What one ingress message may hold; checked before it is parsed.
    #[serde(default)]
    pub limits: Limits,
    /// Injected gateway faults, for testing how poison messages are contained (never set this in production).
    #[serde(default)]
    pub faults: Option<RequestFaultPlan>,
    /// The mapping: Workbench `workflowName` → template, its create and its functions.
    #[schemars(extend("minProperties" = 1))]
    pub workflows: IndexMap<String, WorkflowConfig>,
}

fn default_max_in_flight() -> usize {
    256
}

/// The embedded ledger's journal file under `state_dir`, unless `ledger.embedded.journal` names another.
pub const DEFAULT_JOURNAL_FILE: &str = "ledger.journal";

fn default_state_dir() -> PathBuf {
    PathBuf::from("./data")
}

fn default_connection_id() -> u64 {
    1
}

/// The allow-list for acting as the party a request names in `userChainIdentifier`, and which sender may act as
/// whom.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserChainIdentifierConfig {
    /// The parties a request's `userChainIdentifier` may name to act and read as.
    #[schemars(inner(regex(pattern = r"\S")))]
    pub allowed_parties: Vec<String>,
    /// Broker user → the parties a message it published (its AMQP `user_id`, which RabbitMQ checks against the
    /// publishing connection's user) may act and read as. When set, a message without `user_id`, from a user not
    /// listed, or acting as a party outside its user's list is refused (4030).
    #[serde(default)]
    #[schemars(schema_with = "json_schema::party_bindings")]
    pub parties_by_amqp_user: Option<IndexMap<String, Vec<String>>>,
}

/// Request ordering.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Ordering {
    /// One ledger command at a time, in queue order.
    #[default]
    Strict,
    /// Queue order kept per linear id; different contracts run concurrently.
    PerContract,
}

/// The HTTP surface.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// An IP address and port (`127.0.0.1:8080`, `[::1]:8080`): host names are not resolved.
    #[serde(deserialize_with = "socket_address")]
    #[schemars(regex(pattern = json_schema::SOCKET_ADDRESS))]
    pub listen: SocketAddr,
    /// A file holding the operator's admin token (at least 16 characters; surrounding whitespace is ignored). Only
    /// when it is set does the HTTP surface accept an action (`POST /dead-letters/replay` with `Authorization:
    /// Bearer <token>`); without it the surface stays read-only. Read again on every action, so a rotated token
    /// takes effect at once.
    #[serde(default)]
    pub admin_token_file: Option<PathBuf>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            admin_token_file: None,
        }
    }
}

/// `SocketAddr`'s own error ("invalid socket address syntax") names neither the value nor the form expected.
fn socket_address<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<SocketAddr, D::Error> {
    let text = String::deserialize(deserializer)?;
    text.parse().map_err(|_| {
        serde::de::Error::custom(format!(
            "{text:?} is not an IP address and port (expected e.g. 127.0.0.1:8080 or [::1]:8080; host names are \
             not resolved)"
        ))
    })
}

/// Retrying transient ledger faults.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// Attempts per request before it is dead-lettered with Failure 5030 (the first try counts).
    #[schemars(range(min = 1))]
    pub max_attempts: u32,
    pub initial_backoff_ms: u64,
    pub max_backoff_ms: u64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            initial_backoff_ms: 100,
            max_backoff_ms: 10_000,
        }
    }
}

/// Logging.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A `tracing` filter directive, e.g. `info` or `connector=debug,lapin=warn`.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Human,
            level: "info".to_owned(),
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    #[default]
    Human,
    Json,
}

impl Config {
    /// Reads, overrides from the process environment, and validates a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_yaml_with_env(&text, std::env::vars())
    }

    /// Parses YAML text with the given environment (only `CONNECTOR_*` variables are used).
    pub fn from_yaml_with_env(
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut tree: serde_json::Value =
            serde_saphyr::from_str(text).map_err(|e| ConfigError::Yaml(e.to_string()))?;
        if tree.is_null() {
            tree = serde_json::Value::Object(serde_json::Map::new());
        }
        let mut inferred = apply_env_overrides(&mut tree, env)?;
        loop {
            match serde_path_to_error::deserialize::<_, Config>(tree.clone()) {
                Ok(config) => {
                    config.validate()?;
                    return Ok(config);
                }
                Err(e) => {
                    let path = e.path().to_string();
                    // A guessed number or boolean where the config wants text: use the text as given.
                    if let Some(i) = inferred.iter().position(|o| o.path == path) {
                        let o = inferred.remove(i);
                        env_overrides::set_as_string(&mut tree, &o.path, &o.raw);
                        continue;
                    }
                    return Err(ConfigError::Invalid {
                        path: if path == "." { String::new() } else { path },
                        message: teach_unknown_name(&e.into_inner().to_string()),
                    });
                }
            }
        }
    }

    /// The configured ledger.
    pub fn ledger_choice(&self) -> Result<LedgerChoice, ConfigError> {
        self.ledger.choice()
    }

    /// Where a long-running embedded ledger (the gateway's, the sandbox's) keeps its journal: the configured
    /// `journal`, else `<state_dir>/ledger.journal`; none when it is `in_memory` or the ledger is a Daml one.
    pub fn embedded_journal(&self) -> Option<PathBuf> {
        match self.ledger_choice() {
            Ok(LedgerChoice::Embedded(embedded)) if !embedded.in_memory => Some(
                embedded
                    .journal
                    .unwrap_or_else(|| self.state_dir.join(DEFAULT_JOURNAL_FILE)),
            ),
            _ => None,
        }
    }

    /// Whether the gateway's state (outcomes, observer checkpoint) lives in `state_dir` rather than in memory.
    pub fn state_is_durable(&self) -> bool {
        !matches!(self.ledger_choice(), Ok(LedgerChoice::Embedded(e)) if e.in_memory)
    }

    /// The parties the gateway reads as: its own party, then the allowed request parties, each once.
    pub fn reading_parties(&self) -> Vec<String> {
        let mut parties = vec![self.party.clone()];
        for party in self.allowed_request_parties().unwrap_or_default() {
            if !parties.contains(party) {
                parties.push(party.clone());
            }
        }
        parties
    }

    /// Where the observer's leadership lock is taken, when leadership is by PostgreSQL: `leadership.postgres_url`, or
    /// else the state store's database.
    pub fn observer_leadership_postgres(&self) -> Result<Option<tokio_postgres::Config>, String> {
        if self.leadership.observer != ObserverLeadership::Postgres {
            return Ok(None);
        }
        if self.leadership.postgres_url.is_some() {
            return Ok(self.leadership.postgres_config());
        }
        match (&self.state.backend, &self.state.postgres) {
            (StateBackend::Postgres, Some(state)) => state
                .tokio_postgres_config()
                .map(Some)
                .map_err(|e| e.to_string()),
            _ => Ok(None),
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.ledger_choice()?;
        let invalid = |path: &str, message: String| ConfigError::Invalid {
            path: path.to_owned(),
            message,
        };
        if let Some((path, message)) = self.amqp.invalid_setting() {
            return Err(invalid(&path, message));
        }
        if let Some((path, message)) = self.telemetry.invalid_setting() {
            return Err(invalid(path, message));
        }
        let state_in_postgres = self.state.backend == StateBackend::Postgres;
        if let Some((path, message)) = self.leadership.invalid_setting(state_in_postgres) {
            return Err(invalid(path, message));
        }
        if let Some((path, message)) = self.state.invalid_setting(!self.state_is_durable()) {
            return Err(invalid(&path, message));
        }
        if let Some((setting, message)) = self.limits.invalid_setting() {
            return Err(invalid(&format!("limits.{setting}"), message));
        }
        if self.party.trim().is_empty() {
            return Err(invalid(
                "party",
                "expected a non-empty party identifier".to_owned(),
            ));
        }
        if self.max_in_flight == 0 {
            return Err(invalid(
                "max_in_flight",
                "expected a whole number of at least 1".to_owned(),
            ));
        }
        if self.retry.max_attempts == 0 {
            return Err(invalid(
                "retry.max_attempts",
                "expected at least 1 attempt".to_owned(),
            ));
        }
        if self.retry.initial_backoff_ms > self.retry.max_backoff_ms {
            return Err(invalid(
                "retry.initial_backoff_ms",
                format!(
                    "{} is larger than retry.max_backoff_ms ({})",
                    self.retry.initial_backoff_ms, self.retry.max_backoff_ms
                ),
            ));
        }
        if let Some(uci) = &self.user_chain_identifier {
            if let Some(i) = uci.allowed_parties.iter().position(|p| p.trim().is_empty()) {
                return Err(invalid(
                    &format!("user_chain_identifier.allowed_parties[{i}]"),
                    "expected a non-empty party identifier".to_owned(),
                ));
            }
            if let Some(bindings) = &uci.parties_by_amqp_user {
                self.validate_party_bindings(&uci.allowed_parties, bindings)?;
            }
        }
        if self.workflows.is_empty() {
            return Err(invalid(
                "workflows",
                "expected at least one workflow mapping".to_owned(),
            ));
        }
        Ok(())
    }

    /// Every bound party must be one the gateway may act as: its own party or an allowed one.
    fn validate_party_bindings(
        &self,
        allowed: &[String],
        bindings: &IndexMap<String, Vec<String>>,
    ) -> Result<(), ConfigError> {
        const PATH: &str = "user_chain_identifier.parties_by_amqp_user";
        if bindings.is_empty() {
            return Err(ConfigError::invalid(
                PATH,
                "expected at least one broker user (leave the key out to not bind parties to broker users)",
            ));
        }
        for (user, parties) in bindings {
            if user.trim().is_empty() {
                return Err(ConfigError::invalid(
                    PATH,
                    "expected non-empty broker user names",
                ));
            }
            if parties.is_empty() {
                return Err(ConfigError::invalid(
                    format!("{PATH}.{user}"),
                    "expected at least one party",
                ));
            }
            for (i, party) in parties.iter().enumerate() {
                if party.trim().is_empty() {
                    return Err(ConfigError::invalid(
                        format!("{PATH}.{user}[{i}]"),
                        "expected a non-empty party identifier",
                    ));
                }
                if *party != self.party && !allowed.contains(party) {
                    return Err(ConfigError::invalid(
                        format!("{PATH}.{user}[{i}]"),
                        format!(
                            "party {party:?} is neither `party` nor in user_chain_identifier.allowed_parties, so \
                             this gateway never acts as it"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The parties each broker user's messages may act and read as, when parties are bound to broker users.
    pub fn parties_by_amqp_user(&self) -> Option<&IndexMap<String, Vec<String>>> {
        self.user_chain_identifier
            .as_ref()
            .and_then(|u| u.parties_by_amqp_user.as_ref())
    }

    /// The acting parties a request may name through `userChainIdentifier`.
    pub fn allowed_request_parties(&self) -> Option<&[String]> {
        self.user_chain_identifier
            .as_ref()
            .map(|u| u.allowed_parties.as_slice())
    }
}

#[cfg(test)]
mod tests;
