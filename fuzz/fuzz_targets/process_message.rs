//! Fuzz target: the whole processing path — parse, map, the embedded ledger, egress — on a fresh in-memory
//! ledger per input, so every input is independent and a crash reproduces from the input alone.
//!
//! The input is split on `\n` into up to [`MAX_MESSAGES`] ingress bodies, processed in order through
//! `Processor::process`. So that actions can reach contracts a create in the same input made, two placeholders are
//! substituted before a body is processed:
//! - `@@`: the linear id of the latest `CreateContractRequest` processed so far in this input,
//! - `@0` … `@9`: the linear id of the N-th `CreateContractRequest` of this input (0-based),
//!
//! each the nil UUID while there is no such create yet.
//!
//! The mapping is the refrigerated-transportation example plus an `Inspection` workflow (below) that covers every
//! parameter type and the choice semantics the example lacks (assert, archive, nonconsuming, shared choices).
//!
//! Invariants checked per message: no panic; at least one egress message unless the disposition is `Halted` (which
//! this in-memory setup can never reach, so it is refused too, as is `Exhausted`: no faults are injected); every
//! egress body is a JSON egress message; every Failure carries an `errorCode` of 4000, 4030, 4040, 4090, 4220,
//! 5000 or 5030; an egress message's requestId is the request's; the mapping's time and date fields render in
//! contract properties as text that parses back; processing the same body again right away
//! returns byte-identical egress (a recorded outcome comes back as `Replayed`). Per input: a second run on a fresh
//! ledger gives the same dispositions and egress bytes (determinism).
#![no_main]

use std::sync::{Arc, OnceLock};

use connector::assembly::assemble;
use connector::config::Config;
use connector::encoded_egress::EncodedEgress;
use connector::ledger_factory::EmbeddedStorage;
use connector::outcome_store::MemoryOutcomeStore;
use connector::processor::{Disposition, Processed, linear_id_for};
use ledger_port::Clock;
use libfuzzer_sys::fuzz_target;

/// The example mapping, verbatim.
const EXAMPLE: &str = include_str!("../../examples/refrigerated-transportation/connector.yaml");

/// A second workflow covering every parameter type (text, int64, numeric with scales, bool, party, time as any,
/// rfc3339 and unix_seconds, date, contract_id, optional<T>, list<T>, enum in both spellings, defaults, renamed
/// fields) and the choice semantics (when, controllers, assert, rules, archive, nonconsuming, a shared choice).
const INSPECTION: &str = r#"
party: Operator
workflows:
  Inspection:
    template: Quality:Inspection
    linear_id_field: inspectionId
    ensure:
      - "score >= 0"
      - "score <= 100"
      - "openedAt < deadline"
      - "weight > 0"
    create:
      parameters:
        inspector: party
        site: text
        score: int64
        weight: numeric
        price: numeric(2)
        units: { type: numeric, scale: 0 }
        precise: numeric(37)
        sealed: bool
        openedAt: { type: time, format: rfc3339 }
        deadline: time
        reportedAt: { type: time, format: unix_seconds }
        due: date
        grade: enum(A|B|C)
        level: { type: enum, values: [Low, Medium, High] }
        supplier: { type: optional<party>, field: supplierParty }
        note: optional<text>
        retries: { type: optional<int64>, default: "3" }
        tags: list<text>
        readings: list<numeric(3)>
        checkpoints: list<optional<date>>
        previous: optional<contract_id>
        related: { type: list<contract_id>, default: "[]" }
        region: { type: text, default: EU }
      fields:
        status: { enum: Open }
        owner: "{{party}}"
        auditor: { party: Auditor }
        limit: 100
        threshold: 12.5
        approved: false
        kind: { text: standard }
        ratio: { numeric: "0.5000000000" }
    functions:
      Rescore:
        parameters:
          score: int64
          weight: { type: numeric, scale: 4 }
          comment: { type: optional<text>, field: note }
        controllers: [inspector, owner]
        when: { status: [Open, Reopened] }
        assert:
          - "arg.score >= 0"
          - "arg.score <= limit"
        rules:
          - if: "arg.score < 50"
            fields: { approved: false, verdict: { enum: Fail } }
          - if: "arg.weight > threshold"
            fields: { approved: true, verdict: { enum: Heavy } }
          - if: "arg.score >= 50"
            fields: { approved: true, verdict: { enum: Pass } }
      Reschedule:
        parameters:
          deadline: { type: time, format: rfc3339 }
          due: date
          at: { type: time, format: unix_seconds }
        assert:
          - "arg.deadline > openedAt"
          - "arg.due >= due"
        fields: { status: { enum: Reopened } }
      Tag:
        parameters:
          tags: list<text>
          flags: { type: list<bool>, default: "[true]" }
          sealed: bool
        nonconsuming: true
        when: { sealed: ["false"] }
      Link:
        parameters:
          previous: optional<contract_id>
          related: list<contract_id>
        controllers: [owner]
      Grade:
        choice: Rescore
        parameters:
          grade: enum(A|B|C)
          level: { type: enum, values: [Low, Medium, High] }
      Approve:
        when: { status: [Open, Reopened] }
        assert:
          - "score >= 50"
          - "level != 'Low'"
          - "grade == 'A'"
        fields: { approved: true, approvedBy: "{{party}}" }
      Close:
        archive: true
        when: { status: [Open, Reopened] }
        controllers: [owner, auditor]
        assert: ["approved == true"]
