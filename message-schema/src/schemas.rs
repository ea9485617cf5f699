//! The JSON Schemas (draft 2020-12) of every ingress and egress message, shipped as files in `schemas/` and
//! embedded here so users and tests validate against exactly what the crate ships.

/// `CreateContractRequest`.
pub const CREATE_CONTRACT_REQUEST: &str =
    include_str!("../schemas/create-contract-request.schema.json");
/// `CreateContractActionRequest`.
pub const CREATE_CONTRACT_ACTION_REQUEST: &str =
    include_str!("../schemas/create-contract-action-request.schema.json");
/// `ReadContractRequest`.
pub const READ_CONTRACT_REQUEST: &str =
    include_str!("../schemas/read-contract-request.schema.json");
/// `CreateContractUpdate` / `CreateContractActionUpdate` (Submitted, Committed).
pub const UPDATE: &str = include_str!("../schemas/update.schema.json");
/// `EventMessage`.
pub const EVENT: &str = include_str!("../schemas/event-message.schema.json");
/// Full `ContractMessage`.
pub const CONTRACT: &str = include_str!("../schemas/contract-message.schema.json");
/// `ContractMessage` answering a read.
pub const READ_REPLY: &str = include_str!("../schemas/read-reply.schema.json");
/// Failure of an understood request.
pub const REQUEST_FAILURE: &str = include_str!("../schemas/request-failure.schema.json");
/// Failure of a malformed message with a readable requestId.
pub const CORRELATABLE_FAILURE: &str = include_str!("../schemas/correlatable-failure.schema.json");
/// Failure of a message with no readable requestId.
pub const GENERIC_FAILURE: &str = include_str!("../schemas/generic-failure.schema.json");

/// The schema of an ingress message by its `messageName`.
///
/// ```
/// assert!(message_schema::schemas::ingress_schema("ReadContractRequest").is_some());
/// assert!(message_schema::schemas::ingress_schema("Nope").is_none());
/// ```
pub fn ingress_schema(message_name: &str) -> Option<&'static str> {
    match message_name {
        "CreateContractRequest" => Some(CREATE_CONTRACT_REQUEST),
        "CreateContractActionRequest" => Some(CREATE_CONTRACT_ACTION_REQUEST),
        "ReadContractRequest" => Some(READ_CONTRACT_REQUEST),
        _ => None,
    }
}

/// The schema of an egress message.
///
/// ```
/// use message_schema::egress::*;
/// let info = LedgerInfo { ledger_type: "embedded".into(), platform_version: 1, connection_id: 1 };
/// let m = EgressMessage::read_reply(&info, "r1", &uuid::Uuid::nil(), vec![]);
/// assert_eq!(message_schema::schemas::egress_schema(&m), message_schema::schemas::READ_REPLY);
/// ```
pub fn egress_schema(message: &crate::egress::EgressMessage) -> &'static str {
    use crate::egress::EgressMessage;
    match message {
        EgressMessage::Update(_) => UPDATE,
        EgressMessage::Event(_) => EVENT,
        EgressMessage::Contract(_) => CONTRACT,
        EgressMessage::ReadReply(_) => READ_REPLY,
        EgressMessage::RequestFailure(_) => REQUEST_FAILURE,
        EgressMessage::CorrelatableFailure(_) => CORRELATABLE_FAILURE,
        EgressMessage::GenericFailure(_) => GENERIC_FAILURE,
    }
}

/// Every schema with its file name.
pub const ALL: [(&str, &str); 10] = [
    ("create-contract-request", CREATE_CONTRACT_REQUEST),
    (
        "create-contract-action-request",
        CREATE_CONTRACT_ACTION_REQUEST,
    ),
    ("read-contract-request", READ_CONTRACT_REQUEST),
    ("update", UPDATE),
    ("event-message", EVENT),
    ("contract-message", CONTRACT),
    ("read-reply", READ_REPLY),
    ("request-failure", REQUEST_FAILURE),
    ("correlatable-failure", CORRELATABLE_FAILURE),
    ("generic-failure", GENERIC_FAILURE),
];
