//! The outcome of a message that could not be processed because of the gateway itself: processing it panicked, or
//! it kept ending the broker session. It gets Failure 5000 (correlated when its requestId can be read) and is
//! dead-lettered; nothing is recorded, so the same message can be re-sent once the fault is fixed.

use std::any::Any;

use message_schema::egress::EgressMessage;
use message_schema::error_code::ErrorCode;
use message_schema::parse::{IngressError, request_id_hint};

use super::{Disposition, Processed, Processor, body_digest};
use crate::encoded_egress::EncodedEgress;

/// How much of a panic's message a Failure and the dead-letter reason carry.
const PANIC_MESSAGE_CHARS: usize = 300;

/// The text of a caught panic.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    let text = if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    };
    text.chars().take(PANIC_MESSAGE_CHARS).collect()
}

impl Processor {
    /// The outcome of a message the gateway could not process: `reason` says why (a caught panic, too many
    /// redeliveries). The body is not parsed again (that may be what fails); only its requestId is read.
    pub fn poisoned(&self, body: &[u8], reason: &str) -> Processed {
        let request_id = request_id_hint(body, &self.settings.limits);
        let error = IngressError {
            request_id: request_id.clone(),
            code: ErrorCode::Internal,
            field: None,
            message: format!(
                "the gateway could not process this message ({reason}); it was dead-lettered and not recorded, so \
                 it can be re-sent once the fault is fixed"
            ),
            request_id_cut: false,
        };
        let message = EgressMessage::ingress_failure(&self.settings.info, &error);
        // Its own origin, so its message id never equals one of an outcome the same requestId may get later.
        let origin = format!("poisoned\u{0}{}", body_digest(body));
        Processed {
            request_id,
            message_name: "Poisoned",
            egress: vec![EncodedEgress::encode(&message, &origin, 0)],
            disposition: Disposition::Poisoned {
                reason: reason.to_owned(),
            },
            failure_code: None,
        }
    }
}
