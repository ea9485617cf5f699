//! Config loading: defaults, env overrides, and errors that name the path.

use super::*;

mod did_you_mean;

const MINIMAL: &str = r#"
party: Operator
workflows:
  Shipment:
    template: Shipment:Shipment
    create:
      parameters: { device: party, minHumidity: int64 }
      fields: { owner: "{{party}}", state: Created }
    functions:
      Ingest:
        choice: IngestTelemetry
        parameters: { humidity: int64, timestamp: { type: time, format: unix_seconds } }
"#;

fn load(text: &str) -> Result<Config, ConfigError> {
    Config::from_yaml_with_env(text, std::iter::empty())
}

fn load_env(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::from_yaml_with_env(
        text,
        env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
    )
}

#[test]
fn minimal_config_gets_documented_defaults() {
    let c = load(MINIMAL).unwrap();
    assert_eq!(c.party, "Operator");
    assert_eq!(c.amqp.ingress_queue, "workbench.ingress");
    assert_eq!(c.amqp.egress_exchange, "workbench.egress");
    assert_eq!(c.amqp.prefetch, 256);
    assert_eq!(c.ordering, Ordering::Strict);
    assert_eq!(c.observe, ObserveMode::External);
    assert_eq!(c.connection_id, 1);
    assert_eq!(c.http.listen.to_string(), "127.0.0.1:8080");
    assert!(matches!(
        c.ledger_choice().unwrap(),
        LedgerChoice::Embedded(EmbeddedConfig { journal: None, .. })
    ));
    assert_eq!(c.retry.max_attempts, 8);
    let wf = &c.workflows["Shipment"];
    assert_eq!(wf.linear_id_field, "linearId");
    assert_eq!(
        wf.create.parameters.keys().collect::<Vec<_>>(),
        ["device", "minHumidity"],
        "order kept"
    );
}

#[test]
fn unknown_parameter_type_names_the_path_and_the_choices() {
    let text = MINIMAL.replace("humidity: int64,", "humidity: integer,");
    let e = load(&text).unwrap_err().to_string();
    assert!(
        e.starts_with(
            "workflows.Shipment.functions.Ingest.parameters.humidity: unknown type \"integer\""
        ),
        "{e}"
    );
    assert!(e.contains("int64"), "{e}");
}

#[test]
fn unknown_keys_are_refused_with_their_path() {
    let e = load(&format!("{MINIMAL}\nordring: strict\n"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown key \"ordring\""), "{e}");
    let text = MINIMAL.replace("choice: IngestTelemetry", "choise: IngestTelemetry");
    let e = load(&text).unwrap_err().to_string();
    assert!(e.starts_with("workflows.Shipment.functions.Ingest"), "{e}");
    assert!(e.contains("choise"), "{e}");
}

#[test]
fn duplicate_yaml_keys_are_refused() {
    let text = MINIMAL.replace("party: Operator", "party: Operator\nparty: Other");
    assert!(load(&text).is_err());
}

#[test]
fn bad_values_name_their_path() {
    let e = load(&MINIMAL.replace("party: Operator", "party: Operator\nordering: sometimes"))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("ordering:"), "{e}");
    assert!(e.contains("strict") && e.contains("per-contract"), "{e}");
    let e = load(&MINIMAL.replace("party: Operator", "party: \" \""))
        .unwrap_err()
        .to_string();
    assert_eq!(e, "party: expected a non-empty party identifier");
    let e = load(&format!("{MINIMAL}\nretry: {{ max_attempts: 0 }}\n"))
        .unwrap_err()
        .to_string();
    assert_eq!(e, "retry.max_attempts: expected at least 1 attempt");
    let e = load(&format!("{MINIMAL}\nhttp: {{ listen: nowhere }}\n"))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("http.listen:"), "{e}");
    let e = load("party: Operator\nworkflows: {}\n")
        .unwrap_err()
        .to_string();
    assert_eq!(e, "workflows: expected at least one workflow mapping");
    let e = load("workflows: {}\n").unwrap_err().to_string();
    assert!(e.contains("party"), "{e}");
}

