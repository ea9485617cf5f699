//! The dead-letter queue as the person on call sees it: list the letters without removing anything, and move chosen
//! ones back to the ingress queue ("rewind the tape", e.g. the 5030s of a ledger outage once it is over).
//!
//! Used by `connector dead-letters list|replay` (`cli/dead_letters.rs`) and by `POST /dead-letters/replay`
//! (`http/dead_letters.rs`), so both move letters the same way: each is published to the ingress queue and the
//! broker's confirm awaited before the letter is removed, so a crash in between leaves it where it was (at worst it
//! is replayed twice, and the gateway answers a request whose outcome it recorded with that outcome again). Letters
//! not chosen are read unacked and handed back when the reading channel closes, which keeps their order (see
//! `amqp_transport::DeadLetterReader`).

mod letter_summary;
mod original;
mod replay;
mod replay_filter;

pub use letter_summary::LetterSummary;
pub use replay::{ReplayCounts, list_letters, replay_letters, replay_summary};
pub use replay_filter::ReplayFilter;
