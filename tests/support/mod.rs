//! Shared helpers for the workspace-level integration tests: unique names, a real RabbitMQ client for the test
//! side, the `connector` binary as a child process with its own config, a TCP proxy to cut the broker off, and
//! small HTTP and rabbitmqctl helpers. Every test gets its own queue and exchange names, so tests never share state.
//! The gateway's end-to-end tests (`tests/gateway_*.rs`) also share their harness and the example's requests.

#![allow(dead_code)]

pub mod browser;
pub mod deployment;
pub mod example_requests;
pub mod gateway_harness;
pub mod http_request;
pub mod ledger_readback;
pub mod mixed_workload;
pub mod postgres;
pub mod promql_names;
pub mod raw_amqp;
pub mod timed_capture;

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, ConfirmSelectOptions,
    ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use serde_json::Value;

pub const AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
pub const EXAMPLE_DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/refrigerated-transportation"
);

/// Names unique to one test.
#[derive(Debug, Clone)]
pub struct Names {
    pub ingress_queue: String,
    pub egress_exchange: String,
    pub dead_letter_exchange: String,
    pub dead_letter_queue: String,
    pub capture_queue: String,
    pub connection_name: String,
}

impl Names {
    pub fn new(test: &str) -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let id = &id[..12];
        Self {
            ingress_queue: format!("it.{test}.{id}.ingress"),
            egress_exchange: format!("it.{test}.{id}.egress"),
            dead_letter_exchange: format!("it.{test}.{id}.dead"),
            dead_letter_queue: format!("it.{test}.{id}.dead.queue"),
            capture_queue: format!("it.{test}.{id}.capture"),
            connection_name: format!("it-{test}-{id}"),
        }
    }
}

/// The test side of the broker: publishes ingress, captures every egress message and dead letter.
pub struct Broker {
    pub connection: Connection,
    pub channel: Channel,
    pub names: Names,
}

/// One captured egress message.
#[derive(Debug, Clone)]
pub struct Captured {
    pub routing_key: String,
    pub message_id: Option<String>,
    pub correlation_id: Option<String>,
    pub message_type: Option<String>,
    pub headers: HashMap<String, String>,
    pub json: Value,
    pub body: Vec<u8>,
}

impl Broker {
    /// Connects and declares the egress exchange with a capture queue bound to every routing key, so nothing the
    /// gateway publishes is missed, even before it starts.
    pub async fn connect(names: &Names) -> Self {
        Self::connect_with_capture_limit(names, None).await
    }

