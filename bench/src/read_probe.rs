//! Proves a started gateway holds the journal's contracts: one `ReadContractRequest` for the last contract created,
//! answered on a capture queue bound to the egress exchange. The answer must be the read's `ContractMessage` for that
//! linear id, carrying the fields the create set; a Failure (e.g. 4040, no active contract with that linear id), a
//! different message, or no answer in time fails the run.
//!
//! The consumer (automatic acks, a connection of its own) is started before the gateway, so the answer cannot be
//! missed; egress not correlated with the read (the observer's, were there any) is skipped.

use std::time::{Duration, Instant};

use futures::StreamExt;
use lapin::{Connection, Consumer};
use serde_json::Value;

use crate::error::BenchError;
use crate::startup_workload::CreateFields;

/// How often a waiting probe checks whether the gateway is still there.
const GONE_CHECK: Duration = Duration::from_millis(50);

/// A consumer on a capture queue, waiting for one request's answer.
pub struct ReadProbe {
    connection: Connection,
    consumer: Consumer,
    queue: String,
}

/// The read's answer, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadAnswer {
    /// `ContractMessage`.
    pub message_name: String,
    pub contract_ledger_identifier: String,
    /// From the read's publish to its answer's arrival.
    pub latency: Duration,
}

/// What the read asked for.
#[derive(Debug, Clone, Copy)]
pub struct ReadExpectation<'a> {
    pub request_id: &'a str,
    pub linear_id: &'a str,
    /// The fields the contract was created with.
    pub fields: &'a CreateFields,
}

impl ReadProbe {
    /// Starts consuming `queue` (which must exist and be bound to the egress exchange).
    pub async fn start(url: &str, queue: &str, name: &str) -> Result<Self, BenchError> {
        let (connection, consumer) =
            crate::broker::consume_without_acks(url, queue, name, "read-probe").await?;
        Ok(Self {
            connection,
            consumer,
            queue: queue.to_owned(),
        })
    }

    /// Waits for the egress answering `expected.request_id` (published at `published_at`) and checks it; gives up
    /// after `timeout`, or as soon as `gone()` says the gateway has exited.
    pub async fn answer(
        &mut self,
        expected: ReadExpectation<'_>,
        published_at: Instant,
        timeout: Duration,
        mut gone: impl FnMut() -> bool,
    ) -> Result<ReadAnswer, BenchError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let timed_out = || BenchError::Timeout {
            phase: format!("the read of contract {}", expected.linear_id),
            what: "answers",
            got: 0,
            expected: 1,
            seconds: timeout.as_secs(),
            log_tail: None,
        };
        loop {
            if gone() {
                return Err(BenchError::GatewayExited {
                    phase: "the read".to_owned(),
                    log_tail: String::new(),
                });
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(timed_out());
            }
            let next = tokio::time::timeout(GONE_CHECK, self.consumer.next()).await;
            let delivery = match next {
                Err(_) => continue,
                Ok(None) => {
                    return Err(BenchError::broker(
                        format!("consuming {}", self.queue),
                        "the consumer was cancelled",
                    ));
                }
                Ok(Some(Err(e))) => {
                    return Err(BenchError::broker(format!("consuming {}", self.queue), e));
                }
                Ok(Some(Ok(delivery))) => delivery,
            };
            let arrived = Instant::now();
            let correlated = delivery
                .properties
                .correlation_id()
                .as_ref()
                .is_some_and(|id| id.as_str() == expected.request_id);
            if !correlated {
                continue;
            }
            let mut answer = check(&delivery.data, expected)?;
            answer.latency = arrived.saturating_duration_since(published_at);
            return Ok(answer);
        }
    }

    /// Closes the probe's connection.
    pub async fn stop(self) {
        let _ = self.connection.close(200, "read probe done".into()).await;
    }
}

