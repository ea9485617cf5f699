//! The benchmark's gateway config (`gateway_bench::gateway_config`) is one the gateway accepts, and says what the
//! benchmark means it to: the side's broker names and knobs, the ledger under test, the state store, the ordering and
//! the observer.
//! It lives here, with the gateway's integration tests, because the benchmark does not depend on the gateway's code
//! (it runs the `connector` binary) and only this package has both.

use std::path::Path;

use amqp_transport::{AmqpSettings, QueueType};
use connector::config::{Config, LedgerChoice, ObserveMode, Ordering, StateBackend};
use gateway_bench::gateway_config::{
    GatewayConfig, LedgerUnderTest, ObserveSetting, workflows_block,
};
use gateway_bench::options::OrderingChoice;
use gateway_bench::state_under_test::StateUnderTest;

const EXAMPLE: &str = include_str!("../examples/refrigerated-transportation/connector.yaml");

#[test]
fn the_rendered_config_is_one_the_gateway_accepts() {
    let amqp = AmqpSettings {
        ingress_queue: "bench.r.mixed.gateway.ingress".into(),
        egress_exchange: "bench.r.mixed.gateway.egress".into(),
        dead_letter_exchange: "bench.r.mixed.gateway.dead".into(),
        dead_letter_queue: Some("bench.r.mixed.gateway.dead.queue".into()),
        queue_type: QueueType::Quorum,
        prefetch: 64,
        connection_name: Some("bench-r-mixed-gateway".into()),
        ..AmqpSettings::default()
    };
    let state_dir = Path::new("/tmp/bench state");
    let config = GatewayConfig {
        amqp: &amqp,
        ledger: LedgerUnderTest::EmbeddedJournal {
            journal: state_dir.join("ledger.log"),
        },
        ordering: OrderingChoice::PerContract,
        observe: ObserveSetting::Off,
        state_dir,
        state: StateUnderTest::Redb,
        http_port: 18080,
        workflows: workflows_block(EXAMPLE).expect("the example has workflows"),
    };
    let parsed = Config::from_yaml_with_env(&config.render(), std::iter::empty())
        .expect("a valid gateway config");
    // The benchmark counts egress from its own capture queue, so the gateway's default egress queue is off.
    assert_eq!(parsed.amqp.egress_queue_name(), None);
    let expected = AmqpSettings {
        egress_queue: Some("none".into()),
        ..amqp.clone()
    };
    assert_eq!(parsed.amqp, expected);
    assert_eq!(parsed.ordering, Ordering::PerContract);
    assert_eq!(parsed.observe, ObserveMode::Off);
    assert_eq!(parsed.state_dir, state_dir);
    assert_eq!(parsed.http.listen.port(), 18080);
    let Ok(LedgerChoice::Embedded(embedded)) = parsed.ledger_choice() else {
        panic!("expected the embedded ledger");
    };
    assert_eq!(embedded.journal, Some(state_dir.join("ledger.log")));
    assert!(parsed.workflows.contains_key("RefrigeratedTransportation"));
}

