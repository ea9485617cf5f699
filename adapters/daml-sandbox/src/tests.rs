//! The services run in-process against a real in-memory embedded ledger: submission, duplicates, formats and
//! filters, the ACS at past offsets, update streams with live tails, completions, and — over TCP on 127.0.0.1 —
//! the token check and shutdown; and, over a journaled ledger, reads of history a compaction pruned.

use std::sync::Arc;
use std::time::{Duration, Instant};

use daml_ledger_api::rejection::{DUPLICATE_COMMAND, TEMPLATES_OR_INTERFACES_NOT_FOUND};
use daml_ledger_api::v2::command_completion_service_server::CommandCompletionService;
use daml_ledger_api::v2::command_service_server::CommandService;
use daml_ledger_api::v2::state_service_server::StateService;
use daml_ledger_api::v2::update_service_server::UpdateService;
use daml_ledger_api::{error_id_of, record_to_proto, v2, value_to_proto};
use embedded_ledger::{
    ChoiceKind, ChoiceSpec, EmbeddedLedger, FieldValue, TemplateCatalog, TemplateSpec,
};
use futures::StreamExt;
use ledger_port::{Clock, LedgerValue, Record, ServableLedger, TemplateId};
use tokio::sync::watch;

use crate::command_service::SandboxCommandService;
use crate::completion_service::SandboxCompletionService;
use crate::context::Context;
use crate::state_service::SandboxStateService;
use crate::update_service::SandboxUpdateService;
use crate::{AccessToken, Sandbox, SandboxSettings};

const SHIPMENT: &str = "Cold:Shipment";

fn template() -> TemplateId {
    TemplateId::parse(SHIPMENT).expect("valid")
}

fn catalog() -> TemplateCatalog {
    let choice = |name: &str, kind: ChoiceKind| ChoiceSpec {
        name: name.into(),
        kind,
        when: vec![],
        controllers: vec![],
        assert: vec![],
        set_fields: vec![],
        rules: vec![],
    };
    TemplateCatalog {
        templates: vec![TemplateSpec {
            id: template(),
            ensure: vec![],
            choices: vec![
                ChoiceSpec {
                    set_fields: vec![(
                        "state".into(),
                        FieldValue::Constant(LedgerValue::Enum("InTransit".into())),
                    )],
                    ..choice("Transfer", ChoiceKind::Consuming)
                },
                choice("Cancel", ChoiceKind::Archive),
            ],
        }],
    }
}

/// The services' shared context over a fresh in-memory ledger; the sender keeps the shutdown signal open.
struct Fixture {
    context: Arc<Context>,
    _stop: watch::Sender<bool>,
}

impl Fixture {
    fn new() -> Self {
        Self::over(Arc::new(EmbeddedLedger::in_memory(
            catalog(),
            Clock::Fixed(1_764_000_000_000_000),
        )))
    }

    /// The services over a given ledger.
    fn over(ledger: Arc<dyn ServableLedger>) -> Self {
        let (stop, stopped) = watch::channel(false);
        Self {
            context: Arc::new(Context::new(
                ledger,
                Some(vec![template()]),
                Duration::ZERO,
                stopped,
            )),
            _stop: stop,
        }
    }

    fn commands(&self) -> SandboxCommandService {
        SandboxCommandService::new(self.context.clone())
    }

    async fn create(&self, command_id: &str, owner: &str, observer: &str) -> v2::Transaction {
        self.commands()
            .submit_and_wait_for_transaction(tonic::Request::new(create_request(
                command_id, owner, observer,
            )))
            .await
            .expect("created")
            .into_inner()
            .transaction
            .expect("a transaction")
    }

    async fn exercise(&self, command_id: &str, contract_id: &str, choice: &str) -> v2::Transaction {
        self.commands()
            .submit_and_wait_for_transaction(tonic::Request::new(
                v2::SubmitAndWaitForTransactionRequest {
                    commands: Some(commands(
                        command_id,
                        "Operator",
                        v2::command::Command::Exercise(v2::ExerciseCommand {
                            template_id: Some(identifier()),
                            contract_id: contract_id.into(),
                            choice: choice.into(),
                            choice_argument: Some(value_to_proto(&LedgerValue::Record(
                                Record::new(),
                            ))),
                        }),
                    )),
                    transaction_format: Some(transaction_format(&["Operator"], 2)),
                },
            ))
            .await
            .expect("exercised")
            .into_inner()
            .transaction
            .expect("a transaction")
    }
}

