//! The rules for running as one of several instances (`connector/src/config/instance_rules.rs`), through the real
//! binary: `connector check` and `connector run` both refuse a single active consumer with a ledger inside the
//! process, with the same error and exit 2, and `run` refuses before it touches the broker or the state directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const REFUSAL: &str = "error: amqp.single_active_consumer: true means several instances take turns on one queue, but \
ledger.embedded runs a ledger inside each instance, so each would keep its own ledger — point every instance at one \
shared ledger (`connector sandbox`, or a Daml participant) with ledger.daml.url, or set \
amqp.single_active_consumer: false\n";

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/broken-configs/check-only/single-active-consumer-with-embedded-ledger.yaml")
}

/// `connector <args> --config <config>`: its exit code (`None` if it was still running after 30 s, then killed) and
/// stderr.
fn connector(args: &[&str], config: &Path, state_dir: &Path) -> (Option<i32>, String) {
    let stderr_path = state_dir.with_extension(format!("{}.stderr", args.join("-")));
    let stderr = std::fs::File::create(&stderr_path).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_connector"))
        .args(args)
        .arg("--config")
        .arg(config)
        // A broker nobody listens on: were the rule skipped, `run` would retry it instead of exiting.
        .env("CONNECTOR_AMQP__URL", "amqp://guest:guest@127.0.0.1:1/%2f")
        .env("CONNECTOR_STATE_DIR", state_dir)
        .env("CONNECTOR_HTTP__LISTEN", "127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (code, std::fs::read_to_string(&stderr_path).unwrap())
}

#[test]
fn check_and_run_refuse_a_single_active_consumer_with_an_embedded_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    for command in [["check"], ["run"]] {
        let (code, stderr) = connector(&command, &fixture(), &state_dir);
        assert_eq!(
            (code, stderr.as_str()),
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
fn with_a_shared_ledger_and_a_shared_state_store_the_same_config_gets_past_the_rules() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture()).unwrap().replace(
        "  embedded: {}",
        "  daml: { url: \"http://127.0.0.1:1\", user_id: gateway, call_timeout_ms: 500 }",
    );
    let config = dir.path().join("connector.yaml");
    std::fs::write(&config, &text).unwrap();
    // A shared ledger, but each instance's own state store: refused by the second rule.
    for command in [["check"], ["run"]] {
        let (code, stderr) = connector(&command, &config, &dir.path().join("state"));
        assert_eq!(code, Some(2), "connector {command:?}: {stderr}");
        assert!(
            stderr.contains("amqp.single_active_consumer: true means several instances")
                && stderr.contains("state.backend is redb"),
            "connector {command:?}: {stderr}"
        );
    }
    assert!(
        !dir.path().join("state").exists(),
        "run opened its state before refusing the config"
    );
    // The state in PostgreSQL too: past both rules.
    std::fs::write(
        &config,
        format!("{text}\nstate: {{ backend: postgres, postgres: {{ url: \"postgres://postgres@127.0.0.1:5432/postgres\" }} }}\n"),
    )
    .unwrap();
    let (code, stderr) = connector(&["check"], &config, &dir.path().join("state"));
    // No participant listens there, so check fails further on: asking it about the templates.
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        !stderr.contains("single_active_consumer") && stderr.contains("http://127.0.0.1:1"),
        "{stderr}"
    );
}
