//! The queues the gateway declares on the real RabbitMQ (127.0.0.1:5672) match its config, and a queue that already
//! exists with other arguments is refused naming the argument, the broker's value, the config's value and the key to
//! change — by `run` (in its log, while it retries), `send` and `dead-letters` (exit 2).
//!
//! A quorum set-up with a single active consumer is declared as configured (read back with `rabbitmqctl`), serves
//! requests (on a `connector sandbox` ledger: a single active consumer needs a shared one), and its dead-letter
//! queue — classic, because `connector dead-letters list` reads letters unacked and hands them back by closing its
//! channel, and only a classic queue puts them back in their places (shown here against a quorum queue) — keeps its
//! order through full and limited lists. Each mismatch test pre-declares its own queue differently from the config.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use lapin::options::QueueDeclareOptions;
use lapin::types::{AMQPValue, FieldTable};
use serde_json::Value;
use support::example_requests::{bodies, create, is_terminal, linear_id, read, telemetry};
use support::gateway_harness::IN_MEMORY;
use support::*;

/// The `name type arguments` line `rabbitmqctl list_queues` prints for `queue`.
fn queue_listing(queue: &str) -> String {
    let out = Command::new("rabbitmqctl")
        .args(["-q", "list_queues", "name", "type", "arguments"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.starts_with(&format!("{queue}\t")))
        .unwrap_or_default()
        .to_owned()
}

/// `connector <args> --config <config>`: exit code, stdout, stderr.
fn connector(args: &[&str], config: &Path) -> (Option<i32>, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_connector"));
    command.args(args).arg("--config").arg(config);
    let out = command.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn dead_letter_list(config: &Path, extra: &[&str]) -> Vec<Value> {
    let (code, stdout, stderr) = connector(&[&["dead-letters", "list"], extra].concat(), config);
    assert_eq!(code, Some(0), "{stderr}");
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quorum_single_active_consumer_setup_is_declared_as_configured_serves_and_lists_in_order()
{
    let names = Names::new("topology-quorum");
    let broker = Broker::connect(&names).await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // Several instances on one queue share their state: `run` refuses a single active consumer on redb.
    let database = support::postgres::TestDatabase::create("topology_quorum");
    let (config, _sandbox) = config_on_with_amqp(
        LedgerKind::Daml,
        &names,
        dir.path(),
        port,
        IN_MEMORY,
        "  queue_type: quorum\n  single_active_consumer: true\n  max_redeliveries: 3\n",
        &database.state_yaml(5432),
    );
    let mut gw = Gateway::start(&config, port);
    assert!(
        gw.wait_ready(Duration::from_secs(60)).await,
        "{}",
        gw.log_text()
    );

    let ingress = queue_listing(&names.ingress_queue);
    assert!(ingress.contains("\tquorum\t"), "{ingress}");
    for argument in [
        "{\"x-single-active-consumer\",true}".to_owned(),
        "{\"x-delivery-limit\",12}".to_owned(),
        format!(
            "{{\"x-dead-letter-exchange\",\"{}\"}}",
            names.dead_letter_exchange
        ),
    ] {
        assert!(ingress.contains(&argument), "{argument} missing: {ingress}");
    }
    let dead = queue_listing(&names.dead_letter_queue);
    assert!(
        dead.contains("\tclassic\t") && dead.contains("{\"x-queue-type\",\"classic\"}"),
        "the dead-letter queue stays classic: {dead}"
    );
    assert!(!dead.contains("x-delivery-limit"), "{dead}");

    let target = linear_id("tq-create");
    broker
        .publish_all(&bodies(&[
            create("tq-create"),
            telemetry("tq-t1", &target, 30),
            read("tq-read", &target),
        ]))
        .await;
    let egress = broker
        .collect_until(&names.capture_queue, Duration::from_secs(60), |got| {
            got.iter().filter(|c| is_terminal(c)).count() >= 3
        })
        .await;
    let terminals: Vec<(Option<&str>, Option<&str>)> = egress
        .iter()
        .filter(|c| is_terminal(c))
        .map(|c| (c.json["requestId"].as_str(), c.json["status"].as_str()))
        .collect();
    assert_eq!(terminals.len(), 3, "{terminals:?}\n{}", gw.log_text());
    assert!(
        terminals
            .iter()
            .all(|(_, status)| *status != Some("Failure")),
        "{terminals:?}"
    );

    // Dead letters: bodies that fail validation, with readable requestIds, and one that is not JSON.
    let mut letters: Vec<Vec<u8>> = (0..4)
        .map(|i| format!(r#"{{"requestId":"bad-{i}","messageName":"NoSuchMessage"}}"#).into_bytes())
        .collect();
    letters.insert(2, b"\xff{ not json".to_vec());
    broker.publish_all(&letters).await;
    wait_for_ready(&names.dead_letter_queue, 5).await;
    assert!(gw.terminate(), "{}", gw.log_text());

    let first = dead_letter_list(&config, &[]);
    let ids: Vec<Option<&str>> = first.iter().map(|l| l["requestId"].as_str()).collect();
    assert_eq!(
        ids,
        [
            Some("bad-0"),
            Some("bad-1"),
            None,
            Some("bad-2"),
            Some("bad-3")
        ],
        "queue order: {first:?}"
    );
    // Reading hands every letter back; on a quorum queue the returned ones must come back in their places.
    for _ in 0..3 {
        assert_eq!(dead_letter_list(&config, &[]), first, "reordered or lost");
    }
    assert_eq!(dead_letter_list(&config, &["--limit", "2"]), first[..2]);
    assert_eq!(
        dead_letter_list(&config, &[]),
        first,
        "a limited list changed the queue"
    );
    assert_eq!(queue_counts(&names.dead_letter_queue).map(|c| c.0), Some(5));
    broker.cleanup().await;
}

/// Declares `queue` (durable) with `arguments`, as someone before the gateway did.
async fn predeclare(broker: &Broker, queue: &str, arguments: &[(&str, AMQPValue)]) {
    let mut table = FieldTable::default();
    for (key, value) in arguments {
        table.insert((*key).into(), value.clone());
    }
    broker
        .channel
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                durable: true,
                ..Default::default()
            },
            table,
        )
        .await
        .unwrap();
}

fn text(value: &str) -> AMQPValue {
    AMQPValue::LongString(value.into())
}

/// One mismatch test's world: its names, broker client and a config with `amqp_extra`.
struct Mismatch {
    names: Names,
    broker: Broker,
    dir: tempfile::TempDir,
    port: u16,
}

impl Mismatch {
    async fn new(test: &str) -> Self {
        let names = Names::new(test);
        let broker = Broker::connect(&names).await;
        Self {
            names,
            broker,
            dir: tempfile::tempdir().unwrap(),
            port: free_port(),
        }
    }

    fn config(&self, amqp_extra: &str) -> std::path::PathBuf {
        example_config_with_amqp(
            &self.names,
            self.dir.path(),
            AMQP_URL,
            self.port,
            IN_MEMORY,
            amqp_extra,
            "",
        )
    }

    /// What a classic gateway with this test's names declares its ingress queue with.
    fn classic_ingress(&self) -> Vec<(&'static str, AMQPValue)> {
        vec![
            ("x-queue-type", text("classic")),
            (
                "x-dead-letter-exchange",
                text(&self.names.dead_letter_exchange),
            ),
        ]
    }

    /// `connector run`: the error is in its log (it retries, so the queue can be fixed without a restart), and it
    /// never becomes ready.
    async fn run_says(&self, config: &Path, want: &str) {
        let mut gw = Gateway::start(config, self.port);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !gw.log_text().contains(want) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let log = gw.log_text();
        assert!(
            !matches!(http_get(self.port, "/readyz").await, Some((200, _))),
            "ready against a mismatched queue"
        );
        assert!(gw.terminate(), "{log}");
        assert!(log.contains(want), "expected\n  {want}\nin the log:\n{log}");
    }

    async fn cleanup(&self) {
        self.broker.cleanup().await;
    }
}

/// A command that connects once: exit 2, the error on stderr.
fn refused(args: &[&str], config: &Path, want: &str) {
    let (code, _, stderr) = connector(args, config);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains(want), "expected\n  {want}\nin:\n  {stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_classic_ingress_queue_under_a_quorum_config_names_the_queue_type() {
    let t = Mismatch::new("mismatch-type").await;
    predeclare(&t.broker, &t.names.ingress_queue, &t.classic_ingress()).await;
    let config = t.config("  queue_type: quorum\n");
    let want = format!(
        "amqp.queue_type: the queue {:?} exists as a classic queue; the config asks for quorum (x-queue-type) — \
         delete or rename the queue, or set amqp.queue_type: classic",
        t.names.ingress_queue
    );
    t.run_says(&config, &want).await;
    t.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_without_single_active_consumer_names_it() {
    let t = Mismatch::new("mismatch-sac").await;
    predeclare(&t.broker, &t.names.ingress_queue, &t.classic_ingress()).await;
    let config = t.config("  single_active_consumer: true\n");
    let want = format!(
        "amqp.single_active_consumer: the queue {:?} exists without x-single-active-consumer; the config asks for \
         true (x-single-active-consumer) — delete or rename the queue, or set amqp.single_active_consumer: false",
        t.names.ingress_queue
    );
    refused(&["dead-letters", "list"], &config, &want);
    t.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_with_another_dead_letter_exchange_names_it() {
    let t = Mismatch::new("mismatch-dlx").await;
    let other = format!("{}.elsewhere", t.names.dead_letter_exchange);
    predeclare(
        &t.broker,
        &t.names.ingress_queue,
        &[
            ("x-queue-type", text("classic")),
            ("x-dead-letter-exchange", text(&other)),
        ],
    )
    .await;
    let config = t.config("");
    let messages = t.dir.path().join("messages.jsonl");
    std::fs::write(&messages, serde_json::to_string(&create("dlx-1")).unwrap()).unwrap();
    let want = format!(
        "amqp.dead_letter_exchange: the queue {:?} exists with x-dead-letter-exchange {other:?}; the config asks \
         for {:?} (x-dead-letter-exchange) — delete or rename the queue, or set amqp.dead_letter_exchange: {other}",
        t.names.ingress_queue, t.names.dead_letter_exchange
    );
    refused(
        &["send", messages.to_str().unwrap(), "--timeout", "5"],
        &config,
        &want,
    );
    t.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quorum_queue_with_another_delivery_limit_names_max_redeliveries() {
    let t = Mismatch::new("mismatch-limit").await;
    predeclare(
        &t.broker,
        &t.names.ingress_queue,
        &[
            ("x-queue-type", text("quorum")),
            (
                "x-dead-letter-exchange",
                text(&t.names.dead_letter_exchange),
            ),
            ("x-delivery-limit", AMQPValue::LongInt(12)),
        ],
    )
    .await;
    let config = t.config("  queue_type: quorum\n  max_redeliveries: 2\n");
    let want = format!(
        "amqp.max_redeliveries: the queue {:?} exists with x-delivery-limit 12; the config asks for 8 \
         (x-delivery-limit = 4 × amqp.max_redeliveries) — delete or rename the queue, or set amqp.max_redeliveries: 3",
        t.names.ingress_queue
    );
    t.run_says(&config, &want).await;
    t.cleanup().await;
}

/// Publishes `count` numbered messages to a fresh queue of `queue_type`; for each of `reads`, reads that many unacked
/// with `basic.get` and closes that channel (as `connector dead-letters list [--limit N]` does); then drains the
/// queue: the order the messages are in afterwards.
async fn order_after_reads(
    broker: &Broker,
    queue: &str,
    queue_type: &str,
    count: usize,
    reads: &[usize],
) -> Vec<String> {
    use lapin::BasicProperties;
    use lapin::options::{BasicAckOptions, BasicGetOptions, BasicPublishOptions};
    predeclare(broker, queue, &[("x-queue-type", text(queue_type))]).await;
    for i in 0..count {
        broker
            .channel
            .basic_publish(
                "".into(),
                queue.into(),
                BasicPublishOptions::default(),
                format!("m{i}").as_bytes(),
                BasicProperties::default().with_delivery_mode(2),
            )
            .await
            .unwrap()
            .await
            .unwrap();
    }
    for read in reads {
        let reader = broker.connection.create_channel().await.unwrap();
        for _ in 0..*read {
            let got = reader
                .basic_get(queue.into(), BasicGetOptions { no_ack: false })
                .await
                .unwrap();
            assert!(got.is_some());
        }
        reader.close(200, "read".into()).await.unwrap();
    }
    let drain = broker.connection.create_channel().await.unwrap();
    let mut order = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while order.len() < count && Instant::now() < deadline {
        match drain
            .basic_get(queue.into(), BasicGetOptions { no_ack: false })
            .await
            .unwrap()
        {
            Some(got) => {
                order.push(String::from_utf8_lossy(&got.delivery.data).into_owned());
                got.delivery.ack(BasicAckOptions::default()).await.unwrap();
            }
            None => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    let _ = drain.close(200, "drained".into()).await;
    let _ = broker
        .channel
        .queue_delete(queue.into(), Default::default())
        .await;
    order
}

/// Why the dead-letter queue stays classic beside a quorum ingress queue. Should a RabbitMQ release keep returned
/// messages in their places on a quorum queue, this fails, and the dead-letter queue could follow `queue_type`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_classic_queue_puts_letters_read_and_handed_back_in_their_places() {
    let names = Names::new("topology-positions");
    let broker = Broker::connect(&names).await;
    let classic = format!("{}.classic", names.ingress_queue);
    let quorum = format!("{}.quorum", names.ingress_queue);
    let in_order: Vec<String> = (0..5).map(|i| format!("m{i}")).collect();
    // A whole list, then one with `--limit 2`. (A quorum queue serves what was handed back before the rest, so a
    // single partial read of fresh messages looks ordered; once all were handed back, a partial read is not.)
    let reads = [5, 2];
    assert_eq!(
        order_after_reads(&broker, &classic, "classic", 5, &reads).await,
        in_order,
        "a classic queue kept the places of the messages read"
    );
    let quorum_order = order_after_reads(&broker, &quorum, "quorum", 5, &reads).await;
    assert_eq!(quorum_order.len(), 5, "{quorum_order:?}");
    assert_ne!(
        quorum_order, in_order,
        "this RabbitMQ keeps the places of returned messages on a quorum queue too: the dead-letter queue could now \
         be quorum under queue_type: quorum (adapters/amqp-transport/src/queue_arguments.rs)"
    );
    broker.cleanup().await;
}

/// An existing deployment's dead-letter queue, declared without arguments before the type was named, is still
/// equivalent to the one the gateway declares (explicitly classic), also under a quorum config.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_queue_declared_without_arguments_is_still_accepted() {
    let t = Mismatch::new("topology-old-dlq").await;
    predeclare(&t.broker, &t.names.dead_letter_queue, &[]).await;
    let config = t.config("  queue_type: quorum\n");
    let (code, stdout, stderr) = connector(&["dead-letters", "list"], &config);
    assert_eq!((code, stdout.as_str()), (Some(0), ""), "{stderr}");
    t.cleanup().await;
}

/// A dead-letter queue someone made quorum is refused by name, not used and silently reordered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quorum_dead_letter_queue_is_refused_by_name() {
    let t = Mismatch::new("mismatch-dlq").await;
    predeclare(
        &t.broker,
        &t.names.dead_letter_queue,
        &[("x-queue-type", text("quorum"))],
    )
    .await;
    let config = t.config("  queue_type: quorum\n");
    let want = format!(
        "amqp.dead_letter_queue: the queue {:?} exists with x-queue-type quorum; the gateway declares it with classic \
         (x-queue-type) — delete or rename the queue, or name another amqp.dead_letter_queue (it is always classic: \
         `connector dead-letters` relies on a classic queue keeping the places of the letters it reads)",
        t.names.dead_letter_queue
    );
    refused(&["dead-letters", "list"], &config, &want);
    t.cleanup().await;
}