#[test]
fn env_overrides_keep_types_and_match_case_insensitively() {
    let c = load_env(
        MINIMAL,
        &[
            ("CONNECTOR_AMQP__URL", "amqp://u:p@10.0.0.1:5672/%2f"),
            ("CONNECTOR_AMQP__PREFETCH", "32"),
            ("CONNECTOR_AMQP__INGRESS_QUEUE", "123"),
            ("CONNECTOR_PARTY", "Alice"),
            ("CONNECTOR_WORKFLOWS__SHIPMENT__TEMPLATE", "Other:Thing"),
            ("CONNECTOR_ORDERING", "per-contract"),
            ("UNRELATED", "x"),
        ],
    )
    .unwrap();
    assert_eq!(c.amqp.url, "amqp://u:p@10.0.0.1:5672/%2f");
    assert_eq!(c.amqp.prefetch, 32);
    assert_eq!(
        c.amqp.ingress_queue, "123",
        "a numeric-looking queue name stays a string"
    );
    assert_eq!(c.party, "Alice");
    assert_eq!(c.workflows["Shipment"].template, "Other:Thing");
    assert_eq!(c.ordering, Ordering::PerContract);
}

#[test]
fn bad_env_overrides_name_the_variable() {
    let e = load_env(MINIMAL, &[("CONNECTOR_AMQP__PREFETCH", "many")])
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("amqp.prefetch:") || e.starts_with("environment variable"),
        "{e}"
    );
    let e = load_env(MINIMAL, &[("CONNECTOR_AMQP____URL", "x")])
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("environment variable CONNECTOR_AMQP____URL"),
        "{e}"
    );
    let e = load_env(
        &format!("{MINIMAL}\nsweep: true\n"),
        &[("CONNECTOR_SWEEP", "yes")],
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("expected true or false"), "{e}");
}

#[test]
fn the_example_config_loads() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/refrigerated-transportation/connector.yaml"
    );
    let c = Config::from_yaml_with_env(&std::fs::read_to_string(path).unwrap(), std::iter::empty())
        .unwrap();
    assert_eq!(c.workflows["RefrigeratedTransportation"].functions.len(), 4);
}

#[test]
fn a_daml_ledger_is_configured_under_ledger_daml() {
    let text = format!(
        "{MINIMAL}\nledger:\n  daml:\n    url: https://participant.example.com:443\n    user_id: gateway\n    \
         token_file: /run/secrets/ledger.jwt\n    tls: {{ ca_file: /etc/ledger/ca.pem }}\n    read_as: [Auditor]\n\
         user_chain_identifier: {{ allowed_parties: [Device01, Operator] }}\n"
    );
    let c = load(&text).unwrap();
    let LedgerChoice::Daml(daml) = c.ledger_choice().unwrap() else {
        panic!("a Daml ledger");
    };
    assert_eq!(daml.user_id, "gateway");
    assert_eq!(daml.call_timeout_ms, 30_000);
    assert_eq!(daml.read_as, ["Auditor"]);
    assert_eq!(c.reading_parties(), ["Operator", "Device01"]);
    let env = load_env(
        &text,
        &[("CONNECTOR_LEDGER__DAML__CALL_TIMEOUT_MS", "5000")],
    )
    .unwrap();
    assert!(
        matches!(env.ledger_choice().unwrap(), LedgerChoice::Daml(d) if d.call_timeout_ms == 5000)
    );
}

#[test]
fn at_most_one_ledger_and_daml_errors_name_their_path() {
    let both = format!(
        "{MINIMAL}\nledger:\n  embedded: {{}}\n  daml: {{ url: \"http://127.0.0.1:6865\", user_id: gateway }}\n"
    );
    let e = load(&both).unwrap_err().to_string();
    assert!(
        e.starts_with("ledger: expected one of `embedded` or `daml`"),
        "{e}"
    );

    let bad_url =
        format!("{MINIMAL}\nledger:\n  daml: {{ url: \"127.0.0.1:6865\", user_id: gateway }}\n");
    let e = load(&bad_url).unwrap_err().to_string();
    assert!(
        e.starts_with("ledger.daml.url: expected http://… or https://…"),
        "{e}"
    );

    let unknown = format!(
        "{MINIMAL}\nledger:\n  daml: {{ url: \"http://127.0.0.1:6865\", user_id: gateway, token: abc }}\n"
    );
    let e = load(&unknown).unwrap_err().to_string();
    assert!(
        e.starts_with("ledger.daml.token: unknown key \"token\""),
        "{e}"
    );
}