    /// Like [`Broker::connect`], but the capture queue holds at most `limit` ready messages and rejects further
    /// publishes (`x-overflow: reject-publish`), so the broker *nacks* egress while it is full: a downstream stall.
    /// A gateway that acks its deliveries before their egress is confirmed loses those outcomes for good.
    pub async fn connect_with_capture_limit(names: &Names, limit: Option<u32>) -> Self {
        let mut capture_arguments = FieldTable::default();
        if let Some(limit) = limit {
            capture_arguments.insert("x-max-length".into(), AMQPValue::LongUInt(limit));
            capture_arguments.insert(
                "x-overflow".into(),
                AMQPValue::LongString("reject-publish".into()),
            );
        }
        let connection = Connection::connect(AMQP_URL, ConnectionProperties::default())
            .await
            .unwrap();
        let channel = connection.create_channel().await.unwrap();
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .unwrap();
        channel
            .exchange_declare(
                names.egress_exchange.as_str().into(),
                ExchangeKind::Topic,
                ExchangeDeclareOptions {
                    durable: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap();
        channel
            .queue_declare(
                names.capture_queue.as_str().into(),
                QueueDeclareOptions {
                    durable: true,
                    ..Default::default()
                },
                capture_arguments,
            )
            .await
            .unwrap();
        channel
            .queue_bind(
                names.capture_queue.as_str().into(),
                names.egress_exchange.as_str().into(),
                "#".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        Self {
            connection,
            channel,
            names: names.clone(),
        }
    }

    /// Publishes one ingress body with the given properties (confirmed).
    pub async fn publish_with(&self, body: &[u8], properties: BasicProperties) {
        self.channel
            .basic_publish(
                "".into(),
                self.names.ingress_queue.as_str().into(),
                BasicPublishOptions::default(),
                body,
                properties,
            )
            .await
            .unwrap()
            .await
            .unwrap();
    }

    /// Publishes ingress bodies (persistent, confirmed) to the ingress queue.
    pub async fn publish_all(&self, bodies: &[Vec<u8>]) {
        let mut confirms = Vec::new();
        for body in bodies {
            confirms.push(
                self.channel
                    .basic_publish(
                        "".into(),
                        self.names.ingress_queue.as_str().into(),
                        BasicPublishOptions::default(),
                        body,
                        BasicProperties::default()
                            .with_delivery_mode(2)
                            .with_content_type("application/json".into()),
                    )
                    .await
                    .unwrap(),
            );
        }
        for c in confirms {
            c.await.unwrap();
        }
    }

    /// Collects from `queue` until `done(collected)` holds or `timeout` passes.
    pub async fn collect_until(
        &self,
        queue: &str,
        timeout: Duration,
        done: impl FnMut(&[Captured]) -> bool,
    ) -> Vec<Captured> {
        self.collect_until_quiet(queue, timeout, timeout, done)
            .await
    }

    /// Like [`Broker::collect_until`], but also stops once nothing has arrived for `quiet` (so a run that lost
    /// messages fails in a minute instead of waiting out the whole timeout).
    pub async fn collect_until_quiet(
        &self,
        queue: &str,
        timeout: Duration,
        quiet: Duration,
        mut done: impl FnMut(&[Captured]) -> bool,
    ) -> Vec<Captured> {
        let channel = self.connection.create_channel().await.unwrap();
        let tag = format!("collector-{}", uuid::Uuid::new_v4());
        let mut consumer = channel
            .basic_consume(
                queue.into(),
                tag.as_str().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        let deadline = Instant::now() + timeout;
        let mut out = Vec::new();
        while !done(&out) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match tokio::time::timeout(left.min(quiet), consumer.next()).await {
                Ok(Some(Ok(delivery))) => {
                    out.push(Captured::from_delivery(&delivery));
                    delivery.ack(BasicAckOptions::default()).await.unwrap();
                }
                _ => break,
            }
        }
        let _ = channel.close(200, "done".into()).await;
        out
    }

    /// Collects egress until `count` messages arrived.
    pub async fn egress(&self, count: usize, timeout: Duration) -> Vec<Captured> {
        let q = self.names.capture_queue.clone();
        self.collect_until(&q, timeout, |got| got.len() >= count)
            .await
    }

    /// Collects dead letters until `count` arrived.
    pub async fn dead_letters(&self, count: usize, timeout: Duration) -> Vec<Captured> {
        let q = self.names.dead_letter_queue.clone();
        self.collect_until(&q, timeout, |got| got.len() >= count)
            .await
    }

    /// (ready, unacked) counts of a queue, from rabbitmqctl.
    pub fn queue_counts(&self, queue: &str) -> Option<(u64, u64)> {
        queue_counts(queue)
    }

    /// Deletes everything the test declared.
    pub async fn cleanup(&self) {
        let egress_queue = format!("{}.queue", self.names.egress_exchange);
        for q in [
            &self.names.ingress_queue,
            &self.names.capture_queue,
            &self.names.dead_letter_queue,
            &egress_queue,
        ] {
            let _ = self
                .channel
                .queue_delete(q.as_str().into(), QueueDeleteOptions::default())
                .await;
        }
        for x in [
            &self.names.egress_exchange,
            &self.names.dead_letter_exchange,
        ] {
            let _ = self
                .channel
                .exchange_delete(x.as_str().into(), Default::default())
                .await;
        }
    }
}

impl Captured {
    /// What the test keeps of one delivered egress message.
    pub fn from_delivery(delivery: &lapin::message::Delivery) -> Self {
        let props = &delivery.properties;
        let headers = props
            .headers()
            .as_ref()
            .map(|t| {
                t.inner()
                    .iter()
                    .map(|(k, v)| (k.to_string(), field_text(v)))
                    .collect()
            })
            .unwrap_or_default();
        Self {
            routing_key: delivery.routing_key.to_string(),
            message_id: props.message_id().as_ref().map(|s| s.to_string()),
            correlation_id: props.correlation_id().as_ref().map(|s| s.to_string()),
            message_type: props.kind().as_ref().map(|s| s.to_string()),
            headers,
            json: serde_json::from_slice(&delivery.data).unwrap_or(Value::Null),
            body: delivery.data.clone(),
        }
    }
}

fn field_text(v: &lapin::types::AMQPValue) -> String {
    match v {
        AMQPValue::LongString(s) => String::from_utf8_lossy(s.as_bytes()).into_owned(),
        AMQPValue::ShortString(s) => s.to_string(),
        AMQPValue::LongInt(i) => i.to_string(),
        AMQPValue::LongLongInt(i) => i.to_string(),
        AMQPValue::ShortInt(i) => i.to_string(),
        AMQPValue::LongUInt(i) => i.to_string(),
        other => format!("{other:?}"),
    }
}

/// (ready, unacked) of a queue via `rabbitmqctl list_queues`.
pub fn queue_counts(queue: &str) -> Option<(u64, u64)> {
    let out = Command::new("rabbitmqctl")
        .args([
            "-q",
            "list_queues",
            "name",
            "messages_ready",
            "messages_unacknowledged",
        ])
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            match cols.as_slice() {
                [name, ready, unacked] if *name == queue => {
                    Some((ready.parse().ok()?, unacked.parse().ok()?))
                }
                _ => None,
            }
        })
}

/// Waits (up to 30 s) until `queue` holds at least `count` ready messages.
pub async fn wait_for_ready(queue: &str, count: u64) {
    for _ in 0..300 {
        if queue_counts(queue).is_some_and(|(ready, _)| ready >= count) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("queue {queue} never had {count} ready messages");
}

/// Force-closes every broker connection whose client-provided name starts with `prefix` (only this test's).
pub fn close_connections(prefix: &str) -> usize {
    let Ok(out) = Command::new("rabbitmqctl")
        .args(["-q", "list_connections", "pid", "client_properties"])
        .output()
    else {
        return 0;
    };
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut closed = 0;
    for line in text.lines() {
        if !line.contains(&format!("\"{prefix}")) {
            continue;
        }
        let Some(pid) = line.split_whitespace().next() else {
            continue;
        };
        let status = Command::new("rabbitmqctl")
            .args([
                "-q",
                "close_connection",
                pid,
                "integration test closes this connection",
            ])
            .status();
        if status.map(|s| s.success()).unwrap_or(false) {
            closed += 1;
        }
    }
    closed
}

/// A free local TCP port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A gateway config for the example mapping with this test's names. `extra` is appended YAML (top-level keys).
pub fn example_config(
    names: &Names,
    dir: &Path,
    amqp_url: &str,
    http_port: u16,
    ledger_yaml: &str,
    extra: &str,
) -> PathBuf {
    example_config_with_amqp(names, dir, amqp_url, http_port, ledger_yaml, "", extra)
}

/// Like [`example_config`], with `amqp_extra` added to the `amqp:` block (lines indented by two spaces, e.g.
/// `"  max_redeliveries: 2\n"`).
pub fn example_config_with_amqp(
    names: &Names,
    dir: &Path,
    amqp_url: &str,
    http_port: u16,
    ledger_yaml: &str,
    amqp_extra: &str,
    extra: &str,
) -> PathBuf {
    let parts = ConfigParts {
        amqp_extra,
        extra,
        ..ConfigParts::default()
    };
    example_config_with(names, dir, amqp_url, http_port, ledger_yaml, &parts)
}

/// The `user_chain_identifier:` block every test gateway gets unless it asks for another.
pub const DEFAULT_USER_CHAIN_IDENTIFIER: &str =
    "  allowed_parties: [Operator, Device01, Carrier, Retailer]\n";

/// What a test may change in its gateway's config; everything else is the example's.
#[derive(Debug, Clone, Copy)]
pub struct ConfigParts<'a> {
    /// Added to the `amqp:` block (lines indented by two spaces).
    pub amqp_extra: &'a str,
    /// The body of the `user_chain_identifier:` block (lines indented by two spaces).
    pub user_chain_identifier: &'a str,
    /// Appended top-level YAML.
    pub extra: &'a str,
}

impl Default for ConfigParts<'_> {
    fn default() -> Self {
        Self {
            amqp_extra: "",
            user_chain_identifier: DEFAULT_USER_CHAIN_IDENTIFIER,
            extra: "",
        }
    }
}

