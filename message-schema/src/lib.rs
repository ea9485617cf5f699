//! The Workbench message contract of the connector gateway: typed ingress requests and their parser, typed egress
//! messages in the spec's exact key order, the 64-bit id rules, the linear id a request is about, contract-property
//! flattening and JSON Schemas.
//!
//! Pure: no I/O, no async.

pub mod build;
pub mod egress;
pub mod error_code;
pub mod ids;
pub mod ingress;
pub mod limits;
pub mod linear_id;
pub mod parse;
pub mod properties;
pub mod schemas;
pub mod time;
pub mod value;