#[test]
fn observe_modes_accept_a_bare_yaml_off() {
    for (text, mode) in [
        ("observe: off", ObserveMode::Off),
        ("observe: \"off\"", ObserveMode::Off),
        ("observe: all", ObserveMode::All),
        ("observe: external", ObserveMode::External),
    ] {
        let config = load(&format!("{text}\n{MINIMAL}")).expect(text);
        assert_eq!(config.observe, mode, "{text}");
    }
    let env = load_env(MINIMAL, &[("CONNECTOR_OBSERVE", "off")]).expect("env override");
    assert_eq!(env.observe, ObserveMode::Off);
    for bad in ["observe: sometimes", "observe: true", "observe: 3"] {
        let err = load(&format!("{bad}\n{MINIMAL}"))
            .expect_err(bad)
            .to_string();
        assert!(err.contains("observe"), "{err}");
        assert!(err.contains("external, all, off"), "{err}");
    }
}

#[test]
fn debug_never_shows_the_broker_password_or_ledger_url_userinfo() {
    let text = format!(
        "{MINIMAL}\namqp:\n  url: \"amqps://gateway:Tr0ub4dor-amqp@broker.example.com:5671/prod\"\n\
         ledger:\n  daml:\n    url: \"https://participant.example.com:443\"\n    user_id: gateway\n    \
         token_file: /run/secrets/ledger.jwt\n"
    );
    let mut config = load(&text).expect("valid config");
    // Validation refuses userinfo in the Daml URL; set it afterwards so Debug is shown to hide it on its own.
    if let Some(daml) = config.ledger.daml.as_mut() {
        daml.url = "https://gateway:Tr0ub4dor-daml@participant.example.com:443".to_owned();
    }
    for text in [format!("{config:?}"), format!("{config:#?}")] {
        assert!(!text.contains("Tr0ub4dor"), "{text}");
        for shown in [
            "amqps://gateway:***@broker.example.com:5671/prod",
            "workbench.ingress",
            "https://participant.example.com:443",
            "/run/secrets/ledger.jwt",
            "Operator",
            "Shipment:Shipment",
            "IngestTelemetry",
        ] {
            assert!(text.contains(shown), "{shown} missing from {text}");
        }
    }
}

#[test]
fn a_token_over_plaintext_http_is_refused_at_load_unless_the_ledger_is_local() {
    let daml = |url: &str| {
        format!(
            "{MINIMAL}\nledger:\n  daml: {{ url: \"{url}\", user_id: gateway, token_file: /run/secrets/ledger.jwt }}\n"
        )
    };
    let e = load(&daml("http://ledger.example.com:5001"))
        .expect_err("plaintext token to a remote host")
        .to_string();
    assert!(
        e.starts_with("ledger.daml.url: refusing plaintext \"http://ledger.example.com:5001\""),
        "{e}"
    );
    assert!(e.contains("clear text"), "{e}");
    for url in [
        "http://127.0.0.1:6865",
        "http://localhost:6865",
        "http://[::1]:6865",
        "https://ledger.example.com:5001",
    ] {
        load(&daml(url)).unwrap_or_else(|e| panic!("{url}: {e}"));
    }
    let e = load(&daml("https://gateway:Tr0ub4dor@ledger.example.com:5001"))
        .expect_err("userinfo")
        .to_string();
    assert!(
        e.starts_with("ledger.daml.url: expected no user:password@"),
        "{e}"
    );
    assert!(!e.contains("Tr0ub4dor"), "{e}");
}

