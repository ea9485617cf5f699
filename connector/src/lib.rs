//! The connector gateway library: everything the `connector` binary is made of.
//!
//! A request's walk, one room per step, never back into a room it left:
//! 1. [`gateway`] `session.rs` takes a delivery from the ingress queue (`redelivery_plan.rs`: a redelivered one is
//!    counted first); `contract_sequencer.rs` gives it its turn (queue order, or per contract);
//! 2. [`processor`] `mod.rs` `begin`: parse (message-schema, within `limits:`), replay a recorded outcome
//!    ([`outcome_store`]); `requests/` — who it acts as, then the room of its kind (`create.rs`, `action.rs`,
//!    `read.rs`): map it through the [`mapping`], build the submission; `submit.rs`: sequence it on the ledger (the
//!    ledger port) with retries ([`backoff`]), update the [`contract_index`];
//! 3. [`processor`] `mod.rs` `finish`: wait until it is durable, have its room build the egress, record it
//!    (`outcome.rs`, [`encoded_egress`]);
//! 4. [`gateway`] `outcome_publishing.rs`: its messages onto the channel in order through the [`publishing`] room
//!    (AMQP message, confirms), shared with the [`observer`]; `acks.rs`: confirms awaited, outcomes flushed, acked in
//!    delivery order.
//!
//! Beside the walk: [`config`] (one YAML file, every error naming its path), [`assembly`] (a processor from a config,
//! for `run`, `process` and `test`), [`ledger_factory`] and [`embedded_catalog`] (which ledger, and the embedded
//! ledger's choice semantics from the mapping), [`observer`] (the ledger's own history published), [`health`] and
//! [`http`] (what `/status`, `/readyz`, `/metrics` and `/requests` report; [`request_lookup`] builds the last from
//! the state store's outcomes and run history), [`shutdown`], [`cli`] (one file per subcommand), [`closest_name`]
//! (the "did you mean" every error about an unknown name ends with), and tracing: [`trace_context`] (W3C
//! `traceparent`/`tracestate`), [`request_trace`] (a delivery's trace, carried to ledger calls and egress) and
//! [`telemetry`] (optional OTLP export of spans).

pub mod applied_offsets;
pub mod assembly;
pub mod backoff;
pub mod cli;
pub mod closest_name;
pub mod compact_record;
pub mod config;
pub mod contract_index;
pub mod contract_parties;
pub mod dead_letters;
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
pub mod request_lookup;
pub mod request_trace;
pub mod roles;
pub mod shutdown;
pub mod telemetry;
pub mod trace_context;
