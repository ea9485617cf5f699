//! Several gateways of one deployment (issue 16): one `connector sandbox` as the shared ledger, and each gateway's
//! config on it, in a directory of its own (so its own state directory and log) with its own HTTP port, consuming
//! one quorum ingress queue with single active consumer.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{AMQP_URL, ConfigParts, Gateway, Names, Sandbox, example_config, example_config_with};

/// The `amqp:` lines every instance of a deployment shares.
pub const QUORUM_SAC: &str = "  queue_type: quorum\n  single_active_consumer: true\n";

/// A `connector sandbox` serving a fresh embedded ledger with the example's mapping.
pub fn shared_ledger(names: &Names, dir: &Path) -> Sandbox {
    let sandbox_dir = dir.join("sandbox");
    std::fs::create_dir_all(&sandbox_dir).expect("the sandbox's directory");
    let config = example_config(names, &sandbox_dir, AMQP_URL, 0, "  embedded: {}", "");
    Sandbox::start(&config, &sandbox_dir.join("sandbox.log"), None)
}

/// One gateway's config on the shared ledger, in `dir/<instance>`; `extra` is appended top-level YAML.
pub fn gateway_config(
    names: &Names,
    dir: &Path,
    instance: &str,
    sandbox: &Sandbox,
    http_port: u16,
    extra: &str,
) -> PathBuf {
    let own = dir.join(instance);
    std::fs::create_dir_all(&own).expect("the instance's directory");
    let daml = format!(
        "  daml: {{ url: \"{}\", user_id: gateway, call_timeout_ms: 10000 }}",
        sandbox.url()
    );
    let parts = ConfigParts {
        amqp_extra: QUORUM_SAC,
        extra,
        ..ConfigParts::default()
    };
    example_config_with(names, &own, AMQP_URL, http_port, &daml, &parts)
}

/// A gateway started on `config`, once it is ready.
pub async fn started(config: &Path, http_port: u16) -> Gateway {
    let mut gw = Gateway::start(config, http_port);
    assert!(
        gw.wait_ready(Duration::from_secs(60)).await,
        "gateway not ready:\n{}",
        gw.log_text()
    );
    gw
}

/// `/status`'s `health.<field>` once `ok` holds for it, or the last value after `within`.
pub async fn health_when(
    gw: &Gateway,
    field: &str,
    within: Duration,
    ok: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let value = gw.status().await["health"][field].clone();
        if ok(&value) || Instant::now() > deadline {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
