//! One gateway run's processes and files: a temp dir, the ledger (for `--ledger sandbox` a fresh `connector
//! sandbox` holding it), the state store (for PostgreSQL a fresh database), the generated config and the
//! `connector run` process, started and ready to consume.
//!
//! A fresh sandbox per run keeps runs independent: each starts from an empty ledger, as the embedded ledger does;
//! a fresh database does the same for the PostgreSQL state store.

use std::path::Path;
use std::time::Duration;

use amqp_transport::AmqpSettings;

use crate::error::BenchError;
use crate::gateway_config::{GatewayConfig, LedgerUnderTest, ObserveSetting};
use crate::gateway_process::{GatewayProcess, free_port};
use crate::options::{LedgerChoice, Options, OrderingChoice};
use crate::postgres_database::{BenchDatabase, PostgresServer};
use crate::sandbox_process::SandboxProcess;
use crate::state_under_test::{StateBackend, StateUnderTest};

/// How long the gateway may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A started gateway with its ledger.
pub struct GatewayUnderTest {
    pub gateway: GatewayProcess,
    sandbox: Option<SandboxProcess>,
    /// With `--state postgres`: dropped once the gateway has stopped.
    database: Option<BenchDatabase>,
    /// Kept until the run is over: the journal, outcome store, configs and logs live here.
    _dir: tempfile::TempDir,
}

/// The label of the ledger `options` run the gateway on, as the report names it.
pub fn ledger_label(options: &Options) -> &'static str {
    match options.ledger {
        LedgerChoice::Embedded => LedgerUnderTest::EmbeddedJournal {
            journal: Default::default(),
        }
        .label(),
        LedgerChoice::Sandbox => LedgerUnderTest::Daml { url: String::new() }.label(),
    }
}

impl GatewayUnderTest {
    /// Starts the ledger (a sandbox, if asked for), creates the state store's database (for PostgreSQL) and starts
    /// the gateway with `ordering` on `amqp`, and waits until the gateway is ready. Whatever was started or created
    /// is stopped or dropped again if a later step fails.
    pub async fn start(
        options: &Options,
        amqp: &AmqpSettings,
        ordering: OrderingChoice,
        state: StateBackend,
        workflows: &str,
        connector: &Path,
    ) -> Result<Self, BenchError> {
        let dir = tempfile::Builder::new()
            .prefix("gateway-bench-")
            .tempdir()
            .map_err(|e| BenchError::io("creating a temp dir for the gateway", e))?;
        let (state, database) = match state {
            StateBackend::Redb => (StateUnderTest::Redb, None),
            StateBackend::Postgres => {
                let server = PostgresServer::parse(&options.postgres_url)?;
                let password_file = match server.password() {
                    Some(password) => {
                        let path = dir.path().join("postgres-password");
                        write(&path, password)?;
                        Some(path)
                    }
                    None => None,
                };
                let database = server.create_database().await?;
                (
                    StateUnderTest::Postgres {
                        url: database.url.clone(),
                        password_file,
                    },
                    Some(database),
                )
            }
        };
        let mut started =
            Self::start_processes(options, amqp, ordering, state, workflows, connector, dir).await;
        match &mut started {
            Ok(started) => started.database = database,
            Err(_) => {
                if let Some(database) = database {
                    // The start-up error is the one to report; a failed drop only leaves a `gateway_bench_` database.
                    let _ = database.drop_database().await;
                }
            }
        }
        started
    }

