//! Failures: stable error codes naming the field, ledger rejections after Submitted, malformed messages
//! dead-lettered and never recorded.

use super::*;

#[tokio::test]
async fn request_failures_have_stable_codes_and_name_the_field() {
    let f = fixture();
    f.processor.process(&create("c1", "20", "60")).await;
    let lid = linear_id_for("c1").to_string();
    let cases: Vec<(Vec<u8>, u64, &str)> = vec![
        (
            create("bad-int", "twenty", "60"),
            4000,
            "parameters[1].value",
        ),
        (
            action("bad-fn", &lid, "Teleport", &[], None),
            4040,
            "workflowFunctionName",
        ),
        (
            action(
                "bad-lid",
                "00000000-0000-0000-0000-000000000000",
                "Complete",
                &[],
                None,
            ),
            4040,
            "contractLedgerIdentifier",
        ),
        (
            action(
                "bad-param",
                &lid,
                "Ingest",
                &[("humidty", "1")],
                Some("Device01"),
            ),
            4000,
            "parameters[0].name",
        ),
        (
            action("missing-param", &lid, "Ingest", &[], Some("Device01")),
            4000,
            "parameters",
        ),
        (
            action("bad-party", &lid, "Complete", &[], Some("Mallory")),
            4030,
            "userChainIdentifier",
        ),
    ];
    for (body, code, field) in cases {
        let p = f.processor.process(&body).await;
        let m = json_of(&p);
        assert_eq!(m.len(), 1, "{m:?}");
        assert_eq!(error_code(&m[0]), code, "{m:?}");
        assert_eq!(m[0]["additionalInformation"]["field"], field, "{m:?}");
        assert!(
            m[0]["additionalInformation"]["errorMessage"]
                .as_str()
                .unwrap()
                .contains(field)
        );
        assert_eq!(p.disposition, Disposition::Completed);
    }
    let wf = json_of(
        &f.processor
            .process(
                &serde_json::to_vec(
                    &json!({"messageName":"CreateContractRequest","requestId":"bad-wf",
        "workflowName":"Nope","parameters":[],"messageSchemaVersion":"1.0.0"}),
                )
                .unwrap(),
            )
            .await,
    );
    assert_eq!(error_code(&wf[0]), 4040);
    assert!(
        wf[0]["additionalInformation"]["errorMessage"]
            .as_str()
            .unwrap()
            .contains("Shipment"),
        "lists the known workflows"
    );
    assert!(
        wf[0].get("contractLedgerIdentifier").is_none(),
        "no linear id was assigned"
    );
}

/// A misspelt workflow or function name is answered with the closest mapped one; a name close to none gets only
/// the list, worded as before.
#[tokio::test]
async fn unknown_workflow_and_function_names_get_the_closest_one() {
    let f = fixture();
    f.processor.process(&create("c1", "20", "60")).await;
    let lid = linear_id_for("c1").to_string();
    let message = |p: &Processed| {
        json_of(p)[0]["additionalInformation"]["errorMessage"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let typo = f
        .processor
        .process(&action("typo-fn", &lid, "Complet", &[], None))
        .await;
    assert!(
        message(&typo).starts_with(
            "workflowFunctionName: unknown function \"Complet\" for workflow \"Shipment\" — did you mean \"Complete\"? (expected one of: "
        ),
        "{}",
        message(&typo)
    );
    let far = f
        .processor
        .process(&action("far-fn", &lid, "Teleport", &[], None))
        .await;
    assert!(
        message(&far).starts_with(
            "workflowFunctionName: unknown function \"Teleport\" for workflow \"Shipment\" (expected one of: "
        ),
        "{}",
        message(&far)
    );
    let workflow = f
        .processor
        .process(
            &serde_json::to_vec(
                &json!({"messageName":"CreateContractRequest","requestId":"typo-wf",
        "workflowName":"shipment","parameters":[],"messageSchemaVersion":"1.0.0"}),
            )
            .unwrap(),
        )
        .await;
    assert_eq!(
        message(&workflow),
        "workflowName: unknown workflow \"shipment\" — did you mean \"Shipment\"? (expected one of: Shipment)"
    );
}

#[tokio::test]
async fn ledger_rejections_follow_submitted() {
    let f = fixture();
    f.processor.process(&create("c1", "20", "60")).await;
    let lid = linear_id_for("c1").to_string();
    for (body, code) in [
        (action("guard", &lid, "Complete", &[], None), 4090),
        (
            action("controller", &lid, "Ingest", &[("humidity", "1")], None),
            4030,
        ),
        (create("ensure", "90", "10"), 4220),
    ] {
        let m = json_of(&f.processor.process(&body).await);
        assert_eq!(m.len(), 2, "{m:?}");
        assert_eq!(m[0]["status"], "Submitted");
        assert_eq!(m[1]["status"], "Failure");
        assert_eq!(error_code(&m[1]), code, "{m:?}");
        assert!(m[1]["additionalInformation"]["ledgerError"].is_string());
    }
}

#[tokio::test]
async fn malformed_messages_are_dead_lettered_not_recorded() {
    let store = Arc::new(MemoryOutcomeStore::new());
    let f = fixture_with(store.clone());
    let p = f.processor.process(b"{not json").await;
    assert!(matches!(
        p.disposition,
        Disposition::Malformed {
            code: ErrorCode::BadRequest,
            ..
        }
    ));
    assert_eq!(p.egress.len(), 1);
    assert_eq!(p.egress[0].routing_key, "Failure");
    let p = f
        .processor
        .process(br#"{"requestId":"x","messageName":"CreateContractRequest"}"#)
        .await;
    assert_eq!(p.request_id.as_deref(), Some("x"));
    assert_eq!(json_of(&p)[0]["requestId"], "x");
    assert_eq!(store.count().unwrap(), 0);
}
