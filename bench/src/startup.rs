//! `startup-bench`: what it costs the gateway to start on an embedded-ledger journal holding N active contracts,
//! against the same gateway starting on an empty journal in the same run.
//!
//! Both journals are built once, with `connector process` (`journal_build.rs`). Then, `--runs` times, the baseline
//! and then the loaded side each start `connector run` on a fresh copy of their journal, with a fresh `state_dir`
//! (no outcome store or observer checkpoint carries over) and fresh broker names: start-up is timed from spawning
//! the process to the first `/readyz` 200 (polled every 10 ms); `VmHWM`/`VmRSS` are read right after ready; the
//! loaded gateway must answer a `ReadContractRequest` for the last contract created with that contract
//! (`read_probe.rs`); the memory figures are read again, the gateway is stopped with SIGTERM and must exit cleanly,
//! and its queues and exchanges are deleted. Any failure ends the run with an error naming what failed.

use std::path::Path;
use std::time::{Duration, Instant};

use amqp_transport::AmqpSettings;

use crate::broker::Broker;
use crate::error::BenchError;
use crate::gateway_config::{GatewayConfig, LedgerUnderTest, ObserveSetting, checked_inputs};
use crate::gateway_process::{GatewayProcess, free_port};
use crate::journal_build::{BuiltJournal, JournalBuild};
use crate::load_average::load_average;
use crate::options::OrderingChoice;
use crate::proc_stats::{self, Memory};
use crate::read_probe::{ReadExpectation, ReadProbe};
use crate::report::round;
use crate::startup_options::StartupOptions;
use crate::startup_report::{
    JournalFigures, Side, StartRun, StartupReport, delta, mib, side_figures,
};
use crate::startup_workload::{
    CreateFields, create_fields, create_request_id, linear_id, read_request,
};
use crate::state_under_test::StateUnderTest;
use crate::topology::Names;

/// A start's config file, in the start's own dir.
const CONFIG_FILE: &str = "connector.yaml";

/// What every step of a run shares.
struct Startup<'a> {
    options: &'a StartupOptions,
    broker: &'a Broker,
    /// Prefixes every queue, exchange and request id of the run.
    run_id: &'a str,
    /// The mapping's `workflows:` block.
    workflows: &'a str,
    connector: &'a Path,
    /// The run's temp dir: both journals, and each start's own dir while it runs.
    work: &'a Path,
}

/// The contract the loaded side's read asks for: the last one created.
struct ReadTarget {
    linear_id: String,
    create_request_id: String,
    fields: CreateFields,
}

/// Builds both journals, starts the gateway on each `--runs` times and reports.
pub async fn run(options: &StartupOptions) -> Result<StartupReport, BenchError> {
    let load_average_before = load_average();
    let (workflows, connector) =
        checked_inputs(&options.target.mapping, options.target.connector_path())?;
    let workflows = workflows.as_str();
    let work = tempfile::Builder::new()
        .prefix("startup-bench-")
        .tempdir()
        .map_err(|e| BenchError::io("creating the benchmark's temp dir", e))?;
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
    let broker =
        Broker::connect(&options.target.amqp_url, &format!("startup-bench-{run_id}")).await?;
    let startup = Startup {
        options,
        broker: &broker,
        run_id: &run_id,
        workflows,
        connector: &connector,
        work: work.path(),
    };
    let measured = startup.measure().await;
    broker.close().await;
    let (journals, runs) = measured?;
    let contracts = options.contracts;
    let target = startup.read_target();
    let [baseline_journal, loaded_journal] = journals.map(|j| JournalFigures {
        contracts: j.contracts,
        build_s: round(j.seconds, 3),
        mib: mib(j.bytes),
        egress_lines: j.egress_lines,
    });
    Ok(StartupReport {
        bench: "startup",
        contracts,
        runs: options.runs,
        ledger: "embedded+journal",
        observe: "external (default)",
        connector: connector.display().to_string(),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        load_average_before,
        load_average_after: load_average(),
        baseline: side_figures(Side::Baseline, baseline_journal, &runs, None),
        loaded: side_figures(
            Side::Loaded,
            loaded_journal,
            &runs,
            Some(("ContractMessage".to_owned(), target.linear_id)),
        ),
        delta: delta(&runs, contracts),
        per_run: runs,
    })
}

