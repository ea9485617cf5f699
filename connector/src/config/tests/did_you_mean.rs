//! Errors that teach: every kind of misspelt name in a config is answered with its path, the name given, the closest
//! valid one, and the valid ones.

use super::{MINIMAL, load};
use crate::embedded_catalog::template_catalog;
use crate::mapping::WorkflowMapping;

/// What `connector check` does with an embedded ledger: load, compile the mapping, build the choice semantics.
fn check(text: &str) -> Result<(), String> {
    let config = load(text).map_err(|e| e.to_string())?;
    let mapping = WorkflowMapping::compile(&config.workflows).map_err(|e| e.to_string())?;
    template_catalog(&config.workflows, &mapping).map_err(|e| e.to_string())?;
    Ok(())
}

fn error(text: &str) -> String {
    match check(text) {
        Ok(()) => panic!("accepted:\n{text}"),
        Err(e) => e,
    }
}

#[test]
fn the_minimal_config_passes_every_check() {
    check(MINIMAL).unwrap();
}

#[test]
fn unknown_keys_name_the_closest_key_at_every_level() {
    let e = error(&format!("{MINIMAL}\nordring: strict\n"));
    assert!(
        e.starts_with("ordring: unknown key \"ordring\" — did you mean \"ordering\"? (expected one of: amqp, ledger, party,"),
        "{e}"
    );
    let e = error(&format!("{MINIMAL}\namqp: {{ prefetsh: 10 }}\n"));
    assert!(
        e.starts_with("amqp.prefetsh: unknown key \"prefetsh\" — did you mean \"prefetch\"?"),
        "{e}"
    );
    let e = error(&MINIMAL.replace("choice: IngestTelemetry", "choise: IngestTelemetry"));
    assert!(
        e.starts_with("workflows.Shipment.functions.Ingest.choise: unknown key \"choise\" — did you mean \"choice\"?"),
        "{e}"
    );
    // Inside a long-form parameter, which is parsed by hand in two steps.
    let e = error(&MINIMAL.replace("format: unix_seconds", "fromat: unix_seconds"));
    assert!(
        e.starts_with("workflows.Shipment.functions.Ingest.parameters.timestamp: unknown key \"fromat\" — did you mean \"format\"?"),
        "{e}"
    );
    // Nothing close: the list alone.
    let e = error(&format!("{MINIMAL}\nhttp: {{ port: 80 }}\n"));
    assert_eq!(
        e,
        "http.port: unknown key \"port\" (expected one of: listen, admin_token_file)"
    );
}

#[test]
fn unknown_values_name_the_closest_value() {
    let e = error(&format!("{MINIMAL}\namqp: {{ queue_type: quorom }}\n"));
    assert!(
        e.starts_with("amqp.queue_type: unknown value \"quorom\" — did you mean \"quorum\"? (expected one of: classic, quorum)"),
        "{e}"
    );
    let e = error(&format!("{MINIMAL}\nordering: per_contract\n"));
    assert!(
        e.starts_with("ordering: unknown value \"per_contract\" — did you mean \"per-contract\"?"),
        "{e}"
    );
    let e = error(&format!("{MINIMAL}\nobserve: extrenal\n"));
    assert!(
        e.starts_with("observe: unknown mode \"extrenal\" — did you mean \"external\"?"),
        "{e}"
    );
    let e = error(&format!(
        "{MINIMAL}\nfaults: {{ rules: [{{ kind: panik }}] }}\n"
    ));
    assert!(
        e.contains("unknown value \"panik\" — did you mean \"panic\"?"),
        "{e}"
    );
    let e = error(&MINIMAL.replace("owner: \"{{party}}\"", "owner: { enm: Operator }"));
    assert!(
        e.contains("unknown constant kind \"enm\" — did you mean \"enum\"?"),
        "{e}"
    );
}

