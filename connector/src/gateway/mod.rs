//! `connector run`: the gateway. Connects to the broker (reconnecting with backoff), runs broker sessions, the
//! HTTP surface and the ledger observer, and drains cleanly on SIGTERM/SIGINT.

mod acks;
mod channel_order;
mod compaction_floor;
mod containment;
mod contract_sequencer;
mod delivery_tracking;
mod failure_code;
mod in_flight_requests;
mod index_follower;
mod ledger_gate;
mod metrics_baseline;
mod outcome_publishing;
mod outcome_sweeper;
mod redelivery_plan;
mod reply_copies;
mod session;
mod session_context;
mod session_end;
mod store_gate;

use std::sync::Arc;
use std::time::Duration;

use amqp_transport::AmqpSession;
use anyhow::Context;
use ledger_port::Clock;
use tokio::sync::watch;

use crate::assembly::assemble;
use crate::config::{Config, LedgerChoice, ObserveMode};
use crate::health::Health;
use crate::http::{HttpState, prometheus_handle};
use crate::ledger_factory::EmbeddedStorage;
use crate::ledger_identity::{LedgerIdentity, check_state_dir};
use crate::metrics_names;
use crate::outcome_store::{open_state_store, state_location};
use crate::publishing::reconnect_delay;
use crate::request_lookup::RequestRecords;
use crate::shutdown::until_stopped;
pub use contract_sequencer::KeyedSequencer;
pub use in_flight_requests::{InFlightEntry, InFlightRequests};
pub use ledger_gate::{GateEnd, wait_until_ledger_accepts};
use reply_copies::ReplyCopies;
use session::run_session;
use session_context::SessionContext;
use session_end::SessionEnd;
use store_gate::wait_until_store_answers;

/// The gateway stopped because its own storage failed (a full disk under `state_dir` or the journal): `main` exits
/// with [`STORAGE_FAILURE_EXIT_CODE`] so a supervisor restarts it, which is all it takes once there is space again.
#[derive(Debug, thiserror::Error)]
#[error("the gateway's storage failed: {0}")]
pub struct StorageFailure(pub String);

/// The exit code after a storage failure: `EX_TEMPFAIL` (sysexits.h), "try again later".
pub const STORAGE_FAILURE_EXIT_CODE: u8 = 75;

/// How long `/status` and `/readyz` still answer after a storage failure, before the process exits, so whoever
/// watches can see why.
const STORAGE_FAILURE_GRACE: Duration = Duration::from_secs(3);

/// Reports a storage failure (log, `/status`, `/readyz` 503) and returns the error `main` turns into the exit code.
async fn stop_on_storage_failure(
    reason: String,
    health: &Health,
    observer_task: Option<tokio::task::JoinHandle<()>>,
    http_task: tokio::task::JoinHandle<std::io::Result<()>>,
) -> anyhow::Error {
    tracing::error!(
        %reason,
        exit_code = STORAGE_FAILURE_EXIT_CODE,
        "the gateway's storage failed: consumption stopped, unacked deliveries returned to the queue; exiting so a \
         supervisor restarts it once there is space"
    );
    health.record_error(format!(
        "storage failed (exiting with {STORAGE_FAILURE_EXIT_CODE}): {reason}"
    ));
    health.set_ledger_connected(false);
    if let Some(task) = observer_task {
        task.abort();
    }
    tokio::time::sleep(STORAGE_FAILURE_GRACE).await;
    http_task.abort();
    StorageFailure(reason).into()
}