fn identifier() -> v2::Identifier {
    v2::Identifier {
        package_id: "#cold-chain".into(),
        module_name: "Cold".into(),
        entity_name: "Shipment".into(),
    }
}

fn commands(command_id: &str, party: &str, command: v2::command::Command) -> v2::Commands {
    v2::Commands {
        user_id: "gateway".into(),
        command_id: command_id.into(),
        act_as: vec![party.into()],
        commands: vec![v2::Command {
            command: Some(command),
        }],
        ..Default::default()
    }
}

fn create_request(
    command_id: &str,
    owner: &str,
    observer: &str,
) -> v2::SubmitAndWaitForTransactionRequest {
    let arguments = Record::new()
        .with("linearId", LedgerValue::Text(command_id.into()))
        .with("owner", LedgerValue::Party(owner.into()))
        .with("observer", LedgerValue::Party(observer.into()))
        .with("state", LedgerValue::Enum("Created".into()));
    v2::SubmitAndWaitForTransactionRequest {
        commands: Some(commands(
            command_id,
            owner,
            v2::command::Command::Create(v2::CreateCommand {
                template_id: Some(identifier()),
                create_arguments: Some(record_to_proto(&arguments)),
            }),
        )),
        transaction_format: None,
    }
}

fn event_format(parties: &[&str]) -> v2::EventFormat {
    v2::EventFormat {
        filters_by_party: parties
            .iter()
            .map(|p| ((*p).to_owned(), v2::Filters::default()))
            .collect(),
        filters_for_any_party: None,
        verbose: true,
    }
}

fn transaction_format(parties: &[&str], shape: i32) -> v2::TransactionFormat {
    v2::TransactionFormat {
        event_format: Some(event_format(parties)),
        transaction_shape: shape,
    }
}

fn update_format(parties: &[&str]) -> Option<v2::UpdateFormat> {
    Some(v2::UpdateFormat {
        include_transactions: Some(transaction_format(parties, 1)),
        include_reassignments: None,
    })
}

fn created(tx: &v2::Transaction, index: usize) -> &v2::CreatedEvent {
    match &tx.events[index].event {
        Some(v2::event::Event::Created(c)) => c,
        other => panic!("event {index} is not a create: {other:?}"),
    }
}

fn label_of(record: &v2::Record, label: &str) -> Option<v2::value::Sum> {
    record
        .fields
        .iter()
        .find(|f| f.label == label)
        .and_then(|f| f.value.as_ref())
        .and_then(|v| v.sum.clone())
}

