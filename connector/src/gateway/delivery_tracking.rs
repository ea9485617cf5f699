//! What the gateway keeps of one delivery for the request lookup and the run history: its place among the
//! in-flight requests while it is unsettled, the names its history entry will carry (read from the body the session
//! parsed; an action's or read's workflow from the contract index), and the entry itself, which the settling
//! completes with the time and the latency just before the flush that makes it durable with the outcomes.

use std::time::Instant;

use message_schema::error_code::ErrorCode;
use message_schema::ingress::IngressRequest;
use message_schema::parse::IngressError;
use uuid::Uuid;

use super::in_flight_requests::{InFlightEntry, InFlightRequests};
use crate::outcome_store::{HistoryEntry, RequestOutcome};
use crate::processor::{Disposition, Processed, Processor};

/// The workflow of a lineage the contract index holds.
fn lineage_workflow(processor: &Processor, linear_id: &Uuid) -> Option<String> {
    let index = processor.index();
    // A poisoned lock only means a panic elsewhere while the index was updated; reading a name from it is harmless.
    let index = index.read().unwrap_or_else(|e| e.into_inner());
    let template = &index.get(linear_id)?.template_id;
    processor
        .mapping()
        .workflow_for_template(template)
        .map(|workflow| workflow.name.clone())
}

/// A delivery's tracking, from its arrival to its settling.
#[derive(Debug)]
pub struct Tracking {
    /// When the delivery arrived: the latency is measured from here.
    started: Instant,
    /// The requestId when it is the request's identity (parsed, or read whole from a malformed body).
    request_id: Option<String>,
    message_name: Option<&'static str>,
    workflow: Option<String>,
    function: Option<String>,
    /// The contract lineage an action or read names; its workflow is the one of the lineage's template.
    lineage: Option<Uuid>,
    /// Held until the delivery is settled; dropped with it.
    in_flight: Option<InFlightEntry>,
}

impl Tracking {
    /// Tracks a delivery that arrived at `started`; nothing is known of its body yet.
    pub fn arrived(started: Instant) -> Self {
        Self {
            started,
            request_id: None,
            message_name: None,
            workflow: None,
            function: None,
            lineage: None,
            in_flight: None,
        }
    }

    /// When the delivery arrived.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// What its parsed body says; a request is registered as in flight.
    pub fn parsed(
        self,
        parsed: &Result<IngressRequest, IngressError>,
        registry: &InFlightRequests,
        processor: &Processor,
    ) -> Self {
        match parsed {
            Ok(request) => {
                let (workflow, function, lineage) = match request {
                    IngressRequest::Create(r) => (Some(r.workflow_name.clone()), None, None),
                    IngressRequest::Action(r) => (
                        None,
                        Some(r.workflow_function_name.clone()),
                        Some(r.contract_ledger_identifier),
                    ),
                    IngressRequest::Read(r) => (None, None, Some(r.contract_ledger_identifier)),
                };
                Self {
                    started: self.started,
                    request_id: Some(request.request_id().to_owned()),
                    message_name: Some(request.message_name()),
                    workflow: workflow
                        .or_else(|| lineage.and_then(|l| lineage_workflow(processor, &l))),
                    function,
                    lineage,
                    in_flight: Some(registry.enter(request.request_id())),
                }
            }
            // A cut requestId names the request for a person but is not its key: no entry under it.
            Err(error) if !error.request_id_cut => Self {
                request_id: error.request_id.clone(),
                ..self
            },
            Err(_) => self,
        }
    }

    /// The history entry this delivery's processing makes, its time and latency still to be filled in; none for a
    /// replay (the entry of its first processing stands), for dispositions that publish nothing, and for a message
    /// without a readable requestId.
    pub fn history_entry(
        self,
        processed: &Processed,
        processor: &Processor,
    ) -> (Option<HistoryEntry>, Option<InFlightEntry>) {
        let Tracking {
            started: _,
            request_id,
            message_name,
            workflow,
            function,
            lineage,
            in_flight,
        } = self;
        let (outcome, error_code, dead_lettered) = match &processed.disposition {
            Disposition::Completed => match processed.failure_code {
                Some(code) => (RequestOutcome::Failure, Some(code), false),
                None => (RequestOutcome::Committed, None, false),
            },
            Disposition::Malformed { code, .. } => {
                (RequestOutcome::Failure, Some(code.code()), true)
            }
            Disposition::Exhausted { .. } => (
                RequestOutcome::Failure,
                Some(ErrorCode::Unavailable.code()),
                true,
            ),
            Disposition::Poisoned { .. } => (
                RequestOutcome::Failure,
                Some(ErrorCode::Internal.code()),
                true,
            ),
            Disposition::Replayed
            | Disposition::Halted { .. }
            | Disposition::Abandoned { .. }
            | Disposition::StorageFailed { .. } => return (None, in_flight),
        };
        // A poisoned redelivery is not parsed again; its requestId was read leniently, whole or not at all.
        let request_id = match (&processed.disposition, request_id) {
            (_, Some(id)) => id,
            (Disposition::Poisoned { .. }, None) => match &processed.request_id {
                Some(id) => id.clone(),
                None => return (None, in_flight),
            },
            (_, None) => return (None, in_flight),
        };
        // A lineage created by a request processed alongside this one (per-contract ordering) is indexed by now.
        let workflow = workflow.or_else(|| lineage.and_then(|l| lineage_workflow(processor, &l)));
        let entry = HistoryEntry {
            request_id,
            message_name: message_name.map(str::to_owned),
            workflow,
            function,
            outcome,
            error_code,
            dead_lettered,
            processed_at_ms: 0,
            latency_ms: None,
        }
        .bounded();
        (Some(entry), in_flight)
    }
}