/// A config summary for `/status` and the start-up log: no secrets (the AMQP password is masked, the Daml URL has
/// no userinfo, no tokens).
pub fn config_summary(config: &Config) -> serde_json::Value {
    let ledger = match config.ledger_choice() {
        Ok(LedgerChoice::Embedded(e)) => serde_json::json!({
            "type": "embedded",
            "journal": config.embedded_journal().map(|p| p.display().to_string()),
            "in_memory": e.in_memory,
            "fault_injection": e.faults.is_some(),
        }),
        // The token file's path only: its contents are a secret.
        Ok(LedgerChoice::Daml(d)) => serde_json::json!({
            "type": "daml",
            "url": d.shown_url(),
            "user_id": d.user_id,
            "token_file": d.token_file.as_ref().map(|p| p.display().to_string()),
            "tls": d.uses_tls(),
            "call_timeout_ms": d.call_timeout_ms,
            "read_as": d.read_as,
        }),
        Err(_) => serde_json::Value::Null,
    };
    serde_json::json!({
        "amqp": {
            "url": config.amqp.redacted_url(),
            "ingress_queue": config.amqp.ingress_queue,
            "egress_exchange": config.amqp.egress_exchange,
            "egress_queue": config.amqp.egress_queue_name(),
            "dead_letter_exchange": config.amqp.dead_letter_exchange,
            "prefetch": config.amqp.prefetch,
        },
        "ledger": ledger,
        "party": config.party,
        "ordering": format!("{:?}", config.ordering),
        "observe": format!("{:?}", config.observe),
        "leadership": {
            "observer": config.leadership.observer,
            "postgres": config.leadership.shown_postgres().or_else(|| {
                (config.leadership.observer == crate::config::ObserverLeadership::Postgres)
                    .then(|| "the state store's database (state.postgres)".to_owned())
            }),
            "lock_key": config.leadership.lock_key(&config.amqp.ingress_queue),
        },
        "workflows": config.workflows.keys().collect::<Vec<_>>(),
        "state_dir": config.state_dir.display().to_string(),
        "state": {
            "store": state_location(config).to_string(),
            "backend": format!("{:?}", config.state.backend).to_lowercase(),
            // The URL (never holding a password: the loader refuses one) and the password file's path only.
            "postgres": config.state.postgres_backend().map(|p| p.summary()),
            "outcome_retention_ms": u64::try_from(config.state.outcome_retention.0.as_millis()).unwrap_or(u64::MAX),
        },
        "http": config.http.listen.to_string(),
    })
}

/// The identity of the assembled ledger, as a state directory records it: the embedded ledger's id, or the Daml
/// participant's id and the user. A participant that will not say (GetParticipantId refused) is named by its URL.
/// None when the shutdown came first.
async fn ledger_identity(
    config: &Config,
    assembly: &crate::assembly::Assembly,
    health: &Health,
    shutdown: &mut watch::Receiver<bool>,
) -> Option<LedgerIdentity> {
    if let Some(ledger_id) = &assembly.opened.embedded_id {
        return Some(LedgerIdentity::Embedded {
            ledger_id: ledger_id.clone(),
        });
    }
    let (Some(daml), Ok(LedgerChoice::Daml(settings))) =
        (&assembly.opened.daml, config.ledger_choice())
    else {
        return None;
    };
    let mut attempt = 0;
    let participant_id = loop {
        match daml.participant_id().await {
            Ok(id) => break id,
            Err(e) if e.class == ledger_port::ErrorClass::Transient => {
                attempt += 1;
                tracing::warn!(error = %e, attempt, "cannot ask the participant for its id yet; retrying");
                health.record_error(format!("ledger: {e}"));
                tokio::select! {
                    _ = tokio::time::sleep(reconnect_delay(attempt)) => {}
                    _ = until_stopped(shutdown) => return None,
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "the participant does not tell its id; the state directory is tied to its URL instead");
                break format!("unknown participant at {}", settings.shown_url());
            }
        }
    };
    Some(LedgerIdentity::Daml {
        participant_id,
        user_id: settings.user_id.clone(),
    })
}

/// Runs the gateway until SIGTERM/SIGINT.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    tokio::spawn(async move {
        crate::shutdown::shutdown_signal().await;
        tracing::info!("shutdown requested; draining in-flight work");
        let _ = shutdown_tx.send(true);
    });
    run_until(config, shutdown_rx).await
}

