//! Typed ingress requests: what a Workbench client sends to the gateway.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A `{"name", "value"}` request parameter; values are always strings on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parameter {
    pub name: String,
    pub value: String,
}

/// `CreateContractRequest`: create a contract of the template mapped to `workflowName`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateContractRequest {
    pub request_id: String,
    pub workflow_name: String,
    pub parameters: Vec<Parameter>,
    pub message_schema_version: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub user_chain_identifier: Option<String>,
}

/// `CreateContractActionRequest`: exercise the choice mapped to `workflowFunctionName` on a contract lineage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateContractActionRequest {
    pub request_id: String,
    pub contract_ledger_identifier: Uuid,
    pub workflow_function_name: String,
    pub parameters: Vec<Parameter>,
    pub message_schema_version: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub user_chain_identifier: Option<String>,
}

/// `ReadContractRequest`: read the active contract of a lineage; no ledger command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadContractRequest {
    pub request_id: String,
    pub contract_ledger_identifier: Uuid,
    pub message_schema_version: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub user_chain_identifier: Option<String>,
}

/// Any parsed ingress request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "messageName")]
pub enum IngressRequest {
    #[serde(rename = "CreateContractRequest")]
    Create(CreateContractRequest),
    #[serde(rename = "CreateContractActionRequest")]
    Action(CreateContractActionRequest),
    #[serde(rename = "ReadContractRequest")]
    Read(ReadContractRequest),
}

impl IngressRequest {
    /// The request's `messageName`.
    pub fn message_name(&self) -> &'static str {
        match self {
            IngressRequest::Create(_) => "CreateContractRequest",
            IngressRequest::Action(_) => "CreateContractActionRequest",
            IngressRequest::Read(_) => "ReadContractRequest",
        }
    }

    /// The request's idempotency key.
    pub fn request_id(&self) -> &str {
        match self {
            IngressRequest::Create(r) => &r.request_id,
            IngressRequest::Action(r) => &r.request_id,
            IngressRequest::Read(r) => &r.request_id,
        }
    }

    /// The `userChainIdentifier`, when the client sent one.
    pub fn user_chain_identifier(&self) -> Option<&str> {
        match self {
            IngressRequest::Create(r) => r.user_chain_identifier.as_deref(),
            IngressRequest::Action(r) => r.user_chain_identifier.as_deref(),
            IngressRequest::Read(r) => r.user_chain_identifier.as_deref(),
        }
    }

    /// The linear id the request targets (none for a create).
    pub fn contract_ledger_identifier(&self) -> Option<Uuid> {
        match self {
            IngressRequest::Create(_) => None,
            IngressRequest::Action(r) => Some(r.contract_ledger_identifier),
            IngressRequest::Read(r) => Some(r.contract_ledger_identifier),
        }
    }
}
