//! `--compare-ordering`: the `actions` workload (64 contracts) drained by the gateway under `strict` and then under
//! `per-contract` ordering, each on fresh queues with a fresh gateway (and, with `--ledger sandbox`, a fresh sandbox),
//! timed the same way as the relay comparison. Both runs' egress must keep each contract's queue order; the ratio of
//! their rates is what per-contract ordering buys when every ledger command waits on the ledger.

use crate::capture::Capture;
use crate::contract_order;
use crate::drain::{drain, rate};
use crate::error::BenchError;
use crate::gateway_cost::{cpu_per_1000, peak_rss_mib};
use crate::gateway_under_test::GatewayUnderTest;
use crate::options::OrderingChoice;
use crate::proc_stats;
use crate::report::{OrderingComparison, OrderingRun, round};
use crate::run_context::Bench;
use crate::state_under_test::StateBackend;
use crate::topology::{self, Names};
use crate::workload::{self, ACTION_CONTRACTS, Expected, Mix, Request};

/// Runs both orderings on the same preload and compares them.
pub async fn compare(bench: &Bench<'_>) -> Result<OrderingComparison, BenchError> {
    let options = bench.options;
    let mix = Mix::Actions;
    let preload = workload::preload(mix, bench.run_id, options.n);
    let expected = workload::expected(&preload);
    let strict = run_ordering(bench, OrderingChoice::Strict, &preload, expected).await?;
    let per_contract = run_ordering(bench, OrderingChoice::PerContract, &preload, expected).await?;
    Ok(OrderingComparison {
        mix: mix.as_str(),
        requests: options.n,
        contracts: ACTION_CONTRACTS.min(options.n),
        ratio: round(
            per_contract.msgs_per_s / strict.msgs_per_s.max(f64::MIN_POSITIVE),
            2,
        ),
        strict,
        per_contract,
    })
}

/// One ordering: its own queues, a fresh gateway (and sandbox), the drain, the order check.
async fn run_ordering(
    bench: &Bench<'_>,
    ordering: OrderingChoice,
    preload: &[Request],
    expected: Expected,
) -> Result<OrderingRun, BenchError> {
    let Bench {
        options, broker, ..
    } = *bench;
    options.progress(format!(
        "actions: gateway draining {} requests, {} ordering",
        options.n,
        ordering.as_str()
    ));
    let names = Names::new(bench.run_id, Mix::Actions.as_str(), ordering.as_str());
    let measured = async {
        let settings = topology::settings(&names, options);
        broker.declare(&settings, &names).await?;
        broker.preload(&names.ingress_queue, preload).await?;
        let capture = Capture::start(
            &options.target.amqp_url,
            &names.capture_queue,
            &names.connection_name,
        )
        .await?;
        let measured = drain_under(bench, &settings, ordering, &capture, preload, expected).await;
        capture.stop().await;
        measured
    }
    .await;
    broker.delete(&names).await;
    measured
}

/// Starts the gateway with `ordering`, waits for the preload's egress, checks each contract's order, stops it.
async fn drain_under(
    bench: &Bench<'_>,
    settings: &amqp_transport::AmqpSettings,
    ordering: OrderingChoice,
    capture: &Capture,
    preload: &[Request],
    expected: Expected,
) -> Result<OrderingRun, BenchError> {
    let options = bench.options;
    // `--state both` is refused with the ordering comparison, so round 0 names its one backend.
    let state = options
        .state
        .backends(0)
        .first()
        .copied()
        .unwrap_or(StateBackend::Redb);
    let mut under_test = GatewayUnderTest::start(
        options,
        settings,
        ordering,
        state,
        bench.workflows,
        bench.connector,
    )
    .await?;
    let measured = async {
        let pid = under_test.gateway.pid();
        let at_ready = pid.and_then(proc_stats::read);
        let drained = drain(
            options,
            capture,
            Mix::Actions,
            expected,
            ordering.as_str(),
            || under_test.gone(),
        )
        .await
        .map_err(|e| under_test.explain(e, "the drain"))?;
        let after_drain = pid.and_then(proc_stats::read);
        let in_order = contract_order::check(preload, &drained.arrivals)
            .map_err(|v| v.into_error(ordering.as_str()))?;
        Ok(OrderingRun {
            ordering: ordering.as_str(),
            msgs_per_s: rate(expected.requests, &drained.window).round(),
            egress_per_s: rate(drained.window.count, &drained.window).round(),
            drain_seconds: round(drained.window.elapsed().as_secs_f64(), 3),
            egress: drained.egress,
            expected_egress: expected.egress,
            contracts_in_order: in_order.contracts,
            requests_in_order: in_order.requests,
            peak_rss_mib: after_drain.map(peak_rss_mib),
            cpu_s_per_1000: cpu_per_1000(expected, at_ready, after_drain),
        })
    }
    .await;
    under_test.stop_after(options, measured).await
}