#[test]
fn on_a_daml_ledger_only_the_ledger_block_differs() {
    let amqp = AmqpSettings::default();
    let state_dir = Path::new("/tmp/bench");
    let embedded = GatewayConfig {
        amqp: &amqp,
        ledger: LedgerUnderTest::EmbeddedJournal {
            journal: state_dir.join("ledger.log"),
        },
        ordering: OrderingChoice::Strict,
        observe: ObserveSetting::Off,
        state_dir,
        state: StateUnderTest::Redb,
        http_port: 18081,
        workflows: workflows_block(EXAMPLE).expect("the example has workflows"),
    };
    let daml = GatewayConfig {
        ledger: LedgerUnderTest::Daml {
            url: "http://127.0.0.1:4001".into(),
        },
        ..embedded.clone()
    };
    assert_eq!(
        daml.ledger.label(),
        "daml (connector sandbox, embedded+journal)"
    );
    let parsed = Config::from_yaml_with_env(&daml.render(), std::iter::empty())
        .expect("a valid gateway config");
    let Ok(LedgerChoice::Daml(settings)) = parsed.ledger_choice() else {
        panic!("expected a Daml ledger");
    };
    assert_eq!(settings.url, "http://127.0.0.1:4001");
    assert_eq!(settings.user_id, "bench");
    let other_lines = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| !l.starts_with("  embedded:") && !l.starts_with("  daml:"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(other_lines(&daml.render()), other_lines(&embedded.render()));
}

#[test]
fn the_default_observe_setting_leaves_the_key_out() {
    let amqp = AmqpSettings::default();
    let state_dir = Path::new("/tmp/bench");
    let config = GatewayConfig {
        amqp: &amqp,
        ledger: LedgerUnderTest::EmbeddedJournal {
            journal: state_dir.join("ledger.log"),
        },
        ordering: OrderingChoice::Strict,
        observe: ObserveSetting::Default,
        state_dir,
        state: StateUnderTest::Redb,
        http_port: 18082,
        workflows: workflows_block(EXAMPLE).expect("the example has workflows"),
    };
    let text = config.render();
    assert!(!text.contains("observe:"), "{text}");
    let parsed =
        Config::from_yaml_with_env(&text, std::iter::empty()).expect("a valid gateway config");
    assert_eq!(parsed.observe, ObserveMode::External);
    let off = GatewayConfig {
        observe: ObserveSetting::Off,
        ..config
    };
    let parsed = Config::from_yaml_with_env(&off.render(), std::iter::empty())
        .expect("a valid gateway config");
    assert_eq!(parsed.observe, ObserveMode::Off);
}

#[test]
fn on_postgres_only_the_state_block_differs() {
    let amqp = AmqpSettings::default();
    let state_dir = Path::new("/tmp/bench");
    let redb = GatewayConfig {
        amqp: &amqp,
        ledger: LedgerUnderTest::EmbeddedJournal {
            journal: state_dir.join("ledger.log"),
        },
        ordering: OrderingChoice::Strict,
        observe: ObserveSetting::Off,
        state_dir,
        state: StateUnderTest::Redb,
        http_port: 18083,
        workflows: workflows_block(EXAMPLE).expect("the example has workflows"),
    };
    let parsed = Config::from_yaml_with_env(&redb.render(), std::iter::empty())
        .expect("a valid gateway config");
    assert_eq!(parsed.state.backend, StateBackend::Redb);
    assert!(parsed.state.postgres_backend().is_none());

    let url = "postgres://postgres@127.0.0.1:5432/gateway_bench_0123456789abcdef";
    let postgres = GatewayConfig {
        state: StateUnderTest::Postgres {
            url: url.into(),
            password_file: Some(state_dir.join("postgres-password")),
        },
        ..redb.clone()
    };
    let parsed = Config::from_yaml_with_env(&postgres.render(), std::iter::empty())
        .expect("a valid gateway config");
    assert_eq!(parsed.state.backend, StateBackend::Postgres);
    let settings = parsed
        .state
        .postgres_backend()
        .expect("the PostgreSQL settings");
    assert_eq!(settings.url, url);
    assert_eq!(
        settings.password_file.as_deref(),
        Some(state_dir.join("postgres-password").as_path())
    );
    // The pool and timeout a deployment starts with, so the figures are the defaults'.
    assert_eq!(settings.pool_size, 8);
    // Everything but the state block is the redb run's config, so a difference in the figures is the store's.
    let without_state = |text: &str| -> String {
        let start = text.find("state:\n").unwrap_or(text.len());
        let end = text.find("workflows:").unwrap_or(text.len());
        if start < end {
            format!("{}{}", &text[..start], &text[end..])
        } else {
            text.to_owned()
        }
    };
    assert!(postgres.render().contains("state:\n  backend: postgres\n"));
    assert_eq!(without_state(&postgres.render()), redb.render());

    let no_password = GatewayConfig {
        state: StateUnderTest::Postgres {
            url: url.into(),
            password_file: None,
        },
        ..redb
    };
    let text = no_password.render();
    assert!(!text.contains("password_file"), "{text}");
    let parsed =
        Config::from_yaml_with_env(&text, std::iter::empty()).expect("a valid gateway config");
    assert!(
        parsed
            .state
            .postgres_backend()
            .is_some_and(|s| s.password_file.is_none())
    );
}
