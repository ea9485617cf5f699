//! The connector gateway library: everything the `connector` binary is made of.
//!
//! The way of one message: AMQP delivery → parse (message-schema) → idempotency check ([`outcome_store`]) → map
//! ([`mapping`]) → ledger submit (ledger port) → egress ([`processor`]) → publish with confirms → ack.

pub mod assembly;
pub mod backoff;
pub mod cli;
pub mod compact_record;
pub mod config;
pub mod contract_index;
pub mod contract_parties;
pub mod embedded_catalog;
pub mod encoded_egress;
pub mod gateway;
pub mod health;
pub mod http;
pub mod huge_pages;
pub mod ledger_factory;
pub mod ledger_identity;
pub mod mapping;
pub mod metrics_names;
pub mod observer;
pub mod outcome_store;
pub mod param_type;
pub mod processor;
pub mod publishing;

pub mod request_faults;
pub mod shutdown;