/// The example's gateway config with this test's names and `parts`.
pub fn example_config_with(
    names: &Names,
    dir: &Path,
    amqp_url: &str,
    http_port: u16,
    ledger_yaml: &str,
    parts: &ConfigParts<'_>,
) -> PathBuf {
    let ConfigParts {
        amqp_extra,
        user_chain_identifier,
        extra,
    } = parts;
    let example = std::fs::read_to_string(format!("{EXAMPLE_DIR}/connector.yaml")).unwrap();
    let workflows = &example[example.find("workflows:").unwrap()..];
    let text = format!(
        "amqp:\n  url: {amqp_url}\n  ingress_queue: {}\n  egress_exchange: {}\n  dead_letter_exchange: {}\n  dead_letter_queue: {}\n  prefetch: 64\n  connection_name: {}\n{amqp_extra}\
         ledger:\n{ledger_yaml}\nparty: Operator\nuser_chain_identifier:\n{user_chain_identifier}\
         state_dir: {}\nhttp: {{ listen: 127.0.0.1:{http_port} }}\nretry: {{ max_attempts: 3, initial_backoff_ms: 10, max_backoff_ms: 50 }}\n{extra}\n{workflows}",
        names.ingress_queue,
        names.egress_exchange,
        names.dead_letter_exchange,
        names.dead_letter_queue,
        names.connection_name,
        dir.join("state").display(),
    );
    let path = dir.join("connector.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The `connector` binary as a child process.
pub struct Gateway {
    pub child: Option<Child>,
    pub config: PathBuf,
    pub http_port: u16,
    pub log: PathBuf,
    /// RLIMIT_FSIZE for the process, in bytes (a write past it fails with EFBIG): a disk that fills up.
    pub file_size_limit: Option<u64>,
}

impl Gateway {
    pub fn start(config: &Path, http_port: u16) -> Self {
        let log = config.with_extension(format!("{}.log", uuid::Uuid::new_v4().simple()));
        let mut gw = Self {
            child: None,
            config: config.to_owned(),
            http_port,
            log,
            file_size_limit: None,
        };
        gw.spawn();
        gw
    }

    pub fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_connector"));
        command
            .args(["run", "--config"])
            .arg(&self.config)
            .env("CONNECTOR_LOG__LEVEL", "info,lapin=warn")
            .stdout(Stdio::null())
            .stderr(log);
        if let Some(limit) = self.file_size_limit {
            use std::os::unix::process::CommandExt;
            // SAFETY: setrlimit is async-signal-safe; nothing else runs in the child between fork and exec.
            unsafe {
                command.pre_exec(move || {
                    let rlimit = libc::rlimit {
                        rlim_cur: limit,
                        rlim_max: limit,
                    };
                    if libc::setrlimit(libc::RLIMIT_FSIZE, &rlimit) == 0 {
                        Ok(())
                    } else {
                        Err(std::io::Error::last_os_error())
                    }
                });
            }
        }
        let child = command.spawn().unwrap();
        self.child = Some(child);
    }

    /// Waits until `/readyz` answers 200 (false at once if the process exits).
    pub async fn wait_ready(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(_)) = child.try_wait()
            {
                return false;
            }
            if let Some((200, _)) = http_get(self.http_port, "/readyz").await {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    /// SIGKILL: no chance to drain.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM and wait for a clean exit; returns the exit status success.
    pub fn terminate(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return false;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.success();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub async fn status(&self) -> Value {
        let (_, body) = http_get(self.http_port, "/status").await.expect("status");
        serde_json::from_str(&body).expect("status JSON")
    }

    /// The ledger end: each committed transaction advances it by one on the embedded ledger.
    pub async fn ledger_end(&self) -> i64 {
        self.status().await["ledger_end"]
            .as_i64()
            .expect("ledger_end")
    }

    pub async fn metrics(&self) -> String {
        http_get(self.http_port, "/metrics")
            .await
            .expect("metrics")
            .1
    }

    /// The metrics once `ready(text)` holds (they are recorded at ack time, just after the egress is seen), or the
    /// last ones after 10 s.
    pub async fn metrics_when(&self, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = self.metrics().await;
            if ready(&text) || Instant::now() > deadline {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Gateway {
    /// The gateway process's peak resident memory (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let pid = self.child.as_ref()?.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A minimal HTTP/1.1 GET against 127.0.0.1.
pub async fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::time::timeout(
        Duration::from_secs(2),
        tokio::net::TcpStream::connect(("127.0.0.1", port)),
    )
    .await
    .ok()?
    .ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buf))
        .await
        .ok()?
        .ok()?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let code = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Some((code, body))
}

/// Sum of a Prometheus counter's samples whose labels contain every `label="value"` given.
pub fn metric_sum(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && !l.starts_with('#'))
        .filter(|l| l[name.len()..].starts_with('{') || l[name.len()..].starts_with(' '))
        .filter(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// A TCP proxy in front of RabbitMQ that the test can cut and restore, to make the broker unreachable for one
/// gateway without disturbing anyone else on the shared broker.
pub struct Proxy {
    pub port: u16,
    stop: Option<tokio::sync::watch::Sender<bool>>,
}

impl Proxy {
    pub async fn start(port: u16) -> Self {
        Self::start_to(port, 5672).await
    }

    /// A proxy on `port` in front of `127.0.0.1:<target>` (5672 the broker, 5432 PostgreSQL).
    pub async fn start_to(port: u16, target: u16) -> Self {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let (tx, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            let mut rx_accept = rx.clone();
            loop {
                tokio::select! {
                    _ = rx_accept.changed() => return,
                    accepted = listener.accept() => {
                        let Ok((mut inbound, _)) = accepted else { return };
                        let mut rx_conn = rx.clone();
                        tokio::spawn(async move {
                            let Ok(mut outbound) = tokio::net::TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], target))).await else { return };
                            tokio::select! {
                                _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                                _ = rx_conn.changed() => {}
                            }
                        });
                    }
                }
            }
        });
        Self {
            port,
            stop: Some(tx),
        }
    }

    /// Closes the listener and every proxied connection.
    pub fn cut(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(true);
        }
    }
}

