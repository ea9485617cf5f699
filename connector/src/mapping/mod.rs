//! The workflow mapping, compiled from `workflows:`: which template a `workflowName` creates, which choice a
//! `workflowFunctionName` exercises, and how request parameters become ledger values.
//!
//! Compiling once at start-up means every name, type and condition is checked before the first message, and the
//! per-message work is a lookup and a conversion.

mod error;
mod workflow;

pub use crate::param_type::{DEFAULT_NUMERIC_SCALE, ParamType, TimeFormat};
pub use error::MappingError;
pub use workflow::{FunctionMapping, ParamMapping, Workflow, WorkflowMapping, constant_value};