#[test]
fn the_embedded_ledger_is_durable_in_state_dir_unless_asked_to_be_in_memory() {
    let c = load(&format!("{MINIMAL}\nstate_dir: /var/lib/gw\n")).unwrap();
    assert_eq!(
        c.embedded_journal(),
        Some(PathBuf::from("/var/lib/gw/ledger.journal"))
    );
    assert!(c.state_is_durable());
    let c = load(&format!(
        "{MINIMAL}\nledger: {{ embedded: {{ journal: /data/j.log }} }}\n"
    ))
    .unwrap();
    assert_eq!(c.embedded_journal(), Some(PathBuf::from("/data/j.log")));
    let c = load(&format!(
        "{MINIMAL}\nledger: {{ embedded: {{ in_memory: true }} }}\n"
    ))
    .unwrap();
    assert_eq!(c.embedded_journal(), None);
    assert!(
        !c.state_is_durable(),
        "an in-memory ledger keeps its state in memory too"
    );
    let e = load(&format!(
        "{MINIMAL}\nledger: {{ embedded: {{ in_memory: true, journal: /data/j.log }} }}\n"
    ))
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("ledger.embedded: "), "{e}");
    assert!(e.contains("exclude each other"), "{e}");
    let c = load(&format!(
        "{MINIMAL}\nledger: {{ daml: {{ url: \"http://127.0.0.1:1\", user_id: u }} }}\n"
    ))
    .unwrap();
    assert_eq!(c.embedded_journal(), None);
    assert!(c.state_is_durable());
}

#[test]
fn limits_and_amqp_names_that_cannot_work_are_refused_with_their_path() {
    let e = load(&format!("{MINIMAL}\nlimits: {{ max_parameters: 0 }}\n"))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("limits.max_parameters: "), "{e}");
    let e = load(&format!("{MINIMAL}\nlimits: {{ max_json_depth: 500 }}\n"))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("limits.max_json_depth: "), "{e}");
    let e = load(&format!(
        "{MINIMAL}\namqp: {{ ingress_queue: {} }}\n",
        "q".repeat(256)
    ))
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("amqp.ingress_queue: 256 bytes long"), "{e}");
    let e = load(&format!("{MINIMAL}\namqp: {{ max_redeliveries: 0 }}\n"))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("amqp.max_redeliveries: "), "{e}");
    let e = load(&format!(
        "{MINIMAL}\namqp: {{ reply_to: {{ allowed_prefixes: [\"\"] }} }}\n"
    ))
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("amqp.reply_to.allowed_prefixes[0]: "), "{e}");
    let c = load(&format!(
        "{MINIMAL}\nlimits: {{ max_message_bytes: 4096 }}\nfaults: {{ rules: [{{ request_id: r1, kind: panic }}] }}\n"
    ))
    .unwrap();
    assert_eq!(c.limits.max_message_bytes, 4096);
    assert_eq!(
        c.limits.max_request_id_bytes, 200,
        "the rest keep their defaults"
    );
    assert_eq!(c.faults.map(|f| f.rules.len()), Some(1));
}

#[test]
fn parties_bound_to_broker_users_load_in_order() {
    let text = format!(
        "{MINIMAL}\nuser_chain_identifier:\n  allowed_parties: [Device01, Carrier]\n  parties_by_amqp_user:\n    \
         dispatch: [Operator, Device01]\n    carrier-app: [Carrier]\n"
    );
    let c = load(&text).unwrap();
    let bindings = c.parties_by_amqp_user().expect("set");
    assert_eq!(
        bindings.iter().collect::<Vec<_>>(),
        [
            (
                &"dispatch".to_owned(),
                &vec!["Operator".to_owned(), "Device01".to_owned()]
            ),
            (&"carrier-app".to_owned(), &vec!["Carrier".to_owned()]),
        ]
    );
    let without = format!("{MINIMAL}\nuser_chain_identifier: {{ allowed_parties: [Device01] }}\n");
    assert!(load(&without).unwrap().parties_by_amqp_user().is_none());
}