#[test]
fn unknown_parameter_types_name_the_meant_type() {
    let e = error(&MINIMAL.replace("humidity: int64,", "humidity: integer,"));
    assert!(
        e.starts_with("workflows.Shipment.functions.Ingest.parameters.humidity: unknown type \"integer\" — did you mean \"int64\"? (expected one of text, int64,"),
        "{e}"
    );
    let e = error(&MINIMAL.replace("humidity: int64,", "humidity: \"optional<int64\","));
    assert!(
        e.ends_with("type \"optional<int64\" is not closed (expected optional<T>)"),
        "{e}"
    );
}

const CHOICES: &str = r#"
party: Operator
workflows:
  Shipment:
    template: Shipment:Shipment
    ensure: ["minHumidity <= maxHumidity"]
    create:
      parameters: { device: party, minHumidity: int64, maxHumidity: int64 }
      fields: { state: Created }
    functions:
      Ingest:
        parameters: { humidity: int64, temperature: { type: int64, field: tempC } }
        controllers: [device]
        when: { state: [Created] }
        assert: ["arg.humidity >= 0"]
        rules:
          - { if: "arg.tempC > maxHumidity", fields: { state: Hot } }
"#;

#[test]
fn template_fields_named_by_the_choice_semantics_must_exist() {
    check(CHOICES).unwrap();
    let e = error(&CHOICES.replace("when: { state:", "when: { stat:"));
    assert!(
        e.starts_with("workflows.Shipment.functions.Ingest.when.stat: unknown field \"stat\" — did you mean \"state\"? (expected a field the create or a function sets: "),
        "{e}"
    );
    let e = error(&CHOICES.replace("controllers: [device]", "controllers: [devise]"));
    assert!(
        e.starts_with("workflows.Shipment.functions.Ingest.controllers[0]: unknown field \"devise\" — did you mean \"device\"?"),
        "{e}"
    );
    let e = error(&CHOICES.replace("arg.tempC > maxHumidity", "arg.tempC > maxHumidty"));
    assert!(
        e.starts_with("workflows.Shipment.functions.Ingest.rules[0].if: condition \"arg.tempC > maxHumidty\" reads field \"maxHumidty\", which neither the create nor a function sets — did you mean \"maxHumidity\"?"),
        "{e}"
    );
    let e = error(&CHOICES.replace("minHumidity <= maxHumidity", "minHumidity <= state2"));
    assert!(
        e.starts_with("workflows.Shipment.ensure[0]: condition \"minHumidity <= state2\" reads field \"state2\", which the create does not set — did you mean \"state\"? (expected one of: linearId, device, minHumidity, maxHumidity, state)"),
        "{e}"
    );
}

#[test]
fn argument_fields_named_by_conditions_must_be_sent_by_the_function() {
    // The parameter `temperature` fills the argument field `tempC`: conditions read the field.
    let e = error(&CHOICES.replace("arg.tempC", "arg.temperature"));
    assert!(
        e.starts_with("workflows.Shipment.functions.Ingest.rules[0].if: condition \"arg.temperature > maxHumidity\" reads arg.temperature, which function \"Ingest\" does not send (expected one of its parameters' fields: humidity, tempC)"),
        "{e}"
    );
    let e = error(&CHOICES.replace("arg.humidity >= 0", "arg.humidty >= 0"));
    assert!(
        e.starts_with("workflows.Shipment.functions.Ingest.assert[0]: condition \"arg.humidty >= 0\" reads arg.humidty, which function \"Ingest\" does not send — did you mean \"humidity\"?"),
        "{e}"
    );
    let e = error(&CHOICES.replace(
        "minHumidity <= maxHumidity",
        "arg.minHumidity <= maxHumidity",
    ));
    assert!(
        e.starts_with("workflows.Shipment.ensure[0]: condition \"arg.minHumidity <= maxHumidity\" reads arg.minHumidity, but a create has no choice argument (expected the field without `arg.`: minHumidity)"),
        "{e}"
    );
}