"#;

/// Messages per input beyond this are ignored (keeps the exec rate up; 32 is plenty for create-then-act chains).
const MAX_MESSAGES: usize = 32;

/// The documented Failure codes.
const ERROR_CODES: [u64; 7] = [4000, 4030, 4040, 4090, 4220, 5000, 5030];

const NIL_UUID: &str = "00000000-0000-0000-0000-000000000000";

struct Harness {
    runtime: tokio::runtime::Runtime,
    config: Config,
    clock: i64,
    /// `PROCESS_MESSAGE_TRACE=1`: print every body and its egress to stderr (for triage, not while fuzzing).
    trace: bool,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let mut config = Config::from_yaml_with_env(EXAMPLE, std::iter::empty())
            .expect("the example config loads");
        let inspection = Config::from_yaml_with_env(INSPECTION, std::iter::empty())
            .expect("the Inspection config loads");
        config.workflows.extend(inspection.workflows);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a tokio runtime");
        let clock = message_schema::time::parse_timestamp_rfc3339("2026-11-24T10:00:00Z")
            .expect("a fixed clock");
        // Fail at start-up, not on the first input, if the merged mapping does not assemble.
        runtime
            .block_on(assemble(
                &config,
                Clock::Fixed(clock),
                Arc::new(MemoryOutcomeStore::new()),
                EmbeddedStorage::ExplicitJournalOnly,
            ))
            .expect("the merged config assembles");
        Harness {
            runtime,
            config,
            clock,
            trace: std::env::var_os("PROCESS_MESSAGE_TRACE").is_some(),
        }
    })
}

/// What one message produced, for the determinism comparison.
#[derive(Debug, PartialEq)]
struct Outcome {
    disposition: Disposition,
    egress: Vec<EncodedEgress>,
}

/// Replaces `@@` and `@0`…`@9` with the linear ids of this input's creates so far.
fn substitute(raw: &[u8], creates: &[String]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'@' && i + 1 < raw.len() {
            let id = match raw[i + 1] {
                b'@' => Some(creates.last()),
                d @ b'0'..=b'9' => Some(creates.get(usize::from(d - b'0'))),
                _ => None,
            };
            if let Some(id) = id {
                out.extend_from_slice(id.map_or(NIL_UUID, String::as_str).as_bytes());
                i += 2;
                continue;
            }
        }
        out.push(raw[i]);
        i += 1;
    }
    out
}

fn check_egress(body: &[u8], processed: &Processed) {
    if let Disposition::Malformed { code, .. } = &processed.disposition {
        assert!(
            ERROR_CODES.contains(&u64::from(code.code())),
            "Malformed with undocumented code {}",
            code.code()
        );
    }
    assert!(
        !matches!(
            processed.disposition,
            Disposition::Halted { .. } | Disposition::Exhausted { .. }
        ),
        "an in-memory ledger without faults must never halt or exhaust: {:?} for {:?}",
        processed.disposition,
        String::from_utf8_lossy(body)
    );
    assert!(
        !processed.egress.is_empty(),
        "no egress for {:?} ({:?})",
        String::from_utf8_lossy(body),
        processed.disposition
    );
    for egress in &processed.egress {
        let value: serde_json::Value = serde_json::from_slice(&egress.body).unwrap_or_else(|e| {
            panic!(
                "egress body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&egress.body)
            )
        });
        assert!(value.is_object(), "egress body is not an object: {value}");
        if let Err(e) = message_schema::egress::EgressMessage::from_json_slice(&egress.body) {
            panic!("egress body is not an egress message ({e}): {value}");
        }
        let code = value
            .get("additionalInformation")
            .and_then(|a| a.get("errorCode"));
        if value.get("status").and_then(|s| s.as_str()) == Some("Failure") {
            let code = code.and_then(serde_json::Value::as_u64);
            assert!(
                code.is_some_and(|c| ERROR_CODES.contains(&c)),
                "Failure with errorCode {code:?}: {value}"
            );
        } else {
            assert!(code.is_none(), "errorCode on a non-Failure: {value}");
        }
        check_rendered_times(&value);
        if let Some(request_id) = &egress.request_id {
            assert_eq!(
                Some(request_id),
                processed.request_id.as_ref(),
                "egress answers another request: {value}"
            );
        }
    }
}

