//! The JSON Schemas `connector schema` prints, held against the files they describe and against `connector check`:
//! the committed copies in `schemas/` are what the binary prints now; every example config and test file in the
//! repository is valid (found by walking `examples/`, so a new example is covered without listing it); every broken
//! config in `tests/fixtures/broken-configs/` is refused by the schema *and* by `check`, for the reason its
//! `# check:` line names; the configs in `check-only/` break rules between keys that a schema cannot state, so the
//! schema accepts them and only `check` refuses them (the README lists them). Also, through the binary: a misspelt
//! key is answered with the closest valid one.

use std::path::{Path, PathBuf};
use std::process::Command;

use connector::cli::SchemaKind;
use serde_json::Value;

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn connector() -> Command {
    Command::new(env!("CARGO_BIN_EXE_connector"))
}

fn yaml_as_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn validator(kind: SchemaKind) -> jsonschema::Validator {
    let schema = connector::cli::schema(kind).unwrap();
    jsonschema::draft7::new(&schema).unwrap()
}

/// Every way the document breaks the schema, one line each, for the failure message.
fn schema_errors(validator: &jsonschema::Validator, document: &Value) -> Vec<String> {
    validator
        .iter_errors(document)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// The YAML files under `dir`, at any depth, in a stable order.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml")
            ) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The YAML files directly in `dir`.
fn yaml_files_in(dir: &Path) -> Vec<PathBuf> {
    yaml_files(dir)
        .into_iter()
        .filter(|p| p.parent() == Some(dir))
        .collect()
}

/// The text of a `# key: …` comment line of a fixture.
fn header(path: &Path, key: &str) -> String {
    let prefix = format!("# {key}: ");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix(&prefix).map(str::to_owned))
        .unwrap_or_else(|| panic!("{} has no `{prefix}` line", path.display()))
}

/// `connector check` as the binary runs it, in process: its error, if any.
async fn check(path: &Path) -> Result<String, String> {
    connector::cli::check(path)
        .await
        .map_err(|e| format!("{e:#}"))
}

#[test]
fn the_committed_schemas_are_what_connector_schema_prints() {
    for (kind, arg, file) in [
        (SchemaKind::Config, "config", "connector.schema.json"),
        (SchemaKind::Test, "test", "connector-test.schema.json"),
    ] {
        let path = repository().join("schemas").join(file);
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        let printed = connector().args(["schema", arg]).output().unwrap();
        assert!(printed.status.success());
        let printed = String::from_utf8(printed.stdout).unwrap();
        assert_eq!(
            printed,
            connector::cli::schema_text(kind).unwrap(),
            "the binary prints the library's schema"
        );
        assert!(
            committed == printed,
            "schemas/{file} differs from `connector schema {arg}`: the config types changed. Regenerate it with\n  \
             cargo run -p connector -- schema {arg} > schemas/{file}"
        );
    }
}

#[test]
fn the_message_schemas_are_message_schemas_own_and_the_examples_follow_them() {
    let printed = connector().args(["schema", "messages"]).output().unwrap();
    assert!(printed.status.success());
    let all: Value = serde_json::from_slice(&printed.stdout).unwrap();
    let (ingress, egress) = (&all["ingress"], &all["egress"]);
    assert_eq!(ingress.as_object().map(|m| m.len()), Some(3), "{ingress}");
    assert_eq!(egress.as_object().map(|m| m.len()), Some(7), "{egress}");
    for (name, text) in message_schema::schemas::ALL {
        let shipped: Value = serde_json::from_str(text).unwrap();
        let printed = ingress.get(name).or_else(|| egress.get(name));
        assert_eq!(printed, Some(&shipped), "{name}");
    }
    // Every example message the parser accepts is valid under the schema of its messageName.
    let mut validated = 0;
    for path in std::fs::read_dir(repository().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path().join("messages.jsonl"))
        .filter(|p| p.exists())
    {
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            if message_schema::parse::parse_ingress(line.as_bytes()).is_err() {
                continue;
            }
            let message: Value = serde_json::from_str(line).unwrap();
            let name = message["messageName"].as_str().unwrap();
            let file = match name {
                "CreateContractRequest" => "create-contract-request",
                "CreateContractActionRequest" => "create-contract-action-request",
                "ReadContractRequest" => "read-contract-request",
                other => panic!("{other}"),
            };
            let schema = jsonschema::validator_for(&ingress[file]).unwrap();
            let errors = schema_errors(&schema, &message);
            assert!(errors.is_empty(), "{line}: {errors:?}");
            validated += 1;
        }
    }
    assert!(validated > 10, "{validated}");
}

