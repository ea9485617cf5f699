//! Why a broker session ended, and whether that cause lay outside the message in flight (so it does not count as
//! that message's delivery attempt). The gateway's loop decides from it whether to reconnect, pause or exit.

/// Why a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEnd {
    /// Shutdown was requested and in-flight work drained.
    Shutdown,
    /// The broker connection or a channel failed; reconnect.
    ConnectionLost(String),
    /// The broker refused (nacked) the gateway's egress, e.g. a full queue that rejects publishes; reconnect after
    /// a pause. Not the fault of the message whose egress it was.
    BackPressure(String),
    /// Processing cannot continue (ledger authentication); pause, then reconnect.
    Halted(String),
    /// The gateway's own storage failed (a full disk under the state store or the embedded ledger's journal):
    /// stop consuming and exit, so a supervisor restarts it once there is space again.
    StorageFailed(String),
}

impl SessionEnd {
    /// Whether the end had a cause outside the message in flight, so it does not count as that message's attempt.
    pub fn is_outside_the_message(&self) -> bool {
        matches!(
            self,
            SessionEnd::Shutdown
                | SessionEnd::BackPressure(_)
                | SessionEnd::Halted(_)
                | SessionEnd::StorageFailed(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_ended_from_outside_the_message_do_not_count_against_it() {
        assert!(SessionEnd::BackPressure(String::new()).is_outside_the_message());
        assert!(SessionEnd::Halted(String::new()).is_outside_the_message());
        assert!(SessionEnd::Shutdown.is_outside_the_message());
        assert!(!SessionEnd::ConnectionLost(String::new()).is_outside_the_message());
    }
}
