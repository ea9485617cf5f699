//! One benchmark run: for each workload, the bare relay and then the gateway each drain the same preload on their
//! own topology, then each gets the same latency requests at half the relay's measured rate.
//!
//! With `--state both` the gateway runs twice after each relay run, once on redb and once on PostgreSQL (in turns:
//! which goes first alternates from round to round), both against that relay run's figures; `--rounds` repeats the
//! whole of it, so each backend's ratio to the relay can be compared with the spread between rounds.
//!
//! Both sides are timed the same way, from the first to the last egress message on their capture queue, so process
//! start-up is left out of both and neither side is favoured by where the clock starts. The gateway's egress is also
//! checked for each contract's order. `--compare-ordering` runs the ordering comparison (`comparison.rs`) instead.

use std::time::Duration;

use crate::broker::Broker;
use crate::capture::{Capture, Window};
use crate::comparison;
use crate::contract_order;
use crate::drain::{Drained, drain, rate};
use crate::error::BenchError;
use crate::gateway_config::checked_inputs;
use crate::gateway_cost::{cpu_per_1000, peak_rss_mib};
use crate::gateway_under_test::{GatewayUnderTest, ledger_label};
use crate::latency::{self, LatencyStats};
use crate::load_average::load_average;
use crate::options::{LedgerChoice, MixChoice, Options};
use crate::postgres_database::PostgresServer;
use crate::proc_stats;
use crate::relay::Relay;
use crate::report::{MixResult, Report, SideResult, round as round_to};
use crate::run_context::Bench;
use crate::state_under_test::StateBackend;
use crate::topology::{self, Names};
use crate::workload::{self, Expected, Mix, Request};

/// How long the dead-letter copies may trail the last egress message.
const DEAD_LETTER_WAIT: Duration = Duration::from_secs(10);

/// What both sides of a workload get.
struct Work<'a> {
    mix: Mix,
    preload: &'a [Request],
    expected: Expected,
    latency: &'a [Request],
}

/// Runs every workload `options` asks for (or the ordering comparison) and reports.
pub async fn run(options: &Options) -> Result<Report, BenchError> {
    options.validate()?;
    if options.state.uses_postgres() {
        // A URL the gateway would refuse fails here, before any side has run.
        PostgresServer::parse(&options.postgres_url)?;
    }
    let load_average_before = load_average();
    let (workflows, connector) =
        checked_inputs(&options.target.mapping, options.target.connector_path())?;
    let workflows = workflows.as_str();
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
    let broker = Broker::connect(&options.target.amqp_url, &format!("bench-{run_id}")).await?;
    let bench = Bench {
        options,
        broker: &broker,
        run_id: &run_id,
        workflows,
        connector: &connector,
    };
    let outcome = if options.compare_ordering {
        comparison::compare(&bench)
            .await
            .map(|c| (Vec::new(), Some(c)))
    } else {
        run_mixes(&bench).await.map(|mixes| (mixes, None))
    };
    broker.close().await;
    let (mixes, comparison) = outcome?;
    Ok(Report {
        bench: "gateway",
        n: options.n,
        latency_n: if options.compare_ordering {
            0
        } else {
            options.latency_requests()
        },
        prefetch: options.prefetch,
        queue_type: options.queue_type.as_str(),
        ordering: if options.compare_ordering {
            "strict vs per-contract"
        } else {
            options.ordering.as_str()
        },
        ledger: ledger_label(options),
        state: options.state.as_str(),
        rounds: options.rounds,
        sandbox_latency_ms: (options.ledger == LedgerChoice::Sandbox).then_some(options.latency_ms),
        connector: connector.display().to_string(),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        load_average_before,
        load_average_after: load_average(),
        mixes,
        comparison,
    })
}

/// Each workload `--mix` names, `--rounds` times, relay then gateway(s), stopping at the first failure.
async fn run_mixes(bench: &Bench<'_>) -> Result<Vec<MixResult>, BenchError> {
    let mixes: &[Mix] = match bench.options.mix {
        MixChoice::All => &[Mix::Creates, Mix::Actions, Mix::Mixed],
        MixChoice::Creates => &[Mix::Creates],
        MixChoice::Actions => &[Mix::Actions],
        MixChoice::Mixed => &[Mix::Mixed],
    };
    let mut results = Vec::new();
    for &mix in mixes {
        for round in 0..bench.options.rounds {
            results.extend(run_mix(bench, mix, round).await?);
        }
    }
    Ok(results)
}