/// Reads the example's messages.
pub fn example_messages() -> Vec<Vec<u8>> {
    std::fs::read_to_string(format!("{EXAMPLE_DIR}/messages.jsonl"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.as_bytes().to_vec())
        .collect()
}

/// Writes text to a file in `dir`.
/// A copy of an example config (`embedded: {}`, `state_dir: ./data`) with its ledger journaled and its state kept
/// in `dir`, so a test can run it offline and read back what it committed.
pub fn journaled_example_config(config: &Path, dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(config).unwrap();
    assert!(text.contains("  embedded: {}"), "{}", config.display());
    let text = text
        .replace(
            "  embedded: {}",
            &format!(
                "  embedded: {{ journal: {} }}",
                dir.join("ledger.log").display()
            ),
        )
        .replace(
            "state_dir: ./data",
            &format!("state_dir: {}", dir.join("state").display()),
        );
    write(dir, "connector.yaml", &text)
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
    path
}

/// A `connector sandbox` process (the embedded ledger served over the Daml Ledger API v2), killed when dropped.
pub struct Sandbox {
    child: Child,
    /// `127.0.0.1:<port>`, as the sandbox reported it once bound.
    pub address: String,
    log: PathBuf,
}

impl Sandbox {
    /// Starts `connector sandbox --config <config> --listen 127.0.0.1:0` (with `--token-file` when given), logging
    /// to `log`, and waits for its `listening on` line.
    pub fn start(config: &Path, log: &Path, token_file: Option<&Path>) -> Self {
        Self::start_with_args(config, log, token_file, &[])
    }

    /// Like [`Sandbox::start`], with more command-line arguments (`--latency-ms`, `--record-trace-context`, …).
    pub fn start_with_args(
        config: &Path,
        log: &Path,
        token_file: Option<&Path>,
        args: &[&std::ffi::OsStr],
    ) -> Self {
        let stderr = std::fs::File::create(log).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_connector"));
        command
            .args(["sandbox", "--config"])
            .arg(config)
            .args(["--listen", "127.0.0.1:0"])
            .env("CONNECTOR_LOG__LEVEL", "warn")
            // Its ledger is durable by default: in a directory of its own beside its log (the test's temporary
            // directory), never a shared ./data nor one beside a config that other runs start from too.
            .env(
                "CONNECTOR_STATE_DIR",
                log.parent()
                    .unwrap_or(Path::new("."))
                    .join(format!("sandbox-state-{}", uuid::Uuid::new_v4().simple())),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        if let Some(token_file) = token_file {
            command.arg("--token-file").arg(token_file);
        }
        command.args(args);
        let mut child = command.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if let Some(address) = line.strip_prefix("listening on ") {
                    let _ = tx.send(address.trim().to_owned());
                }
            }
        });
        let address = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(address) => address,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "connector sandbox did not report its address within 60 s:\n{}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
        };
        Self {
            child,
            address,
            log: log.to_owned(),
        }
    }

    /// The Ledger API URL for a `ledger.daml.url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, then its exit status within `limit` (panics if it does not stop in time).
    pub fn terminate(&mut self, limit: Duration) -> std::process::ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -TERM failed");
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "the sandbox did not stop within {limit:?} of SIGTERM:\n{}",
            self.log_text()
        );
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Which ledger an end-to-end test runs the gateway on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerKind {
    /// The embedded ledger inside the gateway process.
    Embedded,
    /// `ledger.daml` pointed at a `connector sandbox` process that holds the embedded ledger.
    Daml,
}