/// The answer's body must be the read's ContractMessage for the expected linear id, with the create's fields.
fn check(body: &[u8], expected: ReadExpectation<'_>) -> Result<ReadAnswer, BenchError> {
    let failed = |answer: String| BenchError::ReadFailed {
        request_id: expected.request_id.to_owned(),
        linear_id: expected.linear_id.to_owned(),
        answer,
    };
    let text = String::from_utf8_lossy(body);
    let Ok(message) = serde_json::from_slice::<Value>(body) else {
        return Err(failed(format!("a body that is not JSON: {text}")));
    };
    let field = |key: &str| message.get(key).and_then(Value::as_str).unwrap_or_default();
    let is_failure = field("status") == "Failure" || field("messageName") == "Failure";
    if is_failure {
        let info = &message["additionalInformation"];
        return Err(failed(format!(
            "Failure {} ({}): {text}",
            info["errorCode"],
            info["errorMessage"].as_str().unwrap_or("no errorMessage"),
        )));
    }
    if field("messageName") != "ContractMessage" {
        return Err(failed(format!(
            "{}, not a ContractMessage: {text}",
            field("messageName")
        )));
    }
    if field("requestId") != expected.request_id {
        return Err(failed(format!(
            "a ContractMessage for another request: {text}"
        )));
    }
    if field("contractLedgerIdentifier") != expected.linear_id {
        return Err(failed(format!(
            "a ContractMessage for another contract: {text}"
        )));
    }
    let f = expected.fields;
    let wanted = [
        ("device", f.device.clone()),
        ("minHumidity", f.min_humidity.to_string()),
        ("maxHumidity", f.max_humidity.to_string()),
        ("minTemperature", f.min_temperature.to_string()),
        ("maxTemperature", f.max_temperature.to_string()),
    ];
    let properties = message["contractProperties"].as_array();
    for (name, value) in &wanted {
        let found = properties
            .into_iter()
            .flatten()
            .find(|p| p["name"] == *name)
            .and_then(|p| p["value"].as_str());
        if found != Some(value.as_str()) {
            return Err(failed(format!(
                "a ContractMessage whose {name} is {found:?}, not the created {value:?}: {text}"
            )));
        }
    }
    Ok(ReadAnswer {
        message_name: "ContractMessage".to_owned(),
        contract_ledger_identifier: expected.linear_id.to_owned(),
        latency: Duration::ZERO,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::startup_workload::create_fields;

    fn reply(request_id: &str, linear_id: &str, fields: &CreateFields) -> Vec<u8> {
        json!({"messageName":"ContractMessage","requestId":request_id,
            "additionalInformation":{"ledgerType":"embedded","platformVersion":1},
            "contractLedgerIdentifier":linear_id,
            "contractProperties":[
                {"workflowPropertyId":null,"name":"device","value":fields.device},
                {"workflowPropertyId":null,"name":"minHumidity","value":fields.min_humidity.to_string()},
                {"workflowPropertyId":null,"name":"maxHumidity","value":fields.max_humidity.to_string()},
                {"workflowPropertyId":null,"name":"minTemperature","value":fields.min_temperature.to_string()},
                {"workflowPropertyId":null,"name":"maxTemperature","value":fields.max_temperature.to_string()},
                {"workflowPropertyId":null,"name":"state","value":"Created"}],
            "messageSchemaVersion":"1.0.0"})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn the_reads_contract_message_passes_and_anything_else_fails() {
        let fields = create_fields(99);
        let expected = ReadExpectation {
            request_id: "read-1",
            linear_id: "9b81be37-d434-569a-8807-4a3e3a029f63",
            fields: &fields,
        };
        let ok = check(&reply("read-1", expected.linear_id, &fields), expected).expect("passes");
        assert_eq!(ok.message_name, "ContractMessage");
        assert_eq!(ok.contract_ledger_identifier, expected.linear_id);

        let other_contract = check(&reply("read-1", "0000", &fields), expected);
        assert!(matches!(other_contract, Err(BenchError::ReadFailed { .. })));
        let other_fields = check(
            &reply("read-1", expected.linear_id, &create_fields(98)),
            expected,
        )
        .expect_err("other values")
        .to_string();
        assert!(other_fields.contains("minHumidity"), "{other_fields}");

        let not_found = json!({"requestId":"read-1","messageName":"ReadContractUpdate","status":"Failure",
            "contractLedgerIdentifier":expected.linear_id,
            "additionalInformation":{"errorCode":4040,"errorMessage":"contractLedgerIdentifier: no active contract"}})
        .to_string();
        let error = check(not_found.as_bytes(), expected)
            .expect_err("a Failure")
            .to_string();
        assert!(
            error.contains("Failure 4040 (contractLedgerIdentifier: no active contract)"),
            "{error}"
        );
        assert!(check(b"not json", expected).is_err());
    }
}
