//! The Daml Ledger API v2 as the gateway speaks it: our own `.proto` subset (in `proto/`, with Digital Asset's
//! package, service, message and field names and numbers), the prost/tonic code generated from it, and the
//! conversions between those wire types and the ledger port's model.
//!
//! Both sides use this crate: the Daml adapter (a client of a Canton participant) and `connector sandbox` (a server
//! in front of the embedded ledger), so a mismatch between them cannot hide in two hand-kept copies.

mod conversion_error;
mod error_id;
mod identifier;
pub mod rejection;
mod transaction_conversion;
mod value_conversion;

pub use conversion_error::ConversionError;
pub use error_id::{error_id_of, status_with_error_id};
pub use identifier::{identifier_from_template, template_from_identifier};
pub use transaction_conversion::{
    TransactionShape, archived_event_to_proto, created_event_from_proto, created_event_to_proto,
    transaction_from_proto, transaction_to_proto,
};
pub use value_conversion::{record_from_proto, record_to_proto, value_from_proto, value_to_proto};

/// The generated code, nested by protobuf package because the generated files refer to each other that way.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
mod generated {
    pub mod com {
        pub mod daml {
            pub mod ledger {
                pub mod api {
                    pub mod v2 {
                        tonic::include_proto!("com.daml.ledger.api.v2");
                        pub mod admin {
                            tonic::include_proto!("com.daml.ledger.api.v2.admin");
                        }
                    }
                }
            }
        }
    }
    pub mod google {
        pub mod rpc {
            tonic::include_proto!("google.rpc");
        }
    }
}

/// The generated Ledger API v2 messages, clients (`*_client`) and servers (`*_server`).
pub use generated::com::daml::ledger::api::v2;
/// The generated `google.rpc` messages (`Status`, `ErrorInfo`).
pub use generated::google::rpc;

/// The Ledger API version `connector sandbox` reports and the adapter was written against.
pub const LEDGER_API_VERSION: &str = "3.3.0";