impl LedgerKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Embedded => "embedded",
            Self::Daml => "daml",
        }
    }
}

/// A gateway config for `kind`: on the embedded ledger, `embedded_yaml` (a `ledger:` body such as
/// `  embedded: { journal: … }`) is used as is; on Daml, a `connector sandbox` is started with that ledger (same
/// mapping) and the gateway gets `ledger.daml` pointing at it. The sandbox, if any, is returned to be kept alive.
pub fn config_on(
    kind: LedgerKind,
    names: &Names,
    dir: &Path,
    http_port: u16,
    embedded_yaml: &str,
    extra: &str,
) -> (PathBuf, Option<Sandbox>) {
    config_on_with_amqp(kind, names, dir, http_port, embedded_yaml, "", extra)
}

/// Like [`config_on`], with `amqp_extra` added to the gateway's `amqp:` block.
pub fn config_on_with_amqp(
    kind: LedgerKind,
    names: &Names,
    dir: &Path,
    http_port: u16,
    embedded_yaml: &str,
    amqp_extra: &str,
    extra: &str,
) -> (PathBuf, Option<Sandbox>) {
    let parts = ConfigParts {
        amqp_extra,
        extra,
        ..ConfigParts::default()
    };
    config_on_with(kind, names, dir, http_port, embedded_yaml, &parts)
}