#[tokio::test]
async fn every_example_config_and_test_file_is_valid_and_points_editors_at_its_schema() {
    let configs = validator(SchemaKind::Config);
    let test_files = validator(SchemaKind::Test);
    let (mut config_count, mut test_count) = (0, 0);
    for path in yaml_files(&repository().join("examples")) {
        let document = yaml_as_json(&path);
        let is_test_file = document.get("cases").is_some();
        let (validator, schema_file) = if is_test_file {
            test_count += 1;
            (&test_files, "connector-test.schema.json")
        } else {
            config_count += 1;
            (&configs, "connector.schema.json")
        };
        let errors = schema_errors(validator, &document);
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
        if !is_test_file {
            check(&path)
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
        // The first line tells the YAML language server which schema applies, by a path relative to the file.
        let text = std::fs::read_to_string(&path).unwrap();
        let first = text.lines().next().unwrap_or_default();
        let relative = first
            .strip_prefix("# yaml-language-server: $schema=")
            .unwrap_or_else(|| panic!("{}: first line is {first:?}", path.display()));
        let target = path.parent().unwrap().join(relative);
        assert!(
            relative.ends_with(schema_file) && target.exists(),
            "{}: {relative} is not the committed {schema_file}",
            path.display()
        );
    }
    assert!(
        config_count >= 1 && test_count >= 1,
        "{config_count} configs, {test_count} test files"
    );
}

#[tokio::test]
async fn broken_configs_are_refused_by_the_schema_and_by_check_alike() {
    let schema = validator(SchemaKind::Config);
    let fixtures = yaml_files_in(&repository().join("tests/fixtures/broken-configs"));
    assert!(fixtures.len() >= 40, "{} fixtures", fixtures.len());
    for path in fixtures {
        let what = header(&path, "broken");
        let reason = header(&path, "check");
        let errors = schema_errors(&schema, &yaml_as_json(&path));
        assert!(
            !errors.is_empty(),
            "{} ({what}): the schema accepts it",
            path.display()
        );
        let refused = check(&path)
            .await
            .expect_err(&format!("{} ({what}): check accepts it", path.display()));
        assert!(
            refused.contains(&reason),
            "{} ({what}): check refused it for another reason:\n  {refused}\nexpected:\n  {reason}",
            path.display()
        );
    }
}

#[tokio::test]
async fn rules_between_keys_are_left_to_check() {
    let schema = validator(SchemaKind::Config);
    let fixtures = yaml_files_in(&repository().join("tests/fixtures/broken-configs/check-only"));
    assert!(!fixtures.is_empty());
    for path in fixtures {
        let what = header(&path, "broken");
        let reason = header(&path, "check");
        let errors = schema_errors(&schema, &yaml_as_json(&path));
        assert!(
            errors.is_empty(),
            "{} ({what}): the schema now refuses it, so it belongs with the other broken configs (and out of the \
             README's list of rules only check enforces): {errors:?}",
            path.display()
        );
        let refused = check(&path)
            .await
            .expect_err(&format!("{} ({what}): check accepts it", path.display()));
        assert!(refused.contains(&reason), "{}: {refused}", path.display());
    }
}

#[tokio::test]
async fn broken_test_files_are_refused_by_the_schema_and_by_connector_test_alike() {
    let schema = validator(SchemaKind::Test);
    let fixtures = yaml_files_in(&repository().join("tests/fixtures/broken-test-files"));
    assert!(!fixtures.is_empty());
    for path in fixtures {
        let what = header(&path, "broken");
        let reason = header(&path, "test");
        let errors = schema_errors(&schema, &yaml_as_json(&path));
        assert!(
            !errors.is_empty(),
            "{} ({what}): the schema accepts it",
            path.display()
        );
        // `ci`: a refused file must not leave snapshot files behind either.
        let never_write = connector::cli::TestOptions {
            accept: false,
            ci: true,
        };
        let refused = connector::cli::run_test_files(&[&path], never_write)
            .await
            .map(|report| report.output)
            .expect_err(&format!(
                "{} ({what}): connector test accepts it",
                path.display()
            ));
        let refused = format!("{refused:#}");
        assert!(refused.contains(&reason), "{}: {refused}", path.display());
    }
}

#[test]
fn check_through_the_binary_answers_a_misspelt_key_with_the_closest_one() {
    let path = repository().join("tests/fixtures/broken-configs/unknown-function-key.yaml");
    let out = connector()
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: workflows.Shipment.functions.Ingest.choise: unknown key \"choise\" — did you mean \"choice\"? \
         (expected one of: choice, parameters, fields, when, controllers, assert, rules, archive, nonconsuming)\n"
    );
}

/// `connector test` on a case whose input names a function by a wrong name: the Failure it gets, and so the case's
/// report, names the function meant.
#[test]
fn a_test_case_naming_a_misspelt_function_is_told_the_closest_one() {
    let dir = tempfile::tempdir().unwrap();
    let example = repository().join("examples/refrigerated-transportation/connector.yaml");
    let file = dir.path().join("typo.yaml");
    std::fs::write(
        &file,
        format!(
            r#"config: {}
cases:
  - name: a misspelt function
    input:
      - messageName: CreateContractRequest
        requestId: s1
        workflowName: RefrigeratedTransportation
        parameters:
          - {{ name: device, value: Device01 }}
          - {{ name: supplyChainOwner, value: Retailer }}
          - {{ name: supplyChainObserver, value: Auditor }}
          - {{ name: minHumidity, value: "20" }}
          - {{ name: maxHumidity, value: "60" }}
          - {{ name: minTemperature, value: "2" }}
          - {{ name: maxTemperature, value: "8" }}
        messageSchemaVersion: "1.0.0"
      - messageName: CreateContractActionRequest
        requestId: t1
        contractLedgerIdentifier: "{{{{linear_id:s1}}}}"
        workflowFunctionName: Ingest
        parameters: []
        messageSchemaVersion: "1.0.0"
    expect: []
"#,
            example.display()
        ),
    )
    .unwrap();
    let out = connector().arg("test").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains(
            r#""errorMessage":"workflowFunctionName: unknown function \"Ingest\" for workflow \"RefrigeratedTransportation\" — did you mean \"IngestTelemetry\"? (expected one of: IngestTelemetry, TransferResponsibility, Complete, Archive)""#
        ),
        "{report}"
    );
}
