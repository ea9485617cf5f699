//! Snapshot cases of `connector test`, end to end through the binary as a mapping's author uses them: a first run
//! fails and writes `….snap.new`, `--accept` makes it pass, a changed mapping fails with a diff naming the changed
//! property, CI mode writes nothing, and the files are insta's: insta's own reader (`insta::Snapshot::from_file`,
//! public API) parses every one written here and every one committed beside the examples.
//!
//! Each test works in its own temporary directory with `CI` removed from the environment, so the CI service's own
//! `CI=true` cannot turn the writing runs into CI runs.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use support::EXAMPLE_DIR;

const CASE: &str = "a shipment: created, then transferred";
const SNAP: &str = "snapshots/tests__a_shipment_created_then_transferred.snap";
const PENDING: &str = "snapshots/tests__a_shipment_created_then_transferred.snap.new";

fn create() -> Value {
    json!({"messageName": "CreateContractRequest", "requestId": "s1", "workflowName": "RefrigeratedTransportation",
        "parameters": [{"name": "device", "value": "Device01"}, {"name": "supplyChainOwner", "value": "Retailer"},
            {"name": "supplyChainObserver", "value": "Auditor"}, {"name": "minHumidity", "value": "20"},
            {"name": "maxHumidity", "value": "60"}, {"name": "minTemperature", "value": "2"},
            {"name": "maxTemperature", "value": "8"}],
        "messageSchemaVersion": "1.0.0"})
}

fn transfer() -> Value {
    let linear_id = message_schema::linear_id::linear_id_for("s1").to_string();
    json!({"messageName": "CreateContractActionRequest", "requestId": "x1", "contractLedgerIdentifier": linear_id,
        "workflowFunctionName": "TransferResponsibility", "parameters": [{"name": "newCounterparty", "value": "Carrier"}],
        "messageSchemaVersion": "1.0.0"})
}

/// A directory with the example's mapping and a test file holding one snapshot case and one `expect` case.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        Path::new(EXAMPLE_DIR).join("connector.yaml"),
        dir.path().join("connector.yaml"),
    )
    .unwrap();
    // JSON is YAML, so the inputs go in as flow mappings.
    let tests = format!(
        "config: connector.yaml\nclock: \"2026-11-24T10:00:00Z\"\ncases:\n  - name: \"{CASE}\"\n    snapshot: true\n    \
         input: [{create}, {transfer}]\n  - name: an expect case beside it\n    input: [{create}]\n    \
         expect: [{{ status: Submitted }}, {{ status: Committed }}, {{ messageName: ContractMessage }}]\n",
        create = create(),
        transfer = transfer(),
    );
    std::fs::write(dir.path().join("tests.yaml"), tests).unwrap();
    dir
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// `connector test ARGS… tests.yaml` in `dir`, so the test file is named as given: `tests.yaml`.
fn connector_test(dir: &Path, args: &[&str], ci_env: Option<&str>) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_connector"));
    command
        .current_dir(dir)
        .arg("test")
        .args(args)
        .arg("tests.yaml")
        .env_remove("CI");
    if let Some(value) = ci_env {
        command.env("CI", value);
    }
    let out = command.output().unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Every file under `dir`, relative to it.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(at) = pending.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push(path.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    found.sort();
    found
}

fn accepted_project() -> tempfile::TempDir {
    let dir = project();
    let first = connector_test(dir.path(), &[], None);
    assert_eq!(first.code, Some(1), "{}{}", first.stdout, first.stderr);
    let accepted = connector_test(dir.path(), &["--accept"], None);
    assert_eq!(
        accepted.code,
        Some(0),
        "{}{}",
        accepted.stdout,
        accepted.stderr
    );
    dir
}

#[test]
fn a_first_run_fails_and_writes_the_pending_snapshot_that_accept_makes_pass() {
    let dir = project();
    let first = connector_test(dir.path(), &[], None);
    assert_eq!(first.code, Some(1), "{}{}", first.stdout, first.stderr);
    assert!(
        first.stdout.contains(&format!("FAILED  tests.yaml :: {CASE}\n  no snapshot yet at {SNAP}\n  wrote {PENDING}; if the egress is right: connector test --accept tests.yaml\n  --- snapshot\n  +++ egress\n")),
        "{}",
        first.stdout
    );
    assert!(
        first
            .stdout
            .contains("+    \"messageName\": \"CreateContractUpdate\","),
        "{}",
        first.stdout
    );
    assert!(
        first.stdout.contains("1 passed, 1 failed"),
        "{}",
        first.stdout
    );
    assert!(dir.path().join(PENDING).is_file());
    assert!(!dir.path().join(SNAP).exists());

    let accepted = connector_test(dir.path(), &["--accept"], None);
    assert_eq!(
        accepted.code,
        Some(0),
        "{}{}",
        accepted.stdout,
        accepted.stderr
    );
    assert!(
        accepted
            .stdout
            .starts_with(&format!("accepted {SNAP}\nok      tests.yaml :: {CASE}\n")),
        "{}",
        accepted.stdout
    );
    assert!(
        accepted.stdout.ends_with("2 passed, 0 failed\n"),
        "{}",
        accepted.stdout
    );
    assert_eq!(
        files(dir.path()),
        [
            Path::new("connector.yaml"),
            Path::new(SNAP),
            Path::new("tests.yaml")
        ]
    );

    // Another process, another fresh ledger: the same egress byte for byte (ids come from requestIds and the
    // clock, transaction hashes from the transactions), so the file does not churn.
    let snapshot = std::fs::read(dir.path().join(SNAP)).unwrap();
    let again = connector_test(dir.path(), &[], None);
    assert_eq!(again.code, Some(0), "{}", again.stdout);
    assert_eq!(std::fs::read(dir.path().join(SNAP)).unwrap(), snapshot);

    // A pending file left from an earlier failure is stale once the snapshot matches.
    std::fs::write(dir.path().join(PENDING), "stale").unwrap();
    let cleaned = connector_test(dir.path(), &[], None);
    assert_eq!(cleaned.code, Some(0), "{}", cleaned.stdout);
    assert!(
        cleaned.stdout.contains(&format!(
            "ok      tests.yaml :: {CASE} (removed the stale {PENDING})"
        )),
        "{}",
        cleaned.stdout
    );
    assert!(!dir.path().join(PENDING).exists());
}

