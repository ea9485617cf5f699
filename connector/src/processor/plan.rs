//! A request's plan: what `Processor::decide` would do with it, decided by the same code (the acting party, the
//! room's mapping), without submitting anything. The rooms build their submissions from a [`Mapped`], and
//! `connector explain` shows a [`Plan`], so an explanation cannot drift from what runs.

use ledger_port::Command;
use message_schema::egress::EgressMessage;
use message_schema::ingress::IngressRequest;
use uuid::Uuid;

use super::{Processor, Sender};
use crate::contract_index::IndexedContract;
use crate::mapping::{FunctionMapping, MappingError, Workflow};

/// A create or action request mapped onto its workflow: the command a room submits.
#[derive(Debug, Clone)]
pub struct Mapped<'a> {
    pub workflow: &'a Workflow,
    /// The function an action names (none for a create).
    pub function: Option<&'a FunctionMapping>,
    /// The lineage: derived from the requestId for a create, named by an action.
    pub linear_id: Uuid,
    /// The lineage's current contract an action exercises (none for a create).
    pub prior: Option<IndexedContract>,
    pub command: Command,
}

/// What a request would become now.
#[derive(Debug)]
pub enum Plan<'a> {
    /// Refused before anything was looked up: its acting party.
    Refused(MappingError),
    /// The command submitted as `party`.
    Submit {
        party: String,
        mapped: Box<Mapped<'a>>,
    },
    /// Refused by the mapping, acting as `party`.
    Unmapped { party: String, error: MappingError },
    /// A read, answered at once from the index (no ledger command): its answer.
    Read {
        party: String,
        answer: Vec<EgressMessage>,
    },
}

impl Processor {
    /// The plan for a request from `sender`, on the index as it is now. An action on a lineage missing from the index
    /// is planned as its 4040; the processor, given a redelivered message, first asks the ledger whether this very
    /// request archived it (a repeat of a committed request), which a plan does not.
    pub fn plan(&self, request: &IngressRequest, sender: &Sender) -> Plan<'_> {
        let party = match self.acting_party(request.user_chain_identifier(), sender) {
            Ok(party) => party,
            Err(error) => return Plan::Refused(error),
        };
        let mapped = match request {
            IngressRequest::Create(r) => self.map_create(r, &party),
            IngressRequest::Action(r) => self.map_action(r),
            IngressRequest::Read(r) => {
                let answer = self.read(r, &party);
                return Plan::Read { party, answer };
            }
        };
        match mapped {
            Ok(mapped) => Plan::Submit {
                party,
                mapped: Box::new(mapped),
            },
            Err(error) => Plan::Unmapped { party, error },
        }
    }
}
