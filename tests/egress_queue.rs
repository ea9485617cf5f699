//! No egress is dropped by default (issue 12): the gateway declares a durable egress queue bound to its egress
//! exchange with `#`, so with nobody consuming yet every egress message of the example waits there; with
//! `amqp.egress_queue: none` (the operator binds their own queues) unroutable egress is counted and shown as before.

mod support;

use std::time::{Duration, Instant};

use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
use lapin::{Connection, ConnectionProperties};
use support::*;

/// How many egress messages `connector process` publishes for the example (the offline oracle).
fn example_egress_count(config: &std::path::Path) -> u64 {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_connector"))
        .args(["process", "--config"])
        .arg(config)
        .arg("--input")
        .arg(format!("{EXAMPLE_DIR}/messages.jsonl"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().lines().count() as u64
}

/// Publishes the example's messages straight to the ingress queue (the test binds no queue of its own).
async fn publish_example(names: &Names) -> Connection {
    let connection = Connection::connect(AMQP_URL, ConnectionProperties::default())
        .await
        .unwrap();
    let channel = connection.create_channel().await.unwrap();
    for body in example_messages() {
        channel
            .basic_publish(
                "".into(),
                names.ingress_queue.as_str().into(),
                Default::default(),
                &body,
                lapin::BasicProperties::default().with_delivery_mode(2),
            )
            .await
            .unwrap()
            .await
            .unwrap();
    }
    connection
}

async fn cleanup(connection: &Connection, names: &Names, egress_queue: &str) {
    let channel = connection.create_channel().await.unwrap();
    for q in [
        &names.ingress_queue,
        &names.dead_letter_queue,
        &egress_queue.to_owned(),
    ] {
        let _ = channel
            .queue_delete(q.as_str().into(), QueueDeleteOptions::default())
            .await;
    }
    for x in [&names.egress_exchange, &names.dead_letter_exchange] {
        let _ = channel
            .exchange_delete(x.as_str().into(), ExchangeDeleteOptions::default())
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_nobody_consuming_every_egress_message_waits_in_the_default_egress_queue() {
    let names = Names::new("egress-queue");
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = example_config(&names, dir.path(), AMQP_URL, port, "  embedded: {}", "");
    let oracle_dir = dir.path().join("oracle");
    std::fs::create_dir_all(&oracle_dir).unwrap();
    let due = example_egress_count(&example_config(
        &names,
        &oracle_dir,
        AMQP_URL,
        0,
        "  embedded: {}",
        "",
    ));
    let egress_queue = format!("{}.queue", names.egress_exchange);
    let mut gw = Gateway::start(&config, port);
    assert!(
        gw.wait_ready(Duration::from_secs(60)).await,
        "{}",
        gw.log_text()
    );
    let connection = publish_example(&names).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while queue_counts(&egress_queue).map(|(ready, _)| ready) != Some(due)
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        queue_counts(&egress_queue),
        Some((due, 0)),
        "every egress message waits in {egress_queue}:\n{}",
        gw.log_text()
    );
    let metrics = gw.metrics().await;
    assert_eq!(
        metric_sum(&metrics, "connector_egress_unroutable_total", &[]),
        0.0
    );
    assert_eq!(gw.status().await["health"]["unroutable_total"], 0);
    assert_eq!(
        gw.status().await["config"]["amqp"]["egress_queue"],
        egress_queue.as_str()
    );
    assert!(gw.terminate());
    cleanup(&connection, &names, &egress_queue).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_egress_queue_none_unroutable_egress_is_counted_and_shown() {
    let names = Names::new("egress-queue-none");
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = example_config_with_amqp(
        &names,
        dir.path(),
        AMQP_URL,
        port,
        "  embedded: {}",
        "  egress_queue: none\n",
        "",
    );
    let egress_queue = format!("{}.queue", names.egress_exchange);
    let mut gw = Gateway::start(&config, port);
    assert!(
        gw.wait_ready(Duration::from_secs(60)).await,
        "{}",
        gw.log_text()
    );
    let connection = publish_example(&names).await;
    let metrics = gw
        .metrics_when(|m| metric_sum(m, "connector_ingress_messages_total", &[]) >= 20.0)
        .await;
    let unroutable = metric_sum(&metrics, "connector_egress_unroutable_total", &[]);
    assert!(unroutable >= 20.0, "{metrics}");
    assert_eq!(
        gw.status().await["health"]["unroutable_total"],
        unroutable as u64
    );
    assert_eq!(
        queue_counts(&egress_queue),
        None,
        "no egress queue was declared"
    );
    assert!(gw.log_text().contains("egress was unroutable"));
    assert!(gw.terminate());
    cleanup(&connection, &names, &egress_queue).await;
}
