//! One benchmark run: for each workload, the bare relay and then the gateway each drain the same preload on their
//! own topology, then each gets the same latency requests at half the relay's measured rate.
//!
//! Both sides are timed the same way, from the first to the last egress message on their capture queue, so process
//! start-up is left out of both and neither side is favoured by where the clock starts.

use std::time::Duration;

use crate::broker::Broker;
use crate::capture::{Capture, Window};
use crate::error::BenchError;
use crate::gateway_config::{GatewayConfig, LedgerUnderTest, workflows_block};
use crate::gateway_process::{GatewayProcess, free_port};
use crate::latency::{self, LatencyStats};
use crate::options::{MixChoice, Options};
use crate::proc_stats;
use crate::relay::Relay;
use crate::report::{MixResult, Report, SideResult, round};
use crate::topology::{self, Names};
use crate::workload::{self, Expected, Mix, Request};

/// After the last expected egress, how long to keep counting so duplicates would show.
const SETTLE: Duration = Duration::from_millis(300);
/// How long the dead-letter copies may trail the last egress message.
const DEAD_LETTER_WAIT: Duration = Duration::from_secs(10);
/// How long the gateway may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// What both sides of a workload get.
struct Work<'a> {
    mix: Mix,
    preload: &'a [Request],
    expected: Expected,
    latency: &'a [Request],
}

