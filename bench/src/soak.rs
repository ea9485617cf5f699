//! The soak: a long stream of requests through the real gateway with its default durable state (the journal and
//! the outcome store in `state_dir`), sampling over time what a long-running service must keep flat: resident
//! memory, the journal's size and the outcome store's size. One JSON line per sample on stdout as the run goes, and
//! a summary line at the end.
//!
//! The requests are shipments that are created and later archived ([`crate::soak_workload`]), so the active set
//! stays constant while history grows; a short `state.outcome_retention` makes the outcome store forget during the
//! run. Answers are counted from the gateway's default egress queue (`<egress_exchange>.queue`), consumed without
//! acks so it never grows; a request counts as answered at its ContractMessage or Failure.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};

use crate::broker::{Broker, consume_without_acks};
use crate::error::BenchError;
use crate::gateway_config::checked_inputs;
use crate::gateway_process::{GatewayProcess, free_port};
use crate::proc_stats;
use crate::soak_options::SoakOptions;
use crate::soak_workload::request;
use crate::topology::Names;
use crate::workload::{Request, RequestKind};

/// How long the gateway may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// Publisher confirms awaited at once.
const CONFIRM_BATCH: usize = 500;

/// What one sample saw.
#[derive(Debug, Clone)]
struct Sample {
    seconds: f64,
    answered: u64,
    failures: u64,
    rss_bytes: u64,
    journal_bytes: u64,
    outcomes_bytes: u64,
}

impl Sample {
    fn json(&self) -> Value {
        json!({"soak_sample": true, "seconds": (self.seconds * 10.0).round() / 10.0, "answered": self.answered,
            "failures": self.failures, "rss_mib": mib(self.rss_bytes), "journal_mib": mib(self.journal_bytes),
            "outcomes_mib": mib(self.outcomes_bytes)})
    }
}

fn mib(bytes: u64) -> f64 {
    (bytes as f64 / 1_048_576.0 * 10.0).round() / 10.0
}

