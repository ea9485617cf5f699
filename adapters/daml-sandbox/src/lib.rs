//! `connector sandbox`: a ledger that implements [`ServableLedger`](ledger_port::ServableLedger) — the embedded one —
//! served over our Daml Ledger API v2 subset, so that Daml clients (the gateway's Daml adapter, Digital Asset's own
//! generated stubs) talk to it as to a Canton participant.
//!
//! Served: `VersionService`, `CommandService` (`SubmitAndWait`, `SubmitAndWaitForTransaction`), `StateService`
//! (`GetLedgerEnd`, `GetActiveContracts`), `UpdateService` (`GetUpdates`, `GetUpdateById`, `GetUpdateByOffset`) and
//! `CommandCompletionService` (`CompletionStream`). One service per file; every ledger failure is answered through
//! `daml_ledger_api::rejection`, the table the Daml adapter reads statuses with.
//!
//! Where the embedded ledger's model forces a difference from Canton, it is documented where it happens:
//! visibility (`stakeholders`), deduplication (`command_service`), completions (`completion_feed`), offset 0 in
//! `GetActiveContracts` (`state_service`), no offset checkpoints (`update_service`).

mod active_contracts_at;
mod auth;
mod command_service;
mod completion_feed;
mod completion_service;
mod context;
mod event_filter;
mod party_management_service;
mod request_errors;
mod server;
mod settings;
mod stakeholders;
mod state_service;
mod submission;
mod trace_context_log;
mod transaction_view;
mod update_service;
mod version_service;

#[cfg(test)]
mod tests;

pub use daml_ledger_api::LEDGER_API_VERSION;
pub use request_errors::{MISSING_FIELD, OFFSET_AFTER_LEDGER_END, UPDATE_NOT_FOUND};
pub use server::{Sandbox, ServeError};
pub use settings::{AccessToken, SandboxSettings, TokenError};
pub use trace_context_log::TraceContextLog;
