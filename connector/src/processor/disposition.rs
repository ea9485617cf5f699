//! The types between the processor's rooms: what a request room decided (an outcome at once, or a sequenced command
//! with the recipe for its egress, which the room of its kind builds once the transaction is durable), a request
//! between its two phases (staged), the processed result, and the disposition the transport acts on (publish and
//! ack, dead-letter, stop).

use message_schema::egress::EgressMessage;
use message_schema::error_code::ErrorCode;
use message_schema::ingress::Parameter;
use uuid::Uuid;

use super::in_flight::InFlightGuard;
use crate::contract_index::IndexedContract;
use crate::encoded_egress::EncodedEgress;
use crate::outcome_store::StoreError;
use crate::request_faults::RequestFaultKind;
use ledger_port::PendingCommit;

/// What the caller must do with the original message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Processed; its outcome (success or Failure) is recorded. Publish the egress, then ack.
    Completed,
    /// Already processed before: the recorded egress is returned. Publish it again (same message ids), then ack.
    Replayed,
    /// Not a valid request: publish its Failure, dead-letter the original, ack.
    Malformed { code: ErrorCode, reason: String },
    /// The ledger stayed unavailable: publish Failure 5030, dead-letter the original, ack. Not recorded, so the
    /// original can be re-sent unchanged once the ledger is back.
    Exhausted { reason: String },
    /// The gateway cannot work (authentication fault, outcome store failure): publish nothing, do not ack, stop.
    Halted { reason: String },
    /// Processing it failed inside the gateway (a panic), or it kept ending the session: publish Failure 5000,
    /// dead-letter the original with code 5000, ack. Not recorded, so it can be re-sent once the fault is fixed.
    Poisoned { reason: String },
    /// An injected test fault: publish nothing, do not ack, end the broker session as a lost connection would.
    Abandoned { reason: String },
    /// The gateway's own storage failed (its state store, or the journal of its in-process ledger — a full disk):
    /// nothing more can be made durable. Publish nothing, do not ack; the gateway stops and exits.
    StorageFailed { reason: String },
}

impl Disposition {
    /// What a failure of the state store means for the request in hand: a store out of reach (a database server
    /// down) halts processing, and the gateway waits until it answers again, as for a ledger outage; any other
    /// failure is the gateway's own storage failing, and it stops.
    pub fn of_store_error(error: &StoreError) -> Self {
        let reason = error.to_string();
        if error.unavailable {
            Disposition::Halted { reason }
        } else {
            Disposition::StorageFailed { reason }
        }
    }
}

/// One processed message.
#[derive(Debug, Clone)]
pub struct Processed {
    pub request_id: Option<String>,
    /// The ingress messageName, or `Malformed` when it could not be read.
    pub message_name: &'static str,
    pub egress: Vec<EncodedEgress>,
    pub disposition: Disposition,
    /// For a [`Disposition::Completed`] outcome that is a Failure, its errorCode (the run history files it under
    /// it); none for a success and for every other disposition, which names its own code.
    pub failure_code: Option<u16>,
}

/// A request after [`Processor::begin`]: either its outcome is already known, or its ledger command is sequenced and
/// [`Processor::finish`] completes it once the transaction is durable.
#[derive(Debug)]
pub struct Staged {
    pub(in crate::processor) request_id: Option<String>,
    pub(in crate::processor) message_name: &'static str,
    pub(in crate::processor) step: Step,
    /// The errorCode of a Failure decided in phase 1 (see [`Processed::failure_code`]).
    pub(in crate::processor) failure_code: Option<u16>,
}

pub(in crate::processor) enum Step {
    /// Known in phase 1: a replay, a Failure (recorded already), a read, a malformed message, exhaustion, a halt.
    Done(Vec<EncodedEgress>, Disposition),
    /// Sequenced; the outcome is built and recorded once the transaction is durable. The guard keeps a second copy
    /// of the request waiting until then.
    Committing(Box<Commit>, InFlightGuard),
}

/// A sequenced command and how to build its egress once it is committed.
pub(in crate::processor) struct Commit {
    pub(in crate::processor) pending: PendingCommit,
    pub(in crate::processor) egress: CommittedEgress,
    /// An injected test fault once the transaction is committed: panic, or abort the process.
    pub(in crate::processor) after_commit: Option<RequestFaultKind>,
}

impl Staged {
    /// The request's id, when one could be read.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// Why processing must halt, when phase 1 already knows it must.
    pub fn halted(&self) -> Option<&str> {
        match &self.step {
            Step::Done(_, Disposition::Halted { reason }) => Some(reason),
            _ => None,
        }
    }

    /// Why the gateway's storage failed, when phase 1 already knows it did.
    pub fn storage_failed(&self) -> Option<&str> {
        match &self.step {
            Step::Done(_, Disposition::StorageFailed { reason }) => Some(reason),
            _ => None,
        }
    }

    /// Why the broker session must end, when phase 1 already knows it must (an injected fault).
    pub fn abandoned(&self) -> Option<&str> {
        match &self.step {
            Step::Done(_, Disposition::Abandoned { reason }) => Some(reason),
            _ => None,
        }
    }
}

impl std::fmt::Debug for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Done(egress, disposition) => f
                .debug_struct("Done")
                .field("egress", &egress.len())
                .field("disposition", disposition)
                .finish(),
            Step::Committing(commit, _) => f
                .debug_struct("Committing")
                .field("pending", &commit.pending)
                .finish(),
        }
    }
}

/// What a committed request's egress is built from, besides its transaction.
pub(in crate::processor) enum CommittedEgress {
    Create {
        linear_id: Uuid,
        linear_id_field: String,
        party: String,
    },
    Action {
        function_name: String,
        parameters: Vec<Parameter>,
        linear_id_field: String,
        prior: IndexedContract,
        party: String,
    },
}

/// What mapping and sequencing decided.
pub(in crate::processor) enum Decision {
    /// The outcome, without a ledger effect to wait for (a Failure or a read).
    Egress(Vec<EgressMessage>),
    /// A sequenced command.
    Committing(Box<Commit>),
}