impl Startup<'_> {
    /// Both journals, then every start, stopping at the first failure.
    async fn measure(&self) -> Result<([BuiltJournal; 2], Vec<StartRun>), BenchError> {
        let o = self.options;
        o.progress("building the baseline's empty journal");
        let baseline = self.build_journal(Side::Baseline, 0).await?;
        o.progress(format!(
            "building the loaded journal: {} creates through `connector process`",
            o.contracts
        ));
        let loaded = self.build_journal(Side::Loaded, o.contracts).await?;
        o.progress(format!(
            "journal of {} contracts built in {:.1} s ({:.1} MiB)",
            loaded.contracts,
            loaded.seconds,
            mib(loaded.bytes)
        ));
        let target = self.read_target();
        let mut runs = Vec::with_capacity(2 * o.runs as usize);
        for run in 1..=o.runs {
            for (side, journal, read) in [
                (Side::Baseline, &baseline, None),
                (Side::Loaded, &loaded, Some(&target)),
            ] {
                let started = self.start_once(run, side, journal, read).await?;
                o.progress(format!(
                    "run {run}/{} {}: ready in {:.3} s, VmHWM {:.1} MiB, VmRSS {:.1} MiB{}",
                    o.runs,
                    side.as_str(),
                    started.startup_s,
                    mib(started.peak_rss),
                    mib(started.rss_after_read),
                    started
                        .read_ms
                        .map(|ms| format!(", read answered in {ms:.2} ms"))
                        .unwrap_or_default(),
                ));
                runs.push(started);
            }
        }
        Ok(([baseline, loaded], runs))
    }

    /// The last contract the loaded journal's creates made.
    fn read_target(&self) -> ReadTarget {
        let last = self.options.contracts.saturating_sub(1);
        let create_request_id = create_request_id(self.run_id, last);
        ReadTarget {
            linear_id: linear_id(&create_request_id),
            create_request_id,
            fields: create_fields(last),
        }
    }

    /// A side's journal of `contracts` creates, in its own dir under the run's temp dir.
    async fn build_journal(&self, side: Side, contracts: u64) -> Result<BuiltJournal, BenchError> {
        let dir = self.work.join(side.as_str());
        std::fs::create_dir_all(&dir)
            .map_err(|e| BenchError::io(format!("creating {}", dir.display()), e))?;
        let names = Names::new(self.run_id, "startup", &format!("{}-build", side.as_str()));
        let amqp = self.amqp_settings(&names);
        let journal = dir.join("ledger.log");
        let state_dir = dir.join("build-state");
        let config = self.config(&amqp, &journal, &state_dir, free_port()?);
        let config_path = dir.join("build.yaml");
        write(&config_path, &config.render())?;
        JournalBuild {
            connector: self.connector,
            config: &config_path,
            journal: &journal,
            creates: &dir.join("creates.jsonl"),
            log: &dir.join("process.log"),
            run_id: self.run_id,
            contracts,
            timeout: self.options.timeout(),
        }
        .run()
        .await
    }

    /// One start of the gateway on a fresh copy of `journal`, on fresh broker names that are deleted afterwards.
    async fn start_once(
        &self,
        run: u32,
        side: Side,
        journal: &BuiltJournal,
        read: Option<&ReadTarget>,
    ) -> Result<StartRun, BenchError> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("run-{run}-{}-", side.as_str()))
            .tempdir_in(self.work)
            .map_err(|e| BenchError::io("creating a temp dir for a gateway start", e))?;
        let journal_copy = dir.path().join("ledger.log");
        if journal.journal.is_file() {
            std::fs::copy(&journal.journal, &journal_copy).map_err(|e| {
                BenchError::io(
                    format!(
                        "copying the journal {} to {}",
                        journal.journal.display(),
                        journal_copy.display()
                    ),
                    e,
                )
            })?;
        }
        let names = Names::new(self.run_id, "startup", &format!("{}-{run}", side.as_str()));
        let amqp = self.amqp_settings(&names);
        let measured = async {
            self.broker.declare(&amqp, &names).await?;
            let state_dir = dir.path().join("state");
            let config = self.config(&amqp, &journal_copy, &state_dir, free_port()?);
            write(&dir.path().join(CONFIG_FILE), &config.render())?;
            self.start_and_probe(run, side, &names, dir.path(), config.http_port, read)
                .await
        }
        .await;
        self.broker.delete(&names).await;
        measured
    }

    /// Spawns the gateway on the config in `dir`, times it to ready, reads its memory, asks the read, reads its
    /// memory again, stops it.
    async fn start_and_probe(
        &self,
        run: u32,
        side: Side,
        names: &Names,
        dir: &Path,
        http_port: u16,
        read: Option<&ReadTarget>,
    ) -> Result<StartRun, BenchError> {
        let timeout = self.options.timeout();
        let (config, log) = (dir.join(CONFIG_FILE), dir.join("connector.log"));
        let mut probe = ReadProbe::start(
            &self.options.target.amqp_url,
            &names.capture_queue,
            &names.connection_name,
        )
        .await?;
        let spawned = Instant::now();
        let started = GatewayProcess::start(self.connector, &config, &log, http_port);
        let measured = match started {
            Ok(mut gateway) => {
                let measured = async {
                    gateway.wait_ready(timeout).await?;
                    let startup_s = spawned.elapsed().as_secs_f64();
                    let at_ready = memory(&mut gateway, "reading /proc after start-up")?;
                    let read_ms = match read {
                        Some(target) => Some(
                            self.read(run, names, target, &mut probe, &mut gateway, timeout)
                                .await?
                                .as_secs_f64()
                                * 1000.0,
                        ),
                        None => None,
                    };
                    let end = memory(&mut gateway, "reading /proc after the read")?;
                    Ok(StartRun {
                        run,
                        side,
                        startup_s: round(startup_s, 4),
                        peak_rss_at_ready: at_ready.peak_rss_bytes,
                        rss_at_ready: at_ready.rss_bytes,
                        peak_rss: end.peak_rss_bytes,
                        rss_after_read: end.rss_bytes,
                        read_ms: read_ms.map(|ms| round(ms, 3)),
                    })
                }
                .await
                .map_err(|e| explain(&mut gateway, e));
                let stopped_cleanly = gateway.stop().await;
                match measured {
                    Ok(_) if !stopped_cleanly => Err(BenchError::GatewayStop {
                        phase: format!("run {run} ({})", side.as_str()),
                        log_tail: gateway.log_tail(),
                    }),
                    other => other,
                }
            }
            Err(e) => Err(e),
        };
        probe.stop().await;
        measured
    }

    /// Publishes the read of `target` and waits for its ContractMessage; returns how long it took.
    async fn read(
        &self,
        run: u32,
        names: &Names,
        target: &ReadTarget,
        probe: &mut ReadProbe,
        gateway: &mut GatewayProcess,
        timeout: Duration,
    ) -> Result<Duration, BenchError> {
        let request_id = format!("{}-startup-read-{run}", self.run_id);
        let request = read_request(&request_id, &target.create_request_id);
        let published_at = Instant::now();
        self.broker
            .publish(&names.ingress_queue, &request)
            .await?
            .await
            .map_err(|e| {
                BenchError::broker(format!("publishing the read to {}", names.ingress_queue), e)
            })?;
        let answer = probe
            .answer(
                ReadExpectation {
                    request_id: &request_id,
                    linear_id: &target.linear_id,
                    fields: &target.fields,
                },
                published_at,
                timeout,
                || gateway.exited(),
            )
            .await?;
        Ok(answer.latency)
    }

    /// A start's broker settings: the gateway's defaults (prefetch, classic queue) under the start's own names.
    fn amqp_settings(&self, names: &Names) -> AmqpSettings {
        AmqpSettings {
            url: self.options.target.amqp_url.clone(),
            ingress_queue: names.ingress_queue.clone(),
            egress_exchange: names.egress_exchange.clone(),
            dead_letter_exchange: names.dead_letter_exchange.clone(),
            dead_letter_queue: Some(names.dead_letter_queue.clone()),
            connection_name: Some(names.connection_name.clone()),
            ..AmqpSettings::default()
        }
    }

    /// The embedded ledger with `journal`, strict ordering and the default `observe`.
    fn config<'a>(
        &'a self,
        amqp: &'a AmqpSettings,
        journal: &Path,
        state_dir: &'a Path,
        http_port: u16,
    ) -> GatewayConfig<'a> {
        GatewayConfig {
            amqp,
            ledger: LedgerUnderTest::EmbeddedJournal {
                journal: journal.to_owned(),
            },
            ordering: OrderingChoice::Strict,
            observe: ObserveSetting::Default,
            state_dir,
            state: StateUnderTest::Redb,
            http_port,
            workflows: self.workflows,
        }
    }
}

/// The gateway's memory now, or an error naming the step if it has gone.
fn memory(gateway: &mut GatewayProcess, phase: &str) -> Result<Memory, BenchError> {
    gateway
        .pid()
        .and_then(proc_stats::memory)
        .ok_or_else(|| BenchError::GatewayExited {
            phase: phase.to_owned(),
            log_tail: gateway.log_tail(),
        })
}

/// A step's error, said as the gateway's exit when it has exited, with its log either way.
fn explain(gateway: &mut GatewayProcess, error: BenchError) -> BenchError {
    match error {
        BenchError::GatewayExited { phase, .. } if gateway.exited() => BenchError::GatewayExited {
            phase,
            log_tail: gateway.log_tail(),
        },
        timeout @ BenchError::Timeout { log_tail: None, .. } => {
            timeout.with_log_tail(gateway.log_tail())
        }
        other if gateway.exited() => BenchError::GatewayExited {
            phase: format!("a start-up benchmark step ({other})"),
            log_tail: gateway.log_tail(),
        },
        other => other,
    }
}

fn write(path: &Path, text: &str) -> Result<(), BenchError> {
    std::fs::write(path, text).map_err(|e| BenchError::io(format!("writing {}", path.display()), e))
}
