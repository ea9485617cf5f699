//! The rules for running as one of several instances (`connector/src/config/instance_rules.rs`), through the real
//! binary: `connector check` and `connector run` both refuse a single active consumer with a ledger inside the
//! process, with the same error and exit 2, and `run` refuses before it touches the broker or the state directory.

use std::path::{Path, PathBuf};
use std::process::Command;

const REFUSAL: &str = "error: amqp.single_active_consumer: true means several instances take turns on one queue, but \
ledger.embedded runs a ledger inside each instance, so each would keep its own ledger — point every instance at one \
shared ledger (`connector sandbox`, or a Daml participant) with ledger.daml.url, or set \
amqp.single_active_consumer: false\n";

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/broken-configs/check-only/single-active-consumer-with-embedded-ledger.yaml")
}

fn connector(args: &[&str], config: &Path, state_dir: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_connector"))
        .args(args)
        .arg("--config")
        .arg(config)
        // A broker nobody listens on: were the rule skipped, `run` would retry it instead of exiting.
        .env("CONNECTOR_AMQP__URL", "amqp://guest:guest@127.0.0.1:1/%2f")
        .env("CONNECTOR_STATE_DIR", state_dir)
        .output()
        .unwrap()
}

#[test]
fn check_and_run_refuse_a_single_active_consumer_with_an_embedded_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    for command in [["check"], ["run"]] {
        let out = connector(&command, &fixture(), &state_dir);
        assert_eq!(
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stderr).as_ref()
            ),
            (Some(2), REFUSAL),
            "connector {command:?}"
        );
    }
    assert!(
        !state_dir.exists(),
        "run opened its state before refusing the config"
    );
}

#[test]
fn with_a_shared_ledger_the_same_config_gets_past_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture()).unwrap().replace(
        "  embedded: {}",
        "  daml: { url: \"http://127.0.0.1:1\", user_id: gateway, call_timeout_ms: 500 }",
    );
    let config = dir.path().join("connector.yaml");
    std::fs::write(&config, text).unwrap();
    let out = connector(&["check"], &config, &dir.path().join("state"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    // No participant listens there, so check fails further on: asking it about the templates.
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        !stderr.contains("single_active_consumer") && stderr.contains("http://127.0.0.1:1"),
        "{stderr}"
    );
}
