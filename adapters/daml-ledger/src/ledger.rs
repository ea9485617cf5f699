//! [`DamlLedger`]: the ledger port over a Daml participant's Ledger API v2.
//!
//! `submit` is `CommandService.SubmitAndWaitForTransaction` (a duplicate command id resolves to the original
//! transaction, see `duplicate`); `active_contract_stream` is `StateService.GetActiveContracts` at the ledger end;
//! `updates` is `UpdateService.GetUpdates` with a live tail; `ledger_end` is `StateService.GetLedgerEnd`. Every
//! failure is classified by the table shared with `connector sandbox`.
//!
//! Daml's active contract set does not say which transaction created a contract, so `ActiveContract::
//! created_update_id` is left empty; finding it would cost one `GetUpdateByOffset` per contract at start-up, and
//! the gateway only uses it as the `transactionId` of swept ContractMessages.

use std::sync::{Arc, RwLock};

use daml_ledger_api::transaction_from_proto;
use daml_ledger_api::v2::{
    self, GetActiveContractsRequest, GetLedgerEndRequest, GetUpdatesRequest,
    SubmitAndWaitForTransactionRequest, get_updates_response::Update,
};
use futures::StreamExt;
use ledger_port::{
    ActiveContractStream, Command, CommittedCommand, Ledger, LedgerError, RejectionReason,
    Submission, TemplateId, Transaction, UpdateFilter, UpdateStream,
};

use crate::active_set_stream;
use crate::connection::open_channel;
use crate::duplicate::{is_duplicate, original_transaction};
use crate::package_names::prefer_configured_forms;
use crate::requests::{commands, event_format, reading_parties, transaction_format, update_format};
use crate::rpc::{CallKind, Next, Rpc, conversion_failed};
use crate::settings::{DamlSettings, SettingsError};
use crate::token::TokenFile;

/// What `ledger_type()` reports, and egress carries as `additionalInformation.ledgerType`.
pub const LEDGER_TYPE: &str = "daml";

const SUBMIT: &str = "SubmitAndWaitForTransaction";

/// A Daml participant, as the gateway's ledger.
#[derive(Debug)]
pub struct DamlLedger {
    rpc: Rpc,
    user_id: String,
    /// `ledger.daml.read_as`: added to every read and to `Commands.read_as`.
    read_as: Vec<String>,
    /// The parties read as when a filter names none (the gateway's party and its allowed request parties).
    parties: Vec<String>,
    /// Every template the gateway has asked about, in its configured form (see `package_names`).
    configured_templates: RwLock<Vec<TemplateId>>,
}

impl DamlLedger {
    /// Validates the settings, reads the TLS files and the token once — so a wrong path fails now, with its config
    /// path named — and opens a channel that connects on first use. Needs a Tokio runtime.
    pub fn connect(settings: &DamlSettings, parties: Vec<String>) -> Result<Self, SettingsError> {
        settings.validate()?;
        let channel = open_channel(settings)?;
        let token = settings
            .token_file
            .as_ref()
            .map(|path| Arc::new(TokenFile::new(path)));
        if let Some(token) = &token {
            token.header()?;
        }
        let mut unique: Vec<String> = Vec::with_capacity(parties.len());
        for party in parties {
            if !unique.contains(&party) {
                unique.push(party);
            }
        }
        Ok(Self {
            rpc: Rpc::new(channel, token, settings.call_timeout()),
            user_id: settings.user_id.clone(),
            read_as: settings.read_as.clone(),
            parties: unique,
            configured_templates: RwLock::new(Vec::new()),
        })
    }

    /// The participant's id (`PartyManagementService.GetParticipantId`), which names the ledger a gateway's state
    /// directory belongs to.
    pub async fn participant_id(&self) -> Result<String, LedgerError> {
        let request = self.rpc.request(
            daml_ledger_api::v2::admin::GetParticipantIdRequest {},
            CallKind::Unary,
        )?;
        let mut client = self.rpc.party_management();
        Ok(self
            .rpc
            .finish("GetParticipantId", client.get_participant_id(request))
            .await?
            .participant_id)
    }

    /// Asks the participant whether it knows `template`: a `GetActiveContracts` at the ledger end filtered on it,
    /// of which only the first answer is read. An unknown template or package is a permanent error with reason
    /// `NotFound` (`TEMPLATES_OR_INTERFACES_NOT_FOUND`) or `InvalidArgument` (e.g. no package in the id).
    pub async fn check_template(&self, template: &TemplateId) -> Result<(), LedgerError> {
        const CALL: &str = "GetActiveContracts";
        let end = self.ledger_end().await?;
        let parties = reading_parties(&[], &self.parties, &self.read_as);
        let request = self.rpc.request(
            GetActiveContractsRequest {
                active_at_offset: end,
                event_format: Some(event_format(&parties, std::slice::from_ref(template))),
            },
            CallKind::Stream,
        )?;
        let mut client = self.rpc.state();
        let mut stream = self
            .rpc
            .finish(CALL, client.get_active_contracts(request))
            .await?;
        match self
            .rpc
            .next(CALL, &mut stream, self.rpc.call_timeout())
            .await?
        {
            Next::Message(_) | Next::End => Ok(()),
            Next::Idle => Err(LedgerError::transient(format!(
                "{CALL}: no answer within {} ms",
                self.rpc.call_timeout().as_millis()
            ))),
        }
    }