#[test]
fn a_changed_constant_field_fails_with_a_diff_naming_the_property() {
    let dir = accepted_project();
    let snapshot = std::fs::read(dir.path().join(SNAP)).unwrap();
    let config = dir.path().join("connector.yaml");
    let mapping = std::fs::read_to_string(&config).unwrap();
    assert!(mapping.contains("        complianceStatus: true\n"));
    std::fs::write(
        &config,
        mapping.replace(
            "        complianceStatus: true\n",
            "        complianceStatus: false\n",
        ),
    )
    .unwrap();

    let run = connector_test(dir.path(), &[], None);
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    let out = &run.stdout;
    assert!(
        out.contains(&format!(
            "FAILED  tests.yaml :: {CASE}\n  snapshot {SNAP} differs from the egress\n"
        )),
        "{out}"
    );
    // Both ContractMessages (the create's, egress[2], and the transfer's, egress[6]) carry the property.
    for message in [2, 6] {
        assert!(
            out.contains(&format!(
                "  changed: egress[{message}].contractProperties[name=complianceStatus].value: was \"true\", now \"false\"\n"
            )),
            "{out}"
        );
    }
    assert!(
        out.contains("           \"name\": \"complianceStatus\",\n  -        \"value\": \"true\"\n  +        \"value\": \"false\"\n"),
        "{out}"
    );
    assert!(out.contains(&format!("  wrote {PENDING};")), "{out}");
    assert_eq!(
        std::fs::read(dir.path().join(SNAP)).unwrap(),
        snapshot,
        "the snapshot is kept"
    );
    let pending = std::fs::read_to_string(dir.path().join(PENDING)).unwrap();
    assert!(pending.contains("\"name\": \"complianceStatus\",\n        \"value\": \"false\""));

    let accepted = connector_test(dir.path(), &["--accept"], None);
    assert_eq!(accepted.code, Some(0), "{}", accepted.stdout);
    assert_eq!(
        std::fs::read_to_string(dir.path().join(SNAP)).unwrap(),
        pending
    );
}

#[test]
fn ci_mode_writes_and_removes_nothing() {
    for (args, ci_env) in [
        (&["--ci"][..], None),
        (&[][..], Some("true")),
        (&[][..], Some("1")),
    ] {
        let dir = project();
        let run = connector_test(dir.path(), args, ci_env);
        assert_eq!(
            run.code,
            Some(1),
            "{args:?} {ci_env:?}: {}{}",
            run.stdout,
            run.stderr
        );
        assert!(
            run.stdout.contains(&format!(
                "  no snapshot yet at {SNAP}\n  {PENDING} not written (CI mode: --ci or CI set)\n"
            )),
            "{args:?} {ci_env:?}: {}",
            run.stdout
        );
        assert_eq!(
            files(dir.path()),
            [Path::new("connector.yaml"), Path::new("tests.yaml")],
            "{args:?} {ci_env:?}"
        );
    }

    // A differing snapshot: the case fails, no pending file appears.
    let dir = accepted_project();
    let tests = dir.path().join("tests.yaml");
    let changed = std::fs::read_to_string(&tests)
        .unwrap()
        .replace("\"Carrier\"", "\"Retailer\"");
    std::fs::write(&tests, changed).unwrap();
    let run = connector_test(dir.path(), &["--ci"], None);
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    assert!(run.stdout.contains("now \"Retailer\""), "{}", run.stdout);
    assert!(!dir.path().join(PENDING).exists());

    // A matching one passes and leaves a stale pending file alone; --accept is refused under CI.
    let dir = accepted_project();
    std::fs::write(dir.path().join(PENDING), "stale").unwrap();
    let run = connector_test(dir.path(), &[], Some("true"));
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    assert_eq!(
        std::fs::read_to_string(dir.path().join(PENDING)).unwrap(),
        "stale"
    );
    let refused = connector_test(dir.path(), &["--accept"], Some("true"));
    assert_eq!(refused.code, Some(2));
    assert!(
        refused
            .stderr
            .contains("--accept writes snapshot files, and CI=true asks for none to be written"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join(PENDING)).unwrap(),
        "stale"
    );
    // CI=false is no CI.
    let run = connector_test(dir.path(), &[], Some("false"));
    assert!(run.stdout.contains("removed the stale"), "{}", run.stdout);
}

