//! The ledger port over a Daml participant (Canton 3.x), spoken through the Ledger API v2 over gRPC.
//!
//! [`DamlLedger`] implements [`ledger_port::Ledger`] with the tonic clients and wire conversions of
//! `daml-ledger-api`, the same crate `connector sandbox` serves, so both sides share one `.proto` subset and one
//! table of error classes. Configuration lives under `ledger.daml` ([`DamlSettings`]); access tokens come from a
//! file that is re-read when it changes; `https://` URLs use TLS.

mod active_set_stream;
mod committed_command;
mod connection;
mod duplicate;
mod ledger;
mod package_names;
mod requests;
mod rpc;
mod settings;
mod token;

pub use connection::tls_config;
pub use ledger::{DamlLedger, LEDGER_TYPE};
pub use settings::{CONFIG_PATH, DamlSettings, SettingsError, TlsSettings, url_without_userinfo};
pub use token::TokenFile;
