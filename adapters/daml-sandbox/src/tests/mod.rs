//! The services run in-process against a real in-memory embedded ledger: submission, duplicates, formats and
//! filters, the ACS at past offsets, update streams with live tails, completions, and — over TCP on 127.0.0.1 —
//! the token check and shutdown; and, over a journaled ledger, reads of history a compaction pruned.
//!
//! This module holds the shared set-up (a template catalog, a fixture over the services' context, request builders,
//! readers of the ACS and of update streams); each submodule tests one service or concern.

mod active_contracts;
mod commands;
mod completions;
mod over_tcp;
mod pruned_history;
mod updates;

use std::sync::Arc;
use std::time::Duration;

use daml_ledger_api::v2::command_service_server::CommandService;
use daml_ledger_api::v2::state_service_server::StateService;
use daml_ledger_api::{record_to_proto, v2, value_to_proto};
use embedded_ledger::{
    ChoiceKind, ChoiceSpec, EmbeddedLedger, FieldValue, TemplateCatalog, TemplateSpec,
};
use futures::StreamExt;
use ledger_port::{Clock, LedgerValue, Record, ServableLedger, TemplateId};
use tokio::sync::watch;

use crate::command_service::SandboxCommandService;
use crate::context::Context;
use crate::state_service::SandboxStateService;

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
