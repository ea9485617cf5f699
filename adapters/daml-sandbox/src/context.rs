//! What every service of one sandbox shares: the ledger, the settings, the stakeholder index, the completion feed
//! and the shutdown signal that ends open streams.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt};
use ledger_port::{ServableLedger, TemplateId};
use tokio::sync::watch;

use crate::completion_feed::CompletionFeed;
use crate::request_errors::ledger_failure;
use crate::stakeholders::StakeholderIndex;

/// A server-streaming response.
pub type ResponseStream<T> = Pin<Box<dyn Stream<Item = Result<T, tonic::Status>> + Send>>;

/// Shared by the services.
pub struct Context {
    pub ledger: Arc<dyn ServableLedger>,
    pub known_templates: Option<Vec<TemplateId>>,
    pub submission_latency: Duration,
    pub stakeholders: StakeholderIndex,
    pub completions: CompletionFeed,
    shutdown: watch::Receiver<bool>,
}

impl Context {
    pub fn new(
        ledger: Arc<dyn ServableLedger>,
        known_templates: Option<Vec<TemplateId>>,
        submission_latency: Duration,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Self {
            stakeholders: StakeholderIndex::new(ledger.clone()),
            ledger,
            known_templates,
            submission_latency,
            completions: CompletionFeed::default(),
            shutdown,
        }
    }

    /// The templates filters are checked against, if the ledger's are known.
    pub fn known(&self) -> Option<&[TemplateId]> {
        self.known_templates.as_deref()
    }

    /// The current ledger end.
    pub async fn ledger_end(&self) -> Result<i64, tonic::Status> {
        self.ledger
            .ledger_end()
            .await
            .map_err(|e| ledger_failure(&e))
    }

    /// `stream`, ended when the sandbox shuts down, so that live tails do not hold the server open.
    pub fn until_shutdown<T: Send + 'static>(
        &self,
        stream: impl Stream<Item = Result<T, tonic::Status>> + Send + 'static,
    ) -> ResponseStream<T> {
        let mut shutdown = self.shutdown.clone();
        let stopped = async move {
            // An error means the sender is gone: the sandbox is gone too.
            let _ = shutdown.wait_for(|stop| *stop).await;
        };
        Box::pin(stream.take_until(Box::pin(stopped)))
    }
}