#[test]
fn bound_parties_must_be_ones_the_gateway_acts_as_and_errors_name_their_path() {
    let with = |bindings: &str| {
        format!(
            "{MINIMAL}\nuser_chain_identifier:\n  allowed_parties: [Device01]\n  parties_by_amqp_user: {bindings}\n"
        )
    };
    for (bindings, path, why) in [
        (
            "{ dispatch: [Operator, Device01, Carrier] }",
            "user_chain_identifier.parties_by_amqp_user.dispatch[2]: ",
            "party \"Carrier\" is neither `party` nor in user_chain_identifier.allowed_parties",
        ),
        (
            "{ dispatch: [Device01, \" \"] }",
            "user_chain_identifier.parties_by_amqp_user.dispatch[1]: ",
            "expected a non-empty party identifier",
        ),
        (
            "{ dispatch: [] }",
            "user_chain_identifier.parties_by_amqp_user.dispatch: ",
            "expected at least one party",
        ),
        (
            "{ \"\": [Operator] }",
            "user_chain_identifier.parties_by_amqp_user: ",
            "expected non-empty broker user names",
        ),
        (
            "{}",
            "user_chain_identifier.parties_by_amqp_user: ",
            "expected at least one broker user",
        ),
        (
            "{ dispatch: Operator }",
            "user_chain_identifier.parties_by_amqp_user.dispatch: ",
            "",
        ),
    ] {
        let e = load(&with(bindings)).unwrap_err().to_string();
        assert!(e.starts_with(path), "{bindings}: {e}");
        assert!(e.contains(why), "{bindings}: {e}");
    }
}

#[test]
fn journal_compaction_has_defaults_and_refuses_a_negative_factor() {
    let c = load(MINIMAL).unwrap();
    let LedgerChoice::Embedded(embedded) = c.ledger_choice().unwrap() else {
        panic!("embedded by default");
    };
    assert_eq!(
        embedded.compaction_policy(),
        embedded_ledger::CompactionPolicy {
            history_factor: 4.0,
            min_transactions: 100_000,
            deduplication_window: std::time::Duration::from_secs(7 * 86_400),
        }
    );
    let c = load_env(
        &format!(
            "{MINIMAL}\nledger: {{ embedded: {{ compact_when_history_exceeds: 0, deduplication_window: 2h }} }}\n"
        ),
        &[("CONNECTOR_LEDGER__EMBEDDED__COMPACT_MIN_TRANSACTIONS", "500")],
    )
    .unwrap();
    let LedgerChoice::Embedded(embedded) = c.ledger_choice().unwrap() else {
        panic!("embedded");
    };
    let policy = embedded.compaction_policy();
    assert_eq!(policy.history_factor, 0.0);
    assert_eq!(policy.min_transactions, 500);
    assert_eq!(
        policy.deduplication_window,
        std::time::Duration::from_secs(7200)
    );
    let e = load(&format!(
        "{MINIMAL}\nledger: {{ embedded: {{ compact_when_history_exceeds: -1 }} }}\n"
    ))
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with("ledger.embedded.compact_when_history_exceeds: -1 is not a usable factor"),
        "{e}"
    );
}

#[test]
fn telemetry_exports_nothing_by_default_and_refuses_endpoints_it_cannot_use() {
    let c = load(MINIMAL).unwrap();
    assert_eq!(c.telemetry.otlp_endpoint, None);
    assert_eq!(c.telemetry.traces_url(), None);
    assert_eq!(c.telemetry.service_name, "connector");

    let with = |telemetry: &str| load(&format!("telemetry: {telemetry}\n{MINIMAL}"));
    let c = with("{ otlp_endpoint: \"http://127.0.0.1:4318\", service_name: gw-eu }").unwrap();
    assert_eq!(
        c.telemetry.traces_url().as_deref(),
        Some("http://127.0.0.1:4318/v1/traces")
    );
    assert_eq!(c.telemetry.service_name, "gw-eu");
    let c = with("{ otlp_endpoint: \"http://collector:4318/v1/traces\" }").unwrap();
    assert_eq!(
        c.telemetry.traces_url().as_deref(),
        Some("http://collector:4318/v1/traces")
    );
    let env = load_env(
        MINIMAL,
        &[("CONNECTOR_TELEMETRY__OTLP_ENDPOINT", "http://[::1]:4318/")],
    )
    .unwrap();
    assert_eq!(
        env.telemetry.traces_url().as_deref(),
        Some("http://[::1]:4318/v1/traces")
    );

    for endpoint in [
        "https://collector:4318",
        "http://user:pw@collector:4318",
        "collector:4318",
        "http://",
        "http://collector:4318/v1 traces",
        "http://collector:4318/v1/traces?api-key=sekrit",
        "http://collector:4318#sekrit",
    ] {
        let e = with(&format!("{{ otlp_endpoint: \"{endpoint}\" }}"))
            .expect_err(endpoint)
            .to_string();
        assert!(e.starts_with("telemetry.otlp_endpoint: "), "{e}");
        assert!(!e.contains("pw@"), "no user info shown: {e}");
        assert!(!e.contains("sekrit"), "no query or fragment shown: {e}");
    }
    let e = with("{ service_name: \" \" }")
        .expect_err("blank")
        .to_string();
    assert!(e.starts_with("telemetry.service_name: "), "{e}");
    let e = with("{ otlp_endpont: \"http://127.0.0.1:4318\" }")
        .expect_err("misspelt")
        .to_string();
    assert!(e.contains("did you mean \"otlp_endpoint\""), "{e}");
}