/// Runs every workload `options` asks for and reports.
pub async fn run(options: &Options) -> Result<Report, BenchError> {
    let load_average_before = load_average();
    let mapping = std::fs::read_to_string(&options.mapping).map_err(|e| BenchError::Mapping {
        path: options.mapping.clone(),
        message: e.to_string(),
    })?;
    let workflows = workflows_block(&mapping).ok_or_else(|| BenchError::Mapping {
        path: options.mapping.clone(),
        message: "no top-level `workflows:` block".to_owned(),
    })?;
    let connector = options.connector_path();
    if !connector.is_file() {
        return Err(BenchError::GatewayStart {
            path: connector,
            message: "no such file".to_owned(),
        });
    }
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
    let mixes: &[Mix] = match options.mix {
        MixChoice::All => &[Mix::Creates, Mix::Actions, Mix::Mixed],
        MixChoice::Creates => &[Mix::Creates],
        MixChoice::Actions => &[Mix::Actions],
        MixChoice::Mixed => &[Mix::Mixed],
    };
    let broker = Broker::connect(&options.amqp_url, &format!("bench-{run_id}")).await?;
    let mut results = Vec::with_capacity(mixes.len());
    let mut failure = None;
    for &mix in mixes {
        match run_mix(options, &broker, &run_id, mix, workflows, &connector).await {
            Ok(result) => results.push(result),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    broker.close().await;
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(Report {
        bench: "gateway",
        n: options.n,
        latency_n: options.latency_requests(),
        prefetch: options.prefetch,
        queue_type: options.queue_type.as_str(),
        ordering: options.ordering.as_str(),
        ledger: ledger_under_test(std::path::Path::new("")).label(),
        connector: connector.display().to_string(),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        load_average_before,
        load_average_after: load_average(),
        mixes: results,
    })
}

async fn run_mix(
    options: &Options,
    broker: &Broker,
    run_id: &str,
    mix: Mix,
    workflows: &str,
    connector: &std::path::Path,
) -> Result<MixResult, BenchError> {
    let preload = workload::preload(mix, run_id, options.n);
    let latency = workload::latency(mix, run_id, options.n, options.latency_requests());
    let work = Work {
        mix,
        preload: &preload,
        expected: workload::expected(&preload),
        latency: &latency,
    };

    progress(
        options,
        format!("{}: relay draining {} requests", mix.as_str(), options.n),
    );
    let names = Names::new(run_id, mix.as_str(), "relay");
    let baseline = run_relay(options, broker, &names, &work).await;
    broker.delete(&names).await;
    let baseline = baseline?;

    let offered = baseline.msgs_per_s / 2.0;
    progress(
        options,
        format!("{}: gateway draining {} requests", mix.as_str(), options.n),
    );
    let names = Names::new(run_id, mix.as_str(), "gateway");
    let gateway = run_gateway(
        options, broker, &names, &work, workflows, connector, offered,
    )
    .await;
    broker.delete(&names).await;
    let gateway = gateway?;

    Ok(MixResult {
        mix: mix.as_str(),
        requests: options.n,
        ratio: round(
            gateway.msgs_per_s / baseline.msgs_per_s.max(f64::MIN_POSITIVE),
            3,
        ),
        baseline,
        gateway,
    })
}

/// The bare relay: drains the preload, then the latency requests at half its own rate.
async fn run_relay(
    options: &Options,
    broker: &Broker,
    names: &Names,
    work: &Work<'_>,
) -> Result<SideResult, BenchError> {
    let settings = topology::settings(names, options);
    broker.declare(&settings, names).await?;
    broker.preload(&names.ingress_queue, work.preload).await?;
    let capture = Capture::start(
        &options.amqp_url,
        &names.capture_queue,
        &names.connection_name,
    )
    .await?;
    let relay = Relay::start(&settings).await?;
    let measured = async {
        let (window, egress) =
            drain(options, &capture, work, "relay", || !relay.is_running()).await?;
        let dead_letters = dead_letters(broker, names, work.expected).await?;
        let rate = rate(work.expected.requests, &window) / 2.0;
        progress(
            options,
            format!("{}: relay latency at {rate:.0}/s", work.mix.as_str()),
        );
        let latency = latency_phase(options, broker, &capture, names, work, rate, || {
            !relay.is_running()
        })
        .await?;
        Ok(side_result(
            work.expected,
            &window,
            egress,
            dead_letters,
            latency,
        ))
    }
    .await;
    if measured.is_err() && !relay.is_running() {
        progress(options, "the relay stopped: its channel failed".to_owned());
    }
    relay.stop().await;
    capture.stop().await;
    measured
}

/// The gateway process: drains the preload, then the latency requests at `offered` per second.
async fn run_gateway(
    options: &Options,
    broker: &Broker,
    names: &Names,
    work: &Work<'_>,
    workflows: &str,
    connector: &std::path::Path,
    offered: f64,
) -> Result<SideResult, BenchError> {
    let settings = topology::settings(names, options);
    broker.declare(&settings, names).await?;
    broker.preload(&names.ingress_queue, work.preload).await?;
    let capture = Capture::start(
        &options.amqp_url,
        &names.capture_queue,
        &names.connection_name,
    )
    .await?;
    let dir = tempfile::Builder::new()
        .prefix("gateway-bench-")
        .tempdir()
        .map_err(|e| BenchError::io("creating a temp dir for the gateway", e))?;
    let config = GatewayConfig {
        amqp: &settings,
        ledger: ledger_under_test(dir.path()),
        ordering: options.ordering,
        state_dir: &dir.path().join("state"),
        http_port: free_port()?,
        workflows,
    };
    let config_path = dir.path().join("connector.yaml");
    std::fs::write(&config_path, config.render())
        .map_err(|e| BenchError::io(format!("writing {}", config_path.display()), e))?;
    let mut gateway = GatewayProcess::start(
        connector,
        &config_path,
        &dir.path().join("connector.log"),
        config.http_port,
    )?;
    let measured = async {
        gateway.wait_ready(READY_TIMEOUT).await?;
        let pid = gateway.pid();
        let at_ready = pid.and_then(proc_stats::read);
        let (window, egress) = drain(options, &capture, work, "gateway", || gateway.exited())
            .await
            .map_err(|e| exited_or_with_log(e, &mut gateway, "the drain"))?;
        let drained = pid.and_then(proc_stats::read);
        let dead_letters = dead_letters(broker, names, work.expected).await?;
        progress(
            options,
            format!("{}: gateway latency at {offered:.0}/s", work.mix.as_str()),
        );
        let latency = latency_phase(options, broker, &capture, names, work, offered, || {
            gateway.exited()
        })
        .await
        .map_err(|e| exited_or_with_log(e, &mut gateway, "the latency phase"))?;
        let end = pid.and_then(proc_stats::read);
        let mut result = side_result(work.expected, &window, egress, dead_letters, latency);
        if let (Some(at_ready), Some(drained), Some(end)) = (at_ready, drained, end) {
            let thousands = (work.expected.requests as f64 / 1000.0).max(f64::MIN_POSITIVE);
            result.cpu_s_per_1000 = Some(round(
                (drained.cpu_seconds - at_ready.cpu_seconds) / thousands,
                3,
            ));
            result.peak_rss_mib = Some(round(end.peak_rss_bytes as f64 / (1024.0 * 1024.0), 1));
        }
        Ok(result)
    }
    .await;
    if !gateway.stop().await && measured.is_ok() {
        progress(
            options,
            "the gateway did not stop cleanly on SIGTERM".to_owned(),
        );
    }
    capture.stop().await;
    measured
}

/// Waits for the preload's egress (giving up early once `gone()` says the side stopped); returns its window and the
/// egress count once it has settled.
async fn drain(
    options: &Options,
    capture: &Capture,
    work: &Work<'_>,
    side: &str,
    gone: impl FnMut() -> bool,
) -> Result<(Window, u64), BenchError> {
    let timeout = Duration::from_secs(options.timeout_secs);
    let window = capture
        .wait_for_count(work.expected.egress, timeout, gone)
        .await
        .map_err(|got| BenchError::Timeout {
            phase: format!("{} {side} drain", work.mix.as_str()),
            what: "egress messages",
            got,
            expected: work.expected.egress,
            seconds: timeout.as_secs(),
            log_tail: capture.failure(),
        })?;
    tokio::time::sleep(SETTLE).await;
    let egress = capture.count();
    capture.reset_window();
    Ok((window, egress))
}

/// Waits until the side's dead-letter queue holds the preload's malformed originals; returns its depth.
async fn dead_letters(
    broker: &Broker,
    names: &Names,
    expected: Expected,
) -> Result<u64, BenchError> {
    let deadline = tokio::time::Instant::now() + DEAD_LETTER_WAIT;
    loop {
        let depth = u64::from(broker.message_count(&names.dead_letter_queue).await?);
        if depth >= expected.dead_letters || tokio::time::Instant::now() >= deadline {
            return Ok(depth);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn latency_phase(
    options: &Options,
    broker: &Broker,
    capture: &Capture,
    names: &Names,
    work: &Work<'_>,
    rate: f64,
    gone: impl FnMut() -> bool,
) -> Result<LatencyStats, BenchError> {
    latency::measure(
        broker,
        capture,
        &names.ingress_queue,
        work.latency,
        rate,
        Duration::from_secs(options.timeout_secs),
        gone,
    )
    .await
}

fn side_result(
    expected: Expected,
    window: &Window,
    egress: u64,
    dead_letters: u64,
    latency: LatencyStats,
) -> SideResult {
    SideResult {
        msgs_per_s: rate(expected.requests, window).round(),
        egress_per_s: rate(window.count, window).round(),
        drain_seconds: round(window.elapsed().as_secs_f64(), 3),
        egress,
        expected_egress: expected.egress,
        dead_letters,
        expected_dead_letters: expected.dead_letters,
        latency,
        peak_rss_mib: None,
        cpu_s_per_1000: None,
    }
}

/// Per second over the window (a window shorter than a millisecond counts as one).
fn rate(count: u64, window: &Window) -> f64 {
    count as f64 / window.elapsed().as_secs_f64().max(0.001)
}

/// A phase's error, said as what it was when the gateway has died, with the gateway's log either way.
fn exited_or_with_log(error: BenchError, gateway: &mut GatewayProcess, phase: &str) -> BenchError {
    if gateway.exited() {
        return BenchError::GatewayExited {
            phase: phase.to_owned(),
            log_tail: gateway.log_tail(),
        };
    }
    match error {
        BenchError::Timeout {
            phase,
            what,
            got,
            expected,
            seconds,
            log_tail: None,
        } => BenchError::Timeout {
            phase,
            what,
            got,
            expected,
            seconds,
            log_tail: Some(gateway.log_tail()),
        },
        other => other,
    }
}

/// The ledger the gateway runs on, its files in `dir`.
fn ledger_under_test(dir: &std::path::Path) -> LedgerUnderTest {
    LedgerUnderTest::EmbeddedJournal {
        journal: dir.join("ledger.log"),
    }
}

/// The 1-minute load average (0 when /proc/loadavg cannot be read).
fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

fn progress(options: &Options, message: String) {
    if !options.json_only {
        eprintln!("gateway-bench: {message}");
    }
}