    /// Remembers templates in the form the gateway names them.
    fn remember(&self, templates: &[TemplateId]) {
        let missing: Vec<&TemplateId> = {
            let known = self.read_templates();
            templates.iter().filter(|t| !known.contains(t)).collect()
        };
        if !missing.is_empty() {
            let mut known = self
                .configured_templates
                .write()
                .unwrap_or_else(|e| e.into_inner());
            for template in missing {
                if !known.contains(template) {
                    known.push(template.clone());
                }
            }
        }
    }

    fn read_templates(&self) -> std::sync::RwLockReadGuard<'_, Vec<TemplateId>> {
        // A poisoned lock only means a panic elsewhere mid-push; the list is still usable.
        self.configured_templates
            .read()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn templates(&self) -> Vec<TemplateId> {
        self.read_templates().clone()
    }

    fn reading(&self, filter: &UpdateFilter) -> Vec<String> {
        reading_parties(&filter.parties, &self.parties, &self.read_as)
    }
}

fn template_of(command: &Command) -> &TemplateId {
    match command {
        Command::Create { template_id, .. } | Command::Exercise { template_id, .. } => template_id,
    }
}

#[async_trait::async_trait]
impl Ledger for DamlLedger {
    async fn submit(&self, submission: Submission) -> Result<Transaction, LedgerError> {
        if submission.act_as.is_empty() {
            return Err(LedgerError::permanent(
                RejectionReason::InvalidArgument,
                format!("{SUBMIT}: the submission names no acting party"),
            ));
        }
        self.remember(std::slice::from_ref(template_of(&submission.command)));
        let format = transaction_format(event_format(&submission.act_as, &[]));
        let request = self.rpc.request(
            SubmitAndWaitForTransactionRequest {
                commands: Some(commands(&self.user_id, &self.read_as, &submission)),
                transaction_format: Some(format.clone()),
            },
            CallKind::Unary,
        )?;
        let mut client = self.rpc.commands();
        let response = match self
            .rpc
            .answer(SUBMIT, client.submit_and_wait_for_transaction(request))
            .await?
        {
            Ok(response) => response,
            Err(status) if is_duplicate(&status) => {
                tracing::info!(command_id = %submission.command_id, "duplicate command id; fetching the original transaction");
                return original_transaction(
                    &self.rpc,
                    &self.user_id,
                    &submission,
                    format,
                    &self.templates(),
                )
                .await;
            }
            Err(status) => return Err(self.rpc.error(SUBMIT, &status)),
        };
        let Some(mut transaction) = response.transaction else {
            return Err(conversion_failed(
                SUBMIT,
                "the response holds no transaction",
            ));
        };
        prefer_configured_forms(&mut transaction, &self.templates());
        transaction_from_proto(&transaction).map_err(|e| conversion_failed(SUBMIT, e))
    }

    /// `GetActiveContracts` at the ledger end, handed on contract by contract as the participant sends them.
    async fn active_contract_stream(
        &self,
        filter: &UpdateFilter,
    ) -> Result<ActiveContractStream, LedgerError> {
        self.remember(&filter.templates);
        let end = self.ledger_end().await?;
        let request = self.rpc.request(
            GetActiveContractsRequest {
                active_at_offset: end,
                event_format: Some(event_format(&self.reading(filter), &filter.templates)),
            },
            CallKind::Stream,
        )?;
        let mut client = self.rpc.state();
        let responses = self
            .rpc
            .finish(
                active_set_stream::CALL,
                client.get_active_contracts(request),
            )
            .await?;
        Ok(ActiveContractStream {
            offset: end,
            contracts: active_set_stream::active_contracts(
                self.rpc.clone(),
                responses,
                self.templates(),
            ),
        })
    }

    /// The completion scan and `GetActiveContracts` at the offset before the transaction
    /// ([`committed_command`](crate::committed_command)).
    async fn committed_command(
        &self,
        command_id: &str,
        act_as: &[String],
        filter: &UpdateFilter,
    ) -> Result<Option<CommittedCommand>, LedgerError> {
        self.remember(&filter.templates);
        let templates = self.templates();
        let reading = self.reading(filter);
        let search = crate::committed_command::Search {
            rpc: &self.rpc,
            user_id: &self.user_id,
            format: transaction_format(event_format(act_as, &[])),
            templates: &templates,
            reading: &reading,
        };
        crate::committed_command::committed_command(search, command_id, act_as).await
    }