#[test]
fn the_state_backend_defaults_to_redb_and_postgres_needs_its_settings() {
    let c = load(MINIMAL).unwrap();
    assert_eq!(c.state.backend, StateBackend::Redb);
    assert!(c.state.postgres_backend().is_none());

    let with = |state: &str| load(&format!("{MINIMAL}state: {state}\n"));
    let c =
        with("{ backend: postgres, postgres: { url: \"postgres://gw@db:5432/state\" } }").unwrap();
    let postgres = c.state.postgres_backend().expect("postgres");
    assert_eq!(postgres.pool_size, 8);
    assert_eq!(
        postgres.connect_timeout.0,
        std::time::Duration::from_secs(5)
    );
    let c = with(
        "{ backend: postgres, postgres: { url: \"postgres://gw@db/state\", pool_size: 2, connect_timeout: 750ms } }",
    )
    .unwrap();
    let postgres = c.state.postgres_backend().expect("postgres");
    assert_eq!(postgres.pool_size, 2);
    assert_eq!(
        postgres.connect_timeout.0,
        std::time::Duration::from_millis(750)
    );

    let e = with("{ backend: postgres }").unwrap_err().to_string();
    assert!(
        e.starts_with("state.postgres: `state.backend: postgres` needs"),
        "{e}"
    );
    let e = with("{ backend: postgress }").unwrap_err().to_string();
    assert!(e.starts_with("state.backend: "), "{e}");
    assert!(e.contains("did you mean \"postgres\""), "{e}");
    let e = with("{ backend: postgres, postgres: { url: \"postgres://gw@db/s\", pool_sise: 2 } }")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("state.postgres.pool_sise: "), "{e}");
    assert!(e.contains("did you mean \"pool_size\""), "{e}");
    let e = with("{ backend: postgres, postgres: { url: \"postgres://gw:hunter2@db/s\" } }")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("state.postgres.url: the URL holds a password"),
        "{e}"
    );
    assert!(!e.contains("hunter2"), "{e}");
    let e = with("{ backend: postgres, postgres: { url: \"postgres://gw@db/s\", pool_size: 0 } }")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("state.postgres.pool_size: "), "{e}");
    let e = with(
        "{ backend: postgres, postgres: { url: \"postgres://gw@db/s\", connect_timeout: 5 } }",
    )
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("state.postgres.connect_timeout: "), "{e}");
    let in_memory = format!(
        "{MINIMAL}ledger: {{ embedded: {{ in_memory: true }} }}\nstate: {{ backend: postgres, postgres: {{ url: \"postgres://gw@db/s\" }} }}\n"
    );
    let e = load(&in_memory).unwrap_err().to_string();
    assert!(e.starts_with("state.backend: "), "{e}");
}

#[test]
fn the_postgres_password_variable_is_no_config_override_and_never_shown() {
    let text = format!(
        "{MINIMAL}state: {{ backend: postgres, postgres: {{ url: \"postgres://gw@db/state\" }} }}\n"
    );
    let c = load_env(&text, &[(STATE_POSTGRES_PASSWORD_ENV, "pw-in-env-123")])
        .expect("not read as a CONNECTOR_<PATH> override");
    assert!(!format!("{c:?}").contains("pw-in-env-123"));
    let e = load_env(&text, &[("CONNECTOR_STATE__POSTGRES__POOL_SIZE", "3")]).unwrap();
    assert_eq!(e.state.postgres_backend().map(|p| p.pool_size), Some(3));
}