async fn acs(
    fixture: &Fixture,
    offset: i64,
    format: v2::EventFormat,
) -> Result<Vec<v2::CreatedEvent>, tonic::Status> {
    let stream = SandboxStateService::new(fixture.context.clone())
        .get_active_contracts(tonic::Request::new(v2::GetActiveContractsRequest {
            active_at_offset: offset,
            event_format: Some(format),
        }))
        .await?
        .into_inner();
    stream
        .map(|r| {
            r.map(|response| match response.contract_entry {
                Some(v2::get_active_contracts_response::ContractEntry::ActiveContract(a)) => {
                    a.created_event.expect("a created event")
                }
                None => panic!("an empty entry"),
            })
        })
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

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

#[tokio::test]
async fn the_acs_is_filtered_by_party_and_template_and_rebuilt_at_past_offsets() {
    let fixture = Fixture::new();
    let first = fixture.create("c1", "Operator", "Carrier").await;
    let first_id = created(&first, 0).contract_id.clone();
    let moved = fixture.exercise("x1", &first_id, "Transfer").await;
    let successor_id = created(&moved, 1).contract_id.clone();
    let other = fixture.create("c2", "Operator", "Retailer").await;
    let other_id = created(&other, 0).contract_id.clone();

    let ids = |events: Vec<v2::CreatedEvent>| {
        events
            .into_iter()
            .map(|c| c.contract_id)
            .collect::<Vec<_>>()
    };
    let now = acs(&fixture, 3, event_format(&["Operator"]))
        .await
        .expect("acs");
    assert_eq!(ids(now), [successor_id.clone(), other_id.clone()]);
    let zero = acs(&fixture, 0, event_format(&["Operator"]))
        .await
        .expect("acs");
    assert_eq!(
        ids(zero),
        [successor_id.clone(), other_id.clone()],
        "0 means now"
    );
    let past = acs(&fixture, 1, event_format(&["Operator"]))
        .await
        .expect("acs");
    assert_eq!(ids(past), [first_id]);

    let carrier = acs(&fixture, 3, event_format(&["Carrier"]))
        .await
        .expect("acs");
    assert_eq!(carrier.len(), 1);
    assert_eq!(carrier[0].contract_id, successor_id);
    assert_eq!(carrier[0].witness_parties, ["Carrier"]);
    assert!(
        acs(&fixture, 3, event_format(&["Nobody"]))
            .await
            .expect("acs")
            .is_empty()
    );

    let any = v2::EventFormat {
        filters_by_party: Default::default(),
        filters_for_any_party: Some(v2::Filters::default()),
        verbose: false,
    };
    let everything = acs(&fixture, 3, any).await.expect("acs");
    assert_eq!(everything.len(), 2);
    assert_eq!(everything[1].witness_parties, ["Operator", "Retailer"]);
    assert!(
        everything[1]
            .create_arguments
            .as_ref()
            .expect("arguments")
            .fields
            .iter()
            .all(|f| f.label.is_empty()),
        "verbose = false drops labels"
    );

    let mut unknown = event_format(&["Operator"]);
    unknown.filters_by_party.insert(
        "Operator".into(),
        v2::Filters {
            cumulative: vec![v2::CumulativeFilter {
                identifier_filter: Some(v2::cumulative_filter::IdentifierFilter::TemplateFilter(
                    v2::TemplateFilter {
                        template_id: Some(v2::Identifier {
                            entity_name: "Invoice".into(),
                            ..identifier()
                        }),
                        include_created_event_blob: false,
                    },
                )),
            }],
        },
    );
    let status = acs(&fixture, 3, unknown)
        .await
        .expect_err("unknown template");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(
        error_id_of(&status).as_deref(),
        Some(TEMPLATES_OR_INTERFACES_NOT_FOUND)
    );
    assert!(
        status.message().contains("#cold-chain:Cold:Invoice"),
        "{}",
        status.message()
    );

    let status = acs(&fixture, 4, event_format(&["Operator"]))
        .await
        .expect_err("beyond the end");
    assert_eq!(status.code(), tonic::Code::OutOfRange);
}

async fn next_update(
    stream: &mut crate::context::ResponseStream<v2::GetUpdatesResponse>,
) -> v2::Transaction {
    let item = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("an update within 5 s")
        .expect("the stream is open")
        .expect("no error");
    match item.update {
        Some(v2::get_updates_response::Update::Transaction(tx)) => tx,
        other => panic!("not a transaction: {other:?}"),
    }
}

#[tokio::test]
async fn update_streams_replay_then_tail_and_skip_what_the_reader_cannot_see() {
    let fixture = Fixture::new();
    let updates = SandboxUpdateService::new(fixture.context.clone());
    fixture.create("c1", "Operator", "Carrier").await;
    fixture.create("c2", "Operator", "Retailer").await;

    let mut carrier_stream = updates
        .get_updates(tonic::Request::new(v2::GetUpdatesRequest {
            begin_exclusive: 0,
            end_inclusive: None,
            update_format: update_format(&["Carrier"]),
        }))
        .await
        .expect("a stream")
        .into_inner();
    let stored = next_update(&mut carrier_stream).await;
    assert_eq!(stored.offset, 1, "offset 2 is Retailer's, not Carrier's");
    fixture.create("c3", "Operator", "Retailer").await;
    fixture.create("c4", "Operator", "Carrier").await;
    let live = next_update(&mut carrier_stream).await;
    assert_eq!(
        live.offset, 4,
        "the live tail delivers new commits, skipping invisible ones"
    );
    assert_eq!(live.command_id, "c4");

    let bounded: Vec<i64> = updates
        .get_updates(tonic::Request::new(v2::GetUpdatesRequest {
            begin_exclusive: 1,
            end_inclusive: Some(3),
            update_format: update_format(&["Operator"]),
        }))
        .await
        .expect("a stream")
        .into_inner()
        .map(|r| match r.expect("no error").update {
            Some(v2::get_updates_response::Update::Transaction(tx)) => tx.offset,
            other => panic!("not a transaction: {other:?}"),
        })
        .collect()
        .await;
    assert_eq!(bounded, [2, 3], "a bounded stream ends at end_inclusive");

    for (begin, end, code) in [
        (5, None, tonic::Code::OutOfRange),
        (-1, None, tonic::Code::InvalidArgument),
        (0, Some(9), tonic::Code::OutOfRange),
        (3, Some(2), tonic::Code::InvalidArgument),
    ] {
        let status = updates
            .get_updates(tonic::Request::new(v2::GetUpdatesRequest {
                begin_exclusive: begin,
                end_inclusive: end,
                update_format: update_format(&["Operator"]),
            }))
            .await
            .err()
            .expect("refused");
        assert_eq!(status.code(), code, "begin {begin} end {end:?}");
    }
}

#[tokio::test]
async fn single_updates_by_id_and_offset() {
    let fixture = Fixture::new();
    let updates = SandboxUpdateService::new(fixture.context.clone());
    let tx = fixture.create("c1", "Operator", "Carrier").await;
    let by_id = updates
        .get_update_by_id(tonic::Request::new(v2::GetUpdateByIdRequest {
            update_id: tx.update_id.clone(),
            update_format: update_format(&["Carrier"]),
        }))
        .await
        .expect("found")
        .into_inner();
    let Some(v2::get_update_response::Update::Transaction(found)) = by_id.update else {
        panic!("a transaction");
    };
    assert_eq!(found.offset, 1);
    assert_eq!(created(&found, 0).witness_parties, ["Carrier"]);
    let by_offset = updates
        .get_update_by_offset(tonic::Request::new(v2::GetUpdateByOffsetRequest {
            offset: 1,
            update_format: update_format(&["Operator"]),
        }))
        .await
        .expect("found")
        .into_inner();
    let Some(v2::get_update_response::Update::Transaction(found)) = by_offset.update else {
        panic!("a transaction");
    };
    assert_eq!(found.update_id, tx.update_id);

    let absent = updates
        .get_update_by_id(tonic::Request::new(v2::GetUpdateByIdRequest {
            update_id: "nope".into(),
            update_format: update_format(&["Operator"]),
        }))
        .await
        .expect_err("absent");
    let invisible = updates
        .get_update_by_offset(tonic::Request::new(v2::GetUpdateByOffsetRequest {
            offset: 1,
            update_format: update_format(&["Nobody"]),
        }))
        .await
        .expect_err("invisible");
    let beyond = updates
        .get_update_by_offset(tonic::Request::new(v2::GetUpdateByOffsetRequest {
            offset: 2,
            update_format: update_format(&["Operator"]),
        }))
        .await
        .expect_err("beyond the end");
    for status in [absent, invisible, beyond] {
        assert_eq!(status.code(), tonic::Code::NotFound);
        assert_eq!(
            error_id_of(&status).as_deref(),
            Some(crate::UPDATE_NOT_FOUND)
        );
    }
}

#[tokio::test]
async fn completions_replay_commits_then_follow_commits_and_rejections() {
    let fixture = Fixture::new();
    let completions = SandboxCompletionService::new(fixture.context.clone());
    let first = fixture.create("c1", "Operator", "Carrier").await;
    fixture.create("d1", "Device01", "Operator").await;

    let open = |user: &str, parties: &[&str]| {
        completions.completion_stream(tonic::Request::new(v2::CompletionStreamRequest {
            user_id: user.into(),
            parties: parties.iter().map(|p| (*p).to_owned()).collect(),
            begin_exclusive: 0,
        }))
    };
    let mut stream = open("gateway", &["Operator"])
        .await
        .expect("a stream")
        .into_inner();
    let mut next = async || {
        let item = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("a completion within 5 s")
            .expect("open")
            .expect("no error");
        match item.completion_response {
            Some(v2::completion_stream_response::CompletionResponse::Completion(c)) => c,
            other => panic!("not a completion: {other:?}"),
        }
    };
    let stored = next().await;
    assert_eq!(stored.command_id, "c1");
    assert_eq!(stored.update_id, first.update_id);
    assert_eq!(stored.offset, 1);
    assert_eq!(stored.user_id, "gateway");
    assert_eq!(stored.act_as, ["Operator"]);
    assert_eq!(stored.status.as_ref().map(|s| s.code), Some(0));

    // d1 acted as Device01: not this stream's. A live commit and a live rejection follow.
    let live = fixture.create("c2", "Operator", "Carrier").await;
    let committed = next().await;
    assert_eq!((committed.command_id.as_str(), committed.offset), ("c2", 3));
    assert_eq!(committed.update_id, live.update_id);
    fixture
        .commands()
        .submit_and_wait(tonic::Request::new(v2::SubmitAndWaitRequest {
            commands: create_request("c2", "Operator", "Carrier").commands,
        }))
        .await
        .expect_err("a duplicate");
    let rejected = next().await;
    assert_eq!(rejected.command_id, "c2");
    let status = rejected.status.expect("a status");
    assert_eq!(status.code, tonic::Code::AlreadyExists as i32);
    assert!(status.message.starts_with("DUPLICATE_COMMAND("));

    // Another user does not see the gateway's commands.
    let mut other_user = open("auditor", &["Operator"])
        .await
        .expect("a stream")
        .into_inner();
    let nothing = tokio::time::timeout(Duration::from_millis(200), other_user.next()).await;
    assert!(
        nothing.is_err(),
        "another user's stream stays quiet: {nothing:?}"
    );

    let status = open("", &["Operator"]).await.err().expect("no user");
    assert!(status.message().contains("user_id: missing"));
    let status = open("gateway", &[]).await.err().expect("no party");
    assert!(status.message().contains("parties: missing"));
}

#[tokio::test]
async fn over_tcp_the_token_is_checked_latency_is_added_and_shutdown_ends_streams() {
    use daml_ledger_api::v2::command_service_client::CommandServiceClient;
    use daml_ledger_api::v2::state_service_client::StateServiceClient;
    use daml_ledger_api::v2::update_service_client::UpdateServiceClient;

    let ledger: Arc<dyn ServableLedger> =
        Arc::new(EmbeddedLedger::in_memory(catalog(), Clock::System));
    let settings = SandboxSettings {
        token: Some(AccessToken::new("t0ken").expect("valid")),
        submission_latency: Duration::from_millis(150),
        known_templates: None,
        participant_id: String::new(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(Sandbox::new(ledger, settings).serve(listener, async move {
        let _ = stopped.await;
    }));
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{address}"))
        .expect("uri")
        .connect()
        .await
        .expect("connects");
    fn with_token<T>(mut request: tonic::Request<T>) -> tonic::Request<T> {
        request
            .metadata_mut()
            .insert("authorization", "Bearer t0ken".parse().expect("ascii"));
        request
    }

    let mut state = StateServiceClient::new(channel.clone());
    let status = state
        .get_ledger_end(v2::GetLedgerEndRequest {})
        .await
        .expect_err("no token");
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
    let mut wrong = tonic::Request::new(v2::GetLedgerEndRequest {});
    wrong
        .metadata_mut()
        .insert("authorization", "Bearer other".parse().expect("ascii"));
    assert_eq!(
        state
            .get_ledger_end(wrong)
            .await
            .expect_err("wrong token")
            .code(),
        tonic::Code::Unauthenticated
    );

    let mut updates = UpdateServiceClient::new(channel.clone());
    let mut tail = updates
        .get_updates(with_token(tonic::Request::new(v2::GetUpdatesRequest {
            begin_exclusive: 0,
            end_inclusive: None,
            update_format: update_format(&["Operator"]),
        })))
        .await
        .expect("a stream")
        .into_inner();

    let started = Instant::now();
    let response = CommandServiceClient::new(channel.clone())
        .submit_and_wait(with_token(tonic::Request::new(v2::SubmitAndWaitRequest {
            commands: create_request("c1", "Operator", "Carrier").commands,
        })))
        .await
        .expect("committed")
        .into_inner();
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "latency is added"
    );
    assert_eq!(response.completion_offset, 1);
    let end = state
        .get_ledger_end(with_token(tonic::Request::new(v2::GetLedgerEndRequest {})))
        .await
        .expect("with the token")
        .into_inner();
    assert_eq!(end.offset, 1);
    let first = tokio::time::timeout(Duration::from_secs(5), tail.message())
        .await
        .expect("in time")
        .expect("no error")
        .expect("an update");
    assert!(
        matches!(first.update, Some(v2::get_updates_response::Update::Transaction(ref tx)) if tx.offset == 1)
    );

    stop.send(()).expect("the server listens for shutdown");
    let ended = tokio::time::timeout(Duration::from_secs(5), tail.message())
        .await
        .expect("the live tail ends on shutdown");
    assert!(matches!(ended, Ok(None)), "{ended:?}");
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the server returns")
        .expect("no panic")
        .expect("no error");
}

#[tokio::test]
async fn reading_history_a_compaction_pruned_is_failed_precondition_participant_pruned_data_accessed()
 {
    let dir = tempfile::tempdir().expect("temp dir");
    let (ledger, _) = EmbeddedLedger::open(
        &dir.path().join("ledger.journal"),
        catalog(),
        Clock::Fixed(1_764_000_000_000_000),
    )
    .await
    .expect("journal");
    let ledger = Arc::new(ledger);
    let fixture = Fixture::over(ledger.clone());
    let updates = SandboxUpdateService::new(fixture.context.clone());
    let first = fixture.create("c1", "Operator", "Carrier").await;
    let contract = created(&first, 0).contract_id.clone();
    fixture.exercise("x1", &contract, "Cancel").await;
    fixture.create("c2", "Operator", "Carrier").await;
    ledger.set_deduplication_window(Duration::ZERO);
    ledger.compact().await.expect("compact");
    assert_eq!(ledger.readable_from(), 3);

    let pruned = |status: tonic::Status, requested: i64| {
        assert_eq!(status.code(), tonic::Code::FailedPrecondition, "{status:?}");
        assert_eq!(
            error_id_of(&status).as_deref(),
            Some("PARTICIPANT_PRUNED_DATA_ACCESSED"),
            "{status:?}"
        );
        assert!(
            status
                .message()
                .contains(&format!("offset {requested} precedes the pruned offset 3")),
            "{status:?}"
        );
    };
    for begin in [0, 2] {
        let status = updates
            .get_updates(tonic::Request::new(v2::GetUpdatesRequest {
                begin_exclusive: begin,
                end_inclusive: None,
                update_format: update_format(&["Operator"]),
            }))
            .await
            .err()
            .expect("refused");
        pruned(status, begin);
    }
    let status = updates
        .get_update_by_offset(tonic::Request::new(v2::GetUpdateByOffsetRequest {
            offset: 2,
            update_format: update_format(&["Operator"]),
        }))
        .await
        .expect_err("offset 2 was pruned");
    pruned(status, 2);
    // The ACS at an offset before the end is rebuilt from history, which is gone.
    let status = acs(&fixture, 2, event_format(&["Operator"]))
        .await
        .expect_err("refused");
    assert_eq!(
        error_id_of(&status).as_deref(),
        Some("PARTICIPANT_PRUNED_DATA_ACCESSED")
    );

    // From the snapshot on, and the ACS now, are served as before.
    let mut stream = updates
        .get_updates(tonic::Request::new(v2::GetUpdatesRequest {
            begin_exclusive: 3,
            end_inclusive: None,
            update_format: update_format(&["Operator"]),
        }))
        .await
        .expect("a stream from the snapshot")
        .into_inner();
    fixture.create("c3", "Operator", "Carrier").await;
    assert_eq!(next_update(&mut stream).await.offset, 4);
    assert_eq!(
        acs(&fixture, 0, event_format(&["Operator"]))
            .await
            .expect("the ACS now")
            .len(),
        2
    );
}