    async fn start_processes(
        options: &Options,
        amqp: &AmqpSettings,
        ordering: OrderingChoice,
        state: StateUnderTest,
        workflows: &str,
        connector: &Path,
        dir: tempfile::TempDir,
    ) -> Result<Self, BenchError> {
        let mut config = GatewayConfig {
            amqp,
            ledger: LedgerUnderTest::EmbeddedJournal {
                journal: dir.path().join("ledger.log"),
            },
            ordering,
            observe: ObserveSetting::Off,
            state_dir: &dir.path().join("state"),
            state,
            http_port: free_port()?,
            workflows,
        };
        let sandbox = match options.ledger {
            LedgerChoice::Embedded => None,
            LedgerChoice::Sandbox => {
                // The sandbox serves the embedded ledger of this same config; the gateway gets `ledger.daml`.
                let sandbox_config = dir.path().join("sandbox.yaml");
                write(&sandbox_config, &config.render())?;
                let sandbox = SandboxProcess::start(
                    connector,
                    &sandbox_config,
                    &dir.path().join("sandbox.log"),
                    options.latency_ms,
                )
                .await?;
                config.ledger = LedgerUnderTest::Daml { url: sandbox.url() };
                Some(sandbox)
            }
        };
        let config_path = dir.path().join("connector.yaml");
        write(&config_path, &config.render())?;
        let gateway = GatewayProcess::start(
            connector,
            &config_path,
            &dir.path().join("connector.log"),
            config.http_port,
        )?;
        let mut started = Self {
            gateway,
            sandbox,
            database: None,
            _dir: dir,
        };
        if let Err(e) = started.gateway.wait_ready(READY_TIMEOUT).await {
            let e = started.explain(e, "start-up");
            // Nothing to drop yet: the database is attached once the gateway is ready.
            let _ = started.stop().await;
            return Err(e);
        }
        Ok(started)
    }

    /// Whether the gateway or its sandbox has exited: waiting on more egress is pointless then.
    pub fn gone(&mut self) -> bool {
        self.gateway.exited() || self.sandbox.as_mut().is_some_and(SandboxProcess::exited)
    }

    /// A phase's error, said as what it was when the sandbox or the gateway has died, with the gateway's log
    /// either way.
    pub fn explain(&mut self, error: BenchError, phase: &str) -> BenchError {
        if let Some(sandbox) = self.sandbox.as_mut()
            && sandbox.exited()
        {
            return BenchError::SandboxExited {
                phase: phase.to_owned(),
                log_tail: sandbox.log_tail(),
            };
        }
        if self.gateway.exited() {
            return BenchError::GatewayExited {
                phase: phase.to_owned(),
                log_tail: self.gateway.log_tail(),
            };
        }
        error.with_log_tail(self.gateway.log_tail())
    }

    /// With PostgreSQL: the outcomes the gateway has written to its database so far (every acked request's).
    pub async fn outcomes_in_postgres(&self) -> Result<Option<u64>, BenchError> {
        match &self.database {
            Some(database) => database.outcomes().await.map(Some),
            None => Ok(None),
        }
    }

    /// Stops the gateway (SIGTERM, drain), then its sandbox, then drops its database. True when the gateway exited
    /// cleanly; an error when its database could not be dropped.
    pub async fn stop(&mut self) -> Result<bool, BenchError> {
        let clean = self.gateway.stop().await;
        if let Some(sandbox) = self.sandbox.as_mut() {
            sandbox.stop().await;
        }
        if let Some(database) = self.database.take() {
            database.drop_database().await?;
        }
        Ok(clean)
    }

    /// Stops everything after a phase that ended with `measured`: an unclean stop is said on stderr, a database
    /// left behind fails an otherwise good run (it would pile up run after run); a failed phase's error wins.
    pub async fn stop_after<T>(
        &mut self,
        options: &Options,
        measured: Result<T, BenchError>,
    ) -> Result<T, BenchError> {
        match (self.stop().await, measured) {
            (Ok(false), Ok(measured)) => {
                options.progress("the gateway did not stop cleanly on SIGTERM");
                Ok(measured)
            }
            (Err(e), Ok(_)) => Err(e),
            (_, measured) => measured,
        }
    }
}

fn write(path: &Path, text: &str) -> Result<(), BenchError> {
    std::fs::write(path, text).map_err(|e| BenchError::io(format!("writing {}", path.display()), e))
}