/// One round of one workload: the relay, then the gateway on each backend of the round, in the round's order.
async fn run_mix(bench: &Bench<'_>, mix: Mix, round: u32) -> Result<Vec<MixResult>, BenchError> {
    let Bench {
        options,
        broker,
        run_id,
        ..
    } = *bench;
    let preload = workload::preload(mix, run_id, options.n);
    let latency = workload::latency(mix, run_id, options.n, options.latency_requests());
    let work = Work {
        mix,
        preload: &preload,
        expected: workload::expected(&preload),
        latency: &latency,
    };

    options.progress(format!(
        "{}: relay draining {} requests",
        mix.as_str(),
        options.n
    ));
    let names = Names::new(run_id, mix.as_str(), &format!("relay{round}"));
    let baseline = run_relay(options, broker, &names, &work).await;
    broker.delete(&names).await;
    let baseline = baseline?;

    let offered = baseline.msgs_per_s / 2.0;
    let mut results = Vec::new();
    for state in options.state.backends(round) {
        options.progress(format!(
            "{}: gateway ({}) draining {} requests",
            mix.as_str(),
            state.as_str(),
            options.n
        ));
        let names = Names::new(
            run_id,
            mix.as_str(),
            &format!("gateway{round}{}", state.as_str()),
        );
        let gateway = run_gateway(bench, &names, &work, offered, state).await;
        broker.delete(&names).await;
        let gateway = gateway?;
        results.push(MixResult {
            mix: mix.as_str(),
            requests: options.n,
            state: state.as_str(),
            round: round + 1,
            ratio: round_to(
                gateway.msgs_per_s / baseline.msgs_per_s.max(f64::MIN_POSITIVE),
                3,
            ),
            baseline: baseline.clone(),
            gateway,
        });
    }
    Ok(results)
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
        &options.target.amqp_url,
        &names.capture_queue,
        &names.connection_name,
    )
    .await?;
    let relay = Relay::start(&settings).await?;
    let measured = async {
        let Drained { window, egress, .. } =
            drain(options, &capture, work.mix, work.expected, "relay", || {
                !relay.is_running()
            })
            .await?;
        let dead_letters = dead_letters(broker, names, work.expected).await?;
        // Half the reported (rounded) rate: the gateway is offered half of that same figure, so both sides get
        // exactly the same pace.
        let rate = rate(work.expected.requests, &window).round() / 2.0;
        options.progress(format!(
            "{}: relay latency at {rate:.0}/s",
            work.mix.as_str()
        ));
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
        options.progress("the relay stopped: its channel failed");
    }
    relay.stop().await;
    capture.stop().await;
    measured
}

/// The gateway process: drains the preload (its egress checked for each contract's order), then the latency
/// requests at `offered` per second.
async fn run_gateway(
    bench: &Bench<'_>,
    names: &Names,
    work: &Work<'_>,
    offered: f64,
    state: StateBackend,
) -> Result<SideResult, BenchError> {
    let Bench {
        options, broker, ..
    } = *bench;
    let settings = topology::settings(names, options);
    broker.declare(&settings, names).await?;
    broker.preload(&names.ingress_queue, work.preload).await?;
    let capture = Capture::start(
        &options.target.amqp_url,
        &names.capture_queue,
        &names.connection_name,
    )
    .await?;
    let mut under_test = match GatewayUnderTest::start(
        options,
        &settings,
        options.ordering,
        state,
        bench.workflows,
        bench.connector,
    )
    .await
    {
        Ok(started) => started,
        Err(e) => {
            capture.stop().await;
            return Err(e);
        }
    };
    let measured = async {
        let pid = under_test.gateway.pid();
        let at_ready = pid.and_then(proc_stats::read);
        let drained = drain(
            options,
            &capture,
            work.mix,
            work.expected,
            "gateway",
            || under_test.gone(),
        )
        .await
        .map_err(|e| under_test.explain(e, "the drain"))?;
        let after_drain = pid.and_then(proc_stats::read);
        let in_order = contract_order::check(work.preload, &drained.arrivals)
            .map_err(|v| v.into_error(options.ordering.as_str()))?;
        let dead_letters = dead_letters(broker, names, work.expected).await?;
        options.progress(format!(
            "{}: gateway latency at {offered:.0}/s",
            work.mix.as_str()
        ));
        let latency = latency_phase(options, broker, &capture, names, work, offered, || {
            under_test.gone()
        })
        .await
        .map_err(|e| under_test.explain(e, "the latency phase"))?;
        let end = pid.and_then(proc_stats::read);
        let outcomes_in_postgres = under_test.outcomes_in_postgres().await?;
        let mut result = side_result(
            work.expected,
            &drained.window,
            drained.egress,
            dead_letters,
            latency,
        );
        result.contracts_in_order = Some(in_order.contracts);
        result.cpu_s_per_1000 = cpu_per_1000(work.expected, at_ready, after_drain);
        result.peak_rss_mib = end.map(peak_rss_mib);
        result.outcomes_in_postgres = outcomes_in_postgres;
        Ok(result)
    }
    .await;
    let measured = under_test.stop_after(options, measured).await;
    capture.stop().await;
    measured
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
        drain_seconds: round_to(window.elapsed().as_secs_f64(), 3),
        egress,
        expected_egress: expected.egress,
        dead_letters,
        expected_dead_letters: expected.dead_letters,
        latency,
        peak_rss_mib: None,
        cpu_s_per_1000: None,
        contracts_in_order: None,
        outcomes_in_postgres: None,
    }
}
