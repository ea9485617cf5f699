//! What the completion stream knows beyond the ledger's log: which user submitted each command through this
//! sandbox, and the rejections of submissions, which the ledger does not record.
//!
//! The embedded ledger stores neither the submitting user nor rejected submissions. So a committed command that was
//! submitted before this process started (or directly to the ledger) is reported to whichever user asks, and a
//! rejection is reported only live, to completion streams open when it happens.

use std::collections::HashMap;
use std::sync::Mutex;

use daml_ledger_api::{rpc, v2};
use prost::Message;
use tokio::sync::broadcast;

/// How many rejections a slow completion stream may fall behind before it misses some (they are advisory).
const REJECTION_BUFFER: usize = 1024;

/// Submitting users by command id, and the live feed of rejections.
pub struct CompletionFeed {
    submitters: Mutex<HashMap<String, String>>,
    rejections: broadcast::Sender<v2::Completion>,
}

impl Default for CompletionFeed {
    fn default() -> Self {
        Self {
            submitters: Mutex::new(HashMap::new()),
            rejections: broadcast::channel(REJECTION_BUFFER).0,
        }
    }
}

impl CompletionFeed {
    /// Records `user_id` as the submitter of `command_id` unless another submission claimed it first. Returns
    /// whether this call made the claim (then [`Self::release`] undoes it if the submission does not commit).
    ///
    /// Claiming before submitting means a completion stream never sees the commit without its user.
    pub fn claim(&self, command_id: &str, user_id: &str) -> bool {
        let mut submitters = self.submitters.lock().unwrap_or_else(|e| e.into_inner());
        if submitters.contains_key(command_id) {
            return false;
        }
        submitters.insert(command_id.to_owned(), user_id.to_owned());
        true
    }

    /// Forgets a claim whose submission did not commit.
    pub fn release(&self, command_id: &str) {
        self.submitters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(command_id);
    }

    /// The user that submitted `command_id` through this sandbox, if one did.
    pub fn submitter(&self, command_id: &str) -> Option<String> {
        self.submitters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(command_id)
            .cloned()
    }

    /// Announces a rejected submission to the completion streams open now.
    pub fn reject(
        &self,
        command_id: &str,
        user_id: &str,
        act_as: &[String],
        status: &tonic::Status,
        ledger_end: i64,
    ) {
        // The status's details already hold the full `google.rpc.Status` (code, message, ErrorInfo).
        let status = rpc::Status::decode(status.details()).unwrap_or_else(|_| rpc::Status {
            code: status.code() as i32,
            message: status.message().to_owned(),
            details: Vec::new(),
        });
        let completion = v2::Completion {
            command_id: command_id.to_owned(),
            status: Some(status),
            user_id: user_id.to_owned(),
            act_as: act_as.to_vec(),
            // A rejection takes no offset of its own in the embedded ledger: it is reported at the end it left.
            offset: ledger_end,
            ..Default::default()
        };
        // No receiver means no stream is open: nobody to tell.
        let _ = self.rejections.send(completion);
    }

    /// A receiver of the rejections announced from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<v2::Completion> {
        self.rejections.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_claim_wins_and_release_undoes_it() {
        let feed = CompletionFeed::default();
        assert!(feed.claim("cmd", "alice"));
        assert!(!feed.claim("cmd", "bob"));
        assert_eq!(feed.submitter("cmd").as_deref(), Some("alice"));
        feed.release("cmd");
        assert_eq!(feed.submitter("cmd"), None);
        assert!(feed.claim("cmd", "bob"));
    }

    #[test]
    fn rejections_reach_subscribers_with_the_full_status() {
        let feed = CompletionFeed::default();
        let mut receiver = feed.subscribe();
        let status = daml_ledger_api::status_with_error_id(
            tonic::Code::NotFound,
            "CONTRACT_NOT_FOUND",
            "gone",
        );
        feed.reject("cmd", "alice", &["Operator".to_owned()], &status, 4);
        let completion = receiver.try_recv().expect("announced");
        assert_eq!(completion.command_id, "cmd");
        assert_eq!(completion.offset, 4);
        let status = completion.status.expect("a status");
        assert_eq!(status.code, tonic::Code::NotFound as i32);
        assert!(status.message.starts_with("CONTRACT_NOT_FOUND("));
        assert_eq!(status.details.len(), 1, "the ErrorInfo travels along");
    }
}