/// Runs the gateway until `shutdown` turns true.
pub async fn run_until(config: Config, mut shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
    let metrics = prometheus_handle()
        .map_err(|e| anyhow::anyhow!("cannot install the metrics recorder: {e}"))?;
    // After the recorder is installed: the readiness gauges and the alerts' counters exist from the start.
    let health = Arc::new(Health::new());
    metrics_baseline::register_at_zero();
    let summary = config_summary(&config);
    tracing::info!(config = %summary, "starting the connector gateway");

    let admin_token = match &config.http.admin_token_file {
        Some(path) => Some(crate::http::admin_token::AdminTokenFile::open(path)?),
        None => None,
    };
    if admin_token.is_some() && !config.http.listen.ip().is_loopback() {
        tracing::warn!(listen = %config.http.listen, "http.admin_token_file is set and the HTTP surface listens beyond loopback in plain HTTP: put a TLS-terminating proxy in front, or the token crosses the network in clear text");
    }
    let ledger_slot = Arc::new(std::sync::OnceLock::new());
    let in_flight_requests = InFlightRequests::new();
    let requests_slot = Arc::new(std::sync::OnceLock::new());
    let http_state = HttpState {
        activity: Arc::default(),
        dead_letters: Arc::new(crate::http::dead_letters::DeadLetterDesk::new(
            &config.amqp,
            admin_token,
        )),
        health: health.clone(),
        metrics,
        config_summary: Arc::new(summary),
        ledger: ledger_slot.clone(),
        requests: requests_slot.clone(),
    };
    let mut http_shutdown = shutdown.clone();
    let listener = crate::http::bind(config.http.listen)
        .await
        .with_context(|| format!("cannot listen for HTTP on {}", config.http.listen))?;
    let http_task = tokio::spawn(crate::http::serve(listener, http_state, async move {
        until_stopped(&mut http_shutdown).await;
    }));

    // An in-memory ledger gets an in-memory state store: nothing the gateway remembers may outlive its ledger.
    let (outcomes, attempts) = open_state_store(&config)
        .with_context(|| format!("cannot open the state store ({})", state_location(&config)))?;
    // PostgreSQL may be down at start: wait for it, unready, before anything could be consumed.
    match wait_until_store_answers(&outcomes, &health, &mut shutdown, reconnect_delay).await {
        Ok(GateEnd::Open) => {}
        Ok(GateEnd::Stopped) => return Ok(()),
        Err(e) => {
            return Err(anyhow::anyhow!(
                "cannot use the state store ({}): {e}",
                state_location(&config)
            ));
        }
    }
    let _ = requests_slot.set(RequestRecords {
        store: outcomes.clone(),
        in_flight: Some(in_flight_requests.clone()),
    });
    let assembly = {
        let mut attempt = 0;
        loop {
            match assemble(
                &config,
                Clock::System,
                outcomes.clone(),
                EmbeddedStorage::Durable,
            )
            .await
            {
                Ok(a) => break a,
                Err(e) => {
                    attempt += 1;
                    if matches!(
                        e,
                        crate::assembly::AssemblyError::Ledger(
                            crate::ledger_factory::LedgerOpenError::Config(_)
                                | crate::ledger_factory::LedgerOpenError::Journal(_)
                                | crate::ledger_factory::LedgerOpenError::Daml(_)
                        )
                    ) {
                        return Err(e.into());
                    }
                    if matches!(&e, crate::assembly::AssemblyError::Index(le) if le.class == ledger_port::ErrorClass::Configuration)
                    {
                        tracing::error!(error = %e, attempt, "the ledger refuses the gateway's credentials; retrying (a rotated token file is picked up)");
                    } else {
                        tracing::warn!(error = %e, attempt, "ledger not available yet; retrying");
                    }
                    health.record_error(format!("ledger: {e}"));
                    tokio::select! {
                        _ = tokio::time::sleep(reconnect_delay(attempt)) => {}
                        _ = until_stopped(&mut shutdown) => return Ok(()),
                    }
                }
            }
        }
    };
    if let Some(note) = &assembly.opened.recovery_note {
        tracing::info!("{note}");
    }
    if config.state_is_durable()
        && let Some(identity) = ledger_identity(&config, &assembly, &health, &mut shutdown).await
    {
        check_state_dir(&config.state_dir, &identity)?;
        tracing::info!(ledger = %identity, state_dir = %config.state_dir.display(), "the state directory belongs to this ledger");
    }
    health.set_ledger_connected(true);
    let _ = ledger_slot.set(assembly.processor.ledger().clone());
    // Before any commit: automatic compaction must keep what the observer has not published yet.
    if let Some(embedded) = &assembly.opened.embedded {
        compaction_floor::keep_what_the_observer_has_not_published(
            embedded,
            config.observe,
            health.clone(),
        );
    }

    let sweeper = outcome_sweeper::spawn(outcomes.clone(), config.state.clone(), shutdown.clone());
    let follower_task =
        index_follower::spawn(assembly.processor.clone(), health.clone(), shutdown.clone());
    let leadership_postgres = config
        .observer_leadership_postgres()
        .map_err(|e| anyhow::anyhow!("leadership: {e}"))?;
    let (leader, leadership_task) = match leadership_postgres {
        Some(pg) if config.observe != ObserveMode::Off => {
            let key = config.leadership.lock_key(&config.amqp.ingress_queue);
            let (leader, task) = crate::observer::leadership::spawn(pg, key, shutdown.clone());
            (Some(leader), Some(task))
        }
        _ => (None, None),
    };
    let observer_task = crate::observer::spawn(
        &config,
        assembly.processor.clone(),
        outcomes.clone(),
        health.clone(),
        assembly.index_offset,
        leader,
        shutdown.clone(),
    );

    let ctx = SessionContext {
        processor: assembly.processor.clone(),
        outcomes: outcomes.clone(),
        attempts,
        settings: config.amqp.clone(),
        health: health.clone(),
        ordering: config.ordering,
        max_in_flight: config.max_in_flight,
        drain_timeout: Duration::from_secs(30),
        reply_copies: Arc::new(ReplyCopies::new(config.amqp.reply_to.clone())),
        in_flight_requests: in_flight_requests.clone(),
    };
    let mut attempt: u32 = 0;
    let mut storage_failure: Option<String> = None;
    loop {
        if *shutdown.borrow() {
            break;
        }
        match AmqpSession::connect(&config.amqp).await {
            Ok(session) => {
                if attempt > 0 {
                    metrics::counter!(metrics_names::RECONNECTS).increment(1);
                    Health::bump(&health.reconnects_total, 1);
                    tracing::info!("reconnected to the broker");
                } else {
                    tracing::info!(url = %config.amqp.redacted_url(), queue = %config.amqp.ingress_queue, "connected to the broker");
                }
                health.set_broker_connected(true);
                let end = run_session(&ctx, &session, &mut shutdown).await;
                health.set_broker_connected(false);
                match end {
                    SessionEnd::Shutdown => {
                        if let Err(e) = session.close().await {
                            tracing::warn!(error = %e, "closing the broker connection");
                        }
                        break;
                    }
                    SessionEnd::ConnectionLost(reason) | SessionEnd::BackPressure(reason) => {
                        tracing::warn!(%reason, "broker session ended; reconnecting");
                        health.record_error(format!("broker: {reason}"));
                        let _ = session.close().await;
                        attempt = 1;
                    }
                    SessionEnd::Halted(reason) => {
                        tracing::error!(%reason, "processing halted; pausing before trying again");
                        health.record_error(format!("halted: {reason}"));
                        let _ = session.close().await;
                        attempt = attempt.saturating_add(1).max(4);
                        // When the ledger refused the credentials, consume again only once it accepts them.
                        let gate = wait_until_ledger_accepts(
                            assembly.processor.ledger(),
                            &health,
                            &mut shutdown,
                            reconnect_delay,
                        )
                        .await;
                        if gate == GateEnd::Stopped {
                            break;
                        }
                        // When the state store was out of reach, consume again only once it answers.
                        match wait_until_store_answers(
                            &outcomes,
                            &health,
                            &mut shutdown,
                            reconnect_delay,
                        )
                        .await
                        {
                            Ok(GateEnd::Open) => {}
                            Ok(GateEnd::Stopped) => break,
                            Err(e) => {
                                storage_failure = Some(e.to_string());
                                break;
                            }
                        }
                    }
                    SessionEnd::StorageFailed(reason) => {
                        // Closing the connection returns every unacked delivery to the queue; nothing that is not
                        // durable was acked.
                        let _ = session.close().await;
                        storage_failure = Some(reason);
                        break;
                    }
                }
            }
            Err(e) => {
                attempt = attempt.saturating_add(1);
                tracing::warn!(error = %e, attempt, "cannot connect to the broker; retrying");
                health.record_error(format!("broker: {e}"));
            }
        }
        if attempt > 0 {
            tokio::select! {
                _ = tokio::time::sleep(reconnect_delay(attempt)) => {}
                _ = until_stopped(&mut shutdown) => break,
            }
        }
    }
    health.set_consuming(false);
    sweeper.abort();
    if let Some(reason) = storage_failure {
        return Err(stop_on_storage_failure(reason, &health, observer_task, http_task).await);
    }
    follower_task.abort();
    if let Some(task) = observer_task {
        let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
    }
    // After the observer stopped publishing: the lock is released for the next leader.
    if let Some(task) = leadership_task {
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
    if let Err(e) = outcomes.flush() {
        return Err(
            StorageFailure(format!("cannot flush the state store on shutdown: {e}")).into(),
        );
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), http_task).await;
    tracing::info!("stopped cleanly");
    Ok(())
}
