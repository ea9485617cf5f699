//! The command service: a submission answers in the requested transaction shape with its witnesses, created events
//! carry the other stakeholders as observers on the wire only, a duplicate command id is ALREADY_EXISTS and changes
//! nothing, and the ledger's rejections go through the table shared with the adapter.

use daml_ledger_api::error_id_of;
use daml_ledger_api::rejection::DUPLICATE_COMMAND;
use daml_ledger_api::v2::update_service_server::UpdateService;

use super::*;
use crate::update_service::SandboxUpdateService;

#[tokio::test]
async fn submissions_answer_in_the_requested_shape_with_witnesses() {
    let fixture = Fixture::new();
    let tx = fixture.create("c1", "Operator", "Carrier").await;
    assert_eq!(tx.offset, 1);
    assert_eq!(tx.command_id, "c1");
    assert_eq!(tx.update_id.len(), 64);
    let c = created(&tx, 0);
    assert_eq!(
        c.witness_parties,
        ["Operator"],
        "the default format reads as the acting parties"
    );
    assert_eq!(c.signatories, ["Operator"]);
    assert_eq!(
        label_of(c.create_arguments.as_ref().expect("arguments"), "observer"),
        Some(v2::value::Sum::Party("Carrier".into()))
    );

    let effects = fixture.exercise("x1", &c.contract_id, "Transfer").await;
    assert_eq!(effects.offset, 2);
    let kinds: Vec<&str> = effects
        .events
        .iter()
        .map(|e| match &e.event {
            Some(v2::event::Event::Exercised(x)) => {
                assert_eq!(x.choice, "Transfer");
                assert!(x.consuming);
                assert_eq!(x.contract_id, c.contract_id);
                "exercised"
            }
            Some(v2::event::Event::Created(_)) => "created",
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds,
        ["exercised", "created"],
        "ledger effects: the exercise and the successor"
    );
    let successor = created(&effects, 1);
    assert_eq!(
        label_of(
            successor.create_arguments.as_ref().expect("arguments"),
            "state"
        ),
        Some(v2::value::Sum::Enum(v2::Enum {
            enum_id: None,
            constructor: "InTransit".into()
        }))
    );

    // A format asking as a party that is no stakeholder shows nothing, but the command still commits.
    let mut request = create_request("c2", "Operator", "Carrier");
    request.transaction_format = Some(transaction_format(&["Nobody"], 1));
    let unseen = fixture
        .commands()
        .submit_and_wait_for_transaction(tonic::Request::new(request))
        .await
        .expect("committed")
        .into_inner()
        .transaction
        .expect("a transaction");
    assert_eq!(unseen.offset, 3);
    assert!(unseen.events.is_empty());
}

#[tokio::test]
async fn created_events_list_the_other_stakeholders_as_observers_on_the_wire_only() {
    let fixture = Fixture::new();
    let tx = fixture.create("c1", "Operator", "Carrier").await;
    let c = created(&tx, 0);
    assert_eq!(c.signatories, ["Operator"]);
    assert_eq!(
        c.observers,
        ["Carrier"],
        "the payload's parties that did not sign, as a participant reports a template's observers"
    );
    let effects = fixture.exercise("x1", &c.contract_id, "Transfer").await;
    let successor = created(&effects, 1);
    assert_eq!(successor.observers, ["Carrier"]);

    let stored = fixture
        .context
        .ledger
        .transaction_by_offset(1)
        .await
        .expect("readable")
        .expect("stored");
    assert_eq!(
        stored.update_id, tx.update_id,
        "the update id is the stored one"
    );
    match &stored.events[0] {
        ledger_port::Event::Created(stored) => {
            assert!(
                stored.observers.is_empty(),
                "the ledger itself is unchanged"
            )
        }
        other => panic!("not a create: {other:?}"),
    }

    let active = acs(&fixture, 0, event_format(&["Carrier"]))
        .await
        .expect("acs");
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].signatories, ["Operator"]);
    assert_eq!(active[0].observers, ["Carrier"]);

    let mut stream = SandboxUpdateService::new(fixture.context.clone())
        .get_updates(tonic::Request::new(v2::GetUpdatesRequest {
            begin_exclusive: 0,
            end_inclusive: Some(1),
            update_format: update_format(&["Operator"]),
        }))
        .await
        .expect("a stream")
        .into_inner();
    let streamed = next_update(&mut stream).await;
    assert_eq!(created(&streamed, 0).observers, ["Carrier"]);
}

#[tokio::test]
async fn a_duplicate_command_id_is_already_exists_and_changes_nothing() {
    let fixture = Fixture::new();
    let original = fixture.create("c1", "Operator", "Carrier").await;
    let status = fixture
        .commands()
        .submit_and_wait(tonic::Request::new(v2::SubmitAndWaitRequest {
            commands: create_request("c1", "Operator", "Carrier").commands,
        }))
        .await
        .expect_err("a duplicate");
    assert_eq!(status.code(), tonic::Code::AlreadyExists);
    assert_eq!(error_id_of(&status).as_deref(), Some(DUPLICATE_COMMAND));
    assert!(
        status.message().contains(&original.update_id),
        "{}",
        status.message()
    );
    assert_eq!(fixture.context.ledger_end().await.expect("end"), 1);

    let response = fixture
        .commands()
        .submit_and_wait(tonic::Request::new(v2::SubmitAndWaitRequest {
            commands: create_request("c2", "Operator", "Carrier").commands,
        }))
        .await
        .expect("a new command")
        .into_inner();
    assert_eq!(response.completion_offset, 2);
    assert_eq!(response.update_id.len(), 64);
}

#[tokio::test]
async fn ledger_rejections_go_through_the_shared_table() {
    let fixture = Fixture::new();
    let status = fixture
        .commands()
        .submit_and_wait(tonic::Request::new(v2::SubmitAndWaitRequest {
            commands: Some(commands(
                "x1",
                "Operator",
                v2::command::Command::Exercise(v2::ExerciseCommand {
                    template_id: Some(identifier()),
                    contract_id: "00deadbeef".into(),
                    choice: "Transfer".into(),
                    choice_argument: Some(value_to_proto(&LedgerValue::Unit)),
                }),
            )),
        }))
        .await
        .expect_err("no such contract");
    assert_eq!(status.code(), tonic::Code::NotFound);
    assert_eq!(error_id_of(&status).as_deref(), Some("CONTRACT_NOT_FOUND"));

    // A bad format is refused before anything commits.
    let mut request = create_request("c1", "Operator", "Carrier");
    request.transaction_format = Some(v2::TransactionFormat {
        event_format: None,
        transaction_shape: 1,
    });
    let status = fixture
        .commands()
        .submit_and_wait_for_transaction(tonic::Request::new(request))
        .await
        .expect_err("no event format");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        status
            .message()
            .contains("transaction_format.event_format: missing")
    );
    assert_eq!(fixture.context.ledger_end().await.expect("end"), 0);
}