fn size_of(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// Runs the soak; returns the summary line.
pub async fn run(options: &SoakOptions) -> Result<Value, BenchError> {
    let (workflows, connector) =
        checked_inputs(&options.target.mapping, options.target.connector_path())?;
    let dir = tempfile::tempdir().map_err(|source| BenchError::Io {
        context: "making the soak's working directory".to_owned(),
        source,
    })?;
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
    let names = Names::new(&run_id, "soak", "gateway");
    let state_dir = dir.path().join("state");
    let http_port = free_port()?;
    let config = format!(
        "amqp:\n  url: {url:?}\n  ingress_queue: {ingress:?}\n  egress_exchange: {egress:?}\n  \
         dead_letter_exchange: {dead:?}\n  dead_letter_queue: {dead_queue:?}\n  connection_name: {name:?}\n\
         ledger:\n  embedded: {embedded}\nparty: Operator\nstate_dir: {state:?}\n\
         state: {{ outcome_retention: {retention:?}, sweep_every: {sweep:?} }}\n\
         http: {{ listen: \"127.0.0.1:{http_port}\" }}\n{extra}\n{workflows}",
        url = options.target.amqp_url,
        ingress = names.ingress_queue,
        egress = names.egress_exchange,
        dead = names.dead_letter_exchange,
        dead_queue = names.dead_letter_queue,
        name = names.connection_name,
        state = state_dir.display().to_string(),
        retention = options.outcome_retention,
        sweep = options.sweep_every,
        extra = options.extra_config,
        embedded = options.embedded,
    );
    let config_path = dir.path().join("connector.yaml");
    std::fs::write(&config_path, config).map_err(|source| BenchError::Io {
        context: format!("writing {}", config_path.display()),
        source,
    })?;
    let mut gateway = GatewayProcess::start(
        &connector,
        &config_path,
        &dir.path().join("gateway.log"),
        http_port,
    )?;
    gateway.wait_ready(READY_TIMEOUT).await?;
    let pid = gateway.pid().unwrap_or(0);

    let answered = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    let egress_queue = format!("{}.queue", names.egress_exchange);
    let (listener, mut consumer) = consume_without_acks(
        &options.target.amqp_url,
        &egress_queue,
        &names.connection_name,
        "soak-egress",
    )
    .await?;
    let counting = {
        let answered = answered.clone();
        let failures = failures.clone();
        tokio::spawn(async move {
            while let Some(Ok(delivery)) = consumer.next().await {
                let key = delivery.routing_key.as_str();
                if key == "ContractMessage" {
                    answered.fetch_add(1, Ordering::Relaxed);
                } else if std::str::from_utf8(&delivery.data)
                    .is_ok_and(|text| text.contains("\"status\":\"Failure\""))
                {
                    answered.fetch_add(1, Ordering::Relaxed);
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };

    let started = Instant::now();
    let journal = state_dir.join("ledger.journal");
    let outcomes = state_dir.join("outcomes.redb");
    let sample = |answered: u64, failures: u64| Sample {
        seconds: started.elapsed().as_secs_f64(),
        answered,
        failures,
        rss_bytes: proc_stats::memory(pid).map_or(0, |m| m.rss_bytes),
        journal_bytes: size_of(&journal),
        outcomes_bytes: size_of(&outcomes),
    };
    let mut samples: Vec<Sample> = Vec::new();
    let mut next_sample = Instant::now();
    let every = Duration::from_secs(options.sample_every_secs);
    let take_sample = |samples: &mut Vec<Sample>| {
        let s = sample(
            answered.load(Ordering::Relaxed),
            failures.load(Ordering::Relaxed),
        );
        println!("{}", s.json());
        samples.push(s);
    };

    let broker = Broker::connect(
        &options.target.amqp_url,
        &format!("soak-{run_id}-publisher"),
    )
    .await?;
    let mut confirms = Vec::with_capacity(CONFIRM_BATCH);
    let mut last_progress = (0u64, Instant::now());
    let stalled = |last: &(u64, Instant), now_answered: u64| -> Option<BenchError> {
        (now_answered == last.0 && last.1.elapsed() > Duration::from_secs(options.stall_secs)).then(
            || BenchError::Timeout {
                phase: "soak".to_owned(),
                what: "answers",
                got: now_answered,
                expected: options.requests,
                seconds: options.stall_secs,
                log_tail: Some(gateway.log_tail()),
            },
        )
    };
    for n in 0..options.requests {
        loop {
            let done = answered.load(Ordering::Relaxed);
            if done != last_progress.0 {
                last_progress = (done, Instant::now());
            }
            if Instant::now() >= next_sample {
                take_sample(&mut samples);
                next_sample += every;
            }
            if n - done.min(n) < options.window {
                break;
            }
            if let Some(error) = stalled(&last_progress, done) {
                return Err(error);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let (request_id, body) = request(n, options.active);
        let kind = if request_id.starts_with("soak-create-") {
            RequestKind::Create
        } else {
            RequestKind::Action
        };
        let confirm = broker
            .publish(
                &names.ingress_queue,
                &Request {
                    request_id: Some(request_id),
                    kind,
                    contract: None,
                    body,
                },
            )
            .await?;
        confirms.push(confirm);
        if confirms.len() >= CONFIRM_BATCH {
            for confirm in confirms.drain(..) {
                confirm
                    .await
                    .map_err(|e| BenchError::broker("awaiting a publisher confirm", e))?;
            }
        }
    }
    for confirm in confirms.drain(..) {
        confirm
            .await
            .map_err(|e| BenchError::broker("awaiting a publisher confirm", e))?;
    }
    loop {
        let done = answered.load(Ordering::Relaxed);
        if done != last_progress.0 {
            last_progress = (done, Instant::now());
        }
        if Instant::now() >= next_sample {
            take_sample(&mut samples);
            next_sample += every;
        }
        if done >= options.requests {
            break;
        }
        if let Some(error) = stalled(&last_progress, done) {
            return Err(error);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    // The last sample, at the moment the last request was answered.
    take_sample(&mut samples);
    let clean_stop = gateway.stop().await;
    counting.abort();
    let _ = listener.close(200, "soak done".into()).await;
    broker.delete(&names).await;
    broker.delete_queue(&egress_queue).await;
    broker.close().await;

    let half = samples.len() / 2;
    let max_of = |range: &[Sample], f: fn(&Sample) -> u64| range.iter().map(f).max().unwrap_or(0);
    let (first, second) = samples.split_at(half);
    Ok(json!({
        "soak": true, "requests": options.requests, "active": options.active,
        "outcome_retention": options.outcome_retention, "embedded": options.embedded,
        "extra_config": options.extra_config,
        "seconds": (seconds * 10.0).round() / 10.0, "rate_per_s": (options.requests as f64 / seconds).round(),
        "failures": failures.load(Ordering::Relaxed), "samples": samples.len(),
        "rss_mib_max_first_half": mib(max_of(first, |s| s.rss_bytes)),
        "rss_mib_max_second_half": mib(max_of(second, |s| s.rss_bytes)),
        "journal_mib_max_first_half": mib(max_of(first, |s| s.journal_bytes)),
        "journal_mib_max_second_half": mib(max_of(second, |s| s.journal_bytes)),
        "outcomes_mib_max_first_half": mib(max_of(first, |s| s.outcomes_bytes)),
        "outcomes_mib_max_second_half": mib(max_of(second, |s| s.outcomes_bytes)),
        "clean_stop": clean_stop,
    }))
}
