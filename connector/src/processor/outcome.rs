//! The outcome room: a request's egress encoded and recorded under its requestId, a Failure flagged to be made
//! durable before the next ledger command (a Failure depends on ledger state; a later command could change it).

use std::sync::atomic::Ordering;

use message_schema::egress::EgressMessage;
use message_schema::parse::IngressError;

use super::{Disposition, Processor, Staged, Step, body_digest};
use crate::encoded_egress::EncodedEgress;

impl Processor {
    /// A message that could not be read as a request: its Failure 4000, under the requestId it named (whole) or, for
    /// a message id, a digest of the body, and the disposition that dead-letters the original.
    pub(in crate::processor) fn malformed(&self, body: &[u8], error: &IngressError) -> Staged {
        let message = EgressMessage::ingress_failure(&self.settings.info, error);
        // A cut requestId is not the request's identity: two could share their first bytes.
        let origin = match &error.request_id {
            Some(id) if !error.request_id_cut => id.clone(),
            _ => body_digest(body),
        };
        Staged {
            request_id: error.request_id.clone(),
            message_name: "Malformed",
            step: Step::Done(
                vec![EncodedEgress::encode(&message, &origin, 0)],
                Disposition::Malformed {
                    code: error.code,
                    reason: error.message.clone(),
                },
            ),
            failure_code: None,
        }
    }

    /// Records an outcome (a Failure is flagged to be made durable before the next ledger command).
    pub(in crate::processor) fn record(
        &self,
        request_id: &str,
        messages: &[EgressMessage],
    ) -> (Vec<EncodedEgress>, Disposition) {
        let failed = messages.iter().any(is_failure);
        let egress = EncodedEgress::encode_all(messages, request_id);
        match self.outcomes.put(request_id, &egress) {
            Ok(()) => {
                if failed {
                    self.failure_pending_flush.store(true, Ordering::Release);
                }
                (egress, Disposition::Completed)
            }
            Err(e) => (vec![], Disposition::of_store_error(&e)),
        }
    }
}

/// The errorCode of the Failure among an outcome's messages, if there is one.
pub(in crate::processor) fn failure_code(messages: &[EgressMessage]) -> Option<u16> {
    messages.iter().find_map(|message| match message {
        EgressMessage::RequestFailure(m) => m.additional_information.error_code,
        EgressMessage::CorrelatableFailure(m) => m.additional_information.error_code,
        EgressMessage::GenericFailure(m) => m.additional_information.error_code,
        _ => None,
    })
}

/// Whether an egress message is a Failure (decided on the typed message, before it is encoded).
pub(in crate::processor) fn is_failure(message: &EgressMessage) -> bool {
    matches!(
        message,
        EgressMessage::RequestFailure(_)
            | EgressMessage::CorrelatableFailure(_)
            | EgressMessage::GenericFailure(_)
    )
}
