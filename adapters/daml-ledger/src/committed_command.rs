//! Finding a command the participant already committed without submitting anything: its successful completion
//! (the same scan a DUPLICATE_COMMAND answer uses), the transaction by update id, and the contracts it consumed
//! from the active contract set just before it (`GetActiveContracts` at the transaction's offset minus one), since
//! an exercised event does not carry the contract's arguments.

use daml_ledger_api::v2::{GetActiveContractsRequest, TransactionFormat};
use futures::StreamExt;
use ledger_port::{
    CommittedCommand, CreatedEvent, ErrorClass, Event, LedgerError, TemplateId, Transaction,
};

use crate::active_set_stream;
use crate::duplicate::{
    CompletionScan, ScanEnd, find_update_id, ledger_end, transaction_by_update_id,
};
use crate::requests::event_format;
use crate::rpc::{CallKind, Rpc};

/// What the search needs from the adapter.
pub struct Search<'a> {
    pub rpc: &'a Rpc,
    pub user_id: &'a str,
    pub format: TransactionFormat,
    /// The gateway's forms of the mapped templates.
    pub templates: &'a [TemplateId],
    /// The parties whose view the consumed contracts are read in.
    pub reading: &'a [String],
}

/// The transaction `command_id` committed for `act_as`, with the contracts it consumed that the participant still
/// shows; `None` when the completions up to the current ledger end hold none for it, an error when the stream
/// stopped short of that end.
pub async fn committed_command(
    search: Search<'_>,
    command_id: &str,
    act_as: &[String],
) -> Result<Option<CommittedCommand>, LedgerError> {
    let end = ledger_end(search.rpc).await?;
    let scan = CompletionScan::for_command(command_id, act_as, end);
    let update_id = match find_update_id(search.rpc, search.user_id, act_as, &scan).await? {
        ScanEnd::Found(update_id) => update_id,
        ScanEnd::NotThere => return Ok(None),
        // "Not found" here would let the gateway answer 4040 for a request that may have committed.
        ScanEnd::Unsure => {
            return Err(LedgerError::transient(format!(
                "CompletionStream: the completions of command id {command_id:?} went quiet before reaching the \
                 ledger end {end}, so whether it committed is not known yet"
            )));
        }
    };
    let transaction = transaction_by_update_id(
        search.rpc,
        &update_id,
        command_id,
        search.format.clone(),
        search.templates,
    )
    .await?;
    let consumed = match consumed_before(&search, &transaction).await {
        Ok(consumed) => consumed,
        Err(error) if error.class == ErrorClass::Transient => return Err(error),
        // A participant that pruned the offset cannot show them; the answer is rebuilt without them.
        Err(error) => {
            tracing::warn!(command_id, error = %error.message, "the contracts a committed command consumed cannot be read back");
            Vec::new()
        }
    };
    Ok(Some(CommittedCommand {
        transaction,
        consumed,
    }))
}

/// The created events of the contracts `transaction` archived, read from the active set just before it.
async fn consumed_before(
    search: &Search<'_>,
    transaction: &Transaction,
) -> Result<Vec<CreatedEvent>, LedgerError> {
    let wanted = CommittedCommand::consumed_ids(transaction);
    if wanted.is_empty() || transaction.offset <= 1 {
        return Ok(Vec::new());
    }
    let mut templates: Vec<TemplateId> = Vec::new();
    for event in &transaction.events {
        let template = match event {
            Event::Exercised(x) if x.consuming => &x.template_id,
            Event::Archived(a) => &a.template_id,
            _ => continue,
        };
        if !templates.contains(template) {
            templates.push(template.clone());
        }
    }
    let request = search.rpc.request(
        GetActiveContractsRequest {
            active_at_offset: transaction.offset - 1,
            event_format: Some(event_format(search.reading, &templates)),
        },
        CallKind::Stream,
    )?;
    let mut client = search.rpc.state();
    let responses = search
        .rpc
        .finish(
            active_set_stream::CALL,
            client.get_active_contracts(request),
        )
        .await?;
    let mut contracts = active_set_stream::active_contracts(
        search.rpc.clone(),
        responses,
        search.templates.to_vec(),
    );
    let mut consumed = Vec::with_capacity(wanted.len());
    while let Some(contract) = contracts.next().await {
        let contract = contract?;
        if wanted.contains(&contract.created.contract_id.as_str()) {
            consumed.push(contract.created);
            if consumed.len() == wanted.len() {
                break;
            }
        }
    }
    Ok(consumed)
}
