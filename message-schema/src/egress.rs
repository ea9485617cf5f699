//! Typed egress messages, one struct per shape of the spec, fields declared in the spec's emission order.
//!
//! serde writes struct fields in declaration order, so the declaration order below *is* the wire key order;
//! keys the spec says to omit are `Option`s skipped when `None` (never written as `null`).

use serde::{Deserialize, Serialize};

use crate::error_code::ErrorCode;

/// The schema version every egress message carries.
pub const EGRESS_SCHEMA_VERSION: &str = "1.0.0";

/// `additionalInformation`: ledger type and platform version always; error details on failures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdditionalInformation {
    pub ledger_type: String,
    pub platform_version: u32,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error_message: Option<String>,
    /// Machine-readable error class (`bad_request`, `not_found`, …) on failures.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error_kind: Option<String>,
    /// The ingress field an error is about (`parameters[2].value`), when there is one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub field: Option<String>,
    /// The ledger's own error id (`CONTRACT_NOT_FOUND`), when the ledger rejected the command.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ledger_error: Option<String>,
}

/// Who the ledger is, as written into every message's `additionalInformation`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerInfo {
    /// `"embedded"` or `"daml"`.
    pub ledger_type: String,
    pub platform_version: u32,
    /// The configured `connectionId` (default 1).
    pub connection_id: u64,
}

/// Details of a failure, turned into `additionalInformation` error keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureDetails {
    pub code: ErrorCode,
    pub message: String,
    pub field: Option<String>,
    pub ledger_error: Option<String>,
}

/// `Submitted` or `Committed` on an update message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UpdateStatus {
    Submitted,
    Committed,
}

/// The `messageName` of an update or request-failure message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UpdateMessageName {
    CreateContractUpdate,
    CreateContractActionUpdate,
    ReadContractUpdate,
}

/// `CreateContractUpdate` / `CreateContractActionUpdate` with status Submitted or Committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateMessage {
    pub message_name: UpdateMessageName,
    pub additional_information: AdditionalInformation,
    pub request_id: String,
    pub contract_id: u64,
    pub contract_ledger_identifier: String,
    pub connection_id: u64,
    pub message_schema_version: String,
    pub status: UpdateStatus,
}

/// `caller` of an [`EventMessage`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Caller {
    #[serde(rename = "type")]
    pub caller_type: String,
    pub id: u64,
    pub ledger_identifier: String,
}

/// A `{name, value}` parameter as echoed in an [`EventMessage`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventParameter {
    pub name: String,
    pub value: String,
}

/// `transaction` of an [`EventMessage`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventTransaction {
    pub transaction_id: u64,
    pub transaction_hash: String,
    pub from: String,
    pub to: String,
}

/// `EventMessage` with `eventName: ContractFunctionInvocation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventMessage {
    pub message_name: String,
    pub event_name: String,
    /// Omitted for transactions no request of ours caused.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub request_id: Option<String>,
    pub caller: Caller,
    pub additional_information: AdditionalInformation,
    pub contract_id: u64,
    pub contract_ledger_identifier: String,
    pub function_name: String,
    pub parameters: Vec<EventParameter>,
    pub transaction: EventTransaction,
    /// 1-based position of the exercise among the transaction's events.
    pub in_transaction_sequence_number: Option<u32>,
    pub connection_id: u64,
    pub message_schema_version: String,
}

/// One flattened contract property.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContractProperty {
    /// Always `null` on the wire (Workbench property ids have no ledger counterpart).
    pub workflow_property_id: Option<u64>,
    pub name: String,
    pub value: String,
}

/// One entry of `modifyingTransactions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModifyingTransaction {
    pub from: String,
    pub to: String,
    pub transaction_id: u64,
    pub transaction_hash: String,
}

/// Full `ContractMessage`, after a committed create or exercise and from the ledger observer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContractMessage {
    pub message_name: String,
    pub block_id: u64,
    /// Lower-case `blockhash`, as the Corda adapter and Microsoft spell it.
    #[serde(rename = "blockhash")]
    pub block_hash: String,
    /// Omitted for transactions no request of ours caused.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub request_id: Option<String>,
    pub additional_information: AdditionalInformation,
    pub contract_ledger_identifier: String,
    pub contract_properties: Vec<ContractProperty>,
    pub modifying_transactions: Vec<ModifyingTransaction>,
    pub contract_id: u64,
    pub connection_id: u64,
    pub message_schema_version: String,
    pub is_new_contract: bool,
}

/// Reduced `ContractMessage` answering a `ReadContractRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadReplyMessage {
    pub message_name: String,
    pub request_id: String,
    pub additional_information: AdditionalInformation,
    pub contract_ledger_identifier: String,
    pub contract_properties: Vec<ContractProperty>,
    pub message_schema_version: String,
}

/// Failure of an understood request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestFailureMessage {
    pub request_id: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub contract_id: Option<u64>,
    pub connection_id: u64,
    pub message_name: UpdateMessageName,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub contract_ledger_identifier: Option<String>,
    pub additional_information: AdditionalInformation,
    pub status: String,
    pub message_schema_version: String,
}

/// Failure of a malformed message whose `requestId` could be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CorrelatableFailureMessage {
    pub request_id: String,
    pub additional_information: AdditionalInformation,
    pub status: String,
    pub message_schema_version: String,
}

/// Failure of a message with no readable `requestId`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenericFailureMessage {
    pub additional_information: AdditionalInformation,
    pub status: String,
    pub message_schema_version: String,
}

/// Any egress message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum EgressMessage {
    Update(UpdateMessage),
    Event(EventMessage),
    Contract(ContractMessage),
    ReadReply(ReadReplyMessage),
    RequestFailure(RequestFailureMessage),
    CorrelatableFailure(CorrelatableFailureMessage),
    GenericFailure(GenericFailureMessage),
}