    async fn ledger_end(&self) -> Result<i64, LedgerError> {
        let request = self.rpc.request(GetLedgerEndRequest {}, CallKind::Unary)?;
        let mut client = self.rpc.state();
        Ok(self
            .rpc
            .finish("GetLedgerEnd", client.get_ledger_end(request))
            .await?
            .offset)
    }

    async fn updates(
        &self,
        begin_exclusive: i64,
        filter: &UpdateFilter,
    ) -> Result<UpdateStream, LedgerError> {
        const CALL: &str = "GetUpdates";
        self.remember(&filter.templates);
        let format = transaction_format(event_format(&self.reading(filter), &filter.templates));
        let request = self.rpc.request(
            GetUpdatesRequest {
                begin_exclusive,
                end_inclusive: None,
                update_format: Some(update_format(format)),
            },
            CallKind::Stream,
        )?;
        let mut client = self.rpc.updates();
        let stream = self.rpc.finish(CALL, client.get_updates(request)).await?;
        let templates = self.templates();
        let classify = self.rpc.error_mapper();
        let transactions = stream.filter_map(move |item| {
            let transaction = match item {
                Ok(v2::GetUpdatesResponse {
                    update: Some(Update::Transaction(mut transaction)),
                }) => {
                    prefer_configured_forms(&mut transaction, &templates);
                    Some(
                        transaction_from_proto(&transaction)
                            .map_err(|e| conversion_failed(CALL, e)),
                    )
                }
                // Offset checkpoints (and anything else) carry no transaction.
                Ok(_) => None,
                Err(status) => Some(Err(classify(CALL, &status))),
            };
            std::future::ready(transaction)
        });
        Ok(transactions.boxed())
    }

    fn ledger_type(&self) -> &'static str {
        LEDGER_TYPE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn connect_validates_and_reads_the_token_once() {
        let e = DamlLedger::connect(&DamlSettings::new("localhost:6865", "gateway"), vec![])
            .expect_err("bad url");
        assert!(e.to_string().starts_with("ledger.daml.url: "), "{e}");

        let mut settings = DamlSettings::new("http://127.0.0.1:9", "gateway");
        settings.token_file = Some("/nonexistent/ledger.jwt".into());
        let e = DamlLedger::connect(&settings, vec![]).expect_err("no token file");
        assert!(
            e.to_string()
                .starts_with("ledger.daml.token_file: cannot use /nonexistent/ledger.jwt")
        );

        let ledger = DamlLedger::connect(
            &DamlSettings::new("http://127.0.0.1:9", "gateway"),
            vec!["Operator".into(), "Device01".into(), "Operator".into()],
        )
        .expect("lazy connect");
        assert_eq!(ledger.parties, ["Operator", "Device01"]);
        assert_eq!(ledger.ledger_type(), "daml");
    }

    #[tokio::test]
    async fn debug_output_never_holds_the_token() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("ledger.jwt");
        let token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJnYXRld2F5In0.c2lnbmF0dXJl";
        std::fs::write(&path, token).expect("write");
        let mut settings = DamlSettings::new("http://127.0.0.1:9", "gateway");
        settings.token_file = Some(path);
        let ledger = DamlLedger::connect(&settings, vec!["Operator".into()]).expect("connect");
        // Make sure a header was built and cached, then look at everything Debug can show.
        ledger.rpc.request((), CallKind::Unary).expect("request");
        let shown = format!("{ledger:?} {settings:?}");
        assert!(shown.contains("ledger.jwt"), "{shown}");
        assert!(!shown.contains(token) && !shown.contains("eyJ"), "{shown}");
    }

    #[tokio::test]
    async fn an_unreachable_participant_is_transient() {
        let mut settings = DamlSettings::new("http://127.0.0.1:9", "gateway");
        settings.call_timeout_ms = 2_000;
        let ledger = DamlLedger::connect(&settings, vec!["Operator".into()]).expect("connect");
        let e = ledger.ledger_end().await.expect_err("nothing listens");
        assert!(e.is_transient(), "{e:?}");
        assert!(e.message.starts_with("GetLedgerEnd: "), "{}", e.message);
    }

    #[test]
    fn templates_are_remembered_once_in_their_configured_form() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let _guard = runtime.enter();
        let ledger =
            DamlLedger::connect(&DamlSettings::new("http://127.0.0.1:9", "gateway"), vec![])
                .expect("connect");
        let a = TemplateId::parse("#cold-chain:Cold.Shipment:Shipment").expect("valid");
        let b = TemplateId::parse("Other:Thing").expect("valid");
        ledger.remember(&[a.clone(), b.clone()]);
        ledger.remember(std::slice::from_ref(&a));
        assert_eq!(ledger.templates(), [a, b]);
    }
}