/// Contract properties of the mapping's time and date fields (by name; the types are known from the mapping).
const TIME_PROPERTIES: [&str; 5] = ["openedAt", "deadline", "reportedAt", "timestamp", "at"];
const DATE_PROPERTIES: [&str; 1] = ["due"];

/// A time or date the ledger holds renders as text its own parser reads back (a list<optional<date>> element may
/// be the empty optional, rendered as "").
fn check_rendered_times(message: &serde_json::Value) {
    let Some(properties) = message
        .get("contractProperties")
        .and_then(serde_json::Value::as_array)
    else {
        return;
    };
    for property in properties {
        let (Some(name), Some(value)) = (
            property.get("name").and_then(serde_json::Value::as_str),
            property.get("value").and_then(serde_json::Value::as_str),
        ) else {
            panic!("contract property without a text name and value: {property}");
        };
        let reads_back = if TIME_PROPERTIES.contains(&name) {
            message_schema::time::parse_timestamp_rfc3339(value).is_some()
        } else if DATE_PROPERTIES.contains(&name) {
            message_schema::time::parse_date(value).is_some()
        } else if name.starts_with("checkpoints[") {
            value.is_empty() || message_schema::time::parse_date(value).is_some()
        } else {
            true
        };
        assert!(
            reads_back,
            "property {name} = {value:?} does not parse back as the time or date it holds"
        );
    }
}

/// Runs the messages through a fresh processor, checking each; returns the outcomes.
async fn run(config: &Config, clock: i64, messages: &[&[u8]], trace: bool) -> Vec<Outcome> {
    let assembly = assemble(
        config,
        Clock::Fixed(clock),
        Arc::new(MemoryOutcomeStore::new()),
        EmbeddedStorage::ExplicitJournalOnly,
    )
    .await
    .expect("assembles");
    let processor = assembly.processor;
    let mut creates: Vec<String> = Vec::new();
    let mut outcomes = Vec::with_capacity(messages.len());
    for raw in messages {
        let body = substitute(raw, &creates);
        let processed = processor.process(&body).await;
        if trace {
            eprintln!("> {}", String::from_utf8_lossy(&body));
            eprintln!("  {:?}", processed.disposition);
            for egress in &processed.egress {
                eprintln!("  < {}", egress.body_text());
            }
        }
        check_egress(&body, &processed);
        let again = processor.process(&body).await;
        assert_eq!(
            again.egress,
            processed.egress,
            "the same body twice gave different egress: {:?}",
            String::from_utf8_lossy(&body)
        );
        let expected_again = match &processed.disposition {
            Disposition::Completed | Disposition::Replayed => Disposition::Replayed,
            other => other.clone(),
        };
        assert_eq!(again.disposition, expected_again, "replay disposition");
        if processed.message_name == "CreateContractRequest"
            && let Some(request_id) = &processed.request_id
        {
            creates.push(linear_id_for(request_id).to_string());
        }
        outcomes.push(Outcome {
            disposition: processed.disposition,
            egress: processed.egress,
        });
    }
    outcomes
}

fuzz_target!(|data: &[u8]| {
    let harness = harness();
    let messages: Vec<&[u8]> = data
        .split(|b| *b == b'\n')
        .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
        .take(MAX_MESSAGES)
        .collect();
    if messages.is_empty() {
        return;
    }
    let first = harness.runtime.block_on(run(
        &harness.config,
        harness.clock,
        &messages,
        harness.trace,
    ));
    let second = harness
        .runtime
        .block_on(run(&harness.config, harness.clock, &messages, false));
    assert_eq!(first, second, "two runs of the same input differ");
});