/// Like [`config_on`], with the gateway's config changed by `parts` (the sandbox's, if any, is the example's).
pub fn config_on_with(
    kind: LedgerKind,
    names: &Names,
    dir: &Path,
    http_port: u16,
    embedded_yaml: &str,
    parts: &ConfigParts<'_>,
) -> (PathBuf, Option<Sandbox>) {
    match kind {
        LedgerKind::Embedded => (
            example_config_with(names, dir, AMQP_URL, http_port, embedded_yaml, parts),
            None,
        ),
        LedgerKind::Daml => {
            let sandbox_dir = dir.join(format!("sandbox-{}", uuid::Uuid::new_v4().simple()));
            std::fs::create_dir_all(&sandbox_dir).unwrap();
            let sandbox_config =
                example_config(names, &sandbox_dir, AMQP_URL, 0, embedded_yaml, "");
            let sandbox = Sandbox::start(&sandbox_config, &sandbox_dir.join("sandbox.log"), None);
            let daml = format!(
                "  daml: {{ url: \"{}\", user_id: gateway, call_timeout_ms: 10000 }}",
                sandbox.url()
            );
            (
                example_config_with(names, dir, AMQP_URL, http_port, &daml, parts),
                Some(sandbox),
            )
        }
    }
}

/// A RabbitMQ user of one test, made with `rabbitmqctl` and deleted when dropped.
pub struct BrokerUser {
    pub name: String,
    pub password: String,
}

impl BrokerUser {
    /// Adds a user named `<prefix>-<random>` on the default vhost with the given configure, write and read
    /// permission regexes (e.g. `"^$"`, `"^amq\\.default$"`, `"^$"`: it may only publish to the default exchange).
    pub fn create(prefix: &str, configure: &str, write: &str, read: &str) -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let user = Self {
            name: format!("{prefix}-{}", &id[..12]),
            password: format!("pw-{}", &id[12..]),
        };
        rabbitmqctl_must(&["add_user", &user.name, &user.password]);
        rabbitmqctl_must(&[
            "set_permissions",
            "-p",
            "/",
            &user.name,
            configure,
            write,
            read,
        ]);
        user
    }

    /// The broker URL connecting as this user.
    pub fn amqp_url(&self) -> String {
        format!("amqp://{}:{}@127.0.0.1:5672/%2f", self.name, self.password)
    }
}

impl Drop for BrokerUser {
    fn drop(&mut self) {
        let _ = Command::new("rabbitmqctl")
            .args(["-q", "delete_user", &self.name])
            .output();
    }
}

/// Runs `rabbitmqctl -q <args>`, panicking with its output when it fails.
fn rabbitmqctl_must(args: &[&str]) {
    let out = Command::new("rabbitmqctl")
        .arg("-q")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "rabbitmqctl {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
