//! `UpdateService`: the transaction stream (stored transactions after `begin_exclusive`, then a live tail unless
//! `end_inclusive` bounds it) and single updates by id or offset, each in the requested shape and filtered.
//!
//! Transactions with no event visible to the request are left out of the stream; asked for by id or offset they
//! are NOT_FOUND / `UPDATE_NOT_FOUND`, as on a participant. No offset checkpoints are emitted.

use std::sync::Arc;

use daml_ledger_api::v2;
use daml_ledger_api::v2::update_service_server::UpdateService;
use futures::StreamExt;
use ledger_port::{Transaction, UpdateFilter, UpdateStream};

use crate::context::{Context, ResponseStream};
use crate::request_errors::{check_offset, invalid, ledger_failure, missing, update_not_found};
use crate::transaction_view::TransactionView;

/// The update service.
pub struct SandboxUpdateService {
    context: Arc<Context>,
}

impl SandboxUpdateService {
    pub fn new(context: Arc<Context>) -> Self {
        Self { context }
    }

    /// A single update as `view` sees it, or NOT_FOUND when it is absent or nothing of it is visible.
    async fn single(
        &self,
        tx: Option<Transaction>,
        view: &TransactionView,
        what: String,
    ) -> Result<tonic::Response<v2::GetUpdateResponse>, tonic::Status> {
        let tx = tx.ok_or_else(|| update_not_found(&what))?;
        let transaction = view
            .render(&tx, &self.context.stakeholders)
            .await
            .map_err(|e| ledger_failure(&e))?;
        if transaction.events.is_empty() {
            return Err(update_not_found(&what));
        }
        Ok(tonic::Response::new(v2::GetUpdateResponse {
            update: Some(v2::get_update_response::Update::Transaction(transaction)),
        }))
    }
}

/// Where a stream of updates stands.
struct Cursor {
    source: UpdateStream,
    view: TransactionView,
    context: Arc<Context>,
    end_inclusive: Option<i64>,
    finished: bool,
}

impl Cursor {
    /// The next update to send, skipping transactions the view sees nothing of; `None` at the end.
    async fn next(&mut self) -> Option<Result<v2::GetUpdatesResponse, tonic::Status>> {
        while !self.finished {
            let tx = match self.source.next().await? {
                Ok(tx) => tx,
                Err(error) => {
                    self.finished = true;
                    return Some(Err(ledger_failure(&error)));
                }
            };
            if let Some(end) = self.end_inclusive {
                if tx.offset > end {
                    return None;
                }
                // Stop after the last offset asked for, without waiting for a later transaction to show up.
                self.finished = tx.offset >= end;
            }
            match self.view.render(&tx, &self.context.stakeholders).await {
                Ok(transaction) if transaction.events.is_empty() => {}
                Ok(transaction) => {
                    return Some(Ok(v2::GetUpdatesResponse {
                        update: Some(v2::get_updates_response::Update::Transaction(transaction)),
                    }));
                }
                Err(error) => {
                    self.finished = true;
                    return Some(Err(ledger_failure(&error)));
                }
            }
        }
        None
    }
}

#[tonic::async_trait]
impl UpdateService for SandboxUpdateService {
    type GetUpdatesStream = ResponseStream<v2::GetUpdatesResponse>;

    async fn get_updates(
        &self,
        request: tonic::Request<v2::GetUpdatesRequest>,
    ) -> Result<tonic::Response<Self::GetUpdatesStream>, tonic::Status> {
        let request = request.into_inner();
        let view = TransactionView::from_update_format(
            request.update_format.as_ref(),
            "update_format",
            self.context.known(),
        )?;
        let end = self.context.ledger_end().await?;
        check_offset("begin_exclusive", request.begin_exclusive, end)?;
        if let Some(end_inclusive) = request.end_inclusive {
            check_offset("end_inclusive", end_inclusive, end)?;
            if end_inclusive < request.begin_exclusive {
                return Err(invalid(
                    "end_inclusive",
                    format!(
                        "{end_inclusive} is before begin_exclusive {}; expected an offset at or after it",
                        request.begin_exclusive
                    ),
                ));
            }
            if end_inclusive == request.begin_exclusive {
                return Ok(tonic::Response::new(
                    self.context.until_shutdown(futures::stream::empty()),
                ));
            }
        }
        let source = self
            .context
            .ledger
            .updates(request.begin_exclusive, &UpdateFilter::default())
            .await
            .map_err(|e| ledger_failure(&e))?;
        let cursor = Cursor {
            source,
            view,
            context: self.context.clone(),
            end_inclusive: request.end_inclusive,
            finished: false,
        };
        let stream = futures::stream::unfold(cursor, |mut cursor| async move {
            cursor.next().await.map(|item| (item, cursor))
        });
        Ok(tonic::Response::new(self.context.until_shutdown(stream)))
    }

    async fn get_update_by_offset(
        &self,
        request: tonic::Request<v2::GetUpdateByOffsetRequest>,
    ) -> Result<tonic::Response<v2::GetUpdateResponse>, tonic::Status> {
        let request = request.into_inner();
        let view = TransactionView::from_update_format(
            request.update_format.as_ref(),
            "update_format",
            self.context.known(),
        )?;
        if request.offset <= 0 {
            return Err(invalid(
                "offset",
                format!(
                    "{} is not positive; expected the offset of an update",
                    request.offset
                ),
            ));
        }
        let tx = self
            .context
            .ledger
            .transaction_by_offset(request.offset)
            .await
            .map_err(|e| ledger_failure(&e))?;
        self.single(tx, &view, format!("offset {}", request.offset))
            .await
    }

    async fn get_update_by_id(
        &self,
        request: tonic::Request<v2::GetUpdateByIdRequest>,
    ) -> Result<tonic::Response<v2::GetUpdateResponse>, tonic::Status> {
        let request = request.into_inner();
        let view = TransactionView::from_update_format(
            request.update_format.as_ref(),
            "update_format",
            self.context.known(),
        )?;
        if request.update_id.is_empty() {
            return Err(missing("update_id", "the id of a committed update"));
        }
        let tx = self
            .context
            .ledger
            .transaction_by_update_id(&request.update_id)
            .await
            .map_err(|e| ledger_failure(&e))?;
        self.single(tx, &view, format!("update id {:?}", request.update_id))
            .await
    }
}