/// What `connector process` publishes for the same messages under the same clock, one JSON line per message.
fn wire_egress(dir: &Path) -> Vec<String> {
    let input = dir.join("input.jsonl");
    std::fs::write(&input, format!("{}\n{}\n", create(), transfer())).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_connector"))
        .current_dir(dir)
        .args([
            "process",
            "--config",
            "connector.yaml",
            "--input",
            "input.jsonl",
            "--clock",
            "2026-11-24T10:00:00Z",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_files_are_insta_snapshots_of_the_egress_in_wire_order() {
    let dir = project();
    connector_test(dir.path(), &[], None);
    let pending = insta::Snapshot::from_file(&dir.path().join(PENDING)).unwrap();
    assert_eq!(pending.metadata().source(), Some("tests.yaml"));
    assert_eq!(
        pending.metadata().expression(),
        Some(CASE),
        "the name's `:` quoted in the header"
    );
    let body = pending.contents().as_text().unwrap().to_string();

    // The body is the published egress itself: compacted again, each element is its wire message byte for byte
    // (keys in wire order), in publishing order.
    let egress: Vec<Value> = serde_json::from_str(&body).unwrap();
    let wire = wire_egress(dir.path());
    assert_eq!(wire.len(), 7, "{wire:?}");
    let compacted: Vec<String> = egress.iter().map(Value::to_string).collect();
    assert_eq!(compacted, wire);
    assert!(
        body.starts_with("[\n  {\n    \"messageName\": \"CreateContractUpdate\",\n"),
        "{body}"
    );

    connector_test(dir.path(), &["--accept"], None);
    let accepted = insta::Snapshot::from_file(&dir.path().join(SNAP)).unwrap();
    assert_eq!(accepted.contents().as_text().unwrap().to_string(), body);
    assert_eq!(accepted.metadata().expression(), Some(CASE));
    // insta splits the file name at its last `__` into module and snapshot name, as for its own snapshots.
    assert_eq!(accepted.module_name(), "tests");
    assert_eq!(
        accepted.snapshot_name(),
        Some("a_shipment_created_then_transferred")
    );
}

#[test]
fn the_examples_committed_snapshots_are_insta_snapshots_of_their_cases() {
    let examples = Path::new(EXAMPLE_DIR).join("..");
    let mut checked = 0;
    for example in std::fs::read_dir(&examples).unwrap() {
        let example = example.unwrap().path();
        let Ok(snapshots) = std::fs::read_dir(example.join("snapshots")) else {
            continue;
        };
        let tests = std::fs::read_to_string(example.join("tests.yaml")).unwrap();
        for snap in snapshots {
            let snap = snap.unwrap().path();
            assert_eq!(
                snap.extension().and_then(|e| e.to_str()),
                Some("snap"),
                "{}: only accepted snapshots are committed",
                snap.display()
            );
            let snapshot = insta::Snapshot::from_file(&snap).unwrap();
            let case = snapshot.metadata().expression().unwrap();
            assert!(
                tests.contains(&format!("name: {case}\n")),
                "{}: no case {case:?}",
                snap.display()
            );
            let egress: Vec<Value> =
                serde_json::from_str(&snapshot.contents().as_text().unwrap().to_string()).unwrap();
            assert!(!egress.is_empty());
            checked += 1;
        }
    }
    assert!(
        checked >= 1,
        "the refrigerated-transportation example has a snapshot case"
    );
}

#[test]
fn a_case_checking_nothing_and_two_cases_on_one_file_are_errors_naming_the_cases() {
    let dir = project();
    let tests = dir.path().join("tests.yaml");
    let original = std::fs::read_to_string(&tests).unwrap();
    std::fs::write(
        &tests,
        format!("{original}  - name: checks nothing\n    input: []\n"),
    )
    .unwrap();
    let run = connector_test(dir.path(), &[], None);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.contains(
            "tests.yaml: cases[2] \"checks nothing\": expected `expect:`, `snapshot: true`, or both"
        ),
        "{}",
        run.stderr
    );

    std::fs::write(
        &tests,
        format!("{original}  - name: \"A shipment -- created, then TRANSFERRED\"\n    snapshot: true\n    input: []\n"),
    )
    .unwrap();
    let run = connector_test(dir.path(), &[], None);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.contains(&format!(
            "tests.yaml: cases[0] \"{CASE}\" and cases[2] \"A shipment -- created, then TRANSFERRED\" would share the snapshot file {SNAP}"
        )),
        "{}",
        run.stderr
    );
    assert_eq!(
        files(dir.path()),
        [Path::new("connector.yaml"), Path::new("tests.yaml")],
        "nothing ran"
    );
}
